#include "kmsd/sb_kjson.h"

#include <string.h>

#include "common/sb_encoding.h"

/* Nesting depth outside strings, before jansson sees the text. */
static SB_RESULT check_depth(struct sb_slice in, size_t max_depth)
{
	size_t depth = 0;
	bool in_str = false, esc = false;

	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.ptr[i];
		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			SB_ENSURE_MSG(++depth <= max_depth, SB_ERR_BAD_JSON,
				      "nesting deeper than %zu at offset %zu", max_depth, i);
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_parse(struct sb_slice in, size_t max_depth, json_t **out)
{
	json_error_t err;
	json_t *v;

	SB_ENSURE_REF(out);
	*out = NULL;
	SB_ENSURE_MSG(in.len > 0, SB_ERR_BAD_JSON, "empty document");
	SB_GUARD(check_depth(in, max_depth));
	/* JSON_REJECT_DUPLICATES: a key twice is ambiguous, so it is refused.
	 * Without JSON_DISABLE_EOF_CHECK jansson rejects trailing data. */
	v = json_loadb((const char *)in.ptr, in.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
	if (v == NULL) {
		if (json_error_code(&err) == json_error_invalid_utf8)
			SB_BAIL_MSG(SB_ERR_BAD_UTF8, "invalid UTF-8 at offset %d", err.position);
		SB_BAIL_MSG(SB_ERR_BAD_JSON, "line %d column %d: %s", err.line, err.column,
			    json_error_code(&err) == json_error_duplicate_key ? "duplicate key"
									     : "syntax error");
	}
	*out = v;
	return SB_OK_RESULT;
}

static SB_RESULT field(const json_t *obj, const char *name, bool required, json_t **out)
{
	json_t *v;

	SB_ENSURE_REF(name);
	SB_ENSURE_MSG(json_is_object(obj), SB_ERR_KMS_VALIDATION, "expected an object");
	v = json_object_get(obj, name);
	if (v != NULL && json_is_null(v))
		v = NULL;
	SB_ENSURE_MSG(v != NULL || !required, SB_ERR_KMS_VALIDATION,
		      "1 validation error detected: Value null at '%s' failed to satisfy "
		      "constraint: Member must not be null",
		      name);
	*out = v;
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_string(const json_t *obj, const char *name, bool required, const char **out)
{
	json_t *v;

	SB_ENSURE_REF(out);
	SB_GUARD(field(obj, name, required, &v));
	*out = NULL;
	if (v == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_string(v), SB_ERR_KMS_VALIDATION, "'%s' must be a string", name);
	/* A NUL inside would make the C string shorter than the JSON one. */
	SB_ENSURE_MSG(strlen(json_string_value(v)) == json_string_length(v),
		      SB_ERR_KMS_VALIDATION, "'%s' contains a NUL character", name);
	*out = json_string_value(v);
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_object(const json_t *obj, const char *name, bool required, json_t **out)
{
	json_t *v;

	SB_ENSURE_REF(out);
	SB_GUARD(field(obj, name, required, &v));
	SB_ENSURE_MSG(v == NULL || json_is_object(v), SB_ERR_KMS_VALIDATION,
		      "'%s' must be an object", name);
	*out = v;
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_int(const json_t *obj, const char *name, long long min, long long max,
		       bool *present, long long *out)
{
	json_t *v;

	SB_ENSURE_REF(present);
	SB_ENSURE_REF(out);
	SB_GUARD(field(obj, name, false, &v));
	*present = v != NULL;
	if (v == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_integer(v), SB_ERR_KMS_VALIDATION, "'%s' must be an integer", name);
	*out = json_integer_value(v);
	SB_ENSURE_MSG(*out >= min && *out <= max, SB_ERR_KMS_VALIDATION,
		      "1 validation error detected: Value '%lld' at '%s' failed to satisfy "
		      "constraint: Member must have value between %lld and %lld",
		      *out, name, min, max);
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_base64(const json_t *obj, const char *name, bool required, bool *present,
			  struct sb_buf *out)
{
	const char *s;
	sb_result r;

	SB_ENSURE_REF(present);
	SB_GUARD(sb_kjson_string(obj, name, required, &s));
	*present = s != NULL;
	if (s == NULL)
		return SB_OK_RESULT;
	r = sb_base64_decode(sb_slice_str(s), out);
	if (r.code == SB_ERR_TOO_LARGE)
		SB_BAIL_MSG(SB_ERR_KMS_VALIDATION, "'%s' is longer than %zu bytes", name, out->max);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_VALIDATION, "'%s' is not valid base64", name);
	return SB_OK_RESULT;
}

SB_RESULT sb_kjson_dump(const json_t *v, struct sb_buf *out)
{
	size_t n;

	SB_ENSURE_REF(v);
	SB_ENSURE_REF(out);
	n = json_dumpb(v, NULL, 0, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	SB_ENSURE(n > 0, SB_ERR_BAD_JSON);
	SB_GUARD(sb_buf_reserve(out, n));
	SB_ENSURE(json_dumpb(v, (char *)sb_buf_tail(out), n,
			     JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) == n,
		  SB_ERR_BAD_JSON);
	return sb_buf_commit(out, out->len + n);
}
