/*
 * The parent side of one job over the channel (`sealbid run`): connect to
 * the enclave (retrying with backoff while it boots), handshake, then
 * SetCredentials, BeginJob(manifest), every party's input in chunks, and
 * EndInputs, whose answer is the Result (output.csv + receipt) or an Error.
 * The parent only relays: it never sees a plaintext bid.
 *
 * Inputs are streamed: each party's chunks are pulled from its read
 * callback as they are sent, and at most SB_MSG_INPUT_WINDOW Input frames
 * are unacknowledged at any time (the 17th waits for an ack), so the
 * parent holds O(chunk * window) bytes whatever the size of an input.
 *
 * Credentials: while the job runs, the enclave may ask for fresh ones (a
 * NeedCredentials partial response to the Input or EndInputs in flight);
 * the runner answers with SetCredentials from opts->refresh. A parent that
 * cannot refresh (refresh NULL) refuses to start a job whose credentials
 * expire before job_ms + SB_RUNNER_CREDS_MARGIN_MS from now.
 */
#ifndef SB_RUNNER_H
#define SB_RUNNER_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "wire/sb_msg_job.h"

#define SB_RUNNER_CHUNK (256u << 10)
#define SB_RUNNER_CREDS_MARGIN_MS (60u * 1000u)

/*
 * Fills buf with up to cap bytes of the input, fewer only at its end
 * (*n = 0 there). sb_storage_read has this shape.
 */
typedef sb_result (*sb_runner_read_fn)(void *ctx, uint8_t *buf, size_t cap, size_t *n);

struct sb_runner_input {
	const char *party;      /* borrowed */
	sb_runner_read_fn read; /* the party's input, from its start */
	void *ctx;              /* borrowed, passed to read */
};

struct sb_runner_opts {
	uint32_t cid;
	uint32_t port;
	uint32_t connect_ms; /* how long to retry connecting (enclave booting) */
	uint32_t job_ms;     /* how long to wait for the result, and for each Input's ack */
	void (*progress)(void *ctx, const char *line); /* optional */
	void *progress_ctx;
	/* Fresh credentials into out (initialised, empty); NULL: cannot refresh. */
	sb_result (*refresh)(void *ctx, struct sb_msg_creds *out);
	void *refresh_ctx;
};

/*
 * OK when creds last long enough for a job of opts->job_ms started at
 * now_ms (Unix ms), or never expire, or opts->refresh can renew them;
 * else SB_ERR_AWS_CREDENTIALS_EXPIRE saying when they expire.
 */
SB_RESULT sb_runner_check_creds(const struct sb_runner_opts *opts,
				const struct sb_msg_creds *creds, uint64_t now_ms);

/*
 * Runs the job; on success output and receipt hold what the enclave
 * returned (appended). Nothing is appended on failure.
 */
SB_RESULT sb_runner_run(const struct sb_runner_opts *opts, const struct sb_msg_creds *creds,
			struct sb_slice manifest, const struct sb_runner_input *inputs,
			size_t ninputs, struct sb_buf *output, struct sb_buf *receipt);

#endif
