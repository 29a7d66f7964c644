/* sealbid attest: verify or describe a Nitro Enclaves attestation document. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "attest/sb_verify.h"
#include "cli/cli.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_parse.h"
#include "common/sb_time.h"
#include "wire/sb_client.h"
#include "wire/sb_vsock.h"

/* A document file holds at most 16 KiB of CBOR: as hex that is 32 KiB. */
#define DOC_FILE_MAX  (2 * SB_ATTEST_DOC_MAX + 2)
#define ROOT_FILE_MAX (64 * 1024)

static const char usage_text[] =
    "usage: sealbid attest verify DOC [--root PEM]... [--at TIME] [--expect-pcr N=HEX]...\n"
    "                             [--allow-debug] [--json]\n"
    "       sealbid attest describe DOC [--json]\n"
    "       sealbid attest request --cid N [--port P] [--nonce HEX] [-o FILE]\n"
    "\n"
    "DOC is a file holding an attestation document (COSE_Sign1, as /dev/nsm returns it)\n"
    "as raw CBOR, base64 or hex; the spelling is detected strictly.\n"
    "\n"
    "verify   checks the structure, the certificate chain from the root (the AWS Nitro\n"
    "         Enclaves Root G1 unless --root gives others, PEM or DER) at TIME (RFC 3339\n"
    "         or Unix milliseconds; default now), the ES384 signature, every --expect-pcr\n"
    "         (index 0..31, hex of 32/48/64 bytes), and that PCR0 is not all zeros (a\n"
    "         debug-mode enclave) unless --allow-debug. Exit 0 valid, 1 not (the reason on\n"
    "         stderr), 2 usage error.\n"
    "describe prints the document's fields WITHOUT verifying anything.\n"
    "request  asks a running enclave (over vsock; SEALBID_VSOCK_DIR locally) for a fresh\n"
    "         document carrying NONCE; writes it raw to FILE, or base64 to stdout.\n"
    "--json   prints module_id, timestamp, digest, pcrs (hex), public_key, user_data and\n"
    "         nonce (base64 or null) as one JSON object.\n";

struct attest_args {
	bool verify;
	const char *doc_path;
	bool json;
	struct sb_buf roots[SB_VERIFY_ROOTS_MAX];
	size_t nroots;
};

static int add_root_file(struct attest_args *a, const char *cmd, const char *path)
{
	if (a->nroots == SB_VERIFY_ROOTS_MAX)
		return sb_cli_usage_error(cmd, "at most %d --root", SB_VERIFY_ROOTS_MAX);
	a->roots[a->nroots] = SB_BUF_INIT(ROOT_FILE_MAX);
	if (!sb_ok(sb_file_read(path, &a->roots[a->nroots++]))) {
		sb_error_context("%s", path);
		return sb_cli_fail(cmd);
	}
	return SB_EXIT_OK;
}

static int parse_option(int c, struct attest_args *a, struct sb_verify_opts *o, const char *cmd)
{
	switch (c) {
	case 'r':
		return add_root_file(a, cmd, optarg);
	case 'a':
		if (!sb_ok(sb_time_parse(sb_slice_str(optarg), &o->at_ms)) || o->at_ms == 0)
			return sb_cli_usage_error(cmd, "bad --at time '%.40s'", optarg);
		return SB_EXIT_OK;
	case 'e':
		if (!sb_ok(sb_verify_opts_expect_pcr_arg(o, optarg)))
			return sb_cli_usage_error(cmd, "bad --expect-pcr: %s", sb_error_detail());
		return SB_EXIT_OK;
	case 'd':
		o->allow_debug = true;
		return SB_EXIT_OK;
	case 'j':
		a->json = true;
		return SB_EXIT_OK;
	default:
		return sb_cli_usage_error(cmd, "unknown option");
	}
}

static int parse_args(int argc, char **argv, struct attest_args *a, struct sb_verify_opts *o)
{
	static const struct option verify_opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"at", required_argument, NULL, 'a'},
	    {"expect-pcr", required_argument, NULL, 'e'},
	    {"allow-debug", no_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	static const struct option describe_opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	const char *cmd = a->verify ? "attest verify" : "attest describe";
	int c;
	optind = 1;
	opterr = 0; /* one line of our own instead of getopt's message */
	while ((c = getopt_long(argc, argv, "", a->verify ? verify_opts : describe_opts, NULL)) !=
	       -1) {
		int st = parse_option(c, a, o, cmd);
		if (st != SB_EXIT_OK)
			return st;
	}
	if (optind + 1 != argc)
		return sb_cli_usage_error(cmd, "exactly one DOC file is required");
	a->doc_path = argv[optind];
	for (size_t i = 0; i < a->nroots; i++)
		if (!sb_ok(sb_verify_opts_add_root(o, sb_buf_slice(&a->roots[i]))))
			return sb_cli_fail(cmd);
	return SB_EXIT_OK;
}

