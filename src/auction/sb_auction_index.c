#include "auction/sb_auction_index.h"

#include <stdlib.h>
#include <string.h>

#include "auction/sb_auction.h"
#include "common/sb_mem.h"
#include "crypto/sb_random.h"

#define DIRECT_LIMIT (1u << 24) /* direct ids are below this */
#define DIRECT_SLACK 65536u     /* the table may cover this much beyond 4 x count */
#define ID_DIGITS    24

SB_RESULT sb_pindex_init(struct sb_pindex *x, size_t words)
{
	memset(x, 0, sizeof(*x));
	x->words = words;
	x->ids = SB_BUF_INIT((size_t)SB_AUCTION_MAX_PROPERTIES * SB_AUCTION_MAX_PROPERTY_ID);
	x->nslots = 1024;
	SB_GUARD(sb_random_bytes(&x->seed, sizeof(x->seed)));
	return sb_calloc(x->nslots, sizeof(*x->slots), (void **)&x->slots);
}

void sb_pindex_cleanup(struct sb_pindex *x)
{
	if (x == NULL)
		return;
	if (x->props != NULL)
		sb_wipe(x->props, x->cap * sizeof(*x->props));
	free(x->props);
	free(x->bits);
	free(x->direct);
	free(x->slots);
	sb_buf_cleanup(&x->ids);
	memset(x, 0, sizeof(*x));
}

