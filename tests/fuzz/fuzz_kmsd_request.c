/*
 * Fuzz target for sealbid-kms input handling. The first byte picks what the
 * rest is fed to:
 *   0: a key policy (sb_policy_parse, then an evaluation);
 *   1: an Authorization header and a request target (SigV4 parsing and the
 *      canonical request);
 *   2: a KMS request body, signed and handled in-process end to end; the
 *      second byte picks the operation;
 *   3: a configuration file (sb_kmsd_config_parse).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_log.h"
#include "common/sb_time.h"
#include "kmsd/sb_kmsd.h"
#include "kmsd/sb_policy.h"
#include "kmsd/sb_sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ops[] = {"CreateKey",      "DescribeKey",     "Encrypt",
				  "Decrypt",        "GenerateDataKey", "GenerateRandom",
				  "GetKeyPolicy",   "PutKeyPolicy",    "CreateAlias",
				  "ListKeys",       "ListAliases",     "Nope",
				  /* Appended: the indices above are the corpus's. */
				  "CreateGrant",    "ListGrants",      "RetireGrant",
				  "RevokeGrant",    "ReEncrypt",       "TagResource",
				  "UntagResource",  "ListResourceTags", "ScheduleKeyDeletion",
				  "CancelKeyDeletion", "EnableKey",    "DisableKey",
				  "UpdateAlias",    "DeleteAlias",     "UpdateKeyDescription",
				  "ListKeyPolicies", "GenerateDataKeyWithoutPlaintext"};

static struct {
	struct sb_kmsd_config cfg;
	struct sb_kmsd *kmsd;
	bool ready;
} g;

static void fuzz_policy(struct sb_slice in)
{
	struct sb_policy *p = NULL;
	const char *vals[1] = {"v"};
	struct sb_policy_ctx ctx[2] = {{"aws:PrincipalArn", vals, 1},
				       {"kms:EncryptionContextKeys", vals, 1}};
	struct sb_policy_request req = {"arn:aws:iam::111122223333:user/a", "111122223333",
					"kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/x",
					ctx, 2};

	if (sb_ok(sb_policy_parse(in, &p)))
		(void)sb_policy_evaluate(p, &req);
	sb_policy_free(p);
}

static void fuzz_sigv4(struct sb_slice in)
{
	struct sb_sigv4_auth auth;
	struct sb_buf creq = SB_BUF_INIT(SB_SIGV4_MAX_CANON);
	struct sb_sigv4_header h[2] = {{SB_SLICE_LIT("Host"), SB_SLICE_LIT("h")},
				       {SB_SLICE_LIT("X-Amz-Date"), in}};
	struct sb_sigv4_request req = {SB_SLICE_LIT("POST"), in, in, h, 2, in};

	sb_result r;

	/* Results are not checked: the target only looks for crashes. */
	if (sb_ok(sb_sigv4_parse_auth(in, &auth)))
		r = sb_sigv4_canonical_request(&req, auth.signed_headers, &creq);
	sb_buf_reset(&creq);
	r = sb_sigv4_canonical_request(&req, SB_SLICE_LIT("host;x-amz-date"), &creq);
	(void)r;
	sb_buf_cleanup(&creq);
}

static bool setup(void)
{
	char dir[] = "/tmp/sb_fuzz_kmsd_XXXXXX";

	if (g.ready)
		return true;
	sb_log_set_level(SB_LOG_ERROR);
	sb_kmsd_config_init(&g.cfg);
	if (mkdtemp(dir) == NULL || !sb_ok(sb_kmsd_config_default(&g.cfg)) ||
	    !sb_ok(sb_kmsd_new(&g.cfg, dir, &g.kmsd)))
		abort();
	g.ready = true;
	return true;
}

static void fuzz_request(uint8_t op, struct sb_slice body)
{
	char date[17], target[64];
	uint64_t now = sb_time_now_ms();
	struct sb_buf authz = SB_BUF_INIT(1024);
	struct sb_sigv4_header h[4] = {{SB_SLICE_LIT("Host"), SB_SLICE_LIT("kms")},
				       {SB_SLICE_LIT("X-Amz-Date"), SB_SLICE(NULL, 0)},
				       {SB_SLICE_LIT("X-Amz-Target"), SB_SLICE(NULL, 0)},
				       {SB_SLICE_LIT("Authorization"), SB_SLICE(NULL, 0)}};
	struct sb_sigv4_credential cred = {SB_KMSD_DEV_ACCESS_KEY, SB_KMSD_DEV_SECRET, NULL};
	struct sb_kmsd_request req = {.now_ms = now};
	struct sb_kmsd_response resp;

	setup();
	if (!sb_ok(sb_sigv4_format_date(now, date)))
		abort();
	(void)snprintf(target, sizeof(target), "TrentService.%s",
		       ops[op % (sizeof(ops) / sizeof(ops[0]))]);
	h[1].value = sb_slice_str(date);
	h[2].value = sb_slice_str(target);
	req.http = (struct sb_sigv4_request){SB_SLICE_LIT("POST"), SB_SLICE_LIT("/"),
					     SB_SLICE(NULL, 0), h, 3, body};
	if (!sb_ok(sb_sigv4_sign(&req.http, &cred, "us-east-1", "kms",
				 SB_SLICE_LIT("host;x-amz-date;x-amz-target"), &authz)))
		abort();
	h[3].value = sb_buf_slice(&authz);
	req.http.n_headers = 4;
	sb_kmsd_response_init(&resp);
	sb_kmsd_handle(g.kmsd, &req, &resp);
	/* Every answer is a status and a JSON object. */
	if (resp.status < 200 || resp.status > 599 || resp.body.len == 0 || resp.body.data[0] != '{')
		abort();
	sb_kmsd_response_cleanup(&resp);
	sb_buf_cleanup(&authz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_kmsd_config cfg;

	if (size < 2)
		return 0;
	struct sb_slice rest = SB_SLICE(data + 2, size - 2);
	switch (data[0] % 4) {
	case 0:
		fuzz_policy(rest);
		break;
	case 1:
		fuzz_sigv4(rest);
		break;
	case 2:
		fuzz_request(data[1], rest);
		break;
	default:
		sb_kmsd_config_init(&cfg);
		if (!sb_ok(sb_kmsd_config_parse(rest, "/nonexistent", &cfg)))
			sb_error_clear();
		sb_kmsd_config_cleanup(&cfg);
		break;
	}
	return 0;
}
