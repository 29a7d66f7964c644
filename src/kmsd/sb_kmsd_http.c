#include "kmsd/sb_kmsd_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "kmsd/sb_kblob.h"

#define MAX_HEADERS 64
#define MAX_QUERY   4096

struct sb_kmsd_http {
	struct MHD_Daemon *daemon;
	struct sb_kmsd *kmsd;
	uint16_t port;
};

/* Per-request state: the body as it arrives (secret: Encrypt carries
 * plaintext in it). */
struct request_state {
	struct sb_buf body;
	bool too_large;
};

struct header_walk {
	struct sb_sigv4_header h[MAX_HEADERS];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct header_walk *w = cls;

	(void)kind;
	if (w->n == MAX_HEADERS) {
		w->overflow = true;
		return MHD_NO;
	}
	w->h[w->n++] = (struct sb_sigv4_header){sb_slice_str(key), sb_slice_str(value)};
	return MHD_YES;
}

/* libmicrohttpd hands over decoded query arguments; re-encode them (the
 * SigV4 canonicaliser decodes and re-encodes again, so this is lossless). */
static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
				     const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	struct sb_buf *q = cls;
	const char *parts[2] = {key, value != NULL ? value : ""};

	(void)kind;
	if (q->len > 0 && !sb_ok(sb_buf_append_u8(q, '&')))
		return MHD_NO;
	for (int p = 0; p < 2; p++) {
		if (p == 1 && !sb_ok(sb_buf_append_u8(q, '=')))
			return MHD_NO;
		for (const char *c = parts[p]; *c != '\0'; c++) {
			char e[3] = {'%', hex[(uint8_t)*c >> 4], hex[(uint8_t)*c & 15]};
			if (!sb_ok(sb_buf_append(q, e, 3)))
				return MHD_NO;
		}
	}
	return MHD_YES;
}

static void free_body(void *cls)
{
	struct sb_buf *b = cls;

	sb_buf_cleanup(b);
	free(b);
}

static enum MHD_Result send_response(struct MHD_Connection *conn, struct sb_kmsd_response *resp,
				     bool close)
{
	struct sb_buf *owned = malloc(sizeof(*owned));
	struct MHD_Response *r;
	char rid[SB_KBLOB_KEY_ID_LEN + 1];
	enum MHD_Result ret;

	if (owned == NULL)
		return MHD_NO;
	*owned = SB_BUF_INIT_SECRET(SB_KMSD_MAX_RESPONSE);
	sb_buf_move(owned, &resp->body);
	/* The buffer goes to libmicrohttpd, which calls free_body (a wipe)
	 * once the bytes are on the wire. */
	r = MHD_create_response_from_buffer_with_free_callback_cls(owned->len, owned->data,
								   free_body, owned);
	if (r == NULL) {
		free_body(owned);
		return MHD_NO;
	}
	(void)MHD_add_response_header(r, "Content-Type", "application/x-amz-json-1.1");
	if (sb_ok(sb_kblob_key_id_new(rid)))
		(void)MHD_add_response_header(r, "x-amzn-RequestId", rid);
	if (close)
		(void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, resp->status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result dispatch(struct sb_kmsd_http *s, struct MHD_Connection *conn,
				const char *url, const char *method, struct request_state *st)
{
	SB_DEFER(struct sb_buf query, sb_buf_cleanup) = SB_BUF_INIT(MAX_QUERY);
	struct sb_kmsd_response resp;
	struct header_walk w = {.n = 0};
	enum MHD_Result ret;

	sb_kmsd_response_init(&resp);
	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &w);
	(void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &query);
	if (st->too_large || w.overflow) {
		(void)sb_error_recordf(SB_ERR_TOO_LARGE, SB_HERE, "%s",
				 st->too_large ? "request body exceeds 65536 bytes"
					       : "too many request headers");
		sb_kmsd_error_response(SB_ERR_TOO_LARGE, &resp);
		resp.status = st->too_large ? 413 : 400;
	} else {
		struct sb_kmsd_request req = {
			.http = {sb_slice_str(method), sb_slice_str(url), sb_buf_slice(&query), w.h,
				 w.n, sb_buf_slice(&st->body)},
			.now_ms = sb_time_now_ms(),
		};
		sb_kmsd_handle(s->kmsd, &req, &resp);
	}
	ret = send_response(conn, &resp, false);
	sb_kmsd_response_cleanup(&resp);
	return ret;
}

struct framing_walk {
	const char *length; /* the first Content-Length value */
	bool conflict;      /* another Content-Length with a different value */
	bool chunked;       /* a Transfer-Encoding as well */
};

static enum MHD_Result check_framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
					    const char *value)
{
	struct framing_walk *w = cls;

	(void)kind;
	if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
		w->chunked = true;
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0)
		return MHD_YES;
	if (w->length == NULL)
		w->length = value != NULL ? value : "";
	else if (value == NULL || strcmp(w->length, value) != 0)
		w->conflict = true;
	return MHD_YES;
}

/*
 * RFC 9112 §6.3: "If a message is received without Transfer-Encoding and
 * with either multiple Content-Length header fields having differing
 * field-values or a single Content-Length header field having an invalid
 * value, then the message framing is invalid and the recipient MUST treat
 * it as an unrecoverable error ... the server MUST respond with a 400 (Bad
 * Request) status code and then close the connection." libmicrohttpd keeps
 * every header line and frames the body by one of them, so the check is
 * ours. A request with both Transfer-Encoding and Content-Length (§6.1: a
 * server "MAY reject") is refused the same way: either is a smuggling vector.
 */
