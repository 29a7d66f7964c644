/*
 * sealbid run: the parent side of one job. Opens every party's input
 * (S3 or regular files) and streams it in chunks, never whole, gets AWS credentials (the usual chain, IMDSv2 on EC2),
 * streams credentials, manifest and inputs to the enclave, and publishes
 * the receipt, then output.csv, only when the whole job succeeded.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auction/sb_job.h"
#include "auction/sb_manifest.h"
#include "aws/sb_creds.h"
#include "aws/sb_storage.h"
#include "cli/cli.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_parse.h"
#include "auction/sb_shard.h"
#include "host/sb_merge.h"
#include "host/sb_publish.h"
#include "host/sb_runner.h"
#include "wire/sb_vsock.h"

static const char usage_text[] =
	"usage: sealbid run --manifest job.json --enclave-cid N [--port P]\n"
	"                   [--shard K] [--connect-ms MS] [--timeout-ms MS] [--json]\n"
	"\n"
	"Runs one job on an enclave: reads every party's input named in the manifest\n"
	"(s3://bucket/key or file:///path), sends the AWS credentials of the usual chain\n"
	"(environment, AWS_PROFILE, EC2 instance role through IMDSv2), the manifest and\n"
	"the inputs over vsock, and writes the enclave's result to the manifest's output\n"
	"(output.csv) with its receipt beside it (output.receipt), both or neither.\n"
	"Locally, SEALBID_VSOCK_DIR maps vsock to Unix sockets.\n"
	"\n"
	"A manifest with \"shards\": N runs one shard at a time: --shard K (0..N-1)\n"
	"computes only shard K's properties and writes output.shard-K.csv and\n"
	"output.shard-K.receipt beside the manifest's output; `sealbid merge` verifies\n"
	"and combines the N shards.\n";

struct run_args {
	const char *manifest_path;
	bool has_shard;
	uint32_t shard;
	struct sb_runner_opts ro;
	bool json;
};

/* output.csv -> output.receipt; anything else gets ".receipt" appended. */
static SB_RESULT receipt_uri(const char *output, struct sb_buf *out)
{
	size_t n = strlen(output);

	if (n > 4 && strcmp(output + n - 4, ".csv") == 0)
		n -= 4;
	SB_GUARD(sb_buf_append(out, output, n));
	return sb_buf_append_str(out, ".receipt");
}

static void progress_line(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "sealbid run: %s\n", line);
}

/* The chain's current credentials (refreshed when near expiry) into out. */
static SB_RESULT get_creds(struct sb_creds_provider *p, struct sb_msg_creds *out)
{
	struct sb_aws_creds c;
	sb_result rc;

	sb_aws_creds_init(&c);
	SB_GUARD_GOTO(rc, sb_creds_provider_get(p, &c), out);
	SB_GUARD_GOTO(rc, sb_buf_set(&out->access_key_id, sb_slice_str(c.access_key_id)), out);
	SB_GUARD_GOTO(rc, sb_buf_set(&out->secret_access_key, sb_buf_slice(&c.secret)), out);
	SB_GUARD_GOTO(rc, sb_buf_set(&out->session_token, sb_buf_slice(&c.token)), out);
	out->expiration_ms = c.expiration_ms;
out:
	if (!sb_ok(rc))
		sb_error_context("AWS credentials");
	sb_aws_creds_cleanup(&c);
	return rc;
}

/* sb_runner_opts.refresh: the enclave asked for fresh credentials mid-job. */
static sb_result refresh_creds(void *ctx, struct sb_msg_creds *out)
{
	return get_creds(ctx, out);
}

/* sb_storage_read in the runner's callback shape. */
static sb_result read_input(void *ctx, uint8_t *buf, size_t cap, size_t *n)
{
	return sb_storage_read(ctx, buf, cap, n);
}

/*
 * Opens every party's input before anything is sent, so a missing or
 * unreadable input fails before the job starts; nothing is read yet.
 */