/* The value of a canonical decimal id below DIRECT_LIMIT, or -1. */
static int64_t direct_value(struct sb_slice id)
{
	uint64_t v = 0;

	if (id.len > 8 || (id.len > 1 && id.ptr[0] == '0'))
		return -1;
	for (size_t i = 0; i < id.len; i++) {
		if (id.ptr[i] < '0' || id.ptr[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(id.ptr[i] - '0');
	}
	return v < DIRECT_LIMIT ? (int64_t)v : -1;
}

static uint64_t hash_of(const struct sb_pindex *x, struct sb_slice s)
{
	uint64_t h = 0xcbf29ce484222325ull ^ x->seed;

	for (size_t i = 0; i < s.len; i++) {
		h ^= s.ptr[i];
		h *= 0x100000001b3ull;
	}
	return h ^ (h >> 29);
}

static struct sb_slice hashed_id(const struct sb_pindex *x, const struct sb_prop *p)
{
	return SB_SLICE(x->ids.data + p->id, p->id_len);
}

/* The slot holding id, or the empty slot where it belongs. */
static size_t slot_of(const struct sb_pindex *x, uint64_t hash, struct sb_slice id)
{
	size_t mask = x->nslots - 1, i = (size_t)hash & mask;

	while (x->slots[i] != 0) {
		const struct sb_prop *p = &x->props[x->slots[i] - 1];
		if (p->hash == hash && sb_slice_eq(hashed_id(x, p), id))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static SB_RESULT grow_slots(struct sb_pindex *x)
{
	uint32_t *old = x->slots;
	size_t oldn = x->nslots;

	SB_GUARD(sb_calloc(oldn * 2, sizeof(*x->slots), (void **)&x->slots));
	x->nslots = oldn * 2;
	for (size_t i = 0; i < oldn; i++) {
		if (old[i] == 0)
			continue;
		const struct sb_prop *p = &x->props[old[i] - 1];
		x->slots[slot_of(x, p->hash, hashed_id(x, p))] = old[i];
	}
	free(old);
	return SB_OK_RESULT;
}

/* Room for one more record; the old block is wiped (it holds amounts). */
static SB_RESULT grow_records(struct sb_pindex *x)
{
	size_t cap = x->cap == 0 ? 1024 : x->cap * 2;
	struct sb_prop *props = NULL;
	uint64_t *bits = NULL;

	if (x->count < x->cap)
		return SB_OK_RESULT;
	SB_GUARD(sb_calloc(cap, sizeof(*props), (void **)&props));
	if (!sb_ok(sb_calloc(cap * 2 * x->words, sizeof(*bits), (void **)&bits))) {
		free(props);
		SB_BAIL(SB_ERR_NOMEM);
	}
	if (x->count > 0) {
		memcpy(props, x->props, x->count * sizeof(*props));
		memcpy(bits, x->bits, x->count * 2 * x->words * sizeof(*bits));
		sb_wipe(x->props, x->cap * sizeof(*x->props));
	}
	free(x->props);
	free(x->bits);
	x->props = props;
	x->bits = bits;
	x->cap = cap;
	return SB_OK_RESULT;
}

/* Covers value v with the direct table if that stays proportionate. */
static SB_RESULT grow_direct(struct sb_pindex *x, uint64_t v, bool *covered)
{
	size_t n = x->ndirect == 0 ? 1024 : x->ndirect;
	uint32_t *fresh = NULL;

	*covered = v < x->ndirect;
	if (*covered || v >= 4 * (uint64_t)x->count + DIRECT_SLACK)
		return SB_OK_RESULT;
	while (n <= v)
		n *= 2;
	SB_GUARD(sb_calloc(n, sizeof(*fresh), (void **)&fresh));
	if (x->ndirect > 0)
		memcpy(fresh, x->direct, x->ndirect * sizeof(*fresh));
	free(x->direct);
	x->direct = fresh;
	x->ndirect = n;
	*covered = true;
	return SB_OK_RESULT;
}

static SB_RESULT new_record(struct sb_pindex *x, uint32_t *idx)
{
	SB_ENSURE_MSG(x->count < SB_AUCTION_MAX_PROPERTIES, SB_ERR_TOO_LARGE,
	              "more than %u properties", SB_AUCTION_MAX_PROPERTIES);
	SB_GUARD(grow_records(x));
	*idx = (uint32_t)x->count++;
	return SB_OK_RESULT;
}

/*
 * A direct-looking id may also sit in the hash table, put there while the
 * direct table did not yet cover it: look there before making a record.
 */
SB_RESULT sb_pindex_get(struct sb_pindex *x, struct sb_slice id, uint32_t *idx)
{
	int64_t v = direct_value(id);
	bool covered = false;

	if (v >= 0 && (uint64_t)v < x->ndirect && x->direct[v] != 0) {
		*idx = x->direct[v] - 1;
		return SB_OK_RESULT;
	}
	uint64_t hash = hash_of(x, id);
	size_t slot = slot_of(x, hash, id);
	if (x->slots[slot] != 0) {
		*idx = x->slots[slot] - 1;
		return SB_OK_RESULT;
	}
	if (v >= 0)
		SB_GUARD(grow_direct(x, (uint64_t)v, &covered));
	SB_GUARD(new_record(x, idx));
	struct sb_prop *p = &x->props[*idx];
	if (covered) {
		p->id = (uint32_t)v;
		x->direct[v] = *idx + 1;
		return SB_OK_RESULT;
	}
	p->hash = hash;
	p->id = (uint32_t)x->ids.len;
	p->id_len = (uint8_t)id.len;
	SB_GUARD(sb_buf_append_slice(&x->ids, id));
	if ((x->nhashed + 1) * 10 > x->nslots * 7) {
		SB_GUARD(grow_slots(x));
		slot = slot_of(x, hash, id);
	}
	x->slots[slot] = *idx + 1;
	x->nhashed++;
	return SB_OK_RESULT;
}

struct sb_slice sb_pindex_id(const struct sb_pindex *x, uint32_t idx, char buf[ID_DIGITS])
{
	const struct sb_prop *p = &x->props[idx];
	size_t n = 0;
	char tmp[ID_DIGITS];
	uint32_t v = p->id;

	if (p->id_len > 0)
		return hashed_id(x, p);
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return SB_SLICE(buf, n);
}

static bool all_digits(struct sb_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] < '0' || s.ptr[i] > '9')
			return false;
	return true;
}

/* Output order of two ids (see sb_pindex_sorted and the header). */
int sb_pindex_id_cmp(struct sb_slice a, struct sb_slice b)
{
	bool na = all_digits(a), nb = all_digits(b);

	if (na != nb)
		return na ? -1 : 1;
	if (na) {
		/* Numeric order without overflow: strip zeros, then length, then digits. */
		struct sb_slice sa = a, sb = b;
		while (sa.len > 1 && sa.ptr[0] == '0')
			sa = SB_SLICE(sa.ptr + 1, sa.len - 1);
		while (sb.len > 1 && sb.ptr[0] == '0')
			sb = SB_SLICE(sb.ptr + 1, sb.len - 1);
		if (sa.len != sb.len)
			return sa.len < sb.len ? -1 : 1;
		int c = memcmp(sa.ptr, sb.ptr, sa.len);
		if (c != 0)
			return c;
	}
	int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
	if (c != 0)
		return c;
	return a.len < b.len ? -1 : (a.len > b.len);
}

static int hashed_order(const void *pa, const void *pb, void *ctx)
{
	const struct sb_pindex *x = ctx;
	return sb_pindex_id_cmp(hashed_id(x, &x->props[*(const uint32_t *)pa]),
	                hashed_id(x, &x->props[*(const uint32_t *)pb]));
}

SB_RESULT sb_pindex_sorted(const struct sb_pindex *x, uint32_t **order)
{
	uint32_t *out = NULL, *hashed = NULL;
	size_t nd = 0, nh = 0, n = 0, i = 0, j = 0;
	char ba[ID_DIGITS], bb[ID_DIGITS];

	SB_GUARD(sb_calloc(x->count + 1, sizeof(*out), (void **)&out));
	if (!sb_ok(sb_calloc(x->nhashed + 1, sizeof(*hashed), (void **)&hashed))) {
		free(out);
		SB_BAIL(SB_ERR_NOMEM);
	}
	/* Direct ids in value order, written at the end of out for the merge. */
	nd = x->count - x->nhashed;
	for (size_t v = 0, k = x->count - nd; v < x->ndirect; v++)
		if (x->direct[v] != 0)
			out[k++] = x->direct[v] - 1;
	for (size_t s = 0; s < x->nslots; s++)
		if (x->slots[s] != 0)
			hashed[nh++] = x->slots[s] - 1;
	qsort_r(hashed, nh, sizeof(*hashed), hashed_order, (void *)x);
	/* Merge: out[0..n) is written behind the direct ids still to be read. */
	const uint32_t *direct = out + (x->count - nd);
	while (i < nd || j < nh) {
		bool take_direct =
		    j == nh || (i < nd && sb_pindex_id_cmp(sb_pindex_id(x, direct[i], ba),
		                                   sb_pindex_id(x, hashed[j], bb)) <= 0);
		out[n++] = take_direct ? direct[i++] : hashed[j++];
	}
	free(hashed);
	*order = out;
	return SB_OK_RESULT;
}
