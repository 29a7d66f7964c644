/* The channel's epoll server (see sb_server.h, docs/PROTOCOL.md §7). */
#include "wire/sb_server.h"
#include "wire/sb_server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "wire/sb_frame.h"

static struct conn *conn_lookup(const struct sb_server *s, uint64_t id)
{
	uint64_t slot = id & ((1u << SB_CONN_SLOT_BITS) - 1u);
	struct conn *c;

	if (id >> SB_CONN_SLOT_BITS == 0 || slot >= s->max_conns)
		return NULL;
	c = s->conns[slot];
	return c != NULL && c->id == id ? c : NULL;
}

static void conn_set_events(struct sb_server *s, struct conn *c, bool in, bool out)
{
	struct epoll_event ev = {.events = (in ? EPOLLIN : 0u) | (out ? EPOLLOUT : 0u),
				 .data.u64 = c->id};

	if (in == c->reading && out == c->writing)
		return;
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
		sb_log_warn("connection %" PRIu64 ": epoll: %s", c->id, strerror(errno));
		c->abort = true;
		return;
	}
	c->reading = in;
	c->writing = out;
}

static void listen_set(struct sb_server *s, bool on)
{
	struct epoll_event ev = {.events = on ? EPOLLIN : 0u, .data.u64 = TAG_LISTEN};

	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->listen_fd, &ev) != 0)
		sb_log_warn("listener: epoll: %s", strerror(errno));
	s->accept_paused = !on;
}

static void conn_close_now(struct sb_server *s, struct conn *c)
{
	size_t slot = (size_t)(c->id & ((1u << SB_CONN_SLOT_BITS) - 1u));

	(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	if (c->opened && s->cfg.conn_close != NULL)
		s->cfg.conn_close(s->cfg.app, c->app_state);
	sb_frame_decoder_cleanup(&c->in);
	sb_buf_cleanup(&c->out);
	s->conns[slot] = NULL;
	sb_log_debug("connection %" PRIu64 " closed", c->id);
	free(c);
	s->stats.closed++;
	if (s->accept_paused)
		listen_set(s, true);
}

/* Writes what it can; closes when asked to and done; re-arms epoll. */
void sb_server_conn_flush(struct sb_server *s, struct conn *c)
{
	while (c->out.len > 0 && !c->abort) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			sb_log_debug("connection %" PRIu64 ": write: %s", c->id, strerror(errno));
			c->abort = true;
			break;
		}
		if (!sb_ok(sb_buf_consume(&c->out, (size_t)n)))
			c->abort = true;
	}
	if (c->abort || (c->closing && c->out.len == 0)) {
		conn_close_now(s, c);
		return;
	}
	bool in = !c->closing && (c->reading ? c->out.len < SB_SERVER_OUT_HIGH
					     : c->out.len <= SB_SERVER_OUT_LOW);
	conn_set_events(s, c, in, c->out.len > 0);
	if (c->abort)
		conn_close_now(s, c);
}

/* Appends a frame to the write queue; a peer that stopped reading is dropped. */
static SB_RESULT conn_queue(struct sb_server *s, struct conn *c, uint16_t type, uint8_t flags,
			    uint32_t id, struct sb_slice payload)
{
	sb_result rc = sb_frame_append(&c->out, type, flags, id, payload);

	if (!sb_ok(rc)) {
		sb_log_warn("connection %" PRIu64 ": write queue: %s", c->id, sb_error_describe());
		c->abort = true;
		return rc;
	}
	s->stats.frames_out++;
	return SB_OK_RESULT;
}

void sb_server_conn_queue_error(struct sb_server *s, struct conn *c, uint8_t flags, uint32_t id,
				int code, const char *message)
{
	struct sb_buf body = SB_BUF_INIT(SB_MSG_ERROR_MAX_TEXT + 16u);

	/* On failure conn_queue has marked the connection to be dropped. */
	if (sb_ok(sb_msg_error_append(&body, (uint32_t)code, message)) &&
	    !sb_ok(conn_queue(s, c, SB_MSG_ERROR, flags, id, sb_buf_slice(&body))))
		c->abort = true;
	sb_buf_cleanup(&body);
}

