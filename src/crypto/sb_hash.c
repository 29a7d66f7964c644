#include "crypto/sb_hash.h"

#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/sb_mem.h"

/*
 * The digests, fetched from the default provider once per process: a
 * EVP_sha256() passed to EVP_Digest is looked up again on every call,
 * which doubles the cost of hashing a short string (a property id's shard
 * is a SHA-256 per row). Kept until exit; the legacy handles stand in if a
 * fetch fails.
 */
static EVP_MD *g_sha256, *g_sha384;
static pthread_once_t g_fetch_once = PTHREAD_ONCE_INIT;

static void fetch_digests(void)
{
	g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	g_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
}

static const EVP_MD *md_of(enum sb_hash_alg alg)
{
	(void)pthread_once(&g_fetch_once, fetch_digests);
	switch (alg) {
	case SB_HASH_SHA256:
		return g_sha256 != NULL ? g_sha256 : EVP_sha256();
	case SB_HASH_SHA384:
		return g_sha384 != NULL ? g_sha384 : EVP_sha384();
	default:
		return NULL;
	}
}

static SB_RESULT digest(const EVP_MD *md, struct sb_slice in, uint8_t *out)
{
	unsigned int n = 0;

	SB_ENSURE(EVP_Digest(in.ptr, in.len, out, &n, md, NULL) == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_sha256(struct sb_slice in, uint8_t out[SB_SHA256_LEN])
{
	return digest(md_of(SB_HASH_SHA256), in, out);
}

SB_RESULT sb_sha384(struct sb_slice in, uint8_t out[SB_SHA384_LEN])
{
	return digest(md_of(SB_HASH_SHA384), in, out);
}

SB_RESULT sb_hmac_sha256(struct sb_slice key, struct sb_slice msg, uint8_t out[SB_SHA256_LEN])
{
	unsigned int n = 0;
	/* OpenSSL 3 fails on a NULL key (what an empty sb_buf gives): pass "". */
	const void *k = key.len == 0 ? "" : (const void *)key.ptr;

	SB_ENSURE(key.len <= INT32_MAX, SB_ERR_TOO_LARGE);
	SB_ENSURE(HMAC(EVP_sha256(), k, (int)key.len, msg.ptr, msg.len, out, &n) != NULL &&
			  n == SB_SHA256_LEN,
		  SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_hash_init(struct sb_hash *h, enum sb_hash_alg alg)
{
	const EVP_MD *md = md_of(alg);

	SB_ENSURE_REF(h);
	SB_ENSURE(md != NULL, SB_ERR_INVALID_ARG);
	h->alg = alg;
	h->ctx = EVP_MD_CTX_new();
	SB_ENSURE(h->ctx != NULL, SB_ERR_NOMEM);
	SB_ENSURE(EVP_DigestInit_ex(h->ctx, md, NULL) == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_hash_update(struct sb_hash *h, struct sb_slice in)
{
	SB_ENSURE(h != NULL && h->ctx != NULL, SB_ERR_NULL);
	SB_ENSURE(EVP_DigestUpdate(h->ctx, in.ptr, in.len) == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_hash_final(struct sb_hash *h, uint8_t *out, size_t out_len)
{
	unsigned int n = 0;

	SB_ENSURE(h != NULL && h->ctx != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE(out_len == (size_t)EVP_MD_CTX_get_size(h->ctx), SB_ERR_INVALID_ARG);
	SB_ENSURE(EVP_DigestFinal_ex(h->ctx, out, &n) == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

void sb_hash_cleanup(struct sb_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

SB_RESULT sb_pcr_extend_digest(uint8_t pcr[SB_SHA384_LEN], const uint8_t digest[SB_SHA384_LEN])
{
	uint8_t both[2 * SB_SHA384_LEN];

	memcpy(both, pcr, SB_SHA384_LEN);
	memcpy(both + SB_SHA384_LEN, digest, SB_SHA384_LEN);
	return sb_sha384(SB_SLICE(both, sizeof(both)), pcr);
}

SB_RESULT sb_pcr_extend(uint8_t pcr[SB_SHA384_LEN], struct sb_slice data)
{
	uint8_t digest[SB_SHA384_LEN];

	SB_GUARD(sb_sha384(data, digest));
	return sb_pcr_extend_digest(pcr, digest);
}
