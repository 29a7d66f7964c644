/*
 * One auction job as the enclave runs it, with its I/O injected so the same
 * code runs against real KMS/NSM, the local stack, or test doubles:
 *
 *   sb_job_new(manifest)            parse and hash the manifest
 *   sb_job_input(party, seq, chunk) stream each party's bids file in order
 *   sb_job_finish(io)               decrypt every bid (one batch, so the I/O
 *                                   can keep many KMS calls in flight), run the
 *                                   auction, attest the result
 *
 * Errors name the party and row, never a bid value. Plaintexts live in
 * secret buffers and are wiped as soon as they are parsed.
 */
#ifndef SB_JOB_H
#define SB_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "auction/sb_manifest.h"
#include "common/sb_buf.h"

#define SB_JOB_MAX_INPUT (256u << 20) /* bytes per party */
#define SB_JOB_KEY_ARN_MAX 256 /* longer reported key ids are refused */

/* One ciphertext to decrypt; the I/O fills plaintext, key_arn and status. */
struct sb_job_cipher {
	size_t party;              /* index into the manifest's parties */
	size_t row;                /* 1-based row in the party's file */
	struct sb_slice property;  /* borrowed from the job's input */
	struct sb_slice ciphertext_b64;
	const char *key_id;        /* the party's declared key (KeyId for Decrypt) */
	struct sb_buf plaintext;   /* secret; filled by decrypt */
	char key_arn[SB_JOB_KEY_ARN_MAX]; /* the key KMS reports; "" if none */
	sb_result status;          /* per item: OK or the failure */
	char error[256];           /* per-item failure description (no secrets) */
};

struct sb_job_io {
	void *ctx;
	/* Decrypts items[0..n) (any order, concurrently); sets each item's status. */
	sb_result (*decrypt)(void *ctx, struct sb_job_cipher *items, size_t n);
	/* An attestation document carrying user_data (48 bytes), appended to doc. */
	sb_result (*attest)(void *ctx, struct sb_slice user_data, struct sb_buf *doc);
};

struct sb_job;

/* Parses manifest (borrowed). Caller frees with sb_job_free. */
SB_RESULT sb_job_new(struct sb_slice manifest_json, struct sb_job **out);
void sb_job_free(struct sb_job *job);
const struct sb_manifest *sb_job_manifest(const struct sb_job *job);
/* Appends one chunk of a party's file; seq counts from 0 per party. */
SB_RESULT sb_job_input(struct sb_job *job, struct sb_slice party, uint32_t seq, bool last,
		       struct sb_slice chunk);
/* Runs the job; appends output.csv and the receipt JSON. */
SB_RESULT sb_job_finish(struct sb_job *job, const struct sb_job_io *io, struct sb_buf *output,
			struct sb_buf *receipt);
/* Whether the key KMS reports (an ARN) is the declared key (ARN, key id or alias). */
bool sb_job_key_matches(const char *declared, const char *reported_arn);

#endif
