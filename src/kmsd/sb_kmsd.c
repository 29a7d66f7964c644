#include "kmsd/sb_kmsd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define TARGET_PREFIX "TrentService."

static const struct {
	int code;
	const char *type;
	unsigned status;
} error_types[] = {
	{SB_ERR_KMS_VALIDATION, "ValidationException", 400},
	{SB_ERR_KMS_NOT_FOUND, "NotFoundException", 400},
	{SB_ERR_KMS_ALREADY_EXISTS, "AlreadyExistsException", 400},
	{SB_ERR_KMS_ACCESS_DENIED, "AccessDeniedException", 400},
	{SB_ERR_KMS_INVALID_CIPHERTEXT, "InvalidCiphertextException", 400},
	{SB_ERR_KMS_INCORRECT_KEY, "IncorrectKeyException", 400},
	{SB_ERR_KMS_MALFORMED_POLICY, "MalformedPolicyDocumentException", 400},
	{SB_ERR_KMS_UNKNOWN_OPERATION, "UnknownOperationException", 400},
	{SB_ERR_KMS_MISSING_AUTH, "MissingAuthenticationTokenException", 400},
	{SB_ERR_KMS_INCOMPLETE_SIGNATURE, "IncompleteSignatureException", 400},
	{SB_ERR_KMS_INVALID_SIGNATURE, "InvalidSignatureException", 400},
	{SB_ERR_KMS_UNRECOGNIZED_CLIENT, "UnrecognizedClientException", 400},
	{SB_ERR_KMS_EXPIRED_TOKEN, "ExpiredTokenException", 400},
	{SB_ERR_KMS_BAD_ATTESTATION, "ValidationException", 400},
	{SB_ERR_KMS_INVALID_STATE, "KMSInvalidStateException", 400},
	{SB_ERR_BAD_JSON, "SerializationException", 400},
	{SB_ERR_BAD_UTF8, "SerializationException", 400},
	{SB_ERR_TOO_LARGE, "ValidationException", 413},
	{SB_ERR_KMS_DISABLED, "DisabledException", 400},
	/* KMS's Smithy model: DryRunOperationException "smithy.api#httpError": 412. */
	{SB_ERR_KMS_DRY_RUN, "DryRunOperationException", 412},
	{SB_ERR_KMS_INVALID_MARKER, "InvalidMarkerException", 400},
	{SB_ERR_KMS_INVALID_KEY_USAGE, "InvalidKeyUsageException", 400},
	{SB_ERR_KMS_UNSUPPORTED, "UnsupportedOperationException", 400},
	{SB_ERR_KMS_TAG, "TagException", 400},
	{SB_ERR_KMS_LIMIT_EXCEEDED, "LimitExceededException", 400},
	{SB_ERR_KMS_INVALID_GRANT_ID, "InvalidGrantIdException", 400},
	{SB_ERR_KMS_INVALID_GRANT_TOKEN, "InvalidGrantTokenException", 400},
};

const char *sb_kmsd_error_type(int code, unsigned *status)
{
	for (size_t i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++) {
		if (error_types[i].code == code) {
			*status = error_types[i].status;
			return error_types[i].type;
		}
	}
	*status = 500;
	return "KMSInternalException";
}

SB_RESULT sb_kmsd_new(const struct sb_kmsd_config *cfg, const char *data_dir,
		      struct sb_kmsd **out)
{
	struct sb_kmsd *k = NULL;
	struct sb_verify_opts opts;
	bool trusted = false;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(data_dir);
	SB_ENSURE_REF(out);
	SB_GUARD(sb_calloc(1, sizeof(*k), (void **)&k));
	k->cfg = cfg;
	SB_GUARD_GOTO(rc, sb_kmsd_recipient_opts(cfg, &opts, &trusted), out);
	if (trusted)
		SB_GUARD_GOTO(rc,
			      sb_kmsd_attest_cache_new(&opts, SB_KMSD_ATTEST_CACHE_CAPACITY,
						       SB_KMSD_ATTEST_MAX_AGE_MS, &k->attest),
			      out);
	SB_GUARD_GOTO(rc, sb_kstore_open(data_dir, &k->store), out);
	*out = k;
	k = NULL;
out:
	sb_kmsd_free(k);
	return rc;
}

