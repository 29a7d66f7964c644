/*
 * A job's own thread (from BeginJob to its Result): the loop thread queues
 * each Input as it arrives and the job thread consumes it — a sealed
 * dataset is decrypted and tallied right there — and only then acknowledges
 * it, so with the parent's window (SB_MSG_INPUT_WINDOW) neither side holds a
 * whole input. EndInputs queues the end; the thread finishes the job and
 * posts the Result, or an Error naming party and row.
 *
 * Ownership: the run is shared by the connection and the thread (two
 * references); whichever lets go last frees it. A closed connection cancels
 * the run: the thread stops at the next queue item.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "enclave/enclave.h"

struct job_item {
	struct job_item *next;
	uint32_t req_id;
	bool end;         /* EndInputs */
	bool last;
	uint32_t seq;
	char party[SB_MSG_PARTY_NAME_MAX + 1];
	struct sb_buf chunk;
};

struct sb_enclave_run {
	pthread_mutex_t lock;
	pthread_cond_t ready;
	struct job_item *head, *tail;
	size_t pending;   /* Inputs queued or being consumed, not yet acknowledged */
	unsigned refs;
	bool cancelled;
	struct sb_enclave *enclave;
	struct sb_server *server;
	uint64_t conn_id;
	struct sb_msg_creds creds; /* under lock: the latest from the parent */
	uint32_t creds_gen;        /* under lock: bumped by each SetCredentials */
	uint32_t cur_req;          /* the request the thread works on (for NeedCredentials) */
	struct sb_enclave_job_io io;
	struct sb_job_io jio;
	struct sb_job *job;
	sb_result failure; /* the first failure; later items are refused with it */
	char failure_text[256];
	uint64_t t_begin, t_key, t_end; /* monotonic ns: BeginJob, key pair ready, EndInputs */
};

static void item_free(struct job_item *it)
{
	if (it == NULL)
		return;
	sb_buf_cleanup(&it->chunk);
	free(it);
}

static void run_unref(struct sb_enclave_run *run)
{
	pthread_mutex_lock(&run->lock);
	bool last = --run->refs == 0;
	pthread_mutex_unlock(&run->lock);
	if (!last)
		return;
	while (run->head != NULL) {
		struct job_item *it = run->head;
		run->head = it->next;
		item_free(it);
	}
	sb_job_free(run->job);
	sb_enclave_job_io_cleanup(&run->io);
	sb_msg_creds_cleanup(&run->creds);
	pthread_cond_destroy(&run->ready);
	pthread_mutex_destroy(&run->lock);
	free(run);
}

/* The next item, or NULL when the connection has gone. */
static struct job_item *next_item(struct sb_enclave_run *run)
{
	struct job_item *it = NULL;

	pthread_mutex_lock(&run->lock);
	while (run->head == NULL && !run->cancelled)
		pthread_cond_wait(&run->ready, &run->lock);
	if (!run->cancelled) {
		it = run->head;
		run->head = it->next;
		if (run->head == NULL)
			run->tail = NULL;
	}
	pthread_mutex_unlock(&run->lock);
	return it;
}

static void fail(struct sb_enclave_run *run, sb_result r)
{
	if (!sb_ok(run->failure))
		return;
	run->failure = r;
	(void)snprintf(run->failure_text, sizeof(run->failure_text), "%s", sb_error_describe());
	sb_log_warn("job %s failed: %s", sb_job_manifest(run->job)->job_id, run->failure_text);
}

static void answer_error(struct sb_enclave_run *run, uint32_t req_id)
{
	if (!sb_ok(sb_server_post_error(run->server, run->conn_id, req_id, run->failure.code,
					run->failure_text)))
		sb_log_warn("job: could not post an error: %s", sb_error_describe());
}

static void consume_input(struct sb_enclave_run *run, struct job_item *it)
{
	if (sb_ok(run->failure)) {
		sb_result r = sb_job_input(run->job, sb_slice_str(it->party), it->seq, it->last,
					   sb_buf_slice(&it->chunk));
		if (!sb_ok(r))
			fail(run, r);
	}
	pthread_mutex_lock(&run->lock);
	run->pending--;
	pthread_mutex_unlock(&run->lock);
	if (!sb_ok(run->failure))
		answer_error(run, it->req_id);
	else if (!sb_ok(sb_server_post(run->server, run->conn_id, it->req_id, SB_MSG_INPUT,
				       SB_SLICE(NULL, 0))))
		sb_log_warn("job: could not acknowledge an input: %s", sb_error_describe());
}

