#include "kmsd/sb_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "crypto/sb_hash.h"

#define ALGORITHM    "AWS4-HMAC-SHA256"
#define TERMINATOR   "aws4_request"
#define AMZ_DATE_LEN 16 /* yyyymmddThhmmssZ */

static bool is_unreserved(uint8_t c)
{
	/* "URI-encode each byte except the unreserved characters:
	 * 'A'-'Z', 'a'-'z', '0'-'9', '-', '.', '_', and '~'." */
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

static bool slice_eq_nocase(struct sb_slice a, struct sb_slice b)
{
	if (a.len != b.len)
		return false;
	for (size_t i = 0; i < a.len; i++)
		if (lower(a.ptr[i]) != lower(b.ptr[i]))
			return false;
	return true;
}

/* Percent-decodes s into out; a malformed escape is an error. */
static SB_RESULT pct_decode(struct sb_slice s, struct sb_buf *out)
{
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.ptr[i];
		if (c == '%') {
			SB_ENSURE(i + 2 < s.len, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
			int hi = sb_hex_digit(s.ptr[i + 1]), lo = sb_hex_digit(s.ptr[i + 2]);
			SB_ENSURE(hi >= 0 && lo >= 0, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
			c = (uint8_t)(hi * 16 + lo);
			i += 2;
		}
		SB_GUARD(sb_buf_append_u8(out, c));
	}
	return SB_OK_RESULT;
}

/* URI-encodes s into out; '/' is kept when keep_slash (paths). */
static SB_RESULT uri_encode(struct sb_slice s, bool keep_slash, struct sb_buf *out)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.ptr[i];
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			SB_GUARD(sb_buf_append_u8(out, c));
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			SB_GUARD(sb_buf_append(out, e, 3));
		}
	}
	return SB_OK_RESULT;
}

/*
 * The canonical URI: the path decoded and encoded once, as the test suite's
 * creq files show for non-S3 services whose paths are already plain.
 */
static SB_RESULT canonical_uri(struct sb_slice path, struct sb_buf *out)
{
	SB_DEFER(struct sb_buf raw, sb_buf_cleanup) = SB_BUF_INIT(SB_SIGV4_MAX_CANON);

	if (path.len == 0)
		return sb_buf_append_u8(out, '/');
	SB_GUARD(pct_decode(path, &raw));
	return uri_encode(sb_buf_slice(&raw), true, out);
}

struct qparam {
	struct sb_buf name;
	struct sb_buf value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	size_t n = x->name.len < y->name.len ? x->name.len : y->name.len;
	int c = n == 0 ? 0 : memcmp(x->name.data, y->name.data, n);

	if (c != 0 || x->name.len != y->name.len)
		return c != 0 ? c : (x->name.len < y->name.len ? -1 : 1);
	n = x->value.len < y->value.len ? x->value.len : y->value.len;
	c = n == 0 ? 0 : memcmp(x->value.data, y->value.data, n);
	if (c != 0 || x->value.len == y->value.len)
		return c;
	return x->value.len < y->value.len ? -1 : 1;
}

/* Re-encodes one "name=value" pair from the wire into p. */
static SB_RESULT qparam_parse(struct sb_slice pair, struct qparam *p)
{
	SB_DEFER(struct sb_buf tmp, sb_buf_cleanup) = SB_BUF_INIT(SB_SIGV4_MAX_CANON);
	size_t eq = 0;

	while (eq < pair.len && pair.ptr[eq] != '=')
		eq++;
	p->name = SB_BUF_INIT(SB_SIGV4_MAX_CANON);
	p->value = SB_BUF_INIT(SB_SIGV4_MAX_CANON);
	SB_GUARD(pct_decode(SB_SLICE(pair.ptr, eq), &tmp));
	SB_GUARD(uri_encode(sb_buf_slice(&tmp), false, &p->name));
	sb_buf_reset(&tmp);
	if (eq < pair.len)
		SB_GUARD(pct_decode(SB_SLICE(pair.ptr + eq + 1, pair.len - eq - 1), &tmp));
	return uri_encode(sb_buf_slice(&tmp), false, &p->value);
}

#define SB_SIGV4_MAX_PARAMS 64

/*
 * "Sort the parameter names by character code point in ascending order.
 * Parameters with duplicate names should be sorted by value." Empty values
 * keep their '='.
 */
