/*
 * One storage API over local files and S3, addressed by URI:
 *   file:///abs/path      a local file (empty host only; %XX decoded, no NUL)
 *   s3://bucket/key       an S3 object (key taken verbatim, 1..1024 bytes)
 * Reads into a bounded buffer or a file; writes from a buffer or a file,
 * atomically: a temporary file and rename for files (readers see the old
 * contents or the new, never a partial file); for S3 a PUT is atomic by
 * nature. Bad URIs are SB_ERR_BAD_URI with the reason.
 *
 * The S3 client is created on first use from the environment (region,
 * endpoint, the default credentials chain) unless a config is given.
 */
#ifndef SB_STORAGE_H
#define SB_STORAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "aws/sb_s3.h"

enum sb_storage_kind {
	SB_STORAGE_FILE,
	SB_STORAGE_S3,
};

struct sb_storage_uri {
	enum sb_storage_kind kind;
	char path[PATH_MAX];                  /* file */
	char bucket[SB_S3_BUCKET_MAX + 1];    /* s3 */
	char key[SB_S3_KEY_MAX + 1];
};

SB_RESULT sb_storage_uri_parse(const char *uri, struct sb_storage_uri *out);

struct sb_storage_info {
	uint64_t size;
	char etag[SB_S3_ETAG_MAX + 1]; /* "" for files */
};

struct sb_storage;

/* s3cfg may be NULL (environment defaults); its creds provider is borrowed if set. */
SB_RESULT sb_storage_new(const struct sb_s3_config *s3cfg, struct sb_storage **out);
void sb_storage_free(struct sb_storage *st);

SB_RESULT sb_storage_get(struct sb_storage *st, const char *uri, struct sb_buf *out);
SB_RESULT sb_storage_get_file(struct sb_storage *st, const char *uri, const char *path);
SB_RESULT sb_storage_put(struct sb_storage *st, const char *uri, struct sb_slice data);
SB_RESULT sb_storage_put_file(struct sb_storage *st, const char *uri, const char *path);
SB_RESULT sb_storage_head(struct sb_storage *st, const char *uri, struct sb_storage_info *info);
SB_RESULT sb_storage_exists(struct sb_storage *st, const char *uri, bool *exists);
/* Removes the object or file; a missing one is not an error. */
SB_RESULT sb_storage_delete(struct sb_storage *st, const char *uri);

/*
 * A streaming reader, so that the parent never holds a whole input:
 *   file   a regular file only (sb_file_open_regular: no FIFO, device,
 *          directory or symlink; SB_ERR_NOT_REGULAR), read with read(2) in
 *          the caller's chunks, each read bounded by SB_STORAGE_READ_MS;
 *   s3     HeadObject for size and ETag, then ranged GETs of
 *          SB_STORAGE_RANGE bytes pinned with If-Match to that ETag: an
 *          object replaced mid-read fails with SB_ERR_AWS_CHANGED.
 * Memory: at most one range (8 MiB) per S3 reader until it reaches the
 * end (then none), nothing for files.
 * The reader borrows st (which must outlive it); close with
 * sb_storage_close (NULL-safe).
 */
#define SB_STORAGE_RANGE   (8u << 20)
#define SB_STORAGE_READ_MS 60000u

struct sb_storage_reader;

SB_RESULT sb_storage_open(struct sb_storage *st, const char *uri,
			  struct sb_storage_reader **out);
/* Fills buf with up to cap bytes, fewer only at the end; *n = 0 at the end. */
SB_RESULT sb_storage_read(struct sb_storage_reader *r, uint8_t *buf, size_t cap, size_t *n);
/* The size found at open (the bytes a complete read yields). */
uint64_t sb_storage_reader_size(const struct sb_storage_reader *r);
void sb_storage_close(struct sb_storage_reader *r);

#endif
