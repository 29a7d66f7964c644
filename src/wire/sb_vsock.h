/*
 * The parent<->enclave transport: stream sockets addressed by (cid, port).
 *
 * In production these are AF_VSOCK sockets (the enclave listens on a port,
 * the parent connects to the enclave's CID). When the environment variable
 * SEALBID_VSOCK_DIR is set, the same calls use Unix stream sockets at
 * "$SEALBID_VSOCK_DIR/<cid>.<port>" instead, and a listener takes its own
 * CID from SEALBID_VSOCK_CID. Nothing outside this file knows which one is
 * in use (DESIGN.md §4: "Nothing else in the code knows which one is used").
 *
 * Every descriptor returned is blocking, close-on-exec, and owned by the
 * caller (close it).
 */
#ifndef SB_VSOCK_H
#define SB_VSOCK_H

#include <stdint.h>

#include "common/sb_result.h"

#define SB_VSOCK_ENV_DIR "SEALBID_VSOCK_DIR"
#define SB_VSOCK_ENV_CID "SEALBID_VSOCK_CID"
/* The enclave's default service port (DESIGN.md §4). */
#define SB_VSOCK_DEFAULT_PORT 5005u

/*
 * Listens on port of the own CID (AF_VSOCK: VMADDR_CID_ANY). In Unix mode a
 * stale socket file at the path is removed first; any other kind of file
 * there is an error (SB_ERR_EXISTS). Out: the listening fd (caller closes).
 */
SB_RESULT sb_vsock_listen(uint32_t port, int *out_fd);

/* Connects to (cid, port). Out: the connected fd (caller closes). */
SB_RESULT sb_vsock_connect(uint32_t cid, uint32_t port, int *out_fd);

#endif
