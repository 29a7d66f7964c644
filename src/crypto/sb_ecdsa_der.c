/* ECDSA P-384: compressed points and DER signatures over digests (OpenSSL 3 EVP). */
#include "crypto/sb_ecdsa_der.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/sb_mem.h"

/* Internal to the crypto layer (sb_ecdsa.c). */
EVP_PKEY *sb_ecdsa_key_pkey(const struct sb_ecdsa_key *key);
sb_result sb_ecdsa_key_from_pkey(EVP_PKEY *pkey, struct sb_ecdsa_key **out);

#define P384_COORD_LEN 48
#define P384_UNCOMPRESSED_LEN (1 + 2 * P384_COORD_LEN)

static SB_RESULT need_p384(const struct sb_ecdsa_key *key)
{
	SB_ENSURE_REF(key);
	SB_ENSURE_MSG(sb_ecdsa_key_curve(key) == SB_EC_CURVE_P384, SB_ERR_BAD_KEY,
		      "not a P-384 key");
	return SB_OK_RESULT;
}

SB_RESULT sb_ecdsa_p384_compressed(const struct sb_ecdsa_key *key,
				   uint8_t out[SB_P384_COMPRESSED_LEN])
{
	uint8_t pt[P384_UNCOMPRESSED_LEN];
	size_t len = 0;

	SB_ENSURE_REF(out);
	SB_GUARD(need_p384(key));
	SB_ENSURE(EVP_PKEY_get_octet_string_param(sb_ecdsa_key_pkey(key),
						  OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
						  sizeof(pt), &len) == 1,
		  SB_ERR_CRYPTO);
	if (len == SB_P384_COMPRESSED_LEN && (pt[0] == 0x02 || pt[0] == 0x03)) {
		memcpy(out, pt, SB_P384_COMPRESSED_LEN);
		return SB_OK_RESULT;
	}
	SB_ENSURE(len == P384_UNCOMPRESSED_LEN && pt[0] == 0x04, SB_ERR_CRYPTO);
	/* SEC 1 §2.3.3: "Y = 02 if ~y_P = 0, 03 if ~y_P = 1" (~y_P: y's low bit). */
	out[0] = (uint8_t)(0x02 | (pt[P384_UNCOMPRESSED_LEN - 1] & 1));
	memcpy(out + 1, pt + 1, P384_COORD_LEN);
	return SB_OK_RESULT;
}

/* A public-key EVP_PKEY on P-384 from an encoded point; NULL when invalid. */
static EVP_PKEY *pkey_from_point(struct sb_slice point)
{
	char group[] = "P-384";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY,
						  (void *)(uintptr_t)point.ptr, point.len),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

/* The full public-key check (on the curve, not infinity, in the group). */
static bool pkey_public_ok(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	bool ok = ctx != NULL && EVP_PKEY_public_check(ctx) == 1;

	EVP_PKEY_CTX_free(ctx);
	return ok;
}

SB_RESULT sb_ecdsa_p384_from_compressed(struct sb_slice point, struct sb_ecdsa_key **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(point.len == SB_P384_COMPRESSED_LEN, SB_ERR_BAD_KEY,
		      "compressed P-384 point is %zu bytes, want 49", point.len);
	SB_ENSURE_MSG(point.ptr[0] == 0x02 || point.ptr[0] == 0x03, SB_ERR_BAD_KEY,
		      "not a compressed point");
	EVP_PKEY *pkey = pkey_from_point(point);
	SB_ENSURE_MSG(pkey != NULL, SB_ERR_BAD_KEY, "point is not on P-384");
	if (!pkey_public_ok(pkey)) {
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "invalid P-384 public key");
	}
	return sb_ecdsa_key_from_pkey(pkey, out);
}

/* A signing or verifying context for SHA-384 digests. */
static EVP_PKEY_CTX *digest_ctx(const struct sb_ecdsa_key *key, bool sign)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, sb_ecdsa_key_pkey(key), NULL);

	if (ctx == NULL)
		return NULL;
	if ((sign ? EVP_PKEY_sign_init(ctx) : EVP_PKEY_verify_init(ctx)) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha384()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SB_RESULT sb_ecdsa_sign_digest_der(const struct sb_ecdsa_key *key,
				   const uint8_t digest[SB_SHA384_LEN], struct sb_buf *out)
{
	SB_ENSURE(digest != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(need_p384(key));
	SB_GUARD(sb_buf_reserve(out, SB_P384_DER_SIG_MAX));
	EVP_PKEY_CTX *ctx = digest_ctx(key, true);
	SB_ENSURE(ctx != NULL, SB_ERR_CRYPTO);
	size_t len = SB_P384_DER_SIG_MAX;
	int ok = EVP_PKEY_sign(ctx, sb_buf_tail(out), &len, digest, SB_SHA384_LEN);
	EVP_PKEY_CTX_free(ctx);
	SB_ENSURE(ok == 1 && len <= SB_P384_DER_SIG_MAX, SB_ERR_CRYPTO);
	return sb_buf_commit(out, out->len + len);
}

SB_RESULT sb_ecdsa_verify_digest_der(const struct sb_ecdsa_key *key,
				     const uint8_t digest[SB_SHA384_LEN], struct sb_slice der,
				     bool *valid)
{
	SB_ENSURE(digest != NULL && valid != NULL, SB_ERR_NULL);
	*valid = false;
	SB_GUARD(need_p384(key));
	if (der.len == 0 || der.len > SB_P384_DER_SIG_MAX)
		return SB_OK_RESULT;
	EVP_PKEY_CTX *ctx = digest_ctx(key, false);
	SB_ENSURE(ctx != NULL, SB_ERR_CRYPTO);
	/*
	 * 1 = valid, 0 = invalid, < 0 = malformed: all "not valid". OpenSSL
	 * re-encodes the parsed signature and refuses it unless the DER is
	 * byte-identical, so only the canonical encoding verifies.
	 */
	*valid = EVP_PKEY_verify(ctx, der.ptr, der.len, digest, SB_SHA384_LEN) == 1;
	EVP_PKEY_CTX_free(ctx);
	return SB_OK_RESULT;
}
