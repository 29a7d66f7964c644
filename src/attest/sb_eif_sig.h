/*
 * The signature section of an AWS Enclave Image File (EIF), as
 * aws-nitro-enclaves-image-format writes it: serde_cbor of
 * Vec<PcrSignature>, where
 *   struct PcrSignature { signing_certificate: Vec<u8>, signature: Vec<u8> }
 * serde encodes each Vec<u8> as a CBOR array of small unsigned integers (not
 * a byte string), so the section is
 *   [ {"signing_certificate": [u8...], "signature": [u8...]}, ... ]
 * The certificate is PEM text; the signature an untagged COSE_Sign1 over the
 * CBOR of PcrInfo {register_index: 0, register_value: PCR0}. nitro-cli uses
 * only the first entry ("For now, it only contains the signature of PCR0").
 *
 * Lives in src/attest because only src/attest/cbor*.c may see libcbor; the
 * EIF itself is parsed in src/host/sb_eif.c.
 */
#ifndef SB_EIF_SIG_H
#define SB_EIF_SIG_H

#include "common/sb_buf.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_hash.h"

#define SB_EIF_SIG_MAX_ENTRIES 16
#define SB_EIF_SIG_FIELD_MAX   (16u << 10) /* one certificate or COSE_Sign1 */

/*
 * Parses a signature section strictly (one top-level array of 1..16 maps,
 * each with exactly the two keys, each value an array of 1..16 KiB integers
 * 0..255, minimally encoded, no trailing bytes) and appends the FIRST
 * entry's certificate bytes to cert and signature bytes to sig. Borrows in.
 * Errors are `err` (the caller's layer code), with a detail saying why.
 */
SB_RESULT sb_eif_sig_parse(struct sb_slice in, int err, struct sb_buf *cert, struct sb_buf *sig);
/*
 * Checks a PCR0 signature as nitro-cli's PcrSignatureChecker and
 * describe-eif's "SignatureCheck" do: cose is an untagged COSE_Sign1
 * [protected = {1: -35}, unprotected = {}, payload, signature (96 bytes)],
 * the payload must be exactly serde_cbor of
 *   PcrInfo {register_index: 0, register_value: pcr0 as an array of integers}
 * and the ES384 signature over the RFC 9052 Sig_structure must verify with
 * key (P-384). Malformed input is `err`; a well-formed signature over other
 * bytes or by another key is `err` too, with a detail saying which.
 * Borrows everything.
 */
SB_RESULT sb_eif_sig_check(struct sb_slice cose, const struct sb_ecdsa_key *key,
                           const uint8_t pcr0[SB_SHA384_LEN], int err);

#endif
