/*
 * The AWS sample's bids file ("kms-csv"): a header line exactly
 * "[].contract,[].bid", then one "property,ciphertext" line per bid, where
 * ciphertext is the base64 CiphertextBlob of `aws kms encrypt`. Lines end in
 * LF or CRLF; the last line's ending is optional. No quoting, no blank
 * lines, exactly two fields. Rows are numbered from 1 (the first bid line).
 */
#ifndef SB_BIDS_CSV_H
#define SB_BIDS_CSV_H

#include <stddef.h>

#include "common/sb_buf.h"

/* The first line of a bids file, kms-csv or the plaintext of a sealed one. */
#define SB_BIDS_CSV_HEADER     "[].contract,[].bid"
#define SB_BIDS_MAX_ROWS       (1u << 24)
#define SB_BIDS_MAX_CIPHERTEXT 8192 /* base64 characters */

struct sb_bid_row {
	size_t row;
	struct sb_slice property;   /* borrowed from the input */
	struct sb_slice ciphertext; /* base64, borrowed */
};

/* Called once per row; an error stops the walk and is returned. */
typedef sb_result (*sb_bid_row_fn)(void *ctx, const struct sb_bid_row *row);

/* Walks every row of a complete file; errors name the row. */
SB_RESULT sb_bids_csv_each(struct sb_slice file, sb_bid_row_fn fn, void *ctx);

#endif