static SB_RESULT canonical_query(struct sb_slice q, struct sb_buf *out)
{
	struct qparam params[SB_SIGV4_MAX_PARAMS];
	size_t n = 0, start = 0;
	sb_result rc = SB_OK_RESULT;

	for (size_t i = 0; i <= q.len && q.len > 0; i++) {
		if (i < q.len && q.ptr[i] != '&')
			continue;
		if (i > start) {
			if (n == SB_SIGV4_MAX_PARAMS)
				SB_FAIL_GOTO_MSG(rc, SB_ERR_KMS_INCOMPLETE_SIGNATURE, out,
						 "too many query parameters");
			SB_GUARD_GOTO(rc, qparam_parse(SB_SLICE(q.ptr + start, i - start), &params[n]),
				      out_free_last);
			n++;
		}
		start = i + 1;
	}
	qsort(params, n, sizeof(params[0]), qparam_cmp);
	for (size_t i = 0; i < n && sb_ok(rc); i++) {
		if (i > 0)
			SB_GUARD_GOTO(rc, sb_buf_append_u8(out, '&'), out);
		SB_GUARD_GOTO(rc, sb_buf_append_slice(out, sb_buf_slice(&params[i].name)), out);
		SB_GUARD_GOTO(rc, sb_buf_append_u8(out, '='), out);
		SB_GUARD_GOTO(rc, sb_buf_append_slice(out, sb_buf_slice(&params[i].value)), out);
	}
	goto out;
out_free_last:
	sb_buf_cleanup(&params[n].name);
	sb_buf_cleanup(&params[n].value);
out:
	for (size_t i = 0; i < n; i++) {
		sb_buf_cleanup(&params[i].name);
		sb_buf_cleanup(&params[i].value);
	}
	return rc;
}

/*
 * "Trim any leading or trailing spaces ... Convert sequential spaces to a
 * single space." Values of repeated headers are joined with ','.
 */
static SB_RESULT append_trimmed(struct sb_slice v, struct sb_buf *out)
{
	size_t b = 0, e = v.len;
	bool space = false;

	while (b < e && (v.ptr[b] == ' ' || v.ptr[b] == '\t'))
		b++;
	while (e > b && (v.ptr[e - 1] == ' ' || v.ptr[e - 1] == '\t'))
		e--;
	for (size_t i = b; i < e; i++) {
		uint8_t c = v.ptr[i] == '\t' ? ' ' : v.ptr[i];
		if (c == ' ' && space)
			continue;
		space = c == ' ';
		SB_GUARD(sb_buf_append_u8(out, c));
	}
	return SB_OK_RESULT;
}

static SB_RESULT canonical_header(const struct sb_sigv4_request *req, struct sb_slice name,
				  struct sb_buf *out)
{
	bool found = false;

	SB_GUARD(sb_buf_append_slice(out, name));
	SB_GUARD(sb_buf_append_u8(out, ':'));
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!slice_eq_nocase(req->headers[i].name, name))
			continue;
		if (found)
			SB_GUARD(sb_buf_append_u8(out, ','));
		SB_GUARD(append_trimmed(req->headers[i].value, out));
		found = true;
	}
	SB_ENSURE_MSG(found, SB_ERR_KMS_INVALID_SIGNATURE, "signed header %.*s is missing",
		      (int)(name.len > 64 ? 64 : name.len), (const char *)name.ptr);
	return sb_buf_append_u8(out, '\n');
}

