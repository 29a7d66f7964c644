#include "common/sb_iam_op.h"

#include <string.h>

#define ANY_PREFIX "ForAnyValue:"
#define ALL_PREFIX "ForAllValues:"
#define IF_EXISTS  "IfExists"

bool sb_iam_op_split(const char *name, struct sb_iam_op *out)
{
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(name, ANY_PREFIX, strlen(ANY_PREFIX)) == 0) {
		out->qual = SB_IAM_QUAL_ANY;
		name += strlen(ANY_PREFIX);
	} else if (strncmp(name, ALL_PREFIX, strlen(ALL_PREFIX)) == 0) {
		out->qual = SB_IAM_QUAL_ALL;
		name += strlen(ALL_PREFIX);
	}
	n = strlen(name);
	out->if_exists = n > strlen(IF_EXISTS) && strcmp(name + n - strlen(IF_EXISTS), IF_EXISTS) == 0;
	if (out->if_exists)
		n -= strlen(IF_EXISTS);
	if (n > SB_IAM_OP_BASE_MAX)
		return false;
	memcpy(out->base, name, n);
	out->base[n] = '\0';
	return true;
}
