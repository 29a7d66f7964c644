/*
 * The job manifest (docs/FORMATS.md): JSON, validated strictly — unknown
 * fields, duplicate keys, wrong types and out-of-range values are errors.
 *
 *   {"version": 1, "job_id": "...", "region": "us-east-1",
 *    "computation": "highest-bid" | "second-price"        (default highest-bid)
 *                 | "join-aggregate",
 *    "disclose": "winner" | "winner-and-price",           (auctions; default winner)
 *    "parties": [{"name", "input", "format": "kms-csv" | "sealed", "key",
 *                 "binding": "job" | "none"}, ...],   (>= 2; defaults kms-csv, job)
 *    "output": "s3://bucket/key" | "file:///path",
 *    "shards": 1..4096}                                   (default 1; sb_shard.h)
 *
 * A join-aggregate manifest (sb_manifest_collab.c) has exactly two sealed
 * parties, each with "join" (its join column) and "rule" (its analysis
 * rule), a "query", no "disclose" and one shard; its rules and query fill
 * the manifest's collab spec (collab/sb_collab_spec.h), checked here, so a
 * query a rule does not allow is refused with the manifest.
 *
 * The manifest hash is SHA-384 over the canonical form: the validated
 * manifest with defaults filled in, re-serialised as JSON with keys sorted,
 * no insignificant white space and non-ASCII characters escaped. "shards"
 * appears in the canonical form only when it is not 1, so a manifest written
 * before sharding existed keeps its hash (and the data bound to it).
 */
#ifndef SB_MANIFEST_H
#define SB_MANIFEST_H

#include <stdint.h>

#include "auction/sb_auction.h"
#include "collab/sb_collab_spec.h"
#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_MANIFEST_MAX_BYTES (1u << 20)
#define SB_MANIFEST_MAX_URI   1024
#define SB_MANIFEST_MAX_KEY   512

enum sb_input_format {
	SB_FORMAT_KMS_CSV, /* the AWS sample's CSV: one KMS ciphertext per bid */
	SB_FORMAT_SEALED,  /* an AWS Encryption SDK message (docs/FORMATS.md) */
};

/*
 * How a party's data is tied to this job (DESIGN.md §9.8). "job": every KMS
 * call carries the encryption context sealbid:manifest / sealbid:party (and
 * sealbid:property per kms-csv bid), so KMS releases the data only to this
 * manifest. "none": plain AWS-sample ciphertexts, which the operator can
 * re-run under other manifests; allowed for kms-csv only, with a warning.
 */
enum sb_binding {
	SB_BINDING_JOB,
	SB_BINDING_NONE,
};

/* Encryption context keys (docs/FORMATS.md, "Job binding"). */
#define SB_CTX_MANIFEST "sealbid:manifest"
#define SB_CTX_PARTY    "sealbid:party"
#define SB_CTX_PROPERTY "sealbid:property"
/* A sealed part of one shard (`sealbid seal --shards N`): the shard index, decimal. */
#define SB_CTX_SHARD    "sealbid:shard"
/*
 * In a sealed party's input URI of a sharded manifest, "{shard}" stands for
 * the shard index: the party sealed one part per shard, and shard K reads
 * and decrypts only its part (whose context carries sealbid:shard = K).
 */
#define SB_SHARD_TOKEN  "{shard}"
struct sb_party {
	char name[SB_PARTY_NAME_MAX + 1];
	char input[SB_MANIFEST_MAX_URI + 1];
	char key[SB_MANIFEST_MAX_KEY + 1];
	enum sb_input_format format;
	enum sb_binding binding;
};

struct sb_manifest {
	uint32_t version;
	char job_id[129];
	char region[33];
	enum sb_computation computation;
	enum sb_disclose disclose;
	struct sb_party *parties; /* owned */
	size_t nparties;
	char output[SB_MANIFEST_MAX_URI + 1];
	uint32_t shards; /* 1..SB_SHARD_MAX */
	uint8_t hash[SB_SHA384_LEN];
	char hash_hex[2 * SB_SHA384_LEN + 1]; /* lowercase: the sealbid:manifest value */
	struct sb_buf canonical; /* canonical JSON, owned */
	struct sb_collab_spec *collab; /* join-aggregate only (else NULL), owned */
};

/* Parses and validates; on success the caller owns m (sb_manifest_cleanup). */
SB_RESULT sb_manifest_parse(struct sb_slice json, struct sb_manifest *m);
void sb_manifest_cleanup(struct sb_manifest *m);
/* Index of the party with that name, or an error. */
SB_RESULT sb_manifest_party_index(const struct sb_manifest *m, struct sb_slice name,
				  size_t *out);
/* Whether any party's inputs are unbound ("binding": "none"). */
bool sb_manifest_has_unbound(const struct sb_manifest *m);
/* Whether the party sealed one part per shard (its input has SB_SHARD_TOKEN). */
bool sb_party_sharded_input(const struct sb_party *p);
/* The party's input URI for shard k (SB_SHARD_TOKEN replaced by k), appended to out. */
SB_RESULT sb_party_input_uri(const struct sb_party *p, uint32_t k, struct sb_buf *out);
/* The party names as an array for sb_auction_new (borrowed from m; caller frees the array). */
SB_RESULT sb_manifest_party_names(const struct sb_manifest *m, const char ***out);

#endif
