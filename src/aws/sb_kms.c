#include "aws/sb_kms.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"

#define KMS_CONTENT_TYPE "application/x-amz-json-1.1"

struct sb_kms {
	struct sb_http_config http_cfg;
	struct sb_http_client *http;
	struct sb_http_multi *multi;
	uint32_t multi_parallel;
	struct sb_creds_provider *creds;
	char region[SB_AWS_REGION_MAX + 1];
	char url[SB_AWS_URL_MAX + 2]; /* endpoint + "/" */
};

void sb_kms_config_default(struct sb_kms_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	sb_http_config_default(&cfg->http);
}

void sb_kms_result_init(struct sb_kms_result *r)
{
	memset(r, 0, sizeof(*r));
	sb_buf_init_secret(&r->plaintext, SB_KMS_PLAINTEXT_MAX);
	sb_buf_init(&r->ciphertext_blob, SB_KMS_CIPHERTEXT_MAX);
	sb_buf_init(&r->ciphertext_for_recipient, SB_KMS_RECIPIENT_MAX);
}

void sb_kms_result_cleanup(struct sb_kms_result *r)
{
	if (r == NULL)
		return;
	sb_buf_cleanup(&r->plaintext);
	sb_buf_cleanup(&r->ciphertext_blob);
	sb_buf_cleanup(&r->ciphertext_for_recipient);
	sb_kms_result_init(r);
}

static void result_reset(struct sb_kms_result *r)
{
	r->key_id[0] = '\0';
	sb_buf_reset(&r->plaintext);
	sb_buf_reset(&r->ciphertext_blob);
	sb_buf_reset(&r->ciphertext_for_recipient);
	r->error = SB_OK;
	r->detail[0] = '\0';
}

SB_RESULT sb_kms_new(const struct sb_kms_config *cfg, struct sb_kms **out)
{
	struct sb_kms *k;
	struct sb_buf url = SB_BUF_INIT(SB_AWS_URL_MAX);
	bool custom = false;
	sb_result rc;

	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(cfg->creds != NULL, SB_ERR_AWS_NO_CREDENTIALS, "KMS: no credentials provider");
	SB_GUARD(sb_aws_json_init());
	k = calloc(1, sizeof(*k));
	SB_ENSURE(k != NULL, SB_ERR_NOMEM);
	k->http_cfg = cfg->http;
	k->creds = cfg->creds;
	if (cfg->region != NULL) {
		if (!sb_aws_region_valid(cfg->region))
			SB_FAIL_GOTO_MSG(rc, SB_ERR_INVALID_ARG, fail, "KMS: bad region");
		memcpy(k->region, cfg->region, strlen(cfg->region) + 1);
	} else {
		SB_GUARD_GOTO(rc, sb_aws_region(k->region), fail);
	}
	if (cfg->endpoint != NULL) {
		SB_GUARD_GOTO(rc, sb_aws_endpoint_check(cfg->endpoint), fail);
		SB_GUARD_GOTO(rc, sb_buf_append_str(&url, cfg->endpoint), fail);
		while (url.len > 0 && url.data[url.len - 1] == '/')
			url.len--;
	} else {
		SB_GUARD_GOTO(rc, sb_aws_endpoint("kms", k->region, &url, &custom), fail);
	}
	(void)snprintf(k->url, sizeof(k->url), "%.*s/", (int)url.len, (const char *)url.data);
	SB_GUARD_GOTO(rc, sb_http_client_new(&k->http_cfg, &k->http), fail);
	sb_buf_cleanup(&url);
	*out = k;
	return SB_OK_RESULT;
fail:
	sb_buf_cleanup(&url);
	sb_kms_free(k);
	return rc;
}

void sb_kms_free(struct sb_kms *k)
{
	if (k == NULL)
		return;
	sb_http_client_free(k->http);
	sb_http_multi_free(k->multi);
	free(k);
}

