#include "kmsd/sb_kstore.h"

#include "common/sb_file.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sb_mem.h"

struct sb_kstore {
	sqlite3 *db;
	pthread_mutex_t lock;
	/* Decrypt reads a key on every call: its statement is compiled once
	 * (under lock, reset after each use). */
	sqlite3_stmt *get_key;
};

#define GET_KEY_SQL                                                                                \
	"SELECT material, creation_ms, enabled, description, policy, deletion_ms, pending_days"    \
	" FROM keys WHERE id = ?"

/*
 * Migrations: migrations[v] takes the schema from version v to v + 1. A
 * store made before versioning has user_version 0 but already holds the
 * version 1 tables (keys, aliases); it is told apart by its keys table.
 * Append only: a released step is never edited.
 */
static const char *const migrations[SB_KSTORE_SCHEMA_VERSION] = {
	/* 0 -> 1: keys and aliases. */
	"CREATE TABLE keys ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" material BLOB NOT NULL,"
	" creation_ms INTEGER NOT NULL,"
	" enabled INTEGER NOT NULL,"
	" description TEXT NOT NULL,"
	" policy TEXT NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE aliases ("
	" name TEXT PRIMARY KEY NOT NULL,"
	" key_id TEXT NOT NULL REFERENCES keys(id),"
	" creation_ms INTEGER NOT NULL) WITHOUT ROWID;",
	/* 1 -> 2: key deletion dates, tags, grants. */
	"ALTER TABLE keys ADD COLUMN deletion_ms INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE keys ADD COLUMN pending_days INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE tags ("
	" key_id TEXT NOT NULL REFERENCES keys(id),"
	" tag_key TEXT NOT NULL,"
	" tag_value TEXT NOT NULL,"
	" PRIMARY KEY (key_id, tag_key)) WITHOUT ROWID;"
	"CREATE TABLE grants ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" key_id TEXT NOT NULL REFERENCES keys(id),"
	" token TEXT NOT NULL UNIQUE,"
	" name TEXT NOT NULL,"
	" grantee TEXT NOT NULL,"
	" retiring TEXT NOT NULL,"
	" operations TEXT NOT NULL,"
	" constraints TEXT NOT NULL,"
	" creation_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX grants_by_key ON grants(key_id, grantee);",
};

void sb_kstore_key_init(struct sb_kstore_key *key)
{
	memset(key, 0, sizeof(*key));
	sb_buf_init(&key->description, SB_KSTORE_MAX_DESC);
	sb_buf_init(&key->policy, 32768);
}

void sb_kstore_key_cleanup(struct sb_kstore_key *key)
{
	if (key == NULL)
		return;
	sb_wipe(key->material, sizeof(key->material));
	sb_buf_cleanup(&key->description);
	sb_buf_cleanup(&key->policy);
}

/* The SQLite message is about the database, never about key contents. */
static sb_result db_error(struct sb_kstore *s, const char *what, const char *where)
{
	return sb_error_recordf(SB_ERR_KMS_STORE, where, "%s: %s", what, sqlite3_errmsg(s->db));
}

#define DB_BAIL(s, what) return db_error((s), (what), SB_HERE)

static SB_RESULT exec(struct sb_kstore *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		DB_BAIL(s, sql);
	return SB_OK_RESULT;
}

/* One integer from a single-row query. */
static SB_RESULT query_int(struct sb_kstore *s, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	sb_result rc = SB_OK_RESULT;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
		DB_BAIL(s, "prepare");
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		rc = db_error(s, sql, SB_HERE);
	sqlite3_finalize(st);
	return rc;
}

