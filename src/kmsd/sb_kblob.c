#include "kmsd/sb_kblob.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_random.h"

static int pair_cmp(const void *a, const void *b)
{
	const struct sb_kblob_pair *x = a, *y = b;
	size_t n = x->key.len < y->key.len ? x->key.len : y->key.len;
	int c = n == 0 ? 0 : memcmp(x->key.ptr, y->key.ptr, n);

	if (c != 0)
		return c;
	return x->key.len == y->key.len ? 0 : (x->key.len < y->key.len ? -1 : 1);
}

SB_RESULT sb_kblob_context_encode(struct sb_kblob_pair *pairs, size_t n, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(n == 0 || pairs != NULL, SB_ERR_NULL);
	if (n > 1)
		qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE_MSG(i == 0 || pair_cmp(&pairs[i - 1], &pairs[i]) != 0,
			      SB_ERR_KMS_VALIDATION, "duplicate encryption context key");
		SB_ENSURE(pairs[i].key.len <= UINT32_MAX && pairs[i].value.len <= UINT32_MAX,
			  SB_ERR_TOO_LARGE);
		SB_GUARD(sb_buf_append_be32(out, (uint32_t)pairs[i].key.len));
		SB_GUARD(sb_buf_append_slice(out, pairs[i].key));
		SB_GUARD(sb_buf_append_be32(out, (uint32_t)pairs[i].value.len));
		SB_GUARD(sb_buf_append_slice(out, pairs[i].value));
	}
	return SB_OK_RESULT;
}

static void uuid_format(const uint8_t u[SB_KBLOB_UUID_LEN], char out[SB_KBLOB_KEY_ID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < SB_KBLOB_UUID_LEN; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

SB_RESULT sb_kblob_key_id_new(char out[SB_KBLOB_KEY_ID_LEN + 1])
{
	uint8_t u[SB_KBLOB_UUID_LEN];

	SB_ENSURE_REF(out);
	SB_GUARD(sb_random_bytes(u, sizeof(u)));
	/* RFC 4122 version 4, variant 10. */
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	uuid_format(u, out);
	return SB_OK_RESULT;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

SB_RESULT sb_kblob_key_id_parse(const char *id, uint8_t out[SB_KBLOB_UUID_LEN])
{
	size_t o = 0;

	SB_ENSURE_REF(id);
	SB_ENSURE(strlen(id) == SB_KBLOB_KEY_ID_LEN, SB_ERR_KMS_NOT_FOUND);
	for (size_t i = 0; i < SB_KBLOB_KEY_ID_LEN;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			SB_ENSURE(id[i] == '-', SB_ERR_KMS_NOT_FOUND);
			i++;
			continue;
		}
		int hi = hexval(id[i]), lo = hexval(id[i + 1]);
		SB_ENSURE(hi >= 0 && lo >= 0, SB_ERR_KMS_NOT_FOUND);
		out[o++] = (uint8_t)(hi * 16 + lo);
		i += 2;
	}
	return SB_OK_RESULT;
}

static SB_RESULT build_aad(struct sb_slice header, struct sb_slice context, struct sb_buf *aad)
{
	SB_GUARD(sb_buf_append_slice(aad, header));
	return sb_buf_append_slice(aad, context);
}

SB_RESULT sb_kblob_seal(const uint8_t material[SB_AES256_KEY_LEN], const char *key_id,
			struct sb_slice context, struct sb_slice plaintext, struct sb_buf *out)
{
	SB_DEFER(struct sb_buf aad, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_HEADER_LEN + SB_KBLOB_MAX_CONTEXT);
	uint8_t header[SB_KBLOB_HEADER_LEN];
	size_t start;
	sb_result rc;

	SB_ENSURE_REF(material);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(plaintext.len >= 1 && plaintext.len <= SB_KBLOB_MAX_PLAINTEXT,
		      SB_ERR_KMS_VALIDATION, "plaintext must be 1..%d bytes", SB_KBLOB_MAX_PLAINTEXT);
	header[0] = SB_KBLOB_VERSION;
	SB_GUARD(sb_kblob_key_id_parse(key_id, header + 1));
	SB_GUARD(sb_random_bytes(header + 1 + SB_KBLOB_UUID_LEN, SB_GCM_NONCE_LEN));
	SB_GUARD(build_aad(SB_SLICE(header, sizeof(header)), context, &aad));
	start = out->len;
	SB_GUARD(sb_buf_append(out, header, sizeof(header)));
	rc = sb_aes256gcm_seal(material, header + 1 + SB_KBLOB_UUID_LEN, sb_buf_slice(&aad),
			       plaintext, out);
	if (!sb_ok(rc))
		out->len = start;
	return rc;
}

static SB_RESULT check_shape(struct sb_slice blob)
{
	SB_ENSURE_MSG(blob.len >= SB_KBLOB_HEADER_LEN + SB_GCM_TAG_LEN + 1 &&
			      blob.len <= SB_KBLOB_MAX_LEN,
		      SB_ERR_KMS_INVALID_CIPHERTEXT, "ciphertext has an invalid length");
	SB_ENSURE_MSG(blob.ptr[0] == SB_KBLOB_VERSION, SB_ERR_KMS_INVALID_CIPHERTEXT,
		      "unknown ciphertext version");
	return SB_OK_RESULT;
}

SB_RESULT sb_kblob_key_id(struct sb_slice blob, char out[SB_KBLOB_KEY_ID_LEN + 1])
{
	SB_ENSURE_REF(out);
	SB_GUARD(check_shape(blob));
	uuid_format(blob.ptr + 1, out);
	return SB_OK_RESULT;
}

SB_RESULT sb_kblob_open(const uint8_t material[SB_AES256_KEY_LEN], struct sb_slice blob,
			struct sb_slice context, struct sb_buf *out)
{
	SB_DEFER(struct sb_buf aad, sb_buf_cleanup) = SB_BUF_INIT(SB_KBLOB_HEADER_LEN + SB_KBLOB_MAX_CONTEXT);
	struct sb_slice header = SB_SLICE(blob.ptr, SB_KBLOB_HEADER_LEN);
	sb_result r;

	SB_ENSURE_REF(material);
	SB_ENSURE_REF(out);
	SB_ENSURE(out->secret, SB_ERR_INVALID_ARG);
	SB_GUARD(check_shape(blob));
	SB_GUARD(build_aad(header, context, &aad));
	r = sb_aes256gcm_open(material, blob.ptr + 1 + SB_KBLOB_UUID_LEN, sb_buf_slice(&aad),
			      SB_SLICE(blob.ptr + SB_KBLOB_HEADER_LEN, blob.len - SB_KBLOB_HEADER_LEN),
			      out);
	/* One answer for every failure: which check failed is not the caller's
	 * business (and must not become an oracle). */
	SB_ENSURE(sb_ok(r), SB_ERR_KMS_INVALID_CIPHERTEXT);
	return SB_OK_RESULT;
}
