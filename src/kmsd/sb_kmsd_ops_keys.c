/*
 * Key management: CreateKey, DescribeKey, EnableKey, DisableKey,
 * ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription,
 * Get/PutKeyPolicy, ListKeyPolicies, ListKeys.
 */
#include <stdio.h>
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_random.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

#define DAY_MS (24ull * 3600 * 1000)
/* "PendingWindowInDays ... Minimum value of 7. Maximum value of 30"; "If you
 * omit this parameter, it defaults to 30." */
#define PENDING_MIN     7
#define PENDING_MAX     30
#define PENDING_DEFAULT 30

static SB_RESULT set_metadata(struct sb_kmsd *k, const struct sb_kstore_key *key, json_t *resp)
{
	char arn[SB_KMSD_ARN_MAX];
	json_t *md;

	sb_kmsd_key_arn(k, key->id, arn);
	md = json_pack("{s:s, s:s, s:s, s:f, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:b}",
		       "AWSAccountId", k->cfg->account_id, "KeyId", key->id, "Arn", arn,
		       "CreationDate", (double)key->creation_ms / 1000.0, "Enabled", key->enabled,
		       "Description", sb_buf_cstr(&key->description), "KeyUsage", "ENCRYPT_DECRYPT",
		       "KeyState", sb_kmsd_key_state(key), "Origin", "AWS_KMS", "KeyManager",
		       "CUSTOMER", "CustomerMasterKeySpec", SB_KMSD_SYMMETRIC_DEFAULT, "KeySpec",
		       SB_KMSD_SYMMETRIC_DEFAULT, "EncryptionAlgorithms", SB_KMSD_SYMMETRIC_DEFAULT,
		       "MultiRegion", 0);
	SB_ENSURE(md != NULL, SB_ERR_NOMEM);
	if (key->deletion_ms != 0 &&
	    (json_object_set_new(md, "DeletionDate", json_real((double)key->deletion_ms / 1000.0)) !=
		     0 ||
	     json_object_set_new(md, "PendingDeletionWindowInDays",
				 json_integer(key->pending_days)) != 0)) {
		json_decref(md);
		SB_BAIL(SB_ERR_NOMEM);
	}
	SB_ENSURE(json_object_set_new(resp, "KeyMetadata", md) == 0, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* Optional string fields that must hold one value if present. */
static SB_RESULT check_enum(const json_t *req, const char *field, const char *only)
{
	const char *v;

	SB_GUARD(sb_kjson_string(req, field, false, &v));
	SB_ENSURE_MSG(v == NULL || strcmp(v, only) == 0, SB_ERR_KMS_VALIDATION,
		      "%s %s is not supported; only %s", field, v, only);
	return SB_OK_RESULT;
}

/*
 * The policy lockout safety check: "the key policy must allow the principal
 * that is making the ... request to make a subsequent PutKeyPolicy request".
 */
static SB_RESULT check_policy(struct sb_kmsd *k, const struct sb_kmsd_caller *c,
			      const char *policy, const char *key_id, bool bypass)
{
	struct sb_policy *p = NULL;
	sb_result rc;

	SB_GUARD(sb_policy_parse(sb_slice_str(policy), &p));
	sb_policy_free(p);
	if (bypass)
		return SB_OK_RESULT;
	rc = sb_kmsd_policy_allows(k, c, "kms:PutKeyPolicy", policy, key_id);
	SB_ENSURE_MSG(rc.code != SB_ERR_KMS_ACCESS_DENIED, SB_ERR_KMS_MALFORMED_POLICY,
		      "The new key policy will not allow you to update the key policy in the "
		      "future.");
	return rc;
}

static SB_RESULT description(const json_t *req, bool required, const char **out)
{
	SB_GUARD(sb_kjson_string(req, "Description", required, out));
	SB_ENSURE_MSG(*out == NULL || strlen(*out) <= SB_KSTORE_MAX_DESC, SB_ERR_KMS_VALIDATION,
		      "Description is longer than %d characters", SB_KSTORE_MAX_DESC);
	return SB_OK_RESULT;
}

static SB_RESULT create_key_fields(const json_t *req, struct sb_kstore_key *key,
				   const char **policy, bool *bypass)
{
	const char *desc;
	bool multi;

	SB_GUARD(description(req, false, &desc));
	SB_GUARD(sb_buf_append_str(&key->description, desc != NULL ? desc : ""));
	SB_GUARD(check_enum(req, "KeyUsage", "ENCRYPT_DECRYPT"));
	SB_GUARD(check_enum(req, "KeySpec", SB_KMSD_SYMMETRIC_DEFAULT));
	SB_GUARD(check_enum(req, "CustomerMasterKeySpec", SB_KMSD_SYMMETRIC_DEFAULT));
	SB_GUARD(check_enum(req, "Origin", "AWS_KMS"));
	SB_GUARD(sb_kmsd_bool(req, "MultiRegion", &multi));
	/* Refused, not dropped: a caller asking for a multi-Region key must not
	 * believe it has one. */
	SB_ENSURE_MSG(!multi, SB_ERR_KMS_UNSUPPORTED,
		      "Multi-Region keys are not supported by sealbid-kms (single region).");
	SB_GUARD(sb_kjson_string(req, "Policy", false, policy));
	return sb_kmsd_bool(req, "BypassPolicyLockoutSafetyCheck", bypass);
}

/* CreateKey has no key to check a policy on: any authenticated principal. */
SB_KMSD_OP(create_key)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct sb_kstore_tag tags[SB_KSTORE_MAX_TAGS];
	size_t n_tags = 0;
	const char *policy;
	bool bypass;

	sb_kstore_key_init(&key);
	SB_GUARD(create_key_fields(req, &key, &policy, &bypass));
	SB_GUARD(sb_kmsd_parse_tags(req, false, tags, &n_tags));
	SB_GUARD(sb_kblob_key_id_new(key.id));
	memcpy(log_id, key.id, sizeof(key.id));
	if (policy != NULL) {
		SB_GUARD(check_policy(k, c, policy, key.id, bypass));
		SB_GUARD(sb_buf_append_str(&key.policy, policy));
	} else {
		SB_GUARD(sb_policy_default(c->principal->account_id, &key.policy));
	}
	SB_GUARD(sb_random_bytes(key.material, sizeof(key.material)));
	key.creation_ms = c->now_ms;
	key.enabled = true;
	/* Committed (and synced), with its tags, before the response exists. */
	SB_GUARD(sb_kstore_create_key(k->store, &key, tags, n_tags));
	return set_metadata(k, &key, resp);
}

SB_KMSD_OP(describe_key)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kmsd_grant_tokens(req));
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", true, &key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, "kms:DescribeKey", &key, NULL, NULL));
	return set_metadata(k, &key, resp);
}

