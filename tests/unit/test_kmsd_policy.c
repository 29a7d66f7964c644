/* Unit tests for src/kmsd/sb_policy: parsing and IAM evaluation, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The table leaves unused request fields out. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "kmsd/sb_policy.h"

#define ACCT  "111122223333"
#define BUYER "arn:aws:iam::111122223333:user/buyer1"
#define OTHER "arn:aws:iam::111122223333:user/buyer2"
#define ALIEN "arn:aws:iam::444455556666:user/mallory"
#define KEY   "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
#define PCR0  "aa0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
#define PCR1  "bb1111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111111"
#define ZERO  "000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"

#define STMT(effect, principal, action, cond)                                                      \
	"{\"Effect\":\"" effect "\",\"Principal\":" principal ",\"Action\":" action                \
	",\"Resource\":\"*\"" cond "}"
#define DOC1(s)    "{\"Version\":\"2012-10-17\",\"Statement\":[" s "]}"
#define DOC2(a, b) "{\"Version\":\"2012-10-17\",\"Statement\":[" a "," b "]}"

/* A request: principal, action, and up to four single-valued context keys
 * plus kms:EncryptionContextKeys. */
struct req {
	const char *principal;
	const char *action;
	const char *keys[4];
	const char *vals[4];
	const char *ctx_keys[3]; /* kms:EncryptionContextKeys values */
};

struct ecase {
	const char *name;
	const char *policy;
	struct req req;
	enum sb_policy_decision want;
};

#define ALLOW    SB_POLICY_ALLOW
#define IMPLICIT SB_POLICY_IMPLICIT_DENY
#define EXPLICIT SB_POLICY_EXPLICIT_DENY

#define PIN_PCR                                                                                    \
	",\"Condition\":{\"StringEqualsIgnoreCase\":{\"kms:RecipientAttestation:ImageSha384\":\"" \
	PCR0 "\",\"kms:RecipientAttestation:PCR1\":\"" PCR1 "\"}}"