/*
 * The recorded error becomes an Error frame and the connection closes
 * ("Unknown types, oversize frames, bad state -> an error reply and the
 * connection is closed; the process keeps serving", DESIGN.md §4). req is
 * the offending request, or NULL when there is none to answer.
 */
static void conn_protocol_fail(struct sb_server *s, struct conn *c, const struct sb_frame *req)
{
	int code = sb_error_code() != SB_OK ? sb_error_code() : SB_ERR_INTERNAL;

	sb_log_warn("connection %" PRIu64 ": protocol error, closing: %s", c->id,
		    sb_error_describe());
	s->stats.protocol_errors++;
	if (req != NULL)
		sb_server_conn_queue_error(s, c, SB_FRAME_FLAG_RESPONSE, req->id, code,
					   sb_error_describe());
	else
		sb_server_conn_queue_error(s, c, 0, 0, code, sb_error_describe());
	c->closing = true;
}

/* Hello: the parent lists its versions, we answer with the one we pick. */
static SB_RESULT conn_handshake(struct sb_server *s, struct conn *c, const struct sb_frame *f)
{
	struct sb_msg_hello peer, answer;
	struct sb_buf body = SB_BUF_INIT(64);
	uint16_t version;
	sb_result rc;

	SB_GUARD(sb_msg_hello_parse(f->payload, &peer));
	SB_ENSURE_MSG(peer.role == SB_WIRE_ROLE_PARENT, SB_ERR_WIRE_BAD_ROLE,
		      "Hello from role %u, expected the parent", peer.role);
	SB_GUARD(sb_msg_hello_choose(&peer, &s->hello, &version));
	SB_GUARD(sb_msg_hello_init(&answer, SB_WIRE_ROLE_ENCLAVE, &version, 1));
	SB_GUARD_GOTO(rc, sb_msg_hello_append(&body, &answer), out);
	SB_GUARD_GOTO(rc, conn_queue(s, c, SB_MSG_HELLO, SB_FRAME_FLAG_RESPONSE, f->id,
				     sb_buf_slice(&body)),
		      out);
	c->version = version;
	c->state = SB_WIRE_STATE_READY;
	sb_log_debug("connection %" PRIu64 ": protocol version %u", c->id, version);
out:
	sb_buf_cleanup(&body);
	return rc;
}

/* An Error from the parent ends the connection; it is logged, not answered. */
static void conn_peer_error(struct conn *c, const struct sb_frame *f)
{
	struct sb_msg_error e;

	if (sb_ok(sb_msg_error_parse(f->payload, &e)))
		sb_log_warn("connection %" PRIu64 ": parent reported %s: %s", c->id,
			    sb_error_name((int)e.code), e.message);
	else
		sb_log_warn("connection %" PRIu64 ": parent sent a malformed Error", c->id);
	c->closing = true;
}

static const struct sb_server_dispatch *dispatch_find(const struct sb_server *s, uint16_t type)
{
	for (size_t i = 0; i < s->cfg.dispatch_len; i++)
		if (s->cfg.dispatch[i].type == type)
			return &s->cfg.dispatch[i];
	return NULL;
}

/*
 * The frame-level rules of PROTOCOL.md §5. Out: the handler entry, or NULL
 * when the server dealt with the frame itself (Hello, Error).
 */
