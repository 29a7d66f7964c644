/*
 * NSM request/response messages, as serde_cbor encodes the Rust enums of
 * aws-nitro-enclaves-nsm-api src/api/mod.rs: a unit variant is its name as
 * a text string ("GetRandom"), a struct variant a one-entry map from its
 * name to a map of its fields ({"DescribePCR": {"index": 3}}), a newtype
 * variant a one-entry map to its value ({"Error": "InvalidIndex"}).
 * Option::None is null.
 */
#include <string.h>

#include "attest/sb_cbor.h"
#include "attest/sb_nsm_msg.h"

#define NSM_MSG_DEPTH 3 /* map -> map -> value */
#define E_MSG         SB_ERR_ATTEST_NSM_MESSAGE

static const char *const nsm_error_names[] = {
    "Success",          "InvalidArgument", "InvalidIndex",  "InvalidResponse", "ReadOnlyIndex",
    "InvalidOperation", "BufferTooSmall",  "InputTooLarge", "InternalError",
};
#define NSM_ERROR_NAMES (sizeof(nsm_error_names) / sizeof(nsm_error_names[0]))

const char *sb_nsm_error_name(enum sb_nsm_error e)
{
	if ((size_t)e >= NSM_ERROR_NAMES)
		return "Unknown";
	return nsm_error_names[e];
}

void sb_nsm_request_init(struct sb_nsm_request *req)
{
	memset(req, 0, sizeof(*req));
	sb_buf_init(&req->user_data.value, SB_ATTEST_USER_DATA_MAX);
	sb_buf_init(&req->nonce.value, SB_ATTEST_NONCE_MAX);
	sb_buf_init(&req->public_key.value, SB_ATTEST_PUBLIC_KEY_MAX);
}

void sb_nsm_request_cleanup(struct sb_nsm_request *req)
{
	if (req == NULL)
		return;
	sb_buf_cleanup(&req->user_data.value);
	sb_buf_cleanup(&req->nonce.value);
	sb_buf_cleanup(&req->public_key.value);
}

void sb_nsm_response_init(struct sb_nsm_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	sb_buf_init(&resp->data, SB_NSM_RESPONSE_MAX);
}

void sb_nsm_response_cleanup(struct sb_nsm_response *resp)
{
	if (resp != NULL)
		sb_buf_cleanup(&resp->data);
}

/* ---- encoding ---- */

/* Serializes {name: inner} (inner taken) or, with inner NULL, the text name. */
static SB_RESULT encode_variant(const char *name, cbor_item_t *inner, struct sb_buf *out)
{
	cbor_item_t *top = NULL;
	if (inner == NULL) {
		top = sb_cbor_build_text(name);
		SB_ENSURE(top != NULL, SB_ERR_NOMEM);
	} else {
		sb_result rc = sb_cbor_new_map(false, 1, &top);
		if (sb_ok(rc))
			rc = sb_cbor_map_put(top, name, inner);
		else
			cbor_decref(&inner);
		if (!sb_ok(rc)) {
			if (top != NULL)
				cbor_decref(&top);
			return rc;
		}
	}
	sb_result rc = sb_cbor_serialize(top, out);
	cbor_decref(&top);
	return rc;
}

/* A map of n (key, value) pairs; values taken. NULL values mean out of memory. */
static SB_RESULT build_fields(const char *const *keys, cbor_item_t **values, size_t n,
                              cbor_item_t **out)
{
	sb_result rc = sb_cbor_new_map(false, n, out);
	for (size_t i = 0; i < n; i++) {
		if (sb_ok(rc))
			rc = sb_cbor_map_put(*out, keys[i], values[i]);
		else if (values[i] != NULL)
			cbor_decref(&values[i]);
	}
	if (!sb_ok(rc) && *out != NULL)
		cbor_decref(out);
	return rc;
}

static SB_RESULT encode_struct(const char *name, const char *const *keys, cbor_item_t **values,
                               size_t n, struct sb_buf *out)
{
	cbor_item_t *inner = NULL;
	SB_GUARD(build_fields(keys, values, n, &inner));
	return encode_variant(name, inner, out);
}

