#include "aws/sb_storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_time.h"

#define COPY_CHUNK (256u << 10)

struct sb_storage {
	struct sb_s3_config cfg;
	bool have_cfg;
	struct sb_creds_provider *own_creds;
	struct sb_s3 *s3;
};

static SB_RESULT parse_file_uri(const char *p, struct sb_storage_uri *out)
{
	size_t n = 0;

	/* RFC 8089: "file:///path" (empty authority); a host is not supported. */
	SB_ENSURE_MSG(p[0] == '/', SB_ERR_BAD_URI, "file URI needs an absolute path (file:///...)");
	for (; *p != '\0'; p++) {
		char c = *p;
		SB_ENSURE_MSG(c != '?' && c != '#', SB_ERR_BAD_URI,
			      "file URI must not have a query or fragment");
		if (c == '%') {
			int hi = sb_hex_digit((uint8_t)p[1]);
			int lo = hi < 0 ? -1 : sb_hex_digit((uint8_t)p[2]);
			SB_ENSURE_MSG(hi >= 0 && lo >= 0 && (hi | lo) != 0, SB_ERR_BAD_URI,
				      "bad %%-escape in file URI");
			c = (char)(hi * 16 + lo);
			p += 2;
		}
		SB_ENSURE_MSG(n + 1 < sizeof(out->path), SB_ERR_BAD_URI, "file path too long");
		out->path[n++] = c;
	}
	out->path[n] = '\0';
	SB_ENSURE_MSG(n > 1 && out->path[n - 1] != '/', SB_ERR_BAD_URI,
		      "file URI must name a file, not a directory");
	return SB_OK_RESULT;
}

static SB_RESULT parse_s3_uri(const char *p, struct sb_storage_uri *out)
{
	const char *slash = strchr(p, '/');
	size_t blen, klen;

	SB_ENSURE_MSG(slash != NULL, SB_ERR_BAD_URI, "S3 URI needs a key: s3://bucket/key");
	blen = (size_t)(slash - p);
	klen = strlen(slash + 1);
	SB_ENSURE_MSG(blen <= SB_S3_BUCKET_MAX, SB_ERR_BAD_URI, "invalid S3 bucket name");
	memcpy(out->bucket, p, blen);
	out->bucket[blen] = '\0';
	SB_ENSURE_MSG(sb_s3_bucket_valid(out->bucket), SB_ERR_BAD_URI, "invalid S3 bucket name");
	SB_ENSURE_MSG(klen >= 1 && klen <= SB_S3_KEY_MAX, SB_ERR_BAD_URI,
		      "S3 key must be 1..1024 bytes");
	memcpy(out->key, slash + 1, klen + 1);
	return SB_OK_RESULT;
}

SB_RESULT sb_storage_uri_parse(const char *uri, struct sb_storage_uri *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(uri != NULL && uri[0] != '\0', SB_ERR_BAD_URI, "empty URI");
	memset(out, 0, sizeof(*out));
	for (const char *p = uri; *p != '\0'; p++)
		SB_ENSURE_MSG((unsigned char)*p >= 0x20 && *p != 0x7f, SB_ERR_BAD_URI,
			      "control character in URI");
	if (strncmp(uri, "file://", 7) == 0) {
		out->kind = SB_STORAGE_FILE;
		return parse_file_uri(uri + 7, out);
	}
	if (strncmp(uri, "s3://", 5) == 0) {
		out->kind = SB_STORAGE_S3;
		return parse_s3_uri(uri + 5, out);
	}
	SB_BAIL_MSG(SB_ERR_BAD_URI, "'%.64s': expected s3://bucket/key or file:///path", uri);
}

SB_RESULT sb_storage_new(const struct sb_s3_config *s3cfg, struct sb_storage **out)
{
	struct sb_storage *st;

	SB_ENSURE_REF(out);
	st = calloc(1, sizeof(*st));
	SB_ENSURE(st != NULL, SB_ERR_NOMEM);
	if (s3cfg != NULL) {
		st->cfg = *s3cfg;
		st->have_cfg = true;
	} else {
		sb_s3_config_default(&st->cfg);
	}
	*out = st;
	return SB_OK_RESULT;
}

void sb_storage_free(struct sb_storage *st)
{
	if (st == NULL)
		return;
	sb_s3_free(st->s3);
	sb_creds_provider_free(st->own_creds);
	free(st);
}

static SB_RESULT storage_s3(struct sb_storage *st, struct sb_s3 **out)
{
	if (st->s3 == NULL) {
		if (st->cfg.creds == NULL) {
			SB_GUARD(sb_creds_provider_new_chain(NULL, &st->own_creds));
			st->cfg.creds = st->own_creds;
		}
		SB_GUARD(sb_s3_new(&st->cfg, &st->s3));
	}
	*out = st->s3;
	return SB_OK_RESULT;
}

