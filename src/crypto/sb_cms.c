/*
 * CMS EnvelopedData for KMS CiphertextForRecipient.
 *
 * Decryption goes through OpenSSL's CMS API after our own strict parse has
 * checked the shape. Building is done here with a few fixed encodings rather
 * than CMS_encrypt, because OpenSSL 3.0 cannot produce KMS's exact shape: it
 * needs a certificate for a KeyTransRecipientInfo and writes the SHA-256
 * AlgorithmIdentifiers without the NULL parameters KMS writes. Building it
 * by hand keeps sealbid-kms byte-compatible with real KMS, and lets the tests
 * decrypt our envelopes with OpenSSL's independent CMS code.
 */
#include "crypto/sb_cms.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "common/sb_mem.h"
#include "crypto/sb_aead.h"
#include "crypto/sb_random.h"

/* Content chunk size of the BER form (each chunk one OCTET STRING). */
#define CMS_CHUNK_LEN 1024
#define AES_BLOCK_LEN 16

/* ASN.1 identifier octets (X.690 8.1.2), all in the single-octet form. */
enum {
	TAG_INTEGER = 0x02,
	TAG_OCTET_STRING = 0x04,
	TAG_NULL = 0x05,
	TAG_OID = 0x06,
	TAG_SEQUENCE = 0x30,
	TAG_SET = 0x31,
	TAG_CTX0_PRIM = 0x80,
	TAG_CTX0_CONS = 0xa0,
	TAG_CTX1_CONS = 0xa1,
};
#define BER_CONSTRUCTED 0x20

/* DER contents of the object identifiers involved. */
static const uint8_t OID_ENVELOPED_DATA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03};
static const uint8_t OID_DATA[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01};
static const uint8_t OID_RSAES_OAEP[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07};
static const uint8_t OID_MGF1[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08};
static const uint8_t OID_SHA256[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01};
static const uint8_t OID_AES256_CBC[] = {0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a};
static const uint8_t CMS_VERSION_2[] = {0x02};

/*
 * keyEncryptionAlgorithm exactly as KMS writes it: rsaesOaep with
 * RSAES-OAEP-params { [0] sha256 (NULL params), [1] mgf1(sha256 (NULL
 * params)) } and the default empty label.
 */
static const uint8_t KMS_KEY_ENCRYPTION_ALG[] = {
    0x30, 0x3c, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07, 0x30, 0x2f, 0xa0,
    0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
    0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30,
    0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00,
};

void sb_cms_parts_init(struct sb_cms_parts *parts)
{
	memset(parts, 0, sizeof(*parts));
	sb_buf_init(&parts->encrypted_key, SB_RSA_MAX_MODULUS_LEN);
	sb_buf_init(&parts->encrypted_content, SB_CMS_MAX_LEN);
}

void sb_cms_parts_cleanup(struct sb_cms_parts *parts)
{
	if (parts == NULL)
		return;
	sb_buf_cleanup(&parts->encrypted_key);
	sb_buf_cleanup(&parts->encrypted_content);
}

/* ---- BER reading -------------------------------------------------------- */

/* A constructed element being read: definite (its reader ends with it) or
 * indefinite (it ends at the end-of-contents octets 00 00). */
struct ber {
	struct sb_reader r;
	bool indefinite;
};

static SB_RESULT ber_length(struct sb_reader *r, uint8_t first, size_t *len)
{
	uint8_t n = first & 0x7f, b;
	size_t v = 0;

	/* Nothing within SB_CMS_MAX_LEN needs more than three length octets. */
	SB_ENSURE_MSG(n >= 1 && n <= 3, SB_ERR_BAD_CMS, "length of %u octets", n);
	for (uint8_t i = 0; i < n; i++) {
		SB_GUARD(sb_reader_u8(r, &b));
		v = (v << 8) | b;
	}
	SB_ENSURE(v <= sb_reader_remaining(r), SB_ERR_TRUNCATED);
	*len = v;
	return SB_OK_RESULT;
}

/* Reads identifier and length octets; *indefinite for the 0x80 length. */
static SB_RESULT ber_header(struct sb_reader *r, uint8_t *tag, size_t *len, bool *indefinite)
{
	uint8_t t, l;

	SB_GUARD(sb_reader_u8(r, &t));
	/* X.690 8.1.2.4: tag number 31 starts the high-tag-number form, never used here. */
	SB_ENSURE_MSG((t & 0x1f) != 0x1f, SB_ERR_BAD_CMS, "high tag number form");
	SB_GUARD(sb_reader_u8(r, &l));
	*tag = t;
	*len = 0;
	*indefinite = false;
	if (l < 0x80) {
		*len = l;
		SB_ENSURE(*len <= sb_reader_remaining(r), SB_ERR_TRUNCATED);
		return SB_OK_RESULT;
	}
	if (l == 0x80) {
		/* X.690 8.1.3.2: "If the encoding is primitive, the sender shall use
		 * the definite form." */
		SB_ENSURE_MSG(t & BER_CONSTRUCTED, SB_ERR_BAD_CMS, "indefinite primitive");
		*indefinite = true;
		return SB_OK_RESULT;
	}
	return ber_length(r, l, len);
}

