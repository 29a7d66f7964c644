#include "auction/sb_amount.h"

#include <string.h>

#include "common/sb_mem.h"

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

SB_RESULT sb_amount_parse(struct sb_slice text, struct sb_amount *out)
{
	size_t i = 0, int_start, int_end, frac_start = 0, frac_end = 0;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(text.len > 0, SB_ERR_BAD_AMOUNT, "empty amount");
	/* Digits plus at most one '.': anything longer has too many digits or is not an amount. */
	SB_ENSURE_MSG(text.len <= SB_AMOUNT_MAX_CHARS, SB_ERR_BAD_AMOUNT,
		      "amount is longer than %d digits", SB_AMOUNT_MAX_DIGITS);
	while (i < text.len && is_digit(text.ptr[i]))
		i++;
	int_end = i;
	SB_ENSURE_MSG(int_end > 0, SB_ERR_BAD_AMOUNT, "amount must start with a digit");
	if (i < text.len) {
		SB_ENSURE_MSG(text.ptr[i] == '.', SB_ERR_BAD_AMOUNT, "amount has a non-digit");
		frac_start = ++i;
		while (i < text.len && is_digit(text.ptr[i]))
			i++;
		frac_end = i;
		SB_ENSURE_MSG(frac_end > frac_start, SB_ERR_BAD_AMOUNT, "no digits after '.'");
		SB_ENSURE_MSG(i == text.len, SB_ERR_BAD_AMOUNT, "amount has a non-digit");
	}
	SB_ENSURE_MSG(int_end + (frac_end - frac_start) <= SB_AMOUNT_MAX_DIGITS, SB_ERR_BAD_AMOUNT,
		      "amount is longer than %d digits", SB_AMOUNT_MAX_DIGITS);
	/* Normalise so equal values have equal digits. */
	int_start = 0;
	while (int_start + 1 < int_end && text.ptr[int_start] == '0')
		int_start++;
	while (frac_end > frac_start && text.ptr[frac_end - 1] == '0')
		frac_end--;
	memset(out, 0, sizeof(*out));
	out->int_len = (uint8_t)(int_end - int_start);
	out->frac_len = (uint8_t)(frac_end - frac_start);
	memcpy(out->digits, text.ptr + int_start, out->int_len);
	if (out->frac_len > 0)
		memcpy(out->digits + out->int_len, text.ptr + frac_start, out->frac_len);
	return SB_OK_RESULT;
}

int sb_amount_cmp(const struct sb_amount *a, const struct sb_amount *b)
{
	int c;
	size_t n;

	if (a->int_len != b->int_len)
		return a->int_len < b->int_len ? -1 : 1;
	c = memcmp(a->digits, b->digits, a->int_len);
	if (c != 0)
		return c < 0 ? -1 : 1;
	n = a->frac_len < b->frac_len ? a->frac_len : b->frac_len;
	c = memcmp(a->digits + a->int_len, b->digits + b->int_len, n);
	if (c != 0)
		return c < 0 ? -1 : 1;
	/* Normalised fractions: the longer one has a non-zero digit left. */
	if (a->frac_len != b->frac_len)
		return a->frac_len < b->frac_len ? -1 : 1;
	return 0;
}

SB_RESULT sb_amount_format(const struct sb_amount *a, struct sb_buf *out)
{
	SB_GUARD(sb_buf_append(out, a->digits, a->int_len));
	if (a->frac_len == 0)
		return SB_OK_RESULT;
	SB_GUARD(sb_buf_append_u8(out, '.'));
	return sb_buf_append(out, a->digits + a->int_len, a->frac_len);
}

void sb_amount_wipe(struct sb_amount *a)
{
	sb_wipe(a, sizeof(*a));
}
