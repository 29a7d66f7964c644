#include "aws/sb_aws.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_file.h"

#include <jansson.h>

#include "aws/sb_ini.h"
#include "common/sb_mem.h"

void sb_aws_creds_init(struct sb_aws_creds *c)
{
	memset(c, 0, sizeof(*c));
	sb_buf_init_secret(&c->secret, SB_AWS_SECRET_MAX);
	sb_buf_init_secret(&c->token, SB_AWS_TOKEN_MAX);
}

void sb_aws_creds_cleanup(struct sb_aws_creds *c)
{
	if (c == NULL)
		return;
	sb_buf_cleanup(&c->secret);
	sb_buf_cleanup(&c->token);
	sb_aws_creds_init(c);
}

static bool key_id_ok(struct sb_slice s)
{
	if (s.len < 16 || s.len > SB_AWS_KEY_ID_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!((s.ptr[i] >= 'A' && s.ptr[i] <= 'Z') || (s.ptr[i] >= '0' && s.ptr[i] <= '9')))
			return false;
	return true;
}

/* Secrets and tokens are base64-like: printable, no spaces or separators. */
static bool secret_text_ok(struct sb_slice s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] <= 0x20 || s.ptr[i] >= 0x7f)
			return false;
	return true;
}

SB_RESULT sb_aws_creds_set(struct sb_aws_creds *c, struct sb_slice key_id, struct sb_slice secret,
			   struct sb_slice token, uint64_t expiration_ms)
{
	SB_ENSURE_REF(c);
	/* "AccessKeyId ... Length Constraints: Minimum length of 16. Maximum length of 128." */
	SB_ENSURE_MSG(key_id_ok(key_id), SB_ERR_INVALID_ARG,
		      "access key id must be 16-128 characters of A-Z0-9");
	SB_ENSURE_MSG(secret.len > 0 && secret.len <= SB_AWS_SECRET_MAX && secret_text_ok(secret),
		      SB_ERR_INVALID_ARG, "malformed secret access key");
	SB_ENSURE_MSG(token.len <= SB_AWS_TOKEN_MAX && secret_text_ok(token), SB_ERR_INVALID_ARG,
		      "malformed session token");
	memcpy(c->access_key_id, key_id.ptr, key_id.len);
	c->access_key_id[key_id.len] = '\0';
	SB_GUARD(sb_buf_set(&c->secret, secret));
	SB_GUARD(sb_buf_set(&c->token, token));
	c->expiration_ms = expiration_ms;
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_creds_copy(struct sb_aws_creds *dst, const struct sb_aws_creds *src)
{
	SB_ENSURE_REF(dst);
	SB_ENSURE_REF(src);
	SB_ENSURE_MSG(sb_aws_creds_present(src), SB_ERR_AWS_NO_CREDENTIALS, "empty credentials");
	return sb_aws_creds_set(dst, sb_slice_str(src->access_key_id), sb_buf_slice(&src->secret),
				sb_buf_slice(&src->token), src->expiration_ms);
}

bool sb_aws_creds_present(const struct sb_aws_creds *c)
{
	return c != NULL && c->access_key_id[0] != '\0' && c->secret.len > 0;
}

bool sb_aws_region_valid(const char *region)
{
	size_t n = region != NULL ? strlen(region) : 0;

	if (n == 0 || n > SB_AWS_REGION_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((region[i] >= 'a' && region[i] <= 'z') ||
		      (region[i] >= '0' && region[i] <= '9') || region[i] == '-'))
			return false;
	return true;
}

static SB_RESULT region_set(const char *value, const char *from, char out[SB_AWS_REGION_MAX + 1])
{
	SB_ENSURE_MSG(sb_aws_region_valid(value), SB_ERR_INVALID_ARG, "%s: invalid region name",
		      from);
	memcpy(out, value, strlen(value) + 1);
	return SB_OK_RESULT;
}

/* The config file's path: AWS_CONFIG_FILE, else ~/.aws/config. */
static SB_RESULT config_path(struct sb_buf *out)
{
	const char *env = getenv("AWS_CONFIG_FILE");
	const char *home = getenv("HOME");

	if (env != NULL && env[0] != '\0')
		return sb_buf_append_str(out, env);
	SB_ENSURE_MSG(home != NULL && home[0] != '\0', SB_ERR_NOT_FOUND, "HOME is not set");
	return sb_buf_printf(out, "%s/.aws/config", home);
}

SB_RESULT sb_aws_region(char out[SB_AWS_REGION_MAX + 1])
{
	const char *env = getenv("AWS_REGION");
	const char *profile = getenv("AWS_PROFILE");
	struct sb_buf path = SB_BUF_INIT(4096), section = SB_BUF_INIT(512);
	struct sb_ini ini;
	bool found = false;
	sb_result rc;

	SB_ENSURE_REF(out);
	if (env != NULL && env[0] != '\0')
		return region_set(env, "AWS_REGION", out);
	env = getenv("AWS_DEFAULT_REGION");
	if (env != NULL && env[0] != '\0')
		return region_set(env, "AWS_DEFAULT_REGION", out);
	if (profile == NULL || profile[0] == '\0')
		profile = "default";
	sb_ini_init(&ini);
	SB_GUARD_GOTO(rc, config_path(&path), out);
	SB_GUARD_GOTO(rc, sb_ini_load(&ini, sb_buf_cstr(&path), &found), out);
	SB_GUARD_GOTO(rc, strcmp(profile, "default") == 0 ? sb_buf_append_str(&section, profile)
							     : sb_buf_printf(&section, "profile %s", profile),
		      out);
	const char *v = found ? sb_ini_get(&ini, sb_buf_cstr(&section), "region") : NULL;
	if (v == NULL && found && strcmp(profile, "default") == 0)
		v = sb_ini_get(&ini, "profile default", "region");
	if (v == NULL)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_AWS_NO_REGION, out,
				 "set AWS_REGION or 'region' in profile '%s'", profile);
	rc = region_set(v, sb_buf_cstr(&path), out);
out:
	sb_ini_cleanup(&ini);
	sb_buf_cleanup(&path);
	sb_buf_cleanup(&section);
	return rc;
}

