/*
 * Bounded buffers: a borrowed slice, an owned growable buffer with a hard
 * maximum, and typed bounds-checked readers and writers (in the manner of
 * curl's dynbuf, OpenSSH's sshbuf and s2n's stuffer). No raw pointer
 * arithmetic outside these.
 */
#ifndef SB_BUF_H
#define SB_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_result.h"

/* A borrowed view of bytes: the owner keeps them alive. */
struct sb_slice {
	const uint8_t *ptr;
	size_t len;
};

#define SB_SLICE(p, n) ((struct sb_slice){.ptr = (const uint8_t *)(p), .len = (n)})
#define SB_SLICE_LIT(s) SB_SLICE((s), sizeof(s) - 1)
struct sb_slice sb_slice_str(const char *s); /* NULL gives an empty slice */
bool sb_slice_eq(struct sb_slice a, struct sb_slice b);
bool sb_slice_eq_str(struct sb_slice a, const char *s);
/*
 * Text lines: takes the next line off *rest into *line, without its LF or
 * CRLF ending (the last line's ending is optional). False when *rest is empty.
 */
bool sb_slice_next_line(struct sb_slice *rest, struct sb_slice *line);
/* [off, off+len) of s, or an error when out of bounds. */
SB_RESULT sb_slice_sub(struct sb_slice s, size_t off, size_t len, struct sb_slice *out);

/*
 * An owned buffer. Data is always followed by a NUL byte (not counted in
 * len) so text can be used as a C string. `max` bounds len; growth past it
 * fails with SB_ERR_TOO_LARGE. A secret buffer is wiped whenever its memory
 * is released or reused.
 */
struct sb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max;
	bool secret;
};

#define SB_BUF_INIT(maxlen) ((struct sb_buf){.max = (maxlen)})
#define SB_BUF_INIT_SECRET(maxlen) ((struct sb_buf){.max = (maxlen), .secret = true})

void sb_buf_init(struct sb_buf *b, size_t max);
void sb_buf_init_secret(struct sb_buf *b, size_t max);
/* Frees (wiping if secret); b may be reused after sb_buf_init. NULL-safe. */
void sb_buf_cleanup(struct sb_buf *b);
/* len = 0, memory kept (wiped if secret). */
void sb_buf_reset(struct sb_buf *b);
/* Drops everything after the first n bytes (n <= len; a larger n is ignored). */
void sb_buf_truncate(struct sb_buf *b, size_t n);
SB_RESULT sb_buf_reserve(struct sb_buf *b, size_t extra);
SB_RESULT sb_buf_append(struct sb_buf *b, const void *p, size_t n);
SB_RESULT sb_buf_append_slice(struct sb_buf *b, struct sb_slice s);
SB_RESULT sb_buf_append_str(struct sb_buf *b, const char *s);
SB_RESULT sb_buf_append_u8(struct sb_buf *b, uint8_t v);
SB_RESULT sb_buf_append_be16(struct sb_buf *b, uint16_t v);
SB_RESULT sb_buf_append_be32(struct sb_buf *b, uint32_t v);
SB_RESULT sb_buf_append_be64(struct sb_buf *b, uint64_t v);
SB_RESULT sb_buf_printf(struct sb_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Sets len to n (n <= cap) after writing into sb_buf_tail(). */
SB_RESULT sb_buf_commit(struct sb_buf *b, size_t n);
/* Unused room after len: reserve first. */
uint8_t *sb_buf_tail(struct sb_buf *b);
/* Drops the first n bytes. */
SB_RESULT sb_buf_consume(struct sb_buf *b, size_t n);
struct sb_slice sb_buf_slice(const struct sb_buf *b);
/* The contents as a C string ("" when empty; never NULL). */
const char *sb_buf_cstr(const struct sb_buf *b);
/* Copies src into dst (reset first). */
SB_RESULT sb_buf_set(struct sb_buf *dst, struct sb_slice src);
/* Moves src's memory into dst (dst cleaned up first); src is left empty. */
void sb_buf_move(struct sb_buf *dst, struct sb_buf *src);

/* A cursor over borrowed bytes with checked big-endian reads. */
struct sb_reader {
	struct sb_slice in;
	size_t off;
};

void sb_reader_init(struct sb_reader *r, struct sb_slice in);
size_t sb_reader_remaining(const struct sb_reader *r);
SB_RESULT sb_reader_u8(struct sb_reader *r, uint8_t *out);
SB_RESULT sb_reader_be16(struct sb_reader *r, uint16_t *out);
SB_RESULT sb_reader_be32(struct sb_reader *r, uint32_t *out);
SB_RESULT sb_reader_be64(struct sb_reader *r, uint64_t *out);
/* Borrows the next n bytes. */
SB_RESULT sb_reader_bytes(struct sb_reader *r, size_t n, struct sb_slice *out);
SB_RESULT sb_reader_copy(struct sb_reader *r, void *dst, size_t n);
/* Fails with SB_ERR_TRAILING unless every byte was consumed. */
SB_RESULT sb_reader_end(const struct sb_reader *r);

/* A writer into caller-owned fixed storage. */
struct sb_writer {
	uint8_t *ptr;
	size_t cap;
	size_t len;
};

void sb_writer_init(struct sb_writer *w, void *storage, size_t cap);
SB_RESULT sb_writer_u8(struct sb_writer *w, uint8_t v);
SB_RESULT sb_writer_be16(struct sb_writer *w, uint16_t v);
SB_RESULT sb_writer_be32(struct sb_writer *w, uint32_t v);
SB_RESULT sb_writer_be64(struct sb_writer *w, uint64_t v);
SB_RESULT sb_writer_bytes(struct sb_writer *w, const void *p, size_t n);

#endif
