/*
 * Unit tests for the sealbid-kms core (sb_kmsd_handle), in-process: every
 * request is SigV4-signed like a real client's and goes through the whole
 * pipeline (authentication, dispatch, JSON, policy, store, Recipient).
 * Attestation documents are made here with a test CA and checked by the
 * project's one verifier; CiphertextForRecipient is opened with sb_cms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_encoding.h"
#include "common/sb_log.h"
#include "common/sb_time.h"
#include "crypto/sb_cms.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_rsa.h"
#include "crypto/sb_x509.h"
#include "kmsd/sb_kmsd.h"
#include "kmsd/sb_kstore.h"

#define ACCT   "111122223333"
#define ADMIN  "arn:aws:iam::111122223333:user/admin"
#define BUYER  "arn:aws:iam::111122223333:user/buyer1"
#define ENCL   "arn:aws:iam::111122223333:role/enclave"

enum who { P_ADMIN, P_BUYER, P_ENCLAVE };

static const char *const access_keys[] = {"AKIAADMIN00000000000", "AKIABUYERONE00000000",
					  "AKIAENCLAVE000000000"};
static const char *const secrets[] = {"admin-secret", "buyer-secret", "enclave-secret"};

/* ---- fixture: a test CA, an RSA recipient key, a server ---- */

struct ca {
	struct sb_ecdsa_key *root_key, *leaf_key;
	struct sb_x509 *root, *leaf;
};

static struct {
	char dir[64];
	struct ca trusted, untrusted;
	struct sb_rsa_key *rsa;
	struct sb_kmsd_config cfg;
	struct sb_kmsd *kmsd;
	uint8_t pcr[3][48];
	struct sb_buf log;
} fx;

static void make_ca(struct ca *ca, uint64_t serial)
{
	int64_t now = (int64_t)(sb_time_now_ms() / 1000);
	struct sb_x509_spec root = {"test root", serial, now - 3600, now + 86400, true, -1};
	struct sb_x509_spec leaf = {"test leaf", serial + 1, now - 3600, now + 3 * 3600, false, -1};

	assert_true(sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->root_key)));
	assert_true(sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->leaf_key)));
	assert_true(sb_ok(sb_x509_create(&root, ca->root_key, NULL, ca->root_key, &ca->root)));
	assert_true(sb_ok(sb_x509_create(&leaf, ca->leaf_key, ca->root, ca->root_key, &ca->leaf)));
}

static void free_ca(struct ca *ca)
{
	sb_x509_free(ca->leaf);
	sb_x509_free(ca->root);
	sb_ecdsa_key_free(ca->leaf_key);
	sb_ecdsa_key_free(ca->root_key);
}

static void log_sink(void *ctx, enum sb_log_level level, const char *line)
{
	(void)ctx;
	(void)level;
	if (!sb_ok(sb_buf_append_str(&fx.log, line)) || !sb_ok(sb_buf_append_u8(&fx.log, '\n')))
		fx.log.len = 0; /* full: the test that reads it would fail */
}

static int setup(void **state)
{
	char cfg[2048];
	struct sb_buf pem = SB_BUF_INIT(8192);
	char root_path[128];
	FILE *f;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/sb_kmsd_ops_XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	make_ca(&fx.trusted, 100);
	make_ca(&fx.untrusted, 200);
	if (!sb_ok(sb_x509_to_pem(fx.trusted.root, &pem)))
		return -1;
	snprintf(root_path, sizeof(root_path), "%s/root.pem", fx.dir);
	f = fopen(root_path, "w");
	if (f == NULL || fwrite(pem.data, 1, pem.len, f) != pem.len || fclose(f) != 0)
		return -1;
	sb_buf_cleanup(&pem);
	snprintf(cfg, sizeof(cfg),
		 "{\"region\":\"us-east-1\",\"account_id\":\"" ACCT "\",\"principals\":["
		 "{\"arn\":\"" ADMIN "\",\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"},"
		 "{\"arn\":\"" BUYER "\",\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\"},"
		 "{\"arn\":\"" ENCL "\",\"access_key_id\":\"%s\",\"secret_access_key\":\"%s\","
		 "\"session_token\":\"enclave-token\"},"
		 /* Temporary credentials of the buyer: one expired, one good until 2099. */
		 "{\"arn\":\"" BUYER "\",\"access_key_id\":\"AKIAEXPIREDBUYER0000\","
		 "\"secret_access_key\":\"expired-secret\",\"expiration\":\"2001-01-01T00:00:00Z\"},"
		 "{\"arn\":\"" BUYER "\",\"access_key_id\":\"AKIAFUTUREBUYER00000\","
		 "\"secret_access_key\":\"future-secret\",\"expiration\":\"2099-01-01T00:00:00Z\"}],"
		 "\"attestation_roots\":[\"root.pem\"],\"trust_aws_nitro_root\":false}",
		 access_keys[0], secrets[0], access_keys[1], secrets[1], access_keys[2], secrets[2]);
	sb_kmsd_config_init(&fx.cfg);
	if (!sb_ok(sb_kmsd_config_parse(sb_slice_str(cfg), fx.dir, &fx.cfg)))
		return -1;
	if (!sb_ok(sb_kmsd_new(&fx.cfg, fx.dir, &fx.kmsd)))
		return -1;
	if (!sb_ok(sb_rsa_key_new(2048, &fx.rsa)))
		return -1;
	for (int i = 0; i < 3; i++)
		memset(fx.pcr[i], 0x11 * (i + 1), 48);
	fx.log = SB_BUF_INIT(1 << 20);
	sb_log_set_level(SB_LOG_INFO);
	sb_log_set_sink(log_sink, NULL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sb_log_set_sink(NULL, NULL);
	sb_kmsd_free(fx.kmsd);
	sb_kmsd_config_cleanup(&fx.cfg);
	sb_rsa_key_free(fx.rsa);
	free_ca(&fx.trusted);
	free_ca(&fx.untrusted);
	sb_buf_cleanup(&fx.log);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- a signing client ---- */

struct reply {
	unsigned status;
	json_t *json;
};

static const char *type_of(const struct reply *r)
{
	const char *t = json_string_value(json_object_get(r->json, "__type"));
	return t != NULL ? t : "";
}

static const char *str_of(const struct reply *r, const char *field)
{
	return json_string_value(json_object_get(r->json, field));
}

/* Sends body as operation op, signed by principal who (secret may be
 * overridden to forge a bad signature). */
static struct reply call_as(enum who who, const char *access_key, const char *secret,
			    const char *op, const char *body)
{
	char date[17], target[64];
	struct sb_buf authz = SB_BUF_INIT(1024);
	struct sb_kmsd_response resp;
	struct reply out = {0};
	uint64_t now = sb_time_now_ms();
	struct sb_sigv4_header h[6] = {
		{SB_SLICE_LIT("Host"), SB_SLICE_LIT("kms.test")},
		{SB_SLICE_LIT("Content-Type"), SB_SLICE_LIT("application/x-amz-json-1.1")},
		{SB_SLICE_LIT("X-Amz-Date"), SB_SLICE(NULL, 0)},
		{SB_SLICE_LIT("X-Amz-Target"), SB_SLICE(NULL, 0)},
		{SB_SLICE_LIT("X-Amz-Security-Token"), SB_SLICE_LIT("enclave-token")},
		{SB_SLICE_LIT("Authorization"), SB_SLICE(NULL, 0)},
	};
	bool token = who == P_ENCLAVE;
	struct sb_sigv4_credential cred = {access_key != NULL ? access_key : access_keys[who],
					   secret != NULL ? secret : secrets[who],
					   token ? "enclave-token" : NULL};
	struct sb_kmsd_request req = {.now_ms = now};

	assert_true(sb_ok(sb_sigv4_format_date(now, date)));
	snprintf(target, sizeof(target), "TrentService.%s", op);
	h[2].value = sb_slice_str(date);
	h[3].value = sb_slice_str(target);
	if (!token)
		h[4] = h[5];
	req.http = (struct sb_sigv4_request){SB_SLICE_LIT("POST"), SB_SLICE_LIT("/"),
					     SB_SLICE(NULL, 0), h, 5, sb_slice_str(body)};
	assert_true(sb_ok(sb_sigv4_sign(&req.http, &cred, "us-east-1", "kms",
					token ? SB_SLICE_LIT("content-type;host;x-amz-date;"
							     "x-amz-security-token;x-amz-target")
					      : SB_SLICE_LIT("content-type;host;x-amz-date;"
							     "x-amz-target"),
					&authz)));
	h[token ? 5 : 4].value = sb_buf_slice(&authz);
	req.http.n_headers = token ? 6 : 5;
	sb_kmsd_response_init(&resp);
	sb_kmsd_handle(fx.kmsd, &req, &resp);
	out.status = resp.status;
	out.json = json_loadb((const char *)resp.body.data, resp.body.len, 0, NULL);
	assert_non_null(out.json);
	sb_kmsd_response_cleanup(&resp);
	sb_buf_cleanup(&authz);
	return out;
}

static struct reply call(enum who who, const char *op, const char *body)
{
	return call_as(who, NULL, NULL, op, body);
}

static void expect_error(struct reply r, unsigned status, const char *type)
{
	if (r.status != status || strcmp(type_of(&r), type) != 0)
		fail_msg("want %u %s, got %u %s: %s", status, type, r.status, type_of(&r),
			 str_of(&r, "message") != NULL ? str_of(&r, "message") : "");
	assert_non_null(str_of(&r, "message"));
	json_decref(r.json);
}

static void expect_ok(struct reply r)
{
	if (r.status != 200)
		fail_msg("want 200, got %u %s: %s", r.status, type_of(&r),
			 str_of(&r, "message") != NULL ? str_of(&r, "message") : "");
}

static void create_key(enum who who, const char *policy_json, char id[64])
{
	char body[8192];
	struct reply r;

	if (policy_json != NULL) {
		json_t *b = json_pack("{s:s}", "Policy", policy_json);
		char *s = json_dumps(b, JSON_COMPACT);
		snprintf(body, sizeof(body), "%s", s);
		free(s);
		json_decref(b);
	} else {
		snprintf(body, sizeof(body), "{\"Description\":\"test key\"}");
	}
	r = call(who, "CreateKey", body);
	expect_ok(r);
	snprintf(id, 64, "%s",
		 json_string_value(json_object_get(json_object_get(r.json, "KeyMetadata"), "KeyId")));
	json_decref(r.json);
}

static void b64(const char *text, char *out, size_t cap)
{
	struct sb_buf b = SB_BUF_INIT(cap - 1);
	assert_true(sb_ok(sb_base64_encode(sb_slice_str(text), &b)));
	snprintf(out, cap, "%s", sb_buf_cstr(&b));
	sb_buf_cleanup(&b);
}

/* Encrypts text under key (with an optional context JSON), returns the blob. */
static void encrypt(const char *key, const char *text, const char *ctx, char *blob, size_t cap)
{
	char body[8192], p64[256];
	struct reply r;

	b64(text, p64, sizeof(p64));
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\"%s%s}", key, p64,
		 ctx != NULL ? ",\"EncryptionContext\":" : "", ctx != NULL ? ctx : "");
	r = call(P_ADMIN, "Encrypt", body);
	expect_ok(r);
	assert_string_equal(str_of(&r, "EncryptionAlgorithm"), "SYMMETRIC_DEFAULT");
	snprintf(blob, cap, "%s", str_of(&r, "CiphertextBlob"));
	json_decref(r.json);
}

