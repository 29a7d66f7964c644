/*
 * The attestation verifier (AWS "Nitro Enclaves attestation process" §3 and
 * "Verifying the root of trust"): structure, chain, signature, then policy.
 */
#include "attest/sb_verify.h"

#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_parse.h"
#include "common/sb_time.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_x509.h"

/* Every certificate the verifier looks at, freed together. */
struct chain {
	struct sb_x509 *roots[SB_VERIFY_ROOTS_MAX];
	size_t n_roots;
	struct sb_x509 *bundle[SB_ATTEST_CABUNDLE_MAX]; /* cabundle, root first */
	size_t n_bundle;
	struct sb_x509 *leaf;
};

static void chain_cleanup(struct chain *c)
{
	for (size_t i = 0; i < c->n_roots; i++)
		sb_x509_free(c->roots[i]);
	for (size_t i = 0; i < c->n_bundle; i++)
		sb_x509_free(c->bundle[i]);
	sb_x509_free(c->leaf);
	memset(c, 0, sizeof(*c));
}

void sb_verify_opts_init(struct sb_verify_opts *opts)
{
	if (opts != NULL)
		memset(opts, 0, sizeof(*opts));
}

SB_RESULT sb_verify_opts_add_root(struct sb_verify_opts *opts, struct sb_slice root)
{
	SB_ENSURE_REF(opts);
	SB_ENSURE(root.ptr != NULL && root.len > 0, SB_ERR_INVALID_ARG);
	SB_ENSURE_MSG(opts->root_count < SB_VERIFY_ROOTS_MAX, SB_ERR_TOO_LARGE, "at most %d roots",
	              SB_VERIFY_ROOTS_MAX);
	opts->roots[opts->root_count++] = root;
	return SB_OK_RESULT;
}

