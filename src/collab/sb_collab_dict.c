#include "collab/sb_collab_dict.h"

#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_random.h"

#define INDEX_LEN_BITS 24

static uint64_t mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

/* Seeded, 8 bytes at a time; every byte and the length reach the result. */
static uint64_t hash_bytes(uint64_t seed, struct sb_slice s)
{
	uint64_t h = seed ^ (s.len * 0x9e3779b97f4a7c15ull);
	size_t i = 0;

	for (; i + 8 <= s.len; i += 8) {
		uint64_t w;
		memcpy(&w, s.ptr + i, 8);
		h = mix(h ^ w) + 0x9e3779b97f4a7c15ull;
	}
	if (i < s.len) {
		uint64_t w = 0;
		memcpy(&w, s.ptr + i, s.len - i);
		h = mix(h ^ w ^ ((uint64_t)(s.len - i) << 56));
	}
	return mix(h);
}

static SB_RESULT new_seed(uint64_t *seed)
{
	return sb_random_bytes(seed, sizeof(*seed));
}

SB_RESULT sb_dict_init(struct sb_dict *d, uint32_t max_entries)
{
	SB_ENSURE_REF(d);
	memset(d, 0, sizeof(*d));
	d->max = max_entries;
	d->arena = SB_BUF_INIT_SECRET(SIZE_MAX / 2);
	d->index = SB_BUF_INIT_SECRET((size_t)max_entries * sizeof(uint64_t));
	/* Never a NULL arena: an empty string (a tuple of no group values) points into it. */
	SB_GUARD(sb_buf_reserve(&d->arena, 1));
	return new_seed(&d->seed);
}

void sb_dict_cleanup(struct sb_dict *d)
{
	if (d == NULL)
		return;
	/* Slots keep 32 bits of each string's (seeded) hash: wiped with the strings. */
	sb_free_secret(d->slots, d->mask == 0 ? 0 : ((size_t)d->mask + 1) * sizeof(*d->slots));
	d->slots = NULL;
	d->mask = 0;
	d->n = 0;
	sb_buf_cleanup(&d->arena);
	sb_buf_cleanup(&d->index);
}

struct sb_slice sb_dict_get(const struct sb_dict *d, uint32_t id)
{
	uint64_t e;

	memcpy(&e, d->index.data + (size_t)id * sizeof(e), sizeof(e));
	return SB_SLICE(d->arena.data + (e >> INDEX_LEN_BITS), e & SB_DICT_MAX_STRING);
}

#define SLOT_ID(e)   ((uint32_t)(e))
#define SLOT_HASH(e) ((uint32_t)((e) >> 32))

/* The slot holding s, or the empty slot where it would go. A slot keeps 32
 * bits of its string's hash: strings are compared only when those match. */
static uint32_t probe(const struct sb_dict *d, struct sb_slice s, uint32_t h)
{
	uint32_t i = h & d->mask;

	for (; d->slots[i] != 0; i = (i + 1) & d->mask) {
		if (SLOT_HASH(d->slots[i]) != h)
			continue;
		struct sb_slice t = sb_dict_get(d, SLOT_ID(d->slots[i]) - 1);
		if (t.len == s.len && (s.len == 0 || memcmp(t.ptr, s.ptr, s.len) == 0))
			break;
	}
	return i;
}

static SB_RESULT grow(struct sb_dict *d)
{
	uint32_t cap = d->mask == 0 ? 64 : (d->mask + 1) * 2, oldcap = d->mask == 0 ? 0 : d->mask + 1;
	uint64_t *old = d->slots;

	SB_ENSURE_MSG(cap != 0, SB_ERR_COLLAB_LIMIT, "a hash table is full");
	SB_GUARD(sb_calloc(cap, sizeof(*d->slots), (void **)&d->slots));
	d->mask = cap - 1;
	for (uint32_t i = 0; i < oldcap; i++) {
		if (old[i] == 0)
			continue;
		uint32_t j = SLOT_HASH(old[i]) & d->mask;
		while (d->slots[j] != 0)
			j = (j + 1) & d->mask;
		d->slots[j] = old[i];
	}
	sb_free_secret(old, (size_t)oldcap * sizeof(*old));
	return SB_OK_RESULT;
}

