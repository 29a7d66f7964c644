/*
 * The HTTP/1.1 front of sealbid-kms (libmicrohttpd): a thread pool with
 * keep-alive, bodies bounded by SB_KMSD_MAX_BODY while they arrive (413 with
 * a ValidationException past it), each complete request handed to
 * sb_kmsd_handle. Response bodies (which may carry a plaintext data key) are
 * wiped when libmicrohttpd releases them.
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
/* The port actually bound. */
uint16_t sb_kmsd_http_port(const struct sb_kmsd_http *http);
/* Stops serving and frees. NULL-safe. */
void sb_kmsd_http_stop(struct sb_kmsd_http *http);

#endif