SB_RESULT sb_verify_opts_expect_pcr(struct sb_verify_opts *opts, unsigned index,
                                    struct sb_slice value)
{
	SB_ENSURE_REF(opts);
	SB_ENSURE_MSG(index < SB_ATTEST_PCR_COUNT, SB_ERR_INVALID_ARG, "PCR index %u > 31", index);
	SB_ENSURE_MSG(value.len == 32 || value.len == 48 || value.len == 64, SB_ERR_INVALID_ARG,
	              "PCR%u value of %zu bytes (32, 48 or 64)", index, value.len);
	struct sb_attest_pcr *p = &opts->expect_pcrs[index];
	memcpy(p->value, value.ptr, value.len);
	p->len = (uint8_t)value.len;
	p->present = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_verify_opts_expect_pcr_arg(struct sb_verify_opts *opts, const char *arg)
{
	SB_ENSURE_REF(opts);
	SB_ENSURE_REF(arg);
	const char *eq = strchr(arg, '=');
	SB_ENSURE_MSG(eq != NULL, SB_ERR_INVALID_ARG, "expected N=HEX");
	uint32_t index;
	sb_result rc =
	    sb_parse_u32(SB_SLICE(arg, (size_t)(eq - arg)), 0, SB_ATTEST_PCR_COUNT - 1, &index);
	SB_ENSURE_MSG(sb_ok(rc), SB_ERR_INVALID_ARG, "PCR index must be 0..31");
	struct sb_buf value = SB_BUF_INIT(SB_ATTEST_PCR_MAX_LEN);
	rc = sb_hex_decode(sb_slice_str(eq + 1), &value);
	if (sb_ok(rc))
		rc = sb_verify_opts_expect_pcr(opts, index, sb_buf_slice(&value));
	else
		rc = sb_error_recordf(SB_ERR_INVALID_ARG, SB_HERE,
		                      "PCR%u value is not hex of "
		                      "32, 48 or 64 bytes",
		                      (unsigned)index);
	sb_buf_cleanup(&value);
	return rc;
}

bool sb_verify_opts_pins_image(const struct sb_verify_opts *opts)
{
	return opts != NULL && (opts->expect_pcrs[0].present || opts->expect_pcrs[2].present);
}

bool sb_attest_pcr_is_zero(const struct sb_attest_pcr *pcr)
{
	uint8_t acc = 0;
	if (pcr == NULL || !pcr->present)
		return false;
	for (size_t i = 0; i < pcr->len; i++)
		acc |= pcr->value[i];
	return acc == 0;
}

/* The compiled-in root, after checking its fingerprint. */
static SB_RESULT load_aws_root(struct sb_x509 **out)
{
	uint8_t fp[SB_SHA256_LEN], want[SB_SHA256_LEN];
	SB_GUARD(sb_hex_decode_fixed(SB_SLICE_LIT(SB_ATTEST_AWS_ROOT_SHA256), want, sizeof(want)));
	SB_GUARD(sb_sha256(sb_attest_aws_root_der(), fp));
	SB_ENSURE(memcmp(fp, want, sizeof(fp)) == 0, SB_ERR_ATTEST_ROOT_FINGERPRINT);
	return sb_x509_from_der(sb_attest_aws_root_der(), out);
}

static SB_RESULT load_roots(const struct sb_verify_opts *opts, struct chain *c)
{
	if (opts->root_count == 0) {
		SB_GUARD(load_aws_root(&c->roots[0]));
		c->n_roots = 1;
		return SB_OK_RESULT;
	}
	SB_ENSURE(opts->root_count <= SB_VERIFY_ROOTS_MAX, SB_ERR_INVALID_ARG);
	for (size_t i = 0; i < opts->root_count; i++) {
		sb_result rc = sb_x509_from_der_or_pem(opts->roots[i], &c->roots[i]);
		SB_ENSURE_MSG(sb_ok(rc), SB_ERR_INVALID_ARG,
		              "trusted root %zu is not a certificate", i);
		c->n_roots = i + 1;
	}
	return SB_OK_RESULT;
}

static SB_RESULT load_doc_certs(const struct sb_attest_doc *doc, struct chain *c)
{
	for (size_t i = 0; i < doc->cabundle_len; i++) {
		sb_result rc = sb_x509_from_der(sb_buf_slice(&doc->cabundle[i]), &c->bundle[i]);
		SB_ENSURE_MSG(sb_ok(rc), SB_ERR_ATTEST_CHAIN, "cabundle[%zu] is not a certificate",
		              i);
		c->n_bundle = i + 1;
	}
	sb_result rc = sb_x509_from_der(sb_buf_slice(&doc->certificate), &c->leaf);
	SB_ENSURE_MSG(sb_ok(rc), SB_ERR_ATTEST_CHAIN, "certificate is not a certificate");
	return SB_OK_RESULT;
}

/* The trusted root equal to cabundle[0], or NULL. */
static struct sb_x509 *matching_root(const struct chain *c)
{
	for (size_t i = 0; i < c->n_roots; i++)
		if (sb_slice_eq(sb_x509_der(c->roots[i]), sb_x509_der(c->bundle[0])))
			return c->roots[i];
	return NULL;
}

/* AWS §3.2.3: "cabundle ... [ROOT_CERT, INTERM_1, ..., INTERM_N]"; the leaf follows. */
static SB_RESULT check_order_and_keys(const struct chain *c)
{
	for (size_t i = 0; i < c->n_bundle; i++) {
		SB_ENSURE_MSG(sb_x509_key_curve(c->bundle[i]) == SB_EC_CURVE_P384,
		              SB_ERR_ATTEST_KEY_TYPE, "cabundle[%zu] key is not P-384", i);
		SB_ENSURE_MSG(i == 0 || sb_x509_names_chain(c->bundle[i], c->bundle[i - 1]),
		              SB_ERR_ATTEST_CHAIN_ORDER,
		              "cabundle[%zu] not issued by cabundle[%zu]", i, i - 1);
	}
	SB_ENSURE_MSG(sb_x509_key_curve(c->leaf) == SB_EC_CURVE_P384, SB_ERR_ATTEST_KEY_TYPE,
	              "certificate key is not P-384");
	SB_ENSURE_MSG(sb_x509_names_chain(c->leaf, c->bundle[c->n_bundle - 1]),
	              SB_ERR_ATTEST_CHAIN_ORDER,
	              "certificate not issued by the last cabundle entry");
	/* AWS §3.2.3.3: target certificate "Key usage: digitalSignature bit is present". */
	SB_ENSURE_MSG(sb_x509_is_signing_leaf(c->leaf), SB_ERR_ATTEST_CHAIN,
	              "certificate is a CA or lacks digitalSignature");
	return SB_OK_RESULT;
}

static SB_RESULT chain_status_result(enum sb_x509_status st, int depth)
{
	switch (st) {
	case SB_X509_OK:
		return SB_OK_RESULT;
	case SB_X509_EXPIRED:
		SB_BAIL_MSG(SB_ERR_ATTEST_EXPIRED, "at chain depth %d", depth);
	case SB_X509_NOT_YET_VALID:
		SB_BAIL_MSG(SB_ERR_ATTEST_NOT_YET_VALID, "at chain depth %d", depth);
	case SB_X509_UNTRUSTED:
		SB_BAIL_MSG(SB_ERR_ATTEST_UNTRUSTED_ROOT, "at chain depth %d", depth);
	case SB_X509_BAD_SIGNATURE:
		SB_BAIL_MSG(SB_ERR_ATTEST_CERT_SIGNATURE, "at chain depth %d", depth);
	case SB_X509_INVALID:
	default:
		SB_BAIL_MSG(SB_ERR_ATTEST_CHAIN, "at chain depth %d", depth);
	}
}

static SB_RESULT check_chain(const struct chain *c, uint64_t at_ms)
{
	struct sb_x509 *root = matching_root(c);
	SB_ENSURE_MSG(root != NULL, SB_ERR_ATTEST_UNTRUSTED_ROOT,
	              "cabundle[0] is not a trusted root");
	SB_GUARD(check_order_and_keys(c));
	enum sb_x509_status st = SB_X509_INVALID;
	int depth = -1;
	SB_GUARD(sb_x509_verify_chain(&root, 1, c->bundle + 1, c->n_bundle - 1, c->leaf,
	                              (int64_t)(at_ms / 1000), &st, &depth));
	return chain_status_result(st, depth);
}

/* RFC 9052 §4.4: the signature is over Sig_structure with the leaf's key. */
static SB_RESULT check_signature(const struct sb_attest_doc *doc, const struct sb_x509 *leaf)
{
	struct sb_buf tbs = SB_BUF_INIT(SB_ATTEST_DOC_MAX + 64);
	struct sb_ecdsa_key *key = NULL;
	bool valid = false;
	sb_result rc;
	SB_GUARD_GOTO(rc,
	              sb_cose_sig_structure(sb_buf_slice(&doc->protected_hdr),
	                                    sb_buf_slice(&doc->payload), &tbs),
	              out);
	SB_GUARD_GOTO(rc, sb_x509_public_key(leaf, &key), out);
	SB_GUARD_GOTO(rc,
	              sb_ecdsa_verify_es384(key, sb_buf_slice(&tbs),
	                                    SB_SLICE(doc->signature, sizeof(doc->signature)),
	                                    &valid),
	              out);
	if (!valid)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_ATTEST_SIGNATURE, out, "ES384 check failed");
out:
	sb_ecdsa_key_free(key);
	sb_buf_cleanup(&tbs);
	return rc;
}

