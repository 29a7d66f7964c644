/*
 * Unit tests for src/wire/sb_server and sb_client (and sb_ping), in process
 * over the Unix mapping in a temporary directory: handshake, pipelined
 * requests answered out of order from a worker thread, request-level and
 * protocol errors, a bad client closed while a good one keeps working,
 * posts to closed connections, backpressure, and the client's own checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "common/sb_time.h"
#include "wire/sb_client.h"
#include "wire/sb_frame.h"
#include "wire/sb_ping.h"
#include "wire/sb_server.h"
#include "wire/sb_vsock.h"

#define PORT      5005u
#define CID       16u
#define MAX_JOBS  64
#define CONN_MAGIC 0x434f4e4eu

/* ---- A worker thread that answers Input requests later, in reverse order. ---- */
struct job {
	uint64_t conn_id;
	uint32_t req_id;
	size_t len;
	uint8_t payload[64];
};

struct worker {
	pthread_mutex_t m;
	pthread_cond_t cv;
	struct job jobs[MAX_JOBS];
	size_t n;
	size_t batch; /* answer once this many are queued */
	bool hold;    /* answer nothing until released */
	bool quit;
	struct sb_server *srv;
	pthread_t thread;
};

struct conn_state {
	uint32_t magic;
	uint64_t id;
};

struct fixture {
	char dir[64];
	struct sb_server *srv;
	pthread_t loop;
	struct worker w;
	pthread_mutex_t m; /* guards the counters below */
	pthread_cond_t cv;
	unsigned opened, closed;
	uint64_t last_conn_id;
	bool stopped;
};

static struct fixture *g_fx; /* the handlers' view of the fixture */

static void answer(struct worker *w, const struct job *j)
{
	sb_result r;
	if (j->len == 4 && memcmp(j->payload, "fail", 4) == 0)
		r = sb_server_post_error(w->srv, j->conn_id, j->req_id, SB_ERR_INVALID_ARG,
					 "input rejected");
	else
		r = sb_server_post(w->srv, j->conn_id, j->req_id, SB_MSG_INPUT,
				   SB_SLICE(j->payload, j->len));
	assert_true(sb_ok(r));
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct job batch[MAX_JOBS];

	pthread_mutex_lock(&w->m);
	for (;;) {
		while (!w->quit && (w->hold || w->n == 0 || w->n < w->batch))
			pthread_cond_wait(&w->cv, &w->m);
		if (w->quit && w->n == 0)
			break;
		size_t n = w->n;
		memcpy(batch, w->jobs, n * sizeof(batch[0]));
		w->n = 0;
		pthread_mutex_unlock(&w->m);
		for (size_t i = n; i-- > 0;) /* newest first: responses out of order */
			answer(w, &batch[i]);
		pthread_mutex_lock(&w->m);
	}
	pthread_mutex_unlock(&w->m);
	return NULL;
}

static void worker_set(struct worker *w, size_t batch, bool hold)
{
	pthread_mutex_lock(&w->m);
	w->batch = batch;
	w->hold = hold;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->m);
}

/* ---- Handlers. ---- */
static sb_result handle_ping(struct sb_server_request *req)
{
	struct conn_state *cs = req->conn_state;
	SB_ENSURE(cs != NULL && cs->magic == CONN_MAGIC && cs->id == req->conn_id,
		  SB_ERR_INTERNAL);
	SB_ENSURE(req->version == 1, SB_ERR_INTERNAL);
	return sb_server_reply(req, SB_MSG_PONG, req->payload);
}

/* Input: queued for the worker, answered later from its thread. */
static sb_result handle_input(struct sb_server_request *req)
{
	struct worker *w = &g_fx->w;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(req->payload.len <= sizeof(w->jobs[0].payload), SB_ERR_TOO_LARGE);
	pthread_mutex_lock(&w->m);
	if (w->n == MAX_JOBS) {
		rc = sb_error_record(SB_ERR_WIRE_BUSY, SB_HERE);
	} else {
		struct job *j = &w->jobs[w->n++];
		j->conn_id = req->conn_id;
		j->req_id = req->id;
		j->len = req->payload.len;
		memcpy(j->payload, req->payload.ptr, req->payload.len);
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->m);
	return rc;
}

static sb_result handle_set_credentials(struct sb_server_request *req)
{
	sb_server_set_state(req, SB_WIRE_STATE_CREDENTIALS);
	return sb_server_reply(req, SB_MSG_SET_CREDENTIALS, SB_SLICE_LIT(""));
}

static sb_result handle_begin_job(struct sb_server_request *req)
{
	sb_server_set_state(req, SB_WIRE_STATE_JOB);
	return sb_server_reply(req, SB_MSG_BEGIN_JOB, SB_SLICE_LIT("job"));
}

/* A handler that finds its request malformed: a protocol error. */
static sb_result handle_end_inputs(struct sb_server_request *req)
{
	SB_ENSURE_MSG(req->payload.len == 0, SB_ERR_TRAILING, "EndInputs carries %zu bytes",
		      req->payload.len);
	return sb_server_reply(req, SB_MSG_RESULT, SB_SLICE_LIT("result"));
}

static const struct sb_server_dispatch table[] = {
	{SB_MSG_PING, SB_WIRE_STATES_AFTER_HELLO, handle_ping},
	{SB_MSG_INPUT, SB_WIRE_STATE_READY | SB_WIRE_STATE_JOB, handle_input},
	{SB_MSG_SET_CREDENTIALS, SB_WIRE_STATE_READY, handle_set_credentials},
	{SB_MSG_BEGIN_JOB, SB_WIRE_STATE_CREDENTIALS, handle_begin_job},
	{SB_MSG_END_INPUTS, SB_WIRE_STATES_AFTER_HELLO, handle_end_inputs},
};

static sb_result conn_open(void *app, uint64_t conn_id, void **out)
{
	struct fixture *fx = app;
	struct conn_state *cs = calloc(1, sizeof(*cs));
	SB_ENSURE(cs != NULL, SB_ERR_NOMEM);
	cs->magic = CONN_MAGIC;
	cs->id = conn_id;
	*out = cs;
	pthread_mutex_lock(&fx->m);
	fx->opened++;
	fx->last_conn_id = conn_id;
	pthread_mutex_unlock(&fx->m);
	return SB_OK_RESULT;
}

