#include "cli/sb_cli_policy_lint.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/sb_glob.h"
#include "common/sb_iam_op.h"

/* What the AWS documentation calls the attestation condition keys. */
#define ATTEST_PREFIX "kms:RecipientAttestation:"
#define EC_PREFIX     "kms:EncryptionContext:"
#define JOB_CTX_KEY   "sealbid:manifest" /* SB_CTX_MANIFEST; the cli must not need sb_auction here */

/* The actions that hand out plaintext: Decrypt, and ReEncryptFrom, which
 * decrypts inside KMS and re-encrypts under a key of the caller's choice. */
static const char *const decrypting[] = {"kms:Decrypt", "kms:ReEncryptFrom"};

/* The actions that let a principal give itself (or anyone) what the policy
 * withholds: rewrite it, grant around it, or copy the key into a Region
 * under a new policy. kms:* and kms:Put* / kms:Create* match through globs. */
static const char *const key_changing[] = {"kms:PutKeyPolicy", "kms:CreateGrant",
					   "kms:ReplicateKey"};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

enum op {
	OP_EQUALS,
	OP_EQUALS_IC,
	OP_LIKE,
	OP_NOT_EQUALS,
	OP_NOT_EQUALS_IC,
	OP_NOT_LIKE,
	OP_NULL,
	OP_BOOL,
	OP_OTHER_POSITIVE, /* Numeric*, Date*, Arn*, IpAddress ...: not about us */
	OP_OTHER_NEGATED,
};

/* One key of one condition operator, borrowed from the JSON document. */
struct cond {
	enum op op;
	enum sb_iam_qual qual;
	bool if_exists;
	const char *key;
	const json_t *values; /* string, bool, number or a list of them */
};

/* Everything the checks need, shared by them while one policy is linted. */
struct lint {
	const json_t *stmts; /* array, or one statement object */
	size_t n;
	const struct sb_lint_pcrs *pcrs;
	const char *job_hash;
	struct sb_lint_report *out;
	/* The operator: principals of the Allow statements that give kms:Decrypt
	 * to a pinned enclave image, and their accounts. */
	const char *op_arns[64];
	size_t n_op_arns;
	char op_accounts[64][13];
	size_t n_op_accounts;
};

static const struct {
	const char *name;
	enum op op;
} string_ops[] = {
	{"StringEquals", OP_EQUALS},
	{"StringEqualsIgnoreCase", OP_EQUALS_IC},
	{"StringLike", OP_LIKE},
	{"StringNotEquals", OP_NOT_EQUALS},
	{"StringNotEqualsIgnoreCase", OP_NOT_EQUALS_IC},
	{"StringNotLike", OP_NOT_LIKE},
	{"Null", OP_NULL},
	{"Bool", OP_BOOL},
};

/* ---- small helpers over the JSON shapes (validated before use) ---- */

static size_t list_len(const json_t *v)
{
	return json_is_array(v) ? json_array_size(v) : (v != NULL ? 1 : 0);
}

static const json_t *list_get(const json_t *v, size_t i)
{
	return json_is_array(v) ? json_array_get(v, i) : v;
}

static const json_t *stmt_at(const struct lint *l, size_t i)
{
	return list_get(l->stmts, i);
}

static bool stmt_deny(const json_t *st)
{
	return strcmp(json_string_value(json_object_get(st, "Effect")), "Deny") == 0;
}

static const char *text_of(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : json_is_true(v) ? "true" : "false";
}

/* ---- parsing condition operators and keys ---- */

static void parse_op(const char *name, struct cond *c)
{
	struct sb_iam_op op;
	bool fits = sb_iam_op_split(name, &op);

	c->qual = op.qual;
	c->if_exists = op.if_exists;
	c->op = strstr(name, "Not") != NULL ? OP_OTHER_NEGATED : OP_OTHER_POSITIVE;
	for (size_t i = 0; fits && i < N_OF(string_ops); i++)
		if (strcmp(op.base, string_ops[i].name) == 0)
			c->op = string_ops[i].op;
}

