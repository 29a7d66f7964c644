/*
 * sealbid policy check: lint a KMS key policy before uploading bids under
 * the key (src/cli/sb_cli_policy_lint.h says what is checked and why).
 *
 * Exit status: 0 no findings, 1 findings, 2 usage error, 3 an input that
 * cannot be read or is not a policy / measurements / manifest.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/sb_cli_manifest.h"
#include "cli/sb_cli_pcrs.h"
#include "cli/sb_cli_policy_lint.h"
#include "common/sb_file.h"

#define EXIT_FINDINGS 1
#define EXIT_BAD_INPUT 3

static const char usage_text[] =
	"usage: sealbid policy check KEY-POLICY.json --pcrs MEASUREMENTS.json\n"
	"                            [--manifest job.json] [--json]\n"
	"\n"
	"Checks a KMS key policy before you upload bids under the key: that only an\n"
	"enclave running the measured image can decrypt, for a job you agreed to.\n"
	"KEY-POLICY.json is the policy document, or what\n"
	"  aws kms get-key-policy --key-id KEY --policy-name default\n"
	"prints ({\"Policy\": \"...\"}). MEASUREMENTS.json is what 'sealbid image measure'\n"
	"or 'nitro-cli build-enclave' printed for the agreed image (PCR0, PCR1, PCR2,\n"
	"and any other PCRn it lists, such as PCR8 of a signed image).\n"
	"  --manifest job.json  also check that Decrypt is pinned to no other job\n"
	"  --json               print the findings as JSON\n"
	"Findings (one line each, tag first):\n"
	"  unattested-decrypt       Decrypt without an attestation, or for any image\n"
	"  pcr-mismatch             a pinned PCR differs from the measurement\n"
	"  debug-mode-pin           a PCR pinned to all zeros (debug-mode enclaves)\n"
	"  wildcard-pin             a PCR pinned with StringLike and * or ?\n"
	"  operator-can-change-key  the operator's role or account may change the\n"
	"                           policy or create grants\n"
	"  no-job-binding           Decrypt without kms:EncryptionContext:sealbid:manifest\n"
	"  job-mismatch             Decrypt pinned to another manifest than --manifest\n"
	"  any-principal            an Allow for Principal \"*\"\n"
	"Exit status: 0 no findings, 1 findings, 2 usage error, 3 unreadable input.\n";

static int bad_input(const char *path)
{
	fprintf(stderr, "sealbid policy check: %s: %s\n", path, sb_error_describe());
	return EXIT_BAD_INPUT;
}

/*
 * The policy text: the file itself, or the "Policy" string of
 * get-key-policy's answer ({"Policy": "...", "PolicyName": "default"}).
 * Anything else is left for the linter to judge.
 */
static SB_RESULT unwrap_get_key_policy(struct sb_buf *text)
{
	json_t *doc = json_loadb(sb_buf_cstr(text), text->len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *p = json_object_get(doc, "Policy");
	sb_result rc = SB_OK_RESULT;

	if (json_is_string(p) && json_object_get(doc, "Statement") == NULL)
		rc = sb_buf_set(text, SB_SLICE(json_string_value(p), json_string_length(p)));
	json_decref(doc);
	return rc;
}

static SB_RESULT read_measurements(const char *path, struct sb_lint_pcrs *pcrs)
{
	_Static_assert(SB_CLI_N_PCRS == SB_LINT_N_PCRS, "one PCR count");
	_Static_assert(2 * SB_SHA384_LEN == SB_LINT_PCR_HEX_LEN, "one PCR length");

	memset(pcrs, 0, sizeof(*pcrs));
	return sb_cli_read_all_pcrs(path, pcrs->have, pcrs->hex);
}

static int print_json(const char *path, const struct sb_lint_report *r)
{
	json_t *list = json_array(), *doc;
	char *text;

	for (size_t i = 0; list != NULL && i < r->n; i++)
		if (json_array_append_new(list, json_pack("{s:s, s:I, s:s}", "tag",
							 sb_cli_policy_lint_tag(r->v[i].tag),
							 "statement", (json_int_t)r->v[i].stmt,
							 "message", r->v[i].msg)) != 0) {
			json_decref(list);
			list = NULL;
		}
	doc = list == NULL ? NULL
			   : json_pack("{s:s, s:o, s:b}", "policy", path, "findings", list,
				       "truncated", r->truncated);
	text = doc == NULL ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL) {
		fprintf(stderr, "sealbid policy check: out of memory\n");
		return SB_EXIT_FAIL;
	}
	printf("%s\n", text);
	free(text);
	return SB_EXIT_OK;
}

static void print_text(const char *path, const struct sb_lint_report *r)
{
	for (size_t i = 0; i < r->n; i++)
		printf("%s: %s\n", sb_cli_policy_lint_tag(r->v[i].tag), r->v[i].msg);
	if (r->truncated)
		printf("(more findings than %d; fix these and run again)\n", SB_LINT_MAX_FINDINGS);
	if (r->n == 0)
		printf("%s: no findings: only the attested enclave can decrypt under this "
		       "policy\n",
		       path);
	else
		fprintf(stderr,
			"sealbid policy check: %s: %zu finding%s: do not upload bids under this "
			"key until %s fixed\n",
			path, r->n, r->n == 1 ? "" : "s", r->n == 1 ? "it is" : "they are");
}

int sb_cmd_policy_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"pcrs", required_argument, NULL, 'p'},
		{"manifest", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pcrs_path = NULL, *job = NULL, *path;
	struct sb_buf text = SB_BUF_INIT(SB_LINT_POLICY_MAX_LEN * 2);
	static struct sb_lint_report report;
	struct sb_lint_pcrs pcrs;
	struct sb_manifest m = {0};
	bool json = false;
	int c, status;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pcrs_path = optarg;
			break;
		case 'm':
			job = optarg;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return SB_EXIT_OK;
		default:
			return sb_cli_usage_error("policy check", "unknown option");
		}
	}
	if (pcrs_path == NULL || optind != argc - 1)
		return sb_cli_usage_error("policy check",
					  "give one KEY-POLICY.json and --pcrs MEASUREMENTS.json");
	path = argv[optind];
	if (!sb_ok(read_measurements(pcrs_path, &pcrs)))
		return bad_input(pcrs_path);
	if (job != NULL && !sb_ok(sb_cli_manifest_party(job, NULL, &m)))
		return bad_input(job);
	if (!sb_ok(sb_file_read(path, &text)) || !sb_ok(unwrap_get_key_policy(&text)) ||
	    !sb_ok(sb_cli_policy_lint(sb_buf_slice(&text), &pcrs, job != NULL ? m.hash_hex : NULL,
				      &report))) {
		status = bad_input(path);
		goto out;
	}
	if (json) {
		status = print_json(path, &report);
		if (status != SB_EXIT_OK)
			goto out;
	} else {
		print_text(path, &report);
	}
	status = report.n > 0 ? EXIT_FINDINGS : SB_EXIT_OK;
out:
	sb_manifest_cleanup(&m);
	sb_buf_cleanup(&text);
	return status;
}