static void conn_close(void *app, void *state)
{
	struct fixture *fx = app;
	struct conn_state *cs = state;
	assert_int_equal(cs->magic, CONN_MAGIC);
	cs->magic = 0;
	free(cs);
	pthread_mutex_lock(&fx->m);
	fx->closed++;
	pthread_cond_broadcast(&fx->cv);
	pthread_mutex_unlock(&fx->m);
}

/* Waits (condition variable, bounded) until `closed` connections have closed. */
static void wait_closed(struct fixture *fx, unsigned closed)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&fx->m);
	while (fx->closed < closed)
		if (pthread_cond_timedwait(&fx->cv, &fx->m, &until) == ETIMEDOUT)
			break;
	unsigned got = fx->closed;
	pthread_mutex_unlock(&fx->m);
	assert_int_equal(got, closed);
}

static void *loop_main(void *arg)
{
	struct fixture *fx = arg;
	assert_true(sb_ok(sb_server_run(fx->srv)));
	return NULL;
}

static uint32_t g_hello_ms, g_idle_ms; /* the next server's deadlines, 0 = defaults */

static int start_server(void **state, size_t max_conns)
{
	static struct fixture fx;
	struct sb_server_config cfg = {.dispatch = table,
				       .dispatch_len = sizeof(table) / sizeof(table[0]),
				       .app = &fx,
				       .conn_open = conn_open,
				       .conn_close = conn_close,
				       .max_conns = max_conns,
				       .hello_timeout_ms = g_hello_ms,
				       .idle_timeout_ms = g_idle_ms};
	int lfd;

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/sb-chan-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	setenv(SB_VSOCK_ENV_DIR, fx.dir, 1);
	setenv(SB_VSOCK_ENV_CID, "16", 1);
	pthread_mutex_init(&fx.m, NULL);
	pthread_cond_init(&fx.cv, NULL);
	pthread_mutex_init(&fx.w.m, NULL);
	pthread_cond_init(&fx.w.cv, NULL);
	fx.w.batch = 1;
	if (!sb_ok(sb_vsock_listen(PORT, &lfd)) || !sb_ok(sb_server_new(lfd, &cfg, &fx.srv)))
		return -1;
	fx.w.srv = fx.srv;
	g_fx = &fx;
	if (pthread_create(&fx.w.thread, NULL, worker_main, &fx.w) != 0 ||
	    pthread_create(&fx.loop, NULL, loop_main, &fx) != 0)
		return -1;
	*state = &fx;
	return 0;
}

static int setup(void **state)
{
	return start_server(state, 0);
}

static int setup_one_conn(void **state)
{
	return start_server(state, 1);
}

static int setup_short_deadlines(void **state)
{
	int r;

	g_hello_ms = 300;
	g_idle_ms = 500;
	r = start_server(state, 2);
	g_hello_ms = g_idle_ms = 0;
	return r;
}

static void stop_worker(struct fixture *fx)
{
	if (fx->w.quit)
		return;
	pthread_mutex_lock(&fx->w.m);
	fx->w.quit = true;
	fx->w.hold = false;
	pthread_cond_broadcast(&fx->w.cv);
	pthread_mutex_unlock(&fx->w.m);
	pthread_join(fx->w.thread, NULL);
}

static void stop_server(struct fixture *fx)
{
	stop_worker(fx);
	if (fx->stopped)
		return;
	sb_server_stop(fx->srv);
	pthread_join(fx->loop, NULL);
	fx->stopped = true;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	char path[128];

	stop_server(fx);
	sb_server_free(fx->srv);
	/* Every connection's state was destroyed exactly once. */
	assert_int_equal(fx->opened, fx->closed);
	snprintf(path, sizeof(path), "%s/16.%u", fx->dir, PORT);
	unlink(path);
	rmdir(fx->dir);
	pthread_mutex_destroy(&fx->m);
	pthread_cond_destroy(&fx->cv);
	pthread_mutex_destroy(&fx->w.m);
	pthread_cond_destroy(&fx->w.cv);
	return 0;
}

static struct sb_wire_client *client(void)
{
	struct sb_wire_client *c = NULL;
	struct sb_wire_client_opts o = {.timeout_ms = 10000};
	assert_true(sb_ok(sb_wire_client_connect(CID, PORT, &o, &c)));
	assert_int_equal(sb_wire_client_version(c), 1);
	return c;
}

/* ---- Raw peers: bytes on a socket, as a broken or hostile parent sends them. ---- */
static void put_frame(struct sb_buf *b, uint32_t magic, uint8_t version, uint8_t flags,
		      uint16_t type, uint32_t length, uint32_t id, const void *p, size_t n)
{
	assert_true(sb_ok(sb_buf_append_be32(b, magic)));
	assert_true(sb_ok(sb_buf_append_u8(b, version)));
	assert_true(sb_ok(sb_buf_append_u8(b, flags)));
	assert_true(sb_ok(sb_buf_append_be16(b, type)));
	assert_true(sb_ok(sb_buf_append_be32(b, length)));
	assert_true(sb_ok(sb_buf_append_be32(b, id)));
	assert_true(sb_ok(sb_buf_append(b, p, n)));
}

static const uint8_t hello_v1[] = {SB_WIRE_ROLE_PARENT, 1, 0, 1};

static int raw_connect(void)
{
	struct timeval tv = {.tv_sec = 10};
	int fd = -1;
	assert_true(sb_ok(sb_vsock_connect(CID, PORT, &fd)));
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return fd;
}

/* Everything the server sends until it closes (EOF or reset). */
static void raw_read_all(int fd, struct sb_buf *out)
{
	for (;;) {
		uint8_t chunk[4096];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return;
		if (n < 0)
			fail_msg("read: %s (the server did not close)", strerror(errno));
		assert_true(sb_ok(sb_buf_append(out, chunk, (size_t)n)));
	}
}

