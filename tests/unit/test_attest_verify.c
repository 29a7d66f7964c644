/*
 * Unit tests for the attestation verifier (src/attest/sb_verify.c): the two
 * real AWS documents (tests/data/nitro/README.md) and chains built with
 * sb_x509 for every chain failure.
 */
#include "test_attest_util.h"

#include "common/sb_mem.h"
#include "crypto/sb_hash.h"

struct real_doc {
	const char *file;
	const char *inside;    /* a time inside the validity window */
	const char *before;    /* before the leaf's notBefore */
	const char *timestamp; /* the document's timestamp field */
	const char *pcr[3];
	size_t nonce_len;
};

static const struct real_doc real_docs[] = {
    {"nitro/aws-2022-10-13.cbor",
     "2022-10-13T09:30:00Z",
     "2022-10-13T08:50:00Z",
     "2022-10-13T08:58:02.136Z",
     {"f4d48b81a460c9916d1e685119074bf24660afd3e34fae9fca0a0d28d9d5599936332687e6f66fc890ac8cf15014"
      "2d8b",
      "bcdf05fefccaa8e55bf2c8d6dee9e79bbff31e34bf28a99aa19e6b29c37ee80b214a414b7607236edf26fcb78654"
      "e63f",
      "d8f114da658de5481f8d9ec73907feb553560787522f705c92d7d96beed8e15e2aa611984e098c576832c292e8dc"
      "469a"},
     256},
    {"nitro/aws-2021-03-17.cbor",
     "2021-03-17T23:30:00Z",
     "2021-03-17T21:00:00Z",
     "2021-03-17T22:01:55.685Z",
     {"2d151586641b790f3b1b92b8f89678c3aa86e73dd97969c892124be9d2b7fdc62b58a55cd9ee8216f6f5689cebf5"
      "90ad",
      "72d70b1f599a4af7213e2d243e4212a3643ebb4990b78b5218680f6fdec94185721c44e2b6858a452ca0523be521"
      "dbf6",
      "495538508e34260a18288bdc448b99e8dd446910ebc7ff41e3f8491620a220c383dd291eaf0a5e14e018da361626"
      "5da9"},
     0},
};
#define N_REAL (sizeof(real_docs) / sizeof(real_docs[0]))

static void opts_for(const struct real_doc *d, struct sb_verify_opts *o)
{
	sb_verify_opts_init(o);
	o->at_ms = t_time(d->inside);
	for (unsigned i = 0; i < 3; i++) {
		struct sb_buf v;
		t_hex(d->pcr[i], &v);
		T_OK(sb_verify_opts_expect_pcr(o, i, sb_buf_slice(&v)));
		sb_buf_cleanup(&v);
	}
}

static void test_real_docs_verify(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_REAL; k++) {
		struct sb_buf raw;
		struct sb_verify_opts o;
		struct sb_attest_doc *doc = NULL;
		t_read(real_docs[k].file, &raw);
		opts_for(&real_docs[k], &o);
		T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, &doc));
		assert_non_null(doc);
		assert_true(strncmp(doc->module_id, "i-", 2) == 0);
		assert_int_equal(doc->cabundle_len >= 1, 1);
		assert_int_equal(doc->nonce.present, real_docs[k].nonce_len > 0);
		assert_int_equal(doc->nonce.value.len, real_docs[k].nonce_len);
		assert_false(doc->public_key.present);
		assert_false(doc->user_data.present);
		for (unsigned i = 0; i < 16; i++)
			assert_int_equal(doc->pcrs[i].len, 48);
		assert_int_equal(doc->timestamp_ms, t_time(real_docs[k].timestamp));
		sb_attest_doc_free(doc);
		/* The same with out == NULL, and with the root given explicitly (PEM). */
		T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
		struct sb_buf pem;
		t_read("nitro/aws-nitro-root-g1.pem", &pem);
		T_OK(sb_verify_opts_add_root(&o, sb_buf_slice(&pem)));
		T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
		sb_buf_cleanup(&pem);
		sb_buf_cleanup(&raw);
	}
}