const char *sb_kms_endpoint(const struct sb_kms *k)
{
	return k->url;
}

/* ---- request encoding -------------------------------------------------- */

static SB_RESULT json_put(json_t *obj, const char *key, json_t *v)
{
	SB_ENSURE(v != NULL, SB_ERR_NOMEM);
	SB_ENSURE(json_object_set_new(obj, key, v) == 0, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

static SB_RESULT json_put_b64(json_t *obj, const char *key, struct sb_slice bytes)
{
	/* Secret-marked: for Plaintext the base64 text is as sensitive as the bytes. */
	struct sb_buf b64 = SB_BUF_INIT_SECRET(SB_KMS_ATTESTATION_MAX * 2);
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_base64_encode(bytes, &b64), out);
	rc = json_put(obj, key, json_stringn((const char *)b64.data, b64.len));
out:
	sb_buf_cleanup(&b64);
	return rc;
}

static SB_RESULT json_put_context(json_t *obj, const struct sb_kms_context *ctx, size_t n)
{
	json_t *c;

	if (n == 0)
		return SB_OK_RESULT;
	SB_ENSURE_REF(ctx);
	SB_ENSURE_MSG(n <= SB_KMS_CONTEXT_MAX, SB_ERR_TOO_LARGE, "encryption context too large");
	c = json_object();
	SB_ENSURE(c != NULL, SB_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		if (ctx[i].key == NULL || ctx[i].value == NULL || ctx[i].key[0] == '\0' ||
		    json_object_get(c, ctx[i].key) != NULL) {
			json_decref(c);
			SB_BAIL_MSG(SB_ERR_INVALID_ARG, "encryption context: empty or duplicate key");
		}
		json_t *v = json_string(ctx[i].value);
		if (v == NULL || json_object_set_new(c, ctx[i].key, v) != 0) {
			json_decref(c);
			SB_BAIL_MSG(SB_ERR_INVALID_ARG, "encryption context: text must be UTF-8");
		}
	}
	return json_put(obj, "EncryptionContext", c);
}

/* "Recipient": {"AttestationDocument": b64, "KeyEncryptionAlgorithm": "RSAES_OAEP_SHA_256"} */
static SB_RESULT json_put_recipient(json_t *obj, struct sb_slice attestation)
{
	json_t *r;
	sb_result rc;

	if (attestation.len == 0)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(attestation.len <= SB_KMS_ATTESTATION_MAX, SB_ERR_TOO_LARGE,
		      "attestation document too large");
	r = json_object();
	SB_ENSURE(r != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, json_put_b64(r, "AttestationDocument", attestation), fail);
	SB_GUARD_GOTO(rc, json_put(r, "KeyEncryptionAlgorithm", json_string("RSAES_OAEP_SHA_256")),
		      fail);
	return json_put(obj, "Recipient", r);
fail:
	json_decref(r);
	return rc;
}

static SB_RESULT json_put_key_id(json_t *obj, const char *key_id, bool required)
{
	if (key_id == NULL || key_id[0] == '\0') {
		SB_ENSURE_MSG(!required, SB_ERR_INVALID_ARG, "KMS: a KeyId is required");
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(strlen(key_id) <= SB_KMS_KEY_ID_MAX, SB_ERR_INVALID_ARG, "KeyId too long");
	return json_put(obj, "KeyId", json_string(key_id));
}

/* Serialises obj (consumed) into out, wiping jansson's temporary text. */
static SB_RESULT json_finish(json_t *obj, struct sb_buf *out)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
	sb_result rc;

	json_decref(obj);
	SB_ENSURE(s != NULL, SB_ERR_NOMEM);
	rc = sb_buf_append_str(out, s);
	sb_aws_json_free(s);
	return rc;
}

SB_RESULT sb_kms_encode_decrypt(const struct sb_kms_decrypt_in *in, struct sb_buf *out)
{
	json_t *o;
	sb_result rc;

	SB_ENSURE_REF(in);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in->ciphertext.len > 0 && in->ciphertext.len <= SB_KMS_CIPHERTEXT_MAX,
		      SB_ERR_INVALID_ARG, "CiphertextBlob must be 1..%d bytes", SB_KMS_CIPHERTEXT_MAX);
	SB_GUARD(sb_aws_json_init());
	o = json_object();
	SB_ENSURE(o != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, json_put_b64(o, "CiphertextBlob", in->ciphertext), fail);
	SB_GUARD_GOTO(rc, json_put_key_id(o, in->key_id, false), fail);
	SB_GUARD_GOTO(rc, json_put_context(o, in->context, in->n_context), fail);
	SB_GUARD_GOTO(rc, json_put_recipient(o, in->attestation), fail);
	return json_finish(o, out);
fail:
	json_decref(o);
	return rc;
}

