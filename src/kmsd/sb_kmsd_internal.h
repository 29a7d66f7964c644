/* Shared between the sealbid-kms core files; not a public interface. */
#ifndef SB_KMSD_INTERNAL_H
#define SB_KMSD_INTERNAL_H

#include <jansson.h>

#include "attest/sb_attest_doc.h"
#include "kmsd/sb_kmsd.h"
#include "kmsd/sb_kmsd_attest_cache.h"
#include "kmsd/sb_kstore.h"
#include "kmsd/sb_policy.h"

struct sb_kmsd {
	const struct sb_kmsd_config *cfg;
	struct sb_kstore *store;
	/* Verified Recipient documents; NULL when no attestation root is trusted. */
	struct sb_kmsd_attest_cache *attest;
};

/* Who is calling: borrowed from the configuration. */
struct sb_kmsd_caller {
	const struct sb_kmsd_principal *principal;
	uint64_t now_ms;
};

/* A verified Recipient: a reference to its cache entry (the key to encrypt
 * to, the document's PCRs), given back by sb_kmsd_recipient_cleanup. */
struct sb_kmsd_recipient {
	bool present;
	const struct sb_kmsd_attest *attest;
};

/* Condition keys of one request (strings owned here). */
#define SB_KMSD_MAX_CTX 112
struct sb_kmsd_ctx {
	struct sb_policy_ctx entries[SB_KMSD_MAX_CTX];
	size_t n;
	char *owned[SB_KMSD_MAX_CTX];
	const char *values[SB_KMSD_MAX_CTX]; /* single values, by entry */
	const char *context_keys[SB_KMSD_MAX_CTX];
	size_t n_context_keys;
};

/* The operation table (sb_kmsd_ops.c); handlers live in one file per group:
 * sb_kmsd_ops_crypto.c, _keys.c, _alias.c, _tags.c, _grants.c, sharing the
 * helpers of sb_kmsd_ops_util.c declared below. */
typedef SB_RESULT (*sb_kmsd_op_fn)(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				   const json_t *req, json_t *resp, char *key_id_for_log);
struct sb_kmsd_op {
	const char *name; /* "Decrypt" */
	sb_kmsd_op_fn fn;
};
const struct sb_kmsd_op *sb_kmsd_op_find(const char *name);

#define SB_KMSD_OP(name)                                                                           \
	SB_RESULT sb_kmsd_op_##name(struct sb_kmsd *k, const struct sb_kmsd_caller *c,             \
				    const json_t *req, json_t *resp, char *log_id)
/* sb_kmsd_ops_crypto.c */
SB_KMSD_OP(encrypt);
SB_KMSD_OP(decrypt);
SB_KMSD_OP(generate_data_key);
SB_KMSD_OP(generate_data_key_without_plaintext);
SB_KMSD_OP(generate_random);
SB_KMSD_OP(re_encrypt);
/* sb_kmsd_ops_keys.c */
SB_KMSD_OP(create_key);
SB_KMSD_OP(describe_key);
SB_KMSD_OP(enable_key);
SB_KMSD_OP(disable_key);
SB_KMSD_OP(schedule_key_deletion);
SB_KMSD_OP(cancel_key_deletion);
SB_KMSD_OP(update_key_description);
SB_KMSD_OP(get_key_policy);
SB_KMSD_OP(put_key_policy);
SB_KMSD_OP(list_key_policies);
SB_KMSD_OP(list_keys);
/* sb_kmsd_ops_alias.c */
SB_KMSD_OP(create_alias);
SB_KMSD_OP(delete_alias);
SB_KMSD_OP(update_alias);
SB_KMSD_OP(list_aliases);
/* sb_kmsd_ops_tags.c */
SB_KMSD_OP(tag_resource);
SB_KMSD_OP(untag_resource);
SB_KMSD_OP(list_resource_tags);
/* sb_kmsd_ops_grants.c */
SB_KMSD_OP(create_grant);
SB_KMSD_OP(list_grants);
SB_KMSD_OP(retire_grant);
SB_KMSD_OP(revoke_grant);

/* ---- helpers shared by the operation files (sb_kmsd_ops_util.c) ---- */

#define SB_KMSD_SYMMETRIC_DEFAULT "SYMMETRIC_DEFAULT"
#define SB_KMSD_ARN_MAX           256
#define SB_KMSD_KEY_ID_SIZE       (SB_KBLOB_KEY_ID_LEN + 1)

void sb_kmsd_key_arn(const struct sb_kmsd *k, const char *id, char out[SB_KMSD_ARN_MAX]);
/* KeyId (id, key ARN, alias name, alias ARN) -> key id; aliases only when
 * allow_alias. SB_ERR_KMS_NOT_FOUND for what names nothing here. */
SB_RESULT sb_kmsd_resolve_key(struct sb_kmsd *k, const char *in, bool allow_alias,
			      char out[SB_KMSD_KEY_ID_SIZE]);
/* Loads a key by id; a key whose deletion date has passed is deleted now and
 * is NotFound, as it would be in KMS. */
SB_RESULT sb_kmsd_load_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const char *id,
			   struct sb_kstore_key *key);
/* Resolves the request's field (required) and loads the key; copies its id
 * to log_id. */
SB_RESULT sb_kmsd_key_from_field(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				 const json_t *req, const char *field, bool allow_alias,
				 struct sb_kstore_key *key, char *log_id);

