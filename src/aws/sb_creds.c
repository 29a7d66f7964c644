#include "aws/sb_creds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_parse.h"
#include "common/sb_time.h"

#define IMDS_DEFAULT_ENDPOINT "http://169.254.169.254"
#define IMDS_TOKEN_MAX        1024
#define IMDS_RESPONSE_MAX     (64u << 10)
#define STS_RESPONSE_MAX      (64u << 10)
#define STS_CONTENT_TYPE      "application/x-www-form-urlencoded; charset=utf-8"

/* ---- environment ------------------------------------------------------- */

static const char *env_nonempty(const char *name)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : NULL;
}

SB_RESULT sb_creds_from_env(struct sb_aws_creds *out, bool *found)
{
	const char *id = env_nonempty("AWS_ACCESS_KEY_ID");
	const char *secret = env_nonempty("AWS_SECRET_ACCESS_KEY");
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE_REF(found);
	*found = false;
	if (id == NULL && secret == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(id != NULL && secret != NULL, SB_ERR_AWS_NO_CREDENTIALS,
		      "environment: %s is set but %s is not",
		      id != NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
		      id != NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
	const char *exp = env_nonempty("AWS_CREDENTIAL_EXPIRATION");
	uint64_t exp_ms = 0;
	if (exp != NULL && !sb_ok(sb_time_parse(sb_slice_str(exp), &exp_ms)))
		SB_BAIL_MSG(SB_ERR_AWS_NO_CREDENTIALS,
			    "environment: AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
	rc = sb_aws_creds_set(out, sb_slice_str(id), sb_slice_str(secret),
			      sb_slice_str(getenv("AWS_SESSION_TOKEN")), exp_ms);
	if (!sb_ok(rc)) {
		sb_error_context("environment credentials");
		return rc;
	}
	*found = true;
	return SB_OK_RESULT;
}

/* ---- response parsers (untrusted input) -------------------------------- */

static SB_RESULT json_str(json_t *root, const char *name, struct sb_slice *out)
{
	json_t *v = json_object_get(root, name);

	SB_ENSURE_MSG(v != NULL && json_is_string(v), SB_ERR_AWS_BAD_RESPONSE,
		      "IMDS credentials: %s missing or not a string", name);
	*out = SB_SLICE(json_string_value(v), json_string_length(v));
	return SB_OK_RESULT;
}

static SB_RESULT imds_fields(json_t *root, struct sb_aws_creds *out)
{
	struct sb_slice code, id, secret, token, exp;
	json_t *type = json_object_get(root, "Type");
	uint64_t exp_ms;

	SB_ENSURE_MSG(json_is_object(root), SB_ERR_AWS_BAD_RESPONSE,
		      "IMDS credentials: not a JSON object");
	SB_GUARD(json_str(root, "Code", &code));
	SB_ENSURE_MSG(sb_slice_eq_str(code, "Success"), SB_ERR_AWS_BAD_RESPONSE,
		      "IMDS credentials: Code is not Success");
	SB_ENSURE_MSG(type == NULL || json_is_string(type), SB_ERR_AWS_BAD_RESPONSE,
		      "IMDS credentials: Type is not a string");
	SB_GUARD(json_str(root, "AccessKeyId", &id));
	SB_GUARD(json_str(root, "SecretAccessKey", &secret));
	SB_GUARD(json_str(root, "Token", &token));
	SB_GUARD(json_str(root, "Expiration", &exp));
	SB_GUARD(sb_time_parse(exp, &exp_ms));
	return sb_aws_creds_set(out, id, secret, token, exp_ms);
}

SB_RESULT sb_creds_parse_imds_json(struct sb_slice body, struct sb_aws_creds *out)
{
	json_error_t jerr;
	json_t *root;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_aws_json_init());
	SB_ENSURE_MSG(body.len <= IMDS_RESPONSE_MAX, SB_ERR_TOO_LARGE, "IMDS response too large");
	root = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
	SB_ENSURE_MSG(root != NULL, SB_ERR_AWS_BAD_RESPONSE, "IMDS credentials: not JSON (%s)",
		      jerr.text);
	rc = imds_fields(root, out);
	json_decref(root);
	if (!sb_ok(rc))
		sb_error_context("IMDS");
	return rc;
}

/* The text of <name> inside in, entity-decoded into out (secret or not). */
static SB_RESULT xml_text(struct sb_slice in, const char *name, struct sb_buf *out)
{
	struct sb_slice v;
	sb_result rc = sb_aws_xml_find(in, name, &v);

	if (!sb_ok(rc)) {
		sb_error_context("STS AssumeRole response");
		return rc.code == SB_ERR_NOT_FOUND ? sb_error_recordf(SB_ERR_AWS_BAD_RESPONSE, SB_HERE,
								      "STS AssumeRole: no <%s>", name)
						   : rc;
	}
	return sb_aws_xml_unescape(v, out);
}

SB_RESULT sb_creds_parse_sts_xml(struct sb_slice body, struct sb_aws_creds *out)
{
	struct sb_slice result, creds;
	struct sb_buf id = SB_BUF_INIT(SB_AWS_KEY_ID_MAX), exp = SB_BUF_INIT(64);
	struct sb_buf secret = SB_BUF_INIT_SECRET(SB_AWS_SECRET_MAX);
	struct sb_buf token = SB_BUF_INIT_SECRET(SB_AWS_TOKEN_MAX);
	uint64_t exp_ms;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(body.len <= STS_RESPONSE_MAX, SB_ERR_TOO_LARGE, "STS response too large");
	SB_GUARD_GOTO(rc, sb_aws_xml_find(body, "AssumeRoleResult", &result), bad);
	SB_GUARD_GOTO(rc, sb_aws_xml_find(result, "Credentials", &creds), bad);
	SB_GUARD_GOTO(rc, xml_text(creds, "AccessKeyId", &id), out);
	SB_GUARD_GOTO(rc, xml_text(creds, "SecretAccessKey", &secret), out);
	SB_GUARD_GOTO(rc, xml_text(creds, "SessionToken", &token), out);
	SB_GUARD_GOTO(rc, xml_text(creds, "Expiration", &exp), out);
	SB_GUARD_GOTO(rc, sb_time_parse(sb_buf_slice(&exp), &exp_ms), out);
	rc = sb_aws_creds_set(out, sb_buf_slice(&id), sb_buf_slice(&secret), sb_buf_slice(&token),
			      exp_ms);
	goto out;
bad:
	rc = sb_error_recordf(SB_ERR_AWS_BAD_RESPONSE, SB_HERE,
			      "STS AssumeRole: no AssumeRoleResult/Credentials in the response");
out:
	sb_buf_cleanup(&id);
	sb_buf_cleanup(&exp);
	sb_buf_cleanup(&secret);
	sb_buf_cleanup(&token);
	return rc;
}

/* ---- STS AssumeRole ---------------------------------------------------- */

struct assume_params {
	const char *role_arn;
	const char *session_name; /* NULL: "sealbid-<unix ms>" */
	const char *external_id;
	const char *duration;     /* seconds, NULL: STS default */
};

static SB_RESULT form_field(struct sb_buf *b, const char *name, const char *value)
{
	SB_GUARD(sb_buf_printf(b, "&%s=", name));
	return sb_aws_uri_encode(sb_slice_str(value), false, b);
}

static SB_RESULT sts_body(const struct assume_params *p, struct sb_buf *body)
{
	char session[64];
	uint32_t secs;

	SB_GUARD(sb_buf_append_str(body, "Action=AssumeRole&Version=2011-06-15"));
	SB_GUARD(form_field(body, "RoleArn", p->role_arn));
	if (p->session_name == NULL)
		(void)snprintf(session, sizeof(session), "sealbid-%llu",
			       (unsigned long long)sb_time_now_ms());
	SB_GUARD(form_field(body, "RoleSessionName", p->session_name ? p->session_name : session));
	if (p->external_id != NULL)
		SB_GUARD(form_field(body, "ExternalId", p->external_id));
	if (p->duration != NULL) {
		/* "DurationSeconds ... Minimum value of 900. Maximum value of 43200." */
		SB_GUARD(sb_parse_u32_str(p->duration, 900, 43200, &secs));
		SB_GUARD(sb_buf_printf(body, "&DurationSeconds=%u", secs));
	}
	return SB_OK_RESULT;
}

static SB_RESULT sts_assume_role(struct sb_http_client *http, const struct sb_aws_creds *base,
				 const struct assume_params *p, struct sb_aws_creds *out)
{
	char region[SB_AWS_REGION_MAX + 1];
	struct sb_buf url = SB_BUF_INIT(SB_AWS_URL_MAX + 1), body = SB_BUF_INIT(8192);
	struct sb_buf resp = SB_BUF_INIT_SECRET(STS_RESPONSE_MAX);
	struct sb_http_response r;
	bool custom;
	sb_result rc;

	sb_http_response_init(&r);
	if (!sb_ok(sb_aws_region(region))) {
		/* STS is global too: without a region, use us-east-1 as the SDKs do. */
		sb_error_clear();
		memcpy(region, "us-east-1", 10);
	}
	SB_GUARD_GOTO(rc, sb_aws_endpoint("sts", region, &url, &custom), out);
	SB_GUARD_GOTO(rc, sb_buf_append_str(&url, "/"), out);
	SB_GUARD_GOTO(rc, sts_body(p, &body), out);
	struct sb_http_sign sign = {.service = "sts", .region = region, .creds = base};
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "STS AssumeRole";
	req.method = "POST";
	req.url = sb_buf_cstr(&url);
	req.content_type = STS_CONTENT_TYPE;
	req.body = sb_buf_slice(&body);
	req.sign = &sign;
	req.error_format = SB_AWS_ERROR_XML;
	req.out = &resp;
	req.out_secret = true;
	SB_GUARD_GOTO(rc, sb_http_send(http, &req, &r), out);
	rc = sb_creds_parse_sts_xml(sb_buf_slice(&resp), out);
	if (sb_ok(rc))
		sb_log_debug("assumed role: access key id %s", out->access_key_id);
out:
	sb_http_response_cleanup(&r);
	sb_buf_cleanup(&url);
	sb_buf_cleanup(&body);
	sb_buf_cleanup(&resp);
	return rc;
}

/* ---- shared files: ~/.aws/credentials and ~/.aws/config ---------------- */

struct profile_files {
	struct sb_ini cred, conf;
	bool have_cred, have_conf;
	char cred_path[4096], conf_path[4096];
};

static SB_RESULT file_path(const char *env, const char *leaf, char out[4096])
{
	const char *v = env_nonempty(env), *home = env_nonempty("HOME");
	int n;

	if (v != NULL)
		n = snprintf(out, 4096, "%s", v);
	else if (home != NULL)
		n = snprintf(out, 4096, "%s/.aws/%s", home, leaf);
	else
		n = snprintf(out, 4096, "%s", "");
	SB_ENSURE_MSG(n >= 0 && n < 4096, SB_ERR_TOO_LARGE, "%s: path too long", env);
	return SB_OK_RESULT;
}

static void files_cleanup(struct profile_files *f)
{
	sb_ini_cleanup(&f->cred);
	sb_ini_cleanup(&f->conf);
}

static SB_RESULT files_load(struct profile_files *f)
{
	memset(f, 0, sizeof(*f));
	sb_ini_init(&f->cred);
	sb_ini_init(&f->conf);
	SB_GUARD(file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", f->cred_path));
	SB_GUARD(file_path("AWS_CONFIG_FILE", "config", f->conf_path));
	if (f->cred_path[0] != '\0')
		SB_GUARD(sb_ini_load(&f->cred, f->cred_path, &f->have_cred));
	if (f->conf_path[0] != '\0')
		SB_GUARD(sb_ini_load(&f->conf, f->conf_path, &f->have_conf));
	return SB_OK_RESULT;
}

/* "default" or "profile <name>": the config file's section for a profile. */
static void conf_section(const char *profile, char out[320])
{
	if (strcmp(profile, "default") == 0)
		(void)snprintf(out, 320, "default");
	else
		(void)snprintf(out, 320, "profile %s", profile);
}

/* The credentials file wins over the config file for the same setting. */
static const char *prof_get(const struct profile_files *f, const char *profile, const char *key)
{
	char sect[320];
	const char *v = f->have_cred ? sb_ini_get(&f->cred, profile, key) : NULL;

	if (v != NULL || !f->have_conf)
		return v;
	conf_section(profile, sect);
	v = sb_ini_get(&f->conf, sect, key);
	if (v == NULL && strcmp(profile, "default") == 0)
		v = sb_ini_get(&f->conf, "profile default", key);
	return v;
}

static bool prof_exists(const struct profile_files *f, const char *profile)
{
	char sect[320];

	conf_section(profile, sect);
	return (f->have_cred && sb_ini_has_section(&f->cred, profile)) ||
	       (f->have_conf && (sb_ini_has_section(&f->conf, sect) ||
				 (strcmp(profile, "default") == 0 &&
				  sb_ini_has_section(&f->conf, "profile default"))));
}

static SB_RESULT prof_static(const struct profile_files *f, const char *profile,
			     struct sb_aws_creds *out, bool *found)
{
	const char *id = prof_get(f, profile, "aws_access_key_id");
	const char *secret = prof_get(f, profile, "aws_secret_access_key");
	sb_result rc;

	*found = false;
	if (id == NULL && secret == NULL)
		return SB_OK_RESULT;
	SB_ENSURE_MSG(id != NULL && secret != NULL, SB_ERR_AWS_BAD_CONFIG,
		      "profile '%s': aws_access_key_id and aws_secret_access_key must both be set",
		      profile);
	rc = sb_aws_creds_set(out, sb_slice_str(id), sb_slice_str(secret),
			      sb_slice_str(prof_get(f, profile, "aws_session_token")), 0);
	if (!sb_ok(rc)) {
		sb_error_context("profile '%s'", profile);
		return rc;
	}
	*found = true;
	return SB_OK_RESULT;
}

static SB_RESULT prof_resolve(const struct profile_files *f, const char *profile, unsigned depth,
			      struct sb_http_client *http, struct sb_aws_creds *out, bool *found);

/* The credentials a role is assumed with: source_profile or credential_source. */
static SB_RESULT role_base(const struct profile_files *f, const char *profile, unsigned depth,
			   struct sb_http_client *http, struct sb_aws_creds *base)
{
	const char *src = prof_get(f, profile, "source_profile");
	const char *cs = prof_get(f, profile, "credential_source");
	bool found = false;

	SB_ENSURE_MSG((src != NULL) != (cs != NULL), SB_ERR_AWS_BAD_CONFIG,
		      "profile '%s': role_arn needs exactly one of source_profile and "
		      "credential_source",
		      profile);
	if (src != NULL && strcmp(src, profile) == 0)
		SB_GUARD(prof_static(f, profile, base, &found));
	else if (src != NULL)
		SB_GUARD(prof_resolve(f, src, depth + 1, http, base, &found));
	else if (strcmp(cs, "Environment") == 0)
		SB_GUARD(sb_creds_from_env(base, &found));
	else if (strcmp(cs, "Ec2InstanceMetadata") == 0) {
		struct sb_imds imds;
		SB_GUARD(sb_imds_init(&imds));
		sb_result rc = sb_creds_from_imds(&imds, base, &found);
		sb_imds_cleanup(&imds);
		SB_GUARD(rc);
	} else
		SB_BAIL_MSG(SB_ERR_UNSUPPORTED, "profile '%s': credential_source '%s' not supported",
			    profile, cs);
	SB_ENSURE_MSG(found, SB_ERR_AWS_NO_CREDENTIALS,
		      "profile '%s': the source of its role has no credentials", profile);
	return SB_OK_RESULT;
}

static SB_RESULT prof_assume(const struct profile_files *f, const char *profile, unsigned depth,
			     struct sb_http_client *http, struct sb_aws_creds *out)
{
	struct sb_aws_creds base;
	struct assume_params p = {
		.role_arn = prof_get(f, profile, "role_arn"),
		.session_name = prof_get(f, profile, "role_session_name"),
		.external_id = prof_get(f, profile, "external_id"),
		.duration = prof_get(f, profile, "duration_seconds"),
	};
	sb_result rc;

	SB_ENSURE_MSG(depth < SB_CREDS_ROLE_DEPTH_MAX, SB_ERR_AWS_BAD_CONFIG,
		      "profile '%s': source_profile chain too deep or circular", profile);
	sb_aws_creds_init(&base);
	SB_GUARD_GOTO(rc, role_base(f, profile, depth, http, &base), out);
	rc = sts_assume_role(http, &base, &p, out);
	if (!sb_ok(rc))
		sb_error_context("profile '%s'", profile);
out:
	sb_aws_creds_cleanup(&base);
	return rc;
}

static SB_RESULT prof_resolve(const struct profile_files *f, const char *profile, unsigned depth,
			      struct sb_http_client *http, struct sb_aws_creds *out, bool *found)
{
	*found = false;
	SB_ENSURE_MSG(depth <= SB_CREDS_ROLE_DEPTH_MAX, SB_ERR_AWS_BAD_CONFIG,
		      "profile '%s': source_profile chain too deep or circular", profile);
	if (!prof_exists(f, profile))
		return SB_OK_RESULT;
	/* A profile with role_arn assumes the role, even if it also has static keys. */
	if (prof_get(f, profile, "role_arn") != NULL) {
		SB_GUARD(prof_assume(f, profile, depth, http, out));
		*found = true;
		return SB_OK_RESULT;
	}
	return prof_static(f, profile, out, found);
}

static bool profile_name_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 256)
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7f || p[i] == '[' || p[i] == ']')
			return false;
	return true;
}

