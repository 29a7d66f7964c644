/*
 * libcurl glue (see sb_http.h): the transfer life cycle and the single
 * client. The transfer state lives in struct xfer (sb_http_internal.h),
 * shared by the single client (curl_easy_perform, here) and the multi
 * runner (curl_multi_poll, sb_http_multi.c): set up an attempt, let curl run
 * it, classify the outcome, and let the retry policy (sb_http_retry.c)
 * decide whether and when to try again.
 */
#include "aws/sb_http.h"
#include "aws/sb_http_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "aws/sb_vsock_bridge.h"
#include "common/sb_encoding.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_random.h"
#include "crypto/sb_x509.h"
#include "wire/sb_vsock.h"

#define XFER_CLEAN_DETAIL "error detail withheld: it echoed request credentials"


static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

SB_RESULT sb_http_curl_ready(void)
{
	SB_ENSURE(pthread_once(&curl_once, curl_init_once) == 0, SB_ERR_INTERNAL);
	SB_ENSURE_MSG(curl_init_rc == CURLE_OK, SB_ERR_INTERNAL, "curl_global_init failed");
	return SB_OK_RESULT;
}

void sb_http_config_default(struct sb_http_config *cfg)
{
	*cfg = (struct sb_http_config){
		.connect_timeout_ms = 5000,
		.timeout_ms = 30000,
		.low_speed_time_s = 60,
		.max_attempts = SB_HTTP_MAX_ATTEMPTS,
		.throttle_max_attempts = SB_HTTP_THROTTLE_MAX_ATTEMPTS,
		.backoff_base_ms = 100,
		.backoff_max_ms = 20000,
		.retry_mode = SB_HTTP_RETRY_STANDARD,
		.retry_quota = SB_HTTP_RETRY_QUOTA,
	};
}

void sb_http_response_init(struct sb_http_response *r)
{
	memset(r, 0, sizeof(*r));
	sb_buf_init(&r->headers, SB_HTTP_HEADERS_MAX);
}

void sb_http_response_cleanup(struct sb_http_response *r)
{
	if (r == NULL)
		return;
	sb_buf_cleanup(&r->headers);
	sb_http_response_init(r);
}

void sb_http_response_reset(struct sb_http_response *r)
{
	r->status = 0;
	r->body_bytes = 0;
	sb_buf_reset(&r->headers);
	memset(&r->aws_error, 0, sizeof(r->aws_error));
	r->error = SB_OK;
	r->detail[0] = '\0';
}

SB_RESULT sb_http_response_header(const struct sb_http_response *r, const char *name,
				  struct sb_slice *value)
{
	size_t n;
	const char *p, *end;

	SB_ENSURE_REF(r);
	SB_ENSURE_REF(name);
	SB_ENSURE_REF(value);
	n = strlen(name);
	p = sb_buf_cstr(&r->headers);
	end = p + r->headers.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		if ((size_t)(le - p) > n && p[n] == ':' && strncasecmp(p, name, n) == 0) {
			const char *v = p + n + 1;
			while (v < le && (*v == ' ' || *v == '\t'))
				v++;
			const char *ve = le;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			*value = SB_SLICE(v, (size_t)(ve - v));
			return SB_OK_RESULT;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	SB_BAIL_MSG(SB_ERR_NOT_FOUND, "no %s header", name);
}

SB_RESULT sb_http_response_result(const struct sb_http_response *r)
{
	SB_ENSURE_REF(r);
	if (r->error == SB_OK)
		return SB_OK_RESULT;
	SB_BAIL_MSG(r->error, "%s", r->detail);
}

/* ---- curl callbacks ---------------------------------------------------- */

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	/* A new status line starts a new response (e.g. after 100 Continue). */
	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		sb_buf_reset(&x->resp->headers);
	if (!sb_ok(sb_buf_append(&x->resp->headers, p, len))) {
		sb_error_clear();
		x->headers_too_large = true;
		return 0;
	}
	return len;
}