static void test_real_docs_time_window(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_REAL; k++) {
		struct sb_buf raw;
		struct sb_verify_opts o;
		struct sb_attest_doc *doc = (struct sb_attest_doc *)&o; /* must stay untouched */
		t_read(real_docs[k].file, &raw);
		opts_for(&real_docs[k], &o);
		o.at_ms = 0; /* now: long after the 3-hour leaf expired */
		T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, &doc), SB_ERR_ATTEST_EXPIRED);
		assert_ptr_equal(doc, (struct sb_attest_doc *)&o);
		o.at_ms = t_time(real_docs[k].before);
		T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_NOT_YET_VALID);
		sb_buf_cleanup(&raw);
	}
}

static void test_real_docs_policy(void **state)
{
	(void)state;
	struct sb_buf raw;
	struct sb_verify_opts o;
	const struct real_doc *d = &real_docs[0];
	t_read(d->file, &raw);

	opts_for(d, &o);
	o.expect_pcrs[0].value[47] ^= 1; /* a different PCR0 */
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PCR_MISMATCH);
	assert_string_equal(sb_error_detail(), "PCR0");

	opts_for(d, &o);
	uint8_t v32[32] = {0};
	T_OK(sb_verify_opts_expect_pcr(&o, 20, SB_SLICE(v32, 32))); /* not in the doc */
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PCR_MISSING);

	opts_for(d, &o);
	T_OK(sb_verify_opts_expect_pcr(&o, 5, SB_SLICE(v32, 32))); /* right zeros, wrong length */
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PCR_MISMATCH);

	/* The nonce: right, wrong; user_data and public_key absent. */
	struct sb_attest_doc *doc = NULL;
	opts_for(d, &o);
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, &doc));
	struct sb_buf nonce = SB_BUF_INIT(1024);
	T_OK(sb_buf_set(&nonce, sb_buf_slice(&doc->nonce.value)));
	sb_attest_doc_free(doc);
	o.expect_nonce = (struct sb_verify_expect){.set = true, .value = sb_buf_slice(&nonce)};
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
	nonce.data[0] ^= 0x80;
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_NONCE);
	o.expect_nonce.set = false;
	o.expect_user_data = (struct sb_verify_expect){.set = true, .value = SB_SLICE("", 0)};
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_USER_DATA);
	o.expect_user_data.set = false;
	o.expect_public_key = (struct sb_verify_expect){.set = true, .value = SB_SLICE("k", 1)};
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PUBLIC_KEY);
	sb_buf_cleanup(&nonce);
	sb_buf_cleanup(&raw);
}

/* Every single-byte flip of the payload or the signature must fail. */
static void test_real_docs_flips(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_REAL; k++) {
		struct sb_buf raw;
		struct sb_verify_opts o;
		t_read(real_docs[k].file, &raw);
		opts_for(&real_docs[k], &o);
		struct sb_attest_doc *doc = NULL;
		T_OK(sb_attest_doc_parse(sb_buf_slice(&raw), &doc));
		size_t pay_len = doc->payload.len;
		sb_attest_doc_free(doc);
		/* Layout: 84 | 44 a1013822 | a0 | 59 LLLL payload | 58 60 sig(96). */
		size_t pay_off = 1 + 5 + 1 + 3, sig_off = raw.len - 96;
		assert_int_equal(pay_off + pay_len + 2, sig_off);
		for (size_t i = 0; i < pay_len; i += 97) {
			raw.data[pay_off + i] ^= 0x01;
			sb_result r = sb_attest_verify(sb_buf_slice(&raw), &o, NULL);
			assert_false(sb_ok(r));
			raw.data[pay_off + i] ^= 0x01;
		}
		/* A flip in a PCR value (well-formed payload) is caught by the signature. */
		for (size_t i = 0; i < 96; i += 7) {
			raw.data[sig_off + i] ^= 0x40;
			T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL),
			      SB_ERR_ATTEST_SIGNATURE);
			raw.data[sig_off + i] ^= 0x40;
		}
		T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
		sb_buf_cleanup(&raw);
	}
}

