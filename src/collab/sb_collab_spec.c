#include "collab/sb_collab_spec.h"

#include <string.h>

static const char *const fn_names[SB_AGG_FN_COUNT] = {"count", "count_distinct", "sum", "avg"};

const char *sb_agg_fn_name(enum sb_agg_fn fn)
{
	return (unsigned)fn < SB_AGG_FN_COUNT ? fn_names[fn] : "?";
}

SB_RESULT sb_agg_fn_parse(struct sb_slice name, enum sb_agg_fn *out)
{
	SB_ENSURE_REF(out);
	for (int i = 0; i < SB_AGG_FN_COUNT; i++) {
		if (sb_slice_eq_str(name, fn_names[i])) {
			*out = (enum sb_agg_fn)i;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_BAD_MANIFEST,
		    "an aggregate function is \"count\", \"count_distinct\", \"sum\" or \"avg\"");
}

SB_RESULT sb_collab_column_check(struct sb_slice name)
{
	SB_ENSURE_MSG(name.len >= 1 && name.len <= SB_COLLAB_NAME_MAX, SB_ERR_DATASET_COLUMN,
		      "a column name is 1..%d characters", SB_COLLAB_NAME_MAX);
	SB_ENSURE_MSG(name.ptr[0] != ' ' && name.ptr[name.len - 1] != ' ', SB_ERR_DATASET_COLUMN,
		      "a column name does not start or end with a space");
	/* A CR inside a header line: the file's lines end in CR alone. */
	SB_ENSURE_MSG(memchr(name.ptr, '\r', name.len) == NULL, SB_ERR_DATASET_COLUMN,
		      "a line ends in CR alone (lines end in LF or CRLF)");
	for (size_t i = 0; i < name.len; i++)
		SB_ENSURE_MSG(name.ptr[i] >= 0x20 && name.ptr[i] < 0x7f && name.ptr[i] != ',' &&
				      name.ptr[i] != '"',
			      SB_ERR_DATASET_COLUMN,
			      "a column name is printable ASCII without ',' or '\"'");
	return SB_OK_RESULT;
}

static SB_RESULT rule_check(const struct sb_collab_rule *r)
{
	SB_ENSURE_MSG(r->min_distinct_keys >= SB_COLLAB_MIN_THRESHOLD &&
			      r->min_distinct_keys <= SB_COLLAB_MAX_THRESHOLD,
		      SB_ERR_BAD_MANIFEST, "party %s: min_distinct_keys must be %d..%d", r->party,
		      SB_COLLAB_MIN_THRESHOLD, SB_COLLAB_MAX_THRESHOLD);
	SB_ENSURE(r->ngroup_by <= SB_COLLAB_RULE_COLUMNS && r->nagg <= SB_COLLAB_RULE_COLUMNS,
		  SB_ERR_BAD_MANIFEST);
	SB_GUARD(sb_collab_column_check(sb_slice_str(r->join)));
	for (size_t i = 0; i < r->ngroup_by; i++) {
		SB_GUARD(sb_collab_column_check(sb_slice_str(r->group_by[i])));
		for (size_t j = 0; j < i; j++)
			SB_ENSURE_MSG(strcmp(r->group_by[i], r->group_by[j]) != 0,
				      SB_ERR_BAD_MANIFEST, "party %s: group_by lists \"%s\" twice",
				      r->party, r->group_by[i]);
	}
	for (size_t i = 0; i < r->nagg; i++) {
		SB_GUARD(sb_collab_column_check(sb_slice_str(r->agg[i].column)));
		SB_ENSURE_MSG(r->agg[i].fns != 0 && r->agg[i].fns < SB_AGG_BIT(SB_AGG_FN_COUNT),
			      SB_ERR_BAD_MANIFEST, "party %s: \"%s\" allows no function",
			      r->party, r->agg[i].column);
	}
	return SB_OK_RESULT;
}

static bool rule_groups(const struct sb_collab_rule *r, const char *column)
{
	for (size_t i = 0; i < r->ngroup_by; i++)
		if (strcmp(r->group_by[i], column) == 0)
			return true;
	return false;
}

static uint32_t rule_fns(const struct sb_collab_rule *r, const char *column)
{
	for (size_t i = 0; i < r->nagg; i++)
		if (strcmp(r->agg[i].column, column) == 0)
			return r->agg[i].fns;
	return 0;
}

SB_RESULT sb_collab_spec_check(const struct sb_collab_spec *s)
{
	SB_ENSURE_REF(s);
	for (size_t p = 0; p < SB_COLLAB_PARTIES; p++)
		SB_GUARD(rule_check(&s->rule[p]));
	SB_ENSURE_MSG(s->ngroup_by <= SB_COLLAB_MAX_GROUP_BY, SB_ERR_BAD_MANIFEST,
		      "the query groups by at most %d columns", SB_COLLAB_MAX_GROUP_BY);
	SB_ENSURE_MSG(s->nagg >= 1 && s->nagg <= SB_COLLAB_MAX_AGGREGATES, SB_ERR_BAD_MANIFEST,
		      "the query has 1..%d aggregates", SB_COLLAB_MAX_AGGREGATES);
	for (size_t i = 0; i < s->ngroup_by; i++) {
		const struct sb_collab_ref *g = &s->group_by[i];
		SB_ENSURE(g->party < SB_COLLAB_PARTIES, SB_ERR_BAD_MANIFEST);
		const struct sb_collab_rule *r = &s->rule[g->party];
		SB_ENSURE_MSG(rule_groups(r, g->column), SB_ERR_RULE_REFUSED,
			      "party %s does not allow grouping by \"%s\"", r->party, g->column);
		for (size_t j = 0; j < i; j++)
			SB_ENSURE_MSG(s->group_by[j].party != g->party ||
					      strcmp(s->group_by[j].column, g->column) != 0,
				      SB_ERR_BAD_MANIFEST, "the query groups by %s.%s twice",
				      r->party, g->column);
	}
	for (size_t i = 0; i < s->nagg; i++) {
		const struct sb_collab_agg *a = &s->agg[i];
		SB_ENSURE(a->col.party < SB_COLLAB_PARTIES && (unsigned)a->fn < SB_AGG_FN_COUNT,
			  SB_ERR_BAD_MANIFEST);
		const struct sb_collab_rule *r = &s->rule[a->col.party];
		SB_ENSURE_MSG(rule_fns(r, a->col.column) & SB_AGG_BIT(a->fn), SB_ERR_RULE_REFUSED,
			      "party %s does not allow %s of \"%s\"", r->party,
			      sb_agg_fn_name(a->fn), a->col.column);
		for (size_t j = 0; j < i; j++)
			SB_ENSURE_MSG(s->agg[j].fn != a->fn || s->agg[j].col.party != a->col.party ||
					      strcmp(s->agg[j].col.column, a->col.column) != 0,
				      SB_ERR_BAD_MANIFEST, "the query computes %s(%s.%s) twice",
				      sb_agg_fn_name(a->fn), r->party, a->col.column);
	}
	return SB_OK_RESULT;
}

uint32_t sb_collab_threshold(const struct sb_collab_spec *s)
{
	uint32_t t = 0;

	for (size_t p = 0; p < SB_COLLAB_PARTIES; p++)
		if (s->rule[p].min_distinct_keys > t)
			t = s->rule[p].min_distinct_keys;
	return t;
}