static bool negated(enum op op)
{
	return op == OP_NOT_EQUALS || op == OP_NOT_EQUALS_IC || op == OP_NOT_LIKE ||
	       op == OP_OTHER_NEGATED;
}

/* A value list of a Null condition holds want ("true" or "false"). */
static bool null_has(const struct cond *c, const char *want)
{
	for (size_t i = 0; i < list_len(c->values); i++)
		if (strcasecmp(text_of(list_get(c->values, i)), want) == 0)
			return true;
	return false;
}

/*
 * How a condition evaluates when its key is absent from the request, per
 * IAM: a positive operator is false, a negated one true; "...IfExists" is
 * true; ForAllValues over no values is true; Null "true" is true.
 */
static bool true_when_absent(const struct cond *c)
{
	if (c->op == OP_NULL)
		return null_has(c, "true");
	return c->if_exists || c->qual == SB_IAM_QUAL_ALL || negated(c->op);
}

static bool false_when_absent(const struct cond *c)
{
	if (c->op == OP_NULL)
		return !null_has(c, "true");
	return !true_when_absent(c);
}

/* The PCR index of an attestation condition key, or -1. "ImageSha384" is
 * PCR0: "kms:RecipientAttestation:ImageSha384 ... the same as PCR0". */
static int attest_pcr(const char *key)
{
	size_t n = sizeof(ATTEST_PREFIX) - 1;
	const char *p = key + n;
	int v = 0;

	if (strncasecmp(key, ATTEST_PREFIX, n) != 0)
		return -1;
	if (strcasecmp(p, "ImageSha384") == 0)
		return 0;
	if (strncasecmp(p, "PCR", 3) != 0 || p[3] == '\0' || strlen(p + 3) > 2 ||
	    (p[3] == '0' && p[4] != '\0'))
		return -1;
	for (p += 3; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v < SB_LINT_N_PCRS ? v : -1;
}

/* PCRs that identify the code: the image (0), the application (2), or the
 * signing certificate of a signed image (8). PCR1 alone (kernel) does not. */
static bool code_pcr(int pcr)
{
	return pcr == 0 || pcr == 2 || pcr == 8;
}

static bool job_key(const char *key)
{
	size_t n = sizeof(EC_PREFIX) - 1;

	/* Condition key names are case-insensitive; the context key is not. */
	return strncasecmp(key, EC_PREFIX, n) == 0 && strcmp(key + n, JOB_CTX_KEY) == 0;
}

static bool pinning_op(enum op op)
{
	return op == OP_EQUALS || op == OP_EQUALS_IC || op == OP_LIKE;
}

/* Runs body with `c` bound to every (operator, key) of st's Condition block. */
#define FOR_EACH_COND(st, c, body)                                                                 \
	do {                                                                                       \
		const char *op_name_, *key_;                                                       \
		json_t *keys_, *vals_;                                                             \
		json_object_foreach(json_object_get((st), "Condition"), op_name_, keys_) {        \
			json_object_foreach(keys_, key_, vals_) {                                  \
				struct cond c = {.key = key_, .values = vals_};                    \
				parse_op(op_name_, &c);                                            \
				body                                                               \
			}                                                                          \
		}                                                                                  \
	} while (0)

static bool has_conditions(const json_t *st)
{
	return json_object_size(json_object_get(st, "Condition")) > 0;
}

/* ---- what a statement covers ---- */

static bool covers_action(const json_t *st, const char *action)
{
	const json_t *v = json_object_get(st, "Action");
	bool not = v == NULL, hit = false;

	if (not)
		v = json_object_get(st, "NotAction");
	for (size_t i = 0; i < list_len(v) && !hit; i++)
		hit = sb_glob_match(json_string_value(list_get(v, i)), action, true);
	return not ? !hit : hit;
}

/* Principal "*", {"AWS": "*"} (or "*" in its list); NotPrincipal in an
 * Allow means everyone but a few, which is as good as "*". */
static bool any_principal(const json_t *st)
{
	const json_t *p = json_object_get(st, "Principal");

	if (p == NULL)
		return !stmt_deny(st);
	if (json_is_string(p))
		return true;
	const json_t *aws = json_object_get(p, "AWS");
	for (size_t i = 0; i < list_len(aws); i++)
		if (strcmp(json_string_value(list_get(aws, i)), "*") == 0)
			return true;
	return false;
}

static const json_t *aws_principals(const json_t *st)
{
	const json_t *p = json_object_get(st, "Principal");

	return json_is_object(p) ? json_object_get(p, "AWS") : NULL;
}

/* arn:aws:iam::123456789012:role/x (or a bare account id) -> its account. */
static bool account_of(const char *arn, char acct[13])
{
	const char *p = arn;

	if (strlen(arn) == 12 && strspn(arn, "0123456789") == 12) {
		memcpy(acct, arn, 13);
		return true;
	}
	for (int colons = 0; colons < 4; colons++) {
		p = strchr(p, ':');
		if (p == NULL)
			return false;
		p++;
	}
	if (strncmp(arn, "arn:", 4) != 0 || strspn(p, "0123456789") != 12 || p[12] != ':')
		return false;
	memcpy(acct, p, 12);
	acct[12] = '\0';
	return true;
}

/* "arn:aws:iam::111122223333:root" or "111122223333": every principal of
 * that account (IAM policies there decide which). */
static bool account_wide(const char *p)
{
	size_t n = strlen(p);

	return (n == 12 && strspn(p, "0123456789") == 12) ||
	       (n > 5 && strcmp(p + n - 5, ":root") == 0);
}

/* Is principal p the operator: its role, or the root of its account? */
static bool is_operator(const struct lint *l, const char *p)
{
	char acct[13];

	for (size_t i = 0; i < l->n_op_arns; i++)
		if (strcmp(p, l->op_arns[i]) == 0)
			return true;
	if (!account_wide(p) || !account_of(p, acct))
		return false;
	for (size_t i = 0; i < l->n_op_accounts; i++)
		if (strcmp(acct, l->op_accounts[i]) == 0)
			return true;
	return false;
}

/* The first principal of st that is the operator, or NULL. */
static const char *operator_in(const struct lint *l, const json_t *st)
{
	const json_t *aws = aws_principals(st);

	if (any_principal(st))
		return "*";
	for (size_t i = 0; i < list_len(aws); i++)
		if (is_operator(l, json_string_value(list_get(aws, i))))
			return json_string_value(list_get(aws, i));
	return NULL;
}

/* Does the Deny statement d apply to every principal st allows? */
static bool deny_reaches(const json_t *d, const json_t *st)
{
	const json_t *mine = aws_principals(st), *theirs = aws_principals(d);

	if (json_object_get(d, "NotPrincipal") != NULL)
		return false; /* everyone but some: cannot tell whom it spares */
	if (any_principal(d))
		return true;
	if (any_principal(st) || list_len(mine) == 0)
		return false;
	for (size_t i = 0; i < list_len(mine); i++) {
		bool found = false;
		for (size_t k = 0; k < list_len(theirs) && !found; k++)
			found = strcmp(json_string_value(list_get(mine, i)),
				       json_string_value(list_get(theirs, k))) == 0;
		if (!found)
			return false;
	}
	return true;
}

/* ---- what a statement requires ---- */

/* Some attestation condition is false without an attestation document. */
static bool needs_attestation(const json_t *st)
{
	bool needs = false;

	FOR_EACH_COND(st, c, {
		if (attest_pcr(c.key) >= 0 && false_when_absent(&c))
			needs = true;
	});
	return needs;
}

/* A condition names the image: an equality (or pattern) on PCR0/2/8 that a
 * request without that PCR cannot meet. */
static bool pins_code(const json_t *st)
{
	bool pins = false;

	FOR_EACH_COND(st, c, {
		if (code_pcr(attest_pcr(c.key)) && pinning_op(c.op) && false_when_absent(&c))
			pins = true;
	});
	return pins;
}

static bool needs_job(const json_t *st)
{
	bool needs = false;

	FOR_EACH_COND(st, c, {
		if (job_key(c.key) && false_when_absent(&c))
			needs = true;
	});
	return needs;
}

/* A Deny that fires whenever the keys `is_key` picks are absent: every one
 * of its conditions is about such a key and true without it (no condition:
 * it always fires). */
static bool deny_fires_when_absent(const json_t *d, bool (*is_key)(const char *))
{
	bool fires = true;

	FOR_EACH_COND(d, c, {
		if (!is_key(c.key) || !true_when_absent(&c))
			fires = false;
	});
	return fires;
}

static bool is_attest_key(const char *key)
{
	return attest_pcr(key) >= 0;
}

/* Some Deny of action, reaching st's principals, fires without an
 * attestation document (or without the job context). */
static bool closed_by_deny(const struct lint *l, const json_t *st, const char *action,
			   bool (*is_key)(const char *))
{
	for (size_t i = 0; i < l->n; i++) {
		const json_t *d = stmt_at(l, i);
		if (stmt_deny(d) && covers_action(d, action) && deny_reaches(d, st) &&
		    deny_fires_when_absent(d, is_key))
			return true;
	}
	return false;
}

/* An unconditional Deny of action reaching st's principals. */
static bool denied_outright(const struct lint *l, const json_t *st, const char *action)
{
	for (size_t i = 0; i < l->n; i++) {
		const json_t *d = stmt_at(l, i);
		if (stmt_deny(d) && !has_conditions(d) && covers_action(d, action) &&
		    deny_reaches(d, st))
			return true;
	}
	return false;
}

/* ---- findings ---- */

static void add(struct lint *l, enum sb_lint_tag tag, size_t stmt, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add(struct lint *l, enum sb_lint_tag tag, size_t stmt, const char *fmt, ...)
{
	struct sb_lint_finding *f;
	va_list ap;

	if (l->out->n == SB_LINT_MAX_FINDINGS) {
		l->out->truncated = true;
		return;
	}
	f = &l->out->v[l->out->n++];
	f->tag = tag;
	f->stmt = stmt;
	va_start(ap, fmt);
	(void)vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
}

/* Statement i's label for messages: `statement 2 ("Sid")`, printable only. */
static void label(const struct lint *l, size_t i, char *out, size_t n)
{
	const char *sid = json_string_value(json_object_get(stmt_at(l, i), "Sid"));
	char clean[41];
	size_t k = 0;

	for (; sid != NULL && sid[k] != '\0' && k < sizeof(clean) - 1; k++)
		clean[k] = isprint((unsigned char)sid[k]) && sid[k] != '"' ? sid[k] : '?';
	clean[k] = '\0';
	if (sid != NULL)
		(void)snprintf(out, n, "statement %zu (Sid \"%s\")", i + 1, clean);
	else
		(void)snprintf(out, n, "statement %zu", i + 1);
}

/* The first 16 characters of a value, printable, for messages. */
static void excerpt(const char *v, char out[24])
{
	size_t k = 0;

	for (; v[k] != '\0' && k < 16; k++)
		out[k] = isprint((unsigned char)v[k]) && v[k] != '"' ? v[k] : '?';
	(void)snprintf(out + k, 24 - k, "%s", v[k] != '\0' ? "..." : "");
}

static bool all_zero(const char *v)
{
	return v[0] != '\0' && strspn(v, "0") == strlen(v);
}

static bool has_wildcard(const char *v)
{
	return strpbrk(v, "*?") != NULL;
}

/* Who is the operator: the principals an attested, pinned Decrypt is for. */
static void find_operator(struct lint *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const json_t *st = stmt_at(l, i), *aws = aws_principals(st);
		if (stmt_deny(st) || !covers_action(st, "kms:Decrypt") || !pins_code(st))
			continue;
		for (size_t k = 0; k < list_len(aws); k++) {
			const char *p = json_string_value(list_get(aws, k));
			if (l->n_op_arns < N_OF(l->op_arns))
				l->op_arns[l->n_op_arns++] = p;
			if (l->n_op_accounts < N_OF(l->op_accounts) &&
			    account_of(p, l->op_accounts[l->n_op_accounts]))
				l->n_op_accounts++;
		}
	}
}

static void check_any_principal(struct lint *l, size_t i, const char *where)
{
	const json_t *st = stmt_at(l, i);

	if (stmt_deny(st) || !any_principal(st))
		return;
	add(l, SB_LINT_ANY_PRINCIPAL, i + 1,
	    "%s allows Principal \"*\" (every AWS principal%s): name the principals instead "
	    "(the enclave's role, the key owner)",
	    where, json_object_get(st, "NotPrincipal") != NULL ? ", through NotPrincipal" : "");
}

static void check_decrypt(struct lint *l, size_t i, const char *where)
{
	const json_t *st = stmt_at(l, i);

	if (stmt_deny(st))
		return;
	for (size_t a = 0; a < N_OF(decrypting); a++) {
		const char *action = decrypting[a];
		if (!covers_action(st, action) || denied_outright(l, st, action))
			continue;
		bool attested =
			needs_attestation(st) || closed_by_deny(l, st, action, is_attest_key);
		if (!attested) {
			add(l, SB_LINT_UNATTESTED_DECRYPT, i + 1,
			    "%s allows %s without an attestation document: it has no "
			    "kms:RecipientAttestation condition and no Deny of %s without one "
			    "covers it%s",
			    where, action, action,
			    a > 0 ? " (list kms:ReEncrypt* in the Deny of kms:Decrypt without "
				    "attestation)"
				  : "");
			return;
		}
		if (!pins_code(st) && (l->n_op_arns == 0 || operator_in(l, st) != NULL)) {
			add(l, SB_LINT_UNATTESTED_DECRYPT, i + 1,
			    "%s allows %s to an enclave running any image: no StringEquals pin "
			    "of kms:RecipientAttestation:ImageSha384 (PCR0), PCR2 or PCR8",
			    where, action);
			return;
		}
	}
}

/* One value pinned for PCR pcr with operator op. */
static void check_pin_value(struct lint *l, size_t i, const char *where, int pcr, enum op op,
			    const char *v)
{
	char got[24], want[24];

	if (op == OP_LIKE && has_wildcard(v)) {
		excerpt(v, got);
		add(l, SB_LINT_WILDCARD_PIN, i + 1,
		    "%s pins PCR%d with a wildcard (StringLike \"%s\"): every image whose "
		    "measurement matches the pattern gets the key; pin the exact value",
		    where, pcr, got);
	} else if (all_zero(v)) {
		add(l, SB_LINT_DEBUG_MODE_PIN, i + 1,
		    "%s pins PCR%d to all zeros: that is what a debug-mode enclave reports, and "
		    "the operator can read a debug-mode enclave's memory; for debugging only",
		    where, pcr);
	} else if (l->pcrs != NULL && l->pcrs->have[pcr]) {
		const char *m = l->pcrs->hex[pcr];
		bool same = op == OP_EQUALS_IC ? strcasecmp(v, m) == 0
			    : op == OP_LIKE    ? sb_glob_match(v, m, false)
					       : strcmp(v, m) == 0;
		if (same)
			return;
		excerpt(v, got);
		excerpt(m, want);
		add(l, SB_LINT_PCR_MISMATCH, i + 1,
		    "%s pins PCR%d to %s but the measurement is %s: this policy is for "
		    "another image",
		    where, pcr, got, want);
	}
}

static void check_pins(struct lint *l, size_t i, const char *where)
{
	const json_t *st = stmt_at(l, i);

	if (stmt_deny(st) || !covers_action(st, "kms:Decrypt"))
		return;
	FOR_EACH_COND(st, c, {
		int pcr = attest_pcr(c.key);
		if (pcr >= 0 && pinning_op(c.op))
			for (size_t k = 0; k < list_len(c.values); k++)
				check_pin_value(l, i, where, pcr, c.op,
						text_of(list_get(c.values, k)));
	});
}

static void check_job_values(struct lint *l, size_t i, const char *where)
{
	const json_t *st = stmt_at(l, i);
	char got[24], want[24];

	if (l->job_hash == NULL || stmt_deny(st) || !covers_action(st, "kms:Decrypt"))
		return;
	FOR_EACH_COND(st, c, {
		if (job_key(c.key) && pinning_op(c.op))
			for (size_t k = 0; k < list_len(c.values); k++) {
				const char *v = text_of(list_get(c.values, k));
				bool same = c.op == OP_EQUALS_IC ? strcasecmp(v, l->job_hash) == 0
								 : strcmp(v, l->job_hash) == 0;
				if (same)
					continue;
				excerpt(v, got);
				excerpt(l->job_hash, want);
				add(l, SB_LINT_JOB_MISMATCH, i + 1,
				    "%s allows kms:Decrypt for manifest %s, not this job's "
				    "(sealbid:manifest %s)",
				    where, got, want);
			}
	});
}

static void check_operator(struct lint *l, size_t i, const char *where)
{
	const json_t *st = stmt_at(l, i);
	const char *who;

	if (stmt_deny(st) || (who = operator_in(l, st)) == NULL)
		return;
	for (size_t a = 0; a < N_OF(key_changing); a++) {
		if (!covers_action(st, key_changing[a]) || denied_outright(l, st, key_changing[a]))
			continue;
		add(l, SB_LINT_OPERATOR_CAN_CHANGE_KEY, i + 1,
		    "%s lets the operator (%.128s, the principal the attested Decrypt is for, "
		    "or its account) call %s: it could give itself the key without an "
		    "enclave; keep key administration with your own account",
		    where, who, key_changing[a]);
		return;
	}
}

/* Every Allow of Decrypt needs the sealbid:manifest context, by its own
 * condition or through a Deny of Decrypt without it. */
static void check_job_binding(struct lint *l)
{
	for (size_t i = 0; i < l->n; i++) {
		const json_t *st = stmt_at(l, i);
		char where[96];
		if (stmt_deny(st) || !covers_action(st, "kms:Decrypt") || needs_job(st) ||
		    denied_outright(l, st, "kms:Decrypt") ||
		    closed_by_deny(l, st, "kms:Decrypt", job_key))
			continue;
		label(l, i, where, sizeof(where));
		add(l, SB_LINT_NO_JOB_BINDING, i + 1,
		    "%s allows kms:Decrypt without the job-binding encryption context "
		    "(kms:EncryptionContext:" JOB_CTX_KEY "): the operator could run your "
		    "data in a job you did not agree to; make the policy with "
		    "'sealbid policy --require-job' or '--job job.json'",
		    where);
	}
}

/* ---- validation: the shapes the checks rely on ---- */

static SB_RESULT check_strings(const json_t *v, const char *what, size_t i)
{
	size_t n = list_len(v);

	SB_ENSURE_MSG(n > 0 && (json_is_string(v) || json_is_array(v)), SB_ERR_BAD_POLICY,
		      "statement %zu: %s must be a string or a non-empty list of strings", i + 1,
		      what);
	for (size_t k = 0; k < n; k++) {
		const json_t *e = list_get(v, k);
		SB_ENSURE_MSG(json_is_string(e) &&
				      strlen(json_string_value(e)) == json_string_length(e),
			      SB_ERR_BAD_POLICY, "statement %zu: %s must be a list of strings",
			      i + 1, what);
	}
	return SB_OK_RESULT;
}

static SB_RESULT check_principal(const json_t *v, const char *what, size_t i)
{
	const char *type;
	json_t *list;

	if (json_is_string(v)) {
		SB_ENSURE_MSG(strcmp(json_string_value(v), "*") == 0, SB_ERR_BAD_POLICY,
			      "statement %zu: %s must be \"*\" or an object", i + 1, what);
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(json_is_object(v) && json_object_size(v) > 0, SB_ERR_BAD_POLICY,
		      "statement %zu: %s must be \"*\" or an object", i + 1, what);
	json_object_foreach((json_t *)v, type, list) {
		SB_ENSURE_MSG(strcmp(type, "AWS") == 0 || strcmp(type, "Service") == 0 ||
				      strcmp(type, "Federated") == 0 ||
				      strcmp(type, "CanonicalUser") == 0,
			      SB_ERR_BAD_POLICY, "statement %zu: unknown %s type", i + 1, what);
		SB_GUARD(check_strings(list, what, i));
	}
	return SB_OK_RESULT;
}

static SB_RESULT check_condition(const json_t *v, size_t i)
{
	const char *op, *key;
	json_t *keys, *vals;

	if (v == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_object(v), SB_ERR_BAD_POLICY,
		      "statement %zu: Condition must be an object", i + 1);
	json_object_foreach((json_t *)v, op, keys) {
		SB_ENSURE_MSG(json_is_object(keys) && json_object_size(keys) > 0,
			      SB_ERR_BAD_POLICY,
			      "statement %zu: a condition operator needs an object of keys", i + 1);
		json_object_foreach(keys, key, vals) {
			size_t n = list_len(vals);
			SB_ENSURE_MSG(n > 0 && (json_is_array(vals) || !json_is_object(vals)),
				      SB_ERR_BAD_POLICY,
				      "statement %zu: condition values must be a value or a "
				      "non-empty list",
				      i + 1);
			for (size_t k = 0; k < n; k++) {
				const json_t *e = list_get(vals, k);
				SB_ENSURE_MSG((json_is_string(e) &&
					       strlen(json_string_value(e)) ==
						       json_string_length(e)) ||
						      json_is_boolean(e),
					      SB_ERR_BAD_POLICY,
					      "statement %zu: condition values must be strings",
					      i + 1);
			}
		}
	}
	return SB_OK_RESULT;
}

static SB_RESULT check_one_of(const json_t *st, const char *a, const char *b, bool required,
			      size_t i)
{
	bool has_a = json_object_get(st, a) != NULL, has_b = json_object_get(st, b) != NULL;

	SB_ENSURE_MSG(!(has_a && has_b), SB_ERR_BAD_POLICY,
		      "statement %zu: both %s and %s", i + 1, a, b);
	SB_ENSURE_MSG(!required || has_a || has_b, SB_ERR_BAD_POLICY,
		      "statement %zu: no %s (or %s)", i + 1, a, b);
	return SB_OK_RESULT;
}

static SB_RESULT check_statement(const json_t *st, size_t i)
{
	static const char *const known[] = {"Sid",	"Effect",    "Principal",
					    "NotPrincipal", "Action",    "NotAction",
					    "Resource",	    "NotResource", "Condition"};
	const char *field, *effect;
	json_t *v;

	SB_ENSURE_MSG(json_is_object(st), SB_ERR_BAD_POLICY, "statement %zu is not an object",
		      i + 1);
	json_object_foreach((json_t *)st, field, v) {
		bool ok = false;
		for (size_t k = 0; k < N_OF(known); k++)
			ok = ok || strcmp(field, known[k]) == 0;
		SB_ENSURE_MSG(ok, SB_ERR_BAD_POLICY, "statement %zu: unknown element", i + 1);
	}
	v = json_object_get(st, "Sid");
	SB_ENSURE_MSG(v == NULL || json_is_string(v), SB_ERR_BAD_POLICY,
		      "statement %zu: Sid must be a string", i + 1);
	effect = json_string_value(json_object_get(st, "Effect"));
	SB_ENSURE_MSG(effect != NULL && (strcmp(effect, "Allow") == 0 || strcmp(effect, "Deny") == 0),
		      SB_ERR_BAD_POLICY, "statement %zu: Effect must be Allow or Deny", i + 1);
	SB_GUARD(check_one_of(st, "Principal", "NotPrincipal", true, i));
	SB_GUARD(check_one_of(st, "Action", "NotAction", true, i));
	SB_GUARD(check_one_of(st, "Resource", "NotResource", false, i));
	if ((v = json_object_get(st, "Principal")) != NULL)
		SB_GUARD(check_principal(v, "Principal", i));
	if ((v = json_object_get(st, "NotPrincipal")) != NULL)
		SB_GUARD(check_principal(v, "NotPrincipal", i));
	v = json_object_get(st, "Action");
	SB_GUARD(check_strings(v != NULL ? v : json_object_get(st, "NotAction"), "Action", i));
	v = json_object_get(st, "Resource");
	if (v == NULL)
		v = json_object_get(st, "NotResource");
	if (v != NULL)
		SB_GUARD(check_strings(v, "Resource", i));
	return check_condition(json_object_get(st, "Condition"), i);
}

static SB_RESULT check_document(const json_t *doc, struct lint *l)
{
	const char *field;
	json_t *v;

	SB_ENSURE_MSG(json_is_object(doc), SB_ERR_BAD_POLICY, "the policy is not a JSON object");
	json_object_foreach((json_t *)doc, field, v) {
		SB_ENSURE_MSG(strcmp(field, "Version") == 0 || strcmp(field, "Id") == 0 ||
				      strcmp(field, "Statement") == 0,
			      SB_ERR_BAD_POLICY, "unknown top-level policy element");
		SB_ENSURE_MSG(json_is_string(v) || strcmp(field, "Statement") == 0,
			      SB_ERR_BAD_POLICY, "Version and Id must be strings");
	}
	l->stmts = json_object_get(doc, "Statement");
	SB_ENSURE_MSG(json_is_array(l->stmts) || json_is_object(l->stmts), SB_ERR_BAD_POLICY,
		      "the policy has no Statement (an object or a list)");
	l->n = list_len(l->stmts);
	SB_ENSURE_MSG(l->n > 0 && l->n <= SB_LINT_MAX_STATEMENTS, SB_ERR_BAD_POLICY,
		      "the policy must have 1..%d statements", SB_LINT_MAX_STATEMENTS);
	for (size_t i = 0; i < l->n; i++)
		SB_GUARD(check_statement(stmt_at(l, i), i));
	return SB_OK_RESULT;
}

static SB_RESULT load(struct sb_slice policy, json_t **doc)
{
	json_error_t err;

	SB_ENSURE_MSG(policy.len <= SB_LINT_POLICY_MAX_LEN, SB_ERR_BAD_POLICY,
		      "the policy is longer than %d bytes (the KMS limit)", SB_LINT_POLICY_MAX_LEN);
	/* A key twice in one object is ambiguous (which one does KMS read?). */
	*doc = json_loadb((const char *)policy.ptr, policy.len, JSON_REJECT_DUPLICATES, &err);
	SB_ENSURE_MSG(*doc != NULL, SB_ERR_BAD_POLICY, "line %d column %d: %.80s", err.line,
		      err.column, err.text);
	return SB_OK_RESULT;
}

SB_RESULT sb_cli_policy_lint(struct sb_slice policy, const struct sb_lint_pcrs *pcrs,
			     const char *job_hash, struct sb_lint_report *out)
{
	struct lint l = {.pcrs = pcrs, .job_hash = job_hash, .out = out};
	json_t *doc = NULL;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE(policy.ptr != NULL || policy.len == 0, SB_ERR_NULL);
	out->n = 0;
	out->truncated = false;
	SB_GUARD(load(policy, &doc));
	SB_GUARD_GOTO(rc, check_document(doc, &l), out);
	find_operator(&l);
	for (size_t i = 0; i < l.n; i++) {
		char where[96];
		label(&l, i, where, sizeof(where));
		check_any_principal(&l, i, where);
		check_decrypt(&l, i, where);
		check_pins(&l, i, where);
		check_job_values(&l, i, where);
		check_operator(&l, i, where);
	}
	check_job_binding(&l);
out:
	json_decref(doc);
	return rc;
}

const char *sb_cli_policy_lint_tag(enum sb_lint_tag tag)
{
	switch (tag) {
	case SB_LINT_UNATTESTED_DECRYPT:
		return "unattested-decrypt";
	case SB_LINT_PCR_MISMATCH:
		return "pcr-mismatch";
	case SB_LINT_DEBUG_MODE_PIN:
		return "debug-mode-pin";
	case SB_LINT_OPERATOR_CAN_CHANGE_KEY:
		return "operator-can-change-key";
	case SB_LINT_NO_JOB_BINDING:
		return "no-job-binding";
	case SB_LINT_JOB_MISMATCH:
		return "job-mismatch";
	case SB_LINT_WILDCARD_PIN:
		return "wildcard-pin";
	case SB_LINT_ANY_PRINCIPAL:
		return "any-principal";
	default:
		return "unknown";
	}
}
