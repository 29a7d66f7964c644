/* The join-aggregate state, shared by sb_collab.c (the join) and
 * sb_collab_out.c (output.csv). */
#ifndef SB_COLLAB_INTERNAL_H
#define SB_COLLAB_INTERNAL_H

#include "collab/sb_collab.h"
#include "collab/sb_collab_dict.h"
#include "collab/sb_collab_table.h"

#define NO_OFFSET SIZE_MAX

struct sb_collab_side {
	struct sb_collab_table table;
	bool done;
};

struct sb_collab {
	const struct sb_collab_spec *spec;
	uint32_t threshold;
	struct sb_csv_fields fields;
	struct sb_buf norm; /* secret: a normalised join key */
	struct sb_collab_side side[SB_COLLAB_PARTIES];
	int build;          /* the build side's party, -1 before the first line */
	/* The build side: rows chained per join key. */
	struct sb_dict keys;
	struct sb_buf heads; /* per key id: uint32 first row + 1 (0: none) */
	struct sb_buf rows;  /* secret: records of rec_len bytes */
	size_t rec_len;
	size_t rec_goff[SB_COLLAB_MAX_GROUP_BY];   /* per query group column, NO_OFFSET if the probe's */
	size_t rec_aoff[SB_COLLAB_MAX_AGGREGATES]; /* per query aggregate, NO_OFFSET if none kept */
	uint32_t nrows;
	/* Values by query position. */
	struct sb_dict gvals[SB_COLLAB_MAX_GROUP_BY];
	struct sb_dict dvals[SB_COLLAB_MAX_AGGREGATES]; /* count_distinct of a non-join column */
	bool agg_on_join[SB_COLLAB_MAX_AGGREGATES];     /* count_distinct of a join column: the key id */
	/* Groups: the tuple of group value ids -> group id; per group a state record. */
	struct sb_dict groups;
	struct sb_buf gstate; /* secret: per group, struct group_head then nagg sb_i128 */
	size_t gstate_len;
	struct sb_u64set group_keys; /* (group << 32 | key) counted */
	struct sb_u64set distinct;   /* (aggregate << 58 | group << 32 | value) counted */
};

struct sb_collab_group_head {
	uint64_t rows;
	uint64_t keys;
};

/* A group's state record. */
static inline uint8_t *sb_collab_gstate(const struct sb_collab *c, uint32_t gid)
{
	return c->gstate.data + (size_t)gid * c->gstate_len;
}

#endif
