/*
 * The message header, version 2.0 (data-format/message-header.md), read
 * strictly and incrementally:
 *
 *   u8 version (02) | u16 suite | 32 message id
 *   u16 AAD length | AAD (encryption context)
 *   u16 EDK count (> 0) | count x (u16+provider id, u16+provider info, u16+EDK)
 *   u8 content type (02 framed) | u32 frame length | 32 suite data (commitment)
 *   16 header authentication tag ("Header Authentication Version 2.0")
 *
 * Every field is checked as soon as it has arrived, so a bad header fails
 * before the rest is read; a header cut short anywhere is SB_ERR_ESDK_SHORT.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "crypto/sb_ecdsa_der.h"
#include "esdk/esdk_internal.h"

/* n more bytes of the header, or "need more". */
static SB_RESULT need(struct sb_reader *r, size_t n, struct sb_slice *out)
{
	if (sb_reader_remaining(r) < n)
		SB_BAIL(SB_ERR_ESDK_SHORT);
	return sb_reader_bytes(r, n, out);
}

static SB_RESULT need_u8(struct sb_reader *r, uint8_t *v)
{
	struct sb_slice s;

	SB_GUARD(need(r, 1, &s));
	*v = s.ptr[0];
	return SB_OK_RESULT;
}

static SB_RESULT need_u16(struct sb_reader *r, uint16_t *v)
{
	struct sb_slice s;

	SB_GUARD(need(r, 2, &s));
	*v = (uint16_t)((s.ptr[0] << 8) | s.ptr[1]);
	return SB_OK_RESULT;
}

static SB_RESULT need_u32(struct sb_reader *r, uint32_t *v)
{
	struct sb_slice s;

	SB_GUARD(need(r, 4, &s));
	*v = (uint32_t)s.ptr[0] << 24 | (uint32_t)s.ptr[1] << 16 | (uint32_t)s.ptr[2] << 8 |
	     s.ptr[3];
	return SB_OK_RESULT;
}

/* A u16-length-prefixed field. */
static SB_RESULT need_field(struct sb_reader *r, struct sb_slice *out)
{
	uint16_t len = 0;

	SB_GUARD(need_u16(r, &len));
	return need(r, len, out);
}

static SB_RESULT version_suite_read(struct sb_reader *r, struct sb_esdk_header *h)
{
	uint8_t version = 0;
	struct sb_slice id;

	SB_GUARD(need_u8(r, &version));
	/* message-header.md: Version 1.0 is 01; we accept only 2.0 (committing suites). */
	SB_ENSURE_MSG(version == SB_ESDK_VERSION, SB_ERR_ESDK_BAD_VERSION, "version 0x%02x%s",
		      version, version == 0x01 ? " (1.0: suites without key commitment)" : "");
	SB_GUARD(need_u16(r, &h->suite));
	SB_GUARD(esdk_suite_check(h->suite));
	SB_GUARD(need(r, SB_ESDK_MESSAGE_ID_LEN, &id));
	memcpy(h->message_id, id.ptr, SB_ESDK_MESSAGE_ID_LEN);
	return SB_OK_RESULT;
}

/*
 * The signature suite needs its verification key in the context; the
 * other must not carry one (the default CMM refuses the reserved key for
 * suites without signing). Checked here, before any KMS call.
 */
