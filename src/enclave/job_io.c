/*
 * The enclave's job I/O (struct sb_job_io): one RSA-2048 key pair per job
 * and its attestation document (renewed in a long job), then every bid through KMS Decrypt with
 * Recipient (KeyId = the party's declared key), many requests in flight on
 * several threads, never more connections than the enclave's KMS budget
 * (kms_budget.h), each answer a CMS envelope opened with the private key.
 * KMS is reached through vsock (the parent's proxy); TLS and SigV4 run here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aws/sb_kms.h"
#include "common/sb_encoding.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "crypto/sb_cms.h"
#include "enclave/enclave.h"
#include "enclave/kms_budget.h"

#define MAX_WORKERS 8

SB_RESULT sb_enclave_job_io_init(struct sb_enclave_job_io *io, struct sb_enclave *e,
				 const struct sb_msg_creds *creds, const char *region)
{
	struct sb_aws_creds ac;
	sb_result rc;

	memset(io, 0, sizeof(*io));
	io->enclave = e;
	io->doc = SB_BUF_INIT(SB_KMS_ATTESTATION_MAX);
	(void)snprintf(io->region, sizeof(io->region), "%s", region);
	sb_aws_creds_init(&ac);
	SB_GUARD_GOTO(rc, sb_aws_creds_set(&ac, sb_buf_slice(&creds->access_key_id),
					   sb_buf_slice(&creds->secret_access_key),
					   sb_buf_slice(&creds->session_token), creds->expiration_ms),
		      out);
	SB_GUARD_GOTO(rc, sb_creds_provider_new_static(&ac, &io->creds), out);
	/* One key pair for the whole job; its document is renewed when due. */
	SB_GUARD_GOTO(rc, sb_enclave_job_key(e, &io->key, &io->doc), out);
	sb_enclave_job_io_note_creds(io, creds->expiration_ms);
	SB_GUARD_GOTO(rc, sb_enclave_job_io_note_doc(io), out);
	/* A spare document whose certificate is past half its life is renewed now. */
	rc = sb_enclave_job_io_maintain(io);
out:
	sb_aws_creds_cleanup(&ac);
	if (!sb_ok(rc))
		sb_enclave_job_io_cleanup(io);
	return rc;
}

void sb_enclave_job_io_cleanup(struct sb_enclave_job_io *io)
{
	if (io == NULL)
		return;
	sb_rsa_key_free(io->key);
	io->key = NULL;
	sb_creds_provider_free(io->creds);
	io->creds = NULL;
	sb_buf_cleanup(&io->doc);
}

static SB_RESULT kms_for(const struct sb_enclave_job_io *io, struct sb_kms **out)
{
	struct sb_kms_config cfg;

	sb_kms_config_default(&cfg);
	cfg.region = io->region;
	cfg.endpoint = io->enclave->kms_endpoint; /* NULL: https://kms.<region>.amazonaws.com */
	cfg.creds = io->creds;
	cfg.http.vsock = true;
	cfg.http.vsock_cid = io->enclave->kms_proxy_cid;
	cfg.http.vsock_port = io->enclave->kms_proxy_port;
	return sb_kms_new(&cfg, out);
}

/*
 * Decodes, sends and opens items[0..n) on one KMS client, at most conns
 * requests (and so connections) at once. The same conns on every call with
 * one client keeps its connections alive between calls.
 */
static SB_RESULT decrypt_range(const struct sb_enclave_job_io *io, struct sb_kms *kms,
			       uint32_t conns, struct sb_job_cipher *items, size_t n)
{
	struct sb_kms_decrypt_in *ins = NULL;
	struct sb_kms_result *outs = NULL;
	struct sb_kms_context (*ctx)[SB_JOB_CTX_MAX] = NULL;
	struct sb_buf *blobs = NULL;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_calloc(n, sizeof(*ctx), (void **)&ctx), out);
	SB_GUARD_GOTO(rc, sb_calloc(n, sizeof(*ins), (void **)&ins), out);
	SB_GUARD_GOTO(rc, sb_calloc(n, sizeof(*outs), (void **)&outs), out);
	SB_GUARD_GOTO(rc, sb_calloc(n, sizeof(*blobs), (void **)&blobs), out);
	for (size_t i = 0; i < n; i++) {
		sb_kms_result_init(&outs[i]);
		blobs[i] = SB_BUF_INIT(SB_KMS_CIPHERTEXT_MAX);
		items[i].status = sb_base64_decode(items[i].ciphertext_b64, &blobs[i]);
		ins[i].ciphertext = sb_buf_slice(&blobs[i]);
		ins[i].key_id = items[i].key_id;
		ins[i].attestation = sb_buf_slice(&io->doc);
		/* Job binding: the context KMS checks the ciphertext against. */
		for (size_t j = 0; j < items[i].n_context; j++)
			ctx[i][j] = (struct sb_kms_context){items[i].context[j].key,
							    items[i].context[j].value};
		ins[i].context = ctx[i];
		ins[i].n_context = items[i].n_context;
	}
	/* A job needs every row: the batch stops at the first that fails for good. */
	SB_GUARD_GOTO(rc,
		      sb_kms_decrypt_batch_opts(kms, ins, outs, n,
						&(struct sb_kms_batch_opts){
							.parallel = conns,
							.stop_at_first_failure = true}),
		      out);
	for (size_t i = 0; i < n; i++) {
		struct sb_job_cipher *it = &items[i];
		if (!sb_ok(it->status)) {
			(void)snprintf(it->error, sizeof(it->error), "ciphertext is not base64");
			continue;
		}
		if (outs[i].error != SB_OK) {
			it->status = (sb_result){outs[i].error};
			it->skipped = outs[i].error == SB_ERR_HTTP_CANCELLED;
			(void)snprintf(it->error, sizeof(it->error), "%.*s", (int)sizeof(it->error) - 1,
				       outs[i].detail);
			continue;
		}
		if (strlen(outs[i].key_id) >= sizeof(it->key_arn)) {
			it->status = (sb_result){SB_ERR_WRONG_KEY};
			(void)snprintf(it->error, sizeof(it->error), "KMS reported an overlong key id");
			continue;
		}
		memcpy(it->key_arn, outs[i].key_id, strlen(outs[i].key_id) + 1);
		it->status = sb_cms_decrypt(io->key, sb_buf_slice(&outs[i].ciphertext_for_recipient),
					    &it->plaintext);
		if (!sb_ok(it->status))
			(void)snprintf(it->error, sizeof(it->error), "CiphertextForRecipient: %s",
				       sb_error_message(it->status.code));
	}
	rc = SB_OK_RESULT;