static void finish(struct sb_enclave_run *run, uint32_t req_id)
{
	struct sb_buf output = SB_BUF_INIT(SB_MSG_RESULT_OUTPUT_MAX),
		      receipt = SB_BUF_INIT(1u << 20);
	sb_result r = run->failure;


	run->t_end = sb_time_mono_ns();
	if (sb_ok(r))
		r = sb_job_finish(run->job, &output, &receipt);
	if (sb_ok(r))
		r = sb_server_post_result(run->server, run->conn_id, req_id, sb_buf_slice(&output),
					  sb_buf_slice(&receipt));
	if (!sb_ok(r)) {
		fail(run, r);
		answer_error(run, req_id);
	} else {
		uint64_t now = sb_time_mono_ns();
		/* Where a job's time goes (docs/BENCHMARKS.md, "Latency"). */
		sb_log_info("job %s: done in %.1f ms (key pair ready after %.1f ms, inputs in after "
			    "%.1f ms, decrypt + compute + attest + post %.1f ms)",
			    sb_job_manifest(run->job)->job_id, (double)(now - run->t_begin) / 1e6,
			    (double)(run->t_key - run->t_begin) / 1e6,
			    (double)(run->t_end - run->t_begin) / 1e6, (double)(now - run->t_end) / 1e6);
	}
	sb_buf_cleanup(&output);
	sb_buf_cleanup(&receipt);
}

/* dst (initialised) = src. */
static SB_RESULT copy_creds(struct sb_msg_creds *dst, const struct sb_msg_creds *src)
{
	SB_GUARD(sb_buf_set(&dst->access_key_id, sb_buf_slice(&src->access_key_id)));
	SB_GUARD(sb_buf_set(&dst->secret_access_key, sb_buf_slice(&src->secret_access_key)));
	SB_GUARD(sb_buf_set(&dst->session_token, sb_buf_slice(&src->session_token)));
	dst->expiration_ms = src->expiration_ms;
	return SB_OK_RESULT;
}

/*
 * io->need_creds: NeedCredentials as a partial response to the request in
 * hand, then wait for the parent's SetCredentials (sb_enclave_run_credentials).
 */
static sb_result need_creds(void *ctx, struct sb_enclave_job_io *io)
{
	struct sb_enclave_run *run = ctx;
	struct sb_buf msg = SB_BUF_INIT(SB_MSG_NEED_CREDENTIALS_LEN);
	struct sb_msg_creds fresh;
	uint64_t deadline = sb_time_mono_ns() + SB_ENCLAVE_CREDS_WAIT_MS * 1000000ull;
	uint32_t gen;
	bool got;
	sb_result rc;

	sb_msg_creds_init(&fresh);
	pthread_mutex_lock(&run->lock);
	gen = run->creds_gen;
	pthread_mutex_unlock(&run->lock);
	SB_GUARD_GOTO(rc, sb_msg_need_creds_append(&msg, io->creds_exp_ms), out);
	SB_GUARD_GOTO(rc, sb_server_post(run->server, run->conn_id, run->cur_req,
					 SB_MSG_NEED_CREDENTIALS, sb_buf_slice(&msg)), out);
	sb_log_info("job %s: asked the parent for fresh AWS credentials",
		    sb_job_manifest(run->job)->job_id);
	pthread_mutex_lock(&run->lock);
	while (run->creds_gen == gen && !run->cancelled && sb_time_mono_ns() < deadline) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		(void)pthread_cond_timedwait(&run->ready, &run->lock, &until);
	}
	got = run->creds_gen != gen;
	rc = got ? copy_creds(&fresh, &run->creds) : SB_OK_RESULT;
	pthread_mutex_unlock(&run->lock);
	SB_GUARD_GOTO(rc, rc, out);
	if (!got)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_TIMEOUT, out, "the parent sent no credentials in %u s",
				 SB_ENCLAVE_CREDS_WAIT_MS / 1000);
	rc = sb_enclave_job_io_set_creds(io, &fresh);
out:
	sb_msg_creds_cleanup(&fresh);
	sb_buf_cleanup(&msg);
	return rc;
}

static void *job_thread(void *arg)
{
	struct sb_enclave_run *run = arg;
	struct sb_enclave *e = run->enclave;
	struct job_item *it;

	/* One key pair and attestation document, made while the inputs arrive. */
	struct sb_msg_creds first;
	sb_msg_creds_init(&first);
	pthread_mutex_lock(&run->lock); /* the loop thread may update run->creds */
	sb_result r = copy_creds(&first, &run->creds);
	pthread_mutex_unlock(&run->lock);
	if (sb_ok(r))
		r = sb_enclave_job_io_init(&run->io, e, &first, sb_job_manifest(run->job)->region);
	sb_msg_creds_cleanup(&first);
	run->io.need_creds = need_creds;
	run->io.need_ctx = run;
	run->t_key = sb_time_mono_ns();
	if (!sb_ok(r))
		fail(run, r);
	while ((it = next_item(run)) != NULL) {
		bool end = it->end;
		run->cur_req = it->req_id;
		if (end)
			finish(run, it->req_id);
		else
			consume_input(run, it);
		item_free(it);
		if (end)
			break;
	}
	run_unref(run);
	/* A large job's property index and output are gone: give the pages back. */
	(void)malloc_trim(0);
	pthread_mutex_lock(&e->jobs_lock);
	e->jobs_running--;
	pthread_cond_broadcast(&e->jobs_done);
	pthread_mutex_unlock(&e->jobs_lock);
	return NULL;
}

