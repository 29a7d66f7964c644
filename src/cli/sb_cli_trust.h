/*
 * What a receipt must verify against, as the CLI's options say it: the
 * expected PCRs (--expect-pcr N=HEX, --pcrs FILE), trust roots (--root PEM)
 * and --allow-debug. Shared by `sealbid verify` and `sealbid merge`, so the
 * two accept and refuse the same things.
 */
#ifndef SB_CLI_TRUST_H
#define SB_CLI_TRUST_H

#include <getopt.h>

#include "attest/sb_verify.h"
#include "common/sb_buf.h"

/* getopt_long entries; their short codes are the ones sb_cli_trust_option takes. */
#define SB_CLI_TRUST_OPTIONS                                                                   \
	{"expect-pcr", required_argument, NULL, 'e'}, {"pcrs", required_argument, NULL, 'p'},  \
		{"root", required_argument, NULL, 'R'}, {"allow-debug", no_argument, NULL, 'd'}

/* Caller storage: zero-initialise; sb_cli_trust_cleanup. The roots are read while parsing. */
struct sb_cli_trust {
	struct sb_buf roots[SB_VERIFY_ROOTS_MAX];
	size_t nroots;
};

/*
 * Applies one of SB_CLI_TRUST_OPTIONS (c, its short code) to o: returns
 * SB_EXIT_OK, a usage or failure exit status (reported for cmd), or -1 when
 * c is not one of them.
 */
int sb_cli_trust_option(struct sb_cli_trust *t, struct sb_verify_opts *o, const char *cmd, int c,
			const char *arg);
/* After the options: the image must be pinned (PCR0 or PCR2); the roots go into o. */
int sb_cli_trust_finish(struct sb_cli_trust *t, struct sb_verify_opts *o, const char *cmd);
void sb_cli_trust_cleanup(struct sb_cli_trust *t);

#endif