SB_RESULT sb_creds_from_profile(const char *profile, struct sb_http_client *http,
				struct sb_aws_creds *out, bool *found)
{
	struct profile_files f;
	struct sb_http_client *own = NULL;
	const char *name = profile != NULL ? profile : env_nonempty("AWS_PROFILE");
	bool must_exist = name != NULL;
	sb_result rc;

	SB_ENSURE_REF(out);
	SB_ENSURE_REF(found);
	*found = false;
	if (name == NULL)
		name = "default";
	SB_ENSURE_MSG(profile_name_ok(name), SB_ERR_INVALID_ARG, "invalid profile name");
	SB_GUARD_GOTO(rc, files_load(&f), out);
	if (!prof_exists(&f, name)) {
		if (must_exist)
			SB_FAIL_GOTO_MSG(rc, SB_ERR_AWS_BAD_CONFIG, out,
					 "profile '%s' not found in %s or %s", name, f.cred_path,
					 f.conf_path);
		goto out;
	}
	if (http == NULL) {
		struct sb_http_config cfg;
		sb_http_config_default(&cfg);
		SB_GUARD_GOTO(rc, sb_http_client_new(&cfg, &own), out);
		http = own;
	}
	rc = prof_resolve(&f, name, 0, http, out, found);
out:
	sb_http_client_free(own);
	files_cleanup(&f);
	return rc;
}

