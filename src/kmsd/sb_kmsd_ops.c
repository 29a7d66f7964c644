/*
 * The KMS operations. Field names, types and limits follow the AWS KMS API
 * Reference; each handler reads its request object, authorises the call
 * against the key policy, and fills the response object.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "crypto/sb_random.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define SYMMETRIC_DEFAULT "SYMMETRIC_DEFAULT"
#define MAX_CONTEXT_PAIRS 64
#define MAX_DATA_KEY      1024 /* "NumberOfBytes ... Maximum value of 1024." */
#define ARN_MAX           256

/* ---- key ids and ARNs ---- */

static void key_arn(const struct sb_kmsd *k, const char *id, char out[ARN_MAX])
{
	(void)snprintf(out, ARN_MAX, "arn:aws:kms:%s:%s:key/%s", k->cfg->region,
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
static SB_RESULT resolve_key(struct sb_kmsd *k, const char *in, bool allow_alias,
			     char out[SB_KBLOB_KEY_ID_LEN + 1])
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
	memcpy(out, rest, SB_KBLOB_KEY_ID_LEN + 1);
	return SB_OK_RESULT;
}

static SB_RESULT load_key(struct sb_kmsd *k, const char *id, struct sb_kstore_key *key)
{
	char arn[ARN_MAX];
	sb_result r = sb_kstore_get_key(k->store, id, key);

	if (r.code == SB_ERR_KMS_NOT_FOUND) {
		key_arn(k, id, arn);
		SB_BAIL_MSG(SB_ERR_KMS_NOT_FOUND, "Key '%s' does not exist", arn);
	}
	return r;
}

/* Resolves the request's KeyId field and loads the key. */
static SB_RESULT key_from_field(struct sb_kmsd *k, const json_t *req, const char *field,
				struct sb_kstore_key *key, char *log_id)
{
	const char *in;
	char id[SB_KBLOB_KEY_ID_LEN + 1];

	SB_GUARD(sb_kjson_string(req, field, true, &in));
	SB_GUARD(resolve_key(k, in, true, id));
	memcpy(log_id, id, sizeof(id));
	return load_key(k, id, key);
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

static SB_RESULT evaluate(struct sb_kmsd *k, const struct sb_kmsd_caller *caller,
			  const char *action, const char *policy_text, const char *key_id,
			  const struct sb_kmsd_ctx *c)
{
	struct sb_policy *pol = NULL;
	char arn[ARN_MAX];
	sb_result r = sb_policy_parse(sb_slice_str(policy_text), &pol);

	/* A stored policy was valid when stored; failing now is internal. */
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_INTERNAL, "stored policy of %s does not parse", key_id);
	key_arn(k, key_id, arn);
	struct sb_policy_request pr = {
		.principal_arn = caller->principal->arn,
		.account_id = caller->principal->account_id,
		.action = action,
		.resource = arn,
		.ctx = c->entries,
		.n_ctx = c->n,
	};
	enum sb_policy_decision d = sb_policy_evaluate(pol, &pr);
	sb_policy_free(pol);
	SB_ENSURE_MSG(d != SB_POLICY_EXPLICIT_DENY, SB_ERR_KMS_ACCESS_DENIED,
		      "User: %s is not authorized to perform: %s on resource: %s with an explicit "
		      "deny in a resource-based policy",
		      caller->principal->arn, action, arn);
	SB_ENSURE_MSG(d == SB_POLICY_ALLOW, SB_ERR_KMS_ACCESS_DENIED,
		      "User: %s is not authorized to perform: %s on resource: %s because no "
		      "resource-based policy allows the %s action",
		      caller->principal->arn, action, arn, action);
	return SB_OK_RESULT;
}

static SB_RESULT authorize(struct sb_kmsd *k, const struct sb_kmsd_caller *caller,
			   const char *action, const struct sb_kstore_key *key,
			   const json_t *enc_ctx, const struct sb_kmsd_recipient *rcpt)
{
	struct sb_kmsd_ctx c;
	sb_result rc;

	memset(&c, 0, sizeof(c));
	rc = ctx_build(&c, caller, enc_ctx, rcpt);
	if (sb_ok(rc))
		rc = evaluate(k, caller, action, sb_buf_cstr(&key->policy), key->id, &c);
	ctx_cleanup(&c);
	return rc;
}

/* ---- request fields ---- */

/* EncryptionContext: a map of strings to strings (may be absent: {}). */
static SB_RESULT enc_context(const json_t *req, json_t **out_obj, struct sb_buf *canonical)
{
	struct sb_kblob_pair pairs[MAX_CONTEXT_PAIRS];
	const char *key;
	json_t *obj, *v;
	size_t n = 0;

	SB_GUARD(sb_kjson_object(req, "EncryptionContext", false, &obj));
	*out_obj = obj;
	if (obj == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_object_size(obj) <= MAX_CONTEXT_PAIRS, SB_ERR_KMS_VALIDATION,
		      "EncryptionContext has more than %d pairs", MAX_CONTEXT_PAIRS);
	json_object_foreach(obj, key, v) {
		SB_ENSURE_MSG(json_is_string(v) && strlen(json_string_value(v)) ==
							   json_string_length(v),
			      SB_ERR_KMS_VALIDATION, "EncryptionContext values must be strings");
		SB_ENSURE_MSG(key[0] != '\0', SB_ERR_KMS_VALIDATION,
			      "EncryptionContext keys must not be empty");
		pairs[n++] = (struct sb_kblob_pair){sb_slice_str(key), sb_slice_str(json_string_value(v))};
	}
	sb_result r = sb_kblob_context_encode(pairs, n, canonical);
	SB_ENSURE_MSG(r.code != SB_ERR_TOO_LARGE, SB_ERR_KMS_VALIDATION,
		      "EncryptionContext is too large");
	return r;
}

static SB_RESULT check_algorithm(const json_t *req)
{
	const char *alg;

	SB_GUARD(sb_kjson_string(req, "EncryptionAlgorithm", false, &alg));
	SB_ENSURE_MSG(alg == NULL || strcmp(alg, SYMMETRIC_DEFAULT) == 0, SB_ERR_KMS_VALIDATION,
		      "EncryptionAlgorithm %s is not valid for a symmetric key", alg);
	return SB_OK_RESULT;
}

static SB_RESULT set_b64(json_t *resp, const char *field, struct sb_slice data, bool secret)
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

static SB_RESULT set_str(json_t *resp, const char *field, const char *value)
{
	SB_ENSURE(json_object_set_new(resp, field, json_string(value)) == 0, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* Plaintext, or CiphertextForRecipient when a Recipient was given. */
static SB_RESULT set_secret(json_t *resp, const struct sb_kmsd_recipient *rcpt,
			    struct sb_slice plaintext)
{
	SB_DEFER(struct sb_buf cms, sb_buf_cleanup) = SB_BUF_INIT(SB_KMSD_MAX_RESPONSE);

	if (!rcpt->present)
		return set_b64(resp, "Plaintext", plaintext, true);
	SB_GUARD(sb_kmsd_recipient_seal(rcpt, plaintext, &cms));
	SB_ENSURE(json_object_set_new(resp, "CiphertextForRecipient",
				      json_stringn((const char *)cms.data, cms.len)) == 0,
		  SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* ---- operations ---- */

static SB_RESULT op_encrypt(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			    json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_buf plain, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[ARN_MAX];
	json_t *ctx_obj;
	bool present;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_base64(req, "Plaintext", true, &present, &plain));
	SB_ENSURE_MSG(plain.len >= 1, SB_ERR_KMS_VALIDATION,
		      "1 validation error detected: Value at 'plaintext' failed to satisfy "
		      "constraint: Member must have length greater than or equal to 1");
	SB_GUARD(enc_context(req, &ctx_obj, &ctx));
	SB_GUARD(check_algorithm(req));
	SB_GUARD(key_from_field(k, req, "KeyId", &key, log_id));
	SB_GUARD(authorize(k, c, "kms:Encrypt", &key, ctx_obj, NULL));
	SB_ENSURE_MSG(key.enabled, SB_ERR_KMS_INVALID_STATE, "key is disabled");
	SB_GUARD(sb_kblob_seal(key.material, key.id, sb_buf_slice(&ctx), sb_buf_slice(&plain),
			       &blob));
	key_arn(k, key.id, arn);
	SB_GUARD(set_b64(resp, "CiphertextBlob", sb_buf_slice(&blob), false));
	SB_GUARD(set_str(resp, "KeyId", arn));
	return set_str(resp, "EncryptionAlgorithm", SYMMETRIC_DEFAULT);
}

/* The key a ciphertext names; "Decrypt ... KeyId ... must match". */
static SB_RESULT decrypt_key(struct sb_kmsd *k, const json_t *req, struct sb_slice blob,
			     struct sb_kstore_key *key, char *log_id)
{
	char id[SB_KBLOB_KEY_ID_LEN + 1], want[SB_KBLOB_KEY_ID_LEN + 1];
	const char *given;

	SB_GUARD(sb_kblob_key_id(blob, id));
	memcpy(log_id, id, sizeof(id));
	SB_GUARD(sb_kjson_string(req, "KeyId", false, &given));
	if (given != NULL) {
		SB_GUARD(resolve_key(k, given, true, want));
		SB_ENSURE_MSG(strcmp(want, id) == 0, SB_ERR_KMS_INCORRECT_KEY,
			      "The key ID in the request does not identify a CMK that can perform "
			      "this operation.");
	}
	sb_result r = sb_kstore_get_key(k->store, id, key);
	/* A blob naming no key here is not a ciphertext of this server. */
	SB_ENSURE(r.code != SB_ERR_KMS_NOT_FOUND, SB_ERR_KMS_INVALID_CIPHERTEXT);
	return r;
}

static SB_RESULT op_decrypt_inner(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				  const json_t *req, json_t *resp, char *log_id,
				  struct sb_kmsd_recipient *rcpt)
{
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_WIRE_LEN);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf plain, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[ARN_MAX];
	json_t *ctx_obj;
	bool present;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_base64(req, "CiphertextBlob", true, &present, &blob));
	SB_GUARD(enc_context(req, &ctx_obj, &ctx));
	SB_GUARD(check_algorithm(req));
	SB_GUARD(sb_kmsd_recipient_parse(k, req, c->now_ms, rcpt));
	SB_GUARD(decrypt_key(k, req, sb_buf_slice(&blob), &key, log_id));
	SB_GUARD(authorize(k, c, "kms:Decrypt", &key, ctx_obj, rcpt));
	SB_ENSURE_MSG(key.enabled, SB_ERR_KMS_INVALID_STATE, "key is disabled");
	SB_GUARD(sb_kblob_open(key.material, sb_buf_slice(&blob), sb_buf_slice(&ctx), &plain));
	key_arn(k, key.id, arn);
	SB_GUARD(set_str(resp, "KeyId", arn));
	SB_GUARD(set_str(resp, "EncryptionAlgorithm", SYMMETRIC_DEFAULT));
	return set_secret(resp, rcpt, sb_buf_slice(&plain));
}

static SB_RESULT op_decrypt(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			    json_t *resp, char *log_id)
{
	struct sb_kmsd_recipient rcpt;
	sb_result rc;

	sb_kmsd_recipient_init(&rcpt);
	rc = op_decrypt_inner(k, c, req, resp, log_id, &rcpt);
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

/* "KeySpec: AES_256 | AES_128" or "NumberOfBytes" (1..1024), exactly one. */
static SB_RESULT data_key_size(const json_t *req, size_t *out)
{
	const char *spec;
	long long nbytes;
	bool has_n;

	SB_GUARD(sb_kjson_string(req, "KeySpec", false, &spec));
	SB_GUARD(sb_kjson_int(req, "NumberOfBytes", 1, MAX_DATA_KEY, &has_n, &nbytes));
	SB_ENSURE_MSG((spec != NULL) != has_n, SB_ERR_KMS_VALIDATION,
		      "Please specify either number of bytes or key spec.");
	if (has_n) {
		*out = (size_t)nbytes;
		return SB_OK_RESULT;
	}
	if (strcmp(spec, "AES_256") == 0)
		*out = 32;
	else if (strcmp(spec, "AES_128") == 0)
		*out = 16;
	else
		SB_BAIL_MSG(SB_ERR_KMS_VALIDATION,
			    "1 validation error detected: Value '%s' at 'keySpec' failed to satisfy "
			    "constraint: Member must satisfy enum value set: [AES_256, AES_128]",
			    spec);
	return SB_OK_RESULT;
}

static SB_RESULT op_gdk_inner(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			      json_t *resp, char *log_id, struct sb_kmsd_recipient *rcpt)
{
	SB_DEFER(struct sb_buf dk, sb_buf_cleanup) = SB_BUF_INIT_SECRET(MAX_DATA_KEY);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[ARN_MAX];
	json_t *ctx_obj;
	size_t n = 0;

	sb_kstore_key_init(&key);
	SB_GUARD(data_key_size(req, &n));
	SB_GUARD(enc_context(req, &ctx_obj, &ctx));
	SB_GUARD(sb_kmsd_recipient_parse(k, req, c->now_ms, rcpt));
	SB_GUARD(key_from_field(k, req, "KeyId", &key, log_id));
	SB_GUARD(authorize(k, c, "kms:GenerateDataKey", &key, ctx_obj, rcpt));
	SB_ENSURE_MSG(key.enabled, SB_ERR_KMS_INVALID_STATE, "key is disabled");
	SB_GUARD(sb_buf_reserve(&dk, n));
	SB_GUARD(sb_random_bytes(sb_buf_tail(&dk), n));
	SB_GUARD(sb_buf_commit(&dk, n));
	SB_GUARD(sb_kblob_seal(key.material, key.id, sb_buf_slice(&ctx), sb_buf_slice(&dk), &blob));
	key_arn(k, key.id, arn);
	SB_GUARD(set_b64(resp, "CiphertextBlob", sb_buf_slice(&blob), false));
	SB_GUARD(set_str(resp, "KeyId", arn));
	return set_secret(resp, rcpt, sb_buf_slice(&dk));
}

static SB_RESULT op_generate_data_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				      const json_t *req, json_t *resp, char *log_id)
{
	struct sb_kmsd_recipient rcpt;
	sb_result rc;

	sb_kmsd_recipient_init(&rcpt);
	rc = op_gdk_inner(k, c, req, resp, log_id, &rcpt);
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

/* GenerateRandom has no key: any authenticated principal may call it. */
static SB_RESULT op_generate_random(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				    const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_buf rnd, sb_buf_cleanup) = SB_BUF_INIT_SECRET(MAX_DATA_KEY);
	struct sb_kmsd_recipient rcpt;
	long long n = 0;
	bool has_n;
	sb_result rc;

	(void)log_id;
	SB_GUARD(sb_kjson_int(req, "NumberOfBytes", 1, MAX_DATA_KEY, &has_n, &n));
	SB_ENSURE_MSG(has_n, SB_ERR_KMS_VALIDATION, "NumberOfBytes is required");
	SB_GUARD(sb_buf_reserve(&rnd, (size_t)n));
	SB_GUARD(sb_random_bytes(sb_buf_tail(&rnd), (size_t)n));
	SB_GUARD(sb_buf_commit(&rnd, (size_t)n));
	sb_kmsd_recipient_init(&rcpt);
	rc = sb_kmsd_recipient_parse(k, req, c->now_ms, &rcpt);
	if (sb_ok(rc))
		rc = set_secret(resp, &rcpt, sb_buf_slice(&rnd));
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

/* ---- key management ---- */

static SB_RESULT set_metadata(struct sb_kmsd *k, const struct sb_kstore_key *key, json_t *resp)
{
	char arn[ARN_MAX];
	json_t *md;

	key_arn(k, key->id, arn);
	md = json_pack("{s:s, s:s, s:s, s:f, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:b}",
		       "AWSAccountId", k->cfg->account_id, "KeyId", key->id, "Arn", arn,
		       "CreationDate", (double)key->creation_ms / 1000.0, "Enabled", key->enabled,
		       "Description", sb_buf_cstr(&key->description), "KeyUsage", "ENCRYPT_DECRYPT",
		       "KeyState", key->enabled ? "Enabled" : "Disabled", "Origin", "AWS_KMS",
		       "KeyManager", "CUSTOMER", "CustomerMasterKeySpec", SYMMETRIC_DEFAULT,
		       "KeySpec", SYMMETRIC_DEFAULT, "EncryptionAlgorithms", SYMMETRIC_DEFAULT,
		       "MultiRegion", 0);
	SB_ENSURE(md != NULL, SB_ERR_NOMEM);
	SB_ENSURE(json_object_set_new(resp, "KeyMetadata", md) == 0, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* Optional string fields that must hold one value if present. */
static SB_RESULT check_enum(const json_t *req, const char *field, const char *only)
{
	const char *v;

	SB_GUARD(sb_kjson_string(req, field, false, &v));
	SB_ENSURE_MSG(v == NULL || strcmp(v, only) == 0, SB_ERR_KMS_VALIDATION,
		      "%s %s is not supported; only %s", field, v, only);
	return SB_OK_RESULT;
}

static SB_RESULT bypass_flag(const json_t *req, bool *out)
{
	const json_t *v = json_object_get(req, "BypassPolicyLockoutSafetyCheck");

	SB_ENSURE_MSG(v == NULL || json_is_null(v) || json_is_boolean(v), SB_ERR_KMS_VALIDATION,
		      "'BypassPolicyLockoutSafetyCheck' must be a boolean");
	*out = json_is_true(v);
	return SB_OK_RESULT;
}

/*
 * The policy lockout safety check: "the key policy must allow the principal
 * that is making the ... request to make a subsequent PutKeyPolicy request".
 */
static SB_RESULT check_policy(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			      const char *policy, const char *key_id, bool bypass)
{
	struct sb_kmsd_ctx ctx;
	struct sb_policy *p = NULL;
	sb_result rc;

	SB_GUARD(sb_policy_parse(sb_slice_str(policy), &p));
	sb_policy_free(p);
	if (bypass)
		return SB_OK_RESULT;
	memset(&ctx, 0, sizeof(ctx));
	rc = ctx_build(&ctx, c, NULL, NULL);
	if (sb_ok(rc))
		rc = evaluate(k, c, "kms:PutKeyPolicy", policy, key_id, &ctx);
	ctx_cleanup(&ctx);
	SB_ENSURE_MSG(rc.code != SB_ERR_KMS_ACCESS_DENIED, SB_ERR_KMS_MALFORMED_POLICY,
		      "The new key policy will not allow you to update the key policy in the "
		      "future.");
	return rc;
}

static SB_RESULT create_key_fields(const json_t *req, struct sb_kstore_key *key,
				   const char **policy, bool *bypass)
{
	const char *desc;

	SB_GUARD(sb_kjson_string(req, "Description", false, &desc));
	SB_ENSURE_MSG(desc == NULL || strlen(desc) <= SB_KSTORE_MAX_DESC, SB_ERR_KMS_VALIDATION,
		      "Description is longer than %d characters", SB_KSTORE_MAX_DESC);
	SB_GUARD(sb_buf_append_str(&key->description, desc != NULL ? desc : ""));
	SB_GUARD(check_enum(req, "KeyUsage", "ENCRYPT_DECRYPT"));
	SB_GUARD(check_enum(req, "KeySpec", SYMMETRIC_DEFAULT));
	SB_GUARD(check_enum(req, "CustomerMasterKeySpec", SYMMETRIC_DEFAULT));
	SB_GUARD(check_enum(req, "Origin", "AWS_KMS"));
	SB_GUARD(sb_kjson_string(req, "Policy", false, policy));
	return bypass_flag(req, bypass);
}

/* CreateKey has no key to check a policy on: any authenticated principal. */
static SB_RESULT op_create_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			       const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *policy;
	bool bypass;

	sb_kstore_key_init(&key);
	SB_GUARD(create_key_fields(req, &key, &policy, &bypass));
	SB_GUARD(sb_kblob_key_id_new(key.id));
	memcpy(log_id, key.id, sizeof(key.id));
	if (policy != NULL) {
		SB_GUARD(check_policy(k, c, policy, key.id, bypass));
		SB_GUARD(sb_buf_append_str(&key.policy, policy));
	} else {
		SB_GUARD(sb_policy_default(c->principal->account_id, &key.policy));
	}
	SB_GUARD(sb_random_bytes(key.material, sizeof(key.material)));
	key.creation_ms = c->now_ms;
	key.enabled = true;
	/* Committed (and synced) before the response exists. */
	SB_GUARD(sb_kstore_create_key(k->store, &key, NULL, 0));
	return set_metadata(k, &key, resp);
}

static SB_RESULT op_describe_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				 const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	sb_kstore_key_init(&key);
	SB_GUARD(key_from_field(k, req, "KeyId", &key, log_id));
	SB_GUARD(authorize(k, c, "kms:DescribeKey", &key, NULL, NULL));
	return set_metadata(k, &key, resp);
}

static SB_RESULT policy_name(const json_t *req)
{
	const char *name;

	SB_GUARD(sb_kjson_string(req, "PolicyName", false, &name));
	/* "The only valid name is default." */
	SB_ENSURE_MSG(name == NULL || strcmp(name, "default") == 0, SB_ERR_KMS_NOT_FOUND,
		      "No such policy exists");
	return SB_OK_RESULT;
}

static SB_RESULT op_get_key_policy(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				   const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	sb_kstore_key_init(&key);
	SB_GUARD(policy_name(req));
	SB_GUARD(key_from_field(k, req, "KeyId", &key, log_id));
	SB_GUARD(authorize(k, c, "kms:GetKeyPolicy", &key, NULL, NULL));
	SB_GUARD(set_str(resp, "Policy", sb_buf_cstr(&key.policy)));
	return set_str(resp, "PolicyName", "default");
}

static SB_RESULT op_put_key_policy(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				   const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *policy;
	bool bypass;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(policy_name(req));
	SB_GUARD(sb_kjson_string(req, "Policy", true, &policy));
	SB_GUARD(bypass_flag(req, &bypass));
	SB_GUARD(key_from_field(k, req, "KeyId", &key, log_id));
	SB_GUARD(authorize(k, c, "kms:PutKeyPolicy", &key, NULL, NULL));
	SB_GUARD(check_policy(k, c, policy, key.id, bypass));
	return sb_kstore_set_policy(k->store, key.id, sb_slice_str(policy));
}

/* ---- listings ---- */

struct list_ctx {
	struct sb_kmsd *k;
	json_t *arr;
	char last[SB_KSTORE_MAX_ALIAS_LEN + 1];
};

static SB_RESULT visit_key(void *vctx, const char *id, const char *unused, uint64_t ms)
{
	struct list_ctx *l = vctx;
	char arn[ARN_MAX];

	(void)unused;
	(void)ms;
	key_arn(l->k, id, arn);
	SB_ENSURE(json_array_append_new(l->arr, json_pack("{s:s, s:s}", "KeyId", id, "KeyArn",
							   arn)) == 0,
		  SB_ERR_NOMEM);
	(void)snprintf(l->last, sizeof(l->last), "%s", id);
	return SB_OK_RESULT;
}

static SB_RESULT visit_alias(void *vctx, const char *name, const char *key_id, uint64_t ms)
{
	struct list_ctx *l = vctx;
	char arn[ARN_MAX];

	(void)snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s", l->k->cfg->region,
		       l->k->cfg->account_id, name);
	SB_ENSURE(json_array_append_new(l->arr, json_pack("{s:s, s:s, s:s, s:f}", "AliasName", name,
							   "AliasArn", arn, "TargetKeyId", key_id,
							   "CreationDate", (double)ms / 1000.0)) == 0,
		  SB_ERR_NOMEM);
	(void)snprintf(l->last, sizeof(l->last), "%s", name);
	return SB_OK_RESULT;
}

/* Limit (1..1000, default 100) and Marker (the last item of the page before). */
static SB_RESULT page_args(const json_t *req, size_t *limit, const char **marker)
{
	long long lim = 100;
	bool has;

	SB_GUARD(sb_kjson_int(req, "Limit", 1, 1000, &has, &lim));
	*limit = (size_t)lim;
	SB_GUARD(sb_kjson_string(req, "Marker", false, marker));
	SB_ENSURE_MSG(*marker == NULL || strlen(*marker) <= SB_KSTORE_MAX_ALIAS_LEN,
		      SB_ERR_KMS_VALIDATION, "Marker is invalid");
	return SB_OK_RESULT;
}

static SB_RESULT finish_page(json_t *resp, const char *field, struct list_ctx *l, bool more)
{
	SB_ENSURE(json_object_set_new(resp, field, l->arr) == 0, SB_ERR_NOMEM);
	l->arr = NULL;
	SB_ENSURE(json_object_set_new(resp, "Truncated", json_boolean(more)) == 0, SB_ERR_NOMEM);
	if (more)
		SB_GUARD(set_str(resp, "NextMarker", l->last));
	return SB_OK_RESULT;
}

/* ListKeys and ListAliases are account-level (IAM) permissions in AWS;
 * here every principal of the server's account may list. */
static SB_RESULT op_list_keys(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			      const json_t *req, json_t *resp, char *log_id)
{
	struct list_ctx l = {.k = k, .arr = json_array()};
	const char *marker;
	size_t limit;
	bool more = false;
	sb_result rc;

	(void)c;
	(void)log_id;
	SB_ENSURE(l.arr != NULL, SB_ERR_NOMEM);
	rc = page_args(req, &limit, &marker);
	if (sb_ok(rc))
		rc = sb_kstore_list_keys(k->store, marker, limit, visit_key, &l, &more);
	if (sb_ok(rc))
		rc = finish_page(resp, "Keys", &l, more);
	json_decref(l.arr);
	return rc;
}

static SB_RESULT op_list_aliases(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				 const json_t *req, json_t *resp, char *log_id)
{
	struct list_ctx l = {.k = k, .arr = json_array()};
	char id[SB_KBLOB_KEY_ID_LEN + 1] = "";
	const char *marker, *key_in;
	size_t limit;
	bool more = false;
	sb_result rc;

	(void)c;
	(void)log_id;
	SB_ENSURE(l.arr != NULL, SB_ERR_NOMEM);
	rc = page_args(req, &limit, &marker);
	if (sb_ok(rc))
		rc = sb_kjson_string(req, "KeyId", false, &key_in);
	if (sb_ok(rc) && key_in != NULL)
		rc = resolve_key(k, key_in, false, id);
	if (sb_ok(rc))
		rc = sb_kstore_list_aliases(k->store, id, marker, limit, visit_alias, &l, &more);
	if (sb_ok(rc))
		rc = finish_page(resp, "Aliases", &l, more);
	json_decref(l.arr);
	return rc;
}

/* "AliasName ... must begin with alias/ followed by a name"; pattern
 * ^[a-zA-Z0-9/_-]+$, 1..256; "alias/aws/" is reserved for AWS. */
static SB_RESULT check_alias_name(const char *name)
{
	size_t n = strlen(name);

	SB_ENSURE_MSG(n > 6 && n <= SB_KSTORE_MAX_ALIAS_LEN && strncmp(name, "alias/", 6) == 0,
		      SB_ERR_KMS_VALIDATION, "Alias must start with the prefix \"alias/\".");
	SB_ENSURE_MSG(strncmp(name, "alias/aws/", 10) != 0, SB_ERR_KMS_VALIDATION,
		      "Alias names starting with alias/aws/ are reserved.");
	for (size_t i = 6; i < n; i++) {
		char ch = name[i];
		SB_ENSURE_MSG((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				      (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' ||
				      ch == '-',
			      SB_ERR_KMS_VALIDATION, "Alias name contains invalid characters.");
	}
	return SB_OK_RESULT;
}

static SB_RESULT op_create_alias(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
				 const json_t *req, json_t *resp, char *log_id)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	const char *name, *target;
	sb_result r;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_string(req, "AliasName", true, &name));
	SB_GUARD(check_alias_name(name));
	SB_GUARD(sb_kjson_string(req, "TargetKeyId", true, &target));
	SB_GUARD(resolve_key(k, target, false, id));
	memcpy(log_id, id, sizeof(id));
	SB_GUARD(load_key(k, id, &key));
	SB_GUARD(authorize(k, c, "kms:CreateAlias", &key, NULL, NULL));
	r = sb_kstore_create_alias(k->store, name, id, c->now_ms);
	SB_ENSURE_MSG(r.code != SB_ERR_KMS_ALREADY_EXISTS, SB_ERR_KMS_ALREADY_EXISTS,
		      "An alias with the name arn:aws:kms:%s:%s:%s already exists", k->cfg->region,
		      k->cfg->account_id, name);
	return r;
}

static const struct sb_kmsd_op ops[] = {
	{"CreateAlias", op_create_alias},
	{"CreateKey", op_create_key},
	{"Decrypt", op_decrypt},
	{"DescribeKey", op_describe_key},
	{"Encrypt", op_encrypt},
	{"GenerateDataKey", op_generate_data_key},
	{"GenerateRandom", op_generate_random},
	{"GetKeyPolicy", op_get_key_policy},
	{"ListAliases", op_list_aliases},
	{"ListKeys", op_list_keys},
	{"PutKeyPolicy", op_put_key_policy},
};

const struct sb_kmsd_op *sb_kmsd_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
