/*
 * RSA keys for the KMS `Recipient` exchange: the enclave generates an
 * ephemeral RSA-2048 key pair, puts the public key (DER SubjectPublicKeyInfo)
 * in the attestation document's public_key field, and decrypts KMS's
 * CiphertextForRecipient with the private key. sealbid-kms imports that
 * public key from the document and encrypts to it.
 *
 * Padding is always RSAES-OAEP with SHA-256 and MGF1-SHA-256, which is what
 * KMS calls RSAES_OAEP_SHA_256 (Recipient: "The only valid encryption
 * algorithm is RSAES_OAEP_SHA_256.").
 *
 * struct sb_rsa_key is opaque and heap-allocated: every constructor hands the
 * caller a key that the caller frees with sb_rsa_key_free. Keys are immutable
 * once built, so a const key may be shared between threads.
 */
#ifndef SB_RSA_H
#define SB_RSA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

/* Smallest modulus accepted anywhere (generation and import). */
#define SB_RSA_MIN_BITS 2048
/* Largest modulus accepted: bounds the cost of work an attacker can ask for. */
#define SB_RSA_MAX_BITS 8192
/* The size the enclave uses for its ephemeral key. */
#define SB_RSA_DEFAULT_BITS 2048
/* Upper bounds of encodings, for sizing buffers. */
#define SB_RSA_MAX_SPKI_DER_LEN 2048
#define SB_RSA_MAX_PEM_LEN      (16 * 1024)
/* Largest ciphertext/modulus in bytes (SB_RSA_MAX_BITS / 8). */
#define SB_RSA_MAX_MODULUS_LEN (SB_RSA_MAX_BITS / 8)
/* The recipient identifier KMS puts in the CMS rid: 32 bytes (SHA-256). */
#define SB_RSA_SKI_LEN SB_SHA256_LEN

struct sb_rsa_key;

/*
 * Generates a fresh key pair of `bits` (SB_RSA_MIN_BITS..SB_RSA_MAX_BITS, a
 * multiple of 8) with public exponent 65537. Caller frees *out.
 */
SB_RESULT sb_rsa_key_new(unsigned bits, struct sb_rsa_key **out);
/* Frees the key (the private part is cleared by OpenSSL). NULL-safe. */
void sb_rsa_key_free(struct sb_rsa_key *key);

/*
 * Imports a public key from DER SubjectPublicKeyInfo (as found in an
 * attestation document's public_key). Borrows der. Rejects anything that is
 * not exactly one RSA SubjectPublicKeyInfo (trailing bytes included) and
 * moduli outside SB_RSA_MIN_BITS..SB_RSA_MAX_BITS (SB_ERR_BAD_KEY).
 * Caller frees *out.
 */
SB_RESULT sb_rsa_key_from_public_der(struct sb_slice der, struct sb_rsa_key **out);
/*
 * Imports a private key from unencrypted PEM ("PRIVATE KEY" PKCS#8 or
 * "RSA PRIVATE KEY"). Borrows pem (a secret: the caller wipes it). Same size
 * rules as above. For tests and tooling. Caller frees *out.
 */
SB_RESULT sb_rsa_key_from_private_pem(struct sb_slice pem, struct sb_rsa_key **out);

/* Appends the public key as DER SubjectPublicKeyInfo to out. Borrows key. */
SB_RESULT sb_rsa_key_public_der(const struct sb_rsa_key *key, struct sb_buf *out);
/*
 * Appends the private key as unencrypted PKCS#8 PEM to out, which must be a
 * secret buffer (SB_ERR_INVALID_ARG otherwise). SB_ERR_BAD_KEY for a
 * public-only key.
 */
SB_RESULT sb_rsa_key_private_pem(const struct sb_rsa_key *key, struct sb_buf *out);

bool sb_rsa_key_has_private(const struct sb_rsa_key *key);
/* Modulus size in bits (0 for NULL). */
unsigned sb_rsa_key_bits(const struct sb_rsa_key *key);
/* Modulus size in bytes: the length of every ciphertext (0 for NULL). */
size_t sb_rsa_key_size(const struct sb_rsa_key *key);

/*
 * The 32-byte subjectKeyIdentifier sealbid puts in the CMS
 * KeyTransRecipientInfo rid for this key: SHA-256 of the DER
 * SubjectPublicKeyInfo, i.e. of the exact public_key bytes of the
 * attestation document. (Real KMS also sends 32 bytes but does not document
 * the derivation, so decryption never depends on it.)
 */
SB_RESULT sb_rsa_key_ski(const struct sb_rsa_key *key, uint8_t out[SB_RSA_SKI_LEN]);

/*
 * RSAES-OAEP (SHA-256, MGF1-SHA-256, empty label). Encrypt appends exactly
 * sb_rsa_key_size(key) bytes to out; plaintext must fit (size - 66 bytes,
 * SB_ERR_TOO_LARGE otherwise). Decrypt needs the private key and appends the
 * plaintext to out, which must be a secret buffer (SB_ERR_INVALID_ARG
 * otherwise); any failure is SB_ERR_DECRYPT with nothing appended. Both
 * borrow their inputs.
 */
SB_RESULT sb_rsa_oaep_encrypt(const struct sb_rsa_key *key, struct sb_slice plaintext,
                              struct sb_buf *out);
SB_RESULT sb_rsa_oaep_decrypt(const struct sb_rsa_key *key, struct sb_slice ciphertext,
                              struct sb_buf *out);

/*
 * For src/crypto only (sb_cms): the key's OpenSSL EVP_PKEY, borrowed; the
 * key keeps ownership. Declared with OpenSSL's struct tag so this header
 * does not pull OpenSSL into other layers.
 */
struct evp_pkey_st;
struct evp_pkey_st *sb_rsa_key_evp(const struct sb_rsa_key *key);

#endif
