#include "collab/sb_collab.h"

#include <stdlib.h>
#include <string.h>

#include "collab/sb_collab_internal.h"
#include "common/sb_mem.h"

#define MAX_KEYS     SB_COLLAB_MAX_ROWS
#define MAX_VALUES   SB_COLLAB_MAX_ROWS
#define MAX_PAIRS    ((size_t)1 << 32)
#define NO_ROW       0u

static bool is_build(const struct sb_collab *c, uint32_t party)
{
	return c->build == (int)party;
}

/* Record layout of the build side (which is known at its first line). */
static void layout(struct sb_collab *c)
{
	const struct sb_collab_spec *s = c->spec;
	size_t off = 2 * sizeof(uint32_t); /* key id, next row + 1 */

	for (size_t g = 0; g < s->ngroup_by; g++) {
		c->rec_goff[g] = NO_OFFSET;
		if (is_build(c, s->group_by[g].party)) {
			c->rec_goff[g] = off;
			off += sizeof(uint32_t);
		}
	}
	for (size_t a = 0; a < s->nagg; a++) {
		c->rec_aoff[a] = NO_OFFSET;
		if (!is_build(c, s->agg[a].col.party))
			continue;
		if (s->agg[a].fn == SB_AGG_SUM || s->agg[a].fn == SB_AGG_AVG) {
			c->rec_aoff[a] = off;
			off += sizeof(sb_i128);
		} else if (s->agg[a].fn == SB_AGG_COUNT_DISTINCT && !c->agg_on_join[a]) {
			c->rec_aoff[a] = off;
			off += sizeof(uint32_t);
		}
	}
	c->rec_len = off;
}

SB_RESULT sb_collab_new(const struct sb_collab_spec *spec, struct sb_collab **out)
{
	struct sb_collab *c = NULL;
	sb_result rc;

	SB_ENSURE(spec != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_collab_spec_check(spec));
	SB_GUARD(sb_calloc(1, sizeof(*c), (void **)&c));
	c->spec = spec;
	c->build = -1;
	c->threshold = sb_collab_threshold(spec);
	sb_csv_fields_init(&c->fields);
	c->norm = SB_BUF_INIT_SECRET(SB_CSV_LINE_MAX);
	c->heads = SB_BUF_INIT((size_t)MAX_KEYS * sizeof(uint32_t));
	c->rows = SB_BUF_INIT_SECRET(SIZE_MAX / 2);
	c->gstate_len = sizeof(struct sb_collab_group_head) + spec->nagg * sizeof(sb_i128);
	c->gstate = SB_BUF_INIT_SECRET((size_t)SB_COLLAB_MAX_GROUPS * c->gstate_len);
	for (uint32_t p = 0; p < SB_COLLAB_PARTIES; p++)
		sb_collab_table_init(&c->side[p].table, spec, p);
	for (size_t a = 0; a < spec->nagg; a++)
		c->agg_on_join[a] =
			spec->agg[a].fn == SB_AGG_COUNT_DISTINCT &&
			strcmp(spec->agg[a].col.column, spec->rule[spec->agg[a].col.party].join) == 0;
	SB_GUARD_GOTO(rc, sb_dict_init(&c->keys, MAX_KEYS), fail);
	SB_GUARD_GOTO(rc, sb_dict_init(&c->groups, SB_COLLAB_MAX_GROUPS), fail);
	/* The query's columns only; the others stay zeroed (cleanup is a no-op on them). */
	for (size_t g = 0; g < spec->ngroup_by; g++)
		SB_GUARD_GOTO(rc, sb_dict_init(&c->gvals[g], MAX_VALUES), fail);
	for (size_t a = 0; a < spec->nagg; a++)
		if (spec->agg[a].fn == SB_AGG_COUNT_DISTINCT && !c->agg_on_join[a])
			SB_GUARD_GOTO(rc, sb_dict_init(&c->dvals[a], MAX_VALUES), fail);
	SB_GUARD_GOTO(rc, sb_u64set_init(&c->group_keys, MAX_PAIRS), fail);
	SB_GUARD_GOTO(rc, sb_u64set_init(&c->distinct, MAX_PAIRS), fail);
	*out = c;
	return SB_OK_RESULT;
fail:
	sb_collab_free(c);
	return rc;
}

