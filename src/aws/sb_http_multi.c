/*
 * The multi runner (see sb_http.h): N queued requests over at most
 * max_parallel kept-alive connections (CURLMOPT_MAX_TOTAL_CONNECTIONS),
 * driven by curl_multi_poll. Fewer may run: an attempt that timed out
 * without a byte of answer (a proxy that leaves connections waiting, like
 * vsock-proxy past its --num_workers) lowers the number in flight by one,
 * down to 1, so its retry goes to a connection that is being served rather
 * than a new one left waiting. Each slot
 * holds one transfer (struct xfer, sb_http_internal.h) through its
 * attempts; a slot waiting out a retry backoff, or for the adaptive rate
 * limiter, sleeps in the poll timeout rather than in a sleep call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sb_http.h"
#include "aws/sb_http_internal.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"

enum slot_state {
	SLOT_FREE,
	SLOT_RUNNING,
	SLOT_BACKOFF, /* waiting until not_before_ns to start its next attempt */
};

struct multi_item {
	const struct sb_http_request *req;
	struct sb_http_response *resp;
};

struct sb_http_multi {
	struct sb_http_config cfg;
	CURLM *cm;
	uint32_t n_slots;
	uint32_t limit; /* transfers in flight at most: n_slots, lowered by stalls */
	bool warned;
	bool drained;   /* this run has started its last request: keep one idle connection */
	struct xfer *slots;
	enum slot_state *state;
	struct multi_item *queue;
	size_t n_queue, cap_queue, next;
	struct sb_http_retry retry;
	sb_http_done_fn done; /* for the current run; may be NULL */
	void *done_ud;
	bool stopped;
};

SB_RESULT sb_http_multi_new(const struct sb_http_config *cfg, uint32_t max_parallel,
                            struct sb_http_multi **out)
{
	struct sb_http_multi *m;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(max_parallel >= 1 && max_parallel <= 64, SB_ERR_INVALID_ARG,
	              "max_parallel must be 1..64");
	SB_GUARD(sb_http_config_check(cfg));
	SB_GUARD(sb_http_curl_ready());
	m = calloc(1, sizeof(*m));
	SB_ENSURE(m != NULL, SB_ERR_NOMEM);
	m->cfg = *cfg;
	sb_http_retry_init(&m->retry, &m->cfg);
	m->n_slots = max_parallel;
	m->limit = max_parallel;
	m->cm = curl_multi_init();
	m->slots = calloc(max_parallel, sizeof(*m->slots));
	m->state = calloc(max_parallel, sizeof(*m->state));
	if (m->cm == NULL || m->slots == NULL || m->state == NULL) {
		sb_http_multi_free(m);
		SB_BAIL(SB_ERR_NOMEM);
	}
	/*
	 * Never more connections than transfers in flight: a caller's cap on
	 * max_parallel is a cap on connections (the enclave's KMS budget, which
	 * the parent's vsock-proxy relies on). Both limits, so neither a second
	 * host nor a connection left closing adds one.
	 */
	if (curl_multi_setopt(m->cm, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_parallel) != CURLM_OK ||
	    curl_multi_setopt(m->cm, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)max_parallel) !=
		    CURLM_OK) {
		sb_http_multi_free(m);
		SB_BAIL_MSG(SB_ERR_INTERNAL, "curl rejected the connection limits");
	}
	for (uint32_t i = 0; i < max_parallel; i++) {
		m->slots[i].easy = curl_easy_init();
		if (m->slots[i].easy == NULL) {
			sb_http_multi_free(m);
			SB_BAIL(SB_ERR_NOMEM);
		}
	}
	*out = m;
	return SB_OK_RESULT;
}

void sb_http_multi_free(struct sb_http_multi *m)
{
	if (m == NULL)
		return;
	for (uint32_t i = 0; m->slots != NULL && i < m->n_slots; i++)
		if (m->slots[i].easy != NULL)
			curl_easy_cleanup(m->slots[i].easy);
	if (m->cm != NULL)
		curl_multi_cleanup(m->cm);
	free(m->slots);
	free(m->state);
	free(m->queue);
	free(m);
}

SB_RESULT sb_http_multi_add(struct sb_http_multi *m, const struct sb_http_request *req,
                            struct sb_http_response *resp)
{
	SB_ENSURE_REF(m);
	SB_ENSURE_REF(req);
	SB_ENSURE_REF(resp);
	if (m->n_queue == m->cap_queue) {
		size_t cap = m->cap_queue == 0 ? 16 : m->cap_queue * 2;
		void *q;
		SB_GUARD(sb_mul_size(cap, sizeof(*m->queue), &(size_t){0}));
		q = realloc(m->queue, cap * sizeof(*m->queue));
		SB_ENSURE(q != NULL, SB_ERR_NOMEM);
		m->queue = q;
		m->cap_queue = cap;
	}
	m->queue[m->n_queue++] = (struct multi_item){.req = req, .resp = resp};
	return SB_OK_RESULT;
}