static bool ber_peek_tag(const struct ber *b, uint8_t *tag)
{
	struct sb_reader peek = b->r;

	if (sb_reader_remaining(&peek) == 0)
		return false;
	return sb_ok(sb_reader_u8(&peek, tag));
}

/* True at the end of b's contents (at its end-of-contents octets if indefinite). */
static bool ber_at_end(const struct ber *b)
{
	struct sb_reader peek = b->r;
	uint8_t eoc[2];

	if (!b->indefinite)
		return sb_reader_remaining(&peek) == 0;
	if (sb_reader_remaining(&peek) < 2 || !sb_ok(sb_reader_copy(&peek, eoc, 2)))
		return false;
	return eoc[0] == 0 && eoc[1] == 0;
}

/* A required element is absent (as opposed to the input being cut short). */
static SB_RESULT ber_need(const struct ber *b, uint8_t tag)
{
	SB_ENSURE_MSG(!ber_at_end(b), SB_ERR_BAD_CMS, "expected tag 0x%02x, found the end", tag);
	return SB_OK_RESULT;
}

/* Enters the next element of outer, which must be constructed with this tag. */
static SB_RESULT ber_enter(struct ber *outer, uint8_t tag, struct ber *inner)
{
	struct sb_slice body;
	size_t len;
	bool indefinite;
	uint8_t t;

	SB_GUARD(ber_need(outer, tag));
	SB_GUARD(ber_header(&outer->r, &t, &len, &indefinite));
	SB_ENSURE_MSG(t == tag, SB_ERR_BAD_CMS, "expected tag 0x%02x, found 0x%02x", tag, t);
	inner->indefinite = indefinite;
	if (indefinite) {
		/* Its end is found by reading it: inner sees the rest of outer and
		 * ber_leave moves outer past what inner consumed. */
		SB_GUARD(
		    sb_slice_sub(outer->r.in, outer->r.off, sb_reader_remaining(&outer->r), &body));
	} else {
		SB_GUARD(sb_reader_bytes(&outer->r, len, &body));
	}
	sb_reader_init(&inner->r, body);
	return SB_OK_RESULT;
}

/* Leaves inner, which must have been read completely. */
static SB_RESULT ber_leave(struct ber *outer, struct ber *inner)
{
	struct sb_slice skip;
	uint8_t eoc[2];

	if (!inner->indefinite) {
		SB_ENSURE_MSG(sb_reader_remaining(&inner->r) == 0, SB_ERR_BAD_CMS,
		              "unexpected element at end of a structure");
		return SB_OK_RESULT;
	}
	SB_GUARD(sb_reader_copy(&inner->r, eoc, sizeof(eoc)));
	SB_ENSURE_MSG(eoc[0] == 0 && eoc[1] == 0, SB_ERR_BAD_CMS,
	              "unexpected element at end of a structure");
	return sb_reader_bytes(&outer->r, inner->r.off, &skip);
}

/* Reads a primitive element with this tag. */
static SB_RESULT ber_prim(struct ber *b, uint8_t tag, struct sb_slice *value)
{
	size_t len;
	bool indefinite;
	uint8_t t;

	SB_GUARD(ber_need(b, tag));
	SB_GUARD(ber_header(&b->r, &t, &len, &indefinite));
	SB_ENSURE_MSG(t == tag, SB_ERR_BAD_CMS, "expected tag 0x%02x, found 0x%02x", tag, t);
	return sb_reader_bytes(&b->r, len, value);
}

/* Reads a primitive element that must equal want. */
static SB_RESULT ber_expect(struct ber *b, uint8_t tag, struct sb_slice want, const char *what)
{
	struct sb_slice v;

	SB_GUARD(ber_prim(b, tag, &v));
	SB_ENSURE_MSG(sb_slice_eq(v, want), SB_ERR_BAD_CMS, "%s", what);
	return SB_OK_RESULT;
}

#define SLICE_OF(a) SB_SLICE((a), sizeof(a))