static SB_RESULT conn_route(struct sb_server *s, struct conn *c, const struct sb_frame *f,
			    const struct sb_server_dispatch **out)
{
	const struct sb_msg_info *info = sb_msg_info(f->type);
	const char *name = sb_msg_name(f->type);

	*out = NULL;
	if (f->type == SB_MSG_ERROR) {
		conn_peer_error(c, f);
		return SB_OK_RESULT;
	}
	if (f->type == SB_MSG_HELLO) {
		SB_ENSURE_MSG(c->state == SB_WIRE_STATE_HELLO, SB_ERR_BAD_STATE,
			      "Hello after the handshake");
		return conn_handshake(s, c, f);
	}
	SB_ENSURE_MSG(c->state != SB_WIRE_STATE_HELLO, SB_ERR_BAD_STATE,
		      "%s before the Hello handshake", name);
	*out = dispatch_find(s, f->type);
	if (*out == NULL && info == NULL)
		SB_BAIL_MSG(SB_ERR_WIRE_UNKNOWN_TYPE, "message type %u", f->type);
	SB_ENSURE_MSG(*out != NULL, SB_ERR_WIRE_UNEXPECTED, "%s is not accepted here", name);
	SB_ENSURE_MSG(((*out)->states & c->state) != 0, SB_ERR_BAD_STATE,
		      "%s is not allowed in this state", name);
	return SB_OK_RESULT;
}

static void conn_handle_frame(struct sb_server *s, struct conn *c, const struct sb_frame *f)
{
	const struct sb_server_dispatch *entry;
	struct sb_server_request req;

	s->stats.frames_in++;
	if ((f->flags & SB_FRAME_FLAG_RESPONSE) != 0) {
		(void)sb_error_recordf(SB_ERR_WIRE_UNEXPECTED, SB_HERE,
				       "a response (%s) answers no request", sb_msg_name(f->type));
		conn_protocol_fail(s, c, NULL);
		return;
	}
	/* "id chosen by the parent, non-zero" (PROTOCOL.md §5.2): 0 marks frames
	 * that answer no request, so a request with id 0 could never be answered. */
	if (f->id == 0) {
		(void)sb_error_recordf(SB_ERR_WIRE_BAD_ID, SB_HERE, "%s with request id 0",
				       sb_msg_name(f->type));
		conn_protocol_fail(s, c, NULL);
		return;
	}
	if (!sb_ok(conn_route(s, c, f, &entry))) {
		conn_protocol_fail(s, c, f);
		return;
	}
	if (entry == NULL)
		return;
	req = (struct sb_server_request){.server = s, .conn_id = c->id, .id = f->id,
					 .type = f->type, .payload = f->payload,
					 .conn_state = c->app_state, .state = c->state,
					 .version = c->version};
	if (!sb_ok(entry->handler(&req)))
		conn_protocol_fail(s, c, f);
}

/* Every complete frame in the buffer, until the connection starts closing. */
static void conn_drain(struct sb_server *s, struct conn *c)
{
	while (!c->closing && !c->abort) {
		struct sb_frame f;
		bool have;
		if (!sb_ok(sb_frame_decoder_next(&c->in, &f, &have))) {
			conn_protocol_fail(s, c, NULL);
			return;
		}
		if (!have)
			return;
		conn_handle_frame(s, c, &f);
		sb_server_timer_arm(s, c);
	}
}

static void conn_on_readable(struct sb_server *s, struct conn *c)
{
	uint8_t *p;
	size_t room;
	ssize_t n;

	if (!sb_ok(sb_frame_decoder_space(&c->in, SB_SERVER_READ_CHUNK, &p, &room))) {
		conn_protocol_fail(s, c, NULL);
		sb_server_conn_flush(s, c);
		return;
	}
	n = recv(c->fd, p, room, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		sb_log_debug("connection %" PRIu64 ": read: %s", c->id, strerror(errno));
		c->abort = true;
	} else if (n == 0) {
		/* A frame cut short by EOF still gets its Error (the peer may only have shut down writing). */
		if (!sb_ok(sb_frame_decoder_finish(&c->in)))
			conn_protocol_fail(s, c, NULL);
		c->closing = true;
	} else if (sb_ok(sb_frame_decoder_commit(&c->in, (size_t)n))) {
		conn_drain(s, c);
	} else {
		c->abort = true;
	}
	sb_server_conn_flush(s, c);
}

