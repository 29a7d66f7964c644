#include "auction/sb_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_job_internal.h"
#include "auction/sb_receipt.h"
#include "auction/sb_shard.h"
#include "common/sb_mem.h"

static SB_RESULT job_create(struct sb_slice manifest_json, bool sharded, uint32_t k,
			    const struct sb_job_io *io, struct sb_job **out);

SB_RESULT sb_job_new(struct sb_slice manifest_json, const struct sb_job_io *io,
		     struct sb_job **out)
{
	return job_create(manifest_json, false, 0, io, out);
}

SB_RESULT sb_job_new_shard(struct sb_slice manifest_json, uint32_t k, const struct sb_job_io *io,
			   struct sb_job **out)
{
	return job_create(manifest_json, true, k, io, out);
}

bool sb_job_owns(const struct sb_job *job, struct sb_slice property)
{
	return job->manifest.shards == 1 ||
	       sb_shard_owns(property, job->shard, job->manifest.shards);
}

static SB_RESULT job_create(struct sb_slice manifest_json, bool sharded, uint32_t k,
			    const struct sb_job_io *io, struct sb_job **out)
{
	struct sb_job *job = NULL;
	const char **names = NULL;
	sb_result rc;

	SB_ENSURE(out != NULL && io != NULL, SB_ERR_NULL);
	SB_GUARD(sb_calloc(1, sizeof(*job), (void **)&job));
	job->io = io;
	SB_GUARD_GOTO(rc, sb_manifest_parse(manifest_json, &job->manifest), fail);
	const struct sb_manifest *m = &job->manifest;
	if (!sharded && m->shards > 1)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_SHARD, fail,
				 "the manifest declares %u shards: run each one (--shard K)",
				 m->shards);
	SB_GUARD_GOTO(rc, sb_shard_check(k, m->shards), fail);
	job->shard = k;
	SB_GUARD_GOTO(rc, sb_calloc(m->nparties, sizeof(*job->parties), (void **)&job->parties),
		      fail);
	for (size_t i = 0; i < m->nparties; i++) {
		job->parties[i].data = SB_BUF_INIT(SB_JOB_MAX_INPUT);
		if (m->parties[i].format == SB_FORMAT_SEALED)
			SB_GUARD_GOTO(rc, sb_job_sealed_new(&job->parties[i].sealed), fail);
	}
	if (m->collab != NULL) {
		SB_GUARD_GOTO(rc, sb_collab_new(m->collab, &job->collab), fail);
	} else {
		SB_GUARD_GOTO(rc, sb_manifest_party_names(m, &names), fail);
		SB_GUARD_GOTO(rc, sb_auction_new(names, m->nparties, m->computation, m->disclose,
						 &job->auction), fail);
		free(names);
	}
	*out = job;
	return SB_OK_RESULT;
fail:
	free(names);
	sb_job_free(job);
	return rc;
}

void sb_job_free(struct sb_job *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; job->parties != NULL && i < job->manifest.nparties; i++) {
		sb_buf_cleanup(&job->parties[i].data);
		sb_job_sealed_free(job->parties[i].sealed);
	}
	free(job->parties);
	sb_auction_free(job->auction);
	sb_collab_free(job->collab);
	sb_manifest_cleanup(&job->manifest);
	free(job);
}

const struct sb_manifest *sb_job_manifest(const struct sb_job *job)
{
	return &job->manifest;
}

static SB_RESULT consume(struct sb_job *job, size_t idx, bool last, struct sb_slice chunk)
{
	const struct sb_party *p = &job->manifest.parties[idx];
	struct sb_job_party *in = &job->parties[idx];

	if (p->format == SB_FORMAT_SEALED)
		return sb_job_sealed_feed(job, idx, chunk, last);
	if (!sb_ok(sb_buf_append_slice(&in->data, chunk)))
		SB_BAIL_MSG(SB_ERR_TOO_LARGE, "party %s: input larger than %u bytes", p->name,
			    SB_JOB_MAX_INPUT);
	return SB_OK_RESULT;
}

SB_RESULT sb_job_input(struct sb_job *job, struct sb_slice party, uint32_t seq, bool last,
		       struct sb_slice chunk)
{
	struct sb_job_party *in;
	size_t idx;
	sb_result rc;

	SB_ENSURE_REF(job);
	SB_ENSURE_MSG(!job->finished, SB_ERR_BAD_STATE, "the job has finished");
	SB_ENSURE_MSG(!job->failed, SB_ERR_BAD_STATE, "the job has failed");
	SB_GUARD(sb_manifest_party_index(&job->manifest, party, &idx));
	in = &job->parties[idx];
	const char *name = job->manifest.parties[idx].name;
	SB_ENSURE_MSG(!in->done, SB_ERR_JOB_INPUT, "party %s: input after its last chunk", name);
	SB_ENSURE_MSG(seq == in->next_seq, SB_ERR_JOB_INPUT, "party %s: chunk %u, expected %u",
		      name, seq, in->next_seq);
	rc = consume(job, idx, last, chunk);
	if (!sb_ok(rc)) {
		job->failed = true; /* half-consumed input: nothing later can be trusted */
		return rc;
	}
	in->next_seq++;
	in->done = last;
	return SB_OK_RESULT;
}

