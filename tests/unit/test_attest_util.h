/*
 * Helpers shared by the attestation unit tests (test_attest_*.c,
 * test_host_nsm_emu.c): reading test data, a tiny CBOR writer for crafting
 * documents byte by byte (tests do not use libcbor), and a test CA built
 * with sb_x509 that signs documents like the NSM does.
 */
#ifndef TEST_ATTEST_UTIL_H
#define TEST_ATTEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "attest/sb_verify.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_time.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_x509.h"

#define T_OK(expr)        assert_true(sb_ok(expr))
#define T_ERR(expr, want) assert_int_equal((expr).code, (want))

static inline void t_read(const char *name, struct sb_buf *out)
{
	char path[512];
	(void)snprintf(path, sizeof(path), "%s/%s", SB_TEST_DATA, name);
	sb_buf_init(out, 1 << 20);
	T_OK(sb_file_read(path, out));
}

static inline uint64_t t_time(const char *rfc3339)
{
	uint64_t ms = 0;
	T_OK(sb_time_parse(sb_slice_str(rfc3339), &ms));
	return ms;
}

static inline void t_hex(const char *hex, struct sb_buf *out)
{
	sb_buf_init(out, 4096);
	T_OK(sb_hex_decode(sb_slice_str(hex), out));
}

/* ---- a tiny CBOR writer (RFC 8949 §3: head = major type << 5 | argument) ---- */

static inline void cb_head(struct sb_buf *b, uint8_t major, uint64_t v)
{
	uint8_t m = (uint8_t)(major << 5);
	if (v < 24) {
		T_OK(sb_buf_append_u8(b, (uint8_t)(m | v)));
	} else if (v <= 0xff) {
		T_OK(sb_buf_append_u8(b, m | 24));
		T_OK(sb_buf_append_u8(b, (uint8_t)v));
	} else if (v <= 0xffff) {
		T_OK(sb_buf_append_u8(b, m | 25));
		T_OK(sb_buf_append_be16(b, (uint16_t)v));
	} else if (v <= 0xffffffffu) {
		T_OK(sb_buf_append_u8(b, m | 26));
		T_OK(sb_buf_append_be32(b, (uint32_t)v));
	} else {
		T_OK(sb_buf_append_u8(b, m | 27));
		T_OK(sb_buf_append_be64(b, v));
	}
}
static inline void cb_uint(struct sb_buf *b, uint64_t v)
{
	cb_head(b, 0, v);
}
static inline void cb_bytes(struct sb_buf *b, const void *p, size_t n)
{
	cb_head(b, 2, n);
	T_OK(sb_buf_append(b, p, n));
}
static inline void cb_text(struct sb_buf *b, const char *s)
{
	cb_head(b, 3, strlen(s));
	T_OK(sb_buf_append_str(b, s));
}
static inline void cb_array(struct sb_buf *b, size_t n)
{
	cb_head(b, 4, n);
}
static inline void cb_map(struct sb_buf *b, size_t n)
{
	cb_head(b, 5, n);
}
static inline void cb_null(struct sb_buf *b)
{
	T_OK(sb_buf_append_u8(b, 0xf6));
}
static inline void cb_raw(struct sb_buf *b, const void *p, size_t n)
{
	T_OK(sb_buf_append(b, p, n));
}

/* ---- a test CA shaped like AWS's: root -> intermediate -> leaf, all P-384 ---- */

struct t_ca {
	struct sb_ecdsa_key *root_key, *int_key, *leaf_key;
	struct sb_x509 *root, *inter, *leaf;
};

static inline void t_cert(struct sb_x509 **out, const char *cn, uint64_t serial, int64_t nb,
                          int64_t na, bool ca, const struct sb_ecdsa_key *key,
                          const struct sb_x509 *issuer, const struct sb_ecdsa_key *issuer_key)
{
	struct sb_x509_spec spec = {.common_name = cn,
	                            .serial = serial,
	                            .not_before = nb,
	                            .not_after = na,
	                            .is_ca = ca,
	                            .path_len = ca ? 2 : -1};
	T_OK(sb_x509_create(&spec, key, issuer, issuer_key, out));
}

