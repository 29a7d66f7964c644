/*
 * Helpers shared by the operation files: KeyId resolution, key states,
 * authorisation (key policy, then grants), request fields common to many
 * operations, response fields and paging. Field names, types and limits
 * follow the AWS KMS API Reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define MAX_CONTEXT_PAIRS 64
#define MAX_GRANT_TOKENS  10
#define GRANT_TOKEN_MAX   8192
#define DAY_MS            (24ull * 3600 * 1000)

/* ---- key ids and ARNs ---- */

void sb_kmsd_key_arn(const struct sb_kmsd *k, const char *id, char out[SB_KMSD_ARN_MAX])
{
	(void)snprintf(out, SB_KMSD_ARN_MAX, "arn:aws:kms:%s:%s:key/%s", k->cfg->region,
		       k->cfg->account_id, id);
}

/* "arn:aws:kms:<region>:<account>:" for this server, or NULL. */
static const char *strip_own_arn(const struct sb_kmsd *k, const char *s)
{
	char prefix[96];
	int n = snprintf(prefix, sizeof(prefix), "arn:aws:kms:%s:%s:", k->cfg->region,
			 k->cfg->account_id);

	if (n <= 0 || (size_t)n >= sizeof(prefix) || strncmp(s, prefix, (size_t)n) != 0)
		return NULL;
	return s + n;
}

/*
 * KeyId: "Specify the key ID, key ARN, alias name, or alias ARN." Aliases
 * resolve through the store; anything else unknown is NotFoundException.
 */
SB_RESULT sb_kmsd_resolve_key(struct sb_kmsd *k, const char *in, bool allow_alias,
			      char out[SB_KMSD_KEY_ID_SIZE])
{
	const char *rest = strncmp(in, "arn:", 4) == 0 ? strip_own_arn(k, in) : in;
	uint8_t uuid[SB_KBLOB_UUID_LEN];

	SB_ENSURE_MSG(strlen(in) >= 1 && strlen(in) <= 2048, SB_ERR_KMS_VALIDATION,
		      "KeyId must be 1..2048 characters");
	SB_ENSURE_MSG(rest != NULL, SB_ERR_KMS_NOT_FOUND, "Invalid arn %s", in);
	if (strncmp(rest, "alias/", 6) == 0) {
		SB_ENSURE_MSG(allow_alias, SB_ERR_KMS_VALIDATION, "an alias is not accepted here");
		sb_result r = sb_kstore_resolve_alias(k->store, rest, out);
		SB_ENSURE_MSG(r.code != SB_ERR_KMS_NOT_FOUND, SB_ERR_KMS_NOT_FOUND,
			      "Alias arn:aws:kms:%s:%s:%s is not found.", k->cfg->region,
			      k->cfg->account_id, rest);
		return r;
	}
	if (rest != in) {
		SB_ENSURE_MSG(strncmp(rest, "key/", 4) == 0, SB_ERR_KMS_NOT_FOUND, "Invalid arn %s",
			      in);
		rest += 4;
	}
	SB_ENSURE_MSG(sb_ok(sb_kblob_key_id_parse(rest, uuid)), SB_ERR_KMS_NOT_FOUND,
		      "Invalid keyId '%s'", in);
	memcpy(out, rest, SB_KMSD_KEY_ID_SIZE);
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_load_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const char *id,
			   struct sb_kstore_key *key)
{
	char arn[SB_KMSD_ARN_MAX];
	sb_result r = sb_kstore_get_key(k->store, id, key);

	/* "At the end of the waiting period, AWS KMS deletes the KMS key":
	 * done here, when the key is next asked for. */
	if (sb_ok(r) && key->deletion_ms != 0 && c->now_ms >= key->deletion_ms) {
		SB_GUARD(sb_kstore_purge(k->store, c->now_ms, NULL));
		r = sb_error_record(SB_ERR_KMS_NOT_FOUND, SB_HERE);
	}
	if (r.code == SB_ERR_KMS_NOT_FOUND) {
		sb_kmsd_key_arn(k, id, arn);
		SB_BAIL_MSG(SB_ERR_KMS_NOT_FOUND, "Key '%s' does not exist", arn);
	}
	return r;
}

SB_RESULT sb_kmsd_key_from_field(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				 const json_t *req, const char *field, bool allow_alias,
				 struct sb_kstore_key *key, char *log_id)
{
	const char *in;
	char id[SB_KMSD_KEY_ID_SIZE];

