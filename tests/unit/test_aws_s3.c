/*
 * Unit tests for src/aws/sb_s3 and sb_storage against a local S3-compatible
 * server: moto_server when installed, else s3rver from tools/node_modules
 * (scripts/install-deps.sh installs it when moto_server is missing).
 * Put/get/head round trips byte for byte, a 100 MB object streamed from and
 * to files, missing objects and buckets, URL styles, file:// and s3:// URIs,
 * and atomic writes.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "aws/sb_s3.h"
#include "aws/sb_storage.h"
#include "common/sb_file.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_random.h"
#include "test_aws_stub.h"

#define AKID   "AKIAS3TEST0000000001"
#define SECRET "s3testSecret/abcdefghijklmnopqrstuvw"

static pid_t g_pid = -1;
static char g_endpoint[64];
static char g_dir[64];
static struct sb_creds_provider *g_creds;
static struct sb_s3 *g_s3;

static pid_t start_s3_server(int port)
{
	char portstr[16], s3rver[512];
	const char *moto = find_moto();

	(void)snprintf(portstr, sizeof(portstr), "%d", port);
	if (moto != NULL) {
		char *argv[] = {(char *)moto, "-H", "127.0.0.1", "-p", portstr, NULL};
		return spawn_quiet(argv);
	}
	(void)snprintf(s3rver, sizeof(s3rver), "%s/../../tools/node_modules/.bin/s3rver",
		       SB_TEST_DATA);
	if (access(s3rver, X_OK) == 0) {
		char *argv[] = {s3rver, "--silent", "--address", "127.0.0.1", "--port", portstr,
				"--directory", g_dir, NULL};
		return spawn_quiet(argv);
	}
	return -1;
}

static int group_setup(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	struct sb_s3_config cfg;
	int port = free_port();

	memcpy(g_dir, "/tmp/sb_s3_XXXXXX", 18);
	assert_non_null(mkdtemp(g_dir));
	g_pid = start_s3_server(port);
	if (g_pid <= 0 || !wait_port(port, g_pid)) {
		fprintf(stderr, "test_aws_s3: no moto_server or s3rver could be started\n");
		return -1;
	}
	(void)snprintf(g_endpoint, sizeof(g_endpoint), "http://127.0.0.1:%d", port);
	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_aws_creds_set(&c, SB_SLICE_LIT(AKID), SB_SLICE_LIT(SECRET),
					   SB_SLICE_LIT(""), 0)));
	assert_true(sb_ok(sb_creds_provider_new_static(&c, &g_creds)));
	sb_aws_creds_cleanup(&c);
	sb_s3_config_default(&cfg);
	cfg.endpoint = g_endpoint;
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_s3_new(&cfg, &g_s3)));
	assert_true(sb_ok(sb_s3_create_bucket(g_s3, "sealbid-test")));
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	sb_s3_free(g_s3);
	sb_creds_provider_free(g_creds);
	stop_child(g_pid);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", g_dir);
	if (system(cmd) != 0)
		return -1;
	return 0;
}

static void tmp_path(char *out, size_t cap, const char *name)
{
	(void)snprintf(out, cap, "%s/%s", g_dir, name);
}

static void test_roundtrip(void **state)
{
	(void)state;
	static const char *keys[] = {"plain", "dir/sub/file.csv", "with space+plus&amp=eq",
				     "unicode-é-ключ", "trailing/"};
	uint8_t data[5000];
	struct sb_s3_object_info info;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		struct sb_buf got = SB_BUF_INIT(1 << 20);
		size_t len = 100 + k * 1000;
		sb_result rc = sb_s3_put(g_s3, "sealbid-test", keys[k], SB_SLICE(data, len),
					 "text/csv");
		if (!sb_ok(rc))
			print_error("put %s: %s\n", keys[k], sb_error_describe());
		assert_true(sb_ok(rc));
		assert_true(sb_ok(sb_s3_get(g_s3, "sealbid-test", keys[k], &got)));
		assert_int_equal(got.len, len);
		assert_memory_equal(got.data, data, len);
		assert_true(sb_ok(sb_s3_head(g_s3, "sealbid-test", keys[k], &info)));
		assert_int_equal(info.size, len);
		assert_true(strlen(info.etag) > 0);
		assert_null(strchr(info.etag, '"'));
		sb_buf_cleanup(&got);
	}
	/* An empty object. */
	struct sb_buf got = SB_BUF_INIT(16);
	assert_true(sb_ok(sb_s3_put(g_s3, "sealbid-test", "empty", SB_SLICE(NULL, 0), NULL)));
	assert_true(sb_ok(sb_s3_get(g_s3, "sealbid-test", "empty", &got)));
	assert_int_equal(got.len, 0);
	/* Bounded: an object larger than the buffer. */
	assert_int_equal(sb_s3_get(g_s3, "sealbid-test", "plain", &got).code, SB_ERR_TOO_LARGE);
	sb_buf_cleanup(&got);
}

