/*
 * Unit tests for src/aws/sb_creds and sb_ini: each credentials source
 * (environment, shared files with static keys and AssumeRole through a
 * python3 STS stand-in, IMDSv2 through a python3 IMDS stand-in that demands
 * and expires tokens), the chain's precedence, refresh before expiry, and
 * strict parsing of INI files, IMDS JSON and STS XML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>

#include "aws/sb_creds.h"
#include "aws/sb_ini.h"
#include "common/sb_time.h"
#include "test_aws_stub.h"

#define STUBS SB_TEST_DATA "/../integration/stubs"
#define AKID1 "AKIAPROFILE000000001"
#define AKID2 "AKIAPROFILE000000002"
#define SECRET1 "profileSecret1/abcdefghijklmnop+q"

static char g_dir[64];
static pid_t g_imds_pid = -1, g_sts_pid = -1;
static int g_imds_port, g_sts_port;
static char g_imds_url[64], g_sts_url[64];

static void clear_env(void)
{
	const char *vars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
			      "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE",
			      "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS",
			      "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_DISABLED",
			      "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_CREDENTIAL_EXPIRATION"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	/* Never read the real ~/.aws of whoever runs the tests. */
	setenv("HOME", g_dir, 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void write_file(const char *name, const char *text)
{
	char path[256];
	(void)snprintf(path, sizeof(path), "%s/%s", g_dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void use_files(const char *creds, const char *config)
{
	char path[256];
	if (creds != NULL) {
		write_file("credentials", creds);
		(void)snprintf(path, sizeof(path), "%s/credentials", g_dir);
		setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	}
	if (config != NULL) {
		write_file("config", config);
		(void)snprintf(path, sizeof(path), "%s/config", g_dir);
		setenv("AWS_CONFIG_FILE", path, 1);
	}
}

static json_t *stub_stats(const char *base)
{
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_buf out = SB_BUF_INIT(4096);
	struct sb_http_response r;
	char url[128];

	sb_http_config_default(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	sb_http_response_init(&r);
	(void)snprintf(url, sizeof(url), "%s/_stats", base);
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "stats";
	req.method = "GET";
	req.url = url;
	req.out = &out;
	assert_true(sb_ok(sb_http_send(c, &req, &r)));
	json_t *j = json_loadb((const char *)out.data, out.len, 0, NULL);
	assert_non_null(j);
	sb_http_response_cleanup(&r);
	sb_buf_cleanup(&out);
	sb_http_client_free(c);
	return j;
}

static long stat_int(const char *base, const char *key)
{
	json_t *j = stub_stats(base);
	long v = (long)json_integer_value(json_object_get(j, key));
	json_decref(j);
	return v;
}

static void stat_str(const char *base, const char *key, char *out, size_t cap)
{
	json_t *j = stub_stats(base);
	(void)snprintf(out, cap, "%s", json_string_value(json_object_get(j, key)));
	json_decref(j);
}

static int group_setup(void **state)
{
	(void)state;
	memcpy(g_dir, "/tmp/sb_creds_XXXXXX", 21);
	assert_non_null(mkdtemp(g_dir));
	g_sts_pid = spawn_py_stub(STUBS "/sts_stub.py", NULL, &g_sts_port);
	assert_true(g_sts_pid > 0);
	(void)snprintf(g_sts_url, sizeof(g_sts_url), "http://127.0.0.1:%d", g_sts_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	char cmd[128];
	stop_child(g_sts_pid);
	stop_child(g_imds_pid);
	(void)snprintf(cmd, sizeof(cmd), "%s/credentials", g_dir);
	unlink(cmd);
	(void)snprintf(cmd, sizeof(cmd), "%s/config", g_dir);
	unlink(cmd);
	rmdir(g_dir);
	return 0;
}

static void start_imds(const char *mode, const char *expiry)
{
	char m[64], e[64];
	char *env[] = {m, e, NULL};

	stop_child(g_imds_pid);
	(void)snprintf(m, sizeof(m), "IMDS_STUB_MODE=%s", mode);
	(void)snprintf(e, sizeof(e), "IMDS_STUB_EXPIRY_S=%s", expiry);
	g_imds_pid = spawn_py_stub(STUBS "/imds_stub.py", env, &g_imds_port);
	assert_true(g_imds_pid > 0);
	(void)snprintf(g_imds_url, sizeof(g_imds_url), "http://127.0.0.1:%d", g_imds_port);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", g_imds_url, 1);
	unsetenv("AWS_EC2_METADATA_DISABLED");
}

static void assert_clean(const char *s, const char *secret)
{
	assert_null(strstr(s, secret));
}

/* ---- environment ---------------------------------------------------------- */

static void test_env(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	bool found = true;

	clear_env();
	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_creds_from_env(&c, &found)));
	assert_false(found);
	setenv("AWS_ACCESS_KEY_ID", AKID1, 1);
	assert_int_equal(sb_creds_from_env(&c, &found).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_non_null(strstr(sb_error_detail(), "AWS_SECRET_ACCESS_KEY is not"));
	setenv("AWS_SECRET_ACCESS_KEY", SECRET1, 1);
	setenv("AWS_SESSION_TOKEN", "envtoken123", 1);
	assert_true(sb_ok(sb_creds_from_env(&c, &found)));
	assert_true(found);
	assert_string_equal(c.access_key_id, AKID1);
	assert_string_equal(sb_buf_cstr(&c.secret), SECRET1);
	assert_string_equal(sb_buf_cstr(&c.token), "envtoken123");
	assert_int_equal(c.expiration_ms, 0);
	/* AWS_CREDENTIAL_EXPIRATION (aws configure export-credentials --format env). */
	setenv("AWS_CREDENTIAL_EXPIRATION", "2030-01-02T03:04:05Z", 1);
	assert_true(sb_ok(sb_creds_from_env(&c, &found)));
	assert_true(c.expiration_ms == 1893553445000ull);
	setenv("AWS_CREDENTIAL_EXPIRATION", "tomorrow", 1);
	assert_int_equal(sb_creds_from_env(&c, &found).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_non_null(strstr(sb_error_detail(), "AWS_CREDENTIAL_EXPIRATION"));
	unsetenv("AWS_CREDENTIAL_EXPIRATION");
	setenv("AWS_SECRET_ACCESS_KEY", "bad secret with spaces", 1);
	assert_int_equal(sb_creds_from_env(&c, &found).code, SB_ERR_INVALID_ARG);
	assert_clean(sb_error_describe(), "bad secret");
	unsetenv("AWS_ACCESS_KEY_ID");
	assert_int_equal(sb_creds_from_env(&c, &found).code, SB_ERR_AWS_NO_CREDENTIALS);
	sb_aws_creds_cleanup(&c);
}

/* ---- shared files ---------------------------------------------------------- */

static void test_profile_static(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	bool found;

	clear_env();
	sb_aws_creds_init(&c);
	/* No files at all: nothing found, no error. */
	assert_true(sb_ok(sb_creds_from_profile(NULL, NULL, &c, &found)));
	assert_false(found);
	use_files("# comment\n[default]\naws_access_key_id = " AKID1 "\n"
		  "aws_secret_access_key = " SECRET1 "\n\n"
		  "[both]\naws_access_key_id=" AKID1 "\naws_secret_access_key=" SECRET1 "\n",
		  "[default]\nregion = eu-west-1\n"
		  "[profile cfgonly]\naws_access_key_id = " AKID2 "\n"
		  "aws_secret_access_key = cfgSecret\naws_session_token = cfgToken\n"
		  "[profile both]\naws_access_key_id = " AKID2 "\naws_secret_access_key = x\n"
		  "[profile half]\naws_access_key_id = " AKID2 "\n"
		  "[profile empty]\nregion = us-east-1\n");
	assert_true(sb_ok(sb_creds_from_profile(NULL, NULL, &c, &found)));
	assert_true(found);
	assert_string_equal(c.access_key_id, AKID1);
	assert_string_equal(sb_buf_cstr(&c.secret), SECRET1);
	assert_int_equal(c.token.len, 0);
	assert_true(sb_ok(sb_creds_from_profile("cfgonly", NULL, &c, &found)));
	assert_true(found);
	assert_string_equal(c.access_key_id, AKID2);
	assert_string_equal(sb_buf_cstr(&c.token), "cfgToken");
	/* The credentials file wins over the config file. */
	setenv("AWS_PROFILE", "both", 1);
	assert_true(sb_ok(sb_creds_from_profile(NULL, NULL, &c, &found)));
	assert_string_equal(c.access_key_id, AKID1);
	/* A profile that exists without keys: not found (the chain goes on). */
	assert_true(sb_ok(sb_creds_from_profile("empty", NULL, &c, &found)));
	assert_false(found);
	assert_int_equal(sb_creds_from_profile("half", NULL, &c, &found).code,
			 SB_ERR_AWS_BAD_CONFIG);
	assert_non_null(strstr(sb_error_detail(), "profile 'half'"));
	/* An explicitly named profile that does not exist is an error. */
	setenv("AWS_PROFILE", "missing", 1);
	assert_int_equal(sb_creds_from_profile(NULL, NULL, &c, &found).code,
			 SB_ERR_AWS_BAD_CONFIG);
	assert_non_null(strstr(sb_error_detail(), "profile 'missing' not found"));
	assert_int_equal(sb_creds_from_profile("bad]name", NULL, &c, &found).code,
			 SB_ERR_INVALID_ARG);
	sb_aws_creds_cleanup(&c);
}

static void test_profile_assume_role(void **state)
{
	(void)state;
	struct sb_aws_creds c;
	bool found;
	char s[256];

	clear_env();
	setenv("AWS_ENDPOINT_URL_STS", g_sts_url, 1);
	setenv("AWS_REGION", "eu-west-1", 1);
	sb_aws_creds_init(&c);
	use_files("[base]\naws_access_key_id = " AKID1 "\naws_secret_access_key = " SECRET1 "\n",
		  "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\n"
		  "source_profile = base\nrole_session_name = sealbid-test\n"
		  "external_id = ext-1\nduration_seconds = 900\n"
		  "[profile chained]\nrole_arn = arn:aws:iam::123456789012:role/second\n"
		  "source_profile = app\n"
		  "[profile denied]\nrole_arn = arn:aws:iam::123456789012:role/denied\n"
		  "source_profile = base\n"
		  "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
		  "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
		  "[profile both]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = base\n"
		  "credential_source = Environment\n"
		  "[profile fromenv]\nrole_arn = arn:aws:iam::1:role/env\n"
		  "credential_source = Environment\n"
		  "[profile ecs]\nrole_arn = arn:aws:iam::1:role/env\ncredential_source = EcsContainer\n"
		  "[profile nosrc]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = nobody\n"
		  "[profile baddur]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\n"
		  "duration_seconds = 60\n");
	long calls0 = stat_int(g_sts_url, "calls");
	assert_true(sb_ok(sb_creds_from_profile("app", NULL, &c, &found)));
	assert_true(found);
	assert_memory_equal(c.access_key_id, "ASIASTS", 7);
	assert_non_null(strstr(sb_buf_cstr(&c.secret), "/abc+def&")); /* &amp; decoded */
	assert_true(c.token.len > 0);
	assert_true(c.expiration_ms > sb_time_now_ms());
	assert_int_equal(stat_int(g_sts_url, "calls"), calls0 + 1);
	stat_str(g_sts_url, "last_signer", s, sizeof(s));
	assert_string_equal(s, AKID1);
	stat_str(g_sts_url, "last_role", s, sizeof(s));
	assert_string_equal(s, "arn:aws:iam::123456789012:role/app");
	stat_str(g_sts_url, "last_session", s, sizeof(s));
	assert_string_equal(s, "sealbid-test");
	stat_str(g_sts_url, "last_external_id", s, sizeof(s));
	assert_string_equal(s, "ext-1");
	stat_str(g_sts_url, "last_duration", s, sizeof(s));
	assert_string_equal(s, "900");

	/* Role chaining: the second AssumeRole is signed with the first one's credentials. */
	assert_true(sb_ok(sb_creds_from_profile("chained", NULL, &c, &found)));
	assert_int_equal(stat_int(g_sts_url, "calls"), calls0 + 3);
	stat_str(g_sts_url, "last_signer", s, sizeof(s));
	assert_memory_equal(s, "ASIASTS", 7);
	stat_str(g_sts_url, "last_token", s, sizeof(s));
	assert_memory_equal(s, "stsToken", 8);

	setenv("AWS_ACCESS_KEY_ID", AKID2, 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envSecretForRole", 1);
	assert_true(sb_ok(sb_creds_from_profile("fromenv", NULL, &c, &found)));
	stat_str(g_sts_url, "last_signer", s, sizeof(s));
	assert_string_equal(s, AKID2);

	const struct {
		const char *profile;
		int code;
		const char *detail;
	} bad[] = {
		{"denied", SB_ERR_AWS_ACCESS_DENIED, "STS AssumeRole: AccessDenied: not authorized"},
		{"loop1", SB_ERR_AWS_BAD_CONFIG, "too deep or circular"},
		{"both", SB_ERR_AWS_BAD_CONFIG, "exactly one of source_profile"},
		{"ecs", SB_ERR_UNSUPPORTED, "EcsContainer"},
		{"nosrc", SB_ERR_AWS_NO_CREDENTIALS, "has no credentials"},
		{"baddur", SB_ERR_OUT_OF_RANGE, ""},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_result rc = sb_creds_from_profile(bad[i].profile, NULL, &c, &found);
		if (rc.code != bad[i].code)
			print_error("profile %s: %s\n", bad[i].profile, sb_error_describe());
		assert_int_equal(rc.code, bad[i].code);
		assert_non_null(strstr(sb_error_detail(), bad[i].detail));
		assert_clean(sb_error_describe(), SECRET1);
		assert_clean(sb_error_describe(), "envSecretForRole");
	}
	sb_aws_creds_cleanup(&c);
}

/* ---- IMDSv2 ---------------------------------------------------------------- */

static void imds_post(const char *path)
{
	struct sb_http_config cfg;
	struct sb_http_client *c = NULL;
	struct sb_http_response r;
	char url[128];

	sb_http_config_default(&cfg);
	assert_true(sb_ok(sb_http_client_new(&cfg, &c)));
	sb_http_response_init(&r);
	(void)snprintf(url, sizeof(url), "%s%s", g_imds_url, path);
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "control";
	req.method = "POST";
	req.url = url;
	req.content_type = "application/json";
	req.body = SB_SLICE_LIT("{}");
	assert_true(sb_ok(sb_http_send(c, &req, &r)));
	sb_http_response_cleanup(&r);
	sb_http_client_free(c);
}

static void test_imds(void **state)
{
	(void)state;
	struct sb_imds imds;
	struct sb_aws_creds c;
	bool found;

	clear_env();
	start_imds("", "3600");
	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_imds_init(&imds)));
	assert_true(sb_ok(sb_creds_from_imds(&imds, &c, &found)));
	assert_true(found);
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000001");
	assert_true(c.expiration_ms > sb_time_now_ms() + 3000000u);
	/* The token is reused. */
	assert_true(sb_ok(sb_creds_from_imds(&imds, &c, &found)));
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000002");
	assert_int_equal(stat_int(g_imds_url, "token_puts"), 1);
	assert_int_equal(imds.token_fetches, 1);
	/* The stand-in forgets every token: the next GET gets 401, then a new token. */
	imds_post("/_expire_tokens");
	assert_true(sb_ok(sb_creds_from_imds(&imds, &c, &found)));
	assert_true(found);
	assert_int_equal(stat_int(g_imds_url, "token_puts"), 2);
	assert_true(stat_int(g_imds_url, "unauthorized") >= 1);
	assert_int_equal(imds.token_fetches, 2);
	sb_imds_cleanup(&imds);

	/* Requests without a token are refused by the stand-in (as IMDSv2 does). */
	struct sb_http_config cfg;
	struct sb_http_client *h = NULL;
	struct sb_http_response r;
	char url[160];
	sb_http_config_default(&cfg);
	cfg.max_attempts = 1;
	assert_true(sb_ok(sb_http_client_new(&cfg, &h)));
	sb_http_response_init(&r);
	(void)snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", g_imds_url);
	struct sb_http_request req = SB_HTTP_REQUEST_INIT;
	req.op = "IMDS without token";
	req.method = "GET";
	req.url = url;
	assert_int_equal(sb_http_send(h, &req, &r).code, SB_ERR_AWS_ACCESS_DENIED);
	assert_int_equal(r.status, 401);
	sb_http_response_cleanup(&r);
	sb_http_client_free(h);

	/* No role attached: nothing found, no error. */
	start_imds("norole", "3600");
	assert_true(sb_ok(sb_imds_init(&imds)));
	assert_true(sb_ok(sb_creds_from_imds(&imds, &c, &found)));
	assert_false(found);
	sb_imds_cleanup(&imds);
	/* Malformed credentials: a clear error. */
	start_imds("badjson", "3600");
	assert_true(sb_ok(sb_imds_init(&imds)));
	assert_int_equal(sb_creds_from_imds(&imds, &c, &found).code, SB_ERR_AWS_BAD_RESPONSE);
	assert_non_null(strstr(sb_error_detail(), "IMDS"));
	sb_imds_cleanup(&imds);
	/* Nobody listening (not on EC2): nothing found. */
	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d", free_port());
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", url, 1);
	assert_true(sb_ok(sb_imds_init(&imds)));
	assert_true(sb_ok(sb_creds_from_imds(&imds, &c, &found)));
	assert_false(found);
	sb_imds_cleanup(&imds);
	setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "not-a-url", 1);
	assert_int_equal(sb_imds_init(&imds).code, SB_ERR_INVALID_ARG);
	sb_imds_cleanup(&imds);
	sb_aws_creds_cleanup(&c);
}

/* ---- the chain -------------------------------------------------------------- */

static void get_from(struct sb_creds_provider *p, const char *want_source, const char *want_id)
{
	struct sb_aws_creds c;
	sb_aws_creds_init(&c);
	sb_result rc = sb_creds_provider_get(p, &c);
	if (!sb_ok(rc))
		print_error("provider: %s\n", sb_error_describe());
	assert_true(sb_ok(rc));
	assert_string_equal(sb_creds_provider_source(p), want_source);
	if (want_id != NULL)
		assert_string_equal(c.access_key_id, want_id);
	sb_aws_creds_cleanup(&c);
}

static void test_chain_precedence(void **state)
{
	(void)state;
	struct sb_creds_provider *p = NULL;
	struct sb_aws_creds c;

	clear_env();
	start_imds("", "3600");
	use_files("[default]\naws_access_key_id = " AKID1 "\naws_secret_access_key = " SECRET1 "\n",
		  "[default]\nregion = eu-west-1\n");
	setenv("AWS_ACCESS_KEY_ID", AKID2, 1);
	setenv("AWS_SECRET_ACCESS_KEY", "envSecret", 1);
	/* env > profile > IMDS */
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	assert_string_equal(sb_creds_provider_source(p), "");
	get_from(p, "env", AKID2);
	assert_false(sb_creds_provider_can_refresh(p));
	sb_creds_provider_free(p);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	get_from(p, "profile", AKID1);
	/* Static keys never expire: no second fetch. */
	get_from(p, "profile", AKID1);
	assert_int_equal(sb_creds_provider_fetches(p), 1);
	assert_false(sb_creds_provider_can_refresh(p));
	sb_creds_provider_free(p);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	get_from(p, "imds", NULL);
	assert_true(sb_creds_provider_can_refresh(p)); /* the instance role renews */
	/* Credentials good for an hour are cached. */
	get_from(p, "imds", NULL);
	assert_int_equal(sb_creds_provider_fetches(p), 1);
	sb_creds_provider_free(p);

	/* Nothing anywhere: a clear error. */
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	sb_aws_creds_init(&c);
	assert_int_equal(sb_creds_provider_get(p, &c).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_non_null(strstr(sb_error_detail(), "IMDS (disabled)"));
	/* A malformed file stops the chain with file and line. */
	use_files("[default]\naws_access_key_id = " AKID1 "\nthis line is wrong\n", NULL);
	assert_int_equal(sb_creds_provider_get(p, &c).code, SB_ERR_AWS_BAD_CONFIG);
	assert_non_null(strstr(sb_error_detail(), "credentials:3: expected 'key = value'"));
	sb_aws_creds_cleanup(&c);
	sb_creds_provider_free(p);
	sb_creds_provider_free(NULL);
}

static void test_refresh_before_expiry(void **state)
{
	(void)state;
	struct sb_creds_provider *p = NULL;
	struct sb_aws_creds c;

	clear_env();
	/* Credentials expiring in 2 minutes are inside the 5-minute margin: refetched each time. */
	start_imds("", "120");
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	sb_aws_creds_init(&c);
	assert_true(sb_ok(sb_creds_provider_get(p, &c)));
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000001");
	assert_true(sb_ok(sb_creds_provider_get(p, &c)));
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000002");
	assert_true(sb_ok(sb_creds_provider_get(p, &c)));
	assert_int_equal(sb_creds_provider_fetches(p), 3);
	assert_int_equal(stat_int(g_imds_url, "cred_gets"), 3);
	/* One token for all of them. */
	assert_int_equal(stat_int(g_imds_url, "token_puts"), 1);
	/* A failed refresh of still-valid credentials keeps the current ones. */
	stop_child(g_imds_pid);
	g_imds_pid = -1;
	assert_true(sb_ok(sb_creds_provider_get(p, &c)));
	assert_string_equal(c.access_key_id, "ASIAIMDS000000000003");
	sb_aws_creds_cleanup(&c);
	sb_creds_provider_free(p);
}

static void test_static_provider(void **state)
{
	(void)state;
	struct sb_creds_provider *p = NULL;
	struct sb_aws_creds a, b;

	sb_aws_creds_init(&a);
	sb_aws_creds_init(&b);
	assert_int_equal(sb_creds_provider_new_static(&a, &p).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_true(sb_ok(sb_aws_creds_set(&a, SB_SLICE_LIT(AKID1), SB_SLICE_LIT(SECRET1),
					   SB_SLICE_LIT(""), 0)));
	assert_true(sb_ok(sb_creds_provider_new_static(&a, &p)));
	sb_aws_creds_cleanup(&a);
	assert_true(sb_ok(sb_creds_provider_get(p, &b)));
	assert_string_equal(b.access_key_id, AKID1);
	assert_string_equal(sb_creds_provider_source(p), "static");
	assert_false(sb_creds_provider_can_refresh(p));
	/* Replaced mid-job: every later get returns the new credentials. */
	assert_true(sb_ok(sb_aws_creds_set(&a, SB_SLICE_LIT(AKID2), SB_SLICE_LIT("secondSecret"),
					   SB_SLICE_LIT("tok2"), 1893553445000ull)));
	assert_true(sb_ok(sb_creds_provider_replace(p, &a)));
	assert_true(sb_ok(sb_creds_provider_get(p, &b)));
	assert_string_equal(b.access_key_id, AKID2);
	assert_string_equal(sb_buf_cstr(&b.token), "tok2");
	assert_true(b.expiration_ms == 1893553445000ull);
	assert_int_equal(sb_creds_provider_replace(p, NULL).code, SB_ERR_NULL);
	sb_aws_creds_cleanup(&a);
	assert_int_equal(sb_creds_provider_replace(p, &a).code, SB_ERR_AWS_NO_CREDENTIALS);
	assert_true(sb_ok(sb_creds_provider_get(p, &b))); /* the last good ones stay */
	assert_string_equal(b.access_key_id, AKID2);
	sb_aws_creds_cleanup(&b);
	sb_creds_provider_free(p);
	/* A chain refreshes itself: it cannot be replaced. */
	assert_true(sb_ok(sb_creds_provider_new_chain(NULL, &p)));
	assert_true(sb_ok(sb_aws_creds_set(&a, SB_SLICE_LIT(AKID1), SB_SLICE_LIT(SECRET1),
					   SB_SLICE_LIT(""), 0)));
	assert_int_equal(sb_creds_provider_replace(p, &a).code, SB_ERR_INVALID_ARG);
	sb_aws_creds_cleanup(&a);
	sb_creds_provider_free(p);
}

/* ---- strict parsers ---------------------------------------------------------- */

static void test_ini(void **state)
{
	(void)state;
	const struct {
		const char *text;
		const char *detail; /* NULL: accepted */
	} cases[] = {
		{"", NULL},
		{"; only a comment\n# another\n\n", NULL},
		{"[a]\nk = v\r\n[profile  b ]\nk=\n  sub = 1\n  sub2 = 2\nk2 = x # not a comment\n", NULL},
		{"k = v\n", "f:1: setting before any [section]"},
		{"[a]\nk = v\nk = w\n", "f:3: duplicate key 'k' in [a] (first at line 2)"},
		{"[a]\n[a]\n", "f:2: duplicate section [a] (first at line 1)"},
		{"[a\n", "f:1: section header without ']'"},
		{"[]\n", "f:1: empty section name"},
		{"[a]]\n", "f:1: '[' or ']' inside a section name"},
		{"[a]\n= v\n", "f:2: empty key"},
		{"[a]\nk v\n", "f:2: expected 'key = value'"},
		{"[a]\nk!y = v\n", "f:2: invalid character in key"},
		{"[a]\nk = v\n  sub = 1\n", "f:3: indented line is not under a key"},
		{"[a]\nk = \x01\n", "f:2: control character"},
		{"[a]\nk = v\x7f\n", "f:2: control character"},
		{"[a]\ns =\n  x = 1\n  x = 2\n", "f:4: duplicate key 'x'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_ini ini;
		sb_ini_init(&ini);
		sb_result rc = sb_ini_parse(&ini, sb_slice_str(cases[i].text), "f");
		if (cases[i].detail == NULL) {
			assert_true(sb_ok(rc));
		} else {
			assert_int_equal(rc.code, SB_ERR_AWS_BAD_CONFIG);
			if (strstr(sb_error_detail(), cases[i].detail) == NULL)
				print_error("case %zu: '%s'\n", i, sb_error_detail());
			assert_non_null(strstr(sb_error_detail(), cases[i].detail));
		}
		sb_ini_cleanup(&ini);
	}
	struct sb_ini ini;
	sb_ini_init(&ini);
	assert_true(sb_ok(sb_ini_parse(&ini, sb_slice_str(cases[2].text), "f")));
	assert_string_equal(sb_ini_get(&ini, "a", "k"), "v");
	assert_string_equal(sb_ini_get(&ini, "profile b", "k"), "");
	assert_null(sb_ini_get(&ini, "profile b", "sub")); /* nested: not a top-level key */
	assert_string_equal(sb_ini_get(&ini, "profile b", "k2"), "x # not a comment");
	assert_true(sb_ini_has_section(&ini, "profile b"));
	assert_false(sb_ini_has_section(&ini, "b"));
	sb_ini_cleanup(&ini);
	/* Long lines and NUL bytes. */
	char *big = malloc(SB_INI_LINE_MAX + 32);
	memcpy(big, "[a]\nk = ", 8);
	memset(big + 8, 'x', SB_INI_LINE_MAX);
	big[SB_INI_LINE_MAX + 8] = '\0';
	sb_ini_init(&ini);
	assert_int_equal(sb_ini_parse(&ini, sb_slice_str(big), "f").code, SB_ERR_AWS_BAD_CONFIG);
	assert_non_null(strstr(sb_error_detail(), "f:2: line longer than"));
	sb_ini_cleanup(&ini);
	free(big);
	sb_ini_init(&ini);
	assert_int_equal(sb_ini_parse(&ini, SB_SLICE("[a]\0\n", 5), "f").code,
			 SB_ERR_AWS_BAD_CONFIG);
	sb_ini_cleanup(&ini);
	bool found = true;
	sb_ini_init(&ini);
	assert_true(sb_ok(sb_ini_load(&ini, "/nonexistent/sealbid/ini", &found)));
	assert_false(found);
	sb_ini_cleanup(&ini);
}

static void test_parse_imds_sts(void **state)
{
	(void)state;
	const char *imds_bad[] = {
		"",
		"[]",
		"{\"Code\":\"Failure\",\"AccessKeyId\":\"ASIAIMDS000000000001\"}",
		"{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS000000000001\",\"SecretAccessKey\":\"s\","
		"\"Token\":\"t\"}",
		"{\"Code\":\"Success\",\"AccessKeyId\":\"ASIAIMDS000000000001\",\"SecretAccessKey\":\"s\","
		"\"Token\":\"t\",\"Expiration\":\"yesterday\"}",
		"{\"Code\":\"Success\",\"Code\":\"Success\"}",
		"{\"Code\":\"Success\",\"Type\":5,\"AccessKeyId\":\"ASIAIMDS000000000001\","
		"\"SecretAccessKey\":\"s\",\"Token\":\"t\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
		"{\"Code\":\"Success\",\"AccessKeyId\":\"short\",\"SecretAccessKey\":\"s\","
		"\"Token\":\"t\",\"Expiration\":\"2030-01-01T00:00:00Z\"}",
	};
	struct sb_aws_creds c;

	sb_aws_creds_init(&c);
	for (size_t i = 0; i < sizeof(imds_bad) / sizeof(imds_bad[0]); i++)
		assert_false(sb_ok(sb_creds_parse_imds_json(sb_slice_str(imds_bad[i]), &c)));
	assert_true(sb_ok(sb_creds_parse_imds_json(
		SB_SLICE_LIT("{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":"
			     "\"ASIAIMDS000000000001\",\"SecretAccessKey\":\"s/+\",\"Token\":\"t\","
			     "\"Expiration\":\"2030-01-01T00:00:00Z\",\"LastUpdated\":\"x\"}"),
		&c)));
	assert_int_equal(c.expiration_ms, 1893456000000ull);

	const char *sts_bad[] = {
		"",
		"<AssumeRoleResponse></AssumeRoleResponse>",
		"<AssumeRoleResult><Credentials><AccessKeyId>ASIASTS0000000000001</AccessKeyId>"
		"</Credentials></AssumeRoleResult>",
		"<AssumeRoleResult><Credentials><AccessKeyId>ASIASTS0000000000001</AccessKeyId>"
		"<SecretAccessKey>s&bogus;</SecretAccessKey><SessionToken>t</SessionToken>"
		"<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult>",
		"<AssumeRoleResult><Credentials><AccessKeyId>ASIASTS0000000000001</AccessKeyId>"
		"<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
		"<Expiration>never</Expiration></Credentials></AssumeRoleResult>",
		"<AssumeRoleResult><Credentials><AccessKeyId>ASIASTS0000000000001",
	};
	for (size_t i = 0; i < sizeof(sts_bad) / sizeof(sts_bad[0]); i++)
		assert_false(sb_ok(sb_creds_parse_sts_xml(sb_slice_str(sts_bad[i]), &c)));
	assert_true(sb_ok(sb_creds_parse_sts_xml(
		SB_SLICE_LIT("<AssumeRoleResponse><AssumeRoleResult><Credentials>"
			     "<AccessKeyId>ASIASTS0000000000001</AccessKeyId>"
			     "<SecretAccessKey>a&amp;b</SecretAccessKey><SessionToken>tok</SessionToken>"
			     "<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>"
			     "</AssumeRoleResult></AssumeRoleResponse>"),
		&c)));
	assert_string_equal(sb_buf_cstr(&c.secret), "a&b");
	sb_aws_creds_cleanup(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_profile_static),
		cmocka_unit_test(test_profile_assume_role),
		cmocka_unit_test(test_imds),
		cmocka_unit_test(test_chain_precedence),
		cmocka_unit_test(test_refresh_before_expiry),
		cmocka_unit_test(test_static_provider),
		cmocka_unit_test(test_ini),
		cmocka_unit_test(test_parse_imds_sts),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