	SB_GUARD(sb_kjson_string(req, field, true, &in));
	SB_GUARD(sb_kmsd_resolve_key(k, in, allow_alias, id));
	if (log_id != NULL)
		memcpy(log_id, id, sizeof(id));
	return sb_kmsd_load_key(k, c, id, key);
}

/* ---- key states ---- */

const char *sb_kmsd_key_state(const struct sb_kstore_key *key)
{
	if (key->deletion_ms != 0)
		return "PendingDeletion";
	return key->enabled ? "Enabled" : "Disabled";
}

/*
 * The key state table: a cryptographic operation on a Disabled key is
 * "DisabledException: <key ARN> is disabled."; operations other than
 * reading, listing and CancelKeyDeletion on a key pending deletion are
 * "KMSInvalidStateException: <key ARN> is pending deletion."
 */
SB_RESULT sb_kmsd_check_state(const struct sb_kmsd *k, const struct sb_kstore_key *key,
			      enum sb_kmsd_use use)
{
	char arn[SB_KMSD_ARN_MAX];

	sb_kmsd_key_arn(k, key->id, arn);
	switch (use) {
	case SB_KMSD_USE_ANY:
		return SB_OK_RESULT;
	case SB_KMSD_USE_CRYPTO:
		SB_ENSURE_MSG(key->deletion_ms == 0, SB_ERR_KMS_INVALID_STATE,
			      "%s is pending deletion.", arn);
		SB_ENSURE_MSG(key->enabled, SB_ERR_KMS_DISABLED, "%s is disabled.", arn);
		return SB_OK_RESULT;
	case SB_KMSD_USE_MANAGE:
		SB_ENSURE_MSG(key->deletion_ms == 0, SB_ERR_KMS_INVALID_STATE,
			      "%s is pending deletion.", arn);
		return SB_OK_RESULT;
	default:
		abort();
	}
}

/* ---- condition keys and authorisation ---- */

static void ctx_cleanup(struct sb_kmsd_ctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->owned[i]);
	c->n = 0;
}

static SB_RESULT ctx_add(struct sb_kmsd_ctx *c, const char *prefix, const char *suffix,
			 const char *value)
{
	size_t a = strlen(prefix), b = strlen(suffix);

	SB_ENSURE(c->n < SB_KMSD_MAX_CTX, SB_ERR_TOO_LARGE);
	c->owned[c->n] = malloc(a + b + 1);
	SB_ENSURE(c->owned[c->n] != NULL, SB_ERR_NOMEM);
	memcpy(c->owned[c->n], prefix, a);
	memcpy(c->owned[c->n] + a, suffix, b + 1);
	c->values[c->n] = value;
	c->entries[c->n] = (struct sb_policy_ctx){c->owned[c->n], &c->values[c->n], 1};
	c->n++;
	return SB_OK_RESULT;
}

/*
 * The request's condition keys: aws:PrincipalArn, kms:CallerAccount,
 * kms:EncryptionContext:<key>, kms:EncryptionContextKeys and, with a verified
 * Recipient, kms:RecipientAttestation:ImageSha384 ("ImageSha384 ... PCR0")
 * and kms:RecipientAttestation:PCR<n>.
 */
static SB_RESULT ctx_build(struct sb_kmsd_ctx *c, const struct sb_kmsd_caller *caller,
			   const json_t *enc_ctx, const struct sb_kmsd_recipient *rcpt)
{
	const char *key;
	json_t *v;
	char idx[4];

	SB_GUARD(ctx_add(c, "aws:PrincipalArn", "", caller->principal->arn));
	SB_GUARD(ctx_add(c, "kms:CallerAccount", "", caller->principal->account_id));
	json_object_foreach((json_t *)enc_ctx, key, v) {
		SB_GUARD(ctx_add(c, "kms:EncryptionContext:", key, json_string_value(v)));
		c->context_keys[c->n_context_keys++] = key;
	}
	if (c->n_context_keys > 0) {
		SB_GUARD(ctx_add(c, "kms:EncryptionContextKeys", "", NULL));
		c->entries[c->n - 1].values = c->context_keys;
		c->entries[c->n - 1].n_values = c->n_context_keys;
	}
	if (rcpt == NULL || !rcpt->present)
		return SB_OK_RESULT;
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++) {
		if (!rcpt->attest->doc->pcrs[i].present)
			continue;
		(void)snprintf(idx, sizeof(idx), "%u", i);
		SB_GUARD(ctx_add(c, "kms:RecipientAttestation:PCR", idx, rcpt->attest->pcr_hex[i]));
		if (i == 0)
			SB_GUARD(ctx_add(c, "kms:RecipientAttestation:ImageSha384", "",
					 rcpt->attest->pcr_hex[0]));
	}
	return SB_OK_RESULT;
}

