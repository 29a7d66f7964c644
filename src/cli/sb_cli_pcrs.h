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

#endif
