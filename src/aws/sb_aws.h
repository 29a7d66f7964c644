/*
 * Shared AWS plumbing for the clients in src/aws: credentials as a value
 * type, region and endpoint resolution from the AWS configuration
 * conventions, and the parsers for AWS error bodies (JSON and S3 XML).
 *
 * Everything here is pure (no network); the parsers read untrusted bytes
 * and are covered by fuzz_aws_response.
 */
#ifndef SB_AWS_H
#define SB_AWS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_AWS_KEY_ID_MAX  128      /* AccessKeyId: 16..128 characters */
#define SB_AWS_SECRET_MAX  256      /* SecretAccessKey */
#define SB_AWS_TOKEN_MAX   8192     /* SessionToken (STS tokens are ~1-2 KiB) */
#define SB_AWS_REGION_MAX  64
#define SB_AWS_URL_MAX     2048
#define SB_AWS_CODE_MAX    128      /* an error code such as NoSuchKey */
#define SB_AWS_MESSAGE_MAX 256      /* an error message, cut past this */

/*
 * One set of AWS credentials. secret and token are secret sb_bufs (wiped
 * on cleanup); the access key id is an identifier and may be logged.
 * Caller storage: sb_aws_creds_init / sb_aws_creds_cleanup.
 */
struct sb_aws_creds {
	char access_key_id[SB_AWS_KEY_ID_MAX + 1];
	struct sb_buf secret;
	struct sb_buf token;    /* empty when there is no session token */
	uint64_t expiration_ms; /* Unix ms; 0 = does not expire */
};

void sb_aws_creds_init(struct sb_aws_creds *c);
void sb_aws_creds_cleanup(struct sb_aws_creds *c);
/*
 * Replaces c's contents. Borrows the slices (copied). The key id must be
 * 16..128 characters of [A-Z0-9]; secret non-empty, printable, no spaces.
 */
SB_RESULT sb_aws_creds_set(struct sb_aws_creds *c, struct sb_slice key_id, struct sb_slice secret,
			   struct sb_slice token, uint64_t expiration_ms);
SB_RESULT sb_aws_creds_copy(struct sb_aws_creds *dst, const struct sb_aws_creds *src);
bool sb_aws_creds_present(const struct sb_aws_creds *c);

/*
 * Region: AWS_REGION, then AWS_DEFAULT_REGION, then `region` of the active
 * profile (AWS_PROFILE, default "default") in the config file
 * (AWS_CONFIG_FILE, default ~/.aws/config). Out: NUL-terminated, at most
 * SB_AWS_REGION_MAX characters. SB_ERR_AWS_NO_REGION when none is set.
 */
SB_RESULT sb_aws_region(char out[SB_AWS_REGION_MAX + 1]);
/* A region name is [a-z0-9-]{1,64}; it goes into host names and scopes. */
bool sb_aws_region_valid(const char *region);

/*
 * The endpoint URL of a service ("kms", "s3", "sts"): AWS_ENDPOINT_URL_<SVC>
 * (upper case), then AWS_ENDPOINT_URL, then https://<svc>.<region>.amazonaws.com.
 * Appended to out without a trailing slash; *custom says whether it came
 * from the environment (custom endpoints use path-style S3 URLs).
 */
SB_RESULT sb_aws_endpoint(const char *service, const char *region, struct sb_buf *out,
			  bool *custom);
/* Checks an endpoint URL: http:// or https://, a host, no query/fragment/userinfo. */
SB_RESULT sb_aws_endpoint_check(const char *url);

/*
 * A parsed AWS error body. JSON protocol (KMS): {"__type": "...#Code",
 * "message"|"Message": "..."}; XML (S3, STS): <Error><Code>..</Code>
 * <Message>..</Message></Error>. Fields are cut to their maxima and
 * control characters replaced, so they are safe to put in error details.
 */
struct sb_aws_error {
	char code[SB_AWS_CODE_MAX + 1];
	char message[SB_AWS_MESSAGE_MAX + 1];
};

enum sb_aws_error_format {
	SB_AWS_ERROR_JSON,
	SB_AWS_ERROR_XML,
};

/* Never fails: an unparseable body gives empty fields. */
void sb_aws_error_parse(enum sb_aws_error_format fmt, struct sb_slice body,
			struct sb_aws_error *out);
/* Whether an error code or HTTP status means "throttled, retry later". */
bool sb_aws_error_is_throttle(const char *code, long status);
/* The sb_error code for a failed AWS call (SB_ERR_AWS_*). */
int sb_aws_error_classify(const char *code, long status);

/*
 * Minimal XML reading for AWS responses (no DTDs, no attributes needed):
 * the text of the first <name>...</name> inside in (borrowed slice of in).
 * SB_ERR_NOT_FOUND when absent; SB_ERR_AWS_BAD_RESPONSE when unterminated.
 */
SB_RESULT sb_aws_xml_find(struct sb_slice in, const char *name, struct sb_slice *out);
/* Appends text with the five predefined XML entities decoded; others are errors. */
SB_RESULT sb_aws_xml_unescape(struct sb_slice in, struct sb_buf *out);

/*
 * URI-encodes per SigV4 ("UriEncode"): unreserved A-Za-z0-9-._~ kept,
 * everything else %XX (upper case); '/' kept when keep_slash (S3 keys).
 */
SB_RESULT sb_aws_uri_encode(struct sb_slice in, bool keep_slash, struct sb_buf *out);

/*
 * Atomic file replacement for downloads and copies: open a temporary file
 * next to path (mode 0600), write it, then commit (fsync, rename over path,
 * fsync the directory) or abort (close, unlink). tmp must hold PATH_MAX.
 */
SB_RESULT sb_aws_atomic_open(const char *path, char *tmp, size_t tmp_cap, int *fd);
SB_RESULT sb_aws_atomic_commit(int fd, const char *tmp, const char *path);
void sb_aws_atomic_abort(int fd, const char *tmp);

/*
 * jansson copies every string it parses or builds (secrets among them:
 * Plaintext, SecretAccessKey, Token). sb_aws_json_init installs, once per
 * process, allocation functions that wipe every block on free; the AWS
 * clients call it before using jansson. sb_aws_json_free wipes and frees a
 * string returned by json_dumps.
 */
SB_RESULT sb_aws_json_init(void);
void sb_aws_json_free(void *p);

#endif
