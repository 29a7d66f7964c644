/* The parent side of the channel (see sb_client.h, docs/PROTOCOL.md §8). */
#include "wire/sb_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "wire/sb_frame.h"
#include "wire/sb_vsock.h"

#define SB_CLIENT_MAX_IN_FLIGHT   4096u
#define SB_CLIENT_DEFAULT_TIMEOUT 10000
#define SB_CLIENT_READ_CHUNK      (64u * 1024u)
/* Requests queued but not yet written, and responses kept but not yet taken. */
#define SB_CLIENT_OUT_MAX         (4u * (SB_FRAME_HEADER_LEN + SB_FRAME_MAX_PAYLOAD))
#define SB_CLIENT_INBOX_MAX       (64u * 1024u * 1024u)

struct inbox_item {
	struct inbox_item *next;
	struct sb_wire_response r;
};

struct sb_wire_client {
	int fd;
	int timeout_ms;
	size_t max_payload;
	int broken; /* SB_OK, or the error that ended the connection */
	uint16_t version;
	uint32_t next_id;
	/* Ids in flight, slot id % SB_CLIENT_MAX_IN_FLIGHT, 0 = free (id 0 is never used). */
	uint32_t pending[SB_CLIENT_MAX_IN_FLIGHT];
	size_t in_flight;
	struct sb_frame_decoder in;
	struct sb_buf out; /* secret: requests may carry credentials */
	struct inbox_item *head, *tail;
	size_t inbox_bytes;
};

void sb_wire_response_init(struct sb_wire_response *r)
{
	r->id = 0;
	r->type = 0;
	sb_buf_init(&r->payload, SB_FRAME_MAX_PAYLOAD);
}

void sb_wire_response_cleanup(struct sb_wire_response *r)
{
	if (r != NULL)
		sb_buf_cleanup(&r->payload);
}

/* Records why the connection is unusable; every later call reports it. */
static sb_result client_break(struct sb_wire_client *c, sb_result rc)
{
	if (c->broken == SB_OK)
		c->broken = rc.code;
	return rc;
}

static SB_RESULT client_usable(const struct sb_wire_client *c)
{
	SB_ENSURE_REF(c);
	if (c->broken != SB_OK)
		SB_BAIL_MSG(c->broken, "the channel failed earlier");
	return SB_OK_RESULT;
}

static uint64_t deadline_after(int timeout_ms)
{
	return sb_time_mono_ns() + (uint64_t)timeout_ms * 1000000u;
}

/* Milliseconds left, rounded up so poll never spins on a sub-millisecond rest. */
static SB_RESULT remaining_ms(uint64_t deadline, int *out)
{
	uint64_t now = sb_time_mono_ns();

	SB_ENSURE_MSG(now < deadline, SB_ERR_TIMEOUT, "no answer from the enclave in time");
	*out = (int)((deadline - now + 999999u) / 1000000u);
	return SB_OK_RESULT;
}

static SB_RESULT remote_error(struct sb_slice payload, const char *what)
{
	struct sb_msg_error e;

	SB_GUARD(sb_msg_error_parse(payload, &e));
	SB_BAIL_MSG(SB_ERR_WIRE_REMOTE, "%s%s: %s", what, sb_error_name((int)e.code), e.message);
}

SB_RESULT sb_wire_response_check(const struct sb_wire_response *r)
{
	SB_ENSURE_REF(r);
	if (r->type == SB_MSG_ERROR)
		return remote_error(sb_buf_slice(&r->payload), "");
	return SB_OK_RESULT;
}

static SB_RESULT inbox_push(struct sb_wire_client *c, const struct sb_frame *f)
{
	struct inbox_item *it;
	void *mem;
	sb_result rc;

	SB_ENSURE_MSG(c->inbox_bytes + f->payload.len <= SB_CLIENT_INBOX_MAX, SB_ERR_TOO_LARGE,
		      "more than %u bytes of responses not taken", SB_CLIENT_INBOX_MAX);
	SB_GUARD(sb_calloc(1, sizeof(*it), &mem));
	it = mem;
	sb_wire_response_init(&it->r);
	it->r.id = f->id;
	it->r.type = f->type;
	rc = sb_buf_append_slice(&it->r.payload, f->payload);
	if (!sb_ok(rc)) {
		sb_wire_response_cleanup(&it->r);
		free(it);
		return rc;
	}
	c->inbox_bytes += f->payload.len;
	if (c->tail != NULL)
		c->tail->next = it;
	else
		c->head = it;
	c->tail = it;
	return SB_OK_RESULT;
}

