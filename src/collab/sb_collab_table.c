#include "collab/sb_collab_table.h"

#include <stdint.h>
#include <string.h>

void sb_collab_table_init(struct sb_collab_table *t, const struct sb_collab_spec *spec,
			  uint32_t party)
{
	memset(t, 0, sizeof(*t));
	t->spec = spec;
	t->party = party;
}

static const char *party_name(const struct sb_collab_table *t)
{
	return t->spec->rule[t->party].party;
}

/* The index of column name in the header, or an error naming what needs it. */
static SB_RESULT column(const struct sb_collab_table *t, const struct sb_csv_fields *f,
			const char *name, const char *why, size_t *out)
{
	for (size_t i = 0; i < f->n; i++) {
		if (sb_slice_eq_str(f->field[i], name)) {
			*out = i;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_DATASET_COLUMN, "party %s: the header has no column \"%s\" (%s)",
		    party_name(t), name, why);
}

SB_RESULT sb_collab_table_header(struct sb_collab_table *t, const struct sb_csv_fields *f)
{
	const struct sb_collab_spec *s = t->spec;
	const struct sb_collab_rule *r = &s->rule[t->party];
	size_t unused;

	SB_ENSURE_MSG(!t->have_header, SB_ERR_BAD_STATE, "the header was read already");
	for (size_t i = 0; i < f->n; i++) {
		sb_result rc = sb_collab_column_check(f->field[i]);
		if (!sb_ok(rc)) {
			sb_error_context("party %s, header column %zu", party_name(t), i + 1);
			return rc;
		}
		for (size_t j = 0; j < i; j++)
			SB_ENSURE_MSG(!sb_slice_eq(f->field[i], f->field[j]), SB_ERR_DATASET_COLUMN,
				      "party %s: the header names \"%.*s\" twice", party_name(t),
				      (int)f->field[i].len, (const char *)f->field[i].ptr);
	}
	SB_GUARD(column(t, f, r->join, "the join column", &t->join_col));
	for (size_t i = 0; i < r->ngroup_by; i++)
		SB_GUARD(column(t, f, r->group_by[i], "named by the rule", &unused));
	for (size_t i = 0; i < r->nagg; i++)
		SB_GUARD(column(t, f, r->agg[i].column, "named by the rule", &unused));
	for (size_t i = 0; i < s->ngroup_by; i++)
		t->group_col[i] = SIZE_MAX;
	for (size_t i = 0; i < s->ngroup_by; i++)
		if (s->group_by[i].party == t->party)
			SB_GUARD(column(t, f, s->group_by[i].column, "grouped by", &t->group_col[i]));
	for (size_t i = 0; i < s->nagg; i++) {
		t->agg_col[i] = SIZE_MAX;
		if (s->agg[i].col.party == t->party)
			SB_GUARD(column(t, f, s->agg[i].col.column, "aggregated", &t->agg_col[i]));
	}
	t->ncols = f->n;
	t->have_header = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_collab_table_row(struct sb_collab_table *t, const struct sb_csv_fields *f,
			      struct sb_decimal num[SB_COLLAB_MAX_AGGREGATES])
{
	const struct sb_collab_spec *s = t->spec;

	SB_ENSURE_MSG(t->have_header, SB_ERR_BAD_STATE, "a row before the header");
	SB_ENSURE_MSG(t->rows < SB_COLLAB_MAX_ROWS, SB_ERR_COLLAB_LIMIT,
		      "party %s: more than %u rows", party_name(t), SB_COLLAB_MAX_ROWS);
	t->rows++;
	SB_ENSURE_MSG(f->n == t->ncols, SB_ERR_DATASET_CSV,
		      "party %s, row %zu: %zu field%s where the header has %zu", party_name(t),
		      t->rows, f->n, f->n == 1 ? "" : "s", t->ncols);
	for (size_t i = 0; i < s->nagg; i++) {
		if (t->agg_col[i] == SIZE_MAX ||
		    (s->agg[i].fn != SB_AGG_SUM && s->agg[i].fn != SB_AGG_AVG))
			continue;
		sb_result rc = sb_decimal_parse(f->field[t->agg_col[i]], &num[i]);
		if (!sb_ok(rc)) {
			sb_error_context("party %s, row %zu, column \"%s\"", party_name(t), t->rows,
					 s->agg[i].col.column);
			return rc;
		}
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_collab_table_end(const struct sb_collab_table *t)
{
	SB_ENSURE_MSG(t->have_header, SB_ERR_DATASET_CSV, "party %s: the input is empty (no header)",
		      party_name(t));
	SB_ENSURE_MSG(t->rows > 0, SB_ERR_DATASET_CSV, "party %s: the input has no rows",
		      party_name(t));
	return SB_OK_RESULT;
}

SB_RESULT sb_collab_key_normalise(struct sb_slice key, struct sb_buf *out)
{
	bool digits = true;

	while (key.len > 0 && (key.ptr[0] == ' ' || key.ptr[0] == '\t'))
		key = SB_SLICE(key.ptr + 1, key.len - 1);
	while (key.len > 0 && (key.ptr[key.len - 1] == ' ' || key.ptr[key.len - 1] == '\t'))
		key.len--;
	sb_buf_reset(out);
	for (size_t i = 0; i < key.len && digits; i++)
		digits = key.ptr[i] >= '0' && key.ptr[i] <= '9';
	SB_GUARD(sb_buf_append_slice(out, key));
	if (!digits)
		for (size_t i = 0; i < out->len; i++)
			if (out->data[i] >= 'A' && out->data[i] <= 'Z')
				out->data[i] = (uint8_t)(out->data[i] - 'A' + 'a');
	return SB_OK_RESULT;
}