static void test_missing(void **state)
{
	(void)state;
	struct sb_buf got = SB_BUF_INIT(1024);
	struct sb_s3_object_info info;
	char path[128];

	assert_int_equal(sb_s3_get(g_s3, "sealbid-test", "no/such/key", &got).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_non_null(strstr(sb_error_detail(), "s3://sealbid-test/no/such/key: S3 GetObject: NoSuchKey"));
	assert_int_equal(sb_s3_get(g_s3, "no-such-bucket-x", "k", &got).code, SB_ERR_AWS_NOT_FOUND);
	assert_non_null(strstr(sb_error_detail(), "S3 GetObject: NoSuchBucket"));
	assert_int_equal(sb_s3_head(g_s3, "sealbid-test", "no/such/key", &info).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_non_null(strstr(sb_error_detail(), "S3 HeadObject: HTTP 404"));
	assert_int_equal(sb_s3_put(g_s3, "no-such-bucket-x", "k", SB_SLICE_LIT("x"), NULL).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_non_null(strstr(sb_error_detail(), "NoSuchBucket"));
	/* A failed download leaves no file behind. */
	tmp_path(path, sizeof(path), "never");
	assert_int_equal(sb_s3_get_file(g_s3, "sealbid-test", "no/such/key", path).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_int_equal(access(path, F_OK), -1);
	/* Names are checked before anything is sent. */
	assert_int_equal(sb_s3_get(g_s3, "Bad_Bucket", "k", &got).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_s3_get(g_s3, "sealbid-test", "", &got).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_s3_put_file(g_s3, "sealbid-test", "k", "/nonexistent/x", NULL).code,
			 SB_ERR_NOT_FOUND);
	sb_buf_cleanup(&got);
}

static void hash_file(const char *path, uint8_t out[32])
{
	struct sb_hash h;
	static uint8_t buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	assert_true(sb_ok(sb_hash_init(&h, SB_HASH_SHA256)));
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		assert_true(sb_ok(sb_hash_update(&h, SB_SLICE(buf, (size_t)n))));
	assert_true(sb_ok(sb_hash_final(&h, out, 32)));
	sb_hash_cleanup(&h);
	close(fd);
}

static long max_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_large_streamed(void **state)
{
	(void)state;
	char src[128], dst[128];
	static uint8_t chunk[1 << 20];
	uint8_t h1[32], h2[32];
	struct sb_s3_object_info info;
	const size_t total_mb = 100;

	tmp_path(src, sizeof(src), "big.src");
	tmp_path(dst, sizeof(dst), "big.dst");
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (size_t i = 0; i < total_mb; i++) {
		assert_true(sb_ok(sb_random_bytes(chunk, 4096)));
		for (size_t k = 4096; k < sizeof(chunk); k++)
			chunk[k] = (uint8_t)(chunk[k - 4096] ^ (uint8_t)i);
		assert_int_equal(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	}
	close(fd);
	long rss0 = max_rss_kb();
	sb_result rc = sb_s3_put_file(g_s3, "sealbid-test", "big/object.bin", src, NULL);
	if (!sb_ok(rc))
		print_error("put_file: %s\n", sb_error_describe());
	assert_true(sb_ok(rc));
	assert_true(sb_ok(sb_s3_head(g_s3, "sealbid-test", "big/object.bin", &info)));
	assert_int_equal(info.size, total_mb << 20);
	assert_true(sb_ok(sb_s3_get_file(g_s3, "sealbid-test", "big/object.bin", dst)));
	/* Streamed both ways: memory stays far below the object size. */
	assert_true(max_rss_kb() - rss0 < 40 * 1024);
	hash_file(src, h1);
	hash_file(dst, h2);
	assert_memory_equal(h1, h2, 32);
	struct stat st;
	assert_int_equal(stat(dst, &st), 0);
	assert_int_equal((uint64_t)st.st_size, total_mb << 20);
	unlink(src);
	unlink(dst);
}

static void test_urls(void **state)
{
	(void)state;
	struct sb_s3 *aws = NULL;
	struct sb_s3_config cfg;
	struct sb_buf u = SB_BUF_INIT(4096);

	assert_true(sb_ok(sb_s3_url(g_s3, "sealbid-test", "a b/c", &u)));
	char want[128];
	(void)snprintf(want, sizeof(want), "%s/sealbid-test/a%%20b/c", g_endpoint);
	assert_string_equal(sb_buf_cstr(&u), want);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	sb_s3_config_default(&cfg);
	cfg.region = "eu-west-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_s3_new(&cfg, &aws)));
	sb_buf_reset(&u);
	assert_true(sb_ok(sb_s3_url(aws, "my-bucket", "k/é", &u)));
	assert_string_equal(sb_buf_cstr(&u), "https://my-bucket.s3.eu-west-1.amazonaws.com/k/%C3%A9");
	sb_buf_reset(&u);
	assert_true(sb_ok(sb_s3_url(aws, "dotted.bucket", "k", &u)));
	assert_string_equal(sb_buf_cstr(&u), "https://s3.eu-west-1.amazonaws.com/dotted.bucket/k");
	sb_s3_free(aws);
	cfg.force_path_style = true;
	assert_true(sb_ok(sb_s3_new(&cfg, &aws)));
	sb_buf_reset(&u);
	assert_true(sb_ok(sb_s3_url(aws, "my-bucket", "k", &u)));
	assert_string_equal(sb_buf_cstr(&u), "https://s3.eu-west-1.amazonaws.com/my-bucket/k");
	sb_s3_free(aws);
	const char *bad[] = {"ab", "-abc", "abc-", "ABC", "a_b", "abc.", NULL};
	for (size_t i = 0; bad[i] != NULL; i++)
		assert_false(sb_s3_bucket_valid(bad[i]));
	assert_true(sb_s3_bucket_valid("a.b-c1"));
	cfg.creds = NULL;
	assert_int_equal(sb_s3_new(&cfg, &aws).code, SB_ERR_AWS_NO_CREDENTIALS);
	sb_buf_cleanup(&u);
}

static void test_uri_parse(void **state)
{
	(void)state;
	struct sb_storage_uri u;
	const struct {
		const char *uri;
		const char *detail; /* NULL: valid */
	} cases[] = {
		{"s3://bucket-1/key/with/slashes", NULL},
		{"file:///tmp/x%20y.csv", NULL},
		{"", "empty URI"},
		{"http://x/y", "expected s3://bucket/key or file:///path"},
		{"s3://bucket", "needs a key"},
		{"s3://bucket/", "key must be 1..1024"},
		{"s3://Bad_Bucket/k", "invalid S3 bucket name"},
		{"s3:///k", "invalid S3 bucket name"},
		{"file://host/tmp/x", "absolute path"},
		{"file://relative", "absolute path"},
		{"file:///tmp/", "not a directory"},
		{"file:///tmp/x?y", "query or fragment"},
		{"file:///tmp/%zz", "bad %-escape"},
		{"file:///tmp/%00", "bad %-escape"},
		{"s3://bucket/k\n", "control character"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sb_result rc = sb_storage_uri_parse(cases[i].uri, &u);
		if (cases[i].detail == NULL) {
			assert_true(sb_ok(rc));
			continue;
		}
		assert_int_equal(rc.code, SB_ERR_BAD_URI);
		if (strstr(sb_error_detail(), cases[i].detail) == NULL)
			print_error("%s: %s\n", cases[i].uri, sb_error_detail());
		assert_non_null(strstr(sb_error_detail(), cases[i].detail));
	}
	assert_true(sb_ok(sb_storage_uri_parse("s3://bucket-1/key/with/slashes", &u)));
	assert_int_equal(u.kind, SB_STORAGE_S3);
	assert_string_equal(u.bucket, "bucket-1");
	assert_string_equal(u.key, "key/with/slashes");
	assert_true(sb_ok(sb_storage_uri_parse("file:///tmp/x%20y.csv", &u)));
	assert_int_equal(u.kind, SB_STORAGE_FILE);
	assert_string_equal(u.path, "/tmp/x y.csv");
}

static void storage_roundtrip(struct sb_storage *st, const char *uri)
{
	char src[128], dst[128];
	struct sb_buf got = SB_BUF_INIT(1 << 20);
	struct sb_storage_info info;
	bool exists = true;

	assert_true(sb_ok(sb_storage_exists(st, uri, &exists)));
	assert_false(exists);
	assert_true(sb_ok(sb_storage_put(st, uri, SB_SLICE_LIT("Property,Result\n1,Buyer2 Wins\n"))));
	assert_true(sb_ok(sb_storage_exists(st, uri, &exists)));
	assert_true(exists);
	assert_true(sb_ok(sb_storage_get(st, uri, &got)));
	assert_string_equal(sb_buf_cstr(&got), "Property,Result\n1,Buyer2 Wins\n");
	assert_true(sb_ok(sb_storage_head(st, uri, &info)));
	assert_int_equal(info.size, 30);
	tmp_path(src, sizeof(src), "st.src");
	tmp_path(dst, sizeof(dst), "st.dst");
	int fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, "from a file", 11), 11);
	close(fd);
	assert_true(sb_ok(sb_storage_put_file(st, uri, src)));
	assert_true(sb_ok(sb_storage_get_file(st, uri, dst)));
	sb_buf_reset(&got);
	assert_true(sb_ok(sb_file_read(dst, &got)));
	assert_string_equal(sb_buf_cstr(&got), "from a file");
	unlink(src);
	unlink(dst);
	/* Delete: gone afterwards; deleting what is missing is not an error. */
	assert_true(sb_ok(sb_storage_delete(st, uri)));
	assert_true(sb_ok(sb_storage_exists(st, uri, &exists)));
	assert_false(exists);
	assert_true(sb_ok(sb_storage_delete(st, uri)));
	/* Put back what the caller expects to find. */
	assert_true(sb_ok(sb_storage_put(st, uri, SB_SLICE_LIT("from a file"))));
	sb_buf_cleanup(&got);
}

static void test_storage(void **state)
{
	(void)state;
	struct sb_storage *st = NULL;
	struct sb_s3_config cfg;
	char uri[256], missing_src[128];
	struct sb_buf got = SB_BUF_INIT(1024);
	struct sb_storage_info info;

	sb_s3_config_default(&cfg);
	cfg.endpoint = g_endpoint;
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_storage_new(&cfg, &st)));
	(void)snprintf(uri, sizeof(uri), "file://%s/out%%20put.csv", g_dir);
	storage_roundtrip(st, uri);
	storage_roundtrip(st, "s3://sealbid-test/storage/output.csv");

	/* Atomic file put: a failed copy leaves the old contents and no temp file. */
	tmp_path(missing_src, sizeof(missing_src), "does-not-exist");
	assert_int_equal(sb_storage_put_file(st, uri, missing_src).code, SB_ERR_NOT_FOUND);
	assert_true(sb_ok(sb_storage_get(st, uri, &got)));
	assert_string_equal(sb_buf_cstr(&got), "from a file");
	char cmd[256];
	(void)snprintf(cmd, sizeof(cmd), "ls %s | grep -q tmp", g_dir);
	assert_int_not_equal(system(cmd), 0);
	/* Into a directory that does not exist: error, nothing created. */
	(void)snprintf(uri, sizeof(uri), "file://%s/nodir/x.csv", g_dir);
	assert_int_equal(sb_storage_put(st, uri, SB_SLICE_LIT("x")).code, SB_ERR_IO);
	assert_int_equal(sb_storage_head(st, uri, &info).code, SB_ERR_NOT_FOUND);
	assert_int_equal(sb_storage_get(st, "s3://sealbid-test/nope", &got).code,
			 SB_ERR_AWS_NOT_FOUND);
	bool exists = true;
	assert_true(sb_ok(sb_storage_exists(st, "s3://no-such-bucket-y/k", &exists)));
	assert_false(exists);
	assert_int_equal(sb_storage_get(st, "ftp://x/y", &got).code, SB_ERR_BAD_URI);
	sb_storage_free(st);
	sb_storage_free(NULL);
	sb_buf_cleanup(&got);
}

/* Reads a whole reader in chunk-sized pieces into out; the first failure is returned. */
static sb_result drain_reader(struct sb_storage_reader *rd, size_t chunk, struct sb_buf *out)
{
	for (;;) {
		size_t n = 0;
		SB_GUARD(sb_buf_reserve(out, chunk));
		SB_GUARD(sb_storage_read(rd, sb_buf_tail(out), chunk, &n));
		if (n == 0)
			return SB_OK_RESULT;
		SB_GUARD(sb_buf_commit(out, out->len + n));
	}
}

static struct sb_storage *test_storage_new(void)
{
	struct sb_storage *st = NULL;
	struct sb_s3_config cfg;

	sb_s3_config_default(&cfg);
	cfg.endpoint = g_endpoint;
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_storage_new(&cfg, &st)));
	return st;
}