static void plaintext_is(const struct reply *r, const char *want)
{
	struct sb_buf p = SB_BUF_INIT_SECRET(4096);
	assert_non_null(str_of(r, "Plaintext"));
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(r, "Plaintext")), &p)));
	assert_int_equal(p.len, strlen(want));
	assert_memory_equal(p.data, want, p.len);
	sb_buf_cleanup(&p);
}

/* ---- tests ---- */

static void test_key_lifecycle_and_crypto(void **state)
{
	char id[64], id2[64], blob[1024], body[4096], arn[160];
	struct reply r;

	(void)state;
	create_key(P_ADMIN, NULL, id);
	create_key(P_ADMIN, NULL, id2);
	snprintf(arn, sizeof(arn), "arn:aws:kms:us-east-1:" ACCT ":key/%s", id);
	snprintf(body, sizeof(body), "{\"AliasName\":\"alias/lifecycle\",\"TargetKeyId\":\"%s\"}", id);
	r = call(P_ADMIN, "CreateAlias", body);
	expect_ok(r);
	json_decref(r.json);
	expect_error(call(P_ADMIN, "CreateAlias", body), 400, "AlreadyExistsException");

	/* Every KeyId spelling reaches the same key. */
	const char *spellings[] = {id, arn, "alias/lifecycle",
				   "arn:aws:kms:us-east-1:" ACCT ":alias/lifecycle"};
	for (size_t i = 0; i < 4; i++) {
		encrypt(spellings[i], "100000", NULL, blob, sizeof(blob));
		snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
		r = call(P_ADMIN, "Decrypt", body);
		expect_ok(r);
		assert_string_equal(str_of(&r, "KeyId"), arn);
		assert_string_equal(str_of(&r, "EncryptionAlgorithm"), "SYMMETRIC_DEFAULT");
		plaintext_is(&r, "100000");
		json_decref(r.json);
	}
	/* KeyId naming the right key is fine, another key is IncorrectKey. */
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"alias/lifecycle\"}",
		 blob);
	expect_ok(r = call(P_ADMIN, "Decrypt", body));
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\",\"KeyId\":\"%s\"}", blob, id2);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "IncorrectKeyException");

	/* The encryption context is bound. */
	encrypt(id, "bid", "{\"sealbid:party\":\"buyer1\"}", blob, sizeof(blob));
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "InvalidCiphertextException");
	snprintf(body, sizeof(body),
		 "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"sealbid:party\":\"buyer2\"}}",
		 blob);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "InvalidCiphertextException");
	snprintf(body, sizeof(body),
		 "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"sealbid:party\":\"buyer1\"}}",
		 blob);
	expect_ok(r = call(P_ADMIN, "Decrypt", body));
	plaintext_is(&r, "bid");
	json_decref(r.json);
	/* A flipped byte of the blob. */
	struct sb_buf raw = SB_BUF_INIT(2048), again = SB_BUF_INIT(4096);
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(blob), &raw)));
	raw.data[raw.len - 1] ^= 1;
	assert_true(sb_ok(sb_base64_encode(sb_buf_slice(&raw), &again)));
	snprintf(body, sizeof(body),
		 "{\"CiphertextBlob\":\"%s\",\"EncryptionContext\":{\"sealbid:party\":\"buyer1\"}}",
		 sb_buf_cstr(&again));
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "InvalidCiphertextException");
	sb_buf_cleanup(&raw);
	sb_buf_cleanup(&again);

	/* Describe, list, policies. */
	snprintf(body, sizeof(body), "{\"KeyId\":\"alias/lifecycle\"}");
	expect_ok(r = call(P_ADMIN, "DescribeKey", body));
	json_t *md = json_object_get(r.json, "KeyMetadata");
	assert_string_equal(json_string_value(json_object_get(md, "Arn")), arn);
	assert_string_equal(json_string_value(json_object_get(md, "KeyState")), "Enabled");
	assert_string_equal(json_string_value(json_object_get(md, "Description")), "test key");
	json_decref(r.json);
	expect_ok(r = call(P_ADMIN, "ListKeys", "{\"Limit\":1}"));
	assert_int_equal(json_array_size(json_object_get(r.json, "Keys")), 1);
	assert_true(json_is_true(json_object_get(r.json, "Truncated")));
	assert_non_null(str_of(&r, "NextMarker"));
	json_decref(r.json);
	expect_ok(r = call(P_ADMIN, "ListAliases", "{}"));
	assert_true(json_array_size(json_object_get(r.json, "Aliases")) >= 1);
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"PolicyName\":\"default\"}", id);
	expect_ok(r = call(P_ADMIN, "GetKeyPolicy", body));
	assert_non_null(strstr(str_of(&r, "Policy"), "arn:aws:iam::" ACCT ":root"));
	assert_string_equal(str_of(&r, "PolicyName"), "default");
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"PolicyName\":\"other\"}", id);
	expect_error(call(P_ADMIN, "GetKeyPolicy", body), 400, "NotFoundException");
	expect_error(call(P_ADMIN, "DescribeKey", "{\"KeyId\":\"alias/none\"}"), 400,
		     "NotFoundException");
	expect_error(call(P_ADMIN, "DescribeKey",
			  "{\"KeyId\":\"00000000-0000-4000-8000-000000000000\"}"),
		     400, "NotFoundException");
	expect_error(call(P_ADMIN, "DescribeKey",
			  "{\"KeyId\":\"arn:aws:kms:eu-west-1:" ACCT ":key/x\"}"),
		     400, "NotFoundException");
}

