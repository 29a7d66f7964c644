/*
 * The enclave's one dispatch table. Hello and Error are handled by the
 * server itself; every other request the enclave accepts is listed here
 * with the states it is allowed in (sb_msg.c holds the protocol's rule for
 * each type; the masks here follow it).
 */
#include "enclave/enclave.h"

#include <stdlib.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"

const struct sb_server_dispatch sb_enclave_dispatch[] = {
	{SB_MSG_PING, SB_WIRE_STATES_AFTER_HELLO, sb_enclave_handle_ping},
	{SB_MSG_ATTEST, SB_WIRE_STATES_AFTER_HELLO, sb_enclave_handle_attest},
	{SB_MSG_SET_CREDENTIALS, SB_MSG_SET_CREDENTIALS_STATES, sb_enclave_handle_set_credentials},
	{SB_MSG_BEGIN_JOB, SB_WIRE_STATE_CREDENTIALS, sb_enclave_handle_begin_job},
	{SB_MSG_INPUT, SB_WIRE_STATE_JOB, sb_enclave_handle_input},
	{SB_MSG_END_INPUTS, SB_WIRE_STATE_JOB, sb_enclave_handle_end_inputs},
};
const size_t sb_enclave_dispatch_len = sizeof(sb_enclave_dispatch) / sizeof(sb_enclave_dispatch[0]);

SB_RESULT sb_enclave_conn_open(void *app, uint64_t conn_id, void **out_state)
{
	struct sb_enclave *e = app;
	struct sb_enclave_conn *c;
	void *mem;

	SB_ENSURE_REF(e);
	SB_ENSURE_REF(out_state);
	SB_GUARD(sb_calloc(1, sizeof(*c), &mem));
	c = mem;
	c->enclave = e;
	c->conn_id = conn_id;
	sb_msg_creds_init(&c->creds);
	e->connections++;
	sb_log_info("parent connected (connection %llu)", (unsigned long long)conn_id);
	*out_state = c;
	return SB_OK_RESULT;
}

void sb_enclave_conn_close(void *app, void *state)
{
	struct sb_enclave_conn *c = state;

	(void)app;
	if (c == NULL)
		return;
	sb_log_info("parent disconnected (connection %llu)", (unsigned long long)c->conn_id);
	sb_msg_creds_cleanup(&c->creds);
	sb_enclave_run_release(c->run);
	free(c);
}
