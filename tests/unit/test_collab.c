/* Unit tests for src/collab: exact decimals, CSV fields, analysis rules, the join. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collab/sb_collab.h"
#include "collab/sb_collab_check.h"
#include "collab/sb_csv_fields.h"
#include "collab/sb_decimal.h"

/* --- decimals --- */

static char *fmt_dec(const char *text)
{
	static char out[64];
	struct sb_decimal d;
	struct sb_buf b = SB_BUF_INIT(64);

	assert_true(sb_ok(sb_decimal_parse(sb_slice_str(text), &d)));
	assert_true(sb_ok(sb_decimal_format(&d, &b)));
	(void)snprintf(out, sizeof(out), "%s", (const char *)b.data);
	sb_buf_cleanup(&b);
	return out;
}

static void test_decimal_parse_format(void **state)
{
	(void)state;
	assert_string_equal(fmt_dec("12"), "12");
	assert_string_equal(fmt_dec("012.500"), "12.5");
	assert_string_equal(fmt_dec("-0.25"), "-0.25");
	assert_string_equal(fmt_dec("0.000001"), "0.000001");
	assert_string_equal(fmt_dec("-0"), "0");
	assert_string_equal(fmt_dec("999999999999999999.999999"), "999999999999999999.999999");
	static const char *const bad[] = {"",   "-",  "+1",   "1.",  ".5",   "1e3", " 1",
					  "1 ", "1,5", "abc", "1.2.3", "--1", "0x10",
					  "1234567890123456789", "1.1234567"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sb_decimal d;
		sb_result r = sb_decimal_parse(sb_slice_str(bad[i]), &d);
		assert_int_equal(r.code, SB_ERR_BAD_DECIMAL);
		/* The detail never echoes the text. */
		if (strlen(bad[i]) > 2)
			assert_null(strstr(sb_error_detail(), bad[i]));
	}
}

static void test_decimal_sum_and_avg(void **state)
{
	struct sb_decimal acc = {0}, x, big;
	struct sb_buf b = SB_BUF_INIT(64);
	(void)state;

	for (int i = 0; i < 10; i++) {
		assert_true(sb_ok(sb_decimal_parse(sb_slice_str("0.1"), &x)));
		assert_true(sb_ok(sb_decimal_add(&acc, &x)));
	}
	assert_true(sb_ok(sb_decimal_format(&acc, &b)));
	assert_string_equal((char *)b.data, "1"); /* exact: no 0.9999999 */
	sb_buf_reset(&b);
	/* avg, half away from zero to 2 decimals */
	struct {
		const char *sum;
		uint64_t n;
		const char *want;
	} v[] = {{"10", 3, "3.33"},   {"20", 3, "6.67"},  {"0.005", 1, "0.01"}, {"0.004999", 1, "0.00"},
		 {"-0.005", 1, "-0.01"}, {"-0.004", 1, "0.00"}, {"1", 8, "0.13"},    {"7", 2, "3.50"}};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_true(sb_ok(sb_decimal_parse(sb_slice_str(v[i].sum), &x)));
		sb_buf_reset(&b);
		assert_true(sb_ok(sb_decimal_format_avg(&x, v[i].n, &b)));
		assert_string_equal((char *)b.data, v[i].want);
	}
	assert_int_equal(sb_decimal_format_avg(&x, 0, &b).code, SB_ERR_INVALID_ARG);
	/* Overflow is an error and leaves the sum unchanged. */
	big.units = ((sb_i128)1 << 126);
	acc = big;
	assert_int_equal(sb_decimal_add(&acc, &big).code, SB_ERR_NUMBER_RANGE);
	assert_true(acc.units == big.units);
	sb_buf_cleanup(&b);
}

/* --- CSV fields --- */