SB_RESULT sb_aws_endpoint_check(const char *url)
{
	const char *host;

	SB_ENSURE_REF(url);
	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		SB_BAIL_MSG(SB_ERR_INVALID_ARG, "endpoint must start with http:// or https://");
	SB_ENSURE_MSG(strlen(url) <= SB_AWS_URL_MAX, SB_ERR_TOO_LARGE, "endpoint URL too long");
	SB_ENSURE_MSG(host[0] != '\0' && host[0] != '/' && host[0] != ':', SB_ERR_INVALID_ARG,
		      "endpoint has no host");
	for (const char *p = url; *p != '\0'; p++)
		SB_ENSURE_MSG(*p > 0x20 && *p < 0x7f && *p != '?' && *p != '#' && *p != '@',
			      SB_ERR_INVALID_ARG,
			      "endpoint must not have spaces, a query, a fragment or user info");
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_endpoint(const char *service, const char *region, struct sb_buf *out,
			  bool *custom)
{
	char var[64];
	size_t n;

	SB_ENSURE_REF(service);
	SB_ENSURE_REF(out);
	SB_ENSURE_REF(custom);
	n = strlen(service);
	SB_ENSURE(n > 0 && n < sizeof(var) - 18, SB_ERR_INVALID_ARG);
	memcpy(var, "AWS_ENDPOINT_URL_", 17);
	for (size_t i = 0; i <= n; i++)
		var[17 + i] = (char)toupper((unsigned char)service[i]);
	/* "The service-specific endpoint ... takes precedence over the global one." */
	const char *url = getenv(var);
	if (url == NULL || url[0] == '\0')
		url = getenv("AWS_ENDPOINT_URL");
	if (url != NULL && url[0] != '\0') {
		SB_GUARD(sb_aws_endpoint_check(url));
		size_t len = strlen(url);
		while (len > 0 && url[len - 1] == '/')
			len--;
		*custom = true;
		return sb_buf_append(out, url, len);
	}
	SB_ENSURE_MSG(sb_aws_region_valid(region), SB_ERR_AWS_NO_REGION,
		      "no region to build the %s endpoint", service);
	*custom = false;
	return sb_buf_printf(out, "https://%s.%s.amazonaws.com", service, region);
}

/* Copies text into dst (cap+1 bytes), replacing control characters. */
static void copy_clean(char *dst, size_t cap, const char *src, size_t n)
{
	size_t i;

	if (n > cap)
		n = cap;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	dst[i] = '\0';
}

static void error_parse_json(struct sb_slice body, struct sb_aws_error *out)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)body.ptr, body.len, JSON_REJECT_DUPLICATES, &jerr);
	const char *type, *msg;

	if (root == NULL || !json_is_object(root))
		goto out;
	type = json_string_value(json_object_get(root, "__type"));
	if (type == NULL)
		type = json_string_value(json_object_get(root, "code"));
	if (type != NULL) {
		/* "__type": "com.amazonaws.kms#NotFoundException" -> the part after '#'. */
		const char *hash = strrchr(type, '#');
		type = hash != NULL ? hash + 1 : type;
		copy_clean(out->code, SB_AWS_CODE_MAX, type, strlen(type));
	}
	msg = json_string_value(json_object_get(root, "message"));
	if (msg == NULL)
		msg = json_string_value(json_object_get(root, "Message"));
	if (msg != NULL)
		copy_clean(out->message, SB_AWS_MESSAGE_MAX, msg, strlen(msg));