static void test_data_keys_and_random(void **state)
{
	char id[64], body[8192];
	struct reply r;
	struct sb_buf dk = SB_BUF_INIT_SECRET(64);

	(void)state;
	create_key(P_ADMIN, NULL, id);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"}", id);
	expect_ok(r = call(P_ADMIN, "GenerateDataKey", body));
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(&r, "Plaintext")), &dk)));
	assert_int_equal(dk.len, 32);
	char pt[64];
	snprintf(pt, sizeof(pt), "%s", str_of(&r, "Plaintext"));
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", str_of(&r, "CiphertextBlob"));
	json_decref(r.json);
	expect_ok(r = call(P_ADMIN, "Decrypt", body));
	assert_string_equal(str_of(&r, "Plaintext"), pt);
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"NumberOfBytes\":7}", id);
	expect_ok(r = call(P_ADMIN, "GenerateDataKey", body));
	sb_buf_reset(&dk);
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(&r, "Plaintext")), &dk)));
	assert_int_equal(dk.len, 7);
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"KeySpec\":\"AES_128\"}", id);
	expect_ok(r = call(P_ADMIN, "GenerateDataKey", body));
	json_decref(r.json);
	static const char *const bad[] = {
		"}",
		",\"KeySpec\":\"AES_256\",\"NumberOfBytes\":32}",
		",\"KeySpec\":\"AES_512\"}",
		",\"NumberOfBytes\":0}",
		",\"NumberOfBytes\":1025}",
		",\"NumberOfBytes\":\"32\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"%s", id, bad[i]);
		expect_error(call(P_ADMIN, "GenerateDataKey", body), 400, "ValidationException");
	}
	expect_ok(r = call(P_BUYER, "GenerateRandom", "{\"NumberOfBytes\":1024}"));
	sb_buf_reset(&dk);
	dk.max = 2048;
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(&r, "Plaintext")), &dk)));
	assert_int_equal(dk.len, 1024);
	json_decref(r.json);
	expect_error(call(P_ADMIN, "GenerateRandom", "{}"), 400, "ValidationException");
	expect_error(call(P_ADMIN, "GenerateRandom", "{\"NumberOfBytes\":1025}"), 400,
		     "ValidationException");
	sb_buf_cleanup(&dk);
}

static void test_authentication(void **state)
{
	(void)state;
	struct reply r;

	expect_error(call_as(P_ADMIN, NULL, "wrong-secret", "ListKeys", "{}"), 400,
		     "InvalidSignatureException");
	expect_error(call_as(P_BUYER, "AKIAUNKNOWN000000000", NULL, "ListKeys", "{}"), 400,
		     "UnrecognizedClientException");
	/* Expired temporary credentials: as AWS, ExpiredTokenException; valid ones work. */
	expect_error(call_as(P_BUYER, "AKIAEXPIREDBUYER0000", "expired-secret", "ListKeys", "{}"),
		     400, "ExpiredTokenException");
	expect_ok(r = call_as(P_BUYER, "AKIAFUTUREBUYER00000", "future-secret", "ListKeys", "{}"));
	json_decref(r.json);
	/* The session-token principal works with its token. */
	expect_ok(r = call(P_ENCLAVE, "ListKeys", "{}"));
	json_decref(r.json);

	/* No Authorization header at all. */
	struct sb_sigv4_header h[1] = {{SB_SLICE_LIT("Host"), SB_SLICE_LIT("kms.test")}};
	struct sb_kmsd_request req = {{SB_SLICE_LIT("POST"), SB_SLICE_LIT("/"), SB_SLICE(NULL, 0), h,
				       1, SB_SLICE_LIT("{}")},
				      sb_time_now_ms()};
	struct sb_kmsd_response resp;
	sb_kmsd_response_init(&resp);
	sb_kmsd_handle(fx.kmsd, &req, &resp);
	assert_int_equal(resp.status, 400);
	assert_non_null(strstr(sb_buf_cstr(&resp.body), "MissingAuthenticationTokenException"));
	/* GET is not served. */
	req.http.method = SB_SLICE_LIT("GET");
	sb_kmsd_handle(fx.kmsd, &req, &resp);
	assert_non_null(strstr(sb_buf_cstr(&resp.body), "UnknownOperationException"));
	sb_kmsd_response_cleanup(&resp);
}

static void test_bad_requests(void **state)
{
	char id[64], body[8192];
	static char big[SB_KMSD_MAX_BODY + 64];

	(void)state;
	create_key(P_ADMIN, NULL, id);
	expect_error(call(P_ADMIN, "Encrypt", "{\"KeyId\":"), 400, "SerializationException");
	expect_error(call(P_ADMIN, "Encrypt", "[1]"), 400, "SerializationException");
	expect_error(call(P_ADMIN, "Encrypt", "{\"a\":1,\"a\":2}"), 400, "SerializationException");
	expect_error(call(P_ADMIN, "Encrypt", "{} {}"), 400, "SerializationException");
	expect_error(call(P_ADMIN, "Encrypt", "{\"a\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}"),
		     400, "SerializationException");
	expect_error(call(P_ADMIN, "NoSuchOperation", "{}"), 400, "UnknownOperationException");
	expect_error(call(P_ADMIN, "Encrypt", "{\"Plaintext\":\"eA==\"}"), 400,
		     "ValidationException");
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"eA=\"}", id);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"\"}", id);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body), "{\"KeyId\":5,\"Plaintext\":\"eA==\"}");
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body),
		 "{\"KeyId\":\"%s\",\"Plaintext\":\"eA==\",\"EncryptionContext\":{\"a\":1}}", id);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body),
		 "{\"KeyId\":\"%s\",\"Plaintext\":\"eA==\",\"EncryptionAlgorithm\":\"RSAES_OAEP_SHA_1\"}",
		 id);
	/* A valid algorithm the symmetric key cannot use; a value outside the set. */
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "InvalidKeyUsageException");
	snprintf(body, sizeof(body),
		 "{\"KeyId\":\"%s\",\"Plaintext\":\"eA==\",\"EncryptionAlgorithm\":\"AES\"}", id);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");
	expect_error(call(P_ADMIN, "Decrypt", "{\"CiphertextBlob\":\"AAAA\"}"), 400,
		     "InvalidCiphertextException");
	expect_error(call(P_ADMIN, "CreateKey", "{\"KeyUsage\":\"SIGN_VERIFY\"}"), 400,
		     "ValidationException");
	expect_error(call(P_ADMIN, "CreateAlias", "{\"AliasName\":\"buyer\",\"TargetKeyId\":\"x\"}"),
		     400, "ValidationException");
	snprintf(body, sizeof(body), "{\"AliasName\":\"alias/aws/x\",\"TargetKeyId\":\"%s\"}", id);
	expect_error(call(P_ADMIN, "CreateAlias", body), 400, "ValidationException");
	/* Unknown fields are ignored, as AWS does. */
	struct reply r;
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"eA==\",\"Future\":[1]}", id);
	expect_ok(r = call(P_ADMIN, "Encrypt", body));
	json_decref(r.json);
	/* Larger than the body limit. */
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	expect_error(call(P_ADMIN, "Encrypt", big), 413, "ValidationException");
}

/* n bytes of filler, base64 (caller frees). */
static char *b64_of_size(size_t n)
{
	struct sb_buf raw = SB_BUF_INIT(n), e = SB_BUF_INIT(2 * n + 8);
	char *out;

	for (size_t i = 0; i < n; i++)
		assert_true(sb_ok(sb_buf_append_u8(&raw, (uint8_t)(i * 13 + 1))));
	assert_true(sb_ok(sb_base64_encode(sb_buf_slice(&raw), &e)));
	out = strdup(sb_buf_cstr(&e));
	assert_non_null(out);
	sb_buf_cleanup(&raw);
	sb_buf_cleanup(&e);
	return out;
}

static const char *msg_of(const struct reply *r)
{
	const char *m = str_of(r, "message");
	return m != NULL ? m : "";
}

/* Every base64 limit reached through a request: "Plaintext ... Maximum
 * length of 4096", "CiphertextBlob ... Maximum length of 6144", and a
 * 16 KiB attestation document (the verifier's own limit). */
static void test_size_limits(void **state)
{
	static char body[32768];
	char id[64];
	struct reply r;
	char *p;

	(void)state;
	create_key(P_ADMIN, NULL, id);
	p = b64_of_size(4096);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}", id, p);
	free(p);
	r = call(P_ADMIN, "Encrypt", body);
	expect_ok(r);
	/* ... and it decrypts back to 4096 bytes. */
	char *blob = strdup(str_of(&r, "CiphertextBlob"));
	json_decref(r.json);
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
	free(blob);
	r = call(P_ADMIN, "Decrypt", body);
	expect_ok(r);
	struct sb_buf plain = SB_BUF_INIT_SECRET(4096);
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(&r, "Plaintext")), &plain)));
	assert_int_equal(plain.len, 4096);
	sb_buf_cleanup(&plain);
	json_decref(r.json);
	p = b64_of_size(4097);
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Plaintext\":\"%s\"}", id, p);
	free(p);
	expect_error(call(P_ADMIN, "Encrypt", body), 400, "ValidationException");

	/* 6144 bytes pass the size check and fail as a ciphertext; 6145 do not. */
	p = b64_of_size(6144);
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", p);
	free(p);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "InvalidCiphertextException");
	p = b64_of_size(6145);
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", p);
	free(p);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "ValidationException");

	/* A 16384-byte document reaches the verifier (and is refused there as
	 * garbage); 16385 bytes are refused for their size. */
	p = b64_of_size(16384);
	snprintf(body, sizeof(body),
		 "{\"NumberOfBytes\":32,\"Recipient\":{\"AttestationDocument\":\"%s\"}}", p);
	free(p);
	r = call(P_ADMIN, "GenerateRandom", body);
	assert_int_equal(r.status, 400);
	if (strstr(msg_of(&r), "longer than") != NULL)
		fail_msg("a 16 KiB document was refused for its size: %s", msg_of(&r));
	json_decref(r.json);
	p = b64_of_size(16385);
	snprintf(body, sizeof(body),
		 "{\"NumberOfBytes\":32,\"Recipient\":{\"AttestationDocument\":\"%s\"}}", p);
	free(p);
	r = call(P_ADMIN, "GenerateRandom", body);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(msg_of(&r), "longer than"));
	json_decref(r.json);
}