/* A frame from the enclave must answer a request in flight. */
static SB_RESULT accept_frame(struct sb_wire_client *c, const struct sb_frame *f)
{
	uint32_t *slot = &c->pending[f->id % SB_CLIENT_MAX_IN_FLIGHT];

	if ((f->flags & SB_FRAME_FLAG_RESPONSE) == 0 || f->id == 0 || *slot != f->id) {
		/* An Error that answers nothing in flight ends the connection. */
		if (f->type == SB_MSG_ERROR)
			return remote_error(f->payload, "the enclave closed the channel: ");
		SB_BAIL_MSG(SB_ERR_WIRE_UNEXPECTED, "%s (id %u) answers no request in flight",
			    sb_msg_name(f->type), f->id);
	}
	SB_GUARD(inbox_push(c, f));
	if (sb_msg_is_partial(f->type))
		return SB_OK_RESULT; /* the final response is still to come */
	*slot = 0;
	c->in_flight--;
	return SB_OK_RESULT;
}

/* One read (the socket is readable or hung up), every complete frame to the inbox. */
static SB_RESULT read_once(struct sb_wire_client *c)
{
	uint8_t *p;
	size_t room;
	ssize_t n;

	SB_GUARD(sb_frame_decoder_space(&c->in, SB_CLIENT_READ_CHUNK, &p, &room));
	do
		n = recv(c->fd, p, room, MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return SB_OK_RESULT;
	SB_ENSURE_MSG(n >= 0, SB_ERR_CLOSED, "read: %s", strerror(errno));
	if (n == 0) {
		SB_GUARD(sb_frame_decoder_finish(&c->in));
		SB_BAIL_MSG(SB_ERR_CLOSED, "the enclave closed the channel");
	}
	SB_GUARD(sb_frame_decoder_commit(&c->in, (size_t)n));
	for (;;) {
		struct sb_frame f;
		bool have;
		SB_GUARD(sb_frame_decoder_next(&c->in, &f, &have));
		if (!have)
			return SB_OK_RESULT;
		SB_GUARD(accept_frame(c, &f));
	}
}

/* Waits until readable (or the deadline), then reads once. */
static SB_RESULT pump(struct sb_wire_client *c, uint64_t deadline)
{
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
	int ms = 0, n;

	SB_GUARD(remaining_ms(deadline, &ms));
	n = poll(&pfd, 1, ms);
	if (n < 0 && errno == EINTR)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(n >= 0, SB_ERR_SOCKET, "poll: %s", strerror(errno));
	if (n == 0)
		return SB_OK_RESULT; /* the next remaining_ms reports the timeout */
	return client_break(c, read_once(c));
}

static SB_RESULT id_take(struct sb_wire_client *c, uint32_t *out)
{
	for (size_t tries = 0; tries < SB_CLIENT_MAX_IN_FLIGHT; tries++) {
		uint32_t id = c->next_id++;
		if (id == 0) /* 0 marks frames that answer no request */
			id = c->next_id++;
		uint32_t *slot = &c->pending[id % SB_CLIENT_MAX_IN_FLIGHT];
		if (*slot == 0) {
			*slot = id;
			c->in_flight++;
			*out = id;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_WIRE_BUSY, "%u requests in flight", SB_CLIENT_MAX_IN_FLIGHT);
}

SB_RESULT sb_wire_client_queue(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			       uint32_t *out_id)
{
	uint32_t id = 0;
	sb_result rc;

	SB_GUARD(client_usable(c));
	SB_GUARD(id_take(c, &id));
	rc = sb_frame_append(&c->out, type, 0, id, payload);
	if (!sb_ok(rc)) {
		c->pending[id % SB_CLIENT_MAX_IN_FLIGHT] = 0;
		c->in_flight--;
		return rc;
	}
	if (out_id != NULL)
		*out_id = id;
	return SB_OK_RESULT;
}

/* Writes what the socket takes now; *out_blocked when it takes nothing more. */
static SB_RESULT write_some(struct sb_wire_client *c, bool *out_blocked)
{
	ssize_t n;

	*out_blocked = false;
	do
		n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*out_blocked = true;
		return SB_OK_RESULT;
	}
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* The enclave may have said why before it closed (an Error such as
		 * "enclave busy"): report that rather than the broken pipe. */
		int e = errno;
		SB_GUARD(read_once(c));
		SB_BAIL_MSG(SB_ERR_CLOSED, "write: %s", strerror(e));
	}
	SB_ENSURE_MSG(n > 0, SB_ERR_CLOSED, "write: %s", strerror(errno));
	return sb_buf_consume(&c->out, (size_t)n);
}

