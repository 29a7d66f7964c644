/*
 * Pipelined Ping/Pong over a client: keeps `window` pings in flight, checks
 * every Pong echoes its Ping's payload, and measures each round trip (from
 * queueing the Ping to taking its Pong). Used by `sealbid ping` and
 * bench/bench_channel.
 */
#ifndef SB_PING_H
#define SB_PING_H

#include <stddef.h>
#include <stdint.h>

#include "wire/sb_client.h"

#define SB_PING_MAX_WINDOW 1024u

struct sb_ping_opts {
	size_t count;       /* pings to send, >= 1 */
	size_t window;      /* in flight at once, 1..SB_PING_MAX_WINDOW */
	size_t payload_len; /* bytes per Ping, <= SB_MSG_PING_MAX_PAYLOAD */
};

struct sb_ping_stats {
	size_t count;
	uint64_t min_ns, p50_ns, p99_ns, max_ns;
	uint64_t total_ns; /* wall time of the whole run */
};

/* Borrows c and opts. A wrong or missing echo fails with SB_ERR_BAD_FRAME. */
SB_RESULT sb_ping_run(struct sb_wire_client *c, const struct sb_ping_opts *opts,
		      struct sb_ping_stats *out);

/* Nearest-rank percentile (pct 0..100) of n >= 1 ascending values. */
uint64_t sb_ping_percentile(const uint64_t *sorted, size_t n, unsigned pct);

/* Fills out from n >= 1 latencies (sorted in place). */
void sb_ping_summarize(uint64_t *lat_ns, size_t n, uint64_t total_ns, struct sb_ping_stats *out);

#endif
