/*
 * One party's dataset CSV against the job's spec (docs/FORMATS.md,
 * "Dataset CSV"): the header names the columns (sb_collab_column_check, no
 * duplicates) and must hold the party's join column and every column its
 * rule names; each row has the header's number of fields, and a column the
 * query sums or averages holds an sb_decimal. What `sealbid seal` checks
 * before encrypting and what the enclave checks again while joining.
 *
 * Errors name the party, the row (1 = the first row after the header) and
 * the column, never a value.
 */
#ifndef SB_COLLAB_TABLE_H
#define SB_COLLAB_TABLE_H

#include "collab/sb_collab_spec.h"
#include "collab/sb_csv_fields.h"
#include "collab/sb_decimal.h"

#define SB_COLLAB_MAX_ROWS (1u << 28)

struct sb_collab_table {
	const struct sb_collab_spec *spec; /* borrowed */
	uint32_t party;
	bool have_header;
	size_t ncols;
	size_t rows;
	size_t join_col;
	size_t group_col[SB_COLLAB_MAX_GROUP_BY]; /* per query group-by column; SIZE_MAX: another party's */
	size_t agg_col[SB_COLLAB_MAX_AGGREGATES]; /* per query aggregate; SIZE_MAX: another party's */
};

void sb_collab_table_init(struct sb_collab_table *t, const struct sb_collab_spec *spec,
			  uint32_t party);
/* The header row. */
SB_RESULT sb_collab_table_header(struct sb_collab_table *t, const struct sb_csv_fields *f);
/* A data row: its field count, and the numbers of the query's sums and averages into num
 * (per query aggregate of this party; others untouched). */
SB_RESULT sb_collab_table_row(struct sb_collab_table *t, const struct sb_csv_fields *f,
			      struct sb_decimal num[SB_COLLAB_MAX_AGGREGATES]);
/* At the end of the input: a header and at least one row. */
SB_RESULT sb_collab_table_end(const struct sb_collab_table *t);
/* The join key's normal form (docs/FORMATS.md): space and tab trimmed; a key that is not all
 * digits in ASCII lower case. Written to out (reset first; secret). */
SB_RESULT sb_collab_key_normalise(struct sb_slice key, struct sb_buf *out);

#endif