static SB_RESULT migrate_locked(struct sb_kstore *s)
{
	long long version = 0, legacy = 0;
	char sql[64];

	SB_GUARD(query_int(s, "PRAGMA user_version;", &version));
	SB_GUARD(query_int(s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
			      " name = 'keys';",
			   &legacy));
	if (version == 0 && legacy > 0)
		version = 1;
	SB_ENSURE_MSG(version >= 0 && version <= SB_KSTORE_SCHEMA_VERSION, SB_ERR_KMS_STORE_VERSION,
		      "key store schema version %lld is newer than this server's (%d)", version,
		      SB_KSTORE_SCHEMA_VERSION);
	for (long long v = version; v < SB_KSTORE_SCHEMA_VERSION; v++)
		SB_GUARD(exec(s, migrations[v]));
	(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", SB_KSTORE_SCHEMA_VERSION);
	return exec(s, sql);
}

static SB_RESULT configure(struct sb_kstore *s)
{
	sb_result rc;

	/* WAL + synchronous=FULL: a COMMIT is on disk (WAL fsynced) before it
	 * returns, which is what "no acknowledged write is lost" needs. */
	SB_GUARD(exec(s, "PRAGMA journal_mode=WAL;"));
	SB_GUARD(exec(s, "PRAGMA synchronous=FULL;"));
	SB_GUARD(exec(s, "PRAGMA foreign_keys=ON;"));
	SB_GUARD(exec(s, "PRAGMA busy_timeout=5000;"));
	/* The whole migration commits or none of it does. */
	SB_GUARD(exec(s, "BEGIN IMMEDIATE;"));
	rc = migrate_locked(s);
	if (sb_ok(rc))
		return exec(s, "COMMIT;");
	(void)sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
	return rc;
}

SB_RESULT sb_kstore_open(const char *dir, struct sb_kstore **out)
{
	struct sb_kstore *s = NULL;
	char path[4096];
	sb_result rc = SB_OK_RESULT;
	int fd, n;

	SB_ENSURE_REF(dir);
	SB_ENSURE_REF(out);
	n = snprintf(path, sizeof(path), "%s/%s", dir, SB_KSTORE_FILE);
	SB_ENSURE(n > 0 && (size_t)n < sizeof(path), SB_ERR_TOO_LARGE);
	/* The data directory is ours: create it (0700) when it is missing. */
	SB_GUARD(sb_mkdir_p(dir, 0700));
	/* Create the file 0600 ourselves: SQLite would use the umask. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_IO, "cannot open the key store in %s", dir);
	close(fd);
	SB_GUARD(sb_calloc(1, sizeof(*s), (void **)&s));
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) !=
	    SQLITE_OK)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_STORE, out, "cannot open %s", path);
	SB_GUARD_GOTO(rc, configure(s), out);
	if (sqlite3_prepare_v3(s->db, GET_KEY_SQL, -1, SQLITE_PREPARE_PERSISTENT, &s->get_key,
			       NULL) != SQLITE_OK)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_STORE, out, "prepare: %s", sqlite3_errmsg(s->db));
	*out = s;
	s = NULL;
out:
	sb_kstore_free(s);
	return rc;
}

void sb_kstore_free(struct sb_kstore *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->get_key);
	if (s->db != NULL)
		sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static SB_RESULT prepare(struct sb_kstore *s, const char *sql, sqlite3_stmt **st)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK)
		DB_BAIL(s, "prepare");
	return SB_OK_RESULT;
}

static SB_RESULT bind_text(struct sb_kstore *s, sqlite3_stmt *st, int i, struct sb_slice v)
{
	SB_ENSURE(v.len <= INT32_MAX, SB_ERR_TOO_LARGE);
	if (sqlite3_bind_text(st, i, v.len ? (const char *)v.ptr : "", (int)v.len,
			      SQLITE_TRANSIENT) != SQLITE_OK)
		DB_BAIL(s, "bind");
	return SB_OK_RESULT;
}

/* Runs a single-statement write in its own transaction; maps constraints. */
static SB_RESULT step_write(struct sb_kstore *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_CONSTRAINT) {
		int ext = sqlite3_extended_errcode(s->db);
		if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
			SB_BAIL(SB_ERR_KMS_NOT_FOUND);
		SB_BAIL(SB_ERR_KMS_ALREADY_EXISTS);
	}
	if (rc != SQLITE_DONE)
		DB_BAIL(s, "write");
	return SB_OK_RESULT;
}

static SB_RESULT create_key_locked(struct sb_kstore *s, const struct sb_kstore_key *k)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_GUARD(prepare(s,
			 "INSERT INTO keys (id, material, creation_ms, enabled, description,"
			 " policy) VALUES (?, ?, ?, ?, ?, ?)",
			 &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(k->id)), out);
	/* SQLITE_TRANSIENT copies; the copy lives in SQLite's page cache. */
	if (sqlite3_bind_blob(st, 2, k->material, sizeof(k->material), SQLITE_TRANSIENT) !=
		    SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)k->creation_ms) != SQLITE_OK ||
	    sqlite3_bind_int(st, 4, k->enabled ? 1 : 0) != SQLITE_OK)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_STORE, out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 5, sb_buf_slice(&k->description)), out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 6, sb_buf_slice(&k->policy)), out);
	rc = step_write(s, st);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Runs fn(s, ctx) in one write transaction (called with the lock held). */