/* ---- IMDSv2 ------------------------------------------------------------ */

SB_RESULT sb_imds_init(struct sb_imds *imds)
{
	const char *ep = env_nonempty("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct sb_http_config cfg;
	size_t n;

	SB_ENSURE_REF(imds);
	memset(imds, 0, sizeof(*imds));
	sb_buf_init_secret(&imds->token, IMDS_TOKEN_MAX);
	if (ep == NULL)
		ep = IMDS_DEFAULT_ENDPOINT;
	SB_GUARD(sb_aws_endpoint_check(ep));
	n = strlen(ep);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	memcpy(imds->endpoint, ep, n);
	imds->endpoint[n] = '\0';
	/* The SDKs give IMDS 1 s and one attempt: off EC2 there is nobody there. */
	sb_http_config_default(&cfg);
	cfg.connect_timeout_ms = 1000;
	cfg.timeout_ms = 5000;
	cfg.max_attempts = 1;
	return sb_http_client_new(&cfg, &imds->http);
}

void sb_imds_cleanup(struct sb_imds *imds)
{
	if (imds == NULL)
		return;
	sb_http_client_free(imds->http);
	sb_buf_cleanup(&imds->token);
	memset(imds, 0, sizeof(*imds));
}

static SB_RESULT imds_token(struct sb_imds *imds)
{
	char url[SB_AWS_URL_MAX + 64], ttl[64];
	struct sb_http_response r;
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	uint64_t now = sb_time_now_ms();
	sb_result rc;

	if (imds->token.len > 0 && now < imds->token_expiry_ms)
		return SB_OK_RESULT;
	sb_buf_reset(&imds->token);
	(void)snprintf(url, sizeof(url), "%s/latest/api/token", imds->endpoint);
	(void)snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %u",
		       SB_CREDS_IMDS_TOKEN_TTL_S);
	req.op = "IMDS token";
	req.method = "PUT";
	req.url = url;
	req.headers[0] = ttl;
	req.out = &imds->token;
	req.out_secret = true;
	sb_http_response_init(&r);
	rc = sb_http_send(imds->http, &req, &r);
	sb_http_response_cleanup(&r);
	SB_GUARD(rc);
	for (size_t i = 0; i < imds->token.len; i++)
		SB_ENSURE_MSG(imds->token.data[i] > 0x20 && imds->token.data[i] < 0x7f,
			      SB_ERR_AWS_BAD_RESPONSE, "IMDS token: invalid characters");
	SB_ENSURE_MSG(imds->token.len > 0, SB_ERR_AWS_BAD_RESPONSE, "IMDS token: empty");
	/* Re-fetch a minute before the TTL ends. */
	imds->token_expiry_ms = now + (SB_CREDS_IMDS_TOKEN_TTL_S - 60u) * 1000u;
	imds->token_fetches++;
	return SB_OK_RESULT;
}