out:
	json_decref(root);
}

static void xml_field(struct sb_slice body, const char *name, char *dst, size_t cap)
{
	struct sb_slice v;
	struct sb_buf text = SB_BUF_INIT(SB_AWS_MESSAGE_MAX * 8);

	if (!sb_ok(sb_aws_xml_find(body, name, &v)) || !sb_ok(sb_aws_xml_unescape(v, &text))) {
		sb_error_clear();
		sb_buf_cleanup(&text);
		return;
	}
	copy_clean(dst, cap, sb_buf_cstr(&text), text.len);
	sb_buf_cleanup(&text);
}

static void error_parse_xml(struct sb_slice body, struct sb_aws_error *out)
{
	struct sb_slice err;

	/* S3: <Error>...</Error>; STS: <ErrorResponse><Error>...</Error>. */
	if (!sb_ok(sb_aws_xml_find(body, "Error", &err))) {
		sb_error_clear();
		return;
	}
	xml_field(err, "Code", out->code, SB_AWS_CODE_MAX);
	xml_field(err, "Message", out->message, SB_AWS_MESSAGE_MAX);
}

void sb_aws_error_parse(enum sb_aws_error_format fmt, struct sb_slice body,
			struct sb_aws_error *out)
{
	memset(out, 0, sizeof(*out));
	if (body.len == 0 || body.ptr == NULL)
		return;
	switch (fmt) {
	case SB_AWS_ERROR_JSON:
		error_parse_json(body, out);
		break;
	case SB_AWS_ERROR_XML:
		error_parse_xml(body, out);
		break;
	default:
		break;
	}
}

static bool in_list(const char *code, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(code, list[i]) == 0)
			return true;
	return false;
}

/* The SDKs' standard retry mode lists these as throttling errors. */
static const char *const throttle_codes[] = {
	"Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
	"TooManyRequestsException", "ProvisionedThroughputExceededException",
	"TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
	"LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
	"EC2ThrottledException", NULL};

static const char *const denied_codes[] = {
	"AccessDenied", "AccessDeniedException", "UnrecognizedClientException",
	"InvalidClientTokenId", "SignatureDoesNotMatch", "IncompleteSignature",
	"InvalidSignatureException", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
	"MissingAuthenticationToken", "KMSInvalidStateException", NULL};

static const char *const missing_codes[] = {"NotFoundException", "NoSuchKey", "NoSuchBucket",
					    "NotFound", "NoSuchEntity", NULL};

bool sb_aws_error_is_throttle(const char *code, long status)
{
	if (status == 429)
		return true;
	return code != NULL && in_list(code, throttle_codes);
}

int sb_aws_error_classify(const char *code, long status)
{
	const char *c = code != NULL ? code : "";

	if (sb_aws_error_is_throttle(c, status))
		return SB_ERR_AWS_THROTTLED;
	if (in_list(c, missing_codes) || (c[0] == '\0' && status == 404))
		return SB_ERR_AWS_NOT_FOUND;
	if (in_list(c, denied_codes) || (c[0] == '\0' && (status == 401 || status == 403)))
		return SB_ERR_AWS_ACCESS_DENIED;
	return SB_ERR_AWS_SERVICE;
}

/*
 * Finds the first "<name>" or "<name attr...>" in in; *after is the index
 * past its '>', *empty is set for "<name/>".
 */
static bool xml_open_tag(struct sb_slice in, const char *name, size_t *after, bool *empty)
{
	size_t n = strlen(name);

	for (size_t i = 0; i + n + 2 <= in.len; i++) {
		if (in.ptr[i] != '<' || memcmp(in.ptr + i + 1, name, n) != 0)
			continue;
		uint8_t next = in.ptr[i + 1 + n];
		if (next != '>' && next != ' ' && next != '\t' && next != '\n' && next != '\r' &&
		    next != '/')
			continue;
		const uint8_t *gt = memchr(in.ptr + i + 1 + n, '>', in.len - (i + 1 + n));
		if (gt == NULL)
			return false;
		*empty = gt[-1] == '/';
		*after = (size_t)(gt - in.ptr) + 1;
		return true;
	}
	return false;
}