/* Signed header names: lower case, sorted, unique, ';'-separated. */
static SB_RESULT check_signed_list(struct sb_slice list)
{
	struct sb_slice prev = SB_SLICE(NULL, 0);
	size_t start = 0, count = 0;

	SB_ENSURE(list.len > 0, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	for (size_t i = 0; i <= list.len; i++) {
		if (i < list.len && list.ptr[i] != ';') {
			uint8_t c = list.ptr[i];
			SB_ENSURE(c > 0x20 && c < 0x7f && c != ':' && lower(c) == c,
				  SB_ERR_KMS_INCOMPLETE_SIGNATURE);
			continue;
		}
		struct sb_slice name = SB_SLICE(list.ptr + start, i - start);
		SB_ENSURE(name.len > 0, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
		if (prev.len > 0) {
			size_t n = prev.len < name.len ? prev.len : name.len;
			int c = memcmp(prev.ptr, name.ptr, n);
			SB_ENSURE_MSG(c < 0 || (c == 0 && prev.len < name.len),
				      SB_ERR_KMS_INCOMPLETE_SIGNATURE, "SignedHeaders not sorted");
		}
		SB_ENSURE(++count <= SB_SIGV4_MAX_SIGNED, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
		prev = name;
		start = i + 1;
	}
	return SB_OK_RESULT;
}

static SB_RESULT append_hex_sha256(struct sb_slice data, struct sb_buf *out)
{
	uint8_t d[SB_SHA256_LEN];

	SB_GUARD(sb_sha256(data, d));
	return sb_hex_encode(SB_SLICE(d, sizeof(d)), out);
}

SB_RESULT sb_sigv4_canonical_request(const struct sb_sigv4_request *req,
				     struct sb_slice signed_headers, struct sb_buf *out)
{
	size_t start = 0;

	SB_ENSURE_REF(req);
	SB_ENSURE_REF(out);
	SB_GUARD(check_signed_list(signed_headers));
	SB_GUARD(sb_buf_append_slice(out, req->method));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	SB_GUARD(canonical_uri(req->path, out));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	SB_GUARD(canonical_query(req->query, out));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	for (size_t i = 0; i <= signed_headers.len; i++) {
		if (i < signed_headers.len && signed_headers.ptr[i] != ';')
			continue;
		SB_GUARD(canonical_header(req, SB_SLICE(signed_headers.ptr + start, i - start), out));
		start = i + 1;
	}
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	SB_GUARD(sb_buf_append_slice(out, signed_headers));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	return append_hex_sha256(req->payload, out);
}

SB_RESULT sb_sigv4_string_to_sign(struct sb_slice amz_date, struct sb_slice scope,
				  struct sb_slice canonical_request, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_GUARD(sb_buf_append_str(out, ALGORITHM "\n"));
	SB_GUARD(sb_buf_append_slice(out, amz_date));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	SB_GUARD(sb_buf_append_slice(out, scope));
	SB_GUARD(sb_buf_append_u8(out, '\n'));
	return append_hex_sha256(canonical_request, out);
}

SB_RESULT sb_sigv4_signature(const char *secret, struct sb_slice date, struct sb_slice region,
			     struct sb_slice service, struct sb_slice string_to_sign,
			     char out_hex[SB_SIGV4_SIG_HEX_LEN + 1])
{
	SB_DEFER(struct sb_buf k, sb_buf_cleanup) = SB_BUF_INIT_SECRET(256);
	SB_DEFER(struct sb_buf hex, sb_buf_cleanup) = SB_BUF_INIT(SB_SIGV4_SIG_HEX_LEN);
	uint8_t mac[SB_SHA256_LEN];
	const struct sb_slice parts[4] = {date, region, service, SB_SLICE_LIT(TERMINATOR)};
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_REF(secret);
	SB_ENSURE_REF(out_hex);
	/* kSecret = "AWS4" + secret; kDate = HMAC(kSecret, date); ... */
	SB_GUARD(sb_buf_append_str(&k, "AWS4"));
	SB_GUARD(sb_buf_append_str(&k, secret));
	for (size_t i = 0; i < 4; i++) {
		SB_GUARD_GOTO(rc, sb_hmac_sha256(sb_buf_slice(&k), parts[i], mac), out);
		sb_buf_reset(&k);
		SB_GUARD_GOTO(rc, sb_buf_append(&k, mac, sizeof(mac)), out);
	}
	SB_GUARD_GOTO(rc, sb_hmac_sha256(sb_buf_slice(&k), string_to_sign, mac), out);
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(mac, sizeof(mac)), &hex), out);
	memcpy(out_hex, hex.data, SB_SIGV4_SIG_HEX_LEN);
	out_hex[SB_SIGV4_SIG_HEX_LEN] = '\0';
out:
	sb_wipe(mac, sizeof(mac));
	return rc;
}

static struct sb_slice trim_spaces(struct sb_slice s)
{
	while (s.len > 0 && s.ptr[0] == ' ')
		s = SB_SLICE(s.ptr + 1, s.len - 1);
	while (s.len > 0 && s.ptr[s.len - 1] == ' ')
		s.len--;
	return s;
}

/* Splits the Credential value into its five '/' parts. */
static SB_RESULT parse_credential(struct sb_slice v, struct sb_sigv4_auth *out)
{
	struct sb_slice part[5];
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= v.len; i++) {
		if (i < v.len && v.ptr[i] != '/')
			continue;
		SB_ENSURE(n < 5, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
		part[n++] = SB_SLICE(v.ptr + start, i - start);
		start = i + 1;
	}
	SB_ENSURE_MSG(n == 5, SB_ERR_KMS_INCOMPLETE_SIGNATURE,
		      "Credential should be scoped to a valid region");
	for (size_t i = 0; i < 5; i++)
		SB_ENSURE(part[i].len > 0, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	SB_ENSURE_MSG(sb_slice_eq_str(part[4], TERMINATOR), SB_ERR_KMS_INCOMPLETE_SIGNATURE,
		      "Credential should be scoped with a valid terminator: 'aws4_request'");
	SB_ENSURE(part[1].len == 8, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	out->access_key = part[0];
	out->date = part[1];
	out->region = part[2];
	out->service = part[3];
	return SB_OK_RESULT;
}

static SB_RESULT parse_auth_part(struct sb_slice part, struct sb_sigv4_auth *out, unsigned *seen)
{
	static const char *const keys[3] = {"Credential=", "SignedHeaders=", "Signature="};

	for (unsigned k = 0; k < 3; k++) {
		size_t kl = strlen(keys[k]);
		if (part.len < kl || memcmp(part.ptr, keys[k], kl) != 0)
			continue;
		SB_ENSURE_MSG((*seen & (1u << k)) == 0, SB_ERR_KMS_INCOMPLETE_SIGNATURE,
			      "duplicate %s", keys[k]);
		*seen |= 1u << k;
		struct sb_slice v = SB_SLICE(part.ptr + kl, part.len - kl);
		switch (k) {
		case 0:
			return parse_credential(v, out);
		case 1:
			out->signed_headers = v;
			return check_signed_list(v);
		case 2:
			SB_ENSURE(v.len == SB_SIGV4_SIG_HEX_LEN, SB_ERR_KMS_INCOMPLETE_SIGNATURE);
			out->signature = v;
			return SB_OK_RESULT;
		default:
			SB_BAIL(SB_ERR_INTERNAL);
		}
	}
	SB_BAIL_MSG(SB_ERR_KMS_INCOMPLETE_SIGNATURE, "unexpected Authorization component");
}

SB_RESULT sb_sigv4_parse_auth(struct sb_slice value, struct sb_sigv4_auth *out)
{
	const struct sb_slice prefix = SB_SLICE_LIT(ALGORITHM " ");
	unsigned seen = 0;
	size_t start;

	SB_ENSURE_REF(out);
	memset(out, 0, sizeof(*out));
	SB_ENSURE_MSG(value.len > prefix.len && memcmp(value.ptr, prefix.ptr, prefix.len) == 0,
		      SB_ERR_KMS_INCOMPLETE_SIGNATURE, "unsupported signing algorithm");
	start = prefix.len;
	for (size_t i = start; i <= value.len; i++) {
		if (i < value.len && value.ptr[i] != ',')
			continue;
		SB_GUARD(parse_auth_part(trim_spaces(SB_SLICE(value.ptr + start, i - start)), out,
					 &seen));
		start = i + 1;
	}
	SB_ENSURE_MSG(seen == 7, SB_ERR_KMS_INCOMPLETE_SIGNATURE,
		      "Authorization header requires Credential, SignedHeaders and Signature");
	return SB_OK_RESULT;
}

/* The single value of a header (first occurrence), or an empty slice. */
static bool find_header(const struct sb_sigv4_request *req, const char *name, struct sb_slice *out)
{
	for (size_t i = 0; i < req->n_headers; i++) {
		if (slice_eq_nocase(req->headers[i].name, sb_slice_str(name))) {
			*out = req->headers[i].value;
			return true;
		}
	}
	*out = SB_SLICE(NULL, 0);
	return false;
}

/* "yyyymmddThhmmssZ" to Unix ms, through the strict RFC 3339 parser. */
static SB_RESULT parse_amz_date(struct sb_slice d, uint64_t *out_ms)
{
	char iso[21];

	SB_ENSURE(d.len == AMZ_DATE_LEN && d.ptr[8] == 'T' && d.ptr[15] == 'Z',
		  SB_ERR_KMS_INCOMPLETE_SIGNATURE);
	(void)snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", (const char *)d.ptr,
		       (const char *)d.ptr + 4, (const char *)d.ptr + 6, (const char *)d.ptr + 9,
		       (const char *)d.ptr + 11, (const char *)d.ptr + 13);
	sb_result r = sb_time_parse(sb_slice_str(iso), out_ms);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_INCOMPLETE_SIGNATURE, "invalid X-Amz-Date");
	return SB_OK_RESULT;
}

SB_RESULT sb_sigv4_format_date(uint64_t ms, char out[17])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	SB_ENSURE(gmtime_r(&t, &tm) != NULL, SB_ERR_BAD_TIME);
	SB_ENSURE(strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) == AMZ_DATE_LEN, SB_ERR_BAD_TIME);
	return SB_OK_RESULT;
}

