/*
 * What a join-aggregate job computes (docs/FORMATS.md, "join-aggregate"):
 * each party's join column and analysis rule, and the query. The manifest
 * parser fills it; sb_collab_spec_check refuses a query that any party's
 * rule does not allow, naming the party and the column.
 *
 * A rule names the party's columns that may be grouped by, the columns that
 * may be aggregated and with which functions, and the party's minimum number
 * of distinct join keys per output group; the job applies the largest of
 * the parties' minimums (sb_collab_threshold). A party's rule governs its
 * own columns only.
 */
#ifndef SB_COLLAB_SPEC_H
#define SB_COLLAB_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_COLLAB_PARTIES        2
#define SB_COLLAB_NAME_MAX       64 /* party and column names, bytes */
#define SB_COLLAB_RULE_COLUMNS   64 /* per list of a rule */
#define SB_COLLAB_MAX_GROUP_BY   8
#define SB_COLLAB_MAX_AGGREGATES 16
#define SB_COLLAB_MIN_THRESHOLD  2
#define SB_COLLAB_MAX_THRESHOLD  100000

enum sb_agg_fn {
	SB_AGG_COUNT,
	SB_AGG_COUNT_DISTINCT,
	SB_AGG_SUM,
	SB_AGG_AVG,
	SB_AGG_FN_COUNT
};
#define SB_AGG_BIT(fn) (1u << (fn))

struct sb_collab_rule_agg {
	char column[SB_COLLAB_NAME_MAX + 1];
	uint32_t fns; /* SB_AGG_BIT set */
};

struct sb_collab_rule {
	char party[SB_COLLAB_NAME_MAX + 1];
	char join[SB_COLLAB_NAME_MAX + 1];
	char group_by[SB_COLLAB_RULE_COLUMNS][SB_COLLAB_NAME_MAX + 1];
	size_t ngroup_by;
	struct sb_collab_rule_agg agg[SB_COLLAB_RULE_COLUMNS];
	size_t nagg;
	uint32_t min_distinct_keys;
};

/* A column of one party. */
struct sb_collab_ref {
	uint32_t party;
	char column[SB_COLLAB_NAME_MAX + 1];
};

struct sb_collab_agg {
	enum sb_agg_fn fn;
	struct sb_collab_ref col;
};

struct sb_collab_spec {
	struct sb_collab_rule rule[SB_COLLAB_PARTIES];
	struct sb_collab_ref group_by[SB_COLLAB_MAX_GROUP_BY];
	size_t ngroup_by;
	struct sb_collab_agg agg[SB_COLLAB_MAX_AGGREGATES];
	size_t nagg;
};

/* "count", "count_distinct", "sum", "avg". */
const char *sb_agg_fn_name(enum sb_agg_fn fn);
SB_RESULT sb_agg_fn_parse(struct sb_slice name, enum sb_agg_fn *out);
/* A column name: 1..64 printable ASCII characters, no ',' or '"', no leading or trailing space. */
SB_RESULT sb_collab_column_check(struct sb_slice name);
/* Names, limits, no column listed twice in a rule, and the query against every rule. */
SB_RESULT sb_collab_spec_check(const struct sb_collab_spec *s);
/* The largest of the parties' min_distinct_keys. */
uint32_t sb_collab_threshold(const struct sb_collab_spec *s);

#endif