/* ---- output ---- */

static json_t *json_opt_base64(const struct sb_attest_opt *v)
{
	if (!v->present)
		return json_null();
	struct sb_buf b64 = SB_BUF_INIT(4 * SB_ATTEST_PUBLIC_KEY_MAX);
	json_t *j = sb_ok(sb_base64_encode(sb_buf_slice(&v->value), &b64))
	                ? json_string(sb_buf_cstr(&b64))
	                : NULL;
	sb_buf_cleanup(&b64);
	return j;
}

static json_t *json_pcrs(const struct sb_attest_doc *doc)
{
	json_t *pcrs = json_object();
	for (unsigned i = 0; pcrs != NULL && i < SB_ATTEST_PCR_COUNT; i++) {
		const struct sb_attest_pcr *p = &doc->pcrs[i];
		if (!p->present)
			continue;
		char key[4];
		struct sb_buf hex = SB_BUF_INIT(2 * SB_ATTEST_PCR_MAX_LEN);
		(void)snprintf(key, sizeof(key), "%u", i);
		if (!sb_ok(sb_hex_encode(SB_SLICE(p->value, p->len), &hex)) ||
		    json_object_set_new(pcrs, key, json_string(sb_buf_cstr(&hex))) != 0) {
			json_decref(pcrs);
			pcrs = NULL;
		}
		sb_buf_cleanup(&hex);
	}
	return pcrs;
}

static int print_json(const struct sb_attest_doc *doc, bool verified, const char *when)
{
	json_t *o = json_pack(
	    "{s:b, s:s, s:I, s:s, s:s, s:o, s:o, s:o, s:o, s:i}", "verified", verified, "module_id",
	    doc->module_id, "timestamp", (json_int_t)doc->timestamp_ms, "time", when, "digest",
	    "SHA384", "pcrs", json_pcrs(doc), "public_key", json_opt_base64(&doc->public_key),
	    "user_data", json_opt_base64(&doc->user_data), "nonce", json_opt_base64(&doc->nonce),
	    "cabundle_length", (int)doc->cabundle_len);
	if (o == NULL)
		return -1;
	int rc = json_dumpf(o, stdout, JSON_COMPACT) == 0 ? 0 : -1;
	fputc('\n', stdout);
	json_decref(o);
	return rc;
}

static void print_opt(const char *name, const struct sb_attest_opt *v)
{
	struct sb_buf b64 = SB_BUF_INIT(4 * SB_ATTEST_PUBLIC_KEY_MAX);
	if (!v->present)
		printf("%-11s null\n", name);
	else if (sb_ok(sb_base64_encode(sb_buf_slice(&v->value), &b64)))
		printf("%-11s %s (%zu bytes, base64)\n", name, sb_buf_cstr(&b64), v->value.len);
	sb_buf_cleanup(&b64);
}

static void print_text(const struct sb_attest_doc *doc, const char *when)
{
	printf("module_id   %s\ntimestamp   %s (%llu ms)\ndigest      SHA384\n", doc->module_id,
	       when, (unsigned long long)doc->timestamp_ms);
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++) {
		struct sb_buf hex = SB_BUF_INIT(2 * SB_ATTEST_PCR_MAX_LEN);
		const struct sb_attest_pcr *p = &doc->pcrs[i];
		if (p->present && sb_ok(sb_hex_encode(SB_SLICE(p->value, p->len), &hex)))
			printf("PCR%-8u %s\n", i, sb_buf_cstr(&hex));
		sb_buf_cleanup(&hex);
	}
	printf("cabundle    %zu certificates\n", doc->cabundle_len);
	print_opt("public_key", &doc->public_key);
	print_opt("user_data", &doc->user_data);
	print_opt("nonce", &doc->nonce);
}

/* ---- running ---- */

static SB_RESULT load_doc(const char *path, struct sb_buf *raw)
{
	struct sb_buf file = SB_BUF_INIT(DOC_FILE_MAX);
	sb_result rc = sb_file_read(path, &file);
	if (rc.code == SB_ERR_TOO_LARGE)
		rc = sb_error_recordf(SB_ERR_ATTEST_TOO_LARGE, SB_HERE, "%s is too large", path);
	else if (!sb_ok(rc))
		sb_error_context("%s", path);
	if (sb_ok(rc))
		rc = sb_attest_doc_load(sb_buf_slice(&file), raw);
	sb_buf_cleanup(&file);
	return rc;
}

