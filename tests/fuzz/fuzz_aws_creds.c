/*
 * Fuzz target for the credential sources of src/aws/sb_creds.c beyond the
 * single-response parsers that fuzz_aws_response covers: the shared
 * credentials/config files as a whole (profile resolution: static keys,
 * role_arn with source_profile chains and credential_source, the STS
 * AssumeRole response that follows) and the IMDSv2 exchange (token, role
 * listing, credentials JSON, the 401 retry).
 *
 * The file is compiled in (for its static helpers) with sb_http_send
 * replaced by a fake transport that answers each request with the input's
 * next response: no network. Input: a mode byte, then segments separated by
 * "\n---\n":
 *   mode even: a profile byte, then [credentials file] SEP [config file]
 *              SEP response SEP response ...
 *   mode odd:  response SEP response ... (the IMDS calls in order)
 * A response is a status byte (an index into statuses[]) and the body.
 * Properties beyond "no crash": credentials reported found are well formed,
 * and resolution makes a bounded number of requests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sb_http.h"

static sb_result fuzz_http_send(struct sb_http_client *c, const struct sb_http_request *req,
				struct sb_http_response *resp);
#define sb_http_send fuzz_http_send
#include "aws/sb_creds.c"
#undef sb_http_send

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SEP       "\n---\n"
#define MAX_CALLS 16

static const long statuses[] = {200, 200, 200, 401, 404, 403, 500, 429, 0};

static struct {
	struct sb_slice rest; /* responses not yet used */
	unsigned calls;
	struct sb_http_client *http;
} g;

static struct sb_slice next_segment(struct sb_slice *in)
{
	struct sb_slice seg = *in;

	for (size_t i = 0; i + 5 <= in->len; i++) {
		if (memcmp(in->ptr + i, SEP, 5) == 0) {
			seg.len = i;
			in->ptr += i + 5;
			in->len -= i + 5;
			return seg;
		}
	}
	in->ptr += in->len;
	in->len = 0;
	return seg;
}

/* The transport: the input's next response, or "connection refused". */
static sb_result fuzz_http_send(struct sb_http_client *c, const struct sb_http_request *req,
				struct sb_http_response *resp)
{
	(void)c;
	if (++g.calls > MAX_CALLS)
		abort(); /* a retry loop that never ends */
	resp->status = 0;
	memset(&resp->aws_error, 0, sizeof(resp->aws_error));
	if (g.rest.len == 0 && g.rest.ptr == NULL)
		SB_BAIL_MSG(SB_ERR_HTTP_CONNECT, "%s: connection refused", req->op);
	struct sb_slice r = next_segment(&g.rest);
	if (g.rest.len == 0)
		g.rest.ptr = NULL;
	long status = r.len > 0 ? statuses[r.ptr[0] % (sizeof(statuses) / sizeof(statuses[0]))] : 0;
	struct sb_slice body = r.len > 0 ? SB_SLICE(r.ptr + 1, r.len - 1) : r;

	resp->status = status;
	if (status == 0)
		SB_BAIL_MSG(SB_ERR_HTTP_CONNECT, "%s: connection refused", req->op);
	if (status >= 300) {
		sb_aws_error_parse(req->error_format, body, &resp->aws_error);
		SB_BAIL_MSG(sb_aws_error_classify(resp->aws_error.code, status), "%s: HTTP %ld",
			    req->op, status);
	}
	if (req->out != NULL)
		SB_GUARD(sb_buf_append(req->out, body.ptr, body.len));
	return SB_OK_RESULT;
}

static void setup(void)
{
	static bool ready;
	struct sb_http_config cfg;

	if (ready)
		return;
	sb_log_set_level(SB_LOG_ERROR);
	/* credential_source Environment finds these; nothing is ever sent. */
	setenv("AWS_ACCESS_KEY_ID", "AKIAFUZZENVIRONMENT1", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "fuzz/environment/secret/not+a+real+key00", 1);
	unsetenv("AWS_SESSION_TOKEN");
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9", 1);
	unsetenv("AWS_ENDPOINT_URL_STS");
	unsetenv("AWS_ENDPOINT_URL");
	sb_http_config_default(&cfg);
	if (!sb_ok(sb_aws_json_init()) || !sb_ok(sb_http_client_new(&cfg, &g.http)))
		abort();
	ready = true;
}

static void check_found(const struct sb_aws_creds *c)
{
	size_t n = strlen(c->access_key_id);

	if (n < 16 || n > SB_AWS_KEY_ID_MAX || c->secret.len == 0)
		abort();
}

static void fuzz_profile(uint8_t which, struct sb_slice in)
{
	static const char *const names[] = {"default", "dev", "role", "chain", "a"};
	struct profile_files *f = calloc(1, sizeof(*f));
	struct sb_aws_creds out;
	bool found = false;

	if (f == NULL)
		return;
	sb_ini_init(&f->cred);
	sb_ini_init(&f->conf);
	struct sb_slice cred = next_segment(&in), conf = next_segment(&in);
	f->have_cred = sb_ok(sb_ini_parse(&f->cred, cred, "credentials"));
	f->have_conf = sb_ok(sb_ini_parse(&f->conf, conf, "config"));
	sb_error_clear();
	g.rest = in.len > 0 ? in : SB_SLICE(NULL, 0);
	sb_aws_creds_init(&out);
	if (sb_ok(prof_resolve(f, names[which % 5], 0, g.http, &out, &found)) && found)
		check_found(&out);
	sb_aws_creds_cleanup(&out);
	files_cleanup(f);
	free(f);
}

static void fuzz_imds(struct sb_slice in)
{
	struct sb_imds imds;
	struct sb_aws_creds out;
	bool found = false;

	if (!sb_ok(sb_imds_init(&imds)))
		abort();
	g.rest = in.len > 0 ? in : SB_SLICE(NULL, 0);
	sb_aws_creds_init(&out);
	if (sb_ok(sb_creds_from_imds(&imds, &out, &found)) && found)
		check_found(&out);
	/* A second call reuses the token unless it was refused. */
	sb_error_clear();
	if (sb_ok(sb_creds_from_imds(&imds, &out, &found)) && found)
		check_found(&out);
	sb_aws_creds_cleanup(&out);
	sb_imds_cleanup(&imds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	setup();
	g.calls = 0;
	if ((data[0] & 1) == 0)
		fuzz_profile(data[1], SB_SLICE(data + 2, size - 2));
	else
		fuzz_imds(SB_SLICE(data + 1, size - 1));
	sb_error_clear();
	return 0;
}
