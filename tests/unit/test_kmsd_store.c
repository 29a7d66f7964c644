/* Unit tests for src/kmsd/sb_kstore: the SQLite key store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kmsd/sb_kstore.h"

#define ID1 "11111111-1111-4111-8111-111111111111"
#define ID2 "22222222-2222-4222-8222-222222222222"
#define ID3 "33333333-3333-4333-8333-333333333333"

static char dir[] = "/tmp/sb_kstore_XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put_key(struct sb_kstore *s, const char *id, uint8_t fill, const char *policy)
{
	struct sb_kstore_key k;

	sb_kstore_key_init(&k);
	memcpy(k.id, id, sizeof(k.id));
	memset(k.material, fill, sizeof(k.material));
	k.creation_ms = 1700000000123ull;
	k.enabled = true;
	assert_true(sb_ok(sb_buf_append_str(&k.description, "desc")));
	assert_true(sb_ok(sb_buf_append_str(&k.policy, policy)));
	assert_true(sb_ok(sb_kstore_create_key(s, &k)));
	assert_int_equal(sb_kstore_create_key(s, &k).code, SB_ERR_KMS_ALREADY_EXISTS);
	sb_kstore_key_cleanup(&k);
}

struct seen {
	char names[8][300];
	size_t n;
};

static SB_RESULT visit(void *ctx, const char *a, const char *b, uint64_t ms)
{
	struct seen *s = ctx;
	(void)ms;
	(void)snprintf(s->names[s->n++], 300, "%s=%s", a, b != NULL ? b : "");
	return SB_OK_RESULT;
}

static void test_store_persists_across_reopen(void **state)
{
	struct sb_kstore *s = NULL;
	struct sb_kstore_key k;
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	struct seen seen = {.n = 0};
	bool more;
	struct stat st;
	char path[256];

	(void)state;
	assert_true(sb_ok(sb_kstore_open(dir, &s)));
	put_key(s, ID2, 0xb2, "{\"p\":2}");
	put_key(s, ID1, 0xa1, "{\"p\":1}");
	put_key(s, ID3, 0xc3, "{\"p\":3}");
	assert_true(sb_ok(sb_kstore_create_alias(s, "alias/buyer1", ID1, 5)));
	assert_int_equal(sb_kstore_create_alias(s, "alias/buyer1", ID2, 5).code,
			 SB_ERR_KMS_ALREADY_EXISTS);
	assert_int_equal(sb_kstore_create_alias(s, "alias/ghost", "44444444-4444-4444-8444-444444444444",
						5).code,
			 SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kstore_set_policy(s, ID2, SB_SLICE_LIT("{\"p\":22}"))));
	assert_int_equal(sb_kstore_set_policy(s, "44444444-4444-4444-8444-444444444444",
					      SB_SLICE_LIT("{}")).code,
			 SB_ERR_KMS_NOT_FOUND);
	sb_kstore_free(s);
	s = NULL;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, SB_KSTORE_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_true(sb_ok(sb_kstore_open(dir, &s)));
	sb_kstore_key_init(&k);
	assert_true(sb_ok(sb_kstore_get_key(s, ID2, &k)));
	assert_int_equal(k.material[0], 0xb2);
	assert_int_equal(k.material[31], 0xb2);
	assert_true(k.enabled);
	assert_int_equal(k.creation_ms, 1700000000123ull);
	assert_string_equal(sb_buf_cstr(&k.policy), "{\"p\":22}");
	assert_string_equal(sb_buf_cstr(&k.description), "desc");
	sb_kstore_key_cleanup(&k);
	sb_kstore_key_init(&k);
	assert_int_equal(sb_kstore_get_key(s, "44444444-4444-4444-8444-444444444444", &k).code,
			 SB_ERR_KMS_NOT_FOUND);
	assert_int_equal(sb_kstore_get_key(s, "short", &k).code, SB_ERR_KMS_NOT_FOUND);
	sb_kstore_key_cleanup(&k);
	assert_true(sb_ok(sb_kstore_resolve_alias(s, "alias/buyer1", id)));
	assert_string_equal(id, ID1);
	assert_int_equal(sb_kstore_resolve_alias(s, "alias/none", id).code, SB_ERR_KMS_NOT_FOUND);

	/* Listing pages in id order. */
	assert_true(sb_ok(sb_kstore_list_keys(s, NULL, 2, visit, &seen, &more)));
	assert_int_equal(seen.n, 2);
	assert_true(more);
	assert_string_equal(seen.names[0], ID1 "=");
	assert_true(sb_ok(sb_kstore_list_keys(s, ID2, 2, visit, &seen, &more)));
	assert_int_equal(seen.n, 3);
	assert_false(more);
	assert_string_equal(seen.names[2], ID3 "=");
	seen.n = 0;
	assert_true(sb_ok(sb_kstore_list_aliases(s, NULL, NULL, 10, visit, &seen, &more)));
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "alias/buyer1=" ID1);
	seen.n = 0;
	assert_true(sb_ok(sb_kstore_list_aliases(s, ID2, NULL, 10, visit, &seen, &more)));
	assert_int_equal(seen.n, 0);
	sb_kstore_free(s);
	sb_kstore_free(NULL);
}

static void test_open_errors(void **state)
{
	struct sb_kstore *s = NULL;
	(void)state;
	/* A data directory that cannot be created (under a file) is an I/O error. */
	assert_int_equal(sb_kstore_open("/dev/null/kms", &s).code, SB_ERR_IO);
	assert_null(s);
	/* A missing one is created, 0700. */
	char tmp[] = "/tmp/sb_kstore_XXXXXX", sub[64];
	struct stat st;
	assert_non_null(mkdtemp(tmp));
	snprintf(sub, sizeof(sub), "%s/a/b", tmp);
	assert_true(sb_ok(sb_kstore_open(sub, &s)));
	assert_int_equal(stat(sub, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	sb_kstore_free(s);
	s = NULL;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(sb_kstore_open(NULL, &s).code, SB_ERR_NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_persists_across_reopen),
		cmocka_unit_test(test_open_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
