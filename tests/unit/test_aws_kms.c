/*
 * Unit tests for src/aws/sb_kms: against moto_server (CreateKey, Encrypt /
 * Decrypt round trip with an encryption context, GenerateDataKey,
 * GenerateRandom, the concurrent Decrypt batch, service errors), and pure
 * tests of request shapes (Recipient) and strict response parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/sb_kms.h"
#include "test_aws_stub.h"

#define AKID   "AKIAKMSTEST000000001"
#define SECRET "kmsTestSecret/abcdefghijklmnopqrstuv"

static pid_t g_pid = -1;
static char g_endpoint[64];
static struct sb_creds_provider *g_creds;
static struct sb_kms *g_kms;
static char g_key_arn[SB_KMS_KEY_ID_MAX + 1];

static int group_setup(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	const char *moto = find_moto();
	int port = free_port();
	char portstr[16];

	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_aws_creds_set(&c, SB_SLICE_LIT(AKID), SB_SLICE_LIT(SECRET),
					   SB_SLICE_LIT("kmsSessionToken"), 0)));
	assert_true(sb_ok(sb_creds_provider_new_static(&c, &g_creds)));
	sb_aws_creds_cleanup(&c);
	if (moto == NULL)
		return 0; /* moto tests skip; pure tests run */
	(void)snprintf(portstr, sizeof(portstr), "%d", port);
	char *argv[] = {(char *)moto, "-H", "127.0.0.1", "-p", portstr, NULL};
	g_pid = spawn_quiet(argv);
	if (!wait_port(port, g_pid))
		return -1;
	(void)snprintf(g_endpoint, sizeof(g_endpoint), "http://127.0.0.1:%d", port);
	struct sb_kms_config cfg;
	sb_kms_config_default(&cfg);
	cfg.region = "us-east-1";
	cfg.endpoint = g_endpoint;
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_kms_new(&cfg, &g_kms)));
	/* CreateKey through the client's generic call. */
	struct sb_buf resp = SB_BUF_INIT(1 << 16);
	assert_true(sb_ok(sb_kms_call(g_kms, "CreateKey",
				      SB_SLICE_LIT("{\"Description\":\"sealbid test\"}"), &resp)));
	json_t *j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
	const char *arn = json_string_value(json_object_get(json_object_get(j, "KeyMetadata"), "Arn"));
	assert_non_null(arn);
	(void)snprintf(g_key_arn, sizeof(g_key_arn), "%s", arn);
	json_decref(j);
	sb_buf_cleanup(&resp);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sb_kms_free(g_kms);
	sb_creds_provider_free(g_creds);
	stop_child(g_pid);
	return 0;
}

static void need_moto(void)
{
	if (g_kms == NULL) {
		print_message("moto_server not installed: skipping\n");
		skip();
	}
}