/* S3: ranged GETs pinned to the ETag, byte for byte; a replaced object fails. */
static void test_storage_reader_s3(void **state)
{
	(void)state;
	const size_t size = 2 * SB_STORAGE_RANGE + 12345;
	struct sb_storage *st = test_storage_new();
	struct sb_storage_reader *rd = NULL;
	struct sb_buf data = SB_BUF_INIT(size), got = SB_BUF_INIT(size + (1u << 20));
	const char *uri = "s3://sealbid-test/reader/big.bin";
	uint8_t chunk[1000];
	size_t n;

	assert_true(sb_ok(sb_buf_reserve(&data, size)));
	assert_true(sb_ok(sb_random_bytes(sb_buf_tail(&data), size)));
	assert_true(sb_ok(sb_buf_commit(&data, size)));
	assert_true(sb_ok(sb_storage_put(st, uri, sb_buf_slice(&data))));
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_int_equal(sb_storage_reader_size(rd), size);
	/* An odd chunk size so reads straddle range boundaries. */
	sb_result dr = drain_reader(rd, 77777, &got);
	if (!sb_ok(dr))
		print_error("%s\n", sb_error_describe());
	assert_true(sb_ok(dr));
	assert_int_equal(got.len, size);
	assert_memory_equal(got.data, data.data, size);
	sb_storage_close(rd);

	/* Replaced after the first range was fetched: the next range is refused. */
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_true(sb_ok(sb_storage_read(rd, chunk, sizeof(chunk), &n)));
	assert_int_equal(n, sizeof(chunk));
	data.data[0] ^= 1;
	assert_true(sb_ok(sb_storage_put(st, uri, sb_buf_slice(&data))));
	sb_buf_reset(&got);
	assert_int_equal(drain_reader(rd, 65536, &got).code, SB_ERR_AWS_CHANGED);
	/* Whole reads only up to the end of the first range; the straddling one fails. */
	assert_int_equal(got.len, (SB_STORAGE_RANGE - sizeof(chunk)) / 65536 * 65536);
	sb_storage_close(rd);

	/* Empty object: one read, nothing, no ranged GET (a 416 otherwise). */
	assert_true(sb_ok(sb_storage_put(st, uri, SB_SLICE(NULL, 0))));
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_true(sb_ok(sb_storage_read(rd, chunk, sizeof(chunk), &n)));
	assert_int_equal(n, 0);
	sb_storage_close(rd);
	rd = NULL;
	assert_int_equal(sb_storage_open(st, "s3://sealbid-test/reader/missing", &rd).code,
			 SB_ERR_AWS_NOT_FOUND);
	assert_null(rd);
	sb_storage_close(NULL);
	sb_storage_free(st);
	sb_buf_cleanup(&data);
	sb_buf_cleanup(&got);
}

