#include "crypto/sb_gcm.h"

#include <limits.h>
#include <pthread.h>

#include <openssl/evp.h>

#include "common/sb_mem.h"

/*
 * Fetched once: passing EVP_aes_256_gcm() to every init makes OpenSSL 3
 * fetch the provider's implementation each time (a lock and a lookup per
 * frame). Kept for the life of the process.
 */
static EVP_CIPHER *gcm_cipher;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void gcm_fetch(void)
{
	gcm_cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

SB_RESULT sb_gcm_init(struct sb_gcm *g, const uint8_t key[SB_AES256_KEY_LEN], bool encrypt)
{
	SB_ENSURE(g != NULL && key != NULL, SB_ERR_NULL);
	g->ctx = NULL;
	g->encrypt = encrypt;
	SB_ENSURE(pthread_once(&gcm_once, gcm_fetch) == 0 && gcm_cipher != NULL, SB_ERR_CRYPTO);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	/* The default IV length of AES-GCM in OpenSSL is 12 bytes, the one we use. */
	if (EVP_CipherInit_ex(ctx, gcm_cipher, NULL, key, NULL, encrypt ? 1 : 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		SB_BAIL(SB_ERR_CRYPTO);
	}
	g->ctx = ctx;
	return SB_OK_RESULT;
}

void sb_gcm_cleanup(struct sb_gcm *g)
{
	if (g == NULL)
		return;
	EVP_CIPHER_CTX_free(g->ctx); /* cleanses the key schedule */
	g->ctx = NULL;
}

/* Sets the IV and feeds the AAD; the key stays. */
static SB_RESULT gcm_start(struct sb_gcm *g, const uint8_t *iv, struct sb_slice aad)
{
	int n = 0;

	SB_ENSURE(g != NULL && g->ctx != NULL && iv != NULL, SB_ERR_NULL);
	SB_ENSURE(aad.len <= INT_MAX, SB_ERR_TOO_LARGE);
	SB_ENSURE(EVP_CipherInit_ex(g->ctx, NULL, NULL, NULL, iv, -1) == 1, SB_ERR_CRYPTO);
	if (aad.len > 0)
		SB_ENSURE(EVP_CipherUpdate(g->ctx, NULL, &n, aad.ptr, (int)aad.len) == 1,
			  SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

/* Runs in through the cipher into out, in chunks EVP's int lengths allow. */
static SB_RESULT gcm_update(struct sb_gcm *g, struct sb_slice in, uint8_t *out)
{
	size_t off = 0;

	while (off < in.len) {
		size_t chunk = in.len - off;
		int n = 0;
		if (chunk > (size_t)INT_MAX / 2)
			chunk = (size_t)INT_MAX / 2;
		SB_ENSURE(EVP_CipherUpdate(g->ctx, out + off, &n, in.ptr + off, (int)chunk) == 1 &&
				  (size_t)n == chunk,
			  SB_ERR_CRYPTO);
		off += chunk;
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_gcm_seal(struct sb_gcm *g, const uint8_t iv[SB_GCM_NONCE_LEN], struct sb_slice aad,
		      struct sb_slice pt, uint8_t *out, uint8_t tag[SB_GCM_TAG_LEN])
{
	uint8_t end[16];
	int n = 0;

	SB_ENSURE(tag != NULL && (out != NULL || pt.len == 0), SB_ERR_NULL);
	SB_ENSURE_MSG(g != NULL && g->encrypt, SB_ERR_INVALID_ARG, "GCM context is for opening");
	SB_GUARD(gcm_start(g, iv, aad));
	SB_GUARD(gcm_update(g, pt, out));
	SB_ENSURE(EVP_CipherFinal_ex(g->ctx, end, &n) == 1 && n == 0, SB_ERR_CRYPTO);
	SB_ENSURE(EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_GET_TAG, SB_GCM_TAG_LEN, tag) == 1,
		  SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_gcm_open(struct sb_gcm *g, const uint8_t iv[SB_GCM_NONCE_LEN], struct sb_slice aad,
		      struct sb_slice ct, const uint8_t tag[SB_GCM_TAG_LEN], uint8_t *out)
{
	uint8_t end[16];
	int n = 0;

	SB_ENSURE(tag != NULL && (out != NULL || ct.len == 0), SB_ERR_NULL);
	SB_ENSURE_MSG(g != NULL && !g->encrypt, SB_ERR_INVALID_ARG, "GCM context is for sealing");
	SB_GUARD(gcm_start(g, iv, aad));
	sb_result rc = gcm_update(g, ct, out);
	if (sb_ok(rc) &&
	    (EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_TAG, SB_GCM_TAG_LEN,
				 (void *)(uintptr_t)tag) != 1 ||
	     EVP_CipherFinal_ex(g->ctx, end, &n) != 1))
		rc = sb_error_record(SB_ERR_DECRYPT, SB_HERE);
	if (!sb_ok(rc) && ct.len > 0)
		sb_wipe(out, ct.len); /* unauthentic: release nothing */
	return rc;
}
