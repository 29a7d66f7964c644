/*
 * Unit tests for src/host/sb_publish: output and receipt both or neither,
 * and only regular files (or nothing) replaced.
 *
 * Files: a first publish; then, with an earlier pair in place, every
 * publishing step made to fail in turn (as a full disk would) leaves that
 * pair byte-identical and no temporary or backup file behind; a failed
 * restore keeps the old receipt for the operator and says where; a FIFO,
 * symlink, directory or device at either name is SB_ERR_NOT_REGULAR with
 * nothing written (and sb_storage_put refuses them too). S3 (moto_server):
 * a failed output put puts the earlier receipt back.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/sb_file.h"
#include "host/sb_publish.h"
#include "test_aws_stub.h"

#define AKID   "AKIAPUBLISHTEST00001"
#define SECRET "publishTestSecret/abcdefghijklmnopqrst"

static char g_dir[64];
static pid_t g_moto = -1;
static char g_endpoint[64];
static struct sb_creds_provider *g_creds;

static int group_setup(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	const char *moto = find_moto();
	char portstr[16];
	int port = free_port();

	memcpy(g_dir, "/tmp/sb_publish_XXXXXX", 23);
	if (mkdtemp(g_dir) == NULL)
		return -1;
	if (moto == NULL) {
		fprintf(stderr, "test_host_publish: moto_server is needed (scripts/install-deps.sh)\n");
		return -1;
	}
	(void)snprintf(portstr, sizeof(portstr), "%d", port);
	char *argv[] = {(char *)moto, "-H", "127.0.0.1", "-p", portstr, NULL};
	g_moto = spawn_quiet(argv);
	if (g_moto <= 0 || !wait_port(port, g_moto))
		return -1;
	(void)snprintf(g_endpoint, sizeof(g_endpoint), "http://127.0.0.1:%d", port);
	sb_aws_creds_init(&c);
	if (!sb_ok(sb_aws_creds_set(&c, SB_SLICE_LIT(AKID), SB_SLICE_LIT(SECRET), SB_SLICE_LIT(""),
				    0)) ||
	    !sb_ok(sb_creds_provider_new_static(&c, &g_creds)))
		return -1;
	sb_aws_creds_cleanup(&c);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];

	stop_child(g_moto);
	sb_creds_provider_free(g_creds);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct sb_storage *storage(void)
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

/* A fresh empty directory under g_dir with output/receipt paths and URIs in it. */
struct pair {
	char dir[128], out[160], rec[160], out_uri[200], rec_uri[200];
};

static void pair_init(struct pair *p, const char *name)
{
	(void)snprintf(p->dir, sizeof(p->dir), "%s/%s", g_dir, name);
	assert_int_equal(mkdir(p->dir, 0700), 0);
	(void)snprintf(p->out, sizeof(p->out), "%s/output.csv", p->dir);
	(void)snprintf(p->rec, sizeof(p->rec), "%s/output.receipt", p->dir);
	(void)snprintf(p->out_uri, sizeof(p->out_uri), "file://%s", p->out);
	(void)snprintf(p->rec_uri, sizeof(p->rec_uri), "file://%s", p->rec);
}

static void assert_file(const char *path, const char *want)
{
	struct sb_buf got = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_file_read(path, &got)));
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.data, want, got.len);
	sb_buf_cleanup(&got);
}

/* The number of entries in dir (without . and ..). */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static sb_result publish(struct sb_storage *st, const struct pair *p, const char *out,
			 const char *rec)
{
	return sb_publish_pair(st, p->out_uri, p->rec_uri, sb_slice_str(out), sb_slice_str(rec));
}