void sb_kmsd_free(struct sb_kmsd *k)
{
	if (k == NULL)
		return;
	sb_kstore_free(k->store);
	sb_kmsd_attest_cache_free(k->attest);
	free(k);
}

void sb_kmsd_attest_stats(struct sb_kmsd *k, struct sb_kmsd_attest_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (k->attest != NULL)
		sb_kmsd_attest_cache_stats(k->attest, out);
}

void sb_kmsd_response_init(struct sb_kmsd_response *resp)
{
	resp->status = 500;
	sb_buf_init_secret(&resp->body, SB_KMSD_MAX_RESPONSE);
}

void sb_kmsd_response_cleanup(struct sb_kmsd_response *resp)
{
	if (resp != NULL)
		sb_buf_cleanup(&resp->body);
}

static bool header(const struct sb_sigv4_request *h, const char *name, struct sb_slice *out)
{
	for (size_t i = 0; i < h->n_headers; i++) {
		struct sb_slice n = h->headers[i].name;
		if (n.len == strlen(name) && strncasecmp((const char *)n.ptr, name, n.len) == 0) {
			*out = h->headers[i].value;
			return true;
		}
	}
	return false;
}

static SB_RESULT authenticate(const struct sb_kmsd *k, const struct sb_kmsd_request *req,
			      struct sb_kmsd_caller *caller)
{
	struct sb_sigv4_policy pol = {
		.region = k->cfg->region,
		.service = "kms",
		.now_ms = req->now_ms,
		.creds = k->cfg->creds,
		.n_creds = k->cfg->n_principals,
	};
	size_t idx;

	SB_GUARD(sb_sigv4_verify(&req->http, &pol, &idx));
	/* Temporary credentials past their expiration, as AWS answers them. */
	SB_ENSURE_MSG(k->cfg->principals[idx].expiration_ms == 0 ||
			      req->now_ms < k->cfg->principals[idx].expiration_ms,
		      SB_ERR_KMS_EXPIRED_TOKEN,
		      "The security token included in the request is expired");
	caller->principal = &k->cfg->principals[idx];
	caller->now_ms = req->now_ms;
	return SB_OK_RESULT;
}

static SB_RESULT find_op(const struct sb_kmsd_request *req, const struct sb_kmsd_op **out)
{
	struct sb_slice target;
	char name[64];
	size_t plen = sizeof(TARGET_PREFIX) - 1;

	SB_ENSURE_MSG(header(&req->http, "x-amz-target", &target), SB_ERR_KMS_UNKNOWN_OPERATION,
		      "missing X-Amz-Target");
	SB_ENSURE_MSG(target.len > plen && target.len - plen < sizeof(name) &&
			      memcmp(target.ptr, TARGET_PREFIX, plen) == 0,
		      SB_ERR_KMS_UNKNOWN_OPERATION, "unknown X-Amz-Target");
	memcpy(name, target.ptr + plen, target.len - plen);
	name[target.len - plen] = '\0';
	*out = sb_kmsd_op_find(name);
	SB_ENSURE_MSG(*out != NULL, SB_ERR_KMS_UNKNOWN_OPERATION, "unknown operation");
	return SB_OK_RESULT;
}

struct outcome {
	const char *op;
	const char *principal;
	const char *access_key;
	char key_id[SB_KBLOB_KEY_ID_LEN + 1];
};

static SB_RESULT handle_inner(struct sb_kmsd *k, const struct sb_kmsd_request *req, json_t *resp,
			      struct outcome *o)
{
	const struct sb_kmsd_op *op = NULL;
	struct sb_kmsd_caller caller;
	json_t *body = NULL;
	sb_result rc;

