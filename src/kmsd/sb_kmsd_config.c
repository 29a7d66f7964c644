#include "kmsd/sb_kmsd_config.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/sb_file.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "kmsd/sb_kjson.h"

#define ROOT_FILE_MAX (64 * 1024)

void sb_kmsd_config_init(struct sb_kmsd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < SB_KMSD_MAX_ROOTS; i++)
		sb_buf_init(&cfg->roots[i], ROOT_FILE_MAX);
	cfg->trust_aws_root = true;
}

static void free_secret_str(char *s)
{
	if (s != NULL)
		sb_free_secret(s, strlen(s));
}

void sb_kmsd_config_cleanup(struct sb_kmsd_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_principals; i++) {
		free(cfg->principals[i].arn);
		free(cfg->principals[i].access_key_id);
		free_secret_str(cfg->principals[i].secret_access_key);
		free_secret_str(cfg->principals[i].session_token);
	}
	for (size_t i = 0; i < SB_KMSD_MAX_ROOTS; i++)
		sb_buf_cleanup(&cfg->roots[i]);
	sb_wipe(cfg->creds, sizeof(cfg->creds));
	cfg->n_principals = 0;
	cfg->n_roots = 0;
}

static bool all_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

SB_RESULT sb_kmsd_arn_account(const char *arn, char out[13])
{
	/* arn:partition:service:region:account-id:resource */
	const char *p = arn;

	SB_ENSURE_REF(arn);
	SB_ENSURE_MSG(strncmp(arn, "arn:", 4) == 0, SB_ERR_KMS_BAD_CONFIG, "not an ARN");
	for (int field = 0; field < 4; field++) {
		p = strchr(p, ':');
		SB_ENSURE_MSG(p != NULL, SB_ERR_KMS_BAD_CONFIG, "not an ARN");
		p++;
	}
	SB_ENSURE_MSG(strlen(p) > 13 && p[12] == ':', SB_ERR_KMS_BAD_CONFIG,
		      "ARN has no 12-digit account id");
	memcpy(out, p, 12);
	out[12] = '\0';
	SB_ENSURE_MSG(all_digits(out, 12), SB_ERR_KMS_BAD_CONFIG, "ARN has no 12-digit account id");
	return SB_OK_RESULT;
}

static SB_RESULT dup_field(const json_t *obj, const char *name, bool required, char **out)
{
	const char *s;
	sb_result r = sb_kjson_string(obj, name, required, &s);

	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_CONFIG, "principal field '%s' is missing or not a "
		      "string", name);
	*out = NULL;
	if (s == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(s[0] != '\0' && strlen(s) <= 4096, SB_ERR_KMS_BAD_CONFIG,
		      "principal field '%s' is empty or too long", name);
	*out = strdup(s);
	SB_ENSURE(*out != NULL, SB_ERR_NOMEM);
	return SB_OK_RESULT;
}

/* "expiration": null, absent, or an ISO 8601 time. */
static SB_RESULT parse_expiration(const json_t *o, struct sb_kmsd_principal *p)
{
	const json_t *v = json_object_get(o, "expiration");

	p->expiration_ms = 0;
	if (v == NULL || json_is_null(v))
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_string(v), SB_ERR_KMS_BAD_CONFIG, "principal expiration is not a string");
	if (!sb_ok(sb_time_parse(sb_slice_str(json_string_value(v)), &p->expiration_ms)) ||
	    p->expiration_ms == 0)
		SB_BAIL_MSG(SB_ERR_KMS_BAD_CONFIG, "principal expiration is not an ISO 8601 time");
	return SB_OK_RESULT;
}

