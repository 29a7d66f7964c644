/*
 * The NSM client: the same CBOR requests over /dev/nsm (ioctl) or over the
 * launcher's socket (u32 big-endian length + bytes per message).
 */
#include "attest/sb_nsm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common/sb_mem.h"
#include "common/sb_parse.h"

/*
 * aws-nitro-enclaves-nsm-api driver/mod.rs: "struct NsmMessage { request:
 * IoSlice, response: IoSliceMut }" (two iovecs, #[repr(C)]), passed with
 * request_code_readwrite!(NSM_IOCTL_MAGIC = 0x0A, 0, size_of NsmMessage).
 * The driver sets response.iov_len to the length it wrote.
 */
struct nsm_message {
	struct iovec request;
	struct iovec response;
};
#define NSM_IOCTL_MAGIC   0x0A
#define NSM_IOCTL_REQUEST _IOWR(NSM_IOCTL_MAGIC, 0, struct nsm_message)
_Static_assert(NSM_IOCTL_REQUEST == 0xC0200A00u, "NSM ioctl number");

#define NSM_FRAME_HEADER 4

struct sb_nsm {
	int fd;
	bool device;
};

static SB_RESULT nsm_wrap(int fd, bool device, struct sb_nsm **out)
{
	struct sb_nsm *nsm = NULL;
	sb_result rc = sb_calloc(1, sizeof(*nsm), (void **)&nsm);
	if (!sb_ok(rc)) {
		(void)close(fd);
		return rc;
	}
	nsm->fd = fd;
	nsm->device = device;
	*out = nsm;
	return SB_OK_RESULT;
}

SB_RESULT sb_nsm_open_socket(int fd, struct sb_nsm **out)
{
	SB_ENSURE_REF(out);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		if (fd >= 0)
			(void)close(fd);
		SB_BAIL_MSG(SB_ERR_ATTEST_NSM_UNAVAILABLE, "fd %d is not a socket", fd);
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC); /* the enclave's children must not inherit it */
	return nsm_wrap(fd, false, out);
}

SB_RESULT sb_nsm_open(struct sb_nsm **out)
{
	SB_ENSURE_REF(out);
	int fd = open(SB_NSM_DEVICE, O_RDWR | O_CLOEXEC);
	if (fd >= 0)
		return nsm_wrap(fd, true, out);
	SB_ENSURE_MSG(errno == ENOENT, SB_ERR_ATTEST_NSM_UNAVAILABLE, "%s: %s", SB_NSM_DEVICE,
	              strerror(errno));
	const char *env = getenv(SB_NSM_FD_ENV);
	SB_ENSURE_MSG(env != NULL, SB_ERR_ATTEST_NSM_UNAVAILABLE, "no %s and %s is not set",
	              SB_NSM_DEVICE, SB_NSM_FD_ENV);
	uint32_t n;
	SB_ENSURE_MSG(sb_ok(sb_parse_u32_str(env, 0, INT_MAX, &n)), SB_ERR_ATTEST_NSM_UNAVAILABLE,
	              "%s is not a file descriptor number", SB_NSM_FD_ENV);
	return sb_nsm_open_socket((int)n, out);
}

void sb_nsm_close(struct sb_nsm *nsm)
{
	if (nsm == NULL)
		return;
	(void)close(nsm->fd);
	free(nsm);
}

bool sb_nsm_is_device(const struct sb_nsm *nsm)
{
	return nsm != NULL && nsm->device;
}

/* ---- framing ---- */

static SB_RESULT send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL); /* a gone peer is an error, not SIGPIPE */
		if (w < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(w > 0, SB_ERR_SOCKET, "send: %s", w < 0 ? strerror(errno) : "0");
		p += w;
		n -= (size_t)w;
	}
	return SB_OK_RESULT;
}

