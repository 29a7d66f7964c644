/*
 * sb_proxy: the local equivalent of AWS's vsock-proxy. It listens on a
 * vsock port (the Unix mapping under SEALBID_VSOCK_DIR locally) and relays
 * bytes both ways between each accepted connection and exactly one allowed
 * TCP host:port, so an enclave (no network) can reach KMS: TLS still ends in
 * the enclave, the proxy only moves bytes.
 *
 * One thread per connection pair, non-blocking sockets and poll(): no
 * sleeps, no busy loops. Like AWS's vsock-proxy (a pool of --num_workers
 * threads fed by its accept loop), at most num_workers connections are
 * served at once: the rest are accepted and wait, in arrival order, without
 * a TCP connection, until one ends; none is refused below max_conns
 * (relay threads, waiting or served). Half-close is forwarded (EOF on one
 * side becomes shutdown(SHUT_WR) on the other once buffered bytes are
 * written), so a request/response over a half-closed stream works. sb_proxy_stop (safe in a
 * signal handler) makes sb_proxy_run stop accepting, close every relay and
 * return once all relay threads are gone.
 */
#ifndef SB_PROXY_H
#define SB_PROXY_H

#include <stdint.h>

#include "common/sb_result.h"

#define SB_PROXY_HOST_MAX      255
#define SB_PROXY_BUF           (64u << 10) /* per direction per connection */
#define SB_PROXY_DEFAULT_CONNS 256u
#define SB_PROXY_CONNECT_MS    10000
#define SB_PROXY_VSOCK_DEFAULT_WORKERS 4u /* vsock-proxy's --num_workers default */

struct sb_proxy_config {
	uint32_t listen_port;             /* vsock port */
	char host[SB_PROXY_HOST_MAX + 1]; /* the one allowed target */
	uint16_t port;
	uint32_t max_conns;               /* relayed at once (served or waiting); more are refused */
	uint32_t num_workers;             /* served at once; 0 = max_conns (none waits) */
};

/* What a proxy saw (sb_proxy_stats). */
struct sb_proxy_stats {
	uint64_t accepted;
	uint64_t waited;     /* connections that had to wait for a worker */
	uint32_t peak_open;  /* most open at once, served or waiting */
	uint32_t peak_served;
};

/* Parses "HOST:PORT" or "[IPv6]:PORT" into cfg->host / cfg->port. */
SB_RESULT sb_proxy_parse_target(const char *target, struct sb_proxy_config *cfg);

struct sb_proxy;

/* Listens (sb_vsock_listen) right away. Caller frees. */
SB_RESULT sb_proxy_new(const struct sb_proxy_config *cfg, struct sb_proxy **out);
/* Serves until sb_proxy_stop; returns after every relay has ended. */
SB_RESULT sb_proxy_run(struct sb_proxy *p);
/* Async-signal-safe: asks sb_proxy_run to finish. */
void sb_proxy_stop(struct sb_proxy *p);
void sb_proxy_free(struct sb_proxy *p);
/* Connections accepted so far. */
uint64_t sb_proxy_accepted(struct sb_proxy *p);
/*
 * Counts so far. A connection is open from its accept until its peer has
 * closed it (or shut down its sending side) as the kernel saw when the next
 * connection was accepted, so one closed just before another opens is not
 * counted twice.
 */
void sb_proxy_stats(struct sb_proxy *p, struct sb_proxy_stats *out);

#endif
