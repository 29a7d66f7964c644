/*
 * Messages of the parent<->enclave channel (docs/PROTOCOL.md §4-§6): type
 * numbers, the connection states each request is accepted in, and the
 * payload encodings of Hello, Ping/Pong and Error. The bodies of the job
 * messages (SetCredentials, BeginJob, Input, EndInputs, Result) belong to
 * their handlers; here they have only their numbers and state rules.
 *
 * Type numbers are assigned once and never renumbered or reused.
 */
#ifndef SB_MSG_H
#define SB_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"

enum sb_msg_type {
	SB_MSG_HELLO = 1,           /* both ways: handshake */
	SB_MSG_PING = 2,            /* parent -> enclave, payload echoed */
	SB_MSG_PONG = 3,            /* enclave -> parent, answers Ping */
	SB_MSG_ERROR = 4,           /* either way: code + short message */
	SB_MSG_SET_CREDENTIALS = 5, /* parent -> enclave: AWS credentials */
	SB_MSG_BEGIN_JOB = 6,       /* parent -> enclave: the job manifest */
	SB_MSG_INPUT = 7,           /* parent -> enclave: (party, chunk) */
	SB_MSG_END_INPUTS = 8,      /* parent -> enclave: no more inputs */
	SB_MSG_RESULT = 9,          /* enclave -> parent: result + receipt */
	SB_MSG_ATTEST = 10,         /* parent -> enclave: nonce; reply: a fresh attestation document */
	SB_MSG_RESULT_PART = 11,    /* enclave -> parent: a piece of output.csv; the Result follows */
	SB_MSG_NEED_CREDENTIALS = 12, /* enclave -> parent, partial: send fresh credentials */
	/* 13..0x7fff: future protocol messages; 0x8000..0xffff: experiments. */
};

/* The protocol version this code speaks (negotiated by Hello). */
#define SB_WIRE_PROTOCOL_VERSION 1u

/* Connection states, one bit each so a dispatch entry can allow several. */
enum sb_wire_state {
	SB_WIRE_STATE_HELLO = 1u << 0,       /* connected; only Hello is accepted */
	SB_WIRE_STATE_READY = 1u << 1,       /* handshake done */
	SB_WIRE_STATE_CREDENTIALS = 1u << 2, /* credentials received */
	SB_WIRE_STATE_JOB = 1u << 3,         /* BeginJob accepted: inputs stream in */
	SB_WIRE_STATE_DONE = 1u << 4,        /* EndInputs received: result pending or sent */
};
#define SB_WIRE_STATES_AFTER_HELLO                                                                 \
	(SB_WIRE_STATE_READY | SB_WIRE_STATE_CREDENTIALS | SB_WIRE_STATE_JOB | SB_WIRE_STATE_DONE)

/* Where SetCredentials is accepted: before the job, and while it runs. */
#define SB_MSG_SET_CREDENTIALS_STATES                                                              \
	(SB_WIRE_STATE_READY | SB_WIRE_STATE_CREDENTIALS | SB_WIRE_STATE_JOB | SB_WIRE_STATE_DONE)

/* Who sends a message as a request (responses go the other way). */
enum sb_msg_dir {
	SB_MSG_DIR_PARENT = 1,  /* a request from the parent */
	SB_MSG_DIR_ENCLAVE = 2, /* only ever a response from the enclave */
	SB_MSG_DIR_BOTH = 3,
};

struct sb_msg_info {
	uint16_t type;
	const char *name;
	uint32_t states;     /* where the enclave accepts it as a request */
	enum sb_msg_dir dir;
};

/* The spec row for type, or NULL when the type is unknown. Borrowed, static. */
const struct sb_msg_info *sb_msg_info(uint16_t type);
/* "Ping", or "unknown" for an unknown type. */
/*
 * Whether a response of this type is partial: more responses to the same
 * request follow it (ResultPart before the Result). The request stays in
 * flight until a final response. Partial: ResultPart and NeedCredentials.
 */
bool sb_msg_is_partial(uint16_t type);
const char *sb_msg_name(uint16_t type);

/* ---- Hello: role u8, count u8 (1..16), count x u16 versions, ascending. ---- */
enum sb_wire_role {
	SB_WIRE_ROLE_PARENT = 1,
	SB_WIRE_ROLE_ENCLAVE = 2,
};
#define SB_MSG_HELLO_MAX_VERSIONS 16u

struct sb_msg_hello {
	uint8_t role;
	uint8_t count;
	uint16_t versions[SB_MSG_HELLO_MAX_VERSIONS];
};

/* Builds a Hello from a list; fails on an empty, too long or unsorted list. */
SB_RESULT sb_msg_hello_init(struct sb_msg_hello *h, enum sb_wire_role role,
			    const uint16_t *versions, size_t count);
SB_RESULT sb_msg_hello_append(struct sb_buf *out, const struct sb_msg_hello *h);
/*
 * Strict: known role, 1..16 versions, each >= 1 and strictly ascending (so
 * no duplicates), no trailing bytes.
 */
SB_RESULT sb_msg_hello_parse(struct sb_slice in, struct sb_msg_hello *out);
/*
 * The handshake's choice: the highest version in both lists
 * (SB_ERR_WIRE_NO_VERSION when none).
 */
SB_RESULT sb_msg_hello_choose(const struct sb_msg_hello *a, const struct sb_msg_hello *b,
			      uint16_t *out_version);

/* ---- Error: code u32, length u16 (<= 200), message (printable ASCII). ---- */
#define SB_MSG_ERROR_MAX_TEXT 200u

struct sb_msg_error {
	uint32_t code;
	char message[SB_MSG_ERROR_MAX_TEXT + 1]; /* NUL-terminated */
};

/*
 * Appends an Error payload. message may be NULL; it is cut to
 * SB_MSG_ERROR_MAX_TEXT bytes and non-printable bytes become '?', so any
 * error description can be sent (descriptions never hold secrets).
 */
SB_RESULT sb_msg_error_append(struct sb_buf *out, uint32_t code, const char *message);
/* Strict: length within bounds, printable ASCII only, no trailing bytes. */
SB_RESULT sb_msg_error_parse(struct sb_slice in, struct sb_msg_error *out);

/* ---- Ping / Pong: opaque bytes, echoed. ---- */
#define SB_MSG_PING_MAX_PAYLOAD (64u * 1024u)
/* SB_ERR_WIRE_OVERSIZE past SB_MSG_PING_MAX_PAYLOAD. */
SB_RESULT sb_msg_ping_check(struct sb_slice payload);

#endif
