/* Unit tests for src/auction: amounts, the auction, the bids CSV, the manifest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auction/sb_amount.h"
#include "auction/sb_auction.h"
#include "auction/sb_bids_csv.h"
#include "auction/sb_manifest.h"
#include "common/sb_encoding.h"

static struct sb_amount amt(const char *s)
{
	struct sb_amount a;
	assert_true(sb_ok(sb_amount_parse(sb_slice_str(s), &a)));
	return a;
}

struct cmp_vector {
	const char *a, *b;
	int want;
};

static void test_amount_compare(void **state)
{
	(void)state;
	static const struct cmp_vector v[] = {
	    {"100000", "200000", -1},
	    {"200000", "100000", 1},
	    {"100", "100", 0},
	    {"0100", "100", 0},
	    {"100.0", "100", 0},
	    {"100.50", "100.5", 0},
	    {"99.999", "100", -1},
	    {"1000", "999.99", 1},
	    {"0.1", "0.09", 1},
	    {"0", "0.000", 0},
	    {"0.5", "0.05", 1},
	    {"12.34", "12.345", -1},
	    {"18446744073709551616", "18446744073709551615", 1},
	    {"99999999999999999999999999999999", "100000000000000000000000000000000", -1},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sb_amount a = amt(v[i].a), b = amt(v[i].b);
		assert_int_equal(sb_amount_cmp(&a, &b), v[i].want);
		assert_int_equal(sb_amount_cmp(&b, &a), -v[i].want);
	}
	struct sb_buf out = SB_BUF_INIT(64);
	struct sb_amount a = amt("000120.500");
	assert_true(sb_ok(sb_amount_format(&a, &out)));
	assert_string_equal(sb_buf_cstr(&out), "120.5");
	sb_buf_cleanup(&out);
}

static void test_amount_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",      "-1",
	    "+1",    " 1",
	    "1 ",    "1e5",
	    "1,000", ".5",
	    "5.",    "1.2.3",
	    "0x10",  "12a",
	    "NaN",   "inf",
	    "1\n",   "12345678901234567890123456789012345678901234567890123456789012345",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sb_amount a;
		sb_error_clear();
		assert_int_equal(sb_amount_parse(sb_slice_str(bad[i]), &a).code, SB_ERR_BAD_AMOUNT);
		/* The error never echoes the (plaintext) value. */
		if (strlen(bad[i]) > 1)
			assert_null(strstr(sb_error_describe(), bad[i]));
	}
}

/* Issue 10 item 13: an over-long amount says so, once, and 64 digits are fine. */
static void test_amount_length(void **state)
{
	(void)state;
	char d64[66], d65[66], frac64[67], frac65[67];
	struct sb_amount a;

	memset(d64, '9', 64);
	d64[64] = '\0';
	memset(d65, '9', 65);
	d65[65] = '\0';
	/* 64 digits with a '.' (65 characters) is still 64 digits. */
	memset(frac64, '1', 65);
	frac64[32] = '.';
	frac64[65] = '\0';
	memset(frac65, '1', 66);
	frac65[32] = '.';
	frac65[66] = '\0';
	assert_true(sb_ok(sb_amount_parse(sb_slice_str(d64), &a)));
	assert_int_equal(a.int_len, 64);
	assert_true(sb_ok(sb_amount_parse(sb_slice_str(frac64), &a)));
	assert_int_equal(a.int_len + a.frac_len, 64);
	const char *const longs[] = {d65, frac65, "100000000000000000000000000000000000000000000000000"
						  "000000000000000000000000000000"};
	for (size_t i = 0; i < 3; i++) {
		sb_error_clear();
		assert_int_equal(sb_amount_parse(sb_slice_str(longs[i]), &a).code, SB_ERR_BAD_AMOUNT);
		assert_string_equal(sb_error_detail(), "amount is longer than 64 digits");
		assert_string_equal(sb_error_describe(), "bid is not a non-negative decimal amount: "
							 "amount is longer than 64 digits");
	}
	sb_amount_wipe(&a);
}