/* The stream's last frame must be an Error with this code, flags and id. */
static void expect_last_error(const struct sb_buf *stream, const char *name, int code,
			      uint8_t flags, uint32_t id)
{
	struct sb_frame_decoder d;
	struct sb_frame f, last = {0};
	struct sb_msg_error e;
	bool have, any = false;

	sb_frame_decoder_init(&d, 0);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, stream->data, stream->len)));
	while (sb_ok(sb_frame_decoder_next(&d, &f, &have)) && have) {
		last = f;
		any = true;
	}
	assert_true(sb_ok(sb_frame_decoder_finish(&d)));
	if (!any || last.type != SB_MSG_ERROR)
		fail_msg("%s: no Error frame came back", name);
	assert_true(sb_ok(sb_msg_error_parse(last.payload, &e)));
	if ((int)e.code != code || last.flags != flags || last.id != id)
		fail_msg("%s: got %s flags %u id %u (%s)", name, sb_error_name((int)e.code),
			 last.flags, last.id, e.message);
	sb_frame_decoder_cleanup(&d);
}

struct raw_case {
	const char *name;
	bool hello_first;
	uint32_t magic;
	uint8_t version, flags;
	uint16_t type;
	uint32_t length; /* as claimed in the header */
	const char *payload;
	size_t plen;     /* payload bytes actually present */
	bool cut;        /* stop after the bytes present, then shut down writing */
	int code;
	bool answers;    /* the Error answers request id 9 */
	bool zero_id;    /* the frame carries request id 0 instead of 9 */
};

#define M SB_FRAME_MAGIC
#define P(s) s, sizeof(s) - 1
static const struct raw_case raw_cases[] = {
	{"bad magic", false, 0x41414141u, 1, 0, SB_MSG_PING, 0, P(""), false,
	 SB_ERR_WIRE_BAD_MAGIC, false, false},
	{"bad version", false, M, 2, 0, SB_MSG_HELLO, 4, P("\x01\x01\x00\x01"), false,
	 SB_ERR_WIRE_BAD_VERSION, false, false},
	{"unknown flags", true, M, 1, 0x04, SB_MSG_PING, 0, P(""), false, SB_ERR_WIRE_BAD_FLAGS,
	 false, false},
	{"oversize length, header only", true, M, 1, 0, SB_MSG_PING, SB_FRAME_MAX_PAYLOAD + 1, P(""),
	 false, SB_ERR_WIRE_OVERSIZE, false, false},
	{"4 GiB length", false, M, 1, 0, SB_MSG_HELLO, 0xffffffffu, P(""), false,
	 SB_ERR_WIRE_OVERSIZE, false, false},
	{"Ping before Hello", false, M, 1, 0, SB_MSG_PING, 1, P("x"), false, SB_ERR_BAD_STATE,
	 true, false},
	{"Input before Hello", false, M, 1, 0, SB_MSG_INPUT, 0, P(""), false, SB_ERR_BAD_STATE,
	 true, false},
	{"unknown type", true, M, 1, 0, 99, 0, P(""), false, SB_ERR_WIRE_UNKNOWN_TYPE, true, false},
	{"unknown high type", true, M, 1, 0, 0xffff, 0, P(""), false, SB_ERR_WIRE_UNKNOWN_TYPE,
	 true, false},
	{"Result from the parent", true, M, 1, 0, SB_MSG_RESULT, 0, P(""), false,
	 SB_ERR_WIRE_UNEXPECTED, true, false},
	{"Pong from the parent", true, M, 1, 0, SB_MSG_PONG, 0, P(""), false,
	 SB_ERR_WIRE_UNEXPECTED, true, false},
	{"BeginJob before credentials", true, M, 1, 0, SB_MSG_BEGIN_JOB, 0, P(""), false,
	 SB_ERR_BAD_STATE, true, false},
	{"second Hello", true, M, 1, 0, SB_MSG_HELLO, 4, P("\x01\x01\x00\x01"), false,
	 SB_ERR_BAD_STATE, true, false},
	{"response flag on a request", true, M, 1, SB_FRAME_FLAG_RESPONSE, SB_MSG_PING, 0, P(""),
	 false, SB_ERR_WIRE_UNEXPECTED, false, false},
	{"header cut by EOF", true, M, 1, 0, SB_MSG_PING, 0, P(""), true, SB_ERR_TRUNCATED, false, false},
	{"payload cut by EOF", true, M, 1, 0, SB_MSG_PING, 10, P("abc"), true, SB_ERR_TRUNCATED,
	 false, false},
	{"handler rejects the body", true, M, 1, 0, SB_MSG_END_INPUTS, 1, P("x"), false,
	 SB_ERR_TRAILING, true, false},
	{"Hello from an enclave", false, M, 1, 0, SB_MSG_HELLO, 4, P("\x02\x01\x00\x01"), false,
	 SB_ERR_WIRE_BAD_ROLE, true, false},
	{"Hello with a trailing byte", false, M, 1, 0, SB_MSG_HELLO, 5,
	 P("\x01\x01\x00\x01\x00"), false, SB_ERR_TRAILING, true, false},
	{"Hello with no common version", false, M, 1, 0, SB_MSG_HELLO, 6,
	 P("\x01\x02\x00\x02\x00\x03"), false, SB_ERR_WIRE_NO_VERSION, true, false},
	/* "id chosen by the parent, non-zero" (PROTOCOL.md §5.2). */
	{"Ping with request id 0", true, M, 1, 0, SB_MSG_PING, 1, P("x"), false, SB_ERR_WIRE_BAD_ID,
	 false, true},
	{"Hello with request id 0", false, M, 1, 0, SB_MSG_HELLO, 4, P("\x01\x01\x00\x01"), false,
	 SB_ERR_WIRE_BAD_ID, false, true},
};
#undef P
#undef M