/* A flipped byte inside a PCR keeps the payload well-formed: only the signature catches it. */
static void test_real_doc_pcr_byte_flip_is_signature(void **state)
{
	(void)state;
	struct sb_buf raw;
	struct sb_verify_opts o;
	t_read(real_docs[0].file, &raw);
	opts_for(&real_docs[0], &o);
	o.expect_pcrs[0].present = false; /* so the PCR policy does not answer first */
	struct sb_buf pcr0;
	t_hex(real_docs[0].pcr[0], &pcr0);
	uint8_t *hit = memmem(raw.data, raw.len, pcr0.data, pcr0.len);
	assert_non_null(hit);
	hit[10] ^= 0xff;
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_SIGNATURE);
	sb_buf_cleanup(&pcr0);
	sb_buf_cleanup(&raw);
}

static void test_real_docs_tagged_truncated_trailing(void **state)
{
	(void)state;
	for (size_t k = 0; k < N_REAL; k++) {
		struct sb_buf raw, tagged = SB_BUF_INIT(1 << 16);
		struct sb_verify_opts o;
		t_read(real_docs[k].file, &raw);
		opts_for(&real_docs[k], &o);
		T_OK(sb_buf_append_u8(&tagged, 0xd2)); /* RFC 9052 tag 18 */
		T_OK(sb_buf_append_slice(&tagged, sb_buf_slice(&raw)));
		T_OK(sb_attest_verify(sb_buf_slice(&tagged), &o, NULL));
		/* Truncated anywhere: a clean CBOR error. */
		static const size_t cuts[] = {0, 1, 2, 6, 7, 100, 2000, 4000};
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++)
			T_ERR(sb_attest_verify(SB_SLICE(raw.data, cuts[i]), &o, NULL),
			      SB_ERR_ATTEST_CBOR);
		T_ERR(sb_attest_verify(SB_SLICE(raw.data, raw.len - 1), &o, NULL),
		      SB_ERR_ATTEST_CBOR);
		/* Trailing garbage. */
		T_OK(sb_buf_append_u8(&tagged, 0x00));
		T_ERR(sb_attest_verify(sb_buf_slice(&tagged), &o, NULL), SB_ERR_ATTEST_CBOR);
		/* Oversized. */
		struct sb_buf big = SB_BUF_INIT(SB_ATTEST_DOC_MAX + 2);
		T_OK(sb_buf_append_slice(&big, sb_buf_slice(&raw)));
		while (big.len <= SB_ATTEST_DOC_MAX)
			T_OK(sb_buf_append_u8(&big, 0));
		T_ERR(sb_attest_verify(sb_buf_slice(&big), &o, NULL), SB_ERR_ATTEST_TOO_LARGE);
		sb_buf_cleanup(&big);
		sb_buf_cleanup(&tagged);
		sb_buf_cleanup(&raw);
	}
}

static void test_opts_validation(void **state)
{
	(void)state;
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	uint8_t v[64] = {0};
	T_ERR(sb_verify_opts_expect_pcr(&o, 32, SB_SLICE(v, 48)), SB_ERR_INVALID_ARG);
	T_ERR(sb_verify_opts_expect_pcr(&o, 0, SB_SLICE(v, 47)), SB_ERR_INVALID_ARG);
	T_OK(sb_verify_opts_expect_pcr(&o, 31, SB_SLICE(v, 64)));
	T_OK(sb_verify_opts_expect_pcr_arg(&o, "3="
	                                       "00112233445566778899aabbccddeeff"
	                                       "00112233445566778899aabbccddeeff"));
	assert_true(o.expect_pcrs[3].present);
	assert_int_equal(o.expect_pcrs[3].len, 32);
	assert_int_equal(o.expect_pcrs[3].value[1], 0x11);
	static const char *bad[] = {
	    "",
	    "3",
	    "=00",
	    "32="
	    "00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff",
	    "03=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	    "1=zz",
	    "1=0011",
	    "-1=00"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_ERR(sb_verify_opts_expect_pcr_arg(&o, bad[i]), SB_ERR_INVALID_ARG);
	for (int i = 0; i < SB_VERIFY_ROOTS_MAX; i++)
		T_OK(sb_verify_opts_add_root(&o, SB_SLICE("x", 1)));
	T_ERR(sb_verify_opts_add_root(&o, SB_SLICE("x", 1)), SB_ERR_TOO_LARGE);
	/* A root that is not a certificate. */
	struct sb_buf raw;
	t_read(real_docs[0].file, &raw);
	sb_verify_opts_init(&o);
	T_OK(sb_verify_opts_add_root(&o, SB_SLICE("junk", 4)));
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_INVALID_ARG);
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), NULL, NULL), SB_ERR_NULL);
	sb_buf_cleanup(&raw);
	/* The compiled-in root is the published one. */
	uint8_t fp[32];
	struct sb_buf hex = SB_BUF_INIT(128);
	T_OK(sb_sha256(sb_attest_aws_root_der(), fp));
	T_OK(sb_hex_encode(SB_SLICE(fp, 32), &hex));
	assert_string_equal(sb_buf_cstr(&hex),
	                    "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b");
	sb_buf_cleanup(&hex);
}

