/*
 * The job's kms-csv parties (the AWS sample's format): every row of every
 * kms-csv file is collected, checked (trailer, duplicates), decrypted in one
 * batch through the I/O, and tallied into the auction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_bids_csv.h"
#include "auction/sb_job_internal.h"
#include "auction/sb_trailer.h"
#include "common/sb_mem.h"
#include "crypto/sb_hash.h"

struct collect {
	struct sb_job_cipher *items;
	size_t n, cap;
	size_t party;
	const char *key;
};

static sb_result collect_row(void *vctx, const struct sb_bid_row *row)
{
	struct collect *c = vctx;

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
	/* Row parsing already bounded the id by SB_AUCTION_MAX_PROPERTY_ID. */
	(void)snprintf(it->property_z, sizeof(it->property_z), "%.*s", (int)row->property.len,
		       (const char *)row->property.ptr);
	return SB_OK_RESULT;
}

static bool is_trailer(const struct sb_job_cipher *it)
{
	return sb_slice_eq_str(it->property, SB_TRAILER_PROPERTY);
}

/*
 * A bound party's rows [first, c->n): the last must be the trailer and no
 * other may use a reserved id; the contexts bind each row to job, party and
 * property (set here, once the item array no longer moves).
 */
static SB_RESULT bind_rows(const struct sb_job *job, struct collect *c, size_t first)
{
	const struct sb_party *p = &job->manifest.parties[c->party];

	SB_ENSURE_MSG(c->n > first && is_trailer(&c->items[c->n - 1]), SB_ERR_TRAILER,
		      "party %s: a job-bound kms-csv input must end with a %s row", p->name,
		      SB_TRAILER_PROPERTY);
	for (size_t i = first; i < c->n - 1; i++)
		if (sb_trailer_reserved(c->items[i].property))
			SB_BAIL_MSG(SB_ERR_BAD_CSV, "party %s, row %zu: property ids starting with "
				    "\"%s\" are reserved", p->name, c->items[i].row, SB_TRAILER_PREFIX);
	return SB_OK_RESULT;
}

static void set_contexts(const struct sb_job *job, struct sb_job_cipher *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct sb_party *p = &job->manifest.parties[items[i].party];
		if (p->binding != SB_BINDING_JOB)
			continue;
		items[i].context[0] = (struct sb_job_ctx){SB_CTX_MANIFEST, job->manifest.hash_hex};
		items[i].context[1] = (struct sb_job_ctx){SB_CTX_PARTY, p->name};
		items[i].context[2] = (struct sb_job_ctx){SB_CTX_PROPERTY, items[i].property_z};
		items[i].n_context = 3;
	}
}

static SB_RESULT collect_all(const struct sb_job *job, struct collect *c)
{
	for (size_t p = 0; p < job->manifest.nparties; p++) {
		const struct sb_party *party = &job->manifest.parties[p];
		size_t first = c->n;
		if (party->format != SB_FORMAT_KMS_CSV)
			continue;
		c->party = p;
		c->key = party->key;
		sb_result r = sb_bids_csv_each(sb_buf_slice(&job->parties[p].data), collect_row, c);
		if (!sb_ok(r)) {
			sb_error_context("party %s", party->name);
			return r;
		}
		if (party->binding == SB_BINDING_JOB)
			SB_GUARD(bind_rows(job, c, first));
	}
	return SB_OK_RESULT;
}

struct digest_ref {
	uint8_t d[SB_SHA256_LEN];
	size_t item;
};

static int digest_cmp(const void *a, const void *b)
{
	return memcmp(((const struct digest_ref *)a)->d, ((const struct digest_ref *)b)->d,
		      SB_SHA256_LEN);
}

/* One ciphertext used twice (in one file or across parties) is refused. */
static SB_RESULT no_duplicates(const struct sb_job *job, const struct collect *c)
{
	struct digest_ref *refs = NULL;
	sb_result rc = SB_OK_RESULT;

	if (c->n < 2)
		return SB_OK_RESULT;
	SB_GUARD(sb_calloc(c->n, sizeof(*refs), (void **)&refs));
	for (size_t i = 0; i < c->n && sb_ok(rc); i++) {
		refs[i].item = i;
		rc = sb_sha256(c->items[i].ciphertext_b64, refs[i].d);
	}
	if (sb_ok(rc))
		qsort(refs, c->n, sizeof(*refs), digest_cmp);
	for (size_t i = 1; i < c->n && sb_ok(rc); i++) {
		if (memcmp(refs[i - 1].d, refs[i].d, SB_SHA256_LEN) != 0)
			continue;
		const struct sb_job_cipher *a = &c->items[refs[i - 1].item], *b = &c->items[refs[i].item];
		if (a->party > b->party || (a->party == b->party && a->row > b->row)) {
			const struct sb_job_cipher *t = a;
			a = b;
			b = t;
		}
		rc = sb_error_recordf(SB_ERR_DUPLICATE_CIPHERTEXT, SB_HERE, "party %s row %zu and party %s row %zu",
				job->manifest.parties[a->party].name, a->row,
				job->manifest.parties[b->party].name, b->row);
	}
	free(refs);
	return rc;
}

