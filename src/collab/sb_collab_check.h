/*
 * A party's dataset CSV checked as a stream, before it is sealed (`sealbid
 * seal` for a join-aggregate job): lines split at LF whatever the chunking,
 * then sb_collab_table's checks (header, ragged rows, numeric columns). The
 * enclave checks the same again; this catches a bad file on the party's own
 * machine, before any KMS call. Errors name the row, never a value.
 */
#ifndef SB_COLLAB_CHECK_H
#define SB_COLLAB_CHECK_H

#include "collab/sb_collab_table.h"

struct sb_collab_check {
	struct sb_collab_table table;
	struct sb_csv_fields fields;
	struct sb_buf line; /* secret: the line not yet ended */
};

/* spec is borrowed. */
void sb_collab_check_init(struct sb_collab_check *c, const struct sb_collab_spec *spec,
			  uint32_t party);
void sb_collab_check_cleanup(struct sb_collab_check *c);
SB_RESULT sb_collab_check_feed(struct sb_collab_check *c, struct sb_slice chunk);
/* At the end: the last line, a header and at least one row. */
SB_RESULT sb_collab_check_end(struct sb_collab_check *c);

#endif
