/*
 * Unit tests for src/aws/sb_http and src/aws/sb_aws: the libcurl glue
 * against an in-process HTTP stub (status codes, AWS error bodies, retries
 * with backoff, bounded bodies, timeouts, refused connections, SigV4 header
 * shape and signature, streaming to/from files, the multi runner), the
 * enclave path through `sealbid proxy`, and endpoint/region resolution.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "aws/sb_aws.h"
#include "aws/sb_http.h"
#include "aws/sb_http_internal.h"
#include "common/sb_encoding.h"
#include "common/sb_time.h"
#include "crypto/sb_hash.h"
#include "test_aws_stub.h"

#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define TEST_TOKEN  "FQoGZXIvYXdzEXAMPLETOKENxyz+/="
#define TEST_AKID   "AKIAIOSFODNN7EXAMPLE"

static struct stub g_stub;
static struct sb_aws_creds g_creds;
static struct sb_http_sign g_sign;
static char g_url[256];

static int setup_stub(void **state)
{
	(void)state;
	assert_int_equal(stub_start(&g_stub), 0);
	(void)snprintf(g_url, sizeof(g_url), "http://127.0.0.1:%d/", g_stub.port);
	sb_aws_creds_init(&g_creds);
	assert_true(sb_ok(sb_aws_creds_set(&g_creds, SB_SLICE_LIT(TEST_AKID),
					   SB_SLICE_LIT(TEST_SECRET), SB_SLICE_LIT(TEST_TOKEN), 0)));
	g_sign = (struct sb_http_sign){.service = "kms", .region = "us-east-1", .creds = &g_creds};
	return 0;
}

static int teardown_stub(void **state)
{
	(void)state;
	stub_stop(&g_stub);
	sb_aws_creds_cleanup(&g_creds);
	return 0;
}

static void stub_reset(void)
{
	pthread_mutex_lock(&g_stub.mu);
	g_stub.n_script = g_stub.next = 0;
	for (size_t i = 0; i < g_stub.n_reqs; i++)
		free(g_stub.reqs[i].body);
	g_stub.n_reqs = 0;
	pthread_mutex_unlock(&g_stub.mu);
}

static void fast_config(struct sb_http_config *cfg)
{
	sb_http_config_default(cfg);
	cfg->backoff_base_ms = 5;
	cfg->backoff_max_ms = 20;
	cfg->timeout_ms = 5000;
}

static struct sb_http_request kms_request(struct sb_buf *out)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "KMS Decrypt";
	req.method = "POST";
	req.url = g_url;
	req.content_type = "application/x-amz-json-1.1";
	req.headers[0] = "X-Amz-Target: TrentService.Decrypt";
	req.body = SB_SLICE_LIT("{\"CiphertextBlob\":\"AAAA\"}");
	req.sign = &g_sign;
	req.error_format = SB_AWS_ERROR_JSON;
	req.out = out;
	return req;
}

static void assert_no_secrets(const char *s)
{
	assert_null(strstr(s, TEST_SECRET));
	assert_null(strstr(s, TEST_TOKEN));
	assert_null(strstr(s, "wJalrXUtnFEMI"));
}

/* One scripted failure case: what the stub answers, what the client reports. */
struct err_case {
	const char *name;
	struct stub_resp resp[8];
	size_t n_resp;
	enum sb_aws_error_format fmt;
	int want_code;
	uint32_t want_attempts;
	const char *want_detail; /* substring */
};

#define SLOWDOWN {.status = 503, .body = "<Error><Code>SlowDown</Code></Error>"}

static void test_error_table(void **state)
{
	(void)state;
	static const char big_json_err[] = "{\"__type\":\"com.amazonaws.kms#KMSInternalException\"}";
	const struct err_case cases[] = {
		{"400 json", {{.status = 400, .body = "{\"__type\":\"com.amazonaws.kms#AccessDeniedException\","
					  "\"message\":\"User is not authorized\"}"}},
		 1, SB_AWS_ERROR_JSON, SB_ERR_AWS_ACCESS_DENIED, 1,
		 "KMS Decrypt: AccessDeniedException: User is not authorized (HTTP 400)"},
		{"400 json Message", {{.status = 400, .body = "{\"__type\":\"InvalidCiphertextException\","
					  "\"Message\":\"bad blob\"}"}},
		 1, SB_AWS_ERROR_JSON, SB_ERR_AWS_SERVICE, 1,
		 "KMS Decrypt: InvalidCiphertextException: bad blob (HTTP 400)"},
		{"403 xml", {{.status = 403, .body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code>"
					 "<Message>Access &amp; denied</Message></Error>"}},
		 1, SB_AWS_ERROR_XML, SB_ERR_AWS_ACCESS_DENIED, 1,
		 "KMS Decrypt: AccessDenied: Access & denied (HTTP 403)"},
		{"404 json", {{.status = 404, .body = "{\"__type\":\"NotFoundException\",\"message\":\"no key\"}"}},
		 1, SB_AWS_ERROR_JSON, SB_ERR_AWS_NOT_FOUND, 1, "NotFoundException: no key (HTTP 404)"},
		{"404 empty", {{.status = 404, .body = ""}}, 1, SB_AWS_ERROR_JSON, SB_ERR_AWS_NOT_FOUND, 1,
		 "KMS Decrypt: HTTP 404"},
		{"400 not json", {{.status = 400, .body = "<html>oops</html>"}}, 1, SB_AWS_ERROR_JSON,
		 SB_ERR_AWS_SERVICE, 1, "KMS Decrypt: HTTP 400"},
		{"500 x3", {{.status = 500, .body = big_json_err}, {.status = 500, .body = big_json_err}, {.status = 500, .body = big_json_err}},
		 3, SB_AWS_ERROR_JSON, SB_ERR_AWS_SERVICE, 3,
		 "KMSInternalException (HTTP 500) after 3 attempts"},
		/* Throttling errors get throttle_max_attempts (8), not max_attempts (3). */
		{"503 SlowDown x8 xml", {SLOWDOWN, SLOWDOWN, SLOWDOWN, SLOWDOWN, SLOWDOWN, SLOWDOWN,
					 SLOWDOWN, SLOWDOWN},
		 8, SB_AWS_ERROR_XML, SB_ERR_AWS_THROTTLED, 8, "SlowDown (HTTP 503) after 8 attempts"},
		{"truncated x3", {{.status = 200, .body = "{\"a\":1}", .repeat = 1, .mode = STUB_TRUNCATED},
				  {.status = 200, .body = "{\"a\":1}", .repeat = 1, .mode = STUB_TRUNCATED},
				  {.status = 200, .body = "{\"a\":1}", .repeat = 1, .mode = STUB_TRUNCATED}},
		 3, SB_AWS_ERROR_JSON, SB_ERR_HTTP, 3, "KMS Decrypt: "},
		{"closed x3", {{.mode = STUB_CLOSE}, {.mode = STUB_CLOSE},
			       {.mode = STUB_CLOSE}},
		 3, SB_AWS_ERROR_JSON, SB_ERR_HTTP, 3, "after 3 attempts"},
		{"echoed secret", {{.status = 403, .body = "{\"__type\":\"AccessDeniedException\",\"message\":"
					   "\"bad token " TEST_TOKEN " for " TEST_SECRET "\"}"}},
		 1, SB_AWS_ERROR_JSON, SB_ERR_AWS_ACCESS_DENIED, 1, "error detail withheld"},
		{"400 other code no retry", {{.status = 400, .body = "{\"__type\":\"ValidationException\"}"}}, 1,
		 SB_AWS_ERROR_JSON, SB_ERR_AWS_SERVICE, 1, "ValidationException (HTTP 400)"},
	};
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;

	fast_config(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct err_case *tc = &cases[i];
		struct sb_buf out = SB_BUF_INIT(1 << 20);
		struct sb_http_response resp;
		stub_reset();
		for (size_t k = 0; k < tc->n_resp; k++)
			stub_script(&g_stub, tc->resp[k]);
		sb_http_response_init(&resp);
		struct sb_http_request req = kms_request(&out);
		req.error_format = tc->fmt;
		sb_result rc = sb_http_send(c, &req, &resp);
		if (rc.code != tc->want_code || resp.attempts != tc->want_attempts ||
		    strstr(sb_error_detail(), tc->want_detail) == NULL)
			print_error("case '%s': code %s attempts %u detail '%s'\n", tc->name,
				    sb_error_name(rc.code), resp.attempts, sb_error_detail());
		assert_int_equal(rc.code, tc->want_code);
		assert_int_equal(resp.attempts, tc->want_attempts);
		assert_non_null(strstr(sb_error_detail(), tc->want_detail));
		assert_string_equal(resp.detail, sb_error_detail());
		assert_no_secrets(sb_error_describe());
		assert_no_secrets(resp.detail);
		assert_no_secrets(resp.aws_error.message);
		assert_int_equal(stub_nreqs(&g_stub), tc->want_attempts);
		sb_http_response_cleanup(&resp);
		sb_buf_cleanup(&out);
	}
	sb_http_client_free(c);
}