static SB_RESULT flush_until(struct sb_wire_client *c, uint64_t deadline)
{
	while (c->out.len > 0) {
		struct pollfd pfd = {.fd = c->fd, .events = POLLIN | POLLOUT};
		bool blocked;
		int ms = 0, n;
		SB_GUARD(write_some(c, &blocked));
		if (!blocked)
			continue;
		SB_GUARD(remaining_ms(deadline, &ms));
		n = poll(&pfd, 1, ms);
		SB_ENSURE_MSG(n >= 0 || errno == EINTR, SB_ERR_SOCKET, "poll: %s", strerror(errno));
		/* Keep reading while blocked: the enclave may be waiting for us to drain. */
		if (n > 0 && (pfd.revents & (POLLIN | POLLHUP | POLLERR)) != 0)
			SB_GUARD(read_once(c));
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_wire_client_flush(struct sb_wire_client *c)
{
	SB_GUARD(client_usable(c));
	/* A frame half written leaves the stream unusable: any failure breaks the client. */
	return client_break(c, flush_until(c, deadline_after(c->timeout_ms)));
}

SB_RESULT sb_wire_client_send(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			      uint32_t *out_id)
{
	SB_GUARD(sb_wire_client_queue(c, type, payload, out_id));
	return sb_wire_client_flush(c);
}

static void inbox_take(struct sb_wire_client *c, struct inbox_item *prev, struct inbox_item *it,
		       struct sb_wire_response *out)
{
	if (prev != NULL)
		prev->next = it->next;
	else
		c->head = it->next;
	if (c->tail == it)
		c->tail = prev;
	c->inbox_bytes -= it->r.payload.len;
	out->id = it->r.id;
	out->type = it->r.type;
	sb_buf_move(&out->payload, &it->r.payload);
	free(it);
}

static int timeout_or_default(const struct sb_wire_client *c, int timeout_ms)
{
	return timeout_ms < 0 ? c->timeout_ms : timeout_ms;
}

SB_RESULT sb_wire_client_recv(struct sb_wire_client *c, int timeout_ms,
			      struct sb_wire_response *out)
{
	uint64_t deadline;

	SB_ENSURE_REF(out);
	SB_GUARD(client_usable(c));
	deadline = deadline_after(timeout_or_default(c, timeout_ms));
	while (c->head == NULL) {
		SB_ENSURE_MSG(c->in_flight > 0, SB_ERR_BAD_STATE, "no request in flight");
		SB_GUARD(pump(c, deadline));
	}
	inbox_take(c, NULL, c->head, out);
	return SB_OK_RESULT;
}

SB_RESULT sb_wire_client_wait(struct sb_wire_client *c, uint32_t id, int timeout_ms,
			      struct sb_wire_response *out)
{
	uint64_t deadline;

	SB_ENSURE_REF(out);
	SB_GUARD(client_usable(c));
	deadline = deadline_after(timeout_or_default(c, timeout_ms));
	for (;;) {
		struct inbox_item *prev = NULL;
		for (struct inbox_item *it = c->head; it != NULL; prev = it, it = it->next)
			if (it->r.id == id) {
				inbox_take(c, prev, it, out);
				return SB_OK_RESULT;
			}
		SB_ENSURE_MSG(id != 0 && c->pending[id % SB_CLIENT_MAX_IN_FLIGHT] == id,
			      SB_ERR_INVALID_ARG, "request %u is not in flight", id);
		SB_GUARD(pump(c, deadline));
	}
}

SB_RESULT sb_wire_client_call(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			      uint16_t expect_type, struct sb_buf *out)
{
	struct sb_wire_response r;
	uint32_t id = 0;
	sb_result rc;

	SB_GUARD(sb_wire_client_send(c, type, payload, &id));
	sb_wire_response_init(&r);
	SB_GUARD_GOTO(rc, sb_wire_client_wait(c, id, -1, &r), done);
	SB_GUARD_GOTO(rc, sb_wire_response_check(&r), done);
	if (r.type != expect_type)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_WIRE_UNEXPECTED, done, "%s answered with %s, expected %s",
				 sb_msg_name(type), sb_msg_name(r.type), sb_msg_name(expect_type));
	rc = out != NULL ? sb_buf_append_slice(out, sb_buf_slice(&r.payload)) : SB_OK_RESULT;
done:
	sb_wire_response_cleanup(&r);
	return rc;
}

/* Hello both ways; the enclave must pick one of the versions we offered. */
static SB_RESULT handshake(struct sb_wire_client *c, const struct sb_msg_hello *ours)
{
	struct sb_buf body = SB_BUF_INIT(64), answer = SB_BUF_INIT(64);
	struct sb_msg_hello theirs;
	uint16_t chosen;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_msg_hello_append(&body, ours), out);
	SB_GUARD_GOTO(rc, sb_wire_client_call(c, SB_MSG_HELLO, sb_buf_slice(&body), SB_MSG_HELLO,
					      &answer),
		      out);
	SB_GUARD_GOTO(rc, sb_msg_hello_parse(sb_buf_slice(&answer), &theirs), out);
	if (theirs.role != SB_WIRE_ROLE_ENCLAVE)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_WIRE_BAD_ROLE, out, "Hello from role %u, expected the enclave",
				 theirs.role);
	if (theirs.count != 1 || !sb_ok(sb_msg_hello_choose(ours, &theirs, &chosen)))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_WIRE_NO_VERSION, out,
				 "the enclave's Hello does not pick one offered version");
	c->version = chosen;
