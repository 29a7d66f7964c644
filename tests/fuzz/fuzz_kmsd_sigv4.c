/*
 * Fuzz target for SigV4 verification in sealbid-kms (src/kmsd/sb_sigv4.c):
 * the Authorization and X-Amz-Date headers, the credential scope, the
 * session token and the canonical request, against a fixed clock and fixed
 * secrets.
 *
 * Input: a flags byte, then a request as text:
 *   "METHOD PATH[?QUERY]\n" ("Name:value\n")* "\n" payload
 * Flags bit 0 clear: the request is verified as it is (Authorization and
 * X-Amz-Date from the input). Bit 0 set: round trip: the Authorization,
 * X-Amz-Date and X-Amz-Security-Token headers of the input are replaced by
 * ones sb_sigv4_sign makes (bit 1: with the session credential) over every
 * header, and verification must then accept it whenever the signed header
 * names are plain tokens. Nothing from the input is ever signed with a secret
 * the input names.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sb_buf.h"
#include "kmsd/sb_sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HDRS 24
#define NOW_MS   1764547200000ull /* 2025-12-01T00:00:00Z, the seeds' date */

static const struct sb_sigv4_credential creds[2] = {
	{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", NULL},
	{"ASIASESSION", "c2Vzc2lvbi1zZWNyZXQtZm9yLWZ1enppbmctb25seQ", "FwoGZXIvYXdzEXAMPLETOKEN"},
};

struct parsed {
	struct sb_sigv4_header h[MAX_HDRS + 3];
	size_t n;
	struct sb_sigv4_request req;
};

static struct sb_slice take_line(struct sb_slice *in)
{
	const uint8_t *nl = in->len > 0 ? memchr(in->ptr, '\n', in->len) : NULL;
	size_t n = nl != NULL ? (size_t)(nl - in->ptr) : in->len;
	struct sb_slice line = SB_SLICE(in->ptr, n);

	in->ptr += nl != NULL ? n + 1 : n;
	in->len -= nl != NULL ? n + 1 : n;
	return line;
}

static bool is_name(struct sb_slice s, const char *name)
{
	size_t n = strlen(name);
	return s.len == n && strncasecmp((const char *)s.ptr, name, n) == 0;
}

/* Splits in into p; every slice borrows in. */
static void parse(struct sb_slice in, bool drop_auth, struct parsed *p)
{
	struct sb_slice line = take_line(&in);
	const uint8_t *sp = memchr(line.ptr, ' ', line.len);
	size_t m = sp != NULL ? (size_t)(sp - line.ptr) : line.len;
	struct sb_slice target = SB_SLICE(line.ptr + m, line.len - m);

	memset(p, 0, sizeof(*p));
	p->req.method = SB_SLICE(line.ptr, m);
	if (target.len > 0) {
		target.ptr++;
		target.len--;
	}
	const uint8_t *q = target.len > 0 ? memchr(target.ptr, '?', target.len) : NULL;
	size_t plen = q != NULL ? (size_t)(q - target.ptr) : target.len;
	p->req.path = SB_SLICE(target.ptr, plen);
	p->req.query = q != NULL ? SB_SLICE(q + 1, target.len - plen - 1) : SB_SLICE(NULL, 0);
	while (in.len > 0) {
		line = take_line(&in);
		if (line.len == 0)
			break;
		const uint8_t *colon = memchr(line.ptr, ':', line.len);
		size_t k = colon != NULL ? (size_t)(colon - line.ptr) : line.len;
		struct sb_slice name = SB_SLICE(line.ptr, k);
		if (drop_auth && (is_name(name, "authorization") || is_name(name, "x-amz-date") ||
				  is_name(name, "x-amz-security-token")))
			continue;
		if (p->n == MAX_HDRS)
			continue;
		p->h[p->n++] = (struct sb_sigv4_header){
			name, colon != NULL ? SB_SLICE(colon + 1, line.len - k - 1) : SB_SLICE(NULL, 0)};
	}
	p->req.headers = p->h;
	p->req.n_headers = p->n;
	p->req.payload = in;
}

static int cmp_name(const void *a, const void *b)
{
	const struct sb_slice *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? strncasecmp((const char *)x->ptr, (const char *)y->ptr, n) : 0;
	return c != 0 ? c : (x->len > y->len) - (x->len < y->len);
}

/* The sorted, lower-case, de-duplicated list of every header name; false
 * if a name is not a plain token (then the verifier may refuse the list). */
static bool signed_list(const struct parsed *p, struct sb_buf *out)
{
	struct sb_slice names[MAX_HDRS + 3];
	bool plain = true;

	for (size_t i = 0; i < p->n; i++)
		names[i] = p->h[i].name;
	qsort(names, p->n, sizeof(names[0]), cmp_name);
	for (size_t i = 0; i < p->n; i++) {
		if (i > 0 && cmp_name(&names[i - 1], &names[i]) == 0)
			continue;
		if (out->len > 0 && !sb_ok(sb_buf_append_str(out, ";")))
			return false;
		for (size_t j = 0; j < names[i].len; j++) {
			uint8_t c = names[i].ptr[j];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c + 32);
			plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
			if (!sb_ok(sb_buf_append(out, &c, 1)))
				return false;
		}
		plain = plain && names[i].len > 0;
	}
	return plain;
}

