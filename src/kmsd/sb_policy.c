#include "kmsd/sb_policy.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sb_glob.h"
#include "common/sb_iam_op.h"
#include "common/sb_mem.h"
#include "kmsd/sb_kjson.h"

#define MAX_VALUES 256 /* values in one Principal/Action/Resource/condition list */

struct strs {
	char **v;
	size_t n;
};

enum cond_op {
	OP_STRING_EQUALS,
	OP_STRING_NOT_EQUALS,
	OP_STRING_EQUALS_IC,
	OP_STRING_NOT_EQUALS_IC,
	OP_STRING_LIKE,
	OP_STRING_NOT_LIKE,
	OP_NULL,
	OP_BOOL,
};

struct cond {
	enum cond_op op;
	enum sb_iam_qual qual;
	bool if_exists;
	char *key;
	struct strs values;
};

struct stmt {
	bool deny;
	bool any_principal;
	struct strs principals;
	struct strs actions;
	struct strs resources;
	struct cond *conds;
	size_t n_conds;
};

struct sb_policy {
	struct stmt *stmts;
	size_t n;
};

static const struct {
	const char *name;
	enum cond_op op;
} cond_ops[] = {
	{"StringEquals", OP_STRING_EQUALS},
	{"StringNotEquals", OP_STRING_NOT_EQUALS},
	{"StringEqualsIgnoreCase", OP_STRING_EQUALS_IC},
	{"StringNotEqualsIgnoreCase", OP_STRING_NOT_EQUALS_IC},
	{"StringLike", OP_STRING_LIKE},
	{"StringNotLike", OP_STRING_NOT_LIKE},
	{"Null", OP_NULL},
	{"Bool", OP_BOOL},
};

static void strs_free(struct strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static void stmt_free(struct stmt *st)
{
	strs_free(&st->principals);
	strs_free(&st->actions);
	strs_free(&st->resources);
	for (size_t i = 0; i < st->n_conds; i++) {
		free(st->conds[i].key);
		strs_free(&st->conds[i].values);
	}
	free(st->conds);
}

void sb_policy_free(struct sb_policy *policy)
{
	if (policy == NULL)
		return;
	for (size_t i = 0; i < policy->n; i++)
		stmt_free(&policy->stmts[i]);
	free(policy->stmts);
	free(policy);
}

static SB_RESULT strs_push(struct strs *s, const char *v)
{
	char *copy;

	SB_ENSURE_MSG(s->n < MAX_VALUES, SB_ERR_KMS_MALFORMED_POLICY, "too many values");
	copy = strdup(v);
	SB_ENSURE(copy != NULL, SB_ERR_NOMEM);
	s->v[s->n++] = copy;
	return SB_OK_RESULT;
}

/* A string value of a condition; Bool and Null also take JSON booleans. */
static SB_RESULT scalar_text(const json_t *v, const char *what, const char **out)
{
	if (json_is_string(v)) {
		SB_ENSURE_MSG(strlen(json_string_value(v)) == json_string_length(v),
			      SB_ERR_KMS_MALFORMED_POLICY, "%s contains a NUL character", what);
		*out = json_string_value(v);
		return SB_OK_RESULT;
	}
	if (json_is_boolean(v)) {
		*out = json_is_true(v) ? "true" : "false";
		return SB_OK_RESULT;
	}
	SB_BAIL_MSG(SB_ERR_KMS_MALFORMED_POLICY, "%s must be a string or a list of strings", what);
}

/* A string or a non-empty array of strings. */
static SB_RESULT strs_parse(const json_t *v, const char *what, bool allow_bool, struct strs *out)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	const char *text = NULL;

	SB_ENSURE_MSG(v != NULL, SB_ERR_KMS_MALFORMED_POLICY, "%s is missing", what);
	SB_ENSURE_MSG(n > 0 && n <= MAX_VALUES, SB_ERR_KMS_MALFORMED_POLICY,
		      "%s must have 1..%d values", what, MAX_VALUES);
	SB_GUARD(sb_calloc(n, sizeof(char *), (void **)&out->v));
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		SB_ENSURE_MSG(allow_bool || json_is_string(e), SB_ERR_KMS_MALFORMED_POLICY,
			      "%s must be a string or a list of strings", what);
		SB_GUARD(scalar_text(e, what, &text));
		SB_GUARD(strs_push(out, text));
	}
	return SB_OK_RESULT;
}

