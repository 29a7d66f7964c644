/* Pipelined ping runner (see sb_ping.h). */
#include "wire/sb_ping.h"

#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "common/sb_time.h"

struct ping_slot {
	uint32_t id; /* 0 = free */
	size_t seq;
	uint64_t start_ns;
};

struct ping_run {
	struct sb_wire_client *c;
	const struct sb_ping_opts *o;
	struct ping_slot *slots;
	uint64_t *lat;
	uint8_t *payload;
	size_t sent, done;
};

/* Each Ping's bytes depend on its sequence number, so a mixed-up echo shows. */
static void fill(uint8_t *p, size_t n, size_t seq)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 131u + i * 7u + 1u);
}

static SB_RESULT send_one(struct ping_run *r)
{
	struct ping_slot *s = NULL;

	for (size_t i = 0; i < r->o->window && s == NULL; i++)
		if (r->slots[i].id == 0)
			s = &r->slots[i];
	SB_ENSURE(s != NULL, SB_ERR_INTERNAL);
	fill(r->payload, r->o->payload_len, r->sent);
	s->seq = r->sent;
	s->start_ns = sb_time_mono_ns();
	SB_GUARD(sb_wire_client_queue(r->c, SB_MSG_PING, SB_SLICE(r->payload, r->o->payload_len),
				      &s->id));
	r->sent++;
	return SB_OK_RESULT;
}

static SB_RESULT take_one(struct ping_run *r, struct sb_wire_response *resp)
{
	struct ping_slot *s = NULL;

	SB_GUARD(sb_wire_client_recv(r->c, -1, resp));
	for (size_t i = 0; i < r->o->window && s == NULL; i++)
		if (r->slots[i].id == resp->id)
			s = &r->slots[i];
	SB_ENSURE_MSG(s != NULL, SB_ERR_BAD_FRAME, "response %u to no Ping", resp->id);
	SB_GUARD(sb_wire_response_check(resp));
	SB_ENSURE_MSG(resp->type == SB_MSG_PONG, SB_ERR_WIRE_UNEXPECTED, "Ping answered with %s",
		      sb_msg_name(resp->type));
	fill(r->payload, r->o->payload_len, s->seq);
	SB_ENSURE_MSG(resp->payload.len == r->o->payload_len &&
			      (r->o->payload_len == 0 ||
			       memcmp(resp->payload.data, r->payload, r->o->payload_len) == 0),
		      SB_ERR_BAD_FRAME, "Pong %u does not echo its Ping", resp->id);
	r->lat[r->done++] = sb_time_mono_ns() - s->start_ns;
	s->id = 0;
	return SB_OK_RESULT;
}

static SB_RESULT run_loop(struct ping_run *r)
{
	struct sb_wire_response resp;
	sb_result rc = SB_OK_RESULT;

	sb_wire_response_init(&resp);
	while (r->done < r->o->count) {
		while (r->sent < r->o->count && r->sent - r->done < r->o->window)
			SB_GUARD_GOTO(rc, send_one(r), out);
		SB_GUARD_GOTO(rc, sb_wire_client_flush(r->c), out);
		SB_GUARD_GOTO(rc, take_one(r, &resp), out);
	}
out:
	sb_wire_response_cleanup(&resp);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

uint64_t sb_ping_percentile(const uint64_t *sorted, size_t n, unsigned pct)
{
	/* Nearest rank: the smallest value with at least pct% of values at or below it. */
	size_t rank = (pct * n + 99u) / 100u;
	return sorted[rank == 0 ? 0 : rank - 1];
}

void sb_ping_summarize(uint64_t *lat_ns, size_t n, uint64_t total_ns, struct sb_ping_stats *out)
{
	qsort(lat_ns, n, sizeof(lat_ns[0]), cmp_u64);
	out->count = n;
	out->min_ns = lat_ns[0];
	out->p50_ns = sb_ping_percentile(lat_ns, n, 50);
	out->p99_ns = sb_ping_percentile(lat_ns, n, 99);
	out->max_ns = lat_ns[n - 1];
	out->total_ns = total_ns;
}

SB_RESULT sb_ping_run(struct sb_wire_client *c, const struct sb_ping_opts *opts,
		      struct sb_ping_stats *out)
{
	struct ping_run r = {.c = c, .o = opts};
	void *slots = NULL, *lat = NULL, *payload = NULL;
	uint64_t t0;
	sb_result rc;

	SB_ENSURE_REF(c);
	SB_ENSURE_REF(opts);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(opts->count >= 1 && opts->window >= 1 && opts->window <= SB_PING_MAX_WINDOW &&
			      opts->payload_len <= SB_MSG_PING_MAX_PAYLOAD,
		      SB_ERR_INVALID_ARG, "count >= 1, window 1..%u, payload <= %u bytes",
		      SB_PING_MAX_WINDOW, SB_MSG_PING_MAX_PAYLOAD);
	SB_GUARD_GOTO(rc, sb_calloc(opts->window, sizeof(struct ping_slot), &slots), out);
	SB_GUARD_GOTO(rc, sb_calloc(opts->count, sizeof(uint64_t), &lat), out);
	SB_GUARD_GOTO(rc, sb_calloc(opts->payload_len + 1, 1, &payload), out);
	r.slots = slots;
	r.lat = lat;
	r.payload = payload;
	t0 = sb_time_mono_ns();
	SB_GUARD_GOTO(rc, run_loop(&r), out);
	sb_ping_summarize(r.lat, r.done, sb_time_mono_ns() - t0, out);
out:
	free(slots);
	free(lat);
	free(payload);
	return rc;
}