static void test_csv_split(void **state)
{
	struct sb_csv_fields f;
	(void)state;

	sb_csv_fields_init(&f);
	assert_true(sb_ok(sb_csv_split(&f, sb_slice_str("a,,\"b,c\",\"say \"\"hi\"\"\",\r"))));
	assert_int_equal(f.n, 5);
	assert_true(sb_slice_eq_str(f.field[0], "a"));
	assert_true(sb_slice_eq_str(f.field[1], ""));
	assert_true(sb_slice_eq_str(f.field[2], "b,c"));
	assert_true(sb_slice_eq_str(f.field[3], "say \"hi\""));
	assert_true(sb_slice_eq_str(f.field[4], ""));
	assert_true(sb_ok(sb_csv_split(&f, sb_slice_str(""))));
	assert_int_equal(f.n, 1);
	static const char *const bad[] = {"\"open", "a\"b,c", "\"x\"y,z", "\"a\"\"", "x,\"y"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(sb_csv_split(&f, sb_slice_str(bad[i])).code, SB_ERR_DATASET_CSV);
	char many[3 * SB_CSV_MAX_FIELDS];
	memset(many, ',', SB_CSV_MAX_FIELDS);
	many[SB_CSV_MAX_FIELDS] = '\0'; /* 257 empty fields */
	assert_int_equal(sb_csv_split(&f, sb_slice_str(many)).code, SB_ERR_DATASET_CSV);
	sb_csv_fields_cleanup(&f);

	struct sb_buf out = SB_BUF_INIT(256);
	assert_true(sb_ok(sb_csv_put_field(&out, sb_slice_str("plain"))));
	assert_true(sb_ok(sb_csv_put_field(&out, sb_slice_str("a,b"))));
	assert_true(sb_ok(sb_csv_put_field(&out, sb_slice_str("q\"q"))));
	assert_true(sb_ok(sb_csv_put_field(&out, sb_slice_str(" pad"))));
	assert_string_equal((char *)out.data, "plain\"a,b\"\"q\"\"q\"\" pad\"");
	sb_buf_cleanup(&out);
}

/* --- the spec --- */

static void spec_default(struct sb_collab_spec *s)
{
	memset(s, 0, sizeof(*s));
	strcpy(s->rule[0].party, "retailer");
	strcpy(s->rule[0].join, "email");
	strcpy(s->rule[0].group_by[0], "region");
	s->rule[0].ngroup_by = 1;
	strcpy(s->rule[0].agg[0].column, "email");
	s->rule[0].agg[0].fns = SB_AGG_BIT(SB_AGG_COUNT_DISTINCT);
	s->rule[0].nagg = 1;
	s->rule[0].min_distinct_keys = 2;
	strcpy(s->rule[1].party, "provider");
	strcpy(s->rule[1].join, "email");
	strcpy(s->rule[1].group_by[0], "age");
	s->rule[1].ngroup_by = 1;
	strcpy(s->rule[1].agg[0].column, "spend");
	s->rule[1].agg[0].fns = SB_AGG_BIT(SB_AGG_SUM) | SB_AGG_BIT(SB_AGG_AVG) | SB_AGG_BIT(SB_AGG_COUNT);
	s->rule[1].nagg = 1;
	s->rule[1].min_distinct_keys = 3;
	s->group_by[0] = (struct sb_collab_ref){0, "region"};
	s->group_by[1] = (struct sb_collab_ref){1, "age"};
	s->ngroup_by = 2;
	s->agg[0] = (struct sb_collab_agg){SB_AGG_COUNT, {1, "spend"}};
	s->agg[1] = (struct sb_collab_agg){SB_AGG_SUM, {1, "spend"}};
	s->agg[2] = (struct sb_collab_agg){SB_AGG_AVG, {1, "spend"}};
	s->agg[3] = (struct sb_collab_agg){SB_AGG_COUNT_DISTINCT, {0, "email"}};
	s->nagg = 4;
}

static void test_spec_rules(void **state)
{
	struct sb_collab_spec s;
	(void)state;

	spec_default(&s);
	assert_true(sb_ok(sb_collab_spec_check(&s)));
	assert_int_equal(sb_collab_threshold(&s), 3);
	/* grouping by a column the owner's rule does not list */
	s.group_by[1] = (struct sb_collab_ref){1, "zip"};
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_RULE_REFUSED);
	assert_string_equal(sb_error_detail(), "party provider does not allow grouping by \"zip\"");
	/* a function the rule does not allow on that column */
	spec_default(&s);
	s.agg[3] = (struct sb_collab_agg){SB_AGG_SUM, {0, "email"}};
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_RULE_REFUSED);
	assert_string_equal(sb_error_detail(), "party retailer does not allow sum of \"email\"");
	/* another party's rule does not cover a column of the same name */
	spec_default(&s);
	s.group_by[0] = (struct sb_collab_ref){1, "region"};
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_RULE_REFUSED);
	/* thresholds 2..100000 */
	spec_default(&s);
	s.rule[0].min_distinct_keys = 1;
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_BAD_MANIFEST);
	s.rule[0].min_distinct_keys = 100001;
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_BAD_MANIFEST);
	s.rule[0].min_distinct_keys = 100000;
	assert_true(sb_ok(sb_collab_spec_check(&s)));
	/* no aggregate, a repeated aggregate */
	spec_default(&s);
	s.nagg = 0;
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_BAD_MANIFEST);
	spec_default(&s);
	s.agg[1] = s.agg[0];
	assert_int_equal(sb_collab_spec_check(&s).code, SB_ERR_BAD_MANIFEST);
	/* bad column names */
	assert_int_equal(sb_collab_column_check(sb_slice_str("a,b")).code, SB_ERR_DATASET_COLUMN);
	assert_int_equal(sb_collab_column_check(sb_slice_str(" a")).code, SB_ERR_DATASET_COLUMN);
	assert_int_equal(sb_collab_column_check(sb_slice_str("")).code, SB_ERR_DATASET_COLUMN);
	assert_true(sb_ok(sb_collab_column_check(sb_slice_str("yearly spend (EUR)"))));
}