static SB_RESULT in_tx(struct sb_kstore *s, SB_RESULT (*fn)(struct sb_kstore *, void *), void *ctx)
{
	sb_result rc;

	SB_GUARD(exec(s, "BEGIN IMMEDIATE;"));
	rc = fn(s, ctx);
	if (sb_ok(rc))
		return exec(s, "COMMIT;");
	(void)sqlite3_exec(s->db, "ROLLBACK;", NULL, NULL, NULL);
	return rc;
}

static SB_RESULT put_tag_locked(struct sb_kstore *s, const char *id, const struct sb_kstore_tag *t)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_GUARD(prepare(s,
			 "INSERT INTO tags (key_id, tag_key, tag_value) VALUES (?, ?, ?)"
			 " ON CONFLICT (key_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
			 &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(id)), out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 2, sb_slice_str(t->key)), out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 3, sb_slice_str(t->value)), out);
	rc = step_write(s, st);
out:
	sqlite3_finalize(st);
	return rc;
}

struct tag_args {
	const char *id;
	const struct sb_kstore_tag *tags;
	size_t n;
	const struct sb_kstore_key *key; /* CreateKey only */
};

static SB_RESULT tags_locked(struct sb_kstore *s, void *vctx)
{
	const struct tag_args *a = vctx;
	sqlite3_stmt *st = NULL;
	long long count = 0;
	sb_result rc = SB_OK_RESULT;

	if (a->key != NULL)
		SB_GUARD(create_key_locked(s, a->key));
	for (size_t i = 0; i < a->n; i++)
		SB_GUARD(put_tag_locked(s, a->id, &a->tags[i]));
	SB_GUARD(prepare(s, "SELECT count(*) FROM tags WHERE key_id = ?", &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(a->id)), out);
	if (sqlite3_step(st) != SQLITE_ROW)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_STORE, out, "count: %s", sqlite3_errmsg(s->db));
	count = sqlite3_column_int64(st, 0);
	if (count > SB_KSTORE_MAX_TAGS)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_LIMIT_EXCEEDED, out,
				 "a key can have at most %d tags", SB_KSTORE_MAX_TAGS);
