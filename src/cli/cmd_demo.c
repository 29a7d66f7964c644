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
#include "common/sb_parse.h"

#ifndef SB_SOURCE_DIR
#error "SB_SOURCE_DIR must name the source tree"
#endif

static const char usage_text[] =
	"usage: sealbid demo [--shards N | --collab]\n"
	"\n"
	"Runs the AWS bidding-service sample through the local stack: sealbid-kms,\n"
	"keys pinned to the enclave's PCRs, bids encrypted with the AWS CLI v2, the\n"
	"launched enclave, the result and its verified receipt, and the operator's\n"
	"refused decrypt. Files are left in build/demo; everything started is stopped.\n"
	"\n"
	"--shards N (2..16): one job fanned out over N enclaves launched at once, each\n"
	"shard with its own receipt, merged and verified (scripts/demo-shards.sh; files\n"
	"in build/demo-shards).\n"
	"\n"
	"--collab: the join-aggregate computation: a retailer's and a data provider's\n"
	"sealed tables joined in the enclave, counts and averages by group under each\n"
	"party's analysis rule, small groups left out; a query outside a rule and an\n"
	"altered manifest refused (scripts/demo-collab.sh; files in build/demo-collab).\n";

int sb_cmd_demo(int argc, char **argv)
{
	char self[PATH_MAX], script[PATH_MAX];
	const char *name = "demo.sh";
	uint32_t shards = 0;
	ssize_t n;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "--shards") == 0) {
		/* Each shard is an enclave process on this machine: a handful is the point. */
		if (!sb_ok(sb_parse_u32_str(argv[2], 2, 16, &shards)))
			return sb_cli_usage_error("demo", "--shards is 2..16");
		name = "demo-shards.sh";
		setenv("SB_DEMO_SHARDS", argv[2], 1);
	} else if (argc == 2 && strcmp(argv[1], "--collab") == 0) {
		name = "demo-collab.sh";
	} else if (argc != 1) {
		return sb_cli_usage_error("demo", "takes no arguments but --shards N or --collab");
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "sealbid demo: cannot find this program's directory\n");
		return SB_EXIT_FAIL;
	}
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	(void)snprintf(script, sizeof(script), "%s/scripts/%s", SB_SOURCE_DIR, name);
	if (access(script, R_OK) != 0) {
		fprintf(stderr, "sealbid demo: %s is missing (demo runs from a source tree)\n", script);
		return SB_EXIT_FAIL;
	}
	setenv("SB_BIN", self, 1);
	execl("/bin/bash", "bash", script, (char *)NULL);
	perror("sealbid demo: bash");
	return SB_EXIT_FAIL;
}
