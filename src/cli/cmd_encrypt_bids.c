/*
 * sealbid encrypt-bids: what the AWS sample's generate_bidder_*_bids.sh did
 * with `aws kms encrypt`, through the KMS client. Reads "property,amount"
 * lines (an optional header line "property,bid" or "contract,bid"), checks
 * every amount, and prints the sample's encrypted.csv:
 * "[].contract,[].bid" then "property,<base64 CiphertextBlob>" per bid.
 * With --manifest and --party the bids are bound to that job (docs/FORMATS.md,
 * "Job binding"): each is encrypted with the encryption context
 * sealbid:manifest / sealbid:party / sealbid:property, and a last
 * "sealbid:trailer" row seals the row count and a digest of the rows.
 * The plaintext file is wiped from memory; no amount ever reaches stderr.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_auction.h"
#include "auction/sb_manifest.h"
#include "auction/sb_trailer.h"
#include "aws/sb_kms.h"
#include "cli/cli.h"
#include "cli/sb_cli_manifest.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"

static const char usage_text[] =
	"usage: sealbid encrypt-bids --key-id KEY --manifest job.json --party NAME BIDS.csv > encrypted.csv\n"
	"       sealbid encrypt-bids --key-id KEY --unbound BIDS.csv > encrypted.csv\n"
	"\n"
	"Encrypts each bid of BIDS.csv (lines \"property,amount\", optional header) with\n"
	"KMS Encrypt under KEY (key id, ARN or alias/NAME) and prints the AWS sample's\n"
	"encrypted.csv. With --manifest and --party the bids are bound to that job: KMS\n"
	"releases them only to it (encryption context sealbid:manifest, sealbid:party,\n"
	"sealbid:property), and a last sealbid:trailer row makes a dropped, added or\n"
	"reordered row fail the job. --unbound writes plain AWS-sample ciphertexts, which\n"
	"the operator can re-run under any manifest (\"binding\": \"none\").\n"
	"KMS is found as for the AWS CLI (AWS_REGION, AWS_ENDPOINT_URL_KMS, the usual\n"
	"credentials); AWS_RETRY_MODE (standard, adaptive) and AWS_MAX_ATTEMPTS apply.\n";

/* Where the bids are bound: the manifest hash and the party; unbound when hash is NULL. */
struct binding {
	const char *hash;
	const char *party;
	struct sb_trailer trailer;
};

static SB_RESULT encrypt_one(struct sb_kms *kms, const char *key, const struct binding *b,
			     const char *property, struct sb_slice plaintext, struct sb_buf *out)
{
	const struct sb_kms_context ctx[] = {
		{SB_CTX_MANIFEST, b->hash}, {SB_CTX_PARTY, b->party}, {SB_CTX_PROPERTY, property}};
	struct sb_kms_result r;
	sb_result rc;

	sb_kms_result_init(&r);
	SB_GUARD_GOTO(rc, sb_kms_encrypt(kms, key, plaintext, b->hash != NULL ? ctx : NULL,
					 b->hash != NULL ? 3 : 0, &r), out);
	rc = sb_base64_encode(sb_buf_slice(&r.ciphertext_blob), out);
out:
	sb_kms_result_cleanup(&r);
	return rc;
}

static SB_RESULT encrypt_line(struct sb_kms *kms, const char *key, struct binding *b,
			      struct sb_slice line, size_t lineno, struct sb_buf *out)
{
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	char prop_z[SB_AUCTION_MAX_PROPERTY_ID + 1];
	struct sb_slice prop, amount;
	struct sb_amount parsed;
	size_t start = out->len;
	sb_result rc;