/* ---- chains built with sb_x509 ---- */

static const int64_t T_NOW = 1760000000; /* 2025-10-09, a fixed "now" */

static void verify_chain_case(struct sb_x509 *const *bundle, size_t n, const struct sb_x509 *leaf,
                              const struct sb_ecdsa_key *signer, const struct sb_x509 *root,
                              int expect)
{
	struct sb_attest_doc *doc = t_doc(bundle, n, leaf, (uint64_t)T_NOW * 1000);
	struct sb_buf raw = SB_BUF_INIT(1 << 16);
	t_doc_sign(doc, false, signer, &raw);
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	o.at_ms = (uint64_t)T_NOW * 1000;
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(root)));
	sb_result r = sb_attest_verify(sb_buf_slice(&raw), &o, NULL);
	if (r.code != expect)
		print_error("got %s (%s), want %s\n", sb_error_name(r.code), sb_error_describe(),
		            sb_error_name(expect));
	assert_int_equal(r.code, expect);
	sb_buf_cleanup(&raw);
	sb_attest_doc_free(doc);
}

/*
 * Issue 10 item 9: a genuine document whose public_key is an empty byte
 * string verifies; it has no key, and expecting one fails.
 */
static void test_empty_public_key(void **state)
{
	(void)state;
	struct t_ca ca;
	t_ca_init(&ca, T_NOW);
	struct sb_x509 *bundle[] = {ca.root, ca.inter};
	struct sb_attest_doc *doc = t_doc(bundle, 2, ca.leaf, (uint64_t)T_NOW * 1000);
	doc->public_key.present = true;
	sb_buf_reset(&doc->public_key.value);
	struct sb_buf raw = SB_BUF_INIT(1 << 16);
	t_doc_sign(doc, false, ca.leaf_key, &raw);
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	o.at_ms = (uint64_t)T_NOW * 1000;
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(ca.root)));
	struct sb_attest_doc *got = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, &got));
	assert_true(got->public_key.present);
	assert_int_equal(got->public_key.value.len, 0);
	assert_false(sb_attest_doc_has_public_key(got));
	sb_attest_doc_free(got);
	o.expect_public_key = (struct sb_verify_expect){.set = true, .value = SB_SLICE("k", 1)};
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PUBLIC_KEY);
	/* The same document with a 1,024-byte key (the maximum) has one. */
	o.expect_public_key.set = false;
	uint8_t key[1024];
	memset(key, 0x5a, sizeof(key));
	T_OK(sb_buf_set(&doc->public_key.value, SB_SLICE(key, sizeof(key))));
	sb_buf_reset(&raw);
	t_doc_sign(doc, false, ca.leaf_key, &raw);
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, &got));
	assert_true(sb_attest_doc_has_public_key(got));
	sb_attest_doc_free(got);
	sb_buf_cleanup(&raw);
	sb_attest_doc_free(doc);
	t_ca_cleanup(&ca);
}