static SB_RESULT open_inputs(struct sb_storage *st, const struct sb_manifest *m, uint32_t shard,
			     struct sb_storage_reader **rd, struct sb_runner_input *in)
{
	for (size_t i = 0; i < m->nparties; i++) {
		/* A party that sealed one part per shard: this shard's part only. */
		struct sb_buf uri = SB_BUF_INIT(SB_MANIFEST_MAX_URI + 16);
		sb_result r = sb_party_input_uri(&m->parties[i], shard, &uri);
		if (sb_ok(r))
			r = sb_storage_open(st, sb_buf_cstr(&uri), &rd[i]);
		sb_buf_cleanup(&uri);
		if (!sb_ok(r)) {
			sb_error_context("input of %s", m->parties[i].name);
			return r;
		}
		in[i].party = m->parties[i].name;
		in[i].read = read_input;
		in[i].ctx = rd[i];
	}
	/* A join keeps the first input in the enclave's memory and streams the
	 * other through it: the smaller goes first (src/collab/sb_collab.h). */
	if (m->collab != NULL && sb_storage_reader_size(rd[0]) > sb_storage_reader_size(rd[1])) {
		struct sb_runner_input t = in[0];
		in[0] = in[1];
		in[1] = t;
	}
	return SB_OK_RESULT;
}

/*
 * Unbound inputs ("binding": "none") carry nothing tying them to this job:
 * whoever holds them can submit them again under another manifest.
 */
static void warn_unbound(const struct sb_manifest *m)
{
	if (!sb_manifest_has_unbound(m))
		return;
	for (size_t i = 0; i < m->nparties; i++)
		if (m->parties[i].binding == SB_BINDING_NONE)
			fprintf(stderr,
				"sealbid run: warning: party %s's input is unbound (\"binding\": "
				"\"none\"): the operator can re-run it under other manifests\n",
				m->parties[i].name);
}

/* The shard checks the CLI can make before anything is sent (the enclave checks again). */
static SB_RESULT check_shard(const struct run_args *a, const struct sb_manifest *m)
{
	if (!a->has_shard) {
		SB_ENSURE_MSG(m->shards == 1, SB_ERR_BAD_SHARD,
			      "the manifest declares %u shards: run each one with --shard K "
			      "(0..%u)", m->shards, m->shards - 1);
		return SB_OK_RESULT;
	}
	return sb_shard_check(a->shard, m->shards);
}

/* Where this run writes: the manifest's output, or shard K's file beside it. */
static SB_RESULT output_uri(const struct run_args *a, const struct sb_manifest *m,
			    struct sb_buf *out)
{
	if (!a->has_shard || m->shards == 1)
		return sb_buf_append_str(out, m->output);
	return sb_merge_shard_uri(m->output, a->shard, out);
}

static SB_RESULT run_job(const struct run_args *a, struct sb_buf *summary)
{
	struct sb_buf text = SB_BUF_INIT(SB_MANIFEST_MAX_BYTES), out = SB_BUF_INIT(1u << 30),
		      rec = SB_BUF_INIT(1u << 20), rec_uri = SB_BUF_INIT(4096), hash = SB_BUF_INIT(128),
		      begin = SB_BUF_INIT(SB_MANIFEST_MAX_BYTES + 8), out_uri = SB_BUF_INIT(4096);
	struct sb_storage_reader **rd = NULL;
	struct sb_runner_input *in = NULL;
	struct sb_storage *st = NULL;
	struct sb_msg_creds creds;
	struct sb_creds_provider *prov = NULL;
	struct sb_runner_opts ro = a->ro;
	struct sb_manifest m = {0};
	sb_result rc;

	sb_msg_creds_init(&creds);
	SB_GUARD_GOTO(rc, sb_file_read(a->manifest_path, &text), out);
	SB_GUARD_GOTO(rc, sb_manifest_parse(sb_buf_slice(&text), &m), out);
	SB_GUARD_GOTO(rc, check_shard(a, &m), out);
	SB_GUARD_GOTO(rc, output_uri(a, &m, &out_uri), out);
	SB_GUARD_GOTO(rc, sb_msg_begin_job_append(&begin, a->has_shard ? &a->shard : NULL,
						  sb_buf_slice(&text)), out);
	warn_unbound(&m);
	rd = calloc(m.nparties, sizeof(*rd));
	in = calloc(m.nparties, sizeof(*in));
	if (rd == NULL || in == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	SB_GUARD_GOTO(rc, sb_storage_new(NULL, &st), out);
	SB_GUARD_GOTO(rc, open_inputs(st, &m, a->shard, rd, in), out);
	/* An output that could never be written fails before the job, not after. */
	SB_GUARD_GOTO(rc, receipt_uri(sb_buf_cstr(&out_uri), &rec_uri), out);
	SB_GUARD_GOTO(rc, sb_publish_check(sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri)), out);
	SB_GUARD_GOTO(rc, sb_creds_provider_new_chain(NULL, &prov), out);
	SB_GUARD_GOTO(rc, get_creds(prov, &creds), out);
	/* Instance-role and assumed-role credentials can be renewed mid-job. */
	if (sb_creds_provider_can_refresh(prov)) {
		ro.refresh = refresh_creds;
		ro.refresh_ctx = prov;
	}
	/* BeginJob's payload: the manifest, prefixed with the shard when there is one. */
	SB_GUARD_GOTO(rc, sb_runner_run(&ro, &creds, sb_buf_slice(&begin), in, m.nparties, &out,
					&rec), out);
	SB_GUARD_GOTO(rc, sb_publish_pair(st, sb_buf_cstr(&out_uri), sb_buf_cstr(&rec_uri),
					  sb_buf_slice(&out), sb_buf_slice(&rec)),
		      out);
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(m.hash, sizeof(m.hash)), &hash), out);
	if (a->json)
		rc = sb_buf_printf(summary,
				   "{\"job_id\":\"%s\",\"manifest_sha384\":\"%s\",\"output\":\"%s\","
				   "\"receipt\":\"%s\"}\n",
				   m.job_id, sb_buf_cstr(&hash), sb_buf_cstr(&out_uri),
				   sb_buf_cstr(&rec_uri));
	else if (printf("job %s done: wrote %s and %s\n", m.job_id, sb_buf_cstr(&out_uri),
			sb_buf_cstr(&rec_uri)) < 0 ||
		 fwrite(out.data, 1, out.len, stdout) != out.len)
		/* Published already; printed directly so the output is not copied again. */
		SB_FAIL_GOTO_MSG(rc, SB_ERR_IO, out, "stdout: %s", strerror(errno));
