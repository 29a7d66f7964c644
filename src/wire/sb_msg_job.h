/*
 * Payloads of the job messages (docs/PROTOCOL.md, "Job messages"). All
 * integers big-endian; every parser is strict (lengths within bounds, no
 * trailing bytes).
 *
 * SetCredentials  u16 len + access key id | u16 len + secret access key |
 *                 u16 len + session token (0 = none) | u64 expiration (Unix ms, 0 = none)
 *     reply SetCredentials, empty payload.
 * BeginJob        the manifest JSON bytes (the whole payload), or, for one shard
 *                 of a sharded job, "\0SHD" | u32 shard index | the manifest JSON
 *                 (JSON never starts with a NUL byte, so both forms are unambiguous
 *                 and a parent that does not shard sends what it always sent)
 *     reply BeginJob, payload = the 48-byte manifest hash the enclave computed.
 * Input           u8 len + party name | u32 sequence (from 0, per party) |
 *                 u8 flags (bit 0: the party's last chunk) | chunk bytes
 *     reply Input, empty payload.
 * EndInputs       empty
 *     reply Result: u32 len + output.csv | u32 len + receipt JSON; or Error.
 * NeedCredentials (enclave -> parent, a partial response to the Input or
 *                 EndInputs in flight) u64 expiration of the current
 *                 credentials (Unix ms, 0 = unknown)
 *     the parent answers with a new SetCredentials request (any state after
 *     the handshake); the Input or EndInputs then completes as usual.
 */
#ifndef SB_MSG_JOB_H
#define SB_MSG_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_MSG_CRED_FIELD_MAX  8192
#define SB_MSG_PARTY_NAME_MAX  64
#define SB_MSG_INPUT_CHUNK_MAX (1u << 20)
#define SB_MSG_INPUT_LAST      0x01u
/*
 * Flow control for Input: the enclave acknowledges an Input only once it has
 * consumed the chunk, and the parent keeps at most SB_MSG_INPUT_WINDOW of
 * them unacknowledged, so neither side ever holds a whole input. A parent
 * that exceeds the window has its job dropped (an Error reply).
 */
#define SB_MSG_INPUT_WINDOW    16u

/* Credentials; the secret and token buffers are secret sb_bufs (wiped). */
struct sb_msg_creds {
	struct sb_buf access_key_id;
	struct sb_buf secret_access_key;
	struct sb_buf session_token;
	uint64_t expiration_ms;
};

void sb_msg_creds_init(struct sb_msg_creds *c);
void sb_msg_creds_cleanup(struct sb_msg_creds *c);
SB_RESULT sb_msg_creds_append(struct sb_buf *out, const struct sb_msg_creds *c);
SB_RESULT sb_msg_creds_parse(struct sb_slice in, struct sb_msg_creds *out);

#define SB_MSG_BEGIN_SHARD_MAGIC "\0SHD"
#define SB_MSG_BEGIN_SHARD_MAGIC_LEN 4

struct sb_msg_begin_job {
	struct sb_slice manifest; /* borrowed from the payload */
	bool has_shard;
	uint32_t shard;
};

/* shard NULL: the unsharded form (the manifest bytes alone). */
SB_RESULT sb_msg_begin_job_append(struct sb_buf *out, const uint32_t *shard,
				  struct sb_slice manifest);
SB_RESULT sb_msg_begin_job_parse(struct sb_slice in, struct sb_msg_begin_job *out);

/* NeedCredentials: exactly 8 bytes. */
#define SB_MSG_NEED_CREDENTIALS_LEN 8u
SB_RESULT sb_msg_need_creds_append(struct sb_buf *out, uint64_t expiration_ms);
SB_RESULT sb_msg_need_creds_parse(struct sb_slice in, uint64_t *expiration_ms);

struct sb_msg_input {
	struct sb_slice party; /* borrowed from the payload */
	uint32_t seq;
	bool last;
	struct sb_slice chunk; /* borrowed */
};

SB_RESULT sb_msg_input_append(struct sb_buf *out, const char *party, uint32_t seq, bool last,
			      struct sb_slice chunk);
SB_RESULT sb_msg_input_parse(struct sb_slice in, struct sb_msg_input *out);

/*
 * An output.csv longer than one frame comes as ResultPart responses (the
 * raw bytes, at most SB_MSG_RESULT_PART_MAX each, in order) followed by
 * the Result, whose output field holds the rest: the parent concatenates.
 * The parent bounds the total it accepts (SB_MSG_RESULT_OUTPUT_MAX).
 */
#define SB_MSG_RESULT_PART_MAX   (4u << 20)
#define SB_MSG_RESULT_OUTPUT_MAX (1u << 30)

/* Result: both slices borrowed from the payload. */
SB_RESULT sb_msg_result_append(struct sb_buf *out, struct sb_slice output, struct sb_slice receipt);
SB_RESULT sb_msg_result_parse(struct sb_slice in, struct sb_slice *output, struct sb_slice *receipt);

#endif
