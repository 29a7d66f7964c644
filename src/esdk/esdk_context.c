/*
 * The encryption context as the message header carries it
 * (framework/structures.md, "Serialization"):
 *
 *   u16 count, then count x (u16 key length, key, u16 value length, value)
 *
 * "This sequence MUST NOT contain duplicate entries. These entries MUST be
 * sorted, by key, in ascending order according to the UTF-8 encoded binary
 * value." We serialize sorted. When reading we refuse duplicates but accept
 * any order: the JavaScript SDK before its utf8Sorting fix sorted with
 * localeCompare (aws-encryption-sdk-javascript issue 428), so genuine
 * messages exist in another order, and the header authentication tag covers
 * the bytes as written either way. Pairs are compared as a set.
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "esdk/esdk_internal.h"

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF, no NUL. */
static bool utf8_text(struct sb_slice s)
{
	size_t i = 0;

	while (i < s.len) {
		uint8_t c = s.ptr[i];
		size_t n;
		uint32_t cp, min;
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1Fu, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0Fu, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07u, min = 0x10000;
		} else {
			return false;
		}
		if (s.len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s.ptr[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s.ptr[i + k] & 0x3Fu);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

static SB_RESULT text_dup(struct sb_slice s, const char *what, size_t index, const char **out)
{
	char *p = NULL;

	SB_ENSURE_MSG(utf8_text(s), SB_ERR_ESDK_BAD_CONTEXT,
		      "entry %zu: %s is not UTF-8 text without NUL", index + 1, what);
	SB_GUARD(sb_calloc(s.len + 1, 1, (void **)&p));
	if (s.len > 0)
		memcpy(p, s.ptr, s.len);
	*out = p;
	return SB_OK_RESULT;
}

void esdk_pairs_free(struct sb_esdk_pair *pairs, size_t n)
{
	if (pairs == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free((void *)(uintptr_t)pairs[i].key);
		free((void *)(uintptr_t)pairs[i].value);
	}
	free(pairs);
}

static int pair_cmp(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: the UTF-8 byte order the spec wants. */
	return strcmp(((const struct sb_esdk_pair *)a)->key, ((const struct sb_esdk_pair *)b)->key);
}

/* Sorts, then refuses duplicate and empty keys (the detail names no value). */
static SB_RESULT pairs_sort_check(struct sb_esdk_pair *pairs, size_t n)
{
	if (n > 1)
		qsort(pairs, n, sizeof(*pairs), pair_cmp);
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE_MSG(pairs[i].key[0] != 0, SB_ERR_ESDK_BAD_CONTEXT, "empty key");
		SB_ENSURE_MSG(i == 0 || strcmp(pairs[i - 1].key, pairs[i].key) != 0,
			      SB_ERR_ESDK_BAD_CONTEXT, "duplicate key \"%s\"", pairs[i].key);
	}
	return SB_OK_RESULT;
}

/* One entry: u16 key length, key, u16 value length, value. */
static SB_RESULT pair_read(struct sb_reader *r, size_t index, struct sb_esdk_pair *p)
{
	uint16_t len = 0;
	struct sb_slice s;

	if (!sb_ok(sb_reader_be16(r, &len)) || !sb_ok(sb_reader_bytes(r, len, &s)))
		SB_BAIL_MSG(SB_ERR_ESDK_BAD_CONTEXT, "entry %zu: key overruns the context",
			    index + 1);
	SB_GUARD(text_dup(s, "key", index, &p->key));
	if (!sb_ok(sb_reader_be16(r, &len)) || !sb_ok(sb_reader_bytes(r, len, &s)))
		SB_BAIL_MSG(SB_ERR_ESDK_BAD_CONTEXT, "entry %zu: value overruns the context",
			    index + 1);
	return text_dup(s, "value", index, &p->value);
}

SB_RESULT esdk_context_parse(struct sb_slice kv, struct sb_esdk_pair **pairs, size_t *n)
{
	struct sb_reader r;
	struct sb_esdk_pair *out = NULL;
	uint16_t count = 0;
	size_t i = 0;
	sb_result rc = SB_OK_RESULT;

	*pairs = NULL;
	*n = 0;
	/* "When the encryption context is empty, this field MUST NOT be included." */
	if (kv.len == 0)
		return SB_OK_RESULT;
	sb_reader_init(&r, kv);
	SB_ENSURE_MSG(sb_ok(sb_reader_be16(&r, &count)), SB_ERR_ESDK_BAD_CONTEXT,
		      "no entry count");
	SB_ENSURE_MSG(count > 0, SB_ERR_ESDK_BAD_CONTEXT, "an empty context must have length 0");
	/* Each entry takes at least 4 bytes: checked before allocating. */
	SB_ENSURE_MSG((size_t)count * 4 <= sb_reader_remaining(&r), SB_ERR_ESDK_BAD_CONTEXT,
		      "%u entries cannot fit in %zu bytes", count, sb_reader_remaining(&r));
	SB_GUARD(sb_calloc(count, sizeof(*out), (void **)&out));
	for (i = 0; i < count; i++)
		SB_GUARD_GOTO(rc, pair_read(&r, i, &out[i]), fail);
	if (sb_reader_remaining(&r) != 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_ESDK_BAD_CONTEXT, fail, "%zu bytes after the last entry",
				 sb_reader_remaining(&r));
	SB_GUARD_GOTO(rc, pairs_sort_check(out, count), fail);
	*pairs = out;
	*n = count;
	return SB_OK_RESULT;
fail:
	esdk_pairs_free(out, count);
	return rc;
}

SB_RESULT esdk_pairs_copy(const struct sb_esdk_pair *in, size_t n, struct sb_esdk_pair **out)
{
	struct sb_esdk_pair *p = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(in != NULL || n == 0, SB_ERR_NULL);
	*out = NULL;
	SB_ENSURE_MSG(n <= UINT16_MAX, SB_ERR_ESDK_BAD_CONTEXT, "too many entries");
	SB_GUARD(sb_calloc(n > 0 ? n : 1, sizeof(*p), (void **)&p));
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE_MSG(in[i].key != NULL && in[i].value != NULL, SB_ERR_NULL, "entry %zu",
			      i + 1);
		SB_GUARD_GOTO(rc, text_dup(sb_slice_str(in[i].key), "key", i, &p[i].key), fail);
		SB_GUARD_GOTO(rc, text_dup(sb_slice_str(in[i].value), "value", i, &p[i].value),
			      fail);
	}
	SB_GUARD_GOTO(rc, pairs_sort_check(p, n), fail);
	*out = p;
	return SB_OK_RESULT;
fail:
	esdk_pairs_free(p, n);
	return rc;
}