static bool write_all_at(int fd, const char *p, size_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	const struct sb_http_request *req = x->req;
	size_t len = size * n;
	long st = 0;

	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &st);
	if (st < 200 || st >= 300) {
		/* Error bodies: keep the first part for the message, drop the rest. */
		size_t room = x->errbody.max - x->errbody.len;
		if (room > 0 && !sb_ok(sb_buf_append(&x->errbody, p, len < room ? len : room)))
			sb_error_clear();
		return len;
	}
	if (req->out != NULL) {
		if (!sb_ok(sb_buf_append(req->out, p, len))) {
			sb_error_clear();
			x->too_large = true;
			return 0;
		}
	} else if (req->out_fd >= 0) {
		if (req->out_max != 0 && x->resp->body_bytes + len > req->out_max) {
			x->too_large = true;
			return 0;
		}
		if (!write_all_at(req->out_fd, p, len, x->resp->body_bytes)) {
			x->io_error = true;
			return 0;
		}
	}
	x->resp->body_bytes += len;
	return len;
}

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	const struct sb_http_request *req = x->req;
	uint64_t total = req->body_fd >= 0 ? req->body_len : req->body.len;
	uint64_t left = total - x->upload_off;
	size_t want = size * n;

	if (want > left)
		want = (size_t)left;
	if (want == 0)
		return 0;
	if (req->body_fd >= 0) {
		ssize_t got;
		do {
			got = pread(req->body_fd, dst, want, (off_t)x->upload_off);
		} while (got < 0 && errno == EINTR);
		if (got <= 0) {
			x->io_error = true;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)got;
	} else {
		memcpy(dst, req->body.ptr + x->upload_off, want);
	}
	x->upload_off += want;
	return want;
}

static int on_seek(void *ud, curl_off_t off, int origin)
{
	struct xfer *x = ud;
	uint64_t total = x->req->body_fd >= 0 ? x->req->body_len : x->req->body.len;

	if (origin != SEEK_SET || off < 0 || (uint64_t)off > total)
		return CURL_SEEKFUNC_CANTSEEK;
	x->upload_off = (uint64_t)off;
	return CURL_SEEKFUNC_OK;
}

/*
 * The enclave path: every connection is a vsock stream to the parent's proxy.
 *
 * libcurl >= 8.0: sb_vsock_connect gives a connected socket and the sockopt
 * callback answers CURL_SOCKOPT_ALREADY_CONNECTED. libcurl 7.88 (Debian 12)
 * still calls connect() on such a socket (curl issue #10626, fixed in 8.0.0)
 * and cannot name an AF_VSOCK peer, so there curl connects to an in-process
 * Unix socket that relays each connection to the vsock port
 * (sb_vsock_bridge.h). Both work in a real enclave and over the Unix mapping.
 */
static bool curl_preconnected_ok(void)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	return v != NULL && v->version_num >= 0x080000;
}

static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct xfer *x = ud;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = -1;

	(void)addr;
	if (purpose != CURLSOCKTYPE_IPCXN)
		return CURL_SOCKET_BAD;
	if (!sb_ok(sb_vsock_connect(x->cfg->vsock_cid, x->cfg->vsock_port, &fd))) {
		(void)snprintf(x->vsock_err, sizeof(x->vsock_err), "vsock connect to %u:%u: %s",
			       x->cfg->vsock_cid, x->cfg->vsock_port, sb_error_describe());
		sb_error_clear();
		return CURL_SOCKET_BAD;
	}
	/*
	 * A real AF_VSOCK socket: libcurl >= 8 then fails to print its address
	 * ("inet_ntop() failed with errno 97") into the error buffer, and since
	 * it keeps only the first error, a later real failure never shows there.
	 */
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0 ||
	    (ss.ss_family != AF_INET && ss.ss_family != AF_INET6 && ss.ss_family != AF_UNIX))
		x->addr_unprintable = true;
	return fd;
}