static SB_RESULT conn_new(struct sb_server *s, int fd, size_t slot, struct conn **out)
{
	struct conn *c;
	struct epoll_event ev;
	void *mem;

	SB_GUARD(sb_calloc(1, sizeof(*c), &mem));
	c = mem;
	c->id = (++s->seq << SB_CONN_SLOT_BITS) | slot;
	c->fd = fd;
	c->state = SB_WIRE_STATE_HELLO;
	c->reading = true;
	sb_frame_decoder_init(&c->in, s->cfg.max_payload);
	sb_buf_init(&c->out, SB_SERVER_OUT_MAX);
	ev = (struct epoll_event){.events = EPOLLIN, .data.u64 = c->id};
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		int e = errno;
		free(c);
		SB_BAIL_MSG(SB_ERR_SOCKET, "epoll add: %s", strerror(e));
	}
	s->conns[slot] = c;
	s->stats.accepted++;
	sb_server_timer_arm(s, c);
	*out = c;
	return SB_OK_RESULT;
}

/* Refuses a connection for lack of room, with a reason the parent can read. */
static void refuse_busy(struct sb_server *s, int fd)
{
	char text[96];
	struct sb_buf body = SB_BUF_INIT(256), frame = SB_BUF_INIT(512);

	/* The parent prints this text ("sealbid run: ... enclave busy ..."). */
	(void)snprintf(text, sizeof(text), "enclave busy: %zu connections open, try again later",
		       s->max_conns);
	if (sb_ok(sb_msg_error_append(&body, SB_ERR_WIRE_BUSY, text)) &&
	    sb_ok(sb_frame_append(&frame, SB_MSG_ERROR, 0, 0, sb_buf_slice(&body))))
		(void)send(fd, frame.data, frame.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	sb_buf_cleanup(&body);
	sb_buf_cleanup(&frame);
	close(fd);
}

static void conn_accept(struct sb_server *s, int fd)
{
	struct conn *c = NULL;
	size_t slot = 0;

	while (slot < s->max_conns && s->conns[slot] != NULL)
		slot++;
	if (slot == s->max_conns) {
		sb_log_warn("refusing a connection: %zu open already", s->max_conns);
		refuse_busy(s, fd);
		return;
	}
	if (!sb_ok(conn_new(s, fd, slot, &c))) {
		sb_log_warn("cannot add a connection: %s", sb_error_describe());
		close(fd);
		return;
	}
	sb_log_debug("connection %" PRIu64 " opened", c->id);
	if (s->cfg.conn_open != NULL) {
		if (!sb_ok(s->cfg.conn_open(s->cfg.app, c->id, &c->app_state))) {
			sb_log_warn("connection %" PRIu64 ": setup failed: %s", c->id,
				    sb_error_describe());
			conn_close_now(s, c);
			return;
		}
	}
	c->opened = true;
}

static void on_listen(struct sb_server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			conn_accept(s, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* Out of descriptors: stop listening until a connection closes, not spin. */
		sb_log_warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			listen_set(s, false);
		return;
	}
}

static struct post *posts_take(struct sb_server *s)
{
	struct post *list;

	pthread_mutex_lock(&s->lock);
	list = s->post_head;
	s->post_head = s->post_tail = NULL;
	s->post_bytes = 0;
	pthread_mutex_unlock(&s->lock);
	return list;
}

static void post_free(struct post *p)
{
	sb_buf_cleanup(&p->frame);
	free(p);
}

/* Delivers posted responses: queue them all, then one flush per connection. */
static void on_wake(struct sb_server *s)
{
	uint64_t count;
	struct post *list, *p, *next;

	if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		sb_log_warn("wake-up: %s", strerror(errno));
	list = posts_take(s);
	for (p = list; p != NULL; p = p->next) {
		struct conn *c = conn_lookup(s, p->conn_id);
		if (c == NULL || c->closing || c->abort) {
			s->stats.posts_dropped++;
			continue;
		}
		if (sb_ok(sb_buf_append_slice(&c->out, sb_buf_slice(&p->frame)))) {
			s->stats.frames_out++;
			sb_server_timer_arm(s, c);
		} else
			c->abort = true;
	}
	for (p = list; p != NULL; p = next) {
		struct conn *c = conn_lookup(s, p->conn_id);
		next = p->next;
		if (c != NULL)
			sb_server_conn_flush(s, c);
		post_free(p);
	}
}

static void on_event(struct sb_server *s, const struct epoll_event *ev)
{
	uint64_t tag = ev->data.u64;
	struct conn *c;

	if (tag == TAG_LISTEN) {
		on_listen(s);
		return;
	}
	if (tag == TAG_WAKE) {
		on_wake(s);
		return;
	}
	if (tag >= TAG_WATCH && tag < TAG_WATCH + s->nwatch) {
		struct watch *w = &s->watches[tag - TAG_WATCH];
		w->cb(s, w->fd, w->arg);
		return;
	}
	c = conn_lookup(s, tag);
	if (c == NULL)
		return; /* closed earlier in this batch */
	if ((ev->events & EPOLLERR) != 0) {
		conn_close_now(s, c);
		return;
	}
	if ((ev->events & EPOLLOUT) != 0)
		sb_server_conn_flush(s, c);
	c = conn_lookup(s, tag);
	if (c == NULL)
		return;
	if ((ev->events & (EPOLLIN | EPOLLHUP)) != 0) {
		if (c->reading)
			conn_on_readable(s, c);
		else
			sb_server_conn_flush(s, c); /* hung up while we hold back: a failed write closes */
	}
}

SB_RESULT sb_server_run(struct sb_server *s)
{
	struct epoll_event ev[SB_SERVER_EVENTS];

	SB_ENSURE_REF(s);
	SB_ENSURE_MSG(!atomic_exchange(&s->running, true), SB_ERR_BAD_STATE,
		      "server loop already running");
	s->loop_thread = pthread_self();
	while (!atomic_load(&s->stop)) {
		int n = epoll_wait(s->epfd, ev, SB_SERVER_EVENTS, sb_server_timer_wait_ms(s));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			atomic_store(&s->running, false);
			SB_BAIL_MSG(SB_ERR_SOCKET, "epoll_wait: %s", strerror(e));
		}
		for (int i = 0; i < n && !atomic_load(&s->stop); i++)
			on_event(s, &ev[i]);
		sb_server_timer_expire(s);
	}
	atomic_store(&s->running, false);
	return SB_OK_RESULT;
}

