/*
 * Key policies: the subset of the IAM policy language that KMS key policies
 * use, parsed strictly and evaluated with IAM's rules:
 *
 *   "An explicit deny in any policy overrides any allows." "By default, all
 *   requests are implicitly denied." A statement applies when its Principal,
 *   Action and Resource match and every condition in its Condition block is
 *   true: operators are ANDed, keys within an operator are ANDed, and the
 *   values listed for one key are ORed.
 *
 * Supported: Effect Allow|Deny; Principal "*" or {"AWS": arn|[arns]|"*"}
 * (an account root "arn:aws:iam::<acct>:root" or a bare 12-digit account id
 * means every principal of that account); Action strings with '*' and '?'
 * wildcards (case-insensitive); Resource with wildcards; Condition operators
 * StringEquals, StringNotEquals, StringEqualsIgnoreCase,
 * StringNotEqualsIgnoreCase, StringLike, StringNotLike, Null, Bool, each
 * optionally prefixed ForAnyValue: / ForAllValues: and suffixed IfExists.
 * Anything else (NotPrincipal, NotAction, unknown operators or fields) is
 * SB_ERR_KMS_MALFORMED_POLICY: refusing is safer than misreading a policy.
 *
 * A parsed policy is immutable and may be shared between threads.
 */
#ifndef SB_POLICY_H
#define SB_POLICY_H

#include <stddef.h>

#include "common/sb_buf.h"

/* "The maximum length of a key policy document is 32 KB (32,768 bytes)." */
#define SB_POLICY_MAX_LEN        32768
#define SB_POLICY_MAX_STATEMENTS 64

struct sb_policy;

/* Parses a policy document. Borrows json. Caller frees *out. */
SB_RESULT sb_policy_parse(struct sb_slice json, struct sb_policy **out);
void sb_policy_free(struct sb_policy *policy);

/* One condition key of the request and its values (more than one for a
 * multivalued key such as kms:EncryptionContextKeys). Borrowed. */
struct sb_policy_ctx {
	const char *key;
	const char *const *values;
	size_t n_values;
};

/* The request being authorised. Borrowed. */
struct sb_policy_request {
	const char *principal_arn; /* "arn:aws:iam::111122223333:user/buyer1" */
	const char *account_id;    /* the principal's account, "111122223333" */
	const char *action;        /* "kms:Decrypt" */
	const char *resource;      /* the key ARN */
	const struct sb_policy_ctx *ctx;
	size_t n_ctx;
};

enum sb_policy_decision {
	SB_POLICY_IMPLICIT_DENY = 0, /* no statement allowed it */
	SB_POLICY_ALLOW = 1,
	SB_POLICY_EXPLICIT_DENY = 2,
};

enum sb_policy_decision sb_policy_evaluate(const struct sb_policy *policy,
					   const struct sb_policy_request *req);

/* The policy KMS gives a new key: the account root may do kms:*.
 * Appends the JSON text to out. */
SB_RESULT sb_policy_default(const char *account_id, struct sb_buf *out);

#endif