static void test_policies(void **state)
{
	char id[64], body[8192], blob[1024];
	struct reply r;
	const char *only_admin =
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":"
		"{\"AWS\":\"" ADMIN "\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";

	(void)state;
	create_key(P_ADMIN, only_admin, id);
	encrypt(id, "100000", NULL, blob, sizeof(blob));
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
	r = call(P_BUYER, "Decrypt", body);
	assert_non_null(strstr(str_of(&r, "message"),
			       "User: " BUYER " is not authorized to perform: kms:Decrypt"));
	expect_error(r, 400, "AccessDeniedException");
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\"}", id);
	expect_error(call(P_BUYER, "DescribeKey", body), 400, "AccessDeniedException");
	/* Malformed policies and the lockout check. */
	snprintf(body, sizeof(body), "{\"KeyId\":\"%s\",\"Policy\":\"{not json\"}", id);
	expect_error(call(P_ADMIN, "PutKeyPolicy", body), 400, "MalformedPolicyDocumentException");
	json_t *b = json_pack("{s:s, s:s}", "KeyId", id, "Policy",
			      "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" BUYER
			      "\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\"}]}");
	char *s = json_dumps(b, JSON_COMPACT);
	expect_error(call(P_ADMIN, "PutKeyPolicy", s), 400, "MalformedPolicyDocumentException");
	json_object_set_new(b, "BypassPolicyLockoutSafetyCheck", json_true());
	free(s);
	s = json_dumps(b, JSON_COMPACT);
	expect_ok(r = call(P_ADMIN, "PutKeyPolicy", s));
	json_decref(r.json);
	/* Now only buyer1 may decrypt, and the admin has locked itself out. */
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
	expect_ok(r = call(P_BUYER, "Decrypt", body));
	plaintext_is(&r, "100000");
	json_decref(r.json);
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "AccessDeniedException");
	expect_error(call(P_ADMIN, "PutKeyPolicy", s), 400, "AccessDeniedException");
	free(s);
	json_decref(b);
	expect_error(call(P_ADMIN, "CreateKey", "{\"Policy\":\"{\\\"Statement\\\":[]}\"}"), 400,
		     "MalformedPolicyDocumentException");
}

/* ---- key states, DryRun, markers, tags, aliases, ReEncrypt, grants ---- */

/* Sends a json_pack'ed body (taken). */
static struct reply callj(enum who who, const char *op, json_t *body)
{
	char *s;
	struct reply r;

	assert_non_null(body);
	s = json_dumps(body, JSON_COMPACT);
	assert_non_null(s);
	r = call(who, op, s);
	free(s);
	json_decref(body);
	return r;
}

static void ok_call(enum who who, const char *op, json_t *body)
{
	struct reply r = callj(who, op, body);
	expect_ok(r);
	json_decref(r.json);
}

static const char *key_state(const char *id)
{
	static char state[32];
	struct reply r = callj(P_ADMIN, "DescribeKey", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	snprintf(state, sizeof(state), "%s",
		 json_string_value(json_object_get(json_object_get(r.json, "KeyMetadata"),
						   "KeyState")));
	json_decref(r.json);
	return state;
}

static json_t *enc_req(const char *id)
{
	return json_pack("{s:s, s:s}", "KeyId", id, "Plaintext", "eA==");
}

static void test_dry_run_markers_create_options(void **state)
{
	char id[64], blob[1024];
	struct reply r;
	const char *only_admin =
		"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ADMIN
		"\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";

	(void)state;
	create_key(P_ADMIN, only_admin, id);
	encrypt(id, "bid", NULL, blob, sizeof(blob));
	/* DryRun: checked after authentication and the policy, nothing done. */
	json_t *b = enc_req(id);
	json_object_set_new(b, "DryRun", json_true());
	r = callj(P_ADMIN, "Encrypt", b);
	assert_null(json_object_get(r.json, "CiphertextBlob"));
	expect_error(r, 412, "DryRunOperationException");
	b = enc_req(id);
	json_object_set_new(b, "DryRun", json_true());
	expect_error(callj(P_BUYER, "Encrypt", b), 400, "AccessDeniedException");
	r = callj(P_ADMIN, "Decrypt",
		  json_pack("{s:s, s:b}", "CiphertextBlob", blob, "DryRun", 1));
	assert_null(json_object_get(r.json, "Plaintext"));
	expect_error(r, 412, "DryRunOperationException");
	expect_error(callj(P_ADMIN, "GenerateDataKey",
			   json_pack("{s:s, s:s, s:b}", "KeyId", id, "KeySpec", "AES_256", "DryRun",
				     1)),
		     412, "DryRunOperationException");
	b = enc_req(id);
	json_object_set_new(b, "DryRun", json_string("yes"));
	expect_error(callj(P_ADMIN, "Encrypt", b), 400, "ValidationException");
	b = enc_req(id);
	json_object_set_new(b, "DryRun", json_false());
	ok_call(P_ADMIN, "Encrypt", b);

	/* Markers: only one this server issued, for the same listing. */
	expect_error(call(P_ADMIN, "ListKeys", "{\"Marker\":\"bogus\"}"), 400,
		     "InvalidMarkerException");
	expect_error(call(P_ADMIN, "ListKeys", "{\"Marker\":\"QUFBQQ==\"}"), 400,
		     "InvalidMarkerException");
	create_key(P_ADMIN, NULL, blob);
	expect_ok(r = call(P_ADMIN, "ListKeys", "{\"Limit\":1}"));
	char marker[512];
	snprintf(marker, sizeof(marker), "%s", str_of(&r, "NextMarker"));
	json_decref(r.json);
	ok_call(P_ADMIN, "ListKeys", json_pack("{s:s}", "Marker", marker));
	expect_error(callj(P_ADMIN, "ListAliases", json_pack("{s:s}", "Marker", marker)), 400,
		     "InvalidMarkerException");

	/* CreateKey: MultiRegion is refused, not dropped; Tags are kept. */
	expect_error(call(P_ADMIN, "CreateKey", "{\"MultiRegion\":true}"), 400,
		     "UnsupportedOperationException");
	expect_ok(r = call(P_ADMIN, "CreateKey",
			   "{\"MultiRegion\":false,\"Tags\":[{\"TagKey\":\"team\",\"TagValue\":"
			   "\"auction\"},{\"TagKey\":\"empty\",\"TagValue\":\"\"}]}"));
	snprintf(id, sizeof(id), "%s",
		 json_string_value(json_object_get(json_object_get(r.json, "KeyMetadata"), "KeyId")));
	json_decref(r.json);
	r = callj(P_ADMIN, "ListResourceTags", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	json_t *tags = json_object_get(r.json, "Tags");
	assert_int_equal(json_array_size(tags), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 1), "TagKey")),
			    "team");
	assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 1), "TagValue")),
			    "auction");
	json_decref(r.json);
	expect_error(call(P_ADMIN, "CreateKey",
			  "{\"Tags\":[{\"TagKey\":\"aws:x\",\"TagValue\":\"v\"}]}"),
		     400, "TagException");
	expect_error(call(P_ADMIN, "CreateKey",
			  "{\"Tags\":[{\"TagKey\":\"a\",\"TagValue\":\"v\"},{\"TagKey\":\"a\","
			  "\"TagValue\":\"w\"}]}"),
		     400, "TagException");
	/* TagResource / UntagResource. */
	ok_call(P_ADMIN, "TagResource",
		json_pack("{s:s, s:[{s:s, s:s}]}", "KeyId", id, "Tags", "TagKey", "team", "TagValue",
			  "sealed"));
	ok_call(P_ADMIN, "UntagResource", json_pack("{s:s, s:[s]}", "KeyId", id, "TagKeys", "empty"));
	r = callj(P_ADMIN, "ListResourceTags", json_pack("{s:s, s:i}", "KeyId", id, "Limit", 1));
	expect_ok(r);
	tags = json_object_get(r.json, "Tags");
	assert_int_equal(json_array_size(tags), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(tags, 0), "TagValue")),
			    "sealed");
	assert_false(json_is_true(json_object_get(r.json, "Truncated")));
	json_decref(r.json);
	expect_error(callj(P_ADMIN, "ListResourceTags", json_pack("{s:s, s:i}", "KeyId", id, "Limit",
								  51)),
		     400, "ValidationException");
	/* ListKeyPolicies. */
	r = callj(P_ADMIN, "ListKeyPolicies", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	assert_string_equal(json_string_value(json_array_get(json_object_get(r.json, "PolicyNames"),
							     0)),
			    "default");
	json_decref(r.json);
}