/*
 * The trailers: each bound party's data rows digested in file order, over
 * the whole file (before a shard keeps only its rows), into trailers[party].
 */
static SB_RESULT digest_trailers(const struct sb_job *job, const struct collect *c,
				 struct sb_trailer *trailers)
{
	for (size_t p = 0; p < job->manifest.nparties; p++)
		if (job->manifest.parties[p].format == SB_FORMAT_KMS_CSV &&
		    job->manifest.parties[p].binding == SB_BINDING_JOB)
			SB_GUARD(sb_trailer_init(&trailers[p]));
	for (size_t i = 0; i < c->n; i++) {
		const struct sb_job_cipher *it = &c->items[i];
		if (job->manifest.parties[it->party].binding == SB_BINDING_JOB && !is_trailer(it))
			SB_GUARD(sb_trailer_add(&trailers[it->party], it->property,
						it->ciphertext_b64));
	}
	return SB_OK_RESULT;
}

/* A shard decrypts only its own rows, and every bound party's trailer. */
static void keep_shard(const struct sb_job *job, struct collect *c)
{
	size_t kept = 0;

	for (size_t i = 0; i < c->n; i++) {
		const struct sb_job_cipher *it = &c->items[i];
		bool trailer = job->manifest.parties[it->party].binding == SB_BINDING_JOB &&
			       is_trailer(it);
		if (trailer || sb_job_owns(job, it->property))
			c->items[kept++] = *it; /* plaintext buffers are still unallocated */
	}
	c->n = kept;
}

static SB_RESULT check_trailer(struct sb_job *job, struct sb_trailer *trailers,
			       const struct sb_job_cipher *trailer)
{
	sb_result rc = sb_trailer_check(&trailers[trailer->party],
					sb_buf_slice(&trailer->plaintext));

	if (!sb_ok(rc))
		sb_error_context("party %s", job->manifest.parties[trailer->party].name);
	return rc;
}

/* The first failure in input order that is not a row the I/O skipped. */
static SB_RESULT first_failure(struct sb_job *job, const struct collect *c)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < c->n; i++) {
			const struct sb_job_cipher *it = &c->items[i];
			if (sb_ok(it->status) || (pass == 0 && it->skipped))
				continue;
			SB_BAIL_MSG(it->status.code, "party %s, row %zu: %s",
				    job->manifest.parties[it->party].name, it->row,
				    it->error[0] != '\0' ? it->error
							  : sb_error_message(it->status.code));
		}
	return SB_OK_RESULT;
}

/* Turns decrypted items into bids; the first failure (in input order) wins. */
static SB_RESULT tally(struct sb_job *job, struct collect *c, struct sb_trailer *trailers)
{
	SB_GUARD(first_failure(job, c));
	for (size_t i = 0; i < c->n; i++) {
		struct sb_job_cipher *it = &c->items[i];
		const struct sb_party *p = &job->manifest.parties[it->party];
		struct sb_amount amount;
		sb_result r;

		if (!sb_ok(sb_job_party_key(job, it->party, it->key_arn))) {
			sb_error_context("row %zu", it->row);
			return (sb_result){SB_ERR_WRONG_KEY};
		}
		if (p->binding == SB_BINDING_JOB && is_trailer(it)) {
			SB_GUARD(check_trailer(job, trailers, it));
			sb_buf_cleanup(&it->plaintext);
			continue;
		}
		r = sb_amount_parse(sb_buf_slice(&it->plaintext), &amount);
		sb_buf_cleanup(&it->plaintext);
		if (!sb_ok(r)) {
			/* The parse's detail says why (never the value); the message is said once. */
			sb_error_context("party %s, row %zu", p->name, it->row);
			return r;
		}
		r = sb_auction_add_bid(job->auction, it->party, it->property, &amount);
		sb_amount_wipe(&amount);
		if (!sb_ok(r)) {
			sb_error_context("party %s, row %zu", p->name, it->row);
			return r;
		}
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_job_csv_run(struct sb_job *job)
{
	struct collect c = {0};
	struct sb_trailer *trailers = NULL;
	sb_result rc;

	SB_GUARD(sb_calloc(job->manifest.nparties, sizeof(*trailers), (void **)&trailers));
	SB_GUARD_GOTO(rc, collect_all(job, &c), out);
	SB_GUARD_GOTO(rc, no_duplicates(job, &c), out);
	SB_GUARD_GOTO(rc, digest_trailers(job, &c, trailers), out);
	keep_shard(job, &c);
	set_contexts(job, c.items, c.n); /* the items no longer move */
	if (c.n > 0)
		SB_GUARD_GOTO(rc, job->io->decrypt(job->io->ctx, c.items, c.n), out);
	rc = tally(job, &c, trailers);
out:
	for (size_t i = 0; i < c.n; i++)
		sb_buf_cleanup(&c.items[i].plaintext);
	for (size_t p = 0; p < job->manifest.nparties; p++)
		sb_trailer_cleanup(&trailers[p]);
	free(trailers);
	free(c.items);
	return rc;
}