static void test_retry_then_success(void **state)
{
	(void)state;
	const struct {
		const char *name;
		struct stub_resp first, second;
	} cases[] = {
		{"throttling", {.status = 400, .body = "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"},
		 {.status = 400, .body = "{\"__type\":\"ThrottlingException\"}"}},
		{"429", {.status = 429, .body = "{}"}, {.status = 503, .body = ""}},
		{"RequestLimitExceeded", {.status = 400, .body = "<Response><Errors><Error><Code>RequestLimitExceeded"
						     "</Code></Error></Errors></Response>"},
		 {.status = 500, .body = ""}},
	};
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;

	fast_config(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_buf out = SB_BUF_INIT(1024);
		struct sb_http_response resp;
		stub_reset();
		stub_script(&g_stub, cases[i].first);
		stub_script(&g_stub, cases[i].second);
		stub_script(&g_stub, (struct stub_resp){.status = 200, .headers = "X-Test: yes\r\n", .body = "{\"ok\":true}"});
		sb_http_response_init(&resp);
		struct sb_http_request req = kms_request(&out);
		req.error_format = i == 2 ? SB_AWS_ERROR_XML : SB_AWS_ERROR_JSON;
		assert_true(sb_ok(sb_http_send(c, &req, &resp)));
		assert_int_equal(resp.attempts, 3);
		assert_int_equal(resp.status, 200);
		assert_int_equal(resp.error, SB_OK);
		assert_string_equal(sb_buf_cstr(&out), "{\"ok\":true}");
		struct sb_slice v;
		assert_true(sb_ok(sb_http_response_header(&resp, "x-test", &v)));
		assert_true(sb_slice_eq_str(v, "yes"));
		assert_int_equal(sb_http_response_header(&resp, "x-none", &v).code, SB_ERR_NOT_FOUND);
		sb_http_response_cleanup(&resp);
		sb_buf_cleanup(&out);
	}
	/* max_attempts = 1 never retries. */
	cfg.max_attempts = 1;
	sb_http_client_free(c);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 503, .body = ""});
	struct sb_http_response resp;
	struct sb_buf out = SB_BUF_INIT(1024);
	sb_http_response_init(&resp);
	struct sb_http_request req = kms_request(&out);
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_AWS_SERVICE);
	assert_int_equal(resp.attempts, 1);
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
	sb_http_client_free(c);
}

static void test_bounded_body(void **state)
{
	(void)state;
	static char chunk[65536];
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1 << 20);
	struct sb_http_response resp;

	memset(chunk, 'x', sizeof(chunk));
	fast_config(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	stub_reset();
	/* 64 MiB promised and streamed: the client stops at 1 MiB. */
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = chunk, .body_len = sizeof(chunk), .repeat = 1024});
	sb_http_response_init(&resp);
	struct sb_http_request req = kms_request(&out);
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_TOO_LARGE);
	assert_int_equal(resp.attempts, 1);
	assert_non_null(strstr(sb_error_detail(), "KMS Decrypt: response body larger"));
	assert_true(out.len <= out.max);
	/* Exactly at the limit is fine. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = chunk, .body_len = sizeof(chunk), .repeat = 16});
	assert_true(sb_ok(sb_http_send(c, &req, &resp)));
	assert_int_equal(out.len, 1 << 20);
	/* A huge error body is cut, not fatal: the status still explains. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 400, .body = chunk, .body_len = sizeof(chunk), .repeat = 64});
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_AWS_SERVICE);
	assert_non_null(strstr(sb_error_detail(), "HTTP 400"));
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
	sb_http_client_free(c);
}

static void test_timeout_and_refused(void **state)
{
	(void)state;
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1024);
	struct sb_http_response resp;
	char url[64];

	fast_config(&cfg);
	cfg.timeout_ms = 300;
	cfg.max_attempts = 2;
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.mode = STUB_HANG});
	stub_script(&g_stub, (struct stub_resp){.mode = STUB_HANG});
	sb_http_response_init(&resp);
	struct sb_http_request req = kms_request(&out);
	uint64_t t0 = (uint64_t)time(NULL);
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_TIMEOUT);
	assert_true((uint64_t)time(NULL) - t0 < 10);
	assert_int_equal(resp.attempts, 2);
	assert_non_null(strstr(sb_error_detail(), "KMS Decrypt: "));
	assert_non_null(strstr(sb_error_detail(), "after 2 attempts"));
	assert_no_secrets(sb_error_describe());

	/* Connection refused: a port nobody listens on. */
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/", free_port());
	req.url = url;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_HTTP_CONNECT);
	assert_int_equal(resp.attempts, 2);
	assert_non_null(strstr(sb_error_detail(), "KMS Decrypt: "));
	assert_no_secrets(sb_error_describe());
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
	sb_http_client_free(c);
}

/* ---- SigV4: header shape and the signature itself ------------------------ */

static const char *hdr_value(const char *headers, const char *name, char *out, size_t cap)
{
	size_t n = strlen(name);
	const char *h = strstr(headers, "\r\n"); /* skip the request line */

	while (h != NULL) {
		h += 2;
		if (strncasecmp(h, name, n) == 0 && h[n] == ':') {
			const char *v = h + n + 1;
			while (*v == ' ')
				v++;
			const char *e = strstr(v, "\r\n");
			size_t len = e ? (size_t)(e - v) : strlen(v);
			if (len >= cap)
				return NULL;
			memcpy(out, v, len);
			out[len] = '\0';
			return out;
		}
		h = strstr(h, "\r\n");
	}
	return NULL;
}