/*
 * RFC 5754 2: "Implementations MUST accept SHA-224, SHA-256, SHA-384, and
 * SHA-512 AlgorithmIdentifiers with absent parameters. Implementations MUST
 * accept SHA-224, SHA-256, SHA-384, and SHA-512 AlgorithmIdentifiers with
 * NULL parameters." (KMS writes NULL, OpenSSL omits them.)
 */
static SB_RESULT parse_sha256_alg(struct ber *b)
{
	struct ber alg;

	SB_GUARD(ber_enter(b, TAG_SEQUENCE, &alg));
	SB_GUARD(ber_expect(&alg, TAG_OID, SLICE_OF(OID_SHA256), "OAEP hash is not SHA-256"));
	if (!ber_at_end(&alg))
		SB_GUARD(ber_expect(&alg, TAG_NULL, SB_SLICE(NULL, 0), "bad SHA-256 parameters"));
	return ber_leave(b, &alg);
}

/*
 * RFC 8017 A.2.1:
 *   RSAES-OAEP-params ::= SEQUENCE {
 *       hashAlgorithm      [0] HashAlgorithm     DEFAULT sha1,
 *       maskGenAlgorithm   [1] MaskGenAlgorithm  DEFAULT mgf1SHA1,
 *       pSourceAlgorithm   [2] PSourceAlgorithm  DEFAULT pSpecifiedEmpty }
 * KMS uses SHA-256, MGF1-SHA-256 and the empty label: the SHA-1 defaults
 * and labels are refused.
 */
static SB_RESULT parse_oaep_alg(struct ber *b)
{
	struct ber alg, params, hash, mgf, mgf_alg;

	SB_GUARD(ber_enter(b, TAG_SEQUENCE, &alg));
	SB_GUARD(ber_expect(&alg, TAG_OID, SLICE_OF(OID_RSAES_OAEP),
	                    "key encryption is not RSAES-OAEP"));
	SB_GUARD(ber_enter(&alg, TAG_SEQUENCE, &params));
	SB_GUARD(ber_enter(&params, TAG_CTX0_CONS, &hash));
	SB_GUARD(parse_sha256_alg(&hash));
	SB_GUARD(ber_leave(&params, &hash));
	SB_GUARD(ber_enter(&params, TAG_CTX1_CONS, &mgf));
	SB_GUARD(ber_enter(&mgf, TAG_SEQUENCE, &mgf_alg));
	SB_GUARD(ber_expect(&mgf_alg, TAG_OID, SLICE_OF(OID_MGF1), "OAEP mask is not MGF1"));
	SB_GUARD(parse_sha256_alg(&mgf_alg));
	SB_GUARD(ber_leave(&mgf, &mgf_alg));
	SB_GUARD(ber_leave(&params, &mgf));
	SB_ENSURE_MSG(ber_at_end(&params), SB_ERR_BAD_CMS, "OAEP label is not supported");
	SB_GUARD(ber_leave(&alg, &params));
	return ber_leave(b, &alg);
}

/*
 * RFC 5652 6.2.1: KeyTransRecipientInfo ::= SEQUENCE { version CMSVersion,
 * rid RecipientIdentifier, keyEncryptionAlgorithm, encryptedKey }.
 * "If the RecipientIdentifier is subjectKeyIdentifier, then the version
 * MUST be 2." KMS sends exactly one, identified by subjectKeyIdentifier.
 */
static SB_RESULT parse_recipient_infos(struct ber *env, struct sb_cms_parts *out)
{
	struct ber set, ktri;
	struct sb_slice ski, key;

	SB_GUARD(ber_enter(env, TAG_SET, &set));
	SB_GUARD(ber_enter(&set, TAG_SEQUENCE, &ktri));
	SB_GUARD(ber_expect(&ktri, TAG_INTEGER, SLICE_OF(CMS_VERSION_2),
	                    "KeyTransRecipientInfo version is not 2"));
	SB_GUARD(ber_prim(&ktri, TAG_CTX0_PRIM, &ski));
	SB_ENSURE_MSG(ski.len == SB_CMS_SKI_LEN, SB_ERR_BAD_CMS,
	              "subjectKeyIdentifier of %zu bytes", ski.len);
	memcpy(out->ski, ski.ptr, SB_CMS_SKI_LEN);
	SB_GUARD(parse_oaep_alg(&ktri));
	SB_GUARD(ber_prim(&ktri, TAG_OCTET_STRING, &key));
	SB_ENSURE_MSG(key.len >= SB_RSA_MIN_BITS / 8 && key.len <= SB_RSA_MAX_MODULUS_LEN,
	              SB_ERR_BAD_CMS, "encryptedKey of %zu bytes", key.len);
	SB_GUARD(sb_buf_set(&out->encrypted_key, key));
	SB_GUARD(ber_leave(&set, &ktri));
	SB_ENSURE_MSG(ber_at_end(&set), SB_ERR_BAD_CMS, "more than one recipient");
	return ber_leave(env, &set);
}

