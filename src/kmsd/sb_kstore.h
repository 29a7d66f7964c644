/*
 * The sealbid-kms key store: keys (material, metadata, policy) and aliases
 * in SQLite, in `<dir>/kms.sqlite3`.
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

/* One key. Caller storage: fill to create, or _init/get/_cleanup to read. */
struct sb_kstore_key {
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	uint8_t material[SB_AES256_KEY_LEN]; /* secret */
	uint64_t creation_ms;
	bool enabled;
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

/* Inserts a new key (borrows key). SB_ERR_KMS_ALREADY_EXISTS for a taken id. */
SB_RESULT sb_kstore_create_key(struct sb_kstore *store, const struct sb_kstore_key *key);
/* Reads a key by id into key (initialised). SB_ERR_KMS_NOT_FOUND if absent. */
SB_RESULT sb_kstore_get_key(struct sb_kstore *store, const char *id, struct sb_kstore_key *key);
/* Replaces a key's policy. SB_ERR_KMS_NOT_FOUND if the key is absent. */
SB_RESULT sb_kstore_set_policy(struct sb_kstore *store, const char *id, struct sb_slice policy);

/* "alias/name" -> key id. SB_ERR_KMS_NOT_FOUND if absent. */
SB_RESULT sb_kstore_resolve_alias(struct sb_kstore *store, const char *alias,
				  char out[SB_KBLOB_KEY_ID_LEN + 1]);
/* SB_ERR_KMS_ALREADY_EXISTS if the alias exists, NOT_FOUND if the key does not. */
SB_RESULT sb_kstore_create_alias(struct sb_kstore *store, const char *alias, const char *key_id,
				 uint64_t creation_ms);

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

#endif
