/*
 * The attestation verifier: ONE function, sb_attest_verify, used by the KMS
 * emulator, `sealbid attest verify`, `sealbid verify` and the tests. The
 * parsed document struct (struct sb_attest_doc) is in sb_attest_doc.h,
 * included here.
 *
 * Checks, in this order (AWS "Verifying the root of trust"), each failure
 * with its own error code and a one-line detail:
 *  1. structure and types (sb_attest_doc_parse);
 *  2. chain: cabundle[0] must be byte-identical to a trusted root (the AWS
 *     Nitro Enclaves Root G1 compiled in, by default), each cabundle entry
 *     must be issued by the one before it and the leaf by the last one; the
 *     whole chain is then verified by OpenSSL at the verification time, with
 *     no system roots; every certificate must have a P-384 key;
 *  3. ES384 signature of the COSE_Sign1 by the leaf's key over
 *     ["Signature1", protected, h'', payload];
 *  4. policy: every expected PCR present and equal; an all-zero PCR0
 *     (debug-mode enclave) rejected unless allow_debug; expected
 *     nonce/user_data/public_key present and equal.
 */
#ifndef SB_VERIFY_H
#define SB_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_buf.h"
#include "crypto/sb_hash.h" /* SB_SHA384_LEN: the size of Nitro PCRs */

#define SB_VERIFY_ROOTS_MAX 4

/* The AWS Nitro Enclaves Root G1 (DER), compiled in. Borrowed constant. */
struct sb_slice sb_attest_aws_root_der(void);
/* Its SHA-256 fingerprint, checked at every use. */
#define SB_ATTEST_AWS_ROOT_SHA256 "641A0321A3E244EFE456463195D606317ED7CDCC3C1756E09893F3C68F79BB5B"

/* An optional expected byte string: set = false means "not checked". */
struct sb_verify_expect {
	bool set;
	struct sb_slice value; /* borrowed */
};

/*
 * Options: initialise with sb_verify_opts_init (AWS root, now, no PCRs, no
 * debug). All slices are borrowed and must outlive the sb_attest_verify call.
 */
struct sb_verify_opts {
	struct sb_slice roots[SB_VERIFY_ROOTS_MAX]; /* DER or PEM each; none = AWS root */
	size_t root_count;
	uint64_t at_ms;                                        /* 0 = now */
	struct sb_attest_pcr expect_pcrs[SB_ATTEST_PCR_COUNT]; /* .present = check */
	bool allow_debug;
	struct sb_verify_expect expect_nonce;
	struct sb_verify_expect expect_user_data;
	struct sb_verify_expect expect_public_key;
};

void sb_verify_opts_init(struct sb_verify_opts *opts);
/* Adds a trusted root (borrowed, DER or PEM). SB_ERR_TOO_LARGE past SB_VERIFY_ROOTS_MAX. */
SB_RESULT sb_verify_opts_add_root(struct sb_verify_opts *opts, struct sb_slice root);
/* Expects PCR index (0..31) to equal value (32, 48 or 64 bytes; copied). */
SB_RESULT sb_verify_opts_expect_pcr(struct sb_verify_opts *opts, unsigned index,
                                    struct sb_slice value);
/* The same from "N=HEX" text (CLI --expect-pcr); SB_ERR_INVALID_ARG on bad text. */
SB_RESULT sb_verify_opts_expect_pcr_arg(struct sb_verify_opts *opts, const char *arg);

/*
 * Whether the expected PCRs identify the enclave image: PCR0 (the whole
 * image) or PCR2 (the application) is expected. PCR1 (kernel and boot
 * ramfs) is the same for every image built with the same nitro-cli, and
 * PCR3/4/8 name the role, instance or signer, not the code: alone they let
 * a modified enclave pass. A full nitro-cli measurement set includes both.
 */
bool sb_verify_opts_pins_image(const struct sb_verify_opts *opts);
#define SB_VERIFY_PINS_IMAGE_HELP                                                                  \
	"expect PCR0 (the image) or PCR2 (the application), or give the full measurements: "       \
	"PCR1 is the same for every enclave image"

/*
 * Verifies doc (borrowed bytes; raw CBOR, tagged or not). On success, and
 * when out is not NULL, *out is the parsed document (caller frees with
 * sb_attest_doc_free); on failure *out is untouched.
 * Errors (attest.def): SB_ERR_ATTEST_* for the document, the chain
 * (_UNTRUSTED_ROOT, _CHAIN_ORDER, _CHAIN, _EXPIRED, _NOT_YET_VALID,
 * _CERT_SIGNATURE, _KEY_TYPE, _ROOT_FINGERPRINT), the signature (_SIGNATURE)
 * and policy (_PCR_MISSING, _PCR_MISMATCH, _DEBUG_MODE, _NONCE, _USER_DATA,
 * _PUBLIC_KEY); SB_ERR_INVALID_ARG for bad options.
 */
SB_RESULT sb_attest_verify(struct sb_slice doc, const struct sb_verify_opts *opts,
                           struct sb_attest_doc **out);

/* True when every byte of the PCR is zero (debug mode's PCR0/1/2/8). */
bool sb_attest_pcr_is_zero(const struct sb_attest_pcr *pcr);

#endif
