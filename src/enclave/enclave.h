/*
 * sealbid-enclave internals: the process state, the per-connection state,
 * and the message handlers. Each handler lives in its own file
 * (handle_<message>.c) and is listed once in dispatch.c's table.
 */
#ifndef SB_ENCLAVE_H
#define SB_ENCLAVE_H

#include <stddef.h>
#include <stdint.h>

#include "wire/sb_server.h"

/* Process-wide state, owned by main. */
struct sb_enclave {
	uint64_t connections; /* opened since start */
};

/*
 * One parent connection (one job). Made by sb_enclave_conn_open, freed by
 * sb_enclave_conn_close; later issues add the credentials (secret, wiped
 * on close) and the job here.
 */
struct sb_enclave_conn {
	struct sb_enclave *enclave; /* borrowed */
	uint64_t conn_id;
};

SB_RESULT sb_enclave_conn_open(void *app, uint64_t conn_id, void **out_state);
void sb_enclave_conn_close(void *app, void *state);

/* The dispatch table: {type, states, handler}. */
extern const struct sb_server_dispatch sb_enclave_dispatch[];
extern const size_t sb_enclave_dispatch_len;

/* Ping -> Pong with the same payload. */
SB_RESULT sb_enclave_handle_ping(struct sb_server_request *req);

#endif