static SB_RESULT parse_principal(const json_t *o, struct sb_kmsd_config *cfg, size_t i)
{
	struct sb_kmsd_principal *p = &cfg->principals[i];

	SB_ENSURE_MSG(json_is_object(o), SB_ERR_KMS_BAD_CONFIG, "principal %zu is not an object",
		      i);
	cfg->n_principals = i + 1; /* so cleanup frees what follows */
	SB_GUARD(dup_field(o, "arn", true, &p->arn));
	SB_GUARD(dup_field(o, "access_key_id", true, &p->access_key_id));
	SB_GUARD(dup_field(o, "secret_access_key", true, &p->secret_access_key));
	SB_GUARD(dup_field(o, "session_token", false, &p->session_token));
	SB_GUARD(parse_expiration(o, p));
	SB_GUARD(sb_kmsd_arn_account(p->arn, p->account_id));
	for (size_t j = 0; j < i; j++)
		SB_ENSURE_MSG(strcmp(cfg->principals[j].access_key_id, p->access_key_id) != 0,
			      SB_ERR_KMS_BAD_CONFIG, "access key of principal %zu is repeated", i);
	cfg->creds[i] = (struct sb_sigv4_credential){p->access_key_id, p->secret_access_key,
						      p->session_token};
	return SB_OK_RESULT;
}

static SB_RESULT load_root(struct sb_kmsd_config *cfg, const char *path, const char *base_dir)
{
	char full[4096];
	int n;

	SB_ENSURE_MSG(cfg->n_roots < SB_KMSD_MAX_ROOTS, SB_ERR_KMS_BAD_CONFIG,
		      "at most %d attestation_roots", SB_KMSD_MAX_ROOTS);
	if (path[0] == '/' || base_dir == NULL)
		n = snprintf(full, sizeof(full), "%s", path);
	else
		n = snprintf(full, sizeof(full), "%s/%s", base_dir, path);
	SB_ENSURE(n > 0 && (size_t)n < sizeof(full), SB_ERR_TOO_LARGE);
	sb_result r = sb_file_read(full, &cfg->roots[cfg->n_roots]);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_CONFIG, "cannot read attestation root %s", full);
	cfg->n_roots++;
	return SB_OK_RESULT;
}

static SB_RESULT parse_roots(const json_t *doc, const char *base_dir, struct sb_kmsd_config *cfg)
{
	const json_t *roots = json_object_get(doc, "attestation_roots");
	const json_t *trust = json_object_get(doc, "trust_aws_nitro_root");

	if (trust != NULL && !json_is_null(trust)) {
		SB_ENSURE_MSG(json_is_boolean(trust), SB_ERR_KMS_BAD_CONFIG,
			      "trust_aws_nitro_root must be true or false");
		cfg->trust_aws_root = json_is_true(trust);
	}
	if (roots == NULL || json_is_null(roots))
		return SB_OK_RESULT;
	SB_ENSURE_MSG(json_is_array(roots), SB_ERR_KMS_BAD_CONFIG,
		      "attestation_roots must be a list of paths");
	for (size_t i = 0; i < json_array_size(roots); i++) {
		const char *p = json_string_value(json_array_get(roots, i));
		SB_ENSURE_MSG(p != NULL && p[0] != '\0', SB_ERR_KMS_BAD_CONFIG,
			      "attestation_roots[%zu] must be a path", i);
		SB_GUARD(load_root(cfg, p, base_dir));
	}
	return SB_OK_RESULT;
}