static SB_RESULT check_opt_len(struct sb_slice s, size_t min, size_t max, const char *what)
{
	SB_ENSURE_MSG(s.ptr == NULL || (s.len >= min && s.len <= max), SB_ERR_ATTEST_FIELD_SIZE,
	              "%s of %zu bytes, allowed %zu..%zu", what, s.len, min, max);
	return SB_OK_RESULT;
}

SB_RESULT sb_nsm_encode_attestation(struct sb_slice user_data, struct sb_slice nonce,
                                    struct sb_slice public_key, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_GUARD(check_opt_len(user_data, 0, SB_ATTEST_USER_DATA_MAX, "user_data"));
	SB_GUARD(check_opt_len(nonce, 0, SB_ATTEST_NONCE_MAX, "nonce"));
	SB_GUARD(check_opt_len(public_key, 1, SB_ATTEST_PUBLIC_KEY_MAX, "public_key"));
	static const char *const keys[] = {"user_data", "nonce", "public_key"};
	cbor_item_t *values[] = {sb_cbor_build_opt_bytes(user_data), sb_cbor_build_opt_bytes(nonce),
	                         sb_cbor_build_opt_bytes(public_key)};
	return encode_struct("Attestation", keys, values, 3, out);
}

SB_RESULT sb_nsm_encode_describe_pcr(uint16_t index, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	static const char *const keys[] = {"index"};
	cbor_item_t *values[] = {sb_cbor_build_uint(index)};
	return encode_struct("DescribePCR", keys, values, 1, out);
}

SB_RESULT sb_nsm_encode_get_random(struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	return encode_variant("GetRandom", NULL, out);
}

SB_RESULT sb_nsm_encode_attestation_resp(struct sb_slice document, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(document.len > 0 && document.len <= SB_ATTEST_DOC_MAX, SB_ERR_ATTEST_FIELD_SIZE);
	static const char *const keys[] = {"document"};
	cbor_item_t *values[] = {sb_cbor_build_bytes(document)};
	return encode_struct("Attestation", keys, values, 1, out);
}

SB_RESULT sb_nsm_encode_describe_pcr_resp(bool lock, struct sb_slice data, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(data.len <= SB_ATTEST_PCR_MAX_LEN, SB_ERR_ATTEST_FIELD_SIZE);
	static const char *const keys[] = {"lock", "data"};
	cbor_item_t *values[] = {cbor_build_bool(lock), sb_cbor_build_bytes(data)};
	return encode_struct("DescribePCR", keys, values, 2, out);
}

SB_RESULT sb_nsm_encode_get_random_resp(struct sb_slice random, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(random.len <= SB_NSM_RANDOM_CHUNK, SB_ERR_ATTEST_FIELD_SIZE);
	static const char *const keys[] = {"random"};
	cbor_item_t *values[] = {sb_cbor_build_bytes(random)};
	return encode_struct("GetRandom", keys, values, 1, out);
}

SB_RESULT sb_nsm_encode_error(enum sb_nsm_error e, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE((size_t)e < NSM_ERROR_NAMES, SB_ERR_INVALID_ARG);
	return encode_variant("Error", sb_cbor_build_text(sb_nsm_error_name(e)), out);
}

/* ---- decoding ---- */

/*
 * Matches the pairs of map against keys: values[i] = the value of keys[i]
 * (borrowed) or NULL when absent; unknown or repeated keys are errors.
 */
static SB_RESULT match_fields(const cbor_item_t *map, const char *const *keys, size_t n,
                              const cbor_item_t **values)
{
	SB_ENSURE_MSG(cbor_isa_map(map), E_MSG, "expected a map of fields");
	for (size_t k = 0; k < n; k++)
		values[k] = NULL;
	const struct cbor_pair *pairs = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		char key[32];
		SB_GUARD(sb_cbor_key(pairs[i].key, key, sizeof(key), E_MSG));
		size_t k = 0;
		while (k < n && strcmp(key, keys[k]) != 0)
			k++;
		SB_ENSURE_MSG(k < n, E_MSG, "unknown field '%s'", key);
		SB_ENSURE_MSG(values[k] == NULL, E_MSG, "field '%s' twice", key);
		values[k] = pairs[i].value;
	}
	return SB_OK_RESULT;
}