static struct sb_auction *new_auction(size_t n, enum sb_computation c, enum sb_disclose d)
{
	static const char *const names[] = {"Buyer1", "Buyer2", "Buyer3", "Buyer4", "Buyer5"};
	struct sb_auction *a = NULL;
	assert_true(sb_ok(sb_auction_new(names, n, c, d, &a)));
	return a;
}

static void bid(struct sb_auction *a, size_t party, const char *prop, const char *amount)
{
	struct sb_amount x = amt(amount);
	assert_true(sb_ok(sb_auction_add_bid(a, party, sb_slice_str(prop), &x)));
}

static void expect_csv(struct sb_auction *a, const char *want)
{
	struct sb_buf out = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_auction_write_csv(a, &out)));
	assert_string_equal(sb_buf_cstr(&out), want);
	sb_buf_cleanup(&out);
}

static void test_aws_sample_example(void **state)
{
	(void)state;
	struct sb_auction *a = new_auction(2, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER);
	bid(a, 0, "1", "100000");
	bid(a, 0, "2", "200000");
	bid(a, 0, "3", "150000");
	bid(a, 1, "1", "200000");
	bid(a, 1, "2", "300000");
	bid(a, 1, "3", "100000");
	expect_csv(a, "Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins\n");
	sb_auction_free(a);
}

static void test_ties_gaps_and_order(void **state)
{
	(void)state;
	struct sb_auction *a = new_auction(3, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER);
	bid(a, 2, "10", "5");
	bid(a, 0, "10", "5.0");
	bid(a, 1, "10", "4");
	bid(a, 1, "9", "1"); /* only Buyer2 bid on 9 */
	bid(a, 0, "lot-b", "7");
	bid(a, 2, "lot-a", "7");
	bid(a, 1, "002", "3");
	/* Ties list names in manifest order, quoted; numeric ids first. */
	expect_csv(a, "Property,Result\n002,Buyer2 Wins\n9,Buyer2 Wins\n"
	              "10,\"Tie: Buyer1, Buyer3\"\nlot-a,Buyer3 Wins\nlot-b,Buyer1 Wins\n");
	assert_int_equal(sb_auction_property_count(a), 5);
	sb_auction_free(a);
}

static void test_second_price_and_disclosure(void **state)
{
	(void)state;
	struct sb_auction *a =
	    new_auction(3, SB_COMPUTE_SECOND_PRICE, SB_DISCLOSE_WINNER_AND_PRICE);
	bid(a, 0, "1", "100");
	bid(a, 1, "1", "250");
	bid(a, 2, "1", "180");
	bid(a, 0, "2", "50"); /* single bidder pays its own bid */
	bid(a, 0, "3", "70");
	bid(a, 1, "3", "70"); /* tie pays the tied amount */
	bid(a, 2, "3", "20");
	expect_csv(a, "Property,Result,Price\n1,Buyer2 Wins,180\n2,Buyer1 Wins,50\n"
	              "3,\"Tie: Buyer1, Buyer2\",70\n");
	sb_auction_free(a);

	a = new_auction(2, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER_AND_PRICE);
	bid(a, 0, "1", "100");
	bid(a, 1, "1", "250");
	expect_csv(a, "Property,Result,Price\n1,Buyer2 Wins,250\n");
	sb_auction_free(a);
}

