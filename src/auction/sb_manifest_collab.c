/*
 * The join-aggregate parts of a manifest (docs/FORMATS.md, "join-aggregate"):
 *
 *   party: "join": "column",
 *          "rule": {"group_by": ["column", ...],
 *                   "aggregate": {"column": ["count" | "count_distinct" | "sum" | "avg", ...]},
 *                   "min_distinct_keys": 2..100000}
 *   root:  "query": {"group_by": [{"party", "column"}, ...],          (0..8)
 *                    "aggregates": [{"function", "party", "column"}]}  (1..16)
 *
 * Read strictly like the rest of the manifest; the spec is then checked as a
 * whole (sb_collab_spec_check), so a query that a party's rule does not
 * allow is refused here, with the party and the column named.
 */
#include <stdio.h>
#include <string.h>

#include "auction/sb_manifest_internal.h"

static SB_RESULT column_text(const char *s, size_t len, const char *where,
			     char dst[SB_COLLAB_NAME_MAX + 1])
{
	if (!sb_ok(sb_collab_column_check(SB_SLICE(s, len))))
		MANIFEST_FAIL("%s: %s", where, sb_error_detail());
	memcpy(dst, s, len);
	dst[len] = '\0';
	return SB_OK_RESULT;
}

static SB_RESULT column_name(json_t *v, const char *where, char dst[SB_COLLAB_NAME_MAX + 1])
{
	if (!json_is_string(v))
		MANIFEST_FAIL("%s must be a column name (a string)", where);
	return column_text(json_string_value(v), json_string_length(v), where, dst);
}