out:
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_create_key(struct sb_kstore *s, const struct sb_kstore_key *k,
			       const struct sb_kstore_tag *tags, size_t n_tags)
{
	struct tag_args a = {k != NULL ? k->id : NULL, tags, n_tags, k};
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(k);
	SB_ENSURE(n_tags == 0 || tags != NULL, SB_ERR_INVALID_ARG);
	pthread_mutex_lock(&s->lock);
	/* The key and its tags in one transaction: its COMMIT (and the fsync
	 * synchronous=FULL asks for) happens before this returns. */
	rc = in_tx(s, tags_locked, &a);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

SB_RESULT sb_kstore_tag(struct sb_kstore *s, const char *id, const struct sb_kstore_tag *tags,
			size_t n)
{
	struct tag_args a = {id, tags, n, NULL};
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	SB_ENSURE(n == 0 || tags != NULL, SB_ERR_INVALID_ARG);
	pthread_mutex_lock(&s->lock);
	rc = in_tx(s, tags_locked, &a);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

struct untag_args {
	const char *id;
	const char *const *keys;
	size_t n;
};

static SB_RESULT untag_locked(struct sb_kstore *s, void *vctx)
{
	const struct untag_args *a = vctx;

	for (size_t i = 0; i < a->n; i++) {
		sqlite3_stmt *st = NULL;
		sb_result rc;
		SB_GUARD(prepare(s, "DELETE FROM tags WHERE key_id = ? AND tag_key = ?", &st));
		rc = bind_text(s, st, 1, sb_slice_str(a->id));
		if (sb_ok(rc))
			rc = bind_text(s, st, 2, sb_slice_str(a->keys[i]));
		if (sb_ok(rc))
			rc = step_write(s, st);
		sqlite3_finalize(st);
		SB_GUARD(rc);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_kstore_untag(struct sb_kstore *s, const char *id, const char *const *keys, size_t n)
{
	struct untag_args a = {id, keys, n};
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	SB_ENSURE(n == 0 || keys != NULL, SB_ERR_INVALID_ARG);
	pthread_mutex_lock(&s->lock);
	rc = in_tx(s, untag_locked, &a);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* One UPDATE/DELETE with text parameters; SB_ERR_KMS_NOT_FOUND when it
 * changed no row. Takes the lock. */
static SB_RESULT write_one(struct sb_kstore *s, const char *sql, const char *const *params,
			   size_t n)
{
	sqlite3_stmt *st = NULL;
	sb_result rc = SB_OK_RESULT;

	pthread_mutex_lock(&s->lock);
	rc = prepare(s, sql, &st);
	for (size_t i = 0; sb_ok(rc) && i < n; i++)
		rc = bind_text(s, st, (int)i + 1, sb_slice_str(params[i]));
	if (sb_ok(rc))
		rc = step_write(s, st);
	if (sb_ok(rc) && sqlite3_changes(s->db) != 1)
		rc = sb_error_record(SB_ERR_KMS_NOT_FOUND, SB_HERE);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static SB_RESULT set_state_locked(struct sb_kstore *s, const char *id, bool enabled,
				 uint64_t deletion_ms, unsigned pending_days)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_GUARD(prepare(s,
			 "UPDATE keys SET enabled = ?, deletion_ms = ?, pending_days = ? WHERE id = ?",
			 &st));
	if (sqlite3_bind_int(st, 1, enabled ? 1 : 0) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, (sqlite3_int64)deletion_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)pending_days) != SQLITE_OK)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_STORE, out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 4, sb_slice_str(id)), out);
	SB_GUARD_GOTO(rc, step_write(s, st), out);
	if (sqlite3_changes(s->db) != 1)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_NOT_FOUND, out);
out:
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_set_state(struct sb_kstore *s, const char *id, bool enabled,
			      uint64_t deletion_ms, unsigned pending_days)
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	pthread_mutex_lock(&s->lock);
	rc = set_state_locked(s, id, enabled, deletion_ms, pending_days);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

SB_RESULT sb_kstore_set_description(struct sb_kstore *s, const char *id,
				    struct sb_slice description)
{
	SB_DEFER(struct sb_buf d, sb_buf_cleanup) = SB_BUF_INIT(SB_KSTORE_MAX_DESC);
	const char *params[2];

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	SB_GUARD(sb_buf_append_slice(&d, description));
	params[0] = sb_buf_cstr(&d);
	params[1] = id;
	return write_one(s, "UPDATE keys SET description = ? WHERE id = ?", params, 2);
}

SB_RESULT sb_kstore_delete_alias(struct sb_kstore *s, const char *alias)
{
	SB_ENSURE_REF(s);
	SB_ENSURE_REF(alias);
	return write_one(s, "DELETE FROM aliases WHERE name = ?", &alias, 1);
}

SB_RESULT sb_kstore_update_alias(struct sb_kstore *s, const char *alias, const char *key_id)
{
	const char *params[] = {key_id, alias};

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(alias);
	SB_ENSURE_REF(key_id);
	return write_one(s, "UPDATE aliases SET key_id = ? WHERE name = ?", params, 2);
}

SB_RESULT sb_kstore_delete_grant(struct sb_kstore *s, const char *key_id, const char *id)
{
	const char *params[] = {key_id, id};

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(key_id);
	SB_ENSURE_REF(id);
	return write_one(s, "DELETE FROM grants WHERE key_id = ? AND id = ?", params, 2);
}

struct purge_args {
	uint64_t now_ms;
	size_t n;
};

static SB_RESULT purge_locked(struct sb_kstore *s, void *vctx)
{
	static const char *const sql[] = {
		"DELETE FROM aliases WHERE key_id IN (SELECT id FROM keys WHERE deletion_ms != 0"
		" AND deletion_ms <= ?1)",
		"DELETE FROM tags WHERE key_id IN (SELECT id FROM keys WHERE deletion_ms != 0"
		" AND deletion_ms <= ?1)",
		"DELETE FROM grants WHERE key_id IN (SELECT id FROM keys WHERE deletion_ms != 0"
		" AND deletion_ms <= ?1)",
		"DELETE FROM keys WHERE deletion_ms != 0 AND deletion_ms <= ?1",
	};
	struct purge_args *a = vctx;

	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = NULL;
		sb_result rc = prepare(s, sql[i], &st);
		if (sb_ok(rc) && sqlite3_bind_int64(st, 1, (sqlite3_int64)a->now_ms) != SQLITE_OK)
			rc = db_error(s, "bind", SB_HERE);
		if (sb_ok(rc))
			rc = step_write(s, st);
		sqlite3_finalize(st);
		SB_GUARD(rc);
	}
	a->n = (size_t)sqlite3_changes(s->db);
	return SB_OK_RESULT;
}

