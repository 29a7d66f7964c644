/*
 * sealbid unseal: a party's own check of its sealed dataset (docs/FORMATS.md,
 * "Sealed dataset") before handing it to a job: the header is parsed, its
 * encryption context must be exactly what the manifest implies for the
 * party, the party's aws-kms EDK is decrypted by KMS with the owner's own
 * credentials (no Recipient), and the whole message (key commitment, header
 * tag, every frame, the footer signature, nothing after it) and the CSV it
 * holds are verified before a byte of plaintext is written, atomically
 * (mode 0600) or to stdout.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "auction/sb_job.h"
#include "cli/cli.h"
#include "cli/sb_cli_sealed.h"
#include "common/sb_file.h"
#include "esdk/sb_esdk.h"

static const char usage_text[] =
	"usage: sealbid unseal --manifest job.json --party NAME BIDS.sealed [-o BIDS.csv]\n"
	"\n"
	"Checks a sealed dataset as the job will: the encryption context must bind it to\n"
	"this manifest and party, KMS must decrypt its data key under the party's key\n"
	"with your own credentials, and every frame and the signature must verify. Only\n"
	"then is the CSV written to BIDS.csv (atomically, mode 0600) or to stdout.\n"
	"A key pinned with `sealbid policy` denies you Decrypt: unseal before pinning it\n"
	"(docs/FORMATS.md, \"Sealed dataset\"). KMS is found as for the AWS CLI\n"
	"(AWS_REGION, AWS_ENDPOINT_URL_KMS, the usual credentials).\n";

/* The largest sealed file read (the whole message is verified in memory). */
#define UNSEAL_MAX_BYTES (1u << 30)
#define UNSEAL_MODE      0600

struct unseal {
	const char *in;
	struct sb_manifest m;
	const struct sb_party *party;
	struct sb_buf msg; /* the sealed file */
	struct sb_esdk_header h;
	size_t header_len;
	struct sb_esdk_key *key;
	struct sb_buf csv; /* secret: the verified plaintext */
};

static SB_RESULT header_read(struct unseal *u)
{
	const struct sb_esdk_pair expected[] = {{SB_CTX_MANIFEST, u->m.hash_hex},
						{SB_CTX_PARTY, u->party->name}};
	sb_result rc = sb_esdk_header_parse(sb_buf_slice(&u->msg), &u->h, &u->header_len);

	if (rc.code == SB_ERR_ESDK_SHORT)
		SB_BAIL_MSG(SB_ERR_ESDK_TRUNCATED, "%zu bytes, not even a whole header",
			    u->msg.len);
	SB_GUARD(rc);
	rc = sb_esdk_header_check_context(&u->h, expected, 2);
	if (!sb_ok(rc))
		sb_error_context("party %s: not sealed for this manifest and party",
				 u->party->name);
	return rc;
}

/*
 * KMS Decrypt of the party's EDK with the message's whole context. KeyId is
 * the declared key (so an alias is enforced by KMS); the key KMS reports
 * must be the EDK's (aws-kms-keyring: "the response's KeyId MUST equal the
 * AWS KMS key identifier") and the party's.
 */
static SB_RESULT data_key(struct unseal *u, struct sb_kms *kms, struct sb_kms_result *r)
{
	struct sb_kms_context ctx[SB_KMS_CONTEXT_MAX];
	const struct sb_esdk_edk *edk;

	SB_GUARD(sb_esdk_header_find_kms_edk(&u->h, sb_job_key_matches, u->party->key, &edk));
	SB_ENSURE(u->h.npairs <= SB_KMS_CONTEXT_MAX, SB_ERR_ESDK_BAD_CONTEXT);
	for (size_t i = 0; i < u->h.npairs; i++)
		ctx[i] = (struct sb_kms_context){u->h.pairs[i].key, u->h.pairs[i].value};
	const struct sb_kms_decrypt_in in = {.ciphertext = sb_buf_slice(&edk->ciphertext),
					     .key_id = u->party->key,
					     .context = ctx,
					     .n_context = u->h.npairs};
	SB_GUARD(sb_kms_decrypt(kms, &in, r));
	SB_ENSURE_MSG(strcmp(r->key_id, sb_buf_cstr(&edk->provider_info)) == 0 &&
			      sb_job_key_matches(u->party->key, r->key_id),
		      SB_ERR_WRONG_KEY, "party %s: KMS decrypted under %s", u->party->name,
		      r->key_id);
	return SB_OK_RESULT;
}