static void test_key_states(void **state)
{
	char id[64], blob[1024], body[2048];
	struct reply r;

	(void)state;
	create_key(P_ADMIN, NULL, id);
	encrypt(id, "bid", NULL, blob, sizeof(blob));
	snprintf(body, sizeof(body), "{\"CiphertextBlob\":\"%s\"}", blob);
	assert_string_equal(key_state(id), "Enabled");

	/* Disabled: cryptography is DisabledException, management goes on. */
	ok_call(P_ADMIN, "DisableKey", json_pack("{s:s}", "KeyId", id));
	assert_string_equal(key_state(id), "Disabled");
	expect_error(callj(P_ADMIN, "Encrypt", enc_req(id)), 400, "DisabledException");
	expect_error(call(P_ADMIN, "Decrypt", body), 400, "DisabledException");
	ok_call(P_ADMIN, "UpdateKeyDescription",
		json_pack("{s:s, s:s}", "KeyId", id, "Description", "retired"));
	ok_call(P_ADMIN, "EnableKey", json_pack("{s:s}", "KeyId", id));
	ok_call(P_ADMIN, "Decrypt", json_pack("{s:s}", "CiphertextBlob", blob));
	r = callj(P_ADMIN, "DescribeKey", json_pack("{s:s}", "KeyId", id));
	assert_string_equal(json_string_value(json_object_get(json_object_get(r.json, "KeyMetadata"),
							      "Description")),
			    "retired");
	json_decref(r.json);

	/* ScheduleKeyDeletion: 7..30 days, 30 by default. */
	expect_error(callj(P_ADMIN, "ScheduleKeyDeletion",
			   json_pack("{s:s, s:i}", "KeyId", id, "PendingWindowInDays", 6)),
		     400, "ValidationException");
	expect_error(callj(P_ADMIN, "ScheduleKeyDeletion",
			   json_pack("{s:s, s:i}", "KeyId", id, "PendingWindowInDays", 31)),
		     400, "ValidationException");
	snprintf(body, sizeof(body), "{\"AliasName\":\"alias/doomed\",\"TargetKeyId\":\"%s\"}", id);
	expect_ok(r = call(P_ADMIN, "CreateAlias", body));
	json_decref(r.json);
	r = callj(P_ADMIN, "ScheduleKeyDeletion", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	assert_string_equal(str_of(&r, "KeyState"), "PendingDeletion");
	assert_int_equal(json_integer_value(json_object_get(r.json, "PendingWindowInDays")), 30);
	double when = json_real_value(json_object_get(r.json, "DeletionDate"));
	double now = (double)sb_time_now_ms() / 1000.0;
	assert_true(when > now + 30 * 86400.0 - 60 && when < now + 30 * 86400.0 + 60);
	json_decref(r.json);
	r = callj(P_ADMIN, "DescribeKey", json_pack("{s:s}", "KeyId", id));
	json_t *md = json_object_get(r.json, "KeyMetadata");
	assert_string_equal(json_string_value(json_object_get(md, "KeyState")), "PendingDeletion");
	assert_int_equal(json_integer_value(json_object_get(md, "PendingDeletionWindowInDays")), 30);
	assert_non_null(json_object_get(md, "DeletionDate"));
	json_decref(r.json);
	/* PendingDeletion: KMSInvalidStateException for use and most changes. */
	expect_error(callj(P_ADMIN, "Encrypt", enc_req(id)), 400, "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "Decrypt", json_pack("{s:s}", "CiphertextBlob", blob)), 400,
		     "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "EnableKey", json_pack("{s:s}", "KeyId", id)), 400,
		     "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "ScheduleKeyDeletion", json_pack("{s:s}", "KeyId", id)), 400,
		     "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "CreateAlias",
			   json_pack("{s:s, s:s}", "AliasName", "alias/late", "TargetKeyId", id)),
		     400, "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "TagResource",
			   json_pack("{s:s, s:[{s:s, s:s}]}", "KeyId", id, "Tags", "TagKey", "a",
				     "TagValue", "b")),
		     400, "KMSInvalidStateException");
	ok_call(P_ADMIN, "GetKeyPolicy", json_pack("{s:s}", "KeyId", id));
	ok_call(P_ADMIN, "DeleteAlias", json_pack("{s:s}", "AliasName", "alias/doomed"));
	/* CancelKeyDeletion leaves the key Disabled; only a pending key. */
	r = callj(P_ADMIN, "CancelKeyDeletion", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	assert_non_null(strstr(str_of(&r, "KeyId"), id));
	json_decref(r.json);
	assert_string_equal(key_state(id), "Disabled");
	expect_error(callj(P_ADMIN, "CancelKeyDeletion", json_pack("{s:s}", "KeyId", id)), 400,
		     "KMSInvalidStateException");
	expect_error(callj(P_ADMIN, "Encrypt", enc_req(id)), 400, "DisabledException");
	ok_call(P_ADMIN, "EnableKey", json_pack("{s:s}", "KeyId", id));
	ok_call(P_ADMIN, "Encrypt", enc_req(id));
	/* Key management names a key by id or ARN, not by alias. */
	expect_error(call(P_ADMIN, "DisableKey", "{\"KeyId\":\"alias/x\"}"), 400,
		     "ValidationException");
	expect_error(call(P_ADMIN, "DisableKey", "{\"KeyId\":\"44444444-4444-4444-8444-444444444444\"}"),
		     400, "NotFoundException");
}

/* At the end of the waiting period the key is gone: NotFound for the key,
 * InvalidCiphertext for what it encrypted, its aliases removed. The clock
 * cannot be moved 7 days under SigV4, so the stored date is moved instead. */
static void test_key_deleted_after_window(void **state)
{
	char id[64], blob[1024], path[128], sql[256];
	sqlite3 *db = NULL;
	struct reply r;

	(void)state;
	create_key(P_ADMIN, NULL, id);
	encrypt(id, "gone", NULL, blob, sizeof(blob));
	ok_call(P_ADMIN, "CreateAlias",
		json_pack("{s:s, s:s}", "AliasName", "alias/expiring", "TargetKeyId", id));
	ok_call(P_ADMIN, "ScheduleKeyDeletion",
		json_pack("{s:s, s:i}", "KeyId", id, "PendingWindowInDays", 7));
	snprintf(path, sizeof(path), "%s/%s", fx.dir, SB_KSTORE_FILE);
	snprintf(sql, sizeof(sql), "UPDATE keys SET deletion_ms = 1000 WHERE id = '%s'", id);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_error(callj(P_ADMIN, "Decrypt", json_pack("{s:s}", "CiphertextBlob", blob)), 400,
		     "InvalidCiphertextException");
	expect_error(callj(P_ADMIN, "DescribeKey", json_pack("{s:s}", "KeyId", id)), 400,
		     "NotFoundException");
	expect_error(callj(P_ADMIN, "CancelKeyDeletion", json_pack("{s:s}", "KeyId", id)), 400,
		     "NotFoundException");
	r = call(P_ADMIN, "ListAliases", "{}");
	expect_ok(r);
	json_t *a;
	size_t i;
	json_array_foreach(json_object_get(r.json, "Aliases"), i, a)
		assert_string_not_equal(json_string_value(json_object_get(a, "AliasName")),
					"alias/expiring");
	json_decref(r.json);
}