bool sb_job_key_matches(const char *declared, const char *reported_arn)
{
	const char *key = strstr(reported_arn, ":key/");

	if (strncmp(declared, "alias/", 6) == 0 || strstr(declared, ":alias/") != NULL)
		return key != NULL; /* KMS enforced the alias through KeyId */
	if (strncmp(declared, "arn:", 4) == 0)
		return strcmp(declared, reported_arn) == 0;
	return key != NULL && strcmp(key + 5, declared) == 0;
}

SB_RESULT sb_job_party_key(struct sb_job *job, size_t party, const char *reported_arn)
{
	struct sb_job_party *in = &job->parties[party];
	const char *name = job->manifest.parties[party].name;

	SB_ENSURE_MSG(sb_job_key_matches(job->manifest.parties[party].key, reported_arn),
		      SB_ERR_WRONG_KEY, "party %s: decrypted under another key", name);
	if (in->key_arn[0] == '\0') {
		SB_ENSURE_MSG(strlen(reported_arn) < sizeof(in->key_arn), SB_ERR_WRONG_KEY,
			      "party %s: KMS reported an overlong key id", name);
		memcpy(in->key_arn, reported_arn, strlen(reported_arn) + 1);
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(strcmp(in->key_arn, reported_arn) == 0, SB_ERR_WRONG_KEY,
		      "party %s: data under two different keys", name);
	return SB_OK_RESULT;
}

/* Two parties under one key would let a party be played against itself (an oracle). */
static SB_RESULT distinct_keys(const struct sb_job *job)
{
	for (size_t i = 0; i < job->manifest.nparties; i++)
		for (size_t j = 0; j < i; j++)
			if (job->parties[i].key_arn[0] != '\0' &&
			    strcmp(job->parties[i].key_arn, job->parties[j].key_arn) == 0)
				SB_BAIL_MSG(SB_ERR_SAME_KEY, "parties %s and %s: one KMS key",
					    job->manifest.parties[j].name,
					    job->manifest.parties[i].name);
	return SB_OK_RESULT;
}

static SB_RESULT inputs_complete(const struct sb_job *job)
{
	for (size_t p = 0; p < job->manifest.nparties; p++)
		SB_ENSURE_MSG(job->parties[p].done, SB_ERR_JOB_INPUT, "party %s: input incomplete",
			      job->manifest.parties[p].name);
	return SB_OK_RESULT;
}

static SB_RESULT run(struct sb_job *job, struct sb_buf *output, struct sb_buf *receipt)
{
	struct sb_buf doc = SB_BUF_INIT(32768);
	uint8_t ud[SB_SHA384_LEN];
	size_t out_start = output->len;
	sb_result rc;

	SB_GUARD_GOTO(rc, inputs_complete(job), out);
	SB_GUARD_GOTO(rc, sb_job_csv_run(job), out);
	SB_GUARD_GOTO(rc, distinct_keys(job), out);
	if (job->collab != NULL)
		SB_GUARD_GOTO(rc, sb_collab_write_csv(job->collab, output), out);
	else
		SB_GUARD_GOTO(rc, sb_auction_write_csv(job->auction, output), out);
	struct sb_slice csv = SB_SLICE(output->data + out_start, output->len - out_start);
	SB_GUARD_GOTO(rc, sb_receipt_user_data_shard(job->manifest.hash, job->shard,
						     job->manifest.shards, csv, ud), out);
	SB_GUARD_GOTO(rc, job->io->attest(job->io->ctx, SB_SLICE(ud, sizeof(ud)), &doc), out);
	rc = sb_receipt_build_shard(job->manifest.job_id, job->manifest.hash, job->shard,
				    job->manifest.shards, csv, sb_buf_slice(&doc), receipt);
out:
	if (!sb_ok(rc) && output->len > out_start) {
		sb_wipe(output->data + out_start, output->len - out_start);
		output->len = out_start; /* no partial output */
		output->data[out_start] = 0;
	}
	sb_buf_cleanup(&doc);
	return rc;
}

SB_RESULT sb_job_finish(struct sb_job *job, struct sb_buf *output, struct sb_buf *receipt)
{
	SB_ENSURE(job != NULL && output != NULL && receipt != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(!job->finished, SB_ERR_BAD_STATE, "the job has finished");
	SB_ENSURE_MSG(!job->failed, SB_ERR_BAD_STATE, "the job has failed");
	job->finished = true;
	return run(job, output, receipt);
}