static void run_raw_case(const struct raw_case *rc)
{
	struct sb_buf out = SB_BUF_INIT(1 << 20), in = SB_BUF_INIT(1 << 20);
	int fd = raw_connect();

	if (rc->hello_first)
		put_frame(&out, SB_FRAME_MAGIC, 1, 0, SB_MSG_HELLO, sizeof(hello_v1), 1, hello_v1,
			  sizeof(hello_v1));
	put_frame(&out, rc->magic, rc->version, rc->flags, rc->type, rc->length,
		  rc->zero_id ? 0 : 9, rc->payload, rc->plen);
	/* "header cut by EOF" sends only 10 bytes of its header. */
	size_t n = rc->cut && rc->plen == 0 ? out.len - 6 : out.len;
	assert_int_equal(send(fd, out.data, n, MSG_NOSIGNAL), (ssize_t)n);
	if (rc->cut)
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
	raw_read_all(fd, &in);
	expect_last_error(&in, rc->name, rc->code, rc->answers ? SB_FRAME_FLAG_RESPONSE : 0,
			  rc->answers ? 9 : 0);
	close(fd);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&in);
}

static void ping_ok(struct sb_wire_client *c, const char *text)
{
	struct sb_buf back = SB_BUF_INIT(256);
	assert_true(sb_ok(sb_wire_client_call(c, SB_MSG_PING, sb_slice_str(text), SB_MSG_PONG,
					      &back)));
	assert_string_equal(sb_buf_cstr(&back), text);
	sb_buf_cleanup(&back);
}

/* ---- Tests. ---- */
static void test_handshake_and_call(void **state)
{
	(void)state;
	struct sb_wire_client *c = client();
	ping_ok(c, "hello enclave");
	ping_ok(c, "");
	assert_int_equal(sb_wire_client_in_flight(c), 0);
	sb_wire_client_free(c);
	sb_wire_client_free(NULL);
}

static void test_version_negotiation(void **state)
{
	(void)state;
	static const uint16_t newer[] = {1, 7}, none[] = {2, 3};
	struct sb_wire_client *c = NULL;
	struct sb_wire_client_opts o = {.versions = newer, .versions_len = 2};

	assert_true(sb_ok(sb_wire_client_connect(CID, PORT, &o, &c)));
	assert_int_equal(sb_wire_client_version(c), 1);
	sb_wire_client_free(c);
	c = NULL;
	o.versions = none;
	assert_int_equal(sb_wire_client_connect(CID, PORT, &o, &c).code, SB_ERR_WIRE_REMOTE);
	assert_non_null(strstr(sb_error_detail(), "SB_ERR_WIRE_NO_VERSION"));
	assert_null(c);
}

/* Eight requests in flight, answered by the worker newest first. */
static void test_pipelined_async_out_of_order(void **state)
{
	struct fixture *fx = *state;
	struct sb_wire_client *c = client();
	struct sb_wire_response r;
	uint32_t ids[8];
	char text[16];

	worker_set(&fx->w, 8, false);
	for (unsigned i = 0; i < 8; i++) {
		snprintf(text, sizeof(text), "in-%u", i);
		assert_true(sb_ok(sb_wire_client_queue(c, SB_MSG_INPUT, sb_slice_str(text), &ids[i])));
	}
	assert_int_equal(sb_wire_client_in_flight(c), 8);
	assert_true(sb_ok(sb_wire_client_flush(c)));
	sb_wire_response_init(&r);
	for (unsigned k = 0; k < 8; k++) {
		assert_true(sb_ok(sb_wire_client_recv(c, -1, &r)));
		unsigned i = 7 - k; /* reverse order of sending */
		assert_int_equal(r.id, ids[i]);
		assert_int_equal(r.type, SB_MSG_INPUT);
		snprintf(text, sizeof(text), "in-%u", i);
		assert_string_equal(sb_buf_cstr(&r.payload), text);
	}
	assert_int_equal(sb_wire_client_in_flight(c), 0);
	sb_wire_response_cleanup(&r);
	sb_wire_client_free(c);
}

/* Waiting for one id keeps the responses that overtook it. */
static void test_wait_keeps_other_responses(void **state)
{
	struct fixture *fx = *state;
	struct sb_wire_client *c = client();
	struct sb_wire_response r;
	uint32_t ids[3];

	worker_set(&fx->w, 3, false);
	assert_true(sb_ok(sb_wire_client_send(c, SB_MSG_INPUT, SB_SLICE_LIT("a"), &ids[0])));
	assert_true(sb_ok(sb_wire_client_send(c, SB_MSG_INPUT, SB_SLICE_LIT("b"), &ids[1])));
	assert_true(sb_ok(sb_wire_client_send(c, SB_MSG_INPUT, SB_SLICE_LIT("c"), &ids[2])));
	sb_wire_response_init(&r);
	assert_true(sb_ok(sb_wire_client_wait(c, ids[0], -1, &r)));
	assert_string_equal(sb_buf_cstr(&r.payload), "a");
	assert_true(sb_ok(sb_wire_client_recv(c, -1, &r)));
	assert_int_equal(r.id, ids[2]);
	assert_true(sb_ok(sb_wire_client_recv(c, -1, &r)));
	assert_int_equal(r.id, ids[1]);
	/* Nothing in flight: recv and wait refuse rather than block. */
	assert_int_equal(sb_wire_client_recv(c, -1, &r).code, SB_ERR_BAD_STATE);
	assert_int_equal(sb_wire_client_wait(c, ids[0], -1, &r).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_wire_client_wait(c, 0, -1, &r).code, SB_ERR_INVALID_ARG);
	sb_wire_response_cleanup(&r);
	sb_wire_client_free(c);
}

/* An Error answering one request leaves the connection usable. */
static void test_request_error_keeps_connection(void **state)
{
	(void)state;
	struct sb_wire_client *c = client();
	struct sb_buf out = SB_BUF_INIT(64);

	assert_int_equal(sb_wire_client_call(c, SB_MSG_INPUT, SB_SLICE_LIT("fail"), SB_MSG_INPUT,
					     &out)
				 .code,
			 SB_ERR_WIRE_REMOTE);
	assert_string_equal(sb_error_detail(), "SB_ERR_INVALID_ARG: input rejected");
	assert_int_equal(out.len, 0);
	/* A response of another type than expected is refused. */
	assert_int_equal(sb_wire_client_call(c, SB_MSG_PING, SB_SLICE_LIT("x"), SB_MSG_RESULT, &out)
				 .code,
			 SB_ERR_WIRE_UNEXPECTED);
	ping_ok(c, "still here");
	sb_wire_client_free(c);
}