static void hex_of(const uint8_t *d, size_t n, char *out)
{
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * Recomputes the SigV4 signature of a captured request (AWS docs, "Create a
 * canonical request": Method \n URI \n Query \n CanonicalHeaders \n
 * SignedHeaders \n HashedPayload) and compares it with the one sent.
 */
static void check_sigv4(const struct stub_req *r, const char *service, const char *payload_hash)
{
	char auth[1024], date[32], scope_date[9], signed_h[512], sig[65], value[4096];
	struct sb_buf canon = SB_BUF_INIT(1 << 16), sts = SB_BUF_INIT(4096);
	uint8_t h[32], k[32], k2[32];
	char hh[65];

	assert_non_null(hdr_value(r->headers, "Authorization", auth, sizeof(auth)));
	assert_non_null(hdr_value(r->headers, "X-Amz-Date", date, sizeof(date)));
	memcpy(scope_date, date, 8);
	scope_date[8] = '\0';
	char want_prefix[256];
	(void)snprintf(want_prefix, sizeof(want_prefix),
		       "AWS4-HMAC-SHA256 Credential=" TEST_AKID "/%s/us-east-1/%s/aws4_request, "
		       "SignedHeaders=",
		       scope_date, service);
	assert_memory_equal(auth, want_prefix, strlen(want_prefix));
	const char *sh = auth + strlen(want_prefix);
	const char *comma = strstr(sh, ", Signature=");
	assert_non_null(comma);
	memcpy(signed_h, sh, (size_t)(comma - sh));
	signed_h[comma - sh] = '\0';
	assert_int_equal(strlen(comma + 12), 64);
	memcpy(sig, comma + 12, 65);
	assert_non_null(strstr(signed_h, "host"));
	assert_non_null(strstr(signed_h, "x-amz-date"));
	assert_non_null(strstr(signed_h, "content-type"));
	assert_non_null(strstr(signed_h, "x-amz-security-token"));

	const char *q = strchr(r->path, '?');
	assert_true(sb_ok(sb_buf_printf(&canon, "%s\n%.*s\n%s\n", r->method,
					q ? (int)(q - r->path) : (int)strlen(r->path), r->path,
					q ? q + 1 : "")));
	for (const char *n = signed_h; *n != '\0';) {
		const char *semi = strchr(n, ';');
		char name[64];
		size_t len = semi ? (size_t)(semi - n) : strlen(n);
		assert_true(len < sizeof(name));
		memcpy(name, n, len);
		name[len] = '\0';
		assert_non_null(hdr_value(r->headers, name, value, sizeof(value)));
		assert_true(sb_ok(sb_buf_printf(&canon, "%s:%s\n", name, value)));
		n += len + (semi ? 1 : 0);
	}
	assert_true(sb_ok(sb_buf_printf(&canon, "\n%s\n%s", signed_h, payload_hash)));
	assert_true(sb_ok(sb_sha256(sb_buf_slice(&canon), h)));
	hex_of(h, 32, hh);
	assert_true(sb_ok(sb_buf_printf(&sts, "AWS4-HMAC-SHA256\n%s\n%s/us-east-1/%s/aws4_request\n%s",
					date, scope_date, service, hh)));
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE_LIT("AWS4" TEST_SECRET), sb_slice_str(scope_date), k)));
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE(k, 32), SB_SLICE_LIT("us-east-1"), k2)));
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE(k2, 32), sb_slice_str(service), k)));
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE(k, 32), SB_SLICE_LIT("aws4_request"), k2)));
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE(k2, 32), sb_buf_slice(&sts), h)));
	hex_of(h, 32, hh);
	assert_string_equal(hh, sig);
	sb_buf_cleanup(&canon);
	sb_buf_cleanup(&sts);
}

static void test_sigv4_headers(void **state)
{
	(void)state;
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1024);
	struct sb_http_response resp;
	uint8_t d[32];
	char body_hash[65], value[256];

	fast_config(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	sb_http_response_init(&resp);

	/* KMS: JSON POST, payload hash of the body computed by libcurl. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = "{}"});
	struct sb_http_request req = kms_request(&out);
	assert_true(sb_ok(sb_http_send(c, &req, &resp)));
	assert_int_equal(stub_nreqs(&g_stub), 1);
	const struct stub_req *r = &g_stub.reqs[0];
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->body, "{\"CiphertextBlob\":\"AAAA\"}");
	assert_non_null(hdr_value(r->headers, "Content-Type", value, sizeof(value)));
	assert_string_equal(value, "application/x-amz-json-1.1");
	assert_non_null(hdr_value(r->headers, "X-Amz-Security-Token", value, sizeof(value)));
	assert_string_equal(value, TEST_TOKEN);
	assert_null(hdr_value(r->headers, "Expect", value, sizeof(value)));
	assert_true(sb_ok(sb_sha256(req.body, d)));
	hex_of(d, 32, body_hash);
	check_sigv4(r, "kms", body_hash);

	/* S3: PUT with x-amz-content-sha256 = hex SHA-256 of the body, signed. */
	struct sb_http_sign s3sign = g_sign;
	s3sign.service = "s3";
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 200, .headers = "ETag: \"abc\"\r\n", .body = ""});
	req = SB_HTTP_REQUEST_INIT;
	req.op = "S3 PutObject";
	req.method = "PUT";
	req.url = g_url;
	req.content_type = "application/octet-stream";
	req.body = SB_SLICE_LIT("hello, world");
	req.sign = &s3sign;
	req.payload_hash = true;
	req.error_format = SB_AWS_ERROR_XML;
	assert_true(sb_ok(sb_http_send(c, &req, &resp)));
	r = &g_stub.reqs[0];
	assert_string_equal(r->method, "PUT");
	assert_string_equal(r->body, "hello, world");
	assert_true(sb_ok(sb_sha256(req.body, d)));
	hex_of(d, 32, body_hash);
	assert_non_null(hdr_value(r->headers, "x-amz-content-sha256", value, sizeof(value)));
	assert_string_equal(value, body_hash);
	char auth[1024];
	assert_non_null(hdr_value(r->headers, "Authorization", auth, sizeof(auth)));
	assert_non_null(strstr(auth, "x-amz-content-sha256"));
	check_sigv4(r, "s3", body_hash);

	/* Signed requests need an explicit Content-Type; bad methods are refused. */
	req.content_type = NULL;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_INVALID_ARG);
	assert_non_null(strstr(sb_error_detail(), "Content-Type"));
	req.content_type = "text/plain";
	req.method = "PATCH";
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_INVALID_ARG);
	req.method = "PUT";
	struct sb_aws_creds empty;
	sb_aws_creds_init(&empty);
	s3sign.creds = &empty;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_AWS_NO_CREDENTIALS);
	s3sign.creds = &g_creds;
	s3sign.region = "bad region";
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_AWS_NO_REGION);
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
	sb_http_client_free(c);
}

static void test_stream_files(void **state)
{
	(void)state;
	char in_path[] = "/tmp/sb_http_in_XXXXXX", out_path[] = "/tmp/sb_http_out_XXXXXX";
	int in_fd = mkstemp(in_path), out_fd = mkstemp(out_path);
	static char data[200000];
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_http_response resp;
	struct stat st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)('a' + i % 26);
	assert_true(in_fd >= 0 && out_fd >= 0);
	assert_int_equal(write(in_fd, data, sizeof(data)), (ssize_t)sizeof(data));
	fast_config(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	sb_http_response_init(&resp);

	/* Upload from a file, retried once: the body is re-read from offset 0. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 500, .body = ""});
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = ""});
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "upload";
	req.method = "PUT";
	req.url = g_url;
	req.content_type = "application/octet-stream";
	req.body_fd = in_fd;
	req.body_len = sizeof(data);
	assert_true(sb_ok(sb_http_send(c, &req, &resp)));
	assert_int_equal(resp.attempts, 2);
	assert_int_equal(g_stub.reqs[1].body_len, sizeof(data));
	assert_memory_equal(g_stub.reqs[1].body, data, sizeof(data));

	/* Download to a file after a failed attempt that wrote a partial body. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = data, .body_len = 5000, .repeat = 1, .mode = STUB_TRUNCATED});
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = data, .body_len = sizeof(data)});
	req = SB_HTTP_REQUEST_INIT;
	req.op = "download";
	req.method = "GET";
	req.url = g_url;
	req.out_fd = out_fd;
	assert_true(sb_ok(sb_http_send(c, &req, &resp)));
	assert_int_equal(resp.attempts, 2);
	assert_int_equal(fstat(out_fd, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	assert_int_equal(resp.body_bytes, sizeof(data));
	/* ... and bounded. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = data, .body_len = sizeof(data)});
	req.out_max = 1000;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_TOO_LARGE);
	/* POST bodies must be in memory; one sink only. */
	req.method = "POST";
	req.out_max = 0;
	req.body_fd = in_fd;
	req.body_len = 10;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_INVALID_ARG);
	struct sb_buf b = SB_BUF_INIT(10);
	req.body_fd = -1;
	req.out = &b;
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_INVALID_ARG);
	sb_http_response_cleanup(&resp);
	sb_http_client_free(c);
	close(in_fd);
	close(out_fd);
	unlink(in_path);
	unlink(out_path);
}

