/* Unit tests for the join-aggregate manifest (src/auction/sb_manifest_collab.c) and its job. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auction/sb_manifest.h"

#define PARTY_R                                                                                    \
	"{\"name\":\"retailer\",\"input\":\"file:///r.sealed\",\"key\":\"alias/r\","             \
	"\"join\":\"email\",\"rule\":{\"group_by\":[\"region\"],\"aggregate\":{\"email\":"       \
	"[\"count_distinct\",\"count\"]},\"min_distinct_keys\":" R_MIN "}}"
#define PARTY_P                                                                                    \
	"{\"name\":\"provider\",\"input\":\"file:///p.sealed\",\"format\":\"sealed\","           \
	"\"key\":\"alias/p\",\"join\":\"email\",\"rule\":{\"group_by\":[\"age\"],"              \
	"\"aggregate\":{\"spend\":[\"sum\",\"avg\"]},\"min_distinct_keys\":50}}"
#define QUERY                                                                                      \
	"\"query\":{\"group_by\":[{\"party\":\"retailer\",\"column\":\"region\"}," QUERY_GB        \
	"],\"aggregates\":[{\"function\":\"avg\",\"party\":\"provider\",\"column\":\"spend\"}]}"
#define QUERY_GB "{\"party\":\"provider\",\"column\":\"age\"}"
#define R_MIN    "2"
#define HEAD     "{\"version\":1,\"job_id\":\"c1\",\"region\":\"us-east-1\",\"computation\":\"join-aggregate\","
#define TAIL     "\"output\":\"file:///out/output.csv\"}"
#define MANIFEST HEAD "\"parties\":[" PARTY_R "," PARTY_P "]," QUERY "," TAIL

static sb_result parse(const char *json, struct sb_manifest *m)
{
	return sb_manifest_parse(sb_slice_str(json), m);
}

static void test_parse_and_canonical(void **state)
{
	struct sb_manifest m, again;
	(void)state;

	assert_true(sb_ok(parse(MANIFEST, &m)));
	assert_int_equal(m.computation, SB_COMPUTE_JOIN_AGGREGATE);
	assert_non_null(m.collab);
	assert_int_equal(m.parties[0].format, SB_FORMAT_SEALED); /* the default here */
	assert_string_equal(m.collab->rule[1].join, "email");
	assert_int_equal(sb_collab_threshold(m.collab), 50);
	assert_int_equal(m.collab->ngroup_by, 2);
	assert_int_equal(m.collab->group_by[1].party, 1);
	const char *canon = (const char *)m.canonical.data;
	/* Functions as a set in a fixed order; no "disclose"; the query kept in order. */
	assert_non_null(strstr(canon, "\"aggregate\":{\"email\":[\"count\",\"count_distinct\"]}"));
	assert_null(strstr(canon, "disclose"));
	assert_non_null(strstr(canon, "\"query\":{\"aggregates\":[{\"column\":\"spend\""));
	/* The canonical form parses to the same hash. */
	assert_true(sb_ok(parse(canon, &again)));
	assert_memory_equal(m.hash, again.hash, sizeof(m.hash));
	sb_manifest_cleanup(&again);
	sb_manifest_cleanup(&m);
}

static void test_rule_binds_the_hash(void **state)
{
	struct sb_manifest a, b;
	(void)state;
	/* A lower threshold is another manifest: data sealed for one is not the other's. */
#undef R_MIN
#define R_MIN "3"
	assert_true(sb_ok(parse(MANIFEST, &a)));
#undef R_MIN
#define R_MIN "2"
	assert_true(sb_ok(parse(MANIFEST, &b)));
	assert_memory_not_equal(a.hash, b.hash, sizeof(a.hash));
	sb_manifest_cleanup(&a);
	sb_manifest_cleanup(&b);
}

struct refusal {
	const char *json;
	int code;
	const char *detail;
};