	SB_ENSURE_MSG(comma != NULL, SB_ERR_BAD_CSV, "line %zu: expected property,amount", lineno);
	prop = SB_SLICE(line.ptr, (size_t)(comma - line.ptr));
	amount = SB_SLICE(comma + 1, line.len - prop.len - 1);
	if (!sb_ok(sb_property_id_check(prop)))
		SB_BAIL_MSG(SB_ERR_BAD_CSV, "line %zu: bad property id", lineno);
	if (b->hash != NULL && sb_trailer_reserved(prop))
		SB_BAIL_MSG(SB_ERR_BAD_CSV, "line %zu: property ids starting with \"%s\" are reserved",
			    lineno, SB_TRAILER_PREFIX);
	if (!sb_ok(sb_amount_parse(amount, &parsed))) {
		/* The parse's detail says why (never the value); the message is said once. */
		sb_error_context("line %zu", lineno);
		return (sb_result){SB_ERR_BAD_AMOUNT};
	}
	sb_amount_wipe(&parsed);
	(void)snprintf(prop_z, sizeof(prop_z), "%.*s", (int)prop.len, (const char *)prop.ptr);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(out, prop), out);
	SB_GUARD_GOTO(rc, sb_buf_append_u8(out, ','), out);
	size_t b64 = out->len;
	/* The amount is encrypted exactly as written, like `aws kms encrypt --plaintext`. */
	SB_GUARD_GOTO(rc, encrypt_one(kms, key, b, prop_z, amount, out), out);
	if (b->hash != NULL)
		SB_GUARD_GOTO(rc, sb_trailer_add(&b->trailer, prop,
						 SB_SLICE(out->data + b64, out->len - b64)), out);
	rc = sb_buf_append_u8(out, '\n');
out:
	if (!sb_ok(rc)) {
		out->len = start;
		sb_error_context("line %zu", lineno);
	}
	return rc;
}

/* The last row of a bound file (src/auction/sb_trailer.h). */
static SB_RESULT encrypt_trailer(struct sb_kms *kms, const char *key, struct binding *b,
				 struct sb_buf *out)
{
	struct sb_buf text = SB_BUF_INIT(SB_TRAILER_TEXT_MAX);
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_trailer_text(&b->trailer, &text), done);
	SB_GUARD_GOTO(rc, sb_buf_append_str(out, SB_TRAILER_PROPERTY ","), done);
	SB_GUARD_GOTO(rc, encrypt_one(kms, key, b, SB_TRAILER_PROPERTY, sb_buf_slice(&text), out),
		      done);
	rc = sb_buf_append_u8(out, '\n');
done:
	sb_buf_cleanup(&text);
	return rc;
}

static SB_RESULT encrypt_file(const char *key, struct binding *b, const char *path,
			      struct sb_buf *out)
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
	/* Retries as the AWS CLI would: AWS_RETRY_MODE, AWS_MAX_ATTEMPTS. */
	SB_GUARD_GOTO(rc, sb_http_config_apply_env(&cfg.http), done);
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
		SB_GUARD_GOTO(rc, encrypt_line(kms, key, b, line, lineno, out), done);
	}
	if (b->hash != NULL)
		rc = encrypt_trailer(kms, key, b, out);
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
		{"manifest", required_argument, NULL, 'm'},
		{"party", required_argument, NULL, 'p'},
		{"unbound", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct sb_buf out = SB_BUF_INIT(1u << 30);
	const char *key = NULL, *manifest = NULL;
	struct binding b = {0};
	struct sb_manifest m = {0};
	bool unbound = false;
	int c, status = SB_EXIT_OK;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			key = optarg;
			break;
		case 'm':
			manifest = optarg;
			break;
		case 'p':
			b.party = optarg;
			break;
		case 'u':
			unbound = true;
			break;
		default:
			return sb_cli_usage_error("encrypt-bids", "unknown option");
		}
	}
	if (key == NULL || optind != argc - 1)
		return sb_cli_usage_error("encrypt-bids", "--key-id KEY and one BIDS.csv are required");
	if (unbound == (manifest != NULL) || (manifest != NULL) != (b.party != NULL))
		return sb_cli_usage_error("encrypt-bids",
					  "give --manifest and --party (bound to a job) or --unbound");
	if (manifest != NULL && !sb_ok(sb_cli_manifest_party(manifest, b.party, &m)))
		return sb_cli_fail("encrypt-bids");
	b.hash = manifest != NULL ? m.hash_hex : NULL;
	if (!sb_ok(sb_trailer_init(&b.trailer)) || !sb_ok(encrypt_file(key, &b, argv[optind], &out)))
		status = sb_cli_fail("encrypt-bids");
	else
		fputs(sb_buf_cstr(&out), stdout);
	sb_trailer_cleanup(&b.trailer);
	sb_manifest_cleanup(&m);
	sb_buf_cleanup(&out);
	return status;
}
