/*
 * ECDSA P-384 in the forms the AWS Encryption SDK uses (spec
 * framework/transitive-requirements.md, "ECDSA"): signatures as the DER
 * `ECDSA-Sig-Value` over a SHA-384 digest computed by the caller
 * (streamed), and public keys as the compressed point of SEC 1 §2.3.3
 * (0x02/0x03 || x, 49 bytes). Keys are sb_ecdsa.h's.
 */
#ifndef SB_ECDSA_DER_H
#define SB_ECDSA_DER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_hash.h"

#define SB_P384_COMPRESSED_LEN 49
#define SB_P384_DER_SIG_MAX    104 /* SEQUENCE of two INTEGERs of up to 49 bytes */

/* The compressed public point of a P-384 key (SB_ERR_BAD_KEY for other curves). */
SB_RESULT sb_ecdsa_p384_compressed(const struct sb_ecdsa_key *key,
				   uint8_t out[SB_P384_COMPRESSED_LEN]);
/*
 * A P-384 public key from its compressed point (borrowed): exactly 49
 * bytes, prefix 0x02 or 0x03, x on the curve; else SB_ERR_BAD_KEY.
 * Caller frees *out with sb_ecdsa_key_free.
 */
SB_RESULT sb_ecdsa_p384_from_compressed(struct sb_slice point, struct sb_ecdsa_key **out);
/* Signs a SHA-384 digest with a P-384 private key; appends the DER signature to out. */
SB_RESULT sb_ecdsa_sign_digest_der(const struct sb_ecdsa_key *key,
				   const uint8_t digest[SB_SHA384_LEN], struct sb_buf *out);
/*
 * Verifies a DER signature over a SHA-384 digest. A signature that does not
 * verify, or is not canonical DER, sets *valid = false and returns OK;
 * errors are for bad arguments, a non-P-384 key and library failures.
 */
SB_RESULT sb_ecdsa_verify_digest_der(const struct sb_ecdsa_key *key,
				     const uint8_t digest[SB_SHA384_LEN], struct sb_slice der,
				     bool *valid);

#endif