static SB_RESULT imds_get_once(struct sb_imds *imds, const char *path, struct sb_buf *out,
			       long *status)
{
	char url[SB_AWS_URL_MAX + 256];
	struct sb_buf hdr = SB_BUF_INIT_SECRET(IMDS_TOKEN_MAX + 64);
	struct sb_http_response r;
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	sb_result rc;

	SB_GUARD(imds_token(imds));
	(void)snprintf(url, sizeof(url), "%s%s", imds->endpoint, path);
	sb_http_response_init(&r);
	SB_GUARD_GOTO(rc, sb_buf_append_str(&hdr, "X-aws-ec2-metadata-token: "), out);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(&hdr, sb_buf_slice(&imds->token)), out);
	req.op = "IMDS";
	req.method = "GET";
	req.url = url;
	req.headers[0] = sb_buf_cstr(&hdr);
	req.out = out;
	req.out_secret = true;
	rc = sb_http_send(imds->http, &req, &r);
	*status = r.status;
out:
	sb_http_response_cleanup(&r);
	sb_buf_cleanup(&hdr);
	return rc;
}

/* GET with the session token; a 401 means it expired: fetch a new one, once. */
static SB_RESULT imds_get(struct sb_imds *imds, const char *path, struct sb_buf *out)
{
	long status = 0;
	sb_result rc = imds_get_once(imds, path, out, &status);

	if (sb_ok(rc) || status != 401)
		return rc;
	sb_error_clear();
	sb_buf_reset(&imds->token);
	sb_buf_reset(out);
	return imds_get_once(imds, path, out, &status);
}