/* Copies src into dst through a temporary file and rename. */
static SB_RESULT copy_atomic(const char *src, const char *dst)
{
	char tmp[PATH_MAX];
	uint8_t *chunk = NULL;
	int in = -1, out = -1;
	sb_result rc = SB_OK_RESULT;

	tmp[0] = '\0';
	SB_GUARD(sb_file_open_regular(src, &in, NULL));
	chunk = malloc(COPY_CHUNK);
	if (chunk == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, fail);
	SB_GUARD_GOTO(rc, sb_aws_atomic_open(dst, tmp, sizeof(tmp), &out), fail);
	for (;;) {
		ssize_t n = read(in, chunk, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, fail, "%s: %s", src, strerror(errno));
		if (n == 0)
			break;
		SB_GUARD_GOTO(rc, sb_fd_write_all(out, SB_SLICE(chunk, (size_t)n)), fail);
	}
	free(chunk);
	close(in);
	return sb_aws_atomic_commit(out, tmp, dst);
fail:
	free(chunk);
	close(in);
	sb_aws_atomic_abort(out, tmp);
	return rc;
}

SB_RESULT sb_storage_get(struct sb_storage *st, const char *uri, struct sb_buf *out)
{
	struct sb_storage_uri u;
	struct sb_s3 *s3;

	SB_ENSURE_REF(st);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	if (u.kind == SB_STORAGE_FILE)
		return sb_file_read(u.path, out);
	SB_GUARD(storage_s3(st, &s3));
	return sb_s3_get(s3, u.bucket, u.key, out);
}

SB_RESULT sb_storage_get_file(struct sb_storage *st, const char *uri, const char *path)
{
	struct sb_storage_uri u;
	struct sb_s3 *s3;

	SB_ENSURE_REF(st);
	SB_ENSURE_REF(path);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	if (u.kind == SB_STORAGE_FILE)
		return copy_atomic(u.path, path);
	SB_GUARD(storage_s3(st, &s3));
	return sb_s3_get_file(s3, u.bucket, u.key, path);
}

SB_RESULT sb_storage_put(struct sb_storage *st, const char *uri, struct sb_slice data)
{
	struct sb_storage_uri u;
	struct sb_s3 *s3;

	SB_ENSURE_REF(st);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	if (u.kind == SB_STORAGE_FILE)
		return sb_file_write_atomic(u.path, data, 0600);
	SB_GUARD(storage_s3(st, &s3));
	return sb_s3_put(s3, u.bucket, u.key, data, NULL);
}

SB_RESULT sb_storage_delete(struct sb_storage *st, const char *uri)
{
	struct sb_storage_uri u;
	struct sb_s3 *s3;

	SB_ENSURE_REF(st);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	if (u.kind == SB_STORAGE_FILE) {
		SB_ENSURE_MSG(unlink(u.path) == 0 || errno == ENOENT, SB_ERR_IO, "%s: %s", u.path,
			      strerror(errno));
		return SB_OK_RESULT;
	}
	SB_GUARD(storage_s3(st, &s3));
	return sb_s3_delete(s3, u.bucket, u.key);
}

SB_RESULT sb_storage_put_file(struct sb_storage *st, const char *uri, const char *path)
{
	struct sb_storage_uri u;
	struct sb_s3 *s3;

	SB_ENSURE_REF(st);
	SB_ENSURE_REF(path);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	if (u.kind == SB_STORAGE_FILE)
		return copy_atomic(path, u.path);
	SB_GUARD(storage_s3(st, &s3));
	return sb_s3_put_file(s3, u.bucket, u.key, path, NULL);
}

SB_RESULT sb_storage_head(struct sb_storage *st, const char *uri, struct sb_storage_info *info)
{
	struct sb_storage_uri u;
	struct sb_s3_object_info oi;
	struct sb_s3 *s3;
	struct stat sbuf;

	SB_ENSURE_REF(st);
	SB_ENSURE_REF(info);
	SB_GUARD(sb_storage_uri_parse(uri, &u));
	memset(info, 0, sizeof(*info));
	if (u.kind == SB_STORAGE_FILE) {
		if (stat(u.path, &sbuf) != 0)
			SB_BAIL_MSG(errno == ENOENT ? SB_ERR_NOT_FOUND : SB_ERR_IO, "%s: %s", u.path,
				    strerror(errno));
		SB_ENSURE_MSG(S_ISREG(sbuf.st_mode), SB_ERR_IO, "%s: not a regular file", u.path);
		info->size = (uint64_t)sbuf.st_size;
		return SB_OK_RESULT;
	}
	SB_GUARD(storage_s3(st, &s3));
	SB_GUARD(sb_s3_head(s3, u.bucket, u.key, &oi));
	info->size = oi.size;
	memcpy(info->etag, oi.etag, sizeof(info->etag));
	return SB_OK_RESULT;
}