static SB_RESULT check_date(struct sb_slice amz_date, const struct sb_sigv4_auth *auth,
			    const struct sb_sigv4_policy *policy)
{
	uint64_t t, skew = policy->max_skew_ms != 0 ? policy->max_skew_ms : SB_SIGV4_MAX_SKEW_MS;

	SB_GUARD(parse_amz_date(amz_date, &t));
	SB_ENSURE_MSG(memcmp(amz_date.ptr, auth->date.ptr, 8) == 0, SB_ERR_KMS_INVALID_SIGNATURE,
		      "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
		      "date from HTTP");
	uint64_t diff = t > policy->now_ms ? t - policy->now_ms : policy->now_ms - t;
	SB_ENSURE_MSG(diff <= skew, SB_ERR_KMS_INVALID_SIGNATURE,
		      "Signature expired: %.16s is more than %llu min. from the server time",
		      (const char *)amz_date.ptr, (unsigned long long)(skew / 60000));
	return SB_OK_RESULT;
}

static SB_RESULT check_scope(const struct sb_sigv4_auth *auth, const struct sb_sigv4_policy *policy)
{
	SB_ENSURE_MSG(sb_slice_eq_str(auth->region, policy->region), SB_ERR_KMS_INVALID_SIGNATURE,
		      "Credential should be scoped to a valid region");
	SB_ENSURE_MSG(sb_slice_eq_str(auth->service, policy->service),
		      SB_ERR_KMS_INVALID_SIGNATURE,
		      "Credential should be scoped to correct service: '%s'", policy->service);
	return SB_OK_RESULT;
}