static void test_chain_good_and_wrong_root(void **state)
{
	(void)state;
	struct t_ca ca, other;
	t_ca_init(&ca, T_NOW);
	t_ca_init(&other, T_NOW);
	struct sb_x509 *bundle[] = {ca.root, ca.inter};
	verify_chain_case(bundle, 2, ca.leaf, ca.leaf_key, ca.root, SB_OK);
	/* Trusting another root. */
	verify_chain_case(bundle, 2, ca.leaf, ca.leaf_key, other.root,
	                  SB_ERR_ATTEST_UNTRUSTED_ROOT);
	/* The default (AWS) root for a dev chain. */
	struct sb_attest_doc *doc = t_doc(bundle, 2, ca.leaf, (uint64_t)T_NOW * 1000);
	struct sb_buf raw = SB_BUF_INIT(1 << 16);
	t_doc_sign(doc, false, ca.leaf_key, &raw);
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	o.at_ms = (uint64_t)T_NOW * 1000;
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_UNTRUSTED_ROOT);
	/* Several roots: the right one second. */
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(other.root)));
	struct sb_buf pem = SB_BUF_INIT(8192);
	T_OK(sb_x509_to_pem(ca.root, &pem));
	T_OK(sb_verify_opts_add_root(&o, sb_buf_slice(&pem)));
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
	/* cabundle[0] is the trusted root's name but another key (a forged root). */
	struct sb_ecdsa_key *fk = NULL;
	struct sb_x509 *fake_root = NULL, *fake_int = NULL;
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &fk));
	t_cert(&fake_root, "test-root", 1, T_NOW - 86400, T_NOW + 86400, true, fk, NULL, fk);
	t_cert(&fake_int, "test-intermediate", 2, T_NOW - 86400, T_NOW + 86400, true, ca.int_key,
	       fake_root, fk);
	struct sb_x509 *fb[] = {fake_root, fake_int};
	verify_chain_case(fb, 2, ca.leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_UNTRUSTED_ROOT);
	sb_x509_free(fake_root);
	sb_x509_free(fake_int);
	sb_ecdsa_key_free(fk);
	sb_buf_cleanup(&pem);
	sb_buf_cleanup(&raw);
	sb_attest_doc_free(doc);
	t_ca_cleanup(&ca);
	t_ca_cleanup(&other);
}

static void test_chain_order_and_signatures(void **state)
{
	(void)state;
	struct t_ca ca;
	t_ca_init(&ca, T_NOW);
	/* Root last instead of first. */
	struct sb_x509 *reversed[] = {ca.inter, ca.root};
	verify_chain_case(reversed, 2, ca.leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_UNTRUSTED_ROOT);
	/* Intermediate missing: the leaf does not follow the root. */
	struct sb_x509 *short_bundle[] = {ca.root};
	verify_chain_case(short_bundle, 1, ca.leaf, ca.leaf_key, ca.root,
	                  SB_ERR_ATTEST_CHAIN_ORDER);
	/* Intermediate twice: it is not issued by itself. */
	struct sb_x509 *twice[] = {ca.root, ca.inter, ca.inter};
	verify_chain_case(twice, 3, ca.leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_CHAIN_ORDER);
	/* A leaf whose issuer name is right but which another key signed. */
	struct sb_ecdsa_key *k = NULL;
	struct sb_x509 *forged = NULL;
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &k));
	t_cert(&forged, "test-leaf", 9, T_NOW - 60, T_NOW + 3600, false, ca.leaf_key, ca.inter, k);
	struct sb_x509 *bundle[] = {ca.root, ca.inter};
	verify_chain_case(bundle, 2, forged, ca.leaf_key, ca.root, SB_ERR_ATTEST_CERT_SIGNATURE);
	/* Document signed by a key other than the leaf's. */
	verify_chain_case(bundle, 2, ca.leaf, k, ca.root, SB_ERR_ATTEST_SIGNATURE);
	/* Leaf is a CA certificate. */
	struct sb_x509 *ca_leaf = NULL;
	t_cert(&ca_leaf, "test-leaf", 10, T_NOW - 60, T_NOW + 3600, true, ca.leaf_key, ca.inter,
	       ca.int_key);
	verify_chain_case(bundle, 2, ca_leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_CHAIN);
	sb_x509_free(ca_leaf);
	sb_x509_free(forged);
	sb_ecdsa_key_free(k);
	t_ca_cleanup(&ca);
}

