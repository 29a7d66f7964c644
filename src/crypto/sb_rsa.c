#include "crypto/sb_rsa.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/sb_mem.h"

struct sb_rsa_key {
	EVP_PKEY *pkey;
	bool has_private;
	/* SHA-256 of the DER SubjectPublicKeyInfo, computed once at adoption:
	 * the KMS server asks for it on every CiphertextForRecipient. */
	uint8_t ski[SB_RSA_SKI_LEN];
};

static SB_RESULT spki_sha256(EVP_PKEY *pkey, uint8_t out[SB_RSA_SKI_LEN]);

/* Wraps pkey (taken) after checking it is an RSA key of an accepted size. */
static SB_RESULT rsa_key_adopt(EVP_PKEY *pkey, bool has_private, struct sb_rsa_key **out)
{
	struct sb_rsa_key *key = NULL;
	int bits;

	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "not an RSA key");
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < SB_RSA_MIN_BITS || bits > SB_RSA_MAX_BITS) {
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "RSA modulus of %d bits (allowed %d..%d)", bits,
		            SB_RSA_MIN_BITS, SB_RSA_MAX_BITS);
	}
	key = calloc(1, sizeof(*key));
	if (key == NULL) {
		EVP_PKEY_free(pkey);
		SB_BAIL(SB_ERR_NOMEM);
	}
	key->pkey = pkey;
	key->has_private = has_private;
	if (!sb_ok(spki_sha256(pkey, key->ski))) {
		sb_rsa_key_free(key);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "cannot encode the public key");
	}
	*out = key;
	return SB_OK_RESULT;
}

SB_RESULT sb_rsa_key_new(unsigned bits, struct sb_rsa_key **out)
{
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ok;

	SB_ENSURE_REF(out);
	*out = NULL;
	SB_ENSURE_MSG(bits >= SB_RSA_MIN_BITS && bits <= SB_RSA_MAX_BITS && bits % 8 == 0,
	              SB_ERR_INVALID_ARG, "RSA key size %u (allowed %d..%d, multiple of 8)", bits,
	              SB_RSA_MIN_BITS, SB_RSA_MAX_BITS);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	/* The default public exponent is 65537 (RSA_F4). */
	ok = EVP_PKEY_keygen_init(ctx) == 1 &&
	     EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1 &&
	     EVP_PKEY_generate(ctx, &pkey) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_CRYPTO, "RSA key generation failed");
	}
	return rsa_key_adopt(pkey, true, out);
}

void sb_rsa_key_free(struct sb_rsa_key *key)
{
	if (key == NULL)
		return;
	/* EVP_PKEY_free clears the private components (BN_clear_free). */
	EVP_PKEY_free(key->pkey);
	free(key);
}

/* RSA public-key validity as SP 800-56B (odd n, e odd in [65537, 2^256), ...). */
static SB_RESULT rsa_public_check(EVP_PKEY *pkey)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	ok = EVP_PKEY_public_check(ctx) == 1;
	EVP_PKEY_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "RSA public key fails validity checks");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_rsa_key_from_public_der(struct sb_slice der, struct sb_rsa_key **out)
{
	const unsigned char *p = der.ptr;
	EVP_PKEY *pkey;

	SB_ENSURE_REF(out);
	*out = NULL;
	SB_ENSURE_MSG(der.len > 0 && der.len <= SB_RSA_MAX_SPKI_DER_LEN, SB_ERR_BAD_KEY,
	              "public key of %zu bytes", der.len);
	pkey = d2i_PUBKEY(NULL, &p, (long)der.len);
	if (pkey == NULL) {
		ERR_clear_error();
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "not a DER SubjectPublicKeyInfo");
	}
	if (p != der.ptr + der.len) {
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "trailing bytes after SubjectPublicKeyInfo");
	}
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		sb_result rc = rsa_public_check(pkey);
		if (!sb_ok(rc)) {
			EVP_PKEY_free(pkey);
			return rc;
		}
	}
	return rsa_key_adopt(pkey, false, out);
}

/* An encrypted PEM fails rather than prompting for a passphrase. */
static int pem_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

SB_RESULT sb_rsa_key_from_private_pem(struct sb_slice pem, struct sb_rsa_key **out)
{
	EVP_PKEY *pkey = NULL;
	BIO *bio;

	SB_ENSURE_REF(out);
	*out = NULL;
	SB_ENSURE_MSG(pem.len > 0 && pem.len <= SB_RSA_MAX_PEM_LEN, SB_ERR_BAD_KEY,
	              "private key PEM of %zu bytes", pem.len);
	bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	pkey = PEM_read_bio_PrivateKey(bio, NULL, pem_no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		ERR_clear_error();
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "not an unencrypted PEM private key");
	}
	return rsa_key_adopt(pkey, true, out);
}

SB_RESULT sb_rsa_key_public_der(const struct sb_rsa_key *key, struct sb_buf *out)
{
	unsigned char *der = NULL;
	sb_result rc;
	int n;

	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	n = i2d_PUBKEY(key->pkey, &der);
	if (n <= 0) {
		ERR_clear_error();
		SB_BAIL(SB_ERR_CRYPTO);
	}
	rc = sb_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

SB_RESULT sb_rsa_key_private_pem(const struct sb_rsa_key *key, struct sb_buf *out)
{
	BIO *bio = NULL;
	char *pem = NULL;
	sb_result rc = SB_OK_RESULT;
	long n;

	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(out->secret, SB_ERR_INVALID_ARG, "private key needs a secret buffer");
	SB_ENSURE_MSG(key->has_private, SB_ERR_BAD_KEY, "public key only");
	/* A secure-memory BIO: its storage is cleansed when freed. */
	bio = BIO_new(BIO_s_secmem());
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		ERR_clear_error();
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	}
	n = BIO_get_mem_data(bio, &pem);
	if (n <= 0)
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	rc = sb_buf_append(out, pem, (size_t)n);
out:
	BIO_free(bio);
	return rc;
}