static const struct ecase cases[] = {
	/* principals */
	{"root allows any principal of the account",
	 DOC1(STMT("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"}", "\"kms:*\"", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"root does not allow another account",
	 DOC1(STMT("Allow", "{\"AWS\":\"arn:aws:iam::" ACCT ":root\"}", "\"kms:*\"", "")),
	 {ALIEN, "kms:Decrypt"}, IMPLICIT},
	{"bare account id means the account",
	 DOC1(STMT("Allow", "{\"AWS\":\"" ACCT "\"}", "\"kms:Decrypt\"", "")),
	 {OTHER, "kms:Decrypt"}, ALLOW},
	{"exact principal arn", DOC1(STMT("Allow", "{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"other principal arn", DOC1(STMT("Allow", "{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"", "")),
	 {OTHER, "kms:Decrypt"}, IMPLICIT},
	{"principal list",
	 DOC1(STMT("Allow", "{\"AWS\":[\"" ALIEN "\",\"" OTHER "\"]}", "\"kms:Decrypt\"", "")),
	 {OTHER, "kms:Decrypt"}, ALLOW},
	{"principal star string", DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"", "")),
	 {ALIEN, "kms:Decrypt"}, ALLOW},
	{"principal AWS star", DOC1(STMT("Allow", "{\"AWS\":\"*\"}", "\"kms:Decrypt\"", "")),
	 {ALIEN, "kms:Decrypt"}, ALLOW},
	{"service principal matches no user",
	 DOC1(STMT("Allow", "{\"Service\":\"ec2.amazonaws.com\"}", "\"kms:*\"", "")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	/* actions */
	{"action wildcard prefix", DOC1(STMT("Allow", "\"*\"", "\"kms:Gen*\"", "")),
	 {BUYER, "kms:GenerateDataKey"}, ALLOW},
	{"action wildcard misses", DOC1(STMT("Allow", "\"*\"", "\"kms:Gen*\"", "")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"action is case-insensitive", DOC1(STMT("Allow", "\"*\"", "\"KMS:decrypt\"", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"action list", DOC1(STMT("Allow", "\"*\"", "[\"kms:Encrypt\",\"kms:Decrypt\"]", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"action question mark", DOC1(STMT("Allow", "\"*\"", "\"kms:?ecrypt\"", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"star action", DOC1(STMT("Allow", "\"*\"", "\"*\"", "")), {BUYER, "kms:PutKeyPolicy"},
	 ALLOW},
	/* effects */
	{"default deny with no matching statement",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Encrypt\"", "")), {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"explicit deny wins over allow",
	 DOC2(STMT("Allow", "\"*\"", "\"kms:*\"", ""),
	      STMT("Deny", "{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"", "")),
	 {BUYER, "kms:Decrypt"}, EXPLICIT},
	{"deny for someone else does not apply",
	 DOC2(STMT("Allow", "\"*\"", "\"kms:*\"", ""),
	      STMT("Deny", "{\"AWS\":\"" OTHER "\"}", "\"kms:Decrypt\"", "")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"deny alone is explicit", DOC1(STMT("Deny", "\"*\"", "\"kms:*\"", "")),
	 {BUYER, "kms:Decrypt"}, EXPLICIT},
	/* StringEquals and the encryption context */
	{"StringEquals on context",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:party\":\"buyer1\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:party"}, {"buyer1"}}, ALLOW},
	{"StringEquals is case-sensitive in values",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:party\":\"buyer1\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:party"}, {"BUYER1"}}, IMPLICIT},
	{"StringEquals missing key is false",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:party\":\"buyer1\"}}")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"context key part is case-sensitive",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"kms:EncryptionContext:Party\":\"buyer1\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:party"}, {"buyer1"}}, IMPLICIT},
	{"condition key name is case-insensitive",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"AWS:principalarn\":\"" BUYER "\"}}")),
	 {BUYER, "kms:Decrypt", {"aws:PrincipalArn"}, {BUYER}}, ALLOW},
	{"value list is OR",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"aws:PrincipalArn\":[\"" ALIEN "\",\"" BUYER
		   "\"]}}")),
	 {BUYER, "kms:Decrypt", {"aws:PrincipalArn"}, {BUYER}}, ALLOW},
	{"keys in one operator are AND",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEquals\":{\"aws:PrincipalArn\":\"" BUYER
		   "\",\"kms:EncryptionContext:party\":\"buyer1\"}}")),
	 {BUYER, "kms:Decrypt", {"aws:PrincipalArn"}, {BUYER}}, IMPLICIT},
	{"StringNotEquals with missing key is true",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringNotEquals\":{\"kms:EncryptionContext:party\":\"x\"}}")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"StringNotEquals with equal value is false",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringNotEquals\":{\"kms:EncryptionContext:party\":\"x\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:party"}, {"x"}}, IMPLICIT},
	/* StringEqualsIgnoreCase and the attestation keys */
	{"PCR pin matches (ignore case)",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"", PIN_PCR)),
	 {BUYER, "kms:Decrypt",
	  {"kms:RecipientAttestation:ImageSha384", "kms:RecipientAttestation:PCR1"},
	  {"AA0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
	   PCR1}},
	 ALLOW},
	{"PCR pin without attestation is denied",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"", PIN_PCR)), {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"PCR pin with zero PCRs (debug) is denied",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"", PIN_PCR)),
	 {BUYER, "kms:Decrypt",
	  {"kms:RecipientAttestation:ImageSha384", "kms:RecipientAttestation:PCR1"}, {ZERO, ZERO}},
	 IMPLICIT},
	{"PCR pin with one different PCR is denied",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"", PIN_PCR)),
	 {BUYER, "kms:Decrypt",
	  {"kms:RecipientAttestation:ImageSha384", "kms:RecipientAttestation:PCR1"}, {PCR0, ZERO}},
	 IMPLICIT},
	/* StringLike */
	{"StringLike wildcard",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringLike\":{\"aws:PrincipalArn\":\"arn:aws:iam::*:user/buy?r*\"}}")),
	 {BUYER, "kms:Decrypt", {"aws:PrincipalArn"}, {BUYER}}, ALLOW},
	{"StringLike no match",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringLike\":{\"aws:PrincipalArn\":\"*:role/*\"}}")),
	 {BUYER, "kms:Decrypt", {"aws:PrincipalArn"}, {BUYER}}, IMPLICIT},
	{"StringLike missing key",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringLike\":{\"kms:EncryptionContext:job\":\"*\"}}")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"StringNotLike",
	 DOC1(STMT("Deny", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringNotLike\":{\"aws:PrincipalArn\":\"*:user/buyer*\"}}")),
	 {ALIEN, "kms:Decrypt", {"aws:PrincipalArn"}, {ALIEN}}, EXPLICIT},
	/* Null */
	{"Null true: key absent",
	 DOC1(STMT("Deny", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Null\":{\"kms:RecipientAttestation:ImageSha384\":\"true\"}}")),
	 {BUYER, "kms:Decrypt"}, EXPLICIT},
	{"Null true: key present",
	 DOC1(STMT("Deny", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Null\":{\"kms:RecipientAttestation:ImageSha384\":\"true\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:RecipientAttestation:ImageSha384"}, {PCR0}}, IMPLICIT},
	{"Null false: key present",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Null\":{\"kms:EncryptionContext:party\":false}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:party"}, {"a"}}, ALLOW},
	/* Bool */
	{"Bool true matches",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"true\"}}")),
	 {BUYER, "kms:Decrypt", {"aws:SecureTransport"}, {"true"}}, ALLOW},
	{"Bool false does not match true",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":false}}")),
	 {BUYER, "kms:Decrypt", {"aws:SecureTransport"}, {"true"}}, IMPLICIT},
	{"Bool missing key",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"true\"}}")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	/* multi-valued keys */
	{"ForAllValues: every context key listed",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"ForAllValues:StringEquals\":{\"kms:EncryptionContextKeys\":"
		   "[\"a\",\"b\",\"c\"]}}")),
	 {BUYER, "kms:Decrypt", {NULL}, {NULL}, {"a", "b"}}, ALLOW},
	{"ForAllValues: an unlisted context key",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"ForAllValues:StringEquals\":{\"kms:EncryptionContextKeys\":"
		   "[\"a\"]}}")),
	 {BUYER, "kms:Decrypt", {NULL}, {NULL}, {"a", "z"}}, IMPLICIT},
	{"ForAllValues: no context is vacuously true",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"ForAllValues:StringEquals\":{\"kms:EncryptionContextKeys\":"
		   "[\"a\"]}}")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"ForAnyValue: one matches",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"ForAnyValue:StringEquals\":{\"kms:EncryptionContextKeys\":"
		   "\"z\"}}")),
	 {BUYER, "kms:Decrypt", {NULL}, {NULL}, {"a", "z"}}, ALLOW},
	{"ForAnyValue: no context is false",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"ForAnyValue:StringEquals\":{\"kms:EncryptionContextKeys\":"
		   "\"z\"}}")),
	 {BUYER, "kms:Decrypt"}, IMPLICIT},
	{"IfExists: missing key is true",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEqualsIfExists\":{\"kms:EncryptionContext:p\":\"x\"}}")),
	 {BUYER, "kms:Decrypt"}, ALLOW},
	{"IfExists: present and different is false",
	 DOC1(STMT("Allow", "\"*\"", "\"kms:Decrypt\"",
		   ",\"Condition\":{\"StringEqualsIfExists\":{\"kms:EncryptionContext:p\":\"x\"}}")),
	 {BUYER, "kms:Decrypt", {"kms:EncryptionContext:p"}, {"y"}}, IMPLICIT},
	{"single statement object form",
	 "{\"Statement\":" STMT("Allow", "\"*\"", "\"kms:Decrypt\"", "") "}",
	 {BUYER, "kms:Decrypt"}, ALLOW},
};