static void test_refusals(void **state)
{
	static const struct refusal v[] = {
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "]," QUERY ",\"disclose\":\"winner\"," TAIL,
	     SB_ERR_BAD_MANIFEST, "\"disclose\" belongs to auctions"},
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "]," TAIL, SB_ERR_BAD_MANIFEST,
	     "needs a \"query\""},
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "]," QUERY ",\"shards\":2," TAIL,
	     SB_ERR_BAD_MANIFEST, "runs as one shard"},
	    {HEAD "\"parties\":[" PARTY_R "]," QUERY "," TAIL, SB_ERR_BAD_MANIFEST,
	     "has 2 parties"},
	    {HEAD "\"parties\":[" PARTY_R ",{\"name\":\"provider\",\"input\":\"file:///p\","
		  "\"format\":\"kms-csv\",\"key\":\"alias/p\",\"join\":\"email\",\"rule\":"
		  "{\"min_distinct_keys\":2}}]," QUERY "," TAIL,
	     SB_ERR_BAD_MANIFEST, "is sealed"},
	    {HEAD "\"parties\":[" PARTY_R ",{\"name\":\"provider\",\"input\":\"file:///p\","
		  "\"key\":\"alias/p\",\"rule\":{\"min_distinct_keys\":2}}]," QUERY "," TAIL,
	     SB_ERR_BAD_MANIFEST, "missing field \"join\""},
	    {HEAD "\"parties\":[" PARTY_R ",{\"name\":\"provider\",\"input\":\"file:///p\","
		  "\"key\":\"alias/p\",\"join\":\"e\",\"rule\":{\"min_distinct_keys\":1}}]," QUERY
		  "," TAIL,
	     SB_ERR_BAD_MANIFEST, "min_distinct_keys must be an integer 2..100000"},
	    {HEAD "\"parties\":[" PARTY_R ",{\"name\":\"provider\",\"input\":\"file:///p\","
		  "\"key\":\"alias/p\",\"join\":\"e\",\"rule\":{\"min_distinct_keys\":100001}}]," QUERY
		  "," TAIL,
	     SB_ERR_BAD_MANIFEST, "min_distinct_keys must be an integer 2..100000"},
	    {HEAD "\"parties\":[" PARTY_R ",{\"name\":\"provider\",\"input\":\"file:///p\","
		  "\"key\":\"alias/p\",\"join\":\"e\",\"rule\":{\"min_distinct_keys\":5,"
		  "\"extra\":1}}]," QUERY "," TAIL,
	     SB_ERR_BAD_MANIFEST, "unknown field \"extra\""},
	    /* The query asks what the provider's rule does not allow. */
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "],\"query\":{\"aggregates\":[{\"function\":"
		  "\"count_distinct\",\"party\":\"provider\",\"column\":\"spend\"}]}," TAIL,
	     SB_ERR_RULE_REFUSED, "party provider does not allow count_distinct of \"spend\""},
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "],\"query\":{\"group_by\":[{\"party\":"
		  "\"provider\",\"column\":\"zip\"}],\"aggregates\":[{\"function\":\"sum\","
		  "\"party\":\"provider\",\"column\":\"spend\"}]}," TAIL,
	     SB_ERR_RULE_REFUSED, "party provider does not allow grouping by \"zip\""},
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "],\"query\":{\"aggregates\":[{\"function\":"
		  "\"median\",\"party\":\"provider\",\"column\":\"spend\"}]}," TAIL,
	     SB_ERR_BAD_MANIFEST, "\"count\", \"count_distinct\", \"sum\" or \"avg\""},
	    {HEAD "\"parties\":[" PARTY_R "," PARTY_P "],\"query\":{\"aggregates\":[{\"function\":"
		  "\"sum\",\"party\":\"nobody\",\"column\":\"spend\"}]}," TAIL,
	     SB_ERR_BAD_MANIFEST, "no party \"nobody\""},
	    {"{\"version\":1,\"job_id\":\"c1\",\"region\":\"us-east-1\",\"parties\":[" PARTY_R ","
	     PARTY_P "]," TAIL,
	     SB_ERR_BAD_MANIFEST, "unknown field \"join\""},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct sb_manifest m;
		sb_result r = parse(v[i].json, &m);
		if (r.code != v[i].code || strstr(sb_error_detail(), v[i].detail) == NULL)
			fail_msg("case %zu: got %s \"%s\", want \"%s\"", i, sb_error_name(r.code),
				 sb_error_detail(), v[i].detail);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_canonical),
		cmocka_unit_test(test_rule_binds_the_hash),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