static void round_trip(struct parsed *p, bool session)
{
	static char date[17];
	const struct sb_sigv4_credential *c = &creds[session ? 1 : 0];
	struct sb_sigv4_policy pol = {"us-east-1", "kms", NOW_MS, 0, creds, 2};
	struct sb_buf list = SB_BUF_INIT(4096), authz = SB_BUF_INIT(8192);
	size_t idx = 99;
	bool has_host = false;

	if (date[0] == '\0' && !sb_ok(sb_sigv4_format_date(NOW_MS, date)))
		abort();
	p->h[p->n++] = (struct sb_sigv4_header){SB_SLICE_LIT("X-Amz-Date"), sb_slice_str(date)};
	if (session)
		p->h[p->n++] = (struct sb_sigv4_header){SB_SLICE_LIT("X-Amz-Security-Token"),
							sb_slice_str(c->session_token)};
	for (size_t i = 0; i < p->n; i++)
		has_host = has_host || is_name(p->h[i].name, "host");
	bool plain = signed_list(p, &list);
	p->req.n_headers = p->n;
	if (sb_ok(sb_sigv4_sign(&p->req, c, "us-east-1", "kms", sb_buf_slice(&list), &authz))) {
		p->h[p->n++] = (struct sb_sigv4_header){SB_SLICE_LIT("Authorization"),
							sb_buf_slice(&authz)};
		p->req.n_headers = p->n;
		sb_result r = sb_sigv4_verify(&p->req, &pol, &idx);
		/* What the signer made the verifier must take, for the right principal. */
		if (plain && has_host && (!sb_ok(r) || idx != (session ? 1u : 0u)))
			abort();
	}
	sb_buf_cleanup(&list);
	sb_buf_cleanup(&authz);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parsed *p;
	struct sb_sigv4_auth auth;
	size_t idx;

	if (size < 1)
		return 0;
	p = malloc(sizeof(*p));
	if (p == NULL)
		return 0;
	uint8_t flags = data[0];
	struct sb_slice in = SB_SLICE(data + 1, size - 1);
	parse(in, (flags & 1) != 0, p);
	if (flags & 1) {
		round_trip(p, (flags & 2) != 0);
	} else {
		struct sb_sigv4_policy pol = {"us-east-1", "kms", NOW_MS, 0, creds, 2};
		(void)sb_ok(sb_sigv4_verify(&p->req, &pol, &idx));
		for (size_t i = 0; i < p->n; i++)
			if (is_name(p->h[i].name, "authorization"))
				(void)sb_ok(sb_sigv4_parse_auth(p->h[i].value, &auth));
	}
	sb_error_clear();
	free(p);
	return 0;
}
