/*
 * Memory helpers: secure wipe, constant-time comparison, checked
 * allocation. Secrets are wiped with sb_wipe (explicit_bzero, which the
 * compiler may not elide, the same guarantee as OPENSSL_cleanse).
 */
#ifndef SB_MEM_H
#define SB_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_result.h"

void sb_wipe(void *p, size_t n);
/* Constant time in n: true when equal. */
bool sb_ct_equal(const void *a, const void *b, size_t n);
/* calloc(n, size) with overflow check; caller frees. */
SB_RESULT sb_calloc(size_t n, size_t size, void **out);
/* Wipes n bytes then frees p (NULL-safe). */
void sb_free_secret(void *p, size_t n);
/* a + b and a * b with overflow checks. */
SB_RESULT sb_add_size(size_t a, size_t b, size_t *out);
SB_RESULT sb_mul_size(size_t a, size_t b, size_t *out);

/*
 * Secret memory: whole pages of their own (an anonymous private mapping),
 * excluded from core dumps (MADV_DONTDUMP), so a crash or gcore of the
 * process does not write keys or plaintext to disk. *out_cap receives n
 * rounded up to the page size (> 0). Caller frees with sb_secret_free.
 */
SB_RESULT sb_secret_alloc(size_t n, void **out, size_t *out_cap);
/* Wipes the first n bytes (those ever written) and unmaps every page of
 * the allocation; n is at most sb_secret_alloc's *out_cap. NULL-safe. */
void sb_secret_free(void *p, size_t n);

/*
 * Makes this process non-dumpable (prctl PR_SET_DUMPABLE 0): no core file,
 * no ptrace attach or /proc/PID/mem read by other processes of the same
 * user (its /proc files become root-owned). Called first thing by every
 * binary that holds secrets (sealbid-enclave, sealbid-kms).
 */
SB_RESULT sb_process_protect(void);

#endif
