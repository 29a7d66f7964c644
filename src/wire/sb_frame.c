/* Frame header codec and stream decoder (see sb_frame.h, docs/PROTOCOL.md §3). */
#include "wire/sb_frame.h"

#include <string.h>

/* Room offered beyond one maximal frame so the next frame's start can arrive with it. */
#define SB_FRAME_READ_SLACK (64u * 1024u)
/* A decoder that once held a large frame gives the memory back when it drains. */
#define SB_FRAME_KEEP_CAP (1024u * 1024u)

static size_t effective_max(size_t max_payload)
{
	return max_payload == 0 || max_payload > SB_FRAME_MAX_PAYLOAD ? SB_FRAME_MAX_PAYLOAD
								       : max_payload;
}

SB_RESULT sb_frame_header_parse(struct sb_slice in, size_t max_payload,
				struct sb_frame_header *out)
{
	struct sb_reader r;
	struct sb_frame_header h;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len >= SB_FRAME_HEADER_LEN, SB_ERR_TRUNCATED,
		      "frame header has %zu of %u bytes", in.len, SB_FRAME_HEADER_LEN);
	sb_reader_init(&r, in);
	SB_GUARD(sb_reader_be32(&r, &h.magic));
	SB_GUARD(sb_reader_u8(&r, &h.version));
	SB_GUARD(sb_reader_u8(&r, &h.flags));
	SB_GUARD(sb_reader_be16(&r, &h.type));
	SB_GUARD(sb_reader_be32(&r, &h.length));
	SB_GUARD(sb_reader_be32(&r, &h.id));
	SB_GUARD(sb_reader_end(&r));
	SB_ENSURE_MSG(h.magic == SB_FRAME_MAGIC, SB_ERR_WIRE_BAD_MAGIC, "magic 0x%08x", h.magic);
	SB_ENSURE_MSG(h.version == SB_FRAME_VERSION, SB_ERR_WIRE_BAD_VERSION,
		      "frame version %u, expected %u", h.version, SB_FRAME_VERSION);
	SB_ENSURE_MSG((h.flags & ~SB_FRAME_FLAGS_KNOWN) == 0, SB_ERR_WIRE_BAD_FLAGS, "flags 0x%02x",
		      h.flags);
	/* "The length is checked against a named maximum before any allocation" (DESIGN.md §4). */
	SB_ENSURE_MSG(h.length <= effective_max(max_payload), SB_ERR_WIRE_OVERSIZE,
		      "payload of %u bytes, maximum %zu", h.length, effective_max(max_payload));
	*out = h;
	return SB_OK_RESULT;
}

SB_RESULT sb_frame_parse(struct sb_slice in, size_t max_payload, struct sb_frame *out)
{
	struct sb_frame_header h;
	struct sb_slice head;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len >= SB_FRAME_HEADER_LEN, SB_ERR_TRUNCATED,
		      "frame header has %zu of %u bytes", in.len, SB_FRAME_HEADER_LEN);
	SB_GUARD(sb_slice_sub(in, 0, SB_FRAME_HEADER_LEN, &head));
	SB_GUARD(sb_frame_header_parse(head, max_payload, &h));
	SB_ENSURE_MSG(in.len - SB_FRAME_HEADER_LEN >= h.length, SB_ERR_TRUNCATED,
		      "payload has %zu of %u bytes", in.len - SB_FRAME_HEADER_LEN, h.length);
	SB_ENSURE_MSG(in.len - SB_FRAME_HEADER_LEN == h.length, SB_ERR_TRAILING,
		      "%zu bytes after the frame", in.len - SB_FRAME_HEADER_LEN - h.length);
	out->flags = h.flags;
	out->type = h.type;
	out->id = h.id;
	return sb_slice_sub(in, SB_FRAME_HEADER_LEN, h.length, &out->payload);
}

SB_RESULT sb_frame_append(struct sb_buf *out, uint16_t type, uint8_t flags, uint32_t id,
			  struct sb_slice payload)
{
	uint8_t head[SB_FRAME_HEADER_LEN];
	struct sb_writer w;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(payload.len <= SB_FRAME_MAX_PAYLOAD, SB_ERR_WIRE_OVERSIZE,
		      "payload of %zu bytes", payload.len);
	SB_ENSURE_MSG((flags & ~SB_FRAME_FLAGS_KNOWN) == 0, SB_ERR_WIRE_BAD_FLAGS, "flags 0x%02x",
		      flags);
	sb_writer_init(&w, head, sizeof(head));
	SB_GUARD(sb_writer_be32(&w, SB_FRAME_MAGIC));
	SB_GUARD(sb_writer_u8(&w, SB_FRAME_VERSION));
	SB_GUARD(sb_writer_u8(&w, flags));
	SB_GUARD(sb_writer_be16(&w, type));
	SB_GUARD(sb_writer_be32(&w, (uint32_t)payload.len));
	SB_GUARD(sb_writer_be32(&w, id));
	/* Reserve both parts first so a failure leaves out unchanged. */
	SB_GUARD(sb_buf_reserve(out, sizeof(head) + payload.len));
	SB_GUARD(sb_buf_append(out, head, sizeof(head)));
	return sb_buf_append_slice(out, payload);
}