/*
 * encryptedContent [0] IMPLICIT OCTET STRING: primitive in DER, or (X.690
 * 8.7.3) constructed of OCTET STRING segments, as KMS sends it.
 */
static SB_RESULT parse_encrypted_content(struct ber *eci, struct sb_cms_parts *out)
{
	struct ber chunks;
	struct sb_slice part;
	uint8_t tag;

	SB_ENSURE_MSG(ber_peek_tag(eci, &tag), SB_ERR_BAD_CMS, "no encrypted content");
	if (tag == TAG_CTX0_PRIM) {
		SB_GUARD(ber_prim(eci, TAG_CTX0_PRIM, &part));
		SB_GUARD(sb_buf_append_slice(&out->encrypted_content, part));
	} else {
		SB_GUARD(ber_enter(eci, TAG_CTX0_CONS, &chunks));
		while (!ber_at_end(&chunks)) {
			SB_GUARD(ber_prim(&chunks, TAG_OCTET_STRING, &part));
			SB_GUARD(sb_buf_append_slice(&out->encrypted_content, part));
		}
		SB_GUARD(ber_leave(eci, &chunks));
	}
	/* CBC with PKCS#7 padding: always at least one whole block. */
	SB_ENSURE_MSG(out->encrypted_content.len > 0 &&
	                  out->encrypted_content.len % AES_BLOCK_LEN == 0,
	              SB_ERR_BAD_CMS, "encrypted content of %zu bytes", out->encrypted_content.len);
	return SB_OK_RESULT;
}

/*
 * RFC 5652 6.1: EncryptedContentInfo ::= SEQUENCE { contentType,
 * contentEncryptionAlgorithm, encryptedContent [0] IMPLICIT OPTIONAL }.
 * RFC 3565 4.1: the AES-CBC parameters are "AES-IV ::= OCTET STRING (SIZE(16))".
 */
static SB_RESULT parse_encrypted_content_info(struct ber *env, struct sb_cms_parts *out)
{
	struct ber eci, alg;
	struct sb_slice iv;

	SB_GUARD(ber_enter(env, TAG_SEQUENCE, &eci));
	SB_GUARD(ber_expect(&eci, TAG_OID, SLICE_OF(OID_DATA), "content type is not id-data"));
	SB_GUARD(ber_enter(&eci, TAG_SEQUENCE, &alg));
	SB_GUARD(ber_expect(&alg, TAG_OID, SLICE_OF(OID_AES256_CBC),
	                    "content encryption is not AES-256-CBC"));
	SB_GUARD(ber_prim(&alg, TAG_OCTET_STRING, &iv));
	SB_ENSURE_MSG(iv.len == SB_CMS_IV_LEN, SB_ERR_BAD_CMS, "IV of %zu bytes", iv.len);
	memcpy(out->iv, iv.ptr, SB_CMS_IV_LEN);
	SB_GUARD(ber_leave(&eci, &alg));
	SB_GUARD(parse_encrypted_content(&eci, out));
	return ber_leave(env, &eci);
}

/*
 * RFC 5652 3: ContentInfo ::= SEQUENCE { contentType, content [0] EXPLICIT }
 * RFC 5652 6.1: EnvelopedData ::= SEQUENCE { version, originatorInfo [0]
 * IMPLICIT OPTIONAL, recipientInfos, encryptedContentInfo, unprotectedAttrs
 * [1] IMPLICIT OPTIONAL }. KMS sends version 2 and neither optional field.
 */
static SB_RESULT parse_content_info(struct ber *top, struct sb_cms_parts *out)
{
	struct ber ci, explicit0, env;

	SB_GUARD(ber_enter(top, TAG_SEQUENCE, &ci));
	SB_GUARD(ber_expect(&ci, TAG_OID, SLICE_OF(OID_ENVELOPED_DATA),
	                    "content type is not EnvelopedData"));
	SB_GUARD(ber_enter(&ci, TAG_CTX0_CONS, &explicit0));
	SB_GUARD(ber_enter(&explicit0, TAG_SEQUENCE, &env));
	SB_GUARD(ber_expect(&env, TAG_INTEGER, SLICE_OF(CMS_VERSION_2),
	                    "EnvelopedData version is not 2"));
	SB_GUARD(parse_recipient_infos(&env, out));
	SB_GUARD(parse_encrypted_content_info(&env, out));
	SB_GUARD(ber_leave(&explicit0, &env));
	SB_GUARD(ber_leave(&ci, &explicit0));
	return ber_leave(top, &ci);
}

