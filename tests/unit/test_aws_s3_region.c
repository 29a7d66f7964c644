/*
 * Unit tests for S3 buckets in other regions (src/aws/sb_s3.c): a local S3
 * stand-in that answers as S3 does when a request is signed for the wrong
 * region (301 PermanentRedirect, 400 AuthorizationHeaderMalformed, a HEAD's
 * bodyless 301, each with x-amz-bucket-region), and otherwise stores and
 * serves objects. The client must retry once in the named region, remember
 * it, never retry twice, and never trust a malformed region header.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "aws/sb_s3.h"
#include "common/sb_file.h"
#include "test_aws_stub.h"

#define AKID   "AKIAS3REGION00000001"
#define SECRET "s3regionSecret/abcdefghijklmnopqrstu"
#define MAX_OBJECTS 8

struct object {
	char path[1024];
	char *data;
	size_t len;
};

/* The stand-in's state; touched only under the stub's lock. */
static struct object g_objects[MAX_OBJECTS];
static size_t g_nobjects;
static char g_body[4096]; /* the body of the last GET answer */
static char g_hdrs[512];

static struct stub g_stub;
static char g_endpoint[64];
static struct sb_creds_provider *g_creds;

struct home {
	const char *bucket;
	const char *region;  /* where the bucket lives */
	const char *header;  /* x-amz-bucket-region sent on refusals (NULL: none) */
	bool auth_malformed; /* refuse with 400 AuthorizationHeaderMalformed */
	bool always_refuse;  /* refuse whatever the region (a redirect loop) */
};

static const struct home g_homes[] = {
	{"eu-bucket", "eu-west-1", "eu-west-1", false, false},
	{"ap-bucket", "ap-southeast-2", "ap-southeast-2", true, false},
	{"loop-bucket", "eu-north-1", "eu-north-1", false, true},
	{"bad-header", "eu-west-1", "evil.example.com/x", false, false},
	{"no-header", "eu-west-1", NULL, false, false},
	{"home-bucket", "us-east-1", "us-east-1", false, false},
};

static const struct home *home_of(const char *bucket, size_t n)
{
	for (size_t i = 0; i < sizeof(g_homes) / sizeof(g_homes[0]); i++)
		if (strlen(g_homes[i].bucket) == n && strncmp(g_homes[i].bucket, bucket, n) == 0)
			return &g_homes[i];
	return NULL;
}

/* The region of the SigV4 credential scope: Credential=AKID/date/REGION/s3/... */
static void signed_region(const char *headers, char *out, size_t cap)
{
	const char *p = strstr(headers, "Credential=");
	out[0] = '\0';
	if (p == NULL || (p = strchr(p, '/')) == NULL || (p = strchr(p + 1, '/')) == NULL)
		return;
	p++;
	size_t n = strcspn(p, "/");
	if (n < cap) {
		memcpy(out, p, n);
		out[n] = '\0';
	}
}

static struct object *find_object(const char *path)
{
	for (size_t i = 0; i < g_nobjects; i++)
		if (strcmp(g_objects[i].path, path) == 0)
			return &g_objects[i];
	return NULL;
}

