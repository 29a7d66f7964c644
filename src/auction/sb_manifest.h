/*
 * The job manifest (docs/FORMATS.md): JSON, validated strictly — unknown
 * fields, duplicate keys, wrong types and out-of-range values are errors.
 *
 *   {"version": 1, "job_id": "...", "region": "us-east-1",
 *    "computation": "highest-bid" | "second-price",      (default highest-bid)
 *    "disclose": "winner" | "winner-and-price",           (default winner)
 *    "parties": [{"name", "input", "format": "kms-csv", "key"}, ...],  (>= 2)
 *    "output": "s3://bucket/key" | "file:///path"}
 *
 * The manifest hash is SHA-384 over the canonical form: the validated
 * manifest with defaults filled in, re-serialised as JSON with keys sorted,
 * no insignificant white space and non-ASCII characters escaped.
 */
#ifndef SB_MANIFEST_H
#define SB_MANIFEST_H

#include <stdint.h>

#include "auction/sb_auction.h"
#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_MANIFEST_MAX_BYTES (1u << 20)
#define SB_MANIFEST_MAX_URI   1024
#define SB_MANIFEST_MAX_KEY   512

enum sb_input_format {
	SB_FORMAT_KMS_CSV,
};

struct sb_party {
	char name[SB_PARTY_NAME_MAX + 1];
	char input[SB_MANIFEST_MAX_URI + 1];
	char key[SB_MANIFEST_MAX_KEY + 1];
	enum sb_input_format format;
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
	uint8_t hash[SB_SHA384_LEN];
	struct sb_buf canonical; /* canonical JSON, owned */
};

/* Parses and validates; on success the caller owns m (sb_manifest_cleanup). */
SB_RESULT sb_manifest_parse(struct sb_slice json, struct sb_manifest *m);
void sb_manifest_cleanup(struct sb_manifest *m);
/* Index of the party with that name, or an error. */
SB_RESULT sb_manifest_party_index(const struct sb_manifest *m, struct sb_slice name,
				  size_t *out);
/* The party names as an array for sb_auction_new (borrowed from m; caller frees the array). */
SB_RESULT sb_manifest_party_names(const struct sb_manifest *m, const char ***out);

#endif
