/* ECDSA P-256/P-384 keys and ES384 signatures over OpenSSL 3 (EVP only). */
#include "crypto/sb_ecdsa.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/sb_mem.h"

/* Half of an ES384 signature: one P-384 scalar, big-endian, left-padded. */
#define SB_P384_SCALAR_LEN (SB_ES384_SIG_LEN / 2)

struct sb_ecdsa_key {
	EVP_PKEY *pkey;
};

/* Wraps pkey (takes it). */
static SB_RESULT ecdsa_key_wrap(EVP_PKEY *pkey, struct sb_ecdsa_key **out)
{
	struct sb_ecdsa_key *key = NULL;
	sb_result rc = sb_calloc(1, sizeof(*key), (void **)&key);

	if (!sb_ok(rc)) {
		EVP_PKEY_free(pkey);
		return rc;
	}
	key->pkey = pkey;
	*out = key;
	return SB_OK_RESULT;
}

SB_RESULT sb_ecdsa_key_generate(enum sb_ec_curve curve, struct sb_ecdsa_key **out)
{
	SB_ENSURE_REF(out);
	const char *name;
	switch (curve) {
	case SB_EC_CURVE_P256:
		name = "P-256";
		break;
	case SB_EC_CURVE_P384:
		name = "P-384";
		break;
	case SB_EC_CURVE_OTHER:
	default:
		SB_BAIL_MSG(SB_ERR_INVALID_ARG, "unsupported curve %d", (int)curve);
	}
	EVP_PKEY *pkey = EVP_EC_gen(name);
	SB_ENSURE_MSG(pkey != NULL, SB_ERR_CRYPTO, "EC key generation failed");
	return ecdsa_key_wrap(pkey, out);
}

void sb_ecdsa_key_free(struct sb_ecdsa_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey); /* OpenSSL clears private key material on free */
	sb_wipe(key, sizeof(*key));
	free(key);
}

/* Internal accessor for sb_x509.c (same layer); not in the public header. */
EVP_PKEY *sb_ecdsa_key_pkey(const struct sb_ecdsa_key *key);
EVP_PKEY *sb_ecdsa_key_pkey(const struct sb_ecdsa_key *key)
{
	return key != NULL ? key->pkey : NULL;
}

/* Internal for sb_x509.c: wraps a public key taken from a certificate. */
sb_result sb_ecdsa_key_from_pkey(EVP_PKEY *pkey, struct sb_ecdsa_key **out);
sb_result sb_ecdsa_key_from_pkey(EVP_PKEY *pkey, struct sb_ecdsa_key **out)
{
	SB_ENSURE_REF(pkey);
	SB_ENSURE_REF(out);
	return ecdsa_key_wrap(pkey, out);
}

enum sb_ec_curve sb_ecdsa_key_curve(const struct sb_ecdsa_key *key)
{
	char group[64];
	size_t glen = 0;

	if (key == NULL || EVP_PKEY_get_base_id(key->pkey) != EVP_PKEY_EC)
		return SB_EC_CURVE_OTHER;
	if (EVP_PKEY_get_utf8_string_param(key->pkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
	                                   sizeof(group), &glen) != 1)
		return SB_EC_CURVE_OTHER;
	if (strcmp(group, SN_secp384r1) == 0)
		return SB_EC_CURVE_P384;
	if (strcmp(group, SN_X9_62_prime256v1) == 0)
		return SB_EC_CURVE_P256;
	return SB_EC_CURVE_OTHER;
}

/* Appends everything written to bio (then freed) to out. */
static SB_RESULT bio_drain(BIO *bio, struct sb_buf *out)
{
	char *mem = NULL;
	long n = BIO_get_mem_data(bio, &mem);
	sb_result rc = SB_OK_RESULT;

	if (n <= 0 || mem == NULL)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	else
		rc = sb_buf_append(out, mem, (size_t)n);
	return rc;
}

