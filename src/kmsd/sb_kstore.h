/*
 * The sealbid-kms key store: keys (material, metadata, state, policy),
 * aliases, tags and grants in SQLite, in `<dir>/kms.sqlite3`.
 *
 * Schema: PRAGMA user_version holds SB_KSTORE_SCHEMA_VERSION. Opening a
 * store of an older version migrates it in one transaction (a store made
 * before versioning, with keys and aliases only, is version 1); a newer
 * version is refused (SB_ERR_KMS_STORE_VERSION) rather than misread.
 *
 * Durability: WAL journal, synchronous=FULL, one transaction per write. A
 * write function returns only after its COMMIT, and the server answers a
 * request only after that, so a kill -9 at any moment loses no acknowledged
 * key, alias or policy.
 *
 * Concurrency: one connection guarded by a mutex; every function is safe to
 * call from several threads.
 *
 * Key material is a secret: the struct that carries it is wiped by
 * sb_kstore_key_cleanup, and the database file is created 0600.
 */
#ifndef SB_KSTORE_H
#define SB_KSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_aead.h"
#include "kmsd/sb_kblob.h"

#define SB_KSTORE_FILE          "kms.sqlite3"
#define SB_KSTORE_MAX_DESC      8192
#define SB_KSTORE_MAX_ALIAS_LEN 256
#define SB_KSTORE_SCHEMA_VERSION 2
/* "Tags ... Maximum of 50 items"; TagKey 1..128, TagValue 0..256 characters. */
#define SB_KSTORE_MAX_TAGS      50
#define SB_KSTORE_MAX_TAG_KEY   128
#define SB_KSTORE_MAX_TAG_VALUE 256

/* One key. Caller storage: fill to create, or _init/get/_cleanup to read. */
struct sb_kstore_key {
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	uint8_t material[SB_AES256_KEY_LEN]; /* secret */
	uint64_t creation_ms;
	bool enabled;
	/* PendingDeletion when deletion_ms != 0 (enabled is then false): the key
	 * is deleted at deletion_ms, pending_days after it was scheduled. */
	uint64_t deletion_ms;
	unsigned pending_days;
	struct sb_buf description;
	struct sb_buf policy; /* the key policy JSON text */
};

void sb_kstore_key_init(struct sb_kstore_key *key);
/* Wipes the material and frees the buffers. NULL-safe. */
void sb_kstore_key_cleanup(struct sb_kstore_key *key);

struct sb_kstore;

/* Opens (creating if needed) the store in dir, which must exist. Caller frees. */
SB_RESULT sb_kstore_open(const char *dir, struct sb_kstore **out);
void sb_kstore_free(struct sb_kstore *store);

/* A tag, borrowed. */
struct sb_kstore_tag {
	const char *key;
	const char *value;
};

/* Inserts a new key and its tags in one transaction (borrows both).
 * SB_ERR_KMS_ALREADY_EXISTS for a taken id. */
SB_RESULT sb_kstore_create_key(struct sb_kstore *store, const struct sb_kstore_key *key,
			       const struct sb_kstore_tag *tags, size_t n_tags);
/* Reads a key by id into key (initialised). SB_ERR_KMS_NOT_FOUND if absent. */
SB_RESULT sb_kstore_get_key(struct sb_kstore *store, const char *id, struct sb_kstore_key *key);
/* Replaces a key's policy. SB_ERR_KMS_NOT_FOUND if the key is absent. */
SB_RESULT sb_kstore_set_policy(struct sb_kstore *store, const char *id, struct sb_slice policy);

/* Sets enabled / deletion_ms / pending_days. SB_ERR_KMS_NOT_FOUND if absent. */
SB_RESULT sb_kstore_set_state(struct sb_kstore *store, const char *id, bool enabled,
			      uint64_t deletion_ms, unsigned pending_days);
SB_RESULT sb_kstore_set_description(struct sb_kstore *store, const char *id,
				    struct sb_slice description);
