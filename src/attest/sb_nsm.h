/*
 * The NSM client the enclave uses. One API, two transports, chosen once by
 * sb_nsm_open:
 *  - /dev/nsm present: the real Nitro Secure Module, one ioctl per request
 *    (NSM_IOCTL = _IOWR(0x0A, 0, struct { struct iovec request, response; })
 *    = 0xC0200A00; request <= 4 KiB, response <= 12 KiB);
 *  - otherwise SEALBID_NSM_FD=<fd>: a connected stream socket handed over by
 *    the local launcher (`sealbid enclave run`), carrying the SAME CBOR
 *    request/response bytes, each framed as a u32 big-endian length + bytes.
 * Requests are built and responses read by the same code (sb_nsm_msg.h) for
 * both. A struct sb_nsm is not thread-safe: one request at a time.
 */
#ifndef SB_NSM_H
#define SB_NSM_H

#include <stdbool.h>
#include <stdint.h>

#include "attest/sb_nsm_msg.h"
#include "common/sb_buf.h"

#define SB_NSM_DEVICE "/dev/nsm"
#define SB_NSM_FD_ENV "SEALBID_NSM_FD"

struct sb_nsm;

/*
 * Opens the NSM: /dev/nsm if it exists, else the socket in SEALBID_NSM_FD
 * (the fd is then owned by the handle). SB_ERR_ATTEST_NSM_UNAVAILABLE when
 * neither is there. Caller closes with sb_nsm_close.
 */
SB_RESULT sb_nsm_open(struct sb_nsm **out);
/* Uses fd (a connected stream socket to an emulated NSM); takes fd. */
SB_RESULT sb_nsm_open_socket(int fd, struct sb_nsm **out);
/* Closes the device/socket and frees; NULL-safe. */
void sb_nsm_close(struct sb_nsm *nsm);
/* True when talking to the real /dev/nsm. */
bool sb_nsm_is_device(const struct sb_nsm *nsm);

/*
 * Asks for an attestation document. Each slice is borrowed; ptr == NULL
 * means "not given" (null). Limits: user_data, nonce <= 512 bytes,
 * public_key <= 1024. The document (COSE_Sign1 bytes) is appended to doc.
 * An NSM error reply is SB_ERR_ATTEST_NSM_ERROR with the NSM's code name in
 * the detail.
 */
SB_RESULT sb_nsm_attestation(struct sb_nsm *nsm, struct sb_slice user_data, struct sb_slice nonce,
                             struct sb_slice public_key, struct sb_buf *doc);
/* Reads PCR index: value (32/48/64 bytes) into pcr, its lock state into *locked. */
SB_RESULT sb_nsm_describe_pcr(struct sb_nsm *nsm, uint16_t index, bool *locked,
                              struct sb_attest_pcr *pcr);
/* Fills out with n bytes of NSM entropy (as many GetRandom calls as needed). */
SB_RESULT sb_nsm_get_random(struct sb_nsm *nsm, void *out, size_t n);

/*
 * One raw round trip (request bytes -> response bytes appended to resp);
 * the building block of the calls above, exposed for tests and tools.
 */
SB_RESULT sb_nsm_roundtrip(struct sb_nsm *nsm, struct sb_slice request, struct sb_buf *resp);

/* The socket framing, shared with the emulated server (src/host/sb_nsm_emu.c). */
/* Writes u32 BE length + msg to fd (msg <= SB_NSM_RESPONSE_MAX). */
SB_RESULT sb_nsm_frame_write(int fd, struct sb_slice msg);
/*
 * Reads one frame from fd into out (reset first); a length above max is
 * SB_ERR_ATTEST_NSM_FRAME before anything is allocated. A clean EOF before
 * the first byte of a frame is SB_ERR_CLOSED.
 */
SB_RESULT sb_nsm_frame_read(int fd, size_t max, struct sb_buf *out);

#endif
