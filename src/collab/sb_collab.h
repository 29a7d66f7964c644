/*
 * The join-aggregate computation (docs/FORMATS.md, "join-aggregate"): pure
 * computation over two parties' plaintext CSV lines, no I/O.
 *
 * The party whose input starts first is the build side: its rows are kept
 * (join key, the query's group values and aggregate inputs only) in a hash
 * table on the normalised join key. The other party's rows stream through
 * once its input starts, which must be after the build side's ended: each
 * row is joined with the build rows of its key (an inner join; duplicate
 * keys multiply, as in SQL) and folded into its group at once. Memory: the
 * build side plus the groups (the runner sends the smaller input first).
 *
 * Each group counts its distinct join keys; a group with fewer than the
 * largest of the parties' min_distinct_keys is left out of the output, which
 * says how many were (never which). Sums are exact decimals (sb_decimal).
 * All values are a party's plaintext: they are kept in secret memory and
 * wiped on free, and errors never contain them.
 */
#ifndef SB_COLLAB_H
#define SB_COLLAB_H

#include "collab/sb_collab_spec.h"

#define SB_COLLAB_MAX_GROUPS (1u << 24)

struct sb_collab;

/* spec is borrowed for the computation's life and must pass sb_collab_spec_check. */
SB_RESULT sb_collab_new(const struct sb_collab_spec *spec, struct sb_collab **out);
void sb_collab_free(struct sb_collab *c);
/* The next line of party's CSV (without its LF): the header first, then rows. */
SB_RESULT sb_collab_line(struct sb_collab *c, uint32_t party, struct sb_slice line);
/* party's input is complete (a header and at least one row). */
SB_RESULT sb_collab_end(struct sb_collab *c, uint32_t party);
/* Appends output.csv (both inputs complete); nothing is appended on failure. */
SB_RESULT sb_collab_write_csv(const struct sb_collab *c, struct sb_buf *out);

#endif
