/*
 * Grants: CreateGrant, ListGrants, RetireGrant, RevokeGrant, and the grant
 * side of authorisation. "A grant is a policy instrument that allows AWS
 * principals to use KMS keys in cryptographic operations"; a grant adds
 * permission alongside the key policy (an explicit deny there still wins).
 *
 * Grant constraints: "EncryptionContextEquals ... the grant allows the
 * operation only when the encryption context in the request is the same as
 * the encryption context specified in this constraint";
 * "EncryptionContextSubset ... only when the encryption context in the
 * request includes the key-value pairs specified in this constraint".
 */
#include <stdio.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "crypto/sb_random.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define GRANT_ID_BYTES    32 /* 64 hex characters, as KMS grant ids */
#define GRANT_TOKEN_BYTES 48
#define GRANT_NAME_MAX    256
#define PRINCIPAL_MAX     256
#define GRANT_SCAN_PAGE   100
#define GRANT_TEXT_MAX    8192

/* Grant operations valid for a symmetric encryption key; those marked
 * crypto take an encryption context (and so may carry constraints). */
static const struct {
	const char *name;
	bool crypto;
} grant_ops[] = {
	{"Decrypt", true},	   {"Encrypt", true},	   {"GenerateDataKey", true},
	{"GenerateDataKeyWithoutPlaintext", true},	   {"ReEncryptFrom", true},
	{"ReEncryptTo", true},	   {"CreateGrant", false}, {"RetireGrant", false},
	{"DescribeKey", false},
};
/* In the GrantOperation enum but not valid for a symmetric key. */
static const char *const other_ops[] = {
	"Sign",	  "Verify",	"GetPublicKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext",
	"GenerateMac", "VerifyMac", "DeriveSharedSecret",
};

