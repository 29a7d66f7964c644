#include "host/sb_runner.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/sb_time.h"
#include "wire/sb_client.h"

/* Connects, retrying with exponential backoff until connect_ms has passed. */
static SB_RESULT connect_with_backoff(const struct sb_runner_opts *o, int timeout_ms,
				      struct sb_wire_client **out)
{
	uint64_t deadline = sb_time_mono_ns() + (uint64_t)o->connect_ms * 1000000u;
	const struct sb_wire_client_opts copts = {.timeout_ms = timeout_ms};
	int backoff_ms = 10;

	for (;;) {
		sb_result r = sb_wire_client_connect(o->cid, o->port, &copts, out);
		if (sb_ok(r) || r.code != SB_ERR_SOCKET || sb_time_mono_ns() >= deadline)
			return r;
		/* The enclave may still be booting: back off, then retry. */
		(void)poll(NULL, 0, backoff_ms);
		backoff_ms = backoff_ms < 500 ? backoff_ms * 2 : 500;
	}
}

__attribute__((format(printf, 2, 3))) static void progress(const struct sb_runner_opts *o,
							     const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (o->progress == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->progress(o->progress_ctx, line);
}

SB_RESULT sb_runner_check_creds(const struct sb_runner_opts *o, const struct sb_msg_creds *creds,
				uint64_t now_ms)
{
	uint64_t need;

	SB_ENSURE(o != NULL && creds != NULL, SB_ERR_NULL);
	if (creds->expiration_ms == 0 || o->refresh != NULL)
		return SB_OK_RESULT;
	need = now_ms + (uint64_t)o->job_ms + SB_RUNNER_CREDS_MARGIN_MS;
	if (creds->expiration_ms >= need)
		return SB_OK_RESULT;
	SB_BAIL_MSG(SB_ERR_AWS_CREDENTIALS_EXPIRE,
		    "the AWS credentials expire in %lld s, before the job's timeout (%u s) plus %u s, "
		    "and cannot be refreshed: use refreshable credentials (instance role, "
		    "role_arn profile) or a shorter --timeout-ms",
		    creds->expiration_ms > now_ms ? (long long)((creds->expiration_ms - now_ms) / 1000)
						   : -(long long)((now_ms - creds->expiration_ms) / 1000),
		    o->job_ms / 1000, SB_RUNNER_CREDS_MARGIN_MS / 1000);
}

/*
 * The enclave asked for fresh credentials (NeedCredentials): send them as a
 * SetCredentials request and take its reply (other responses are kept).
 */
static SB_RESULT answer_need_creds(struct sb_wire_client *c, const struct sb_runner_opts *o,
				   const struct sb_wire_response *need)
{
	struct sb_buf msg = SB_BUF_INIT_SECRET(4 * SB_MSG_CRED_FIELD_MAX + 64);
	struct sb_msg_creds fresh;
	struct sb_wire_response resp;
	uint64_t exp, now = sb_time_now_ms();
	uint32_t id;
	sb_result rc;

	SB_GUARD(sb_msg_need_creds_parse(sb_buf_slice(&need->payload), &exp));
	SB_ENSURE_MSG(o->refresh != NULL, SB_ERR_AWS_CREDENTIALS_EXPIRE,
		      "the enclave needs fresh AWS credentials (the current ones expire in %lld s) "
		      "and this parent cannot refresh them",
		      exp > now ? (long long)((exp - now) / 1000) : 0);
	sb_msg_creds_init(&fresh);
	sb_wire_response_init(&resp);
	SB_GUARD_GOTO(rc, o->refresh(o->refresh_ctx, &fresh), out);
	SB_GUARD_GOTO(rc, sb_msg_creds_append(&msg, &fresh), out);
	SB_GUARD_GOTO(rc, sb_wire_client_send(c, SB_MSG_SET_CREDENTIALS, sb_buf_slice(&msg), &id),
		      out);
	SB_GUARD_GOTO(rc, sb_wire_client_wait(c, id, o->job_ms > 0 ? (int)o->job_ms : -1, &resp),
		      out);
	SB_GUARD_GOTO(rc, sb_wire_response_check(&resp), out);
	if (resp.type != SB_MSG_SET_CREDENTIALS)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_FRAME, out, "expected a SetCredentials reply");
	progress(o, "sent fresh AWS credentials to the enclave (expiring in %lld s)",
		 fresh.expiration_ms > now ? (long long)((fresh.expiration_ms - now) / 1000) : -1);
out:
	if (!sb_ok(rc))
		sb_error_context("refreshing the enclave's credentials");
	sb_wire_response_cleanup(&resp);
	sb_msg_creds_cleanup(&fresh);
	sb_buf_cleanup(&msg);
	return rc;
}

