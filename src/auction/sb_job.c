#include "auction/sb_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_bids_csv.h"
#include "auction/sb_receipt.h"
#include "common/sb_mem.h"

struct party_input {
	struct sb_buf data;
	uint32_t next_seq;
	bool done;
};

struct sb_job {
	struct sb_manifest manifest;
	struct party_input *inputs;
	bool finished;
};

SB_RESULT sb_job_new(struct sb_slice manifest_json, struct sb_job **out)
{
	struct sb_job *job = NULL;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_calloc(1, sizeof(*job), (void **)&job));
	SB_GUARD_GOTO(rc, sb_manifest_parse(manifest_json, &job->manifest), fail);
	SB_GUARD_GOTO(rc, sb_calloc(job->manifest.nparties, sizeof(*job->inputs),
				    (void **)&job->inputs), fail);
	for (size_t i = 0; i < job->manifest.nparties; i++)
		job->inputs[i].data = SB_BUF_INIT(SB_JOB_MAX_INPUT);
	*out = job;
	return SB_OK_RESULT;
fail:
	sb_job_free(job);
	return rc;
}

void sb_job_free(struct sb_job *job)
{
	if (job == NULL)
		return;
	for (size_t i = 0; job->inputs != NULL && i < job->manifest.nparties; i++)
		sb_buf_cleanup(&job->inputs[i].data);
	free(job->inputs);
	sb_manifest_cleanup(&job->manifest);
	free(job);
}

const struct sb_manifest *sb_job_manifest(const struct sb_job *job)
{
	return &job->manifest;
}

SB_RESULT sb_job_input(struct sb_job *job, struct sb_slice party, uint32_t seq, bool last,
		       struct sb_slice chunk)
{
	struct party_input *in;
	size_t idx;

