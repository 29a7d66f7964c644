/*
 * X.509 certificates over OpenSSL: parse (DER/PEM), inspect, verify a chain
 * against explicit trust anchors only (never the system store), and create
 * certificates (the emulated NSM's development CA and tests' bad chains).
 *
 * Chain verification reports its outcome as data (enum sb_x509_status) so
 * the caller (the attestation verifier) can map each outcome to its own
 * error; SB_RESULT errors mean bad arguments or library failure.
 */
#ifndef SB_X509_H
#define SB_X509_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_ecdsa.h"

/* Largest certificate accepted by sb_x509_from_der/_pem. */
#define SB_X509_DER_MAX 8192

/* A parsed certificate; it keeps its own DER copy. Opaque. */
struct sb_x509;

/* Parses exactly one DER certificate (no trailing bytes). Borrows der. Caller frees. */
SB_RESULT sb_x509_from_der(struct sb_slice der, struct sb_x509 **out);
/* Parses the first PEM "CERTIFICATE" block. Borrows pem. Caller frees. */
SB_RESULT sb_x509_from_pem(struct sb_slice pem, struct sb_x509 **out);
/* DER if it starts with 0x30, otherwise PEM. Caller frees. */
SB_RESULT sb_x509_from_der_or_pem(struct sb_slice in, struct sb_x509 **out);
/* NULL-safe. */
void sb_x509_free(struct sb_x509 *cert);
/* The certificate's DER, borrowed from cert (valid until sb_x509_free). */
struct sb_slice sb_x509_der(const struct sb_x509 *cert);
/* PEM text appended to out. */
SB_RESULT sb_x509_to_pem(const struct sb_x509 *cert, struct sb_buf *out);
/* The subject public key. Caller frees with sb_ecdsa_key_free. */
SB_RESULT sb_x509_public_key(const struct sb_x509 *cert, struct sb_ecdsa_key **out);
/* Curve of the subject key (SB_EC_CURVE_OTHER for RSA etc.). */
enum sb_ec_curve sb_x509_key_curve(const struct sb_x509 *cert);
/* notBefore / notAfter as Unix seconds. */
SB_RESULT sb_x509_validity(const struct sb_x509 *cert, int64_t *not_before, int64_t *not_after);
/* One-line RFC 2253 subject ("CN=aws.nitro-enclaves,O=Amazon,...") appended to out. */
SB_RESULT sb_x509_subject(const struct sb_x509 *cert, struct sb_buf *out);
/* True when child's issuer name equals parent's subject name. */
bool sb_x509_names_chain(const struct sb_x509 *child, const struct sb_x509 *parent);
/*
 * True when cert may sign documents as an end entity: not a CA, and a
 * keyUsage with digitalSignature (AWS: "For the target certificate ... Key
 * usage: digitalSignature bit is present; pathLenConstraint must be
 * undefined").
 */
bool sb_x509_is_signing_leaf(const struct sb_x509 *cert);
/* SHA-256 of the DER. */
SB_RESULT sb_x509_fingerprint_sha256(const struct sb_x509 *cert, uint8_t out[32]);

enum sb_x509_status {
	SB_X509_OK = 0,
	SB_X509_EXPIRED,       /* some certificate's notAfter is before the time */
	SB_X509_NOT_YET_VALID, /* some certificate's notBefore is after the time */
	SB_X509_UNTRUSTED,     /* no path to a trust anchor */
	SB_X509_BAD_SIGNATURE, /* a certificate is not signed by its issuer */
	SB_X509_INVALID,       /* anything else (CA flag, path length, extensions...) */
};

/*
 * Verifies leaf through intermediates (any order; the caller checks order
 * itself) to one of anchors, at time_s (Unix seconds), with no system roots,
 * no CRLs (not X509_STRICT: real AWS certificates lack key identifiers). All borrowed. On return
 * *status holds the outcome and, when not OK, *depth the chain depth that failed (0 = leaf).
 */
SB_RESULT sb_x509_verify_chain(struct sb_x509 *const *anchors, size_t n_anchors,
                               struct sb_x509 *const *intermediates, size_t n_intermediates,
                               const struct sb_x509 *leaf, int64_t time_s,
                               enum sb_x509_status *status, int *depth);

/*
 * OpenSSL's text for a certificate verification result (X509_V_ERR_*, as
 * libcurl's CURLINFO_SSL_VERIFYRESULT reports it): "self-signed
 * certificate", ... Static storage; never NULL.
 */
const char *sb_x509_verify_result_text(long result);

/* What a new certificate should say. */
struct sb_x509_spec {
	const char *common_name; /* subject CN (O=sealbid-dev is added) */
	uint64_t serial;         /* > 0 */
	int64_t not_before;      /* Unix seconds */
	int64_t not_after;       /* Unix seconds */
	bool is_ca;              /* basicConstraints CA:TRUE, keyCertSign|cRLSign */
	int path_len;            /* pathLenConstraint for a CA; -1 = none */
};

/*
 * Creates a certificate for subject_key (public half used) signed with
 * issuer_key (ECDSA-SHA384). issuer NULL = self-signed (issuer_key must be
 * the subject key). Borrows everything. Caller frees *out.
 */
SB_RESULT sb_x509_create(const struct sb_x509_spec *spec, const struct sb_ecdsa_key *subject_key,
                         const struct sb_x509 *issuer, const struct sb_ecdsa_key *issuer_key,
                         struct sb_x509 **out);

#endif