bool sb_dict_find(const struct sb_dict *d, struct sb_slice s, uint32_t *id)
{
	if (d->n == 0)
		return false;
	uint32_t i = probe(d, s, (uint32_t)hash_bytes(d->seed, s));
	if (d->slots[i] == 0)
		return false;
	*id = SLOT_ID(d->slots[i]) - 1;
	return true;
}

SB_RESULT sb_dict_intern(struct sb_dict *d, struct sb_slice s, uint32_t *id, bool *added)
{
	uint64_t e;
	uint32_t h, i;

	SB_ENSURE(d != NULL && id != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(s.len <= SB_DICT_MAX_STRING, SB_ERR_COLLAB_LIMIT, "a value is too long");
	h = (uint32_t)hash_bytes(d->seed, s);
	if (d->mask != 0) {
		i = probe(d, s, h);
		if (d->slots[i] != 0) {
			*id = SLOT_ID(d->slots[i]) - 1;
			if (added != NULL)
				*added = false;
			return SB_OK_RESULT;
		}
	}
	SB_ENSURE_MSG(d->n < d->max, SB_ERR_COLLAB_LIMIT, "more than %u distinct values", d->max);
	/* At most half full: short probe runs. */
	if (d->mask == 0 || (uint64_t)(d->n + 1) * 2 > (uint64_t)d->mask + 1)
		SB_GUARD(grow(d));
	e = ((uint64_t)d->arena.len << INDEX_LEN_BITS) | s.len;
	SB_GUARD(sb_buf_append_slice(&d->arena, s));
	SB_GUARD(sb_buf_append(&d->index, &e, sizeof(e)));
	d->slots[probe(d, s, h)] = (uint64_t)h << 32 | (d->n + 1);
	*id = d->n++;
	if (added != NULL)
		*added = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_u64set_init(struct sb_u64set *s, size_t max_entries)
{
	SB_ENSURE_REF(s);
	memset(s, 0, sizeof(*s));
	s->max = max_entries;
	return new_seed(&s->seed);
}

void sb_u64set_cleanup(struct sb_u64set *s)
{
	if (s == NULL)
		return;
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

static size_t slot_of(const struct sb_u64set *s, uint64_t v)
{
	size_t i = (size_t)mix(v ^ s->seed) & s->mask;

	while (s->slots[i] != UINT64_MAX && s->slots[i] != v)
		i = (i + 1) & s->mask;
	return i;
}

static SB_RESULT set_grow(struct sb_u64set *s)
{
	size_t cap = s->mask == 0 ? 64 : (s->mask + 1) * 2, oldcap = s->mask == 0 ? 0 : s->mask + 1;
	uint64_t *old = s->slots, *slots;
	size_t bytes;

	SB_GUARD(sb_mul_size(cap, sizeof(*slots), &bytes));
	slots = malloc(bytes);
	SB_ENSURE(slots != NULL, SB_ERR_NOMEM);
	memset(slots, 0xff, bytes);
	s->slots = slots;
	s->mask = cap - 1;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i] != UINT64_MAX)
			s->slots[slot_of(s, old[i])] = old[i];
	free(old);
	return SB_OK_RESULT;
}

SB_RESULT sb_u64set_add(struct sb_u64set *s, uint64_t v, bool *added)
{
	size_t i;

	SB_ENSURE(s != NULL && added != NULL && v != UINT64_MAX, SB_ERR_INVALID_ARG);
	if (s->mask != 0) {
		i = slot_of(s, v);
		if (s->slots[i] == v) {
			*added = false;
			return SB_OK_RESULT;
		}
	}
	SB_ENSURE_MSG(s->n < s->max, SB_ERR_COLLAB_LIMIT, "more than %zu distinct pairs", s->max);
	if (s->mask == 0 || (s->n + 1) * 2 > s->mask + 1)
		SB_GUARD(set_grow(s));
	s->slots[slot_of(s, v)] = v;
	s->n++;
	*added = true;
	return SB_OK_RESULT;
}
