#include "collab/sb_decimal.h"

#include <string.h>

#define FRAC_SCALE 1000000 /* 10^SB_DECIMAL_FRAC_DIGITS */

SB_RESULT sb_decimal_parse(struct sb_slice text, struct sb_decimal *out)
{
	size_t i = 0, int_digits = 0, frac_digits = 0;
	bool neg = false;
	sb_i128 v = 0;

	SB_ENSURE_REF(out);
	if (i < text.len && text.ptr[i] == '-') {
		neg = true;
		i++;
	}
	for (; i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9'; i++, int_digits++)
		if (int_digits < SB_DECIMAL_INT_DIGITS)
			v = v * 10 + (text.ptr[i] - '0');
	SB_ENSURE_MSG(int_digits > 0, SB_ERR_BAD_DECIMAL, "not a number ([-]digits[.digits])");
	SB_ENSURE_MSG(int_digits <= SB_DECIMAL_INT_DIGITS, SB_ERR_BAD_DECIMAL,
		      "more than %d integer digits", SB_DECIMAL_INT_DIGITS);
	if (i < text.len && text.ptr[i] == '.') {
		for (i++; i < text.len && text.ptr[i] >= '0' && text.ptr[i] <= '9';
		     i++, frac_digits++)
			if (frac_digits < SB_DECIMAL_FRAC_DIGITS)
				v = v * 10 + (text.ptr[i] - '0');
		SB_ENSURE_MSG(frac_digits > 0, SB_ERR_BAD_DECIMAL, "no digits after the '.'");
		SB_ENSURE_MSG(frac_digits <= SB_DECIMAL_FRAC_DIGITS, SB_ERR_BAD_DECIMAL,
			      "more than %d decimals", SB_DECIMAL_FRAC_DIGITS);
	}
	SB_ENSURE_MSG(i == text.len, SB_ERR_BAD_DECIMAL, "not a number ([-]digits[.digits])");
	for (; frac_digits < SB_DECIMAL_FRAC_DIGITS; frac_digits++)
		v *= 10;
	out->units = neg ? -v : v;
	return SB_OK_RESULT;
}

SB_RESULT sb_decimal_add(struct sb_decimal *acc, const struct sb_decimal *x)
{
	sb_i128 r;

	SB_ENSURE(acc != NULL && x != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(!__builtin_add_overflow(acc->units, x->units, &r), SB_ERR_NUMBER_RANGE,
		      "a sum passed the exact range");
	acc->units = r;
	return SB_OK_RESULT;
}

/* Appends the decimal digits of v (>= 0), at least min_digits of them. */
static SB_RESULT put_digits(sb_u128 v, int min_digits, struct sb_buf *out)
{
	char tmp[48];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0 || n < min_digits);
	for (int i = n - 1; i >= 0; i--)
		SB_GUARD(sb_buf_append_u8(out, (uint8_t)tmp[i]));
	return SB_OK_RESULT;
}

static sb_u128 magnitude(sb_i128 v)
{
	return v < 0 ? (sb_u128)0 - (sb_u128)v : (sb_u128)v;
}

SB_RESULT sb_decimal_format(const struct sb_decimal *d, struct sb_buf *out)
{
	sb_u128 m;
	uint32_t frac;
	int digits = SB_DECIMAL_FRAC_DIGITS;

	SB_ENSURE(d != NULL && out != NULL, SB_ERR_NULL);
	m = magnitude(d->units);
	frac = (uint32_t)(m % FRAC_SCALE);
	if (d->units < 0)
		SB_GUARD(sb_buf_append_u8(out, '-'));
	SB_GUARD(put_digits(m / FRAC_SCALE, 1, out));
	if (frac == 0)
		return SB_OK_RESULT;
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	SB_GUARD(sb_buf_append_u8(out, '.'));
	return put_digits(frac, digits, out);
}

SB_RESULT sb_decimal_format_avg(const struct sb_decimal *sum, uint64_t count, struct sb_buf *out)
{
	/* In hundredths: |sum| / (count * 10^4), half away from zero. */
	sb_u128 d, q, r, m;

	SB_ENSURE(sum != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(count > 0, SB_ERR_INVALID_ARG, "average of nothing");
	m = magnitude(sum->units);
	d = (sb_u128)count * (FRAC_SCALE / 100);
	q = m / d;
	r = m % d;
	if (r >= d - r) /* 2r >= d without overflow */
		q++;
	if (sum->units < 0 && q != 0)
		SB_GUARD(sb_buf_append_u8(out, '-'));
	SB_GUARD(put_digits(q / 100, 1, out));
	SB_GUARD(sb_buf_append_u8(out, '.'));
	return put_digits(q % 100, SB_DECIMAL_AVG_DIGITS, out);
}
