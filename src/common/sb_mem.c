#include "common/sb_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

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

static size_t page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);
	return n > 0 ? (size_t)n : 4096u;
}

SB_RESULT sb_secret_alloc(size_t n, void **out, size_t *out_cap)
{
	size_t page = page_size(), cap;
	void *p;

	SB_ENSURE_REF(out);
	SB_ENSURE_REF(out_cap);
	SB_GUARD(sb_add_size(n == 0 ? 1 : n, page - 1, &cap));
	cap -= cap % page;
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	SB_ENSURE(p != MAP_FAILED, SB_ERR_NOMEM);
	if (madvise(p, cap, MADV_DONTDUMP) != 0) {
		int e = errno;
		munmap(p, cap);
		SB_BAIL_MSG(SB_ERR_INTERNAL, "madvise(MADV_DONTDUMP): %s", strerror(e));
	}
	*out = p;
	*out_cap = cap;
	return SB_OK_RESULT;
}

void sb_secret_free(void *p, size_t n)
{
	if (p == NULL)
		return;
	sb_wipe(p, n);
	/* "All pages containing a part of the indicated range are unmapped" (munmap(2)). */
	(void)munmap(p, n == 0 ? 1 : n);
}

SB_RESULT sb_process_protect(void)
{
	SB_ENSURE_MSG(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0, SB_ERR_INTERNAL,
		      "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
	SB_ENSURE_MSG(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0, SB_ERR_INTERNAL,
		      "the process is still dumpable");
	return SB_OK_RESULT;
}