void sb_frame_decoder_init(struct sb_frame_decoder *d, size_t max_payload)
{
	d->max_payload = effective_max(max_payload);
	sb_buf_init(&d->buf, SB_FRAME_HEADER_LEN + d->max_payload + SB_FRAME_READ_SLACK);
	d->pos = 0;
	d->error = SB_OK;
}

void sb_frame_decoder_cleanup(struct sb_frame_decoder *d)
{
	if (d == NULL)
		return;
	sb_buf_cleanup(&d->buf);
	d->pos = 0;
}

/* Drops the frames already taken; frees a large buffer once it is empty. */
static SB_RESULT decoder_compact(struct sb_frame_decoder *d)
{
	if (d->pos > 0) {
		SB_GUARD(sb_buf_consume(&d->buf, d->pos));
		d->pos = 0;
	}
	if (d->buf.len == 0 && d->buf.cap > SB_FRAME_KEEP_CAP) {
		size_t max = d->buf.max;
		sb_buf_cleanup(&d->buf);
		sb_buf_init(&d->buf, max);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_frame_decoder_space(struct sb_frame_decoder *d, size_t want, uint8_t **out_ptr,
				 size_t *out_len)
{
	size_t room;

	SB_ENSURE_REF(d);
	SB_ENSURE_REF(out_ptr);
	SB_ENSURE_REF(out_len);
	SB_ENSURE(want > 0, SB_ERR_INVALID_ARG);
	if (d->error != SB_OK)
		SB_BAIL_MSG(d->error, "frame decoder failed earlier");
	SB_GUARD(decoder_compact(d));
	room = d->buf.max - d->buf.len;
	SB_ENSURE_MSG(room > 0, SB_ERR_TOO_LARGE, "frame decoder buffer full");
	if (want > room)
		want = room;
	SB_GUARD(sb_buf_reserve(&d->buf, want));
	*out_ptr = sb_buf_tail(&d->buf);
	*out_len = want;
	return SB_OK_RESULT;
}

SB_RESULT sb_frame_decoder_commit(struct sb_frame_decoder *d, size_t n)
{
	SB_ENSURE_REF(d);
	if (n == 0)
		return SB_OK_RESULT;
	/* Only what _space offered: the buffer keeps one byte for its NUL. */
	SB_ENSURE(d->buf.cap > d->buf.len && n < d->buf.cap - d->buf.len, SB_ERR_INVALID_ARG);
	return sb_buf_commit(&d->buf, d->buf.len + n);
}

SB_RESULT sb_frame_decoder_feed(struct sb_frame_decoder *d, const void *p, size_t n)
{
	const uint8_t *src = p;

	while (n > 0) {
		uint8_t *dst;
		size_t room;
		SB_GUARD(sb_frame_decoder_space(d, n, &dst, &room));
		memcpy(dst, src, room);
		SB_GUARD(sb_frame_decoder_commit(d, room));
		src += room;
		n -= room;
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_frame_decoder_next(struct sb_frame_decoder *d, struct sb_frame *out, bool *out_have)
{
	struct sb_frame_header h;
	struct sb_slice rest, head;
	sb_result rc;

	SB_ENSURE_REF(d);
	SB_ENSURE_REF(out);
	SB_ENSURE_REF(out_have);
	*out_have = false;
	if (d->error != SB_OK)
		SB_BAIL_MSG(d->error, "frame decoder failed earlier");
	SB_GUARD(sb_slice_sub(sb_buf_slice(&d->buf), d->pos, d->buf.len - d->pos, &rest));
	if (rest.len < SB_FRAME_HEADER_LEN)
		return SB_OK_RESULT;
	SB_GUARD(sb_slice_sub(rest, 0, SB_FRAME_HEADER_LEN, &head));
	rc = sb_frame_header_parse(head, d->max_payload, &h);
	if (!sb_ok(rc)) {
		d->error = rc.code;
		return rc;
	}
	if (rest.len - SB_FRAME_HEADER_LEN < h.length)
		return SB_OK_RESULT;
	SB_GUARD(sb_slice_sub(rest, SB_FRAME_HEADER_LEN, h.length, &out->payload));
	out->flags = h.flags;
	out->type = h.type;
	out->id = h.id;
	d->pos += SB_FRAME_HEADER_LEN + h.length;
	*out_have = true;
	return SB_OK_RESULT;
}

size_t sb_frame_decoder_pending(const struct sb_frame_decoder *d)
{
	return d->buf.len - d->pos;
}

SB_RESULT sb_frame_decoder_finish(const struct sb_frame_decoder *d)
{
	size_t pending;

	SB_ENSURE_REF(d);
	if (d->error != SB_OK)
		SB_BAIL_MSG(d->error, "frame decoder failed earlier");
	pending = sb_frame_decoder_pending(d);
	SB_ENSURE_MSG(pending == 0 || pending >= SB_FRAME_HEADER_LEN, SB_ERR_TRUNCATED,
		      "stream ended inside a frame header (%zu of %u bytes)", pending,
		      SB_FRAME_HEADER_LEN);
	SB_ENSURE_MSG(pending == 0, SB_ERR_TRUNCATED, "stream ended inside a frame payload");
	return SB_OK_RESULT;
}
