/*
 * Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
 * GenerateDataKeyWithoutPlaintext, GenerateRandom. Each reads its request,
 * finds the key, authorises the call (key policy, then grants), checks the
 * key's state (Enabled only) and algorithm, honours DryRun, and only then
 * touches key material.
 */
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_random.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define MAX_DATA_KEY 1024 /* "NumberOfBytes ... Maximum value of 1024." */

/* The checks every use of a key shares, in order: permission, key state,
 * the algorithm the key would have to support. */
static SB_RESULT use_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			 const char *action, const struct sb_kstore_key *key, const json_t *ctx_obj,
			 const struct sb_kmsd_recipient *rcpt, const char *alg_field)
{
	SB_GUARD(sb_kmsd_authorize(k, c, action, key, ctx_obj, rcpt));
	SB_GUARD(sb_kmsd_check_state(k, key, SB_KMSD_USE_CRYPTO));
	return alg_field != NULL ? sb_kmsd_check_algorithm(req, alg_field) : SB_OK_RESULT;
}

SB_KMSD_OP(encrypt)
{
	SB_DEFER(struct sb_buf plain, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX];
	json_t *ctx_obj;
	bool present;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_base64(req, "Plaintext", true, &present, &plain));
	SB_ENSURE_MSG(plain.len >= 1, SB_ERR_KMS_VALIDATION,
		      "1 validation error detected: Value at 'plaintext' failed to satisfy "
		      "constraint: Member must have length greater than or equal to 1");
	SB_GUARD(sb_kmsd_enc_context(req, "EncryptionContext", &ctx_obj, &ctx));
	SB_GUARD(sb_kmsd_grant_tokens(req));
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", true, &key, log_id));
	SB_GUARD(use_key(k, c, req, "kms:Encrypt", &key, ctx_obj, NULL, "EncryptionAlgorithm"));
	SB_GUARD(sb_kmsd_dry_run(req));
	SB_GUARD(sb_kblob_seal(key.material, key.id, sb_buf_slice(&ctx), sb_buf_slice(&plain),
			       &blob));
	sb_kmsd_key_arn(k, key.id, arn);
	SB_GUARD(sb_kmsd_set_b64(resp, "CiphertextBlob", sb_buf_slice(&blob), false));
	SB_GUARD(sb_kmsd_set_str(resp, "KeyId", arn));
	return sb_kmsd_set_str(resp, "EncryptionAlgorithm", SB_KMSD_SYMMETRIC_DEFAULT);
}

/* The key a ciphertext names; "Decrypt ... KeyId ... must match" (the
 * field is KeyId for Decrypt, SourceKeyId for ReEncrypt). */
static SB_RESULT blob_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			  const char *field, struct sb_slice blob, struct sb_kstore_key *key,
			  char *log_id)
{
	char id[SB_KMSD_KEY_ID_SIZE], want[SB_KMSD_KEY_ID_SIZE];
	const char *given;

	SB_GUARD(sb_kblob_key_id(blob, id));
	memcpy(log_id, id, sizeof(id));
	SB_GUARD(sb_kjson_string(req, field, false, &given));
	if (given != NULL) {
		SB_GUARD(sb_kmsd_resolve_key(k, given, true, want));
		SB_ENSURE_MSG(strcmp(want, id) == 0, SB_ERR_KMS_INCORRECT_KEY,
			      "The key ID in the request does not identify a CMK that can perform "
			      "this operation.");
	}
	sb_result r = sb_kmsd_load_key(k, c, id, key);
	/* A blob naming no key here is not a ciphertext of this server. */
	SB_ENSURE(r.code != SB_ERR_KMS_NOT_FOUND, SB_ERR_KMS_INVALID_CIPHERTEXT);
	return r;
}

static SB_RESULT decrypt_inner(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			       const json_t *req, json_t *resp, char *log_id,
			       struct sb_kmsd_recipient *rcpt)
{
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_WIRE_LEN);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf plain, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX];
	json_t *ctx_obj;
	bool present;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_base64(req, "CiphertextBlob", true, &present, &blob));
	SB_GUARD(sb_kmsd_enc_context(req, "EncryptionContext", &ctx_obj, &ctx));
	SB_GUARD(sb_kmsd_grant_tokens(req));
	SB_GUARD(sb_kmsd_recipient_parse(k, req, c->now_ms, rcpt));
	SB_GUARD(blob_key(k, c, req, "KeyId", sb_buf_slice(&blob), &key, log_id));
	SB_GUARD(use_key(k, c, req, "kms:Decrypt", &key, ctx_obj, rcpt, "EncryptionAlgorithm"));
	SB_GUARD(sb_kmsd_dry_run(req));
	SB_GUARD(sb_kblob_open(key.material, sb_buf_slice(&blob), sb_buf_slice(&ctx), &plain));
	sb_kmsd_key_arn(k, key.id, arn);
	SB_GUARD(sb_kmsd_set_str(resp, "KeyId", arn));
	SB_GUARD(sb_kmsd_set_str(resp, "EncryptionAlgorithm", SB_KMSD_SYMMETRIC_DEFAULT));
	return sb_kmsd_set_secret(resp, rcpt, sb_buf_slice(&plain));
}