/* A request has finished (its last attempt is over): free its slot, tell the caller. */
static void multi_finish(struct sb_http_multi *m, uint32_t i)
{
	struct xfer *x = &m->slots[i];

	sb_http_note_attempts(x->resp);
	sb_http_xfer_end(x);
	m->state[i] = SLOT_FREE;
	if (m->done != NULL && !m->stopped && !m->done(m->done_ud, x->qidx, x->resp))
		m->stopped = true;
}

/*
 * Starts one attempt of slot i, or (adaptive mode) puts it off until the
 * rate limiter has a token; on a set-up failure the item is finished.
 */
static void multi_start_attempt(struct sb_http_multi *m, uint32_t i, uint64_t now)
{
	struct xfer *x = &m->slots[i];
	uint64_t wait_ns = sb_http_retry_acquire(&m->retry, now);

	if (wait_ns > 0) {
		x->not_before_ns = now + wait_ns;
		m->state[i] = SLOT_BACKOFF;
		return;
	}
	x->resp->attempts++;
	if (!sb_ok(sb_http_xfer_attempt_setup(x))) {
		sb_http_store_error(x->resp);
		multi_finish(m, i);
		return;
	}
	if (curl_multi_add_handle(m->cm, x->easy) != CURLM_OK) {
		x->resp->error = SB_ERR_INTERNAL;
		(void)snprintf(x->resp->detail, sizeof(x->resp->detail),
		               "%s: curl_multi_add_handle failed", x->req->op);
		multi_finish(m, i);
		return;
	}
	m->state[i] = SLOT_RUNNING;
}

static uint32_t multi_running(const struct sb_http_multi *m)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < m->n_slots; i++)
		n += m->state[i] == SLOT_RUNNING;
	return n;
}

/*
 * An attempt timed out before any byte of a response: the connection was
 * most likely never served (a proxy queue), so run one fewer at a time.
 * Not a slow answer: that one would have headers.
 */
static void multi_note_stall(struct sb_http_multi *m, const struct xfer *x, CURLcode cc)
{
	if (cc != CURLE_OPERATION_TIMEDOUT || x->resp->headers.len > 0 || m->limit <= 1)
		return;
	m->limit--;
	(void)curl_multi_setopt(m->cm, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)m->limit);
	(void)curl_multi_setopt(m->cm, CURLMOPT_MAX_HOST_CONNECTIONS, (long)m->limit);
	if (!m->warned)
		sb_log_warn("%s: no answer on a connection before the timeout: running fewer at "
			    "once (%u); a proxy serving fewer connections than allowed?",
			    x->req->op, m->limit);
	m->warned = true;
}

/*
 * Once the last request of a run has started, idle connections have nothing
 * left to carry but retries: keep one, close the rest as their transfers
 * end. A proxy that serves a few connections at a time (vsock-proxy) then
 * serves connections waiting behind them, another worker's or this one's,
 * rather than leaving them to time out.
 */
static void multi_note_drained(struct sb_http_multi *m)
{
	if (m->drained || m->next < m->n_queue)
		return;
	m->drained = true;
	(void)curl_multi_setopt(m->cm, CURLMOPT_MAXCONNECTS, 1L);
}

/* Fills free slots from the queue and starts retries that are due, up to m->limit. */
static void multi_fill(struct sb_http_multi *m, uint64_t now)
{
	uint32_t running = multi_running(m);

	for (uint32_t i = 0; i < m->n_slots; i++) {
		struct xfer *x = &m->slots[i];
		if (m->state[i] == SLOT_BACKOFF && now >= x->not_before_ns) {
			if (running >= m->limit)
				continue;
			multi_start_attempt(m, i, now);
			running += m->state[i] == SLOT_RUNNING;
			continue;
		}
		while (m->state[i] == SLOT_FREE && !m->stopped && m->next < m->n_queue &&
		       running < m->limit) {
			size_t qidx = m->next++;
			struct multi_item *it = &m->queue[qidx];
			CURL *easy = x->easy;
			*x = (struct xfer){.easy = easy,
			                   .req = it->req,
			                   .resp = it->resp,
			                   .cfg = &m->cfg,
			                   .qidx = qidx};
			sb_buf_init(&x->errbody, SB_HTTP_ERROR_BODY_MAX);
			sb_http_response_reset(it->resp);
			it->resp->attempts = 0;
			if (!sb_ok(sb_http_xfer_begin(x))) {
				sb_http_store_error(it->resp);
				multi_finish(m, i);
				continue;
			}
			multi_start_attempt(m, i, now);
			running += m->state[i] == SLOT_RUNNING;
		}
	}
	multi_note_drained(m);
}

