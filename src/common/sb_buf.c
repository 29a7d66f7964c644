#include "common/sb_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"

struct sb_slice sb_slice_str(const char *s)
{
	if (s == NULL)
		return SB_SLICE(NULL, 0);
	return SB_SLICE(s, strlen(s));
}

bool sb_slice_eq(struct sb_slice a, struct sb_slice b)
{
	if (a.len != b.len)
		return false;
	return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

bool sb_slice_eq_str(struct sb_slice a, const char *s)
{
	return sb_slice_eq(a, sb_slice_str(s));
}

bool sb_slice_next_line(struct sb_slice *rest, struct sb_slice *line)
{
	const uint8_t *nl;
	size_t n;

	if (rest->len == 0)
		return false;
	nl = memchr(rest->ptr, '\n', rest->len);
	n = nl == NULL ? rest->len : (size_t)(nl - rest->ptr);
	*line = SB_SLICE(rest->ptr, n);
	if (n > 0 && line->ptr[n - 1] == '\r')
		line->len--;
	n += nl != NULL;
	*rest = SB_SLICE(rest->len == n ? NULL : rest->ptr + n, rest->len - n);
	return true;
}

SB_RESULT sb_slice_sub(struct sb_slice s, size_t off, size_t len, struct sb_slice *out)
{
	size_t end;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_add_size(off, len, &end));
	SB_ENSURE(end <= s.len, SB_ERR_TRUNCATED);
	*out = SB_SLICE(len == 0 ? NULL : s.ptr + off, len);
	return SB_OK_RESULT;
}

void sb_buf_init(struct sb_buf *b, size_t max)
{
	*b = SB_BUF_INIT(max);
}

void sb_buf_init_secret(struct sb_buf *b, size_t max)
{
	*b = SB_BUF_INIT_SECRET(max);
}

void sb_buf_cleanup(struct sb_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL) {
		if (b->secret)
			sb_secret_free(b->data, b->cap);
		else
			free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void sb_buf_reset(struct sb_buf *b)
{
	if (b->data != NULL) {
		if (b->secret)
			sb_wipe(b->data, b->len);
		b->data[0] = 0;
	}
	b->len = 0;
}

void sb_buf_truncate(struct sb_buf *b, size_t n)
{
	if (b == NULL || n >= b->len)
		return;
	if (b->secret)
		sb_wipe(b->data + n, b->len - n);
	b->len = n;
	b->data[n] = 0;
}

SB_RESULT sb_buf_reserve(struct sb_buf *b, size_t extra)
{
	size_t need, newcap;
	uint8_t *p;

	SB_ENSURE_REF(b);
	SB_GUARD(sb_add_size(b->len, extra, &need));
	SB_ENSURE_MSG(need <= b->max, SB_ERR_TOO_LARGE, "buffer limit of %zu bytes", b->max);
	if (need + 1 <= b->cap)
		return SB_OK_RESULT;
	newcap = b->cap < 64 ? 64 : b->cap;
	while (newcap < need + 1) {
		if (newcap > SIZE_MAX / 2) {
			newcap = need + 1;
			break;
		}
		newcap *= 2;
	}
	if (newcap > b->max + 1)
		newcap = b->max + 1;
	if (b->secret) {
		/* Never realloc a secret: the old block would be freed unwiped. Its
		 * pages are left out of core dumps (sb_secret_alloc). */
		void *mem;
		size_t mapped;
		/* Use the whole pages, but cap stays <= max + 1 (sb_secret_free
		 * unmaps every page whatever the cap). */
		SB_GUARD(sb_secret_alloc(newcap, &mem, &mapped));
		p = mem;
		newcap = mapped < b->max + 1 ? mapped : b->max + 1;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			sb_secret_free(b->data, b->cap);
		}
	} else {
		p = realloc(b->data, newcap);
		SB_ENSURE(p != NULL, SB_ERR_NOMEM);
	}
	b->data = p;
	b->cap = newcap;
	b->data[b->len] = 0;
	return SB_OK_RESULT;
}

SB_RESULT sb_buf_append(struct sb_buf *b, const void *p, size_t n)
{
	SB_GUARD(sb_buf_reserve(b, n));
	if (n > 0) {
		SB_ENSURE_REF(p);
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = 0;
	return SB_OK_RESULT;
}

SB_RESULT sb_buf_append_slice(struct sb_buf *b, struct sb_slice s)
{
	return sb_buf_append(b, s.ptr, s.len);
}

SB_RESULT sb_buf_append_str(struct sb_buf *b, const char *s)
{
	SB_ENSURE_REF(s);
	return sb_buf_append(b, s, strlen(s));
}

SB_RESULT sb_buf_append_u8(struct sb_buf *b, uint8_t v)
{
	return sb_buf_append(b, &v, 1);
}

SB_RESULT sb_buf_append_be16(struct sb_buf *b, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return sb_buf_append(b, x, sizeof(x));
}

SB_RESULT sb_buf_append_be32(struct sb_buf *b, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return sb_buf_append(b, x, sizeof(x));
}

SB_RESULT sb_buf_append_be64(struct sb_buf *b, uint64_t v)
{
	SB_GUARD(sb_buf_append_be32(b, (uint32_t)(v >> 32)));
	return sb_buf_append_be32(b, (uint32_t)v);
}

SB_RESULT sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	SB_ENSURE_REF(b);
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	SB_ENSURE(n >= 0, SB_ERR_INVALID_ARG);
	SB_GUARD(sb_buf_reserve(b, (size_t)n));
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return SB_OK_RESULT;
}

