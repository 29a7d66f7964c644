/*
 * The job messages: SetCredentials, BeginJob, Input, EndInputs. BeginJob
 * starts the job's own thread (job_run.c); Input and EndInputs are queued
 * for it, and it answers them: each Input once consumed, EndInputs with the
 * Result, or an Error naming party and row. Nothing sent to the parent ever
 * holds a plaintext bid or a key.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "enclave/enclave.h"

SB_RESULT sb_enclave_handle_set_credentials(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;

	sb_msg_creds_cleanup(&c->creds);
	sb_msg_creds_init(&c->creds);
	/* Malformed credentials are a protocol error: the connection closes. */
	SB_GUARD(sb_msg_creds_parse(req->payload, &c->creds));
	c->has_creds = true;
	if (req->state == SB_WIRE_STATE_READY)
		sb_server_set_state(req, SB_WIRE_STATE_CREDENTIALS);
	sb_log_info("credentials received (connection %llu)", (unsigned long long)c->conn_id);
	/* Mid-job (a NeedCredentials answered): the job's thread takes them. */
	if (c->run != NULL && (req->state == SB_WIRE_STATE_JOB || req->state == SB_WIRE_STATE_DONE)) {
		sb_result r = sb_enclave_run_credentials(c->run, &c->creds);
		if (!sb_ok(r))
			return sb_server_reply_error(req, r.code, sb_error_describe());
		if (req->state == SB_WIRE_STATE_DONE) { /* as after EndInputs: only the job keeps them */
			sb_msg_creds_cleanup(&c->creds);
			sb_msg_creds_init(&c->creds);
			c->has_creds = false;
		}
	}
	return sb_server_reply(req, SB_MSG_SET_CREDENTIALS, SB_SLICE(NULL, 0));
}

SB_RESULT sb_enclave_handle_begin_job(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	const struct sb_manifest *m;
	sb_result r;

	sb_enclave_run_release(c->run);
	c->run = NULL;
	r = sb_enclave_run_start(req, c, &c->run);
	if (!sb_ok(r)) /* the manifest's own fault: say why, keep the connection */
		return sb_server_reply_error(req, r.code, sb_error_describe());
	m = sb_enclave_run_manifest(c->run);
	sb_log_info("job %s: %zu parties", m->job_id, m->nparties);
	for (size_t i = 0; i < m->nparties; i++)
		if (m->parties[i].binding == SB_BINDING_NONE)
			sb_log_warn("job %s: party %s's inputs are not bound to the job", m->job_id,
				    m->parties[i].name);
	sb_server_set_state(req, SB_WIRE_STATE_JOB);
	return sb_server_reply(req, SB_MSG_BEGIN_JOB, SB_SLICE(m->hash, sizeof(m->hash)));
}

/* Queued for the job thread, which acknowledges it once consumed (job_run.c). */
SB_RESULT sb_enclave_handle_input(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	struct sb_msg_input in;
	sb_result r;

	SB_GUARD(sb_msg_input_parse(req->payload, &in));
	r = sb_enclave_run_input(c->run, req->id, &in);
	if (!sb_ok(r)) {
		/* The job cannot go on: drop it; a new BeginJob may start over. */
		sb_enclave_run_release(c->run);
		c->run = NULL;
		sb_server_set_state(req, SB_WIRE_STATE_CREDENTIALS);
		return sb_server_reply_error(req, r.code, sb_error_describe());
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_enclave_handle_end_inputs(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;

	SB_ENSURE_MSG(req->payload.len == 0, SB_ERR_BAD_FRAME, "EndInputs has no payload");
	SB_GUARD(sb_enclave_run_end(c->run, req->id));
	/* The credentials now live only in the job's thread. */
	sb_msg_creds_cleanup(&c->creds);
	sb_msg_creds_init(&c->creds);
	c->has_creds = false;
	sb_server_set_state(req, SB_WIRE_STATE_DONE);
	return SB_OK_RESULT;
}