static void test_auction_rejects(void **state)
{
	(void)state;
	struct sb_auction *a = new_auction(2, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER);
	struct sb_amount x = amt("5");
	bid(a, 0, "1", "4");
	assert_int_equal(sb_auction_add_bid(a, 0, sb_slice_str("1"), &x).code,
	                 SB_ERR_DUPLICATE_PROPERTY);
	assert_non_null(strstr(sb_error_detail(), "Buyer1"));
	assert_null(strstr(sb_error_detail(), "5"));
	assert_int_equal(sb_auction_add_bid(a, 2, sb_slice_str("1"), &x).code, SB_ERR_BAD_PARTY);
	assert_int_equal(sb_auction_add_bid(a, 1, sb_slice_str(""), &x).code, SB_ERR_BAD_CSV);
	assert_int_equal(sb_auction_add_bid(a, 1, sb_slice_str("a,b"), &x).code, SB_ERR_BAD_CSV);
	assert_int_equal(sb_auction_add_bid(a, 1, sb_slice_str("a b"), &x).code, SB_ERR_BAD_CSV);
	/* The failed duplicate changed nothing. */
	expect_csv(a, "Property,Result\n1,Buyer1 Wins\n");
	sb_auction_free(a);

	static const char *const one[] = {"Solo"};
	static const char *const dup[] = {"A", "A"};
	static const char *const badname[] = {"A", "B,C"};
	struct sb_auction *b = NULL;
	assert_int_equal(
	    sb_auction_new(one, 1, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER, &b).code,
	    SB_ERR_BAD_PARTY);
	assert_int_equal(
	    sb_auction_new(dup, 2, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER, &b).code,
	    SB_ERR_BAD_PARTY);
	assert_int_equal(
	    sb_auction_new(badname, 2, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER, &b).code,
	    SB_ERR_BAD_PARTY);
	assert_null(b);
	sb_auction_free(NULL);
}

/* Five buyers x 1000 properties with ties and gaps against a plain reference. */
static void test_five_buyers_match_reference(void **state)
{
	(void)state;
	enum { NB = 5, NP = 1000 };
	static long amounts[NB][NP]; /* -1: no bid */
	struct sb_auction *a = new_auction(NB, SB_COMPUTE_HIGHEST_BID, SB_DISCLOSE_WINNER);
	uint32_t seed = 12345;
	char prop[16], text[32];

	for (int p = 0; p < NP; p++)
		for (int b = 0; b < NB; b++) {
			seed = seed * 1103515245u + 12345u;
			/* Small range so ties are common; 1 in 5 is a gap. */
			amounts[b][p] =
			    (seed >> 16) % 5 == 0 ? -1 : (long)((seed >> 8) % 20) * 1000;
		}
	/* Feed bids party by party, properties in reverse, to vary the order. */
	for (int b = NB - 1; b >= 0; b--)
		for (int p = NP - 1; p >= 0; p--) {
			if (amounts[b][p] < 0)
				continue;
			snprintf(prop, sizeof(prop), "%d", p + 1);
			snprintf(text, sizeof(text), "%ld", amounts[b][p]);
			bid(a, (size_t)b, prop, text);
		}
	struct sb_buf want = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_buf_append_str(&want, "Property,Result\n")));
	for (int p = 0; p < NP; p++) {
		long best = -1;
		int nwin = 0;
		for (int b = 0; b < NB; b++)
			if (amounts[b][p] > best)
				best = amounts[b][p];
		if (best < 0)
			continue;
		for (int b = 0; b < NB; b++)
			nwin += amounts[b][p] == best;
		assert_true(sb_ok(sb_buf_printf(&want, nwin > 1 ? "%d,\"Tie: " : "%d,", p + 1)));
		for (int b = 0, k = 0; b < NB; b++)
			if (amounts[b][p] == best)
				assert_true(sb_ok(
				    sb_buf_printf(&want, "%sBuyer%d", k++ ? ", " : "", b + 1)));
		assert_true(sb_ok(sb_buf_append_str(&want, nwin > 1 ? "\"\n" : " Wins\n")));
	}
	expect_csv(a, sb_buf_cstr(&want));
	sb_buf_cleanup(&want);
	sb_auction_free(a);
}

