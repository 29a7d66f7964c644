/*
 * sealbid seal: a party's bids as one AWS Encryption SDK v2 message bound to
 * a job (docs/FORMATS.md, "Sealed dataset"), what the AWS Encryption SDK's
 * KMS keyring would write: one GenerateDataKey (AES_256) under the party's
 * key with the encryption context sealbid:manifest / sealbid:party (plus
 * aws-crypto-public-key for 0x0578), one "aws-kms" EDK whose provider info
 * is the key ARN KMS returned, framed content, a P-384 signature (0x0578).
 *
 * Streamed: the CSV is read and checked in chunks and encrypted frame by
 * frame into a temporary file, renamed over the output only once the whole
 * message is written; any failure removes it. The plaintext data key is
 * wiped as soon as the content key is derived from it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auction/sb_job.h"
#include "auction/sb_shard.h"
#include "cli/cli.h"
#include "cli/sb_cli_sealed.h"
#include "common/sb_file.h"
#include "common/sb_parse.h"
#include "esdk/sb_esdk.h"

static const char usage_text[] =
	"usage: sealbid seal --key-id KEY --manifest job.json --party NAME BIDS.csv -o BIDS.sealed\n"
	"                    [--suite 0x0578|0x0478] [--frame-size BYTES] [--shards N]\n"
	"\n"
	"Seals a party's bids for one job: BIDS.csv (\"[].contract,[].bid\" then\n"
	"\"property,amount\" lines) becomes an AWS Encryption SDK v2 message under KEY\n"
	"(key id, ARN or alias/NAME; it must be the manifest's key for NAME, whose format\n"
	"must be \"sealed\"), with the encryption context sealbid:manifest (the manifest\n"
	"hash) and sealbid:party (NAME). --suite: 0x0578 (default, ECDSA P-384 signed) or\n"
	"0x0478; --frame-size: plaintext bytes per frame (default 65536). The output is\n"
	"written atomically, mode 0600. KMS is found as for the AWS CLI (AWS_REGION,\n"
	"AWS_ENDPOINT_URL_KMS, the usual credentials).\n"
	"\n"
	"For a join-aggregate job the file is the party's dataset CSV instead: a header\n"
	"naming the columns, then rows; the header, ragged rows and the columns the\n"
	"query sums or averages are checked against the manifest before any KMS call.\n"
	"\n"
	"--shards N (the manifest's \"shards\"): one sealed part per shard, each holding\n"
	"only that shard's rows and naming the shard in its encryption context\n"
	"(sealbid:shard) and so its header; -o and the party's input in the manifest\n"
	"must contain \"{shard}\", which stands for the shard index (0..N-1). All parts\n"
	"are written or none.\n";

/* Plaintext read per read(2): frames are cut from it as they fill. */
#define SEAL_READ_CHUNK   (256u << 10)
/* 64 KiB frames: docs/BENCHMARKS.md (bench_esdk) has the measurements. */
#define SEAL_FRAME_LEN    (64u << 10)
#define SEAL_MODE         0600

struct seal_args {
	const char *key;
	const char *manifest;
	const char *party;
	const char *in;
	const char *out;
	uint16_t suite;
	uint32_t frame_len;
	uint32_t shards; /* 0: one message; else one part per shard */
};

/* One run's resources, all released by seal_cleanup. */
struct seal {
	const struct seal_args *a;
	struct sb_manifest m;
	const struct sb_party *party;
	struct sb_cli_kms kms;
	struct sb_esdk_encryptor *enc;
	struct sb_file_out out;
	bool out_open;
	struct sb_buf sealed; /* ciphertext waiting to be written */
	int in_fd;
	uint32_t shard;       /* the part being written (a->shards > 0) */
	char shard_text[16];  /* its sealbid:shard value */
	const char *out_path; /* this part's output */
	struct sb_buf line;   /* secret: a line not yet ended (parts only) */
	size_t lineno;
	struct sb_buf kept;   /* secret: this shard's lines of the chunk */
};

static bool is_alias(const char *key)
{
	return strncmp(key, "alias/", 6) == 0 || strstr(key, ":alias/") != NULL;
}

/*
 * The key given must be the party's. An alias in the manifest is only
 * enforced by KMS when it is the KeyId itself, so it must be given as is;
 * a key id or ARN is compared with the ARN KMS reports (key_after).
 */
static SB_RESULT key_before(const struct seal *s)
{
	const char *declared = s->party->key;

	if (strcmp(declared, s->a->key) == 0 || !is_alias(declared))
		return SB_OK_RESULT;
	SB_BAIL_MSG(SB_ERR_WRONG_KEY, "party %s declares the key %s: give it as --key-id",
		    s->party->name, declared);
}

