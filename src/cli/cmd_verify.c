/* sealbid verify: check a result receipt against output.csv, the manifest and the agreed PCRs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_receipt.h"
#include "cli/cli.h"
#include "cli/sb_cli_trust.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_time.h"
#include "host/sb_merge.h"

static const char usage_text[] =
	"usage: sealbid verify --receipt output.receipt --output output.csv --manifest job.json\n"
	"                      (--expect-pcr N=HEX... | --pcrs MEASUREMENTS.json)\n"
	"                      [--root PEM]... [--at TIME] [--allow-debug] [--json]\n"
	"\n"
	"Exits 0 only if the receipt's attestation document verifies (chain to the root —\n"
	"the AWS Nitro root unless --root is given — ES384 signature, the expected PCRs,\n"
	"not a debug-mode enclave) and commits, through its user_data, to exactly this\n"
	"manifest and this output. The chain is checked at the document's signed\n"
	"timestamp unless --at gives a time (RFC 3339 or Unix milliseconds).\n"
	"The expected PCRs must include PCR0 (the image) or PCR2 (the application):\n"
	"PCR1 (kernel and boot ramfs) is the same for every enclave image.\n"
	"\n"
	"       sealbid verify --merge-record output.merge.json --output output.csv\n"
	"                      --manifest job.json (--expect-pcr... | --pcrs ...) [...]\n"
	"                      SHARD_RECEIPT...\n"
	"\n"
	"Verifies a sharded job's merged output (`sealbid merge`): the merge record must\n"
	"be this manifest's and this output's, and the shard receipts given must be\n"
	"exactly the record's, each verifying (as above) against its shard's rows of\n"
	"the merged output.\n";

struct verify_args {
	const char *receipt, *output, *manifest, *merge_record;
	char **receipts; /* --merge-record: the shard receipts */
	size_t nreceipts;
	bool json;
	struct sb_cli_trust trust;
};

static int parse_args(int argc, char **argv, struct verify_args *a, struct sb_verify_opts *o)
{
	static const struct option opts[] = {
		{"receipt", required_argument, NULL, 'r'},
		{"output", required_argument, NULL, 'o'},
		{"manifest", required_argument, NULL, 'm'},
		{"at", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"merge-record", required_argument, NULL, 'M'},
		SB_CLI_TRUST_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, st;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			a->receipt = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'm':
			a->manifest = optarg;
			break;
		case 'a':
			if (!sb_ok(sb_time_parse(sb_slice_str(optarg), &o->at_ms)))
				return sb_cli_usage_error("verify", "bad --at time");
			break;
		case 'j':
			a->json = true;
			break;
		case 'M':
			a->merge_record = optarg;
			break;
		default:
			st = sb_cli_trust_option(&a->trust, o, "verify", c, optarg);
			if (st < 0)
				return sb_cli_usage_error("verify", "unknown option");
			if (st != SB_EXIT_OK)
				return st;
		}
	}
	if (a->merge_record != NULL) {
		if (a->receipt != NULL || a->output == NULL || a->manifest == NULL || optind == argc)
			return sb_cli_usage_error("verify", "--merge-record takes --output, --manifest "
							    "and the shard receipts (not --receipt)");
		a->receipts = argv + optind;
		a->nreceipts = (size_t)(argc - optind);
	} else if (a->receipt == NULL || a->output == NULL || a->manifest == NULL ||
		   optind != argc) {
		return sb_cli_usage_error("verify", "--receipt, --output and --manifest are required");
	}
	return sb_cli_trust_finish(&a->trust, o, "verify");
}

static int run_verify_one(struct verify_args *a, struct sb_verify_opts *o)
{
	struct sb_buf receipt = SB_BUF_INIT(SB_RECEIPT_MAX), output = SB_BUF_INIT(1u << 30),
		      manifest = SB_BUF_INIT(1u << 20), ts = SB_BUF_INIT(64);
	struct sb_attest_doc *doc = NULL;
	int status = SB_EXIT_FAIL;

	if (!sb_ok(sb_file_read(a->receipt, &receipt)) || !sb_ok(sb_file_read(a->output, &output)) ||
	    !sb_ok(sb_file_read(a->manifest, &manifest)))
		goto out;
	if (!sb_ok(sb_receipt_verify(sb_buf_slice(&receipt), sb_buf_slice(&output),
				     sb_buf_slice(&manifest), o, &doc)) ||
	    !sb_ok(sb_time_format_rfc3339(doc->timestamp_ms, &ts)))
		goto out;
	if (a->json)
		printf("{\"valid\":true,\"module_id\":\"%s\",\"timestamp\":\"%s\"}\n", doc->module_id,
		       sb_buf_cstr(&ts));
	else
		printf("receipt OK: output and manifest attested by enclave %s at %s\n",
		       doc->module_id, sb_buf_cstr(&ts));
	status = SB_EXIT_OK;
out:
	if (status != SB_EXIT_OK)
		(void)sb_cli_fail("verify");
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&receipt);
	sb_buf_cleanup(&output);
	sb_buf_cleanup(&manifest);
	sb_buf_cleanup(&ts);
	return status;
}

static int run_verify_merge(struct verify_args *a, struct sb_verify_opts *o)
{
	struct sb_buf output = SB_BUF_INIT(1u << 30), manifest = SB_BUF_INIT(1u << 20),
		      record = SB_BUF_INIT(SB_MERGE_RECORD_MAX);
	struct sb_buf *rec = calloc(a->nreceipts, sizeof(*rec));
	struct sb_slice *slices = calloc(a->nreceipts, sizeof(*slices));
	int status = SB_EXIT_FAIL;

	if (rec == NULL || slices == NULL) {
		(void)sb_error_recordf(SB_ERR_NOMEM, SB_HERE, "receipts");
		goto out;
	}
	if (!sb_ok(sb_file_read(a->output, &output)) || !sb_ok(sb_file_read(a->manifest, &manifest)) ||
	    !sb_ok(sb_file_read(a->merge_record, &record)))
		goto out;
	for (size_t i = 0; i < a->nreceipts; i++) {
		rec[i] = SB_BUF_INIT(SB_RECEIPT_MAX);
		if (!sb_ok(sb_file_read(a->receipts[i], &rec[i])))
			goto out;
		slices[i] = sb_buf_slice(&rec[i]);
	}
	if (!sb_ok(sb_merge_verify(sb_buf_slice(&manifest), o, sb_buf_slice(&output),
				   sb_buf_slice(&record), slices, a->nreceipts)))
		goto out;
	if (a->json)
		printf("{\"valid\":true,\"shards\":%zu}\n", a->nreceipts);
	else
		printf("merged output OK: %zu shard receipts verified against it and the manifest\n",
		       a->nreceipts);
	status = SB_EXIT_OK;
out:
	if (status != SB_EXIT_OK)
		(void)sb_cli_fail("verify");
	for (size_t i = 0; rec != NULL && i < a->nreceipts; i++)
		sb_buf_cleanup(&rec[i]);
	free(rec);
	free(slices);
	sb_buf_cleanup(&output);
	sb_buf_cleanup(&manifest);
	sb_buf_cleanup(&record);
	return status;
}

int sb_cmd_verify(int argc, char **argv)
{
	struct verify_args a = {0};
	struct sb_verify_opts o;
	int status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	sb_verify_opts_init(&o);
	status = parse_args(argc, argv, &a, &o);
	if (status == SB_EXIT_OK)
		status = a.merge_record != NULL ? run_verify_merge(&a, &o) : run_verify_one(&a, &o);
	sb_cli_trust_cleanup(&a.trust);
	return status;
}
