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

#endif