/* Handles finished transfers; returns how many finished. */
static unsigned multi_drain(struct sb_http_multi *m)
{
	CURLMsg *msg;
	int left;
	unsigned done = 0;

	while ((msg = curl_multi_info_read(m->cm, &left)) != NULL) {
		struct xfer *x = NULL;
		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		CURLcode cc = msg->data.result;
		(void)curl_multi_remove_handle(m->cm, msg->easy_handle);
		if (x == NULL)
			continue;
		uint32_t i = (uint32_t)(x - m->slots);
		uint64_t delay_ms;
		done++;
		enum sb_http_class cls = sb_http_xfer_finish(x, cc);
		multi_note_stall(m, x, cc);
		if (sb_http_retry_next(&m->retry, x, cls, &delay_ms)) {
			x->not_before_ns = sb_time_mono_ns() + delay_ms * 1000000u;
			m->state[i] = SLOT_BACKOFF;
			continue;
		}
		multi_finish(m, i);
	}
	return done;
}

/* How long to wait: until activity, or until the earliest retry is due. */
static int multi_wait_ms(const struct sb_http_multi *m, uint64_t now, bool *active)
{
	uint64_t wait = 1000;
	bool room = multi_running(m) < m->limit;

	*active = false;
	for (uint32_t i = 0; i < m->n_slots; i++) {
		if (m->state[i] == SLOT_RUNNING)
			*active = true;
		if (m->state[i] == SLOT_BACKOFF) {
			uint64_t due = m->slots[i].not_before_ns;
			*active = true;
			/* Due but no room: a running transfer's end wakes the poll. */
			if (!room && due <= now)
				continue;
			uint64_t ms = due > now ? (due - now + 999999u) / 1000000u : 0;
			*active = true;
			if (ms < wait)
				wait = ms;
		}
	}
	return (int)wait;
}

/* After a stop: every request that did not finish is cancelled. */
static void multi_cancel_rest(struct sb_http_multi *m)
{
	for (uint32_t i = 0; i < m->n_slots; i++) {
		struct xfer *x = &m->slots[i];
		if (m->state[i] == SLOT_FREE)
			continue;
		if (m->state[i] == SLOT_RUNNING)
			(void)curl_multi_remove_handle(m->cm, x->easy);
		x->resp->error = SB_ERR_HTTP_CANCELLED;
		(void)snprintf(x->resp->detail, sizeof(x->resp->detail),
		               "%s: abandoned: the batch stopped early", x->req->op);
		sb_http_xfer_end(x);
		m->state[i] = SLOT_FREE;
	}
	for (; m->next < m->n_queue; m->next++) {
		struct sb_http_response *r = m->queue[m->next].resp;
		sb_http_response_reset(r);
		r->attempts = 0;
		r->error = SB_ERR_HTTP_CANCELLED;
		(void)snprintf(r->detail, sizeof(r->detail),
		               "%s: not made: the batch stopped early", m->queue[m->next].req->op);
	}
}

SB_RESULT sb_http_multi_run(struct sb_http_multi *m)
{
	return sb_http_multi_run_cb(m, NULL, NULL);
}

static SB_RESULT multi_loop(struct sb_http_multi *m)
{
	for (;;) {
		bool active;
		int running = 0;
		if (m->stopped) {
			multi_cancel_rest(m);
			break;
		}
		multi_fill(m, sb_time_mono_ns());
		if (m->stopped)
			continue;
		int wait = multi_wait_ms(m, sb_time_mono_ns(), &active);
		if (!active && m->next >= m->n_queue)
			break;
		SB_ENSURE_MSG(curl_multi_perform(m->cm, &running) == CURLM_OK, SB_ERR_INTERNAL,
		              "curl_multi_perform failed");
		if (multi_drain(m) > 0)
			continue;
		/* Event-driven: wakes on socket activity; the timeout is the retry backoff. */
		SB_ENSURE_MSG(curl_multi_poll(m->cm, NULL, 0, wait, NULL) == CURLM_OK,
		              SB_ERR_INTERNAL, "curl_multi_poll failed");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_http_multi_run_cb(struct sb_http_multi *m, sb_http_done_fn done, void *ud)
{
	sb_result rc;

	SB_ENSURE_REF(m);
	m->done = done;
	m->done_ud = ud;
	m->stopped = false;
	m->drained = false;
	(void)curl_multi_setopt(m->cm, CURLMOPT_MAXCONNECTS, (long)m->n_slots);
	rc = multi_loop(m);
	if (!sb_ok(rc)) {
		/* The runner failed: no request may stay queued or in flight past this call. */
		m->stopped = true;
		multi_cancel_rest(m);
	}
	m->n_queue = 0;
	m->next = 0;
	m->done = NULL;
	m->done_ud = NULL;
	return rc;
}