static void test_first_publish(void **state)
{
	(void)state;
	struct sb_storage *st = storage();
	struct pair p;
	struct stat sb;

	pair_init(&p, "first");
	assert_true(sb_ok(sb_publish_check(p.out_uri, p.rec_uri)));
	assert_true(sb_ok(publish(st, &p, "out-1\n", "{\"r\":1}")));
	assert_file(p.out, "out-1\n");
	assert_file(p.rec, "{\"r\":1}");
	assert_int_equal(stat(p.out, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(entries(p.dir), 2);
	/* And again over the pair: replaced, still nothing else left. */
	assert_true(sb_ok(publish(st, &p, "out-2\n", "{\"r\":2}")));
	assert_file(p.out, "out-2\n");
	assert_file(p.rec, "{\"r\":2}");
	assert_int_equal(entries(p.dir), 2);
	sb_storage_free(st);
}

/* Issue 10.2: a second job whose write fails must not touch the first job's pair. */
static void test_failed_publish_keeps_earlier_pair(void **state)
{
	(void)state;
	struct sb_storage *st = storage();

	for (unsigned step = 1; step <= 5; step++) {
		struct pair p;
		char name[32];

		(void)snprintf(name, sizeof(name), "keep%u", step);
		pair_init(&p, name);
		assert_true(sb_ok(publish(st, &p, "earlier output\n", "{\"earlier\":true}")));
		sb_publish_test_fail(SB_PUBLISH_STEP(step));
		sb_result rc = publish(st, &p, "later output, longer than the earlier one\n",
				       "{\"later\":true}");
		sb_publish_test_fail(0);
		assert_int_equal(rc.code, SB_ERR_IO);
		assert_non_null(strstr(sb_error_detail(), "No space left on device"));
		assert_file(p.out, "earlier output\n");
		assert_file(p.rec, "{\"earlier\":true}");
		assert_int_equal(entries(p.dir), 2);
	}
	sb_storage_free(st);
}

/* No earlier pair: a failed publish leaves nothing, not a receipt alone. */
static void test_failed_publish_leaves_nothing(void **state)
{
	(void)state;
	struct sb_storage *st = storage();

	for (unsigned step = 1; step <= 5; step++) {
		struct pair p;
		char name[32];

		(void)snprintf(name, sizeof(name), "none%u", step);
		pair_init(&p, name);
		sb_publish_test_fail(SB_PUBLISH_STEP(step));
		sb_result rc = publish(st, &p, "out\n", "{}");
		sb_publish_test_fail(0);
		/* Step 3 (backup) cannot fail when there is no receipt to keep. */
		if (step == 3) {
			assert_true(sb_ok(rc));
			continue;
		}
		assert_int_equal(rc.code, SB_ERR_IO);
		assert_int_equal(entries(p.dir), 0);
	}
	sb_storage_free(st);
}

/* The output rename and then the restore fail: the old receipt is kept and named. */
static void test_failed_restore_keeps_backup(void **state)
{
	(void)state;
	struct sb_storage *st = storage();
	struct pair p;
	char bak[256];

	pair_init(&p, "restore");
	assert_true(sb_ok(publish(st, &p, "earlier output\n", "{\"earlier\":true}")));
	sb_publish_test_fail(SB_PUBLISH_STEP(5) | SB_PUBLISH_STEP(6));
	sb_result rc = publish(st, &p, "later\n", "{\"later\":true}");
	sb_publish_test_fail(0);
	assert_int_equal(rc.code, SB_ERR_IO);
	const char *kept = strstr(sb_error_detail(), "it is kept at ");
	assert_non_null(kept);
	(void)snprintf(bak, sizeof(bak), "%s", kept + strlen("it is kept at "));
	bak[strcspn(bak, ")")] = '\0';
	assert_file(bak, "{\"earlier\":true}");
	assert_file(p.out, "earlier output\n");
	sb_storage_free(st);
}

/* Issue 10.1: only a regular file or nothing is replaced; nothing written otherwise. */
static void test_refuses_non_regular(void **state)
{
	(void)state;
	struct sb_storage *st = storage();
	struct pair p;
	char target[200];
	struct stat sb;

	pair_init(&p, "special");
	/* A FIFO as output (stands for /dev/null, which the test may not replace). */
	assert_int_equal(mkfifo(p.out, 0600), 0);
	assert_int_equal(sb_publish_check(p.out_uri, p.rec_uri).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(publish(st, &p, "x\n", "{}").code, SB_ERR_NOT_REGULAR);
	assert_non_null(strstr(sb_error_detail(), p.out));
	assert_int_equal(lstat(p.out, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(access(p.rec, F_OK), -1);
	assert_int_equal(entries(p.dir), 1);
	assert_int_equal(sb_storage_put(st, p.out_uri, SB_SLICE_LIT("x")).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(unlink(p.out), 0);

	/* A symlink as output: neither it nor its target changes. */
	(void)snprintf(target, sizeof(target), "%s/target", p.dir);
	assert_true(sb_ok(sb_file_write_atomic(target, SB_SLICE_LIT("target\n"), 0600)));
	assert_int_equal(symlink(target, p.out), 0);
	assert_int_equal(publish(st, &p, "x\n", "{}").code, SB_ERR_NOT_REGULAR);
	assert_int_equal(lstat(p.out, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_file(target, "target\n");
	assert_int_equal(sb_storage_put(st, p.out_uri, SB_SLICE_LIT("x")).code, SB_ERR_NOT_REGULAR);
	assert_int_equal(unlink(p.out), 0);

	/* A directory as output; then a FIFO as the receipt beside a regular output. */
	assert_int_equal(mkdir(p.out, 0700), 0);
	assert_int_equal(publish(st, &p, "x\n", "{}").code, SB_ERR_NOT_REGULAR);
	assert_int_equal(rmdir(p.out), 0);
	assert_int_equal(mkfifo(p.rec, 0600), 0);
	assert_int_equal(publish(st, &p, "x\n", "{}").code, SB_ERR_NOT_REGULAR);
	assert_int_equal(access(p.out, F_OK), -1);
	assert_int_equal(unlink(p.rec), 0);
	assert_int_equal(entries(p.dir), 1); /* target */

	/* A device: /dev/null (never written: the check comes first). */
	assert_int_equal(sb_publish_check("file:///dev/null", "file:///dev/null.receipt").code,
			 SB_ERR_NOT_REGULAR);
	assert_int_equal(sb_publish_pair(st, "file:///dev/null", "file:///dev/null.receipt",
					 SB_SLICE_LIT("x"), SB_SLICE_LIT("{}"))
				 .code,
			 SB_ERR_NOT_REGULAR);
	assert_int_equal(stat("/dev/null", &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));
	assert_int_equal(access("/dev/null.receipt", F_OK), -1);
	assert_true(sb_ok(sb_publish_check("s3://bucket-x/out.csv", "s3://bucket-x/out.receipt")));
	assert_int_equal(sb_publish_pair(st, p.out_uri, "s3://bucket-x/out.receipt",
					 SB_SLICE_LIT("x"), SB_SLICE_LIT("{}"))
				 .code,
			 SB_ERR_INVALID_ARG);
	sb_storage_free(st);
}

static void s3_assert(struct sb_storage *st, const char *uri, const char *want)
{
	struct sb_buf got = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_storage_get(st, uri, &got)));
	assert_int_equal(got.len, strlen(want));
	assert_memory_equal(got.data, want, got.len);
	sb_buf_cleanup(&got);
}

static void test_s3_failed_output_restores_receipt(void **state)
{
	(void)state;
	struct sb_storage *st = storage();
	struct sb_s3_config cfg;
	struct sb_s3 *s3 = NULL;
	const char *out = "s3://sealbid-pub/job/output.csv", *rec = "s3://sealbid-pub/job/output.receipt";
	bool exists = true;

	sb_s3_config_default(&cfg);
	cfg.endpoint = g_endpoint;
	cfg.region = "us-east-1";
	cfg.creds = g_creds;
	assert_true(sb_ok(sb_s3_new(&cfg, &s3)));
	assert_true(sb_ok(sb_s3_create_bucket(s3, "sealbid-pub")));
	sb_s3_free(s3);

	/* No earlier pair: a failed output put removes the new receipt. */
	sb_publish_test_fail(SB_PUBLISH_STEP(2));
	assert_int_equal(sb_publish_pair(st, out, rec, SB_SLICE_LIT("o\n"), SB_SLICE_LIT("{}")).code,
			 SB_ERR_IO);
	sb_publish_test_fail(0);
	assert_true(sb_ok(sb_storage_exists(st, rec, &exists)));
	assert_false(exists);

	assert_true(sb_ok(sb_publish_pair(st, out, rec, SB_SLICE_LIT("earlier\n"),
					  SB_SLICE_LIT("{\"earlier\":true}"))));
	sb_publish_test_fail(SB_PUBLISH_STEP(2));
	assert_int_equal(sb_publish_pair(st, out, rec, SB_SLICE_LIT("later\n"),
					 SB_SLICE_LIT("{\"later\":true}"))
				 .code,
			 SB_ERR_IO);
	sb_publish_test_fail(0);
	s3_assert(st, out, "earlier\n");
	s3_assert(st, rec, "{\"earlier\":true}");

	/* And when putting it back fails too, the error says so. */
	sb_publish_test_fail(SB_PUBLISH_STEP(2) | SB_PUBLISH_STEP(3));
	assert_int_equal(sb_publish_pair(st, out, rec, SB_SLICE_LIT("later\n"),
					 SB_SLICE_LIT("{\"later\":true}"))
				 .code,
			 SB_ERR_IO);
	sb_publish_test_fail(0);
	assert_non_null(strstr(sb_error_detail(), "could not be put back"));
	sb_storage_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_publish),
		cmocka_unit_test(test_failed_publish_keeps_earlier_pair),
		cmocka_unit_test(test_failed_publish_leaves_nothing),
		cmocka_unit_test(test_failed_restore_keeps_backup),
		cmocka_unit_test(test_refuses_non_regular),
		cmocka_unit_test(test_s3_failed_output_restores_receipt),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