static SB_RESULT encode_encrypt(const char *key_id, struct sb_slice plaintext,
				const struct sb_kms_context *ctx, size_t n, struct sb_buf *out)
{
	json_t *o;
	sb_result rc;

	SB_ENSURE_MSG(plaintext.len > 0 && plaintext.len <= SB_KMS_PLAINTEXT_MAX,
		      SB_ERR_INVALID_ARG, "Plaintext must be 1..%d bytes", SB_KMS_PLAINTEXT_MAX);
	o = json_object();
	SB_ENSURE(o != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, json_put_key_id(o, key_id, true), fail);
	SB_GUARD_GOTO(rc, json_put_b64(o, "Plaintext", plaintext), fail);
	SB_GUARD_GOTO(rc, json_put_context(o, ctx, n), fail);
	return json_finish(o, out);
fail:
	json_decref(o);
	return rc;
}

static SB_RESULT encode_gdk(const struct sb_kms_gdk_in *in, struct sb_buf *out)
{
	json_t *o;
	sb_result rc;

	/* "You must specify either the KeySpec or the NumberOfBytes parameter (but not both)". */
	SB_ENSURE_MSG((in->key_spec != NULL) != (in->number_of_bytes != 0), SB_ERR_INVALID_ARG,
		      "GenerateDataKey: give KeySpec or NumberOfBytes, not both");
	SB_ENSURE_MSG(in->number_of_bytes <= SB_KMS_RANDOM_MAX, SB_ERR_INVALID_ARG,
		      "NumberOfBytes must be 1..%d", SB_KMS_RANDOM_MAX);
	o = json_object();
	SB_ENSURE(o != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, json_put_key_id(o, in->key_id, true), fail);
	if (in->key_spec != NULL)
		SB_GUARD_GOTO(rc, json_put(o, "KeySpec", json_string(in->key_spec)), fail);
	else
		SB_GUARD_GOTO(rc, json_put(o, "NumberOfBytes", json_integer(in->number_of_bytes)),
			      fail);
	SB_GUARD_GOTO(rc, json_put_context(o, in->context, in->n_context), fail);
	SB_GUARD_GOTO(rc, json_put_recipient(o, in->attestation), fail);
	return json_finish(o, out);
fail:
	json_decref(o);
	return rc;
}

static SB_RESULT encode_random(uint32_t n, struct sb_slice attestation, struct sb_buf *out)
{
	json_t *o;
	sb_result rc;

	SB_ENSURE_MSG(n >= 1 && n <= SB_KMS_RANDOM_MAX, SB_ERR_INVALID_ARG,
		      "NumberOfBytes must be 1..%d", SB_KMS_RANDOM_MAX);
	o = json_object();
	SB_ENSURE(o != NULL, SB_ERR_NOMEM);
	SB_GUARD_GOTO(rc, json_put(o, "NumberOfBytes", json_integer(n)), fail);
	SB_GUARD_GOTO(rc, json_put_recipient(o, attestation), fail);
	return json_finish(o, out);
fail:
	json_decref(o);
	return rc;
}