static void test_state_transitions(void **state)
{
	(void)state;
	struct sb_wire_client *c = client();
	struct sb_buf out = SB_BUF_INIT(64);

	assert_true(sb_ok(sb_wire_client_call(c, SB_MSG_SET_CREDENTIALS, SB_SLICE_LIT("k"),
					      SB_MSG_SET_CREDENTIALS, NULL)));
	assert_true(sb_ok(sb_wire_client_call(c, SB_MSG_BEGIN_JOB, SB_SLICE_LIT(""),
					      SB_MSG_BEGIN_JOB, &out)));
	assert_string_equal(sb_buf_cstr(&out), "job");
	/* BeginJob again: not allowed in the job state; the enclave closes the channel. */
	assert_int_equal(sb_wire_client_call(c, SB_MSG_BEGIN_JOB, SB_SLICE_LIT(""),
					     SB_MSG_BEGIN_JOB, NULL)
				 .code,
			 SB_ERR_WIRE_REMOTE);
	assert_non_null(strstr(sb_error_detail(), "SB_ERR_BAD_STATE"));
	int code = sb_wire_client_call(c, SB_MSG_PING, SB_SLICE_LIT("x"), SB_MSG_PONG, NULL).code;
	assert_int_equal(code, SB_ERR_CLOSED);
	/* Broken for good: the same failure, without touching the socket. */
	assert_int_equal(sb_wire_client_call(c, SB_MSG_PING, SB_SLICE_LIT("x"), SB_MSG_PONG, NULL)
				 .code,
			 SB_ERR_CLOSED);
	assert_non_null(strstr(sb_error_detail(), "failed earlier"));
	sb_buf_cleanup(&out);
	sb_wire_client_free(c);
}

/* Each bad client gets an Error frame and is closed; a good one keeps working. */
static void test_bad_clients_closed_good_client_served(void **state)
{
	struct fixture *fx = *state;
	struct sb_wire_client *good = client();

	for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		run_raw_case(&raw_cases[i]);
		ping_ok(good, raw_cases[i].name);
	}
	struct sb_wire_client *later = client();
	ping_ok(later, "new connections too");
	sb_wire_client_free(later);
	sb_wire_client_free(good);
	wait_closed(fx, fx->opened);
	stop_server(fx);
	struct sb_server_stats st;
	sb_server_get_stats(fx->srv, &st);
	assert_int_equal(st.protocol_errors, sizeof(raw_cases) / sizeof(raw_cases[0]));
	assert_int_equal(st.accepted, st.closed);
}

/* Responses posted for a connection that has closed are dropped safely. */
static void test_post_after_close_is_dropped(void **state)
{
	struct fixture *fx = *state;
	struct sb_wire_client *c = client();
	uint64_t dead;

	worker_set(&fx->w, 1, true);
	assert_true(sb_ok(sb_wire_client_send(c, SB_MSG_INPUT, SB_SLICE_LIT("late"), NULL)));
	ping_ok(c, "sync"); /* the Input has reached the worker */
	pthread_mutex_lock(&fx->m);
	dead = fx->last_conn_id;
	pthread_mutex_unlock(&fx->m);
	sb_wire_client_free(c);
	wait_closed(fx, 1);
	assert_true(sb_ok(sb_server_post(fx->srv, dead, 1, SB_MSG_PONG, SB_SLICE_LIT("x"))));
	assert_true(sb_ok(sb_server_post_error(fx->srv, dead + 1, 1, SB_ERR_IO, "never was")));
	worker_set(&fx->w, 1, false);
	stop_worker(fx); /* its post for the closed connection is queued now */
	/* The loop saw the wake-up before it could accept and answer this client. */
	c = client();
	ping_ok(c, "after");
	sb_wire_client_free(c);
	stop_server(fx);
	struct sb_server_stats st;
	sb_server_get_stats(fx->srv, &st);
	assert_int_equal(st.posts_dropped, 3);
}

static void test_recv_timeout_is_recoverable(void **state)
{
	struct fixture *fx = *state;
	struct sb_wire_client *c = client();
	struct sb_wire_response r;
	uint32_t id;
	uint64_t t0;

	worker_set(&fx->w, 1, true);
	assert_true(sb_ok(sb_wire_client_send(c, SB_MSG_INPUT, SB_SLICE_LIT("held"), &id)));
	sb_wire_response_init(&r);
	t0 = sb_time_mono_ns();
	assert_int_equal(sb_wire_client_recv(c, 50, &r).code, SB_ERR_TIMEOUT);
	assert_true(sb_time_mono_ns() - t0 >= 50u * 1000000u);
	assert_int_equal(sb_wire_client_wait(c, id, 20, &r).code, SB_ERR_TIMEOUT);
	worker_set(&fx->w, 1, false);
	assert_true(sb_ok(sb_wire_client_recv(c, -1, &r)));
	assert_int_equal(r.id, id);
	assert_string_equal(sb_buf_cstr(&r.payload), "held");
	sb_wire_response_cleanup(&r);
	ping_ok(c, "fine");
	sb_wire_client_free(c);
}

static void make_ping(struct sb_buf *b, size_t seq)
{
	static uint8_t payload[60000];
	memset(payload, (int)(seq & 0xff), sizeof(payload));
	sb_buf_reset(b);
	put_frame(b, SB_FRAME_MAGIC, 1, 0, SB_MSG_PING, sizeof(payload), (uint32_t)seq + 2, payload,
		  sizeof(payload));
}

/* Takes every complete Pong out of d, checking order and contents. */
static void take_pongs(struct sb_frame_decoder *d, size_t *got)
{
	struct sb_frame f;
	bool have;
	while (sb_ok(sb_frame_decoder_next(d, &f, &have)) && have) {
		if (f.type == SB_MSG_HELLO)
			continue;
		assert_int_equal(f.type, SB_MSG_PONG);
		assert_int_equal(f.id, *got + 2);
		assert_int_equal(f.payload.len, 60000);
		assert_int_equal(f.payload.ptr[59999], (uint8_t)(*got & 0xff));
		(*got)++;
	}
}

