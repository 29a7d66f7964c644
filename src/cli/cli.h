/* Shared declarations for the sealbid subcommands (src/cli). */
#ifndef SB_CLI_H
#define SB_CLI_H

#include <stdbool.h>

#define SB_EXIT_OK    0
#define SB_EXIT_FAIL  1
#define SB_EXIT_USAGE 2

#define SB_CMD(name, fn, summary) int fn(int argc, char **argv);
#include "cli/commands.def"
#undef SB_CMD

/* Subcommands of a subcommand, dispatched by their parent's file. */
int sb_cmd_policy_check(int argc, char **argv); /* sealbid policy check */

/* Prints "sealbid <cmd>: <last error>" on stderr and returns SB_EXIT_FAIL. */
int sb_cli_fail(const char *cmd);
/* Prints "sealbid <cmd>: <message>" and a --help hint; returns SB_EXIT_USAGE. */
int sb_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* True when argv has --help or -h. */
bool sb_cli_wants_help(int argc, char **argv);

#endif
