/*
 * sealbid-kms configuration. The file's shape is fixed:
 *
 *   {"region": "us-east-1", "account_id": "111122223333",
 *    "principals": [{"arn": "arn:aws:iam::111122223333:user/buyer1",
 *                    "access_key_id": "AKIA...", "secret_access_key": "...",
 *                    "session_token": null, "expiration": null}],
 *    "attestation_roots": ["path/to/dev-root.pem"],
 *    "trust_aws_nitro_root": true}
 *
 * expiration (optional, ISO 8601 as IMDS and STS print it): from then on
 * requests signed with that access key get ExpiredTokenException, as AWS
 * answers for expired temporary credentials. Several principals may share
 * an ARN (a role's successive session credentials).
 *
 * attestation_roots paths are relative to the file's directory; the AWS Nitro
 * root is trusted unless trust_aws_nitro_root is false. Without a file the
 * server runs with one development principal (SB_KMSD_DEV_*), documented in
 * docs/KMS.md, and the local dev root if it exists.
 *
 * Secrets (secret access keys, session tokens) are wiped on cleanup and
 * never logged.
 */
#ifndef SB_KMSD_CONFIG_H
#define SB_KMSD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "kmsd/sb_sigv4.h"

#define SB_KMSD_MAX_PRINCIPALS 64
#define SB_KMSD_MAX_ROOTS      3 /* plus the AWS root: sb_verify's limit of 4 */
#define SB_KMSD_CONFIG_MAX     (256 * 1024)

/* Development only: the fixed principal of a server started without --config. */
#define SB_KMSD_DEV_REGION     "us-east-1"
#define SB_KMSD_DEV_ACCOUNT    "111122223333"
#define SB_KMSD_DEV_ARN        "arn:aws:iam::111122223333:user/sealbid-dev"
#define SB_KMSD_DEV_ACCESS_KEY "AKIASEALBIDDEVEXAMPL"
#define SB_KMSD_DEV_SECRET     "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"

struct sb_kmsd_principal {
	char *arn;
	char account_id[13];
	char *access_key_id;
	char *secret_access_key; /* secret */
	char *session_token;     /* secret; NULL when the principal has none */
	uint64_t expiration_ms;  /* Unix ms; 0 = never expires */
};

/* Caller storage: _init, _load/_parse/_default, _cleanup. */
struct sb_kmsd_config {
	char region[32];
	char account_id[13];
	struct sb_kmsd_principal principals[SB_KMSD_MAX_PRINCIPALS];
	size_t n_principals;
	struct sb_sigv4_credential creds[SB_KMSD_MAX_PRINCIPALS]; /* borrow principals */
	struct sb_buf roots[SB_KMSD_MAX_ROOTS]; /* PEM or DER contents */
	size_t n_roots;
	bool trust_aws_root;
};

void sb_kmsd_config_init(struct sb_kmsd_config *cfg);
void sb_kmsd_config_cleanup(struct sb_kmsd_config *cfg);

/* Parses the JSON text (borrowed); relative root paths resolve in base_dir. */
SB_RESULT sb_kmsd_config_parse(struct sb_slice json, const char *base_dir,
			       struct sb_kmsd_config *cfg);
/* Reads and parses the file at path. */
SB_RESULT sb_kmsd_config_load(const char *path, struct sb_kmsd_config *cfg);
/*
 * The development configuration: SB_KMSD_DEV_* and, when the file exists,
 * the dev root at $SEALBID_STATE/ca/dev-root.pem (SEALBID_STATE defaults to
 * $XDG_STATE_HOME/sealbid, then $HOME/.local/state/sealbid).
 */
SB_RESULT sb_kmsd_config_default(struct sb_kmsd_config *cfg);

/* "arn:aws:iam::111122223333:..." -> "111122223333" (12 digits). */
SB_RESULT sb_kmsd_arn_account(const char *arn, char out[13]);

#endif