/*
 * A raw parent writes 60 kB Pings and never reads: the server stops reading
 * once its replies pile up (else it would queue 120 MB and drop us), so the
 * writer blocks; then, reading again, every Pong arrives in order.
 */
static void test_backpressure(void **state)
{
	(void)state;
	struct sb_buf cur = SB_BUF_INIT(1 << 17);
	struct sb_frame_decoder d;
	size_t sent = 0, off = 0, got = 0;
	bool blocked = false;
	int fd = raw_connect();

	put_frame(&cur, SB_FRAME_MAGIC, 1, 0, SB_MSG_HELLO, sizeof(hello_v1), 1, hello_v1,
		  sizeof(hello_v1));
	assert_int_equal(send(fd, cur.data, cur.len, MSG_NOSIGNAL), (ssize_t)cur.len);
	make_ping(&cur, 0);
	while (sent < 2000) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 300) == 0) {
			blocked = true;
			break;
		}
		ssize_t n = send(fd, cur.data + off, cur.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		assert_true(n > 0 || errno == EAGAIN);
		off += n > 0 ? (size_t)n : 0;
		if (off == cur.len) {
			make_ping(&cur, ++sent);
			off = 0;
		}
	}
	assert_true(blocked);
	/* Read everything back, finishing the Ping left half written. */
	bool writing = off > 0;
	size_t want = sent + (writing ? 1 : 0);
	sb_frame_decoder_init(&d, 0);
	while (got < want) {
		struct pollfd p = {.fd = fd, .events = (short)(POLLIN | (writing ? POLLOUT : 0))};
		assert_true(poll(&p, 1, 10000) > 0);
		if ((p.revents & POLLOUT) != 0) {
			ssize_t n = send(fd, cur.data + off, cur.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			off += n > 0 ? (size_t)n : 0;
			writing = off < cur.len;
		}
		if ((p.revents & POLLIN) != 0) {
			uint8_t *dst;
			size_t room;
			assert_true(sb_ok(sb_frame_decoder_space(&d, 65536, &dst, &room)));
			ssize_t n = recv(fd, dst, room, 0);
			assert_true(n > 0);
			assert_true(sb_ok(sb_frame_decoder_commit(&d, (size_t)n)));
			take_pongs(&d, &got);
		}
	}
	assert_int_equal(got, want);
	sb_frame_decoder_cleanup(&d);
	close(fd);
	sb_buf_cleanup(&cur);
}

/* Client-side flow control: one flush of 12 MB of Pings, reading as it goes. */
static void test_client_pipelines_large_batch(void **state)
{
	(void)state;
	static uint8_t payload[60000];
	struct sb_wire_client *c = client();
	struct sb_wire_response r;

	for (uint32_t i = 0; i < 200; i++) {
		memset(payload, (int)i, sizeof(payload));
		assert_true(sb_ok(sb_wire_client_queue(c, SB_MSG_PING, SB_SLICE(payload, sizeof(payload)),
						       NULL)));
	}
	assert_true(sb_ok(sb_wire_client_flush(c)));
	sb_wire_response_init(&r);
	for (uint32_t i = 0; i < 200; i++) {
		assert_true(sb_ok(sb_wire_client_recv(c, -1, &r)));
		assert_int_equal(r.payload.len, sizeof(payload));
		assert_int_equal(r.payload.data[59999], (uint8_t)(r.id - 2));
	}
	sb_wire_response_cleanup(&r);
	sb_wire_client_free(c);
}

static void test_ping_runner(void **state)
{
	(void)state;
	struct sb_wire_client *c = client();
	struct sb_ping_opts o = {.count = 300, .window = 16, .payload_len = 100};
	struct sb_ping_stats st;

	assert_true(sb_ok(sb_ping_run(c, &o, &st)));
	assert_int_equal(st.count, 300);
	assert_true(st.min_ns > 0 && st.min_ns <= st.p50_ns && st.p50_ns <= st.p99_ns &&
		    st.p99_ns <= st.max_ns && st.max_ns <= st.total_ns);
	o.window = 0;
	assert_int_equal(sb_ping_run(c, &o, &st).code, SB_ERR_INVALID_ARG);
	o.window = 1;
	o.payload_len = SB_MSG_PING_MAX_PAYLOAD + 1;
	assert_int_equal(sb_ping_run(c, &o, &st).code, SB_ERR_INVALID_ARG);
	sb_wire_client_free(c);
}

static void test_percentiles(void **state)
{
	(void)state;
	uint64_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(i + 1);
	assert_int_equal(sb_ping_percentile(v, 100, 0), 1);
	assert_int_equal(sb_ping_percentile(v, 100, 50), 50);
	assert_int_equal(sb_ping_percentile(v, 100, 99), 99);
	assert_int_equal(sb_ping_percentile(v, 100, 100), 100);
	assert_int_equal(sb_ping_percentile(v, 1, 99), 1);
	assert_int_equal(sb_ping_percentile(v, 3, 50), 2);
	uint64_t u[5] = {50, 10, 40, 20, 30};
	struct sb_ping_stats st;
	sb_ping_summarize(u, 5, 1000, &st);
	assert_int_equal(st.min_ns, 10);
	assert_int_equal(st.p50_ns, 30);
	assert_int_equal(st.p99_ns, 50);
	assert_int_equal(st.max_ns, 50);
}

/* The server refuses a connection beyond its limit with an Error it can read. */
static void test_connection_limit(void **state)
{
	(void)state;
	struct sb_wire_client *c = client();
	struct sb_buf in = SB_BUF_INIT(4096);
	int fd = raw_connect();

	raw_read_all(fd, &in);
	expect_last_error(&in, "over the limit", SB_ERR_WIRE_BUSY, 0, 0);
	close(fd);
	ping_ok(c, "the first one is served");
	sb_buf_cleanup(&in);
	/* The reference client reports the enclave's reason, not a broken pipe. */
	struct sb_wire_client *c2 = NULL;
	struct sb_wire_client_opts o = {.timeout_ms = 5000};
	sb_result r = sb_wire_client_connect(CID, PORT, &o, &c2);
	assert_int_equal(r.code, SB_ERR_WIRE_REMOTE);
	if (strstr(sb_error_describe(), "enclave busy") == NULL)
		fail_msg("refused client reports: %s", sb_error_describe());
	assert_null(c2);
	sb_wire_client_free(c);
}

