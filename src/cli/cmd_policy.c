/*
 * sealbid policy: a KMS key policy that releases the key only to the
 * attested enclave (the AWS sample's generate_key_policy.sh, complete).
 *
 * Statements:
 *  1. the key owner (an account root or an ARN) administers the key and may
 *     Encrypt / GenerateDataKey, but is given no Decrypt;
 *  2. the instance role may Decrypt only with a Recipient attestation whose
 *     PCR0 (ImageSha384), PCR1 and PCR2 equal the agreed measurements;
 *  3. an explicit Deny of Decrypt without an attestation document, so no
 *     IAM policy in the account can grant a plain Decrypt;
 *  4. with --require-job, an explicit Deny of Decrypt without the job-binding
 *     encryption context (sealbid:manifest), so ciphertexts not bound to a
 *     job are useless to the enclave; with --job, Decrypt only for exactly
 *     that manifest's hash (docs/FORMATS.md, "Job binding").
 *
 * All-zero PCRs are what every debug-mode enclave reports, and the operator
 * can read a debug-mode enclave's memory: such a pin is refused unless
 * --debug-mode says it is meant, and then the policy says so itself.
 * `sealbid policy check` (cmd_policy_check.c) lints any key policy.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/sb_cli_manifest.h"
#include "cli/sb_cli_pcrs.h"

static const char usage_text[] =
	"usage: sealbid policy --role-arn ARN --pcrs MEASUREMENTS.json [--owner ARN]\n"
	"                      [--require-job | --job job.json] [--debug-mode]\n"
	"       sealbid policy check KEY-POLICY.json --pcrs MEASUREMENTS.json [--manifest job.json]\n"
	"\n"
	"Prints a KMS key policy (JSON) that allows kms:Decrypt to the role only from\n"
	"an enclave whose attestation carries the PCR0/PCR1/PCR2 in MEASUREMENTS.json\n"
	"(the output of 'nitro-cli build-enclave' or 'sealbid image measure'), keeps\n"
	"the key owner (default: the role's account root) in control of the key, and\n"
	"denies any Decrypt without an attestation document.\n"
	"  --require-job   also deny Decrypt without the job-binding encryption context\n"
	"                  (sealbid:manifest): inputs not bound to a job are refused\n"
	"  --job job.json  allow Decrypt only for exactly this manifest (its hash)\n"
	"  --debug-mode    allow all-zero PCRs (what a debug-mode enclave reports; without\n"
	"                  --pcrs, pin zeros): FOR DEBUGGING ONLY, never for real bids\n"
	"The key owner should be your own account (--owner): by default it is the\n"
	"role's account root, which lets that account change the policy.\n"
	"'sealbid policy check' lints a key policy before you upload bids (see its --help).\n"
	"Apply it with\n"
	"  aws kms put-key-policy --key-id KEY --policy-name default --policy file://policy.json\n";

static const char debug_warning[] =
	"sealbid policy: WARNING: DEBUG MODE ONLY. This policy pins all-zero PCRs, which is\n"
	"  what EVERY enclave started with --debug-mode reports, whatever image it runs,\n"
	"  and the operator can read a debug-mode enclave's console and memory.\n"
	"  Use it with test data only; never upload real bids under this key with it.\n";

static bool all_zero(const char *hex)
{
	return strspn(hex, "0") == strlen(hex);
}

/*
 * The pins: from the measurements file, or all zeros for --debug-mode
 * without one. All-zero pins only with --debug-mode.
 */
static int read_pins(const char *path, bool debug_mode, char pcr[3][2 * SB_SHA384_LEN + 1])
{
	bool zero = false;

	if (path == NULL) {
		for (int i = 0; i < 3; i++) {
			memset(pcr[i], '0', 2 * SB_SHA384_LEN);
			pcr[i][2 * SB_SHA384_LEN] = '\0';
		}
		return SB_EXIT_OK;
	}
	if (!sb_ok(sb_cli_read_pcrs(path, pcr)))
		return sb_cli_fail("policy");
	for (int i = 0; i < 3; i++)
		zero = zero || all_zero(pcr[i]);
	if (zero && !debug_mode) {
		fprintf(stderr, "sealbid policy: %s: all-zero PCRs are what a debug-mode enclave "
				"reports (any image, memory readable by the operator); refused "
				"(give --debug-mode to make a policy for debugging only)\n",
			path);
		return SB_EXIT_FAIL;
	}
	if (!zero && debug_mode)
		return sb_cli_usage_error("policy", "--debug-mode: %s has no all-zero PCR, and a "
					  "debug-mode enclave reports zeros (omit --pcrs to pin "
					  "them)",
					  path);
	return SB_EXIT_OK;
}

static json_t *owner_statement(const char *owner)
{
	return json_pack("{s:s, s:s, s:{s:s}, s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s], s:s}", "Sid",
			 "KeyOwnerAdministers", "Effect", "Allow", "Principal", "AWS", owner,
			 "Action", "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*",
			 "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*",
			 "kms:Delete*", "kms:TagResource", "kms:UntagResource",
			 "kms:ScheduleKeyDeletion", "kms:Encrypt", "kms:GenerateDataKey*",
			 "Resource", "*");
}

