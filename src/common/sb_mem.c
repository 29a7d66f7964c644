#include "common/sb_mem.h"

#include <errno.h>
#include <pthread.h>
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

/*
 * Secret pages are recycled: mmap and munmap for every secret buffer cost a
 * TLB shootdown across the threads of a busy server (sealbid-kms lost a
 * third of its Decrypt rate). Freed mappings of up to SB_SECRET_CLASSES
 * power-of-two page counts are wiped and kept, SB_SECRET_KEEP per class and
 * SB_SECRET_KEEP_BYTES in all, still MADV_DONTDUMP; others are unmapped.
 */
#define SB_SECRET_CLASSES    8u /* 1, 2, 4 ... 128 pages */
#define SB_SECRET_KEEP       64u
#define SB_SECRET_KEEP_BYTES (4u * 1024u * 1024u)

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static void *secret_pool[SB_SECRET_CLASSES][SB_SECRET_KEEP];
static size_t secret_pooled[SB_SECRET_CLASSES];
static size_t secret_pooled_bytes;

static size_t page_size(void)
{
	long n = sysconf(_SC_PAGESIZE);
	return n > 0 ? (size_t)n : 4096u;
}

/* The size class holding n bytes, SB_SECRET_CLASSES when none; *out_len its size. */
static unsigned secret_class(size_t n, size_t *out_len)
{
	size_t page = page_size(), len = page;
	unsigned k = 0;

	while (len < n && k < SB_SECRET_CLASSES) {
		len *= 2;
		k++;
	}
	*out_len = len;
	return k;
}

static void *secret_pool_take(unsigned k, size_t len)
{
	void *p = NULL;

	if (k >= SB_SECRET_CLASSES)
		return NULL;
	pthread_mutex_lock(&secret_lock);
	if (secret_pooled[k] > 0) {
		p = secret_pool[k][--secret_pooled[k]];
		secret_pooled_bytes -= len;
	}
	pthread_mutex_unlock(&secret_lock);
	return p;
}

static bool secret_pool_put(unsigned k, size_t len, void *p)
{
	bool kept = false;

	if (k >= SB_SECRET_CLASSES)
		return false;
	pthread_mutex_lock(&secret_lock);
	if (secret_pooled[k] < SB_SECRET_KEEP &&
	    secret_pooled_bytes + len <= SB_SECRET_KEEP_BYTES) {
		secret_pool[k][secret_pooled[k]++] = p;
		secret_pooled_bytes += len;
		kept = true;
	}
	pthread_mutex_unlock(&secret_lock);
	return kept;
}

SB_RESULT sb_secret_alloc(size_t n, void **out, size_t *out_cap)
{
	size_t page = page_size(), cap;
	unsigned k;
	void *p;

	SB_ENSURE_REF(out);
	SB_ENSURE_REF(out_cap);
	k = secret_class(n, &cap);
	if (k >= SB_SECRET_CLASSES) {
		SB_GUARD(sb_add_size(n, page - 1, &cap));
		cap -= cap % page;
	}
	p = secret_pool_take(k, cap);
	if (p == NULL) {
		p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		SB_ENSURE(p != MAP_FAILED, SB_ERR_NOMEM);
		if (madvise(p, cap, MADV_DONTDUMP) != 0) {
			int e = errno;
			munmap(p, cap);
			SB_BAIL_MSG(SB_ERR_INTERNAL, "madvise(MADV_DONTDUMP): %s", strerror(e));
		}
	}
	*out = p;
	*out_cap = cap;
	return SB_OK_RESULT;
}

void sb_secret_free(void *p, size_t n)
{
	size_t len;
	unsigned k;

	if (p == NULL)
		return;
	sb_wipe(p, n);
	/* n may be below the mapping's size (a buffer's cap is at most its max
	 * + 1), never below the next smaller class: the class is the same. */
	k = secret_class(n, &len);
	if (secret_pool_put(k, len, p))
		return;
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