void sb_collab_free(struct sb_collab *c)
{
	if (c == NULL)
		return;
	sb_csv_fields_cleanup(&c->fields);
	sb_buf_cleanup(&c->norm);
	sb_dict_cleanup(&c->keys);
	sb_buf_cleanup(&c->heads);
	sb_buf_cleanup(&c->rows);
	for (size_t g = 0; g < SB_COLLAB_MAX_GROUP_BY; g++)
		sb_dict_cleanup(&c->gvals[g]);
	for (size_t a = 0; a < SB_COLLAB_MAX_AGGREGATES; a++)
		sb_dict_cleanup(&c->dvals[a]);
	sb_dict_cleanup(&c->groups);
	sb_buf_cleanup(&c->gstate);
	sb_u64set_cleanup(&c->group_keys);
	sb_u64set_cleanup(&c->distinct);
	free(c);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* A build row: kept under its key (a row whose key is empty never joins). */
static SB_RESULT build_row(struct sb_collab *c, uint32_t party, const struct sb_decimal *num)
{
	const struct sb_collab_spec *s = c->spec;
	const struct sb_collab_table *t = &c->side[party].table;
	const struct sb_csv_fields *f = &c->fields;
	uint32_t key, head;
	bool added;
	uint8_t *rec;

	SB_GUARD(sb_collab_key_normalise(f->field[t->join_col], &c->norm));
	if (c->norm.len == 0)
		return SB_OK_RESULT;
	SB_GUARD(sb_dict_intern(&c->keys, sb_buf_slice(&c->norm), &key, &added));
	if (added) {
		head = NO_ROW;
		SB_GUARD(sb_buf_append(&c->heads, &head, sizeof(head)));
	}
	SB_GUARD(sb_buf_reserve(&c->rows, c->rec_len));
	rec = c->rows.data + c->rows.len;
	memset(rec, 0, c->rec_len);
	put_u32(rec, key);
	put_u32(rec + 4, get_u32(c->heads.data + (size_t)key * 4));
	for (size_t g = 0; g < s->ngroup_by; g++) {
		uint32_t id;
		if (c->rec_goff[g] == NO_OFFSET)
			continue;
		SB_GUARD(sb_dict_intern(&c->gvals[g], f->field[t->group_col[g]], &id, NULL));
		put_u32(rec + c->rec_goff[g], id);
	}
	for (size_t a = 0; a < s->nagg; a++) {
		uint32_t id;
		if (c->rec_aoff[a] == NO_OFFSET)
			continue;
		if (s->agg[a].fn == SB_AGG_COUNT_DISTINCT) {
			SB_GUARD(sb_dict_intern(&c->dvals[a], f->field[t->agg_col[a]], &id, NULL));
			put_u32(rec + c->rec_aoff[a], id);
		} else {
			memcpy(rec + c->rec_aoff[a], &num[a].units, sizeof(num[a].units));
		}
	}
	SB_GUARD(sb_buf_commit(&c->rows, c->rows.len + c->rec_len));
	put_u32(c->heads.data + (size_t)key * 4, ++c->nrows);
	return SB_OK_RESULT;
}

/* The probe row's own part of a joined row: its group value ids and aggregate inputs. */
struct probe_part {
	uint32_t gid[SB_COLLAB_MAX_GROUP_BY];
	uint32_t vid[SB_COLLAB_MAX_AGGREGATES];
	const struct sb_decimal *num;
};

static SB_RESULT probe_part(struct sb_collab *c, uint32_t party, const struct sb_decimal *num,
			    struct probe_part *pp)
{
	const struct sb_collab_spec *s = c->spec;
	const struct sb_collab_table *t = &c->side[party].table;

	pp->num = num;
	for (size_t g = 0; g < s->ngroup_by; g++)
		if (c->rec_goff[g] == NO_OFFSET)
			SB_GUARD(sb_dict_intern(&c->gvals[g], c->fields.field[t->group_col[g]],
						&pp->gid[g], NULL));
	for (size_t a = 0; a < s->nagg; a++)
		if (s->agg[a].col.party == party && s->agg[a].fn == SB_AGG_COUNT_DISTINCT &&
		    !c->agg_on_join[a])
			SB_GUARD(sb_dict_intern(&c->dvals[a], c->fields.field[t->agg_col[a]],
						&pp->vid[a], NULL));
	return SB_OK_RESULT;
}

/* The group of a joined row (created empty when new). */
static SB_RESULT group_of(struct sb_collab *c, const uint8_t *rec, const struct probe_part *pp,
			  uint32_t *gid)
{
	uint32_t tuple[SB_COLLAB_MAX_GROUP_BY];
	size_t n = c->spec->ngroup_by;
	bool added;

	for (size_t g = 0; g < n; g++)
		tuple[g] = c->rec_goff[g] == NO_OFFSET ? pp->gid[g] : get_u32(rec + c->rec_goff[g]);
	SB_GUARD(sb_dict_intern(&c->groups, SB_SLICE(tuple, n * sizeof(uint32_t)), gid, &added));
	if (added) {
		SB_GUARD(sb_buf_reserve(&c->gstate, c->gstate_len));
		memset(c->gstate.data + c->gstate.len, 0, c->gstate_len);
		SB_GUARD(sb_buf_commit(&c->gstate, c->gstate.len + c->gstate_len));
	}
	return SB_OK_RESULT;
}

/* Folds one joined row (build record rec, probe part pp) into its group. */
static SB_RESULT fold(struct sb_collab *c, uint32_t party, const uint8_t *rec,
		      const struct probe_part *pp)
{
	const struct sb_collab_spec *s = c->spec;
	uint32_t gid, key = get_u32(rec);
	struct sb_collab_group_head head;
	bool added;

	SB_GUARD(group_of(c, rec, pp, &gid));
	uint8_t *st = sb_collab_gstate(c, gid);
	memcpy(&head, st, sizeof(head));
	head.rows++;
	SB_GUARD(sb_u64set_add(&c->group_keys, (uint64_t)gid << 32 | key, &added));
	head.keys += added;
	memcpy(st, &head, sizeof(head));
	for (size_t a = 0; a < s->nagg; a++) {
		uint8_t *acc = st + sizeof(head) + a * sizeof(sb_i128);
		struct sb_decimal sum, x;
		bool mine = s->agg[a].col.party == party;
		switch (s->agg[a].fn) {
		case SB_AGG_COUNT:
			break;
		case SB_AGG_SUM:
		case SB_AGG_AVG:
			if (mine)
				x = pp->num[a];
			else
				memcpy(&x.units, rec + c->rec_aoff[a], sizeof(x.units));
			memcpy(&sum.units, acc, sizeof(sum.units));
			SB_GUARD(sb_decimal_add(&sum, &x));
			memcpy(acc, &sum.units, sizeof(sum.units));
			break;
		case SB_AGG_COUNT_DISTINCT: {
			uint32_t v = c->agg_on_join[a] ? key
				     : mine            ? pp->vid[a]
						       : get_u32(rec + c->rec_aoff[a]);
			SB_GUARD(sb_u64set_add(&c->distinct,
					       (uint64_t)a << 58 | (uint64_t)gid << 32 | v, &added));
			if (added) {
				memcpy(&sum.units, acc, sizeof(sum.units));
				sum.units++;
				memcpy(acc, &sum.units, sizeof(sum.units));
			}
			break;
		}
		default:
			SB_BAIL(SB_ERR_INTERNAL);
		}
	}
	return SB_OK_RESULT;
}

/* A probe row: joined with every build row of its key. */
static SB_RESULT probe_row(struct sb_collab *c, uint32_t party, const struct sb_decimal *num)
{
	const struct sb_collab_table *t = &c->side[party].table;
	struct probe_part pp;
	uint32_t key, r;

	SB_GUARD(sb_collab_key_normalise(c->fields.field[t->join_col], &c->norm));
	if (c->norm.len == 0 || !sb_dict_find(&c->keys, sb_buf_slice(&c->norm), &key))
		return SB_OK_RESULT;
	SB_GUARD(probe_part(c, party, num, &pp));
	for (r = get_u32(c->heads.data + (size_t)key * 4); r != NO_ROW;) {
		const uint8_t *rec = c->rows.data + (size_t)(r - 1) * c->rec_len;
		SB_GUARD(fold(c, party, rec, &pp));
		r = get_u32(rec + 4);
	}
	return SB_OK_RESULT;
}

static SB_RESULT line(struct sb_collab *c, uint32_t party, struct sb_slice text)
{
	struct sb_collab_side *side = &c->side[party];
	struct sb_decimal num[SB_COLLAB_MAX_AGGREGATES];
	sb_result rc;

	if (c->build < 0) {
		c->build = (int)party;
		layout(c);
	}
	SB_ENSURE_MSG(is_build(c, party) || c->side[c->build].done, SB_ERR_BAD_STATE,
		      "party %s: its input began before party %s's ended",
		      c->spec->rule[party].party, c->spec->rule[c->build].party);
	rc = sb_csv_split(&c->fields, text);
	if (!sb_ok(rc)) {
		if (side->table.have_header)
			sb_error_context("party %s, row %zu", c->spec->rule[party].party,
					 side->table.rows + 1);
		else
			sb_error_context("party %s, header", c->spec->rule[party].party);
		return rc;
	}
	if (!side->table.have_header)
		return sb_collab_table_header(&side->table, &c->fields);
	SB_GUARD(sb_collab_table_row(&side->table, &c->fields, num));
	rc = is_build(c, party) ? build_row(c, party, num) : probe_row(c, party, num);
	sb_wipe(num, sizeof(num));
	return rc;
}

SB_RESULT sb_collab_line(struct sb_collab *c, uint32_t party, struct sb_slice text)
{
	SB_ENSURE(c != NULL && party < SB_COLLAB_PARTIES, SB_ERR_INVALID_ARG);
	SB_ENSURE_MSG(!c->side[party].done, SB_ERR_BAD_STATE, "party %s: a line after the end",
		      c->spec->rule[party].party);
	return line(c, party, text);
}

SB_RESULT sb_collab_end(struct sb_collab *c, uint32_t party)
{
	SB_ENSURE(c != NULL && party < SB_COLLAB_PARTIES, SB_ERR_INVALID_ARG);
	SB_GUARD(sb_collab_table_end(&c->side[party].table));
	c->side[party].done = true;
	return SB_OK_RESULT;
}