static json_t *enclave_statement(const char *role, char pcr[3][2 * SB_SHA384_LEN + 1])
{
	return json_pack("{s:s, s:s, s:{s:s}, s:s, s:s, s:{s:{s:s, s:s, s:s}}}", "Sid",
			 "AttestedEnclaveDecrypts", "Effect", "Allow", "Principal", "AWS", role,
			 "Action", "kms:Decrypt", "Resource", "*", "Condition",
			 "StringEqualsIgnoreCase", "kms:RecipientAttestation:ImageSha384", pcr[0],
			 "kms:RecipientAttestation:PCR1", pcr[1], "kms:RecipientAttestation:PCR2",
			 pcr[2]);
}

/* Decrypt for one manifest only: the attested statement's extra condition. */
static int pin_job(json_t *enclave, const char *hash)
{
	json_t *cond = json_object_get(enclave, "Condition");

	return json_object_set_new(cond, "StringEquals",
				   json_pack("{s:s}", "kms:EncryptionContext:" SB_CTX_MANIFEST, hash));
}

static json_t *deny_unbound_statement(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s}}}", "Sid",
			 "DenyDecryptNotBoundToAJob", "Effect", "Deny", "Principal", "*", "Action",
			 "kms:Decrypt", "Resource", "*", "Condition", "Null",
			 "kms:EncryptionContext:" SB_CTX_MANIFEST, "true");
}

static json_t *deny_statement(void)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:{s:s}}}", "Sid",
			 "DenyDecryptWithoutAttestation", "Effect", "Deny", "Principal", "*",
			 "Action", "kms:Decrypt", "Resource", "*", "Condition", "Null",
			 "kms:RecipientAttestation:ImageSha384", "true");
}

/* arn:aws:iam::123456789012:role/x -> arn:aws:iam::123456789012:root */
static int account_root(const char *role, char *out, size_t n)
{
	const char *p = role;

	for (int colons = 0; colons < 4; colons++) {
		p = strchr(p, ':');
		if (p == NULL)
			return -1;
		p++;
	}
	const char *end = strchr(p, ':');
	if (strncmp(role, "arn:", 4) != 0 || end == NULL || end - p != 12)
		return -1;
	(void)snprintf(out, n, "arn:aws:iam::%.12s:root", p);
	return 0;
}

int sb_cmd_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{"role-arn", required_argument, NULL, 'r'},
		{"pcrs", required_argument, NULL, 'p'},
		{"owner", required_argument, NULL, 'o'},
		{"require-job", no_argument, NULL, 'R'},
		{"job", required_argument, NULL, 'j'},
		{"debug-mode", no_argument, NULL, 'D'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *role = NULL, *pcrs = NULL, *owner = NULL, *job = NULL;
	char pcr[3][2 * SB_SHA384_LEN + 1], root[64];
	struct sb_manifest m = {0};
	bool require_job = false, debug_mode = false;
	int c, status;

	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return sb_cmd_policy_check(argc - 1, argv + 1);

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			role = optarg;
			break;
		case 'p':
			pcrs = optarg;
			break;
		case 'o':
			owner = optarg;
			break;
		case 'R':
			require_job = true;
			break;
		case 'j':
			job = optarg;
			break;
		case 'D':
			debug_mode = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return SB_EXIT_OK;
		default:
			return sb_cli_usage_error("policy", "unknown option");
		}
	}
	if (role == NULL || (pcrs == NULL && !debug_mode) || optind != argc)
		return sb_cli_usage_error("policy", "--role-arn and --pcrs are required");
	if (owner == NULL) {
		if (account_root(role, root, sizeof(root)) != 0)
			return sb_cli_usage_error("policy", "--role-arn is not an IAM ARN "
							    "with an account id; give --owner");
		owner = root;
		fprintf(stderr, "sealbid policy: note: no --owner, so the key owner is %s, the "
				"role's own account, which can then change this policy "
				"('sealbid policy check' reports it); give --owner with your own "
				"account\n",
			root);
	}
	if ((status = read_pins(pcrs, debug_mode, pcr)) != SB_EXIT_OK)
		return status;
	if (job != NULL && !sb_ok(sb_cli_manifest_party(job, NULL, &m)))
		return sb_cli_fail("policy");
	json_t *enclave = enclave_statement(role, pcr);
	json_t *doc = json_pack("{s:s, s:s, s:[o,o,o]}", "Version", "2012-10-17", "Id",
				debug_mode ? "sealbid-DEBUG-MODE-ONLY-key-policy"
					   : "sealbid-attested-key-policy",
				"Statement", owner_statement(owner),
				enclave, deny_statement());
	if (doc != NULL && job != NULL && pin_job(enclave, m.hash_hex) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	if (doc != NULL && (require_job || job != NULL) &&
	    json_array_append_new(json_object_get(doc, "Statement"), deny_unbound_statement()) != 0) {
		json_decref(doc);
		doc = NULL;
	}
	sb_manifest_cleanup(&m);
	char *text = doc == NULL ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (text == NULL) {
		fprintf(stderr, "sealbid policy: out of memory\n");
		return SB_EXIT_FAIL;
	}
	if (debug_mode)
		fputs(debug_warning, stderr);
	printf("%s\n", text);
	free(text);
	return SB_EXIT_OK;
}
