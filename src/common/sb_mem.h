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

#endif
