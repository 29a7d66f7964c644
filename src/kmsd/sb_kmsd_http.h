/*
 * The HTTP/1.1 front of sealbid-kms (libmicrohttpd): a thread pool with
 * keep-alive, bodies bounded by SB_KMSD_MAX_BODY while they arrive (413 with
 * a ValidationException past it), each complete request handed to
 * sb_kmsd_handle. Response bodies (which may carry a plaintext data key) are
 * wiped when libmicrohttpd releases them. A request whose framing is
 * ambiguous (conflicting Content-Length headers) gets 400 and the
 * connection is closed.
 */
#ifndef SB_KMSD_HTTP_H
#define SB_KMSD_HTTP_H

#include <stdint.h>

#include "kmsd/sb_kmsd.h"

struct sb_kmsd_http;

/*
 * Listens on host:port (an IPv4 address; port 0 picks a free one) with
 * `threads` worker threads. Borrows kmsd, which must outlive the server.
 * Caller stops it with sb_kmsd_http_stop.
 */
SB_RESULT sb_kmsd_http_start(struct sb_kmsd *kmsd, const char *host, uint16_t port,
			     unsigned threads, struct sb_kmsd_http **out);

/*
 * Limits against slow or many clients (slowloris): a connection idle for
 * idle_timeout_s seconds (no byte in either direction, also in the middle
 * of its headers) is closed; at most max_connections are open at once, at
 * most max_per_ip of them from one client address (connections beyond are
 * closed at accept). 0 in any field = the default below.
 */
struct sb_kmsd_http_limits {
	unsigned threads;         /* 1..64 */
	unsigned idle_timeout_s;  /* 1..3600 */
	unsigned max_connections; /* 1..16384 */
	unsigned max_per_ip;      /* 1..max_connections */
};
#define SB_KMSD_HTTP_DEFAULT_THREADS     4u
#define SB_KMSD_HTTP_DEFAULT_IDLE_S      15u
#define SB_KMSD_HTTP_DEFAULT_CONNECTIONS 1000u
/* Above sealbid proxy's 256 connections, which all come from the parent. */
#define SB_KMSD_HTTP_DEFAULT_PER_IP      300u

/* sb_kmsd_http_start with explicit limits (borrowed; NULL = all defaults). */
SB_RESULT sb_kmsd_http_start_limits(struct sb_kmsd *kmsd, const char *host, uint16_t port,
				    const struct sb_kmsd_http_limits *limits,
				    struct sb_kmsd_http **out);
/* The port actually bound. */
uint16_t sb_kmsd_http_port(const struct sb_kmsd_http *http);
/* Stops serving and frees. NULL-safe. */
void sb_kmsd_http_stop(struct sb_kmsd_http *http);

#endif