	SB_ENSURE_MSG(sb_slice_eq_str(req->http.method, "POST") &&
			      (sb_slice_eq_str(req->http.path, "/") || req->http.path.len == 0),
		      SB_ERR_KMS_UNKNOWN_OPERATION, "only POST / is served");
	SB_ENSURE_MSG(req->http.payload.len <= SB_KMSD_MAX_BODY, SB_ERR_TOO_LARGE,
		      "request body exceeds %d bytes", SB_KMSD_MAX_BODY);
	SB_GUARD(authenticate(k, req, &caller));
	o->principal = caller.principal->arn;
	o->access_key = caller.principal->access_key_id;
	SB_GUARD(find_op(req, &op));
	o->op = op->name;
	/* "{}" is the smallest request; an empty body is taken as that. */
	if (req->http.payload.len == 0)
		body = json_object();
	else
		SB_GUARD(sb_kjson_parse(req->http.payload, SB_KJSON_MAX_DEPTH, &body));
	SB_ENSURE(body != NULL, SB_ERR_NOMEM);
	if (!json_is_object(body))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_JSON, out, "request must be a JSON object");
	rc = op->fn(k, &caller, body, resp, o->key_id);
out:
	json_decref(body);
	return rc;
}

/* Plaintext fields of the response are wiped before jansson frees them. */
static void wipe_response(json_t *resp)
{
	static const char *const secret[] = {"Plaintext"};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		json_t *s = json_object_get(resp, secret[i]);
		if (json_is_string(s))
			sb_wipe((char *)json_string_value(s), json_string_length(s));
	}
}

void sb_kmsd_error_response(int code, struct sb_kmsd_response *resp)
{
	unsigned status;
	const char *type = sb_kmsd_error_type(code, &status);
	const char *detail = sb_error_detail();
	const char *msg = detail[0] != '\0' ? detail : sb_error_message(code);
	json_t *e;

	/* Internal details stay in the log; the client gets the shape only. */
	if (status >= 500)
		msg = "An internal error occurred.";
	e = json_pack("{s:s, s:s}", "__type", type, "message", msg);
	resp->status = status;
	sb_buf_reset(&resp->body);
	if (e == NULL || !sb_ok(sb_kjson_dump(e, &resp->body))) {
		sb_buf_reset(&resp->body);
		/* Too small to fail, but a failure would only leave the body empty. */
		if (!sb_ok(sb_buf_append_str(&resp->body, "{\"__type\":\"KMSInternalException\","
							  "\"message\":\"\"}")))
			sb_buf_reset(&resp->body);
		resp->status = 500;
	}
	json_decref(e);
}

void sb_kmsd_handle(struct sb_kmsd *k, const struct sb_kmsd_request *req,
		    struct sb_kmsd_response *resp)
{
	struct outcome o = {.op = "-", .principal = "-", .access_key = "-", .key_id = "-"};
	json_t *out = json_object();
	sb_result rc;

	sb_error_clear();
	sb_buf_reset(&resp->body);
	rc = out != NULL ? handle_inner(k, req, out, &o) : sb_error_record(SB_ERR_NOMEM, SB_HERE);
	if (sb_ok(rc))
		rc = sb_kjson_dump(out, &resp->body);
	if (sb_ok(rc)) {
		resp->status = 200;
		sb_log_info("op=%s key=%s principal=%s outcome=ok access_key=%s", o.op, o.key_id,
			    o.principal, o.access_key);
	} else {
		unsigned status;
		const char *type = sb_kmsd_error_type(rc.code, &status);
		sb_log_info("op=%s key=%s principal=%s outcome=%s access_key=%s", o.op, o.key_id,
			    o.principal, type, o.access_key);
		if (status >= 500)
			sb_log_error("op=%s failed at %s: %s", o.op, sb_error_where(),
				     sb_error_describe());
		sb_kmsd_error_response(rc.code, resp);
	}
	if (out != NULL) {
		wipe_response(out);
		json_decref(out);
	}
}