SB_RESULT sb_cms_parse(struct sb_slice cms, struct sb_cms_parts *out)
{
	struct ber top = {.indefinite = false};
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE(cms.ptr != NULL || cms.len == 0, SB_ERR_NULL);
	sb_buf_reset(&out->encrypted_key);
	sb_buf_reset(&out->encrypted_content);
	SB_ENSURE_MSG(cms.len <= SB_CMS_MAX_LEN, SB_ERR_TOO_LARGE, "CMS of %zu bytes (max %d)",
	              cms.len, SB_CMS_MAX_LEN);
	SB_ENSURE_MSG(cms.len > 0, SB_ERR_TRUNCATED, "empty CMS");
	sb_reader_init(&top.r, cms);
	rc = parse_content_info(&top, out);
	if (sb_ok(rc) && sb_reader_remaining(&top.r) != 0)
		rc = sb_error_recordf(SB_ERR_TRAILING, SB_HERE, "%zu bytes after the CMS",
		                      sb_reader_remaining(&top.r));
	if (!sb_ok(rc)) {
		sb_buf_reset(&out->encrypted_key);
		sb_buf_reset(&out->encrypted_content);
		memset(out->ski, 0, sizeof(out->ski));
		memset(out->iv, 0, sizeof(out->iv));
	}
	return rc;
}

/* ---- Decryption --------------------------------------------------------- */

/*
 * Unwraps the content key of the one KeyTransRecipientInfo with pkey. Done
 * as its own step (rather than CMS_decrypt with a key) so that a wrong key is
 * reported as such. CMS_DEBUG_DECRYPT, set on ci beforehand, makes a failure
 * an error: without it OpenSSL answers a wrong key with a random content key
 * and returns garbage as if it had succeeded, the countermeasure against the
 * million-message attack on PKCS#1 v1.5. It has nothing to protect here: the
 * parse admits only RSAES-OAEP, whose decryption has a single failure and no
 * padding oracle (RFC 8017 7.1.2 note).
 */
static SB_RESULT cms_unwrap_key(CMS_ContentInfo *ci, EVP_PKEY *pkey)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(ci);
	CMS_RecipientInfo *ri;
	int ok;

	SB_ENSURE_MSG(ris != NULL && sk_CMS_RecipientInfo_num(ris) == 1, SB_ERR_BAD_CMS,
	              "not exactly one recipient");
	ri = sk_CMS_RecipientInfo_value(ris, 0);
	SB_ENSURE_MSG(CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_TRANS, SB_ERR_BAD_CMS,
	              "recipient is not KeyTransRecipientInfo");
	/* set0 takes a reference and setting NULL drops it again. */
	SB_ENSURE(EVP_PKEY_up_ref(pkey) == 1, SB_ERR_CRYPTO);
	if (CMS_RecipientInfo_set0_pkey(ri, pkey) != 1) {
		EVP_PKEY_free(pkey);
		SB_BAIL(SB_ERR_CRYPTO);
	}
	ok = CMS_RecipientInfo_decrypt(ci, ri) == 1;
	(void)CMS_RecipientInfo_set0_pkey(ri, NULL);
	SB_ENSURE_MSG(ok, SB_ERR_DECRYPT, "the content key does not decrypt with this key");
	return SB_OK_RESULT;
}

/* Decrypts the content with the unwrapped key into a secure-memory BIO,
 * whose storage is cleansed when it is freed. */
static SB_RESULT cms_decrypt_content(CMS_ContentInfo *ci, struct sb_buf *out)
{
	BIO *plain = BIO_new(BIO_s_secmem());
	sb_result rc = SB_OK_RESULT;
	char *data = NULL;
	long n;

	SB_ENSURE(plain != NULL, SB_ERR_NOMEM);
	if (CMS_decrypt(ci, NULL, NULL, NULL, plain, CMS_BINARY | CMS_DEBUG_DECRYPT) != 1)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_DECRYPT, out, "the content does not decrypt");
	n = BIO_get_mem_data(plain, &data);
	if (n < 0 || (n > 0 && data == NULL))
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	rc = sb_buf_append(out, data, (size_t)n);
out:
	BIO_free(plain);
	return rc;
}

