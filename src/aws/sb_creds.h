/*
 * AWS credentials: the default chain in the order the AWS SDKs use, and
 * providers that cache and refresh what it found.
 *
 * Chain (first source that has credentials wins):
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *      (a key id without a secret, or the reverse, is an error), and
 *      AWS_CREDENTIAL_EXPIRATION (ISO 8601, as the AWS CLI's
 *      `configure export-credentials --format env` prints it; optional);
 *   2. the shared files for profile AWS_PROFILE (default "default"):
 *      AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials) and AWS_CONFIG_FILE
 *      (~/.aws/config): static keys, or role_arn + source_profile /
 *      credential_source assumed through STS AssumeRole (Query API, XML);
 *      endpoint AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL, else regional STS.
 *      A named AWS_PROFILE that exists in neither file is an error;
 *   3. the EC2 instance role through IMDSv2 (unless AWS_EC2_METADATA_DISABLED
 *      is "true"): PUT /latest/api/token, then GET
 *      /latest/meta-data/iam/security-credentials/[<role>] with the token;
 *      endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT (default
 *      http://169.254.169.254). The token is reused until shortly before
 *      its TTL and fetched again on a 401.
 *
 * Credentials with an expiration are refreshed SB_CREDS_REFRESH_MARGIN_MS
 * before they expire. Secrets stay in secret buffers; only access key ids
 * ever reach a (debug) log line.
 */
#ifndef SB_CREDS_H
#define SB_CREDS_H

#include <stdbool.h>
#include <stdint.h>

#include "aws/sb_aws.h"
#include "aws/sb_http.h"
#include "aws/sb_ini.h"

#define SB_CREDS_REFRESH_MARGIN_MS (5u * 60u * 1000u)
#define SB_CREDS_IMDS_TOKEN_TTL_S  21600u
#define SB_CREDS_ROLE_DEPTH_MAX    4 /* source_profile chains */

struct sb_creds_provider;

/* A provider that always returns a copy of creds (copied). Caller frees. */
SB_RESULT sb_creds_provider_new_static(const struct sb_aws_creds *creds,
				       struct sb_creds_provider **out);
/*
 * The default chain. http is the config for STS and IMDS calls (NULL: the
 * defaults; IMDS always uses a 1 s connect timeout and one attempt, as the
 * SDKs do). Resolution happens on the first sb_creds_provider_get.
 */
SB_RESULT sb_creds_provider_new_chain(const struct sb_http_config *http,
				      struct sb_creds_provider **out);
void sb_creds_provider_free(struct sb_creds_provider *p);
/*
 * Replaces a static provider's credentials (copied), e.g. with fresh ones
 * the parent sent mid-job; every later get returns them. Thread-safe.
 * SB_ERR_INVALID_ARG for a chain provider (it refreshes itself).
 */
SB_RESULT sb_creds_provider_replace(struct sb_creds_provider *p, const struct sb_aws_creds *creds);
/*
 * Whether later gets can return newer credentials than the current ones:
 * a chain whose source expires and can be asked again (IMDS, AssumeRole).
 * Static keys, environment and profile keys cannot.
 */
bool sb_creds_provider_can_refresh(const struct sb_creds_provider *p);
/*
 * Copies current credentials into out (initialised by the caller),
 * resolving or refreshing them first when needed. Thread-safe.
 */
SB_RESULT sb_creds_provider_get(struct sb_creds_provider *p, struct sb_aws_creds *out);
/* Where the cached credentials came from: "static", "env", "profile",
 * "assume-role", "imds"; "" before the first get. */
const char *sb_creds_provider_source(const struct sb_creds_provider *p);
/* How many times credentials were fetched from their source (tests, stats). */
uint32_t sb_creds_provider_fetches(const struct sb_creds_provider *p);

/* The sources one by one (used by the chain; public for tests). *found =
 * false means "this source has nothing", not an error. */
SB_RESULT sb_creds_from_env(struct sb_aws_creds *out, bool *found);
SB_RESULT sb_creds_from_profile(const char *profile, struct sb_http_client *http,
				struct sb_aws_creds *out, bool *found);

/* IMDSv2 client state: the session token and its expiry. */
struct sb_imds {
	struct sb_http_client *http; /* owned */
	char endpoint[SB_AWS_URL_MAX + 1];
	struct sb_buf token;         /* secret */
	uint64_t token_expiry_ms;
	uint32_t token_fetches;
};

SB_RESULT sb_imds_init(struct sb_imds *imds);
void sb_imds_cleanup(struct sb_imds *imds);
SB_RESULT sb_creds_from_imds(struct sb_imds *imds, struct sb_aws_creds *out, bool *found);

/* Parsers for untrusted responses (fuzzed): IMDS credentials JSON, STS AssumeRole XML. */
SB_RESULT sb_creds_parse_imds_json(struct sb_slice body, struct sb_aws_creds *out);
SB_RESULT sb_creds_parse_sts_xml(struct sb_slice body, struct sb_aws_creds *out);

#endif
