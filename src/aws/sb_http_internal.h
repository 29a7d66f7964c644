/*
 * Internal to src/aws/sb_http*.c: the transfer state shared by the single
 * client (sb_http.c) and the multi runner (sb_http_multi.c), and the retry
 * policy (sb_http_retry.c). Not for use outside those files.
 */
#ifndef SB_HTTP_INTERNAL_H
#define SB_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "aws/sb_http.h"
#include "crypto/sb_hash.h"

/* How an attempt ended: decides whether and at what cost it is retried. */
enum sb_http_class {
	SB_HTTP_CLASS_OK,        /* 2xx, body within bounds */
	SB_HTTP_CLASS_PERMANENT, /* never retried: other 4xx, too large, local I/O, DNS */
	SB_HTTP_CLASS_TRANSIENT, /* 5xx, connection reset or refused */
	SB_HTTP_CLASS_TIMEOUT,   /* the attempt timed out */
	SB_HTTP_CLASS_THROTTLE,  /* a throttling error code, or HTTP 429 */
};

struct xfer {
	CURL *easy;
	const struct sb_http_request *req;
	struct sb_http_response *resp;
	const struct sb_http_config *cfg;
	struct curl_slist *hdrs;
	struct curl_slist *resolve;
	struct sb_buf errbody;
	char curl_err[CURL_ERROR_SIZE];
	bool curl_err_stale;    /* curl_err was written before the attempt failed */
	bool addr_unprintable;  /* this attempt opened a socket libcurl cannot name */
	char vsock_err[256]; /* why the vsock socket could not be opened */
	char payload_hash[2 * SB_SHA256_LEN + 1];
	uint64_t upload_off;
	long status;
	bool too_large;
	bool io_error;
	bool headers_too_large;
	uint64_t not_before_ns; /* multi: retry (or rate-limited start) due time */
	size_t qidx;            /* multi: position in the queue */
	uint32_t retry_cost;    /* quota tokens taken by the last retry (refunded on success) */
};

/* sb_http.c: the transfer life cycle. */
SB_RESULT sb_http_curl_ready(void);
void sb_http_response_reset(struct sb_http_response *r);
/* Once per request: payload hash, header list, resolve list. */
SB_RESULT sb_http_xfer_begin(struct xfer *x);
/* Once per attempt: a clean handle with every option set. */
SB_RESULT sb_http_xfer_attempt_setup(struct xfer *x);
/* Classifies a finished attempt; sets resp->status, error and detail. */
enum sb_http_class sb_http_xfer_finish(struct xfer *x, CURLcode cc);
void sb_http_xfer_end(struct xfer *x);
/* Stores the current thread error into resp. */
void sb_http_store_error(struct sb_http_response *resp);
/* Appends " after N attempts" to a failed response's detail. */
void sb_http_note_attempts(struct sb_http_response *r);
/*
 * The detail of a transport failure: "<op>: <what> (curl error N)", then
 * "; TLS certificate verification: <OpenSSL's text>" when a handshake failed
 * (CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR) with a
 * verify_result other than X509_V_OK (0). <what> is errbuf, unless it is empty or stale (written
 * before the failure: libcurl keeps only the first error of a transfer),
 * then curl_easy_strerror(cc). Pure; tested with libcurl 8's errno 97 text.
 */
void sb_http_transport_detail(char *out, size_t n, const char *op, CURLcode cc,
			      const char *errbuf, bool errbuf_stale, long verify_result);
SB_RESULT sb_http_config_check(const struct sb_http_config *cfg);

/*
 * sb_http_retry.c: the SDKs' retry policy, one state per client or multi
 * runner (neither is shared between threads, so no lock).
 */
struct sb_http_retry {
	const struct sb_http_config *cfg;
	uint32_t tokens; /* retry quota left */
	/* adaptive mode: the client-side rate limiter (off until a throttle) */
	bool limiter_on;
	double fill_rate; /* tokens per second */
	double bucket;    /* tokens available */
	uint64_t last_refill_ns;
	double measured_rate; /* smoothed sends per second */
	uint64_t rate_bucket; /* current half-second measuring bucket */
	uint32_t rate_count;
	double last_max_rate; /* CUBIC W_max */
	uint64_t last_throttle_ns;
	double k;       /* CUBIC time to W_max, seconds */
	uint64_t t0_ns; /* origin of the clock used for the buckets */
};

void sb_http_retry_init(struct sb_http_retry *r, const struct sb_http_config *cfg);
/*
 * After attempt number resp->attempts of x ended as cls: whether to try
 * again, and after how many milliseconds. Takes the retry's cost from the
 * quota (x->retry_cost); refunds it when cls is OK.
 */
bool sb_http_retry_next(struct sb_http_retry *r, struct xfer *x, enum sb_http_class cls,
                        uint64_t *delay_ms);
/* Adaptive mode: before each attempt; 0 = send now (a token was taken), else ns to wait. */
uint64_t sb_http_retry_acquire(struct sb_http_retry *r, uint64_t now_ns);
/* Full jitter: uniformly random in [0, min(max, base * 2^(attempt-1))). */
uint64_t sb_http_backoff_ms(const struct sb_http_config *cfg, uint32_t attempt);
void sb_http_sleep_ns(uint64_t ns);

#endif