static SB_RESULT cms_openssl_decrypt(EVP_PKEY *pkey, struct sb_slice cms, struct sb_buf *out)
{
	const unsigned char *p = cms.ptr;
	CMS_ContentInfo *ci = NULL;
	sb_result rc = SB_OK_RESULT;

	ci = d2i_CMS_ContentInfo(NULL, &p, (long)cms.len);
	if (ci == NULL || p != cms.ptr + cms.len ||
	    OBJ_obj2nid(CMS_get0_type(ci)) != NID_pkcs7_enveloped)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_CMS, out, "OpenSSL cannot read the EnvelopedData");
	/* With no key, no certificate and no output this only sets the flags. */
	if (CMS_decrypt(ci, NULL, NULL, NULL, NULL, CMS_DEBUG_DECRYPT) != 1)
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	SB_GUARD_GOTO(rc, cms_unwrap_key(ci, pkey), out);
	rc = cms_decrypt_content(ci, out);
out:
	ERR_clear_error();
	CMS_ContentInfo_free(ci);
	return rc;
}

SB_RESULT sb_cms_decrypt(const struct sb_rsa_key *key, struct sb_slice cms, struct sb_buf *out)
{
	struct sb_cms_parts parts;
	size_t key_len;
	sb_result rc;

	SB_ENSURE(key != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(out->secret, SB_ERR_INVALID_ARG, "plaintext needs a secret buffer");
	SB_ENSURE_MSG(sb_rsa_key_has_private(key), SB_ERR_BAD_KEY, "public key only");
	sb_cms_parts_init(&parts);
	rc = sb_cms_parse(cms, &parts);
	key_len = parts.encrypted_key.len;
	sb_cms_parts_cleanup(&parts);
	SB_GUARD(rc);
	/* The rid is not compared: KMS does not document how it derives it. A
	 * key of another size cannot be the recipient. */
	SB_ENSURE_MSG(key_len == sb_rsa_key_size(key), SB_ERR_DECRYPT,
	              "encrypted for a %zu-bit key", key_len * 8);
	return cms_openssl_decrypt(sb_rsa_key_evp(key), cms, out);
}

/* ---- Building ----------------------------------------------------------- */

/* Size of a definite-length header for len (X.690 8.1.3.4/8.1.3.5, minimal). */
static size_t der_header_len(size_t len)
{
	if (len < 0x80)
		return 2;
	if (len <= 0xff)
		return 3;
	if (len <= 0xffff)
		return 4;
	return 5;
}

static size_t der_tlv_len(size_t len)
{
	return der_header_len(len) + len;
}

static SB_RESULT der_header(struct sb_buf *b, uint8_t tag, size_t len)
{
	SB_GUARD(sb_buf_append_u8(b, tag));
	if (len < 0x80)
		return sb_buf_append_u8(b, (uint8_t)len);
	if (len <= 0xff) {
		SB_GUARD(sb_buf_append_u8(b, 0x81));
		return sb_buf_append_u8(b, (uint8_t)len);
	}
	if (len <= 0xffff) {
		SB_GUARD(sb_buf_append_u8(b, 0x82));
		return sb_buf_append_be16(b, (uint16_t)len);
	}
	SB_ENSURE(len <= 0xffffff, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_buf_append_u8(b, 0x83));
	SB_GUARD(sb_buf_append_u8(b, (uint8_t)(len >> 16)));
	return sb_buf_append_be16(b, (uint16_t)len);
}

static SB_RESULT der_tlv(struct sb_buf *b, uint8_t tag, struct sb_slice v)
{
	SB_GUARD(der_header(b, tag, v.len));
	return sb_buf_append_slice(b, v);
}

/* Indefinite-length header (X.690 8.1.3.6) and its end-of-contents octets. */
static SB_RESULT ber_open(struct sb_buf *b, uint8_t tag)
{
	SB_GUARD(sb_buf_append_u8(b, tag));
	return sb_buf_append_u8(b, 0x80);
}

static SB_RESULT ber_close(struct sb_buf *b, unsigned count)
{
	for (unsigned i = 0; i < count; i++)
		SB_GUARD(sb_buf_append_be16(b, 0));
	return SB_OK_RESULT;
}

/* The material of one envelope: wrapped key, IV, ciphertext, rid. */
struct envelope {
	uint8_t ski[SB_CMS_SKI_LEN];
	uint8_t iv[SB_CMS_IV_LEN];
	struct sb_buf encrypted_key;
	struct sb_buf content;
};

static SB_RESULT aes256cbc_encrypt(const uint8_t *key, const uint8_t *iv, struct sb_slice in,
                                   struct sb_buf *out)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, fin = 0, ok;

	SB_ENSURE(in.len <= INT_MAX - AES_BLOCK_LEN, SB_ERR_TOO_LARGE);
	SB_GUARD(sb_buf_reserve(out, in.len + AES_BLOCK_LEN));
	ctx = EVP_CIPHER_CTX_new();
	SB_ENSURE(ctx != NULL, SB_ERR_NOMEM);
	/* PKCS#7 padding is EVP's default (RFC 5652 6.3 content padding). */
	ok = EVP_EncryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv) == 1 &&
	     EVP_EncryptUpdate(ctx, sb_buf_tail(out), &n, in.ptr, (int)in.len) == 1 &&
	     EVP_EncryptFinal_ex(ctx, sb_buf_tail(out) + n, &fin) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		ERR_clear_error();
		SB_BAIL(SB_ERR_CRYPTO);
	}
	return sb_buf_commit(out, out->len + (size_t)n + (size_t)fin);
}