static void test_multi(void **state)
{
	(void)state;
	enum { N = 12 };
	struct sb_http_config cfg;
	struct sb_http_multi *m = NULL;
	struct sb_http_request reqs[N];
	struct sb_http_response resps[N];
	struct sb_buf outs[N];

	fast_config(&cfg);
	assert_true(sb_ok(sb_http_multi_new(&cfg, 4, &m)));
	stub_reset();
	unsigned before = g_stub.accepted;
	/* Responses are handed out in arrival order: two transient failures. */
	stub_script(&g_stub, (struct stub_resp){.status = 503, .body = ""});
	stub_script(&g_stub, (struct stub_resp){.status = 400, .body = "{\"__type\":\"ThrottlingException\"}"});
	for (int i = 0; i < N; i++)
		stub_script(&g_stub, (struct stub_resp){.status = 200, .body = "{\"ok\":1}"});
	for (int i = 0; i < N; i++) {
		outs[i] = SB_BUF_INIT(1024);
		sb_http_response_init(&resps[i]);
		reqs[i] = kms_request(&outs[i]);
		assert_true(sb_ok(sb_http_multi_add(m, &reqs[i], &resps[i])));
	}
	assert_true(sb_ok(sb_http_multi_run(m)));
	uint32_t attempts = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(resps[i].error, SB_OK);
		assert_int_equal(resps[i].status, 200);
		assert_string_equal(sb_buf_cstr(&outs[i]), "{\"ok\":1}");
		attempts += resps[i].attempts;
	}
	assert_int_equal(attempts, N + 2);
	assert_int_equal(stub_nreqs(&g_stub), N + 2);
	/* Kept-alive connections: at most one per parallel slot. */
	assert_true(g_stub.accepted - before <= 4);

	/* A second run on the same runner, with a final failure in the middle. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.status = 403, .body = "{\"__type\":\"AccessDeniedException\"}"});
	stub_script(&g_stub, (struct stub_resp){.status = 200, .body = "{\"ok\":2}"});
	for (int i = 0; i < 2; i++)
		assert_true(sb_ok(sb_http_multi_add(m, &reqs[i], &resps[i])));
	struct sb_http_request bad = kms_request(&outs[2]);
	bad.content_type = NULL;
	assert_true(sb_ok(sb_http_multi_add(m, &bad, &resps[2])));
	assert_true(sb_ok(sb_http_multi_run(m)));
	int denied = 0, ok = 0;
	for (int i = 0; i < 2; i++) {
		if (resps[i].error == SB_ERR_AWS_ACCESS_DENIED) {
			denied++;
			assert_int_equal(sb_http_response_result(&resps[i]).code,
					 SB_ERR_AWS_ACCESS_DENIED);
			assert_non_null(strstr(sb_error_detail(), "KMS Decrypt: AccessDeniedException"));
		} else if (resps[i].error == SB_OK) {
			ok++;
		}
	}
	assert_int_equal(denied, 1);
	assert_int_equal(ok, 1);
	assert_int_equal(resps[2].error, SB_ERR_INVALID_ARG);
	for (int i = 0; i < N; i++) {
		sb_http_response_cleanup(&resps[i]);
		sb_buf_cleanup(&outs[i]);
	}
	sb_http_multi_free(m);
	sb_http_multi_free(NULL);
	assert_int_equal(sb_http_multi_new(&cfg, 0, &m).code, SB_ERR_INVALID_ARG);
}

/*
 * Attempts that time out without a byte of answer (a proxy leaving
 * connections waiting): each is retried and succeeds, the runner keeps
 * fewer in flight afterwards, and once a run has started its last request
 * it keeps one idle connection, not all of them.
 */
static void test_multi_stall(void **state)
{
	(void)state;
	enum { N = 8 };
	struct sb_http_config cfg;
	struct sb_http_multi *m = NULL;
	struct sb_http_request reqs[N];
	struct sb_http_response resps[N];
	struct sb_buf outs[N];

	fast_config(&cfg);
	/* Long enough that only the hung attempts time out, even under valgrind. */
	cfg.timeout_ms = 3000;
	assert_true(sb_ok(sb_http_multi_new(&cfg, 4, &m)));
	stub_reset();
	stub_script(&g_stub, (struct stub_resp){.mode = STUB_HANG});
	stub_script(&g_stub, (struct stub_resp){.mode = STUB_HANG});
	for (int i = 0; i < N + 4; i++)
		stub_script(&g_stub, (struct stub_resp){.status = 200, .body = "{\"ok\":1}"});
	for (int i = 0; i < N; i++) {
		outs[i] = SB_BUF_INIT(1024);
		sb_http_response_init(&resps[i]);
		reqs[i] = kms_request(&outs[i]);
		assert_true(sb_ok(sb_http_multi_add(m, &reqs[i], &resps[i])));
	}
	assert_true(sb_ok(sb_http_multi_run(m)));
	uint32_t attempts = 0, retried = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(resps[i].error, SB_OK);
		assert_string_equal(sb_buf_cstr(&outs[i]), "{\"ok\":1}");
		attempts += resps[i].attempts;
		retried += resps[i].attempts == 2;
	}
	assert_int_equal(attempts, N + 2);
	assert_int_equal(retried, 2);

	/* Two stalls took it from 4 to 2 in flight, and one idle connection was
	 * kept: four more requests open at most one new connection. */
	unsigned before = g_stub.accepted;
	for (int i = 0; i < 4; i++)
		assert_true(sb_ok(sb_http_multi_add(m, &reqs[i], &resps[i])));
	assert_true(sb_ok(sb_http_multi_run(m)));
	for (int i = 0; i < 4; i++)
		assert_int_equal(resps[i].error, SB_OK);
	assert_true(g_stub.accepted - before <= 1);
	for (int i = 0; i < N; i++) {
		sb_http_response_cleanup(&resps[i]);
		sb_buf_cleanup(&outs[i]);
	}
	sb_http_multi_free(m);
}

/* ---- the enclave path: vsock (Unix mapping) through `sealbid proxy` ------ */