/* The role name: the first line of the listing, [\w+=,.@-]{1,64}. */
static SB_RESULT imds_role(struct sb_buf *list, char role[65])
{
	size_t n = 0;

	while (n < list->len && list->data[n] != '\n' && list->data[n] != '\r')
		n++;
	SB_ENSURE_MSG(n >= 1 && n <= 64, SB_ERR_AWS_BAD_RESPONSE, "IMDS: bad instance role name");
	for (size_t i = 0; i < n; i++) {
		uint8_t c = list->data[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || strchr("_+=,.@-", c) != NULL;
		SB_ENSURE_MSG(ok && c != '\0', SB_ERR_AWS_BAD_RESPONSE,
			      "IMDS: bad instance role name");
	}
	memcpy(role, list->data, n);
	role[n] = '\0';
	return SB_OK_RESULT;
}

SB_RESULT sb_creds_from_imds(struct sb_imds *imds, struct sb_aws_creds *out, bool *found)
{
	const char *base = "/latest/meta-data/iam/security-credentials/";
	struct sb_buf body = SB_BUF_INIT_SECRET(IMDS_RESPONSE_MAX);
	char role[65], path[160];
	sb_result rc;

	SB_ENSURE_REF(imds);
	SB_ENSURE_REF(out);
	SB_ENSURE_REF(found);
	*found = false;
	rc = imds_get(imds, base, &body);
	if (!sb_ok(rc)) {
		/* Nobody there (not on EC2), or no role attached: not an error for the chain. */
		if (rc.code == SB_ERR_HTTP_CONNECT || rc.code == SB_ERR_TIMEOUT ||
		    rc.code == SB_ERR_AWS_NOT_FOUND) {
			sb_log_debug("IMDS: no instance credentials (%s)", sb_error_detail());
			sb_error_clear();
			rc = SB_OK_RESULT;
		}
		goto out;
	}
	SB_GUARD_GOTO(rc, imds_role(&body, role), out);
	(void)snprintf(path, sizeof(path), "%s%s", base, role);
	sb_buf_reset(&body);
	SB_GUARD_GOTO(rc, imds_get(imds, path, &body), out);
	SB_GUARD_GOTO(rc, sb_creds_parse_imds_json(sb_buf_slice(&body), out), out);
	sb_log_debug("IMDS: role %s, access key id %s", role, out->access_key_id);
	*found = true;
out:
	sb_buf_cleanup(&body);
	return rc;
}

/* ---- providers --------------------------------------------------------- */

enum provider_kind {
	PROVIDER_STATIC,
	PROVIDER_CHAIN,
};

struct sb_creds_provider {
	enum provider_kind kind;
	pthread_mutex_t mu;
	struct sb_aws_creds cached;
	bool have;
	char source[16];
	uint32_t fetches;
	struct sb_http_config http_cfg;
	struct sb_http_client *http; /* STS */
	struct sb_imds imds;
	bool imds_ready;
};

static SB_RESULT provider_alloc(enum provider_kind kind, struct sb_creds_provider **out)
{
	struct sb_creds_provider *p = calloc(1, sizeof(*p));

	SB_ENSURE(p != NULL, SB_ERR_NOMEM);
	p->kind = kind;
	sb_aws_creds_init(&p->cached);
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		SB_BAIL(SB_ERR_INTERNAL);
	}
	*out = p;
	return SB_OK_RESULT;
}

