#include "crypto/sb_aead.h"

#include <limits.h>

#include <openssl/evp.h>

#include "common/sb_mem.h"

static SB_RESULT gcm_init(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key, const uint8_t *nonce,
			  struct sb_slice aad)
{
	int n = 0;

	SB_ENSURE(EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1,
		  SB_ERR_CRYPTO);
	SB_ENSURE(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SB_GCM_NONCE_LEN, NULL) == 1,
		  SB_ERR_CRYPTO);
	SB_ENSURE(EVP_CipherInit_ex(ctx, NULL, NULL, key, nonce, enc) == 1, SB_ERR_CRYPTO);
	SB_ENSURE(aad.len <= INT_MAX, SB_ERR_TOO_LARGE);
	if (aad.len > 0)
		SB_ENSURE(EVP_CipherUpdate(ctx, NULL, &n, aad.ptr, (int)aad.len) == 1,
			  SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_aes256gcm_seal(const uint8_t key[SB_AES256_KEY_LEN],
			    const uint8_t nonce[SB_GCM_NONCE_LEN], struct sb_slice aad,
			    struct sb_slice plaintext, struct sb_buf *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	sb_result rc = SB_OK_RESULT;
	size_t need, start;
	int n = 0, fin = 0;

	SB_ENSURE(key != NULL && nonce != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE(plaintext.len <= INT_MAX - SB_GCM_TAG_LEN, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_add_size(plaintext.len, SB_GCM_TAG_LEN, &need));
	SB_GUARD(sb_buf_reserve(out, need));
	start = out->len;
	ctx = EVP_CIPHER_CTX_new();
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, gcm_init(ctx, 1, key, nonce, aad), out);
	if (EVP_EncryptUpdate(ctx, out->data + start, &n, plaintext.ptr, (int)plaintext.len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out->data + start + n, &fin) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SB_GCM_TAG_LEN,
				out->data + start + n + fin) != 1)
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	rc = sb_buf_commit(out, start + need);
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

SB_RESULT sb_aes256gcm_open(const uint8_t key[SB_AES256_KEY_LEN],
			    const uint8_t nonce[SB_GCM_NONCE_LEN], struct sb_slice aad,
			    struct sb_slice ct, struct sb_buf *out)
{
	EVP_CIPHER_CTX *ctx = NULL;
	sb_result rc = SB_OK_RESULT;
	size_t ptlen, start;
	int n = 0, fin = 0;

	SB_ENSURE(key != NULL && nonce != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE(ct.len >= SB_GCM_TAG_LEN, SB_ERR_DECRYPT);
	SB_ENSURE(ct.len <= INT_MAX, SB_ERR_TOO_LARGE);
	ptlen = ct.len - SB_GCM_TAG_LEN;
	SB_GUARD(sb_buf_reserve(out, ptlen));
	start = out->len;
	ctx = EVP_CIPHER_CTX_new();
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, gcm_init(ctx, 0, key, nonce, aad), out);
	if (EVP_DecryptUpdate(ctx, out->data + start, &n, ct.ptr, (int)ptlen) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SB_GCM_TAG_LEN,
				(void *)(uintptr_t)(ct.ptr + ptlen)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, out->data + start + n, &fin) != 1) {
		/* Unauthentic: wipe whatever was decrypted and report nothing. */
		sb_wipe(out->data + start, ptlen);
		SB_FAIL_GOTO(rc, SB_ERR_DECRYPT, out);
	}
	rc = sb_buf_commit(out, start + ptlen);
out:
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
