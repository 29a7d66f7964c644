/*
 * A sealed party's input (docs/FORMATS.md, "Sealed dataset"): an AWS
 * Encryption SDK message, consumed as it arrives. The header's encryption
 * context must be exactly the one the manifest implies (sealbid:manifest,
 * sealbid:party) before any KMS call; then one KMS Decrypt (with the
 * enclave's attestation) of the party's aws-kms data key under that context,
 * key derivation and commitment, and each frame decrypted and its rows
 * ("property,amount" after the header "[].contract,[].bid") tallied at once.
 * Memory: one frame of ciphertext and of plaintext, whatever the input size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_bids_csv.h"
#include "auction/sb_job_internal.h"
#include "collab/sb_collab.h"
#include "collab/sb_csv_fields.h"
#include "common/sb_mem.h"
#include "esdk/sb_esdk.h"

/* Unconsumed bytes held between chunks: at most one frame (or header) and a chunk. */
#define PENDING_MAX (SB_ESDK_MAX_FRAME_LEN + (2u << 20))
#define BID_LINE_MAX (SB_AUCTION_MAX_PROPERTY_ID + 1 + SB_AMOUNT_MAX_CHARS + 2)
/* A dataset line of a join-aggregate job (its CR included) or a bid line. */
#define LINE_MAX     (SB_CSV_LINE_MAX + 1)

enum phase { PHASE_HEADER, PHASE_BODY, PHASE_DONE };

struct sb_job_sealed {
	enum phase phase;
	struct sb_buf pending; /* input bytes not yet consumed */
	struct sb_esdk_header hdr;
	struct sb_esdk_key *key;
	struct sb_esdk_opener *opener;
	struct sb_esdk_body body;
	bool body_started;
	struct sb_buf text; /* secret: a partial line carried over, then a frame's plaintext */
	size_t lines;       /* lines seen (the CSV header is line 1) */
};

SB_RESULT sb_job_sealed_new(struct sb_job_sealed **out)
{
	struct sb_job_sealed *s = NULL;

	SB_GUARD(sb_calloc(1, sizeof(*s), (void **)&s));
	s->pending = SB_BUF_INIT(PENDING_MAX);
	s->text = SB_BUF_INIT_SECRET(SB_ESDK_MAX_FRAME_LEN + LINE_MAX);
	*out = s;
	return SB_OK_RESULT;
}

void sb_job_sealed_free(struct sb_job_sealed *s)
{
	if (s == NULL)
		return;
	sb_buf_cleanup(&s->pending);
	sb_buf_cleanup(&s->text);
	sb_esdk_opener_free(s->opener);
	sb_esdk_key_free(s->key);
	if (s->body_started)
		sb_esdk_body_cleanup(&s->body);
	sb_esdk_header_cleanup(&s->hdr);
	free(s);
}

/* Context check, the one KMS call, key derivation: the message's key. */
static SB_RESULT open_message(struct sb_job *job, size_t party, struct sb_job_sealed *s)
{
	const struct sb_party *p = &job->manifest.parties[party];
	char shard[16];
	(void)snprintf(shard, sizeof(shard), "%u", job->shard);
	/* A part sealed for one shard also names it (sb_manifest.h, SB_SHARD_TOKEN). */
	const struct sb_esdk_pair want[] = {{SB_CTX_MANIFEST, job->manifest.hash_hex},
	                                    {SB_CTX_PARTY, p->name},
	                                    {SB_CTX_SHARD, shard}};
	const struct sb_esdk_edk *edk;
	struct sb_job_ctx *ctx = NULL;
	struct sb_buf data_key = SB_BUF_INIT_SECRET(SB_JOB_DATA_KEY_MAX);
	char arn[SB_JOB_KEY_ARN_MAX] = "";
	sb_result rc;

	/* Before any KMS call: data sealed for another job or party stops here. */
	SB_GUARD(sb_esdk_header_check_context(&s->hdr, want, sb_party_sharded_input(p) ? 3 : 2));
	SB_GUARD(sb_esdk_header_find_kms_edk(&s->hdr, sb_job_key_matches, p->key, &edk));
	SB_GUARD(sb_calloc(s->hdr.npairs, sizeof(*ctx), (void **)&ctx));
	for (size_t i = 0; i < s->hdr.npairs; i++)
		ctx[i] = (struct sb_job_ctx){s->hdr.pairs[i].key, s->hdr.pairs[i].value};
	struct sb_job_unwrap in = {party, p->key, sb_buf_slice(&edk->ciphertext), ctx,
	                           s->hdr.npairs};
	rc = job->io->unwrap(job->io->ctx, &in, &data_key, arn);
	if (!sb_ok(rc)) {
		sb_error_context("party %s (sealed)", p->name);
		goto out;
	}
	SB_GUARD_GOTO(rc, sb_job_party_key(job, party, arn), out);
	if (data_key.len != SB_ESDK_DATA_KEY_LEN)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_ESDK_COMMITMENT, out,
		                 "the data key is %zu bytes, not %d", data_key.len,
		                 SB_ESDK_DATA_KEY_LEN);
	SB_GUARD_GOTO(rc, sb_esdk_key_new(&s->hdr, sb_buf_slice(&data_key), &s->key), out);
	SB_GUARD_GOTO(rc, sb_esdk_body_init(&s->body, &s->hdr), out);
	s->body_started = true;
	rc = sb_esdk_opener_new(s->key, &s->opener);
