/*
 * A bridge from an in-process Unix socket to one vsock (cid, port), for
 * libcurl older than 8.0, which cannot use a pre-connected socket
 * (CURL_SOCKOPT_ALREADY_CONNECTED; curl issue #10626) and cannot name an
 * AF_VSOCK peer. curl then connects to the bridge with
 * CURLOPT_UNIX_SOCKET_PATH (URL, Host, TLS and SNI unchanged), and each
 * connection is relayed byte for byte to a fresh sb_vsock_connect(cid, port)
 * — so the same code works in a real enclave and over the Unix mapping.
 *
 * The socket lives in a private 0700 directory made with mkdtemp under /tmp
 * (not the abstract namespace: libcurl 7.88 never reuses connections to
 * abstract sockets), removed at exit. One bridge per process and
 * (cid, port), started on first use and kept for the process's life; each
 * relayed connection runs on its own detached thread.
 */
#ifndef SB_VSOCK_BRIDGE_H
#define SB_VSOCK_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_result.h"

#define SB_VSOCK_BRIDGE_NAME_MAX 96

/* Starts the bridge for (cid, port) if needed; out gets its socket path. */
SB_RESULT sb_vsock_bridge_name(uint32_t cid, uint32_t port, char out[SB_VSOCK_BRIDGE_NAME_MAX]);

/*
 * The last vsock connect failure of that bridge, if any since the last call
 * (then true and out filled): the bridge can only close curl's side, so
 * this tells the caller why.
 */
bool sb_vsock_bridge_take_error(uint32_t cid, uint32_t port, char *out, size_t n);

#endif