bool sb_rsa_key_has_private(const struct sb_rsa_key *key)
{
	return key != NULL && key->has_private;
}

unsigned sb_rsa_key_bits(const struct sb_rsa_key *key)
{
	if (key == NULL)
		return 0;
	return (unsigned)EVP_PKEY_get_bits(key->pkey);
}

size_t sb_rsa_key_size(const struct sb_rsa_key *key)
{
	if (key == NULL)
		return 0;
	return (size_t)EVP_PKEY_get_size(key->pkey);
}

static SB_RESULT spki_sha256(EVP_PKEY *pkey, uint8_t out[SB_RSA_SKI_LEN])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pkey, &der);
	sb_result rc;

	SB_ENSURE(n > 0 && der != NULL, SB_ERR_CRYPTO);
	rc = sb_sha256(SB_SLICE(der, (size_t)n), out);
	OPENSSL_free(der);
	return rc;
}

SB_RESULT sb_rsa_key_ski(const struct sb_rsa_key *key, uint8_t out[SB_RSA_SKI_LEN])
{
	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	memcpy(out, key->ski, SB_RSA_SKI_LEN);
	return SB_OK_RESULT;
}

struct evp_pkey_st *sb_rsa_key_evp(const struct sb_rsa_key *key)
{
	return key == NULL ? NULL : key->pkey;
}

/* A context for RSAES-OAEP with SHA-256 and MGF1-SHA-256; caller frees. */
static SB_RESULT oaep_ctx_new(EVP_PKEY *pkey, bool encrypt, EVP_PKEY_CTX **out)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	int ok;

	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	ok = (encrypt ? EVP_PKEY_encrypt_init(ctx) : EVP_PKEY_decrypt_init(ctx)) == 1 &&
	     EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) == 1 &&
	     EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) == 1 &&
	     EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) == 1;
	if (!ok) {
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		SB_BAIL(SB_ERR_CRYPTO);
	}
	*out = ctx;
	return SB_OK_RESULT;
}

/* RFC 8017 7.1.1: "If mLen > k - 2hLen - 2, output 'message too long'". */
#define OAEP_SHA256_OVERHEAD (2 * SB_SHA256_LEN + 2)

SB_RESULT sb_rsa_oaep_encrypt(const struct sb_rsa_key *key, struct sb_slice plaintext,
                              struct sb_buf *out)
{
	EVP_PKEY_CTX *ctx = NULL;
	sb_result rc = SB_OK_RESULT;
	size_t k, n;

	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE(plaintext.ptr != NULL || plaintext.len == 0, SB_ERR_NULL);
	k = sb_rsa_key_size(key);
	SB_ENSURE_MSG(plaintext.len <= k - OAEP_SHA256_OVERHEAD, SB_ERR_TOO_LARGE,
	              "RSA-OAEP plaintext of %zu bytes (max %zu)", plaintext.len,
	              k - OAEP_SHA256_OVERHEAD);
	SB_GUARD(sb_buf_reserve(out, k));
	SB_GUARD(oaep_ctx_new(key->pkey, true, &ctx));
	n = k;
	if (EVP_PKEY_encrypt(ctx, sb_buf_tail(out), &n, plaintext.ptr, plaintext.len) != 1 ||
	    n != k) {
		ERR_clear_error();
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	}
	rc = sb_buf_commit(out, out->len + n);
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

SB_RESULT sb_rsa_oaep_decrypt(const struct sb_rsa_key *key, struct sb_slice ciphertext,
                              struct sb_buf *out)
{
	/* OpenSSL wants room for a whole modulus; out only gets the message. */
	uint8_t msg[SB_RSA_MAX_MODULUS_LEN];
	EVP_PKEY_CTX *ctx = NULL;
	sb_result rc = SB_OK_RESULT;
	size_t k, n;

	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(out->secret, SB_ERR_INVALID_ARG, "plaintext needs a secret buffer");
	SB_ENSURE_MSG(key->has_private, SB_ERR_BAD_KEY, "public key only");
	k = sb_rsa_key_size(key);
	SB_ENSURE(k <= sizeof(msg), SB_ERR_BAD_KEY);
	SB_ENSURE(ciphertext.ptr != NULL && ciphertext.len == k, SB_ERR_DECRYPT);
	SB_GUARD(oaep_ctx_new(key->pkey, false, &ctx));
	n = sizeof(msg);
	if (EVP_PKEY_decrypt(ctx, msg, &n, ciphertext.ptr, ciphertext.len) != 1) {
		/* One error for every failure: no padding oracle in our API. */
		ERR_clear_error();
		SB_FAIL_GOTO(rc, SB_ERR_DECRYPT, out);
	}
	rc = sb_buf_append(out, msg, n);
out:
	sb_wipe(msg, sizeof(msg));
	EVP_PKEY_CTX_free(ctx);
	return rc;
}
