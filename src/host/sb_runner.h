/*
 * The parent side of one job over the channel (`sealbid run`): connect to
 * the enclave (retrying with backoff while it boots), handshake, then
 * SetCredentials, BeginJob(manifest), every party's input in chunks, and
 * EndInputs, whose answer is the Result (output.csv + receipt) or an Error.
 * The parent only relays: it never sees a plaintext bid.
 */
#ifndef SB_RUNNER_H
#define SB_RUNNER_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "wire/sb_msg_job.h"

#define SB_RUNNER_CHUNK (256u << 10)

struct sb_runner_input {
	const char *party;   /* borrowed */
	struct sb_slice data; /* borrowed: the party's file as fetched */
};

struct sb_runner_opts {
	uint32_t cid;
	uint32_t port;
	uint32_t connect_ms; /* how long to retry connecting (enclave booting) */
	uint32_t job_ms;     /* how long to wait for the result */
	void (*progress)(void *ctx, const char *line); /* optional */
	void *progress_ctx;
};

/*
 * Runs the job; on success output and receipt hold what the enclave
 * returned (appended). Nothing is appended on failure.
 */
SB_RESULT sb_runner_run(const struct sb_runner_opts *opts, const struct sb_msg_creds *creds,
			struct sb_slice manifest, const struct sb_runner_input *inputs,
			size_t ninputs, struct sb_buf *output, struct sb_buf *receipt);

#endif