SB_RESULT sb_kstore_purge(struct sb_kstore *s, uint64_t now_ms, size_t *out_n)
{
	struct purge_args a = {now_ms, 0};
	long long due = 0;
	sb_result rc;
	char sql[128];

	SB_ENSURE_REF(s);
	(void)snprintf(sql, sizeof(sql),
		       "SELECT count(*) FROM keys WHERE deletion_ms != 0 AND deletion_ms <= %llu",
		       (unsigned long long)now_ms);
	pthread_mutex_lock(&s->lock);
	/* Read first: the common case (nothing due) writes nothing. */
	rc = query_int(s, sql, &due);
	if (sb_ok(rc) && due > 0)
		rc = in_tx(s, purge_locked, &a);
	pthread_mutex_unlock(&s->lock);
	if (out_n != NULL)
		*out_n = a.n;
	return rc;
}

static SB_RESULT copy_text_col(sqlite3_stmt *st, int col, struct sb_buf *out)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);

	sb_buf_reset(out);
	return sb_buf_append(out, t != NULL ? t : (const unsigned char *)"", (size_t)(n > 0 ? n : 0));
}

static SB_RESULT get_key_locked(struct sb_kstore *s, const char *id, struct sb_kstore_key *k)
{
	sqlite3_stmt *st = s->get_key;
	sb_result rc = SB_OK_RESULT;
	int step;

	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(id)), out);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_NOT_FOUND, out);
	if (step != SQLITE_ROW)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_STORE, out, "read: %s", sqlite3_errmsg(s->db));
	if (sqlite3_column_bytes(st, 0) != SB_AES256_KEY_LEN)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_STORE, out, "key %s has damaged material", id);
	memcpy(k->material, sqlite3_column_blob(st, 0), SB_AES256_KEY_LEN);
	(void)snprintf(k->id, sizeof(k->id), "%s", id);
	k->creation_ms = (uint64_t)sqlite3_column_int64(st, 1);
	k->enabled = sqlite3_column_int(st, 2) != 0;
	k->deletion_ms = (uint64_t)sqlite3_column_int64(st, 5);
	k->pending_days = (unsigned)sqlite3_column_int(st, 6);
	SB_GUARD_GOTO(rc, copy_text_col(st, 3, &k->description), out);
	SB_GUARD_GOTO(rc, copy_text_col(st, 4, &k->policy), out);
out:
	/* Ends the read transaction and lets go of the row (and its material). */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	return rc;
}

SB_RESULT sb_kstore_get_key(struct sb_kstore *s, const char *id, struct sb_kstore_key *k)
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	SB_ENSURE_REF(k);
	SB_ENSURE(strlen(id) == SB_KBLOB_KEY_ID_LEN, SB_ERR_KMS_NOT_FOUND);
	pthread_mutex_lock(&s->lock);
	rc = get_key_locked(s, id, k);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static SB_RESULT set_policy_locked(struct sb_kstore *s, const char *id, struct sb_slice policy)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_GUARD(prepare(s, "UPDATE keys SET policy = ? WHERE id = ?", &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, policy), out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 2, sb_slice_str(id)), out);
	SB_GUARD_GOTO(rc, step_write(s, st), out);
	if (sqlite3_changes(s->db) != 1)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_NOT_FOUND, out);
