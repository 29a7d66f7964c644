/*
 * Hash tables of the join: a dictionary that interns byte strings (join
 * keys, group values, distinct values; dense ids from 0 in first-seen order)
 * and a set of 64-bit numbers (which key or value a group has counted).
 * Open addressing with a per-table random seed, so a party cannot choose
 * values that all collide without knowing the seed. The strings are a
 * party's plaintext: they live in secret memory, wiped on cleanup.
 */
#ifndef SB_COLLAB_DICT_H
#define SB_COLLAB_DICT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

struct sb_dict {
	uint64_t *slots;      /* hash << 32 | (id + 1); 0 = empty (the hash's low 32 bits) */
	uint32_t mask;        /* slots - 1 (a power of two minus one), 0 before the first insert */
	uint32_t n;           /* entries */
	uint32_t max;         /* most entries allowed */
	uint64_t seed;
	struct sb_buf arena;  /* secret: the strings, back to back */
	struct sb_buf index;  /* secret: per id, uint64 (offset << 24 | length) */
};

#define SB_DICT_MAX_STRING ((1u << 24) - 1)

SB_RESULT sb_dict_init(struct sb_dict *d, uint32_t max_entries);
void sb_dict_cleanup(struct sb_dict *d);
/* The id of s, adding it (*added) if new; SB_ERR_COLLAB_LIMIT past max. */
SB_RESULT sb_dict_intern(struct sb_dict *d, struct sb_slice s, uint32_t *id, bool *added);
/* The id of s if present. */
bool sb_dict_find(const struct sb_dict *d, struct sb_slice s, uint32_t *id);
/* The string of id (< n); valid until the next intern. */
struct sb_slice sb_dict_get(const struct sb_dict *d, uint32_t id);

/* A set of uint64 values other than UINT64_MAX. */
struct sb_u64set {
	uint64_t *slots; /* UINT64_MAX = empty */
	size_t mask;
	size_t n;
	size_t max;
	uint64_t seed;
};

SB_RESULT sb_u64set_init(struct sb_u64set *s, size_t max_entries);
void sb_u64set_cleanup(struct sb_u64set *s);
/* Adds v; *added says whether it was new. */
SB_RESULT sb_u64set_add(struct sb_u64set *s, uint64_t v, bool *added);

#endif
