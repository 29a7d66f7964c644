/*
 * CMS EnvelopedData (RFC 5652) as AWS KMS returns it in
 * CiphertextForRecipient: "The plaintext data encrypted with the public key
 * from the attestation document. This ciphertext can be decrypted only by
 * using a private key from the attested environment." Its shape, from real
 * KMS output:
 *
 *   ContentInfo { id-envelopedData, [0] EnvelopedData {
 *     version 2,
 *     recipientInfos SET { KeyTransRecipientInfo {
 *       version 2, rid [0] subjectKeyIdentifier (32 bytes),
 *       keyEncryptionAlgorithm rsaesOaep(SHA-256, MGF1-SHA-256),
 *       encryptedKey OCTET STRING (modulus size) } },
 *     encryptedContentInfo { id-data, aes-256-cbc(IV 16 bytes),
 *       [0] encryptedContent (constructed: OCTET STRING chunks) } } }
 *
 * BER with indefinite lengths. This module builds that shape (for
 * sealbid-kms), decrypts it (in the enclave) and parses it for inspection.
 * Every input is bounded by SB_CMS_MAX_LEN.
 */
#ifndef SB_CMS_H
#define SB_CMS_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_rsa.h"

/* Largest CMS message accepted or produced. */
#define SB_CMS_MAX_LEN (64 * 1024)
/* Largest plaintext: leaves room for the envelope around it in SB_CMS_MAX_LEN. */
#define SB_CMS_MAX_PLAINTEXT (48 * 1024)
#define SB_CMS_SKI_LEN       SB_RSA_SKI_LEN
#define SB_CMS_IV_LEN        16

enum sb_cms_form {
	/* BER, indefinite lengths, content in OCTET STRING chunks: as KMS sends. */
	SB_CMS_FORM_BER_INDEFINITE,
	/* DER (definite lengths, one primitive encryptedContent); also valid BER. */
	SB_CMS_FORM_DER,
};

/*
 * Encrypts plaintext (up to SB_CMS_MAX_PLAINTEXT bytes, may be empty) to the
 * recipient's public key exactly as KMS does: a fresh AES-256 content key and
 * IV, the content key wrapped with RSAES-OAEP-SHA256, rid = the key's
 * subjectKeyIdentifier (sb_rsa_key_ski). Appends the BER-indefinite form
 * (SB_CMS_FORM_BER_INDEFINITE) to out. Borrows recipient and plaintext.
 */
SB_RESULT sb_cms_envelope_for_recipient(const struct sb_rsa_key *recipient,
                                        struct sb_slice plaintext, struct sb_buf *out);
/* The same, choosing the encoding. */
SB_RESULT sb_cms_envelope_for_recipient_form(const struct sb_rsa_key *recipient,
                                             struct sb_slice plaintext, enum sb_cms_form form,
                                             struct sb_buf *out);

/*
 * Decrypts a CiphertextForRecipient with the private key. Borrows key and
 * cms. The structure is checked first (sb_cms_parse rules: EnvelopedData,
 * exactly one KTRI with rsaesOaep SHA-256/MGF1-SHA-256, AES-256-CBC); a
 * mismatch is SB_ERR_BAD_CMS. A key that does not unwrap the content key
 * (the wrong key) or content whose padding is wrong is SB_ERR_DECRYPT; a
 * public-only key is SB_ERR_BAD_KEY. The plaintext is appended to out, which
 * must be a secret buffer (SB_ERR_INVALID_ARG otherwise; SB_ERR_TOO_LARGE
 * past its max); on any failure nothing is appended.
 *
 * AES-CBC is not authenticated: modified content can still decrypt (to
 * garbage with valid padding). The integrity of a CiphertextForRecipient
 * comes from the TLS session with KMS, which ends inside the enclave.
 * The rid is not compared with the key: KMS does not document how it
 * derives it.
 */
SB_RESULT sb_cms_decrypt(const struct sb_rsa_key *key, struct sb_slice cms, struct sb_buf *out);

/*
 * The fields of a CiphertextForRecipient, for inspection and tests.
 * Caller storage: sb_cms_parts_init, sb_cms_parse, sb_cms_parts_cleanup.
 * All fields are owned copies (nothing borrows the input).
 */
struct sb_cms_parts {
	uint8_t ski[SB_CMS_SKI_LEN];     /* rid subjectKeyIdentifier */
	uint8_t iv[SB_CMS_IV_LEN];       /* aes-256-cbc IV */
	struct sb_buf encrypted_key;     /* KTRI encryptedKey (modulus size) */
	struct sb_buf encrypted_content; /* all OCTET STRING chunks, concatenated */
};

void sb_cms_parts_init(struct sb_cms_parts *parts);
/* Frees the buffers; parts may be reused after sb_cms_parts_init. NULL-safe. */
void sb_cms_parts_cleanup(struct sb_cms_parts *parts);

/*
 * Strictly parses cms (BER or DER, at most SB_CMS_MAX_LEN bytes) into out,
 * which must have been initialised (previous contents are replaced). Accepts
 * only the shape above: ContentInfo(envelopedData), EnvelopedData v2 without
 * originatorInfo or unprotectedAttrs, exactly one KeyTransRecipientInfo v2
 * with a 32-byte subjectKeyIdentifier, rsaesOaep with SHA-256 and
 * MGF1-SHA-256 (empty label), an encryptedKey of 256..1024 bytes, id-data
 * content with aes-256-cbc and a 16-byte IV, encrypted content a non-empty
 * multiple of 16 bytes; no trailing bytes. Errors: SB_ERR_BAD_CMS (shape),
 * SB_ERR_TRUNCATED, SB_ERR_TRAILING, SB_ERR_TOO_LARGE.
 */
SB_RESULT sb_cms_parse(struct sb_slice cms, struct sb_cms_parts *out);

#endif
