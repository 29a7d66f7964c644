#include "aws/sb_s3.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sb_file.h"
#include "common/sb_log.h"
#include "common/sb_parse.h"

/* A bucket's region as S3 reported it (x-amz-bucket-region). */
struct s3_bucket_region {
	char bucket[SB_S3_BUCKET_MAX + 1];
	char region[SB_AWS_REGION_MAX + 1];
};

struct sb_s3 {
	struct sb_http_client *http;
	struct sb_creds_provider *creds;
	char region[SB_AWS_REGION_MAX + 1];
	char endpoint[SB_AWS_URL_MAX + 1];
	bool custom;
	bool path_style;
	struct s3_bucket_region regions[SB_S3_REGION_CACHE];
	size_t n_regions, next_region; /* filled slots; the slot replaced next when full */
};

void sb_s3_config_default(struct sb_s3_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_http_config_default(&cfg->http);
	/* Objects can be large: bound stalls, not the whole transfer. */
	cfg->http.timeout_ms = 0;
	cfg->http.low_speed_time_s = 60;
}

static SB_RESULT s3_region(const struct sb_s3_config *cfg, bool custom, struct sb_s3 *s3)
{
	if (cfg->region != NULL) {
		SB_ENSURE_MSG(sb_aws_region_valid(cfg->region), SB_ERR_INVALID_ARG, "bad region");
		memcpy(s3->region, cfg->region, strlen(cfg->region) + 1);
		return SB_OK_RESULT;
	}
	sb_result rc = sb_aws_region(s3->region);
	if (!sb_ok(rc) && custom && rc.code == SB_ERR_AWS_NO_REGION) {
		/* S3-compatible servers accept any region; us-east-1 is the convention. */
		sb_error_clear();
		memcpy(s3->region, "us-east-1", 10);
		return SB_OK_RESULT;
	}
	return rc;
}

static SB_RESULT s3_endpoint(const struct sb_s3_config *cfg, struct sb_s3 *s3)
{
	struct sb_buf url = SB_BUF_INIT(SB_AWS_URL_MAX);
	sb_result rc;

	if (cfg->endpoint != NULL) {
		SB_GUARD(sb_aws_endpoint_check(cfg->endpoint));
		SB_GUARD(sb_buf_append_str(&url, cfg->endpoint));
		while (url.len > 0 && url.data[url.len - 1] == '/')
			url.len--;
		s3->custom = true;
		rc = SB_OK_RESULT;
	} else {
		/* Region first only matters for the AWS default; env endpoints need none. */
		char probe[SB_AWS_REGION_MAX + 1];
		bool have_region = cfg->region != NULL || sb_ok(sb_aws_region(probe));
		sb_error_clear();
		rc = sb_aws_endpoint("s3", have_region ? (cfg->region ? cfg->region : probe) : NULL,
				     &url, &s3->custom);
	}
	if (sb_ok(rc))
		(void)snprintf(s3->endpoint, sizeof(s3->endpoint), "%.*s", (int)url.len,
			       (const char *)url.data);
	sb_buf_cleanup(&url);
	return rc;
}

SB_RESULT sb_s3_new(const struct sb_s3_config *cfg, struct sb_s3 **out)
{
	struct sb_s3 *s3;
	sb_result rc;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(cfg->creds != NULL, SB_ERR_AWS_NO_CREDENTIALS, "S3: no credentials provider");
	s3 = calloc(1, sizeof(*s3));
	SB_ENSURE(s3 != NULL, SB_ERR_NOMEM);
	s3->creds = cfg->creds;
	SB_GUARD_GOTO(rc, s3_endpoint(cfg, s3), fail);
	SB_GUARD_GOTO(rc, s3_region(cfg, s3->custom, s3), fail);
	s3->path_style = cfg->force_path_style || s3->custom;
	SB_GUARD_GOTO(rc, sb_http_client_new(&cfg->http, &s3->http), fail);
	*out = s3;
	return SB_OK_RESULT;
fail:
	sb_s3_free(s3);
	return rc;
}

void sb_s3_free(struct sb_s3 *s3)
{
	if (s3 == NULL)
		return;
	sb_http_client_free(s3->http);
	free(s3);
}