out:
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_set_policy(struct sb_kstore *s, const char *id, struct sb_slice policy)
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	pthread_mutex_lock(&s->lock);
	rc = set_policy_locked(s, id, policy);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static SB_RESULT resolve_locked(struct sb_kstore *s, const char *alias,
				char out[SB_KBLOB_KEY_ID_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	sb_result rc = SB_OK_RESULT;
	int step;

	SB_GUARD(prepare(s, "SELECT key_id FROM aliases WHERE name = ?", &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(alias)), out);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_NOT_FOUND, out);
	if (step != SQLITE_ROW || sqlite3_column_bytes(st, 0) != SB_KBLOB_KEY_ID_LEN)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_STORE, out);
	memcpy(out, sqlite3_column_text(st, 0), SB_KBLOB_KEY_ID_LEN);
	out[SB_KBLOB_KEY_ID_LEN] = '\0';
out:
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_resolve_alias(struct sb_kstore *s, const char *alias,
				  char out[SB_KBLOB_KEY_ID_LEN + 1])
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(alias);
	SB_ENSURE_REF(out);
	pthread_mutex_lock(&s->lock);
	rc = resolve_locked(s, alias, out);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static SB_RESULT create_alias_locked(struct sb_kstore *s, const char *alias, const char *key_id,
				     uint64_t ms)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_GUARD(prepare(s, "INSERT INTO aliases (name, key_id, creation_ms) VALUES (?, ?, ?)",
			 &st));
	SB_GUARD_GOTO(rc, bind_text(s, st, 1, sb_slice_str(alias)), out);
	SB_GUARD_GOTO(rc, bind_text(s, st, 2, sb_slice_str(key_id)), out);
	if (sqlite3_bind_int64(st, 3, (sqlite3_int64)ms) != SQLITE_OK)
		SB_FAIL_GOTO(rc, SB_ERR_KMS_STORE, out);
	rc = step_write(s, st);
out:
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_create_alias(struct sb_kstore *s, const char *alias, const char *key_id,
				 uint64_t creation_ms)
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(alias);
	SB_ENSURE_REF(key_id);
	pthread_mutex_lock(&s->lock);
	rc = create_alias_locked(s, alias, key_id, creation_ms);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Runs a listing query whose last two parameters are `after` and limit+1. */
static SB_RESULT list_locked(struct sb_kstore *s, sqlite3_stmt *st, int first_param,
			     const char *after, size_t limit, sb_kstore_visit_fn fn, void *ctx,
			     bool *out_more)
{
	size_t seen = 0;
	int step;

	SB_GUARD(bind_text(s, st, first_param, sb_slice_str(after != NULL ? after : "")));
	if (sqlite3_bind_int64(st, first_param + 1, (sqlite3_int64)limit + 1) != SQLITE_OK)
		DB_BAIL(s, "bind");
	*out_more = false;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (seen++ == limit) {
			*out_more = true;
			break;
		}
		const char *a = (const char *)sqlite3_column_text(st, 0);
		const char *b = (const char *)sqlite3_column_text(st, 1);
		SB_GUARD(fn(ctx, a != NULL ? a : "", b, (uint64_t)sqlite3_column_int64(st, 2)));
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		DB_BAIL(s, "list");
	return SB_OK_RESULT;
}

SB_RESULT sb_kstore_list_keys(struct sb_kstore *s, const char *after, size_t limit,
			      sb_kstore_visit_fn fn, void *ctx, bool *out_more)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(fn);
	SB_ENSURE_REF(out_more);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT id, NULL, creation_ms FROM keys WHERE id > ? ORDER BY id LIMIT ?",
		     &st);
	if (sb_ok(rc))
		rc = list_locked(s, st, 1, after, limit, fn, ctx, out_more);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

SB_RESULT sb_kstore_list_aliases(struct sb_kstore *s, const char *key_id, const char *after,
				 size_t limit, sb_kstore_visit_fn fn, void *ctx, bool *out_more)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(fn);
	SB_ENSURE_REF(out_more);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT name, key_id, creation_ms FROM aliases WHERE (?1 = '' OR key_id = ?1)"
		     " AND name > ?2 ORDER BY name LIMIT ?3",
		     &st);
	if (sb_ok(rc))
		rc = bind_text(s, st, 1, sb_slice_str(key_id != NULL ? key_id : ""));
	if (sb_ok(rc))
		rc = list_locked(s, st, 2, after, limit, fn, ctx, out_more);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