static void wake(struct sb_server *s)
{
	uint64_t one = 1;
	/* EAGAIN means the counter is already non-zero: the loop will wake anyway. */
	(void)!write(s->wake_fd, &one, sizeof(one));
}

void sb_server_stop(struct sb_server *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	wake(s);
}

static SB_RESULT config_check(const struct sb_server_config *cfg)
{
	SB_ENSURE_REF(cfg);
	SB_ENSURE(cfg->dispatch != NULL || cfg->dispatch_len == 0, SB_ERR_INVALID_ARG);
	SB_ENSURE_MSG(cfg->max_conns <= SB_SERVER_MAX_CONNS, SB_ERR_INVALID_ARG,
		      "at most %u connections", SB_SERVER_MAX_CONNS);
	for (size_t i = 0; i < cfg->dispatch_len; i++) {
		const struct sb_server_dispatch *d = &cfg->dispatch[i];
		/* Hello and Error belong to the server; before Hello nothing else is allowed. */
		SB_ENSURE_MSG(d->handler != NULL && d->type != SB_MSG_HELLO &&
				      d->type != SB_MSG_ERROR && d->states != 0 &&
				      (d->states & SB_WIRE_STATE_HELLO) == 0,
			      SB_ERR_INVALID_ARG, "dispatch entry %zu (%s)", i, sb_msg_name(d->type));
	}
	return SB_OK_RESULT;
}