static SB_RESULT decide(struct sb_kmsd *k, const struct sb_kmsd_caller *caller, const char *action,
			const char *policy_text, const char *key_id, const struct sb_kmsd_ctx *c,
			enum sb_policy_decision *out)
{
	struct sb_policy *pol = NULL;
	char arn[SB_KMSD_ARN_MAX];

	SB_GUARD(sb_policy_parse(sb_slice_str(policy_text), &pol));
	sb_kmsd_key_arn(k, key_id, arn);
	struct sb_policy_request pr = {
		.principal_arn = caller->principal->arn,
		.account_id = caller->principal->account_id,
		.action = action,
		.resource = arn,
		.ctx = c->entries,
		.n_ctx = c->n,
	};
	*out = sb_policy_evaluate(pol, &pr);
	sb_policy_free(pol);
	return SB_OK_RESULT;
}

static SB_RESULT denied(struct sb_kmsd *k, const struct sb_kmsd_caller *caller, const char *action,
			const char *key_id, enum sb_policy_decision d)
{
	char arn[SB_KMSD_ARN_MAX];

	sb_kmsd_key_arn(k, key_id, arn);
	SB_ENSURE_MSG(d != SB_POLICY_EXPLICIT_DENY, SB_ERR_KMS_ACCESS_DENIED,
		      "User: %s is not authorized to perform: %s on resource: %s with an explicit "
		      "deny in a resource-based policy",
		      caller->principal->arn, action, arn);
	SB_BAIL_MSG(SB_ERR_KMS_ACCESS_DENIED,
		    "User: %s is not authorized to perform: %s on resource: %s because no "
		    "resource-based policy allows the %s action",
		    caller->principal->arn, action, arn, action);
}

SB_RESULT sb_kmsd_policy_allows(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				const char *action, const char *policy_text, const char *key_id)
{
	enum sb_policy_decision d = SB_POLICY_IMPLICIT_DENY;
	struct sb_kmsd_ctx ctx;
	sb_result rc;

	memset(&ctx, 0, sizeof(ctx));
	rc = ctx_build(&ctx, c, NULL, NULL);
	if (sb_ok(rc))
		rc = decide(k, c, action, policy_text, key_id, &ctx, &d);
	ctx_cleanup(&ctx);
	SB_GUARD(rc);
	return d == SB_POLICY_ALLOW ? SB_OK_RESULT : denied(k, c, action, key_id, d);
}

/*
 * "Grants ... allow the grantee principal to use the KMS key": a principal
 * the key policy does not allow may still call an operation a grant names.
 * An explicit deny in the key policy wins over any grant, as in IAM.
 */
SB_RESULT sb_kmsd_authorize(struct sb_kmsd *k, const struct sb_kmsd_caller *caller,
			    const char *action, const struct sb_kstore_key *key,
			    const json_t *enc_ctx, const struct sb_kmsd_recipient *rcpt)
{
	enum sb_policy_decision d = SB_POLICY_IMPLICIT_DENY;
	struct sb_kmsd_ctx c;
	bool granted = false;
	sb_result rc;

	memset(&c, 0, sizeof(c));
	rc = ctx_build(&c, caller, enc_ctx, rcpt);
	if (sb_ok(rc))
		rc = decide(k, caller, action, sb_buf_cstr(&key->policy), key->id, &c, &d);
	ctx_cleanup(&c);
	/* A stored policy was valid when stored; failing now is internal. */
	SB_ENSURE_MSG(rc.code != SB_ERR_KMS_MALFORMED_POLICY, SB_ERR_INTERNAL,
		      "stored policy of %s does not parse", key->id);
	SB_GUARD(rc);
	if (d == SB_POLICY_ALLOW)
		return SB_OK_RESULT;
	if (d == SB_POLICY_IMPLICIT_DENY)
		SB_GUARD(sb_kmsd_grant_allows(k, caller, action, key, enc_ctx, &granted));
	return granted ? SB_OK_RESULT : denied(k, caller, action, key->id, d);
}

/* ---- request fields ---- */