out:
	for (size_t i = 0; rd != NULL && i < m.nparties; i++)
		sb_storage_close(rd[i]);
	free(rd);
	free(in);
	sb_storage_free(st);
	sb_msg_creds_cleanup(&creds);
	sb_creds_provider_free(prov);
	sb_manifest_cleanup(&m);
	sb_buf_cleanup(&text);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
	sb_buf_cleanup(&rec_uri);
	sb_buf_cleanup(&hash);
	sb_buf_cleanup(&begin);
	sb_buf_cleanup(&out_uri);
	return rc;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{"manifest", required_argument, NULL, 'm'},
		{"enclave-cid", required_argument, NULL, 'c'},
		{"port", required_argument, NULL, 'p'},
		{"connect-ms", required_argument, NULL, 'C'},
		{"timeout-ms", required_argument, NULL, 't'},
		{"json", no_argument, NULL, 'j'},
		{"shard", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	bool have_cid = false;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		sb_result r = SB_OK_RESULT;
		switch (c) {
		case 'm':
			a->manifest_path = optarg;
			break;
		case 'c':
			r = sb_parse_u32_str(optarg, 3, UINT32_MAX - 1, &a->ro.cid);
			have_cid = true;
			break;
		case 'p':
			r = sb_parse_u32_str(optarg, 1, UINT32_MAX - 1, &a->ro.port);
			break;
		case 'C':
			r = sb_parse_u32_str(optarg, 0, 3600000, &a->ro.connect_ms);
			break;
		case 't':
			r = sb_parse_u32_str(optarg, 1000, 86400000, &a->ro.job_ms);
			break;
		case 'j':
			a->json = true;
			break;
		case 's':
			r = sb_parse_u32_str(optarg, 0, SB_SHARD_MAX - 1, &a->shard);
			a->has_shard = true;
			break;
		default:
			return sb_cli_usage_error("run", "unknown option");
		}
		if (!sb_ok(r))
			return sb_cli_usage_error("run", "bad value for an option: %s",
						  sb_error_describe());
	}
	if (a->manifest_path == NULL || !have_cid || optind != argc)
		return sb_cli_usage_error("run", "--manifest and --enclave-cid are required");
	return SB_EXIT_OK;
}

int sb_cmd_run(int argc, char **argv)
{
	struct run_args a = {.ro = {.port = SB_VSOCK_DEFAULT_PORT, .connect_ms = 10000,
				    .job_ms = 3600000}};
	struct sb_buf summary = SB_BUF_INIT(1u << 30);
	int status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	status = parse_args(argc, argv, &a);
	if (status != SB_EXIT_OK)
		return status;
	if (isatty(STDERR_FILENO))
		a.ro.progress = progress_line;
	if (!sb_ok(run_job(&a, &summary))) {
		sb_buf_cleanup(&summary);
		return sb_cli_fail("run");
	}
	fputs(sb_buf_cstr(&summary), stdout);
	sb_buf_cleanup(&summary);
	return SB_EXIT_OK;
}