/* The reference order of output rows (docs/FORMATS.md): digits-only ids by value, then bytewise. */
static int ref_order(const void *x, const void *y)
{
	const char *a = *(const char *const *)x, *b = *(const char *const *)y;
	bool na = strspn(a, "0123456789") == strlen(a), nb = strspn(b, "0123456789") == strlen(b);
	if (na != nb)
		return na ? -1 : 1;
	if (na) {
		const char *pa = a, *pb = b;
		while (pa[0] == '0' && pa[1] != '\0')
			pa++;
		while (pb[0] == '0' && pb[1] != '\0')
			pb++;
		if (strlen(pa) != strlen(pb))
			return strlen(pa) < strlen(pb) ? -1 : 1;
		if (strcmp(pa, pb) != 0)
			return strcmp(pa, pb);
	}
	return strcmp(a, b);
}

/*
 * Every shape of id (direct numbers, numbers seen before the direct table
 * covered them, leading zeros, long numbers, text) and of amount (compact
 * and too long for it), against a reference on whole sb_amounts.
 */
static void test_index_and_amount_shapes_match_reference(void **state)
{
	(void)state;
	enum { NB = 3, NP = 4000 };
	static char ids[NP][40];
	static char amounts[NB][NP][80]; /* "" no bid */
	const char *order[NP];
	uint32_t seed = 777;
	struct sb_auction *a =
	    new_auction(NB, SB_COMPUTE_SECOND_PRICE, SB_DISCLOSE_WINNER_AND_PRICE);

	for (int p = 0; p < NP; p++) {
		switch (p % 8) {
		case 0:
			snprintf(ids[p], 40, "%d", 70000 + p);
			break; /* hashed, then covered */
		case 1:
			snprintf(ids[p], 40, "00%d", p);
			break; /* leading zeros */
		case 2:
			snprintf(ids[p], 40, "%d", 16777216 + p);
			break; /* above the direct limit */
		case 3:
			snprintf(ids[p], 40, "lot-%d", p);
			break;
		case 4:
			snprintf(ids[p], 40, "1234567890123456789%d", p);
			break;
		default:
			snprintf(ids[p], 40, "%d", p);
			break;
		}
		for (int b = 0; b < NB; b++) {
			seed = seed * 1103515245u + 12345u;
			unsigned r = (seed >> 8) % 40;
			if (r < 6)
				amounts[b][p][0] = '\0';
			else if (r < 10) /* 25 integer digits: not compact */
				snprintf(amounts[b][p], 80, "12345678901234567890123%02u", r % 3);
			else if (r < 14) /* 20 fraction digits: not compact */
				snprintf(amounts[b][p], 80, "7.0000000000000000000%u", r % 3);
			else if (r < 18)
				snprintf(amounts[b][p], 80, "7.%u", r % 2);
			else
				snprintf(amounts[b][p], 80, "%u000", r % 4);
		}
	}
	/* Parties in turn, ids in first-seen order 0..NP: the direct table grows underneath. */
	for (int p = 0; p < NP; p++)
		for (int b = 0; b < NB; b++)
			if (amounts[b][p][0] != '\0')
				bid(a, (size_t)b, ids[p], amounts[b][p]);
	/* A bid twice on an id first put in the hash table is still refused. */
	struct sb_amount one = amt("1");
	int dup = -1;
	for (int b = 0; b < NB && dup < 0; b++)
		if (amounts[b][0][0] != '\0')
			dup = b;
	assert_true(dup >= 0);
	assert_int_equal(sb_auction_add_bid(a, (size_t)dup, sb_slice_str(ids[0]), &one).code,
	                 SB_ERR_DUPLICATE_PROPERTY);

	size_t n = 0, with_bids = 0;
	for (int p = 0; p < NP; p++) {
		order[n++] = ids[p];
		with_bids += amounts[0][p][0] != '\0' || amounts[1][p][0] != '\0' ||
		             amounts[2][p][0] != '\0';
	}
	qsort(order, n, sizeof(order[0]), ref_order);
	struct sb_buf want = SB_BUF_INIT(1 << 22);
	assert_true(sb_ok(sb_buf_append_str(&want, "Property,Result,Price\n")));
	for (size_t k = 0; k < n; k++) {
		int p = (int)((size_t)(order[k] - &ids[0][0]) / sizeof(ids[0]));
		int best = -1, nbid = 0, nwin = 0;
		struct sb_amount x, y;
		for (int b = 0; b < NB; b++) {
			if (amounts[b][p][0] == '\0')
				continue;
			nbid++;
			x = amt(amounts[b][p]);
			if (best >= 0)
				y = amt(amounts[best][p]);
			if (best < 0 || sb_amount_cmp(&x, &y) > 0)
				best = b;
		}
		if (best < 0)
			continue;
		y = amt(amounts[best][p]);
		const char *price = nbid == 1 ? amounts[best][p] : NULL;
		int second = -1;
		for (int b = 0; b < NB; b++) {
			if (amounts[b][p][0] == '\0')
				continue;
			x = amt(amounts[b][p]);
			if (sb_amount_cmp(&x, &y) == 0) {
				nwin++;
			} else if (second < 0) {
				second = b;
			} else {
				struct sb_amount z = amt(amounts[second][p]);
				if (sb_amount_cmp(&x, &z) > 0)
					second = b;
			}
		}
		struct sb_buf pb = SB_BUF_INIT(128);
		struct sb_amount pr = amt(price != NULL ? price
		                          : nwin > 1    ? amounts[best][p]
		                                        : amounts[second][p]);
		assert_true(sb_ok(sb_amount_format(&pr, &pb)));
		assert_true(sb_ok(sb_buf_printf(&want, nwin > 1 ? "%s,\"Tie: " : "%s,", ids[p])));
		for (int b = 0, j = 0; b < NB; b++) {
			if (amounts[b][p][0] == '\0')
				continue;
			x = amt(amounts[b][p]);
			if (sb_amount_cmp(&x, &y) == 0)
				assert_true(sb_ok(
				    sb_buf_printf(&want, "%sBuyer%d", j++ ? ", " : "", b + 1)));
		}
		assert_true(sb_ok(
		    sb_buf_printf(&want, "%s,%s\n", nwin > 1 ? "\"" : " Wins", sb_buf_cstr(&pb))));
		sb_buf_cleanup(&pb);
	}
	expect_csv(a, sb_buf_cstr(&want));
	assert_int_equal(sb_auction_property_count(a), with_bids);
	sb_buf_cleanup(&want);
	sb_auction_free(a);
}