static void test_chain_validity_and_key_type(void **state)
{
	(void)state;
	struct t_ca ca;
	t_ca_init(&ca, T_NOW);
	struct sb_x509 *bundle[] = {ca.root, ca.inter};
	struct sb_x509 *leaf = NULL, *inter = NULL;
	/* Expired leaf. */
	t_cert(&leaf, "test-leaf", 11, T_NOW - 7200, T_NOW - 3600, false, ca.leaf_key, ca.inter,
	       ca.int_key);
	verify_chain_case(bundle, 2, leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_EXPIRED);
	sb_x509_free(leaf);
	/* Leaf not yet valid. */
	t_cert(&leaf, "test-leaf", 12, T_NOW + 3600, T_NOW + 7200, false, ca.leaf_key, ca.inter,
	       ca.int_key);
	verify_chain_case(bundle, 2, leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_NOT_YET_VALID);
	sb_x509_free(leaf);
	/* Expired intermediate. */
	t_cert(&inter, "test-intermediate", 13, T_NOW - 86400, T_NOW - 10, true, ca.int_key,
	       ca.root, ca.root_key);
	struct sb_x509 *b2[] = {ca.root, inter};
	verify_chain_case(b2, 2, ca.leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_EXPIRED);
	sb_x509_free(inter);
	/* Expired root (AWS: validity "also applies for the root certificate"). */
	struct sb_x509 *old_root = NULL;
	t_cert(&old_root, "test-root", 14, T_NOW - 86400 * 2, T_NOW - 86400, true, ca.root_key,
	       NULL, ca.root_key);
	struct sb_x509 *b3[] = {old_root, ca.inter};
	verify_chain_case(b3, 2, ca.leaf, ca.leaf_key, old_root, SB_ERR_ATTEST_EXPIRED);
	sb_x509_free(old_root);
	/* A P-256 leaf. */
	struct sb_ecdsa_key *k256 = NULL;
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P256, &k256));
	t_cert(&leaf, "test-leaf", 15, T_NOW - 60, T_NOW + 3600, false, k256, ca.inter, ca.int_key);
	verify_chain_case(bundle, 2, leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_KEY_TYPE);
	sb_x509_free(leaf);
	/* A P-256 intermediate. */
	t_cert(&inter, "test-intermediate", 16, T_NOW - 86400, T_NOW + 86400, true, k256, ca.root,
	       ca.root_key);
	struct sb_x509 *b4[] = {ca.root, inter};
	verify_chain_case(b4, 2, ca.leaf, ca.leaf_key, ca.root, SB_ERR_ATTEST_KEY_TYPE);
	sb_x509_free(inter);
	sb_ecdsa_key_free(k256);
	/* Garbage in the bundle. */
	struct sb_attest_doc *doc = t_doc(bundle, 2, ca.leaf, (uint64_t)T_NOW * 1000);
	T_OK(sb_buf_set(&doc->cabundle[1], SB_SLICE("\x30\x03\x02\x01\x01", 5)));
	struct sb_buf raw = SB_BUF_INIT(1 << 16);
	t_doc_sign(doc, false, ca.leaf_key, &raw);
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	o.at_ms = (uint64_t)T_NOW * 1000;
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(ca.root)));
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_CHAIN);
	sb_buf_cleanup(&raw);
	sb_attest_doc_free(doc);
	t_ca_cleanup(&ca);
}

/* The 2026 NSM shape: an indefinite-length payload map, re-signed with a test CA. */
static void test_indefinite_payload_and_debug(void **state)
{
	(void)state;
	struct t_ca ca;
	t_ca_init(&ca, T_NOW);
	struct sb_x509 *bundle[] = {ca.root, ca.inter};
	struct sb_attest_doc *doc = t_doc(bundle, 2, ca.leaf, (uint64_t)T_NOW * 1000);
	struct sb_buf raw = SB_BUF_INIT(1 << 16);
	t_doc_sign(doc, true, ca.leaf_key, &raw);
	assert_non_null(memmem(raw.data, raw.len, "\xbf\x69module_id", 11));
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	o.at_ms = (uint64_t)T_NOW * 1000;
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(ca.root)));
	uint8_t p1[48];
	memset(p1, 0x22, sizeof(p1));
	T_OK(sb_verify_opts_expect_pcr(&o, 1, SB_SLICE(p1, 48)));
	struct sb_attest_doc *got = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, &got));
	assert_string_equal(got->module_id, doc->module_id);
	assert_memory_equal(got->payload.data, raw.data + 10, got->payload.len);
	sb_attest_doc_free(got);
	/* Debug mode: PCR0 all zeros is refused unless allowed. */
	memset(doc->pcrs[0].value, 0, 48);
	sb_buf_reset(&raw);
	t_doc_sign(doc, true, ca.leaf_key, &raw);
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_DEBUG_MODE);
	o.allow_debug = true;
	T_OK(sb_attest_verify(sb_buf_slice(&raw), &o, NULL));
	/* Without PCR0 at all. */
	doc->pcrs[0].present = false;
	sb_buf_reset(&raw);
	t_doc_sign(doc, false, ca.leaf_key, &raw);
	T_ERR(sb_attest_verify(sb_buf_slice(&raw), &o, NULL), SB_ERR_ATTEST_PCR_MISSING);
	sb_buf_cleanup(&raw);
	sb_attest_doc_free(doc);
	t_ca_cleanup(&ca);
}