static void build_request(const struct req *r, struct sb_policy_ctx *ctx, size_t *n,
			  struct sb_policy_request *out)
{
	size_t nk = 0;

	*n = 0;
	for (size_t i = 0; i < 4 && r->keys[i] != NULL; i++) {
		ctx[*n] = (struct sb_policy_ctx){r->keys[i], &r->vals[i], 1};
		(*n)++;
	}
	while (nk < 3 && r->ctx_keys[nk] != NULL)
		nk++;
	if (nk > 0) {
		ctx[*n] = (struct sb_policy_ctx){"kms:EncryptionContextKeys", r->ctx_keys, nk};
		(*n)++;
	}
	*out = (struct sb_policy_request){r->principal, strstr(r->principal, ACCT) ? ACCT : "444455556666",
					  r->action, KEY, ctx, *n};
}

static void test_evaluate_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_policy *p = NULL;
		struct sb_policy_ctx ctx[5];
		struct sb_policy_request req;
		size_t n;

		if (!sb_ok(sb_policy_parse(sb_slice_str(cases[i].policy), &p)))
			fail_msg("%s: parse: %s", cases[i].name, sb_error_describe());
		build_request(&cases[i].req, ctx, &n, &req);
		enum sb_policy_decision d = sb_policy_evaluate(p, &req);
		if (d != cases[i].want)
			fail_msg("%s: got %d want %d", cases[i].name, d, cases[i].want);
		sb_policy_free(p);
	}
}

