/* Ping: a liveness and latency probe; the Pong echoes the payload unchanged. */
#include "enclave/enclave.h"

SB_RESULT sb_enclave_handle_ping(struct sb_server_request *req)
{
	SB_ENSURE_REF(req);
	SB_GUARD(sb_msg_ping_check(req->payload));
	return sb_server_reply(req, SB_MSG_PONG, req->payload);
}
