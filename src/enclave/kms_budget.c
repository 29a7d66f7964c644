/* The enclave's KMS connection budget and work split (kms_budget.h). */
#include "enclave/kms_budget.h"

#include <stdlib.h>

void sb_kms_budget_init(struct sb_kms_budget *b, uint32_t total)
{
	if (total < 1)
		total = 1;
	if (total > SB_KMS_BUDGET_MAX)
		total = SB_KMS_BUDGET_MAX;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->freed, NULL);
	b->total = total;
	b->in_use = 0;
	b->peak = 0;
}

void sb_kms_budget_cleanup(struct sb_kms_budget *b)
{
	if (b == NULL)
		return;
	pthread_cond_destroy(&b->freed);
	pthread_mutex_destroy(&b->lock);
}

uint32_t sb_kms_budget_take(struct sb_kms_budget *b, uint32_t want)
{
	uint32_t got;

	if (want < 1)
		want = 1;
	pthread_mutex_lock(&b->lock);
	while (b->in_use >= b->total)
		pthread_cond_wait(&b->freed, &b->lock);
	got = b->total - b->in_use;
	if (got > want)
		got = want;
	b->in_use += got;
	if (b->in_use > b->peak)
		b->peak = b->in_use;
	pthread_mutex_unlock(&b->lock);
	return got;
}

void sb_kms_budget_give(struct sb_kms_budget *b, uint32_t n)
{
	pthread_mutex_lock(&b->lock);
	/* Giving back more than was taken is a broken caller, not bad input. */
	if (n > b->in_use)
		abort();
	b->in_use -= n;
	pthread_cond_broadcast(&b->freed);
	pthread_mutex_unlock(&b->lock);
}

uint32_t sb_kms_budget_peak(struct sb_kms_budget *b)
{
	uint32_t p;

	pthread_mutex_lock(&b->lock);
	p = b->peak;
	pthread_mutex_unlock(&b->lock);
	return p;
}

/*
 * The first n % parts ranges get one row more. (Ranges of ceil(n / parts)
 * rows each would start past the end for the last ones: 5 rows in 4 parts
 * would put range 3 at row 6.)
 */
void sb_kms_split_range(size_t n, size_t parts, size_t i, size_t *off, size_t *len)
{
	size_t base, extra;

	if (parts == 0 || i >= parts) {
		*off = n;
		*len = 0;
		return;
	}
	base = n / parts;
	extra = n % parts;
	*off = i * base + (i < extra ? i : extra);
	*len = base + (i < extra ? 1 : 0);
}

uint32_t sb_kms_split_share(uint32_t conns, uint32_t workers, uint32_t i)
{
	if (workers == 0 || i >= workers)
		return 0;
	return conns / workers + (i < conns % workers ? 1u : 0u);
}