static int grant_op_index(const char *name)
{
	for (size_t i = 0; i < sizeof(grant_ops) / sizeof(grant_ops[0]); i++)
		if (strcmp(grant_ops[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ---- evaluating grants ---- */

static bool op_takes_context(const char *op)
{
	int i = grant_op_index(op);
	return i >= 0 && grant_ops[i].crypto;
}

/* Whether the JSON array text ops names op. */
static bool ops_include(const json_t *ops, const char *op)
{
	const json_t *v;
	size_t i;

	json_array_foreach(ops, i, v) {
		if (json_is_string(v) && strcmp(json_string_value(v), op) == 0)
			return true;
	}
	return false;
}

static bool ctx_has(const json_t *ctx, const char *key, const json_t *want)
{
	const json_t *v = ctx != NULL ? json_object_get(ctx, key) : NULL;
	return json_is_string(v) && json_is_string(want) && json_equal(v, want);
}

/* The request's context against the grant's Constraints (NULL: none). */
static bool constraints_hold(const json_t *cons, const json_t *enc_ctx)
{
	const json_t *eq, *sub, *v;
	const char *key;

	if (cons == NULL)
		return true;
	eq = json_object_get(cons, "EncryptionContextEquals");
	sub = json_object_get(cons, "EncryptionContextSubset");
	if (eq != NULL) {
		size_t n = enc_ctx != NULL ? json_object_size(enc_ctx) : 0;
		if (n != json_object_size(eq))
			return false;
		json_object_foreach((json_t *)eq, key, v) {
			if (!ctx_has(enc_ctx, key, v))
				return false;
		}
	}
	if (sub != NULL) {
		json_object_foreach((json_t *)sub, key, v) {
			if (!ctx_has(enc_ctx, key, v))
				return false;
		}
	}
	return true;
}

struct grant_match {
	const char *op;         /* "Decrypt" */
	const json_t *enc_ctx;  /* may be NULL */
	const json_t *need_ops; /* CreateGrant by a grantee: the new grant's operations */
	const char *need_cons;  /* ... and its constraints text */
	bool found;
	char last[2 * GRANT_ID_BYTES + 1];
};

static SB_RESULT parse_text(const char *text, json_t **out)
{
	*out = NULL;
	if (text[0] == '\0')
		return SB_OK_RESULT;
	sb_result r = sb_kjson_parse(sb_slice_str(text), SB_KJSON_MAX_DEPTH, out);
	/* Written by this server; failing to read it back is internal. */
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_INTERNAL, "stored grant does not parse");
	return r;
}

static SB_RESULT match_grant(void *vctx, const struct sb_kstore_grant *g)
{
	struct grant_match *m = vctx;
	json_t *ops = NULL, *cons = NULL;
	sb_result rc;
	const json_t *v;
	size_t i;

	(void)snprintf(m->last, sizeof(m->last), "%s", g->id);
	rc = parse_text(g->operations, &ops);
	if (sb_ok(rc))
		rc = parse_text(g->constraints, &cons);
	/* "Grant constraints are not applied to operations that do not support
	 * an encryption context ... such as DescribeKey or RetireGrant." */
	if (sb_ok(rc) && ops_include(ops, m->op) &&
	    (!op_takes_context(m->op) || constraints_hold(cons, m->enc_ctx))) {
		bool covers = m->need_cons == NULL || g->constraints[0] == '\0' ||
			      strcmp(g->constraints, m->need_cons) == 0;
		/* "the grantee ... can create grants with the same or fewer
		 * permissions": every operation of the new grant must be here. */
		json_array_foreach(m->need_ops, i, v) {
			covers = covers && ops_include(ops, json_string_value(v));
		}
		m->found = m->found || covers;
	}
	json_decref(ops);
	json_decref(cons);
	return rc;
}

/* Scans the caller's grants on key for one that matches m. */
static SB_RESULT find_grant(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const char *key_id,
			    struct grant_match *m)
{
	struct sb_kstore_grant_filter f = {.key_id = key_id, .grantee = c->principal->arn};
	bool more = true;

	while (more && !m->found) {
		char after[sizeof(m->last)];
		memcpy(after, m->last, sizeof(after));
		SB_GUARD(sb_kstore_list_grants(k->store, &f, after, GRANT_SCAN_PAGE, match_grant, m,
					       &more));
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_grant_allows(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			       const char *action, const struct sb_kstore_key *key,
			       const json_t *enc_ctx, bool *out)
{
	struct grant_match m = {.op = action + 4, .enc_ctx = enc_ctx, .need_ops = NULL};

	*out = false;
	if (strncmp(action, "kms:", 4) != 0 || grant_op_index(action + 4) < 0)
		return SB_OK_RESULT;
	SB_GUARD(find_grant(k, c, key->id, &m));
	*out = m.found;
	return SB_OK_RESULT;
}

/* ---- CreateGrant ---- */

static SB_RESULT check_principal(const json_t *req, const char *field, bool required,
				 const char **out)
{
	SB_GUARD(sb_kjson_string(req, field, required, out));
	SB_ENSURE_MSG(*out == NULL || (strlen(*out) >= 1 && strlen(*out) <= PRINCIPAL_MAX),
		      SB_ERR_KMS_VALIDATION, "%s must be 1..%d characters", field, PRINCIPAL_MAX);
	return SB_OK_RESULT;
}

/* Operations: 1+ distinct names valid for this key. */
static SB_RESULT check_operations(const json_t *ops)
{
	const json_t *v;
	size_t i;

	SB_ENSURE_MSG(json_is_array(ops) && json_array_size(ops) >= 1 &&
			      json_array_size(ops) <= sizeof(grant_ops) / sizeof(grant_ops[0]),
		      SB_ERR_KMS_VALIDATION, "'Operations' must list the operations to grant");
	json_array_foreach(ops, i, v) {
		const char *op = json_string_value(v);
		SB_ENSURE_MSG(op != NULL, SB_ERR_KMS_VALIDATION, "'Operations' must hold strings");
		for (size_t j = 0; j < sizeof(other_ops) / sizeof(other_ops[0]); j++)
			SB_ENSURE_MSG(strcmp(op, other_ops[j]) != 0, SB_ERR_KMS_VALIDATION,
				      "Grant operation %s is not valid for a symmetric encryption "
				      "KMS key",
				      op);
		SB_ENSURE_MSG(grant_op_index(op) >= 0, SB_ERR_KMS_VALIDATION,
			      "1 validation error detected: Value '%s' in 'operations' failed to "
			      "satisfy constraint: Member must satisfy enum value set",
			      op);
		for (size_t j = 0; j < i; j++)
			SB_ENSURE_MSG(strcmp(json_string_value(json_array_get(ops, j)), op) != 0,
				      SB_ERR_KMS_VALIDATION, "Operation %s is listed twice", op);
	}
	return SB_OK_RESULT;
}

/* Constraints: {EncryptionContextEquals?, EncryptionContextSubset?}, each an
 * encryption context; dumped canonically into text (empty when absent). */
static SB_RESULT check_constraints(const json_t *req, struct sb_buf *text)
{
	json_t *cons, *obj;
	const char *key;
	json_t *v;

	SB_GUARD(sb_kjson_object(req, "Constraints", false, &cons));
	if (cons == NULL)
		return SB_OK_RESULT;
	json_object_foreach(cons, key, v) {
		SB_ENSURE_MSG(strcmp(key, "EncryptionContextEquals") == 0 ||
				      strcmp(key, "EncryptionContextSubset") == 0,
			      SB_ERR_KMS_VALIDATION, "unknown grant constraint %s", key);
		SB_GUARD(sb_kmsd_enc_context(cons, key, &obj, NULL));
	}
	return sb_kjson_dump(cons, text);
}

static SB_RESULT random_hex(size_t n, struct sb_buf *out)
{
	uint8_t raw[GRANT_TOKEN_BYTES];

	SB_ENSURE(n <= sizeof(raw), SB_ERR_INVALID_ARG);
	SB_GUARD(sb_random_bytes(raw, n));
	return sb_hex_encode(SB_SLICE(raw, n), out);
}

/* A grantee that holds CreateGrant through a grant (not the key policy)
 * may only pass on operations that grant already has, under constraints
 * "equally strict or stricter" (here: the same constraints). */
static SB_RESULT check_delegation(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				  const struct sb_kstore_key *key, const json_t *ops,
				  const char *cons)
{
	struct grant_match m = {
		.op = "CreateGrant", .enc_ctx = NULL, .need_ops = ops, .need_cons = cons};

	if (sb_ok(sb_kmsd_policy_allows(k, c, "kms:CreateGrant", sb_buf_cstr(&key->policy),
					key->id)))
		return SB_OK_RESULT;
	sb_error_clear();
	SB_GUARD(find_grant(k, c, key->id, &m));
	SB_ENSURE_MSG(m.found, SB_ERR_KMS_ACCESS_DENIED,
		      "User: %s may not create a grant with more permissions than its own",
		      c->principal->arn);
	return SB_OK_RESULT;
}

SB_KMSD_OP(create_grant)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	SB_DEFER(struct sb_buf ops_text, sb_buf_cleanup) = SB_BUF_INIT(GRANT_TEXT_MAX);
	SB_DEFER(struct sb_buf cons_text, sb_buf_cleanup) = SB_BUF_INIT(GRANT_TEXT_MAX);
	SB_DEFER(struct sb_buf id, sb_buf_cleanup) = SB_BUF_INIT(2 * GRANT_ID_BYTES);
	SB_DEFER(struct sb_buf token, sb_buf_cleanup) = SB_BUF_INIT(2 * GRANT_TOKEN_BYTES);
	const json_t *ops = json_object_get(req, "Operations");
	const char *grantee, *retiring, *name;

	sb_kstore_key_init(&key);
	SB_GUARD(check_principal(req, "GranteePrincipal", true, &grantee));
	SB_GUARD(check_principal(req, "RetiringPrincipal", false, &retiring));
	SB_GUARD(check_operations(ops));
	SB_GUARD(check_constraints(req, &cons_text));
	SB_GUARD(sb_kjson_string(req, "Name", false, &name));
	SB_ENSURE_MSG(name == NULL || (strlen(name) >= 1 && strlen(name) <= GRANT_NAME_MAX),
		      SB_ERR_KMS_VALIDATION, "Name must be 1..%d characters", GRANT_NAME_MAX);
	SB_GUARD(sb_kmsd_grant_tokens(req));
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", false, &key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, "kms:CreateGrant", &key, NULL, NULL));
	SB_GUARD(check_delegation(k, c, &key, ops, sb_buf_cstr(&cons_text)));
	SB_GUARD(sb_kmsd_check_state(k, &key, SB_KMSD_USE_MANAGE));
	SB_GUARD(sb_kmsd_dry_run(req));
	SB_GUARD(sb_kjson_dump(ops, &ops_text));
	SB_GUARD(random_hex(GRANT_ID_BYTES, &id));
	SB_GUARD(random_hex(GRANT_TOKEN_BYTES, &token));
	struct sb_kstore_grant g = {
		.id = sb_buf_cstr(&id),
		.key_id = key.id,
		.token = sb_buf_cstr(&token),
		.name = name != NULL ? name : "",
		.grantee = grantee,
		.retiring = retiring != NULL ? retiring : "",
		.operations = sb_buf_cstr(&ops_text),
		.constraints = sb_buf_cstr(&cons_text),
		.creation_ms = c->now_ms,
	};
	SB_GUARD(sb_kstore_create_grant(k->store, &g));
	SB_GUARD(sb_kmsd_set_str(resp, "GrantToken", g.token));
	return sb_kmsd_set_str(resp, "GrantId", g.id);
}

/* ---- ListGrants ---- */

struct grant_list {
	struct sb_kmsd *k;
	struct sb_kmsd_page *p;
};

static SB_RESULT visit_grant(void *vctx, const struct sb_kstore_grant *g)
{
	struct grant_list *l = vctx;
	char arn[SB_KMSD_ARN_MAX], issuer[64];
	json_t *e, *ops = NULL, *cons = NULL;
	sb_result rc;

	sb_kmsd_key_arn(l->k, g->key_id, arn);
	(void)snprintf(issuer, sizeof(issuer), "arn:aws:iam::%s:root", l->k->cfg->account_id);
	SB_GUARD(parse_text(g->operations, &ops));
	rc = parse_text(g->constraints, &cons);
	e = json_pack("{s:s, s:s, s:s, s:f, s:s, s:s, s:o}", "KeyId", arn, "GrantId", g->id, "Name",
		      g->name, "CreationDate", (double)g->creation_ms / 1000.0, "GranteePrincipal",
		      g->grantee, "IssuingAccount", issuer, "Operations", ops);
	ops = NULL; /* taken by json_pack (freed by it on failure too) */
	if (sb_ok(rc) && e == NULL)
		rc = sb_error_record(SB_ERR_NOMEM, SB_HERE);
	if (sb_ok(rc) && g->retiring[0] != '\0' &&
	    json_object_set_new(e, "RetiringPrincipal", json_string(g->retiring)) != 0)
		rc = sb_error_record(SB_ERR_NOMEM, SB_HERE);
	if (sb_ok(rc) && cons != NULL) {
		rc = json_object_set_new(e, "Constraints", cons) == 0
			     ? SB_OK_RESULT
			     : sb_error_record(SB_ERR_NOMEM, SB_HERE);
		cons = NULL;
	}
	if (sb_ok(rc)) {
		rc = json_array_append_new(l->p->arr, e) == 0 ? SB_OK_RESULT
							      : sb_error_record(SB_ERR_NOMEM, SB_HERE);
		e = NULL;
	}
	json_decref(e);
	json_decref(cons);
	sb_kmsd_page_last(l->p, g->id);
	return rc;
}

SB_KMSD_OP(list_grants)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct sb_kmsd_page p;
	struct grant_list l = {k, &p};
	struct sb_kstore_grant_filter f = {0};
	bool more = false;
	sb_result rc;

	sb_kstore_key_init(&key);
	/* "Limit ... Minimum value of 1. Maximum value of 100." */
	SB_GUARD(sb_kmsd_page_start(req, 'G', 100, &p));
	rc = sb_kjson_string(req, "GrantId", false, &f.id);
	if (sb_ok(rc))
		rc = sb_kjson_string(req, "GranteePrincipal", false, &f.grantee);
	if (sb_ok(rc))
		rc = sb_kmsd_key_from_field(k, c, req, "KeyId", false, &key, log_id);
	if (sb_ok(rc))
		rc = sb_kmsd_authorize(k, c, "kms:ListGrants", &key, NULL, NULL);
	f.key_id = key.id;
	if (sb_ok(rc))
		rc = sb_kstore_list_grants(k->store, &f, p.after, p.limit, visit_grant, &l, &more);
	if (sb_ok(rc))
		rc = sb_kmsd_page_finish(resp, "Grants", &p, more);
	sb_kmsd_page_cleanup(&p);
	return rc;
}

/* ---- RetireGrant, RevokeGrant ---- */

static bool hex_id(const char *s)
{
	uint8_t raw[GRANT_ID_BYTES];
	return strlen(s) == 2 * GRANT_ID_BYTES &&
	       sb_ok(sb_hex_decode_fixed(sb_slice_str(s), raw, sizeof(raw)));
}

struct grant_copy {
	bool found;
	char id[2 * GRANT_ID_BYTES + 1];
	char key_id[SB_KMSD_KEY_ID_SIZE];
	bool retiring_is_caller, grantee_may_retire;
	const char *caller;
};

static SB_RESULT copy_grant(void *vctx, const struct sb_kstore_grant *g)
{
	struct grant_copy *gc = vctx;
	json_t *ops = NULL;

	SB_GUARD(parse_text(g->operations, &ops));
	gc->found = true;
	(void)snprintf(gc->id, sizeof(gc->id), "%s", g->id);
	(void)snprintf(gc->key_id, sizeof(gc->key_id), "%s", g->key_id);
	gc->retiring_is_caller = g->retiring[0] != '\0' && strcmp(g->retiring, gc->caller) == 0;
	gc->grantee_may_retire = strcmp(g->grantee, gc->caller) == 0 &&
				 ops_include(ops, "RetireGrant");
	json_decref(ops);
	return SB_OK_RESULT;
}

/* The grant RetireGrant names: "Identify the grant to retire by its grant
 * token, or by a combination of the grant ID and the Amazon Resource Name
 * (ARN) of the KMS key". */
static SB_RESULT retire_target(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			       const json_t *req, struct sb_kstore_key *key, struct grant_copy *gc,
			       char *log_id)
{
	struct sb_kstore_grant_filter f = {0};
	const char *token, *id;
	bool more;

	SB_GUARD(sb_kjson_string(req, "GrantToken", false, &token));
	SB_GUARD(sb_kjson_string(req, "GrantId", false, &id));
	if (token != NULL) {
		f.token = token;
		SB_GUARD(sb_kstore_list_grants(k->store, &f, NULL, 1, copy_grant, gc, &more));
		SB_ENSURE_MSG(gc->found, SB_ERR_KMS_INVALID_GRANT_TOKEN, "Grant token is invalid");
		memcpy(log_id, gc->key_id, sizeof(gc->key_id));
		return sb_kmsd_load_key(k, c, gc->key_id, key);
	}
	SB_ENSURE_MSG(id != NULL && json_object_get(req, "KeyId") != NULL, SB_ERR_KMS_VALIDATION,
		      "Either GrantToken or both KeyId and GrantId are required");
	SB_ENSURE_MSG(hex_id(id), SB_ERR_KMS_INVALID_GRANT_ID, "Invalid grant ID");
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", false, key, log_id));
	f.key_id = key->id;
	f.id = id;
	SB_GUARD(sb_kstore_list_grants(k->store, &f, NULL, 1, copy_grant, gc, &more));
	SB_ENSURE_MSG(gc->found, SB_ERR_KMS_NOT_FOUND, "Grant ID %s not found", id);
	return SB_OK_RESULT;
}

/* Who may retire: "The RetiringPrincipal ... The GranteePrincipal, if
 * RetireGrant is an operation specified in the grant", or one the key
 * policy allows kms:RetireGrant. Allowed in every key state. */
SB_KMSD_OP(retire_grant)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct grant_copy gc = {.caller = c->principal->arn};

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(retire_target(k, c, req, &key, &gc, log_id));
	if (!gc.retiring_is_caller && !gc.grantee_may_retire)
		SB_GUARD(sb_kmsd_policy_allows(k, c, "kms:RetireGrant", sb_buf_cstr(&key.policy),
					       key.id));
	SB_GUARD(sb_kmsd_dry_run(req));
	return sb_kstore_delete_grant(k->store, key.id, gc.id);
}

SB_KMSD_OP(revoke_grant)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *id;
	sb_result r;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_string(req, "GrantId", true, &id));
	SB_ENSURE_MSG(hex_id(id), SB_ERR_KMS_INVALID_GRANT_ID, "Invalid grant ID");
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", false, &key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, "kms:RevokeGrant", &key, NULL, NULL));
	SB_GUARD(sb_kmsd_dry_run(req));
	r = sb_kstore_delete_grant(k->store, key.id, id);
	SB_ENSURE_MSG(r.code != SB_ERR_KMS_NOT_FOUND, SB_ERR_KMS_NOT_FOUND, "Grant ID %s not found",
		      id);
	return r;
}