/* The single {name: value} entry of a variant map. */
static SB_RESULT variant_entry(const cbor_item_t *top, char *name, size_t cap,
                               const cbor_item_t **value)
{
	SB_ENSURE_MSG(cbor_isa_map(top) && cbor_map_size(top) == 1, E_MSG,
	              "expected a one-entry map");
	const struct cbor_pair *p = cbor_map_handle(top);
	SB_GUARD(sb_cbor_key(p[0].key, name, cap, E_MSG));
	*value = p[0].value;
	return SB_OK_RESULT;
}

static SB_RESULT decode_attestation_req(const cbor_item_t *v, struct sb_nsm_request *req)
{
	static const char *const keys[] = {"user_data", "nonce", "public_key"};
	const cbor_item_t *f[3];
	SB_GUARD(match_fields(v, keys, 3, f));
	/* serde: a missing Option field is None, the same as null. */
	if (f[0] != NULL)
		SB_GUARD(
		    sb_cbor_opt_bytes(f[0], 0, SB_ATTEST_USER_DATA_MAX, E_MSG, &req->user_data));
	if (f[1] != NULL)
		SB_GUARD(sb_cbor_opt_bytes(f[1], 0, SB_ATTEST_NONCE_MAX, E_MSG, &req->nonce));
	if (f[2] != NULL)
		SB_GUARD(
		    sb_cbor_opt_bytes(f[2], 1, SB_ATTEST_PUBLIC_KEY_MAX, E_MSG, &req->public_key));
	req->op = SB_NSM_OP_ATTESTATION;
	return SB_OK_RESULT;
}

static SB_RESULT decode_describe_pcr_req(const cbor_item_t *v, struct sb_nsm_request *req)
{
	static const char *const keys[] = {"index"};
	const cbor_item_t *f[1];
	SB_GUARD(match_fields(v, keys, 1, f));
	uint64_t index;
	SB_ENSURE_MSG(f[0] != NULL, E_MSG, "DescribePCR without index");
	SB_GUARD(sb_cbor_uint(f[0], UINT16_MAX, E_MSG, &index));
	req->pcr_index = (uint16_t)index;
	req->op = SB_NSM_OP_DESCRIBE_PCR;
	return SB_OK_RESULT;
}

static SB_RESULT decode_request_item(const cbor_item_t *top, struct sb_nsm_request *req)
{
	if (cbor_isa_string(top)) {
		if (sb_cbor_is_text(top, "GetRandom")) {
			req->op = SB_NSM_OP_GET_RANDOM;
			return SB_OK_RESULT;
		}
		SB_ENSURE_MSG(sb_cbor_is_text(top, "DescribeNSM"), E_MSG, "unknown request");
		req->op = SB_NSM_OP_UNSUPPORTED;
		return SB_OK_RESULT;
	}
	char name[32];
	const cbor_item_t *v = NULL;
	SB_GUARD(variant_entry(top, name, sizeof(name), &v));
	if (strcmp(name, "Attestation") == 0)
		return decode_attestation_req(v, req);
	if (strcmp(name, "DescribePCR") == 0)
		return decode_describe_pcr_req(v, req);
	SB_ENSURE_MSG(strcmp(name, "ExtendPCR") == 0 || strcmp(name, "LockPCR") == 0 ||
	                  strcmp(name, "LockPCRs") == 0,
	              E_MSG, "unknown request '%s'", name);
	req->op = SB_NSM_OP_UNSUPPORTED;
	return SB_OK_RESULT;
}

