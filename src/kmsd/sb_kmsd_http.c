#include "kmsd/sb_kmsd_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
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

static enum MHD_Result send_response(struct MHD_Connection *conn, struct sb_kmsd_response *resp)
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
	ret = send_response(conn, &resp);
	sb_kmsd_response_cleanup(&resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct request_state *st = *con_cls;

	(void)version;
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

SB_RESULT sb_kmsd_http_start(struct sb_kmsd *kmsd, const char *host, uint16_t port,
			     unsigned threads, struct sb_kmsd_http **out)
{
	struct sb_kmsd_http *s;
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
	const union MHD_DaemonInfo *info;

	SB_ENSURE_REF(kmsd);
	SB_ENSURE_REF(host);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(inet_pton(AF_INET, host, &addr.sin_addr) == 1, SB_ERR_INVALID_ARG,
		      "listen address must be an IPv4 address");
	SB_ENSURE(threads >= 1 && threads <= 64, SB_ERR_INVALID_ARG);
	SB_GUARD(sb_calloc(1, sizeof(*s), (void **)&s));
	s->kmsd = kmsd;
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, port, NULL,
		NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		NULL, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)(128 * 1024), MHD_OPTION_END);
	if (s->daemon == NULL) {
		free(s);
		SB_BAIL_MSG(SB_ERR_IO, "cannot listen on %s:%u", host, (unsigned)port);
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info != NULL ? info->port : port;
	*out = s;
	return SB_OK_RESULT;
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
