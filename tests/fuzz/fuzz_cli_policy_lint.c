/*
 * Fuzz target for `sealbid policy check`'s linter (src/cli/sb_cli_policy_lint.c).
 *
 * Input: one flags byte (bit 0: lint against measurements, bit 1: against a
 * job hash), then the policy document. Properties beyond "no crash": the
 * verdict is deterministic (same error or the same findings twice), every
 * finding has a known tag, a statement number within the policy's and a
 * non-empty message, and an accepted policy is within the KMS size limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The CLI is a program, not a library: the linter is built in. */
#include "cli/sb_cli_policy_lint.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sb_lint_report first, second;

static void fixed_pcrs(struct sb_lint_pcrs *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < 3; i++) {
		memset(p->hex[i], "abc"[i], SB_LINT_PCR_HEX_LEN);
		p->have[i] = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char job[] = "111111111111111111111111111111111111111111111111"
				  "111111111111111111111111111111111111111111111111";
	struct sb_lint_pcrs pcrs;
	sb_result a, b;

	if (size == 0)
		return 0;
	fixed_pcrs(&pcrs);
	struct sb_slice policy = SB_SLICE(data + 1, size - 1);
	const struct sb_lint_pcrs *p = (data[0] & 1) != 0 ? &pcrs : NULL;
	const char *j = (data[0] & 2) != 0 ? job : NULL;

	a = sb_cli_policy_lint(policy, p, j, &first);
	b = sb_cli_policy_lint(policy, p, j, &second);
	if (a.code != b.code)
		abort();
	if (!sb_ok(a))
		return 0;
	if (policy.len > SB_LINT_POLICY_MAX_LEN || first.n != second.n ||
	    first.n > SB_LINT_MAX_FINDINGS || first.truncated != second.truncated)
		abort();
	for (size_t i = 0; i < first.n; i++) {
		const struct sb_lint_finding *f = &first.v[i];
		if (f->tag != second.v[i].tag || f->stmt != second.v[i].stmt ||
		    strcmp(f->msg, second.v[i].msg) != 0 ||
		    strcmp(sb_cli_policy_lint_tag(f->tag), "unknown") == 0 ||
		    f->stmt > SB_LINT_MAX_STATEMENTS || f->msg[0] == '\0' ||
		    memchr(f->msg, '\0', sizeof(f->msg)) == NULL)
			abort();
	}
	return 0;
}