/* ---- response parsing -------------------------------------------------- */

enum field_rule {
	FIELD_REQUIRED,     /* present, a non-empty string */
	FIELD_OPTIONAL,     /* absent, null, or a string */
	FIELD_ABSENT_EMPTY, /* absent, null or "" (Plaintext with a Recipient) */
};

static const char *op_name(enum sb_kms_op op)
{
	switch (op) {
	case SB_KMS_OP_DECRYPT:
		return "Decrypt";
	case SB_KMS_OP_ENCRYPT:
		return "Encrypt";
	case SB_KMS_OP_GENERATE_DATA_KEY:
		return "GenerateDataKey";
	case SB_KMS_OP_GENERATE_RANDOM:
		return "GenerateRandom";
	default:
		return "?";
	}
}

static SB_RESULT get_string(json_t *root, const char *name, enum field_rule rule, const char *op,
			    struct sb_slice *out)
{
	json_t *v = json_object_get(root, name);

	*out = SB_SLICE(NULL, 0);
	if (v == NULL || json_is_null(v)) {
		SB_ENSURE_MSG(rule != FIELD_REQUIRED, SB_ERR_AWS_BAD_RESPONSE,
			      "KMS %s: response has no %s", op, name);
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(json_is_string(v), SB_ERR_AWS_BAD_RESPONSE, "KMS %s: %s is not a string", op,
		      name);
	*out = SB_SLICE(json_string_value(v), json_string_length(v));
	SB_ENSURE_MSG(rule != FIELD_REQUIRED || out->len > 0, SB_ERR_AWS_BAD_RESPONSE,
		      "KMS %s: %s is empty", op, name);
	/*
	 * "If you use the Recipient parameter ... the Plaintext field in the
	 * response is null or empty." Anything else is refused, not ignored.
	 */
	SB_ENSURE_MSG(rule != FIELD_ABSENT_EMPTY || out->len == 0, SB_ERR_AWS_BAD_RESPONSE,
		      "KMS %s: unexpected %s in the response", op, name);
	return SB_OK_RESULT;
}

static SB_RESULT get_b64(json_t *root, const char *name, enum field_rule rule, const char *op,
			 struct sb_buf *out)
{
	struct sb_slice s;
	sb_result rc;

	SB_GUARD(get_string(root, name, rule, op, &s));
	if (s.len == 0)
		return SB_OK_RESULT;
	rc = sb_base64_decode(s, out);
	if (!sb_ok(rc))
		sb_error_context("KMS %s: %s", op, name);
	return rc;
}

static SB_RESULT get_key_id(json_t *root, enum field_rule rule, const char *op,
			    char out[SB_KMS_KEY_ID_MAX + 1])
{
	struct sb_slice s;

	SB_GUARD(get_string(root, "KeyId", rule, op, &s));
	SB_ENSURE_MSG(s.len <= SB_KMS_KEY_ID_MAX, SB_ERR_AWS_BAD_RESPONSE, "KMS %s: KeyId too long",
		      op);
	for (size_t i = 0; i < s.len; i++)
		SB_ENSURE_MSG(s.ptr[i] > 0x20 && s.ptr[i] < 0x7f, SB_ERR_AWS_BAD_RESPONSE,
			      "KMS %s: KeyId has invalid characters", op);
	if (s.len > 0)
		memcpy(out, s.ptr, s.len);
	out[s.len] = '\0';
	return SB_OK_RESULT;
}

static SB_RESULT parse_fields(enum sb_kms_op op, json_t *root, bool recipient,
			      struct sb_kms_result *out)
{
	const char *name = op_name(op);
	enum field_rule plain = recipient ? FIELD_ABSENT_EMPTY : FIELD_REQUIRED;
	enum field_rule cfr = recipient ? FIELD_REQUIRED : FIELD_ABSENT_EMPTY;
	struct sb_slice alg;

