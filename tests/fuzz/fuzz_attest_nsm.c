/*
 * Fuzz target: the NSM message decoders (sb_nsm_request_decode, what the
 * emulated NSM reads from the enclave; sb_nsm_response_decode, what the
 * enclave reads from the NSM). A request that decodes must re-encode and
 * decode to the same request.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/sb_nsm_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sb_slice opt(const struct sb_attest_opt *o)
{
	if (!o->present)
		return SB_SLICE(NULL, 0);
	return o->value.len > 0 ? sb_buf_slice(&o->value) : SB_SLICE("", 0);
}

static void check_request_roundtrip(const struct sb_nsm_request *req)
{
	struct sb_buf enc = SB_BUF_INIT(2 * SB_NSM_REQUEST_MAX);
	struct sb_nsm_request again;
	sb_result rc;
	switch (req->op) {
	case SB_NSM_OP_ATTESTATION:
		rc = sb_nsm_encode_attestation(opt(&req->user_data), opt(&req->nonce),
		                               opt(&req->public_key), &enc);
		break;
	case SB_NSM_OP_DESCRIBE_PCR:
		rc = sb_nsm_encode_describe_pcr(req->pcr_index, &enc);
		break;
	case SB_NSM_OP_GET_RANDOM:
		rc = sb_nsm_encode_get_random(&enc);
		break;
	case SB_NSM_OP_UNSUPPORTED:
	default:
		sb_buf_cleanup(&enc);
		return;
	}
	sb_nsm_request_init(&again);
	if (!sb_ok(rc) || !sb_ok(sb_nsm_request_decode(sb_buf_slice(&enc), &again)) ||
	    again.op != req->op || again.pcr_index != req->pcr_index ||
	    again.nonce.present != req->nonce.present ||
	    again.nonce.value.len != req->nonce.value.len)
		__builtin_trap();
	sb_nsm_request_cleanup(&again);
	sb_buf_cleanup(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_nsm_request req;
	struct sb_nsm_response resp;

	sb_nsm_request_init(&req);
	if (sb_ok(sb_nsm_request_decode(SB_SLICE(data, size), &req)))
		check_request_roundtrip(&req);
	sb_nsm_request_cleanup(&req);
	sb_nsm_response_init(&resp);
	sb_result rc = sb_nsm_response_decode(SB_SLICE(data, size), &resp);
	(void)rc; /* any outcome is fine; only crashes and leaks are bugs */
	sb_nsm_response_cleanup(&resp);
	sb_error_clear();
	return 0;
}