/* Fresh content key and IV; encrypts the content and wraps the key. */
static SB_RESULT envelope_seal(const struct sb_rsa_key *recipient, struct sb_slice plaintext,
                               struct envelope *env)
{
	uint8_t cek[SB_AES256_KEY_LEN];
	sb_result rc;

	SB_GUARD(sb_rsa_key_ski(recipient, env->ski));
	SB_GUARD(sb_random_bytes(env->iv, sizeof(env->iv)));
	SB_GUARD(sb_random_bytes(cek, sizeof(cek)));
	SB_GUARD_GOTO(rc, aes256cbc_encrypt(cek, env->iv, plaintext, &env->content), out);
	rc = sb_rsa_oaep_encrypt(recipient, SB_SLICE(cek, sizeof(cek)), &env->encrypted_key);
out:
	sb_wipe(cek, sizeof(cek));
	return rc;
}

/* Contents length of the KeyTransRecipientInfo SEQUENCE. */
static size_t ktri_len(const struct envelope *env)
{
	return der_tlv_len(sizeof(CMS_VERSION_2)) + der_tlv_len(SB_CMS_SKI_LEN) +
	       sizeof(KMS_KEY_ENCRYPTION_ALG) + der_tlv_len(env->encrypted_key.len);
}

/* SET { KeyTransRecipientInfo } as KMS writes it (definite lengths). */
static SB_RESULT write_recipient_infos(struct sb_buf *b, const struct envelope *env)
{
	SB_GUARD(der_header(b, TAG_SET, der_tlv_len(ktri_len(env))));
	SB_GUARD(der_header(b, TAG_SEQUENCE, ktri_len(env)));
	SB_GUARD(der_tlv(b, TAG_INTEGER, SLICE_OF(CMS_VERSION_2)));
	SB_GUARD(der_tlv(b, TAG_CTX0_PRIM, SLICE_OF(env->ski)));
	SB_GUARD(sb_buf_append(b, KMS_KEY_ENCRYPTION_ALG, sizeof(KMS_KEY_ENCRYPTION_ALG)));
	return der_tlv(b, TAG_OCTET_STRING, sb_buf_slice(&env->encrypted_key));
}

static size_t recipient_infos_len(const struct envelope *env)
{
	return der_tlv_len(der_tlv_len(ktri_len(env)));
}

/* SEQUENCE { aes-256-cbc, IV } */
static SB_RESULT write_content_alg(struct sb_buf *b, const struct envelope *env)
{
	SB_GUARD(der_header(b, TAG_SEQUENCE,
	                    der_tlv_len(sizeof(OID_AES256_CBC)) + der_tlv_len(SB_CMS_IV_LEN)));
	SB_GUARD(der_tlv(b, TAG_OID, SLICE_OF(OID_AES256_CBC)));
	return der_tlv(b, TAG_OCTET_STRING, SLICE_OF(env->iv));
}

#define CONTENT_ALG_LEN                                                                            \
	der_tlv_len(der_tlv_len(sizeof(OID_AES256_CBC)) + der_tlv_len(SB_CMS_IV_LEN))

/* The KMS form: indefinite lengths down to the chunked encrypted content. */
static SB_RESULT write_ber_indefinite(struct sb_buf *b, const struct envelope *env)
{
	struct sb_slice content = sb_buf_slice(&env->content), chunk;

	SB_GUARD(ber_open(b, TAG_SEQUENCE));
	SB_GUARD(der_tlv(b, TAG_OID, SLICE_OF(OID_ENVELOPED_DATA)));
	SB_GUARD(ber_open(b, TAG_CTX0_CONS));
	SB_GUARD(ber_open(b, TAG_SEQUENCE));
	SB_GUARD(der_tlv(b, TAG_INTEGER, SLICE_OF(CMS_VERSION_2)));
	SB_GUARD(write_recipient_infos(b, env));
	SB_GUARD(ber_open(b, TAG_SEQUENCE));
	SB_GUARD(der_tlv(b, TAG_OID, SLICE_OF(OID_DATA)));
	SB_GUARD(write_content_alg(b, env));
	SB_GUARD(ber_open(b, TAG_CTX0_CONS));
	for (size_t off = 0; off < content.len; off += chunk.len) {
		size_t n = content.len - off < CMS_CHUNK_LEN ? content.len - off : CMS_CHUNK_LEN;
		SB_GUARD(sb_slice_sub(content, off, n, &chunk));
		SB_GUARD(der_tlv(b, TAG_OCTET_STRING, chunk));
	}
	/* [0] content, EncryptedContentInfo, EnvelopedData, [0], ContentInfo */
	return ber_close(b, 5);
}