SB_RESULT sb_kmsd_enc_context(const json_t *req, const char *field, json_t **out_obj,
			      struct sb_buf *canonical)
{
	struct sb_kblob_pair pairs[MAX_CONTEXT_PAIRS];
	const char *key;
	json_t *obj, *v;
	size_t n = 0;

	SB_GUARD(sb_kjson_object(req, field, false, &obj));
	*out_obj = obj;
	if (obj == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_object_size(obj) <= MAX_CONTEXT_PAIRS, SB_ERR_KMS_VALIDATION,
		      "%s has more than %d pairs", field, MAX_CONTEXT_PAIRS);
	json_object_foreach(obj, key, v) {
		SB_ENSURE_MSG(json_is_string(v) && strlen(json_string_value(v)) ==
							   json_string_length(v),
			      SB_ERR_KMS_VALIDATION, "%s values must be strings", field);
		SB_ENSURE_MSG(key[0] != '\0', SB_ERR_KMS_VALIDATION, "%s keys must not be empty",
			      field);
		pairs[n++] = (struct sb_kblob_pair){sb_slice_str(key), sb_slice_str(json_string_value(v))};
	}
	if (canonical == NULL)
		return SB_OK_RESULT;
	sb_result r = sb_kblob_context_encode(pairs, n, canonical);
	SB_ENSURE_MSG(r.code != SB_ERR_TOO_LARGE, SB_ERR_KMS_VALIDATION, "%s is too large",
		      field);
	return r;
}

/*
 * EncryptionAlgorithm: "Valid Values: SYMMETRIC_DEFAULT | RSAES_OAEP_SHA_1 |
 * RSAES_OAEP_SHA_256 | SM2PKE". A value outside the set is a validation
 * error; a valid one the (symmetric) key does not support is
 * InvalidKeyUsageException.
 */
SB_RESULT sb_kmsd_check_algorithm(const json_t *req, const char *field)
{
	static const char *const others[] = {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};
	const char *alg;

	SB_GUARD(sb_kjson_string(req, field, false, &alg));
	if (alg == NULL || strcmp(alg, SB_KMSD_SYMMETRIC_DEFAULT) == 0)
		return SB_OK_RESULT;
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		SB_ENSURE_MSG(strcmp(alg, others[i]) != 0, SB_ERR_KMS_INVALID_KEY_USAGE,
			      "%s is not supported for this KMS key (SYMMETRIC_DEFAULT)", alg);
	SB_BAIL_MSG(SB_ERR_KMS_VALIDATION,
		    "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: "
		    "Member must satisfy enum value set: [SYMMETRIC_DEFAULT, RSAES_OAEP_SHA_1, "
		    "RSAES_OAEP_SHA_256, SM2PKE]",
		    alg, field);
}

