#include "cli/sb_cli_trust.h"

#include "cli/cli.h"
#include "cli/sb_cli_pcrs.h"
#include "common/sb_file.h"

int sb_cli_trust_option(struct sb_cli_trust *t, struct sb_verify_opts *o, const char *cmd, int c,
			const char *arg)
{
	switch (c) {
	case 'e':
		if (!sb_ok(sb_verify_opts_expect_pcr_arg(o, arg)))
			return sb_cli_usage_error(cmd, "bad --expect-pcr '%.32s'", arg);
		return SB_EXIT_OK;
	case 'p':
		return sb_ok(sb_cli_expect_pcrs_file(o, arg)) ? SB_EXIT_OK : sb_cli_fail(cmd);
	case 'R':
		if (t->nroots == SB_VERIFY_ROOTS_MAX)
			return sb_cli_usage_error(cmd, "too many --root");
		t->roots[t->nroots] = SB_BUF_INIT(1 << 16);
		return sb_ok(sb_file_read(arg, &t->roots[t->nroots++])) ? SB_EXIT_OK
									 : sb_cli_fail(cmd);
	case 'd':
		o->allow_debug = true;
		return SB_EXIT_OK;
	default:
		return -1;
	}
}

int sb_cli_trust_finish(struct sb_cli_trust *t, struct sb_verify_opts *o, const char *cmd)
{
	/* PCR1 alone is the same for every image: it would accept a modified enclave. */
	if (!sb_verify_opts_pins_image(o))
		return sb_cli_usage_error(cmd, "%s", SB_VERIFY_PINS_IMAGE_HELP " (--pcrs FILE)");
	for (size_t i = 0; i < t->nroots; i++)
		if (!sb_ok(sb_verify_opts_add_root(o, sb_buf_slice(&t->roots[i]))))
			return sb_cli_fail(cmd);
	return SB_EXIT_OK;
}

void sb_cli_trust_cleanup(struct sb_cli_trust *t)
{
	for (size_t i = 0; i < t->nroots; i++)
		sb_buf_cleanup(&t->roots[i]);
	t->nroots = 0;
}
