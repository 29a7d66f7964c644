/*
 * The server's deadlines (see sb_server.h, docs/PROTOCOL.md §8): Hello must
 * arrive within hello_timeout of the accept, and a connection with no job
 * running is closed after idle_timeout without a frame either way. Without
 * them a peer that connects and stays silent holds a slot forever, and
 * max_conns such peers lock every parent out.
 *
 * No timer fd: each connection carries its deadline, the server keeps a
 * lower bound of them all (next_deadline_ns), and the loop's epoll_wait
 * sleeps until that bound. Deadlines only move later while a connection
 * lives, so the bound stays valid; it is recomputed by the sweep that runs
 * when it passes (one scan of the slots per expiry, never per event).
 */
#include <inttypes.h>
#include <stdio.h>

#include "common/sb_log.h"
#include "common/sb_time.h"
#include "wire/sb_server_internal.h"

/* Limit on one epoll_wait: a deadline far off is checked again after this. */
#define SB_SERVER_TIMER_MAX_WAIT_MS 60000

void sb_server_timer_arm(struct sb_server *s, struct conn *c)
{
	uint64_t now = sb_time_mono_ns();

	if (c->closing || c->abort)
		return;
	switch (c->state) {
	case SB_WIRE_STATE_HELLO:
		/* Set once at accept: bytes that never complete a Hello do not extend it. */
		if (c->deadline_ns == 0)
			c->deadline_ns = now + s->hello_timeout_ns;
		break;
	case SB_WIRE_STATE_READY:
	case SB_WIRE_STATE_CREDENTIALS:
		c->deadline_ns = now + s->idle_timeout_ns;
		break;
	default:
		/* A job is running (JOB) or its result is pending (DONE): the parent
		 * may rightly stay silent while the enclave computes. */
		c->deadline_ns = 0;
		return;
	}
	if (s->next_deadline_ns == 0 || c->deadline_ns < s->next_deadline_ns)
		s->next_deadline_ns = c->deadline_ns;
}

int sb_server_timer_wait_ms(const struct sb_server *s)
{
	uint64_t now = sb_time_mono_ns(), ms;

	if (s->next_deadline_ns == 0)
		return -1;
	if (s->next_deadline_ns <= now)
		return 0;
	/* Rounded up, so the loop never wakes just before the deadline and spins. */
	ms = (s->next_deadline_ns - now + 999999u) / 1000000u;
	return ms > SB_SERVER_TIMER_MAX_WAIT_MS ? SB_SERVER_TIMER_MAX_WAIT_MS : (int)ms;
}

static void conn_expire(struct sb_server *s, struct conn *c)
{
	bool hello = c->state == SB_WIRE_STATE_HELLO;
	uint64_t limit_ms = (hello ? s->hello_timeout_ns : s->idle_timeout_ns) / 1000000u;
	char text[96];

	sb_log_warn("connection %" PRIu64 ": %s, closing", c->id,
	            hello ? "no Hello in time" : "idle with no job running");
	(void)snprintf(text, sizeof(text), "%s within %" PRIu64 " ms",
	               hello ? "no Hello" : "no request", limit_ms);
	c->deadline_ns = 0;
	c->closing = true;
	/* A peer that left responses unread would hold the slot until it reads
	 * the Error: it is dropped without one. */
	if (c->out.len > 0)
		c->abort = true;
	else
		sb_server_conn_queue_error(s, c, 0, 0, SB_ERR_TIMEOUT, text);
	sb_server_conn_flush(s, c); /* may free c */
}

void sb_server_timer_expire(struct sb_server *s)
{
	uint64_t now = sb_time_mono_ns(), next = 0;

	if (s->next_deadline_ns == 0 || s->next_deadline_ns > now)
		return;
	for (size_t i = 0; i < s->max_conns; i++) {
		struct conn *c = s->conns[i];
		if (c == NULL || c->deadline_ns == 0 || c->closing || c->abort)
			continue;
		if (c->deadline_ns <= now) {
			conn_expire(s, c);
			continue;
		}
		if (next == 0 || c->deadline_ns < next)
			next = c->deadline_ns;
	}
	s->next_deadline_ns = next;
}