static SB_RESULT public_key_check(const struct sb_esdk_header *h)
{
	const char *pub = sb_esdk_header_context(h, SB_ESDK_PUBLIC_KEY_CTX);
	struct sb_ecdsa_key *key = NULL;

	if (!esdk_suite_signed(h->suite)) {
		SB_ENSURE_MSG(pub == NULL, SB_ERR_ESDK_BAD_CONTEXT,
			      "reserved key %s with unsigned suite 0x%04x", SB_ESDK_PUBLIC_KEY_CTX,
			      h->suite);
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(pub != NULL, SB_ERR_ESDK_PUBLIC_KEY, "no %s in the encryption context",
		      SB_ESDK_PUBLIC_KEY_CTX);
	SB_GUARD(esdk_public_key_decode(pub, &key));
	sb_ecdsa_key_free(key);
	return SB_OK_RESULT;
}

static SB_RESULT context_read(struct sb_reader *r, struct sb_esdk_header *h)
{
	struct sb_slice kv;

	SB_GUARD(need_field(r, &kv));
	SB_GUARD(esdk_context_parse(kv, &h->pairs, &h->npairs));
	return public_key_check(h);
}

/* One EDK entry; an aws-kms one must name its key as text. */
static SB_RESULT edk_read(struct sb_reader *r, size_t index, struct sb_esdk_edk *e)
{
	struct sb_slice id, info, ct;

	SB_GUARD(need_field(r, &id));
	SB_GUARD(need_field(r, &info));
	SB_GUARD(need_field(r, &ct));
	sb_buf_init(&e->provider_id, UINT16_MAX);
	sb_buf_init(&e->provider_info, UINT16_MAX);
	sb_buf_init(&e->ciphertext, UINT16_MAX);
	SB_GUARD(sb_buf_set(&e->provider_id, id));
	SB_GUARD(sb_buf_set(&e->provider_info, info));
	SB_GUARD(sb_buf_set(&e->ciphertext, ct));
	if (!sb_slice_eq_str(id, SB_ESDK_KMS_PROVIDER_ID))
		return SB_OK_RESULT;
	SB_ENSURE_MSG(info.len > 0 && memchr(info.ptr, 0, info.len) == NULL && ct.len > 0,
		      SB_ERR_ESDK_BAD_EDK, "aws-kms data key %zu: empty or binary key ARN or blob",
		      index + 1);
	return SB_OK_RESULT;
}

static SB_RESULT edks_read(struct sb_reader *r, struct sb_esdk_header *h)
{
	uint16_t count = 0;

	SB_GUARD(need_u16(r, &count));
	/* "Encrypted Data Key Count ... This value MUST be greater than 0." */
	SB_ENSURE_MSG(count > 0, SB_ERR_ESDK_BAD_EDK, "no encrypted data key");
	/* decrypt.md: more than the configured maximum "MUST process no more bytes". */
	SB_ENSURE_MSG(count <= SB_ESDK_MAX_EDKS, SB_ERR_ESDK_TOO_MANY_EDKS, "%u (at most %d)",
		      count, SB_ESDK_MAX_EDKS);
	SB_GUARD(sb_calloc(count, sizeof(*h->edks), (void **)&h->edks));
	for (size_t i = 0; i < count; i++) {
		h->nedks = i + 1; /* so cleanup frees what edk_read set up */
		SB_GUARD(edk_read(r, i, &h->edks[i]));
	}
	return SB_OK_RESULT;
}

static SB_RESULT content_read(struct sb_reader *r, struct sb_esdk_header *h)
{
	uint8_t type = 0;
	struct sb_slice s;

	SB_GUARD(need_u8(r, &type));
	SB_ENSURE_MSG(type == ESDK_CONTENT_FRAMED, SB_ERR_ESDK_NOT_FRAMED, "content type 0x%02x%s",
		      type, type == ESDK_CONTENT_SINGLE ? " (non-framed)" : " (unknown)");
	SB_GUARD(need_u32(r, &h->frame_len));
	SB_ENSURE_MSG(h->frame_len > 0 && h->frame_len <= SB_ESDK_MAX_FRAME_LEN,
		      SB_ERR_ESDK_BAD_FRAME_LENGTH, "frame length %u (1..%u)", h->frame_len,
		      SB_ESDK_MAX_FRAME_LEN);
	SB_GUARD(need(r, SB_ESDK_COMMIT_LEN, &s));
	memcpy(h->commitment, s.ptr, SB_ESDK_COMMIT_LEN);
	return SB_OK_RESULT;
}

static SB_RESULT header_read(struct sb_reader *r, struct sb_esdk_header *h)
{
	struct sb_slice tag;

	SB_GUARD(version_suite_read(r, h));
	SB_GUARD(context_read(r, h));
	SB_GUARD(edks_read(r, h));
	SB_GUARD(content_read(r, h));
	h->body_len = r->off;
	SB_GUARD(need(r, SB_ESDK_TAG_LEN, &tag));
	memcpy(h->auth_tag, tag.ptr, SB_ESDK_TAG_LEN);
	sb_buf_init(&h->raw, r->off);
	return sb_buf_set(&h->raw, SB_SLICE(r->in.ptr, r->off));
}

SB_RESULT sb_esdk_header_parse(struct sb_slice in, struct sb_esdk_header *h, size_t *consumed)
{
	struct sb_reader r;

	SB_ENSURE(h != NULL && consumed != NULL && (in.ptr != NULL || in.len == 0), SB_ERR_NULL);
	memset(h, 0, sizeof(*h));
	*consumed = 0;
	sb_reader_init(&r, in);
	sb_result rc = header_read(&r, h);
	if (!sb_ok(rc)) {
		sb_esdk_header_cleanup(h);
		return rc;
	}
	*consumed = r.off;
	return SB_OK_RESULT;
}

void sb_esdk_header_cleanup(struct sb_esdk_header *h)
{
	if (h == NULL)
		return;
	esdk_pairs_free(h->pairs, h->npairs);
	for (size_t i = 0; h->edks != NULL && i < h->nedks; i++) {
		sb_buf_cleanup(&h->edks[i].provider_id);
		sb_buf_cleanup(&h->edks[i].provider_info);
		sb_buf_cleanup(&h->edks[i].ciphertext);
	}
	free(h->edks);
	sb_buf_cleanup(&h->raw);
	memset(h, 0, sizeof(*h));
}

const char *sb_esdk_header_context(const struct sb_esdk_header *h, const char *key)
{
	return h == NULL ? NULL : esdk_pairs_get(h->pairs, h->npairs, key);
}

SB_RESULT sb_esdk_header_check_context(const struct sb_esdk_header *h,
				       const struct sb_esdk_pair *expected, size_t n)
{
	SB_ENSURE(h != NULL && (expected != NULL || n == 0), SB_ERR_NULL);
	for (size_t i = 0; i < n; i++) {
		const char *got = sb_esdk_header_context(h, expected[i].key);
		SB_ENSURE_MSG(got != NULL, SB_ERR_ESDK_CONTEXT_MISMATCH, "no \"%s\" in the context",
			      expected[i].key);
		SB_ENSURE_MSG(strcmp(got, expected[i].value) == 0, SB_ERR_ESDK_CONTEXT_MISMATCH,
			      "\"%s\" differs", expected[i].key);
	}
	for (size_t i = 0; i < h->npairs; i++) {
		const char *key = h->pairs[i].key;
		if (esdk_suite_signed(h->suite) && strcmp(key, SB_ESDK_PUBLIC_KEY_CTX) == 0)
			continue;
		SB_ENSURE_MSG(esdk_pairs_get(expected, n, key) != NULL,
			      SB_ERR_ESDK_CONTEXT_MISMATCH, "unexpected key \"%s\" in the context",
			      key);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_esdk_header_find_kms_edk(const struct sb_esdk_header *h,
				      bool (*match)(const char *declared, const char *arn),
				      const char *declared, const struct sb_esdk_edk **out)
{
	size_t kms = 0;

	SB_ENSURE(h != NULL && match != NULL && declared != NULL && out != NULL, SB_ERR_NULL);
	*out = NULL;
	for (size_t i = 0; i < h->nedks; i++) {
		const struct sb_esdk_edk *e = &h->edks[i];
		if (!sb_slice_eq_str(sb_buf_slice(&e->provider_id), SB_ESDK_KMS_PROVIDER_ID))
			continue;
		kms++;
		if (match(declared, sb_buf_cstr(&e->provider_info))) {
			*out = e;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_ESDK_NO_EDK, "%zu data keys, %zu from aws-kms, none for the declared key",
		    h->nedks, kms);
}
