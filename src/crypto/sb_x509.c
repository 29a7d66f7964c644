/* X.509 over OpenSSL 3: parsing, inspection, explicit-anchor chain checks, creation. */
#include "crypto/sb_x509.h"

#include <limits.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "common/sb_mem.h"
#include "crypto/sb_hash.h"

/* From sb_ecdsa.c (same layer): the EVP_PKEY inside a key, and wrapping one. */
EVP_PKEY *sb_ecdsa_key_pkey(const struct sb_ecdsa_key *key);
sb_result sb_ecdsa_key_from_pkey(EVP_PKEY *pkey, struct sb_ecdsa_key **out);

struct sb_x509 {
	X509 *x;
	unsigned char *der; /* OPENSSL_malloc'ed i2d output */
	size_t der_len;
};

/* Wraps x (takes it) and caches its DER. */
static SB_RESULT x509_wrap(X509 *x, struct sb_x509 **out)
{
	struct sb_x509 *c = NULL;
	sb_result rc = sb_calloc(1, sizeof(*c), (void **)&c);
	if (!sb_ok(rc)) {
		X509_free(x);
		return rc;
	}
	c->x = x;
	int n = i2d_X509(x, &c->der);
	if (n <= 0) {
		sb_x509_free(c);
		SB_BAIL(SB_ERR_CRYPTO);
	}
	c->der_len = (size_t)n;
	*out = c;
	return SB_OK_RESULT;
}

SB_RESULT sb_x509_from_der(struct sb_slice der, struct sb_x509 **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(der.len > 0 && der.len <= SB_X509_DER_MAX, SB_ERR_TOO_LARGE,
	              "certificate of %zu bytes", der.len);
	const unsigned char *p = der.ptr;
	X509 *x = d2i_X509(NULL, &p, (long)der.len);
	ERR_clear_error();
	SB_ENSURE_MSG(x != NULL, SB_ERR_CRYPTO, "not a DER certificate");
	if ((size_t)(p - der.ptr) != der.len) {
		X509_free(x);
		SB_BAIL_MSG(SB_ERR_TRAILING, "bytes after the certificate");
	}
	return x509_wrap(x, out);
}

SB_RESULT sb_x509_from_pem(struct sb_slice pem, struct sb_x509 **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(pem.len > 0 && pem.len <= 4 * SB_X509_DER_MAX, SB_ERR_TOO_LARGE);
	BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	SB_ENSURE_MSG(x != NULL, SB_ERR_CRYPTO, "not a PEM certificate");
	return x509_wrap(x, out);
}

SB_RESULT sb_x509_from_der_or_pem(struct sb_slice in, struct sb_x509 **out)
{
	SB_ENSURE(in.len > 0, SB_ERR_INVALID_ARG);
	if (in.ptr[0] == 0x30) /* DER SEQUENCE */
		return sb_x509_from_der(in, out);
	return sb_x509_from_pem(in, out);
}

void sb_x509_free(struct sb_x509 *cert)
{
	if (cert == NULL)
		return;
	X509_free(cert->x);
	OPENSSL_free(cert->der);
	free(cert);
}

struct sb_slice sb_x509_der(const struct sb_x509 *cert)
{
	if (cert == NULL)
		return SB_SLICE(NULL, 0);
	return SB_SLICE(cert->der, cert->der_len);
}

SB_RESULT sb_x509_to_pem(const struct sb_x509 *cert, struct sb_buf *out)
{
	SB_ENSURE_REF(cert);
	SB_ENSURE_REF(out);
	BIO *bio = BIO_new(BIO_s_mem());
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	char *mem = NULL;
	sb_result rc = SB_OK_RESULT;
	long n = 0;
	if (PEM_write_bio_X509(bio, cert->x) != 1 || (n = BIO_get_mem_data(bio, &mem)) <= 0)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	else
		rc = sb_buf_append(out, mem, (size_t)n);
	BIO_free(bio);
	return rc;
}

SB_RESULT sb_x509_public_key(const struct sb_x509 *cert, struct sb_ecdsa_key **out)
{
	SB_ENSURE_REF(cert);
	SB_ENSURE_REF(out);
	EVP_PKEY *pkey = X509_get_pubkey(cert->x); /* new reference */
	SB_ENSURE_MSG(pkey != NULL, SB_ERR_BAD_KEY, "certificate key unreadable");
	return sb_ecdsa_key_from_pkey(pkey, out);
}

enum sb_ec_curve sb_x509_key_curve(const struct sb_x509 *cert)
{
	struct sb_ecdsa_key *key = NULL;
	if (cert == NULL || !sb_ok(sb_x509_public_key(cert, &key)))
		return SB_EC_CURVE_OTHER;
	enum sb_ec_curve c = sb_ecdsa_key_curve(key);
	sb_ecdsa_key_free(key);
	return c;
}

static SB_RESULT asn1_time_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	SB_ENSURE(t != NULL && ASN1_TIME_to_tm(t, &tm) == 1, SB_ERR_BAD_TIME);
	*out = (int64_t)timegm(&tm);
	return SB_OK_RESULT;
}