/* Deletes every key whose deletion date is <= now_ms, with its aliases, tags
 * and grants, in one transaction; *out_n (may be NULL) counts the keys. */
SB_RESULT sb_kstore_purge(struct sb_kstore *store, uint64_t now_ms, size_t *out_n);

/* "alias/name" -> key id. SB_ERR_KMS_NOT_FOUND if absent. */
SB_RESULT sb_kstore_resolve_alias(struct sb_kstore *store, const char *alias,
				  char out[SB_KBLOB_KEY_ID_LEN + 1]);
/* SB_ERR_KMS_ALREADY_EXISTS if the alias exists, NOT_FOUND if the key does not. */
SB_RESULT sb_kstore_create_alias(struct sb_kstore *store, const char *alias, const char *key_id,
				 uint64_t creation_ms);

/* SB_ERR_KMS_NOT_FOUND if the alias (or, for update, the key) does not exist. */
SB_RESULT sb_kstore_delete_alias(struct sb_kstore *store, const char *alias);
SB_RESULT sb_kstore_update_alias(struct sb_kstore *store, const char *alias, const char *key_id);

/* Adds or replaces tags (one transaction); SB_ERR_KMS_LIMIT_EXCEEDED when the
 * key would have more than SB_KSTORE_MAX_TAGS, and nothing is changed. */
SB_RESULT sb_kstore_tag(struct sb_kstore *store, const char *id, const struct sb_kstore_tag *tags,
			size_t n);
/* Removes the named tags (absent ones are ignored, as in KMS). */
SB_RESULT sb_kstore_untag(struct sb_kstore *store, const char *id, const char *const *keys,
			  size_t n);

/* A grant: every string borrowed (from the caller to create, from the store
 * for the duration of a visit). operations is a JSON array of operation
 * names, constraints a JSON object or "". */
struct sb_kstore_grant {
	const char *id, *key_id, *token, *name, *grantee, *retiring;
	const char *operations, *constraints;
	uint64_t creation_ms;
};
/* Which grants to visit: NULL fields match anything. */
struct sb_kstore_grant_filter {
	const char *key_id, *id, *grantee, *token;
};
typedef SB_RESULT (*sb_kstore_grant_fn)(void *ctx, const struct sb_kstore_grant *g);

/* SB_ERR_KMS_NOT_FOUND if the key does not exist. */
SB_RESULT sb_kstore_create_grant(struct sb_kstore *store, const struct sb_kstore_grant *g);
/* SB_ERR_KMS_NOT_FOUND if no such grant on that key. */
SB_RESULT sb_kstore_delete_grant(struct sb_kstore *store, const char *key_id, const char *id);
/* Visits matching grants in id order after `after` (exclusive, NULL = start). */
SB_RESULT sb_kstore_list_grants(struct sb_kstore *store, const struct sb_kstore_grant_filter *f,
				const char *after, size_t limit, sb_kstore_grant_fn fn, void *ctx,
				bool *out_more);

/*
 * Visits keys in id order (a = id, b = NULL) or aliases in name order
 * (a = alias, b = key id), at most `limit` entries after `after` (exclusive;
 * NULL for the start). The visitor borrows its strings for the call only.
 * *out_more is set when entries remain.
 */
typedef SB_RESULT (*sb_kstore_visit_fn)(void *ctx, const char *a, const char *b, uint64_t ms);
SB_RESULT sb_kstore_list_keys(struct sb_kstore *store, const char *after, size_t limit,
			      sb_kstore_visit_fn fn, void *ctx, bool *out_more);
SB_RESULT sb_kstore_list_aliases(struct sb_kstore *store, const char *key_id, const char *after,
				 size_t limit, sb_kstore_visit_fn fn, void *ctx, bool *out_more);
/* Tags of a key in tag-key order (a = tag key, b = value, ms = 0). */
SB_RESULT sb_kstore_list_tags(struct sb_kstore *store, const char *id, const char *after,
			      size_t limit, sb_kstore_visit_fn fn, void *ctx, bool *out_more);

#endif