static void test_vsock_through_proxy(void **state)
{
	(void)state;
	char bin[512], dir[] = "/tmp/sb_vsock_XXXXXX", to[64], sock[600];
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1024);
	struct sb_http_response resp;

	(void)snprintf(bin, sizeof(bin), "%s/sealbid", getenv("SB_BIN") ? getenv("SB_BIN") : SB_BIN_DIR);
	if (access(bin, X_OK) != 0) {
		print_message("sealbid binary not built (%s): skipping\n", bin);
		skip();
	}
	assert_non_null(mkdtemp(dir));
	setenv("SEALBID_VSOCK_DIR", dir, 1);
	(void)snprintf(to, sizeof(to), "127.0.0.1:%d", g_stub.port);
	char *argv[] = {bin, "proxy", "--port", "8000", "--to", to, "--cid", "3", NULL};
	pid_t pid = spawn_quiet(argv);
	(void)snprintf(sock, sizeof(sock), "%s/3.8000", dir);
	for (long d = 10, w = 0; access(sock, F_OK) != 0 && w < 10000; w += d, d = d < 200 ? d * 2 : 200)
		test_backoff_ms(d);
	assert_int_equal(access(sock, F_OK), 0);

	fast_config(&cfg);
	cfg.vsock = true;
	cfg.vsock_cid = 3;
	cfg.vsock_port = 8000;
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	sb_http_response_init(&resp);
	stub_reset();
	for (int i = 0; i < 3; i++)
		stub_script(&g_stub, (struct stub_resp){.status = 200, .body = "{\"via\":\"vsock\"}"});
	unsigned before = g_stub.accepted;
	for (int i = 0; i < 3; i++) {
		/* The URL keeps its host: here the configured local endpoint. */
		struct sb_http_request req = kms_request(&out);
		sb_result rc = sb_http_send(c, &req, &resp);
		if (!sb_ok(rc))
			print_error("vsock send: %s\n", sb_error_describe());
		assert_true(sb_ok(rc));
		assert_string_equal(sb_buf_cstr(&out), "{\"via\":\"vsock\"}");
	}
	char host[128], want[64];
	assert_non_null(hdr_value(g_stub.reqs[0].headers, "Host", host, sizeof(host)));
	(void)snprintf(want, sizeof(want), "127.0.0.1:%d", g_stub.port);
	assert_string_equal(host, want);
	uint8_t d[32];
	char body_hash[65];
	struct sb_http_request req0 = kms_request(&out);
	assert_true(sb_ok(sb_sha256(req0.body, d)));
	hex_of(d, 32, body_hash);
	check_sigv4(&g_stub.reqs[0], "kms", body_hash);
	/* Three requests, one kept-alive connection through the proxy (and, with
	 * libcurl 7.88, through the in-process vsock bridge). */
	assert_int_equal(g_stub.accepted - before, 1);
	sb_http_client_free(c);

	/* A vsock port nobody listens on: a clear connect error. */
	cfg.vsock_port = 8001;
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	struct sb_http_request req = kms_request(&out);
	assert_int_equal(sb_http_send(c, &req, &resp).code, SB_ERR_HTTP_CONNECT);
	assert_non_null(strstr(sb_error_detail(), "vsock connect to 3:8001"));
	sb_http_client_free(c);
	stop_child(pid);
	unsetenv("SEALBID_VSOCK_DIR");
	unlink(sock);
	rmdir(dir);
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
}

/* ---- transport errors on the enclave path -------------------------------- */

/* libcurl 8's first (and so only) error-buffer text for a pre-connected AF_VSOCK socket. */
#define ERRNO97 "ssloc inet_ntop() failed with errno 97: Address family not supported by protocol"

static void test_transport_detail(void **state)
{
	char d[SB_HTTP_DETAIL_MAX];

	(void)state;
	/* Stale buffer, untrusted certificate: the result code and the verify result. */
	sb_http_transport_detail(d, sizeof(d), "KMS Decrypt", CURLE_PEER_FAILED_VERIFICATION,
				 ERRNO97, true, 18 /* X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT */);
	assert_null(strstr(d, "errno 97"));
	assert_null(strstr(d, "Address family"));
	assert_non_null(strstr(d, curl_easy_strerror(CURLE_PEER_FAILED_VERIFICATION)));
	assert_non_null(strstr(d, "(curl error 60)"));
	assert_non_null(strstr(d, "TLS certificate verification: self-signed certificate"));
	assert_int_equal(strncmp(d, "KMS Decrypt: ", 13), 0);
	/* Stale buffer, missing CA bundle (no verification took place). */
	sb_http_transport_detail(d, sizeof(d), "KMS Decrypt", CURLE_SSL_CACERT_BADFILE, ERRNO97,
				 true, 1 /* what curl reports when nothing was verified */);
	assert_null(strstr(d, "errno 97"));
	assert_non_null(strstr(d, "(curl error 77)"));
	assert_null(strstr(d, "TLS certificate verification"));
	/* A buffer written by the failure itself is kept, with the code. */
	sb_http_transport_detail(d, sizeof(d), "S3 GetObject", CURLE_COULDNT_CONNECT,
				 "Failed to connect to 127.0.0.1 port 1: Connection refused", false, 0);
	assert_string_equal(d, "S3 GetObject: Failed to connect to 127.0.0.1 port 1: Connection "
			       "refused (curl error 7)");
	/* ... and the verify result is not repeated when the text has it. */
	sb_http_transport_detail(d, sizeof(d), "KMS Decrypt", CURLE_PEER_FAILED_VERIFICATION,
				 "SSL certificate problem: self-signed certificate", false, 18);
	assert_null(strstr(d, "TLS certificate verification"));
	/* Empty buffer: the result code's text. */
	sb_http_transport_detail(d, sizeof(d), "KMS Decrypt", CURLE_OPERATION_TIMEDOUT, "", false, 0);
	assert_non_null(strstr(d, curl_easy_strerror(CURLE_OPERATION_TIMEDOUT)));
	/* Bounded: a tiny output is cut, never overrun. */
	char tiny[16];
	sb_http_transport_detail(tiny, sizeof(tiny), "KMS Decrypt", CURLE_PEER_FAILED_VERIFICATION,
				 ERRNO97, true, 18);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
}

static bool run_quiet(char *const argv[])
{
	pid_t pid = spawn_quiet(argv);
	int st = 0;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A self-signed certificate for CN=localhost (openssl(1)); false when that fails. */
static bool make_cert(const char *dir, const char *name)
{
	char key[600], crt[600];
	(void)snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	(void)snprintf(crt, sizeof(crt), "%s/%s.pem", dir, name);
	char *argv[] = {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			"ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost", "-days", "1",
			"-keyout", key, "-out", crt, NULL};
	return run_quiet(argv);
}

/* One HTTPS GET through vsock 3:8000 with SSL_CERT_FILE = ca; the outcome's code. */
static int tls_get(const char *url, const char *ca, struct sb_http_response *resp)
{
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1 << 20);
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	int code;

	fast_config(&cfg);
	cfg.max_attempts = 1;
	cfg.vsock = true;
	cfg.vsock_cid = 3;
	cfg.vsock_port = 8000;
	setenv("SSL_CERT_FILE", ca, 1);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	req.op = "KMS Decrypt";
	req.method = "GET";
	req.url = url;
	req.out = &out;
	code = sb_http_send(c, &req, resp).code;
	sb_http_client_free(c);
	unsetenv("SSL_CERT_FILE");
	sb_buf_cleanup(&out);
	return code;
}

/*
 * TLS through the vsock path (Unix mapping, `sealbid proxy`, and with
 * libcurl 7.88 the in-process bridge) to a local server whose certificate
 * is not trusted: the error names libcurl's result and the verification
 * result; a missing CA bundle names that; the trusted certificate works.
 */