	SB_GUARD(get_string(root, "EncryptionAlgorithm", FIELD_OPTIONAL, name, &alg));
	switch (op) {
	case SB_KMS_OP_DECRYPT:
		SB_GUARD(get_key_id(root, FIELD_REQUIRED, name, out->key_id));
		SB_GUARD(get_b64(root, "Plaintext", plain, name, &out->plaintext));
		SB_GUARD(get_b64(root, "CiphertextForRecipient", cfr, name,
				 &out->ciphertext_for_recipient));
		return SB_OK_RESULT;
	case SB_KMS_OP_ENCRYPT:
		SB_GUARD(get_key_id(root, FIELD_REQUIRED, name, out->key_id));
		return get_b64(root, "CiphertextBlob", FIELD_REQUIRED, name, &out->ciphertext_blob);
	case SB_KMS_OP_GENERATE_DATA_KEY:
		SB_GUARD(get_key_id(root, FIELD_REQUIRED, name, out->key_id));
		SB_GUARD(get_b64(root, "CiphertextBlob", FIELD_REQUIRED, name,
				 &out->ciphertext_blob));
		SB_GUARD(get_b64(root, "Plaintext", plain, name, &out->plaintext));
		return get_b64(root, "CiphertextForRecipient", cfr, name,
			       &out->ciphertext_for_recipient);
	case SB_KMS_OP_GENERATE_RANDOM:
		SB_GUARD(get_b64(root, "Plaintext", plain, name, &out->plaintext));
		return get_b64(root, "CiphertextForRecipient", cfr, name,
			       &out->ciphertext_for_recipient);
	default:
		SB_BAIL(SB_ERR_INVALID_ARG);
	}
}

SB_RESULT sb_kms_parse_response(enum sb_kms_op op, struct sb_slice body, bool with_recipient,
				struct sb_kms_result *out)
{
	json_error_t jerr;
	json_t *root;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_aws_json_init());
	result_reset(out);
	SB_ENSURE_MSG(body.len <= SB_KMS_RESPONSE_MAX, SB_ERR_TOO_LARGE, "KMS %s: response too large",
		      op_name(op));
	/* json_loadb rejects trailing data unless JSON_DISABLE_EOF_CHECK is given. */
	root = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
	SB_ENSURE_MSG(root != NULL, SB_ERR_AWS_BAD_RESPONSE, "KMS %s: response is not JSON (%s)",
		      op_name(op), jerr.text);
	if (!json_is_object(root))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_AWS_BAD_RESPONSE, out,
				 "KMS %s: response is not a JSON object", op_name(op));
	rc = parse_fields(op, root, with_recipient, out);
out:
	json_decref(root);
	if (!sb_ok(rc))
		result_reset(out);
	return rc;
}

/* ---- calls ------------------------------------------------------------- */

static SB_RESULT action_check(const char *action)
{
	size_t n = action != NULL ? strlen(action) : 0;

	SB_ENSURE_MSG(n > 0 && n <= 64, SB_ERR_INVALID_ARG, "KMS: bad action name");
	for (size_t i = 0; i < n; i++)
		SB_ENSURE_MSG((action[i] >= 'A' && action[i] <= 'Z') ||
				      (action[i] >= 'a' && action[i] <= 'z'),
			      SB_ERR_INVALID_ARG, "KMS: bad action name");
	return SB_OK_RESULT;
}

/* Fills req for one KMS action; target and op are caller storage. */
static void kms_request_fill(struct sb_kms *k, const char *action, struct sb_slice body,
			     const struct sb_http_sign *sign, char target[96], char op[80],
			     struct sb_buf *resp, struct sb_http_request *req)
{
	(void)snprintf(target, 96, "X-Amz-Target: TrentService.%s", action);
	(void)snprintf(op, 80, "KMS %s", action);
	*req = SB_HTTP_REQUEST_INIT;
	req->op = op;
	req->method = "POST";
	req->url = k->url;
	req->content_type = KMS_CONTENT_TYPE;
	req->headers[0] = target;
	req->body = body;
	req->sign = sign;
	req->error_format = SB_AWS_ERROR_JSON;
	req->out = resp;
	req->out_secret = true;
}