static SB_RESULT check_pcrs(const struct sb_attest_doc *doc, const struct sb_verify_opts *opts)
{
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++) {
		const struct sb_attest_pcr *want = &opts->expect_pcrs[i];
		const struct sb_attest_pcr *got = &doc->pcrs[i];
		if (!want->present)
			continue;
		SB_ENSURE_MSG(got->present, SB_ERR_ATTEST_PCR_MISSING, "PCR%u", i);
		SB_ENSURE_MSG(got->len == want->len &&
		                  memcmp(got->value, want->value, got->len) == 0,
		              SB_ERR_ATTEST_PCR_MISMATCH, "PCR%u", i);
	}
	/* Nitro always reports PCR0; without it the debug check below means nothing. */
	SB_ENSURE_MSG(doc->pcrs[0].present, SB_ERR_ATTEST_PCR_MISSING, "PCR0");
	/* AWS: "in debug mode ... PCR0, PCR1, PCR2 ... are all zeros". */
	SB_ENSURE_MSG(opts->allow_debug || !sb_attest_pcr_is_zero(&doc->pcrs[0]),
	              SB_ERR_ATTEST_DEBUG_MODE, "PCR0 is all zeros");
	return SB_OK_RESULT;
}

static bool expect_ok(const struct sb_verify_expect *want, const struct sb_attest_opt *got)
{
	if (!want->set)
		return true;
	return got->present && sb_slice_eq(sb_buf_slice(&got->value), want->value);
}

static SB_RESULT check_policy(const struct sb_attest_doc *doc, const struct sb_verify_opts *opts)
{
	SB_GUARD(check_pcrs(doc, opts));
	SB_ENSURE(expect_ok(&opts->expect_nonce, &doc->nonce), SB_ERR_ATTEST_NONCE);
	SB_ENSURE(expect_ok(&opts->expect_user_data, &doc->user_data), SB_ERR_ATTEST_USER_DATA);
	SB_ENSURE(expect_ok(&opts->expect_public_key, &doc->public_key), SB_ERR_ATTEST_PUBLIC_KEY);
	return SB_OK_RESULT;
}

static SB_RESULT verify_parsed(const struct sb_attest_doc *doc, const struct sb_verify_opts *opts)
{
	struct chain c = {0};
	sb_result rc;
	uint64_t at_ms = opts->at_ms != 0 ? opts->at_ms : sb_time_now_ms();
	SB_GUARD_GOTO(rc, load_roots(opts, &c), out);
	SB_GUARD_GOTO(rc, load_doc_certs(doc, &c), out);
	SB_GUARD_GOTO(rc, check_chain(&c, at_ms), out);
	SB_GUARD_GOTO(rc, check_signature(doc, c.leaf), out);
	SB_GUARD_GOTO(rc, check_policy(doc, opts), out);
out:
	chain_cleanup(&c);
	return rc;
}

SB_RESULT sb_attest_verify(struct sb_slice doc_bytes, const struct sb_verify_opts *opts,
                           struct sb_attest_doc **out)
{
	SB_ENSURE_REF(opts);
	struct sb_attest_doc *doc = NULL;
	SB_GUARD(sb_attest_doc_parse(doc_bytes, &doc));
	sb_result rc = verify_parsed(doc, opts);
	if (sb_ok(rc) && out != NULL) {
		*out = doc;
		doc = NULL;
	}
	sb_attest_doc_free(doc);
	return rc;
}