out:
	for (size_t i = 0; outs != NULL && i < n; i++)
		sb_kms_result_cleanup(&outs[i]);
	for (size_t i = 0; blobs != NULL && i < n; i++)
		sb_buf_cleanup(&blobs[i]);
	free(ins);
	free(outs);
	free(ctx);
	free(blobs);
	return rc;
}

/* sb_job_io.unwrap: one sealed dataset's data key, through KMS with Recipient. */
static sb_result job_unwrap(void *vctx, const struct sb_job_unwrap *in, struct sb_buf *data_key,
			    char key_arn[SB_JOB_KEY_ARN_MAX])
{
	const struct sb_enclave_job_io *io = vctx;
	struct sb_kms_budget *budget = &io->enclave->kms_budget;
	struct sb_kms_context ctx[SB_KMS_CONTEXT_MAX];
	struct sb_kms *kms = NULL;
	struct sb_kms_result out;
	sb_result rc;

	SB_ENSURE_MSG(in->n_context <= SB_KMS_CONTEXT_MAX, SB_ERR_TOO_LARGE,
		      "encryption context has too many pairs");
	/* Fresh credentials and document first (a long job, job_refresh.c). */
	SB_GUARD(sb_enclave_job_io_maintain((struct sb_enclave_job_io *)vctx));
	for (size_t j = 0; j < in->n_context; j++)
		ctx[j] = (struct sb_kms_context){in->context[j].key, in->context[j].value};
	struct sb_kms_decrypt_in din = {.ciphertext = in->ciphertext, .key_id = in->key_id,
					.context = ctx, .n_context = in->n_context,
					.attestation = sb_buf_slice(&io->doc)};
	sb_kms_result_init(&out);
	/* One connection (a single client makes one request at a time) from the budget. */
	uint32_t held = sb_kms_budget_take(budget, 1);
	SB_GUARD_GOTO(rc, kms_for(io, &kms), done);
	SB_GUARD_GOTO(rc, sb_kms_decrypt(kms, &din, &out), done);
	if (strlen(out.key_id) >= SB_JOB_KEY_ARN_MAX)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_WRONG_KEY, done, "KMS reported an overlong key id");
	memcpy(key_arn, out.key_id, strlen(out.key_id) + 1);
	rc = sb_cms_decrypt(io->key, sb_buf_slice(&out.ciphertext_for_recipient), data_key);
	if (!sb_ok(rc))
		sb_error_context("CiphertextForRecipient");
done:
	sb_kms_result_cleanup(&out);
	sb_kms_free(kms); /* closes the connection before it goes back */
	sb_kms_budget_give(budget, held);
	return rc;
}

/* A decrypt worker: its own KMS client (opened by job_decrypt) and its share of connections. */
struct worker {
	const struct sb_enclave_job_io *io;
	struct sb_kms *kms;
	uint32_t conns;
	struct sb_job_cipher *items;
	size_t n;
	sb_result rc;
	pthread_t thread;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->rc = w->n == 0 ? SB_OK_RESULT : decrypt_range(w->io, w->kms, w->conns, w->items, w->n);
	/*
	 * Done: its connections close now, not when the slowest worker is. A
	 * proxy that serves a few connections at a time (vsock-proxy) may have
	 * left another worker's waiting behind these idle ones.
	 */
	sb_kms_free(w->kms);
	w->kms = NULL;
	return NULL;
}

/* Workers for n rows with conns connections: one per core, each with >= 1 connection. */
static uint32_t worker_count(uint32_t conns, size_t n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t nw = cpus < 1 ? 1 : (size_t)cpus;

	nw = nw > MAX_WORKERS ? MAX_WORKERS : nw;
	nw = nw > conns ? conns : nw;
	nw = nw > n ? n : nw;
	return nw < 1 ? 1u : (uint32_t)nw;
}

