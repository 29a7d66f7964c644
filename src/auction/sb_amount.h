/*
 * Bid amounts: non-negative decimals ("100000", "1250.50", "0.5"),
 * compared exactly as decimal strings — no floating point, no overflow.
 * Accepted grammar: DIGIT+ [ "." DIGIT+ ], at most SB_AMOUNT_MAX_DIGITS
 * digits; no sign, exponent, whitespace or separators. A parse error
 * never echoes the text (it may be a plaintext bid); its detail says what
 * is wrong ("amount is longer than 64 digits") without the error table's
 * message, so a caller adds the row and the detail, not the message again.
 */
#ifndef SB_AMOUNT_H
#define SB_AMOUNT_H

#include <stdint.h>

#include "common/sb_buf.h"

#define SB_AMOUNT_MAX_DIGITS 64
#define SB_AMOUNT_MAX_CHARS  (SB_AMOUNT_MAX_DIGITS + 1) /* the longest text: digits and a '.' */

/* Normalised: no leading zeros in the integer part ("0" kept), no trailing
 * zeros in the fraction; digits[] holds int part then fraction part. */
struct sb_amount {
	uint8_t int_len;
	uint8_t frac_len;
	char digits[SB_AMOUNT_MAX_DIGITS];
};

SB_RESULT sb_amount_parse(struct sb_slice text, struct sb_amount *out);
/* <0, 0, >0 as a is less than, equal to, greater than b. */
int sb_amount_cmp(const struct sb_amount *a, const struct sb_amount *b);
/* Appends the normalised decimal text. */
SB_RESULT sb_amount_format(const struct sb_amount *a, struct sb_buf *out);
/* Wipes the amount (it is a plaintext bid). */
void sb_amount_wipe(struct sb_amount *a);

#endif