struct collect {
	size_t rows;
	char last_prop[32];
	char last_ct[64];
};

static sb_result collect_row(void *ctx, const struct sb_bid_row *row)
{
	struct collect *c = ctx;
	c->rows = row->row;
	snprintf(c->last_prop, sizeof(c->last_prop), "%.*s", (int)row->property.len,
	         (const char *)row->property.ptr);
	snprintf(c->last_ct, sizeof(c->last_ct), "%.*s", (int)row->ciphertext.len,
	         (const char *)row->ciphertext.ptr);
	return SB_OK_RESULT;
}

struct csv_vector {
	const char *text;
	int code;
	size_t rows;
	const char *detail; /* substring of the error detail */
};

static void test_bids_csv(void **state)
{
	(void)state;
	static const struct csv_vector v[] = {
	    {"[].contract,[].bid\n1,AQID\n2,BAUG\n", SB_OK, 2, NULL},
	    {"[].contract,[].bid\r\n1,AQID\r\n2,BAUG", SB_OK, 2, NULL},
	    {"[].contract,[].bid\n", SB_OK, 0, NULL},
	    {"", SB_ERR_BAD_CSV, 0, "empty"},
	    {"contract,bid\n1,AQID\n", SB_ERR_BAD_CSV, 0, "header"},
	    {"[].contract,[].bid\n1,AQID\n\n2,BAUG\n", SB_ERR_BAD_CSV, 0, "row 2 is empty"},
	    {"[].contract,[].bid\n1\n", SB_ERR_BAD_CSV, 0, "row 1 has one field"},
	    {"[].contract,[].bid\n1,AQID,x\n", SB_ERR_BAD_CSV, 0, "row 1 has more than 2"},
	    {"[].contract,[].bid\n1,\n", SB_ERR_BAD_CSV, 0, "row 1 has no ciphertext"},
	    {"[].contract,[].bid\n,AQID\n", SB_ERR_BAD_CSV, 0, "row 1"},
	    {"[].contract,[].bid\n1,AQID\n\"2\",AQID\n", SB_ERR_BAD_CSV, 0, "row 2"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct collect c = {0};
		sb_result r = sb_bids_csv_each(sb_slice_str(v[i].text), collect_row, &c);
		assert_int_equal(r.code, v[i].code);
		if (v[i].code == SB_OK)
			assert_int_equal(c.rows, v[i].rows);
		if (v[i].detail != NULL)
			assert_non_null(strstr(sb_error_detail(), v[i].detail));
	}
	struct collect c = {0};
	assert_true(
	    sb_ok(sb_bids_csv_each(sb_slice_str("[].contract,[].bid\n7,Zm9v\n"), collect_row, &c)));
	assert_string_equal(c.last_prop, "7");
	assert_string_equal(c.last_ct, "Zm9v");
}

static const char good_manifest[] =
    "{\"version\": 1, \"job_id\": \"auction-2026-11-22\", \"region\": \"us-east-1\",\n"
    " \"computation\": \"highest-bid\", \"disclose\": \"winner\",\n"
    " \"parties\": [\n"
    "  {\"name\": \"Buyer1\", \"input\": \"s3://buyer1-bids/encrypted.csv\", \"format\": "
    "\"kms-csv\",\n"
    "   \"key\": "
    "\"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\"},\n"
    "  {\"name\": \"Buyer2\", \"input\": \"file:///data/buyer2/encrypted.csv\", \"format\": "
    "\"kms-csv\", \"key\": \"alias/buyer2\"}\n"
    " ],\n"
    " \"output\": \"s3://bidding-service/output.csv\"}";

static void test_manifest_good_and_canonical(void **state)
{
	(void)state;
	struct sb_manifest m, m2;
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(good_manifest), &m)));
	assert_int_equal(m.nparties, 2);
	assert_string_equal(m.parties[1].key, "alias/buyer2");
	assert_int_equal(m.computation, SB_COMPUTE_HIGHEST_BID);
	size_t idx;
	assert_true(sb_ok(sb_manifest_party_index(&m, sb_slice_str("Buyer2"), &idx)));
	assert_int_equal(idx, 1);
	assert_int_equal(sb_manifest_party_index(&m, sb_slice_str("Buyer3"), &idx).code,
	                 SB_ERR_BAD_PARTY);

	/* Same content, other order, defaults omitted: same canonical form and hash. */
	static const char reordered[] =
	    "{\"output\":\"s3://bidding-service/output.csv\",\"parties\":["
	    "{\"key\":\"arn:aws:kms:us-east-1:111122223333:key/"
	    "1234abcd-12ab-34cd-56ef-1234567890ab\",\"name\":\"Buyer1\","
	    "\"input\":\"s3://buyer1-bids/encrypted.csv\"},"
	    "{\"name\":\"Buyer2\",\"input\":\"file:///data/buyer2/encrypted.csv\","
	    "\"key\":\"alias/buyer2\"}],"
	    "\"region\":\"us-east-1\",\"job_id\":\"auction-2026-11-22\",\"version\":1}";
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(reordered), &m2)));
	assert_string_equal(sb_buf_cstr(&m.canonical), sb_buf_cstr(&m2.canonical));
	assert_memory_equal(m.hash, m2.hash, sizeof(m.hash));
	assert_non_null(strstr(sb_buf_cstr(&m.canonical), "{\"computation\":\"highest-bid\""));
	sb_manifest_cleanup(&m2);

	/* A changed party key changes the hash. */
	char changed[sizeof(good_manifest)];
	memcpy(changed, good_manifest, sizeof(good_manifest));
	*strstr(changed, "alias/buyer2") = 'A';
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(changed), &m2)));
	assert_memory_not_equal(m.hash, m2.hash, sizeof(m.hash));
	sb_manifest_cleanup(&m2);
	sb_manifest_cleanup(&m);
}