static struct stub_resp refuse(const struct home *h, const char *method)
{
	static const char redirect[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>PermanentRedirect</Code>"
		"<Message>The bucket you are attempting to access must be addressed using the "
		"specified endpoint.</Message></Error>";
	static const char malformed[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AuthorizationHeaderMalformed"
		"</Code><Message>The authorization header is malformed; the region 'us-east-1' "
		"is wrong</Message></Error>";

	g_hdrs[0] = '\0';
	if (h->header != NULL)
		(void)snprintf(g_hdrs, sizeof(g_hdrs), "x-amz-bucket-region: %s\r\n", h->header);
	if (strcmp(method, "HEAD") == 0)
		return (struct stub_resp){.status = 301, .headers = g_hdrs, .body = ""};
	if (h->auth_malformed)
		return (struct stub_resp){.status = 400, .headers = g_hdrs, .body = malformed};
	return (struct stub_resp){.status = 301, .headers = g_hdrs, .body = redirect};
}

static struct stub_resp s3_standin(struct stub *s, const struct stub_req *r, void *ud)
{
	(void)s;
	(void)ud;
	char region[64];
	const char *bucket = r->path + 1;
	size_t blen = strcspn(bucket, "/");
	const struct home *h = home_of(bucket, blen);

	if (h == NULL)
		return (struct stub_resp){.status = 404, .body = "<Error><Code>NoSuchBucket</Code>"
								  "</Error>"};
	signed_region(r->headers, region, sizeof(region));
	if (h->always_refuse || strcmp(region, h->region) != 0)
		return refuse(h, r->method);
	struct object *o = find_object(r->path);
	if (strcmp(r->method, "PUT") == 0) {
		if (o == NULL && g_nobjects < MAX_OBJECTS) {
			o = &g_objects[g_nobjects++];
			(void)snprintf(o->path, sizeof(o->path), "%s", r->path);
		}
		if (o == NULL)
			return (struct stub_resp){.status = 500, .body = ""};
		free(o->data);
		o->data = malloc(r->body_len + 1);
		memcpy(o->data, r->body, r->body_len);
		o->len = r->body_len;
		return (struct stub_resp){.status = 200, .body = ""};
	}
	if (o == NULL)
		return (struct stub_resp){.status = 404, .body = "<Error><Code>NoSuchKey</Code>"
								  "</Error>"};
	(void)snprintf(g_hdrs, sizeof(g_hdrs), "ETag: \"e%zu\"\r\n", o->len);
	if (strcmp(r->method, "HEAD") == 0)
		return (struct stub_resp){.status = 200, .headers = g_hdrs, .body = o->data,
					  .body_len = o->len};
	assert_true(o->len < sizeof(g_body));
	memcpy(g_body, o->data, o->len);
	return (struct stub_resp){.status = 200, .headers = g_hdrs, .body = g_body,
				  .body_len = o->len};
}

static void stub_clear(void)
{
	pthread_mutex_lock(&g_stub.mu);
	for (size_t i = 0; i < g_stub.n_reqs; i++)
		free(g_stub.reqs[i].body);
	g_stub.n_reqs = 0;
	pthread_mutex_unlock(&g_stub.mu);
}

/* The signed region of the i-th request since the last stub_clear. */
static void request_region(size_t i, char *out, size_t cap)
{
	pthread_mutex_lock(&g_stub.mu);
	assert_true(i < g_stub.n_reqs);
	signed_region(g_stub.reqs[i].headers, out, cap);
	pthread_mutex_unlock(&g_stub.mu);
}

static struct sb_s3 *new_client(void)
{
	struct sb_s3_config cfg;
	struct sb_s3 *s3 = NULL;

	sb_s3_config_default(&cfg);
	cfg.endpoint = g_endpoint;
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	cfg.http.max_attempts = 1;
	assert_true(sb_ok(sb_s3_new(&cfg, &s3)));
	return s3;
}

static int group_setup(void **state)
{
	(void)state;
	struct sb_aws_creds c;

	assert_int_equal(stub_start(&g_stub), 0);
	g_stub.handler = s3_standin;
	(void)snprintf(g_endpoint, sizeof(g_endpoint), "http://127.0.0.1:%d", g_stub.port);
	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_aws_creds_set(&c, SB_SLICE_LIT(AKID), SB_SLICE_LIT(SECRET),
					   SB_SLICE_LIT(""), 0)));
	assert_true(sb_ok(sb_creds_provider_new_static(&c, &g_creds)));
	sb_aws_creds_cleanup(&c);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	stub_stop(&g_stub);
	sb_creds_provider_free(g_creds);
	for (size_t i = 0; i < g_nobjects; i++)
		free(g_objects[i].data);
	return 0;
}