/* The content key; the data key is wiped right after, whatever happens. */
static SB_RESULT key_derive(struct unseal *u)
{
	struct sb_cli_kms kms = {0};
	struct sb_kms_result r;
	sb_result rc;

	sb_kms_result_init(&r);
	SB_GUARD_GOTO(rc, sb_cli_kms_open(&kms), out);
	SB_GUARD_GOTO(rc, data_key(u, kms.kms, &r), out);
	rc = sb_esdk_key_new(&u->h, sb_buf_slice(&r.plaintext), &u->key);
out:
	sb_kms_result_cleanup(&r); /* the plaintext is a secret buffer: wiped */
	sb_cli_kms_close(&kms);
	return rc;
}

/* Bids, or for a join-aggregate job the party's dataset CSV. */
static SB_RESULT csv_check(const struct unseal *u)
{
	struct sb_cli_plain c;
	sb_result rc;

	sb_cli_plain_init(&c, &u->m, u->party);
	rc = sb_cli_plain_feed(&c, sb_buf_slice(&u->csv));
	if (sb_ok(rc))
		rc = sb_cli_plain_end(&c);
	sb_cli_plain_cleanup(&c);
	if (!sb_ok(rc))
		sb_error_context("%s: the sealed CSV", u->in);
	return rc;
}

static SB_RESULT unseal_run(struct unseal *u, const char *out)
{
	SB_GUARD(sb_file_read(u->in, &u->msg));
	sb_result rc = header_read(u);
	if (sb_ok(rc))
		rc = key_derive(u);
	if (sb_ok(rc))
		rc = sb_esdk_decrypt_body(&u->h, u->key, sb_buf_slice(&u->msg), u->header_len,
					  &u->csv);
	if (!sb_ok(rc)) {
		sb_error_context("%s", u->in);
		return rc;
	}
	SB_GUARD(csv_check(u));
	if (out != NULL)
		return sb_file_write_atomic(out, sb_buf_slice(&u->csv), UNSEAL_MODE);
	SB_ENSURE_MSG(fwrite(u->csv.data, 1, u->csv.len, stdout) == u->csv.len &&
			      fflush(stdout) == 0,
		      SB_ERR_IO, "stdout");
	return SB_OK_RESULT;
}

int sb_cmd_unseal(int argc, char **argv)
{
	static const struct option opts[] = {
		{"manifest", required_argument, NULL, 'm'},
		{"party", required_argument, NULL, 'p'},
		{"output", required_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	struct unseal u = {.msg = SB_BUF_INIT(UNSEAL_MAX_BYTES),
			   .csv = SB_BUF_INIT_SECRET(UNSEAL_MAX_BYTES)};
	const char *manifest = NULL, *party = NULL, *out = NULL;
	int c, status;

	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			manifest = optarg;
			break;
		case 'p':
			party = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return sb_cli_usage_error("unseal", "unknown option");
		}
	}
	if (manifest == NULL || party == NULL || optind != argc - 1)
		return sb_cli_usage_error("unseal",
					  "--manifest, --party and one BIDS.sealed are required");
	u.in = argv[optind];
	if (!sb_ok(sb_cli_sealed_party(manifest, party, &u.m, &u.party)))
		return sb_cli_fail("unseal");
	status = sb_ok(unseal_run(&u, out)) ? SB_EXIT_OK : sb_cli_fail("unseal");
	sb_buf_cleanup(&u.csv);
	sb_esdk_key_free(u.key);
	sb_esdk_header_cleanup(&u.h);
	sb_buf_cleanup(&u.msg);
	sb_manifest_cleanup(&u.m);
	return status;
}