/* Files: regular files only, opened without blocking; a FIFO never hangs the reader. */
static void test_storage_reader_files(void **state)
{
	(void)state;
	struct sb_storage *st = test_storage_new();
	struct sb_storage_reader *rd = NULL;
	struct sb_buf got = SB_BUF_INIT(1 << 20);
	char path[128], uri[200], fifo[128], link[128], dir[128];
	uint8_t buf[16];
	size_t n;

	tmp_path(path, sizeof(path), "reader.csv");
	assert_true(sb_ok(sb_file_write_atomic(path, SB_SLICE_LIT("0123456789abcdef!"), 0600)));
	(void)snprintf(uri, sizeof(uri), "file://%s", path);
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_int_equal(sb_storage_reader_size(rd), 17);
	assert_true(sb_ok(drain_reader(rd, 4, &got)));
	assert_int_equal(got.len, 17);
	assert_memory_equal(got.data, "0123456789abcdef!", 17);
	sb_storage_close(rd);

	/* Cut short while being read: an error, not a short input. */
	assert_true(sb_ok(sb_storage_open(st, uri, &rd)));
	assert_true(sb_ok(sb_storage_read(rd, buf, 4, &n)));
	assert_int_equal(truncate(path, 8), 0);
	sb_buf_reset(&got);
	assert_int_equal(drain_reader(rd, 16, &got).code, SB_ERR_IO);
	sb_storage_close(rd);

	tmp_path(fifo, sizeof(fifo), "reader.fifo");
	tmp_path(link, sizeof(link), "reader.link");
	tmp_path(dir, sizeof(dir), "reader.dir");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	const char *bad[] = {fifo, link, dir, "/dev/null"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rd = NULL;
		(void)snprintf(uri, sizeof(uri), "file://%s", bad[i]);
		assert_int_equal(sb_storage_open(st, uri, &rd).code, SB_ERR_NOT_REGULAR);
		assert_null(rd);
	}
	(void)snprintf(uri, sizeof(uri), "file://%s/none", g_dir);
	assert_int_equal(sb_storage_open(st, uri, &rd).code, SB_ERR_NOT_FOUND);
	/* Copies neither read from nor replace anything but regular files. */
	assert_int_equal(sb_storage_put_file(st, "s3://sealbid-test/reader/x", fifo).code,
			 SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_storage_put_file(st, uri, fifo).code, SB_ERR_NOT_REGULAR);
	assert_true(sb_ok(sb_storage_put(st, "s3://sealbid-test/reader/x", SB_SLICE_LIT("x"))));
	assert_int_equal(sb_storage_get_file(st, "s3://sealbid-test/reader/x", fifo).code,
			 SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_storage_get_file(st, "s3://sealbid-test/reader/x", link).code,
			 SB_ERR_NOT_REGULAR);
	(void)snprintf(uri, sizeof(uri), "file://%s", path);
	assert_int_equal(sb_storage_get_file(st, uri, dir).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_storage_put(st, "file:///dev/null", SB_SLICE_LIT("x")).code,
			 SB_ERR_NOT_REGULAR);
	struct stat sbuf;
	assert_int_equal(lstat(fifo, &sbuf), 0);
	assert_true(S_ISFIFO(sbuf.st_mode));
	assert_int_equal(lstat(link, &sbuf), 0);
	assert_true(S_ISLNK(sbuf.st_mode));
	assert_int_equal(stat("/dev/null", &sbuf), 0);
	assert_true(S_ISCHR(sbuf.st_mode));
	unlink(fifo);
	unlink(link);
	rmdir(dir);
	unlink(path);
	sb_storage_free(st);
	sb_buf_cleanup(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_missing),
		cmocka_unit_test(test_large_streamed),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_uri_parse),
		cmocka_unit_test(test_storage),
		cmocka_unit_test(test_storage_reader_s3),
		cmocka_unit_test(test_storage_reader_files),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
