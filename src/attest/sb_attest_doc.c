/* Attestation document objects and file decoding (no CBOR here: see cbor_doc.c). */
#include "attest/sb_attest_doc.h"

#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"

/* {1: -35}: map(1), uint 1, negint 34. */
static const uint8_t cose_protected_es384[] = {0xa1, 0x01, 0x38, 0x22};

struct sb_slice sb_cose_protected_es384(void)
{
	return SB_SLICE(cose_protected_es384, sizeof(cose_protected_es384));
}

SB_RESULT sb_attest_doc_new(struct sb_attest_doc **out)
{
	SB_ENSURE_REF(out);
	struct sb_attest_doc *doc = NULL;
	SB_GUARD(sb_calloc(1, sizeof(*doc), (void **)&doc));
	sb_buf_init(&doc->certificate, SB_ATTEST_CERT_MAX);
	for (size_t i = 0; i < SB_ATTEST_CABUNDLE_MAX; i++)
		sb_buf_init(&doc->cabundle[i], SB_ATTEST_CERT_MAX);
	sb_buf_init(&doc->public_key.value, SB_ATTEST_PUBLIC_KEY_MAX);
	sb_buf_init(&doc->user_data.value, SB_ATTEST_USER_DATA_MAX);
	sb_buf_init(&doc->nonce.value, SB_ATTEST_NONCE_MAX);
	sb_buf_init(&doc->protected_hdr, 64);
	sb_buf_init(&doc->payload, SB_ATTEST_DOC_MAX);
	*out = doc;
	return SB_OK_RESULT;
}

void sb_attest_doc_free(struct sb_attest_doc *doc)
{
	if (doc == NULL)
		return;
	sb_buf_cleanup(&doc->certificate);
	for (size_t i = 0; i < SB_ATTEST_CABUNDLE_MAX; i++)
		sb_buf_cleanup(&doc->cabundle[i]);
	sb_buf_cleanup(&doc->public_key.value);
	sb_buf_cleanup(&doc->user_data.value);
	sb_buf_cleanup(&doc->nonce.value);
	sb_buf_cleanup(&doc->protected_hdr);
	sb_buf_cleanup(&doc->payload);
	free(doc);
}

bool sb_attest_doc_has_public_key(const struct sb_attest_doc *doc)
{
	return doc != NULL && doc->public_key.present && doc->public_key.value.len > 0;
}

static bool all_in(struct sb_slice s, const char *alphabet)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] == '\0' || strchr(alphabet, s.ptr[i]) == NULL)
			return false;
	return true;
}

SB_RESULT sb_attest_doc_load(struct sb_slice contents, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(contents.len > 0, SB_ERR_ATTEST_DOC_ENCODING, "empty file");
	/* A COSE_Sign1 starts with array(4) 0x84 or tag 18 0xD2; neither is text. */
	if (contents.ptr[0] == 0x84 || contents.ptr[0] == 0xd2) {
		SB_ENSURE_MSG(contents.len <= SB_ATTEST_DOC_MAX, SB_ERR_ATTEST_TOO_LARGE,
		              "%zu bytes", contents.len);
		return sb_buf_append_slice(out, contents);
	}
	struct sb_slice text = contents;
	if (text.ptr[text.len - 1] == '\n') /* one final newline, as editors write */
		text.len--;
	if (text.len > 0 && text.ptr[text.len - 1] == '\r')
		text.len--;
	SB_ENSURE_MSG(text.len > 0, SB_ERR_ATTEST_DOC_ENCODING, "empty file");
	/* Hex is tried first: a hex string is also valid base64 text only by
	 * accident, and its decoding as hex is the intended one. */
	if (text.len % 2 == 0 && all_in(text, "0123456789abcdefABCDEF")) {
		SB_ENSURE_MSG(text.len / 2 <= SB_ATTEST_DOC_MAX, SB_ERR_ATTEST_TOO_LARGE,
		              "%zu bytes", text.len / 2);
		return sb_hex_decode(text, out);
	}
	if (all_in(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")) {
		SB_ENSURE_MSG(text.len / 4 * 3 <= SB_ATTEST_DOC_MAX + 2, SB_ERR_ATTEST_TOO_LARGE,
		              "%zu base64 characters", text.len);
		sb_result rc = sb_base64_decode(text, out);
		SB_ENSURE_MSG(sb_ok(rc), SB_ERR_ATTEST_DOC_ENCODING, "invalid base64");
		return SB_OK_RESULT;
	}
	SB_BAIL_MSG(SB_ERR_ATTEST_DOC_ENCODING, "neither CBOR, hex nor base64");
}
