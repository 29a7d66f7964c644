/*
 * Frames of the parent<->enclave channel (docs/PROTOCOL.md §3).
 *
 * Every frame is a 16-byte big-endian header followed by the payload:
 *
 *   offset 0  u32 magic    SB_FRAME_MAGIC ("SBID")
 *   offset 4  u8  version  SB_FRAME_VERSION (the framing version, 1)
 *   offset 5  u8  flags    SB_FRAME_FLAG_* (unknown bits are rejected)
 *   offset 6  u16 type     message type (sb_msg.h)
 *   offset 8  u32 length   payload length, at most the receiver's maximum
 *   offset 12 u32 id       request id; a response carries its request's id
 *
 * The frame layer knows nothing about message types: it checks the header
 * and the length, and the length is checked against the named maximum
 * before any memory is reserved for the payload.
 */
#ifndef SB_FRAME_H
#define SB_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_FRAME_MAGIC       0x53424944u /* "SBID" */
#define SB_FRAME_VERSION     1u
#define SB_FRAME_HEADER_LEN  16u
#define SB_FRAME_MAX_PAYLOAD (16u * 1024u * 1024u)

/* The frame answers the request with the same id. */
#define SB_FRAME_FLAG_RESPONSE 0x01u
#define SB_FRAME_FLAGS_KNOWN   (SB_FRAME_FLAG_RESPONSE)

struct sb_frame_header {
	uint32_t magic;
	uint8_t version;
	uint8_t flags;
	uint16_t type;
	uint32_t length;
	uint32_t id;
};

/* A decoded frame; payload is borrowed from whatever was parsed. */
struct sb_frame {
	uint8_t flags;
	uint16_t type;
	uint32_t id;
	struct sb_slice payload;
};

/*
 * Parses exactly SB_FRAME_HEADER_LEN bytes: magic, version, flags, and
 * length <= max_payload (0 means SB_FRAME_MAX_PAYLOAD). Errors:
 * SB_ERR_TRUNCATED / SB_ERR_TRAILING (wrong size), SB_ERR_WIRE_BAD_MAGIC,
 * SB_ERR_WIRE_BAD_VERSION, SB_ERR_WIRE_BAD_FLAGS, SB_ERR_WIRE_OVERSIZE.
 */
SB_RESULT sb_frame_header_parse(struct sb_slice in, size_t max_payload,
				struct sb_frame_header *out);

/* Parses exactly one whole frame; out->payload borrows from in. */
SB_RESULT sb_frame_parse(struct sb_slice in, size_t max_payload, struct sb_frame *out);

/*
 * Appends one frame (header + payload) to out. Payloads longer than
 * SB_FRAME_MAX_PAYLOAD and unknown flags are refused (SB_ERR_WIRE_OVERSIZE,
 * SB_ERR_WIRE_BAD_FLAGS); out is unchanged on error.
 */
SB_RESULT sb_frame_append(struct sb_buf *out, uint16_t type, uint8_t flags, uint32_t id,
			  struct sb_slice payload);

/*
 * Incremental decoder for a byte stream: feed bytes (or read into the space
 * it offers), then take complete frames one by one. The header is checked
 * as soon as its 16 bytes have arrived, so a bad or oversize header fails
 * before the payload is buffered. After an error the decoder stays failed.
 */
struct sb_frame_decoder {
	struct sb_buf buf;   /* owned: bytes received and not yet taken */
	size_t pos;          /* start of the first byte not yet taken */
	size_t max_payload;
	int error;           /* sticky error code, SB_OK while healthy */
};

/* max_payload 0 means SB_FRAME_MAX_PAYLOAD. */
void sb_frame_decoder_init(struct sb_frame_decoder *d, size_t max_payload);
void sb_frame_decoder_cleanup(struct sb_frame_decoder *d);

/*
 * Offers room for up to want bytes at the end of the buffer (after dropping
 * frames already taken, which invalidates their payload slices). Out: where
 * to write and how much room there is (> 0). Then call _commit with the
 * number of bytes written.
 */
SB_RESULT sb_frame_decoder_space(struct sb_frame_decoder *d, size_t want, uint8_t **out_ptr,
				 size_t *out_len);
SB_RESULT sb_frame_decoder_commit(struct sb_frame_decoder *d, size_t n);
/* Copies n bytes in (space + commit). */
SB_RESULT sb_frame_decoder_feed(struct sb_frame_decoder *d, const void *p, size_t n);

/*
 * Takes the next complete frame. *out_have is false when more bytes are
 * needed. out->payload borrows the decoder's memory until the next call to
 * _space, _feed or _cleanup.
 */
SB_RESULT sb_frame_decoder_next(struct sb_frame_decoder *d, struct sb_frame *out, bool *out_have);

/* Bytes buffered but not yet a complete frame (non-zero at EOF means truncation). */
size_t sb_frame_decoder_pending(const struct sb_frame_decoder *d);

/*
 * At end of stream: fails with SB_ERR_TRUNCATED (detail says header or
 * payload) when a partial frame is buffered.
 */
SB_RESULT sb_frame_decoder_finish(const struct sb_frame_decoder *d);

#endif
