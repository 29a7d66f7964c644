/*
 * HTTP for the AWS clients: the only place libcurl is used.
 *
 * - One reusable client per thread (struct sb_http_client): its easy handle
 *   keeps connections alive between requests. Not thread-safe; make one per
 *   thread.
 * - A multi runner (struct sb_http_multi) for fan-out: queue N requests, run
 *   them concurrently (at most max_parallel at once) over kept-alive
 *   connections, collect each outcome in its own sb_http_response.
 * - SigV4 through libcurl (CURLOPT_AWS_SIGV4 "aws:amz:<region>:<service>"),
 *   an X-Amz-Security-Token header when there is a session token, and for S3
 *   x-amz-content-sha256 computed here. An explicit Content-Type is required
 *   on signed requests: libcurl would otherwise sign a default form type.
 * - Retries like the AWS SDKs (sb_http_retry.c). "standard" mode (the
 *   default): 5xx and connection failures/timeouts get at most max_attempts
 *   (3) attempts; throttling errors (ThrottlingException, 429, ...) get up to
 *   throttle_max_attempts (8), since a throttled call is worth waiting for;
 *   never other 4xx. Each retry waits with exponential backoff and full
 *   jitter (base 100 ms, cap 20 s) and takes tokens from a retry quota (500;
 *   5 a retry, 10 after a timeout; a success refunds its retry's cost, or
 *   adds 1 if it needed none): when the quota is spent, failures are no
 *   longer retried, so a failing endpoint is not hammered. "adaptive" mode
 *   adds the SDKs' client-side rate limiter: after the first throttle,
 *   attempts wait for a token bucket whose rate CUBIC adjusts (cut to 0.7x
 *   of the measured send rate on each throttle, regrowing on success).
 * - Bounded responses: a body larger than its sink's maximum aborts the
 *   transfer with SB_ERR_TOO_LARGE; error bodies are kept up to
 *   SB_HTTP_ERROR_BODY_MAX bytes (the rest discarded).
 * - Errors read "<op>: <AWS code>: <message> (HTTP <status>)". Credentials
 *   are never in an error detail (a detail echoing them is withheld) or a
 *   log line; curl's verbose mode is never enabled. Redirects are not
 *   followed. TLS peer and host verification stay on; CA bundle from
 *   SSL_CERT_FILE or CURL_CA_BUNDLE, else the system default.
 * - Enclave path: with cfg.vsock set, every connection is a vsock stream to
 *   (vsock_cid, vsock_port) (the parent's vsock-proxy), opened with
 *   sb_vsock_connect; TLS and SigV4 still run in this process and the URL
 *   keeps its real host name (no DNS is needed: the host resolves to a
 *   placeholder address that is never connected to).
 */
#ifndef SB_HTTP_H
#define SB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/sb_aws.h"
#include "common/sb_buf.h"

#define SB_HTTP_MAX_ATTEMPTS    3
#define SB_HTTP_THROTTLE_MAX_ATTEMPTS 8
#define SB_HTTP_RETRY_QUOTA     500
#define SB_HTTP_ERROR_BODY_MAX  (64u << 10)
#define SB_HTTP_HEADERS_MAX     (32u << 10)
#define SB_HTTP_DETAIL_MAX      480
#define SB_HTTP_MAX_HEADERS     16 /* extra request headers */

enum sb_http_retry_mode {
	SB_HTTP_RETRY_STANDARD = 0,
	SB_HTTP_RETRY_ADAPTIVE,
};

struct sb_http_config {
	uint32_t connect_timeout_ms; /* default 5000 */
	uint32_t timeout_ms;         /* per attempt, whole transfer; 0 = none; default 30000 */
	uint32_t low_speed_time_s;   /* abort a transfer stalled (< 1 B/s) this long; default 60 */
	uint32_t max_attempts;       /* default SB_HTTP_MAX_ATTEMPTS (1..10) */
	uint32_t throttle_max_attempts; /* on throttling errors; default 8 (max_attempts..20) */
	uint32_t backoff_base_ms;    /* default 100: retry i waits rand[0, base*2^(i-1)) */
	uint32_t backoff_max_ms;     /* default 20000 */
	enum sb_http_retry_mode retry_mode; /* default standard */
	uint32_t retry_quota;        /* default SB_HTTP_RETRY_QUOTA; 0: no quota */
	bool vsock;                  /* connect through vsock (cid, port) */
	uint32_t vsock_cid;
	uint32_t vsock_port;
};

/* Fills the defaults above (reads no environment). */
void sb_http_config_default(struct sb_http_config *cfg);
/*
 * Applies the SDKs' environment settings: AWS_RETRY_MODE ("standard",
 * "adaptive"; "legacy" reads as standard) and AWS_MAX_ATTEMPTS (1..10; it
 * also caps throttle_max_attempts from below). Unset variables change
 * nothing; a bad value is an error naming the variable.
 */
