/* output.csv of a join-aggregate job (docs/FORMATS.md): the header, the kept
 * groups in order of their group values (bytewise, column by column), and a
 * last line saying how many groups were left out. */
#include <stdlib.h>
#include <string.h>

#include "collab/sb_collab_internal.h"
#include "common/sb_mem.h"

static int cmp_slices(struct sb_slice a, struct sb_slice b)
{
	size_t n = a.len < b.len ? a.len : b.len;
	int r = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

	if (r != 0)
		return r;
	return a.len < b.len ? -1 : a.len > b.len;
}

static int cmp_groups(const void *pa, const void *pb, void *ctx)
{
	const struct sb_collab *c = ctx;
	struct sb_slice ta = sb_dict_get(&c->groups, *(const uint32_t *)pa);
	struct sb_slice tb = sb_dict_get(&c->groups, *(const uint32_t *)pb);

	for (size_t g = 0; g < c->spec->ngroup_by; g++) {
		uint32_t ia, ib;
		memcpy(&ia, ta.ptr + g * sizeof(ia), sizeof(ia));
		memcpy(&ib, tb.ptr + g * sizeof(ib), sizeof(ib));
		int r = ia == ib ? 0 : cmp_slices(sb_dict_get(&c->gvals[g], ia),
						  sb_dict_get(&c->gvals[g], ib));
		if (r != 0)
			return r;
	}
	return 0;
}

static SB_RESULT header(const struct sb_collab *c, struct sb_buf *out)
{
	const struct sb_collab_spec *s = c->spec;

	for (size_t g = 0; g < s->ngroup_by; g++)
		SB_GUARD(sb_buf_printf(out, "%s%s.%s", g > 0 ? "," : "",
				       s->rule[s->group_by[g].party].party, s->group_by[g].column));
	for (size_t a = 0; a < s->nagg; a++)
		SB_GUARD(sb_buf_printf(out, "%s%s(%s.%s)", a + s->ngroup_by > 0 ? "," : "",
				       sb_agg_fn_name(s->agg[a].fn), s->rule[s->agg[a].col.party].party,
				       s->agg[a].col.column));
	return sb_buf_append_u8(out, '\n');
}

static SB_RESULT row(const struct sb_collab *c, uint32_t gid, struct sb_buf *out)
{
	const struct sb_collab_spec *s = c->spec;
	struct sb_slice tuple = sb_dict_get(&c->groups, gid);
	const uint8_t *st = sb_collab_gstate(c, gid);
	struct sb_collab_group_head head;

	memcpy(&head, st, sizeof(head));
	for (size_t g = 0; g < s->ngroup_by; g++) {
		uint32_t id;
		memcpy(&id, tuple.ptr + g * sizeof(id), sizeof(id));
		if (g > 0)
			SB_GUARD(sb_buf_append_u8(out, ','));
		SB_GUARD(sb_csv_put_field(out, sb_dict_get(&c->gvals[g], id)));
	}
	for (size_t a = 0; a < s->nagg; a++) {
		struct sb_decimal acc;
		memcpy(&acc.units, st + sizeof(head) + a * sizeof(sb_i128), sizeof(acc.units));
		if (a + s->ngroup_by > 0)
			SB_GUARD(sb_buf_append_u8(out, ','));
		switch (s->agg[a].fn) {
		case SB_AGG_COUNT:
			SB_GUARD(sb_buf_printf(out, "%llu", (unsigned long long)head.rows));
			break;
		case SB_AGG_COUNT_DISTINCT:
			SB_GUARD(sb_buf_printf(out, "%llu", (unsigned long long)acc.units));
			break;
		case SB_AGG_SUM:
			SB_GUARD(sb_decimal_format(&acc, out));
			break;
		case SB_AGG_AVG:
			SB_GUARD(sb_decimal_format_avg(&acc, head.rows, out));
			break;
		default:
			SB_BAIL(SB_ERR_INTERNAL);
		}
	}
	return sb_buf_append_u8(out, '\n');
}

static SB_RESULT write_csv(const struct sb_collab *c, struct sb_buf *out)
{
	uint32_t *kept = NULL, nkept = 0, ngroups = c->groups.n, left_out;
	sb_result rc = SB_OK_RESULT;

	SB_GUARD(sb_calloc(ngroups + 1, sizeof(*kept), (void **)&kept));
	for (uint32_t gid = 0; gid < ngroups; gid++) {
		struct sb_collab_group_head head;
		memcpy(&head, sb_collab_gstate(c, gid), sizeof(head));
		if (head.keys >= c->threshold)
			kept[nkept++] = gid;
	}
	left_out = ngroups - nkept;
	/* With no group-by there is always the one group, even when nothing joined. */
	if (c->spec->ngroup_by == 0 && ngroups == 0)
		left_out = 1;
	qsort_r(kept, nkept, sizeof(*kept), cmp_groups, (void *)c);
	SB_GUARD_GOTO(rc, header(c, out), out);
	for (uint32_t i = 0; i < nkept; i++)
		SB_GUARD_GOTO(rc, row(c, kept[i], out), out);
	rc = sb_buf_printf(out, "# suppressed_groups=%u threshold=%u\n", left_out, c->threshold);
out:
	free(kept);
	return rc;
}

SB_RESULT sb_collab_write_csv(const struct sb_collab *c, struct sb_buf *out)
{
	size_t had;
	sb_result rc;

	SB_ENSURE(c != NULL && out != NULL, SB_ERR_NULL);
	for (uint32_t p = 0; p < SB_COLLAB_PARTIES; p++)
		SB_ENSURE_MSG(c->side[p].done, SB_ERR_BAD_STATE, "party %s: input incomplete",
			      c->spec->rule[p].party);
	had = out->len;
	rc = write_csv(c, out);
	if (!sb_ok(rc))
		sb_buf_truncate(out, had);
	return rc;
}
