/*
 * The parent side of the channel: connect, Hello handshake, then requests
 * with ids whose responses may arrive in any order, several in flight.
 *
 * The API blocks with timeouts (poll on the socket; no sleeps). While a
 * send waits for room it keeps reading, so a peer that answers while the
 * parent is still writing never deadlocks the pair. Responses that arrive
 * for other requests while one is awaited are kept for later.
 *
 * A client is used from one thread at a time. After a transport or
 * protocol failure (timeout mid-frame, EOF, a connection-level Error from
 * the enclave) the client is broken and every later call fails.
 */
#ifndef SB_CLIENT_H
#define SB_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "wire/sb_msg.h"

struct sb_wire_client;

struct sb_wire_client_opts {
	int timeout_ms;           /* handshake and each call; 0 = 10000 */
	const uint16_t *versions; /* ascending; NULL = {SB_WIRE_PROTOCOL_VERSION} */
	size_t versions_len;
	size_t max_payload;       /* largest response accepted; 0 = SB_FRAME_MAX_PAYLOAD */
};

/* A response taken off the connection; payload is owned (cleanup frees it). */
struct sb_wire_response {
	uint32_t id;
	uint16_t type;
	struct sb_buf payload;
};
void sb_wire_response_init(struct sb_wire_response *r);
void sb_wire_response_cleanup(struct sb_wire_response *r);
/*
 * OK unless r is an Error response; then fails with SB_ERR_WIRE_REMOTE,
 * detail "<error name>: <message>" (SB_ERR_BAD_FRAME if it is malformed).
 */
SB_RESULT sb_wire_response_check(const struct sb_wire_response *r);

/*
 * Connects with sb_vsock_connect and runs the handshake. opts may be NULL.
 * Caller frees the client with sb_wire_client_free.
 */
SB_RESULT sb_wire_client_connect(uint32_t cid, uint32_t port,
				 const struct sb_wire_client_opts *opts,
				 struct sb_wire_client **out);
/* The same over an already connected stream socket; takes fd (also on error). */
SB_RESULT sb_wire_client_open_fd(int fd, const struct sb_wire_client_opts *opts,
				 struct sb_wire_client **out);
/* Closes the connection. NULL-safe. */
void sb_wire_client_free(struct sb_wire_client *c);

/* The version the handshake chose. */
uint16_t sb_wire_client_version(const struct sb_wire_client *c);
/* Requests sent whose responses have not been taken yet. */
size_t sb_wire_client_in_flight(const struct sb_wire_client *c);

/*
 * Queues a request (no I/O) and gives it a fresh id (at most 4096 in
 * flight, SB_ERR_WIRE_BUSY beyond). Borrows payload (copied).
 */
SB_RESULT sb_wire_client_queue(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			       uint32_t *out_id);
/* Writes every queued request, reading responses meanwhile. */
SB_RESULT sb_wire_client_flush(struct sb_wire_client *c);
/* queue + flush. */
SB_RESULT sb_wire_client_send(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			      uint32_t *out_id);

/*
 * The next response to any request, in arrival order; an Error response
 * to one request is returned like any other (type SB_MSG_ERROR). Waits at
 * most timeout_ms (< 0: the client's timeout). out is reset first.
 */
SB_RESULT sb_wire_client_recv(struct sb_wire_client *c, int timeout_ms,
			      struct sb_wire_response *out);
/* The response to request id, keeping others for later recv calls. */
SB_RESULT sb_wire_client_wait(struct sb_wire_client *c, uint32_t id, int timeout_ms,
			      struct sb_wire_response *out);

/*
 * One request and its response: send, wait, expect type expect_type, and
 * append the payload to out (which may be NULL to drop it; a secret buffer
 * stays secret). An Error response fails with SB_ERR_WIRE_REMOTE, detail
 * "<error name>: <message>".
 */
SB_RESULT sb_wire_client_call(struct sb_wire_client *c, uint16_t type, struct sb_slice payload,
			      uint16_t expect_type, struct sb_buf *out);

#endif