static void test_vsock_tls_errors(void **state)
{
	(void)state;
	char bin[512], dir[] = "/tmp/sb_tls_XXXXXX", to[64], sock[600], url[96], crt[600],
	     key[600], other[600], missing[600], port_s[16];
	struct sb_http_response resp;

	(void)snprintf(bin, sizeof(bin), "%s/sealbid", getenv("SB_BIN") ? getenv("SB_BIN") : SB_BIN_DIR);
	if (access(bin, X_OK) != 0 || access("/usr/bin/openssl", X_OK) != 0) {
		print_message("sealbid or openssl(1) missing: skipping\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	assert_true(make_cert(dir, "server"));
	assert_true(make_cert(dir, "other"));
	(void)snprintf(crt, sizeof(crt), "%s/server.pem", dir);
	(void)snprintf(key, sizeof(key), "%s/server.key", dir);
	(void)snprintf(other, sizeof(other), "%s/other.pem", dir);
	(void)snprintf(missing, sizeof(missing), "%s/no-such-bundle.pem", dir);
	int port = free_port();
	assert_true(port > 0);
	(void)snprintf(port_s, sizeof(port_s), "%d", port);
	char accept_on[64];
	(void)snprintf(accept_on, sizeof(accept_on), "127.0.0.1:%d", port);
	char *srv_argv[] = {"openssl", "s_server", "-accept", accept_on, "-cert", crt, "-key", key,
			    "-www", "-quiet", NULL};
	pid_t srv = spawn_quiet(srv_argv);
	assert_true(wait_port(port, srv));

	setenv("SEALBID_VSOCK_DIR", dir, 1);
	(void)snprintf(to, sizeof(to), "127.0.0.1:%d", port);
	char *argv[] = {bin, "proxy", "--port", "8000", "--to", to, "--cid", "3", NULL};
	pid_t pid = spawn_quiet(argv);
	(void)snprintf(sock, sizeof(sock), "%s/3.8000", dir);
	for (long d = 10, w = 0; access(sock, F_OK) != 0 && w < 10000; w += d, d = d < 200 ? d * 2 : 200)
		test_backoff_ms(d);
	assert_int_equal(access(sock, F_OK), 0);
	(void)snprintf(url, sizeof(url), "https://localhost:%d/", port);
	sb_http_response_init(&resp);

	/* The control: trusting the server's certificate, the request goes through. */
	int code = tls_get(url, crt, &resp);
	if (code != SB_OK)
		print_error("trusted: %s\n", resp.detail);
	assert_int_equal(code, SB_OK);
	assert_int_equal(resp.status, 200);

	/* An untrusted certificate: curl's result and the verification result. */
	assert_int_not_equal(tls_get(url, other, &resp), SB_OK);
	print_message("untrusted: %s\n", resp.detail);
	assert_non_null(strstr(resp.detail, "(curl error 60)"));
	assert_non_null(strstr(resp.detail, "self-signed certificate"));
	assert_null(strstr(resp.detail, "errno 97"));
	assert_null(strstr(resp.detail, "Address family"));

	/* A CA bundle that is not there: said so, not an address error. */
	assert_int_not_equal(tls_get(url, missing, &resp), SB_OK);
	print_message("missing bundle: %s\n", resp.detail);
	assert_non_null(strstr(resp.detail, "(curl error 77)"));
	assert_null(strstr(resp.detail, "errno 97"));
	assert_null(strstr(resp.detail, "TLS certificate verification"));

	stop_child(pid);
	stop_child(srv);
	unsetenv("SEALBID_VSOCK_DIR");
	char *rm[] = {"rm", "-rf", dir, NULL};
	(void)run_quiet(rm);
	sb_http_response_cleanup(&resp);
}

/* ---- pure helpers: endpoints, region, error parsing ---------------------- */

static void test_endpoints(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(SB_AWS_URL_MAX);
	bool custom;

	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_KMS");
	assert_true(sb_ok(sb_aws_endpoint("kms", "eu-west-1", &b, &custom)));
	assert_string_equal(sb_buf_cstr(&b), "https://kms.eu-west-1.amazonaws.com");
	assert_false(custom);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566/", 1);
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_aws_endpoint("kms", "eu-west-1", &b, &custom)));
	assert_string_equal(sb_buf_cstr(&b), "http://127.0.0.1:4566");
	assert_true(custom);
	setenv("AWS_ENDPOINT_URL_KMS", "http://localhost:9000", 1);
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_aws_endpoint("kms", NULL, &b, &custom)));
	assert_string_equal(sb_buf_cstr(&b), "http://localhost:9000");
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_aws_endpoint("s3", "eu-west-1", &b, &custom)));
	assert_string_equal(sb_buf_cstr(&b), "http://127.0.0.1:4566");
	const char *bad[] = {"ftp://x", "http://", "http://u:p@host", "https://h/?q=1", "http://h #",
			     "kms.amazonaws.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("AWS_ENDPOINT_URL_KMS", bad[i], 1);
		sb_buf_reset(&b);
		assert_int_equal(sb_aws_endpoint("kms", "eu-west-1", &b, &custom).code,
				 SB_ERR_INVALID_ARG);
	}
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_KMS");
	sb_buf_reset(&b);
	assert_int_equal(sb_aws_endpoint("kms", NULL, &b, &custom).code, SB_ERR_AWS_NO_REGION);
	assert_int_equal(sb_aws_endpoint("kms", "Bad_Region", &b, &custom).code,
			 SB_ERR_AWS_NO_REGION);
	sb_buf_cleanup(&b);
}

static void test_region(void **state)
{
	(void)state;
	char region[SB_AWS_REGION_MAX + 1];
	char path[] = "/tmp/sb_aws_config_XXXXXX";
	int fd = mkstemp(path);
	const char cfg[] = "[default]\nregion = eu-central-1\n\n[profile dev]\nregion=ap-south-1\n"
			   "s3 =\n  max_concurrent_requests = 4\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, cfg, sizeof(cfg) - 1), (ssize_t)sizeof(cfg) - 1);
	close(fd);
	setenv("AWS_CONFIG_FILE", path, 1);
	unsetenv("AWS_PROFILE");
	setenv("AWS_REGION", "us-west-2", 1);
	setenv("AWS_DEFAULT_REGION", "us-east-2", 1);
	assert_true(sb_ok(sb_aws_region(region)));
	assert_string_equal(region, "us-west-2");
	unsetenv("AWS_REGION");
	assert_true(sb_ok(sb_aws_region(region)));
	assert_string_equal(region, "us-east-2");
	unsetenv("AWS_DEFAULT_REGION");
	assert_true(sb_ok(sb_aws_region(region)));
	assert_string_equal(region, "eu-central-1");
	setenv("AWS_PROFILE", "dev", 1);
	assert_true(sb_ok(sb_aws_region(region)));
	assert_string_equal(region, "ap-south-1");
	setenv("AWS_PROFILE", "nope", 1);
	assert_int_equal(sb_aws_region(region).code, SB_ERR_AWS_NO_REGION);
	setenv("AWS_REGION", "not a region", 1);
	assert_int_equal(sb_aws_region(region).code, SB_ERR_INVALID_ARG);
	unsetenv("AWS_REGION");
	unsetenv("AWS_PROFILE");
	setenv("AWS_CONFIG_FILE", "/nonexistent/sealbid/config", 1);
	assert_int_equal(sb_aws_region(region).code, SB_ERR_AWS_NO_REGION);
	unsetenv("AWS_CONFIG_FILE");
	unlink(path);
}