out:
	sb_buf_cleanup(&data_key); /* wiped: the derived key is all that is kept */
	free(ctx);
	return rc;
}

/* One plaintext line: the CSV header first, then "property,amount". */
static SB_RESULT tally_line(struct sb_job *job, size_t party, struct sb_job_sealed *s,
                            struct sb_slice line)
{
	const struct sb_party *p = &job->manifest.parties[party];
	struct sb_amount amount;
	sb_result r;

	s->lines++;
	if (job->collab != NULL) /* a dataset: the join reads its own header */
		return sb_collab_line(job->collab, (uint32_t)party, line);
	if (line.len > 0 && line.ptr[line.len - 1] == '\r')
		line.len--;
	if (s->lines == 1) {
		SB_ENSURE_MSG(sb_slice_eq_str(line, SB_BIDS_CSV_HEADER), SB_ERR_BAD_CSV,
		              "party %s: the sealed CSV must start with \"" SB_BIDS_CSV_HEADER "\"",
		              p->name);
		return SB_OK_RESULT;
	}
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	SB_ENSURE_MSG(comma != NULL, SB_ERR_BAD_CSV, "party %s, row %zu: expected property,amount",
	              p->name, s->lines - 1);
	struct sb_slice prop = SB_SLICE(line.ptr, (size_t)(comma - line.ptr));
	r = sb_amount_parse(SB_SLICE(comma + 1, line.len - prop.len - 1), &amount);
	if (!sb_ok(r)) {
		/* The parse's detail says why (never the value); the message is said once. */
		sb_error_context("party %s, row %zu", p->name, s->lines - 1);
		return r;
	}
	/* Another shard's row: parsed (a bad row fails every shard alike), not tallied;
	 * in a part sealed for this shard, it is an error. */
	bool mine = sb_job_owns(job, prop);
	if (!mine && sb_party_sharded_input(p))
		r = sb_error_recordf(SB_ERR_BAD_SHARD, SB_HERE,
		                     "the part sealed for shard %u holds another shard's property",
		                     job->shard);
	else
		r = mine ? sb_auction_add_bid(job->auction, party, prop, &amount) : SB_OK_RESULT;
	sb_amount_wipe(&amount);
	if (!sb_ok(r))
		sb_error_context("party %s, row %zu", p->name, s->lines - 1);
	return r;
}

/* Tallies every complete line of s->text and keeps the partial last one. */
static SB_RESULT tally_lines(struct sb_job *job, size_t party, struct sb_job_sealed *s, bool end)
{
	struct sb_slice rest = sb_buf_slice(&s->text);
	const uint8_t *nl;

	while ((nl = memchr(rest.ptr, '\n', rest.len)) != NULL) {
		size_t n = (size_t)(nl - rest.ptr);
		SB_GUARD(tally_line(job, party, s, SB_SLICE(rest.ptr, n)));
		rest = SB_SLICE(nl + 1, rest.len - n - 1);
	}
	if (end && rest.len > 0) { /* a last line without its newline */
		SB_GUARD(tally_line(job, party, s, rest));
		rest.len = 0;
	}
	SB_ENSURE_MSG(rest.len <= (job->collab != NULL ? LINE_MAX : BID_LINE_MAX), SB_ERR_BAD_CSV,
	              "party %s, row %zu: line too long", job->manifest.parties[party].name,
	              s->lines);
	memmove(s->text.data, rest.ptr, rest.len);
	sb_wipe(s->text.data + rest.len, s->text.len - rest.len);
	s->text.len = rest.len;
	return SB_OK_RESULT;
}