/* Reads exactly n bytes; *got says how many arrived before EOF. */
static SB_RESULT recv_exact(int fd, uint8_t *p, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, p + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(r >= 0, SB_ERR_SOCKET, "read: %s", strerror(errno));
		if (r == 0)
			return SB_OK_RESULT;
		*got += (size_t)r;
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_nsm_frame_write(int fd, struct sb_slice msg)
{
	SB_ENSURE(msg.len > 0 && msg.len <= SB_NSM_RESPONSE_MAX, SB_ERR_ATTEST_NSM_FRAME);
	uint8_t hdr[NSM_FRAME_HEADER] = {(uint8_t)(msg.len >> 24), (uint8_t)(msg.len >> 16),
	                                 (uint8_t)(msg.len >> 8), (uint8_t)msg.len};
	SB_GUARD(send_all(fd, hdr, sizeof(hdr)));
	return send_all(fd, msg.ptr, msg.len);
}

SB_RESULT sb_nsm_frame_read(int fd, size_t max, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	uint8_t hdr[NSM_FRAME_HEADER];
	size_t got;
	sb_buf_reset(out);
	SB_GUARD(recv_exact(fd, hdr, sizeof(hdr), &got));
	SB_ENSURE(got > 0, SB_ERR_CLOSED);
	SB_ENSURE_MSG(got == sizeof(hdr), SB_ERR_ATTEST_NSM_FRAME, "truncated frame header");
	uint32_t len =
	    (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	SB_ENSURE_MSG(len > 0 && len <= max, SB_ERR_ATTEST_NSM_FRAME,
	              "frame of %u bytes, allowed 1..%zu", len, max);
	SB_GUARD(sb_buf_reserve(out, len));
	SB_GUARD(recv_exact(fd, sb_buf_tail(out), len, &got));
	SB_ENSURE_MSG(got == len, SB_ERR_ATTEST_NSM_FRAME, "frame truncated at %zu of %u", got,
	              len);
	return sb_buf_commit(out, len);
}

/* ---- requests ---- */

static SB_RESULT roundtrip_device(struct sb_nsm *nsm, struct sb_slice request, struct sb_buf *resp)
{
	SB_GUARD(sb_buf_reserve(resp, SB_NSM_RESPONSE_MAX));
	struct nsm_message msg = {
	    .request = {.iov_base = (void *)(uintptr_t)request.ptr, .iov_len = request.len},
	    .response = {.iov_base = sb_buf_tail(resp), .iov_len = SB_NSM_RESPONSE_MAX},
	};
	int r;
	do {
		r = ioctl(nsm->fd, NSM_IOCTL_REQUEST, &msg);
	} while (r < 0 && errno == EINTR);
	SB_ENSURE_MSG(r == 0, SB_ERR_ATTEST_NSM_ERROR, "ioctl: %s", strerror(errno));
	SB_ENSURE(msg.response.iov_len <= SB_NSM_RESPONSE_MAX, SB_ERR_ATTEST_NSM_MESSAGE);
	return sb_buf_commit(resp, resp->len + msg.response.iov_len);
}

SB_RESULT sb_nsm_roundtrip(struct sb_nsm *nsm, struct sb_slice request, struct sb_buf *resp)
{
	SB_ENSURE_REF(nsm);
	SB_ENSURE_REF(resp);
	/* driver/mod.rs: "if cbor_request.len() > NSM_REQUEST_MAX_SIZE ... InputTooLarge". */
	SB_ENSURE_MSG(request.len > 0 && request.len <= SB_NSM_REQUEST_MAX, SB_ERR_TOO_LARGE,
	              "NSM request of %zu bytes", request.len);
	if (nsm->device)
		return roundtrip_device(nsm, request, resp);
	SB_GUARD(sb_nsm_frame_write(nsm->fd, request));
	struct sb_buf frame = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	sb_result rc = sb_nsm_frame_read(nsm->fd, SB_NSM_RESPONSE_MAX, &frame);
	if (sb_ok(rc))
		rc = sb_buf_append_slice(resp, sb_buf_slice(&frame));
	sb_buf_cleanup(&frame);
	return rc;
}

/* Sends request and decodes the answer, which must be of kind `want`. */
static SB_RESULT call(struct sb_nsm *nsm, struct sb_slice request, enum sb_nsm_resp_kind want,
                      struct sb_nsm_response *resp)
{
	struct sb_buf raw = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	raw.secret = resp->data.secret;
	sb_result rc = sb_nsm_roundtrip(nsm, request, &raw);
	if (sb_ok(rc))
		rc = sb_nsm_response_decode(sb_buf_slice(&raw), resp);
	sb_buf_cleanup(&raw);
	SB_GUARD(rc);
	SB_ENSURE_MSG(resp->kind != SB_NSM_RESP_ERROR, SB_ERR_ATTEST_NSM_ERROR, "%s",
	              sb_nsm_error_name(resp->error));
	SB_ENSURE_MSG(resp->kind == want, SB_ERR_ATTEST_NSM_MESSAGE,
	              "response does not answer the request");
	return SB_OK_RESULT;
}

SB_RESULT sb_nsm_attestation(struct sb_nsm *nsm, struct sb_slice user_data, struct sb_slice nonce,
                             struct sb_slice public_key, struct sb_buf *doc)
{
	SB_ENSURE_REF(doc);
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	struct sb_nsm_response resp;
	sb_nsm_response_init(&resp);
	sb_result rc;
	SB_GUARD_GOTO(rc, sb_nsm_encode_attestation(user_data, nonce, public_key, &req), out);
	SB_GUARD_GOTO(rc, call(nsm, sb_buf_slice(&req), SB_NSM_RESP_ATTESTATION, &resp), out);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(doc, sb_buf_slice(&resp.data)), out);
out:
	sb_nsm_response_cleanup(&resp);
	sb_buf_cleanup(&req);
	return rc;
}

SB_RESULT sb_nsm_describe_pcr(struct sb_nsm *nsm, uint16_t index, bool *locked,
                              struct sb_attest_pcr *pcr)
{
	SB_ENSURE_REF(locked);
	SB_ENSURE_REF(pcr);
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	struct sb_nsm_response resp;
	sb_nsm_response_init(&resp);
	sb_result rc;
	SB_GUARD_GOTO(rc, sb_nsm_encode_describe_pcr(index, &req), out);
	SB_GUARD_GOTO(rc, call(nsm, sb_buf_slice(&req), SB_NSM_RESP_DESCRIBE_PCR, &resp), out);
	size_t n = resp.data.len;
	if (n != 32 && n != 48 && n != 64)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_ATTEST_NSM_MESSAGE, out, "PCR of %zu bytes", n);
	memcpy(pcr->value, resp.data.data, n);
	pcr->len = (uint8_t)n;
	pcr->present = true;
	*locked = resp.lock;
out:
	sb_nsm_response_cleanup(&resp);
	sb_buf_cleanup(&req);
	return rc;
}

SB_RESULT sb_nsm_get_random(struct sb_nsm *nsm, void *out, size_t n)
{
	SB_ENSURE(out != NULL || n == 0, SB_ERR_NULL);
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	SB_GUARD(sb_nsm_encode_get_random(&req));
	uint8_t *dst = out;
	size_t done = 0;
	sb_result rc = SB_OK_RESULT;
	while (sb_ok(rc) && done < n) {
		struct sb_nsm_response resp;
		sb_nsm_response_init(&resp);
		resp.data.secret = true; /* entropy: wiped on release */
		rc = call(nsm, sb_buf_slice(&req), SB_NSM_RESP_GET_RANDOM, &resp);
		if (sb_ok(rc) && resp.data.len == 0)
			rc =
			    sb_error_recordf(SB_ERR_ATTEST_NSM_MESSAGE, SB_HERE, "no random bytes");
		if (sb_ok(rc)) {
			size_t take = resp.data.len < n - done ? resp.data.len : n - done;
			memcpy(dst + done, resp.data.data, take);
			done += take;
		}
		sb_nsm_response_cleanup(&resp);
	}
	sb_buf_cleanup(&req);
	return rc;
}