SB_RESULT sb_nsm_request_decode(struct sb_slice in, struct sb_nsm_request *req)
{
	SB_ENSURE_REF(req);
	SB_ENSURE_MSG(in.len <= SB_NSM_REQUEST_MAX, SB_ERR_ATTEST_FIELD_SIZE,
	              "request of %zu bytes", in.len);
	cbor_item_t *top = NULL;
	SB_GUARD(sb_cbor_load(in, NSM_MSG_DEPTH, E_MSG, &top));
	sb_result rc = decode_request_item(top, req);
	cbor_decref(&top);
	return rc;
}

static SB_RESULT decode_bytes_field(const cbor_item_t *v, const char *key, size_t max,
                                    struct sb_buf *out)
{
	const char *const keys[] = {key};
	const cbor_item_t *f[1];
	SB_GUARD(match_fields(v, keys, 1, f));
	SB_ENSURE_MSG(f[0] != NULL, E_MSG, "no '%s'", key);
	struct sb_slice s;
	SB_GUARD(sb_cbor_bytes(f[0], 0, max, E_MSG, &s));
	return sb_buf_set(out, s);
}

static SB_RESULT decode_describe_pcr_resp(const cbor_item_t *v, struct sb_nsm_response *resp)
{
	static const char *const keys[] = {"lock", "data"};
	const cbor_item_t *f[2];
	SB_GUARD(match_fields(v, keys, 2, f));
	SB_ENSURE_MSG(f[0] != NULL && f[1] != NULL, E_MSG, "DescribePCR lacks lock or data");
	SB_GUARD(sb_cbor_bool(f[0], E_MSG, &resp->lock));
	struct sb_slice s;
	SB_GUARD(sb_cbor_bytes(f[1], 0, SB_ATTEST_PCR_MAX_LEN, E_MSG, &s));
	return sb_buf_set(&resp->data, s);
}

static SB_RESULT decode_error_resp(const cbor_item_t *v, struct sb_nsm_response *resp)
{
	for (size_t i = 0; i < NSM_ERROR_NAMES; i++) {
		if (sb_cbor_is_text(v, nsm_error_names[i])) {
			resp->error = (enum sb_nsm_error)i;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(E_MSG, "unknown NSM error code");
}

static SB_RESULT decode_response_item(const cbor_item_t *top, struct sb_nsm_response *resp)
{
	char name[32];
	const cbor_item_t *v = NULL;
	SB_GUARD(variant_entry(top, name, sizeof(name), &v));
	if (strcmp(name, "Attestation") == 0) {
		resp->kind = SB_NSM_RESP_ATTESTATION;
		return decode_bytes_field(v, "document", SB_ATTEST_DOC_MAX, &resp->data);
	}
	if (strcmp(name, "GetRandom") == 0) {
		resp->kind = SB_NSM_RESP_GET_RANDOM;
		return decode_bytes_field(v, "random", SB_NSM_RESPONSE_MAX, &resp->data);
	}
	if (strcmp(name, "DescribePCR") == 0) {
		resp->kind = SB_NSM_RESP_DESCRIBE_PCR;
		return decode_describe_pcr_resp(v, resp);
	}
	SB_ENSURE_MSG(strcmp(name, "Error") == 0, E_MSG, "unknown response '%s'", name);
	resp->kind = SB_NSM_RESP_ERROR;
	return decode_error_resp(v, resp);
}

SB_RESULT sb_nsm_response_decode(struct sb_slice in, struct sb_nsm_response *resp)
{
	SB_ENSURE_REF(resp);
	SB_ENSURE_MSG(in.len <= SB_NSM_RESPONSE_MAX, SB_ERR_ATTEST_FIELD_SIZE,
	              "response of %zu bytes", in.len);
	cbor_item_t *top = NULL;
	SB_GUARD(sb_cbor_load(in, NSM_MSG_DEPTH, E_MSG, &top));
	sb_buf_reset(&resp->data);
	sb_result rc = decode_response_item(top, resp);
	cbor_decref(&top);
	return rc;
}
