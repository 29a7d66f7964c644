/* Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases. */
#include <stdio.h>
#include <string.h>

#include "common/sb_mem.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

/* "AliasName ... must begin with alias/ followed by a name"; pattern
 * ^[a-zA-Z0-9/_-]+$, 1..256; "alias/aws/" is reserved for AWS. */
static SB_RESULT check_alias_name(const char *name)
{
	size_t n = strlen(name);

	SB_ENSURE_MSG(n > 6 && n <= SB_KSTORE_MAX_ALIAS_LEN && strncmp(name, "alias/", 6) == 0,
		      SB_ERR_KMS_VALIDATION, "Alias must start with the prefix \"alias/\".");
	SB_ENSURE_MSG(strncmp(name, "alias/aws/", 10) != 0, SB_ERR_KMS_VALIDATION,
		      "Alias names starting with alias/aws/ are reserved.");
	for (size_t i = 6; i < n; i++) {
		char ch = name[i];
		SB_ENSURE_MSG((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
				      (ch >= '0' && ch <= '9') || ch == '/' || ch == '_' ||
				      ch == '-',
			      SB_ERR_KMS_VALIDATION, "Alias name contains invalid characters.");
	}
	return SB_OK_RESULT;
}

/* AliasName of the request, checked, and (when the alias must exist) the key
 * it names now. */
static SB_RESULT alias_field(struct sb_kmsd *k, const json_t *req, const char **name,
			     char key_id[SB_KMSD_KEY_ID_SIZE])
{
	SB_GUARD(sb_kjson_string(req, "AliasName", true, name));
	SB_GUARD(check_alias_name(*name));
	if (key_id == NULL)
		return SB_OK_RESULT;
	sb_result r = sb_kstore_resolve_alias(k->store, *name, key_id);
	SB_ENSURE_MSG(r.code != SB_ERR_KMS_NOT_FOUND, SB_ERR_KMS_NOT_FOUND,
		      "Alias arn:aws:kms:%s:%s:%s is not found.", k->cfg->region,
		      k->cfg->account_id, *name);
	return r;
}

/* TargetKeyId: "Specify the key ID or key ARN", not an alias; loaded,
 * authorised for action, and not pending deletion. */
static SB_RESULT target_key(struct sb_kmsd *k, const struct sb_kmsd_caller *c, const json_t *req,
			    const char *action, struct sb_kstore_key *key, char *log_id)
{
	SB_GUARD(sb_kmsd_key_from_field(k, c, req, "TargetKeyId", false, key, log_id));
	SB_GUARD(sb_kmsd_authorize(k, c, action, key, NULL, NULL));
	return sb_kmsd_check_state(k, key, SB_KMSD_USE_MANAGE);
}

SB_KMSD_OP(create_alias)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	const char *name;
	sb_result r;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(alias_field(k, req, &name, NULL));
	SB_GUARD(target_key(k, c, req, "kms:CreateAlias", &key, log_id));
	r = sb_kstore_create_alias(k->store, name, key.id, c->now_ms);
	SB_ENSURE_MSG(r.code != SB_ERR_KMS_ALREADY_EXISTS, SB_ERR_KMS_ALREADY_EXISTS,
		      "An alias with the name arn:aws:kms:%s:%s:%s already exists", k->cfg->region,
		      k->cfg->account_id, name);
	return r;
}

/* UpdateAlias needs "kms:UpdateAlias on the alias ... the current KMS key
 * ... the new KMS key": both keys' policies are asked. */
SB_KMSD_OP(update_alias)
{
	SB_DEFER(struct sb_kstore_key old, sb_kstore_key_cleanup);
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char old_id[SB_KMSD_KEY_ID_SIZE];
	const char *name;

	(void)resp;
	sb_kstore_key_init(&old);
	sb_kstore_key_init(&key);
	SB_GUARD(alias_field(k, req, &name, old_id));
	SB_GUARD(target_key(k, c, req, "kms:UpdateAlias", &key, log_id));
	SB_GUARD(sb_kmsd_load_key(k, c, old_id, &old));
	SB_GUARD(sb_kmsd_authorize(k, c, "kms:UpdateAlias", &old, NULL, NULL));
	return sb_kstore_update_alias(k->store, name, key.id);
}

SB_KMSD_OP(delete_alias)
{
	SB_DEFER(struct sb_kstore_key key, sb_kstore_key_cleanup);
	char id[SB_KMSD_KEY_ID_SIZE];
	const char *name;

	(void)resp;
	sb_kstore_key_init(&key);
	SB_GUARD(alias_field(k, req, &name, id));
	memcpy(log_id, id, sizeof(id));
	SB_GUARD(sb_kmsd_load_key(k, c, id, &key));
	/* Allowed in every key state, PendingDeletion included. */
	SB_GUARD(sb_kmsd_authorize(k, c, "kms:DeleteAlias", &key, NULL, NULL));
	return sb_kstore_delete_alias(k->store, name);
}

struct alias_list {
	struct sb_kmsd *k;
	struct sb_kmsd_page *p;
};

static SB_RESULT visit_alias(void *vctx, const char *name, const char *key_id, uint64_t ms)
{
	struct alias_list *l = vctx;
	char arn[SB_KMSD_ARN_MAX];

	(void)snprintf(arn, sizeof(arn), "arn:aws:kms:%s:%s:%s", l->k->cfg->region,
		       l->k->cfg->account_id, name);
	SB_ENSURE(json_array_append_new(l->p->arr,
					json_pack("{s:s, s:s, s:s, s:f}", "AliasName", name,
						  "AliasArn", arn, "TargetKeyId", key_id,
						  "CreationDate", (double)ms / 1000.0)) == 0,
		  SB_ERR_NOMEM);
	sb_kmsd_page_last(l->p, name);
	return SB_OK_RESULT;
}

/* ListAliases is account-level in AWS; here every principal may list. */
SB_KMSD_OP(list_aliases)
{
	char id[SB_KMSD_KEY_ID_SIZE] = "";
	struct sb_kmsd_page p;
	struct alias_list l = {k, &p};
	const char *key_in;
	bool more = false;
	sb_result rc;

	(void)log_id;
	SB_GUARD(sb_kstore_purge(k->store, c->now_ms, NULL));
	SB_GUARD(sb_kmsd_page_start(req, 'A', 100, &p));
	rc = sb_kjson_string(req, "KeyId", false, &key_in);
	if (sb_ok(rc) && key_in != NULL)
		rc = sb_kmsd_resolve_key(k, key_in, false, id);
	if (sb_ok(rc))
		rc = sb_kstore_list_aliases(k->store, id, p.after, p.limit, visit_alias, &l, &more);
	if (sb_ok(rc))
		rc = sb_kmsd_page_finish(resp, "Aliases", &p, more);
	sb_kmsd_page_cleanup(&p);
	return rc;
}