static SB_RESULT key_after(const struct seal *s, const char *arn)
{
	SB_ENSURE_MSG(sb_job_key_matches(s->party->key, arn), SB_ERR_WRONG_KEY,
		      "party %s: the manifest declares another key than %s", s->party->name, arn);
	return SB_OK_RESULT;
}

/* GenerateDataKey with the message's whole context (the public key included). */
static SB_RESULT data_key(struct seal *s, struct sb_kms_result *r)
{
	struct sb_kms_context ctx[SB_KMS_CONTEXT_MAX];
	const struct sb_esdk_pair *pairs;
	size_t n;

	sb_esdk_encryptor_context(s->enc, &pairs, &n);
	SB_ENSURE(n <= SB_KMS_CONTEXT_MAX, SB_ERR_INTERNAL);
	for (size_t i = 0; i < n; i++)
		ctx[i] = (struct sb_kms_context){pairs[i].key, pairs[i].value};
	const struct sb_kms_gdk_in in = {
		.key_id = s->a->key, .key_spec = "AES_256", .context = ctx, .n_context = n};
	SB_GUARD(sb_kms_generate_data_key(s->kms.kms, &in, r));
	SB_ENSURE_MSG(r->plaintext.len == SB_ESDK_DATA_KEY_LEN, SB_ERR_ESDK_BAD_DATA_KEY,
		      "KMS returned %zu bytes", r->plaintext.len);
	return key_after(s, r->key_id);
}

/* The header, from the data key (wiped here, whatever happens) and its one EDK. */
static SB_RESULT header_write(struct seal *s, struct sb_kms_result *r)
{
	struct sb_esdk_edk edk = {
		.provider_id = SB_BUF_INIT(sizeof(SB_ESDK_KMS_PROVIDER_ID)),
		.provider_info = SB_BUF_INIT(SB_KMS_KEY_ID_MAX),
		.ciphertext = SB_BUF_INIT(SB_KMS_CIPHERTEXT_MAX),
	};
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_buf_append_str(&edk.provider_id, SB_ESDK_KMS_PROVIDER_ID), out);
	SB_GUARD_GOTO(rc, sb_buf_append_str(&edk.provider_info, r->key_id), out);
	SB_GUARD_GOTO(rc, sb_buf_set(&edk.ciphertext, sb_buf_slice(&r->ciphertext_blob)), out);
	rc = sb_esdk_encryptor_start(s->enc, sb_buf_slice(&r->plaintext), &edk, 1, &s->sealed);
out:
	sb_buf_cleanup(&r->plaintext); /* secret: wiped */
	sb_buf_cleanup(&edk.provider_id);
	sb_buf_cleanup(&edk.provider_info);
	sb_buf_cleanup(&edk.ciphertext);
	return rc;
}

static SB_RESULT flush(struct seal *s)
{
	SB_GUARD(sb_file_out_write(&s->out, sb_buf_slice(&s->sealed)));
	sb_buf_reset(&s->sealed);
	return SB_OK_RESULT;
}

static SB_RESULT read_some(struct seal *s, struct sb_buf *chunk)
{
	ssize_t n;

	sb_buf_reset(chunk);
	SB_GUARD(sb_buf_reserve(chunk, SEAL_READ_CHUNK));
	do
		n = read(s->in_fd, sb_buf_tail(chunk), SEAL_READ_CHUNK);
	while (n < 0 && errno == EINTR);
	SB_ENSURE_MSG(n >= 0, SB_ERR_IO, "%s: %s", s->a->in, strerror(errno));
	return sb_buf_commit(chunk, (size_t)n);
}

/* One complete line (its ending included): the header, or a row of this part's shard. */
static SB_RESULT keep_line(struct seal *s, struct sb_slice line)
{
	const uint8_t *comma = memchr(line.ptr, ',', line.len);
	struct sb_slice prop = SB_SLICE(line.ptr, comma != NULL ? (size_t)(comma - line.ptr) : 0);

	if (s->lineno++ == 0 || sb_shard_owns(prop, s->shard, s->a->shards))
		return sb_buf_append_slice(&s->kept, line);
	return SB_OK_RESULT;
}

/* This part's lines of chunk (already checked), carrying a partial last line. */
static SB_RESULT filter(struct seal *s, struct sb_slice chunk, bool end)
{
	const uint8_t *nl;

	sb_buf_reset(&s->kept);
	while (chunk.len > 0 && (nl = memchr(chunk.ptr, '\n', chunk.len)) != NULL) {
		size_t n = (size_t)(nl - chunk.ptr) + 1;
		SB_GUARD(sb_buf_append(&s->line, chunk.ptr, n));
		SB_GUARD(keep_line(s, sb_buf_slice(&s->line)));
		sb_buf_reset(&s->line);
		chunk = SB_SLICE(chunk.ptr + n, chunk.len - n);
	}
	SB_GUARD(sb_buf_append_slice(&s->line, chunk));
	if (end && s->line.len > 0) {
		SB_GUARD(keep_line(s, sb_buf_slice(&s->line)));
		sb_buf_reset(&s->line);
	}
	return SB_OK_RESULT;
}