static SB_RESULT server_fds(struct sb_server *s)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};
	int fl = fcntl(s->listen_fd, F_GETFL);

	SB_ENSURE_MSG(fl >= 0 && fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) == 0, SB_ERR_SOCKET,
		      "listener: %s", strerror(errno));
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	SB_ENSURE_MSG(s->epfd >= 0, SB_ERR_SOCKET, "epoll_create1: %s", strerror(errno));
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	SB_ENSURE_MSG(s->wake_fd >= 0, SB_ERR_SOCKET, "eventfd: %s", strerror(errno));
	SB_ENSURE_MSG(epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) == 0, SB_ERR_SOCKET,
		      "epoll add listener: %s", strerror(errno));
	ev.data.u64 = TAG_WAKE;
	SB_ENSURE_MSG(epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->wake_fd, &ev) == 0, SB_ERR_SOCKET,
		      "epoll add eventfd: %s", strerror(errno));
	return SB_OK_RESULT;
}

SB_RESULT sb_server_new(int listen_fd, const struct sb_server_config *cfg, struct sb_server **out)
{
	static const uint16_t default_versions[] = {SB_WIRE_PROTOCOL_VERSION};
	struct sb_server *s;
	void *mem;
	sb_result rc;

	SB_ENSURE(listen_fd >= 0, SB_ERR_INVALID_ARG);
	/* The listener is ours from here on, also when we fail. */
	rc = out != NULL ? config_check(cfg) : sb_error_record(SB_ERR_NULL, SB_HERE);
	if (!sb_ok(rc) || !sb_ok(rc = sb_calloc(1, sizeof(*s), &mem))) {
		close(listen_fd);
		return rc;
	}
	s = mem;
	s->cfg = *cfg;
	s->listen_fd = listen_fd;
	s->epfd = s->wake_fd = -1;
	s->max_conns = cfg->max_conns != 0 ? cfg->max_conns : SB_SERVER_DEFAULT_CONNS;
	s->hello_timeout_ns = (uint64_t)(cfg->hello_timeout_ms != 0 ? cfg->hello_timeout_ms
								    : SB_SERVER_DEFAULT_HELLO_MS) *
			      1000000u;
	s->idle_timeout_ns = (uint64_t)(cfg->idle_timeout_ms != 0 ? cfg->idle_timeout_ms
								  : SB_SERVER_DEFAULT_IDLE_MS) *
			     1000000u;
	atomic_init(&s->running, false);
	atomic_init(&s->stop, false);
	pthread_mutex_init(&s->lock, NULL);
	if (cfg->versions == NULL)
		SB_GUARD_GOTO(rc, sb_msg_hello_init(&s->hello, SB_WIRE_ROLE_ENCLAVE, default_versions, 1),
			      fail);
	else
		SB_GUARD_GOTO(rc, sb_msg_hello_init(&s->hello, SB_WIRE_ROLE_ENCLAVE, cfg->versions,
						    cfg->versions_len),
			      fail);
	SB_GUARD_GOTO(rc, sb_calloc(s->max_conns, sizeof(s->conns[0]), &mem), fail);
	s->conns = mem;
	SB_GUARD_GOTO(rc, server_fds(s), fail);
	*out = s;
	return SB_OK_RESULT;
fail:
	sb_server_free(s);
	return rc;
}