SB_RESULT sb_kms_call(struct sb_kms *k, const char *action, struct sb_slice body,
		      struct sb_buf *resp)
{
	struct sb_aws_creds creds;
	struct sb_http_sign sign;
	struct sb_http_request req;
	struct sb_http_response r;
	char target[96], op[80];
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(resp);
	SB_GUARD(action_check(action));
	sb_aws_creds_init(&creds);
	sb_http_response_init(&r);
	rc = sb_creds_provider_get(k->creds, &creds);
	if (!sb_ok(rc)) {
		sb_error_context("KMS %s", action);
		goto out;
	}
	sign = (struct sb_http_sign){.service = "kms", .region = k->region, .creds = &creds};
	kms_request_fill(k, action, body, &sign, target, op, resp, &req);
	rc = sb_http_send(k->http, &req, &r);
out:
	sb_http_response_cleanup(&r);
	sb_aws_creds_cleanup(&creds);
	return rc;
}

/* Encodes nothing itself: sends body (secret-marked by the caller) and parses the reply. */
static SB_RESULT kms_op(struct sb_kms *k, enum sb_kms_op op, struct sb_slice body, bool recipient,
			struct sb_kms_result *out)
{
	struct sb_buf resp = SB_BUF_INIT_SECRET(SB_KMS_RESPONSE_MAX);
	sb_result rc;

	result_reset(out);
	SB_GUARD_GOTO(rc, sb_kms_call(k, op_name(op), body, &resp), out);
	rc = sb_kms_parse_response(op, sb_buf_slice(&resp), recipient, out);
out:
	sb_buf_cleanup(&resp);
	return rc;
}

SB_RESULT sb_kms_decrypt(struct sb_kms *k, const struct sb_kms_decrypt_in *in,
			 struct sb_kms_result *out)
{
	struct sb_buf body = SB_BUF_INIT(SB_KMS_RESPONSE_MAX);
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(out);
	SB_GUARD_GOTO(rc, sb_kms_encode_decrypt(in, &body), out);
	rc = kms_op(k, SB_KMS_OP_DECRYPT, sb_buf_slice(&body), in->attestation.len > 0, out);
out:
	sb_buf_cleanup(&body);
	return rc;
}

SB_RESULT sb_kms_encrypt(struct sb_kms *k, const char *key_id, struct sb_slice plaintext,
			 const struct sb_kms_context *context, size_t n_context,
			 struct sb_kms_result *out)
{
	struct sb_buf body = SB_BUF_INIT_SECRET(SB_KMS_RESPONSE_MAX);
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(out);
	SB_GUARD_GOTO(rc, encode_encrypt(key_id, plaintext, context, n_context, &body), out);
	rc = kms_op(k, SB_KMS_OP_ENCRYPT, sb_buf_slice(&body), false, out);
out:
	sb_buf_cleanup(&body);
	return rc;
}

SB_RESULT sb_kms_generate_data_key(struct sb_kms *k, const struct sb_kms_gdk_in *in,
				   struct sb_kms_result *out)
{
	struct sb_buf body = SB_BUF_INIT(SB_KMS_RESPONSE_MAX);
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(in);
	SB_ENSURE_REF(out);
	SB_GUARD_GOTO(rc, encode_gdk(in, &body), out);
	rc = kms_op(k, SB_KMS_OP_GENERATE_DATA_KEY, sb_buf_slice(&body), in->attestation.len > 0,
		    out);
out:
	sb_buf_cleanup(&body);
	return rc;
}

