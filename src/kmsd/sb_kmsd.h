/*
 * sealbid-kms core: one HTTP exchange in, one response out, independent of
 * the HTTP library (sb_kmsd_http.c adapts libmicrohttpd to it; tests and the
 * benchmark call it in-process).
 *
 * The pipeline of sb_kmsd_handle: method/path check, SigV4 verification of
 * the whole request, X-Amz-Target dispatch ("TrentService.<Operation>"),
 * strict JSON parsing, the operation (which evaluates the key policy with the
 * request's condition keys), and a JSON 1.1 response: 200 with the result,
 * or 4xx/5xx with {"__type": "<AWS exception>", "message": "..."}.
 *
 * Logging: one info line per request (operation, key id, principal,
 * outcome). Never plaintext, key material, or request bodies.
 *
 * Thread safety: sb_kmsd_handle may run on many threads at once.
 */
#ifndef SB_KMSD_H
#define SB_KMSD_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "kmsd/sb_kmsd_attest_cache.h"
#include "kmsd/sb_kmsd_config.h"
#include "kmsd/sb_sigv4.h"

/* "Request body ... 64 KiB": larger bodies are refused before parsing. */
#define SB_KMSD_MAX_BODY     (64 * 1024)
#define SB_KMSD_MAX_RESPONSE (256 * 1024)

struct sb_kmsd;

/*
 * Opens the key store in data_dir and prepares the verifier's trusted roots.
 * Borrows cfg, which must outlive the server. Caller frees.
 */
SB_RESULT sb_kmsd_new(const struct sb_kmsd_config *cfg, const char *data_dir,
		      struct sb_kmsd **out);
void sb_kmsd_free(struct sb_kmsd *kmsd);

/* Counters of the verified-document cache (all zero when no root is
 * trusted), for tests and the benchmark. */
void sb_kmsd_attest_stats(struct sb_kmsd *kmsd, struct sb_kmsd_attest_cache_stats *out);

/* One request as received. All borrowed. */
struct sb_kmsd_request {
	struct sb_sigv4_request http; /* method, path, query, headers, body */
	uint64_t now_ms;              /* the clock for SigV4 and key creation */
};

/* The response: caller storage, _init before, _cleanup after. */
struct sb_kmsd_response {
	unsigned status;
	struct sb_buf body; /* secret: may carry a plaintext data key */
};

void sb_kmsd_response_init(struct sb_kmsd_response *resp);
void sb_kmsd_response_cleanup(struct sb_kmsd_response *resp);

/*
 * Handles one request. Never fails: every error becomes an AWS-shaped error
 * response (500 InternalFailure + log line when even that cannot be built).
 */
void sb_kmsd_handle(struct sb_kmsd *kmsd, const struct sb_kmsd_request *req,
		    struct sb_kmsd_response *resp);

/*
 * Fills resp with the AWS error shape for code, the message taken from the
 * current error detail (for errors found before sb_kmsd_handle can run,
 * such as an oversized body).
 */
void sb_kmsd_error_response(int code, struct sb_kmsd_response *resp);

/* The AWS exception name and HTTP status for an error code. */
const char *sb_kmsd_error_type(int code, unsigned *status);

#endif
