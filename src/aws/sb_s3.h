/*
 * Amazon S3 client: GetObject (into a bounded buffer, or streamed into a
 * file replaced atomically), PutObject (from memory, or streamed from a
 * file), HeadObject (size, ETag), CreateBucket.
 *
 * URLs: virtual-hosted style (https://<bucket>.s3.<region>.amazonaws.com/<key>)
 * for AWS; path style (<endpoint>/<bucket>/<key>) for custom endpoints
 * (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, or cfg.endpoint), when forced, and
 * for bucket names with dots (TLS wildcard certificates do not cover them).
 * Keys are URI-encoded as SigV4 specifies, '/' kept. Every request carries
 * x-amz-content-sha256 (the body's SHA-256; a file is hashed in a first pass)
 * and an explicit Content-Type.
 *
 * Regions: a bucket in another region than the client's is found the way
 * the AWS SDKs find it: S3 refuses the request (301 PermanentRedirect, 307,
 * or 400 AuthorizationHeaderMalformed) with an x-amz-bucket-region header;
 * the request is retried once, signed for (and, on AWS, sent to) that
 * region, and the bucket's region is remembered for the client's later
 * requests (SB_S3_REGION_CACHE buckets). Redirect Location headers are never
 * followed: the host is always built here from a validated region name.
 */
#ifndef SB_S3_H
#define SB_S3_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/sb_creds.h"
#include "aws/sb_http.h"

#define SB_S3_KEY_MAX    1024
#define SB_S3_BUCKET_MAX 63
#define SB_S3_ETAG_MAX   128
#define SB_S3_DEFAULT_TYPE "application/octet-stream"
#define SB_S3_REGION_CACHE 16

struct sb_s3_config {
	const char *region;   /* NULL: sb_aws_region(); us-east-1 for custom endpoints */
	const char *endpoint; /* NULL: sb_aws_endpoint("s3", region) */
	bool force_path_style;
	struct sb_http_config http; /* default: no total timeout, a 60 s stall limit */
	struct sb_creds_provider *creds; /* borrowed; required */
};

void sb_s3_config_default(struct sb_s3_config *cfg);

struct sb_s3;

SB_RESULT sb_s3_new(const struct sb_s3_config *cfg, struct sb_s3 **out);
void sb_s3_free(struct sb_s3 *s3);

struct sb_s3_object_info {
	uint64_t size;
	char etag[SB_S3_ETAG_MAX + 1]; /* without the quotes */
};

/* 3-63 characters of [a-z0-9.-], starting and ending with a letter or digit. */
bool sb_s3_bucket_valid(const char *bucket);
/*
 * Records that bucket lives in region (learned from S3, or known to the
 * caller): its requests are signed for and sent to that region.
 */
SB_RESULT sb_s3_bucket_region_note(struct sb_s3 *s3, const char *bucket, const char *region);
/* The region bucket's requests use: noted, else the client's. */
SB_RESULT sb_s3_bucket_region(const struct sb_s3 *s3, const char *bucket,
			      char out[SB_AWS_REGION_MAX + 1]);
/* The object URL (appended to out), in the bucket's region. */
SB_RESULT sb_s3_url(const struct sb_s3 *s3, const char *bucket, const char *key,
		    struct sb_buf *out);

/* Appends the object to out; SB_ERR_TOO_LARGE past out->max. */
SB_RESULT sb_s3_get(struct sb_s3 *s3, const char *bucket, const char *key, struct sb_buf *out);
/*
 * Appends bytes first..last (inclusive) of the object to out, only if its
 * ETag is still etag (If-Match): a changed object fails with
 * SB_ERR_AWS_CHANGED instead of mixing two versions. The answer must be
 * exactly last - first + 1 bytes.
 */
SB_RESULT sb_s3_get_range(struct sb_s3 *s3, const char *bucket, const char *key, uint64_t first,
			  uint64_t last, const char *etag, struct sb_buf *out);
/* Streams the object into path (temporary file + rename: never a partial file). */
SB_RESULT sb_s3_get_file(struct sb_s3 *s3, const char *bucket, const char *key,
			 const char *path);
/* content_type NULL: SB_S3_DEFAULT_TYPE. */
SB_RESULT sb_s3_put(struct sb_s3 *s3, const char *bucket, const char *key, struct sb_slice data,
		    const char *content_type);
SB_RESULT sb_s3_put_file(struct sb_s3 *s3, const char *bucket, const char *key,
			 const char *path, const char *content_type);
SB_RESULT sb_s3_head(struct sb_s3 *s3, const char *bucket, const char *key,
		     struct sb_s3_object_info *info);
SB_RESULT sb_s3_create_bucket(struct sb_s3 *s3, const char *bucket);
/* DeleteObject (S3 answers 204 whether or not the key existed). */
SB_RESULT sb_s3_delete(struct sb_s3 *s3, const char *bucket, const char *key);

#endif