/* 301 PermanentRedirect: one retry signed for eu-west-1, then remembered. */
static void test_redirect_301(void **state)
{
	(void)state;
	struct sb_s3 *s3 = new_client();
	struct sb_buf got = SB_BUF_INIT(1024);
	struct sb_s3_object_info info;
	char region[SB_AWS_REGION_MAX + 1];

	stub_clear();
	assert_true(sb_ok(sb_s3_put(s3, "eu-bucket", "bids.csv", SB_SLICE_LIT("a,b\n1,2\n"),
				    "text/csv")));
	assert_int_equal(stub_nreqs(&g_stub), 2);
	request_region(0, region, sizeof(region));
	assert_string_equal(region, "us-east-1");
	request_region(1, region, sizeof(region));
	assert_string_equal(region, "eu-west-1");
	assert_true(sb_ok(sb_s3_bucket_region(s3, "eu-bucket", region)));
	assert_string_equal(region, "eu-west-1");
	/* Later requests go straight to the bucket's region. */
	stub_clear();
	assert_true(sb_ok(sb_s3_get(s3, "eu-bucket", "bids.csv", &got)));
	assert_int_equal(got.len, 8);
	assert_memory_equal(got.data, "a,b\n1,2\n", 8);
	assert_true(sb_ok(sb_s3_head(s3, "eu-bucket", "bids.csv", &info)));
	assert_int_equal(info.size, 8);
	assert_int_equal(stub_nreqs(&g_stub), 2);
	/* Other buckets keep the client's region. */
	assert_true(sb_ok(sb_s3_bucket_region(s3, "home-bucket", region)));
	assert_string_equal(region, "us-east-1");
	sb_buf_cleanup(&got);
	sb_s3_free(s3);
}

/* A HEAD's 301 has no body: the header alone is enough. */
static void test_redirect_head(void **state)
{
	(void)state;
	struct sb_s3 *s3 = new_client();
	struct sb_s3_object_info info;

	stub_clear();
	assert_true(sb_ok(sb_s3_head(s3, "eu-bucket", "bids.csv", &info)));
	assert_int_equal(info.size, 8);
	assert_string_equal(info.etag, "e8");
	assert_int_equal(stub_nreqs(&g_stub), 2);
	sb_s3_free(s3);
}

/* 400 AuthorizationHeaderMalformed; streamed bodies and files survive the retry. */
static void test_auth_malformed_streams(void **state)
{
	(void)state;
	struct sb_s3 *s3 = new_client();
	char dir[] = "/tmp/sb_s3r_XXXXXX", src[128], dst[128], region[SB_AWS_REGION_MAX + 1];
	static const char data[] = "property,bid\np1,100\np2,200\n";
	struct sb_buf got = SB_BUF_INIT(1024);

	assert_non_null(mkdtemp(dir));
	(void)snprintf(src, sizeof(src), "%s/in.csv", dir);
	(void)snprintf(dst, sizeof(dst), "%s/out.csv", dir);
	assert_true(sb_ok(sb_file_write_atomic(src, SB_SLICE(data, sizeof(data) - 1), 0600)));
	stub_clear();
	assert_true(sb_ok(sb_s3_put_file(s3, "ap-bucket", "in.csv", src, "text/csv")));
	assert_int_equal(stub_nreqs(&g_stub), 2);
	request_region(1, region, sizeof(region));
	assert_string_equal(region, "ap-southeast-2");
	sb_s3_free(s3);

	s3 = new_client(); /* forgets: the GET is refused once, into the file */
	stub_clear();
	assert_true(sb_ok(sb_s3_get_file(s3, "ap-bucket", "in.csv", dst)));
	assert_int_equal(stub_nreqs(&g_stub), 2);
	assert_true(sb_ok(sb_file_read(dst, &got)));
	assert_int_equal(got.len, sizeof(data) - 1);
	assert_memory_equal(got.data, data, got.len);
	sb_buf_cleanup(&got);
	sb_s3_free(s3);
	assert_int_equal(unlink(src), 0);
	assert_int_equal(unlink(dst), 0);
	assert_int_equal(rmdir(dir), 0);
}

/* Refused again in the named region: an error after exactly one retry. */
static void test_redirect_loop(void **state)
{
	(void)state;
	struct sb_s3 *s3 = new_client();
	struct sb_buf got = SB_BUF_INIT(1024);

	stub_clear();
	sb_result rc = sb_s3_get(s3, "loop-bucket", "k", &got);
	assert_false(sb_ok(rc));
	assert_int_equal(stub_nreqs(&g_stub), 2);
	assert_non_null(strstr(sb_error_detail(), "PermanentRedirect"));
	assert_non_null(strstr(sb_error_detail(), "s3://loop-bucket/k"));
	assert_int_equal(got.len, 0);
	sb_error_clear();
	sb_buf_cleanup(&got);
	sb_s3_free(s3);
}