SB_RESULT sb_kstore_list_tags(struct sb_kstore *s, const char *id, const char *after, size_t limit,
			      sb_kstore_visit_fn fn, void *ctx, bool *out_more)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(id);
	SB_ENSURE_REF(fn);
	SB_ENSURE_REF(out_more);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT tag_key, tag_value, 0 FROM tags WHERE key_id = ?1 AND tag_key > ?2"
		     " ORDER BY tag_key LIMIT ?3",
		     &st);
	if (sb_ok(rc))
		rc = bind_text(s, st, 1, sb_slice_str(id));
	if (sb_ok(rc))
		rc = list_locked(s, st, 2, after, limit, fn, ctx, out_more);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static SB_RESULT create_grant_locked(struct sb_kstore *s, const struct sb_kstore_grant *g)
{
	const char *text[] = {g->id,	    g->key_id,	   g->token,	  g->name,
			      g->grantee, g->retiring, g->operations, g->constraints};
	sqlite3_stmt *st = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_GUARD(prepare(s,
			 "INSERT INTO grants (id, key_id, token, name, grantee, retiring, operations,"
			 " constraints, creation_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 &st));
	for (size_t i = 0; sb_ok(rc) && i < sizeof(text) / sizeof(text[0]); i++)
		rc = bind_text(s, st, (int)i + 1, sb_slice_str(text[i] != NULL ? text[i] : ""));
	if (sb_ok(rc) && sqlite3_bind_int64(st, 9, (sqlite3_int64)g->creation_ms) != SQLITE_OK)
		rc = db_error(s, "bind", SB_HERE);
	if (sb_ok(rc))
		rc = step_write(s, st);
	sqlite3_finalize(st);
	return rc;
}

SB_RESULT sb_kstore_create_grant(struct sb_kstore *s, const struct sb_kstore_grant *g)
{
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(g);
	SB_ENSURE(g->id != NULL && g->key_id != NULL && g->token != NULL, SB_ERR_INVALID_ARG);
	pthread_mutex_lock(&s->lock);
	rc = create_grant_locked(s, g);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int col)
{
	const char *t = (const char *)sqlite3_column_text(st, col);
	return t != NULL ? t : "";
}

static SB_RESULT list_grants_locked(struct sb_kstore *s, sqlite3_stmt *st,
				    const struct sb_kstore_grant_filter *f, const char *after,
				    size_t limit, sb_kstore_grant_fn fn, void *ctx, bool *out_more)
{
	const char *params[] = {f->key_id, f->id, f->grantee, f->token, after};
	size_t seen = 0;
	int step;

	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		SB_GUARD(bind_text(s, st, (int)i + 1,
				   sb_slice_str(params[i] != NULL ? params[i] : "")));
	if (sqlite3_bind_int64(st, 6, (sqlite3_int64)limit + 1) != SQLITE_OK)
		DB_BAIL(s, "bind");
	*out_more = false;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (seen++ == limit) {
			*out_more = true;
			break;
		}
		struct sb_kstore_grant g = {
			.id = col_text(st, 0),
			.key_id = col_text(st, 1),
			.token = col_text(st, 2),
			.name = col_text(st, 3),
			.grantee = col_text(st, 4),
			.retiring = col_text(st, 5),
			.operations = col_text(st, 6),
			.constraints = col_text(st, 7),
			.creation_ms = (uint64_t)sqlite3_column_int64(st, 8),
		};
		SB_GUARD(fn(ctx, &g));
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		DB_BAIL(s, "list grants");
	return SB_OK_RESULT;
}

SB_RESULT sb_kstore_list_grants(struct sb_kstore *s, const struct sb_kstore_grant_filter *f,
				const char *after, size_t limit, sb_kstore_grant_fn fn, void *ctx,
				bool *out_more)
{
	sqlite3_stmt *st = NULL;
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(f);
	SB_ENSURE_REF(fn);
	SB_ENSURE_REF(out_more);
	pthread_mutex_lock(&s->lock);
	rc = prepare(s,
		     "SELECT id, key_id, token, name, grantee, retiring, operations, constraints,"
		     " creation_ms FROM grants WHERE (?1 = '' OR key_id = ?1) AND (?2 = '' OR id = ?2)"
		     " AND (?3 = '' OR grantee = ?3) AND (?4 = '' OR token = ?4) AND id > ?5"
		     " ORDER BY id LIMIT ?6",
		     &st);
	if (sb_ok(rc))
		rc = list_grants_locked(s, st, f, after, limit, fn, ctx, out_more);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return rc;
}