SB_RESULT sb_http_config_apply_env(struct sb_http_config *cfg);

/* SigV4 signing parameters; all borrowed. */
struct sb_http_sign {
	const char *service; /* "kms", "s3", "sts" */
	const char *region;
	const struct sb_aws_creds *creds;
};

/*
 * A request; everything it points to is borrowed for the duration of the
 * call (or, for sb_http_multi, until sb_http_multi_run returns).
 * Initialise with SB_HTTP_REQUEST_INIT (fds -1) and set what you need.
 */
struct sb_http_request {
	const char *op;           /* names the operation in errors: "KMS Decrypt" */
	const char *method;       /* GET, HEAD, POST, PUT, DELETE */
	const char *url;
	const char *content_type; /* required with a body and on signed requests */
	const char *headers[SB_HTTP_MAX_HEADERS + 1]; /* extra "Name: value", NULL-ended */
	struct sb_slice body;     /* body from memory, or */
	int body_fd;              /* streamed from this fd (pread from offset 0), */
	uint64_t body_len;        /* ... this many bytes */
	const struct sb_http_sign *sign; /* NULL: unsigned (IMDS) */
	bool payload_hash;        /* S3: add x-amz-content-sha256 (hex SHA-256 of the body) */
	enum sb_aws_error_format error_format;
	struct sb_buf *out;       /* response body sink, bounded by out->max; or */
	int out_fd;               /* streamed to this fd (truncated each attempt), */
	uint64_t out_max;         /* ... at most this many bytes (0 = no limit) */
	bool out_secret;          /* the body is secret: buffers holding it are wiped */
};

#define SB_HTTP_REQUEST_INIT ((struct sb_http_request){.body_fd = -1, .out_fd = -1})

/* The outcome of a request. Caller storage: _init / _cleanup. */
struct sb_http_response {
	long status;           /* final HTTP status, 0 when none was received */
	uint32_t attempts;
	uint64_t body_bytes;   /* bytes delivered to the sink */
	struct sb_buf headers; /* raw header lines of the final response */
	struct sb_aws_error aws_error; /* parsed error body, when status >= 300 */
	int error;             /* SB_OK or the error code (set by send and multi) */
	char detail[SB_HTTP_DETAIL_MAX];
};

void sb_http_response_init(struct sb_http_response *r);
void sb_http_response_cleanup(struct sb_http_response *r);
/* The value of a response header (case-insensitive name), borrowed from r. */
SB_RESULT sb_http_response_header(const struct sb_http_response *r, const char *name,
				  struct sb_slice *value);
/* Re-raises r's stored outcome as the current error (SB_OK_RESULT if none). */
SB_RESULT sb_http_response_result(const struct sb_http_response *r);

struct sb_http_client;

/* Copies cfg. Caller frees with sb_http_client_free. */
SB_RESULT sb_http_client_new(const struct sb_http_config *cfg, struct sb_http_client **out);
void sb_http_client_free(struct sb_http_client *c);
/*
 * Performs req with retries. Succeeds only on a 2xx status; otherwise the
 * error (also stored in resp) names req->op, the AWS error code and status.
 * resp must be initialised; it is reset first.
 */
SB_RESULT sb_http_send(struct sb_http_client *c, const struct sb_http_request *req,
		       struct sb_http_response *resp);

struct sb_http_multi;

/* max_parallel: transfers in flight at once (1..64). Caller frees. */
SB_RESULT sb_http_multi_new(const struct sb_http_config *cfg, uint32_t max_parallel,
			    struct sb_http_multi **out);
void sb_http_multi_free(struct sb_http_multi *m);
/* Queues req; req and resp (initialised) are borrowed until sb_http_multi_run returns. */
SB_RESULT sb_http_multi_add(struct sb_http_multi *m, const struct sb_http_request *req,
			    struct sb_http_response *resp);
/*
 * Runs every queued request to completion (each with its own retries) and
 * empties the queue. Each outcome is in its resp (error, detail); this
 * returns an error only when the runner itself fails.
 */
SB_RESULT sb_http_multi_run(struct sb_http_multi *m);
/*
 * Called once per queued request when it has finished (after its last
 * attempt), in completion order; index is its position in the queue (0 for
 * the first sb_http_multi_add). Returning false stops the run: nothing more
 * is started, requests in flight or waiting to retry are abandoned, and
 * every request that did not finish ends with SB_ERR_HTTP_CANCELLED (the
 * callback is not called for those).
 */
typedef bool (*sb_http_done_fn)(void *ud, size_t index, struct sb_http_response *resp);
/* sb_http_multi_run with a completion callback (done may be NULL). */
SB_RESULT sb_http_multi_run_cb(struct sb_http_multi *m, sb_http_done_fn done, void *ud);

#endif
