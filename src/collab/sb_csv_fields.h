/*
 * One line of a dataset CSV split into fields (RFC 4180, one line at a
 * time): fields are separated by ','; a field that starts with '"' is quoted,
 * ends at the next lone '"' and may hold ',' and doubled quotes; a quoted
 * field must be followed by ',' or the end of the line. A quote inside an
 * unquoted field, an unterminated quoted field (a field cannot span lines)
 * and more than SB_CSV_MAX_FIELDS fields are errors. The line comes without
 * its LF (a trailing CR is removed here).
 *
 * Fields point into the line or, for quoted fields with doubled quotes, into
 * the splitter's scratch buffer (secret: it holds a party's plaintext).
 * Errors never contain field text.
 */
#ifndef SB_CSV_FIELDS_H
#define SB_CSV_FIELDS_H

#include <stddef.h>

#include "common/sb_buf.h"

#define SB_CSV_MAX_FIELDS 256
#define SB_CSV_LINE_MAX   (64u << 10)

struct sb_csv_fields {
	size_t n;
	struct sb_slice field[SB_CSV_MAX_FIELDS];
	struct sb_buf scratch; /* secret; unescaped quoted fields */
};

void sb_csv_fields_init(struct sb_csv_fields *f);
/* Wipes the scratch buffer. */
void sb_csv_fields_cleanup(struct sb_csv_fields *f);
/* Splits line; the fields stay valid until the next split or cleanup. */
SB_RESULT sb_csv_split(struct sb_csv_fields *f, struct sb_slice line);
/* Appends v as one CSV field, quoted only if it holds , " CR LF or starts/ends with a space. */
SB_RESULT sb_csv_put_field(struct sb_buf *out, struct sb_slice v);

#endif
