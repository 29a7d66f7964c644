/*
 * How the enclave divides its KMS work (kms_budget.c).
 *
 * The budget: the total number of KMS connections the enclave may hold open
 * at once, across every job and every decrypt worker. The parent's stock
 * vsock-proxy serves --num_workers connections at a time (default 4) and
 * leaves the rest waiting unserved, so a TLS handshake queued behind busy
 * connections times out and one failed row fails the job. The cap is part
 * of the enclave's measured configuration (--kms-max-connections, default
 * SB_KMS_BUDGET_DEFAULT = the proxy's default) and docs/DEPLOY.md says how
 * to raise both together.
 *
 * A holder takes connections with sb_kms_budget_take (at least one, waiting
 * for it, at most what it asks for), opens at most that many, closes them
 * all, then gives the same number back. A holder takes once and never waits
 * for more while it holds some, so holders cannot deadlock each other.
 *
 * The split helpers are pure: rows into contiguous ranges, connections into
 * per-worker shares.
 */
#ifndef SB_KMS_BUDGET_H
#define SB_KMS_BUDGET_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define SB_KMS_BUDGET_DEFAULT 4u  /* the stock vsock-proxy's --num_workers default */
#define SB_KMS_BUDGET_MAX     64u /* one multi handle's limit (sb_http_multi_new) */

/* Caller storage: sb_kms_budget_init / sb_kms_budget_cleanup. */
struct sb_kms_budget {
	pthread_mutex_t lock;
	pthread_cond_t freed;
	uint32_t total;  /* 1..SB_KMS_BUDGET_MAX */
	uint32_t in_use;
	uint32_t peak;   /* the most ever held at once (logged, tested) */
};

/* total is clamped to 1..SB_KMS_BUDGET_MAX (callers check the range first). */
void sb_kms_budget_init(struct sb_kms_budget *b, uint32_t total);
void sb_kms_budget_cleanup(struct sb_kms_budget *b);
/* Waits until one is free; returns how many were taken: 1..min(want, total). */
uint32_t sb_kms_budget_take(struct sb_kms_budget *b, uint32_t want);
/* Gives back n taken by one sb_kms_budget_take. */
void sb_kms_budget_give(struct sb_kms_budget *b, uint32_t n);
uint32_t sb_kms_budget_peak(struct sb_kms_budget *b);

/*
 * Range i of n rows split into parts contiguous ranges (parts >= 1): sizes
 * differ by at most one, every row in exactly one range, none empty when
 * parts <= n.
 */
void sb_kms_split_range(size_t n, size_t parts, size_t i, size_t *off, size_t *len);
/* Share i of conns connections split over workers (1 <= workers <= conns): >= 1 each. */
uint32_t sb_kms_split_share(uint32_t conns, uint32_t workers, uint32_t i);

#endif
