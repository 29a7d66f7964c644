#include "crypto/sb_hkdf.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* OSSL_PARAM wants non-const pointers for input octet strings it only reads. */
static void *unconst(const uint8_t *p)
{
	return (void *)(uintptr_t)p;
}

SB_RESULT sb_hkdf_sha512(struct sb_slice salt, struct sb_slice ikm, struct sb_slice info,
			 uint8_t *out, size_t out_len)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(ikm.len > 0, SB_ERR_INVALID_ARG, "HKDF: empty input key");
	SB_ENSURE_MSG(out_len > 0 && out_len <= SB_HKDF_SHA512_MAX_OUT, SB_ERR_INVALID_ARG,
		      "HKDF: output length %zu out of range", out_len);
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
	SB_ENSURE(kdf != NULL, SB_ERR_CRYPTO);
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	char digest[] = "SHA512";
	OSSL_PARAM params[5];
	size_t n = 0;
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, unconst(ikm.ptr),
							ikm.len);
	/* RFC 5869 §2.2: an absent salt is HashLen zeros; OpenSSL does the same. */
	if (salt.len > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
								unconst(salt.ptr), salt.len);
	if (info.len > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
								unconst(info.ptr), info.len);
	params[n] = OSSL_PARAM_construct_end();
	int ok = EVP_KDF_derive(ctx, out, out_len, params);
	EVP_KDF_CTX_free(ctx); /* clears its copies of the key material */
	SB_ENSURE(ok == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}