/* A CA valid around now_s: root/intermediate for years, leaf for 3 hours. */
static inline void t_ca_init(struct t_ca *ca, int64_t now_s)
{
	memset(ca, 0, sizeof(*ca));
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->root_key));
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->int_key));
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->leaf_key));
	t_cert(&ca->root, "test-root", 1, now_s - 86400, now_s + 86400 * 365, true, ca->root_key,
	       NULL, ca->root_key);
	t_cert(&ca->inter, "test-intermediate", 2, now_s - 86400, now_s + 86400 * 30, true,
	       ca->int_key, ca->root, ca->root_key);
	t_cert(&ca->leaf, "test-leaf", 3, now_s - 60, now_s + 3 * 3600, false, ca->leaf_key,
	       ca->inter, ca->int_key);
}

static inline void t_ca_cleanup(struct t_ca *ca)
{
	sb_x509_free(ca->root);
	sb_x509_free(ca->inter);
	sb_x509_free(ca->leaf);
	sb_ecdsa_key_free(ca->root_key);
	sb_ecdsa_key_free(ca->int_key);
	sb_ecdsa_key_free(ca->leaf_key);
	memset(ca, 0, sizeof(*ca));
}

/* COSE_Sign1 over payload, signed by key (or a zero signature when key is NULL). */
static inline void t_sign1(struct sb_slice payload, const struct sb_ecdsa_key *key,
                           struct sb_buf *out)
{
	uint8_t sig[96] = {0};
	if (key != NULL) {
		struct sb_buf tbs = SB_BUF_INIT(1 << 16);
		T_OK(sb_cose_sig_structure(sb_cose_protected_es384(), payload, &tbs));
		T_OK(sb_ecdsa_sign_es384(key, sb_buf_slice(&tbs), sig));
		sb_buf_cleanup(&tbs);
	}
	T_OK(sb_cose_sign1_encode(payload, sig, out));
}

/*
 * A document struct with the given chain (bundle root-first, leaf) and
 * PCR0..2 = 0x11.., 0x22.., 0x33.., PCR3..15 zero; timestamp ts_ms.
 */
static inline struct sb_attest_doc *t_doc(struct sb_x509 *const *bundle, size_t n,
                                          const struct sb_x509 *leaf, uint64_t ts_ms)
{
	struct sb_attest_doc *doc = NULL;
	T_OK(sb_attest_doc_new(&doc));
	(void)snprintf(doc->module_id, sizeof(doc->module_id), "i-0test-enc0123456789abcdef");
	doc->timestamp_ms = ts_ms;
	for (unsigned i = 0; i < 16; i++) {
		doc->pcrs[i].present = true;
		doc->pcrs[i].len = 48;
		memset(doc->pcrs[i].value, i < 3 ? (int)(0x11 * (i + 1)) : 0, 48);
	}
	T_OK(sb_buf_set(&doc->certificate, sb_x509_der(leaf)));
	for (size_t i = 0; i < n; i++)
		T_OK(sb_buf_set(&doc->cabundle[i], sb_x509_der(bundle[i])));
	doc->cabundle_len = n;
	return doc;
}

/* Encodes doc (definite or indefinite payload map) and signs it with key. */
static inline void t_doc_sign(const struct sb_attest_doc *doc, bool indefinite,
                              const struct sb_ecdsa_key *key, struct sb_buf *out)
{
	struct sb_buf payload = SB_BUF_INIT(1 << 16);
	T_OK(sb_attest_payload_encode(doc, indefinite, &payload));
	t_sign1(sb_buf_slice(&payload), key, out);
	sb_buf_cleanup(&payload);
}

#endif