static SB_RESULT open_frame(struct sb_job *job, size_t party, struct sb_job_sealed *s,
                            const struct sb_esdk_frame *f)
{
	SB_GUARD(sb_buf_reserve(&s->text, f->content.len));
	SB_GUARD(sb_esdk_opener_open(s->opener, f, s->text.data + s->text.len));
	SB_GUARD(sb_buf_commit(&s->text, s->text.len + f->content.len));
	return tally_lines(job, party, s, false);
}

/* Consumes what it can of in; *used = bytes consumed (the rest waits for more). */
static SB_RESULT step(struct sb_job *job, size_t party, struct sb_job_sealed *s, struct sb_slice in,
                      size_t *used)
{
	size_t off = 0, n = 0;
	sb_result r = SB_OK_RESULT;

	while (s->phase != PHASE_DONE) {
		struct sb_slice at = SB_SLICE(in.ptr + off, in.len - off);
		struct sb_esdk_frame f;
		if (s->phase == PHASE_HEADER) {
			r = sb_esdk_header_parse(at, &s->hdr, &n);
			if (sb_ok(r))
				r = open_message(job, party, s);
			if (sb_ok(r))
				s->phase = PHASE_BODY;
		} else if (sb_esdk_body_done(&s->body)) {
			s->phase = PHASE_DONE;
			break;
		} else if (s->body.state == SB_ESDK_BODY_FOOTER) {
			r = sb_esdk_body_footer(&s->body, at, &n);
		} else {
			r = sb_esdk_body_next(&s->body, at, &f, &n);
			if (sb_ok(r))
				r = open_frame(job, party, s, &f);
		}
		if (r.code == SB_ERR_ESDK_SHORT)
			break;
		SB_GUARD(r);
		off += n;
	}
	*used = off;
	return SB_OK_RESULT;
}

static SB_RESULT feed(struct sb_job *job, size_t party, struct sb_job_sealed *s,
                      struct sb_slice chunk, bool last)
{
	size_t used;

	if (s->pending.len == 0) { /* the common case: straight from the chunk */
		SB_GUARD(step(job, party, s, chunk, &used));
		SB_GUARD(
		    sb_buf_append_slice(&s->pending, SB_SLICE(chunk.ptr + used, chunk.len - used)));
	} else {
		SB_GUARD(sb_buf_append_slice(&s->pending, chunk));
		SB_GUARD(step(job, party, s, sb_buf_slice(&s->pending), &used));
		SB_GUARD(sb_buf_consume(&s->pending, used));
	}
	if (!last)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(s->phase != PHASE_HEADER, SB_ERR_ESDK_SHORT,
	              "the message header is cut short");
	SB_GUARD(sb_esdk_body_end(&s->body, s->pending.len));
	SB_GUARD(tally_lines(job, party, s, true));
	return job->collab != NULL ? sb_collab_end(job->collab, (uint32_t)party) : SB_OK_RESULT;
}

SB_RESULT sb_job_sealed_feed(struct sb_job *job, size_t party, struct sb_slice chunk, bool last)
{
	struct sb_job_sealed *s = job->parties[party].sealed;
	sb_result r = feed(job, party, s, chunk, last);

	/* Name the party, unless the error already does (rows, the KMS call). */
	if (!sb_ok(r) && strncmp(sb_error_detail(), "party ", 6) != 0)
		sb_error_context("party %s (sealed)", job->manifest.parties[party].name);
	if (sb_ok(r) && last && s->lines == 0)
		SB_BAIL_MSG(SB_ERR_BAD_CSV, "party %s: the sealed CSV is empty",
		            job->manifest.parties[party].name);
	return r;
}
