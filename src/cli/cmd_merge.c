/*
 * sealbid merge: verify every shard of a sharded job and write the merged
 * output.csv with its merge record (src/host/sb_merge.h), both or neither.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auction/sb_manifest.h"
#include "auction/sb_receipt.h"
#include "aws/sb_storage.h"
#include "cli/cli.h"
#include "cli/sb_cli_trust.h"
#include "common/sb_file.h"
#include "host/sb_merge.h"
#include "host/sb_publish.h"

static const char usage_text[] =
	"usage: sealbid merge --manifest job.json (--pcrs MEASUREMENTS.json | --expect-pcr N=HEX...)\n"
	"                     [--root PEM]... [--allow-debug] [--output URI] [--json]\n"
	"                     SHARD_OUTPUT...\n"
	"\n"
	"Merges the shards of a job whose manifest declares \"shards\": N. Each SHARD_OUTPUT\n"
	"is a shard's output (a path, file:///path or s3://bucket/key, as written by\n"
	"`sealbid run --shard K`), its receipt beside it (output.shard-K.receipt). Every\n"
	"receipt is verified (chain to the root - the AWS Nitro root unless --root is\n"
	"given - signature, the expected PCRs, not a debug-mode enclave, this manifest,\n"
	"its shard K of N, the output's hash); a missing, duplicated, foreign or altered\n"
	"shard is refused, naming it, and nothing is written. Otherwise the merged\n"
	"output.csv (rows in the documented order: the bytes an unsharded run gives)\n"
	"goes to --output (default: the manifest's output) and the merge record, listing\n"
	"each shard's receipt hash, beside it as output.merge.json. Check the result with\n"
	"`sealbid verify --merge-record`.\n";

struct merge_args {
	const char *manifest, *output;
	bool json;
	struct sb_cli_trust trust;
	char **shards;
	size_t nshards;
};

static int parse_args(int argc, char **argv, struct merge_args *a, struct sb_verify_opts *o)
{
	static const struct option opts[] = {
		{"manifest", required_argument, NULL, 'm'},
		{"output", required_argument, NULL, 'o'},
		{"json", no_argument, NULL, 'j'},
		SB_CLI_TRUST_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	int c, st;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			a->manifest = optarg;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		default:
			st = sb_cli_trust_option(&a->trust, o, "merge", c, optarg);
			if (st < 0)
				return sb_cli_usage_error("merge", "unknown option");
			if (st != SB_EXIT_OK)
				return st;
		}
	}
	if (a->manifest == NULL || optind >= argc)
		return sb_cli_usage_error("merge", "--manifest and the shard outputs are required");
	st = sb_cli_trust_finish(&a->trust, o, "merge");
	if (st != SB_EXIT_OK)
		return st;
	a->shards = argv + optind;
	a->nshards = (size_t)(argc - optind);
	return SB_EXIT_OK;
}

/* A plain path becomes file:///absolute/path; URIs stay as they are. */
static SB_RESULT to_uri(const char *arg, struct sb_buf *out)
{
	char cwd[PATH_MAX];

	if (strstr(arg, "://") != NULL)
		return sb_buf_append_str(out, arg);
	if (arg[0] == '/')
		return sb_buf_printf(out, "file://%s", arg);
	SB_ENSURE_MSG(getcwd(cwd, sizeof(cwd)) != NULL, SB_ERR_IO, "no current directory");
	return sb_buf_printf(out, "file://%s/%s", cwd, arg);
}

