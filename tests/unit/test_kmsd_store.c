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
#include <sqlite3.h>

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
	assert_true(sb_ok(sb_kstore_create_key(s, &k, NULL, 0)));
	assert_int_equal(sb_kstore_create_key(s, &k, NULL, 0).code, SB_ERR_KMS_ALREADY_EXISTS);
	sb_kstore_key_cleanup(&k);
}

struct seen {
	char names[64][300];
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

/* A fresh temporary directory for one test (caller removes it). */
static void fresh_dir(char out[64])
{
	snprintf(out, 64, "/tmp/sb_kstore_XXXXXX");
	assert_non_null(mkdtemp(out));
}

static void rm_dir(const char *d)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	assert_int_equal(system(cmd), 0);
}

static void sql_at(const char *d, const char *sql)
{
	char path[128];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/%s", d, SB_KSTORE_FILE);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

/* A store written before schema versioning (keys and aliases, user_version
 * 0) opens, migrates to the current version, and keeps its keys. */
static void test_migrates_unversioned_store(void **state)
{
	char d[64], id[SB_KBLOB_KEY_ID_LEN + 1];
	struct sb_kstore *s = NULL;
	struct sb_kstore_key k;
	struct sb_kstore_tag tag = {"team", "auction"};
	struct seen seen = {.n = 0};
	bool more;

	(void)state;
	fresh_dir(d);
	sql_at(d, "CREATE TABLE keys (id TEXT PRIMARY KEY NOT NULL, material BLOB NOT NULL,"
		  " creation_ms INTEGER NOT NULL, enabled INTEGER NOT NULL, description TEXT NOT"
		  " NULL, policy TEXT NOT NULL) WITHOUT ROWID;"
		  "CREATE TABLE aliases (name TEXT PRIMARY KEY NOT NULL, key_id TEXT NOT NULL"
		  " REFERENCES keys(id), creation_ms INTEGER NOT NULL) WITHOUT ROWID;"
		  "INSERT INTO keys VALUES ('" ID1 "', zeroblob(32), 7, 0, 'old', '{}');"
		  "INSERT INTO aliases VALUES ('alias/old', '" ID1 "', 8);");
	assert_true(sb_ok(sb_kstore_open(d, &s)));
	sb_kstore_key_init(&k);
	assert_true(sb_ok(sb_kstore_get_key(s, ID1, &k)));
	assert_false(k.enabled);
	assert_int_equal(k.deletion_ms, 0);
	assert_int_equal(k.creation_ms, 7);
	assert_string_equal(sb_buf_cstr(&k.description), "old");
	sb_kstore_key_cleanup(&k);
	assert_true(sb_ok(sb_kstore_resolve_alias(s, "alias/old", id)));
	/* The new tables are there. */
	assert_true(sb_ok(sb_kstore_tag(s, ID1, &tag, 1)));
	assert_true(sb_ok(sb_kstore_list_tags(s, ID1, NULL, 10, visit, &seen, &more)));
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "team=auction");
	sb_kstore_free(s);
	s = NULL;
	/* Reopening a current store migrates nothing and keeps everything. */
	assert_true(sb_ok(sb_kstore_open(d, &s)));
	seen.n = 0;
	assert_true(sb_ok(sb_kstore_list_tags(s, ID1, NULL, 10, visit, &seen, &more)));
	assert_int_equal(seen.n, 1);
	sb_kstore_free(s);
	s = NULL;
	/* A store from a newer server is refused, not misread. */
	sql_at(d, "PRAGMA user_version = 99;");
	assert_int_equal(sb_kstore_open(d, &s).code, SB_ERR_KMS_STORE_VERSION);
	assert_null(s);
	rm_dir(d);
}

static SB_RESULT grant_ids(void *ctx, const struct sb_kstore_grant *g)
{
	struct seen *s = ctx;
	(void)snprintf(s->names[s->n++], 300, "%s:%s:%s", g->id, g->grantee, g->operations);
	return SB_OK_RESULT;
}

