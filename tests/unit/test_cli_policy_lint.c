/*
 * `sealbid policy check`'s linter (src/cli/sb_cli_policy_lint.c),
 * table-driven: each policy with the findings it must give, in order, as
 * "tag@statement" (statement 0: the policy as a whole), and malformed
 * policies with the error they must give.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* The CLI is a program, not a library: the linter is built in. */
#include "cli/sb_cli_policy_lint.c"

#define X16(c) c c c c c c c c c c c c c c c c
#define X96(c) X16(c) X16(c) X16(c) X16(c) X16(c) X16(c)
#define A96    X96("a")
#define B96    X96("b")
#define C96    X96("c")
#define D96    X96("d")
#define Z96    X96("0")
#define JOB1   X96("1")
#define JOB2   X96("2")

#define ROLE  "arn:aws:iam::111111111111:role/enclave"
#define OPACC "arn:aws:iam::111111111111:root"
#define BUYER "arn:aws:iam::222222222222:root"

/* What `sealbid policy --owner BUYER --require-job` prints, statement by statement. */
#define OWNER_ADMIN(who)                                                                           \
	"{\"Sid\":\"KeyOwnerAdministers\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" who      \
	"\"},\"Action\":[\"kms:Create*\",\"kms:Describe*\",\"kms:Put*\",\"kms:Get*\","             \
	"\"kms:Encrypt\",\"kms:GenerateDataKey*\"],\"Resource\":\"*\"}"
#define ENCLAVE_COND(cond)                                                                         \
	"{\"Sid\":\"AttestedEnclaveDecrypts\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ROLE \
	"\"},\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{" cond "}}"
#define PINS(op, p0, p1, p2)                                                                       \
	"\"" op "\":{\"kms:RecipientAttestation:ImageSha384\":\"" p0                                \
	"\",\"kms:RecipientAttestation:PCR1\":\"" p1 "\",\"kms:RecipientAttestation:PCR2\":\"" p2 "\"}"
#define ENCLAVE ENCLAVE_COND(PINS("StringEqualsIgnoreCase", A96, B96, C96))
#define DENY_ATT                                                                                   \
	"{\"Sid\":\"DenyDecryptWithoutAttestation\",\"Effect\":\"Deny\",\"Principal\":\"*\","      \
	"\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"Null\":{"                  \
	"\"kms:RecipientAttestation:ImageSha384\":\"true\"}}}"
#define DENY_JOB                                                                                   \
	"{\"Sid\":\"DenyDecryptNotBoundToAJob\",\"Effect\":\"Deny\",\"Principal\":\"*\","          \
	"\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"Null\":{"                  \
	"\"kms:EncryptionContext:sealbid:manifest\":\"true\"}}}"
#define ALLOW(principal, action)                                                                   \
	"{\"Effect\":\"Allow\",\"Principal\":" principal ",\"Action\":" action                      \
	",\"Resource\":\"*\"}"
#define POLICY(...) "{\"Version\":\"2012-10-17\",\"Statement\":[" __VA_ARGS__ "]}"

struct vector {
	const char *name;
	const char *policy;
	const char *job;      /* --manifest's hash, or NULL */
	const char *findings; /* "tag@stmt,tag@stmt", "" when clean */
};

