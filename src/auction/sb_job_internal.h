/* The job's internals, shared by sb_job.c (lifecycle), sb_job_csv.c (the
 * AWS sample's kms-csv files) and sb_job_sealed.c (sealed datasets). */
#ifndef SB_JOB_INTERNAL_H
#define SB_JOB_INTERNAL_H

#include "auction/sb_auction.h"
#include "auction/sb_job.h"
#include "collab/sb_collab.h"

struct sb_job_sealed; /* one sealed party's streaming state (sb_job_sealed.c) */

struct sb_job_party {
	uint32_t next_seq;
	bool done;
	struct sb_buf data;            /* kms-csv: the file as received */
	struct sb_job_sealed *sealed;  /* sealed: the decoder */
	char key_arn[SB_JOB_KEY_ARN_MAX]; /* the key KMS resolved for this party ("" until known) */
};

struct sb_job {
	struct sb_manifest manifest;
	const struct sb_job_io *io;
	struct sb_job_party *parties;
	struct sb_auction *auction;    /* an auction's computation, or */
	struct sb_collab *collab;      /* a join-aggregate's (one of the two is NULL) */
	uint32_t shard; /* 0..manifest.shards-1 */
	bool finished;
	bool failed;
};

/* Records the key KMS resolved for a party: it must match the declared key
 * and be the same for all of the party's data. */
SB_RESULT sb_job_party_key(struct sb_job *job, size_t party, const char *reported_arn);

/* kms-csv: decrypts every bid of every kms-csv party and adds it to the auction. */
SB_RESULT sb_job_csv_run(struct sb_job *job);

/* sealed: streaming decoder of one party's AWS Encryption SDK message. */
SB_RESULT sb_job_sealed_new(struct sb_job_sealed **out);
void sb_job_sealed_free(struct sb_job_sealed *s);
/* Consumes a chunk; with last, the message must be complete. */
SB_RESULT sb_job_sealed_feed(struct sb_job *job, size_t party, struct sb_slice chunk, bool last);

#endif