out:
	sb_buf_cleanup(&body);
	sb_buf_cleanup(&answer);
	return rc;
}

SB_RESULT sb_wire_client_open_fd(int fd, const struct sb_wire_client_opts *opts,
				 struct sb_wire_client **out)
{
	static const uint16_t default_versions[] = {SB_WIRE_PROTOCOL_VERSION};
	struct sb_wire_client *c = NULL;
	struct sb_msg_hello ours;
	void *mem;
	sb_result rc;
	int fl;

	SB_ENSURE(fd >= 0, SB_ERR_INVALID_ARG);
	if (out == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NULL, fail);
	if (opts != NULL && opts->versions != NULL)
		SB_GUARD_GOTO(rc, sb_msg_hello_init(&ours, SB_WIRE_ROLE_PARENT, opts->versions,
						    opts->versions_len),
			      fail);
	else
		SB_GUARD_GOTO(rc, sb_msg_hello_init(&ours, SB_WIRE_ROLE_PARENT, default_versions, 1),
			      fail);
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_SOCKET, fail, "fcntl: %s", strerror(errno));
	SB_GUARD_GOTO(rc, sb_calloc(1, sizeof(*c), &mem), fail);
	c = mem;
	c->fd = fd;
	c->next_id = 1;
	c->timeout_ms = opts != NULL && opts->timeout_ms > 0 ? opts->timeout_ms
							      : SB_CLIENT_DEFAULT_TIMEOUT;
	c->max_payload = opts != NULL ? opts->max_payload : 0;
	sb_frame_decoder_init(&c->in, c->max_payload);
	sb_buf_init_secret(&c->out, SB_CLIENT_OUT_MAX);
	SB_GUARD_GOTO(rc, handshake(c, &ours), fail);
	*out = c;
	return SB_OK_RESULT;
fail:
	if (c != NULL)
		sb_wire_client_free(c);
	else
		close(fd);
	return rc;
}

SB_RESULT sb_wire_client_connect(uint32_t cid, uint32_t port,
				 const struct sb_wire_client_opts *opts,
				 struct sb_wire_client **out)
{
	int fd;

	SB_GUARD(sb_vsock_connect(cid, port, &fd));
	return sb_wire_client_open_fd(fd, opts, out);
}

void sb_wire_client_free(struct sb_wire_client *c)
{
	struct inbox_item *it, *next;

	if (c == NULL)
		return;
	close(c->fd);
	for (it = c->head; it != NULL; it = next) {
		next = it->next;
		sb_wire_response_cleanup(&it->r);
		free(it);
	}
	sb_frame_decoder_cleanup(&c->in);
	sb_buf_cleanup(&c->out);
	free(c);
}

uint16_t sb_wire_client_version(const struct sb_wire_client *c)
{
	return c->version;
}

size_t sb_wire_client_in_flight(const struct sb_wire_client *c)
{
	return c->in_flight;
}
