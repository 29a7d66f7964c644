/*
 * The job messages: SetCredentials, BeginJob, Input, EndInputs. The first
 * three answer at once on the loop thread; EndInputs hands the job to a
 * thread of its own (KMS calls, RSA, the auction, the receipt) that posts
 * the Result, or an Error naming party and row, when it is done. Nothing
 * sent to the parent ever holds a plaintext bid or a key.
 */
#include <pthread.h>
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
	return sb_server_reply(req, SB_MSG_SET_CREDENTIALS, SB_SLICE(NULL, 0));
}

SB_RESULT sb_enclave_handle_begin_job(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	const struct sb_manifest *m;
	sb_result r;

	sb_job_free(c->job);
	c->job = NULL;
	r = sb_job_new(req->payload, &c->job);
	if (!sb_ok(r)) /* the manifest's own fault: say why, keep the connection */
		return sb_server_reply_error(req, r.code, sb_error_describe());
	m = sb_job_manifest(c->job);
	sb_log_info("job %s: %zu parties", m->job_id, m->nparties);
	sb_server_set_state(req, SB_WIRE_STATE_JOB);
	return sb_server_reply(req, SB_MSG_BEGIN_JOB, SB_SLICE(m->hash, sizeof(m->hash)));
}

SB_RESULT sb_enclave_handle_input(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	struct sb_msg_input in;
	sb_result r;

	SB_GUARD(sb_msg_input_parse(req->payload, &in));
	r = sb_job_input(c->job, in.party, in.seq, in.last, in.chunk);
	if (!sb_ok(r)) {
		/* The job cannot go on: drop it; a new BeginJob may start over. */
		sb_job_free(c->job);
		c->job = NULL;
		sb_server_set_state(req, SB_WIRE_STATE_CREDENTIALS);
		return sb_server_reply_error(req, r.code, sb_error_describe());
	}
	return sb_server_reply(req, SB_MSG_INPUT, SB_SLICE(NULL, 0));
}

struct job_run {
	struct sb_enclave *enclave;
	struct sb_server *server;
	uint64_t conn_id;
	uint32_t req_id;
	struct sb_job *job;
	struct sb_msg_creds creds;
};

static void job_run_free(struct job_run *run)
{
	sb_job_free(run->job);
	sb_msg_creds_cleanup(&run->creds);
	free(run);
}

static sb_result run_job(struct job_run *run, struct sb_buf *result)
{
	struct sb_enclave_job_io io;
	struct sb_buf output = SB_BUF_INIT(1u << 30), receipt = SB_BUF_INIT(1u << 20);
	sb_result rc;

	SB_GUARD(sb_enclave_job_io_init(&io, run->enclave, &run->creds,
					sb_job_manifest(run->job)->region));
	struct sb_job_io jio = sb_enclave_job_io(&io);
	SB_GUARD_GOTO(rc, sb_job_finish(run->job, &jio, &output, &receipt), out);
	rc = sb_msg_result_append(result, sb_buf_slice(&output), sb_buf_slice(&receipt));
out:
	sb_enclave_job_io_cleanup(&io);
	sb_buf_cleanup(&output);
	sb_buf_cleanup(&receipt);
	return rc;
}

static void *job_thread(void *arg)
{
	struct job_run *run = arg;
	struct sb_buf result = SB_BUF_INIT(1u << 31);
	const char *job_id = sb_job_manifest(run->job)->job_id;
	sb_result r = run_job(run, &result);

	if (sb_ok(r)) {
		sb_log_info("job %s: done", job_id);
		r = sb_server_post(run->server, run->conn_id, run->req_id, SB_MSG_RESULT,
				   sb_buf_slice(&result));
	} else {
		sb_log_warn("job %s failed: %s", job_id, sb_error_describe());
		r = sb_server_post_error(run->server, run->conn_id, run->req_id, r.code,
					 sb_error_describe());
	}
	if (!sb_ok(r))
		sb_log_warn("job %s: could not post the answer: %s", job_id, sb_error_describe());
	sb_buf_cleanup(&result);
	struct sb_enclave *e = run->enclave;
	job_run_free(run);
	pthread_mutex_lock(&e->jobs_lock);
	e->jobs_running--;
	pthread_cond_broadcast(&e->jobs_done);
	pthread_mutex_unlock(&e->jobs_lock);
	return NULL;
}

SB_RESULT sb_enclave_handle_end_inputs(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	struct job_run *run = NULL;
	pthread_t thr;

	SB_ENSURE_MSG(req->payload.len == 0, SB_ERR_BAD_FRAME, "EndInputs has no payload");
	SB_GUARD(sb_calloc(1, sizeof(*run), (void **)&run));
	run->enclave = c->enclave;
	run->server = req->server;
	run->conn_id = req->conn_id;
	run->req_id = req->id;
	run->job = c->job; /* the thread owns the job from here */
	c->job = NULL;
	/* The thread gets its own copy of the credentials: the connection may close first. */
	sb_msg_creds_init(&run->creds);
	sb_buf_move(&run->creds.access_key_id, &c->creds.access_key_id);
	sb_buf_move(&run->creds.secret_access_key, &c->creds.secret_access_key);
	sb_buf_move(&run->creds.session_token, &c->creds.session_token);
	run->creds.expiration_ms = c->creds.expiration_ms;
	c->has_creds = false;
	sb_server_set_state(req, SB_WIRE_STATE_DONE);
	pthread_mutex_lock(&run->enclave->jobs_lock);
	run->enclave->jobs_running++;
	pthread_mutex_unlock(&run->enclave->jobs_lock);
	if (pthread_create(&thr, NULL, job_thread, run) != 0) {
		pthread_mutex_lock(&c->enclave->jobs_lock);
		c->enclave->jobs_running--;
		pthread_mutex_unlock(&c->enclave->jobs_lock);
		job_run_free(run);
		return sb_server_reply_error(req, SB_ERR_INTERNAL, "could not start the job");
	}
	pthread_detach(thr);
	return SB_OK_RESULT;
}
