/*
 * ECDSA keys over OpenSSL (the only place besides sb_x509 that touches EC
 * keys). Signatures use the COSE/JOSE raw form r||s (RFC 9053 §2.1: "the
 * signature is the concatenation of r and s, each ... left-padded to the
 * size of the curve"), 96 bytes for P-384; conversion to and from DER
 * happens here so callers never see ASN.1.
 */
#ifndef SB_ECDSA_H
#define SB_ECDSA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_ES384_SIG_LEN 96

enum sb_ec_curve {
	SB_EC_CURVE_OTHER = 0, /* any key that is not one of the curves below */
	SB_EC_CURVE_P256,
	SB_EC_CURVE_P384,
};

/* An EC key pair, or a public key only (from a certificate). Opaque. */
struct sb_ecdsa_key;

/* New key on curve (P-256 or P-384). Caller frees with sb_ecdsa_key_free. */
SB_RESULT sb_ecdsa_key_generate(enum sb_ec_curve curve, struct sb_ecdsa_key **out);
/* Wipes and frees; NULL-safe. */
void sb_ecdsa_key_free(struct sb_ecdsa_key *key);
/* Curve of the key; SB_EC_CURVE_OTHER for non-EC or other curves. */
enum sb_ec_curve sb_ecdsa_key_curve(const struct sb_ecdsa_key *key);
/* PKCS#8 PEM of the private key, appended to out (which should be a secret buf). */
SB_RESULT sb_ecdsa_key_to_pem(const struct sb_ecdsa_key *key, struct sb_buf *out);
/* Parses a PKCS#8 / SEC1 PEM private key (borrows pem). Caller frees *out. */
SB_RESULT sb_ecdsa_key_from_pem(struct sb_slice pem, struct sb_ecdsa_key **out);
/* SubjectPublicKeyInfo DER of the public half, appended to out. */
SB_RESULT sb_ecdsa_key_public_der(const struct sb_ecdsa_key *key, struct sb_buf *out);

/* ES384: ECDSA P-384 over SHA-384(msg); sig is r||s (96 bytes). Key must be P-384. */
SB_RESULT sb_ecdsa_sign_es384(const struct sb_ecdsa_key *key, struct sb_slice msg,
                              uint8_t sig[SB_ES384_SIG_LEN]);
/*
 * Verifies an ES384 signature (r||s, exactly 96 bytes). A signature that is
 * well-formed input but does not verify sets *valid = false and returns OK;
 * errors are reserved for bad arguments, a non-P-384 key (SB_ERR_BAD_KEY) and
 * library failures.
 */
SB_RESULT sb_ecdsa_verify_es384(const struct sb_ecdsa_key *key, struct sb_slice msg,
                                struct sb_slice sig, bool *valid);

#endif