static void test_encrypt_decrypt(void **state)
{
	(void)state;
	need_moto();
	const struct sb_kms_context ctx[] = {{"sealbid:manifest", "abc123"},
					     {"sealbid:party", "Buyer1"}};
	struct sb_kms_result enc, dec;

	sb_kms_result_init(&enc);
	sb_kms_result_init(&dec);
	assert_true(sb_ok(sb_kms_encrypt(g_kms, g_key_arn, SB_SLICE_LIT("425000.00"), ctx, 2, &enc)));
	assert_true(enc.ciphertext_blob.len > 0);
	assert_string_equal(enc.key_id, g_key_arn);
	struct sb_kms_decrypt_in in = {.ciphertext = sb_buf_slice(&enc.ciphertext_blob),
				       .context = ctx,
				       .n_context = 2};
	assert_true(sb_ok(sb_kms_decrypt(g_kms, &in, &dec)));
	assert_true(dec.plaintext.secret);
	assert_int_equal(dec.plaintext.len, 9);
	assert_memory_equal(dec.plaintext.data, "425000.00", 9);
	/* The key that decrypted is surfaced (DESIGN.md §6). */
	assert_string_equal(dec.key_id, g_key_arn);
	assert_int_equal(dec.ciphertext_for_recipient.len, 0);
	/* With KeyId given explicitly as well. */
	in.key_id = g_key_arn;
	assert_true(sb_ok(sb_kms_decrypt(g_kms, &in, &dec)));
	/* A wrong encryption context: KMS refuses; the error names operation and code. */
	const struct sb_kms_context wrong[] = {{"sealbid:manifest", "other"}};
	in.context = wrong;
	in.n_context = 1;
	assert_false(sb_ok(sb_kms_decrypt(g_kms, &in, &dec)));
	assert_non_null(strstr(sb_error_detail(), "KMS Decrypt: InvalidCiphertextException"));
	assert_int_equal(dec.plaintext.len, 0);
	assert_null(strstr(sb_error_describe(), SECRET));
	/* An unknown key. */
	assert_int_equal(sb_kms_encrypt(g_kms, "alias/does-not-exist", SB_SLICE_LIT("x"), NULL, 0,
					&enc).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_non_null(strstr(sb_error_detail(), "KMS Encrypt: NotFoundException"));
	sb_kms_result_cleanup(&enc);
	sb_kms_result_cleanup(&dec);
}

static void test_data_key_and_random(void **state)
{
	(void)state;
	need_moto();
	struct sb_kms_result r, d;
	const struct sb_kms_context ctx[] = {{"sealbid:party", "Buyer2"}};

	sb_kms_result_init(&r);
	sb_kms_result_init(&d);
	struct sb_kms_gdk_in gdk = {.key_id = g_key_arn, .key_spec = "AES_256", .context = ctx,
				    .n_context = 1};
	assert_true(sb_ok(sb_kms_generate_data_key(g_kms, &gdk, &r)));
	assert_int_equal(r.plaintext.len, 32);
	assert_true(r.ciphertext_blob.len > 0);
	assert_string_equal(r.key_id, g_key_arn);
	struct sb_kms_decrypt_in in = {.ciphertext = sb_buf_slice(&r.ciphertext_blob),
				       .context = ctx,
				       .n_context = 1};
	assert_true(sb_ok(sb_kms_decrypt(g_kms, &in, &d)));
	assert_int_equal(d.plaintext.len, 32);
	assert_memory_equal(d.plaintext.data, r.plaintext.data, 32);
	gdk.key_spec = NULL;
	gdk.number_of_bytes = 16;
	assert_true(sb_ok(sb_kms_generate_data_key(g_kms, &gdk, &r)));
	assert_int_equal(r.plaintext.len, 16);
	gdk.key_spec = "AES_256";
	assert_int_equal(sb_kms_generate_data_key(g_kms, &gdk, &r).code, SB_ERR_INVALID_ARG);

	assert_true(sb_ok(sb_kms_generate_random(g_kms, 48, SB_SLICE(NULL, 0), &r)));
	assert_int_equal(r.plaintext.len, 48);
	assert_int_equal(sb_kms_generate_random(g_kms, 0, SB_SLICE(NULL, 0), &r).code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_kms_generate_random(g_kms, 1025, SB_SLICE(NULL, 0), &r).code,
			 SB_ERR_INVALID_ARG);
	sb_kms_result_cleanup(&r);
	sb_kms_result_cleanup(&d);
}

static void test_decrypt_batch(void **state)
{
	(void)state;
	need_moto();
	enum { N = 24 };
	struct sb_kms_result enc[N], out[N + 1];
	struct sb_kms_decrypt_in ins[N + 1];
	char amount[N][16];

	for (int i = 0; i < N; i++) {
		sb_kms_result_init(&enc[i]);
		(void)snprintf(amount[i], sizeof(amount[i]), "%d.50", 100000 + i);
		assert_true(sb_ok(sb_kms_encrypt(g_kms, g_key_arn, sb_slice_str(amount[i]), NULL, 0,
						 &enc[i])));
		ins[i] = (struct sb_kms_decrypt_in){.ciphertext = sb_buf_slice(&enc[i].ciphertext_blob)};
	}
	/* One bad ciphertext among them fails alone. */
	ins[N] = (struct sb_kms_decrypt_in){.ciphertext = SB_SLICE_LIT("not a real ciphertext blob")};
	for (int i = 0; i <= N; i++)
		sb_kms_result_init(&out[i]);
	assert_true(sb_ok(sb_kms_decrypt_batch(g_kms, ins, out, N + 1, 8)));
	for (int i = 0; i < N; i++) {
		assert_int_equal(out[i].error, SB_OK);
		assert_int_equal(out[i].plaintext.len, strlen(amount[i]));
		assert_memory_equal(out[i].plaintext.data, amount[i], strlen(amount[i]));
		assert_string_equal(out[i].key_id, g_key_arn);
	}
	assert_int_not_equal(out[N].error, SB_OK);
	assert_non_null(strstr(out[N].detail, "KMS Decrypt: "));
	/* Again, on the same kept runner. */
	assert_true(sb_ok(sb_kms_decrypt_batch(g_kms, ins, out, N, 8)));
	assert_int_equal(out[N - 1].error, SB_OK);
	assert_true(sb_ok(sb_kms_decrypt_batch(g_kms, ins, out, 0, 8)));
	for (int i = 0; i < N; i++)
		sb_kms_result_cleanup(&enc[i]);
	for (int i = 0; i <= N; i++)
		sb_kms_result_cleanup(&out[i]);
}

/* ---- pure: request shapes and strict response parsing -------------------- */

static void test_request_shape(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(1 << 16);
	const struct sb_kms_context ctx[] = {{"k1", "v1"}, {"k2", "v2"}};
	struct sb_kms_decrypt_in in = {.ciphertext = SB_SLICE_LIT("\x01\x02\x03"),
				       .key_id = "arn:aws:kms:us-east-1:111122223333:key/abc",
				       .context = ctx,
				       .n_context = 2,
				       .attestation = SB_SLICE_LIT("attest-doc")};

	assert_true(sb_ok(sb_kms_encode_decrypt(&in, &b)));
	/* The Decrypt request shape from the KMS API reference. */
	assert_string_equal(sb_buf_cstr(&b),
			    "{\"CiphertextBlob\":\"AQID\",\"EncryptionContext\":{\"k1\":\"v1\","
			    "\"k2\":\"v2\"},\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/abc\","
			    "\"Recipient\":{\"AttestationDocument\":\"YXR0ZXN0LWRvYw==\","
			    "\"KeyEncryptionAlgorithm\":\"RSAES_OAEP_SHA_256\"}}");
	const struct sb_kms_context dup[] = {{"k", "a"}, {"k", "b"}};
	in.context = dup;
	sb_buf_reset(&b);
	assert_int_equal(sb_kms_encode_decrypt(&in, &b).code, SB_ERR_INVALID_ARG);
	in.context = NULL;
	in.n_context = 0;
	in.ciphertext = SB_SLICE(NULL, 0);
	assert_int_equal(sb_kms_encode_decrypt(&in, &b).code, SB_ERR_INVALID_ARG);
	sb_buf_cleanup(&b);
}

static void test_parse_response(void **state)
{
	(void)state;
	const char *arn = "arn:aws:kms:us-east-1:111122223333:key/k";
	const struct {
		enum sb_kms_op op;
		bool recipient;
		const char *body;
		int code; /* SB_OK: accepted */
	} cases[] = {
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"Plaintext\":\"MTIz\","
					   "\"EncryptionAlgorithm\":\"SYMMETRIC_DEFAULT\"}", SB_OK},
		{SB_KMS_OP_DECRYPT, true, "{\"KeyId\":\"a\",\"Plaintext\":null,"
					  "\"CiphertextForRecipient\":\"MIIB\"}", SB_OK},
		{SB_KMS_OP_DECRYPT, true, "{\"KeyId\":\"a\",\"CiphertextForRecipient\":\"MIIB\"}", SB_OK},
		{SB_KMS_OP_DECRYPT, true, "{\"KeyId\":\"a\",\"Plaintext\":\"\","
					  "\"CiphertextForRecipient\":\"MIIB\",\"KeyMaterialId\":\"x\"}", SB_OK},
		{SB_KMS_OP_DECRYPT, true, "{\"KeyId\":\"a\",\"Plaintext\":\"MTIz\","
					  "\"CiphertextForRecipient\":\"MIIB\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, true, "{\"KeyId\":\"a\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"Plaintext\":\"MTIz\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":5,\"Plaintext\":\"MTIz\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"Plaintext\":\"MTI\"}", SB_ERR_BAD_BASE64},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"Plaintext\":\"MT Iz\"}", SB_ERR_BAD_BASE64},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"KeyId\":\"b\",\"Plaintext\":\"MTIz\"}",
		 SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"Plaintext\":\"MTIz\"}x", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "[]", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a b\",\"Plaintext\":\"MTIz\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_DECRYPT, false, "{\"KeyId\":\"a\",\"Plaintext\":\"MTIz\","
					   "\"EncryptionAlgorithm\":1}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_ENCRYPT, false, "{\"KeyId\":\"a\",\"CiphertextBlob\":\"AQID\"}", SB_OK},
		{SB_KMS_OP_ENCRYPT, false, "{\"KeyId\":\"a\",\"CiphertextBlob\":\"\"}", SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_GENERATE_DATA_KEY, true, "{\"KeyId\":\"a\",\"CiphertextBlob\":\"AQID\","
						    "\"CiphertextForRecipient\":\"MIIB\"}", SB_OK},
		{SB_KMS_OP_GENERATE_DATA_KEY, false, "{\"KeyId\":\"a\",\"CiphertextBlob\":\"AQID\"}",
		 SB_ERR_AWS_BAD_RESPONSE},
		{SB_KMS_OP_GENERATE_RANDOM, false, "{\"Plaintext\":\"AQID\"}", SB_OK},
		{SB_KMS_OP_GENERATE_RANDOM, true, "{\"CiphertextForRecipient\":\"MIIB\"}", SB_OK},
		{SB_KMS_OP_GENERATE_RANDOM, false, "{\"Plaintext\":\"AQID\","
						   "\"CiphertextForRecipient\":\"MIIB\"}", SB_ERR_AWS_BAD_RESPONSE},
	};
	struct sb_kms_result r;

	(void)arn;
	sb_kms_result_init(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sb_result rc = sb_kms_parse_response(cases[i].op, sb_slice_str(cases[i].body),
						     cases[i].recipient, &r);
		if (rc.code != cases[i].code)
			print_error("case %zu: %s\n", i, sb_error_describe());
		assert_int_equal(rc.code, cases[i].code);
		if (rc.code != SB_OK) {
			assert_int_equal(r.plaintext.len, 0);
			assert_string_equal(r.key_id, "");
		}
	}
	assert_true(sb_ok(sb_kms_parse_response(SB_KMS_OP_DECRYPT, SB_SLICE_LIT(
		"{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/k\",\"Plaintext\":null,"
		"\"CiphertextForRecipient\":\"MIIB\"}"), true, &r)));
	assert_string_equal(r.key_id, arn);
	assert_int_equal(r.ciphertext_for_recipient.len, 3);
	assert_int_equal(r.plaintext.len, 0);
	sb_kms_result_cleanup(&r);
}

static void test_config_errors(void **state)
{
	(void)state;
	struct sb_kms_config cfg;
	struct sb_kms *k = NULL;

	sb_kms_config_default(&cfg);
	assert_int_equal(sb_kms_new(&cfg, &k).code, SB_ERR_AWS_NO_CREDENTIALS);
	cfg.creds = g_creds;
	cfg.region = "bad region";
	assert_int_equal(sb_kms_new(&cfg, &k).code, SB_ERR_INVALID_ARG);
	cfg.region = "eu-west-1";
	cfg.endpoint = "ftp://nope";
	assert_int_equal(sb_kms_new(&cfg, &k).code, SB_ERR_INVALID_ARG);
	cfg.endpoint = NULL;
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_KMS");
	assert_true(sb_ok(sb_kms_new(&cfg, &k)));
	assert_string_equal(sb_kms_endpoint(k), "https://kms.eu-west-1.amazonaws.com/");
	struct sb_buf b = SB_BUF_INIT(16);
	assert_int_equal(sb_kms_call(k, "Bad Action", SB_SLICE_LIT("{}"), &b).code,
			 SB_ERR_INVALID_ARG);
	sb_buf_cleanup(&b);
	sb_kms_free(k);
	sb_kms_free(NULL);
}

/* ---- batch against the in-process stub: throttling, stopping early ---- */

#define STUB_ROWS 5000

/* Which rows the stub refuses and how: a row's attempts so far decide its answer. */
struct kms_stub_plan {
	unsigned attempts[STUB_ROWS];
	int fail_row; /* answers InvalidCiphertextException (permanent); -1: none */
};

static const char kms_ok_body[] =
	"{\"KeyId\":\"arn:aws:kms:us-east-1:111122223333:key/stub\",\"Plaintext\":\"MTAw\"}";
static const char kms_throttle_body[] =
	"{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}";
static const char kms_invalid_body[] =
	"{\"__type\":\"InvalidCiphertextException\",\"message\":\"bad blob\"}";

/* The row number the request carries in its encryption context {"row":"NNNNN"}. */
static long stub_row(const struct stub_req *r)
{
	const char *p = r->body != NULL ? strstr(r->body, "\"row\":\"") : NULL;
	return p != NULL ? strtol(p + 7, NULL, 10) : -1;
}

/*
 * About 10% of the calls are throttled: every row 3 mod 10 once, every row
 * 7 mod 250 four times in a row (more than the 3 attempts of a generic
 * error), so 580 of 5,580 calls.
 */
static struct stub_resp kms_stub_handler(struct stub *s, const struct stub_req *r, void *ud)
{
	struct kms_stub_plan *plan = ud;
	long row = stub_row(r);
	unsigned n;

	(void)s;
	if (row < 0 || row >= STUB_ROWS)
		return (struct stub_resp){.status = 400, .body = kms_invalid_body};
	n = plan->attempts[row]++;
	if (row == plan->fail_row)
		return (struct stub_resp){.status = 400, .body = kms_invalid_body};
	if ((row % 10 == 3 && n < 1) || (row % 250 == 7 && n < 4))
		return (struct stub_resp){.status = 400, .body = kms_throttle_body};
	return (struct stub_resp){.status = 200, .body = kms_ok_body};
}

struct batch_fixture {
	struct stub stub;
	struct kms_stub_plan plan;
	struct sb_kms *kms;
	char endpoint[64];
	struct sb_kms_decrypt_in ins[STUB_ROWS];
	struct sb_kms_context ctx[STUB_ROWS];
	char rows[STUB_ROWS][8];
	struct sb_kms_result outs[STUB_ROWS];
};

static struct batch_fixture *batch_fixture_new(enum sb_http_retry_mode mode)
{
	struct batch_fixture *f = calloc(1, sizeof(*f));
	struct sb_kms_config cfg;

	assert_non_null(f);
	f->plan.fail_row = -1;
	assert_int_equal(stub_start(&f->stub), 0);
	f->stub.handler = kms_stub_handler;
	f->stub.handler_ud = &f->plan;
	(void)snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%d", f->stub.port);
	sb_kms_config_default(&cfg);
	cfg.region = "us-east-1";
	cfg.endpoint = f->endpoint;
	cfg.creds = g_creds;
	cfg.http.retry_mode = mode;
	assert_true(sb_ok(sb_kms_new(&cfg, &f->kms)));
	for (size_t i = 0; i < STUB_ROWS; i++) {
		(void)snprintf(f->rows[i], sizeof(f->rows[i]), "%05zu", i);
		f->ctx[i] = (struct sb_kms_context){"row", f->rows[i]};
		f->ins[i] = (struct sb_kms_decrypt_in){.ciphertext = SB_SLICE_LIT("ciphertext"),
						       .context = &f->ctx[i],
						       .n_context = 1};
		sb_kms_result_init(&f->outs[i]);
	}
	return f;
}

static void batch_fixture_free(struct batch_fixture *f)
{
	for (size_t i = 0; i < STUB_ROWS; i++)
		sb_kms_result_cleanup(&f->outs[i]);
	sb_kms_free(f->kms);
	stub_stop(&f->stub);
	free(f);
}

/* Issue 10 item 4: 5,000 decrypts with ~10% of calls throttled all succeed. */
static void test_batch_throttled(void **state)
{
	(void)state;
	struct batch_fixture *f = batch_fixture_new(SB_HTTP_RETRY_STANDARD);
	const struct sb_kms_batch_opts opts = {.parallel = 16, .stop_at_first_failure = true};
	size_t failed = 0;

	assert_true(sb_ok(sb_kms_decrypt_batch_opts(f->kms, f->ins, f->outs, STUB_ROWS, &opts)));
	for (size_t i = 0; i < STUB_ROWS; i++) {
		if (f->outs[i].error != SB_OK) {
			if (failed++ < 3)
				print_error("row %zu: %s\n", i, f->outs[i].detail);
			continue;
		}
		assert_int_equal(f->outs[i].plaintext.len, 3);
		assert_memory_equal(f->outs[i].plaintext.data, "100", 3);
	}
	assert_int_equal(failed, 0);
	/* Every throttled call was retried, and nothing else was sent. */
	assert_int_equal(stub_total(&f->stub), STUB_ROWS + 500 + 20 * 4);
	assert_int_equal(f->plan.attempts[7], 5);
	assert_int_equal(f->plan.attempts[3], 2);
	assert_int_equal(f->plan.attempts[4], 1);
	batch_fixture_free(f);
}

/* A permanent failure stops the batch early when asked; otherwise every row is tried. */
static void test_batch_stop_at_first_failure(void **state)
{
	(void)state;
	const size_t n = 400;
	struct batch_fixture *f = batch_fixture_new(SB_HTTP_RETRY_STANDARD);
	struct sb_kms_batch_opts opts = {.parallel = 4, .stop_at_first_failure = true};
	size_t cancelled = 0, ok = 0;

	f->plan.fail_row = 20;
	assert_true(sb_ok(sb_kms_decrypt_batch_opts(f->kms, f->ins, f->outs, n, &opts)));
	assert_int_equal(f->outs[20].error, SB_ERR_AWS_SERVICE);
	assert_non_null(strstr(f->outs[20].detail, "InvalidCiphertextException"));
	for (size_t i = 0; i < n; i++) {
		if (f->outs[i].error == SB_ERR_HTTP_CANCELLED) {
			cancelled++;
			assert_non_null(strstr(f->outs[i].detail, "stopped at row 20"));
			assert_int_equal(f->outs[i].plaintext.len, 0);
		} else if (f->outs[i].error == SB_OK) {
			ok++;
		}
	}
	/* Rows before 20 (but row 3's retry may still be waiting), at most 4 in flight. */
	size_t calls = stub_total(&f->stub);
	print_message("stop at first failure: %zu calls for %zu rows (%zu ok, %zu cancelled)\n",
		      calls, n, ok, cancelled);
	assert_true(calls <= 40);
	assert_true(cancelled >= n - 40);
	assert_int_equal(ok + cancelled + 1, n);

	/* Without the option every row is tried and only row 20 fails. */
	memset(f->plan.attempts, 0, sizeof(f->plan.attempts));
	opts.stop_at_first_failure = false;
	size_t before = stub_total(&f->stub);
	assert_true(sb_ok(sb_kms_decrypt_batch_opts(f->kms, f->ins, f->outs, n, &opts)));
	assert_true(stub_total(&f->stub) - before >= n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f->outs[i].error, i == 20 ? SB_ERR_AWS_SERVICE : SB_OK);

	/* A row that cannot be encoded stops the batch before any call. */
	f->ins[5].ciphertext = SB_SLICE(NULL, 0);
	opts.stop_at_first_failure = true;
	before = stub_total(&f->stub);
	assert_true(sb_ok(sb_kms_decrypt_batch_opts(f->kms, f->ins, f->outs, n, &opts)));
	assert_int_equal(stub_total(&f->stub), before);
	assert_true(f->outs[5].error != SB_OK && f->outs[5].error != SB_ERR_HTTP_CANCELLED);
	assert_int_equal(f->outs[6].error, SB_ERR_HTTP_CANCELLED);
	assert_non_null(strstr(f->outs[6].detail, "stopped at row 5"));
	batch_fixture_free(f);
}

/* Adaptive mode: the same throttled batch still completes (the limiter only slows it). */
static void test_batch_adaptive(void **state)
{
	(void)state;
	struct batch_fixture *f = batch_fixture_new(SB_HTTP_RETRY_ADAPTIVE);
	const struct sb_kms_batch_opts opts = {.parallel = 8};

	/* Rows 0..39: rows 3, 7, 13, 23, 33 throttled; the limiter turns on. */
	assert_true(sb_ok(sb_kms_decrypt_batch_opts(f->kms, f->ins, f->outs, 40, &opts)));
	for (size_t i = 0; i < 40; i++)
		assert_int_equal(f->outs[i].error, SB_OK);
	assert_int_equal(stub_total(&f->stub), 40 + 4 + 4);
	batch_fixture_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encrypt_decrypt),
		cmocka_unit_test(test_data_key_and_random),
		cmocka_unit_test(test_decrypt_batch),
		cmocka_unit_test(test_request_shape),
		cmocka_unit_test(test_parse_response),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_batch_throttled),
		cmocka_unit_test(test_batch_stop_at_first_failure),
		cmocka_unit_test(test_batch_adaptive),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
