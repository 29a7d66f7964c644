/*
 * AWS Signature Version 4 for sealbid-kms: verification of incoming requests
 * (and signing, which tests, benchmarks and clients of the local stack use).
 *
 * The server recomputes the canonical request from what arrived on the wire
 * (method, path, query, the headers named in SignedHeaders, the SHA-256 of
 * the body), derives the signing key from the principal's secret and the
 * credential scope, and compares signatures in constant time. The spec's
 * words: "The signature is the HMAC-SHA256 of the string to sign, using the
 * signing key"; "The credential scope ... date/region/service/aws4_request".
 *
 * Nothing here allocates on behalf of the caller except into sb_bufs the
 * caller owns; every input is borrowed.
 */
#ifndef SB_SIGV4_H
#define SB_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"

/* "Signature expired" past this skew between X-Amz-Date and the clock. */
#define SB_SIGV4_MAX_SKEW_MS (15ull * 60 * 1000)
#define SB_SIGV4_SIG_HEX_LEN 64
/* Bounds the work one request can ask for (headers named, their size). */
#define SB_SIGV4_MAX_SIGNED  32
#define SB_SIGV4_MAX_CANON   (64 * 1024)

/* One request header as received (name in any case). Borrowed. */
struct sb_sigv4_header {
	struct sb_slice name;
	struct sb_slice value;
};

/* A request as it arrived. All fields borrowed. */
struct sb_sigv4_request {
	struct sb_slice method;
	struct sb_slice path;  /* percent-encoded path as sent, e.g. "/" */
	struct sb_slice query; /* raw query string without '?', may be empty */
	const struct sb_sigv4_header *headers;
	size_t n_headers;
	struct sb_slice payload;
};

/* A principal's credentials. Borrowed; session_token may be NULL. */
struct sb_sigv4_credential {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
};

/* What the verifier accepts. Borrowed. */
struct sb_sigv4_policy {
	const char *region;
	const char *service;
	uint64_t now_ms;      /* Unix ms; the clock the date is checked against */
	uint64_t max_skew_ms; /* 0 means SB_SIGV4_MAX_SKEW_MS */
	const struct sb_sigv4_credential *creds;
	size_t n_creds;
};

/* The parts of an Authorization header; slices borrow the header value. */
struct sb_sigv4_auth {
	struct sb_slice access_key;
	struct sb_slice date; /* yyyymmdd */
	struct sb_slice region;
	struct sb_slice service;
	struct sb_slice signed_headers; /* "host;x-amz-date" */
	struct sb_slice signature;      /* 64 lower-case hex digits */
};

/*
 * Parses "AWS4-HMAC-SHA256 Credential=AK/yyyymmdd/region/service/aws4_request,
 * SignedHeaders=a;b, Signature=hex". Each component exactly once.
 * SB_ERR_KMS_INCOMPLETE_SIGNATURE on any deviation.
 */
SB_RESULT sb_sigv4_parse_auth(struct sb_slice value, struct sb_sigv4_auth *out);

/*
 * Appends the canonical request for req and the signed header list to out:
 * method, canonical URI, canonical query, canonical headers, signed headers,
 * hex SHA-256 of the payload, separated by '\n'.
 */
SB_RESULT sb_sigv4_canonical_request(const struct sb_sigv4_request *req,
				     struct sb_slice signed_headers, struct sb_buf *out);

/* Appends "AWS4-HMAC-SHA256\n<amz_date>\n<scope>\n<hex sha256(creq)>" to out. */
SB_RESULT sb_sigv4_string_to_sign(struct sb_slice amz_date, struct sb_slice scope,
				  struct sb_slice canonical_request, struct sb_buf *out);

/* The hex signature of string_to_sign under the derived signing key. */
SB_RESULT sb_sigv4_signature(const char *secret, struct sb_slice date, struct sb_slice region,
			     struct sb_slice service, struct sb_slice string_to_sign,
			     char out_hex[SB_SIGV4_SIG_HEX_LEN + 1]);

/*
 * Verifies req against policy. On success *out_index is the index of the
 * matching credential. Errors, in the AWS shapes the server maps them to:
 * SB_ERR_KMS_MISSING_AUTH (no Authorization header),
 * SB_ERR_KMS_INCOMPLETE_SIGNATURE (malformed header or scope),
 * SB_ERR_KMS_UNRECOGNIZED_CLIENT (unknown access key, missing or wrong
 * session token), SB_ERR_KMS_INVALID_SIGNATURE (signature mismatch, wrong
 * region or service, date more than the skew off).
 */
SB_RESULT sb_sigv4_verify(const struct sb_sigv4_request *req, const struct sb_sigv4_policy *policy,
			  size_t *out_index);

/*
 * Signs req (which must already carry Host, X-Amz-Date and, for a session,
 * X-Amz-Security-Token) and appends the Authorization header value to out.
 * signed_headers is the sorted, lower-case ';' list to sign.
 */
SB_RESULT sb_sigv4_sign(const struct sb_sigv4_request *req, const struct sb_sigv4_credential *cred,
			const char *region, const char *service, struct sb_slice signed_headers,
			struct sb_buf *out);

/* Formats Unix ms as "yyyymmddThhmmssZ" into out (17 bytes with NUL). */
SB_RESULT sb_sigv4_format_date(uint64_t ms, char out[17]);

#endif
