/*
 * The framed message body and the footer (data-format/message-body.md,
 * message-footer.md), read frame by frame:
 *
 *   regular frame  u32 seq | 12 IV | frame length bytes | 16 tag
 *   final frame    u32 FFFFFFFF | u32 seq | 12 IV | u32 length | bytes | 16 tag
 *   footer (0x0578) u16 signature length | DER ECDSA-Sig-Value
 *
 * "Framed Data MUST start at Sequence Number 1. Subsequent frames MUST be
 * in order and MUST contain an increment of 1 from the previous frame."
 * The IV is checked against the one the sequence number implies ("The IV
 * is the sequence number ... padded to the IV length with 0", decrypt.md),
 * so a frame cannot be moved even before its tag is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "crypto/sb_ecdsa_der.h"
#include "crypto/sb_hash.h"
#include "esdk/esdk_internal.h"

SB_RESULT esdk_public_key_decode(const char *b64, struct sb_ecdsa_key **out)
{
	struct sb_buf point = SB_BUF_INIT(128); /* the decoder reserves by the text length */
	sb_result rc = sb_base64_decode(sb_slice_str(b64), &point);

	if (sb_ok(rc))
		rc = sb_ecdsa_p384_from_compressed(sb_buf_slice(&point), out);
	sb_buf_cleanup(&point);
	if (!sb_ok(rc))
		SB_BAIL_MSG(SB_ERR_ESDK_PUBLIC_KEY, "%s is not a base64 compressed P-384 point",
			    SB_ESDK_PUBLIC_KEY_CTX);
	return SB_OK_RESULT;
}

static struct sb_hash *body_hash(const struct sb_esdk_body *b)
{
	return b->sig_hash;
}

void sb_esdk_body_cleanup(struct sb_esdk_body *b)
{
	if (b == NULL)
		return;
	if (b->sig_hash != NULL) {
		sb_hash_cleanup(b->sig_hash);
		free(b->sig_hash);
	}
	sb_ecdsa_key_free(b->verify_key);
	memset(b, 0, sizeof(*b));
	b->state = SB_ESDK_BODY_FAILED;
}

static SB_RESULT signature_start(struct sb_esdk_body *b, const struct sb_esdk_header *h)
{
	struct sb_ecdsa_key *key = NULL;
	struct sb_hash *hash = NULL;

	SB_GUARD(esdk_public_key_decode(sb_esdk_header_context(h, SB_ESDK_PUBLIC_KEY_CTX), &key));
	b->verify_key = key;
	SB_GUARD(sb_calloc(1, sizeof(*hash), (void **)&hash));
	b->sig_hash = hash;
	SB_GUARD(sb_hash_init(hash, SB_HASH_SHA384));
	/* The signature covers the header, including its authentication tag. */
	return sb_hash_update(hash, sb_buf_slice(&h->raw));
}

