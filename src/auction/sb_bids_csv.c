#include "auction/sb_bids_csv.h"

#include <string.h>

#include "auction/sb_auction.h"

static const char header[] = SB_BIDS_CSV_HEADER;

static SB_RESULT parse_row(struct sb_slice line, size_t rowno, struct sb_bid_row *row)
{
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	size_t plen;

	SB_ENSURE_MSG(line.len > 0, SB_ERR_BAD_CSV, "row %zu is empty", rowno);
	SB_ENSURE_MSG(comma != NULL, SB_ERR_BAD_CSV, "row %zu has one field, expected 2", rowno);
	plen = (size_t)(comma - line.ptr);
	row->row = rowno;
	row->property = SB_SLICE(line.ptr, plen);
	row->ciphertext = SB_SLICE(comma + 1, line.len - plen - 1);
	SB_ENSURE_MSG(memchr(row->ciphertext.ptr, ',', row->ciphertext.len) == NULL,
		      SB_ERR_BAD_CSV, "row %zu has more than 2 fields", rowno);
	sb_result r = sb_property_id_check(row->property);
	if (!sb_ok(r)) {
		sb_error_context("row %zu", rowno);
		return r;
	}
	SB_ENSURE_MSG(row->ciphertext.len > 0, SB_ERR_BAD_CSV, "row %zu has no ciphertext", rowno);
	SB_ENSURE_MSG(row->ciphertext.len <= SB_BIDS_MAX_CIPHERTEXT, SB_ERR_BAD_CSV,
		      "row %zu: ciphertext longer than %d characters", rowno,
		      SB_BIDS_MAX_CIPHERTEXT);
	return SB_OK_RESULT;
}

SB_RESULT sb_bids_csv_each(struct sb_slice file, sb_bid_row_fn fn, void *ctx)
{
	struct sb_slice rest = file, line;
	struct sb_bid_row row;
	size_t rowno = 0;

	SB_ENSURE_REF(fn);
	SB_ENSURE_MSG(sb_slice_next_line(&rest, &line), SB_ERR_BAD_CSV, "empty file");
	SB_ENSURE_MSG(sb_slice_eq_str(line, header), SB_ERR_BAD_CSV,
		      "header must be \"%s\"", header);
	while (sb_slice_next_line(&rest, &line)) {
		rowno++;
		SB_ENSURE_MSG(rowno <= SB_BIDS_MAX_ROWS, SB_ERR_TOO_LARGE, "more than %u rows",
			      SB_BIDS_MAX_ROWS);
		SB_GUARD(parse_row(line, rowno, &row));
		SB_GUARD(fn(ctx, &row));
	}
	return SB_OK_RESULT;
}