/* A malformed or missing region header: no retry, S3's own error, cache untouched. */
static void test_untrusted_header(void **state)
{
	(void)state;
	struct sb_s3 *s3 = new_client();
	struct sb_buf got = SB_BUF_INIT(1024);
	char region[SB_AWS_REGION_MAX + 1];
	static const char *buckets[] = {"bad-header", "no-header"};

	for (size_t i = 0; i < 2; i++) {
		stub_clear();
		sb_result rc = sb_s3_get(s3, buckets[i], "k", &got);
		assert_false(sb_ok(rc));
		assert_int_equal(stub_nreqs(&g_stub), 1);
		assert_non_null(strstr(sb_error_detail(), "PermanentRedirect"));
		assert_non_null(strstr(sb_error_detail(), "HTTP 301"));
		sb_error_clear();
		assert_true(sb_ok(sb_s3_bucket_region(s3, buckets[i], region)));
		assert_string_equal(region, "us-east-1");
	}
	sb_buf_cleanup(&got);
	sb_s3_free(s3);
}

/* On AWS the host follows the bucket's region; the cache is bounded. */
static void test_urls_and_cache(void **state)
{
	(void)state;
	struct sb_s3_config cfg;
	struct sb_s3 *s3 = NULL;
	struct sb_buf url = SB_BUF_INIT(512);
	char region[SB_AWS_REGION_MAX + 1], name[32];

	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	sb_s3_config_default(&cfg);
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_s3_new(&cfg, &s3)));
	assert_true(sb_ok(sb_s3_bucket_region_note(s3, "buyer2-bids", "eu-west-1")));
	assert_true(sb_ok(sb_s3_url(s3, "buyer2-bids", "a/b.csv", &url)));
	assert_string_equal(sb_buf_cstr(&url), "https://buyer2-bids.s3.eu-west-1.amazonaws.com/a/b.csv");
	sb_buf_reset(&url);
	assert_true(sb_ok(sb_s3_bucket_region_note(s3, "dotted.bucket", "ap-south-1")));
	assert_true(sb_ok(sb_s3_url(s3, "dotted.bucket", "k", &url)));
	assert_string_equal(sb_buf_cstr(&url), "https://s3.ap-south-1.amazonaws.com/dotted.bucket/k");
	sb_buf_reset(&url);
	assert_true(sb_ok(sb_s3_url(s3, "operator-out", "k", &url)));
	assert_string_equal(sb_buf_cstr(&url), "https://operator-out.s3.us-east-1.amazonaws.com/k");
	/* Bad names are refused; nothing is recorded. */
	assert_int_equal(sb_s3_bucket_region_note(s3, "buyer2-bids", "eu-west-1.evil.com/x").code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_s3_bucket_region_note(s3, "buyer2-bids", "").code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_s3_bucket_region_note(s3, "Bad_Bucket", "eu-west-1").code,
			 SB_ERR_INVALID_ARG);
	sb_error_clear();
	assert_true(sb_ok(sb_s3_bucket_region(s3, "buyer2-bids", region)));
	assert_string_equal(region, "eu-west-1");
	/* Noting again updates in place; past SB_S3_REGION_CACHE the oldest slot goes. */
	assert_true(sb_ok(sb_s3_bucket_region_note(s3, "buyer2-bids", "eu-central-1")));
	assert_true(sb_ok(sb_s3_bucket_region(s3, "buyer2-bids", region)));
	assert_string_equal(region, "eu-central-1");
	for (int i = 0; i < SB_S3_REGION_CACHE - 1; i++) {
		(void)snprintf(name, sizeof(name), "bucket-%02d", i);
		assert_true(sb_ok(sb_s3_bucket_region_note(s3, name, "sa-east-1")));
	}
	assert_true(sb_ok(sb_s3_bucket_region(s3, "bucket-14", region)));
	assert_string_equal(region, "sa-east-1");
	assert_true(sb_ok(sb_s3_bucket_region_note(s3, "one-more", "sa-east-1")));
	assert_true(sb_ok(sb_s3_bucket_region(s3, "buyer2-bids", region)));
	assert_string_equal(region, "us-east-1");
	assert_true(sb_ok(sb_s3_bucket_region(s3, "one-more", region)));
	assert_string_equal(region, "sa-east-1");
	sb_buf_cleanup(&url);
	sb_s3_free(s3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redirect_301),
		cmocka_unit_test(test_redirect_head),
		cmocka_unit_test(test_auth_malformed_streams),
		cmocka_unit_test(test_redirect_loop),
		cmocka_unit_test(test_untrusted_header),
		cmocka_unit_test(test_urls_and_cache),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