/* What an operation needs of the key's state (the KMS key state table). */
enum sb_kmsd_use {
	SB_KMSD_USE_ANY,    /* Describe, Get/ListKeyPolicies, List*, Retire/Revoke */
	SB_KMSD_USE_MANAGE, /* not while PendingDeletion: aliases, grants, tags, ... */
	SB_KMSD_USE_CRYPTO, /* Enabled only: DisabledException / KMSInvalidState */
};
SB_RESULT sb_kmsd_check_state(const struct sb_kmsd *k, const struct sb_kstore_key *key,
			      enum sb_kmsd_use use);
const char *sb_kmsd_key_state(const struct sb_kstore_key *key);

/* Authorises action on key: the key policy, then (if it does not deny
 * explicitly) the grants whose grantee is the caller. enc_ctx and rcpt may
 * be NULL. */
SB_RESULT sb_kmsd_authorize(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const char *action,
			    const struct sb_kstore_key *key, const json_t *enc_ctx,
			    const struct sb_kmsd_recipient *rcpt);
/* Whether policy_text (not a stored policy) lets the caller do action on
 * key_id: ok or SB_ERR_KMS_ACCESS_DENIED. */
SB_RESULT sb_kmsd_policy_allows(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				const char *action, const char *policy_text, const char *key_id);
/* sb_kmsd_ops_grants.c: whether a grant to the caller allows action. */
SB_RESULT sb_kmsd_grant_allows(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			       const char *action, const struct sb_kstore_key *key,
			       const json_t *enc_ctx, bool *out);

/* sb_kmsd_ops_tags.c: the request's Tags (strings borrowed from req). */
SB_RESULT sb_kmsd_parse_tags(const json_t *req, bool required,
			     struct sb_kstore_tag tags[SB_KSTORE_MAX_TAGS], size_t *n);

/* An EncryptionContext-shaped field (map of strings to strings, may be
 * absent): *out_obj borrowed from req, canonical appended. */
SB_RESULT sb_kmsd_enc_context(const json_t *req, const char *field, json_t **out_obj,
			      struct sb_buf *canonical);
/* An EncryptionAlgorithm-shaped field against a symmetric key. */
SB_RESULT sb_kmsd_check_algorithm(const json_t *req, const char *field);
/* An optional boolean field (false when absent). */
SB_RESULT sb_kmsd_bool(const json_t *req, const char *field, bool *out);
/* GrantTokens: "Array Members: Minimum number of 0 items. Maximum number of
 * 10 items", each 1..8192; accepted and not needed (grants here take
 * effect at once). */
SB_RESULT sb_kmsd_grant_tokens(const json_t *req);
/* DryRun: after every check has passed, the operation is not done. */
SB_RESULT sb_kmsd_dry_run(const json_t *req);

SB_RESULT sb_kmsd_set_b64(json_t *resp, const char *field, struct sb_slice data, bool secret);
SB_RESULT sb_kmsd_set_str(json_t *resp, const char *field, const char *value);
/* Plaintext, or CiphertextForRecipient when a Recipient was given. */
SB_RESULT sb_kmsd_set_secret(json_t *resp, const struct sb_kmsd_recipient *rcpt,
			     struct sb_slice plaintext);

/* Paging: Limit (1..max, default 100) and Marker, an opaque string this
 * server made (kind + the last item of the page before); any other Marker
 * is InvalidMarkerException. */
#define SB_KMSD_MARKER_MAX 300
struct sb_kmsd_page {
	char kind;
	size_t limit;
	bool has_marker;
	char after[SB_KMSD_MARKER_MAX + 1]; /* decoded marker, "" at the start */
	json_t *arr;                         /* owned until finished */
	char last[SB_KMSD_MARKER_MAX + 1];
};
SB_RESULT sb_kmsd_page_start(const json_t *req, char kind, long long max_limit,
			     struct sb_kmsd_page *p);
/* Records item as the page's last (for NextMarker). */
void sb_kmsd_page_last(struct sb_kmsd_page *p, const char *item);
SB_RESULT sb_kmsd_page_finish(json_t *resp, const char *field, struct sb_kmsd_page *p, bool more);
void sb_kmsd_page_cleanup(struct sb_kmsd_page *p);

/* Recipient (sb_kmsd_recipient.c). */
/* The verifier options for cfg's roots (borrowed); *trusted = false when no
 * root at all is trusted (every Recipient is then refused). */
SB_RESULT sb_kmsd_recipient_opts(const struct sb_kmsd_config *cfg, struct sb_verify_opts *out,
				 bool *trusted);
void sb_kmsd_recipient_init(struct sb_kmsd_recipient *r);
void sb_kmsd_recipient_cleanup(struct sb_kmsd_recipient *r);
/* Parses and verifies (or finds verified) the request's Recipient field, if any. */
SB_RESULT sb_kmsd_recipient_parse(struct sb_kmsd *k, const json_t *req, uint64_t now_ms,
				  struct sb_kmsd_recipient *out);
/* CMS EnvelopedData of plaintext for the recipient, base64 into out. */
SB_RESULT sb_kmsd_recipient_seal(const struct sb_kmsd_recipient *r, struct sb_slice plaintext,
				 struct sb_buf *out_b64);

#endif
