/*
 * The sealed dataset's plaintext CSV check (src/cli/sb_cli_sealed.c), fed
 * whole, split at every byte, and one byte at a time: a streamed checker
 * must give the same verdict wherever the chunks break.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The CLI is a program, not a library: its two helper files are built in. */
#include "cli/sb_cli_manifest.c"
#include "cli/sb_cli_sealed.c"

struct vector {
	const char *csv;
	int code;           /* SB_OK or the error */
	const char *detail; /* substring of the error's detail */
	size_t rows;
};

static const struct vector vectors[] = {
	{"[].contract,[].bid\n1,100\n", SB_OK, NULL, 1},
	{"[].contract,[].bid\n1,100", SB_OK, NULL, 1},
	{"[].contract,[].bid\r\n1,100\r\n2,0.5\r\n", SB_OK, NULL, 2},
	{"[].contract,[].bid\r\na-b_c,123456789012345678901234567890.25", SB_OK, NULL, 1},
	{"", SB_ERR_BAD_CSV, "empty", 0},
	{"[].contract,[].bid\n", SB_ERR_BAD_CSV, "no bids", 0},
	{"[].contract,[].bid", SB_ERR_BAD_CSV, "no bids", 0},
	{"property,amount\n1,100\n", SB_ERR_BAD_CSV, "line 1: expected the header", 0},
	{"[].contract,[].bid\n1,100\n\n2,5\n", SB_ERR_BAD_CSV, "line 3: empty line", 0},
	{"[].contract,[].bid\n1,100\n\r\n", SB_ERR_BAD_CSV, "line 3: empty line", 0},
	{"[].contract,[].bid\n1100\n", SB_ERR_BAD_CSV, "line 2: expected property,amount", 0},
	{"[].contract,[].bid\n,100\n", SB_ERR_BAD_CSV, "line 2: property id", 0},
	{"[].contract,[].bid\na b,100\n", SB_ERR_BAD_CSV, "line 2: property id", 0},
	{"[].contract,[].bid\nsealbid:x,100\n", SB_ERR_BAD_CSV, "line 2: property ids starting", 0},
	{"[].contract,[].bid\n1,100\n2,-5\n", SB_ERR_BAD_AMOUNT, "line 3", 0},
	{"[].contract,[].bid\n1,100,5\n", SB_ERR_BAD_AMOUNT, "line 2", 0},
	{"[].contract,[].bid\n1,1e5\n", SB_ERR_BAD_AMOUNT, "line 2", 0},
	{"[].contract,[].bid\n1,\n", SB_ERR_BAD_AMOUNT, "line 2", 0},
	{"[].contract,[].bid\n1,100\r\r\n", SB_ERR_BAD_AMOUNT, "line 2", 0},
	/* The parse's reason after the line (issue 10 item 13), never the value. */
	{"[].contract,[].bid\n1,1.2.3\n", SB_ERR_BAD_AMOUNT, "line 2: amount has a non-digit", 0},
	{"[].contract,[].bid\n1,12345678901234567890123456789012345678901234567890123456789012345\n",
	 SB_ERR_BAD_AMOUNT, "line 2: amount is longer than 64 digits", 0},
};

static sb_result run(struct sb_slice in, size_t step, size_t split, size_t *rows)
{
	struct sb_sealed_csv c;
	sb_result rc = SB_OK_RESULT;

	sb_sealed_csv_init(&c);
	if (step == 0) { /* two chunks, either maybe empty */
		rc = sb_sealed_csv_feed(&c, SB_SLICE(in.ptr, split));
		if (sb_ok(rc))
			rc = sb_sealed_csv_feed(&c, SB_SLICE(in.ptr + split, in.len - split));
	}
	for (size_t off = 0; step != 0 && off < in.len && sb_ok(rc); off += step) {
		size_t n = step < in.len - off ? step : in.len - off;
		rc = sb_sealed_csv_feed(&c, SB_SLICE(in.ptr + off, n));
	}
	if (sb_ok(rc))
		rc = sb_sealed_csv_end(&c);
	*rows = c.rows;
	sb_sealed_csv_cleanup(&c);
	return rc;
}

static void check(const struct vector *v, size_t step, size_t split)
{
	size_t rows = 0;
	sb_result rc = run(sb_slice_str(v->csv), step, split, &rows);

	if (rc.code != v->code || (v->detail != NULL && strstr(sb_error_detail(), v->detail) == NULL))
		fail_msg("\"%s\" step %zu split %zu: %s (%s)", v->csv, step, split,
			 sb_error_name(rc.code), sb_error_detail());
	if (v->code == SB_OK)
		assert_int_equal(rows, v->rows);
}

static void test_vectors_any_split(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len = strlen(vectors[i].csv);
		check(&vectors[i], 0, len);
		check(&vectors[i], 1, 0);
		for (size_t split = 0; split <= len; split++)
			check(&vectors[i], 0, split);
	}
}

/* The longest line is accepted; one byte more is refused, by its line number. */
static void test_line_length_bound(void **state)
{
	(void)state;
	char csv[400], prop[SB_AUCTION_MAX_PROPERTY_ID + 1], amount[SB_AMOUNT_MAX_CHARS + 1];
	size_t rows;

	memset(prop, 'p', sizeof(prop) - 1);
	prop[sizeof(prop) - 1] = '\0';
	memset(amount, '9', sizeof(amount) - 1);
	amount[sizeof(amount) - 1] = '\0';
	amount[10] = '.'; /* the longest amount: 64 digits and a '.' */
	snprintf(csv, sizeof(csv), "[].contract,[].bid\r\n%s,%s\r\n", prop, amount);
	assert_true(sb_ok(run(sb_slice_str(csv), 7, 0, &rows)));
	assert_int_equal(rows, 1);
	snprintf(csv, sizeof(csv), "[].contract,[].bid\n1,5\n%s,%s0\r\n", prop, amount);
	sb_result rc = run(sb_slice_str(csv), 7, 0, &rows);
	assert_int_equal(rc.code, SB_ERR_BAD_CSV);
	assert_non_null(strstr(sb_error_detail(), "line 3: longer than"));
	/* The same when the line arrives whole in one chunk (found by fuzz_cli_sealed). */
	rc = run(sb_slice_str(csv), 0, strlen(csv), &rows);
	assert_int_equal(rc.code, SB_ERR_BAD_CSV);
	assert_non_null(strstr(sb_error_detail(), "line 3: longer than"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors_any_split),
		cmocka_unit_test(test_line_length_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
