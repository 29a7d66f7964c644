/* Unit tests for src/kmsd/sb_sigv4: the AWS SigV4 test-suite vectors, then
 * every way a request is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_file.h"
#include "kmsd/sb_sigv4.h"

#define SUITE_KEY    "AKIDEXAMPLE"
#define SUITE_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_NOW_MS 1440938160000ull /* 2015-08-30T12:36:00Z */
#define SUITE_TOKEN                                                                                \
	"AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmx" \
	"fpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0K" \
	"PkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZb" \
	"qBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
#define HOST "example.amazonaws.com"
#define DATE "20150830T123600Z"
#define AUTH_PREFIX                                                                                \
	"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

/* One suite case: the request as it is on the wire, and the published
 * Authorization header. Headers are "Name:value" strings. */
struct vector {
	const char *name;
	const char *method;
	const char *path;
	const char *query;
	const char *headers[6];
	const char *body;
	const char *token;
	const char *signed_headers;
	const char *signature;
};

static const struct vector vectors[] = {
	{"get-vanilla", "GET", "/", "", {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL,
	 "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
	{"get-vanilla-empty-query-key", "GET", "/", "Param1=value1",
	 {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL, "host;x-amz-date",
	 "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
	{"get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1",
	 {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL, "host;x-amz-date",
	 "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
	{"get-vanilla-query-unreserved", "GET", "/",
	 "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz="
	 "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	 {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL, "host;x-amz-date",
	 "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
	{"get-vanilla-utf8-query", "GET", "/", "%E1%88%B4=bar", {"Host:" HOST, "X-Amz-Date:" DATE},
	 "", NULL, "host;x-amz-date",
	 "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
	{"get-unreserved", "GET", "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
	 "", {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL, "host;x-amz-date",
	 "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
	{"get-utf8", "GET", "/%E1%88%B4", "", {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL,
	 "host;x-amz-date", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
	{"get-header-key-duplicate", "GET", "/", "",
	 {"Host:" HOST, "My-Header1:value2", "My-Header1:value2", "My-Header1:value1",
	  "X-Amz-Date:" DATE},
	 "", NULL, "host;my-header1;x-amz-date",
	 "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"},
	{"get-header-value-order", "GET", "/", "",
	 {"Host:" HOST, "My-Header1:value4", "My-Header1:value1", "My-Header1:value3",
	  "My-Header1:value2", "X-Amz-Date:" DATE},
	 "", NULL, "host;my-header1;x-amz-date",
	 "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
	{"get-header-value-trim", "GET", "/", "",
	 {"Host:" HOST, "My-Header1: value1", "My-Header2: \"a   b   c\"", "X-Amz-Date:" DATE},
	 "", NULL, "host;my-header1;my-header2;x-amz-date",
	 "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
	{"post-vanilla", "POST", "/", "", {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL,
	 "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"post-header-key-case", "POST", "/", "", {"HOST:" HOST, "x-AMZ-date:" DATE}, "", NULL,
	 "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
	{"post-header-key-sort", "POST", "/", "",
	 {"Host:" HOST, "My-Header1:value1", "X-Amz-Date:" DATE}, "", NULL,
	 "host;my-header1;x-amz-date",
	 "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
	{"post-header-value-case", "POST", "/", "",
	 {"Host:" HOST, "My-Header1:VALUE1", "X-Amz-Date:" DATE}, "", NULL,
	 "host;my-header1;x-amz-date",
	 "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
	{"post-vanilla-query", "POST", "/", "Param1=value1", {"Host:" HOST, "X-Amz-Date:" DATE}, "",
	 NULL, "host;x-amz-date",
	 "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
	{"post-vanilla-query-nonunreserved", "POST", "/",
	 "%40%23%24%25%5E=&%2B=%2F%2C%3F%3E%3C%60%22%3B%3A%5C%7C%5D%5B%7B%7D",
	 {"Host:" HOST, "X-Amz-Date:" DATE}, "", NULL, "host;x-amz-date",
	 "66c82657c86e26fb25238d0e69f011edc4c6df5ae71119d7cb98ed9b87393c1e"},
	{"post-sts-header-before", "POST", "/", "",
	 {"Host:" HOST, "X-Amz-Date:" DATE, "X-Amz-Security-Token:" SUITE_TOKEN}, "", SUITE_TOKEN,
	 "host;x-amz-date;x-amz-security-token",
	 "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"},
	{"post-x-www-form-urlencoded", "POST", "/", "",
	 {"Content-Type:application/x-www-form-urlencoded", "Host:" HOST, "X-Amz-Date:" DATE},
	 "Param1=value1", NULL, "content-type;host;x-amz-date",
	 "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
	{"post-x-www-form-urlencoded-parameters", "POST", "/", "",
	 {"Content-Type:application/x-www-form-urlencoded; charset=utf8", "Host:" HOST,
	  "X-Amz-Date:" DATE},
	 "Param1=value1", NULL, "content-type;host;x-amz-date",
	 "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
};

/* A request under construction: headers split from "Name:value" strings. */
struct req {
	struct sb_sigv4_header h[8];
	char authz[512];
	struct sb_sigv4_request r;
};

static void build(const struct vector *v, const char *signature, struct req *out)
{
	size_t n = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < 6 && v->headers[i] != NULL; i++) {
		const char *colon = strchr(v->headers[i], ':');
		out->h[n].name = SB_SLICE(v->headers[i], (size_t)(colon - v->headers[i]));
		out->h[n].value = sb_slice_str(colon + 1);
		n++;
	}
	if (signature != NULL) {
		(void)snprintf(out->authz, sizeof(out->authz),
			       AUTH_PREFIX "SignedHeaders=%s, Signature=%s", v->signed_headers,
			       signature);
		out->h[n].name = SB_SLICE_LIT("Authorization");
		out->h[n].value = sb_slice_str(out->authz);
		n++;
	}
	out->r = (struct sb_sigv4_request){sb_slice_str(v->method), sb_slice_str(v->path),
					   sb_slice_str(v->query), out->h, n,
					   sb_slice_str(v->body)};
}

static struct sb_sigv4_credential suite_creds[2] = {
	{"AKIDOTHER", "other-secret", NULL},
	{SUITE_KEY, SUITE_SECRET, NULL},
};

static struct sb_sigv4_policy suite_policy(const struct vector *v)
{
	suite_creds[1].session_token = v->token;
	return (struct sb_sigv4_policy){"us-east-1", "service", SUITE_NOW_MS, 0, suite_creds, 2};
}

static void test_suite_vectors_verify(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct req rq;
		struct sb_sigv4_policy pol = suite_policy(&vectors[i]);
		size_t idx = 99;
		build(&vectors[i], vectors[i].signature, &rq);
		sb_result r = sb_sigv4_verify(&rq.r, &pol, &idx);
		if (!sb_ok(r))
			fail_msg("%s: %s", vectors[i].name, sb_error_describe());
		assert_int_equal(idx, 1);
	}
}

static void test_suite_vectors_sign(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		struct req rq;
		struct sb_buf out = SB_BUF_INIT(1024);
		char want[512];
		struct sb_sigv4_credential cred = {SUITE_KEY, SUITE_SECRET, vectors[i].token};
		build(&vectors[i], NULL, &rq);
		assert_true(sb_ok(sb_sigv4_sign(&rq.r, &cred, "us-east-1", "service",
						sb_slice_str(vectors[i].signed_headers), &out)));
		(void)snprintf(want, sizeof(want), AUTH_PREFIX "SignedHeaders=%s, Signature=%s",
			       vectors[i].signed_headers, vectors[i].signature);
		if (strcmp(sb_buf_cstr(&out), want) != 0)
			fail_msg("%s: got %s", vectors[i].name, sb_buf_cstr(&out));
		sb_buf_cleanup(&out);
	}
}

static void read_data(const char *name, struct sb_buf *out)
{
	char path[512];
	(void)snprintf(path, sizeof(path), "%s/sigv4/%s", SB_TEST_DATA, name);
	assert_true(sb_ok(sb_file_read(path, out)));
}

/* The published get-vanilla.creq and .sts, byte for byte. */
static void test_canonical_request_and_string_to_sign(void **state)
{
	struct sb_buf creq = SB_BUF_INIT(4096), sts = SB_BUF_INIT(4096);
	struct sb_buf want_creq = SB_BUF_INIT(4096), want_sts = SB_BUF_INIT(4096);
	char sig[SB_SIGV4_SIG_HEX_LEN + 1];
	struct req rq;

	(void)state;
	read_data("get-vanilla.creq", &want_creq);
	read_data("get-vanilla.sts", &want_sts);
	build(&vectors[0], NULL, &rq);
	assert_true(sb_ok(sb_sigv4_canonical_request(&rq.r, SB_SLICE_LIT("host;x-amz-date"), &creq)));
	assert_string_equal(sb_buf_cstr(&creq), sb_buf_cstr(&want_creq));
	assert_true(sb_ok(sb_sigv4_string_to_sign(SB_SLICE_LIT(DATE),
						  SB_SLICE_LIT("20150830/us-east-1/service/aws4_request"),
						  sb_buf_slice(&creq), &sts)));
	assert_string_equal(sb_buf_cstr(&sts), sb_buf_cstr(&want_sts));
	assert_true(sb_ok(sb_sigv4_signature(SUITE_SECRET, SB_SLICE_LIT("20150830"),
					     SB_SLICE_LIT("us-east-1"), SB_SLICE_LIT("service"),
					     sb_buf_slice(&sts), sig)));
	assert_string_equal(sig, vectors[0].signature);
	sb_buf_cleanup(&creq);
	sb_buf_cleanup(&sts);
	sb_buf_cleanup(&want_creq);
	sb_buf_cleanup(&want_sts);
}

static int verify_with(const struct sb_sigv4_request *r, struct sb_sigv4_policy pol)
{
	size_t idx;
	return sb_sigv4_verify(r, &pol, &idx).code;
}

static void test_one_character_change_is_rejected(void **state)
{
	const struct vector *v = &vectors[0];
	char sig[SB_SIGV4_SIG_HEX_LEN + 1];

	(void)state;
	/* Every position, so no digit is left unchecked by the comparison. */
	for (size_t pos = 0; pos < SB_SIGV4_SIG_HEX_LEN; pos++) {
		struct req rq;
		memcpy(sig, v->signature, sizeof(sig));
		sig[pos] = sig[pos] == '0' ? '1' : '0';
		build(v, sig, &rq);
		assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
	}
}

static void test_request_changes_are_rejected(void **state)
{
	const struct vector *v = &vectors[17]; /* post-x-www-form-urlencoded */
	struct req rq;

	(void)state;
	build(v, v->signature, &rq);
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_OK);
	rq.r.payload = SB_SLICE_LIT("Param1=value2");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
	build(v, v->signature, &rq);
	rq.r.method = SB_SLICE_LIT("PUT");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
	build(v, v->signature, &rq);
	rq.r.query = SB_SLICE_LIT("a=b");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
	build(v, v->signature, &rq);
	rq.h[0].value = SB_SLICE_LIT("application/json"); /* a signed header */
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
	build(v, v->signature, &rq);
	rq.h[0].name = SB_SLICE_LIT("X-Other"); /* a signed header goes missing */
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INVALID_SIGNATURE);
}

static void test_dates(void **state)
{
	const struct vector *v = &vectors[0];
	struct sb_sigv4_policy pol = suite_policy(v);
	struct req rq;

	(void)state;
	build(v, v->signature, &rq);
	pol.now_ms = SUITE_NOW_MS + 14 * 60 * 1000;
	assert_int_equal(verify_with(&rq.r, pol), SB_OK);
	pol.now_ms = SUITE_NOW_MS - 15 * 60 * 1000;
	assert_int_equal(verify_with(&rq.r, pol), SB_OK);
	pol.now_ms = SUITE_NOW_MS + 15 * 60 * 1000 + 1000;
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
	assert_non_null(strstr(sb_error_detail(), "Signature expired"));
	pol.now_ms = SUITE_NOW_MS - 16 * 60 * 1000;
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
	/* A malformed date, and a scope date that is not the request's. */
	build(v, v->signature, &rq);
	rq.h[1].value = SB_SLICE_LIT("2015-08-30T12:36:00Z");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	rq.h[1].value = SB_SLICE_LIT("20150831T123600Z");
	pol = suite_policy(v);
	pol.now_ms = SUITE_NOW_MS + 86400000ull;
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
	/* No X-Amz-Date at all. */
	build(v, v->signature, &rq);
	rq.h[1].name = SB_SLICE_LIT("Date");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INCOMPLETE_SIGNATURE);
}

static void test_credentials_and_scope(void **state)
{
	const struct vector *v = &vectors[0];
	struct sb_sigv4_policy pol = suite_policy(v);
	struct sb_sigv4_credential only_other[1] = {{"AKIDOTHER", "x", NULL}};
	struct req rq;

	(void)state;
	build(v, v->signature, &rq);
	pol.creds = only_other;
	pol.n_creds = 1;
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_UNRECOGNIZED_CLIENT);
	pol = suite_policy(v);
	pol.region = "eu-west-1";
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
	assert_non_null(strstr(sb_error_detail(), "region"));
	pol = suite_policy(v);
	pol.service = "kms";
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
	/* The right key id with the wrong secret. */
	struct sb_sigv4_credential wrong[1] = {{SUITE_KEY, "wrong-secret", NULL}};
	pol = suite_policy(v);
	pol.creds = wrong;
	pol.n_creds = 1;
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_INVALID_SIGNATURE);
}

static void test_session_tokens(void **state)
{
	const struct vector *sts = &vectors[16], *plain = &vectors[10];
	struct sb_sigv4_policy pol;
	struct req rq;

	(void)state;
	/* The principal has a token: a request without it is refused... */
	build(plain, plain->signature, &rq);
	pol = suite_policy(sts);
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_UNRECOGNIZED_CLIENT);
	/* ...and so is a different token. */
	build(sts, sts->signature, &rq);
	pol = suite_policy(sts);
	suite_creds[1].session_token = "AQoDYXdzEPTdifferent";
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_UNRECOGNIZED_CLIENT);
	/* A token the principal does not have is refused too. */
	pol = suite_policy(plain);
	assert_int_equal(verify_with(&rq.r, pol), SB_ERR_KMS_UNRECOGNIZED_CLIENT);
	suite_creds[1].session_token = NULL;
}

static void test_malformed_authorization(void **state)
{
	static const char *const bad[] = {
		"",
		"AWS4-HMAC-SHA512 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature=" /* 64 */
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		AUTH_PREFIX "SignedHeaders=host;x-amz-date",
		AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature=5fa0",
		AUTH_PREFIX "SignedHeaders=x-amz-date;host, Signature="
			    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		AUTH_PREFIX "SignedHeaders=Host;x-amz-date, Signature="
			    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		AUTH_PREFIX "SignedHeaders=host;x-amz-date, SignedHeaders=host, Signature="
			    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/aws4_request, "
		"SignedHeaders=host;x-amz-date, Signature="
		"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		AUTH_PREFIX "SignedHeaders=x-amz-date, Signature="
			    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		AUTH_PREFIX "SignedHeaders=host;x-amz-date, Signature="
			    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31, Extra=1",
	};
	const struct vector *v = &vectors[0];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct req rq;
		build(v, v->signature, &rq);
		rq.h[2].value = sb_slice_str(bad[i]);
		int code = verify_with(&rq.r, suite_policy(v));
		if (code != SB_ERR_KMS_INCOMPLETE_SIGNATURE)
			fail_msg("case %zu: %s", i, sb_error_name(code));
	}
	/* No Authorization header at all. */
	struct req rq;
	build(v, NULL, &rq);
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_MISSING_AUTH);
	/* A broken percent escape in the path. */
	build(v, v->signature, &rq);
	rq.r.path = SB_SLICE_LIT("/%G1");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	rq.r.path = SB_SLICE_LIT("/%4");
	assert_int_equal(verify_with(&rq.r, suite_policy(v)), SB_ERR_KMS_INCOMPLETE_SIGNATURE);
}

static void test_format_date(void **state)
{
	char d[17];
	(void)state;
	assert_true(sb_ok(sb_sigv4_format_date(SUITE_NOW_MS, d)));
	assert_string_equal(d, DATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_vectors_verify),
		cmocka_unit_test(test_suite_vectors_sign),
		cmocka_unit_test(test_canonical_request_and_string_to_sign),
		cmocka_unit_test(test_one_character_change_is_rejected),
		cmocka_unit_test(test_request_changes_are_rejected),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_credentials_and_scope),
		cmocka_unit_test(test_session_tokens),
		cmocka_unit_test(test_malformed_authorization),
		cmocka_unit_test(test_format_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