static SB_RESULT parse_principal(const json_t *v, struct stmt *st)
{
	const char *key;
	json_t *val;

	SB_ENSURE_MSG(v != NULL, SB_ERR_KMS_MALFORMED_POLICY,
		      "Policy contains a statement with no principal.");
	if (json_is_string(v)) {
		SB_ENSURE_MSG(strcmp(json_string_value(v), "*") == 0, SB_ERR_KMS_MALFORMED_POLICY,
			      "Principal must be \"*\" or an object");
		st->any_principal = true;
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(json_is_object(v) && json_object_size(v) > 0, SB_ERR_KMS_MALFORMED_POLICY,
		      "Principal must be \"*\" or an object");
	json_object_foreach((json_t *)v, key, val) {
		/* Service principals never sign requests here; they match nothing. */
		if (strcmp(key, "Service") == 0 || strcmp(key, "Federated") == 0) {
			struct strs ignored = {0};
			sb_result r = strs_parse(val, "Principal", false, &ignored);
			strs_free(&ignored);
			SB_GUARD(r);
			continue;
		}
		SB_ENSURE_MSG(strcmp(key, "AWS") == 0, SB_ERR_KMS_MALFORMED_POLICY,
			      "unsupported principal type");
		SB_GUARD(strs_parse(val, "Principal", false, &st->principals));
	}
	for (size_t i = 0; i < st->principals.n; i++)
		if (strcmp(st->principals.v[i], "*") == 0)
			st->any_principal = true;
	return SB_OK_RESULT;
}

/* "ForAnyValue:StringEqualsIfExists" into its parts. */
static SB_RESULT parse_op_name(const char *name, struct cond *c)
{
	struct sb_iam_op op;

	SB_ENSURE_MSG(sb_iam_op_split(name, &op), SB_ERR_KMS_MALFORMED_POLICY,
		      "unknown condition operator");
	c->qual = op.qual;
	c->if_exists = op.if_exists;
	for (size_t i = 0; i < sizeof(cond_ops) / sizeof(cond_ops[0]); i++) {
		if (strcmp(op.base, cond_ops[i].name) == 0) {
			c->op = cond_ops[i].op;
			SB_ENSURE_MSG(!(c->op == OP_NULL && (c->if_exists || c->qual != SB_IAM_QUAL_PLAIN)),
				      SB_ERR_KMS_MALFORMED_POLICY, "Null takes no qualifiers");
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_KMS_MALFORMED_POLICY, "unsupported condition operator");
}

static SB_RESULT check_bool_values(const struct cond *c)
{
	if (c->op != OP_NULL && c->op != OP_BOOL)
		return SB_OK_RESULT;
	for (size_t i = 0; i < c->values.n; i++)
		SB_ENSURE_MSG(strcmp(c->values.v[i], "true") == 0 ||
				      strcmp(c->values.v[i], "false") == 0,
			      SB_ERR_KMS_MALFORMED_POLICY, "Bool and Null take true or false");
	return SB_OK_RESULT;
}

static SB_RESULT parse_conditions(const json_t *v, struct stmt *st)
{
	const char *opname, *key;
	json_t *keys, *vals;
	size_t total = 0;

	if (v == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_object(v), SB_ERR_KMS_MALFORMED_POLICY, "Condition must be an object");
	json_object_foreach((json_t *)v, opname, keys) {
		SB_ENSURE_MSG(json_is_object(keys) && json_object_size(keys) > 0,
			      SB_ERR_KMS_MALFORMED_POLICY, "condition operator needs keys");
		total += json_object_size(keys);
	}
	SB_ENSURE_MSG(total <= MAX_VALUES, SB_ERR_KMS_MALFORMED_POLICY, "too many conditions");
	SB_GUARD(sb_calloc(total, sizeof(struct cond), (void **)&st->conds));
	json_object_foreach((json_t *)v, opname, keys) {
		json_object_foreach(keys, key, vals) {
			struct cond *c = &st->conds[st->n_conds++];
			SB_GUARD(parse_op_name(opname, c));
			c->key = strdup(key);
			SB_ENSURE(c->key != NULL, SB_ERR_NOMEM);
			SB_GUARD(strs_parse(vals, "condition value", true, &c->values));
			SB_GUARD(check_bool_values(c));
		}
	}
	return SB_OK_RESULT;
}

static SB_RESULT check_fields(const json_t *obj, const char *const *allowed, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		bool ok = false;
		for (size_t i = 0; i < n; i++)
			ok = ok || strcmp(key, allowed[i]) == 0;
		SB_ENSURE_MSG(ok, SB_ERR_KMS_MALFORMED_POLICY, "unsupported policy element");
	}
	return SB_OK_RESULT;
}

static SB_RESULT parse_statement(const json_t *v, struct stmt *st)
{
	static const char *const allowed[] = {"Sid", "Effect", "Principal", "Action", "Resource",
					      "Condition"};
	const char *effect;

	SB_ENSURE_MSG(json_is_object(v), SB_ERR_KMS_MALFORMED_POLICY, "Statement must be an object");
	SB_GUARD(check_fields(v, allowed, sizeof(allowed) / sizeof(allowed[0])));
	if (json_object_get(v, "Sid") != NULL)
		SB_ENSURE_MSG(json_is_string(json_object_get(v, "Sid")),
			      SB_ERR_KMS_MALFORMED_POLICY, "Sid must be a string");
	effect = json_string_value(json_object_get(v, "Effect"));
	SB_ENSURE_MSG(effect != NULL && (strcmp(effect, "Allow") == 0 || strcmp(effect, "Deny") == 0),
		      SB_ERR_KMS_MALFORMED_POLICY, "Effect must be Allow or Deny");
	st->deny = strcmp(effect, "Deny") == 0;
	SB_GUARD(parse_principal(json_object_get(v, "Principal"), st));
	SB_GUARD(strs_parse(json_object_get(v, "Action"), "Action", false, &st->actions));
	SB_GUARD(strs_parse(json_object_get(v, "Resource"), "Resource", false, &st->resources));
	return parse_conditions(json_object_get(v, "Condition"), st);
}

static SB_RESULT parse_document(const json_t *doc, struct sb_policy *p)
{
	static const char *const allowed[] = {"Version", "Id", "Statement"};
	const json_t *stmts, *version;
	size_t n;

	SB_ENSURE_MSG(json_is_object(doc), SB_ERR_KMS_MALFORMED_POLICY, "policy must be an object");
	SB_GUARD(check_fields(doc, allowed, sizeof(allowed) / sizeof(allowed[0])));
	version = json_object_get(doc, "Version");
	SB_ENSURE_MSG(version == NULL ||
			      (json_is_string(version) &&
			       (strcmp(json_string_value(version), "2012-10-17") == 0 ||
				strcmp(json_string_value(version), "2008-10-17") == 0)),
		      SB_ERR_KMS_MALFORMED_POLICY, "unsupported policy Version");
	SB_ENSURE_MSG(json_object_get(doc, "Id") == NULL ||
			      json_is_string(json_object_get(doc, "Id")),
		      SB_ERR_KMS_MALFORMED_POLICY, "Id must be a string");
	stmts = json_object_get(doc, "Statement");
	SB_ENSURE_MSG(stmts != NULL, SB_ERR_KMS_MALFORMED_POLICY, "policy has no Statement");
	n = json_is_array(stmts) ? json_array_size(stmts) : 1;
	SB_ENSURE_MSG(n > 0 && n <= SB_POLICY_MAX_STATEMENTS, SB_ERR_KMS_MALFORMED_POLICY,
		      "policy must have 1..%d statements", SB_POLICY_MAX_STATEMENTS);
	SB_GUARD(sb_calloc(n, sizeof(struct stmt), (void **)&p->stmts));
	for (size_t i = 0; i < n; i++) {
		p->n = i + 1;
		SB_GUARD(parse_statement(json_is_array(stmts) ? json_array_get(stmts, i) : stmts,
					 &p->stmts[i]));
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_policy_parse(struct sb_slice json, struct sb_policy **out)
{
	struct sb_policy *p = NULL;
	json_t *doc = NULL;
	sb_result rc;

	SB_ENSURE_REF(out);
	*out = NULL;
	SB_ENSURE_MSG(json.len <= SB_POLICY_MAX_LEN, SB_ERR_KMS_MALFORMED_POLICY,
		      "policy is longer than %d bytes", SB_POLICY_MAX_LEN);
	rc = sb_kjson_parse(json, SB_KJSON_MAX_DEPTH, &doc);
	if (!sb_ok(rc))
		SB_BAIL_MSG(SB_ERR_KMS_MALFORMED_POLICY, "policy is not valid JSON: %s",
			    sb_error_detail());
	SB_GUARD_GOTO(rc, sb_calloc(1, sizeof(*p), (void **)&p), out);
	SB_GUARD_GOTO(rc, parse_document(doc, p), out);
	*out = p;
	p = NULL;
out:
	sb_policy_free(p);
	json_decref(doc);
	return rc;
}

static bool principal_matches(const struct stmt *st, const struct sb_policy_request *req)
{
	char root[128];

	if (st->any_principal)
		return true;
	(void)snprintf(root, sizeof(root), "arn:aws:iam::%s:root",
		       req->account_id != NULL ? req->account_id : "");
	for (size_t i = 0; i < st->principals.n; i++) {
		const char *p = st->principals.v[i];
		if (req->principal_arn != NULL && strcmp(p, req->principal_arn) == 0)
			return true;
		/* "arn:aws:iam::111122223333:root" and "111122223333" both mean
		 * the account, so every principal in it. */
		if (req->account_id != NULL &&
		    (strcmp(p, root) == 0 || strcmp(p, req->account_id) == 0))
			return true;
	}
	return false;
}

static bool any_glob(const struct strs *s, const char *text, bool ic)
{
	for (size_t i = 0; i < s->n; i++)
		if (text != NULL && sb_glob_match(s->v[i], text, ic))
			return true;
	return false;
}

/*
 * Condition key names are case-insensitive; the encryption context key
 * after "kms:EncryptionContext:" is compared exactly, as context keys are.
 */
static bool key_matches(const char *policy_key, const char *ctx_key)
{
	static const char ec[] = "kms:EncryptionContext:";
	size_t n = sizeof(ec) - 1;

	if (strncasecmp(policy_key, ec, n) == 0 && strncasecmp(ctx_key, ec, n) == 0)
		return strcmp(policy_key + n, ctx_key + n) == 0;
	return strcasecmp(policy_key, ctx_key) == 0;
}

static const struct sb_policy_ctx *ctx_find(const struct sb_policy_request *req, const char *key)
{
	for (size_t i = 0; i < req->n_ctx; i++)
		if (key_matches(key, req->ctx[i].key))
			return &req->ctx[i];
	return NULL;
}

static bool value_matches(enum cond_op op, const char *pv, const char *cv)
{
	switch (op) {
	case OP_STRING_EQUALS:
	case OP_STRING_NOT_EQUALS:
		return strcmp(pv, cv) == 0;
	case OP_STRING_EQUALS_IC:
	case OP_STRING_NOT_EQUALS_IC:
	case OP_BOOL:
		return strcasecmp(pv, cv) == 0;
	case OP_STRING_LIKE:
	case OP_STRING_NOT_LIKE:
		return sb_glob_match(pv, cv, false);
	case OP_NULL:
	default:
		return false;
	}
}

static bool negated(enum cond_op op)
{
	return op == OP_STRING_NOT_EQUALS || op == OP_STRING_NOT_EQUALS_IC ||
	       op == OP_STRING_NOT_LIKE;
}

/* Does context value cv satisfy the condition (one of the listed values)? */
static bool one_matches(const struct cond *c, const char *cv)
{
	bool m = false;

	for (size_t i = 0; i < c->values.n && !m; i++)
		m = value_matches(c->op, c->values.v[i], cv);
	return negated(c->op) ? !m : m;
}

static bool cond_true(const struct cond *c, const struct sb_policy_request *req)
{
	const struct sb_policy_ctx *x = ctx_find(req, c->key);
	bool present = x != NULL && x->n_values > 0, any = false, all = true;

	if (c->op == OP_NULL) {
		/* "Null": true means the key must be absent, false present. */
		for (size_t i = 0; i < c->values.n; i++)
			if ((strcmp(c->values.v[i], "true") == 0) == !present)
				return true;
		return false;
	}
	if (!present) {
		/* A missing key makes a condition false, except where IAM says
		 * otherwise: ...IfExists, ForAllValues on an empty set, and the
		 * negated operators ("not equal" to something absent). */
		if (c->if_exists || c->qual == SB_IAM_QUAL_ALL)
			return true;
		return c->qual == SB_IAM_QUAL_PLAIN && negated(c->op);
	}
	for (size_t i = 0; i < x->n_values; i++) {
		bool m = one_matches(c, x->values[i]);
		any = any || m;
		all = all && m;
	}
	switch (c->qual) {
	case SB_IAM_QUAL_ANY:
		return any;
	case SB_IAM_QUAL_ALL:
		return all;
	case SB_IAM_QUAL_PLAIN:
	default:
		/* One value of a multivalued key matching is enough for a positive
		 * operator; a negated one must hold for every value. */
		return negated(c->op) ? all : any;
	}
}

static bool stmt_applies(const struct stmt *st, const struct sb_policy_request *req)
{
	if (!principal_matches(st, req) || !any_glob(&st->actions, req->action, true) ||
	    !any_glob(&st->resources, req->resource, false))
		return false;
	for (size_t i = 0; i < st->n_conds; i++)
		if (!cond_true(&st->conds[i], req))
			return false;
	return true;
}

enum sb_policy_decision sb_policy_evaluate(const struct sb_policy *policy,
					   const struct sb_policy_request *req)
{
	bool allowed = false;

	if (policy == NULL || req == NULL)
		return SB_POLICY_IMPLICIT_DENY;
	for (size_t i = 0; i < policy->n; i++) {
		if (!stmt_applies(&policy->stmts[i], req))
			continue;
		if (policy->stmts[i].deny)
			return SB_POLICY_EXPLICIT_DENY;
		allowed = true;
	}
	return allowed ? SB_POLICY_ALLOW : SB_POLICY_IMPLICIT_DENY;
}

SB_RESULT sb_policy_default(const char *account_id, struct sb_buf *out)
{
	SB_ENSURE_REF(account_id);
	SB_ENSURE_REF(out);
	/* The default key policy: "Allows access to the AWS account and enables
	 * IAM policies". The account id is validated by the configuration. */
	return sb_buf_printf(out,
			     "{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":[{"
			     "\"Sid\":\"Enable IAM User Permissions\",\"Effect\":\"Allow\","
			     "\"Principal\":{\"AWS\":\"arn:aws:iam::%s:root\"},"
			     "\"Action\":\"kms:*\",\"Resource\":\"*\"}]}",
			     account_id);
}
