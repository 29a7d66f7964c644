/*
 * sealbid manifest hash|show: the manifest hash a party needs to bind its
 * data to a job (the sealbid:manifest encryption context value, the same
 * hash the receipt carries), and the canonical form it is computed over.
 */
#include <stdio.h>
#include <string.h>

#include "auction/sb_manifest.h"
#include "cli/cli.h"
#include "cli/sb_cli_manifest.h"

static const char usage_text[] =
	"usage: sealbid manifest hash job.json\n"
	"       sealbid manifest show job.json\n"
	"\n"
	"hash: validates the manifest and prints its SHA-384 (96 lowercase hex digits):\n"
	"      the value of the encryption context key sealbid:manifest that binds a\n"
	"      party's data to this job, and the manifest hash in the job's receipt.\n"
	"show: prints the canonical form the hash is computed over, each party's\n"
	"      format and binding, and for a join-aggregate job the threshold that applies.\n";

int sb_cmd_manifest(int argc, char **argv)
{
	static const char *const fmt[] = {"kms-csv", "sealed"};
	static const char *const bind[] = {"job", "none"};
	struct sb_manifest m;
	bool show;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	if (argc != 3 || (strcmp(argv[1], "hash") != 0 && strcmp(argv[1], "show") != 0))
		return sb_cli_usage_error("manifest", "expected: hash|show job.json");
	show = strcmp(argv[1], "show") == 0;
	if (!sb_ok(sb_cli_manifest_party(argv[2], NULL, &m)))
		return sb_cli_fail("manifest");
	if (!show) {
		printf("%s\n", m.hash_hex);
	} else {
		printf("%s\nsha384 %s\n", sb_buf_cstr(&m.canonical), m.hash_hex);
		for (size_t i = 0; i < m.nparties; i++)
			printf("party %s: format %s, binding %s, key %s\n", m.parties[i].name,
			       fmt[m.parties[i].format], bind[m.parties[i].binding], m.parties[i].key);
		if (m.collab != NULL)
			printf("join-aggregate: groups with fewer than %u distinct join keys are "
			       "left out (the largest min_distinct_keys)\n",
			       sb_collab_threshold(m.collab));
	}
	sb_manifest_cleanup(&m);
	return SB_EXIT_OK;
}
