#include "auction/sb_auction.h"

#include <stdlib.h>
#include <string.h>

#include "auction/sb_auction_index.h"
#include "common/sb_mem.h"

struct sb_auction {
	char **names;
	size_t nparties;
	size_t words; /* u64 words per bitset */
	enum sb_computation computation;
	enum sb_disclose disclose;
	struct sb_pindex index;
	struct sb_amount *big; /* amounts too long for a compact one (secret) */
	size_t nbig, capbig;
};

/*
 * A compact amount: the integer part (at most 19 digits) in hi and the
 * fraction scaled to 18 digits in lo, so that comparing (hi, lo) compares
 * values. Longer amounts (allowed up to 64 characters, rare) live in
 * a->big and are marked by CAM_BIG in lo, their index in hi.
 */
#define CAM_INT_DIGITS  19
#define CAM_FRAC_DIGITS 18
#define CAM_BIG         (1ull << 63)

static SB_RESULT cam_from(struct sb_auction *a, const struct sb_amount *x, struct sb_cam *out)
{
	static const uint64_t scale[CAM_FRAC_DIGITS + 1] = {
		1000000000000000000ull, 100000000000000000ull, 10000000000000000ull,
		1000000000000000ull, 100000000000000ull, 10000000000000ull, 1000000000000ull,
		100000000000ull, 10000000000ull, 1000000000ull, 100000000ull, 10000000ull,
		1000000ull, 100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull};
	uint64_t hi = 0, lo = 0;

	if (x->int_len <= CAM_INT_DIGITS && x->frac_len <= CAM_FRAC_DIGITS) {
		for (size_t i = 0; i < x->int_len; i++)
			hi = hi * 10 + (uint64_t)(x->digits[i] - '0');
		for (size_t i = 0; i < x->frac_len; i++)
			lo = lo * 10 + (uint64_t)(x->digits[x->int_len + i] - '0');
		*out = (struct sb_cam){hi, lo * scale[x->frac_len]};
		return SB_OK_RESULT;
	}
	if (a->nbig == a->capbig) {
		size_t cap = a->capbig == 0 ? 16 : a->capbig * 2;
		struct sb_amount *big = NULL;
		SB_GUARD(sb_calloc(cap, sizeof(*big), (void **)&big));
		if (a->nbig > 0) {
			memcpy(big, a->big, a->nbig * sizeof(*big));
			sb_wipe(a->big, a->capbig * sizeof(*big));
		}
		free(a->big);
		a->big = big;
		a->capbig = cap;
	}
	a->big[a->nbig] = *x;
	*out = (struct sb_cam){a->nbig++, CAM_BIG};
	return SB_OK_RESULT;
}

static void cam_to(const struct sb_auction *a, const struct sb_cam *c, struct sb_amount *out)
{
	char tmp[CAM_INT_DIGITS];
	size_t n = 0;
	uint64_t v = c->hi, lo = c->lo;

	if (c->lo & CAM_BIG) {
		*out = a->big[c->hi];
		return;
	}
	memset(out, 0, sizeof(*out));
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	for (size_t i = 0; i < n; i++)
		out->digits[i] = tmp[n - 1 - i];
	out->int_len = (uint8_t)n;
	for (size_t i = CAM_FRAC_DIGITS; i-- > 0;) {
		out->digits[n + i] = (char)('0' + lo % 10);
		lo /= 10;
	}
	size_t frac = CAM_FRAC_DIGITS;
	while (frac > 0 && out->digits[n + frac - 1] == '0')
		out->digits[n + --frac] = '\0';
	out->frac_len = (uint8_t)frac;
}