/* Encrypts a checked chunk (or, for a part, its shard's lines) and writes the frames. */
static SB_RESULT encrypt_some(struct seal *s, struct sb_slice chunk, bool end)
{
	if (s->a->shards > 0) {
		SB_GUARD(filter(s, chunk, end));
		chunk = sb_buf_slice(&s->kept);
	}
	if (chunk.len > 0)
		SB_GUARD(sb_esdk_encryptor_update(s->enc, chunk, &s->sealed));
	return flush(s);
}

/* Reads, checks and encrypts the CSV chunk by chunk, writing frames as they fill. */
static SB_RESULT body_write(struct seal *s)
{
	struct sb_buf chunk = SB_BUF_INIT_SECRET(SEAL_READ_CHUNK);
	struct sb_cli_plain csv; /* bids, or a join-aggregate party's dataset */
	sb_result rc;

	sb_cli_plain_init(&csv, &s->m, s->party);
	for (;;) {
		SB_GUARD_GOTO(rc, read_some(s, &chunk), out);
		if (chunk.len == 0)
			break;
		SB_GUARD_GOTO(rc, sb_cli_plain_feed(&csv, sb_buf_slice(&chunk)), bad_csv);
		SB_GUARD_GOTO(rc, encrypt_some(s, sb_buf_slice(&chunk), false), out);
	}
	SB_GUARD_GOTO(rc, sb_cli_plain_end(&csv), bad_csv);
	SB_GUARD_GOTO(rc, encrypt_some(s, SB_SLICE(NULL, 0), true), out);
	SB_GUARD_GOTO(rc, sb_esdk_encryptor_final(s->enc, &s->sealed), out);
	rc = flush(s);
	goto out;
bad_csv:
	sb_error_context("%s", s->a->in);
out:
	sb_cli_plain_cleanup(&csv);
	sb_buf_cleanup(&chunk);
	return rc;
}

static SB_RESULT seal_run(struct seal *s)
{
	const struct sb_esdk_pair ctx[] = {{SB_CTX_MANIFEST, s->m.hash_hex},
					   {SB_CTX_PARTY, s->party->name},
					   {SB_CTX_SHARD, s->shard_text}};
	struct sb_kms_result r;
	sb_result rc;

	SB_GUARD(key_before(s));
	s->in_fd = open(s->a->in, O_RDONLY | O_CLOEXEC);
	SB_ENSURE_MSG(s->in_fd >= 0, errno == ENOENT ? SB_ERR_NOT_FOUND : SB_ERR_IO, "%s: %s",
		      s->a->in, strerror(errno));
	SB_GUARD(sb_esdk_encryptor_new(s->a->suite, ctx, s->a->shards > 0 ? 3 : 2, s->a->frame_len,
				       &s->enc));
	SB_GUARD(sb_cli_kms_open(&s->kms));
	sb_kms_result_init(&r);
	rc = data_key(s, &r);
	if (sb_ok(rc))
		rc = header_write(s, &r);
	sb_kms_result_cleanup(&r);
	SB_GUARD(rc);
	SB_GUARD(sb_file_out_open(&s->out, s->out_path));
	s->out_open = true;
	SB_GUARD(flush(s));
	SB_GUARD(body_write(s));
	s->out_open = false;
	return sb_file_out_commit(&s->out, SEAL_MODE);
}

static void seal_cleanup(struct seal *s)
{
	if (s->out_open)
		sb_file_out_abort(&s->out); /* never a partial file */
	if (s->in_fd >= 0)
		close(s->in_fd);
	sb_esdk_encryptor_free(s->enc);
	sb_cli_kms_close(&s->kms);
	sb_buf_cleanup(&s->sealed);
	sb_buf_cleanup(&s->line);
	sb_buf_cleanup(&s->kept);
}

static int suite_parse(const char *text, uint16_t *suite)
{
	if (strcasecmp(text, "0x0578") == 0)
		*suite = SB_ESDK_SUITE_COMMIT_SIG;
	else if (strcasecmp(text, "0x0478") == 0)
		*suite = SB_ESDK_SUITE_COMMIT;
	else
		return -1;
	return 0;
}

