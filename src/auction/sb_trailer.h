/*
 * The trailer of a job-bound kms-csv file (docs/FORMATS.md, "Job binding").
 *
 * Each bid's KMS ciphertext carries the encryption context
 * {sealbid:manifest, sealbid:party, sealbid:property}, so a ciphertext
 * cannot move to another job, party or property. Dropping, duplicating,
 * reordering or swapping rows is caught by one more row, the last, with the
 * property id "sealbid:trailer" and a ciphertext (same key, context with
 * sealbid:property = "sealbid:trailer") of the text
 *
 *   sealbid-trailer-v1 rows=<N> sha384=<96 lowercase hex>
 *
 * where N counts the data rows and the digest is SHA-384 over every data
 * row in file order as "property,ciphertext\n" (the base64 exactly as in the
 * file, LF whatever the file used). Only the enclave reads the count: it is
 * encrypted, so no other party learns how many bids a party made.
 */
#ifndef SB_TRAILER_H
#define SB_TRAILER_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_TRAILER_PROPERTY "sealbid:trailer"
#define SB_TRAILER_PREFIX   "sealbid:" /* property ids reserved in bound files */
#define SB_TRAILER_TEXT_MAX 160

struct sb_trailer {
	struct sb_hash digest;
	uint64_t rows;
};

/* Caller storage: sb_trailer_init / sb_trailer_cleanup. */
SB_RESULT sb_trailer_init(struct sb_trailer *t);
void sb_trailer_cleanup(struct sb_trailer *t);
/* Adds one data row (borrowed slices). */
SB_RESULT sb_trailer_add(struct sb_trailer *t, struct sb_slice property,
			 struct sb_slice ciphertext_b64);
/* Finishes the digest and appends the trailer text (what gets encrypted). */
SB_RESULT sb_trailer_text(struct sb_trailer *t, struct sb_buf *out);
/*
 * Finishes the digest and compares it with a decrypted trailer text.
 * SB_ERR_TRAILER_COUNT when the row counts differ (a row dropped or added),
 * SB_ERR_TRAILER_DIGEST when the rows differ (changed, reordered, swapped),
 * SB_ERR_TRAILER when the text is not a trailer. Errors say which, never a value.
 */
SB_RESULT sb_trailer_check(struct sb_trailer *t, struct sb_slice text);
/* Whether a property id is reserved for sealbid's own rows. */
bool sb_trailer_reserved(struct sb_slice property);

#endif