SB_RESULT sb_ecdsa_key_to_pem(const struct sb_ecdsa_key *key, struct sb_buf *out)
{
	SB_ENSURE_REF(key);
	SB_ENSURE_REF(out);
	BIO *bio = BIO_new(BIO_s_secmem());
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	sb_result rc = SB_OK_RESULT;
	if (PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	else
		rc = bio_drain(bio, out);
	BIO_free(bio); /* secure-heap BIO: cleansed on free */
	return rc;
}

SB_RESULT sb_ecdsa_key_from_pem(struct sb_slice pem, struct sb_ecdsa_key **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(pem.len > 0 && pem.len <= INT_MAX, SB_ERR_INVALID_ARG);
	BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	SB_ENSURE_MSG(pkey != NULL, SB_ERR_BAD_KEY, "not a PEM private key");
	if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
		EVP_PKEY_free(pkey);
		SB_BAIL_MSG(SB_ERR_BAD_KEY, "not an EC key");
	}
	return ecdsa_key_wrap(pkey, out);
}

SB_RESULT sb_ecdsa_key_public_der(const struct sb_ecdsa_key *key, struct sb_buf *out)
{
	SB_ENSURE_REF(key);
	SB_ENSURE_REF(out);
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(key->pkey, &der);
	SB_ENSURE(n > 0, SB_ERR_CRYPTO);
	sb_result rc = sb_buf_append(out, der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

/* DER ECDSA-Sig-Value -> r||s, each left-padded to 48 bytes. */
static SB_RESULT sig_der_to_raw(const unsigned char *der, size_t der_len,
                                uint8_t raw[SB_ES384_SIG_LEN])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	SB_ENSURE(sig != NULL, SB_ERR_CRYPTO);
	const BIGNUM *r = NULL, *s = NULL;
	ECDSA_SIG_get0(sig, &r, &s);
	int ok =
	    BN_bn2binpad(r, raw, SB_P384_SCALAR_LEN) == SB_P384_SCALAR_LEN &&
	    BN_bn2binpad(s, raw + SB_P384_SCALAR_LEN, SB_P384_SCALAR_LEN) == SB_P384_SCALAR_LEN;
	ECDSA_SIG_free(sig);
	SB_ENSURE(ok, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

/* r||s -> DER (caller OPENSSL_free's *der). */
static SB_RESULT sig_raw_to_der(const uint8_t *raw, unsigned char **der, int *der_len)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, SB_P384_SCALAR_LEN, NULL);
	BIGNUM *s = BN_bin2bn(raw + SB_P384_SCALAR_LEN, SB_P384_SCALAR_LEN, NULL);

	if (sig == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		SB_BAIL(SB_ERR_NOMEM);
	}
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(sig, der);
	ECDSA_SIG_free(sig); /* frees r and s */
	SB_ENSURE(*der_len > 0, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

SB_RESULT sb_ecdsa_sign_es384(const struct sb_ecdsa_key *key, struct sb_slice msg,
                              uint8_t sig[SB_ES384_SIG_LEN])
{
	SB_ENSURE_REF(key);
	SB_ENSURE_REF(sig);
	SB_ENSURE_MSG(sb_ecdsa_key_curve(key) == SB_EC_CURVE_P384, SB_ERR_BAD_KEY,
	              "ES384 needs a P-384 key");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	unsigned char der[128];
	size_t der_len = sizeof(der);
	sb_result rc = SB_OK_RESULT;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, key->pkey) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, msg.ptr, msg.len) != 1)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	else
		rc = sig_der_to_raw(der, der_len, sig);
	EVP_MD_CTX_free(ctx);
	return rc;
}

SB_RESULT sb_ecdsa_verify_es384(const struct sb_ecdsa_key *key, struct sb_slice msg,
                                struct sb_slice sig, bool *valid)
{
	SB_ENSURE_REF(key);
	SB_ENSURE_REF(valid);
	*valid = false;
	SB_ENSURE_MSG(sb_ecdsa_key_curve(key) == SB_EC_CURVE_P384, SB_ERR_BAD_KEY,
	              "ES384 needs a P-384 key");
	SB_ENSURE_MSG(sig.len == SB_ES384_SIG_LEN, SB_ERR_INVALID_ARG,
	              "ES384 signature is %zu bytes, want 96", sig.len);
	unsigned char *der = NULL;
	int der_len = 0;
	SB_GUARD(sig_raw_to_der(sig.ptr, &der, &der_len));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	sb_result rc = SB_OK_RESULT;
	if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, key->pkey) != 1) {
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	} else {
		/* 1 = valid, 0 = invalid, <0 = malformed: all "not valid" for a verifier. */
		*valid = EVP_DigestVerify(ctx, der, (size_t)der_len, msg.ptr, msg.len) == 1;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	return rc;
}
