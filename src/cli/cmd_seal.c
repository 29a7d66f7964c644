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
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auction/sb_job.h"
#include "cli/cli.h"
#include "cli/sb_cli_sealed.h"
#include "common/sb_file.h"
#include "common/sb_parse.h"
#include "esdk/sb_esdk.h"

static const char usage_text[] =
	"usage: sealbid seal --key-id KEY --manifest job.json --party NAME BIDS.csv -o BIDS.sealed\n"
	"                    [--suite 0x0578|0x0478] [--frame-size BYTES]\n"
	"\n"
	"Seals a party's bids for one job: BIDS.csv (\"[].contract,[].bid\" then\n"
	"\"property,amount\" lines) becomes an AWS Encryption SDK v2 message under KEY\n"
	"(key id, ARN or alias/NAME; it must be the manifest's key for NAME, whose format\n"
	"must be \"sealed\"), with the encryption context sealbid:manifest (the manifest\n"
	"hash) and sealbid:party (NAME). --suite: 0x0578 (default, ECDSA P-384 signed) or\n"
	"0x0478; --frame-size: plaintext bytes per frame (default 65536). The output is\n"
	"written atomically, mode 0600. KMS is found as for the AWS CLI (AWS_REGION,\n"
	"AWS_ENDPOINT_URL_KMS, the usual credentials).\n";

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

/* Reads, checks and encrypts the CSV chunk by chunk, writing frames as they fill. */
static SB_RESULT body_write(struct seal *s)
{
	struct sb_buf chunk = SB_BUF_INIT_SECRET(SEAL_READ_CHUNK);
	struct sb_sealed_csv csv;
	sb_result rc;

	sb_sealed_csv_init(&csv);
	for (;;) {
		SB_GUARD_GOTO(rc, read_some(s, &chunk), out);
		if (chunk.len == 0)
			break;
		SB_GUARD_GOTO(rc, sb_sealed_csv_feed(&csv, sb_buf_slice(&chunk)), bad_csv);
		SB_GUARD_GOTO(rc, sb_esdk_encryptor_update(s->enc, sb_buf_slice(&chunk), &s->sealed),
			      out);
		SB_GUARD_GOTO(rc, flush(s), out);
	}
	SB_GUARD_GOTO(rc, sb_sealed_csv_end(&csv), bad_csv);
	SB_GUARD_GOTO(rc, sb_esdk_encryptor_final(s->enc, &s->sealed), out);
	rc = flush(s);
	goto out;
bad_csv:
	sb_error_context("%s", s->a->in);
out:
	sb_sealed_csv_cleanup(&csv);
	sb_buf_cleanup(&chunk);
	return rc;
}

static SB_RESULT seal_run(struct seal *s)
{
	const struct sb_esdk_pair ctx[] = {{SB_CTX_MANIFEST, s->m.hash_hex},
					   {SB_CTX_PARTY, s->party->name}};
	struct sb_kms_result r;
	sb_result rc;

	SB_GUARD(key_before(s));
	s->in_fd = open(s->a->in, O_RDONLY | O_CLOEXEC);
	SB_ENSURE_MSG(s->in_fd >= 0, errno == ENOENT ? SB_ERR_NOT_FOUND : SB_ERR_IO, "%s: %s",
		      s->a->in, strerror(errno));
	SB_GUARD(sb_esdk_encryptor_new(s->a->suite, ctx, 2, s->a->frame_len, &s->enc));
	SB_GUARD(sb_cli_kms_open(&s->kms));
	sb_kms_result_init(&r);
	rc = data_key(s, &r);
	if (sb_ok(rc))
		rc = header_write(s, &r);
	sb_kms_result_cleanup(&r);
	SB_GUARD(rc);
	SB_GUARD(sb_file_out_open(&s->out, s->a->out));
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

int sb_cmd_seal(int argc, char **argv)
{
	struct seal_args a = {.suite = SB_ESDK_SUITE_COMMIT_SIG, .frame_len = SEAL_FRAME_LEN};
	struct seal s = {.a = &a, .in_fd = -1, .sealed = SB_BUF_INIT(2 * SB_ESDK_MAX_FRAME_LEN)};
	int status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	status = args_parse(argc, argv, &a);
	if (status != SB_EXIT_OK)
		return status;
	if (!sb_ok(sb_cli_sealed_party(a.manifest, a.party, &s.m, &s.party)))
		return sb_cli_fail("seal");
	status = sb_ok(seal_run(&s)) ? SB_EXIT_OK : sb_cli_fail("seal");
	seal_cleanup(&s);
	sb_manifest_cleanup(&s.m);
	return status;
}