/* Runs w[0..nw): w[0] on this thread, the rest on their own. */
static SB_RESULT run_workers(struct worker *w, uint32_t nw)
{
	uint32_t started = 1;

	for (uint32_t i = 1; i < nw; i++) {
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			break;
		started = i + 1;
	}
	worker_main(&w[0]);
	for (uint32_t i = 1; i < started; i++)
		pthread_join(w[i].thread, NULL);
	SB_ENSURE_MSG(started == nw, SB_ERR_INTERNAL, "could not start decrypt workers");
	for (uint32_t i = 0; i < nw; i++)
		SB_GUARD(w[i].rc);
	return SB_OK_RESULT;
}

/*
 * One slice of rows with conns connections, one KMS client per worker,
 * opened before any request. With first_alone (a document new to KMS) the
 * first item goes alone on worker 0's client (KMS verifies the document
 * once, and later requests find it verified: a small job would otherwise
 * have every request verify it at once), then the rest split into
 * contiguous ranges, one worker each. Each worker closes its client when
 * its range is done; all are closed on return.
 */
static sb_result decrypt_slice(const struct sb_enclave_job_io *io, uint32_t conns,
			       struct sb_job_cipher *items, size_t n, bool first_alone)
{
	struct worker w[MAX_WORKERS];
	size_t skip = first_alone ? 1 : 0;
	uint32_t nw = worker_count(conns, n > skip ? n - skip : 1);
	sb_result rc = SB_OK_RESULT;

	memset(w, 0, sizeof(w));
	for (uint32_t i = 0; i < nw && sb_ok(rc); i++) {
		w[i] = (struct worker){.io = io, .conns = sb_kms_split_share(conns, nw, i),
				       .rc = SB_OK_RESULT};
		rc = kms_for(io, &w[i].kms);
	}
	if (sb_ok(rc) && first_alone)
		rc = decrypt_range(io, w[0].kms, w[0].conns, items, 1);
	/* A permanent failure of the first item: the job stops there. */
	if (sb_ok(rc) && (!first_alone || sb_ok(items[0].status)) && n > skip) {
		for (uint32_t i = 0; i < nw; i++) {
			size_t off, len;
			sb_kms_split_range(n - skip, nw, i, &off, &len);
			w[i].items = items + skip + off;
			w[i].n = len;
		}
		rc = run_workers(w, nw);
	}
	for (uint32_t i = 0; i < nw; i++)
		sb_kms_free(w[i].kms);
	return rc;
}

/* Whether a row of items[0..n) failed for good (the job stops there). */
static bool slice_failed(const struct sb_job_cipher *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sb_ok(items[i].status))
			return true;
	return false;
}

/*
 * sb_job_io.decrypt: connections from the enclave's budget (never more in
 * flight than it allows, across all workers and jobs), in slices of
 * SB_ENCLAVE_SLICE_ROWS rows; between slices the job's credentials and
 * attestation document are renewed when due (job_refresh.c). After a failed
 * row the rest are not attempted.
 */
static sb_result job_decrypt(void *ctx, struct sb_job_cipher *items, size_t n)
{
	struct sb_enclave_job_io *io = ctx;
	struct sb_kms_budget *budget = &io->enclave->kms_budget;
	uint32_t conns, docs_seen = 0;
	size_t off = 0;
	sb_result rc = SB_OK_RESULT;

	if (n == 0)
		return SB_OK_RESULT;
	conns = sb_kms_budget_take(budget, n > SB_KMS_BUDGET_MAX ? SB_KMS_BUDGET_MAX : (uint32_t)n);
	while (off < n && sb_ok(rc)) {
		size_t m = n - off < SB_ENCLAVE_SLICE_ROWS ? n - off : SB_ENCLAVE_SLICE_ROWS;
		rc = sb_enclave_job_io_maintain(io);
		if (sb_ok(rc))
			rc = decrypt_slice(io, conns, items + off, m, io->docs != docs_seen);
		docs_seen = io->docs;
		off += m;
		if (sb_ok(rc) && slice_failed(items + off - m, m))
			break;
	}
	for (; sb_ok(rc) && off < n; off++) { /* after a failed row: not attempted */
		items[off].status = (sb_result){SB_ERR_HTTP_CANCELLED};
		items[off].skipped = true;
	}
	sb_kms_budget_give(budget, conns);
	return rc;
}

static sb_result job_attest(void *ctx, struct sb_slice user_data, struct sb_buf *doc)
{
	const struct sb_enclave_job_io *io = ctx;
	sb_result rc;

	pthread_mutex_lock(&io->enclave->nsm_lock);
	rc = sb_nsm_attestation(io->enclave->nsm, user_data, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
				doc);
	pthread_mutex_unlock(&io->enclave->nsm_lock);
	return rc;
}

struct sb_job_io sb_enclave_job_io(struct sb_enclave_job_io *io)
{
	return (struct sb_job_io){io, job_decrypt, job_unwrap, job_attest};
}