static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	(void)ud;
	(void)fd;
	(void)purpose;
	/* sb_vsock_connect returned a connected socket: curl must not connect() it. */
	return CURL_SOCKOPT_ALREADY_CONNECTED;
}

/*
 * Points where the attempt is known to be healthy (a new TLS connection is
 * being set up; a request is about to go out): text already in the error
 * buffer was written before any failure, so it cannot describe one.
 */
static void mark_errbuf_stale(struct xfer *x)
{
	if (x->curl_err[0] != '\0')
		x->curl_err_stale = true;
}

static CURLcode on_ssl_ctx(CURL *easy, void *ssl_ctx, void *ud)
{
	(void)easy;
	(void)ssl_ctx;
	mark_errbuf_stale(ud);
	return CURLE_OK;
}

static int on_prereq(void *ud, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	mark_errbuf_stale(ud);
	return CURL_PREREQFUNC_OK;
}

/* ---- request set-up ---------------------------------------------------- */

static void slist_free_wiped(struct curl_slist *l)
{
	/* Header lines may carry the session token: wipe before freeing. */
	for (struct curl_slist *i = l; i != NULL; i = i->next)
		sb_wipe(i->data, strlen(i->data));
	curl_slist_free_all(l);
}

static SB_RESULT slist_add(struct curl_slist **l, const char *line)
{
	struct curl_slist *n = curl_slist_append(*l, line);

	SB_ENSURE(n != NULL, SB_ERR_NOMEM);
	*l = n;
	return SB_OK_RESULT;
}

static SB_RESULT body_sha256_hex(const struct sb_http_request *req, char out[65])
{
	uint8_t d[SB_SHA256_LEN], chunk[65536];
	struct sb_hash h;
	struct sb_buf hex = SB_BUF_INIT(2 * SB_SHA256_LEN);
	sb_result rc;
	uint64_t off = 0;

	SB_GUARD(sb_hash_init(&h, SB_HASH_SHA256));
	if (req->body_fd < 0) {
		SB_GUARD_GOTO(rc, sb_hash_update(&h, req->body), out);
	} else {
		while (off < req->body_len) {
			size_t want = req->body_len - off < sizeof(chunk) ? (size_t)(req->body_len - off)
									  : sizeof(chunk);
			ssize_t got = pread(req->body_fd, chunk, want, (off_t)off);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, out, "%s: reading the body: %s",
						 req->op, got == 0 ? "file shrank" : strerror(errno));
			SB_GUARD_GOTO(rc, sb_hash_update(&h, SB_SLICE(chunk, (size_t)got)), out);
			off += (uint64_t)got;
		}
	}
	SB_GUARD_GOTO(rc, sb_hash_final(&h, d, sizeof(d)), out);
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(d, sizeof(d)), &hex), out);
	memcpy(out, hex.data, 2 * SB_SHA256_LEN + 1);
out:
	sb_hash_cleanup(&h);
	sb_buf_cleanup(&hex);
	return rc;
}

static SB_RESULT build_headers(struct xfer *x)
{
	const struct sb_http_request *req = x->req;
	struct sb_buf line = SB_BUF_INIT_SECRET(SB_AWS_TOKEN_MAX + 64);
	sb_result rc = SB_OK_RESULT;

	if (req->content_type != NULL) {
		SB_GUARD_GOTO(rc, sb_buf_printf(&line, "Content-Type: %s", req->content_type), out);
		SB_GUARD_GOTO(rc, slist_add(&x->hdrs, sb_buf_cstr(&line)), out);
	}
	if (req->payload_hash) {
		sb_buf_reset(&line);
		SB_GUARD_GOTO(rc, sb_buf_printf(&line, "x-amz-content-sha256: %s", x->payload_hash),
			      out);
		SB_GUARD_GOTO(rc, slist_add(&x->hdrs, sb_buf_cstr(&line)), out);
	}
	if (req->sign != NULL && req->sign->creds->token.len > 0) {
		sb_buf_reset(&line);
		SB_GUARD_GOTO(rc, sb_buf_append_str(&line, "X-Amz-Security-Token: "), out);
		SB_GUARD_GOTO(rc, sb_buf_append_slice(&line, sb_buf_slice(&req->sign->creds->token)),
			      out);
		SB_GUARD_GOTO(rc, slist_add(&x->hdrs, sb_buf_cstr(&line)), out);
	}
	for (size_t i = 0; i < SB_HTTP_MAX_HEADERS && req->headers[i] != NULL; i++)
		SB_GUARD_GOTO(rc, slist_add(&x->hdrs, req->headers[i]), out);
out:
	sb_buf_cleanup(&line);
	return rc;
}