static int args_parse(int argc, char **argv, struct seal_args *a)
{
	static const struct option opts[] = {
		{"key-id", required_argument, NULL, 'k'},
		{"manifest", required_argument, NULL, 'm'},
		{"party", required_argument, NULL, 'p'},
		{"suite", required_argument, NULL, 's'},
		{"frame-size", required_argument, NULL, 'f'},
		{"output", required_argument, NULL, 'o'},
		{"shards", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			a->key = optarg;
			break;
		case 'm':
			a->manifest = optarg;
			break;
		case 'p':
			a->party = optarg;
			break;
		case 's':
			if (suite_parse(optarg, &a->suite) != 0)
				return sb_cli_usage_error("seal", "--suite is 0x0578 or 0x0478");
			break;
		case 'f':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, SB_ESDK_MAX_FRAME_LEN, &a->frame_len)))
				return sb_cli_usage_error("seal", "--frame-size is 1..%u bytes",
							  SB_ESDK_MAX_FRAME_LEN);
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'n':
			if (!sb_ok(sb_parse_u32_str(optarg, 2, SB_SHARD_MAX, &a->shards)))
				return sb_cli_usage_error("seal", "--shards is 2..%u", SB_SHARD_MAX);
			break;
		default:
			return sb_cli_usage_error("seal", "unknown option");
		}
	}
	if (a->key == NULL || a->manifest == NULL || a->party == NULL || a->out == NULL ||
	    optind != argc - 1)
		return sb_cli_usage_error("seal", "--key-id, --manifest, --party, -o and one "
						  "BIDS.csv are required");
	a->in = argv[optind];
	return SB_EXIT_OK;
}

/* One message (part k of a sharded seal, or the whole dataset) to path. */
static int seal_one(const struct seal_args *a, const char *path, uint32_t k)
{
	struct seal s = {.a = a, .in_fd = -1, .sealed = SB_BUF_INIT(2 * SB_ESDK_MAX_FRAME_LEN),
			 .shard = k, .out_path = path,
			 .line = SB_BUF_INIT_SECRET(SB_SEALED_CSV_LINE_MAX + 2),
			 .kept = SB_BUF_INIT_SECRET(2 * SEAL_READ_CHUNK)};
	int status;

	(void)snprintf(s.shard_text, sizeof(s.shard_text), "%u", k);
	if (!sb_ok(sb_cli_sealed_party(a->manifest, a->party, &s.m, &s.party)))
		return sb_cli_fail("seal");
	if (a->shards > 0 && (s.m.shards != a->shards || !sb_party_sharded_input(s.party))) {
		(void)sb_error_recordf(SB_ERR_BAD_SHARD, SB_HERE,
				       "--shards %u needs a manifest of %u shards whose input for %s "
				       "contains \"" SB_SHARD_TOKEN "\"", a->shards, a->shards, a->party);
		status = sb_cli_fail("seal");
	} else if (a->shards == 0 && sb_party_sharded_input(s.party)) {
		(void)sb_error_recordf(SB_ERR_BAD_SHARD, SB_HERE,
				       "%s's input is sealed per shard: give --shards %u", a->party,
				       s.m.shards);
		status = sb_cli_fail("seal");
	} else {
		status = sb_ok(seal_run(&s)) ? SB_EXIT_OK : sb_cli_fail("seal");
	}
	seal_cleanup(&s);
	sb_manifest_cleanup(&s.m);
	return status;
}

/* out with SB_SHARD_TOKEN replaced by k. */
static SB_RESULT part_path(const char *out, uint32_t k, struct sb_buf *path)
{
	const char *t = strstr(out, SB_SHARD_TOKEN);

	sb_buf_reset(path);
	SB_ENSURE_MSG(t != NULL, SB_ERR_INVALID_ARG, "-o must contain \"" SB_SHARD_TOKEN "\"");
	SB_GUARD(sb_buf_append(path, out, (size_t)(t - out)));
	return sb_buf_printf(path, "%u%s", k, t + strlen(SB_SHARD_TOKEN));
}

/* Every part, or none: parts already written are removed when one fails. */
static int seal_parts(const struct seal_args *a)
{
	struct sb_buf path = SB_BUF_INIT(8192);
	uint32_t done = 0;
	int status = SB_EXIT_OK;

	for (uint32_t k = 0; k < a->shards && status == SB_EXIT_OK; k++) {
		if (!sb_ok(part_path(a->out, k, &path)))
			status = sb_cli_usage_error("seal", "%s", sb_error_describe());
		else if ((status = seal_one(a, sb_buf_cstr(&path), k)) == SB_EXIT_OK)
			done++;
	}
	for (uint32_t j = 0; status != SB_EXIT_OK && j < done; j++)
		if (sb_ok(part_path(a->out, j, &path)))
			(void)unlink(sb_buf_cstr(&path));
	sb_buf_cleanup(&path);
	return status;
}

int sb_cmd_seal(int argc, char **argv)
{
	struct seal_args a = {.suite = SB_ESDK_SUITE_COMMIT_SIG, .frame_len = SEAL_FRAME_LEN};
	int status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	status = args_parse(argc, argv, &a);
	if (status != SB_EXIT_OK)
		return status;
	return a.shards > 0 ? seal_parts(&a) : seal_one(&a, a.out, 0);
}