static const struct vector vectors[] = {
	/* What `sealbid policy` emits is clean. */
	{"clean --require-job", POLICY(OWNER_ADMIN(BUYER) "," ENCLAVE "," DENY_ATT "," DENY_JOB),
	 NULL, ""},
	{"clean --job", POLICY(OWNER_ADMIN(BUYER) "," ENCLAVE_COND(
		PINS("StringEqualsIgnoreCase", A96, B96, C96) ",\"StringEquals\":{"
		"\"kms:EncryptionContext:sealbid:manifest\":\"" JOB1 "\"}") "," DENY_ATT "," DENY_JOB),
	 JOB1, ""},
	{"clean, job pinned in the Allow only", POLICY(ENCLAVE_COND(
		PINS("StringEqualsIgnoreCase", A96, B96, C96) ",\"StringEquals\":{"
		"\"kms:EncryptionContext:sealbid:manifest\":\"" JOB1 "\"}") "," DENY_ATT), NULL, ""},
	{"clean: one Statement object, lower-case keys and actions",
	 "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" ROLE "\"]},"
	 "\"Action\":[\"KMS:DECRYPT\"],\"Resource\":\"*\",\"Condition\":{\"StringEquals\":{"
	 "\"kms:recipientattestation:imagesha384\":\"" A96 "\","
	 "\"KMS:ENCRYPTIONCONTEXT:sealbid:manifest\":\"" JOB1 "\"}}}}", NULL, ""},
	/* The buyer's own account with kms:*, closed by a Deny without attestation
	 * of both actions that hand out plaintext. */
	{"deny closes the gap", POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:*\"") "," ENCLAVE
				       "," DENY_JOB ",{\"Effect\":\"Deny\",\"Principal\":\"*\","
				       "\"Action\":[\"kms:Decrypt\",\"kms:ReEncrypt*\"],\"Condition\":"
				       "{\"Null\":{\"kms:RecipientAttestation:PCR0\":\"true\"}}}"),
	 NULL, ""},
	{"a Deny of Decrypt leaves ReEncryptFrom open",
	 POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:*\"") "," ENCLAVE "," DENY_ATT ","
	        DENY_JOB), NULL, "unattested-decrypt@1"},

	/* unattested-decrypt */
	{"the AWS sample's root kms:*", POLICY(ALLOW("{\"AWS\":\"" OPACC "\"}", "\"kms:*\"") ","
					       ENCLAVE "," DENY_JOB),
	 NULL, "unattested-decrypt@1,operator-can-change-key@1"},
	{"buyer root kms:* without the Deny", POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:*\"")
						     "," ENCLAVE "," DENY_JOB),
	 NULL, "unattested-decrypt@1"},
	{"plain Decrypt to the role", POLICY(ALLOW("{\"AWS\":\"" ROLE "\"}", "\"kms:Decrypt\"")
					     "," DENY_JOB), NULL, "unattested-decrypt@1"},
	{"attestation present but no image pinned",
	 POLICY(ENCLAVE_COND("\"Null\":{\"kms:RecipientAttestation:ImageSha384\":\"false\"}") ","
	        DENY_JOB), NULL, "unattested-decrypt@1"},
	{"PCR1 alone pins no application",
	 POLICY(ENCLAVE_COND("\"StringEquals\":{\"kms:RecipientAttestation:PCR1\":\"" B96 "\"}")
	        "," DENY_JOB), NULL, "unattested-decrypt@1"},
	{"IfExists pin without the Deny",
	 POLICY(ENCLAVE_COND("\"StringEqualsIfExists\":{\"kms:RecipientAttestation:PCR0\":\"" A96
			     "\"}") "," DENY_JOB), NULL, "unattested-decrypt@1"},
	{"IfExists pin with the Deny: any image",
	 POLICY(ENCLAVE_COND("\"StringEqualsIfExists\":{\"kms:RecipientAttestation:PCR0\":\"" A96
			     "\"}") "," DENY_ATT "," DENY_JOB), NULL, "unattested-decrypt@1"},
	{"ForAllValues pin", POLICY(ENCLAVE_COND("\"ForAllValues:StringEquals\":{"
				    "\"kms:RecipientAttestation:ImageSha384\":\"" A96 "\"}") ","
				    DENY_JOB), NULL, "unattested-decrypt@1"},
	{"negated pin", POLICY(ENCLAVE_COND("\"StringNotEquals\":{"
			       "\"kms:RecipientAttestation:ImageSha384\":\"" Z96 "\"}") "," DENY_JOB),
	 NULL, "unattested-decrypt@1"},
	{"ReEncryptFrom to the operator", POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW(
		"{\"AWS\":\"" ROLE "\"}", "[\"kms:ReEncrypt*\"]")), NULL, "unattested-decrypt@4"},
	{"a NotPrincipal Deny does not close it",
	 POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"") "," ENCLAVE "," DENY_JOB ","
	        "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"" BUYER "\"},"
	        "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"Null\":{"
	        "\"kms:RecipientAttestation:ImageSha384\":\"true\"}}}"),
	 NULL, "unattested-decrypt@1"},
	{"a Deny narrowed by another condition does not close it",
	 POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"") "," ENCLAVE "," DENY_JOB ","
	        "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\","
	        "\"Resource\":\"*\",\"Condition\":{\"Null\":{"
	        "\"kms:RecipientAttestation:ImageSha384\":\"true\"},\"StringEquals\":{"
	        "\"aws:PrincipalArn\":\"" ROLE "\"}}}"),
	 NULL, "unattested-decrypt@1"},
	{"an unconditional Deny of Decrypt closes everything",
	 POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:Decrypt\"") ","
	        "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"NotAction\":\"kms:Encrypt\"}"),
	 NULL, ""},

	/* pcr-mismatch */
	{"PCR1 differs", POLICY(ENCLAVE_COND(PINS("StringEqualsIgnoreCase", A96, D96, C96)) ","
				DENY_ATT "," DENY_JOB), NULL, "pcr-mismatch@1"},
	{"a second image ORed in",
	 POLICY(ENCLAVE_COND("\"StringEquals\":{\"kms:RecipientAttestation:ImageSha384\":[\"" A96
			     "\",\"" D96 "\"]}") "," DENY_ATT "," DENY_JOB), NULL, "pcr-mismatch@1"},
	{"upper case under StringEquals never matches",
	 POLICY(ENCLAVE_COND(PINS("StringEquals", X96("A"), B96, C96)) "," DENY_ATT "," DENY_JOB),
	 NULL, "pcr-mismatch@1"},
	{"upper case under StringEqualsIgnoreCase is fine",
	 POLICY(ENCLAVE_COND(PINS("StringEqualsIgnoreCase", X96("A"), B96, C96)) "," DENY_ATT ","
	        DENY_JOB), NULL, ""},

	/* debug-mode-pin */
	{"all-zero ImageSha384", POLICY(ENCLAVE_COND(PINS("StringEqualsIgnoreCase", Z96, B96, C96))
					"," DENY_ATT "," DENY_JOB), NULL, "debug-mode-pin@1"},
	{"all-zero PCR0, 1 and 2", POLICY(ENCLAVE_COND(PINS("StringEquals", Z96, Z96, Z96)) ","
					  DENY_ATT "," DENY_JOB),
	 NULL, "debug-mode-pin@1,debug-mode-pin@1,debug-mode-pin@1"},

	/* wildcard-pin */
	{"StringLike with *", POLICY(ENCLAVE_COND("\"StringLike\":{"
				     "\"kms:RecipientAttestation:ImageSha384\":\"aaaa*\"}") ","
				     DENY_ATT "," DENY_JOB), NULL, "wildcard-pin@1"},
	{"StringLike with ?", POLICY(ENCLAVE_COND(PINS("StringLike", A96, X16("b") X16("b") X16("b")
				      X16("b") X16("b") "bbbbbbbbbbbbbbb?", C96)) "," DENY_ATT ","
				     DENY_JOB), NULL, "wildcard-pin@1"},
	{"StringLike without a wildcard is an exact pin",
	 POLICY(ENCLAVE_COND(PINS("StringLike", A96, B96, C96)) "," DENY_ATT "," DENY_JOB), NULL,
	 ""},

	/* operator-can-change-key */
	{"the role may PutKeyPolicy", POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW(
		"{\"AWS\":\"" ROLE "\"}", "\"kms:PutKeyPolicy\"")), NULL,
	 "operator-can-change-key@4"},
	{"the operator's account administers the key (sealbid policy's default owner)",
	 POLICY(OWNER_ADMIN(OPACC) "," ENCLAVE "," DENY_ATT "," DENY_JOB), NULL,
	 "operator-can-change-key@1"},
	{"the operator's bare account id may CreateGrant",
	 POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW("{\"AWS\":[\"111111111111\"]}",
							  "\"kms:Create*\"")),
	 NULL, "operator-can-change-key@4"},
	{"the role gets everything but Decrypt (NotAction)",
	 POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB ","
	        "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"" ROLE "\"},"
	        "\"NotAction\":[\"kms:Decrypt\",\"kms:ReEncrypt*\"],\"Resource\":\"*\"}"),
	 NULL, "operator-can-change-key@4"},
	{"an unconditional Deny takes it back",
	 POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW("{\"AWS\":\"" ROLE "\"}",
							  "\"kms:PutKeyPolicy\"") ","
	        "{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" ROLE "\"},"
	        "\"Action\":\"kms:PutKeyPolicy\",\"Resource\":\"*\"}"),
	 NULL, ""},
	{"another role of the operator's account is not the operator",
	 POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW(
		"{\"AWS\":\"arn:aws:iam::111111111111:role/admin\"}", "\"kms:PutKeyPolicy\"")),
	 NULL, ""},

	/* no-job-binding, job-mismatch */
	{"no job binding", POLICY(OWNER_ADMIN(BUYER) "," ENCLAVE "," DENY_ATT), NULL,
	 "no-job-binding@2"},
	{"a job Deny for one principal only", POLICY(ENCLAVE "," DENY_ATT ","
		"{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"" BUYER "\"},\"Action\":\"kms:Decrypt\","
		"\"Resource\":\"*\",\"Condition\":{\"Null\":{\"kms:EncryptionContext:sealbid:manifest\":"
		"\"true\"}}}"), NULL, "no-job-binding@1"},
	{"the context key is case-sensitive",
	 POLICY(ENCLAVE "," DENY_ATT ",{\"Effect\":\"Deny\",\"Principal\":\"*\","
	        "\"Action\":\"kms:Decrypt\",\"Resource\":\"*\",\"Condition\":{\"Null\":{"
	        "\"kms:EncryptionContext:Sealbid:Manifest\":\"true\"}}}"),
	 NULL, "no-job-binding@1"},
	{"another job's manifest", POLICY(ENCLAVE_COND(
		PINS("StringEqualsIgnoreCase", A96, B96, C96) ",\"StringEquals\":{"
		"\"kms:EncryptionContext:sealbid:manifest\":\"" JOB2 "\"}") "," DENY_ATT "," DENY_JOB),
	 JOB1, "job-mismatch@1"},

	/* any-principal */
	{"Principal \"*\"", POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW("\"*\"",
									   "\"kms:Encrypt\"")),
	 NULL, "any-principal@4"},
	{"AWS \"*\" in a list", POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB "," ALLOW(
		"{\"AWS\":[\"" BUYER "\",\"*\"]}", "\"kms:DescribeKey\"")), NULL, "any-principal@4"},
	{"NotPrincipal in an Allow",
	 POLICY(ENCLAVE "," DENY_ATT "," DENY_JOB ",{\"Effect\":\"Allow\",\"NotPrincipal\":{"
	        "\"AWS\":\"" BUYER "\"},\"Action\":\"kms:Encrypt\",\"Resource\":\"*\"}"),
	 NULL, "any-principal@4"},
	{"everyone may decrypt in any pinned enclave",
	 POLICY("{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Decrypt\","
	        "\"Condition\":{" PINS("StringEquals", A96, B96, C96) "}}," DENY_JOB),
	 NULL, "any-principal@1"},
};