/* --- the join --- */

static sb_result feed(struct sb_collab *c, uint32_t party, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		sb_result r = sb_collab_line(c, party, SB_SLICE(p, n));
		if (!sb_ok(r))
			return r;
		p += n + (nl != NULL);
	}
	return sb_collab_end(c, party);
}

static char *run_join(const struct sb_collab_spec *s, const char *first, uint32_t first_party,
		      const char *second)
{
	struct sb_collab *c = NULL;
	struct sb_buf out = SB_BUF_INIT(1 << 20);
	char *text;

	assert_true(sb_ok(sb_collab_new(s, &c)));
	assert_true(sb_ok(feed(c, first_party, first)));
	assert_true(sb_ok(feed(c, 1 - first_party, second)));
	assert_true(sb_ok(sb_collab_write_csv(c, &out)));
	text = strdup((const char *)out.data);
	sb_buf_cleanup(&out);
	sb_collab_free(c);
	return text;
}

static const char retailer[] = "email,region\n"
			       "a@x,north\nB@X,north\nc@x,north\n"
			       " d@x\t,south\ne@x,south\nf@x,south\n"
			       "0042,east\ng@x,west\n";
static const char provider[] = "age,email,spend\n"
			       "20,a@x,10.5\n20,b@x,20\n20,c@x,0.01\n20,c@x,-3\n"
			       "30,d@x,7.25\n30,e@x,1\n30,F@X,2\n"
			       "40,042,5\n40,0042,6\n"
			       "50,zzz,1\n";

static void test_join_groups_and_threshold(void **state)
{
	struct sb_collab_spec s;
	char *out;
	(void)state;

	spec_default(&s);
	out = run_join(&s, retailer, 0, provider);
	assert_string_equal(out,
			    "retailer.region,provider.age,count(provider.spend),sum(provider.spend),"
			    "avg(provider.spend),count_distinct(retailer.email)\n"
			    "north,20,4,27.51,6.88,3\n"
			    "south,30,3,10.25,3.42,3\n"
			    "# suppressed_groups=1 threshold=3\n");
	free(out);
	/* Either side may come first: the same output. */
	out = run_join(&s, provider, 1, retailer);
	assert_non_null(strstr(out, "north,20,4,27.51,6.88,3\nsouth,30,3,10.25,3.42,3\n"));
	free(out);
	/* A lower threshold keeps east (the digit key 0042 matches exactly, 042 does not). */
	s.rule[1].min_distinct_keys = 2;
	s.rule[0].min_distinct_keys = 1 + 1;
	out = run_join(&s, retailer, 0, provider);
	assert_non_null(strstr(out, "# suppressed_groups=1 threshold=2\n"));
	s.rule[0].min_distinct_keys = 100000;
	free(out);
	out = run_join(&s, retailer, 0, provider);
	assert_non_null(strstr(out, ")\n# suppressed_groups=3 threshold=100000\n"));
	free(out);
}

static void test_join_duplicates_multiply(void **state)
{
	struct sb_collab_spec s;
	char *out;
	(void)state;

	spec_default(&s);
	s.ngroup_by = 0;
	s.rule[1].min_distinct_keys = 2;
	/* a@x twice on the left, three times on the right: 6 joined rows, 1 key; b@x: 1 row */
	out = run_join(&s, "email,region\na@x,n\na@x,s\nb@x,n\n", 0,
		       "email,age,spend\na@x,1,1\na@x,1,2\na@x,1,3\nb@x,1,10\n");
	assert_string_equal(out, "count(provider.spend),sum(provider.spend),avg(provider.spend),"
				 "count_distinct(retailer.email)\n"
				 "7,22,3.14,2\n# suppressed_groups=0 threshold=2\n");
	free(out);
	/* No group-by and nothing joined: the one group is left out. */
	out = run_join(&s, "email,region\na@x,n\n", 0, "email,age,spend\nq@x,1,1\n");
	assert_string_equal(out, "count(provider.spend),sum(provider.spend),avg(provider.spend),"
				 "count_distinct(retailer.email)\n"
				 "# suppressed_groups=1 threshold=2\n");
	free(out);
}