static SB_RESULT rule_aggregate(json_t *obj, const char *where, struct sb_collab_rule *r)
{
	const char *col;
	json_t *fns;
	char w[200];

	if (!json_is_object(obj))
		MANIFEST_FAIL("%s.aggregate must be an object of column: [functions]", where);
	if (json_object_size(obj) > SB_COLLAB_RULE_COLUMNS)
		MANIFEST_FAIL("%s.aggregate names more than %d columns", where,
			      SB_COLLAB_RULE_COLUMNS);
	json_object_foreach(obj, col, fns) {
		struct sb_collab_rule_agg *a = &r->agg[r->nagg++];
		size_t i;
		json_t *f;
		(void)snprintf(w, sizeof(w), "%s.aggregate", where);
		SB_GUARD(column_text(col, strlen(col), w, a->column));
		(void)snprintf(w, sizeof(w), "%s.aggregate.%s", where, a->column);
		if (!json_is_array(fns) || json_array_size(fns) == 0)
			MANIFEST_FAIL("%s must be a non-empty array of functions", w);
		json_array_foreach(fns, i, f) {
			enum sb_agg_fn fn;
			if (!json_is_string(f))
				MANIFEST_FAIL("%s[%zu] must be a function name", w, i);
			SB_GUARD(sb_agg_fn_parse(sb_slice_str(json_string_value(f)), &fn));
			if (a->fns & SB_AGG_BIT(fn))
				MANIFEST_FAIL("%s lists \"%s\" twice", w, sb_agg_fn_name(fn));
			a->fns |= SB_AGG_BIT(fn);
		}
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_manifest_collab_party(json_t *v, const char *where, struct sb_collab_rule *r)
{
	static const char *const keys[] = {"group_by", "aggregate", "min_distinct_keys", NULL};
	json_t *rule = json_object_get(v, "rule"), *gb, *t, *col;
	char w[96];
	size_t i;

	(void)snprintf(w, sizeof(w), "%s.join", where);
	if (json_object_get(v, "join") == NULL)
		MANIFEST_FAIL("%s: missing field \"join\" (the join column)", where);
	SB_GUARD(column_name(json_object_get(v, "join"), w, r->join));
	(void)snprintf(w, sizeof(w), "%s.rule", where);
	if (!json_is_object(rule))
		MANIFEST_FAIL("%s: missing object \"rule\" (the party's analysis rule)", where);
	SB_GUARD(sb_manifest_only_keys(rule, w, keys));
	gb = json_object_get(rule, "group_by");
	if (gb != NULL && (!json_is_array(gb) || json_array_size(gb) > SB_COLLAB_RULE_COLUMNS))
		MANIFEST_FAIL("%s.group_by must be an array of at most %d columns", w,
			      SB_COLLAB_RULE_COLUMNS);
	json_array_foreach(gb, i, col) {
		char wi[160];
		(void)snprintf(wi, sizeof(wi), "%s.group_by[%zu]", w, i);
		SB_GUARD(column_name(col, wi, r->group_by[r->ngroup_by++]));
	}
	if (json_object_get(rule, "aggregate") != NULL)
		SB_GUARD(rule_aggregate(json_object_get(rule, "aggregate"), w, r));
	t = json_object_get(rule, "min_distinct_keys");
	if (!json_is_integer(t) || json_integer_value(t) < SB_COLLAB_MIN_THRESHOLD ||
	    json_integer_value(t) > SB_COLLAB_MAX_THRESHOLD)
		MANIFEST_FAIL("%s.min_distinct_keys must be an integer %d..%d", w,
			      SB_COLLAB_MIN_THRESHOLD, SB_COLLAB_MAX_THRESHOLD);
	r->min_distinct_keys = (uint32_t)json_integer_value(t);
	return SB_OK_RESULT;
}

/* {"party", "column"} of the query: the party's index into ref. */
static SB_RESULT query_ref(const struct sb_manifest *m, json_t *v, const char *where,
			   struct sb_collab_ref *ref)
{
	char party[SB_PARTY_NAME_MAX + 1];
	size_t idx;

	SB_GUARD(sb_manifest_get_string(v, where, "party", true, SB_PARTY_NAME_MAX, party, NULL));
	if (!sb_ok(sb_manifest_party_index(m, sb_slice_str(party), &idx)))
		MANIFEST_FAIL("%s: no party \"%s\" in the manifest", where, party);
	ref->party = (uint32_t)idx;
	if (json_object_get(v, "column") == NULL)
		MANIFEST_FAIL("%s: missing field \"column\"", where);
	return column_name(json_object_get(v, "column"), where, ref->column);
}

SB_RESULT sb_manifest_collab_query(json_t *root, struct sb_manifest *m)
{
	static const char *const keys[] = {"group_by", "aggregates", NULL};
	static const char *const gkeys[] = {"party", "column", NULL};
	static const char *const akeys[] = {"function", "party", "column", NULL};
	struct sb_collab_spec *s = m->collab;
	json_t *q = json_object_get(root, "query"), *gb, *ag, *v;
	char w[64], fn[32];
	size_t i;

	if (!json_is_object(q))
		MANIFEST_FAIL("a join-aggregate job needs a \"query\" object");
	SB_GUARD(sb_manifest_only_keys(q, "query", keys));
	gb = json_object_get(q, "group_by");
	if (gb != NULL && (!json_is_array(gb) || json_array_size(gb) > SB_COLLAB_MAX_GROUP_BY))
		MANIFEST_FAIL("query.group_by must be an array of at most %d columns",
			      SB_COLLAB_MAX_GROUP_BY);
	json_array_foreach(gb, i, v) {
		(void)snprintf(w, sizeof(w), "query.group_by[%zu]", i);
		if (!json_is_object(v))
			MANIFEST_FAIL("%s must be {\"party\", \"column\"}", w);
		SB_GUARD(sb_manifest_only_keys(v, w, gkeys));
		SB_GUARD(query_ref(m, v, w, &s->group_by[s->ngroup_by++]));
	}
	ag = json_object_get(q, "aggregates");
	if (!json_is_array(ag) || json_array_size(ag) < 1 ||
	    json_array_size(ag) > SB_COLLAB_MAX_AGGREGATES)
		MANIFEST_FAIL("query.aggregates must be an array of 1..%d aggregates",
			      SB_COLLAB_MAX_AGGREGATES);
	json_array_foreach(ag, i, v) {
		struct sb_collab_agg *a = &s->agg[s->nagg++];
		(void)snprintf(w, sizeof(w), "query.aggregates[%zu]", i);
		if (!json_is_object(v))
			MANIFEST_FAIL("%s must be {\"function\", \"party\", \"column\"}", w);
		SB_GUARD(sb_manifest_only_keys(v, w, akeys));
		SB_GUARD(sb_manifest_get_string(v, w, "function", true, sizeof(fn) - 1, fn, NULL));
		SB_GUARD(sb_agg_fn_parse(sb_slice_str(fn), &a->fn));
		SB_GUARD(query_ref(m, v, w, &a->col));
	}
	return sb_collab_spec_check(s);
}

static json_t *rule_json(const struct sb_collab_rule *r)
{
	json_t *gb = json_array(), *agg = json_object();

	for (size_t i = 0; i < r->ngroup_by; i++)
		json_array_append_new(gb, json_string(r->group_by[i]));
	for (size_t i = 0; i < r->nagg; i++) {
		json_t *fns = json_array();
		for (int f = 0; f < SB_AGG_FN_COUNT; f++) /* a set: in the functions' order */
			if (r->agg[i].fns & SB_AGG_BIT(f))
				json_array_append_new(fns, json_string(sb_agg_fn_name((enum sb_agg_fn)f)));
		json_object_set_new(agg, r->agg[i].column, fns);
	}
	return json_pack("{s:o, s:o, s:I}", "group_by", gb, "aggregate", agg, "min_distinct_keys",
			 (json_int_t)r->min_distinct_keys);
}

SB_RESULT sb_manifest_collab_canonical(const struct sb_manifest *m, json_t *root, json_t *parties)
{
	const struct sb_collab_spec *s = m->collab;
	json_t *gb = json_array(), *ag = json_array();

	SB_ENSURE(gb != NULL && ag != NULL, SB_ERR_NOMEM);
	for (size_t i = 0; i < m->nparties; i++) {
		json_t *p = json_array_get(parties, i);
		json_t *rule = rule_json(&s->rule[i]);
		SB_ENSURE(p != NULL && rule != NULL, SB_ERR_NOMEM);
		json_object_set_new(p, "join", json_string(s->rule[i].join));
		json_object_set_new(p, "rule", rule);
	}
	for (size_t i = 0; i < s->ngroup_by; i++)
		json_array_append_new(gb, json_pack("{s:s, s:s}", "party",
						    m->parties[s->group_by[i].party].name, "column",
						    s->group_by[i].column));
	for (size_t i = 0; i < s->nagg; i++)
		json_array_append_new(ag, json_pack("{s:s, s:s, s:s}", "function",
						    sb_agg_fn_name(s->agg[i].fn), "party",
						    m->parties[s->agg[i].col.party].name, "column",
						    s->agg[i].col.column));
	json_t *q = json_pack("{s:o, s:o}", "group_by", gb, "aggregates", ag);
	SB_ENSURE(q != NULL, SB_ERR_NOMEM);
	return json_object_set_new(root, "query", q) == 0 ? SB_OK_RESULT : sb_error_record(SB_ERR_NOMEM, SB_HERE);
}