struct manifest_vector {
	const char *from, *to; /* replace in good_manifest */
	const char *detail;
};

static void test_manifest_rejects(void **state)
{
	(void)state;
	static const struct manifest_vector v[] = {
	    {"\"version\": 1", "\"version\": 2", "version"},
	    {"\"version\": 1", "\"version\": \"1\"", "version"},
	    {"\"region\"", "\"regio\"", "unknown field"},
	    {"\"format\": \"kms-csv\",\n", "\"format\": \"xml\",\n", "format"},
	    {"\"computation\": \"highest-bid\"", "\"computation\": \"lowest\"", "computation"},
	    {"\"disclose\": \"winner\"", "\"disclose\": \"all\"", "disclose"},
	    {"\"name\": \"Buyer2\"", "\"name\": \"Buyer1\"", "listed twice"},
	    {"\"name\": \"Buyer2\"", "\"name\": \"Buyer 2\"", "party name"},
	    {"\"name\": \"Buyer2\"", "\"nam\": \"Buyer2\"", "unknown field"},
	    {"\"input\": \"file:///data/buyer2/encrypted.csv\"", "\"input\": \"http://x/y\"",
	     "URI"},
	    {"s3://bidding-service/output.csv", "s3://bucket-only", "URI"},
	    {"\"job_id\": \"auction-2026-11-22\"", "\"job_id\": \"a b\"", "job_id"},
	    {"\"job_id\": \"auction-2026-11-22\", ", "", "missing field \"job_id\""},
	    {"\"version\": 1,", "\"version\": 1, \"version\": 1,", "duplicate"},
	    {"\"output\": \"s3://bidding-service/output.csv\"}", "\"output\": ", "JSON error"},
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char text[4096];
		const char *at = strstr(good_manifest, v[i].from);
		assert_non_null(at);
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - good_manifest), good_manifest,
		         v[i].to, at + strlen(v[i].from));
		struct sb_manifest m;
		sb_result r = sb_manifest_parse(sb_slice_str(text), &m);
		if (r.code != SB_ERR_BAD_MANIFEST && r.code != SB_ERR_BAD_PARTY)
			fail_msg("vector %zu: code %d", i, r.code);
		if (strstr(sb_error_detail(), v[i].detail) == NULL)
			fail_msg("vector %zu: detail \"%s\"", i, sb_error_detail());
		assert_null(m.parties);
	}
	/* Fewer than two parties. */
	struct sb_manifest m;
	static const char one[] =
	    "{\"version\":1,\"job_id\":\"j\",\"region\":\"us-east-1\",\"parties\":[{\"name\":"
	    "\"A\",\"input\":\"file:///a\",\"key\":\"alias/a\"}],\"output\":\"file:///o\"}";
	assert_int_equal(sb_manifest_parse(sb_slice_str(one), &m).code, SB_ERR_BAD_MANIFEST);
	assert_non_null(strstr(sb_error_detail(), "2.."));
	assert_int_equal(sb_manifest_parse(sb_slice_str("[]"), &m).code, SB_ERR_BAD_MANIFEST);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_amount_compare),
	    cmocka_unit_test(test_amount_rejects),
	    cmocka_unit_test(test_amount_length),
	    cmocka_unit_test(test_aws_sample_example),
	    cmocka_unit_test(test_ties_gaps_and_order),
	    cmocka_unit_test(test_second_price_and_disclosure),
	    cmocka_unit_test(test_auction_rejects),
	    cmocka_unit_test(test_five_buyers_match_reference),
	    cmocka_unit_test(test_index_and_amount_shapes_match_reference),
	    cmocka_unit_test(test_bids_csv),
	    cmocka_unit_test(test_manifest_good_and_canonical),
	    cmocka_unit_test(test_manifest_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