static SB_RESULT find_credential(const struct sb_sigv4_auth *auth,
				 const struct sb_sigv4_policy *policy, size_t *out)
{
	for (size_t i = 0; i < policy->n_creds; i++) {
		if (sb_slice_eq_str(auth->access_key, policy->creds[i].access_key_id)) {
			*out = i;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_KMS_UNRECOGNIZED_CLIENT,
		    "The security token included in the request is invalid.");
}

/* "x-amz-security-token ... must be included in the signature" when used. */
static SB_RESULT check_token(const struct sb_sigv4_request *req,
			     const struct sb_sigv4_credential *cred)
{
	struct sb_slice tok;
	bool has = find_header(req, "x-amz-security-token", &tok);
	struct sb_slice want = sb_slice_str(cred->session_token);

	if (cred->session_token == NULL) {
		SB_ENSURE_MSG(!has, SB_ERR_KMS_UNRECOGNIZED_CLIENT,
			      "The security token included in the request is invalid.");
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(has && tok.len == want.len && sb_ct_equal(tok.ptr, want.ptr, want.len),
		      SB_ERR_KMS_UNRECOGNIZED_CLIENT,
		      "The security token included in the request is invalid.");
	return SB_OK_RESULT;
}

/* The headers the server insists are signed. */
static bool list_has(struct sb_slice list, const char *name)
{
	size_t start = 0;

	for (size_t i = 0; i <= list.len; i++) {
		if (i < list.len && list.ptr[i] != ';')
			continue;
		if (sb_slice_eq_str(SB_SLICE(list.ptr + start, i - start), name))
			return true;
		start = i + 1;
	}
	return false;
}

static SB_RESULT compute_signature(const struct sb_sigv4_request *req,
				   const struct sb_sigv4_auth *auth, struct sb_slice amz_date,
				   const char *secret, char hex[SB_SIGV4_SIG_HEX_LEN + 1])
{
	SB_DEFER(struct sb_buf creq, sb_buf_cleanup) = SB_BUF_INIT(SB_SIGV4_MAX_CANON);
	SB_DEFER(struct sb_buf scope, sb_buf_cleanup) = SB_BUF_INIT(512);
	SB_DEFER(struct sb_buf sts, sb_buf_cleanup) = SB_BUF_INIT(1024);

	SB_GUARD(sb_sigv4_canonical_request(req, auth->signed_headers, &creq));
	SB_GUARD(sb_buf_printf(&scope, "%.*s/%.*s/%.*s/" TERMINATOR, (int)auth->date.len,
			       (const char *)auth->date.ptr, (int)auth->region.len,
			       (const char *)auth->region.ptr, (int)auth->service.len,
			       (const char *)auth->service.ptr));
	SB_GUARD(sb_sigv4_string_to_sign(amz_date, sb_buf_slice(&scope), sb_buf_slice(&creq), &sts));
	return sb_sigv4_signature(secret, auth->date, auth->region, auth->service,
				  sb_buf_slice(&sts), hex);
}

SB_RESULT sb_sigv4_verify(const struct sb_sigv4_request *req, const struct sb_sigv4_policy *policy,
			  size_t *out_index)
{
	struct sb_sigv4_auth auth;
	struct sb_slice authz, amz_date;
	char want[SB_SIGV4_SIG_HEX_LEN + 1];
	size_t idx = 0;

	SB_ENSURE_REF(req);
	SB_ENSURE_REF(policy);
	SB_ENSURE_REF(out_index);
	SB_ENSURE_MSG(find_header(req, "authorization", &authz), SB_ERR_KMS_MISSING_AUTH,
		      "Missing Authentication Token");
	SB_GUARD(sb_sigv4_parse_auth(authz, &auth));
	SB_ENSURE_MSG(list_has(auth.signed_headers, "host"), SB_ERR_KMS_INCOMPLETE_SIGNATURE,
		      "SignedHeaders must include host");
	SB_ENSURE_MSG(find_header(req, "x-amz-date", &amz_date) &&
			      list_has(auth.signed_headers, "x-amz-date"),
		      SB_ERR_KMS_INCOMPLETE_SIGNATURE, "X-Amz-Date must be present and signed");
	SB_GUARD(find_credential(&auth, policy, &idx));
	SB_GUARD(check_scope(&auth, policy));
	SB_GUARD(check_date(amz_date, &auth, policy));
	SB_GUARD(check_token(req, &policy->creds[idx]));
	if (policy->creds[idx].session_token != NULL)
		SB_ENSURE_MSG(list_has(auth.signed_headers, "x-amz-security-token"),
			      SB_ERR_KMS_INVALID_SIGNATURE, "security token must be signed");
	SB_GUARD(compute_signature(req, &auth, amz_date, policy->creds[idx].secret_access_key, want));
	/* Constant time: the comparison must not reveal how many digits match. */
	SB_ENSURE_MSG(sb_ct_equal(want, auth.signature.ptr, SB_SIGV4_SIG_HEX_LEN),
		      SB_ERR_KMS_INVALID_SIGNATURE,
		      "The request signature we calculated does not match the signature you "
		      "provided. Check your AWS Secret Access Key and signing method.");
	*out_index = idx;
	return SB_OK_RESULT;
}

SB_RESULT sb_sigv4_sign(const struct sb_sigv4_request *req, const struct sb_sigv4_credential *cred,
			const char *region, const char *service, struct sb_slice signed_headers,
			struct sb_buf *out)
{
	struct sb_sigv4_auth auth;
	struct sb_slice amz_date;
	char sig[SB_SIGV4_SIG_HEX_LEN + 1];

	SB_ENSURE_REF(req);
	SB_ENSURE_REF(cred);
	SB_ENSURE_REF(out);
	SB_ENSURE(find_header(req, "x-amz-date", &amz_date) && amz_date.len == AMZ_DATE_LEN,
		  SB_ERR_INVALID_ARG);
	memset(&auth, 0, sizeof(auth));
	auth.date = SB_SLICE(amz_date.ptr, 8);
	auth.region = sb_slice_str(region);
	auth.service = sb_slice_str(service);
	auth.signed_headers = signed_headers;
	SB_GUARD(compute_signature(req, &auth, amz_date, cred->secret_access_key, sig));
	return sb_buf_printf(out,
			     ALGORITHM " Credential=%s/%.8s/%s/%s/" TERMINATOR
				       ", SignedHeaders=%.*s, Signature=%s",
			     cred->access_key_id, (const char *)amz_date.ptr, region, service,
			     (int)signed_headers.len, (const char *)signed_headers.ptr, sig);
}