SB_KMSD_OP(decrypt)
{
	struct sb_kmsd_recipient rcpt;
	sb_result rc;

	sb_kmsd_recipient_init(&rcpt);
	rc = decrypt_inner(k, c, req, resp, log_id, &rcpt);
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

/*
 * ReEncrypt: "Decrypts ciphertext and then reencrypts it entirely within
 * AWS KMS"; it needs "kms:ReEncryptFrom permission on the source KMS key"
 * and "kms:ReEncryptTo permission on the destination KMS key", each
 * evaluated with that side's encryption context.
 */
SB_KMSD_OP(re_encrypt)
{
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_WIRE_LEN);
	SB_DEFER(struct sb_buf src_ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf dst_ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf plain, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	SB_DEFER(struct sb_buf out, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	SB_DEFER(struct sb_kstore_key src, sb_kstore_key_cleanup);
	SB_DEFER(struct sb_kstore_key dst, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX], dst_log[SB_KMSD_KEY_ID_SIZE];
	json_t *src_obj, *dst_obj;
	bool present;

	sb_kstore_key_init(&src);
	sb_kstore_key_init(&dst);
	SB_GUARD(sb_kjson_base64(req, "CiphertextBlob", true, &present, &blob));
	SB_GUARD(sb_kmsd_enc_context(req, "SourceEncryptionContext", &src_obj, &src_ctx));
	SB_GUARD(sb_kmsd_enc_context(req, "DestinationEncryptionContext", &dst_obj, &dst_ctx));
	SB_GUARD(sb_kmsd_grant_tokens(req));
	SB_GUARD(blob_key(k, c, req, "SourceKeyId", sb_buf_slice(&blob), &src, log_id));
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "DestinationKeyId", true, &dst, dst_log));
	SB_GUARD(use_key(k, c, req, "kms:ReEncryptFrom", &src, src_obj, NULL,
			 "SourceEncryptionAlgorithm"));
	SB_GUARD(use_key(k, c, req, "kms:ReEncryptTo", &dst, dst_obj, NULL,
			 "DestinationEncryptionAlgorithm"));
	SB_GUARD(sb_kmsd_dry_run(req));
	SB_GUARD(sb_kblob_open(src.material, sb_buf_slice(&blob), sb_buf_slice(&src_ctx), &plain));
	SB_GUARD(sb_kblob_seal(dst.material, dst.id, sb_buf_slice(&dst_ctx), sb_buf_slice(&plain),
			       &out));
	SB_GUARD(sb_kmsd_set_b64(resp, "CiphertextBlob", sb_buf_slice(&out), false));
	sb_kmsd_key_arn(k, src.id, arn);
	SB_GUARD(sb_kmsd_set_str(resp, "SourceKeyId", arn));
	sb_kmsd_key_arn(k, dst.id, arn);
	SB_GUARD(sb_kmsd_set_str(resp, "KeyId", arn));
	SB_GUARD(sb_kmsd_set_str(resp, "SourceEncryptionAlgorithm", SB_KMSD_SYMMETRIC_DEFAULT));
	return sb_kmsd_set_str(resp, "DestinationEncryptionAlgorithm", SB_KMSD_SYMMETRIC_DEFAULT);
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

/* GenerateDataKey (with_plaintext) and GenerateDataKeyWithoutPlaintext. */
static SB_RESULT gdk_inner(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			   json_t *resp, char *log_id, struct sb_kmsd_recipient *rcpt,
			   bool with_plaintext)
{
	SB_DEFER(struct sb_buf dk, sb_buf_cleanup) = SB_BUF_INIT_SECRET(MAX_DATA_KEY);
	SB_DEFER(struct sb_buf ctx, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	SB_DEFER(struct sb_buf blob, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX];
	json_t *ctx_obj;
	size_t n = 0;

	sb_kstore_key_init(&key);
	SB_GUARD(data_key_size(req, &n));
	SB_GUARD(sb_kmsd_enc_context(req, "EncryptionContext", &ctx_obj, &ctx));
	SB_GUARD(sb_kmsd_grant_tokens(req));
	if (with_plaintext)
		SB_GUARD(sb_kmsd_recipient_parse(k, req, c->now_ms, rcpt));
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", true, &key, log_id));
	SB_GUARD(use_key(k, c, req,
			 with_plaintext ? "kms:GenerateDataKey" : "kms:GenerateDataKeyWithoutPlaintext",
			 &key, ctx_obj, rcpt, NULL));
	SB_GUARD(sb_kmsd_dry_run(req));
	SB_GUARD(sb_buf_reserve(&dk, n));
	SB_GUARD(sb_random_bytes(sb_buf_tail(&dk), n));
	SB_GUARD(sb_buf_commit(&dk, n));
	SB_GUARD(sb_kblob_seal(key.material, key.id, sb_buf_slice(&ctx), sb_buf_slice(&dk), &blob));
	sb_kmsd_key_arn(k, key.id, arn);
	SB_GUARD(sb_kmsd_set_b64(resp, "CiphertextBlob", sb_buf_slice(&blob), false));
	SB_GUARD(sb_kmsd_set_str(resp, "KeyId", arn));
	return with_plaintext ? sb_kmsd_set_secret(resp, rcpt, sb_buf_slice(&dk)) : SB_OK_RESULT;
}

SB_KMSD_OP(generate_data_key)
{
	struct sb_kmsd_recipient rcpt;
	sb_result rc;

	sb_kmsd_recipient_init(&rcpt);
	rc = gdk_inner(k, c, req, resp, log_id, &rcpt, true);
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

SB_KMSD_OP(generate_data_key_without_plaintext)
{
	struct sb_kmsd_recipient rcpt;
	sb_result rc;

	sb_kmsd_recipient_init(&rcpt);
	rc = gdk_inner(k, c, req, resp, log_id, &rcpt, false);
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}

/* GenerateRandom has no key: any authenticated principal may call it. */
SB_KMSD_OP(generate_random)
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
		rc = sb_kmsd_set_secret(resp, &rcpt, sb_buf_slice(&rnd));
	sb_kmsd_recipient_cleanup(&rcpt);
	return rc;
}