/* DER: the same structure with definite lengths and primitive content. */
static SB_RESULT write_der(struct sb_buf *b, const struct envelope *env)
{
	size_t eci_len =
	    der_tlv_len(sizeof(OID_DATA)) + CONTENT_ALG_LEN + der_tlv_len(env->content.len);
	size_t env_len =
	    der_tlv_len(sizeof(CMS_VERSION_2)) + recipient_infos_len(env) + der_tlv_len(eci_len);
	size_t ci_len = der_tlv_len(sizeof(OID_ENVELOPED_DATA)) + der_tlv_len(der_tlv_len(env_len));

	SB_GUARD(der_header(b, TAG_SEQUENCE, ci_len));
	SB_GUARD(der_tlv(b, TAG_OID, SLICE_OF(OID_ENVELOPED_DATA)));
	SB_GUARD(der_header(b, TAG_CTX0_CONS, der_tlv_len(env_len)));
	SB_GUARD(der_header(b, TAG_SEQUENCE, env_len));
	SB_GUARD(der_tlv(b, TAG_INTEGER, SLICE_OF(CMS_VERSION_2)));
	SB_GUARD(write_recipient_infos(b, env));
	SB_GUARD(der_header(b, TAG_SEQUENCE, eci_len));
	SB_GUARD(der_tlv(b, TAG_OID, SLICE_OF(OID_DATA)));
	SB_GUARD(write_content_alg(b, env));
	return der_tlv(b, TAG_CTX0_PRIM, sb_buf_slice(&env->content));
}

static SB_RESULT write_envelope(struct sb_buf *b, const struct envelope *env, enum sb_cms_form form)
{
	switch (form) {
	case SB_CMS_FORM_BER_INDEFINITE:
		return write_ber_indefinite(b, env);
	case SB_CMS_FORM_DER:
		return write_der(b, env);
	default:
		SB_BAIL_MSG(SB_ERR_INVALID_ARG, "unknown CMS form %d", (int)form);
	}
}

SB_RESULT sb_cms_envelope_for_recipient_form(const struct sb_rsa_key *recipient,
                                             struct sb_slice plaintext, enum sb_cms_form form,
                                             struct sb_buf *out)
{
	struct envelope env = {
	    .encrypted_key = SB_BUF_INIT(SB_RSA_MAX_MODULUS_LEN),
	    .content = SB_BUF_INIT(SB_CMS_MAX_LEN),
	};
	struct sb_buf msg = SB_BUF_INIT(SB_CMS_MAX_LEN);
	sb_result rc;

	SB_ENSURE(recipient != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE(plaintext.ptr != NULL || plaintext.len == 0, SB_ERR_NULL);
	SB_ENSURE_MSG(form == SB_CMS_FORM_BER_INDEFINITE || form == SB_CMS_FORM_DER,
	              SB_ERR_INVALID_ARG, "unknown CMS form %d", (int)form);
	SB_ENSURE_MSG(plaintext.len <= SB_CMS_MAX_PLAINTEXT, SB_ERR_TOO_LARGE,
	              "plaintext of %zu bytes (max %d)", plaintext.len, SB_CMS_MAX_PLAINTEXT);
	SB_GUARD_GOTO(rc, envelope_seal(recipient, plaintext, &env), out);
	SB_GUARD_GOTO(rc, write_envelope(&msg, &env, form), out);
	rc = sb_buf_append_slice(out, sb_buf_slice(&msg));
out:
	sb_buf_cleanup(&msg);
	sb_buf_cleanup(&env.encrypted_key);
	sb_buf_cleanup(&env.content);
	return rc;
}

SB_RESULT sb_cms_envelope_for_recipient(const struct sb_rsa_key *recipient,
                                        struct sb_slice plaintext, struct sb_buf *out)
{
	return sb_cms_envelope_for_recipient_form(recipient, plaintext, SB_CMS_FORM_BER_INDEFINITE,
	                                          out);
}