bool sb_s3_bucket_valid(const char *b)
{
	size_t n = b != NULL ? strlen(b) : 0;

	if (n < 3 || n > SB_S3_BUCKET_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9');
		if (!alnum && ((b[i] != '.' && b[i] != '-') || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/* The region requests for bucket are signed for and, on AWS, sent to. */
static const char *bucket_region(const struct sb_s3 *s3, const char *bucket)
{
	for (size_t i = 0; i < s3->n_regions; i++)
		if (strcmp(s3->regions[i].bucket, bucket) == 0)
			return s3->regions[i].region;
	return s3->region;
}

SB_RESULT sb_s3_bucket_region_note(struct sb_s3 *s3, const char *bucket, const char *region)
{
	struct s3_bucket_region *slot = NULL;

	SB_ENSURE_REF(s3);
	SB_ENSURE_MSG(sb_s3_bucket_valid(bucket), SB_ERR_INVALID_ARG, "invalid S3 bucket name");
	SB_ENSURE_MSG(region != NULL && sb_aws_region_valid(region), SB_ERR_INVALID_ARG,
		      "bad region for bucket %s", bucket);
	for (size_t i = 0; i < s3->n_regions && slot == NULL; i++)
		if (strcmp(s3->regions[i].bucket, bucket) == 0)
			slot = &s3->regions[i];
	if (slot == NULL && s3->n_regions < SB_S3_REGION_CACHE) {
		slot = &s3->regions[s3->n_regions++];
	} else if (slot == NULL) {
		slot = &s3->regions[s3->next_region];
		s3->next_region = (s3->next_region + 1) % SB_S3_REGION_CACHE;
	}
	memcpy(slot->bucket, bucket, strlen(bucket) + 1);
	memcpy(slot->region, region, strlen(region) + 1);
	return SB_OK_RESULT;
}

SB_RESULT sb_s3_bucket_region(const struct sb_s3 *s3, const char *bucket,
			      char out[SB_AWS_REGION_MAX + 1])
{
	SB_ENSURE_REF(s3);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(sb_s3_bucket_valid(bucket), SB_ERR_INVALID_ARG, "invalid S3 bucket name");
	const char *r = bucket_region(s3, bucket);
	memcpy(out, r, strlen(r) + 1);
	return SB_OK_RESULT;
}

static SB_RESULT check_names(const char *bucket, const char *key)
{
	SB_ENSURE_MSG(sb_s3_bucket_valid(bucket), SB_ERR_INVALID_ARG, "invalid S3 bucket name");
	if (key != NULL) {
		size_t n = strlen(key);
		/* "The object key name is a sequence of Unicode characters ... up to 1,024 bytes." */
		SB_ENSURE_MSG(n >= 1 && n <= SB_S3_KEY_MAX, SB_ERR_INVALID_ARG,
			      "S3 key must be 1..1024 bytes");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_s3_url(const struct sb_s3 *s3, const char *bucket, const char *key,
		    struct sb_buf *out)
{
	SB_ENSURE_REF(s3);
	SB_ENSURE_REF(out);
	SB_GUARD(check_names(bucket, key));
	const char *region = bucket_region(s3, bucket);
	if (s3->path_style || strchr(bucket, '.') != NULL) {
		const char *ep = s3->custom ? s3->endpoint : NULL;
		if (ep != NULL)
			SB_GUARD(sb_buf_printf(out, "%s/%s", ep, bucket));
		else
			SB_GUARD(sb_buf_printf(out, "https://s3.%s.amazonaws.com/%s", region, bucket));
	} else {
		SB_GUARD(sb_buf_printf(out, "https://%s.s3.%s.amazonaws.com", bucket, region));
	}
	SB_GUARD(sb_buf_append_str(out, "/"));
	if (key != NULL)
		SB_GUARD(sb_aws_uri_encode(sb_slice_str(key), true, out));
	return SB_OK_RESULT;
}

/*
 * The region S3 says the bucket lives in, when the answer is a wrong-region
 * refusal: 301 PermanentRedirect, 307 (a new bucket's DNS not yet
 * everywhere) or 400 (AuthorizationHeaderMalformed: signed for the wrong
 * region), each carrying x-amz-bucket-region. HEAD answers have no body, so
 * the header is the only evidence the SDKs use too.
 */
static bool wrong_region(const struct sb_http_response *resp, const char *signed_for,
			 char out[SB_AWS_REGION_MAX + 1])
{
	struct sb_slice v;

	if (resp->status != 301 && resp->status != 307 && resp->status != 400)
		return false;
	if (!sb_ok(sb_http_response_header(resp, "x-amz-bucket-region", &v))) {
		/* The lookup replaced the request's error: raise that one again. */
		sb_result again = sb_http_response_result(resp);
		(void)again;
		return false;
	}
	if (v.len == 0 || v.len > SB_AWS_REGION_MAX)
		return false;
	memcpy(out, v.ptr, v.len);
	out[v.len] = '\0';
	return sb_aws_region_valid(out) && strcmp(out, signed_for) != 0;
}

/*
 * One signed S3 request; the caller fills body and sinks in *req. A bucket
 * in another region is retried once in the region S3 names (remembered for
 * later requests); a second redirect is an error.
 */
static SB_RESULT s3_send(struct sb_s3 *s3, const char *op, const char *bucket, const char *key,
			 struct sb_http_request *req, struct sb_http_response *resp)
{
	struct sb_buf url = SB_BUF_INIT(SB_AWS_URL_MAX + 3 * SB_S3_KEY_MAX + 128);
	char moved[SB_AWS_REGION_MAX + 1];
	struct sb_aws_creds creds;
	struct sb_http_sign sign;
	sb_result rc;

	sb_aws_creds_init(&creds);
	SB_GUARD_GOTO(rc, check_names(bucket, key), out);
	SB_GUARD_GOTO(rc, sb_creds_provider_get(s3->creds, &creds), out);
	req->op = op;
	req->payload_hash = true;
	req->error_format = SB_AWS_ERROR_XML;
	if (req->content_type == NULL)
		req->content_type = SB_S3_DEFAULT_TYPE;
	for (int hop = 0;; hop++) {
		const char *region = bucket_region(s3, bucket);
		sb_buf_reset(&url);
		SB_GUARD_GOTO(rc, sb_s3_url(s3, bucket, key, &url), out);
		sign = (struct sb_http_sign){.service = "s3", .region = region, .creds = &creds};
		req->url = sb_buf_cstr(&url);
		req->sign = &sign;
		rc = sb_http_send(s3->http, req, resp);
		/* url and sign live on this stack frame: leave no dangling pointers. */
		req->url = NULL;
		req->sign = NULL;
		if (sb_ok(rc) || hop > 0 || !wrong_region(resp, region, moved))
			break;
		sb_log_info("s3://%s is in region %s, not %s: retrying there", bucket, moved,
			    region);
		sb_error_clear();
		SB_GUARD_GOTO(rc, sb_s3_bucket_region_note(s3, bucket, moved), out);
	}
out:
	if (!sb_ok(rc))
		sb_error_context("s3://%s/%s", bucket, key != NULL ? key : "");
	sb_aws_creds_cleanup(&creds);
	sb_buf_cleanup(&url);
	return rc;
}

SB_RESULT sb_s3_get(struct sb_s3 *s3, const char *bucket, const char *key, struct sb_buf *out)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	sb_result rc;

	SB_ENSURE_REF(out);
	sb_http_response_init(&resp);
	req.method = "GET";
	req.out = out;
	rc = s3_send(s3, "S3 GetObject", bucket, key, &req, &resp);
	sb_http_response_cleanup(&resp);
	return rc;
}

SB_RESULT sb_s3_get_range(struct sb_s3 *s3, const char *bucket, const char *key, uint64_t first,
			  uint64_t last, const char *etag, struct sb_buf *out)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	char range[64], match[SB_S3_ETAG_MAX + 16];
	size_t before;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE_REF(etag);
	SB_ENSURE_MSG(first <= last && last - first < SIZE_MAX, SB_ERR_INVALID_ARG, "bad range");
	SB_ENSURE_MSG(etag[0] != '\0' && strlen(etag) <= SB_S3_ETAG_MAX && strchr(etag, '"') == NULL,
		      SB_ERR_INVALID_ARG, "bad ETag");
	(void)snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)first,
		       (unsigned long long)last);
	(void)snprintf(match, sizeof(match), "If-Match: \"%s\"", etag);
	before = out->len;
	sb_http_response_init(&resp);
	req.method = "GET";
	req.headers[0] = range;
	req.headers[1] = match;
	req.out = out;
	rc = s3_send(s3, "S3 GetObject", bucket, key, &req, &resp);
	/* RFC 9110 13.1.1: If-Match fails with 412 when the current ETag differs. */
	if (!sb_ok(rc) && resp.status == 412)
		rc = sb_error_recordf(SB_ERR_AWS_CHANGED, SB_HERE,
				      "s3://%s/%s: its ETag is no longer \"%s\"", bucket, key, etag);
	else if (sb_ok(rc) && (resp.status != 206 || out->len - before != last - first + 1))
		rc = sb_error_recordf(SB_ERR_AWS_BAD_RESPONSE, SB_HERE,
				      "s3://%s/%s: expected 206 with %llu bytes, got %ld with %zu",
				      bucket, key, (unsigned long long)(last - first + 1),
				      resp.status, out->len - before);
	sb_http_response_cleanup(&resp);
	return rc;
}

SB_RESULT sb_s3_get_file(struct sb_s3 *s3, const char *bucket, const char *key, const char *path)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	char tmp[PATH_MAX];
	int fd = -1;
	sb_result rc;

	SB_ENSURE_REF(path);
	SB_GUARD(sb_aws_atomic_open(path, tmp, sizeof(tmp), &fd));
	sb_http_response_init(&resp);
	req.method = "GET";
	req.out_fd = fd;
	rc = s3_send(s3, "S3 GetObject", bucket, key, &req, &resp);
	sb_http_response_cleanup(&resp);
	if (!sb_ok(rc)) {
		sb_aws_atomic_abort(fd, tmp);
		return rc;
	}
	return sb_aws_atomic_commit(fd, tmp, path);
}

SB_RESULT sb_s3_put(struct sb_s3 *s3, const char *bucket, const char *key, struct sb_slice data,
		    const char *content_type)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	sb_result rc;

	sb_http_response_init(&resp);
	req.method = "PUT";
	req.body = data;
	req.content_type = content_type;
	rc = s3_send(s3, "S3 PutObject", bucket, key, &req, &resp);
	sb_http_response_cleanup(&resp);
	return rc;
}

