/*
 * The result receipt (docs/FORMATS.md, "Receipt"): proof that output.csv was
 * produced by an attested enclave for a given manifest.
 *
 *   {"version":1,"job_id":"...","manifest_sha384":"<hex>",
 *    "output_sha384":"<hex>","attestation_document":"<base64 COSE_Sign1>"}
 *
 * The document's user_data is SHA-384(manifest hash || SHA-384(output.csv)),
 * so a changed byte of the output, the manifest or the receipt's document
 * fails verification.
 *
 * A shard of a sharded job (manifest "shards" N > 1) gets a version 2
 * receipt, which also names the shard:
 *
 *   {"version":2,"job_id":"...","manifest_sha384":"<hex>","shard":K,"shards":N,
 *    "output_sha384":"<hex>","attestation_document":"<base64 COSE_Sign1>"}
 *
 * with user_data = SHA-384(manifest hash || u32be K || u32be N ||
 * SHA-384(shard output.csv)), so a shard's output cannot pass for another
 * shard's, nor for a job with another shard count.
 */
#ifndef SB_RECEIPT_H
#define SB_RECEIPT_H

#include <stdint.h>

#include "attest/sb_verify.h"
#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_RECEIPT_MAX (64u << 10)

/* user_data = SHA-384(manifest_hash || SHA-384(output)). */
SB_RESULT sb_receipt_user_data(const uint8_t manifest_hash[SB_SHA384_LEN],
			       struct sb_slice output, uint8_t out[SB_SHA384_LEN]);
/* user_data of shard k of n (the v1 value when n == 1). */
SB_RESULT sb_receipt_user_data_shard(const uint8_t manifest_hash[SB_SHA384_LEN], uint32_t k,
				     uint32_t n, struct sb_slice output,
				     uint8_t out[SB_SHA384_LEN]);
/* Appends a receipt for shard k of n: version 1 when n == 1, else version 2. */
SB_RESULT sb_receipt_build_shard(const char *job_id, const uint8_t manifest_hash[SB_SHA384_LEN],
				 uint32_t k, uint32_t n, struct sb_slice output,
				 struct sb_slice attestation_doc, struct sb_buf *out);
/* Appends the receipt JSON (one line + newline). All inputs borrowed. */
SB_RESULT sb_receipt_build(const char *job_id, const uint8_t manifest_hash[SB_SHA384_LEN],
			   struct sb_slice output, struct sb_slice attestation_doc,
			   struct sb_buf *out);
/*
 * Verifies receipt against the output and manifest bytes (all borrowed).
 * opts carries roots and expected PCRs (PCR0 or PCR2 must be expected,
 * else SB_ERR_ATTEST_PCRS_TOO_WEAK: see sb_verify_opts_pins_image);
 * its expect_user_data is set here. When opts->at_ms is 0 the chain is
 * checked at the document's own (signed) timestamp, so a receipt stays
 * verifiable after the NSM's short-lived leaf certificate expires.
 * On success *doc_out (optional) is the verified document (caller frees).
 */
SB_RESULT sb_receipt_verify(struct sb_slice receipt, struct sb_slice output,
			    struct sb_slice manifest_json, struct sb_verify_opts *opts,
			    struct sb_attest_doc **doc_out);

/* What a verified receipt says about its shard (v1: shard 0 of 1). */
struct sb_receipt_info {
	uint32_t version;
	uint32_t shard;
	uint32_t shards;
	uint8_t receipt_hash[SB_SHA384_LEN]; /* SHA-384 of the receipt file's bytes */
};

/*
 * sb_receipt_verify, also requiring the receipt's shard count to be the
 * manifest's, and reporting the shard in *info (optional).
 */
SB_RESULT sb_receipt_verify_info(struct sb_slice receipt, struct sb_slice output,
				 struct sb_slice manifest_json, struct sb_verify_opts *opts,
				 struct sb_attest_doc **doc_out, struct sb_receipt_info *info);

#endif