/* Loads the KeyId (id or ARN only, "Specify the key ID or key ARN", unless
 * the action is one sealbid-kms has always let an alias name: the key
 * policy calls), authorises action and checks the state use. */
static SB_RESULT manage_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			    const char *action, enum sb_kmsd_use use, struct sb_kstore_key *key,
			    char *log_id)
{
	bool alias = strcmp(action, "kms:GetKeyPolicy") == 0 ||
		     strcmp(action, "kms:PutKeyPolicy") == 0;

	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "KeyId", alias, key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, action, key, NULL, NULL));
	return sb_kmsd_check_state(k, key, use);
}

SB_KMSD_OP(enable_key)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(manage_key(k, c, req, "kms:EnableKey", SB_KMSD_USE_MANAGE, &key, log_id));
	return sb_kstore_set_state(k->store, key.id, true, 0, 0);
}

SB_KMSD_OP(disable_key)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(manage_key(k, c, req, "kms:DisableKey", SB_KMSD_USE_MANAGE, &key, log_id));
	return sb_kstore_set_state(k->store, key.id, false, 0, 0);
}

SB_KMSD_OP(schedule_key_deletion)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX];
	long long days = PENDING_DEFAULT;
	uint64_t when;
	bool has;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kjson_int(req, "PendingWindowInDays", PENDING_MIN, PENDING_MAX, &has, &days));
	SB_GUARD(manage_key(k, c, req, "kms:ScheduleKeyDeletion", SB_KMSD_USE_MANAGE, &key,
			    log_id));
	when = c->now_ms + (uint64_t)days * DAY_MS;
	/* "the KMS key state changes to PendingDeletion", and it is unusable. */
	SB_GUARD(sb_kstore_set_state(k->store, key.id, false, when, (unsigned)days));
	sb_kmsd_key_arn(k, key.id, arn);
	SB_GUARD(sb_kmsd_set_str(resp, "KeyId", arn));
	SB_ENSURE(json_object_set_new(resp, "DeletionDate", json_real((double)when / 1000.0)) == 0,
		  SB_ERR_NOMEM);
	SB_GUARD(sb_kmsd_set_str(resp, "KeyState", "PendingDeletion"));
	SB_ENSURE(json_object_set_new(resp, "PendingWindowInDays", json_integer(days)) == 0,
		  SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* "If the operation is successful, the KMS key state is Disabled." Only a
 * key pending deletion can have its deletion cancelled. */
SB_KMSD_OP(cancel_key_deletion)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char arn[SB_KMSD_ARN_MAX];

	sb_kstore_key_init(&key);
	SB_GUARD(manage_key(k, c, req, "kms:CancelKeyDeletion", SB_KMSD_USE_ANY, &key, log_id));
	sb_kmsd_key_arn(k, key.id, arn);
	SB_ENSURE_MSG(key.deletion_ms != 0, SB_ERR_KMS_INVALID_STATE, "%s is not pending deletion.",
		      arn);
	SB_GUARD(sb_kstore_set_state(k->store, key.id, false, 0, 0));
	return sb_kmsd_set_str(resp, "KeyId", arn);
}