uint8_t *sb_buf_tail(struct sb_buf *b)
{
	return b->data == NULL ? NULL : b->data + b->len;
}

SB_RESULT sb_buf_commit(struct sb_buf *b, size_t n)
{
	SB_ENSURE_REF(b);
	SB_ENSURE(n < b->cap && n <= b->max, SB_ERR_TOO_LARGE);
	b->len = n;
	b->data[n] = 0;
	return SB_OK_RESULT;
}

SB_RESULT sb_buf_consume(struct sb_buf *b, size_t n)
{
	SB_ENSURE_REF(b);
	SB_ENSURE(n <= b->len, SB_ERR_TRUNCATED);
	if (n == 0)
		return SB_OK_RESULT;
	memmove(b->data, b->data + n, b->len - n);
	if (b->secret)
		sb_wipe(b->data + b->len - n, n);
	b->len -= n;
	b->data[b->len] = 0;
	return SB_OK_RESULT;
}

struct sb_slice sb_buf_slice(const struct sb_buf *b)
{
	return SB_SLICE(b->data, b->len);
}

const char *sb_buf_cstr(const struct sb_buf *b)
{
	return b->data == NULL ? "" : (const char *)b->data;
}

SB_RESULT sb_buf_set(struct sb_buf *dst, struct sb_slice src)
{
	sb_buf_reset(dst);
	return sb_buf_append_slice(dst, src);
}

void sb_buf_move(struct sb_buf *dst, struct sb_buf *src)
{
	sb_buf_cleanup(dst);
	*dst = *src;
	src->data = NULL;
	src->len = 0;
	src->cap = 0;
}

void sb_reader_init(struct sb_reader *r, struct sb_slice in)
{
	r->in = in;
	r->off = 0;
}

size_t sb_reader_remaining(const struct sb_reader *r)
{
	return r->in.len - r->off;
}

SB_RESULT sb_reader_bytes(struct sb_reader *r, size_t n, struct sb_slice *out)
{
	SB_ENSURE_REF(r);
	SB_ENSURE(n <= sb_reader_remaining(r), SB_ERR_TRUNCATED);
	SB_GUARD(sb_slice_sub(r->in, r->off, n, out));
	r->off += n;
	return SB_OK_RESULT;
}

SB_RESULT sb_reader_copy(struct sb_reader *r, void *dst, size_t n)
{
	struct sb_slice s;

	SB_GUARD(sb_reader_bytes(r, n, &s));
	if (n > 0)
		memcpy(dst, s.ptr, n);
	return SB_OK_RESULT;
}

SB_RESULT sb_reader_u8(struct sb_reader *r, uint8_t *out)
{
	return sb_reader_copy(r, out, 1);
}

SB_RESULT sb_reader_be16(struct sb_reader *r, uint16_t *out)
{
	uint8_t x[2];

	SB_GUARD(sb_reader_copy(r, x, sizeof(x)));
	*out = (uint16_t)((x[0] << 8) | x[1]);
	return SB_OK_RESULT;
}

SB_RESULT sb_reader_be32(struct sb_reader *r, uint32_t *out)
{
	uint8_t x[4];

	SB_GUARD(sb_reader_copy(r, x, sizeof(x)));
	*out = ((uint32_t)x[0] << 24) | ((uint32_t)x[1] << 16) | ((uint32_t)x[2] << 8) | x[3];
	return SB_OK_RESULT;
}

SB_RESULT sb_reader_be64(struct sb_reader *r, uint64_t *out)
{
	uint32_t hi, lo;

	SB_GUARD(sb_reader_be32(r, &hi));
	SB_GUARD(sb_reader_be32(r, &lo));
	*out = ((uint64_t)hi << 32) | lo;
	return SB_OK_RESULT;
}

SB_RESULT sb_reader_end(const struct sb_reader *r)
{
	SB_ENSURE(sb_reader_remaining(r) == 0, SB_ERR_TRAILING);
	return SB_OK_RESULT;
}

void sb_writer_init(struct sb_writer *w, void *storage, size_t cap)
{
	w->ptr = storage;
	w->cap = cap;
	w->len = 0;
}

SB_RESULT sb_writer_bytes(struct sb_writer *w, const void *p, size_t n)
{
	SB_ENSURE_REF(w);
	SB_ENSURE(n <= w->cap - w->len, SB_ERR_TOO_LARGE);
	if (n > 0)
		memcpy(w->ptr + w->len, p, n);
	w->len += n;
	return SB_OK_RESULT;
}

SB_RESULT sb_writer_u8(struct sb_writer *w, uint8_t v)
{
	return sb_writer_bytes(w, &v, 1);
}

SB_RESULT sb_writer_be16(struct sb_writer *w, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return sb_writer_bytes(w, x, sizeof(x));
}

SB_RESULT sb_writer_be32(struct sb_writer *w, uint32_t v)
{
	uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return sb_writer_bytes(w, x, sizeof(x));
}

SB_RESULT sb_writer_be64(struct sb_writer *w, uint64_t v)
{
	SB_GUARD(sb_writer_be32(w, (uint32_t)(v >> 32)));
	return sb_writer_be32(w, (uint32_t)v);
}