/* The stream ends with Error SB_ERR_TIMEOUT (id 0), no earlier than min_ms after start. */
static void expect_timeout_close(int fd, uint64_t start_ns, uint64_t min_ms, const char *name)
{
	struct sb_buf in = SB_BUF_INIT(4096);
	uint64_t waited_ms;

	raw_read_all(fd, &in);
	waited_ms = (sb_time_mono_ns() - start_ns) / 1000000u;
	expect_last_error(&in, name, SB_ERR_TIMEOUT, 0, 0);
	if (waited_ms + 20 < min_ms || waited_ms > min_ms + 3000)
		fail_msg("%s: closed after %llu ms, deadline %llu ms", name,
			 (unsigned long long)waited_ms, (unsigned long long)min_ms);
	sb_buf_cleanup(&in);
}

/* Silent peers lose their slots: no Hello in time, or idle after Hello; the
 * slot is free again for a real client afterwards. */
static void test_hello_deadline_and_idle_timeout(void **state)
{
	struct fixture *fx = *state;
	struct sb_buf out = SB_BUF_INIT(256);
	uint64_t t0 = sb_time_mono_ns();
	int silent = raw_connect(), partial = raw_connect();

	/* Half a header does not extend the Hello deadline. */
	put_frame(&out, SB_FRAME_MAGIC, 1, 0, SB_MSG_HELLO, sizeof(hello_v1), 1, hello_v1,
		  sizeof(hello_v1));
	assert_int_equal(send(partial, out.data, 8, MSG_NOSIGNAL), 8);
	expect_timeout_close(silent, t0, 300, "no Hello");
	expect_timeout_close(partial, t0, 300, "half a Hello");
	close(silent);
	close(partial);
	wait_closed(fx, 2);

	int idle = raw_connect();
	uint64_t t1 = sb_time_mono_ns();
	assert_int_equal(send(idle, out.data, out.len, MSG_NOSIGNAL), (ssize_t)out.len);
	expect_timeout_close(idle, t1, 500, "idle after Hello");
	close(idle);
	wait_closed(fx, 3);

	/* A client that keeps talking is not idle. */
	struct sb_wire_client *c = client();
	for (int i = 0; i < 4; i++) {
		struct timespec ts = {.tv_nsec = 200 * 1000 * 1000};
		ping_ok(c, "still here");
		nanosleep(&ts, NULL);
	}
	ping_ok(c, "still here");
	sb_wire_client_free(c);
	sb_buf_cleanup(&out);
}

static sb_result noop_handler(struct sb_server_request *req)
{
	(void)req;
	return SB_OK_RESULT;
}

/* A peer that pipelines Pings and never reads the Pongs is idle once the
 * server stops reading it (backpressure): it is dropped, not left holding
 * its slot until it reads an Error. */
static void test_idle_peer_not_reading_dropped(void **state)
{
	struct fixture *fx = *state;
	struct sb_buf cur = SB_BUF_INIT(1 << 17);
	size_t sent = 0, off = 0;
	bool blocked = false;
	int fd = raw_connect();

	put_frame(&cur, SB_FRAME_MAGIC, 1, 0, SB_MSG_HELLO, sizeof(hello_v1), 1, hello_v1,
		  sizeof(hello_v1));
	assert_int_equal(send(fd, cur.data, cur.len, MSG_NOSIGNAL), (ssize_t)cur.len);
	make_ping(&cur, 0);
	while (sent < 2000) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (poll(&p, 1, 300) == 0) {
			blocked = true;
			break;
		}
		ssize_t n = send(fd, cur.data + off, cur.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		assert_true(n > 0 || errno == EAGAIN);
		off += n > 0 ? (size_t)n : 0;
		if (off == cur.len) {
			make_ping(&cur, ++sent);
			off = 0;
		}
	}
	assert_true(blocked);
	wait_closed(fx, 1); /* within 10 s; the idle timeout is 500 ms */
	close(fd);
	sb_buf_cleanup(&cur);
}

static void test_server_config_errors(void **state)
{
	struct fixture *fx = *state;
	static const struct sb_server_dispatch bad[][1] = {
		{{SB_MSG_HELLO, SB_WIRE_STATE_READY, noop_handler}},
		{{SB_MSG_ERROR, SB_WIRE_STATE_READY, noop_handler}},
		{{SB_MSG_PING, 0, noop_handler}},
		{{SB_MSG_PING, SB_WIRE_STATE_HELLO | SB_WIRE_STATE_READY, noop_handler}},
		{{SB_MSG_PING, SB_WIRE_STATE_READY, NULL}},
	};
	static const uint16_t unsorted[] = {2, 1};
	struct sb_server *s = NULL;
	int sv[2];

	for (size_t i = 0; i <= sizeof(bad) / sizeof(bad[0]) + 2; i++) {
		struct sb_server_config cfg = {.dispatch = bad[i % 5], .dispatch_len = 1};
		if (i == sizeof(bad) / sizeof(bad[0]))
			cfg = (struct sb_server_config){.max_conns = 5000};
		else if (i == sizeof(bad) / sizeof(bad[0]) + 1)
			cfg = (struct sb_server_config){.versions = unsorted, .versions_len = 2};
		else if (i == sizeof(bad) / sizeof(bad[0]) + 2)
			cfg = (struct sb_server_config){.dispatch = NULL, .dispatch_len = 3};
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		sb_result r = sb_server_new(sv[0], &cfg, &s);
		if (r.code != SB_ERR_INVALID_ARG && r.code != SB_ERR_BAD_FRAME)
			fail_msg("config %zu: got %s", i, sb_error_name(r.code));
		assert_null(s);
		/* The listener was taken and closed even on failure. */
		assert_int_equal(close(sv[0]), -1);
		close(sv[1]);
	}
	/* No place for the result: still an error, and the fd is still taken. */
	struct sb_server_config fine = {0};
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(sb_server_new(sv[0], &fine, NULL).code, SB_ERR_NULL);
	assert_int_equal(close(sv[0]), -1);
	assert_int_equal(sb_wire_client_open_fd(sv[1], NULL, NULL).code, SB_ERR_NULL);
	assert_int_equal(close(sv[1]), -1);
	/* Replies are for the loop thread only. */
	struct sb_server_request req = {.server = fx->srv, .conn_id = 1u << 16};
	assert_int_equal(sb_server_reply(&req, SB_MSG_PONG, SB_SLICE_LIT("")).code, SB_ERR_BAD_STATE);
	assert_int_equal(sb_server_reply_error(&req, SB_ERR_IO, "x").code, SB_ERR_BAD_STATE);
	int fd = -1;
	assert_true(sb_ok(sb_vsock_connect(CID, PORT, &fd))); /* still listening */
	close(fd);
}