static void test_alias_update_delete_reencrypt(void **state)
{
	char id1[64], id2[64], blob[1024], arn2[160];
	struct reply r;
#define POL(action)                                                                                \
	"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ADMIN               \
	"\"},\"Action\":\"kms:*\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"Principal\":"         \
	"{\"AWS\":\"" BUYER "\"},\"Action\":\"" action "\",\"Resource\":\"*\"}]}"
	const char *pol1 = POL("kms:ReEncryptFrom"), *pol2 = POL("kms:Encrypt");

	(void)state;
	create_key(P_ADMIN, pol1, id1);
	create_key(P_ADMIN, pol2, id2);
	snprintf(arn2, sizeof(arn2), "arn:aws:kms:us-east-1:" ACCT ":key/%s", id2);
	ok_call(P_ADMIN, "CreateAlias",
		json_pack("{s:s, s:s}", "AliasName", "alias/moving", "TargetKeyId", id1));
	ok_call(P_ADMIN, "UpdateAlias",
		json_pack("{s:s, s:s}", "AliasName", "alias/moving", "TargetKeyId", id2));
	r = callj(P_ADMIN, "Encrypt", enc_req("alias/moving"));
	expect_ok(r);
	assert_string_equal(str_of(&r, "KeyId"), arn2);
	json_decref(r.json);
	expect_error(callj(P_ADMIN, "UpdateAlias",
			   json_pack("{s:s, s:s}", "AliasName", "alias/none", "TargetKeyId", id2)),
		     400, "NotFoundException");
	ok_call(P_ADMIN, "DeleteAlias", json_pack("{s:s}", "AliasName", "alias/moving"));
	expect_error(callj(P_ADMIN, "DeleteAlias", json_pack("{s:s}", "AliasName", "alias/moving")),
		     400, "NotFoundException");
	expect_error(callj(P_ADMIN, "Encrypt", enc_req("alias/moving")), 400, "NotFoundException");

	/* ReEncrypt: contexts on both sides, both keys' policies. */
	encrypt(id1, "100000", "{\"party\":\"buyer1\"}", blob, sizeof(blob));
	r = callj(P_ADMIN, "ReEncrypt",
		  json_pack("{s:s, s:{s:s}, s:s, s:{s:s}}", "CiphertextBlob", blob,
			    "SourceEncryptionContext", "party", "buyer1", "DestinationKeyId", id2,
			    "DestinationEncryptionContext", "round", "2"));
	expect_ok(r);
	assert_string_equal(str_of(&r, "KeyId"), arn2);
	assert_non_null(strstr(str_of(&r, "SourceKeyId"), id1));
	assert_string_equal(str_of(&r, "DestinationEncryptionAlgorithm"), "SYMMETRIC_DEFAULT");
	char blob2[1024];
	snprintf(blob2, sizeof(blob2), "%s", str_of(&r, "CiphertextBlob"));
	json_decref(r.json);
	r = callj(P_ADMIN, "Decrypt", json_pack("{s:s, s:{s:s}}", "CiphertextBlob", blob2,
						"EncryptionContext", "round", "2"));
	expect_ok(r);
	plaintext_is(&r, "100000");
	json_decref(r.json);
	expect_error(callj(P_ADMIN, "ReEncrypt",
			   json_pack("{s:s, s:s}", "CiphertextBlob", blob, "DestinationKeyId", id2)),
		     400, "InvalidCiphertextException");
	expect_error(callj(P_ADMIN, "ReEncrypt",
			   json_pack("{s:s, s:{s:s}, s:s, s:s}", "CiphertextBlob", blob,
				     "SourceEncryptionContext", "party", "buyer1", "DestinationKeyId",
				     id2, "SourceKeyId", id2)),
		     400, "IncorrectKeyException");
	/* buyer1 may ReEncryptFrom key 1 but not ReEncryptTo key 2. */
	r = callj(P_BUYER, "ReEncrypt",
		  json_pack("{s:s, s:{s:s}, s:s}", "CiphertextBlob", blob, "SourceEncryptionContext",
			    "party", "buyer1", "DestinationKeyId", id2));
	assert_non_null(strstr(msg_of(&r), "kms:ReEncryptTo"));
	expect_error(r, 400, "AccessDeniedException");
	r = callj(P_BUYER, "ReEncrypt",
		  json_pack("{s:s, s:{s:s}, s:s}", "CiphertextBlob", blob2, "SourceEncryptionContext",
			    "round", "2", "DestinationKeyId", id1));
	assert_non_null(strstr(msg_of(&r), "kms:ReEncryptFrom"));
	expect_error(r, 400, "AccessDeniedException");
	expect_error(callj(P_ADMIN, "ReEncrypt",
			   json_pack("{s:s, s:{s:s}, s:s, s:b}", "CiphertextBlob", blob,
				     "SourceEncryptionContext", "party", "buyer1", "DestinationKeyId",
				     id2, "DryRun", 1)),
		     412, "DryRunOperationException");
	/* GenerateDataKeyWithoutPlaintext: a blob, never the key. */
	r = callj(P_ADMIN, "GenerateDataKeyWithoutPlaintext",
		  json_pack("{s:s, s:i}", "KeyId", id2, "NumberOfBytes", 32));
	expect_ok(r);
	assert_null(json_object_get(r.json, "Plaintext"));
	snprintf(blob2, sizeof(blob2), "%s", str_of(&r, "CiphertextBlob"));
	json_decref(r.json);
	r = callj(P_ADMIN, "Decrypt", json_pack("{s:s}", "CiphertextBlob", blob2));
	expect_ok(r);
	struct sb_buf dk = SB_BUF_INIT_SECRET(64);
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(&r, "Plaintext")), &dk)));
	assert_int_equal(dk.len, 32);
	sb_buf_cleanup(&dk);
	json_decref(r.json);
	expect_error(callj(P_BUYER, "GenerateDataKeyWithoutPlaintext",
			   json_pack("{s:s, s:i}", "KeyId", id2, "NumberOfBytes", 32)),
		     400, "AccessDeniedException");
}

static void create_grant(const char *id, json_t *extra, char grant_id[80], char token[160])
{
	json_t *b = json_pack("{s:s}", "KeyId", id);
	struct reply r;

	json_object_update(b, extra);
	json_decref(extra);
	r = callj(P_ADMIN, "CreateGrant", b);
	expect_ok(r);
	snprintf(grant_id, 80, "%s", str_of(&r, "GrantId"));
	snprintf(token, 160, "%s", str_of(&r, "GrantToken"));
	assert_int_equal(strlen(grant_id), 64);
	json_decref(r.json);
}