SB_RESULT sb_creds_provider_new_static(const struct sb_aws_creds *creds,
				       struct sb_creds_provider **out)
{
	struct sb_creds_provider *p = NULL;
	sb_result rc;

	SB_ENSURE_REF(creds);
	SB_ENSURE_REF(out);
	SB_GUARD(provider_alloc(PROVIDER_STATIC, &p));
	rc = sb_aws_creds_copy(&p->cached, creds);
	if (!sb_ok(rc)) {
		sb_creds_provider_free(p);
		return rc;
	}
	p->have = true;
	memcpy(p->source, "static", 7);
	*out = p;
	return SB_OK_RESULT;
}

SB_RESULT sb_creds_provider_new_chain(const struct sb_http_config *http,
				      struct sb_creds_provider **out)
{
	struct sb_creds_provider *p = NULL;

	SB_ENSURE_REF(out);
	SB_GUARD(provider_alloc(PROVIDER_CHAIN, &p));
	if (http != NULL)
		p->http_cfg = *http;
	else
		sb_http_config_default(&p->http_cfg);
	*out = p;
	return SB_OK_RESULT;
}

void sb_creds_provider_free(struct sb_creds_provider *p)
{
	if (p == NULL)
		return;
	sb_aws_creds_cleanup(&p->cached);
	sb_http_client_free(p->http);
	if (p->imds_ready)
		sb_imds_cleanup(&p->imds);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

SB_RESULT sb_creds_provider_replace(struct sb_creds_provider *p, const struct sb_aws_creds *creds)
{
	sb_result rc;

	SB_ENSURE_REF(p);
	SB_ENSURE_REF(creds);
	SB_ENSURE_MSG(p->kind == PROVIDER_STATIC, SB_ERR_INVALID_ARG,
		      "only static credentials are replaced");
	SB_ENSURE(pthread_mutex_lock(&p->mu) == 0, SB_ERR_INTERNAL);
	rc = sb_aws_creds_copy(&p->cached, creds);
	if (sb_ok(rc))
		p->fetches++;
	(void)pthread_mutex_unlock(&p->mu);
	return rc;
}

bool sb_creds_provider_can_refresh(const struct sb_creds_provider *p)
{
	return p != NULL && p->kind == PROVIDER_CHAIN &&
	       (strcmp(p->source, "imds") == 0 || strcmp(p->source, "assume-role") == 0);
}

static bool imds_disabled(void)
{
	const char *v = getenv("AWS_EC2_METADATA_DISABLED");
	return v != NULL && strcasecmp(v, "true") == 0;
}

static SB_RESULT chain_imds(struct sb_creds_provider *p, struct sb_aws_creds *c, bool *found)
{
	*found = false;
	if (imds_disabled())
		return SB_OK_RESULT;
	if (!p->imds_ready) {
		SB_GUARD(sb_imds_init(&p->imds));
		p->imds_ready = true;
	}
	return sb_creds_from_imds(&p->imds, c, found);
}

/* Env, then the shared files, then IMDS: the first with credentials wins. */
static SB_RESULT chain_resolve(struct sb_creds_provider *p, struct sb_aws_creds *c)
{
	bool found = false;

	SB_GUARD(sb_creds_from_env(c, &found));
	if (found) {
		memcpy(p->source, "env", 4);
		return SB_OK_RESULT;
	}
	if (p->http == NULL)
		SB_GUARD(sb_http_client_new(&p->http_cfg, &p->http));
	SB_GUARD(sb_creds_from_profile(NULL, p->http, c, &found));
	if (found) {
		memcpy(p->source, c->expiration_ms != 0 ? "assume-role" : "profile",
		       c->expiration_ms != 0 ? 12 : 8);
		return SB_OK_RESULT;
	}
	SB_GUARD(chain_imds(p, c, &found));
	if (found) {
		memcpy(p->source, "imds", 5);
		return SB_OK_RESULT;
	}
	SB_BAIL_MSG(SB_ERR_AWS_NO_CREDENTIALS,
		    "none in the environment, the shared files (profile '%s') or IMDS%s",
		    env_nonempty("AWS_PROFILE") ? env_nonempty("AWS_PROFILE") : "default",
		    imds_disabled() ? " (disabled)" : "");
}

static bool needs_refresh(const struct sb_creds_provider *p, uint64_t now)
{
	if (!p->have)
		return true;
	return p->cached.expiration_ms != 0 &&
	       now + SB_CREDS_REFRESH_MARGIN_MS >= p->cached.expiration_ms;
}

static SB_RESULT provider_refresh(struct sb_creds_provider *p)
{
	struct sb_aws_creds fresh;
	uint64_t now = sb_time_now_ms();
	sb_result rc;

	if (p->kind == PROVIDER_STATIC || !needs_refresh(p, now))
		return SB_OK_RESULT;
	sb_aws_creds_init(&fresh);
	rc = chain_resolve(p, &fresh);
	if (sb_ok(rc)) {
		rc = sb_aws_creds_copy(&p->cached, &fresh);
		p->have = sb_ok(rc);
		p->fetches++;
		sb_log_debug("AWS credentials from %s: access key id %s", p->source,
			     p->cached.access_key_id);
	} else if (p->have && now < p->cached.expiration_ms) {
		/* Still valid: keep using them and try again on the next call. */
		sb_log_warn("AWS credentials refresh failed (%s); using the current ones",
			    sb_error_describe());
		sb_error_clear();
		rc = SB_OK_RESULT;
	}
	sb_aws_creds_cleanup(&fresh);
	return rc;
}

SB_RESULT sb_creds_provider_get(struct sb_creds_provider *p, struct sb_aws_creds *out)
{
	sb_result rc;

	SB_ENSURE_REF(p);
	SB_ENSURE_REF(out);
	SB_ENSURE(pthread_mutex_lock(&p->mu) == 0, SB_ERR_INTERNAL);
	rc = provider_refresh(p);
	if (sb_ok(rc))
		rc = sb_aws_creds_copy(out, &p->cached);
	(void)pthread_mutex_unlock(&p->mu);
	return rc;
}

const char *sb_creds_provider_source(const struct sb_creds_provider *p)
{
	return p != NULL ? p->source : "";
}

uint32_t sb_creds_provider_fetches(const struct sb_creds_provider *p)
{
	return p != NULL ? p->fetches : 0;
}