/* "host:port:127.0.0.1" so curl needs no DNS inside the enclave. */
static SB_RESULT build_resolve(struct xfer *x)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	struct sb_buf line = SB_BUF_INIT(1024);
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(u != NULL, SB_ERR_NOMEM);
	if (curl_url_set(u, CURLUPART_URL, x->req->url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_INVALID_ARG, out, "%s: bad URL", x->req->op);
	SB_GUARD_GOTO(rc, sb_buf_printf(&line, "%s:%s:127.0.0.1", host, port), out);
	SB_GUARD_GOTO(rc, slist_add(&x->resolve, sb_buf_cstr(&line)), out);
out:
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	sb_buf_cleanup(&line);
	return rc;
}

static SB_RESULT set_method(struct xfer *x)
{
	const struct sb_http_request *req = x->req;
	CURL *e = x->easy;
	bool ok = true;
	uint64_t len = req->body_fd >= 0 ? req->body_len : req->body.len;

	if (strcmp(req->method, "GET") == 0) {
		ok = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) == CURLE_OK;
	} else if (strcmp(req->method, "HEAD") == 0) {
		ok = curl_easy_setopt(e, CURLOPT_NOBODY, 1L) == CURLE_OK;
	} else if (strcmp(req->method, "DELETE") == 0) {
		ok = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE") == CURLE_OK;
	} else if (strcmp(req->method, "POST") == 0) {
		/*
		 * POST bodies come from memory as POSTFIELDS: libcurl's SigV4 hashes
		 * exactly those bytes for the payload hash.
		 */
		SB_ENSURE_MSG(req->body_fd < 0, SB_ERR_INVALID_ARG, "%s: POST body must be in memory",
			      req->op);
		ok = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_POSTFIELDS,
				      req->body.ptr != NULL ? (const char *)req->body.ptr : "") ==
			     CURLE_OK;
	} else if (strcmp(req->method, "PUT") == 0) {
		/* PUT bodies stream through on_read, from memory or a file. */
		ok = curl_easy_setopt(e, CURLOPT_UPLOAD, 1L) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_READDATA, x) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, on_seek) == CURLE_OK &&
		     curl_easy_setopt(e, CURLOPT_SEEKDATA, x) == CURLE_OK;
	} else {
		SB_BAIL_MSG(SB_ERR_INVALID_ARG, "%s: unsupported method", req->op);
	}
	SB_ENSURE_MSG(ok, SB_ERR_INTERNAL, "%s: curl option rejected", req->op);
	return SB_OK_RESULT;
}