static void test_state_tags_grants_purge(void **state)
{
	char d[64];
	struct sb_kstore *s = NULL;
	struct sb_kstore_key k;
	struct sb_kstore_tag tags[SB_KSTORE_MAX_TAGS + 1];
	char names[SB_KSTORE_MAX_TAGS + 1][8];
	const char *del[] = {"t0", "absent"};
	struct seen seen = {.n = 0};
	size_t purged = 9;
	bool more;

	(void)state;
	fresh_dir(d);
	assert_true(sb_ok(sb_kstore_open(d, &s)));
	put_key(s, ID1, 1, "{}");
	put_key(s, ID2, 2, "{}");
	assert_true(sb_ok(sb_kstore_create_alias(s, "alias/one", ID1, 1)));
	assert_true(sb_ok(sb_kstore_create_alias(s, "alias/two", ID2, 1)));
	/* State. */
	assert_true(sb_ok(sb_kstore_set_state(s, ID1, false, 5000, 7)));
	sb_kstore_key_init(&k);
	assert_true(sb_ok(sb_kstore_get_key(s, ID1, &k)));
	assert_false(k.enabled);
	assert_int_equal(k.deletion_ms, 5000);
	assert_int_equal(k.pending_days, 7);
	sb_kstore_key_cleanup(&k);
	assert_int_equal(sb_kstore_set_state(s, ID3, true, 0, 0).code, SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kstore_set_description(s, ID2, SB_SLICE_LIT("new"))));
	/* Tags: at most 50 per key, all or nothing. */
	for (size_t i = 0; i <= SB_KSTORE_MAX_TAGS; i++) {
		snprintf(names[i], sizeof(names[i]), "t%zu", i);
		tags[i] = (struct sb_kstore_tag){names[i], "v"};
	}
	assert_int_equal(sb_kstore_tag(s, ID1, tags, SB_KSTORE_MAX_TAGS + 1).code,
			 SB_ERR_KMS_LIMIT_EXCEEDED);
	assert_true(sb_ok(sb_kstore_list_tags(s, ID1, NULL, 100, visit, &seen, &more)));
	assert_int_equal(seen.n, 0);
	assert_true(sb_ok(sb_kstore_tag(s, ID1, tags, SB_KSTORE_MAX_TAGS)));
	assert_true(sb_ok(sb_kstore_untag(s, ID1, del, 2)));
	assert_true(sb_ok(sb_kstore_list_tags(s, ID1, NULL, 100, visit, &seen, &more)));
	assert_int_equal(seen.n, SB_KSTORE_MAX_TAGS - 1);
	/* Aliases move and go. */
	assert_true(sb_ok(sb_kstore_update_alias(s, "alias/two", ID1)));
	assert_int_equal(sb_kstore_update_alias(s, "alias/none", ID1).code, SB_ERR_KMS_NOT_FOUND);
	assert_int_equal(sb_kstore_update_alias(s, "alias/two", ID3).code, SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kstore_delete_alias(s, "alias/one")));
	assert_int_equal(sb_kstore_delete_alias(s, "alias/one").code, SB_ERR_KMS_NOT_FOUND);
	/* Grants, filtered. */
	struct sb_kstore_grant g = {"g1", ID1, "tok1", "", "arn:a", "", "[\"Decrypt\"]", "", 1};
	assert_true(sb_ok(sb_kstore_create_grant(s, &g)));
	g = (struct sb_kstore_grant){"g2", ID2, "tok2", "n", "arn:b", "arn:a", "[]", "{}", 2};
	assert_true(sb_ok(sb_kstore_create_grant(s, &g)));
	g.id = "g3";
	assert_int_equal(sb_kstore_create_grant(s, &g).code, SB_ERR_KMS_ALREADY_EXISTS);
	g = (struct sb_kstore_grant){"g4", ID3, "tok4", "", "arn:a", "", "[]", "", 2};
	assert_int_equal(sb_kstore_create_grant(s, &g).code, SB_ERR_KMS_NOT_FOUND);
	seen.n = 0;
	struct sb_kstore_grant_filter f = {.grantee = "arn:a"};
	assert_true(sb_ok(sb_kstore_list_grants(s, &f, NULL, 10, grant_ids, &seen, &more)));
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.names[0], "g1:arn:a:[\"Decrypt\"]");
	f = (struct sb_kstore_grant_filter){.token = "tok2"};
	assert_true(sb_ok(sb_kstore_list_grants(s, &f, NULL, 10, grant_ids, &seen, &more)));
	assert_int_equal(seen.n, 2);
	assert_int_equal(sb_kstore_delete_grant(s, ID1, "g2").code, SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kstore_delete_grant(s, ID2, "g2")));
	/* Purge: only keys whose date has come, with what hangs off them. */
	assert_true(sb_ok(sb_kstore_purge(s, 4999, &purged)));
	assert_int_equal(purged, 0);
	assert_true(sb_ok(sb_kstore_purge(s, 5000, &purged)));
	assert_int_equal(purged, 1);
	sb_kstore_key_init(&k);
	assert_int_equal(sb_kstore_get_key(s, ID1, &k).code, SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kstore_get_key(s, ID2, &k)));
	assert_string_equal(sb_buf_cstr(&k.description), "new");
	sb_kstore_key_cleanup(&k);
	seen.n = 0;
	assert_true(sb_ok(sb_kstore_list_aliases(s, NULL, NULL, 10, visit, &seen, &more)));
	assert_int_equal(seen.n, 0);
	f = (struct sb_kstore_grant_filter){0};
	assert_true(sb_ok(sb_kstore_list_grants(s, &f, NULL, 10, grant_ids, &seen, &more)));
	assert_int_equal(seen.n, 0);
	sb_kstore_free(s);
	rm_dir(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_persists_across_reopen),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_migrates_unversioned_store),
		cmocka_unit_test(test_state_tags_grants_purge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
