/*
 * A whole message body in memory, decrypted and verified before anything
 * is returned: what `sealbid unseal`, the tests and the fuzz target use.
 * The enclave streams with sb_esdk_body_next / sb_esdk_frame_open instead.
 */
#include "common/sb_mem.h"
#include "esdk/esdk_internal.h"

/* At the end of the input: "need more" means the message stops short. */
static SB_RESULT at_end(const struct sb_esdk_body *b, sb_result rc, size_t left)
{
	if (rc.code != SB_ERR_ESDK_SHORT)
		return rc;
	if (left > 0)
		SB_BAIL_MSG(SB_ERR_ESDK_TRUNCATED, "%zu bytes of an incomplete %s", left,
			    b->state == SB_ESDK_BODY_FRAMES ? "frame" : "footer");
	return sb_esdk_body_end(b, 0);
}

static SB_RESULT frames_open(struct sb_esdk_body *b, struct sb_esdk_opener *o,
			     struct sb_reader *r, struct sb_buf *out)
{
	struct sb_esdk_frame f;
	size_t used = 0;

	while (b->state == SB_ESDK_BODY_FRAMES) {
		struct sb_slice rest = SB_SLICE(r->in.ptr + r->off, sb_reader_remaining(r));
		sb_result rc = sb_esdk_body_next(b, rest, &f, &used);
		if (!sb_ok(rc))
			return at_end(b, rc, rest.len);
		SB_GUARD(sb_buf_reserve(out, f.content.len));
		SB_GUARD(sb_esdk_opener_open(o, &f, sb_buf_tail(out)));
		SB_GUARD(sb_buf_commit(out, out->len + f.content.len));
		r->off += used;
	}
	return SB_OK_RESULT;
}

static SB_RESULT body_run(struct sb_esdk_body *b, struct sb_esdk_opener *o, struct sb_reader *r,
			  struct sb_buf *out)
{
	size_t used = 0;

	SB_GUARD(frames_open(b, o, r, out));
	struct sb_slice rest = SB_SLICE(r->in.ptr + r->off, sb_reader_remaining(r));
	sb_result rc = sb_esdk_body_footer(b, rest, &used);
	if (!sb_ok(rc))
		return at_end(b, rc, rest.len);
	return sb_esdk_body_end(b, rest.len - used);
}

SB_RESULT sb_esdk_decrypt_body(const struct sb_esdk_header *h, const struct sb_esdk_key *k,
			       struct sb_slice msg, size_t header_len, struct sb_buf *out)
{
	struct sb_esdk_body b;
	struct sb_esdk_opener *o = NULL;
	struct sb_reader r;

	SB_ENSURE(h != NULL && k != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(header_len == h->raw.len && header_len <= msg.len &&
			      sb_slice_eq(SB_SLICE(msg.ptr, header_len), sb_buf_slice(&h->raw)),
		      SB_ERR_INVALID_ARG, "the header was not parsed from this message");
	sb_reader_init(&r, msg);
	r.off = header_len;
	SB_GUARD(sb_esdk_body_init(&b, h));
	sb_result rc = sb_esdk_opener_new(k, &o);
	if (sb_ok(rc))
		rc = body_run(&b, o, &r, out);
	sb_esdk_opener_free(o);
	sb_esdk_body_cleanup(&b);
	if (!sb_ok(rc))
		sb_buf_reset(out); /* nothing unverified leaves */
	return rc;
}