SB_RESULT sb_esdk_body_init(struct sb_esdk_body *b, const struct sb_esdk_header *h)
{
	SB_ENSURE(b != NULL && h != NULL, SB_ERR_NULL);
	memset(b, 0, sizeof(*b));
	b->state = SB_ESDK_BODY_FAILED;
	SB_ENSURE_MSG(h->raw.len > h->body_len, SB_ERR_ESDK_BAD_STATE, "header not parsed");
	SB_GUARD(esdk_suite_check(h->suite));
	b->suite = h->suite;
	b->frame_len = h->frame_len;
	b->next_seq = 1;
	if (esdk_suite_signed(h->suite)) {
		sb_result rc = signature_start(b, h);
		if (!sb_ok(rc)) {
			sb_esdk_body_cleanup(b);
			return rc;
		}
	}
	b->state = SB_ESDK_BODY_FRAMES;
	return SB_OK_RESULT;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * Frame at the start of in, shape only: sets f and *len (bytes it takes),
 * or SB_ERR_ESDK_SHORT. Sequence and length are checked as soon as they
 * are in, so a bad frame fails before its content is buffered.
 */
static SB_RESULT frame_shape(const struct sb_esdk_body *b, struct sb_slice in,
			     struct sb_esdk_frame *f, size_t *len)
{
	size_t pre = 4 + SB_ESDK_IV_LEN;
	uint64_t clen = b->frame_len;

	if (in.len < 4)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	f->final = be32_at(in.ptr) == ESDK_FRAME_END;
	if (f->final) {
		pre = 4 + 4 + SB_ESDK_IV_LEN + 4;
		if (in.len < 8)
			SB_BAIL(SB_ERR_ESDK_SHORT);
	}
	f->seq = be32_at(in.ptr + (f->final ? 4 : 0));
	SB_ENSURE_MSG(f->seq == b->next_seq, SB_ERR_ESDK_FRAME_SEQ,
		      "frame %u where frame %u was expected", f->seq, b->next_seq);
	if (in.len < pre)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	if (f->final) {
		clen = be32_at(in.ptr + pre - 4);
		/* "less than or equal to the Frame Length" */
		SB_ENSURE_MSG(clen <= b->frame_len, SB_ERR_ESDK_BAD_FRAME_LENGTH,
			      "final frame of %llu bytes, frame length %u",
			      (unsigned long long)clen, b->frame_len);
	}
	*len = pre + (size_t)clen + SB_ESDK_TAG_LEN;
	if (in.len < *len)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	f->iv = SB_SLICE(in.ptr + pre - SB_ESDK_IV_LEN - (f->final ? 4 : 0), SB_ESDK_IV_LEN);
	f->content = SB_SLICE(in.ptr + pre, (size_t)clen);
	f->tag = SB_SLICE(in.ptr + pre + clen, SB_ESDK_TAG_LEN);
	return SB_OK_RESULT;
}

static SB_RESULT frame_next(struct sb_esdk_body *b, struct sb_slice in, struct sb_esdk_frame *f,
			    size_t *consumed)
{
	uint8_t iv[SB_ESDK_IV_LEN];
	size_t len = 0;

	SB_ENSURE_MSG(b->state == SB_ESDK_BODY_FRAMES, SB_ERR_ESDK_BAD_STATE,
		      "no frame expected (state %d)", (int)b->state);
	SB_GUARD(frame_shape(b, in, f, &len));
	esdk_frame_iv(iv, f->seq);
	SB_ENSURE_MSG(memcmp(iv, f->iv.ptr, SB_ESDK_IV_LEN) == 0, SB_ERR_ESDK_BAD_IV, "frame %u",
		      f->seq);
	SB_ENSURE_MSG(f->final || b->next_seq < ESDK_FRAME_END - 1, SB_ERR_ESDK_TOO_MANY_FRAMES,
		      "frame %u", f->seq);
	if (body_hash(b) != NULL)
		SB_GUARD(sb_hash_update(body_hash(b), SB_SLICE(in.ptr, len)));
	b->next_seq++;
	b->plaintext_len += f->content.len;
	if (f->final)
		b->state = esdk_suite_signed(b->suite) ? SB_ESDK_BODY_FOOTER : SB_ESDK_BODY_DONE;
	*consumed = len;
	return SB_OK_RESULT;
}

SB_RESULT sb_esdk_body_next(struct sb_esdk_body *b, struct sb_slice in, struct sb_esdk_frame *f,
			    size_t *consumed)
{
	SB_ENSURE(b != NULL && f != NULL && consumed != NULL && (in.ptr != NULL || in.len == 0),
		  SB_ERR_NULL);
	*consumed = 0;
	memset(f, 0, sizeof(*f));
	sb_result rc = frame_next(b, in, f, consumed);
	if (!sb_ok(rc) && rc.code != SB_ERR_ESDK_SHORT)
		b->state = SB_ESDK_BODY_FAILED; /* nothing more is accepted */
	return rc;
}

static SB_RESULT footer_read(struct sb_esdk_body *b, struct sb_slice in, size_t *consumed)
{
	uint8_t digest[SB_SHA384_LEN];
	bool valid = false;

	if (in.len < 2)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	size_t len = (size_t)in.ptr[0] << 8 | in.ptr[1];
	SB_ENSURE_MSG(len > 0 && len <= SB_P384_DER_SIG_MAX, SB_ERR_ESDK_SIG_INVALID,
		      "signature of %zu bytes", len);
	if (in.len < 2 + len)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	SB_GUARD(sb_hash_final(body_hash(b), digest, sizeof(digest)));
	SB_GUARD(sb_ecdsa_verify_digest_der(b->verify_key, digest, SB_SLICE(in.ptr + 2, len),
					    &valid));
	SB_ENSURE(valid, SB_ERR_ESDK_SIG_INVALID);
	*consumed = 2 + len;
	b->state = SB_ESDK_BODY_DONE;
	return SB_OK_RESULT;
}

SB_RESULT sb_esdk_body_footer(struct sb_esdk_body *b, struct sb_slice in, size_t *consumed)
{
	SB_ENSURE(b != NULL && consumed != NULL && (in.ptr != NULL || in.len == 0), SB_ERR_NULL);
	*consumed = 0;
	if (b->state == SB_ESDK_BODY_DONE && !esdk_suite_signed(b->suite))
		return SB_OK_RESULT; /* 0x0478 has no footer */
	SB_ENSURE_MSG(b->state == SB_ESDK_BODY_FOOTER, SB_ERR_ESDK_BAD_STATE,
		      "no footer expected (state %d)", (int)b->state);
	sb_result rc = footer_read(b, in, consumed);
	if (!sb_ok(rc) && rc.code != SB_ERR_ESDK_SHORT)
		b->state = SB_ESDK_BODY_FAILED;
	return rc;
}

SB_RESULT sb_esdk_body_end(const struct sb_esdk_body *b, size_t trailing)
{
	SB_ENSURE_REF(b);
	switch (b->state) {
	case SB_ESDK_BODY_FRAMES:
		SB_BAIL_MSG(SB_ERR_ESDK_FINAL_MISSING, "input ends after frame %u",
			    b->next_seq - 1);
	case SB_ESDK_BODY_FOOTER:
		SB_BAIL(SB_ERR_ESDK_SIG_MISSING);
	case SB_ESDK_BODY_DONE:
		SB_ENSURE_MSG(trailing == 0, SB_ERR_ESDK_TRAILING, "%zu bytes", trailing);
		return SB_OK_RESULT;
	case SB_ESDK_BODY_FAILED:
	default:
		SB_BAIL_MSG(SB_ERR_ESDK_BAD_STATE, "the message failed earlier");
	}
}

bool sb_esdk_body_done(const struct sb_esdk_body *b)
{
	return b != NULL && b->state == SB_ESDK_BODY_DONE;
}
