/* Tags: CreateKey's Tags, TagResource, UntagResource, ListResourceTags. */
#include <string.h>

#include "common/sb_mem.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

/* "TagKey ... Length Constraints: Minimum length of 1. Maximum length of
 * 128"; "TagValue ... Minimum length of 0. Maximum length of 256"; "you
 * cannot use the aws: prefix in a tag key". */
static SB_RESULT check_tag_key(const char *key)
{
	size_t n = strlen(key);

	SB_ENSURE_MSG(n >= 1 && n <= SB_KSTORE_MAX_TAG_KEY, SB_ERR_KMS_TAG,
		      "TagKey must be 1..%d characters", SB_KSTORE_MAX_TAG_KEY);
	SB_ENSURE_MSG(strncmp(key, "aws:", 4) != 0, SB_ERR_KMS_TAG,
		      "Tag keys beginning with aws: are reserved.");
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_parse_tags(const json_t *req, bool required,
			     struct sb_kstore_tag tags[SB_KSTORE_MAX_TAGS], size_t *n)
{
	const json_t *arr = json_object_get(req, "Tags"), *t;
	size_t i;

	*n = 0;
	if (arr == NULL || json_is_null(arr)) {
		SB_ENSURE_MSG(!required, SB_ERR_KMS_VALIDATION,
			      "1 validation error detected: Value null at 'tags' failed to satisfy "
			      "constraint: Member must not be null");
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(json_is_array(arr), SB_ERR_KMS_VALIDATION, "'Tags' must be a list");
	SB_ENSURE_MSG(json_array_size(arr) <= SB_KSTORE_MAX_TAGS, SB_ERR_KMS_LIMIT_EXCEEDED,
		      "a key can have at most %d tags", SB_KSTORE_MAX_TAGS);
	json_array_foreach(arr, i, t) {
		const char *key, *value;
		SB_ENSURE_MSG(json_is_object(t), SB_ERR_KMS_VALIDATION, "each tag is an object");
		SB_GUARD(sb_kjson_string(t, "TagKey", true, &key));
		SB_GUARD(sb_kjson_string(t, "TagValue", true, &value));
		SB_GUARD(check_tag_key(key));
		SB_ENSURE_MSG(strlen(value) <= SB_KSTORE_MAX_TAG_VALUE, SB_ERR_KMS_TAG,
			      "TagValue must be at most %d characters", SB_KSTORE_MAX_TAG_VALUE);
		for (size_t j = 0; j < *n; j++)
			SB_ENSURE_MSG(strcmp(tags[j].key, key) != 0, SB_ERR_KMS_TAG,
				      "Duplicate tag keys in the request");
		tags[(*n)++] = (struct sb_kstore_tag){key, value};
	}
	return SB_OK_RESULT;
}

static SB_RESULT tag_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			 const char *action, enum sb_kmsd_use use, struct sb_kstore_key *key,
			 char *log_id)
{
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", false, key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, action, key, NULL, NULL));
	return sb_kmsd_check_state(k, key, use);
}

SB_KMSD_OP(tag_resource)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct sb_kstore_tag tags[SB_KSTORE_MAX_TAGS];
	size_t n;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(sb_kmsd_parse_tags(req, true, tags, &n));
	SB_GUARD(tag_key(k, c, req, "kms:TagResource", SB_KMSD_USE_MANAGE, &key, log_id));
	return sb_kstore_tag(k->store, key.id, tags, n);
}

SB_KMSD_OP(untag_resource)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *names[SB_KSTORE_MAX_TAGS];
	const json_t *arr = json_object_get(req, "TagKeys"), *t;
	size_t i;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_ENSURE_MSG(json_is_array(arr) && json_array_size(arr) <= SB_KSTORE_MAX_TAGS,
		      SB_ERR_KMS_VALIDATION, "'TagKeys' must be a list of at most %d keys",
		      SB_KSTORE_MAX_TAGS);
	json_array_foreach(arr, i, t) {
		SB_ENSURE_MSG(json_is_string(t) &&
				      strlen(json_string_value(t)) == json_string_length(t),
			      SB_ERR_KMS_VALIDATION, "'TagKeys' must hold strings");
		names[i] = json_string_value(t);
		SB_GUARD(check_tag_key(names[i]));
	}
	SB_GUARD(tag_key(k, c, req, "kms:UntagResource", SB_KMSD_USE_MANAGE, &key, log_id));
	return sb_kstore_untag(k->store, key.id, names, json_array_size(arr));
}

static SB_RESULT visit_tag(void *vctx, const char *key, const char *value, uint64_t ms)
{
	struct sb_kmsd_page *p = vctx;

	(void)ms;
	SB_ENSURE(json_array_append_new(p->arr, json_pack("{s:s, s:s}", "TagKey", key, "TagValue",
							  value != NULL ? value : "")) == 0,
		  SB_ERR_NOMEM);
	sb_kmsd_page_last(p, key);
	return SB_OK_RESULT;
}

/* "Limit ... Minimum value of 1. Maximum value of 50." */
SB_KMSD_OP(list_resource_tags)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct sb_kmsd_page p;
	bool more = false;
	sb_result rc;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kmsd_page_start(req, 'T', 50, &p));
	rc = tag_key(k, c, req, "kms:ListResourceTags", SB_KMSD_USE_ANY, &key, log_id);
	if (sb_ok(rc))
		rc = sb_kstore_list_tags(k->store, key.id, p.after, p.limit, visit_tag, &p, &more);
	if (sb_ok(rc))
		rc = sb_kmsd_page_finish(resp, "Tags", &p, more);
	sb_kmsd_page_cleanup(&p);
	return rc;
}
