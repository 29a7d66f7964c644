/*
 * Strict JSON intake for sealbid-kms (requests, key policies, the
 * configuration file), over jansson: a nesting-depth limit checked before
 * the parser runs, duplicate object keys rejected, exactly one value with
 * nothing after it, and typed field accessors that say which field was wrong.
 *
 * Values returned by the accessors are borrowed from the json_t they came
 * from (jansson's object owns them).
 */
#ifndef SB_KJSON_H
#define SB_KJSON_H

#include <jansson.h>
#include <stdbool.h>

#include "common/sb_buf.h"

/* Deep enough for any KMS request or key policy, shallow enough to be cheap. */
#define SB_KJSON_MAX_DEPTH 16

/*
 * Parses in into *out (caller frees with json_decref). SB_ERR_BAD_JSON for
 * invalid JSON, duplicate keys, trailing data or nesting deeper than
 * max_depth; SB_ERR_BAD_UTF8 for text that is not UTF-8. The detail names
 * the position, never the content.
 */
SB_RESULT sb_kjson_parse(struct sb_slice in, size_t max_depth, json_t **out);

/*
 * Field accessors for an object. `required` false lets a missing (or JSON
 * null) field through with *out NULL. A present field of the wrong type is
 * SB_ERR_KMS_VALIDATION with a detail naming the field.
 */
SB_RESULT sb_kjson_string(const json_t *obj, const char *field, bool required, const char **out);
SB_RESULT sb_kjson_object(const json_t *obj, const char *field, bool required, json_t **out);
/* An integer within [min, max]; *present says whether it was there. */
SB_RESULT sb_kjson_int(const json_t *obj, const char *field, long long min, long long max,
		       bool *present, long long *out);
/*
 * A base64 blob field decoded strictly into out (appended; out->max bounds
 * the decoded size). Missing and required is SB_ERR_KMS_VALIDATION;
 * *present says whether it was there.
 */
SB_RESULT sb_kjson_base64(const json_t *obj, const char *field, bool required, bool *present,
			  struct sb_buf *out);

/* Appends the compact encoding of v (sorted keys) to out. Borrows v. */
SB_RESULT sb_kjson_dump(const json_t *v, struct sb_buf *out);

#endif
