/*
 * One auction job as the enclave runs it, with its I/O injected so the same
 * code runs against real KMS/NSM, the local stack, or test doubles:
 *
 *   sb_job_new(manifest, io)        parse and hash the manifest
 *   sb_job_input(party, seq, chunk) each party's input in order, consumed as it
 *                                   arrives: a sealed dataset is decrypted and
 *                                   tallied chunk by chunk (memory O(properties));
 *                                   a kms-csv file is kept until the end
 *   sb_job_finish()                 decrypt every kms-csv bid (one batch, so the
 *                                   I/O can keep many KMS calls in flight), run
 *                                   the auction, attest the result
 *
 * Job binding (DESIGN.md §9.8): for every party with "binding": "job" each
 * KMS call carries the encryption context sealbid:manifest (the manifest
 * hash), sealbid:party and, per kms-csv bid, sealbid:property, so KMS
 * releases the data only to this manifest; a kms-csv file ends with a trailer
 * row (sb_trailer.h) so no row can be dropped, added, reordered or swapped.
 * Two parties whose keys resolve to one KMS key, and one ciphertext used
 * twice, are refused.
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

#define SB_JOB_MAX_INPUT   (256u << 20) /* bytes per kms-csv party */
#define SB_JOB_KEY_ARN_MAX 256          /* longer reported key ids are refused */
#define SB_JOB_CTX_MAX     3
#define SB_JOB_DATA_KEY_MAX 64

/* One encryption-context pair; borrowed. */
struct sb_job_ctx {
	const char *key;
	const char *value;
};

/* One ciphertext to decrypt; the I/O fills plaintext, key_arn and status. */
struct sb_job_cipher {
	size_t party;              /* index into the manifest's parties */
	size_t row;                /* 1-based row in the party's file */
	struct sb_slice property;  /* borrowed from the job's input */
	struct sb_slice ciphertext_b64;
	const char *key_id;        /* the party's declared key (KeyId for Decrypt) */
	struct sb_job_ctx context[SB_JOB_CTX_MAX]; /* what Decrypt must send */
	size_t n_context;          /* 0 for "binding": "none" */
	char property_z[SB_AUCTION_MAX_PROPERTY_ID + 1]; /* sealbid:property's value */
	struct sb_buf plaintext;   /* secret; filled by decrypt */
	char key_arn[SB_JOB_KEY_ARN_MAX]; /* the key KMS reports; "" if none */
	sb_result status;          /* per item: OK or the failure */
	bool skipped;              /* not attempted: the I/O stopped at another item's failure */
	char error[256];           /* per-item failure description (no secrets) */
};

/* A sealed dataset's data key, to be decrypted by KMS (one call per party). */
struct sb_job_unwrap {
	size_t party;
	const char *key_id;          /* the party's declared key */
	struct sb_slice ciphertext;  /* the aws-kms encrypted data key */
	const struct sb_job_ctx *context; /* the message's whole encryption context */
	size_t n_context;
};

struct sb_job_io {
	void *ctx;
	/* Decrypts items[0..n) (any order, concurrently); sets each item's status. */
	sb_result (*decrypt)(void *ctx, struct sb_job_cipher *items, size_t n);
	/* Decrypts one data key into data_key (secret) and reports the key ARN. */
	sb_result (*unwrap)(void *ctx, const struct sb_job_unwrap *in, struct sb_buf *data_key,
			    char key_arn[SB_JOB_KEY_ARN_MAX]);
	/* An attestation document carrying user_data (48 bytes), appended to doc. */
	sb_result (*attest)(void *ctx, struct sb_slice user_data, struct sb_buf *doc);
};

struct sb_job;

/* Parses manifest (borrowed); io is borrowed for the job's life. Caller frees with sb_job_free.
 * A manifest with "shards" N > 1 is refused: each shard runs with sb_job_new_shard. */
SB_RESULT sb_job_new(struct sb_slice manifest_json, const struct sb_job_io *io,
		     struct sb_job **out);
/*
 * Shard k of the manifest's N shards (sb_shard.h): only properties of shard
 * k are decrypted and computed (a kms-csv file is still read and its trailer
 * checked whole; a sealed dataset is decrypted whole and other shards' rows
 * skipped), and the receipt is version 2, binding k and N. k must be 0..N-1
 * (SB_ERR_BAD_SHARD otherwise); with N = 1 this is sb_job_new.
 */
SB_RESULT sb_job_new_shard(struct sb_slice manifest_json, uint32_t k, const struct sb_job_io *io,
			   struct sb_job **out);
/* Whether this job computes the property (always, unless sharded). */
bool sb_job_owns(const struct sb_job *job, struct sb_slice property);
void sb_job_free(struct sb_job *job);
const struct sb_manifest *sb_job_manifest(const struct sb_job *job);
/* Consumes one chunk of a party's input; seq counts from 0 per party. Any
 * failure fails the job (later calls fail too). */
SB_RESULT sb_job_input(struct sb_job *job, struct sb_slice party, uint32_t seq, bool last,
		       struct sb_slice chunk);
/* Runs the job; appends output.csv and the receipt JSON (nothing on failure). */
SB_RESULT sb_job_finish(struct sb_job *job, struct sb_buf *output, struct sb_buf *receipt);
/* Whether the key KMS reports (an ARN) is the declared key (ARN, key id or alias). */
bool sb_job_key_matches(const char *declared, const char *reported_arn);

#endif
