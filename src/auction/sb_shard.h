/*
 * Sharding a job by property (docs/FORMATS.md, "Shards"; issue 12).
 *
 * A manifest may declare "shards": N (1..SB_SHARD_MAX). Property id p
 * belongs to shard
 *
 *   SHA-256(p) read as a big-endian 256-bit unsigned integer, mod N
 *
 * (p is the id's bytes exactly as in the input, no terminator). Every shard
 * K in 0..N-1 runs on its own enclave and computes only its properties; the
 * shards' outputs are disjoint and `sealbid merge` recombines them.
 *
 * Vectors (also in tests/unit/test_auction_shard.c):
 *   SHA-256("1") = 6b86b273...875b4b: mod 4 = 3, mod 7 = 1, mod 4096 = 0xb4b = 2891
 *   "42" mod 4 = 1; "property-17" mod 3 = 1
 */
#ifndef SB_SHARD_H
#define SB_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_SHARD_MAX 4096u

/* The shard (0..n-1) of a property id; n must be 1..SB_SHARD_MAX. */
SB_RESULT sb_shard_of(struct sb_slice property, uint32_t n, uint32_t *out);
/* Whether shard k of n owns the property (false on any error). */
bool sb_shard_owns(struct sb_slice property, uint32_t k, uint32_t n);
/* Checks "k is a shard of a job with n shards", with a clear message. */
SB_RESULT sb_shard_check(uint32_t k, uint32_t n);

#endif