SB_KMSD_OP(update_key_description)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *desc;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(description(req, true, &desc));
	SB_GUARD(manage_key(k, c, req, "kms:UpdateKeyDescription", SB_KMSD_USE_MANAGE, &key,
			    log_id));
	return sb_kstore_set_description(k->store, key.id, sb_slice_str(desc));
}

static SB_RESULT policy_name(const json_t *req, bool required)
{
	const char *name;

	SB_GUARD(sb_kjson_string(req, "PolicyName", required, &name));
	/* "The only valid name is default." */
	SB_ENSURE_MSG(name == NULL || strcmp(name, "default") == 0, SB_ERR_KMS_NOT_FOUND,
		      "No such policy exists");
	return SB_OK_RESULT;
}

SB_KMSD_OP(get_key_policy)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);

	sb_kstore_key_init(&key);
	SB_GUARD(policy_name(req, false));
	SB_GUARD(manage_key(k, c, req, "kms:GetKeyPolicy", SB_KMSD_USE_ANY, &key, log_id));
	SB_GUARD(sb_kmsd_set_str(resp, "Policy", sb_buf_cstr(&key.policy)));
	return sb_kmsd_set_str(resp, "PolicyName", "default");
}

SB_KMSD_OP(put_key_policy)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *policy;
	bool bypass;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(policy_name(req, false));
	SB_GUARD(sb_kjson_string(req, "Policy", true, &policy));
	SB_GUARD(sb_kmsd_bool(req, "BypassPolicyLockoutSafetyCheck", &bypass));
	SB_GUARD(manage_key(k, c, req, "kms:PutKeyPolicy", SB_KMSD_USE_ANY, &key, log_id));
	SB_GUARD(check_policy(k, c, policy, key.id, bypass));
	return sb_kstore_set_policy(k->store, key.id, sb_slice_str(policy));
}

/* "ListKeyPolicies ... The only valid policy name is default." */
SB_KMSD_OP(list_key_policies)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	struct sb_kmsd_page p;
	sb_result rc;

	sb_kstore_key_init(&key);
	SB_GUARD(sb_kmsd_page_start(req, 'P', 1000, &p));
	rc = manage_key(k, c, req, "kms:ListKeyPolicies", SB_KMSD_USE_ANY, &key, log_id);
	/* The one page holds "default"; no marker is ever issued. */
	if (sb_ok(rc) && !p.has_marker && json_array_append_new(p.arr, json_string("default")) != 0)
		rc = sb_error_record(SB_ERR_NOMEM, SB_HERE);
	if (sb_ok(rc))
		rc = sb_kmsd_page_finish(resp, "PolicyNames", &p, false);
	sb_kmsd_page_cleanup(&p);
	return rc;
}

struct key_list {
	struct sb_kmsd *k;
	struct sb_kmsd_page *p;
};

static SB_RESULT visit_key(void *vctx, const char *id, const char *unused, uint64_t ms)
{
	struct key_list *l = vctx;
	char arn[SB_KMSD_ARN_MAX];

	(void)unused;
	(void)ms;
	sb_kmsd_key_arn(l->k, id, arn);
	SB_ENSURE(json_array_append_new(l->p->arr,
					json_pack("{s:s, s:s}", "KeyId", id, "KeyArn", arn)) == 0,
		  SB_ERR_NOMEM);
	sb_kmsd_page_last(l->p, id);
	return SB_OK_RESULT;
}

/* ListKeys is an account-level (IAM) permission in AWS; here every
 * principal of the server's account may list. */
SB_KMSD_OP(list_keys)
{
	struct sb_kmsd_page p;
	struct key_list l = {k, &p};
	bool more = false;
	sb_result rc;

	(void)log_id;
	SB_GUARD(sb_kstore_purge(k->store, c->now_ms, NULL));
	SB_GUARD(sb_kmsd_page_start(req, 'K', 1000, &p));
	rc = sb_kstore_list_keys(k->store, p.after, p.limit, visit_key, &l, &more);
	if (sb_ok(rc))
		rc = sb_kmsd_page_finish(resp, "Keys", &p, more);
	sb_kmsd_page_cleanup(&p);
	return rc;
}