/* Reads each shard's output and the receipt beside it. */
static SB_RESULT read_shards(struct sb_storage *st, const struct merge_args *a,
			     struct sb_buf *files, struct sb_merge_shard *shards)
{
	for (size_t i = 0; i < a->nshards; i++) {
		struct sb_buf uri = SB_BUF_INIT(4096), rec = SB_BUF_INIT(4096);
		size_t n;
		sb_result rc = to_uri(a->shards[i], &uri);
		if (sb_ok(rc)) {
			n = uri.len > 4 && strcmp(sb_buf_cstr(&uri) + uri.len - 4, ".csv") == 0
				    ? uri.len - 4
				    : uri.len;
			rc = sb_buf_append(&rec, uri.data, n);
		}
		if (sb_ok(rc))
			rc = sb_buf_append_str(&rec, ".receipt");
		if (sb_ok(rc))
			rc = sb_storage_get(st, sb_buf_cstr(&uri), &files[2 * i]);
		if (sb_ok(rc))
			rc = sb_storage_get(st, sb_buf_cstr(&rec), &files[2 * i + 1]);
		sb_buf_cleanup(&uri);
		sb_buf_cleanup(&rec);
		if (!sb_ok(rc)) {
			sb_error_context("shard output %s", a->shards[i]);
			return rc;
		}
		shards[i] = (struct sb_merge_shard){a->shards[i], sb_buf_slice(&files[2 * i]),
						    sb_buf_slice(&files[2 * i + 1])};
	}
	return SB_OK_RESULT;
}

static SB_RESULT run_merge(const struct merge_args *a, struct sb_verify_opts *o)
{
	struct sb_buf text = SB_BUF_INIT(SB_MANIFEST_MAX_BYTES), out = SB_BUF_INIT(1u << 30),
		      record = SB_BUF_INIT(SB_MERGE_RECORD_MAX), out_uri = SB_BUF_INIT(4096),
		      rec_uri = SB_BUF_INIT(4096);
	struct sb_buf *files = NULL;
	struct sb_merge_shard *shards = NULL;
	struct sb_storage *st = NULL;
	struct sb_manifest m = {0};
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_file_read(a->manifest, &text), out);
	SB_GUARD_GOTO(rc, sb_manifest_parse(sb_buf_slice(&text), &m), out);
	files = calloc(2 * a->nshards, sizeof(*files));
	shards = calloc(a->nshards, sizeof(*shards));
	if (files == NULL || shards == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	for (size_t i = 0; i < 2 * a->nshards; i++)
		files[i] = SB_BUF_INIT(i % 2 == 0 ? (1u << 30) : SB_RECEIPT_MAX);
	SB_GUARD_GOTO(rc, a->output != NULL ? to_uri(a->output, &out_uri)
					    : sb_buf_append_str(&out_uri, m.output), out);
	SB_GUARD_GOTO(rc, sb_merge_record_uri(sb_buf_cstr(&out_uri), &rec_uri), out);
	SB_GUARD_GOTO(rc, sb_publish_check(sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri)), out);
	SB_GUARD_GOTO(rc, sb_storage_new(NULL, &st), out);
	SB_GUARD_GOTO(rc, read_shards(st, a, files, shards), out);
	SB_GUARD_GOTO(rc, sb_merge_run(sb_buf_slice(&text), o, shards, a->nshards, &out, &record),
		      out);
	SB_GUARD_GOTO(rc, sb_publish_pair(st, sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri),
					  sb_buf_slice(&out), sb_buf_slice(&record)), out);
	if (a->json)
		printf("{\"job_id\":\"%s\",\"shards\":%u,\"output\":\"%s\",\"merge_record\":\"%s\"}\n",
		       m.job_id, m.shards, sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri));
	else
		printf("job %s: %u shards verified and merged: wrote %s and %s\n", m.job_id, m.shards,
		       sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri));
out:
	for (size_t i = 0; files != NULL && i < 2 * a->nshards; i++)
		sb_buf_cleanup(&files[i]);
	free(files);
	free(shards);
	sb_storage_free(st);
	sb_manifest_cleanup(&m);
	sb_buf_cleanup(&text);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&record);
	sb_buf_cleanup(&out_uri);
	sb_buf_cleanup(&rec_uri);
	return rc;
}

int sb_cmd_merge(int argc, char **argv)
{
	struct merge_args a = {0};
	struct sb_verify_opts o;
	int status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	sb_verify_opts_init(&o);
	status = parse_args(argc, argv, &a, &o);
	if (status == SB_EXIT_OK && !sb_ok(run_merge(&a, &o)))
		status = sb_cli_fail("merge");
	sb_cli_trust_cleanup(&a.trust);
	return status;
}