SB_RESULT esdk_context_serialize(const struct sb_esdk_pair *pairs, size_t n, struct sb_buf *out)
{
	size_t len = n == 0 ? 0 : 2;

	for (size_t i = 0; i < n; i++) {
		size_t k = strlen(pairs[i].key), v = strlen(pairs[i].value);
		SB_ENSURE_MSG(k <= UINT16_MAX && v <= UINT16_MAX, SB_ERR_ESDK_BAD_CONTEXT,
			      "entry %zu longer than 65535 bytes", i + 1);
		len += 4 + k + v;
		SB_ENSURE_MSG(len <= UINT16_MAX, SB_ERR_ESDK_BAD_CONTEXT,
			      "context longer than 65535 bytes");
	}
	SB_GUARD(sb_buf_append_be16(out, (uint16_t)len));
	if (n == 0)
		return SB_OK_RESULT;
	SB_GUARD(sb_buf_append_be16(out, (uint16_t)n));
	for (size_t i = 0; i < n; i++) {
		SB_GUARD(sb_buf_append_be16(out, (uint16_t)strlen(pairs[i].key)));
		SB_GUARD(sb_buf_append_str(out, pairs[i].key));
		SB_GUARD(sb_buf_append_be16(out, (uint16_t)strlen(pairs[i].value)));
		SB_GUARD(sb_buf_append_str(out, pairs[i].value));
	}
	return SB_OK_RESULT;
}

const char *esdk_pairs_get(const struct sb_esdk_pair *pairs, size_t n, const char *key)
{
	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strcmp(pairs[i].key, key) == 0)
			return pairs[i].value;
	return NULL;
}
