/*
 * NSM request/response messages (CBOR), shared by the NSM client (both
 * transports) and the emulated NSM server. Shapes follow
 * aws-nitro-enclaves-nsm-api src/api/mod.rs (serde's externally tagged
 * enums):
 *
 *   {"Attestation": {"user_data": bstr/null, "nonce": bstr/null, "public_key": bstr/null}}
 *   {"DescribePCR": {"index": u16}}
 *   "GetRandom"
 *   -> {"Attestation": {"document": bstr}}
 *   -> {"DescribePCR": {"lock": bool, "data": bstr}}
 *   -> {"GetRandom": {"random": bstr}}
 *   -> {"Error": "InvalidArgument" | "InvalidIndex" | ...}
 *
 * Decoding is strict (exact shapes, no duplicate/unknown keys, no trailing
 * bytes, bounded sizes). Encoded messages are appended to a caller buffer.
 */
#ifndef SB_NSM_MSG_H
#define SB_NSM_MSG_H

#include <stdbool.h>
#include <stdint.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_buf.h"

/* driver/mod.rs: NSM_REQUEST_MAX_SIZE 0x1000, NSM_RESPONSE_MAX_SIZE 0x3000. */
#define SB_NSM_REQUEST_MAX  4096
#define SB_NSM_RESPONSE_MAX 12288
/* What the NSM returns per GetRandom (the emulator's answer size too). */
#define SB_NSM_RANDOM_CHUNK 256

enum sb_nsm_op {
	SB_NSM_OP_ATTESTATION = 1,
	SB_NSM_OP_DESCRIBE_PCR,
	SB_NSM_OP_GET_RANDOM,
	/* Well-formed requests this project never sends (ExtendPCR, LockPCR,
	 * LockPCRs, DescribeNSM): decoded so a server can answer InvalidOperation. */
	SB_NSM_OP_UNSUPPORTED,
};

/* api/mod.rs ErrorCode, in its order. */
enum sb_nsm_error {
	SB_NSM_E_SUCCESS = 0,
	SB_NSM_E_INVALID_ARGUMENT,
	SB_NSM_E_INVALID_INDEX,
	SB_NSM_E_INVALID_RESPONSE,
	SB_NSM_E_READ_ONLY_INDEX,
	SB_NSM_E_INVALID_OPERATION,
	SB_NSM_E_BUFFER_TOO_SMALL,
	SB_NSM_E_INPUT_TOO_LARGE,
	SB_NSM_E_INTERNAL_ERROR,
};
/* "InvalidArgument" etc.; "Unknown" for out-of-range values. */
const char *sb_nsm_error_name(enum sb_nsm_error e);

/* A decoded request; owns its buffers: sb_nsm_request_init / _cleanup. */
struct sb_nsm_request {
	enum sb_nsm_op op;
	uint16_t pcr_index;              /* DescribePCR */
	struct sb_attest_opt user_data;  /* Attestation: <= SB_ATTEST_USER_DATA_MAX */
	struct sb_attest_opt nonce;      /* Attestation: <= SB_ATTEST_NONCE_MAX */
	struct sb_attest_opt public_key; /* Attestation: <= SB_ATTEST_PUBLIC_KEY_MAX */
};

enum sb_nsm_resp_kind {
	SB_NSM_RESP_ATTESTATION = 1,
	SB_NSM_RESP_DESCRIBE_PCR,
	SB_NSM_RESP_GET_RANDOM,
	SB_NSM_RESP_ERROR,
};

/* A decoded response; owns data: sb_nsm_response_init / _cleanup. */
struct sb_nsm_response {
	enum sb_nsm_resp_kind kind;
	struct sb_buf data;      /* document, PCR value or random bytes */
	bool lock;               /* DescribePCR */
	enum sb_nsm_error error; /* Error */
};

void sb_nsm_request_init(struct sb_nsm_request *req);
void sb_nsm_request_cleanup(struct sb_nsm_request *req);
void sb_nsm_response_init(struct sb_nsm_response *resp);
void sb_nsm_response_cleanup(struct sb_nsm_response *resp);

/*
 * Request encoders (append to out). A slice with ptr == NULL is encoded as
 * null; a non-NULL slice (even of length 0) as a bstr. Sizes are checked
 * against the NSM's limits (SB_ERR_ATTEST_FIELD_SIZE).
 */
SB_RESULT sb_nsm_encode_attestation(struct sb_slice user_data, struct sb_slice nonce,
                                    struct sb_slice public_key, struct sb_buf *out);
SB_RESULT sb_nsm_encode_describe_pcr(uint16_t index, struct sb_buf *out);
SB_RESULT sb_nsm_encode_get_random(struct sb_buf *out);
/* Borrows in; fills req (init'ed by the caller). SB_ERR_ATTEST_NSM_MESSAGE on bad shape. */
SB_RESULT sb_nsm_request_decode(struct sb_slice in, struct sb_nsm_request *req);

/* Response encoders (append to out). */
SB_RESULT sb_nsm_encode_attestation_resp(struct sb_slice document, struct sb_buf *out);
SB_RESULT sb_nsm_encode_describe_pcr_resp(bool lock, struct sb_slice data, struct sb_buf *out);
SB_RESULT sb_nsm_encode_get_random_resp(struct sb_slice random, struct sb_buf *out);
SB_RESULT sb_nsm_encode_error(enum sb_nsm_error e, struct sb_buf *out);
/* Borrows in; fills resp (init'ed by the caller). SB_ERR_ATTEST_NSM_MESSAGE on bad shape. */
SB_RESULT sb_nsm_response_decode(struct sb_slice in, struct sb_nsm_response *resp);

#endif