SB_RESULT sb_kmsd_bool(const json_t *req, const char *field, bool *out)
{
	const json_t *v = json_object_get(req, field);

	*out = false;
	SB_ENSURE_MSG(v == NULL || json_is_null(v) || json_is_boolean(v), SB_ERR_KMS_VALIDATION,
		      "'%s' must be a boolean", field);
	*out = json_is_true(v);
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_grant_tokens(const json_t *req)
{
	const json_t *v = json_object_get(req, "GrantTokens"), *t;
	size_t i;

	if (v == NULL || json_is_null(v))
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_array(v) && json_array_size(v) <= MAX_GRANT_TOKENS,
		      SB_ERR_KMS_VALIDATION, "GrantTokens must be a list of at most %d tokens",
		      MAX_GRANT_TOKENS);
	json_array_foreach(v, i, t) {
		SB_ENSURE_MSG(json_is_string(t) && json_string_length(t) >= 1 &&
				      json_string_length(t) <= GRANT_TOKEN_MAX,
			      SB_ERR_KMS_VALIDATION, "GrantTokens must hold strings of 1..%d",
			      GRANT_TOKEN_MAX);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_dry_run(const json_t *req)
{
	bool dry = false;

	SB_GUARD(sb_kmsd_bool(req, "DryRun", &dry));
	/* "The request was rejected because the DryRun parameter was specified." */
	SB_ENSURE_MSG(!dry, SB_ERR_KMS_DRY_RUN,
		      "The request would have succeeded, but the DryRun option is set.");
	return SB_OK_RESULT;
}

/* ---- response fields ---- */

SB_RESULT sb_kmsd_set_b64(json_t *resp, const char *field, struct sb_slice data, bool secret)
{
	struct sb_buf b64 = secret ? SB_BUF_INIT_SECRET(SB_KMSD_MAX_RESPONSE)
				   : SB_BUF_INIT(SB_KMSD_MAX_RESPONSE);
	sb_result rc = sb_base64_encode(data, &b64);

	if (sb_ok(rc) && json_object_set_new(resp, field, json_stringn((const char *)b64.data,
								       b64.len)) != 0)
		rc = sb_error_record(SB_ERR_NOMEM, SB_HERE);
	sb_buf_cleanup(&b64);
	return rc;
}

SB_RESULT sb_kmsd_set_str(json_t *resp, const char *field, const char *value)
{
	SB_ENSURE(json_object_set_new(resp, field, json_string(value)) == 0, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_set_secret(json_t *resp, const struct sb_kmsd_recipient *rcpt,
			     struct sb_slice plaintext)
{
	SB_DEFER(struct sb_buf cms, sb_buf_cleanup) = SB_BUF_INIT(SB_KMSD_MAX_RESPONSE);

	if (!rcpt->present)
		return sb_kmsd_set_b64(resp, "Plaintext", plaintext, true);
	SB_GUARD(sb_kmsd_recipient_seal(rcpt, plaintext, &cms));
	SB_ENSURE(json_object_set_new(resp, "CiphertextForRecipient",
				      json_stringn((const char *)cms.data, cms.len)) == 0,
		  SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* ---- paging ---- */

/* A marker is base64("<kind>:<last item>"): opaque to clients, checked here. */
static SB_RESULT marker_parse(const char *in, char kind, char out[SB_KMSD_MARKER_MAX + 1])
{
	SB_DEFER(struct sb_buf raw, sb_buf_cleanup) = SB_BUF_INIT(SB_KMSD_MARKER_MAX + 2);
	bool ok = strlen(in) <= 1024 && sb_ok(sb_base64_decode(sb_slice_str(in), &raw)) &&
		  raw.len >= 3 && raw.data[0] == (uint8_t)kind && raw.data[1] == ':' &&
		  memchr(raw.data, 0, raw.len) == NULL;

	/* "The request was rejected because the marker that specifies where
	 * pagination should next begin is not valid." */
	SB_ENSURE_MSG(ok, SB_ERR_KMS_INVALID_MARKER, "The marker is not valid.");
	memcpy(out, raw.data + 2, raw.len - 2);
	out[raw.len - 2] = '\0';
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_page_start(const json_t *req, char kind, long long max_limit,
			     struct sb_kmsd_page *p)
{
	const char *marker;
	long long lim = 100;
	bool has;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	SB_GUARD(sb_kjson_int(req, "Limit", 1, max_limit, &has, &lim));
	p->limit = (size_t)lim;
	SB_GUARD(sb_kjson_string(req, "Marker", false, &marker));
	if (marker != NULL) {
		SB_GUARD(marker_parse(marker, kind, p->after));
		p->has_marker = true;
	}
	p->arr = json_array();
	SB_ENSURE(p->arr != NULL, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

void sb_kmsd_page_last(struct sb_kmsd_page *p, const char *item)
{
	(void)snprintf(p->last, sizeof(p->last), "%s", item);
}

SB_RESULT sb_kmsd_page_finish(json_t *resp, const char *field, struct sb_kmsd_page *p, bool more)
{
	SB_DEFER(struct sb_buf raw, sb_buf_cleanup) = SB_BUF_INIT(SB_KMSD_MARKER_MAX + 2);
	SB_DEFER(struct sb_buf b64, sb_buf_cleanup) = SB_BUF_INIT(2 * SB_KMSD_MARKER_MAX);

	SB_ENSURE(json_object_set_new(resp, field, p->arr) == 0, SB_ERR_NOMEM);
	p->arr = NULL;
	SB_ENSURE(json_object_set_new(resp, "Truncated", json_boolean(more)) == 0, SB_ERR_NOMEM);
	if (!more)
		return SB_OK_RESULT;
	SB_GUARD(sb_buf_append_u8(&raw, (uint8_t)p->kind));
	SB_GUARD(sb_buf_append_u8(&raw, ':'));
	SB_GUARD(sb_buf_append_str(&raw, p->last));
	SB_GUARD(sb_base64_encode(sb_buf_slice(&raw), &b64));
	return sb_kmsd_set_str(resp, "NextMarker", sb_buf_cstr(&b64));
}

void sb_kmsd_page_cleanup(struct sb_kmsd_page *p)
{
	json_decref(p->arr);
	p->arr = NULL;
}