SB_RESULT sb_aws_xml_find(struct sb_slice in, const char *name, struct sb_slice *out)
{
	char close[SB_AWS_CODE_MAX + 4];
	size_t start, n;
	bool empty;

	SB_ENSURE_REF(name);
	SB_ENSURE_REF(out);
	n = strlen(name);
	SB_ENSURE(n > 0 && n <= SB_AWS_CODE_MAX, SB_ERR_INVALID_ARG);
	if (in.ptr == NULL || !xml_open_tag(in, name, &start, &empty))
		SB_BAIL_MSG(SB_ERR_NOT_FOUND, "no <%s> element", name);
	if (empty) {
		*out = SB_SLICE(in.ptr + start, 0);
		return SB_OK_RESULT;
	}
	close[0] = '<';
	close[1] = '/';
	memcpy(close + 2, name, n);
	close[n + 2] = '>';
	const uint8_t *end = memmem(in.ptr + start, in.len - start, close, n + 3);
	SB_ENSURE_MSG(end != NULL, SB_ERR_AWS_BAD_RESPONSE, "unterminated <%s> element", name);
	*out = SB_SLICE(in.ptr + start, (size_t)(end - (in.ptr + start)));
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_xml_unescape(struct sb_slice in, struct sb_buf *out)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
	size_t i = 0;

	SB_ENSURE_REF(out);
	while (i < in.len) {
		if (in.ptr[i] == '<')
			SB_BAIL_MSG(SB_ERR_AWS_BAD_RESPONSE, "markup inside a text element");
		if (in.ptr[i] != '&') {
			SB_GUARD(sb_buf_append_u8(out, in.ptr[i]));
			i++;
			continue;
		}
		size_t k;
		for (k = 0; k < sizeof(ents) / sizeof(ents[0]); k++) {
			size_t el = strlen(ents[k].ent);
			if (in.len - i >= el && memcmp(in.ptr + i, ents[k].ent, el) == 0) {
				SB_GUARD(sb_buf_append_u8(out, (uint8_t)ents[k].c));
				i += el;
				break;
			}
		}
		SB_ENSURE_MSG(k < sizeof(ents) / sizeof(ents[0]), SB_ERR_AWS_BAD_RESPONSE,
			      "unsupported XML entity");
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_uri_encode(struct sb_slice in, bool keep_slash, struct sb_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	SB_ENSURE_REF(out);
	for (size_t i = 0; i < in.len; i++) {
		uint8_t c = in.ptr[i];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~' ||
			     (keep_slash && c == '/');
		if (plain) {
			SB_GUARD(sb_buf_append_u8(out, c));
		} else {
			uint8_t e[3] = {'%', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
			SB_GUARD(sb_buf_append(out, e, 3));
		}
	}
	return SB_OK_RESULT;
}

static void *json_malloc_plain(size_t n)
{
	return malloc(n);
}

void sb_aws_json_free(void *p)
{
	if (p == NULL)
		return;
	sb_wipe(p, malloc_usable_size(p));
	free(p);
}

static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void json_alloc_once(void)
{
	/* Process-wide, harmless for other jansson users: their frees are wiped too. */
	json_set_alloc_funcs(json_malloc_plain, sb_aws_json_free);
}

SB_RESULT sb_aws_json_init(void)
{
	SB_ENSURE(pthread_once(&json_once, json_alloc_once) == 0, SB_ERR_INTERNAL);
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_atomic_open(const char *path, char *tmp, size_t tmp_cap, int *fd)
{
	int n;

	SB_ENSURE_REF(path);
	SB_ENSURE_REF(tmp);
	SB_ENSURE_REF(fd);
	tmp[0] = '\0';
	/* Only a regular file or nothing is ever replaced (checked again at commit). */
	SB_GUARD(sb_file_check_replaceable(path));
	n = snprintf(tmp, tmp_cap, "%s.tmp.XXXXXX", path);
	SB_ENSURE_MSG(n > 0 && (size_t)n < tmp_cap, SB_ERR_TOO_LARGE, "path too long");
	*fd = mkostemp(tmp, O_CLOEXEC);
	SB_ENSURE_MSG(*fd >= 0, errno == ENOENT ? SB_ERR_NOT_FOUND : SB_ERR_IO, "%s: %s", path,
		      strerror(errno));
	return SB_OK_RESULT;
}

SB_RESULT sb_aws_atomic_commit(int fd, const char *tmp, const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int dfd;

	if (fsync(fd) != 0 || close(fd) != 0) {
		int e = errno;
		(void)unlink(tmp);
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", path, strerror(e));
	}
	sb_result chk = sb_file_check_replaceable(path);
	if (!sb_ok(chk)) {
		(void)unlink(tmp);
		return chk;
	}
	if (rename(tmp, path) != 0) {
		int e = errno;
		(void)unlink(tmp);
		SB_BAIL_MSG(SB_ERR_IO, "%s: %s", path, strerror(e));
	}
	if (slash == NULL)
		(void)snprintf(dir, sizeof(dir), ".");
	else
		(void)snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return SB_OK_RESULT;
}

void sb_aws_atomic_abort(int fd, const char *tmp)
{
	if (fd >= 0)
		close(fd);
	if (tmp != NULL && tmp[0] != '\0')
		(void)unlink(tmp);
}
