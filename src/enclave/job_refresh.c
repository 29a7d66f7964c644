/*
 * Long jobs: a job's credentials and attestation document are renewed
 * between slices of rows (docs/PROTOCOL.md §6.6).
 *
 * Credentials: when less than the margin is left, the job asks the parent
 * once (NeedCredentials, through io->need_creds) and swaps the answer into
 * the KMS clients' provider. Attestation: the NSM's signing certificate
 * expires (about 3 hours on AWS), so at half the certificate's remaining
 * life a new document is requested for the same public key.
 */
#include <string.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_log.h"
#include "common/sb_time.h"
#include "crypto/sb_x509.h"
#include "enclave/enclave.h"

void sb_enclave_job_io_note_creds(struct sb_enclave_job_io *io, uint64_t expiration_ms)
{
	uint64_t now = sb_time_now_ms(), life;

	io->creds_exp_ms = expiration_ms;
	io->creds_asked = false;
	life = expiration_ms > now ? expiration_ms - now : 0;
	io->creds_margin_ms = life / 2 < SB_ENCLAVE_CREDS_MARGIN_MS ? life / 2
								     : SB_ENCLAVE_CREDS_MARGIN_MS;
}

SB_RESULT sb_enclave_job_io_set_creds(struct sb_enclave_job_io *io,
				      const struct sb_msg_creds *creds)
{
	struct sb_aws_creds ac;
	sb_result rc;

	SB_ENSURE(io != NULL && creds != NULL, SB_ERR_NULL);
	sb_aws_creds_init(&ac);
	SB_GUARD_GOTO(rc, sb_aws_creds_set(&ac, sb_buf_slice(&creds->access_key_id),
					   sb_buf_slice(&creds->secret_access_key),
					   sb_buf_slice(&creds->session_token), creds->expiration_ms),
		      out);
	SB_GUARD_GOTO(rc, sb_creds_provider_replace(io->creds, &ac), out);
	sb_enclave_job_io_note_creds(io, creds->expiration_ms);
	sb_log_info("job: fresh AWS credentials (access key id %s)", ac.access_key_id);
out:
	sb_aws_creds_cleanup(&ac);
	return rc;
}

SB_RESULT sb_enclave_job_io_note_doc(struct sb_enclave_job_io *io)
{
	struct sb_attest_doc *doc = NULL;
	struct sb_x509 *leaf = NULL;
	int64_t not_before, not_after;
	uint64_t ts, end, now = sb_time_now_ms();
	sb_result rc;

	SB_GUARD(sb_attest_doc_parse(sb_buf_slice(&io->doc), &doc));
	SB_GUARD_GOTO(rc, sb_x509_from_der(sb_buf_slice(&doc->certificate), &leaf), out);
	SB_GUARD_GOTO(rc, sb_x509_validity(leaf, &not_before, &not_after), out);
	ts = doc->timestamp_ms != 0 ? doc->timestamp_ms : now;
	end = not_after > 0 ? (uint64_t)not_after * 1000u : 0;
	/* Half the certificate's remaining life (a spare document made long ago may be
	 * due at once: _maintain renews it); one already expired is retried in 1 s. */
	io->doc_refresh_ms = end > ts ? ts + (end - ts) / 2 : now + 1000;
	io->docs++;
	sb_log_info("job: attestation document %u, certificate valid for %lld s more, renewed "
		    "in %lld s", io->docs, end > now ? (long long)((end - now) / 1000) : 0LL,
		    io->doc_refresh_ms > now ? (long long)((io->doc_refresh_ms - now) / 1000) : 0LL);
out:
	sb_x509_free(leaf);
	sb_attest_doc_free(doc);
	if (!sb_ok(rc))
		sb_error_context("the job's attestation document");
	return rc;
}

/* A new document for the job's public key (the key pair stays). */
static SB_RESULT renew_doc(struct sb_enclave_job_io *io)
{
	struct sb_buf spki = SB_BUF_INIT(SB_RSA_MAX_SPKI_DER_LEN);
	struct sb_buf fresh = SB_BUF_INIT(io->doc.max);
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_rsa_key_public_der(io->key, &spki), out);
	pthread_mutex_lock(&io->enclave->nsm_lock);
	rc = sb_nsm_attestation(io->enclave->nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
				sb_buf_slice(&spki), &fresh);
	pthread_mutex_unlock(&io->enclave->nsm_lock);
	SB_GUARD_GOTO(rc, rc, out);
	sb_buf_move(&io->doc, &fresh);
	rc = sb_enclave_job_io_note_doc(io);
out:
	if (!sb_ok(rc))
		sb_error_context("renewing the job's attestation document");
	sb_buf_cleanup(&fresh);
	sb_buf_cleanup(&spki);
	return rc;
}

SB_RESULT sb_enclave_job_io_maintain(struct sb_enclave_job_io *io)
{
	uint64_t now = sb_time_now_ms();

	SB_ENSURE_REF(io);
	if (io->creds_exp_ms != 0 && now + io->creds_margin_ms >= io->creds_exp_ms) {
		if (!io->creds_asked && io->need_creds != NULL) {
			io->creds_asked = true; /* once per set of credentials */
			sb_result r = io->need_creds(io->need_ctx, io);
			if (!sb_ok(r)) {
				sb_log_warn("job: no fresh AWS credentials: %s", sb_error_describe());
				sb_error_clear();
			}
			now = sb_time_now_ms();
		}
		SB_ENSURE_MSG(io->creds_exp_ms == 0 || now < io->creds_exp_ms,
			      SB_ERR_AWS_CREDENTIALS_EXPIRE,
			      "the job's AWS credentials expired and the parent sent no fresh ones");
	}
	if (io->doc_refresh_ms != 0 && now >= io->doc_refresh_ms)
		SB_GUARD(renew_doc(io));
	return SB_OK_RESULT;
}