SB_RESULT sb_x509_validity(const struct sb_x509 *cert, int64_t *not_before, int64_t *not_after)
{
	SB_ENSURE_REF(cert);
	SB_ENSURE_REF(not_before);
	SB_ENSURE_REF(not_after);
	SB_GUARD(asn1_time_to_unix(X509_get0_notBefore(cert->x), not_before));
	SB_GUARD(asn1_time_to_unix(X509_get0_notAfter(cert->x), not_after));
	return SB_OK_RESULT;
}

SB_RESULT sb_x509_subject(const struct sb_x509 *cert, struct sb_buf *out)
{
	SB_ENSURE_REF(cert);
	SB_ENSURE_REF(out);
	BIO *bio = BIO_new(BIO_s_mem());
	SB_ENSURE(bio != NULL, SB_ERR_NOMEM);
	char *mem = NULL;
	long n = 0;
	sb_result rc = SB_OK_RESULT;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(cert->x), 0, XN_FLAG_RFC2253) < 0)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	else if ((n = BIO_get_mem_data(bio, &mem)) > 0)
		rc = sb_buf_append(out, mem, (size_t)n);
	BIO_free(bio);
	return rc;
}

bool sb_x509_names_chain(const struct sb_x509 *child, const struct sb_x509 *parent)
{
	if (child == NULL || parent == NULL)
		return false;
	return X509_NAME_cmp(X509_get_issuer_name(child->x), X509_get_subject_name(parent->x)) == 0;
}

bool sb_x509_is_signing_leaf(const struct sb_x509 *cert)
{
	if (cert == NULL)
		return false;
	/* X509_get_extension_flags caches the parsed extensions. */
	uint32_t flags = X509_get_extension_flags(cert->x);
	if ((flags & EXFLAG_INVALID) != 0 || (flags & EXFLAG_CA) != 0)
		return false;
	if ((flags & EXFLAG_KUSAGE) == 0)
		return false;
	return (X509_get_key_usage(cert->x) & KU_DIGITAL_SIGNATURE) != 0;
}

SB_RESULT sb_x509_fingerprint_sha256(const struct sb_x509 *cert, uint8_t out[32])
{
	SB_ENSURE_REF(cert);
	return sb_sha256(sb_x509_der(cert), out);
}

static enum sb_x509_status x509_status_from(int err)
{
	switch (err) {
	case X509_V_OK:
		return SB_X509_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return SB_X509_EXPIRED;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return SB_X509_NOT_YET_VALID;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return SB_X509_UNTRUSTED;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		return SB_X509_BAD_SIGNATURE;
	default:
		return SB_X509_INVALID;
	}
}

/* Adds each cert to stack (borrowing: X509_up_ref for the stack's own reference). */
static SB_RESULT x509_stack_fill(STACK_OF(X509) * stack, struct sb_x509 *const *certs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE_REF(certs[i]);
		SB_ENSURE(X509_up_ref(certs[i]->x) == 1, SB_ERR_CRYPTO);
		if (sk_X509_push(stack, certs[i]->x) <= 0) {
			X509_free(certs[i]->x);
			SB_BAIL(SB_ERR_NOMEM);
		}
	}
	return SB_OK_RESULT;
}

static SB_RESULT x509_store_fill(X509_STORE *store, struct sb_x509 *const *anchors, size_t n,
                                 int64_t time_s)
{
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE_REF(anchors[i]);
		SB_ENSURE(X509_STORE_add_cert(store, anchors[i]->x) == 1, SB_ERR_CRYPTO);
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_get0_param(store), (time_t)time_s);
	/*
	 * AWS: "We do not use CRL, so it must be disabled" (no CRL flags set).
	 * X509_V_FLAG_X509_STRICT is deliberately not set: AWS's own Nitro
	 * certificates lack the Authority/Subject Key Identifier extensions
	 * that strict mode demands ("Missing Authority Key Identifier").
	 * OpenSSL's default checks still enforce validity, signatures,
	 * basicConstraints CA and pathLenConstraint, and keyCertSign.
	 */
	return SB_OK_RESULT;
}