SB_RESULT sb_s3_put_file(struct sb_s3 *s3, const char *bucket, const char *key,
			 const char *path, const char *content_type)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	uint64_t size = 0;
	sb_result rc;
	int fd = -1;

	SB_ENSURE_REF(path);
	/* A regular file only, opened without blocking (a FIFO would wait for a writer). */
	SB_GUARD(sb_file_open_regular(path, &fd, &size));
	sb_http_response_init(&resp);
	req.method = "PUT";
	req.body_fd = fd;
	req.body_len = size;
	req.content_type = content_type;
	rc = s3_send(s3, "S3 PutObject", bucket, key, &req, &resp);
	sb_http_response_cleanup(&resp);
	close(fd);
	return rc;
}

static SB_RESULT head_info(const struct sb_http_response *resp, struct sb_s3_object_info *info)
{
	struct sb_slice v;

	memset(info, 0, sizeof(*info));
	SB_ENSURE_MSG(sb_ok(sb_http_response_header(resp, "Content-Length", &v)),
		      SB_ERR_AWS_BAD_RESPONSE, "S3 HeadObject: no Content-Length");
	SB_GUARD(sb_parse_u64(v, 0, UINT64_MAX, &info->size));
	if (sb_ok(sb_http_response_header(resp, "ETag", &v))) {
		if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
			v = SB_SLICE(v.ptr + 1, v.len - 2);
		SB_ENSURE_MSG(v.len <= SB_S3_ETAG_MAX, SB_ERR_AWS_BAD_RESPONSE,
			      "S3 HeadObject: ETag too long");
		for (size_t i = 0; i < v.len; i++)
			SB_ENSURE_MSG(v.ptr[i] >= 0x20 && v.ptr[i] < 0x7f, SB_ERR_AWS_BAD_RESPONSE,
				      "S3 HeadObject: bad ETag");
		memcpy(info->etag, v.ptr, v.len);
		info->etag[v.len] = '\0';
	}
	sb_error_clear();
	return SB_OK_RESULT;
}