void sb_server_free(struct sb_server *s)
{
	struct post *p, *next;

	if (s == NULL)
		return;
	for (size_t i = 0; s->conns != NULL && i < s->max_conns; i++)
		if (s->conns[i] != NULL)
			conn_close_now(s, s->conns[i]);
	for (p = posts_take(s); p != NULL; p = next) {
		next = p->next;
		post_free(p);
	}
	free(s->conns);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	close(s->listen_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

SB_RESULT sb_server_watch(struct sb_server *s, int fd, sb_server_watch_fn cb, void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN};

	SB_ENSURE_REF(s);
	SB_ENSURE_REF(cb);
	SB_ENSURE(fd >= 0, SB_ERR_INVALID_ARG);
	SB_ENSURE_MSG(s->nwatch < SB_SERVER_MAX_WATCH, SB_ERR_TOO_LARGE, "at most %u watched fds",
		      SB_SERVER_MAX_WATCH);
	ev.data.u64 = TAG_WATCH + s->nwatch;
	SB_ENSURE_MSG(epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == 0, SB_ERR_SOCKET,
		      "epoll add: %s", strerror(errno));
	s->watches[s->nwatch++] = (struct watch){.fd = fd, .cb = cb, .arg = arg};
	return SB_OK_RESULT;
}

/* The handler's connection, checked to be used from the loop thread only. */
static SB_RESULT request_conn(struct sb_server_request *req, struct conn **out)
{
	SB_ENSURE_REF(req);
	SB_ENSURE_REF(req->server);
	SB_ENSURE_MSG(pthread_equal(pthread_self(), req->server->loop_thread), SB_ERR_BAD_STATE,
		      "reply from outside the loop thread: use sb_server_post");
	*out = conn_lookup(req->server, req->conn_id);
	SB_ENSURE_MSG(*out != NULL, SB_ERR_BAD_STATE, "the connection has closed");
	return SB_OK_RESULT;
}

SB_RESULT sb_server_reply(struct sb_server_request *req, uint16_t type, struct sb_slice payload)
{
	struct conn *c;

	SB_GUARD(request_conn(req, &c));
	return conn_queue(req->server, c, type, SB_FRAME_FLAG_RESPONSE, req->id, payload);
}

SB_RESULT sb_server_reply_error(struct sb_server_request *req, int code, const char *message)
{
	struct sb_buf body = SB_BUF_INIT(SB_MSG_ERROR_MAX_TEXT + 16u);
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_msg_error_append(&body, (uint32_t)code, message), out);
	rc = sb_server_reply(req, SB_MSG_ERROR, sb_buf_slice(&body));
out:
	sb_buf_cleanup(&body);
	return rc;
}

void sb_server_set_state(struct sb_server_request *req, uint32_t state)
{
	struct conn *c;

	if (sb_ok(request_conn(req, &c))) {
		c->state = state;
		req->state = state;
	}
}

SB_RESULT sb_server_post(struct sb_server *s, uint64_t conn_id, uint32_t req_id, uint16_t type,
			 struct sb_slice payload)
{
	struct post *p;
	void *mem;
	sb_result rc;

	SB_ENSURE_REF(s);
	SB_GUARD(sb_calloc(1, sizeof(*p), &mem));
	p = mem;
	p->conn_id = conn_id;
	sb_buf_init(&p->frame, SB_FRAME_HEADER_LEN + SB_FRAME_MAX_PAYLOAD);
	SB_GUARD_GOTO(rc, sb_frame_append(&p->frame, type, SB_FRAME_FLAG_RESPONSE, req_id, payload),
		      fail);
	pthread_mutex_lock(&s->lock);
	if (s->post_bytes + p->frame.len > SB_SERVER_POSTS_MAX) {
		pthread_mutex_unlock(&s->lock);
		SB_FAIL_GOTO_MSG(rc, SB_ERR_WIRE_BUSY, fail, "%zu bytes of posts queued",
				 s->post_bytes);
	}
	s->post_bytes += p->frame.len;
	if (s->post_tail != NULL)
		s->post_tail->next = p;
	else
		s->post_head = p;
	s->post_tail = p;
	pthread_mutex_unlock(&s->lock);
	wake(s);
	return SB_OK_RESULT;
fail:
	post_free(p);
	return rc;
}

SB_RESULT sb_server_post_error(struct sb_server *s, uint64_t conn_id, uint32_t req_id, int code,
			       const char *message)
{
	struct sb_buf body = SB_BUF_INIT(SB_MSG_ERROR_MAX_TEXT + 16u);
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_msg_error_append(&body, (uint32_t)code, message), out);
	rc = sb_server_post(s, conn_id, req_id, SB_MSG_ERROR, sb_buf_slice(&body));
out:
	sb_buf_cleanup(&body);
	return rc;
}

void sb_server_get_stats(const struct sb_server *s, struct sb_server_stats *out)
{
	*out = s->stats;
}
