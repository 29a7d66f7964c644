#include "common/sb_mem.h"

#include <stdlib.h>
#include <string.h>

void sb_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		explicit_bzero(p, n);
}

bool sb_ct_equal(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a;
	const volatile uint8_t *y = b;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc = (uint8_t)(acc | (x[i] ^ y[i]));
	return acc == 0;
}

SB_RESULT sb_calloc(size_t n, size_t size, void **out)
{
	size_t total;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_mul_size(n, size, &total));
	*out = calloc(1, total == 0 ? 1 : total);
	SB_ENSURE(*out != NULL, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

void sb_free_secret(void *p, size_t n)
{
	if (p == NULL)
		return;
	sb_wipe(p, n);
	free(p);
}

SB_RESULT sb_add_size(size_t a, size_t b, size_t *out)
{
	SB_ENSURE(!__builtin_add_overflow(a, b, out), SB_ERR_OVERFLOW);
	return SB_OK_RESULT;
}

SB_RESULT sb_mul_size(size_t a, size_t b, size_t *out)
{
	SB_ENSURE(!__builtin_mul_overflow(a, b, out), SB_ERR_OVERFLOW);
	return SB_OK_RESULT;
}