	SB_ENSURE_REF(job);
	SB_ENSURE_MSG(!job->finished, SB_ERR_BAD_STATE, "the job has finished");
	SB_GUARD(sb_manifest_party_index(&job->manifest, party, &idx));
	in = &job->inputs[idx];
	SB_ENSURE_MSG(!in->done, SB_ERR_JOB_INPUT, "party %s: input after its last chunk",
		      job->manifest.parties[idx].name);
	SB_ENSURE_MSG(seq == in->next_seq, SB_ERR_JOB_INPUT, "party %s: chunk %u, expected %u",
		      job->manifest.parties[idx].name, seq, in->next_seq);
	if (!sb_ok(sb_buf_append_slice(&in->data, chunk))) {
		sb_error_context("party %s input", job->manifest.parties[idx].name);
		SB_BAIL_MSG(SB_ERR_TOO_LARGE, "party %s: input larger than %u bytes",
			    job->manifest.parties[idx].name, SB_JOB_MAX_INPUT);
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

struct collect_ctx {
	struct sb_job_cipher *items;
	size_t n, cap, party;
	const char *key;
};

static sb_result collect_row(void *vctx, const struct sb_bid_row *row)
{
	struct collect_ctx *c = vctx;

	if (c->n == c->cap) {
		size_t cap = c->cap == 0 ? 64 : c->cap * 2;
		struct sb_job_cipher *p = realloc(c->items, cap * sizeof(*p));
		SB_ENSURE(p != NULL, SB_ERR_NOMEM);
		c->items = p;
		c->cap = cap;
	}
	struct sb_job_cipher *it = &c->items[c->n++];
	memset(it, 0, sizeof(*it));
	it->party = c->party;
	it->row = row->row;
	it->property = row->property;
	it->ciphertext_b64 = row->ciphertext;
	it->key_id = c->key;
	it->plaintext = SB_BUF_INIT_SECRET(4096);
	return SB_OK_RESULT;
}

static SB_RESULT collect_all(struct sb_job *job, struct collect_ctx *c)
{
	for (size_t p = 0; p < job->manifest.nparties; p++) {
		const struct sb_party *party = &job->manifest.parties[p];
		SB_ENSURE_MSG(job->inputs[p].done, SB_ERR_JOB_INPUT, "party %s: input incomplete",
			      party->name);
		c->party = p;
		c->key = party->key;
		sb_result r = sb_bids_csv_each(sb_buf_slice(&job->inputs[p].data), collect_row, c);
		if (!sb_ok(r)) {
			sb_error_context("party %s", party->name);
			return r;
		}
	}
	return SB_OK_RESULT;
}

/* Turns decrypted items into bids; the first failure (in input order) wins. */
static SB_RESULT tally(struct sb_job *job, struct sb_job_cipher *items, size_t n,
		       struct sb_auction *a)
{
	for (size_t i = 0; i < n; i++) {
		struct sb_job_cipher *it = &items[i];
		const char *name = job->manifest.parties[it->party].name;
		struct sb_amount amount;
		sb_result r;

		if (!sb_ok(it->status))
			SB_BAIL_MSG(it->status.code, "party %s, row %zu: %s", name, it->row,
				    it->error[0] != '\0' ? it->error : sb_error_message(it->status.code));
		if (!sb_job_key_matches(it->key_id, it->key_arn))
			SB_BAIL_MSG(SB_ERR_WRONG_KEY, "party %s, row %zu: decrypted under another key",
				    name, it->row);
		r = sb_amount_parse(sb_buf_slice(&it->plaintext), &amount);
		sb_buf_cleanup(&it->plaintext);
		if (!sb_ok(r))
			SB_BAIL_MSG(SB_ERR_BAD_AMOUNT, "party %s, row %zu: %s", name, it->row,
				    sb_error_message(SB_ERR_BAD_AMOUNT));
		r = sb_auction_add_bid(a, it->party, it->property, &amount);
		sb_amount_wipe(&amount);
		if (!sb_ok(r)) {
			sb_error_context("row %zu", it->row);
			return r;
		}
	}
	return SB_OK_RESULT;
}

static SB_RESULT run(struct sb_job *job, const struct sb_job_io *io, struct collect_ctx *c,
		     struct sb_buf *output, struct sb_buf *receipt)
{
	struct sb_auction *a = NULL;
	const char **names = NULL;
	struct sb_buf doc = SB_BUF_INIT(32768);
	uint8_t ud[SB_SHA384_LEN];
	size_t out_start = output->len;
	sb_result rc;

	SB_GUARD_GOTO(rc, collect_all(job, c), out);
	SB_GUARD_GOTO(rc, sb_manifest_party_names(&job->manifest, &names), out);
	SB_GUARD_GOTO(rc, sb_auction_new(names, job->manifest.nparties, job->manifest.computation,
					 job->manifest.disclose, &a), out);
	if (c->n > 0)
		SB_GUARD_GOTO(rc, io->decrypt(io->ctx, c->items, c->n), out);
	SB_GUARD_GOTO(rc, tally(job, c->items, c->n, a), out);
	SB_GUARD_GOTO(rc, sb_auction_write_csv(a, output), out);
	struct sb_slice csv = SB_SLICE(output->data + out_start, output->len - out_start);
	SB_GUARD_GOTO(rc, sb_receipt_user_data(job->manifest.hash, csv, ud), out);
	SB_GUARD_GOTO(rc, io->attest(io->ctx, SB_SLICE(ud, sizeof(ud)), &doc), out);
	rc = sb_receipt_build(job->manifest.job_id, job->manifest.hash, csv, sb_buf_slice(&doc),
			      receipt);
out:
	if (!sb_ok(rc) && output->len > out_start) {
		sb_wipe(output->data + out_start, output->len - out_start);
		output->len = out_start; /* no partial output */
		output->data[out_start] = 0;
	}
	sb_buf_cleanup(&doc);
	free(names);
	sb_auction_free(a);
	return rc;
}

SB_RESULT sb_job_finish(struct sb_job *job, const struct sb_job_io *io, struct sb_buf *output,
			struct sb_buf *receipt)
{
	struct collect_ctx c = {0};
	sb_result rc;

	SB_ENSURE(job != NULL && io != NULL && output != NULL && receipt != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(!job->finished, SB_ERR_BAD_STATE, "the job has finished");
	job->finished = true;
	rc = run(job, io, &c, output, receipt);
	for (size_t i = 0; i < c.n; i++)
		sb_buf_cleanup(&c.items[i].plaintext);
	free(c.items);
	return rc;
}
