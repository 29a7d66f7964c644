/*
 * Attest: a fresh attestation document on request, carrying the parent's
 * nonce (0..512 bytes), so anyone can check which code this enclave runs
 * (`sealbid attest request`) before trusting it with a job.
 */
#include "common/sb_log.h"
#include "enclave/enclave.h"

#define ATTEST_NONCE_MAX 512u /* the NSM's limit for nonce */

SB_RESULT sb_enclave_handle_attest(struct sb_server_request *req)
{
	struct sb_enclave_conn *c = req->conn_state;
	struct sb_enclave *e = c->enclave;
	struct sb_buf doc = SB_BUF_INIT(32768);
	sb_result r;

	SB_ENSURE_MSG(req->payload.len <= ATTEST_NONCE_MAX, SB_ERR_BAD_FRAME,
		      "Attest nonce of %zu bytes, maximum %u", req->payload.len, ATTEST_NONCE_MAX);
	if (e->nsm == NULL)
		return sb_server_reply_error(req, SB_ERR_ATTEST_NSM_UNAVAILABLE,
					     "this enclave has no NSM");
	pthread_mutex_lock(&e->nsm_lock);
	r = sb_nsm_attestation(e->nsm, SB_SLICE(NULL, 0),
			       req->payload.len > 0 ? req->payload : SB_SLICE(NULL, 0),
			       SB_SLICE(NULL, 0), &doc);
	pthread_mutex_unlock(&e->nsm_lock);
	if (sb_ok(r))
		r = sb_server_reply(req, SB_MSG_ATTEST, sb_buf_slice(&doc));
	else
		r = sb_server_reply_error(req, r.code, sb_error_describe());
	sb_buf_cleanup(&doc);
	return r;
}
