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

/* The operation table of sb_kmsd_ops.c. */
typedef SB_RESULT (*sb_kmsd_op_fn)(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				   const json_t *req, json_t *resp, char *key_id_for_log);
struct sb_kmsd_op {
	const char *name; /* "Decrypt" */
	sb_kmsd_op_fn fn;
};
const struct sb_kmsd_op *sb_kmsd_op_find(const char *name);

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
