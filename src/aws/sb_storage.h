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

#endif
