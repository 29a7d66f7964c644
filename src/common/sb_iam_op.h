/*
 * IAM condition operator names ("ForAnyValue:StringEqualsIfExists") split
 * into their parts, the same way for sealbid-kms's policy evaluator
 * (src/kmsd/sb_policy.c) and the `policy check` linter.
 */
#ifndef SB_IAM_OP_H
#define SB_IAM_OP_H

#include <stdbool.h>

#define SB_IAM_OP_BASE_MAX 63

enum sb_iam_qual {
	SB_IAM_QUAL_PLAIN = 0,
	SB_IAM_QUAL_ANY, /* ForAnyValue: */
	SB_IAM_QUAL_ALL, /* ForAllValues: */
};

struct sb_iam_op {
	enum sb_iam_qual qual;
	bool if_exists; /* ...IfExists */
	char base[SB_IAM_OP_BASE_MAX + 1]; /* "StringEquals" */
};

/* False (out->base empty) when the base name is longer than SB_IAM_OP_BASE_MAX. */
bool sb_iam_op_split(const char *name, struct sb_iam_op *out);

#endif