static void render(const struct sb_lint_report *r, char *out, size_t n)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < r->n && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s@%zu", i > 0 ? "," : "",
					 sb_cli_policy_lint_tag(r->v[i].tag), r->v[i].stmt);
}

static struct sb_lint_pcrs measured(void)
{
	struct sb_lint_pcrs p = {0};

	memcpy(p.hex[0], A96, 97);
	memcpy(p.hex[1], B96, 97);
	memcpy(p.hex[2], C96, 97);
	p.have[0] = p.have[1] = p.have[2] = true;
	return p;
}

static void test_vectors(void **state)
{
	struct sb_lint_pcrs pcrs = measured();
	static struct sb_lint_report r;
	char got[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *v = &vectors[i];
		sb_result rc = sb_cli_policy_lint(sb_slice_str(v->policy), &pcrs, v->job, &r);
		if (!sb_ok(rc))
			fail_msg("%s: %s", v->name, sb_error_describe());
		render(&r, got, sizeof(got));
		if (strcmp(got, v->findings) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", v->name, got, v->findings);
		for (size_t k = 0; k < r.n; k++) {
			assert_true(strlen(r.v[k].msg) > 20);
			assert_true(strlen(r.v[k].msg) < SB_LINT_MSG_LEN - 1); /* not cut short */
			assert_non_null(strstr(r.v[k].msg, "statement "));
		}
	}
}

/* Messages say what is wrong with which PCR, and name the statement. */
static void test_messages(void **state)
{
	struct sb_lint_pcrs pcrs = measured();
	static struct sb_lint_report r;

	(void)state;
	assert_true(sb_ok(sb_cli_policy_lint(
		sb_slice_str(POLICY(ENCLAVE_COND(PINS("StringEquals", A96, D96, C96)) "," DENY_ATT
				    "," DENY_JOB)),
		&pcrs, NULL, &r)));
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.v[0].msg, "statement 1 (Sid \"AttestedEnclaveDecrypts\")"));
	assert_non_null(strstr(r.v[0].msg, "PCR1 to dddddddddddddddd..."));
	assert_non_null(strstr(r.v[0].msg, "measurement is bbbbbbbbbbbbbbbb..."));
	/* Without measurements, pins are not compared, but zeros still count. */
	assert_true(sb_ok(sb_cli_policy_lint(
		sb_slice_str(POLICY(ENCLAVE_COND(PINS("StringEquals", Z96, D96, C96)) "," DENY_ATT
				    "," DENY_JOB)),
		NULL, NULL, &r)));
	assert_int_equal(r.n, 1);
	assert_int_equal(r.v[0].tag, SB_LINT_DEBUG_MODE_PIN);
	/* ReEncryptFrom left open next to a Deny of Decrypt: the message says how to close it. */
	assert_true(sb_ok(sb_cli_policy_lint(
		sb_slice_str(POLICY(ALLOW("{\"AWS\":\"" BUYER "\"}", "\"kms:*\"") "," ENCLAVE ","
				    DENY_ATT "," DENY_JOB)),
		&pcrs, NULL, &r)));
	assert_int_equal(r.n, 1);
	assert_non_null(strstr(r.v[0].msg, "allows kms:ReEncryptFrom without an attestation"));
	assert_non_null(strstr(r.v[0].msg, "list kms:ReEncrypt* in the Deny"));
	assert_string_equal(sb_cli_policy_lint_tag(SB_LINT_OPERATOR_CAN_CHANGE_KEY),
			    "operator-can-change-key");
}