SB_RESULT sb_kms_generate_random(struct sb_kms *k, uint32_t n, struct sb_slice attestation,
				 struct sb_kms_result *out)
{
	struct sb_buf body = SB_BUF_INIT(SB_KMS_RESPONSE_MAX);
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(out);
	SB_GUARD_GOTO(rc, encode_random(n, attestation, &body), out);
	rc = kms_op(k, SB_KMS_OP_GENERATE_RANDOM, sb_buf_slice(&body), attestation.len > 0, out);
	if (sb_ok(rc) && attestation.len == 0 && out->plaintext.len != n)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_AWS_BAD_RESPONSE, out,
				 "KMS GenerateRandom: %zu bytes returned, %u asked", out->plaintext.len,
				 n);
out:
	sb_buf_cleanup(&body);
	return rc;
}

/* ---- batch ------------------------------------------------------------- */

struct batch {
	struct sb_buf *bodies;
	struct sb_buf *resps;
	struct sb_http_request *reqs;
	struct sb_http_response *https;
	size_t n;
};

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		if (b->bodies != NULL)
			sb_buf_cleanup(&b->bodies[i]);
		if (b->resps != NULL)
			sb_buf_cleanup(&b->resps[i]);
		if (b->https != NULL)
			sb_http_response_cleanup(&b->https[i]);
	}
	free(b->bodies);
	free(b->resps);
	free(b->reqs);
	free(b->https);
}

static SB_RESULT batch_alloc(struct batch *b, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->bodies = calloc(n, sizeof(*b->bodies));
	b->resps = calloc(n, sizeof(*b->resps));
	b->reqs = calloc(n, sizeof(*b->reqs));
	b->https = calloc(n, sizeof(*b->https));
	b->n = n;
	SB_ENSURE(b->bodies != NULL && b->resps != NULL && b->reqs != NULL && b->https != NULL,
		  SB_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		sb_buf_init(&b->bodies[i], SB_KMS_RESPONSE_MAX);
		sb_buf_init_secret(&b->resps[i], SB_KMS_RESPONSE_MAX);
		sb_http_response_init(&b->https[i]);
	}
	return SB_OK_RESULT;
}

static void batch_outcome(struct sb_kms_result *out, sb_result rc)
{
	if (sb_ok(rc))
		return;
	out->error = rc.code;
	(void)snprintf(out->detail, sizeof(out->detail), "%s", sb_error_detail());
	sb_error_clear();
}

static SB_RESULT multi_ready(struct sb_kms *k, uint32_t parallel)
{
	if (k->multi != NULL && k->multi_parallel == parallel)
		return SB_OK_RESULT;
	sb_http_multi_free(k->multi);
	k->multi = NULL;
	SB_GUARD(sb_http_multi_new(&k->http_cfg, parallel, &k->multi));
	k->multi_parallel = parallel;
	return SB_OK_RESULT;
}

/* Per-completion work of a batch: parse the response, and stop on a failure if asked. */
struct batch_run {
	const struct sb_kms_decrypt_in *ins;
	struct sb_kms_result *outs;
	struct batch *b;
	size_t *qmap; /* queue position -> row */
	bool stop_at_first_failure;
	size_t failed_row; /* the first failure seen (SIZE_MAX: none) */
};

static bool batch_done(void *ud, size_t qidx, struct sb_http_response *resp)
{
	struct batch_run *run = ud;
	size_t i = run->qmap[qidx];
	sb_result r = sb_http_response_result(resp);

	if (sb_ok(r))
		r = sb_kms_parse_response(SB_KMS_OP_DECRYPT, sb_buf_slice(&run->b->resps[i]),
					  run->ins[i].attestation.len > 0, &run->outs[i]);
	/* The response body may hold a plaintext: drop it as soon as it is parsed. */
	sb_buf_reset(&run->b->resps[i]);
	batch_outcome(&run->outs[i], r);
	if (run->outs[i].error == SB_OK)
		return true;
	if (run->failed_row == SIZE_MAX)
		run->failed_row = i;
	return !run->stop_at_first_failure;
}