static SB_RESULT check_request(const struct sb_http_request *req)
{
	SB_ENSURE_REF(req);
	SB_ENSURE_MSG(req->op != NULL && req->method != NULL && req->url != NULL,
		      SB_ERR_INVALID_ARG, "HTTP request needs op, method and url");
	SB_ENSURE_MSG(req->out == NULL || req->out_fd < 0, SB_ERR_INVALID_ARG,
		      "%s: one response sink only", req->op);
	if (req->sign != NULL) {
		/* libcurl's SigV4 would otherwise sign a default form content type. */
		SB_ENSURE_MSG(req->content_type != NULL, SB_ERR_INVALID_ARG,
			      "%s: signed requests need an explicit Content-Type", req->op);
		SB_ENSURE_MSG(req->sign->service != NULL && sb_aws_region_valid(req->sign->region),
			      SB_ERR_AWS_NO_REGION, "%s: signing needs a service and a region",
			      req->op);
		SB_ENSURE_MSG(sb_aws_creds_present(req->sign->creds), SB_ERR_AWS_NO_CREDENTIALS,
			      "%s: signing needs credentials", req->op);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_http_xfer_begin(struct xfer *x)
{
	SB_GUARD(check_request(x->req));
	if (x->req->payload_hash)
		SB_GUARD(body_sha256_hex(x->req, x->payload_hash));
	SB_GUARD(build_headers(x));
	if (x->cfg->vsock)
		SB_GUARD(build_resolve(x));
	return SB_OK_RESULT;
}

void sb_http_xfer_end(struct xfer *x)
{
	slist_free_wiped(x->hdrs);
	x->hdrs = NULL;
	curl_slist_free_all(x->resolve);
	x->resolve = NULL;
	sb_buf_cleanup(&x->errbody);
	if (x->easy != NULL) {
		/* Drop libcurl's copies of the credentials; connections stay alive. */
		curl_easy_reset(x->easy);
	}
}

#define SETOPT(e, opt, val)                                                                        \
	do {                                                                                       \
		if (curl_easy_setopt((e), (opt), (val)) != CURLE_OK)                               \
			SB_BAIL_MSG(SB_ERR_INTERNAL, "%s: curl rejected option %s", req->op, #opt); \
	} while (0)

static SB_RESULT setopt_common(struct xfer *x)
{
	const struct sb_http_request *req = x->req;
	const struct sb_http_config *cfg = x->cfg;
	const char *ca = getenv("SSL_CERT_FILE");
	CURL *e = x->easy;

	if (ca == NULL || ca[0] == '\0')
		ca = getenv("CURL_CA_BUNDLE");
	SETOPT(e, CURLOPT_URL, req->url);
	SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(e, CURLOPT_NOSIGNAL, 1L);
	SETOPT(e, CURLOPT_VERBOSE, 0L);
	SETOPT(e, CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SETOPT(e, CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca != NULL && ca[0] != '\0')
		SETOPT(e, CURLOPT_CAINFO, ca);
	SETOPT(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	SETOPT(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	if (cfg->low_speed_time_s > 0) {
		SETOPT(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(e, CURLOPT_LOW_SPEED_TIME, (long)cfg->low_speed_time_s);
	}
	SETOPT(e, CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(e, CURLOPT_ERRORBUFFER, x->curl_err);
	SETOPT(e, CURLOPT_PREREQFUNCTION, on_prereq);
	SETOPT(e, CURLOPT_PREREQDATA, (void *)x);
	/* Only TLS backends that expose an SSL_CTX have this hook: optional. */
	if (curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) == CURLE_OK)
		(void)curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, (void *)x);
	SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(e, CURLOPT_WRITEDATA, x);
	SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(e, CURLOPT_HEADERDATA, x);
	SETOPT(e, CURLOPT_HTTPHEADER, x->hdrs);
	SETOPT(e, CURLOPT_PRIVATE, (void *)x);
	return SB_OK_RESULT;
}

static SB_RESULT setopt_sign_and_socket(struct xfer *x)
{
	const struct sb_http_request *req = x->req;
	CURL *e = x->easy;

	if (req->sign != NULL) {
		char sigv4[128];
		int n = snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:%s", req->sign->region,
				 req->sign->service);
		SB_ENSURE(n > 0 && (size_t)n < sizeof(sigv4), SB_ERR_INVALID_ARG);
		SETOPT(e, CURLOPT_AWS_SIGV4, sigv4);
		/* Separate options: a secret key is never joined into a "user:pass" string. */
		SETOPT(e, CURLOPT_USERNAME, req->sign->creds->access_key_id);
		SETOPT(e, CURLOPT_PASSWORD, sb_buf_cstr(&req->sign->creds->secret));
	}
	if (x->cfg->vsock && curl_preconnected_ok()) {
		SETOPT(e, CURLOPT_RESOLVE, x->resolve);
		SETOPT(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
		SETOPT(e, CURLOPT_OPENSOCKETDATA, x);
		SETOPT(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
		SETOPT(e, CURLOPT_SOCKOPTDATA, x);
	} else if (x->cfg->vsock) {
		char name[SB_VSOCK_BRIDGE_NAME_MAX];
		if (!sb_ok(sb_vsock_bridge_name(x->cfg->vsock_cid, x->cfg->vsock_port, name))) {
			(void)snprintf(x->vsock_err, sizeof(x->vsock_err), "vsock bridge: %s",
				       sb_error_describe());
			SB_BAIL_MSG(SB_ERR_HTTP_CONNECT, "%s", x->vsock_err);
		}
		SETOPT(e, CURLOPT_UNIX_SOCKET_PATH, name);
	}
	return SB_OK_RESULT;
}

/* Connections survive curl_easy_reset. */
SB_RESULT sb_http_xfer_attempt_setup(struct xfer *x)
{
	const struct sb_http_request *req = x->req;

	curl_easy_reset(x->easy);
	x->upload_off = 0;
	x->status = 0;
	x->too_large = false;
	x->io_error = false;
	x->headers_too_large = false;
	/* Per attempt: nothing of an earlier attempt can be taken for this one's error. */
	x->curl_err[0] = '\0';
	x->curl_err_stale = false;
	x->addr_unprintable = false;
	x->vsock_err[0] = '\0';
	sb_buf_reset(&x->errbody);
	x->resp->status = 0;
	x->resp->body_bytes = 0;
	sb_buf_reset(&x->resp->headers);
	if (req->out != NULL)
		sb_buf_reset(req->out);
	if (req->out_fd >= 0 && ftruncate(req->out_fd, 0) != 0)
		SB_BAIL_MSG(SB_ERR_IO, "%s: truncating the output: %s", req->op, strerror(errno));
	SB_GUARD(setopt_common(x));
	SB_GUARD(setopt_sign_and_socket(x));
	SB_GUARD(set_method(x));
	return SB_OK_RESULT;
}

void sb_http_store_error(struct sb_http_response *resp)
{
	resp->error = sb_error_code() != SB_OK ? sb_error_code() : SB_ERR_INTERNAL;
	(void)snprintf(resp->detail, sizeof(resp->detail), "%s", sb_error_detail());
}

static bool contains(const char *hay, struct sb_slice needle)
{
	return needle.len > 0 && memmem(hay, strlen(hay), needle.ptr, needle.len) != NULL;
}

/* Never let a server echo credentials into an error detail. */
static void redact(struct xfer *x)
{
	const struct sb_http_sign *s = x->req->sign;

	if (s == NULL)
		return;
	if (contains(x->resp->detail, sb_buf_slice(&s->creds->secret)) ||
	    contains(x->resp->detail, sb_buf_slice(&s->creds->token)) ||
	    contains(x->resp->aws_error.message, sb_buf_slice(&s->creds->secret)) ||
	    contains(x->resp->aws_error.message, sb_buf_slice(&s->creds->token))) {
		sb_wipe(x->resp->detail, sizeof(x->resp->detail));
		sb_wipe(x->resp->aws_error.message, sizeof(x->resp->aws_error.message));
		(void)snprintf(x->resp->detail, sizeof(x->resp->detail), "%s: %s (HTTP %ld)",
			       x->req->op, XFER_CLEAN_DETAIL, x->resp->status);
	}
}

/* Transport failures: which are worth another attempt. */
static int curl_code_error(CURLcode cc, enum sb_http_class *cls)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
		*cls = SB_HTTP_CLASS_TRANSIENT;
		return SB_ERR_HTTP_CONNECT;
	case CURLE_COULDNT_RESOLVE_HOST:
		*cls = SB_HTTP_CLASS_PERMANENT;
		return SB_ERR_HTTP_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		*cls = SB_HTTP_CLASS_TIMEOUT;
		return SB_ERR_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		*cls = SB_HTTP_CLASS_TRANSIENT;
		return SB_ERR_HTTP;
	default:
		*cls = SB_HTTP_CLASS_PERMANENT;
		return SB_ERR_HTTP;
	}
}

static enum sb_http_class xfer_finish_transport(struct xfer *x, CURLcode cc)
{
	struct sb_http_response *r = x->resp;
	const char *op = x->req->op;
	enum sb_http_class cls = SB_HTTP_CLASS_PERMANENT;

	if (x->too_large || x->headers_too_large) {
		r->error = SB_ERR_TOO_LARGE;
		(void)snprintf(r->detail, sizeof(r->detail), "%s: response %s larger than allowed",
			       op, x->too_large ? "body" : "headers");
		return SB_HTTP_CLASS_PERMANENT;
	}
	if (x->io_error) {
		r->error = SB_ERR_IO;
		(void)snprintf(r->detail, sizeof(r->detail), "%s: local file I/O failed", op);
		return SB_HTTP_CLASS_PERMANENT;
	}
	r->error = curl_code_error(cc, &cls);
	/* Through the bridge a vsock failure shows as an empty reply: say why. */
	if (x->cfg->vsock && !curl_preconnected_ok() && x->vsock_err[0] == '\0' &&
	    sb_vsock_bridge_take_error(x->cfg->vsock_cid, x->cfg->vsock_port, x->vsock_err,
				       sizeof(x->vsock_err))) {
		r->error = SB_ERR_HTTP_CONNECT;
		cls = SB_HTTP_CLASS_TRANSIENT;
	}
	if (x->vsock_err[0] != '\0') {
		(void)snprintf(r->detail, sizeof(r->detail), "%s: %s", op, x->vsock_err);
	} else {
		long verify = 0;
		if (curl_easy_getinfo(x->easy, CURLINFO_SSL_VERIFYRESULT, &verify) != CURLE_OK)
			verify = 0;
		sb_http_transport_detail(r->detail, sizeof(r->detail), op, cc, x->curl_err,
					 x->curl_err_stale || x->addr_unprintable, verify);
	}
	return cls;
}

void sb_http_transport_detail(char *out, size_t n, const char *op, CURLcode cc,
			      const char *errbuf, bool errbuf_stale, long verify_result)
{
	const char *what = errbuf != NULL && errbuf[0] != '\0' && !errbuf_stale
				   ? errbuf
				   : curl_easy_strerror(cc);
	/* Only a handshake that checked a certificate has a result to name (curl
	 * reports X509_V_ERR_UNSPECIFIED when none took place, e.g. no CA bundle). */
	bool checked = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR;
	const char *tls = checked && verify_result != 0 ? sb_x509_verify_result_text(verify_result)
							: NULL;
	int len = snprintf(out, n, "%s: %s (curl error %d)", op, what, (int)cc);

	/* The TLS verification result, unless the text already says it. */
	if (tls != NULL && len > 0 && (size_t)len < n && strstr(what, tls) == NULL)
		(void)snprintf(out + len, n - (size_t)len, "; TLS certificate verification: %s",
			       tls);
}

static enum sb_http_class xfer_finish_status(struct xfer *x)
{
	struct sb_http_response *r = x->resp;
	struct sb_aws_error *ae = &r->aws_error;
	const char *op = x->req->op;

	sb_aws_error_parse(x->req->error_format, sb_buf_slice(&x->errbody), ae);
	r->error = sb_aws_error_classify(ae->code, r->status);
	if (ae->code[0] != '\0' && ae->message[0] != '\0')
		(void)snprintf(r->detail, sizeof(r->detail), "%s: %s: %s (HTTP %ld)", op, ae->code,
			       ae->message, r->status);
	else if (ae->code[0] != '\0')
		(void)snprintf(r->detail, sizeof(r->detail), "%s: %s (HTTP %ld)", op, ae->code,
			       r->status);
	else
		(void)snprintf(r->detail, sizeof(r->detail), "%s: HTTP %ld", op, r->status);
	if (sb_aws_error_is_throttle(ae->code, r->status))
		return SB_HTTP_CLASS_THROTTLE;
	return r->status >= 500 ? SB_HTTP_CLASS_TRANSIENT : SB_HTTP_CLASS_PERMANENT;
}

enum sb_http_class sb_http_xfer_finish(struct xfer *x, CURLcode cc)
{
	struct sb_http_response *r = x->resp;
	enum sb_http_class cls;

	(void)curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
	r->error = SB_OK;
	r->detail[0] = '\0';
	memset(&r->aws_error, 0, sizeof(r->aws_error));
	if (cc == CURLE_OK && r->status >= 200 && r->status < 300 && !x->too_large)
		cls = SB_HTTP_CLASS_OK;
	else if (cc != CURLE_OK || x->too_large || x->headers_too_large || x->io_error)
		cls = xfer_finish_transport(x, cc);
	else
		cls = xfer_finish_status(x);
	redact(x);
	sb_log_debug("%s: %s -> HTTP %ld (attempt %u)%s", x->req->op, x->req->method, r->status,
		     r->attempts, r->error == SB_OK ? "" : " failed");
	return cls;
}

void sb_http_note_attempts(struct sb_http_response *r)
{
	size_t n = strlen(r->detail);

	if (r->error != SB_OK && r->attempts > 1 && n < sizeof(r->detail))
		(void)snprintf(r->detail + n, sizeof(r->detail) - n, " after %u attempts",
			       r->attempts);
}

/* ---- single client ---------------------------------------------------- */

struct sb_http_client {
	struct sb_http_config cfg;
	CURL *easy;
	struct sb_http_retry retry;
};

SB_RESULT sb_http_client_new(const struct sb_http_config *cfg, struct sb_http_client **out)
{
	struct sb_http_client *c;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_GUARD(sb_http_curl_ready());
	SB_GUARD(sb_http_config_check(cfg));
	c = calloc(1, sizeof(*c));
	SB_ENSURE(c != NULL, SB_ERR_NOMEM);
	c->cfg = *cfg;
	sb_http_retry_init(&c->retry, &c->cfg);
	c->easy = curl_easy_init();
	if (c->easy == NULL) {
		free(c);
		SB_BAIL(SB_ERR_NOMEM);
	}
	*out = c;
	return SB_OK_RESULT;
}

void sb_http_client_free(struct sb_http_client *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->easy);
	free(c);
}

SB_RESULT sb_http_send(struct sb_http_client *c, const struct sb_http_request *req,
		       struct sb_http_response *resp)
{
	struct xfer x = {.easy = NULL, .req = req, .resp = resp};

	SB_ENSURE_REF(c);
	SB_ENSURE_REF(resp);
	x.easy = c->easy;
	x.cfg = &c->cfg;
	sb_buf_init(&x.errbody, SB_HTTP_ERROR_BODY_MAX);
	sb_http_response_reset(resp);
	resp->attempts = 0;
	if (!sb_ok(sb_http_xfer_begin(&x))) {
		sb_http_store_error(resp);
		sb_http_xfer_end(&x);
		return sb_http_response_result(resp);
	}
	for (;;) {
		uint64_t wait_ns, delay_ms;
		while ((wait_ns = sb_http_retry_acquire(&c->retry, sb_time_mono_ns())) > 0)
			sb_http_sleep_ns(wait_ns);
		resp->attempts++;
		if (!sb_ok(sb_http_xfer_attempt_setup(&x))) {
			sb_http_store_error(resp);
			break;
		}
		CURLcode cc = curl_easy_perform(c->easy);
		if (!sb_http_retry_next(&c->retry, &x, sb_http_xfer_finish(&x, cc), &delay_ms))
			break;
		sb_http_sleep_ns(delay_ms * 1000000u);
	}
	sb_http_note_attempts(resp);
	sb_http_xfer_end(&x);
	return sb_http_response_result(resp);
}