static void test_error_parse(void **state)
{
	(void)state;
	const struct {
		enum sb_aws_error_format fmt;
		const char *body, *code, *message;
	} cases[] = {
		{SB_AWS_ERROR_JSON, "{\"__type\":\"com.amazonaws.kms#NotFoundException\",\"message\":\"m\"}",
		 "NotFoundException", "m"},
		{SB_AWS_ERROR_JSON, "{\"__type\":\"X\",\"Message\":\"line1\\nline2\"}", "X", "line1?line2"},
		{SB_AWS_ERROR_JSON, "{\"code\":\"Y\"}", "Y", ""},
		{SB_AWS_ERROR_JSON, "{\"__type\":1}", "", ""},
		{SB_AWS_ERROR_JSON, "{\"__type\":\"A\",\"__type\":\"B\"}", "", ""}, /* duplicate key */
		{SB_AWS_ERROR_JSON, "[1,2]", "", ""},
		{SB_AWS_ERROR_JSON, "{\"__type\":\"A\"} trailing", "", ""},
		{SB_AWS_ERROR_XML, "<Error><Code>NoSuchKey</Code><Message>The key &lt;k&gt;</Message></Error>",
		 "NoSuchKey", "The key <k>"},
		{SB_AWS_ERROR_XML, "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
				   "</Error></ErrorResponse>", "AccessDenied", ""},
		{SB_AWS_ERROR_XML, "<Error><Code>Bad&bogus;</Code></Error>", "", ""},
		{SB_AWS_ERROR_XML, "<Error><Code>Unterminated", "", ""},
		{SB_AWS_ERROR_XML, "<Errors/>", "", ""},
		{SB_AWS_ERROR_XML, "", "", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_aws_error e;
		sb_aws_error_parse(cases[i].fmt, sb_slice_str(cases[i].body), &e);
		assert_string_equal(e.code, cases[i].code);
		assert_string_equal(e.message, cases[i].message);
	}
	/* Long messages are cut, never overflow. */
	char big[2000] = "{\"__type\":\"T\",\"message\":\"";
	size_t n = strlen(big);
	memset(big + n, 'm', 1500);
	memcpy(big + n + 1500, "\"}", 3);
	struct sb_aws_error e;
	sb_aws_error_parse(SB_AWS_ERROR_JSON, sb_slice_str(big), &e);
	assert_int_equal(strlen(e.message), SB_AWS_MESSAGE_MAX);

	assert_int_equal(sb_aws_error_classify("ThrottlingException", 400), SB_ERR_AWS_THROTTLED);
	assert_int_equal(sb_aws_error_classify("", 429), SB_ERR_AWS_THROTTLED);
	assert_int_equal(sb_aws_error_classify("NoSuchBucket", 404), SB_ERR_AWS_NOT_FOUND);
	assert_int_equal(sb_aws_error_classify("", 403), SB_ERR_AWS_ACCESS_DENIED);
	assert_int_equal(sb_aws_error_classify("InternalFailure", 500), SB_ERR_AWS_SERVICE);
	assert_int_equal(sb_aws_error_classify(NULL, 400), SB_ERR_AWS_SERVICE);

	struct sb_buf u = SB_BUF_INIT(256);
	assert_true(sb_ok(sb_aws_uri_encode(SB_SLICE_LIT("a b/c~d+é"), true, &u)));
	assert_string_equal(sb_buf_cstr(&u), "a%20b/c~d%2B%C3%A9");
	sb_buf_reset(&u);
	assert_true(sb_ok(sb_aws_uri_encode(SB_SLICE_LIT("a/b"), false, &u)));
	assert_string_equal(sb_buf_cstr(&u), "a%2Fb");
	sb_buf_cleanup(&u);
}

static void test_creds_value(void **state)
{
	(void)state;
	struct sb_aws_creds a, b;

	sb_aws_creds_init(&a);
	sb_aws_creds_init(&b);
	assert_false(sb_aws_creds_present(&a));
	assert_int_equal(sb_aws_creds_copy(&b, &a).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_int_equal(sb_aws_creds_set(&a, SB_SLICE_LIT("short"), SB_SLICE_LIT("s"),
					  SB_SLICE_LIT(""), 0).code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_aws_creds_set(&a, SB_SLICE_LIT(TEST_AKID), SB_SLICE_LIT("has space"),
					  SB_SLICE_LIT(""), 0).code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_aws_creds_set(&a, SB_SLICE_LIT(TEST_AKID), SB_SLICE_LIT(""),
					  SB_SLICE_LIT(""), 0).code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_aws_creds_set(&a, SB_SLICE_LIT(TEST_AKID), SB_SLICE_LIT(TEST_SECRET),
					  SB_SLICE_LIT("tok\n"), 0).code,
			 SB_ERR_INVALID_ARG);
	assert_true(sb_ok(sb_aws_creds_set(&a, SB_SLICE_LIT(TEST_AKID), SB_SLICE_LIT(TEST_SECRET),
					   SB_SLICE_LIT(TEST_TOKEN), 42)));
	assert_true(a.secret.secret && a.token.secret);
	assert_true(sb_ok(sb_aws_creds_copy(&b, &a)));
	assert_string_equal(b.access_key_id, TEST_AKID);
	assert_string_equal(sb_buf_cstr(&b.secret), TEST_SECRET);
	assert_int_equal(b.expiration_ms, 42);
	sb_aws_creds_cleanup(&a);
	sb_aws_creds_cleanup(&b);
	assert_false(sb_aws_creds_present(&b));
}

/* Sends one KMS-shaped request through c; returns the result code, *attempts set. */
static int send_scripted(struct sb_http_client *c, uint32_t *attempts)
{
	struct sb_buf out = SB_BUF_INIT(1 << 16);
	struct sb_http_response resp;
	struct sb_http_request req = kms_request(&out);

	sb_http_response_init(&resp);
	int code = sb_http_send(c, &req, &resp).code;
	*attempts = resp.attempts;
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&out);
	sb_error_clear();
	return code;
}

#define THROTTLED {.status = 400, .body = "{\"__type\":\"ThrottlingException\"}"}
#define OK_BODY   {.status = 200, .body = "{}"}
#define ERR_500   {.status = 500, .body = "{}"}

/* Issue 10 item 4: a call throttled 4 times in a row still succeeds; a 500 gets 3 attempts. */
static void test_throttle_attempts(void **state)
{
	(void)state;
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	uint32_t attempts;

	fast_config(&cfg);
	assert_int_equal(cfg.max_attempts, 3);
	assert_int_equal(cfg.throttle_max_attempts, 8);
	assert_int_equal(cfg.retry_mode, SB_HTTP_RETRY_STANDARD);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	stub_reset();
	for (int i = 0; i < 4; i++)
		stub_script(&g_stub, (struct stub_resp)THROTTLED);
	stub_script(&g_stub, (struct stub_resp)OK_BODY);
	assert_int_equal(send_scripted(c, &attempts), SB_OK);
	assert_int_equal(attempts, 5);
	/* A throttle then 5xx errors: the generic limit (3) applies to the 5xx. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp)THROTTLED);
	stub_script(&g_stub, (struct stub_resp)ERR_500);
	stub_script(&g_stub, (struct stub_resp)ERR_500);
	stub_script(&g_stub, (struct stub_resp)OK_BODY);
	assert_int_equal(send_scripted(c, &attempts), SB_ERR_AWS_SERVICE);
	assert_int_equal(attempts, 3);
	sb_http_client_free(c);
	/* throttle_max_attempts below max_attempts, or above 20, is refused. */
	cfg.throttle_max_attempts = 2;
	assert_int_equal(sb_http_client_new(&cfg, &c).code, SB_ERR_INVALID_ARG);
	cfg.throttle_max_attempts = 21;
	assert_int_equal(sb_http_client_new(&cfg, &c).code, SB_ERR_INVALID_ARG);
	cfg.throttle_max_attempts = 8;
	cfg.retry_mode = (enum sb_http_retry_mode)7;
	assert_int_equal(sb_http_client_new(&cfg, &c).code, SB_ERR_INVALID_ARG);
	sb_error_clear();
}

/* The retry quota: once spent, failures are not retried until successes refill it. */
static void test_retry_quota(void **state)
{
	(void)state;
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	uint32_t attempts;

	fast_config(&cfg);
	cfg.retry_quota = 10; /* two retries at 5 tokens each */
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	stub_reset();
	for (int i = 0; i < 3; i++)
		stub_script(&g_stub, (struct stub_resp)ERR_500);
	assert_int_equal(send_scripted(c, &attempts), SB_ERR_AWS_SERVICE);
	assert_int_equal(attempts, 3);
	/* Quota spent: the next failure is final at once, throttled or not. */
	stub_reset();
	stub_script(&g_stub, (struct stub_resp)ERR_500);
	stub_script(&g_stub, (struct stub_resp)OK_BODY);
	assert_int_equal(send_scripted(c, &attempts), SB_ERR_AWS_SERVICE);
	assert_int_equal(attempts, 1);
	stub_reset();
	stub_script(&g_stub, (struct stub_resp)THROTTLED);
	assert_int_equal(send_scripted(c, &attempts), SB_ERR_AWS_THROTTLED);
	assert_int_equal(attempts, 1);
	/* Five first-attempt successes add a token each: one retry is affordable again. */
	stub_reset();
	for (int i = 0; i < 5; i++) {
		stub_script(&g_stub, (struct stub_resp)OK_BODY);
	}
	for (int i = 0; i < 5; i++)
		assert_int_equal(send_scripted(c, &attempts), SB_OK);
	stub_reset();
	stub_script(&g_stub, (struct stub_resp)ERR_500);
	stub_script(&g_stub, (struct stub_resp)OK_BODY);
	assert_int_equal(send_scripted(c, &attempts), SB_OK);
	assert_int_equal(attempts, 2);
	sb_http_client_free(c);
	/* retry_quota 0: no quota, the attempt limits alone apply. */
	cfg.retry_quota = 0;
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	for (int round = 0; round < 3; round++) {
		stub_reset();
		for (int i = 0; i < 3; i++)
			stub_script(&g_stub, (struct stub_resp)ERR_500);
		assert_int_equal(send_scripted(c, &attempts), SB_ERR_AWS_SERVICE);
		assert_int_equal(attempts, 3);
	}
	sb_http_client_free(c);
}

/* Adaptive mode: after a throttle, attempts wait for the client-side rate limiter. */
static void test_adaptive_mode(void **state)
{
	(void)state;
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	uint32_t attempts;
	uint64_t t0, std_ns, adaptive_ns;

	for (int mode = 0; mode < 2; mode++) {
		fast_config(&cfg);
		cfg.retry_mode = mode == 0 ? SB_HTTP_RETRY_STANDARD : SB_HTTP_RETRY_ADAPTIVE;
		assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
		stub_reset();
		/* Slow the first sends so the measured rate is low: about 4 a second. */
		for (int i = 0; i < 3; i++) {
			stub_script(&g_stub, (struct stub_resp)OK_BODY);
			assert_int_equal(send_scripted(c, &attempts), SB_OK);
			test_backoff_ms(250);
		}
		stub_reset();
		stub_script(&g_stub, (struct stub_resp)THROTTLED);
		for (int i = 0; i < 4; i++)
			stub_script(&g_stub, (struct stub_resp)OK_BODY);
		t0 = sb_time_mono_ns();
		assert_int_equal(send_scripted(c, &attempts), SB_OK);
		assert_int_equal(attempts, 2);
		for (int i = 0; i < 3; i++)
			assert_int_equal(send_scripted(c, &attempts), SB_OK);
		if (mode == 0)
			std_ns = sb_time_mono_ns() - t0;
		else
			adaptive_ns = sb_time_mono_ns() - t0;
		sb_http_client_free(c);
	}
	print_message("4 calls after a throttle: standard %.3f s, adaptive %.3f s\n",
		      (double)std_ns / 1e9, (double)adaptive_ns / 1e9);
	/* Standard mode never delays a first attempt; adaptive paces them (~3/s here). */
	assert_true(std_ns < 350000000u);
	assert_true(adaptive_ns > 450000000u);
}

/* AWS_RETRY_MODE and AWS_MAX_ATTEMPTS, as the SDKs read them. */
static void test_config_env(void **state)
{
	(void)state;
	struct sb_http_config cfg;

	sb_http_config_default(&cfg);
	unsetenv("AWS_RETRY_MODE");
	unsetenv("AWS_MAX_ATTEMPTS");
	assert_true(sb_ok(sb_http_config_apply_env(&cfg)));
	assert_int_equal(cfg.retry_mode, SB_HTTP_RETRY_STANDARD);
	assert_int_equal(cfg.max_attempts, 3);
	setenv("AWS_RETRY_MODE", "adaptive", 1);
	setenv("AWS_MAX_ATTEMPTS", "10", 1);
	assert_true(sb_ok(sb_http_config_apply_env(&cfg)));
	assert_int_equal(cfg.retry_mode, SB_HTTP_RETRY_ADAPTIVE);
	assert_int_equal(cfg.max_attempts, 10);
	assert_int_equal(cfg.throttle_max_attempts, 10);
	setenv("AWS_RETRY_MODE", "legacy", 1);
	setenv("AWS_MAX_ATTEMPTS", "2", 1);
	assert_true(sb_ok(sb_http_config_apply_env(&cfg)));
	assert_int_equal(cfg.retry_mode, SB_HTTP_RETRY_STANDARD);
	assert_int_equal(cfg.max_attempts, 2);
	setenv("AWS_RETRY_MODE", "fast", 1);
	assert_int_equal(sb_http_config_apply_env(&cfg).code, SB_ERR_INVALID_ARG);
	assert_non_null(strstr(sb_error_detail(), "AWS_RETRY_MODE"));
	unsetenv("AWS_RETRY_MODE");
	for (size_t i = 0; i < 3; i++) {
		const char *bad[] = {"0", "11", "3x"};
		setenv("AWS_MAX_ATTEMPTS", bad[i], 1);
		assert_int_equal(sb_http_config_apply_env(&cfg).code, SB_ERR_INVALID_ARG);
		assert_non_null(strstr(sb_error_detail(), "AWS_MAX_ATTEMPTS"));
	}
	unsetenv("AWS_MAX_ATTEMPTS");
	sb_error_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_retry_then_success),
		cmocka_unit_test(test_bounded_body),
		cmocka_unit_test(test_timeout_and_refused),
		cmocka_unit_test(test_sigv4_headers),
		cmocka_unit_test(test_stream_files),
		cmocka_unit_test(test_multi),
		cmocka_unit_test(test_vsock_through_proxy),
		cmocka_unit_test(test_transport_detail),
		cmocka_unit_test(test_multi_stall),
		cmocka_unit_test(test_vsock_tls_errors),
		cmocka_unit_test(test_endpoints),
		cmocka_unit_test(test_region),
		cmocka_unit_test(test_error_parse),
		cmocka_unit_test(test_creds_value),
		cmocka_unit_test(test_throttle_attempts),
		cmocka_unit_test(test_retry_quota),
		cmocka_unit_test(test_adaptive_mode),
		cmocka_unit_test(test_config_env),
	};
	unsetenv("SSL_CERT_FILE");
	return cmocka_run_group_tests(tests, setup_stub, teardown_stub);
}
