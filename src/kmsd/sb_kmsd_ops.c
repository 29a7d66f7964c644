/*
 * The KMS operation table: X-Amz-Target "TrentService.<name>" -> handler.
 * The handlers are grouped by file (see sb_kmsd_internal.h); an operation
 * not listed here is UnknownOperationException.
 */
#include <string.h>

#include "kmsd/sb_kmsd_internal.h"

static const struct sb_kmsd_op ops[] = {
	{"CancelKeyDeletion", sb_kmsd_op_cancel_key_deletion},
	{"CreateAlias", sb_kmsd_op_create_alias},
	{"CreateGrant", sb_kmsd_op_create_grant},
	{"CreateKey", sb_kmsd_op_create_key},
	{"Decrypt", sb_kmsd_op_decrypt},
	{"DeleteAlias", sb_kmsd_op_delete_alias},
	{"DescribeKey", sb_kmsd_op_describe_key},
	{"DisableKey", sb_kmsd_op_disable_key},
	{"EnableKey", sb_kmsd_op_enable_key},
	{"Encrypt", sb_kmsd_op_encrypt},
	{"GenerateDataKey", sb_kmsd_op_generate_data_key},
	{"GenerateDataKeyWithoutPlaintext", sb_kmsd_op_generate_data_key_without_plaintext},
	{"GenerateRandom", sb_kmsd_op_generate_random},
	{"GetKeyPolicy", sb_kmsd_op_get_key_policy},
	{"ListAliases", sb_kmsd_op_list_aliases},
	{"ListGrants", sb_kmsd_op_list_grants},
	{"ListKeyPolicies", sb_kmsd_op_list_key_policies},
	{"ListKeys", sb_kmsd_op_list_keys},
	{"ListResourceTags", sb_kmsd_op_list_resource_tags},
	{"PutKeyPolicy", sb_kmsd_op_put_key_policy},
	{"ReEncrypt", sb_kmsd_op_re_encrypt},
	{"RetireGrant", sb_kmsd_op_retire_grant},
	{"RevokeGrant", sb_kmsd_op_revoke_grant},
	{"ScheduleKeyDeletion", sb_kmsd_op_schedule_key_deletion},
	{"TagResource", sb_kmsd_op_tag_resource},
	{"UntagResource", sb_kmsd_op_untag_resource},
	{"UpdateAlias", sb_kmsd_op_update_alias},
	{"UpdateKeyDescription", sb_kmsd_op_update_key_description},
};

const struct sb_kmsd_op *sb_kmsd_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}
