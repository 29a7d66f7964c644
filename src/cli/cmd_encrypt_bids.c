/*
 * sealbid encrypt-bids: what the AWS sample's generate_bidder_*_bids.sh did
 * with `aws kms encrypt`, through the KMS client. Reads "property,amount"
 * lines (an optional header line "property,bid" or "contract,bid"), checks
 * every amount, and prints the sample's encrypted.csv:
 * "[].contract,[].bid" then "property,<base64 CiphertextBlob>" per bid.
 * The plaintext file is wiped from memory; no amount ever reaches stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_auction.h"
#include "aws/sb_kms.h"
#include "cli/cli.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"

static const char usage_text[] =
	"usage: sealbid encrypt-bids --key-id KEY BIDS.csv > encrypted.csv\n"
	"\n"
	"Encrypts each bid of BIDS.csv (lines \"property,amount\", optional header) with\n"
	"KMS Encrypt under KEY (key id, ARN or alias/NAME) and prints the AWS sample's\n"
	"encrypted.csv. KMS is found as for the AWS CLI (AWS_REGION, AWS_ENDPOINT_URL_KMS,\n"
	"the usual credentials).\n";

static SB_RESULT encrypt_line(struct sb_kms *kms, const char *key, struct sb_slice line,
			      size_t lineno, struct sb_buf *out)
{
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	struct sb_slice prop, amount;
	struct sb_amount parsed;
	struct sb_kms_result r;
	sb_result rc;

	SB_ENSURE_MSG(comma != NULL, SB_ERR_BAD_CSV, "line %zu: expected property,amount", lineno);
	prop = SB_SLICE(line.ptr, (size_t)(comma - line.ptr));
	amount = SB_SLICE(comma + 1, line.len - prop.len - 1);
	if (!sb_ok(sb_property_id_check(prop)))
		SB_BAIL_MSG(SB_ERR_BAD_CSV, "line %zu: bad property id", lineno);
	if (!sb_ok(sb_amount_parse(amount, &parsed)))
		SB_BAIL_MSG(SB_ERR_BAD_AMOUNT, "line %zu: %s", lineno,
			    sb_error_message(SB_ERR_BAD_AMOUNT));
	sb_amount_wipe(&parsed);
	sb_kms_result_init(&r);
	/* The amount is encrypted exactly as written, like `aws kms encrypt --plaintext`. */
	SB_GUARD_GOTO(rc, sb_kms_encrypt(kms, key, amount, NULL, 0, &r), out);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(out, prop), out);
	SB_GUARD_GOTO(rc, sb_buf_append_u8(out, ','), out);
	SB_GUARD_GOTO(rc, sb_base64_encode(sb_buf_slice(&r.ciphertext_blob), out), out);
	rc = sb_buf_append_u8(out, '\n');
out:
	if (!sb_ok(rc))
		sb_error_context("line %zu", lineno);
	sb_kms_result_cleanup(&r);
	return rc;
}

static SB_RESULT encrypt_file(const char *key, const char *path, struct sb_buf *out)
{
	struct sb_buf bids = SB_BUF_INIT_SECRET(64u << 20);
	struct sb_creds_provider *creds = NULL;
	struct sb_kms_config cfg;
	struct sb_kms *kms = NULL;
	struct sb_slice rest, line;
	size_t lineno = 0;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_file_read(path, &bids), done);
	SB_GUARD_GOTO(rc, sb_creds_provider_new_chain(NULL, &creds), done);
	sb_kms_config_default(&cfg);
	cfg.creds = creds;
	SB_GUARD_GOTO(rc, sb_kms_new(&cfg, &kms), done);
	SB_GUARD_GOTO(rc, sb_buf_append_str(out, "[].contract,[].bid\n"), done);
	rest = sb_buf_slice(&bids);
	while (sb_slice_next_line(&rest, &line)) {
		lineno++;
		if (line.len == 0)
			continue;
		if (lineno == 1 && (sb_slice_eq_str(line, "property,bid") ||
				       sb_slice_eq_str(line, "contract,bid") ||
				       sb_slice_eq_str(line, "property,amount")))
			continue;
		SB_GUARD_GOTO(rc, encrypt_line(kms, key, line, lineno, out), done);
	}
done:
	sb_kms_free(kms);
	sb_creds_provider_free(creds);
	sb_buf_cleanup(&bids);
	return rc;
}

int sb_cmd_encrypt_bids(int argc, char **argv)
{
	static const struct option opts[] = {
		{"key-id", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0},
	};
	struct sb_buf out = SB_BUF_INIT(1u << 30);
	const char *key = NULL;
	int c;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'k')
			return sb_cli_usage_error("encrypt-bids", "unknown option");
		key = optarg;
	}
	if (key == NULL || optind != argc - 1)
		return sb_cli_usage_error("encrypt-bids", "--key-id KEY and one BIDS.csv are required");
	if (!sb_ok(encrypt_file(key, argv[optind], &out))) {
		sb_buf_cleanup(&out);
		return sb_cli_fail("encrypt-bids");
	}
	fputs(sb_buf_cstr(&out), stdout);
	sb_buf_cleanup(&out);
	return SB_EXIT_OK;
}