static int cam_cmp(const struct sb_auction *a, const struct sb_cam *x, const struct sb_cam *y)
{
	struct sb_amount ax, ay;
	int c;

	if (((x->lo | y->lo) & CAM_BIG) == 0) {
		if (x->hi != y->hi)
			return x->hi < y->hi ? -1 : 1;
		return x->lo < y->lo ? -1 : (x->lo > y->lo);
	}
	cam_to(a, x, &ax);
	cam_to(a, y, &ay);
	c = sb_amount_cmp(&ax, &ay);
	sb_amount_wipe(&ax);
	sb_amount_wipe(&ay);
	return c;
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
	SB_ENSURE_MSG(computation == SB_COMPUTE_HIGHEST_BID || computation == SB_COMPUTE_SECOND_PRICE,
	              SB_ERR_INVALID_ARG, "not an auction");
	SB_ENSURE_MSG(nparties >= 2 && nparties <= SB_AUCTION_MAX_PARTIES, SB_ERR_BAD_PARTY,
	              "an auction needs 2..%d parties", SB_AUCTION_MAX_PARTIES);
	SB_GUARD(sb_calloc(1, sizeof(*a), (void **)&a));
	a->computation = computation;
	a->disclose = disclose;
	a->nparties = nparties;
	a->words = (nparties + 63) / 64;
	SB_GUARD_GOTO(rc, sb_pindex_init(&a->index, a->words), fail);
	SB_GUARD_GOTO(rc, sb_calloc(nparties, sizeof(char *), (void **)&a->names), fail);
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

void sb_auction_free(struct sb_auction *a)
{
	if (a == NULL)
		return;
	sb_pindex_cleanup(&a->index);
	if (a->big != NULL)
		sb_wipe(a->big, a->capbig * sizeof(*a->big));
	free(a->big);
	for (size_t i = 0; a->names != NULL && i < a->nparties; i++)
		free(a->names[i]);
	free(a->names);
	free(a);
}

static bool bit_get(const uint64_t *set, size_t i)
{
	return (set[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(uint64_t *set, size_t i)
{
	set[i / 64] |= (uint64_t)1 << (i % 64);
}

static void record_bid(const struct sb_auction *a, struct sb_prop *p, uint64_t *bidders,
                       uint64_t *winners, size_t party, const struct sb_cam *x)
{
	bool first = true;

	for (size_t w = 0; w < a->words; w++)
		first = first && bidders[w] == 0;
	bit_set(bidders, party);
	if (first) {
		p->best = *x;
		bit_set(winners, party);
		return;
	}
	int c = cam_cmp(a, x, &p->best);
	if (c > 0) {
		p->second = p->best;
		p->has_second = true;
		p->best = *x;
		memset(winners, 0, a->words * sizeof(uint64_t));
		bit_set(winners, party);
	} else if (c == 0) {
		bit_set(winners, party);
		p->second = *x;
		p->has_second = true;
	} else if (!p->has_second || cam_cmp(a, x, &p->second) > 0) {
		p->second = *x;
		p->has_second = true;
	}
}

SB_RESULT sb_auction_add_bid(struct sb_auction *a, size_t party, struct sb_slice property,
                             const struct sb_amount *amount)
{
	uint32_t idx;
	struct sb_cam x;
	char buf[24];

	SB_ENSURE(a != NULL && amount != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(party < a->nparties, SB_ERR_BAD_PARTY, "party index %zu", party);
	SB_GUARD(sb_property_id_check(property));
	SB_GUARD(sb_pindex_get(&a->index, property, &idx));
	uint64_t *bidders = a->index.bits + (size_t)idx * 2 * a->words;
	if (bit_get(bidders, party)) {
		struct sb_slice id = sb_pindex_id(&a->index, idx, buf);
		SB_BAIL_MSG(SB_ERR_DUPLICATE_PROPERTY, "party %s, property %.*s", a->names[party],
		            (int)id.len, (const char *)id.ptr);
	}
	SB_GUARD(cam_from(a, amount, &x));
	record_bid(a, &a->index.props[idx], bidders, bidders + a->words, party, &x);
	sb_wipe(&x, sizeof(x));
	return SB_OK_RESULT;
}

size_t sb_auction_property_count(const struct sb_auction *a)
{
	return a == NULL ? 0 : a->index.count;
}

static SB_RESULT write_row(const struct sb_auction *a, uint32_t idx, struct sb_buf *out)
{
	const struct sb_prop *p = &a->index.props[idx];
	const uint64_t *winners = a->index.bits + ((size_t)idx * 2 + 1) * a->words;
	size_t nwin = 0;
	char buf[24];

	for (size_t i = 0; i < a->nparties; i++)
		nwin += bit_get(winners, i);
	SB_GUARD(sb_buf_append_slice(out, sb_pindex_id(&a->index, idx, buf)));
	/* "Tie: A, B" holds a comma, so that field is quoted (RFC 4180). */
	SB_GUARD(sb_buf_append_str(out, nwin > 1 ? ",\"Tie: " : ","));
	for (size_t i = 0, k = 0; i < a->nparties; i++) {
		if (!bit_get(winners, i))
			continue;
		SB_GUARD(sb_buf_append_str(out, k++ > 0 ? ", " : ""));
		SB_GUARD(sb_buf_append_str(out, a->names[i]));
	}
	SB_GUARD(sb_buf_append_str(out, nwin > 1 ? "\"" : " Wins"));
	if (a->disclose == SB_DISCLOSE_WINNER_AND_PRICE) {
		struct sb_amount price;
		bool second = a->computation == SB_COMPUTE_SECOND_PRICE && p->has_second;
		cam_to(a, second ? &p->second : &p->best, &price);
		sb_result r = sb_buf_append_u8(out, ',');
		if (sb_ok(r))
			r = sb_amount_format(&price, out);
		sb_amount_wipe(&price);
		SB_GUARD(r);
	}
	return sb_buf_append_u8(out, '\n');
}

SB_RESULT sb_auction_write_csv(const struct sb_auction *a, struct sb_buf *out)
{
	uint32_t *order = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(a != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_pindex_sorted(&a->index, &order));
	SB_GUARD_GOTO(rc,
	              sb_buf_append_str(out, a->disclose == SB_DISCLOSE_WINNER_AND_PRICE
	                                         ? "Property,Result,Price\n"
	                                         : "Property,Result\n"),
	              out);
	for (size_t i = 0; i < a->index.count; i++)
		SB_GUARD_GOTO(rc, write_row(a, order[i], out), out);
out:
	free(order);
	return rc;
}