/* BeginJob's payload: the manifest, or a shard index and the manifest (sb_msg_job.h). */
static SB_RESULT new_job(struct sb_slice payload, const struct sb_job_io *io, struct sb_job **out)
{
	struct sb_msg_begin_job b;

	SB_GUARD(sb_msg_begin_job_parse(payload, &b));
	if (b.has_shard)
		return sb_job_new_shard(b.manifest, b.shard, io, out);
	return sb_job_new(b.manifest, io, out);
}

SB_RESULT sb_enclave_run_start(struct sb_server_request *req, struct sb_enclave_conn *c,
			       struct sb_enclave_run **out)
{
	struct sb_enclave_run *run = NULL;
	pthread_t thr;
	sb_result rc;

	SB_GUARD(sb_calloc(1, sizeof(*run), (void **)&run));
	pthread_mutex_init(&run->lock, NULL);
	pthread_cond_init(&run->ready, NULL);
	run->refs = 1;
	run->enclave = c->enclave;
	run->server = req->server;
	run->conn_id = req->conn_id;
	run->failure = SB_OK_RESULT;
	run->io.doc = SB_BUF_INIT(0);
	run->jio = sb_enclave_job_io(&run->io);
	sb_msg_creds_init(&run->creds);
	SB_GUARD_GOTO(rc, new_job(req->payload, &run->jio, &run->job), fail);
	/* The thread gets its own copy of the credentials. */
	SB_GUARD_GOTO(rc, copy_creds(&run->creds, &c->creds), fail);
	run->refs = 2;
	run->t_begin = sb_time_mono_ns();
	pthread_mutex_lock(&run->enclave->jobs_lock);
	run->enclave->jobs_running++;
	pthread_mutex_unlock(&run->enclave->jobs_lock);
	if (pthread_create(&thr, NULL, job_thread, run) != 0) {
		pthread_mutex_lock(&run->enclave->jobs_lock);
		run->enclave->jobs_running--;
		pthread_mutex_unlock(&run->enclave->jobs_lock);
		run->refs = 1;
		SB_FAIL_GOTO_MSG(rc, SB_ERR_INTERNAL, fail, "could not start the job");
	}
	pthread_detach(thr);
	*out = run;
	return SB_OK_RESULT;
fail:
	run_unref(run);
	return rc;
}

const struct sb_manifest *sb_enclave_run_manifest(const struct sb_enclave_run *run)
{
	return sb_job_manifest(run->job);
}

static void push(struct sb_enclave_run *run, struct job_item *it)
{
	if (run->tail != NULL)
		run->tail->next = it;
	else
		run->head = it;
	run->tail = it;
	pthread_cond_signal(&run->ready);
}

SB_RESULT sb_enclave_run_input(struct sb_enclave_run *run, uint32_t req_id,
			       const struct sb_msg_input *in)
{
	struct job_item *it = NULL;
	sb_result rc;

	SB_GUARD(sb_calloc(1, sizeof(*it), (void **)&it));
	it->req_id = req_id;
	it->seq = in->seq;
	it->last = in->last;
	(void)snprintf(it->party, sizeof(it->party), "%.*s", (int)in->party.len,
		       (const char *)in->party.ptr);
	it->chunk = SB_BUF_INIT(SB_MSG_INPUT_CHUNK_MAX);
	SB_GUARD_GOTO(rc, sb_buf_set(&it->chunk, in->chunk), fail);
	pthread_mutex_lock(&run->lock);
	bool over = run->pending >= SB_MSG_INPUT_WINDOW;
	if (!over) {
		run->pending++;
		push(run, it);
	}
	pthread_mutex_unlock(&run->lock);
	if (over)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_JOB_INPUT, fail,
				 "more than %u inputs unacknowledged (the parent ignored flow control)",
				 SB_MSG_INPUT_WINDOW);
	return SB_OK_RESULT;
fail:
	item_free(it);
	return rc;
}

SB_RESULT sb_enclave_run_credentials(struct sb_enclave_run *run, const struct sb_msg_creds *creds)
{
	sb_result rc;

	SB_ENSURE(run != NULL && creds != NULL, SB_ERR_NULL);
	pthread_mutex_lock(&run->lock);
	rc = copy_creds(&run->creds, creds);
	if (sb_ok(rc)) {
		run->creds_gen++;
		pthread_cond_broadcast(&run->ready);
	}
	pthread_mutex_unlock(&run->lock);
	return rc;
}

SB_RESULT sb_enclave_run_end(struct sb_enclave_run *run, uint32_t req_id)
{
	struct job_item *it = NULL;

	SB_GUARD(sb_calloc(1, sizeof(*it), (void **)&it));
	it->req_id = req_id;
	it->end = true;
	pthread_mutex_lock(&run->lock);
	push(run, it);
	pthread_mutex_unlock(&run->lock);
	return SB_OK_RESULT;
}

void sb_enclave_run_release(struct sb_enclave_run *run)
{
	if (run == NULL)
		return;
	pthread_mutex_lock(&run->lock);
	if (run->refs > 1) /* the thread is still running: stop it */
		run->cancelled = true;
	pthread_cond_signal(&run->ready);
	pthread_mutex_unlock(&run->lock);
	run_unref(run);
}