static void test_too_many_findings(void **state)
{
	static char policy[SB_LINT_POLICY_MAX_LEN];
	static struct sb_lint_report r;
	size_t used = (size_t)snprintf(policy, sizeof(policy), "{\"Statement\":[");

	(void)state;
	for (int i = 0; i < 80; i++)
		used += (size_t)snprintf(policy + used, sizeof(policy) - used, "%s%s", i ? "," : "",
					 ALLOW("\"*\"", "\"kms:Encrypt\""));
	used += (size_t)snprintf(policy + used, sizeof(policy) - used, "]}");
	assert_true(used < sizeof(policy));
	assert_true(sb_ok(sb_cli_policy_lint(SB_SLICE(policy, used), NULL, NULL, &r)));
	assert_int_equal(r.n, SB_LINT_MAX_FINDINGS);
	assert_true(r.truncated);
}

static const struct {
	const char *policy;
	const char *detail;
} bad[] = {
	{"", "line 1"},
	{"not json", "line 1"},
	{"[]", "not a JSON object"},
	{"{\"Statement\":[]}", "1..256 statements"},
	{"{\"Version\":\"2012-10-17\"}", "no Statement"},
	{"{\"Statement\":[{\"Effect\":\"Allow\"}],\"Statement\":[]}", "duplicate"},
	{"{\"Statement\":[" ALLOW("\"*\"", "\"kms:Encrypt\"") "],\"Extra\":1}", "unknown top-level"},
	{"{\"Statement\":[1]}", "statement 1 is not an object"},
	{"{\"Statement\":{\"Effect\":\"Maybe\",\"Principal\":\"*\",\"Action\":\"kms:Encrypt\"}}",
	 "Effect must be Allow or Deny"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"kms:Encrypt\"}}", "no Principal"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\"}}", "no Action"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"kms:Encrypt\","
	 "\"NotAction\":\"kms:Decrypt\"}}", "both Action and NotAction"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"root\",\"Action\":\"kms:Encrypt\"}}",
	 "Principal must be"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"Alien\":\"x\"},\"Action\":\"a\"}}",
	 "unknown Principal type"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[]}}",
	 "non-empty list"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[7]}}",
	 "list of strings"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"a\","
	 "\"Condition\":{\"StringEquals\":{\"k\":5}}}}", "condition values must be strings"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"a\","
	 "\"Condition\":{\"StringEquals\":{}}}}", "needs an object of keys"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"a\","
	 "\"Condition\":{\"StringEquals\":{\"k\":[]}}}}", "non-empty list"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"a\",\"Nope\":1}}",
	 "unknown element"},
	{"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"a\\u0000b\"}}",
	 "not allowed"},
};

static void test_malformed(void **state)
{
	static char big[SB_LINT_POLICY_MAX_LEN + 2];
	static struct sb_lint_report r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_result rc = sb_cli_policy_lint(sb_slice_str(bad[i].policy), NULL, NULL, &r);
		if (sb_ok(rc) || sb_error_code() != SB_ERR_BAD_POLICY ||
		    strstr(sb_error_detail(), bad[i].detail) == NULL)
			fail_msg("bad[%zu]: got %s, want \"%s\"", i, sb_error_describe(),
				 bad[i].detail);
	}
	memset(big, ' ', sizeof(big));
	assert_false(sb_ok(sb_cli_policy_lint(SB_SLICE(big, sizeof(big)), NULL, NULL, &r)));
	assert_non_null(strstr(sb_error_detail(), "longer than 32768"));
	assert_false(sb_ok(sb_cli_policy_lint(sb_slice_str("{}"), NULL, NULL, NULL)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_too_many_findings),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