static sb_result join_error(const char *first, const char *second)
{
	struct sb_collab_spec s;
	struct sb_collab *c = NULL;
	sb_result r;

	spec_default(&s);
	assert_true(sb_ok(sb_collab_new(&s, &c)));
	r = feed(c, 0, first);
	if (sb_ok(r))
		r = feed(c, 1, second);
	sb_collab_free(c);
	return r;
}

static void test_join_refusals(void **state)
{
	static const char good_p[] = "email,age,spend\na@x,1,1\n";
	sb_result r;
	(void)state;

	r = join_error("email,region\na@x,n\n", "email,age,spend\na@x,1,12x34SECRET\n");
	assert_int_equal(r.code, SB_ERR_BAD_DECIMAL);
	assert_non_null(strstr(sb_error_detail(), "party provider, row 1, column \"spend\""));
	assert_null(strstr(sb_error_detail(), "SECRET"));
	r = join_error("email,region\na@x,n\nb@x\n", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_CSV);
	assert_non_null(strstr(sb_error_detail(), "party retailer, row 2: 1 field where the header has 2"));
	r = join_error("mail,region\na@x,n\n", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_COLUMN);
	assert_non_null(strstr(sb_error_detail(), "no column \"email\" (the join column)"));
	r = join_error("email,region,region\na@x,n,n\n", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_COLUMN);
	r = join_error("email,region\na@x,n\n", "email,spend\na@x,1\n"); /* the rule's "age" */
	assert_int_equal(r.code, SB_ERR_DATASET_COLUMN);
	assert_non_null(strstr(sb_error_detail(), "party provider"));
	r = join_error("email,region\n", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_CSV);
	assert_non_null(strstr(sb_error_detail(), "party retailer: the input has no rows"));
	r = join_error("", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_CSV);
	r = join_error("email,region\n\"a@x,n\n", good_p);
	assert_int_equal(r.code, SB_ERR_DATASET_CSV);
	assert_non_null(strstr(sb_error_detail(), "party retailer, row 1"));

	/* The probe side may not start before the build side has ended. */
	struct sb_collab_spec s;
	struct sb_collab *c = NULL;
	spec_default(&s);
	assert_true(sb_ok(sb_collab_new(&s, &c)));
	assert_true(sb_ok(sb_collab_line(c, 0, sb_slice_str("email,region"))));
	assert_int_equal(sb_collab_line(c, 1, sb_slice_str("email,age,spend")).code,
			 SB_ERR_BAD_STATE);
	struct sb_buf out = SB_BUF_INIT(1024);
	assert_int_equal(sb_collab_write_csv(c, &out).code, SB_ERR_BAD_STATE);
	assert_int_equal(out.len, 0);
	sb_collab_free(c);
	/* A query the rules refuse cannot even start. */
	spec_default(&s);
	s.agg[0].fn = SB_AGG_COUNT_DISTINCT;
	assert_int_equal(sb_collab_new(&s, &c).code, SB_ERR_RULE_REFUSED);
}

static void test_check_stream_any_split(void **state)
{
	struct sb_collab_spec s;
	static const char csv[] = "age,email,spend\r\n20,a@x,1.5\r\n30,\"b,x\",2\r\n40,c@x,3";
	(void)state;

	spec_default(&s);
	for (size_t cut = 0; cut <= sizeof(csv) - 1; cut++) {
		struct sb_collab_check c;
		sb_collab_check_init(&c, &s, 1);
		assert_true(sb_ok(sb_collab_check_feed(&c, SB_SLICE(csv, cut))));
		assert_true(sb_ok(sb_collab_check_feed(&c, SB_SLICE(csv + cut, sizeof(csv) - 1 - cut))));
		assert_true(sb_ok(sb_collab_check_end(&c)));
		assert_int_equal(c.table.rows, 3);
		sb_collab_check_cleanup(&c);
	}
	struct sb_collab_check c;
	sb_collab_check_init(&c, &s, 1);
	assert_true(sb_ok(sb_collab_check_feed(&c, sb_slice_str("age,email,spend\n1,a,1\n2,b,n/a\n"))) ==
		    false);
	assert_int_equal(sb_error_code(), SB_ERR_BAD_DECIMAL);
	assert_non_null(strstr(sb_error_detail(), "row 2, column \"spend\""));
	sb_collab_check_cleanup(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decimal_parse_format),
		cmocka_unit_test(test_decimal_sum_and_avg),
		cmocka_unit_test(test_csv_split),
		cmocka_unit_test(test_spec_rules),
		cmocka_unit_test(test_join_groups_and_threshold),
		cmocka_unit_test(test_join_duplicates_multiply),
		cmocka_unit_test(test_join_refusals),
		cmocka_unit_test(test_check_stream_any_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