static bool framing_ok(struct MHD_Connection *conn)
{
	struct framing_walk w = {0};

	(void)MHD_get_connection_values(conn, MHD_HEADER_KIND, check_framing_header, &w);
	return !w.conflict && !(w.chunked && w.length != NULL);
}

static enum MHD_Result refuse_framing(struct MHD_Connection *conn)
{
	struct sb_kmsd_response resp;
	enum MHD_Result ret;

	sb_kmsd_response_init(&resp);
	(void)sb_error_recordf(SB_ERR_KMS_VALIDATION, SB_HERE,
			       "conflicting Content-Length or Transfer-Encoding headers");
	sb_log_warn("refusing a request: %s", sb_error_describe());
	sb_kmsd_error_response(SB_ERR_KMS_VALIDATION, &resp);
	resp.status = 400;
	ret = send_response(conn, &resp, true);
	sb_kmsd_response_cleanup(&resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct request_state *st = *con_cls;

	(void)version;
	if (st == NULL && !framing_ok(conn))
		return refuse_framing(conn);
	if (st == NULL) {
		st = calloc(1, sizeof(*st));
		if (st == NULL)
			return MHD_NO;
		st->body = SB_BUF_INIT_SECRET(SB_KMSD_MAX_BODY);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		/* Past the limit the rest is read and dropped, then refused. */
		if (!st->too_large && !sb_ok(sb_buf_append(&st->body, upload, *upload_size))) {
			st->too_large = true;
			sb_buf_cleanup(&st->body);
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(cls, conn, url, method, st);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st == NULL)
		return;
	sb_buf_cleanup(&st->body);
	free(st);
	*con_cls = NULL;
}

static SB_RESULT limits_resolve(const struct sb_kmsd_http_limits *in,
				struct sb_kmsd_http_limits *out)
{
	struct sb_kmsd_http_limits d = {SB_KMSD_HTTP_DEFAULT_THREADS, SB_KMSD_HTTP_DEFAULT_IDLE_S,
					SB_KMSD_HTTP_DEFAULT_CONNECTIONS,
					SB_KMSD_HTTP_DEFAULT_PER_IP};

	if (in != NULL) {
		d.threads = in->threads != 0 ? in->threads : d.threads;
		d.idle_timeout_s = in->idle_timeout_s != 0 ? in->idle_timeout_s : d.idle_timeout_s;
		d.max_connections = in->max_connections != 0 ? in->max_connections
							      : d.max_connections;
		d.max_per_ip = in->max_per_ip != 0 ? in->max_per_ip : d.max_per_ip;
	}
	if (d.max_per_ip > d.max_connections)
		d.max_per_ip = d.max_connections;
	SB_ENSURE_MSG(d.threads >= 1 && d.threads <= 64, SB_ERR_INVALID_ARG, "threads: 1..64");
	SB_ENSURE_MSG(d.idle_timeout_s <= 3600, SB_ERR_INVALID_ARG, "idle timeout: 1..3600 s");
	SB_ENSURE_MSG(d.max_connections <= 16384, SB_ERR_INVALID_ARG,
		      "max connections: 1..16384");
	/* libmicrohttpd splits the limit among the pool's threads. */
	SB_ENSURE_MSG(d.max_connections >= d.threads, SB_ERR_INVALID_ARG,
		      "max connections (%u) below the thread count (%u)", d.max_connections,
		      d.threads);
	*out = d;
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_http_start_limits(struct sb_kmsd *kmsd, const char *host, uint16_t port,
				    const struct sb_kmsd_http_limits *limits,
				    struct sb_kmsd_http **out)
{
	struct sb_kmsd_http *s;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct sb_kmsd_http_limits l = {0};
	const union MHD_DaemonInfo *info;

	SB_ENSURE_REF(kmsd);
	SB_ENSURE_REF(host);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(inet_pton(AF_INET, host, &addr.sin_addr) == 1, SB_ERR_INVALID_ARG,
		      "listen address must be an IPv4 address");
	SB_GUARD(limits_resolve(limits, &l));
	SB_GUARD(sb_calloc(1, sizeof(*s), (void **)&s));
	s->kmsd = kmsd;
	/* MHD_OPTION_CONNECTION_TIMEOUT closes a connection after that many
	 * seconds without traffic, headers half sent included: a slowloris
	 * client that stalls loses its slot. The two limits cap what trickling
	 * clients can hold at once, per address and in all. */
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, port, NULL,
		NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, l.threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		NULL, MHD_OPTION_CONNECTION_TIMEOUT, l.idle_timeout_s,
		MHD_OPTION_CONNECTION_LIMIT, l.max_connections,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, l.max_per_ip,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_END);
	if (s->daemon == NULL) {
		free(s);
		SB_BAIL_MSG(SB_ERR_IO, "cannot listen on %s:%u", host, (unsigned)port);
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : port;
	*out = s;
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_http_start(struct sb_kmsd *kmsd, const char *host, uint16_t port,
			     unsigned threads, struct sb_kmsd_http **out)
{
	struct sb_kmsd_http_limits l = {.threads = threads};

	SB_ENSURE(threads >= 1 && threads <= 64, SB_ERR_INVALID_ARG);
	return sb_kmsd_http_start_limits(kmsd, host, port, &l, out);
}

uint16_t sb_kmsd_http_port(const struct sb_kmsd_http *s)
{
	return s != NULL ? s->port : 0;
}

void sb_kmsd_http_stop(struct sb_kmsd_http *s)
{
	if (s == NULL)
		return;
	MHD_stop_daemon(s->daemon);
	free(s);
}
