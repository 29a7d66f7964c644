/* sealbid: the command-line tool for parents and parties; one file per subcommand. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sb_log.h"
#include "common/sb_result.h"

struct sb_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct sb_command commands[] = {
#define SB_CMD(name, fn, summary) {name, fn, summary},
#include "cli/commands.def"
#undef SB_CMD
	{NULL, NULL, NULL},
};

int sb_cli_fail(const char *cmd)
{
	fprintf(stderr, "sealbid %s: %s\n", cmd, sb_error_describe());
	return SB_EXIT_FAIL;
}

int sb_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sealbid %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'sealbid %s --help')\n", cmd);
	return SB_EXIT_USAGE;
}

bool sb_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	return false;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: sealbid <command> [options]\n\ncommands:\n");
	for (const struct sb_command *c = commands; c->name != NULL; c++)
		fprintf(f, "  %-14s %s\n", c->name, c->summary);
	fprintf(f, "\n'sealbid <command> --help' describes each command.\n");
}

int main(int argc, char **argv)
{
	sb_log_init("sealbid");
	if (argc < 2) {
		usage(stderr);
		return SB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return SB_EXIT_OK;
	}
	for (const struct sb_command *c = commands; c->name != NULL; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "sealbid: unknown command '%s' (see 'sealbid --help')\n", argv[1]);
	return SB_EXIT_USAGE;
}
