#include "auction/sb_auction.h"

#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"

struct sb_property {
	char *id;
	size_t id_len;
	uint64_t hash;
	struct sb_amount best;
	struct sb_amount second;
	bool has_second;
	uint64_t *bidders; /* bitset: who bid */
	uint64_t *winners; /* bitset: who holds the best bid */
};

struct sb_auction {
	char **names;
	size_t nparties;
	size_t words; /* u64 words per bitset */
	enum sb_computation computation;
	enum sb_disclose disclose;
	struct sb_property **slots; /* open addressing, power-of-two size */
	size_t nslots;
	size_t count;
};

static uint64_t fnv1a(struct sb_slice s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < s.len; i++) {
		h ^= s.ptr[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

SB_RESULT sb_property_id_check(struct sb_slice id)
{
	SB_ENSURE_MSG(id.len > 0 && id.len <= SB_AUCTION_MAX_PROPERTY_ID, SB_ERR_BAD_CSV,
		      "property id must be 1..%d characters", SB_AUCTION_MAX_PROPERTY_ID);
	for (size_t i = 0; i < id.len; i++) {
		uint8_t c = id.ptr[i];
		SB_ENSURE_MSG(c > 0x20 && c < 0x7f && c != ',' && c != '"', SB_ERR_BAD_CSV,
			      "property id has a character that is not allowed");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_party_name_check(struct sb_slice name)
{
	SB_ENSURE_MSG(name.len > 0 && name.len <= SB_PARTY_NAME_MAX, SB_ERR_BAD_PARTY,
		      "party name must be 1..%d characters", SB_PARTY_NAME_MAX);
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.ptr[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
		SB_ENSURE_MSG(ok, SB_ERR_BAD_PARTY, "party name may use only A-Z a-z 0-9 _ - .");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_auction_new(const char *const *party_names, size_t nparties,
			 enum sb_computation computation, enum sb_disclose disclose,
			 struct sb_auction **out)
{
	struct sb_auction *a = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(party_names != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(nparties >= 2 && nparties <= SB_AUCTION_MAX_PARTIES, SB_ERR_BAD_PARTY,
		      "an auction needs 2..%d parties", SB_AUCTION_MAX_PARTIES);
	SB_GUARD(sb_calloc(1, sizeof(*a), (void **)&a));
	a->computation = computation;
	a->disclose = disclose;
	a->nparties = nparties;
	a->words = (nparties + 63) / 64;
	a->nslots = 1024;
	SB_GUARD_GOTO(rc, sb_calloc(nparties, sizeof(char *), (void **)&a->names), fail);
	SB_GUARD_GOTO(rc, sb_calloc(a->nslots, sizeof(*a->slots), (void **)&a->slots), fail);
	for (size_t i = 0; i < nparties; i++) {
		SB_GUARD_GOTO(rc, sb_party_name_check(sb_slice_str(party_names[i])), fail);
		for (size_t j = 0; j < i; j++)
			if (strcmp(party_names[i], party_names[j]) == 0)
				SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_PARTY, fail,
						 "party %s is named twice", party_names[i]);
		a->names[i] = strdup(party_names[i]);
		if (a->names[i] == NULL)
			SB_FAIL_GOTO(rc, SB_ERR_NOMEM, fail);
	}
	*out = a;
	return SB_OK_RESULT;
fail:
	sb_auction_free(a);
	return rc;
}

static void property_free(struct sb_property *p)
{
	if (p == NULL)
		return;
	sb_amount_wipe(&p->best);
	sb_amount_wipe(&p->second);
	free(p->id);
	free(p->bidders);
	free(p);
}

void sb_auction_free(struct sb_auction *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; a->slots != NULL && i < a->nslots; i++)
		property_free(a->slots[i]);
	for (size_t i = 0; a->names != NULL && i < a->nparties; i++)
		free(a->names[i]);
	free(a->names);
	free(a->slots);
	free(a);
}

static size_t slot_of(const struct sb_auction *a, uint64_t hash, struct sb_slice id)
{
	size_t mask = a->nslots - 1;
	size_t i = (size_t)hash & mask;

	while (a->slots[i] != NULL) {
		const struct sb_property *p = a->slots[i];
		if (p->hash == hash && sb_slice_eq(SB_SLICE(p->id, p->id_len), id))
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static SB_RESULT grow(struct sb_auction *a)
{
	struct sb_property **old = a->slots;
	size_t oldn = a->nslots;
	struct sb_property **fresh = NULL;

	SB_GUARD(sb_calloc(oldn * 2, sizeof(*fresh), (void **)&fresh));
	a->slots = fresh;
	a->nslots = oldn * 2;
	for (size_t i = 0; i < oldn; i++)
		if (old[i] != NULL)
			a->slots[slot_of(a, old[i]->hash, SB_SLICE(old[i]->id, old[i]->id_len))] =
				old[i];
	free(old);
	return SB_OK_RESULT;
}

static SB_RESULT property_new(const struct sb_auction *a, struct sb_slice id, uint64_t hash,
			      struct sb_property **out)
{
	struct sb_property *p = NULL;

	SB_GUARD(sb_calloc(1, sizeof(*p), (void **)&p));
	p->hash = hash;
	p->id_len = id.len;
	p->id = malloc(id.len + 1);
	if (p->id == NULL || !sb_ok(sb_calloc(2 * a->words, sizeof(uint64_t),
					      (void **)&p->bidders))) {
		property_free(p);
		SB_BAIL(SB_ERR_NOMEM);
	}
	memcpy(p->id, id.ptr, id.len);
	p->id[id.len] = '\0';
	p->winners = p->bidders + a->words;
	*out = p;
	return SB_OK_RESULT;
}

static bool bit_get(const uint64_t *set, size_t i)
{
	return (set[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(uint64_t *set, size_t i)
{
	set[i / 64] |= (uint64_t)1 << (i % 64);
}

static void record_bid(const struct sb_auction *a, struct sb_property *p, size_t party,
		       const struct sb_amount *x)
{
	bool first = true;

	for (size_t w = 0; w < a->words; w++)
		first = first && p->bidders[w] == 0;
	bit_set(p->bidders, party);
	if (first) {
		p->best = *x;
		bit_set(p->winners, party);
		return;
	}
	int c = sb_amount_cmp(x, &p->best);
	if (c > 0) {
		p->second = p->best;
		p->has_second = true;
		p->best = *x;
		memset(p->winners, 0, a->words * sizeof(uint64_t));
		bit_set(p->winners, party);
	} else if (c == 0) {
		bit_set(p->winners, party);
		p->second = *x;
		p->has_second = true;
	} else if (!p->has_second || sb_amount_cmp(x, &p->second) > 0) {
		p->second = *x;
		p->has_second = true;
	}
}

SB_RESULT sb_auction_add_bid(struct sb_auction *a, size_t party, struct sb_slice property,
			     const struct sb_amount *amount)
{
	SB_ENSURE(a != NULL && amount != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(party < a->nparties, SB_ERR_BAD_PARTY, "party index %zu", party);
	SB_GUARD(sb_property_id_check(property));
	uint64_t hash = fnv1a(property);
	size_t i = slot_of(a, hash, property);
	struct sb_property *p = a->slots[i];
	if (p == NULL) {
		SB_ENSURE_MSG(a->count < SB_AUCTION_MAX_PROPERTIES, SB_ERR_TOO_LARGE,
			      "more than %u properties", SB_AUCTION_MAX_PROPERTIES);
		if ((a->count + 1) * 10 > a->nslots * 7) {
			SB_GUARD(grow(a));
			i = slot_of(a, hash, property);
		}
		SB_GUARD(property_new(a, property, hash, &p));
		a->slots[i] = p;
		a->count++;
	}
	SB_ENSURE_MSG(!bit_get(p->bidders, party), SB_ERR_DUPLICATE_PROPERTY,
		      "party %s, property %s", a->names[party], p->id);
	record_bid(a, p, party, amount);
	return SB_OK_RESULT;
}

size_t sb_auction_property_count(const struct sb_auction *a)
{
	return a == NULL ? 0 : a->count;
}

static bool all_digits(const struct sb_property *p)
{
	for (size_t i = 0; i < p->id_len; i++)
		if (p->id[i] < '0' || p->id[i] > '9')
			return false;
	return true;
}

static int property_order(const void *x, const void *y)
{
	const struct sb_property *a = *(const struct sb_property *const *)x;
	const struct sb_property *b = *(const struct sb_property *const *)y;
	bool na = all_digits(a), nb = all_digits(b);

	if (na != nb)
		return na ? -1 : 1;
	if (na) {
		/* Numeric order without overflow: strip zeros, then length, then digits. */
		const char *pa = a->id, *pb = b->id;
		size_t la = a->id_len, lb = b->id_len;
		while (la > 1 && *pa == '0') {
			pa++;
			la--;
		}
		while (lb > 1 && *pb == '0') {
			pb++;
			lb--;
		}
		if (la != lb)
			return la < lb ? -1 : 1;
		int c = memcmp(pa, pb, la);
		if (c != 0)
			return c;
	}
	size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
	int c = memcmp(a->id, b->id, n);
	if (c != 0)
		return c;
	return a->id_len < b->id_len ? -1 : (a->id_len > b->id_len);
}

static SB_RESULT write_row(const struct sb_auction *a, const struct sb_property *p,
			   struct sb_buf *out)
{
	size_t nwin = 0;

	for (size_t i = 0; i < a->nparties; i++)
		nwin += bit_get(p->winners, i);
	SB_GUARD(sb_buf_append(out, p->id, p->id_len));
	/* "Tie: A, B" holds a comma, so that field is quoted (RFC 4180). */
	SB_GUARD(sb_buf_append_str(out, nwin > 1 ? ",\"Tie: " : ","));
	for (size_t i = 0, k = 0; i < a->nparties; i++) {
		if (!bit_get(p->winners, i))
			continue;
		SB_GUARD(sb_buf_append_str(out, k++ > 0 ? ", " : ""));
		SB_GUARD(sb_buf_append_str(out, a->names[i]));
	}
	SB_GUARD(sb_buf_append_str(out, nwin > 1 ? "\"" : " Wins"));
	if (a->disclose == SB_DISCLOSE_WINNER_AND_PRICE) {
		const struct sb_amount *price = &p->best;
		if (a->computation == SB_COMPUTE_SECOND_PRICE && p->has_second)
			price = &p->second;
		SB_GUARD(sb_buf_append_u8(out, ','));
		SB_GUARD(sb_amount_format(price, out));
	}
	return sb_buf_append_u8(out, '\n');
}

SB_RESULT sb_auction_write_csv(const struct sb_auction *a, struct sb_buf *out)
{
	struct sb_property **order = NULL;
	sb_result rc = SB_OK_RESULT;
	size_t n = 0;

	SB_ENSURE(a != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_calloc(a->count, sizeof(*order), (void **)&order));
	for (size_t i = 0; i < a->nslots; i++)
		if (a->slots[i] != NULL)
			order[n++] = a->slots[i];
	qsort(order, n, sizeof(*order), property_order);
	SB_GUARD_GOTO(rc,
		      sb_buf_append_str(out, a->disclose == SB_DISCLOSE_WINNER_AND_PRICE
						     ? "Property,Result,Price\n"
						     : "Property,Result\n"),
		      out);
	for (size_t i = 0; i < n; i++)
		SB_GUARD_GOTO(rc, write_row(a, order[i], out), out);
out:
	free(order);
	return rc;
}