SB_RESULT sb_s3_head(struct sb_s3 *s3, const char *bucket, const char *key,
		     struct sb_s3_object_info *info)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	sb_result rc;

	SB_ENSURE_REF(info);
	sb_http_response_init(&resp);
	req.method = "HEAD";
	rc = s3_send(s3, "S3 HeadObject", bucket, key, &req, &resp);
	if (sb_ok(rc))
		rc = head_info(&resp, info);
	sb_http_response_cleanup(&resp);
	return rc;
}

SB_RESULT sb_s3_delete(struct sb_s3 *s3, const char *bucket, const char *key)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	sb_result rc;

	sb_http_response_init(&resp);
	req.method = "DELETE";
	rc = s3_send(s3, "S3 DeleteObject", bucket, key, &req, &resp);
	sb_http_response_cleanup(&resp);
	return rc;
}

SB_RESULT sb_s3_create_bucket(struct sb_s3 *s3, const char *bucket)
{
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	struct sb_http_response resp;
	struct sb_buf body = SB_BUF_INIT(512);
	sb_result rc;

	SB_ENSURE_REF(s3);
	sb_http_response_init(&resp);
	/* Outside us-east-1, "you must specify the Region" in CreateBucketConfiguration. */
	if (strcmp(s3->region, "us-east-1") != 0)
		SB_GUARD_GOTO(rc, sb_buf_printf(&body,
				       "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/"
				       "doc/2006-03-01/\"><LocationConstraint>%s</LocationConstraint>"
				       "</CreateBucketConfiguration>",
				       s3->region),
			      out);
	req.method = "PUT";
	req.body = sb_buf_slice(&body);
	req.content_type = body.len > 0 ? "application/xml" : NULL;
	rc = s3_send(s3, "S3 CreateBucket", bucket, NULL, &req, &resp);
out:
	sb_http_response_cleanup(&resp);
	sb_buf_cleanup(&body);
	return rc;
}
