/*
 * Fuzz target for the key-policy evaluator (src/kmsd/sb_policy.c) with
 * conditions: the request it is evaluated against comes from the input too.
 *
 * Input: a request header, a NUL byte, then the policy document. The header
 * is '\n'-separated lines: the principal ARN, the action, the resource, then
 * up to MAX_CTX context keys as "key=v1,v2,..." (at most MAX_VALS values).
 * Properties checked beyond "no crash": evaluation is deterministic, its
 * decision is one of the three, and a policy that parses is never longer
 * than SB_POLICY_MAX_LEN.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_buf.h"
#include "kmsd/sb_kmsd_config.h"
#include "kmsd/sb_policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CTX  8
#define MAX_VALS 4
#define MAX_HDR  1024

struct req_store {
	char text[MAX_HDR + 1];
	char account[13];
	const char *vals[MAX_CTX][MAX_VALS];
	struct sb_policy_ctx ctx[MAX_CTX];
};

/* Splits the header in place into the request; NULs in it end fields early. */
static void build_request(struct req_store *s, struct sb_slice hdr, struct sb_policy_request *req)
{
	const char *field[3] = {"", "", ""};
	char *p = s->text, *line;
	size_t n = hdr.len < MAX_HDR ? hdr.len : MAX_HDR, i = 0;

	memcpy(s->text, hdr.ptr, n);
	s->text[n] = '\0';
	*req = (struct sb_policy_request){.ctx = s->ctx};
	while ((line = strsep(&p, "\n")) != NULL) {
		if (i < 3) {
			field[i++] = line;
			continue;
		}
		if (req->n_ctx == MAX_CTX)
			break;
		char *eq = strchr(line, '=');
		struct sb_policy_ctx *c = &s->ctx[req->n_ctx];
		c->key = line;
		c->values = s->vals[req->n_ctx];
		c->n_values = 0;
		if (eq != NULL) {
			char *v = eq + 1, *one;
			*eq = '\0';
			while (c->n_values < MAX_VALS && (one = strsep(&v, ",")) != NULL)
				s->vals[req->n_ctx][c->n_values++] = one;
		}
		req->n_ctx++;
	}
	req->principal_arn = field[0];
	req->action = field[1];
	req->resource = field[2];
	if (!sb_ok(sb_kmsd_arn_account(field[0], s->account))) {
		sb_error_clear();
		memcpy(s->account, "111122223333", 13);
	}
	req->account_id = s->account;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct req_store *s;
	struct sb_policy *p = NULL;
	struct sb_policy_request req;

	if (nul == NULL)
		return 0;
	s = malloc(sizeof(*s));
	if (s == NULL)
		return 0;
	size_t hlen = (size_t)(nul - data);
	struct sb_slice doc = SB_SLICE(nul + 1, size - hlen - 1);

	build_request(s, SB_SLICE(data, hlen), &req);
	if (sb_ok(sb_policy_parse(doc, &p))) {
		if (doc.len > SB_POLICY_MAX_LEN)
			abort();
		enum sb_policy_decision d1 = sb_policy_evaluate(p, &req);
		enum sb_policy_decision d2 = sb_policy_evaluate(p, &req);
		if (d1 != d2 || (d1 != SB_POLICY_ALLOW && d1 != SB_POLICY_IMPLICIT_DENY &&
				 d1 != SB_POLICY_EXPLICIT_DENY))
			abort();
	}
	sb_policy_free(p);
	sb_error_clear();
	free(s);
	return 0;
}
