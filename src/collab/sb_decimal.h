/*
 * Exact decimal numbers for aggregates: signed fixed point with 6 decimals
 * in 128 bits, so sums are exact (no floating point) and overflow is an
 * error, never a wrap.
 *
 * Accepted text: [-]DIGIT+[.DIGIT+], at most SB_DECIMAL_INT_DIGITS integer
 * digits and SB_DECIMAL_FRAC_DIGITS decimals; no '+', exponent, spaces or
 * separators. A parse error never echoes the text (it is a party's
 * plaintext); its detail says what is wrong.
 *
 * Formats: sb_decimal_format writes the exact value normalised ("12",
 * "12.5", "-0.25", "0"); sb_decimal_format_avg writes sum / count rounded
 * half away from zero to SB_DECIMAL_AVG_DIGITS decimals, always with that
 * many ("12.50", "-0.33").
 */
#ifndef SB_DECIMAL_H
#define SB_DECIMAL_H

#include <stdint.h>

#include "common/sb_buf.h"

#define SB_DECIMAL_INT_DIGITS  18
#define SB_DECIMAL_FRAC_DIGITS 6
#define SB_DECIMAL_AVG_DIGITS  2
#define SB_DECIMAL_MAX_CHARS   (1 + SB_DECIMAL_INT_DIGITS + 1 + SB_DECIMAL_FRAC_DIGITS)

/* 128-bit integers (a GCC/Clang extension; -pedantic is told so). */
__extension__ typedef __int128 sb_i128;
__extension__ typedef unsigned __int128 sb_u128;

/* The value times 10^SB_DECIMAL_FRAC_DIGITS. */
struct sb_decimal {
	sb_i128 units;
};

SB_RESULT sb_decimal_parse(struct sb_slice text, struct sb_decimal *out);
/* acc += x; SB_ERR_NUMBER_RANGE (acc unchanged) past about 1.7e32. */
SB_RESULT sb_decimal_add(struct sb_decimal *acc, const struct sb_decimal *x);
SB_RESULT sb_decimal_format(const struct sb_decimal *d, struct sb_buf *out);
/* count must be > 0. */
SB_RESULT sb_decimal_format_avg(const struct sb_decimal *sum, uint64_t count, struct sb_buf *out);

#endif
