/* Reading PCR measurements files (nitro-cli / `sealbid image measure` JSON) for the CLI. */
#ifndef SB_CLI_PCRS_H
#define SB_CLI_PCRS_H

#include "attest/sb_verify.h"

/*
 * Reads PCR0/1/2 from a measurements file: {"Measurements":{"PCR0":...}} as
 * printed by nitro-cli build-enclave and `sealbid image measure`, or the
 * array of nitro-cli describe-enclaves (first enclave). hex receives the
 * three values as lower-case hex strings (97 bytes each with NUL).
 */
SB_RESULT sb_cli_read_pcrs(const char *path, char hex[3][2 * SB_SHA384_LEN + 1]);
/* Reads a measurements file (as above) into o's expected PCR0/1/2. */
SB_RESULT sb_cli_expect_pcrs_file(struct sb_verify_opts *o, const char *path);

#define SB_CLI_N_PCRS 32
/*
 * The same file, every PCRn it has (PCR8 of a signed image, PCR3/4 ...):
 * have[i] says whether PCRi is there, hex[i] its lower-case value. PCR0..2
 * are required; any other present must be 96 hex digits.
 */
SB_RESULT sb_cli_read_all_pcrs(const char *path, bool have[SB_CLI_N_PCRS],
			       char hex[SB_CLI_N_PCRS][2 * SB_SHA384_LEN + 1]);

#endif