SB_RESULT sb_storage_exists(struct sb_storage *st, const char *uri, bool *exists)
{
	struct sb_storage_info info;
	sb_result rc;

	SB_ENSURE_REF(exists);
	*exists = false;
	rc = sb_storage_head(st, uri, &info);
	if (rc.code == SB_ERR_NOT_FOUND || rc.code == SB_ERR_AWS_NOT_FOUND) {
		sb_error_clear();
		return SB_OK_RESULT;
	}
	SB_GUARD(rc);
	*exists = true;
	return SB_OK_RESULT;
}

struct sb_storage_reader {
	struct sb_storage_uri u;
	struct sb_s3 *s3;        /* borrowed from the storage */
	int fd;                  /* file */
	uint64_t size, offset;   /* bytes handed out so far */
	char etag[SB_S3_ETAG_MAX + 1];
	struct sb_buf range;     /* s3: the current range, range_pos consumed */
	size_t range_pos;
};

SB_RESULT sb_storage_open(struct sb_storage *st, const char *uri,
			  struct sb_storage_reader **out)
{
	struct sb_storage_reader *r;
	struct sb_s3_object_info oi;
	sb_result rc;

	SB_ENSURE_REF(st);
	SB_ENSURE_REF(out);
	r = calloc(1, sizeof(*r));
	SB_ENSURE(r != NULL, SB_ERR_NOMEM);
	r->fd = -1;
	r->range = SB_BUF_INIT(SB_STORAGE_RANGE);
	SB_GUARD_GOTO(rc, sb_storage_uri_parse(uri, &r->u), fail);
	if (r->u.kind == SB_STORAGE_FILE) {
		SB_GUARD_GOTO(rc, sb_file_open_regular(r->u.path, &r->fd, &r->size), fail);
	} else {
		SB_GUARD_GOTO(rc, storage_s3(st, &r->s3), fail);
		SB_GUARD_GOTO(rc, sb_s3_head(r->s3, r->u.bucket, r->u.key, &oi), fail);
		/* Without an ETag nothing pins the version the ranges come from. */
		if (oi.etag[0] == '\0')
			SB_FAIL_GOTO_MSG(rc, SB_ERR_AWS_BAD_RESPONSE, fail,
					 "s3://%s/%s: HeadObject gave no ETag", r->u.bucket,
					 r->u.key);
		r->size = oi.size;
		memcpy(r->etag, oi.etag, sizeof(r->etag));
	}
	*out = r;
	return SB_OK_RESULT;
fail:
	sb_storage_close(r);
	return rc;
}

/* Fetches the next range of the object into r->range. */
static SB_RESULT next_range(struct sb_storage_reader *r)
{
	uint64_t left = r->size - r->offset;
	uint64_t last = r->offset + (left < SB_STORAGE_RANGE ? left : SB_STORAGE_RANGE) - 1;

	sb_buf_reset(&r->range);
	r->range_pos = 0;
	return sb_s3_get_range(r->s3, r->u.bucket, r->u.key, r->offset, last, r->etag, &r->range);
}

static SB_RESULT read_s3(struct sb_storage_reader *r, uint8_t *buf, size_t cap, size_t *n)
{
	size_t got = 0;

	while (got < cap && r->offset < r->size) {
		if (r->range_pos == r->range.len)
			SB_GUARD(next_range(r));
		size_t take = r->range.len - r->range_pos;
		take = take < cap - got ? take : cap - got;
		memcpy(buf + got, r->range.data + r->range_pos, take);
		r->range_pos += take;
		r->offset += take;
		got += take;
	}
	/* Done: give the range back now, so finished inputs hold no memory. */
	if (r->offset == r->size && r->range.data != NULL) {
		sb_buf_cleanup(&r->range);
		r->range = SB_BUF_INIT(SB_STORAGE_RANGE);
		r->range_pos = 0;
	}
	*n = got;
	return SB_OK_RESULT;
}

SB_RESULT sb_storage_read(struct sb_storage_reader *r, uint8_t *buf, size_t cap, size_t *n)
{
	uint64_t deadline;

	SB_ENSURE_REF(r);
	SB_ENSURE_REF(n);
	SB_ENSURE(buf != NULL || cap == 0, SB_ERR_NULL);
	if (r->u.kind == SB_STORAGE_S3)
		return read_s3(r, buf, cap, n);
	deadline = sb_time_mono_ns() + (uint64_t)SB_STORAGE_READ_MS * 1000000u;
	SB_GUARD(sb_fd_read_full(r->fd, buf, cap, deadline, n));
	r->offset += *n;
	/* A file cut short or grown while read is not the input that was opened. */
	SB_ENSURE_MSG(*n == cap ? r->offset <= r->size : r->offset == r->size, SB_ERR_IO,
		      "%s: size changed while it was read", r->u.path);
	return SB_OK_RESULT;
}

uint64_t sb_storage_reader_size(const struct sb_storage_reader *r)
{
	return r != NULL ? r->size : 0;
}

void sb_storage_close(struct sb_storage_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		close(r->fd);
	sb_buf_cleanup(&r->range);
	free(r);
}
