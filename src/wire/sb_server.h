/*
 * The enclave side of the channel: an epoll event loop serving many
 * connections (accept, read, decode, dispatch, write queue with
 * backpressure), in the manner of OpenBSD's imsg daemons.
 *
 * The application gives a dispatch table {type, allowed states, handler}.
 * The server itself runs the Hello handshake (only Hello is accepted before
 * it) and answers every protocol violation - bad magic or version, unknown
 * flags, oversize length, a header or payload cut short by EOF, an unknown
 * type, a type this side does not accept, a message outside its states, a
 * handler failure, a request with id 0 - with an Error frame, then closes
 * that connection. The loop keeps serving the others. Slots are not held
 * forever: Hello must come within a deadline and a connection with no job
 * running is closed when idle (sb_server_timer.c); a connection beyond
 * max_conns gets an Error "enclave busy" (SB_ERR_WIRE_BUSY) and is closed.
 *
 * Threads: everything runs on the thread in sb_server_run, except
 * sb_server_post*, and sb_server_stop, which any thread may call. A handler
 * that answers later keeps (server, conn_id, request id) and posts the
 * response from any thread; posts to a connection that has closed since are
 * dropped (connection ids are never reused).
 */
#ifndef SB_SERVER_H
#define SB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "wire/sb_msg.h"

struct sb_server;

/* One request being handled; valid only during the handler call. */
struct sb_server_request {
	struct sb_server *server;
	uint64_t conn_id;        /* stable handle for sb_server_post */
	uint32_t id;             /* the request id, echoed by the response */
	uint16_t type;
	struct sb_slice payload; /* borrowed: copy what must outlive the call */
	void *conn_state;        /* the application's per-connection state */
	uint32_t state;          /* the connection's sb_wire_state */
	uint16_t version;        /* the negotiated protocol version */
};

/*
 * A handler either answers now (sb_server_reply), answers later
 * (sb_server_post from any thread), or fails: a failure is a protocol
 * error, so the peer gets an Error frame with the recorded code and
 * description and the connection is closed. Failures of the request itself
 * that leave the connection usable are answered with sb_server_reply_error
 * or sb_server_post_error instead.
 */
typedef sb_result (*sb_server_handler_fn)(struct sb_server_request *req);

struct sb_server_dispatch {
	uint16_t type;
	uint32_t states; /* mask of sb_wire_state in which the request is accepted */
	sb_server_handler_fn handler;
};

struct sb_server_config {
	const struct sb_server_dispatch *dispatch; /* borrowed, must outlive the server */
	size_t dispatch_len;
	void *app; /* passed to the callbacks below */
	/* Optional: makes the per-connection state (out may stay NULL). */
	sb_result (*conn_open)(void *app, uint64_t conn_id, void **out_state);
	/* Optional: destructor for that state, called once when the connection closes. */
	void (*conn_close)(void *app, void *state);
	const uint16_t *versions; /* ascending; NULL = {SB_WIRE_PROTOCOL_VERSION} */
	size_t versions_len;
	size_t max_conns;   /* 0 = 64; at most 4096 */
	size_t max_payload; /* 0 = SB_FRAME_MAX_PAYLOAD */
	/* A connection that has not completed Hello this long after accept is
	 * sent an Error (SB_ERR_TIMEOUT) and closed: 0 = SB_SERVER_DEFAULT_HELLO_MS. */
	uint32_t hello_timeout_ms;
	/* After Hello, a connection with no job running (state READY or
	 * CREDENTIALS) that sends nothing and is sent nothing this long is
	 * closed the same way: 0 = SB_SERVER_DEFAULT_IDLE_MS. */
	uint32_t idle_timeout_ms;
};

#define SB_SERVER_DEFAULT_HELLO_MS 5000u
#define SB_SERVER_DEFAULT_IDLE_MS  300000u

/* Statistics, read when the loop is not running (tests, shutdown logs). */
struct sb_server_stats {
	uint64_t accepted;
	uint64_t closed;
	uint64_t frames_in;
	uint64_t frames_out;
	uint64_t protocol_errors;
	uint64_t posts_dropped; /* posts for connections that had closed */
};

/*
 * Takes listen_fd (closed by sb_server_free); borrows cfg's tables.
 * Caller frees the server with sb_server_free.
 */
SB_RESULT sb_server_new(int listen_fd, const struct sb_server_config *cfg,
			struct sb_server **out);
/* Closes every connection (calling conn_close) and frees. NULL-safe. */
void sb_server_free(struct sb_server *s);

/* Serves until sb_server_stop. */
SB_RESULT sb_server_run(struct sb_server *s);
/* Makes sb_server_run return soon. Any thread; async-signal-safe. */
void sb_server_stop(struct sb_server *s);

/*
 * Watches an extra fd (e.g. a signalfd) in the loop: cb runs on the loop
 * thread when it is readable. Borrows fd. Call before sb_server_run.
 */
typedef void (*sb_server_watch_fn)(struct sb_server *s, int fd, void *arg);
SB_RESULT sb_server_watch(struct sb_server *s, int fd, sb_server_watch_fn cb, void *arg);

/* Loop thread, inside a handler: queue the response to req. Copies payload. */
SB_RESULT sb_server_reply(struct sb_server_request *req, uint16_t type, struct sb_slice payload);
SB_RESULT sb_server_reply_error(struct sb_server_request *req, int code, const char *message);
/* Loop thread, inside a handler: the connection's next state. */
void sb_server_set_state(struct sb_server_request *req, uint32_t state);

/*
 * Any thread: queue a response (flags: response) for request req_id on
 * connection conn_id and wake the loop. Copies payload. A connection that
 * has closed meanwhile just drops it.
 */
SB_RESULT sb_server_post(struct sb_server *s, uint64_t conn_id, uint32_t req_id, uint16_t type,
			 struct sb_slice payload);
SB_RESULT sb_server_post_error(struct sb_server *s, uint64_t conn_id, uint32_t req_id, int code,
			       const char *message);

/*
 * Any thread: a job's Result for request req_id: ResultPart responses for
 * all but the last SB_MSG_RESULT_PART_MAX bytes of output, then the Result
 * (sb_server_result.c). Copies both.
 */
SB_RESULT sb_server_post_result(struct sb_server *s, uint64_t conn_id, uint32_t req_id,
				struct sb_slice output, struct sb_slice receipt);

void sb_server_get_stats(const struct sb_server *s, struct sb_server_stats *out);

#endif