static void test_malformed_policies(void **state)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"Statement\":[]}",
		"{}",
		"{\"Version\":\"2012-10-17\"}",
		"{\"Version\":\"2099-01-01\",\"Statement\":[" STMT("Allow", "\"*\"", "\"kms:*\"", "") "]}",
		DOC1(STMT("Permit", "\"*\"", "\"kms:*\"", "")),
		DOC1("{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}"),
		DOC1("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Resource\":\"*\"}"),
		DOC1("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:*\"}"),
		DOC1("{\"Effect\":\"Allow\",\"NotPrincipal\":\"*\",\"Action\":\"kms:*\",\"Resource\":\"*\"}"),
		DOC1(STMT("Allow", "\"someone\"", "\"kms:*\"", "")),
		DOC1(STMT("Allow", "{\"Weird\":\"x\"}", "\"kms:*\"", "")),
		DOC1(STMT("Allow", "{}", "\"kms:*\"", "")),
		DOC1(STMT("Allow", "\"*\"", "[]", "")),
		DOC1(STMT("Allow", "\"*\"", "5", "")),
		DOC1(STMT("Allow", "\"*\"", "[\"kms:*\",7]", "")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":[]")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":{\"NumericEquals\":{\"a\":\"1\"}}")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":{\"StringEquals\":{}}")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":{\"StringEquals\":{\"a\":{}}}")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":{\"Bool\":{\"a\":\"maybe\"}}")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Condition\":{\"ForAnyValue:Null\":{\"a\":\"true\"}}")),
		DOC1(STMT("Allow", "\"*\"", "\"kms:*\"", ",\"Unknown\":1")),
		"{\"Statement\":[" STMT("Allow", "\"*\"", "\"kms:*\"", "") "],\"Statement\":[]}",
		"{\"Statement\":[" STMT("Allow", "\"*\"", "\"kms:*\"", "") "]} trailing",
		"{\"Statement\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
		"{\"Statement\":[" STMT("Allow", "\"*\"", "\"kms:*\"", "") "],\"Extra\":true}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sb_policy *p = NULL;
		sb_result r = sb_policy_parse(sb_slice_str(bad[i]), &p);
		if (r.code != SB_ERR_KMS_MALFORMED_POLICY)
			fail_msg("case %zu: %s", i, sb_error_name(r.code));
		assert_null(p);
	}
	/* Longer than the 32 KiB limit. */
	static char big[SB_POLICY_MAX_LEN + 2];
	memset(big, ' ', sizeof(big) - 1);
	struct sb_policy *p = NULL;
	assert_int_equal(sb_policy_parse(sb_slice_str(big), &p).code, SB_ERR_KMS_MALFORMED_POLICY);
}

static void test_default_policy(void **state)
{
	struct sb_buf text = SB_BUF_INIT(4096);
	struct sb_policy *p = NULL;
	struct sb_policy_request req = {BUYER, ACCT, "kms:PutKeyPolicy", KEY, NULL, 0};

	(void)state;
	assert_true(sb_ok(sb_policy_default(ACCT, &text)));
	assert_true(sb_ok(sb_policy_parse(sb_buf_slice(&text), &p)));
	assert_int_equal(sb_policy_evaluate(p, &req), SB_POLICY_ALLOW);
	req.principal_arn = ALIEN;
	req.account_id = "444455556666";
	assert_int_equal(sb_policy_evaluate(p, &req), SB_POLICY_IMPLICIT_DENY);
	assert_int_equal(sb_policy_evaluate(NULL, &req), SB_POLICY_IMPLICIT_DENY);
	sb_policy_free(p);
	sb_policy_free(NULL);
	sb_buf_cleanup(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evaluate_table),
		cmocka_unit_test(test_malformed_policies),
		cmocka_unit_test(test_default_policy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
