/*
 * sealbid demo: runs the whole local story (scripts/demo.sh in the source
 * tree this binary was built from) with this binary's directory as SB_BIN.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

#ifndef SB_SOURCE_DIR
#error "SB_SOURCE_DIR must name the source tree"
#endif

static const char usage_text[] =
	"usage: sealbid demo\n"
	"\n"
	"Runs the AWS bidding-service sample through the local stack: sealbid-kms,\n"
	"keys pinned to the enclave's PCRs, bids encrypted with the AWS CLI v2, the\n"
	"launched enclave, the result and its verified receipt, and the operator's\n"
	"refused decrypt. Files are left in build/demo; everything started is stopped.\n";

int sb_cmd_demo(int argc, char **argv)
{
	char self[PATH_MAX], script[PATH_MAX];
	ssize_t n;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	if (argc != 1)
		return sb_cli_usage_error("demo", "takes no arguments");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "sealbid demo: cannot find this program's directory\n");
		return SB_EXIT_FAIL;
	}
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	(void)snprintf(script, sizeof(script), "%s/scripts/demo.sh", SB_SOURCE_DIR);
	if (access(script, R_OK) != 0) {
		fprintf(stderr, "sealbid demo: %s is missing (demo runs from a source tree)\n", script);
		return SB_EXIT_FAIL;
	}
	setenv("SB_BIN", self, 1);
	execl("/bin/bash", "bash", script, (char *)NULL);
	perror("sealbid demo: bash");
	return SB_EXIT_FAIL;
}