/* Sending side of one job's inputs: the window and the chunk buffers. */
struct input_stream {
	struct sb_wire_client *c;
	const struct sb_runner_opts *o;
	int ack_ms;     /* an ack comes once the enclave consumed the chunk (KMS calls) */
	size_t unacked; /* Input frames sent and not yet acknowledged */
	struct sb_buf msg, cur, next;
};

/*
 * Takes one acknowledgement (or the Error that drops the job), answering
 * the enclave's requests for credentials on the way.
 */
static SB_RESULT take_ack(struct input_stream *s)
{
	struct sb_wire_response resp;
	sb_result rc;

	sb_wire_response_init(&resp);
	for (;;) {
		SB_GUARD_GOTO(rc, sb_wire_client_recv(s->c, s->ack_ms, &resp), out);
		SB_GUARD_GOTO(rc, sb_wire_response_check(&resp), out);
		if (resp.type != SB_MSG_NEED_CREDENTIALS)
			break;
		SB_GUARD_GOTO(rc, answer_need_creds(s->c, s->o, &resp), out);
	}
	if (resp.type != SB_MSG_INPUT)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_FRAME, out, "expected an Input acknowledgement");
	s->unacked--;
out:
	sb_wire_response_cleanup(&resp);
	return rc;
}

/* Reads up to one chunk into b (reset first). */
static SB_RESULT read_chunk(const struct sb_runner_input *in, struct sb_buf *b)
{
	size_t n = 0;

	sb_buf_reset(b);
	SB_GUARD(sb_buf_reserve(b, SB_RUNNER_CHUNK));
	SB_GUARD(in->read(in->ctx, sb_buf_tail(b), SB_RUNNER_CHUNK, &n));
	SB_ENSURE_MSG(n <= SB_RUNNER_CHUNK, SB_ERR_INTERNAL, "reader overran its buffer");
	return sb_buf_commit(b, n);
}

/*
 * One party: reads a chunk ahead so the last one carries the LAST flag
 * (an empty input is one empty, last chunk), and waits for an ack before
 * exceeding the window.
 */
static SB_RESULT send_party(struct input_stream *s, const struct sb_runner_input *in,
			    uint64_t *total)
{
	uint32_t seq = 0, id;
	bool last;

	SB_ENSURE_MSG(in->read != NULL, SB_ERR_NULL, "input of %s has no reader", in->party);
	SB_GUARD(read_chunk(in, &s->cur));
	do {
		last = s->cur.len < SB_RUNNER_CHUNK;
		if (!last) {
			SB_GUARD(read_chunk(in, &s->next));
			last = s->next.len == 0;
		}
		while (s->unacked >= SB_MSG_INPUT_WINDOW)
			SB_GUARD(take_ack(s));
		sb_buf_reset(&s->msg);
		SB_GUARD(sb_msg_input_append(&s->msg, in->party, seq++, last, sb_buf_slice(&s->cur)));
		SB_GUARD(sb_wire_client_send(s->c, SB_MSG_INPUT, sb_buf_slice(&s->msg), &id));
		s->unacked++;
		*total += s->cur.len;
		struct sb_buf t = s->cur;
		s->cur = s->next;
		s->next = t;
	} while (!last);
	return SB_OK_RESULT;
}

static SB_RESULT send_inputs(struct sb_wire_client *c, const struct sb_runner_opts *o,
			     const struct sb_runner_input *in, size_t n)
{
	struct input_stream s = {.c = c,
				 .o = o,
				 .ack_ms = o->job_ms > 0 ? (int)o->job_ms : -1,
				 .msg = SB_BUF_INIT(SB_RUNNER_CHUNK + 128),
				 .cur = SB_BUF_INIT(SB_RUNNER_CHUNK),
				 .next = SB_BUF_INIT(SB_RUNNER_CHUNK)};
	sb_result rc = SB_OK_RESULT;

	for (size_t i = 0; i < n; i++) {
		uint64_t total = 0;
		rc = send_party(&s, &in[i], &total);
		if (!sb_ok(rc)) {
			sb_error_context("input of %s", in[i].party);
			goto out;
		}
		progress(o, "sent %s's input (%llu bytes)", in[i].party, (unsigned long long)total);
	}
	/* The rest of the window is acknowledged (or refused) in turn. */
	while (s.unacked > 0)
		SB_GUARD_GOTO(rc, take_ack(&s), out);
out:
	sb_buf_cleanup(&s.msg);
	sb_buf_cleanup(&s.cur);
	sb_buf_cleanup(&s.next);
	return rc;
}