/*
 * A real document's payload re-encoded: definite gives back the exact bytes
 * AWS signed; indefinite is the same map between 0xBF and 0xFF (the 2026 NSM
 * shape). Re-signed with a test CA valid at the document's time, the
 * indefinite form verifies with the real PCRs and nonce.
 */
static void test_real_payload_reencoded_indefinite(void **state)
{
	(void)state;
	const struct real_doc *rd = &real_docs[0];
	struct sb_buf raw, enc = SB_BUF_INIT(1 << 16), signed_doc = SB_BUF_INIT(1 << 16);
	struct sb_attest_doc *doc = NULL;
	t_read(rd->file, &raw);
	T_OK(sb_attest_doc_parse(sb_buf_slice(&raw), &doc));
	T_OK(sb_attest_payload_encode(doc, false, &enc));
	assert_int_equal(enc.len, doc->payload.len);
	assert_memory_equal(enc.data, doc->payload.data, enc.len);
	sb_buf_reset(&enc);
	T_OK(sb_attest_payload_encode(doc, true, &enc));
	assert_int_equal(enc.len, doc->payload.len + 1);
	assert_int_equal(doc->payload.data[0], 0xa9); /* map(9) */
	assert_int_equal(enc.data[0], 0xbf);
	assert_memory_equal(enc.data + 1, doc->payload.data + 1, doc->payload.len - 1);
	assert_int_equal(enc.data[enc.len - 1], 0xff);
	/* Swap in a test chain valid at the document's time and re-sign. */
	struct t_ca ca;
	t_ca_init(&ca, (int64_t)(doc->timestamp_ms / 1000));
	T_OK(sb_buf_set(&doc->certificate, sb_x509_der(ca.leaf)));
	T_OK(sb_buf_set(&doc->cabundle[0], sb_x509_der(ca.root)));
	T_OK(sb_buf_set(&doc->cabundle[1], sb_x509_der(ca.inter)));
	doc->cabundle_len = 2;
	t_doc_sign(doc, true, ca.leaf_key, &signed_doc);
	struct sb_verify_opts o;
	opts_for(rd, &o);
	o.at_ms = doc->timestamp_ms + 1000;
	T_OK(sb_verify_opts_add_root(&o, sb_x509_der(ca.root)));
	o.expect_nonce =
	    (struct sb_verify_expect){.set = true, .value = sb_buf_slice(&doc->nonce.value)};
	struct sb_attest_doc *got = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&signed_doc), &o, &got));
	assert_int_equal(got->payload.data[0], 0xbf);
	assert_string_equal(got->module_id, doc->module_id);
	assert_int_equal(got->timestamp_ms, doc->timestamp_ms);
	sb_attest_doc_free(got);
	t_ca_cleanup(&ca);
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&signed_doc);
	sb_buf_cleanup(&enc);
	sb_buf_cleanup(&raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_docs_verify),
	    cmocka_unit_test(test_real_docs_time_window),
	    cmocka_unit_test(test_real_docs_policy),
	    cmocka_unit_test(test_real_docs_flips),
	    cmocka_unit_test(test_real_doc_pcr_byte_flip_is_signature),
	    cmocka_unit_test(test_real_docs_tagged_truncated_trailing),
	    cmocka_unit_test(test_opts_validation),
	    cmocka_unit_test(test_chain_good_and_wrong_root),
	    cmocka_unit_test(test_empty_public_key),
	    cmocka_unit_test(test_chain_order_and_signatures),
	    cmocka_unit_test(test_chain_validity_and_key_type),
	    cmocka_unit_test(test_indefinite_payload_and_debug),
	    cmocka_unit_test(test_real_payload_reencoded_indefinite),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