/* ---- The client's own checks, against scripted bytes on a socketpair. ---- */
struct script {
	const char *name;
	uint8_t flags;
	uint16_t type;
	uint32_t id;
	const char *payload;
	size_t plen;
	int mode; /* 0 frame, 1 nothing then EOF, 2 half a header then EOF, 3 silence, 4 bad magic */
	int code;
};

#define P(s) s, sizeof(s) - 1
static const struct script scripts[] = {
	{"valid answer", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 1, P("\x02\x01\x00\x01"), 0, SB_OK},
	{"Hello from a parent", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 1, P("\x01\x01\x00\x01"), 0,
	 SB_ERR_WIRE_BAD_ROLE},
	{"a version not offered", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 1, P("\x02\x01\x00\x02"), 0,
	 SB_ERR_WIRE_NO_VERSION},
	{"two versions", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 1, P("\x02\x02\x00\x01\x00\x02"), 0,
	 SB_ERR_WIRE_NO_VERSION},
	{"malformed Hello", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 1, P("\x02\x01\x00\x01\x00"), 0,
	 SB_ERR_TRAILING},
	{"Pong for Hello", SB_FRAME_FLAG_RESPONSE, SB_MSG_PONG, 1, P(""), 0, SB_ERR_WIRE_UNEXPECTED},
	{"answer to another id", SB_FRAME_FLAG_RESPONSE, SB_MSG_HELLO, 7, P("\x02\x01\x00\x01"), 0,
	 SB_ERR_WIRE_UNEXPECTED},
	{"request from the enclave", 0, SB_MSG_PING, 1, P(""), 0, SB_ERR_WIRE_UNEXPECTED},
	{"Error for the Hello", SB_FRAME_FLAG_RESPONSE, SB_MSG_ERROR, 1,
	 P("\x00\x00\x07\xd7\x00\x02no"), 0, SB_ERR_WIRE_REMOTE},
	{"connection-level Error", 0, SB_MSG_ERROR, 0, P("\x00\x00\x07\xd7\x00\x02no"), 0,
	 SB_ERR_WIRE_REMOTE},
	{"malformed Error", 0, SB_MSG_ERROR, 0, P("\x00\x00"), 0, SB_ERR_TRUNCATED},
	{"EOF", 0, 0, 0, P(""), 1, SB_ERR_CLOSED},
	{"EOF inside a header", 0, 0, 0, P(""), 2, SB_ERR_TRUNCATED},
	{"silence", 0, 0, 0, P(""), 3, SB_ERR_TIMEOUT},
	{"bad magic", 0, 0, 0, P(""), 4, SB_ERR_WIRE_BAD_MAGIC},
};
#undef P

static void test_client_checks_the_enclave(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(scripts) / sizeof(scripts[0]); i++) {
		const struct script *sc = &scripts[i];
		struct sb_buf b = SB_BUF_INIT(256);
		struct sb_wire_client_opts o = {.timeout_ms = 100};
		struct sb_wire_client *c = NULL;
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		if (sc->mode == 0)
			put_frame(&b, SB_FRAME_MAGIC, 1, sc->flags, sc->type, (uint32_t)sc->plen,
				  sc->id, sc->payload, sc->plen);
		else if (sc->mode == 2)
			put_frame(&b, SB_FRAME_MAGIC, 1, 0, 0, 0, 0, "", 0);
		else if (sc->mode == 4)
			put_frame(&b, 0x00000000u, 1, 0, SB_MSG_HELLO, 0, 1, "", 0);
		size_t n = sc->mode == 2 ? 7 : b.len;
		assert_int_equal(write(sv[1], b.data, n), (ssize_t)n);
		if (sc->mode == 1 || sc->mode == 2)
			shutdown(sv[1], SHUT_WR);
		sb_result r = sb_wire_client_open_fd(sv[0], &o, &c);
		if (r.code != sc->code)
			fail_msg("%s: got %s (%s)", sc->name, sb_error_name(r.code), sb_error_detail());
		assert_true((c != NULL) == (sc->code == SB_OK));
		sb_wire_client_free(c);
		close(sv[1]);
		sb_buf_cleanup(&b);
	}
	struct sb_wire_client *c = NULL;
	assert_int_equal(sb_wire_client_open_fd(-1, NULL, &c).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_wire_client_recv(NULL, 0, NULL).code, SB_ERR_NULL);
}

int main(void)
{
	/* Every bad client is logged as a warning; the tests check the frames instead. */
	sb_log_set_level(SB_LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_handshake_and_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_async_out_of_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_keeps_other_responses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_error_keeps_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_clients_closed_good_client_served, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_post_after_close_is_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recv_timeout_is_recoverable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_pipelines_large_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ping_runner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup_one_conn, teardown),
		cmocka_unit_test_setup_teardown(test_hello_deadline_and_idle_timeout,
						setup_short_deadlines, teardown),
		cmocka_unit_test_setup_teardown(test_idle_peer_not_reading_dropped,
						setup_short_deadlines, teardown),
		cmocka_unit_test_setup_teardown(test_server_config_errors, setup, teardown),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_client_checks_the_enclave),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