static SB_RESULT run_job(struct sb_wire_client *c, const struct sb_runner_opts *o,
			 const struct sb_msg_creds *creds, struct sb_slice manifest,
			 const struct sb_runner_input *in, size_t n, struct sb_buf *output,
			 struct sb_buf *result)
{
	struct sb_buf msg = SB_BUF_INIT_SECRET(4 * SB_MSG_CRED_FIELD_MAX + 64);
	struct sb_wire_response resp;
	uint32_t id;
	sb_result rc;

	sb_wire_response_init(&resp);
	SB_GUARD_GOTO(rc, sb_msg_creds_append(&msg, creds), out);
	SB_GUARD_GOTO(rc, sb_wire_client_call(c, SB_MSG_SET_CREDENTIALS, sb_buf_slice(&msg),
					      SB_MSG_SET_CREDENTIALS, NULL), out);
	SB_GUARD_GOTO(rc, sb_wire_client_call(c, SB_MSG_BEGIN_JOB, manifest, SB_MSG_BEGIN_JOB, NULL),
		      out);
	progress(o, "job accepted by the enclave");
	SB_GUARD_GOTO(rc, send_inputs(c, o, in, n), out);
	progress(o, "all inputs sent; the enclave is decrypting and computing");
	SB_GUARD_GOTO(rc, sb_wire_client_send(c, SB_MSG_END_INPUTS, SB_SLICE(NULL, 0), &id), out);
	for (;;) {
		SB_GUARD_GOTO(rc, sb_wire_client_wait(c, id, (int)o->job_ms, &resp), out);
		SB_GUARD_GOTO(rc, sb_wire_response_check(&resp), out);
		if (resp.type == SB_MSG_NEED_CREDENTIALS) {
			SB_GUARD_GOTO(rc, answer_need_creds(c, o, &resp), out);
			sb_wire_response_cleanup(&resp);
			sb_wire_response_init(&resp);
			continue;
		}
		if (resp.type != SB_MSG_RESULT_PART)
			break;
		/* Straight into output: the caller truncates it again on failure. */
		SB_GUARD_GOTO(rc, sb_buf_append_slice(output, sb_buf_slice(&resp.payload)), out);
		sb_wire_response_cleanup(&resp);
		sb_wire_response_init(&resp);
	}
	if (resp.type != SB_MSG_RESULT)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_FRAME, out, "expected a Result");
	sb_buf_move(result, &resp.payload);
out:
	sb_wire_response_cleanup(&resp);
	sb_buf_cleanup(&msg);
	return rc;
}

SB_RESULT sb_runner_run(const struct sb_runner_opts *o, const struct sb_msg_creds *creds,
			struct sb_slice manifest, const struct sb_runner_input *inputs,
			size_t ninputs, struct sb_buf *output, struct sb_buf *receipt)
{
	struct sb_wire_client *c = NULL;
	struct sb_buf result = SB_BUF_INIT(0);
	struct sb_slice out_s, rec_s;
	size_t had = output != NULL ? output->len : 0;
	sb_result rc;

	SB_ENSURE(o != NULL && creds != NULL && output != NULL && receipt != NULL, SB_ERR_NULL);
	SB_GUARD(sb_runner_check_creds(o, creds, sb_time_now_ms()));
	SB_GUARD(connect_with_backoff(o, 30000, &c));
	SB_GUARD_GOTO(rc, run_job(c, o, creds, manifest, inputs, ninputs, output, &result), out);
	SB_GUARD_GOTO(rc, sb_msg_result_parse(sb_buf_slice(&result), &out_s, &rec_s), out);
	if (output->len - had + out_s.len > SB_MSG_RESULT_OUTPUT_MAX)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_TOO_LARGE, out, "the enclave's output.csv is over %u bytes",
				 SB_MSG_RESULT_OUTPUT_MAX);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(output, out_s), out);
	rc = sb_buf_append_slice(receipt, rec_s);
out:
	if (!sb_ok(rc))
		sb_buf_truncate(output, had); /* nothing appended on failure */
	sb_buf_cleanup(&result);
	sb_wire_client_free(c);
	return rc;
}