SB_RESULT sb_x509_verify_chain(struct sb_x509 *const *anchors, size_t n_anchors,
                               struct sb_x509 *const *intermediates, size_t n_intermediates,
                               const struct sb_x509 *leaf, int64_t time_s,
                               enum sb_x509_status *status, int *depth)
{
	SB_ENSURE_REF(leaf);
	SB_ENSURE_REF(status);
	SB_ENSURE_REF(depth);
	SB_ENSURE(n_anchors > 0, SB_ERR_INVALID_ARG);
	X509_STORE *store = X509_STORE_new(); /* empty: no system roots */
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	sb_result rc = SB_OK_RESULT;
	if (store == NULL || untrusted == NULL || ctx == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	SB_GUARD_GOTO(rc, x509_store_fill(store, anchors, n_anchors, time_s), out);
	SB_GUARD_GOTO(rc, x509_stack_fill(untrusted, intermediates, n_intermediates), out);
	if (X509_STORE_CTX_init(ctx, store, leaf->x, untrusted) != 1)
		SB_FAIL_GOTO(rc, SB_ERR_CRYPTO, out);
	int ok = X509_verify_cert(ctx);
	int err = X509_STORE_CTX_get_error(ctx);
	*depth = X509_STORE_CTX_get_error_depth(ctx);
	*status = ok == 1 ? SB_X509_OK : x509_status_from(err);
	if (ok != 1 && *status == SB_X509_OK)
		*status = SB_X509_INVALID; /* failed without a reason: never report OK */
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_pop_free(untrusted, X509_free);
	X509_STORE_free(store);
	return rc;
}

static SB_RESULT x509_set_name(X509 *x, const char *cn)
{
	X509_NAME *name = X509_get_subject_name(x);
	SB_ENSURE(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	                                     (const unsigned char *)"sealbid-dev", -1, -1, 0) == 1,
	          SB_ERR_CRYPTO);
	SB_ENSURE(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
	                                     -1, -1, 0) == 1,
	          SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

static SB_RESULT x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	SB_ENSURE_MSG(ext != NULL, SB_ERR_CRYPTO, "extension %d", nid);
	int ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	SB_ENSURE(ok == 1, SB_ERR_CRYPTO);
	return SB_OK_RESULT;
}

static SB_RESULT x509_set_extensions(X509 *x, X509 *issuer, const struct sb_x509_spec *spec)
{
	char bc[64];
	if (!spec->is_ca) {
		SB_GUARD(x509_add_ext(x, issuer, NID_basic_constraints, "critical,CA:FALSE"));
		SB_GUARD(x509_add_ext(x, issuer, NID_key_usage, "critical,digitalSignature"));
	} else {
		if (spec->path_len >= 0)
			(void)snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d",
			               spec->path_len);
		else
			(void)snprintf(bc, sizeof(bc), "critical,CA:TRUE");
		SB_GUARD(x509_add_ext(x, issuer, NID_basic_constraints, bc));
		SB_GUARD(x509_add_ext(x, issuer, NID_key_usage,
		                      "critical,digitalSignature,keyCertSign,cRLSign"));
	}
	SB_GUARD(x509_add_ext(x, issuer, NID_subject_key_identifier, "hash"));
	if (issuer != x)
		SB_GUARD(x509_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always"));
	return SB_OK_RESULT;
}

static SB_RESULT x509_fill(X509 *x, const struct sb_x509_spec *spec, EVP_PKEY *subject,
                           X509 *issuer)
{
	SB_ENSURE(X509_set_version(x, X509_VERSION_3) == 1, SB_ERR_CRYPTO);
	SB_ENSURE(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), spec->serial) == 1,
	          SB_ERR_CRYPTO);
	SB_ENSURE(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)spec->not_before) != NULL,
	          SB_ERR_CRYPTO);
	SB_ENSURE(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)spec->not_after) != NULL,
	          SB_ERR_CRYPTO);
	SB_GUARD(x509_set_name(x, spec->common_name));
	X509 *iss = issuer != NULL ? issuer : x;
	SB_ENSURE(X509_set_issuer_name(x, X509_get_subject_name(iss)) == 1, SB_ERR_CRYPTO);
	SB_ENSURE(X509_set_pubkey(x, subject) == 1, SB_ERR_CRYPTO);
	SB_GUARD(x509_set_extensions(x, iss, spec));
	return SB_OK_RESULT;
}

SB_RESULT sb_x509_create(const struct sb_x509_spec *spec, const struct sb_ecdsa_key *subject_key,
                         const struct sb_x509 *issuer, const struct sb_ecdsa_key *issuer_key,
                         struct sb_x509 **out)
{
	SB_ENSURE_REF(spec);
	SB_ENSURE_REF(spec->common_name);
	SB_ENSURE_REF(subject_key);
	SB_ENSURE_REF(issuer_key);
	SB_ENSURE_REF(out);
	SB_ENSURE(spec->serial > 0 && spec->not_after > spec->not_before, SB_ERR_INVALID_ARG);
	X509 *x = X509_new();
	SB_ENSURE(x != NULL, SB_ERR_NOMEM);
	sb_result rc =
	    x509_fill(x, spec, sb_ecdsa_key_pkey(subject_key), issuer != NULL ? issuer->x : NULL);
	if (sb_ok(rc) && X509_sign(x, sb_ecdsa_key_pkey(issuer_key), EVP_sha384()) <= 0)
		rc = sb_error_record(SB_ERR_CRYPTO, SB_HERE);
	ERR_clear_error();
	if (!sb_ok(rc)) {
		X509_free(x);
		return rc;
	}
	return x509_wrap(x, out);
}

const char *sb_x509_verify_result_text(long result)
{
	const char *t = X509_verify_cert_error_string(result);
	return t != NULL ? t : "unknown verification result";
}