static void test_grants(void **state)
{
	char id[64], blob1[1024], blob2[1024], exact[1024], gid[80], tok[160], gid2[80], tok2[160];
	struct reply r;
	const char *only_admin =
		"{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ADMIN
		"\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}";

	(void)state;
	create_key(P_ADMIN, only_admin, id);
	encrypt(id, "b1", "{\"party\":\"buyer1\",\"round\":\"1\"}", blob1, sizeof(blob1));
	encrypt(id, "b2", "{\"party\":\"buyer2\"}", blob2, sizeof(blob2));
	encrypt(id, "ex", "{\"party\":\"buyer1\"}", exact, sizeof(exact));
	json_t *d1 = json_pack("{s:s, s:{s:s, s:s}}", "CiphertextBlob", blob1, "EncryptionContext",
			       "party", "buyer1", "round", "1");
	json_t *d2 = json_pack("{s:s, s:{s:s}}", "CiphertextBlob", blob2, "EncryptionContext",
			       "party", "buyer2");
	json_t *dx = json_pack("{s:s, s:{s:s}}", "CiphertextBlob", exact, "EncryptionContext",
			       "party", "buyer1");
	expect_error(callj(P_BUYER, "Decrypt", json_deep_copy(d1)), 400, "AccessDeniedException");

	/* Invalid grants. */
	expect_error(callj(P_ADMIN, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s]}", "KeyId", id, "GranteePrincipal", BUYER,
				     "Operations", "Sign")),
		     400, "ValidationException");
	expect_error(callj(P_ADMIN, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s], s:{s:{s:s}}}", "KeyId", id,
				     "GranteePrincipal", BUYER, "Operations", "Decrypt",
				     "Constraints", "EncryptionContextSuperset", "a", "b")),
		     400, "ValidationException");
	expect_error(callj(P_ADMIN, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s, s]}", "KeyId", id, "GranteePrincipal", BUYER,
				     "Operations", "Decrypt", "Decrypt")),
		     400, "ValidationException");
	expect_error(callj(P_ADMIN, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s], s:b}", "KeyId", id, "GranteePrincipal", BUYER,
				     "Operations", "Decrypt", "DryRun", 1)),
		     412, "DryRunOperationException");
	expect_error(callj(P_BUYER, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s]}", "KeyId", id, "GranteePrincipal", BUYER,
				     "Operations", "Decrypt")),
		     400, "AccessDeniedException");

	/* A Subset grant: buyer1 may decrypt what carries party=buyer1. */
	create_grant(id,
		     json_pack("{s:s, s:[s], s:{s:{s:s}}, s:s}", "GranteePrincipal", BUYER,
			       "Operations", "Decrypt", "Constraints", "EncryptionContextSubset",
			       "party", "buyer1", "Name", "buyer1-bids"),
		     gid, tok);
	expect_ok(r = callj(P_BUYER, "Decrypt", json_deep_copy(d1)));
	plaintext_is(&r, "b1");
	json_decref(r.json);
	expect_error(callj(P_BUYER, "Decrypt", json_deep_copy(d2)), 400, "AccessDeniedException");
	expect_error(callj(P_BUYER, "Encrypt", enc_req(id)), 400, "AccessDeniedException");
	expect_error(callj(P_BUYER, "DescribeKey", json_pack("{s:s}", "KeyId", id)), 400,
		     "AccessDeniedException");
	expect_error(callj(P_ENCLAVE, "Decrypt", json_deep_copy(d1)), 400, "AccessDeniedException");
	/* An Equals grant to the enclave: the context exactly, no more. */
	create_grant(id,
		     json_pack("{s:s, s:[s, s], s:{s:{s:s}}, s:s}", "GranteePrincipal", ENCL,
			       "Operations", "Decrypt", "RetireGrant", "Constraints",
			       "EncryptionContextEquals", "party", "buyer1", "RetiringPrincipal",
			       BUYER),
		     gid2, tok2);
	expect_error(callj(P_ENCLAVE, "Decrypt", json_deep_copy(d1)), 400, "AccessDeniedException");
	expect_ok(r = callj(P_ENCLAVE, "Decrypt", json_deep_copy(dx)));
	plaintext_is(&r, "ex");
	json_decref(r.json);

	/* ListGrants: both, paged, filtered. */
	r = callj(P_ADMIN, "ListGrants", json_pack("{s:s}", "KeyId", id));
	expect_ok(r);
	assert_int_equal(json_array_size(json_object_get(r.json, "Grants")), 2);
	json_decref(r.json);
	r = callj(P_ADMIN, "ListGrants", json_pack("{s:s, s:i}", "KeyId", id, "Limit", 1));
	expect_ok(r);
	assert_true(json_is_true(json_object_get(r.json, "Truncated")));
	char marker[512];
	snprintf(marker, sizeof(marker), "%s", str_of(&r, "NextMarker"));
	json_decref(r.json);
	r = callj(P_ADMIN, "ListGrants", json_pack("{s:s, s:s}", "KeyId", id, "Marker", marker));
	expect_ok(r);
	assert_int_equal(json_array_size(json_object_get(r.json, "Grants")), 1);
	json_decref(r.json);
	r = callj(P_ADMIN, "ListGrants",
		  json_pack("{s:s, s:s}", "KeyId", id, "GranteePrincipal", BUYER));
	expect_ok(r);
	json_t *g = json_array_get(json_object_get(r.json, "Grants"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "GrantId")), gid);
	assert_string_equal(json_string_value(json_object_get(g, "Name")), "buyer1-bids");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_object_get(g, "Constraints"),
						    "EncryptionContextSubset"),
				    "party")),
			    "buyer1");
	assert_string_equal(json_string_value(json_array_get(json_object_get(g, "Operations"), 0)),
			    "Decrypt");
	json_decref(r.json);
	expect_error(callj(P_BUYER, "ListGrants", json_pack("{s:s}", "KeyId", id)), 400,
		     "AccessDeniedException");

	/* RetireGrant: the retiring principal or a grantee holding RetireGrant. */
	expect_error(callj(P_BUYER, "RetireGrant", json_pack("{s:s}", "GrantToken", tok)), 400,
		     "AccessDeniedException");
	ok_call(P_BUYER, "RetireGrant", json_pack("{s:s}", "GrantToken", tok2));
	expect_error(callj(P_BUYER, "RetireGrant", json_pack("{s:s}", "GrantToken", tok2)), 400,
		     "InvalidGrantTokenException");
	expect_error(callj(P_ENCLAVE, "Decrypt", json_deep_copy(dx)), 400, "AccessDeniedException");
	/* RevokeGrant: by the key policy. */
	expect_error(callj(P_ADMIN, "RevokeGrant", json_pack("{s:s, s:s}", "KeyId", id, "GrantId",
							     "nothex")),
		     400, "InvalidGrantIdException");
	expect_error(callj(P_BUYER, "RevokeGrant", json_pack("{s:s, s:s}", "KeyId", id, "GrantId",
							     gid)),
		     400, "AccessDeniedException");
	ok_call(P_ADMIN, "RevokeGrant", json_pack("{s:s, s:s}", "KeyId", id, "GrantId", gid));
	expect_error(callj(P_ADMIN, "RevokeGrant", json_pack("{s:s, s:s}", "KeyId", id, "GrantId",
							     gid)),
		     400, "NotFoundException");
	expect_error(callj(P_BUYER, "Decrypt", json_deep_copy(d1)), 400, "AccessDeniedException");

	/* A grantee with CreateGrant passes on no more than it holds. */
	create_grant(id,
		     json_pack("{s:s, s:[s, s]}", "GranteePrincipal", BUYER, "Operations",
			       "CreateGrant", "Decrypt"),
		     gid, tok);
	expect_error(callj(P_BUYER, "CreateGrant",
			   json_pack("{s:s, s:s, s:[s]}", "KeyId", id, "GranteePrincipal", ENCL,
				     "Operations", "Encrypt")),
		     400, "AccessDeniedException");
	ok_call(P_BUYER, "CreateGrant",
		json_pack("{s:s, s:s, s:[s]}", "KeyId", id, "GranteePrincipal", ENCL, "Operations",
			  "Decrypt"));
	expect_ok(r = callj(P_ENCLAVE, "Decrypt", json_deep_copy(d2)));
	json_decref(r.json);
	/* Retire by key and grant id, by a principal the key policy allows. */
	ok_call(P_ADMIN, "RetireGrant", json_pack("{s:s, s:s}", "KeyId", id, "GrantId", gid));
	json_decref(d1);
	json_decref(d2);
	json_decref(dx);
}

/* ---- Recipient ---- */

/* An attestation document signed by ca, with PCR0..2 = pcrs (NULL: zeros). */
static void make_doc(const struct ca *ca, const uint8_t (*pcrs)[48], struct sb_buf *out)
{
	struct sb_attest_doc *doc = NULL;
	struct sb_buf payload = SB_BUF_INIT(SB_ATTEST_DOC_MAX), tbs = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	uint8_t sig[96];

	assert_true(sb_ok(sb_attest_doc_new(&doc)));
	snprintf(doc->module_id, sizeof(doc->module_id), "i-test-enc0123456789");
	doc->timestamp_ms = sb_time_now_ms();
	for (int i = 0; i < 16; i++) {
		doc->pcrs[i].present = true;
		doc->pcrs[i].len = 48;
		if (i < 3 && pcrs != NULL)
			memcpy(doc->pcrs[i].value, pcrs[i], 48);
	}
	assert_true(sb_ok(sb_buf_append_slice(&doc->certificate, sb_x509_der(ca->leaf))));
	assert_true(sb_ok(sb_buf_append_slice(&doc->cabundle[0], sb_x509_der(ca->root))));
	doc->cabundle_len = 1;
	doc->public_key.present = true;
	assert_true(sb_ok(sb_rsa_key_public_der(fx.rsa, &doc->public_key.value)));
	assert_true(sb_ok(sb_attest_payload_encode(doc, false, &payload)));
	assert_true(sb_ok(sb_cose_sig_structure(sb_cose_protected_es384(), sb_buf_slice(&payload),
						&tbs)));
	assert_true(sb_ok(sb_ecdsa_sign_es384(ca->leaf_key, sb_buf_slice(&tbs), sig)));
	assert_true(sb_ok(sb_cose_sign1_encode(sb_buf_slice(&payload), sig, out)));
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&tbs);
}

static void hex48(const uint8_t *v, char out[97])
{
	for (int i = 0; i < 48; i++)
		snprintf(out + 2 * i, 3, "%02x", v[i]);
}

/* A body with a Recipient carrying doc. */
static void with_recipient(const char *fields, const struct sb_buf *doc, char *body, size_t cap)
{
	struct sb_buf d64 = SB_BUF_INIT(3 * SB_ATTEST_DOC_MAX);
	assert_true(sb_ok(sb_base64_encode(sb_buf_slice(doc), &d64)));
	snprintf(body, cap,
		 "{%s,\"Recipient\":{\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\","
		 "\"AttestationDocument\":\"%s\"}}",
		 fields, sb_buf_cstr(&d64));
	sb_buf_cleanup(&d64);
}

static void cms_opens_to(const struct reply *r, const char *want, size_t want_len)
{
	struct sb_buf cms = SB_BUF_INIT(SB_CMS_MAX_LEN), plain = SB_BUF_INIT_SECRET(4096);
	assert_null(json_object_get(r->json, "Plaintext"));
	assert_non_null(str_of(r, "CiphertextForRecipient"));
	assert_true(sb_ok(sb_base64_decode(sb_slice_str(str_of(r, "CiphertextForRecipient")), &cms)));
	assert_true(sb_ok(sb_cms_decrypt(fx.rsa, sb_buf_slice(&cms), &plain)));
	assert_int_equal(plain.len, want_len);
	if (want != NULL)
		assert_memory_equal(plain.data, want, want_len);
	sb_buf_cleanup(&cms);
	sb_buf_cleanup(&plain);
}

