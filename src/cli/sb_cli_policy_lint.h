/*
 * `sealbid policy check`: a linter a buyer runs on a KMS key policy before
 * uploading bids under that key. Pure: policy JSON text + the agreed
 * measurements (+ optionally the job's manifest hash) -> findings. No I/O.
 *
 * The question it answers: can anyone but the attested enclave, running the
 * measured image for the agreed job, get this key's plaintext? Each way the
 * answer can be "yes" is one finding with a stable tag:
 *
 *   unattested-decrypt      an Allow of kms:Decrypt (or kms:ReEncryptFrom)
 *                           that needs no attestation document, or that an
 *                           enclave with any image satisfies
 *   pcr-mismatch            a pinned PCR differs from the measurement
 *   debug-mode-pin          a PCR pinned to all zeros (a debug-mode enclave,
 *                           whose memory the operator can read)
 *   wildcard-pin            a PCR pinned with StringLike and '*' or '?'
 *   operator-can-change-key the operator's role (the principal the attested
 *                           Decrypt is for, or its account root) may change
 *                           the policy or create grants (kms:PutKeyPolicy,
 *                           kms:CreateGrant, kms:ReplicateKey, kms:*, ...)
 *   no-job-binding          Decrypt is not tied to a job's encryption context
 *                           (kms:EncryptionContext:sealbid:manifest)
 *   job-mismatch            Decrypt is pinned to a manifest hash that is not
 *                           the given job's
 *   any-principal           an Allow for Principal "*"
 *
 * The policy language is IAM's (Statement object or array; Action/NotAction,
 * Principal/NotPrincipal as a string or array; condition operators with
 * ForAnyValue:/ForAllValues: and IfExists; condition key names compared
 * case-insensitively, the encryption context key after
 * "kms:EncryptionContext:" exactly). An explicit Deny closes a gap: a Deny
 * of Decrypt to "*" when the attestation is absent (Null ... "true") makes
 * every Allow of Decrypt need an attestation document, and a Deny when the
 * sealbid:manifest context is absent binds every Decrypt to a job. Where
 * the linter cannot tell, it reports: a false alarm costs a buyer a look,
 * a missed one costs the bids.
 */
#ifndef SB_CLI_POLICY_LINT_H
#define SB_CLI_POLICY_LINT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sb_buf.h"

/* "The maximum length of a key policy document is 32 KB (32,768 bytes)." */
#define SB_LINT_POLICY_MAX_LEN 32768
#define SB_LINT_MAX_STATEMENTS 256
#define SB_LINT_MAX_FINDINGS   64
#define SB_LINT_MSG_LEN        512
#define SB_LINT_N_PCRS         32
#define SB_LINT_PCR_HEX_LEN    96 /* SHA-384 */

enum sb_lint_tag {
	SB_LINT_UNATTESTED_DECRYPT,
	SB_LINT_PCR_MISMATCH,
	SB_LINT_DEBUG_MODE_PIN,
	SB_LINT_OPERATOR_CAN_CHANGE_KEY,
	SB_LINT_NO_JOB_BINDING,
	SB_LINT_JOB_MISMATCH,
	SB_LINT_WILDCARD_PIN,
	SB_LINT_ANY_PRINCIPAL,
};

/* The measurements the policy should pin: lower-case hex, have[i] when known. */
struct sb_lint_pcrs {
	bool have[SB_LINT_N_PCRS];
	char hex[SB_LINT_N_PCRS][SB_LINT_PCR_HEX_LEN + 1];
};

struct sb_lint_finding {
	enum sb_lint_tag tag;
	size_t stmt; /* 1-based statement number; 0 for the policy as a whole */
	char msg[SB_LINT_MSG_LEN];
};

/* Caller-owned storage; n findings in order of the statements. */
struct sb_lint_report {
	struct sb_lint_finding v[SB_LINT_MAX_FINDINGS];
	size_t n;
	bool truncated; /* more findings than SB_LINT_MAX_FINDINGS */
};

/*
 * Lints policy (borrowed JSON text) against pcrs (borrowed; NULL: pins are
 * checked for zeros and wildcards but not compared) and, when
 * job_hash is not NULL, the job's manifest hash (lower-case hex). Fills
 * *out. A policy that is not a well-formed IAM policy document (invalid or
 * duplicate-key JSON, longer than SB_LINT_POLICY_MAX_LEN, wrong types,
 * unknown elements) is SB_ERR_BAD_POLICY with a detail naming the place.
 */
SB_RESULT sb_cli_policy_lint(struct sb_slice policy, const struct sb_lint_pcrs *pcrs,
			     const char *job_hash, struct sb_lint_report *out);

/* "unattested-decrypt", ...: the stable tag of a finding. */
const char *sb_cli_policy_lint_tag(enum sb_lint_tag tag);

#endif
