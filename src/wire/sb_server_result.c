/*
 * Posting a job's Result (docs/PROTOCOL.md, "Result"): an output.csv longer
 * than SB_MSG_RESULT_PART_MAX goes ahead in ResultPart responses, and the
 * Result carries the rest and the receipt, so no frame passes the limit.
 */
#include "wire/sb_msg.h"
#include "wire/sb_msg_job.h"
#include "wire/sb_server.h"

SB_RESULT sb_server_post_result(struct sb_server *s, uint64_t conn_id, uint32_t req_id,
				struct sb_slice output, struct sb_slice receipt)
{
	struct sb_buf msg = SB_BUF_INIT(SB_MSG_RESULT_PART_MAX + receipt.len + 64);
	size_t off = 0;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_MSG(output.len <= SB_MSG_RESULT_OUTPUT_MAX, SB_ERR_TOO_LARGE,
		      "output.csv is over %u bytes", SB_MSG_RESULT_OUTPUT_MAX);
	while (output.len - off > SB_MSG_RESULT_PART_MAX) {
		SB_GUARD(sb_server_post(s, conn_id, req_id, SB_MSG_RESULT_PART,
					SB_SLICE(output.ptr + off, SB_MSG_RESULT_PART_MAX)));
		off += SB_MSG_RESULT_PART_MAX;
	}
	SB_GUARD_GOTO(rc,
		      sb_msg_result_append(&msg, SB_SLICE(output.ptr + off, output.len - off),
					   receipt),
		      out);
	rc = sb_server_post(s, conn_id, req_id, SB_MSG_RESULT, sb_buf_slice(&msg));
out:
	sb_buf_cleanup(&msg);
	return rc;
}