static void test_recipient_with_pinned_pcrs(void **state)
{
	char id[64], blob[1024], fields[2048], policy[4096], pcr[3][97];
	static char body[64 * 1024];
	struct sb_buf good = SB_BUF_INIT(SB_ATTEST_DOC_MAX), debug = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_buf other = SB_BUF_INIT(SB_ATTEST_DOC_MAX), alien = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	uint8_t wrong[3][48];
	struct reply r;

	(void)state;
	for (int i = 0; i < 3; i++)
		hex48(fx.pcr[i], pcr[i]);
	/* The admin keeps key management; the enclave role may decrypt and
	 * generate data keys only with an attestation of the agreed PCRs. */
	snprintf(policy, sizeof(policy),
		 "{\"Version\":\"2012-10-17\",\"Statement\":["
		 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ADMIN "\"},\"Action\":"
		 "[\"kms:Encrypt\",\"kms:PutKeyPolicy\",\"kms:GetKeyPolicy\",\"kms:DescribeKey\"],"
		 "\"Resource\":\"*\"},"
		 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ENCL "\"},\"Action\":"
		 "[\"kms:Decrypt\",\"kms:GenerateDataKey\"],\"Resource\":\"*\",\"Condition\":"
		 "{\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\"%s\","
		 "\"kms:RecipientAttestation:PCR1\":\"%s\",\"kms:RecipientAttestation:PCR2\":\"%s\"}}}]}",
		 pcr[0], pcr[1], pcr[2]);
	create_key(P_ADMIN, policy, id);
	encrypt(id, "100000", NULL, blob, sizeof(blob));
	make_doc(&fx.trusted, (const uint8_t(*)[48])fx.pcr, &good);
	make_doc(&fx.trusted, NULL, &debug);
	memcpy(wrong, fx.pcr, sizeof(wrong));
	wrong[2][47] ^= 1;
	make_doc(&fx.trusted, (const uint8_t(*)[48])wrong, &other);
	make_doc(&fx.untrusted, (const uint8_t(*)[48])fx.pcr, &alien);

	snprintf(fields, sizeof(fields), "\"CiphertextBlob\":\"%s\"", blob);
	with_recipient(fields, &good, body, sizeof(body));
	expect_ok(r = call(P_ENCLAVE, "Decrypt", body));
	cms_opens_to(&r, "100000", 6);
	assert_non_null(strstr(str_of(&r, "KeyId"), id));
	json_decref(r.json);
	/* The same call without Recipient, with debug PCRs, with other PCRs. */
	snprintf(body, sizeof(body), "{%s}", fields);
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "AccessDeniedException");
	with_recipient(fields, &debug, body, sizeof(body));
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "AccessDeniedException");
	with_recipient(fields, &other, body, sizeof(body));
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "AccessDeniedException");
	/* An untrusted root and a tampered document fail verification. */
	with_recipient(fields, &alien, body, sizeof(body));
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "ValidationException");
	good.data[good.len / 2] ^= 0x01;
	with_recipient(fields, &good, body, sizeof(body));
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "ValidationException");
	good.data[good.len / 2] ^= 0x01;
	/* A good document does not help a principal the policy does not name. */
	with_recipient(fields, &good, body, sizeof(body));
	expect_error(call(P_BUYER, "Decrypt", body), 400, "AccessDeniedException");
	/* Bad Recipient fields. */
	snprintf(body, sizeof(body),
		 "{%s,\"Recipient\":{\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_1\","
		 "\"AttestationDocument\":\"AAAA\"}}",
		 fields);
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "ValidationException");
	snprintf(body, sizeof(body), "{%s,\"Recipient\":{\"AttestationDocument\":\"@@@\"}}", fields);
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "ValidationException");

	/* GenerateDataKey with Recipient: CiphertextBlob and CiphertextForRecipient. */
	snprintf(fields, sizeof(fields), "\"KeyId\":\"%s\",\"KeySpec\":\"AES_256\"", id);
	with_recipient(fields, &good, body, sizeof(body));
	expect_ok(r = call(P_ENCLAVE, "GenerateDataKey", body));
	assert_non_null(str_of(&r, "CiphertextBlob"));
	cms_opens_to(&r, NULL, 32);
	json_decref(r.json);
	/* GenerateRandom with Recipient. */
	with_recipient("\"NumberOfBytes\":16", &good, body, sizeof(body));
	expect_ok(r = call(P_BUYER, "GenerateRandom", body));
	cms_opens_to(&r, NULL, 16);
	json_decref(r.json);

	sb_buf_cleanup(&good);
	sb_buf_cleanup(&debug);
	sb_buf_cleanup(&other);
	sb_buf_cleanup(&alien);
}

static struct sb_kmsd_attest_cache_stats attest_stats(void)
{
	struct sb_kmsd_attest_cache_stats st;

	sb_kmsd_attest_stats(fx.kmsd, &st);
	return st;
}

/* Sets key id's policy: the admin manages, the enclave may decrypt with PCR1 = pcr1. */
static void put_enclave_policy(const char *id, const char *pcr1)
{
	char policy[4096], body[8192];
	json_t *b;
	char *s;
	struct reply r;

	snprintf(policy, sizeof(policy),
		 "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ADMIN "\"},"
		 "\"Action\":[\"kms:Encrypt\",\"kms:PutKeyPolicy\"],\"Resource\":\"*\"},"
		 "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ENCL "\"},\"Action\":"
		 "\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"StringEquals\":"
		 "{\"kms:RecipientAttestation:PCR1\":\"%s\"}}}]}",
		 pcr1);
	b = json_pack("{s:s, s:s}", "KeyId", id, "Policy", policy);
	s = json_dumps(b, JSON_COMPACT);
	snprintf(body, sizeof(body), "%s", s);
	free(s);
	json_decref(b);
	expect_ok(r = call(P_ADMIN, "PutKeyPolicy", body));
	json_decref(r.json);
}

/*
 * The cache keeps verification, never a decision: with the document cached,
 * a policy change applies to the very next call, both ways.
 */
static void test_cached_document_policy_each_call(void **state)
{
	char id[64], blob[1024], fields[2048], pcr1[97];
	static char body[64 * 1024];
	struct sb_buf good = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_kmsd_attest_cache_stats before, after;
	struct reply r;

	(void)state;
	hex48(fx.pcr[1], pcr1);
	create_key(P_ADMIN, NULL, id);
	put_enclave_policy(id, pcr1);
	encrypt(id, "424242", NULL, blob, sizeof(blob));
	make_doc(&fx.trusted, (const uint8_t(*)[48])fx.pcr, &good);
	snprintf(fields, sizeof(fields), "\"CiphertextBlob\":\"%s\"", blob);
	with_recipient(fields, &good, body, sizeof(body));

	before = attest_stats();
	expect_ok(r = call(P_ENCLAVE, "Decrypt", body));
	cms_opens_to(&r, "424242", 6);
	json_decref(r.json);
	expect_ok(r = call(P_ENCLAVE, "Decrypt", body));
	json_decref(r.json);
	after = attest_stats();
	assert_int_equal(after.misses, before.misses + 1);
	assert_int_equal(after.hits, before.hits + 1);

	/* Pin another PCR1: the cached document no longer satisfies it. */
	put_enclave_policy(id, "00");
	expect_error(call(P_ENCLAVE, "Decrypt", body), 400, "AccessDeniedException");
	/* And back: allowed again at once. */
	put_enclave_policy(id, pcr1);
	expect_ok(r = call(P_ENCLAVE, "Decrypt", body));
	cms_opens_to(&r, "424242", 6);
	json_decref(r.json);
	after = attest_stats();
	/* All four Decrypts used the one verification. */
	assert_int_equal(after.misses, before.misses + 1);
	assert_int_equal(after.hits, before.hits + 3);
	assert_true(after.entries >= 1);
	sb_buf_cleanup(&good);
}

/* Runs last: everything above was logged; no plaintext or key may appear (access key
 * ids do, as CloudTrail shows them: the fixture's hold no digits that could pass for a bid). */
static void test_logs_hold_no_secrets(void **state)
{
	const char *log = sb_buf_cstr(&fx.log);

	(void)state;
	assert_non_null(strstr(log, "op=Decrypt"));
	assert_non_null(strstr(log, "principal=" ENCL));
	assert_non_null(strstr(log, "outcome=AccessDeniedException"));
	assert_null(strstr(log, "100000"));
	assert_null(strstr(log, "MTAwMDAw")); /* base64 of 100000 */
	assert_null(strstr(log, "secret"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_lifecycle_and_crypto),
		cmocka_unit_test(test_data_keys_and_random),
		cmocka_unit_test(test_authentication),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_size_limits),
		cmocka_unit_test(test_policies),
		cmocka_unit_test(test_dry_run_markers_create_options),
		cmocka_unit_test(test_key_states),
		cmocka_unit_test(test_key_deleted_after_window),
		cmocka_unit_test(test_alias_update_delete_reencrypt),
		cmocka_unit_test(test_grants),
		cmocka_unit_test(test_recipient_with_pinned_pcrs),
		cmocka_unit_test(test_cached_document_policy_each_call),
		cmocka_unit_test(test_logs_hold_no_secrets),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