static int run(const struct attest_args *a, const struct sb_verify_opts *o)
{
	const char *cmd = a->verify ? "attest verify" : "attest describe";
	struct sb_buf raw = SB_BUF_INIT(SB_ATTEST_DOC_MAX), when = SB_BUF_INIT(64);
	struct sb_attest_doc *doc = NULL;
	int status = SB_EXIT_FAIL;
	sb_result rc = load_doc(a->doc_path, &raw);
	if (sb_ok(rc))
		rc = a->verify ? sb_attest_verify(sb_buf_slice(&raw), o, &doc)
		               : sb_attest_doc_parse(sb_buf_slice(&raw), &doc);
	if (sb_ok(rc))
		rc = sb_time_format_rfc3339(doc->timestamp_ms, &when);
	if (!sb_ok(rc)) {
		status = sb_cli_fail(cmd);
		goto out;
	}
	if (a->json) {
		if (print_json(doc, a->verify, sb_buf_cstr(&when)) != 0)
			goto out;
	} else if (a->verify) {
		printf("attestation document OK: enclave %s at %s\n", doc->module_id,
		       sb_buf_cstr(&when));
	} else {
		print_text(doc, sb_buf_cstr(&when));
	}
	status = SB_EXIT_OK;
out:
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&raw);
	sb_buf_cleanup(&when);
	return status;
}

/* sealbid attest request: a fresh document from a running enclave. */
static int attest_request(int argc, char **argv)
{
	struct sb_buf nonce = SB_BUF_INIT(512), doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX),
		      b64 = SB_BUF_INIT(4 * SB_ATTEST_DOC_MAX);
	struct sb_wire_client *c = NULL;
	uint32_t cid = 0, port = SB_VSOCK_DEFAULT_PORT;
	const char *out = NULL;
	int status = SB_EXIT_USAGE;

	/* Options come in pairs: argv[i] is the name, argv[i + 1] its value. */
	for (int i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = v != NULL;
		if (ok && strcmp(argv[i], "--cid") == 0)
			ok = sb_ok(sb_parse_u32_str(v, 3, UINT32_MAX - 1, &cid));
		else if (ok && strcmp(argv[i], "--port") == 0)
			ok = sb_ok(sb_parse_u32_str(v, 1, UINT32_MAX - 1, &port));
		else if (ok && strcmp(argv[i], "--nonce") == 0)
			ok = sb_ok(sb_hex_decode(sb_slice_str(v), &nonce));
		else if (ok && strcmp(argv[i], "-o") == 0)
			out = v;
		else
			ok = false;
		if (!ok) {
			(void)sb_cli_usage_error("attest request", "bad argument '%.32s'", argv[i]);
			goto done;
		}
	}
	if (cid == 0) {
		(void)sb_cli_usage_error("attest request", "--cid N is required");
		goto done;
	}
	status = SB_EXIT_FAIL;
	if (!sb_ok(sb_wire_client_connect(cid, port, NULL, &c)) ||
	    !sb_ok(sb_wire_client_call(c, SB_MSG_ATTEST, sb_buf_slice(&nonce), SB_MSG_ATTEST, &doc)))
		goto fail;
	if (out != NULL) {
		if (!sb_ok(sb_file_write_atomic(out, sb_buf_slice(&doc), 0644)))
			goto fail;
	} else {
		if (!sb_ok(sb_base64_encode(sb_buf_slice(&doc), &b64)))
			goto fail;
		printf("%s\n", sb_buf_cstr(&b64));
	}
	status = SB_EXIT_OK;
	goto done;
fail:
	(void)sb_cli_fail("attest request");
done:
	sb_wire_client_free(c);
	sb_buf_cleanup(&nonce);
	sb_buf_cleanup(&doc);
	sb_buf_cleanup(&b64);
	return status;
}

int sb_cmd_attest(int argc, char **argv)
{
	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	if (argc < 2)
		return sb_cli_usage_error("attest", "expected 'verify', 'describe' or 'request'");
	if (strcmp(argv[1], "request") == 0)
		return attest_request(argc - 1, argv + 1);
	struct attest_args a = {0};
	if (strcmp(argv[1], "verify") == 0)
		a.verify = true;
	else if (strcmp(argv[1], "describe") != 0)
		return sb_cli_usage_error("attest", "unknown subcommand '%.32s'", argv[1]);
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	int status = parse_args(argc - 1, argv + 1, &a, &o);
	if (status == SB_EXIT_OK)
		status = run(&a, &o);
	for (size_t i = 0; i < a.nroots; i++)
		sb_buf_cleanup(&a.roots[i]);
	return status;
}