/* Rows never finished after a stop: say which row's failure stopped the batch. */
static void batch_mark_cancelled(struct batch_run *run, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sb_kms_result *o = &run->outs[i];
		if (o->error != SB_OK || run->b->https[i].error != SB_ERR_HTTP_CANCELLED)
			continue;
		o->error = SB_ERR_HTTP_CANCELLED;
		(void)snprintf(o->detail, sizeof(o->detail),
			       "KMS Decrypt: not attempted: the batch stopped at row %zu's failure",
			       run->failed_row);
	}
}

SB_RESULT sb_kms_decrypt_batch(struct sb_kms *k, const struct sb_kms_decrypt_in *ins,
			       struct sb_kms_result *outs, size_t n, uint32_t parallel)
{
	const struct sb_kms_batch_opts opts = {.parallel = parallel};

	return sb_kms_decrypt_batch_opts(k, ins, outs, n, &opts);
}

SB_RESULT sb_kms_decrypt_batch_opts(struct sb_kms *k, const struct sb_kms_decrypt_in *ins,
				    struct sb_kms_result *outs, size_t n,
				    const struct sb_kms_batch_opts *opts)
{
	struct sb_aws_creds creds;
	struct sb_http_sign sign;
	struct batch b;
	struct batch_run run;
	char target[96], op[80];
	size_t nq = 0;
	sb_result rc;

	SB_ENSURE_REF(k);
	SB_ENSURE_REF(opts);
	SB_ENSURE(n == 0 || (ins != NULL && outs != NULL), SB_ERR_NULL);
	if (n == 0)
		return SB_OK_RESULT;
	sb_aws_creds_init(&creds);
	run = (struct batch_run){.ins = ins, .outs = outs, .b = &b,
				 .stop_at_first_failure = opts->stop_at_first_failure,
				 .failed_row = SIZE_MAX};
	SB_GUARD_GOTO(rc, batch_alloc(&b, n), out);
	run.qmap = calloc(n, sizeof(*run.qmap));
	if (run.qmap == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	SB_GUARD_GOTO(rc, multi_ready(k, opts->parallel), out);
	SB_GUARD_GOTO(rc, sb_creds_provider_get(k->creds, &creds), out);
	sign = (struct sb_http_sign){.service = "kms", .region = k->region, .creds = &creds};
	for (size_t i = 0; i < n; i++) {
		result_reset(&outs[i]);
		batch_outcome(&outs[i], sb_kms_encode_decrypt(&ins[i], &b.bodies[i]));
		if (outs[i].error != SB_OK && run.failed_row == SIZE_MAX)
			run.failed_row = i;
	}
	if (opts->stop_at_first_failure && run.failed_row != SIZE_MAX) {
		/* A row that cannot even be encoded stops the batch before any call. */
		for (size_t i = 0; i < n; i++)
			b.https[i].error = SB_ERR_HTTP_CANCELLED;
		batch_mark_cancelled(&run, n);
		rc = SB_OK_RESULT;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (outs[i].error != SB_OK)
			continue;
		/* target and op are identical for every request: shared storage is fine. */
		kms_request_fill(k, "Decrypt", sb_buf_slice(&b.bodies[i]), &sign, target, op,
				 &b.resps[i], &b.reqs[i]);
		SB_GUARD_GOTO(rc, sb_http_multi_add(k->multi, &b.reqs[i], &b.https[i]), out);
		run.qmap[nq++] = i;
	}
	SB_GUARD_GOTO(rc, sb_http_multi_run_cb(k->multi, batch_done, &run), out);
	batch_mark_cancelled(&run, n);
	rc = SB_OK_RESULT;
out:
	free(run.qmap);
	batch_free(&b);
	sb_aws_creds_cleanup(&creds);
	return rc;
}