static SB_RESULT parse_doc(const json_t *doc, const char *base_dir, struct sb_kmsd_config *cfg)
{
	const char *region, *account;
	const json_t *ps = json_object_get(doc, "principals");
	sb_result r;

	SB_ENSURE_MSG(json_is_object(doc), SB_ERR_KMS_BAD_CONFIG, "configuration must be an object");
	r = sb_kjson_string(doc, "region", true, &region);
	SB_ENSURE_MSG(sb_ok(r) && strlen(region) > 0 && strlen(region) < sizeof(cfg->region),
		      SB_ERR_KMS_BAD_CONFIG, "region must be a region name");
	r = sb_kjson_string(doc, "account_id", true, &account);
	SB_ENSURE_MSG(sb_ok(r) && all_digits(account, 12), SB_ERR_KMS_BAD_CONFIG,
		      "account_id must be 12 digits");
	memcpy(cfg->region, region, strlen(region) + 1);
	memcpy(cfg->account_id, account, 13);
	SB_ENSURE_MSG(json_is_array(ps) && json_array_size(ps) > 0 &&
			      json_array_size(ps) <= SB_KMSD_MAX_PRINCIPALS,
		      SB_ERR_KMS_BAD_CONFIG, "principals must be a list of 1..%d principals",
		      SB_KMSD_MAX_PRINCIPALS);
	for (size_t i = 0; i < json_array_size(ps); i++)
		SB_GUARD(parse_principal(json_array_get(ps, i), cfg, i));
	return parse_roots(doc, base_dir, cfg);
}

/* jansson frees strings without wiping; the secrets are wiped first. */
static void wipe_json_secrets(json_t *doc)
{
	const json_t *ps = json_object_get(doc, "principals");
	static const char *const secret[] = {"secret_access_key", "session_token"};

	for (size_t i = 0; json_is_array(ps) && i < json_array_size(ps); i++) {
		for (size_t k = 0; k < 2; k++) {
			json_t *s = json_object_get(json_array_get(ps, i), secret[k]);
			if (json_is_string(s))
				sb_wipe((char *)json_string_value(s), json_string_length(s));
		}
	}
}

SB_RESULT sb_kmsd_config_parse(struct sb_slice json, const char *base_dir,
			       struct sb_kmsd_config *cfg)
{
	json_t *doc = NULL;
	sb_result rc;

	SB_ENSURE_REF(cfg);
	rc = sb_kjson_parse(json, SB_KJSON_MAX_DEPTH, &doc);
	if (!sb_ok(rc))
		SB_BAIL_MSG(SB_ERR_KMS_BAD_CONFIG, "configuration is not valid JSON: %s",
			    sb_error_detail());
	rc = parse_doc(doc, base_dir, cfg);
	wipe_json_secrets(doc);
	json_decref(doc);
	return rc;
}

SB_RESULT sb_kmsd_config_load(const char *path, struct sb_kmsd_config *cfg)
{
	SB_DEFER(struct sb_buf text, sb_buf_cleanup) = SB_BUF_INIT_SECRET(SB_KMSD_CONFIG_MAX);
	char dir[4096];
	int n;

	SB_ENSURE_REF(path);
	sb_result r = sb_file_read(path, &text);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_CONFIG, "cannot read %s: %s", path,
		      sb_error_message(r.code));
	n = snprintf(dir, sizeof(dir), "%s", path);
	SB_ENSURE(n > 0 && (size_t)n < sizeof(dir), SB_ERR_TOO_LARGE);
	SB_GUARD(sb_kmsd_config_parse(sb_buf_slice(&text), dirname(dir), cfg));
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_config_default(struct sb_kmsd_config *cfg)
{
	static const char dev[] =
		"{\"region\":\"" SB_KMSD_DEV_REGION "\",\"account_id\":\"" SB_KMSD_DEV_ACCOUNT
		"\",\"principals\":[{\"arn\":\"" SB_KMSD_DEV_ARN "\",\"access_key_id\":\"" SB_KMSD_DEV_ACCESS_KEY
		"\",\"secret_access_key\":\"" SB_KMSD_DEV_SECRET "\"}]}";
	char dir[4096], root[4200];
	struct stat st;

	SB_GUARD(sb_kmsd_config_parse(SB_SLICE_LIT(dev), NULL, cfg));
	SB_GUARD(sb_state_dir(dir, sizeof(dir)));
	(void)snprintf(root, sizeof(root), "%s/ca/dev-root.pem", dir);
	if (stat(root, &st) == 0)
		SB_GUARD(load_root(cfg, root, NULL));
	return SB_OK_RESULT;
}
