/*
 * Unit tests for src/kmsd/sb_kmsd_attest_cache: the cache of verified
 * Recipient attestation documents. Documents are made here with a test CA
 * whose validity is pinned around T, and every lookup passes its own time,
 * so expiry is tested without waiting.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest/sb_attest_doc.h"
#include "attest/sb_verify.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_rsa.h"
#include "crypto/sb_x509.h"
#include "kmsd/sb_kmsd_attest_cache.h"

/* Pinned clock: the certificates are valid around T (Unix seconds). */
#define T          INT64_C(1700000000)
#define T_MS       ((uint64_t)T * 1000)
#define ROOT_NB    (T - 7200)
#define ROOT_NA    (T + 86400)
#define LEAF_NB    (T - 60)
#define LEAF_NA    (T + 3600)
#define HOUR_MS    (3600u * 1000u)
#define LONG_AGE   (48u * HOUR_MS)

static struct {
	struct sb_ecdsa_key *root_key, *leaf_key, *other_key;
	struct sb_x509 *root, *leaf, *other_root, *other_leaf;
	struct sb_rsa_key *rsa;
	struct sb_verify_opts opts;
} fx;

static int setup(void **state)
{
	struct sb_x509_spec rs = {"cache root", 1, ROOT_NB, ROOT_NA, true, -1};
	struct sb_x509_spec ls = {"cache leaf", 2, LEAF_NB, LEAF_NA, false, -1};
	struct sb_x509_spec ors = {"other root", 3, ROOT_NB, ROOT_NA, true, -1};
	struct sb_x509_spec ols = {"other leaf", 4, LEAF_NB, LEAF_NA, false, -1};
	struct sb_ecdsa_key *other_leaf_key = NULL;
	bool ok;

	(void)state;
	ok = sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &fx.root_key)) &&
	     sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &fx.leaf_key)) &&
	     sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &fx.other_key)) &&
	     sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &other_leaf_key)) &&
	     sb_ok(sb_x509_create(&rs, fx.root_key, NULL, fx.root_key, &fx.root)) &&
	     sb_ok(sb_x509_create(&ls, fx.leaf_key, fx.root, fx.root_key, &fx.leaf)) &&
	     sb_ok(sb_x509_create(&ors, fx.other_key, NULL, fx.other_key, &fx.other_root)) &&
	     sb_ok(sb_x509_create(&ols, other_leaf_key, fx.other_root, fx.other_key,
				  &fx.other_leaf)) &&
	     sb_ok(sb_rsa_key_new(2048, &fx.rsa));
	sb_ecdsa_key_free(other_leaf_key);
	if (!ok)
		return -1;
	sb_verify_opts_init(&fx.opts);
	fx.opts.allow_debug = true;
	return sb_ok(sb_verify_opts_add_root(&fx.opts, sb_x509_der(fx.root))) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sb_rsa_key_free(fx.rsa);
	sb_x509_free(fx.other_leaf);
	sb_x509_free(fx.other_root);
	sb_x509_free(fx.leaf);
	sb_x509_free(fx.root);
	sb_ecdsa_key_free(fx.other_key);
	sb_ecdsa_key_free(fx.leaf_key);
	sb_ecdsa_key_free(fx.root_key);
	return 0;
}

/* What a test document carries. */
enum doc_key { KEY_RSA, KEY_NONE, KEY_EC, KEY_EMPTY /* public_key = h'' */ };

/* A document signed by the trusted leaf with PCR0..2 = tag, tag+1, tag+2. */
static void make_doc_with(uint8_t tag, enum doc_key kind, bool trusted, struct sb_buf *out)
{
	struct sb_buf payload = SB_BUF_INIT(SB_ATTEST_DOC_MAX), tbs = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_attest_doc *doc = NULL;
	uint8_t sig[96];

	assert_true(sb_ok(sb_attest_doc_new(&doc)));
	snprintf(doc->module_id, sizeof(doc->module_id), "i-cache-enc%02x", tag);
	doc->timestamp_ms = T_MS;
	for (int i = 0; i < 16; i++) {
		doc->pcrs[i].present = true;
		doc->pcrs[i].len = 48;
		if (i < 3)
			memset(doc->pcrs[i].value, tag + i, 48);
	}
	assert_true(sb_ok(sb_buf_append_slice(&doc->certificate,
					      sb_x509_der(trusted ? fx.leaf : fx.other_leaf))));
	assert_true(sb_ok(sb_buf_append_slice(&doc->cabundle[0],
					      sb_x509_der(trusted ? fx.root : fx.other_root))));
	doc->cabundle_len = 1;
	doc->public_key.present = kind != KEY_NONE;
	if (kind == KEY_RSA)
		assert_true(sb_ok(sb_rsa_key_public_der(fx.rsa, &doc->public_key.value)));
	if (kind == KEY_EC)
		assert_true(sb_ok(sb_ecdsa_key_public_der(fx.other_key, &doc->public_key.value)));
	assert_true(sb_ok(sb_attest_payload_encode(doc, false, &payload)));
	assert_true(sb_ok(sb_cose_sig_structure(sb_cose_protected_es384(), sb_buf_slice(&payload),
						&tbs)));
	/* The other chain's leaf key is gone; those documents are refused at
	 * the chain, before the signature, so any signature will do. */
	assert_true(sb_ok(sb_ecdsa_sign_es384(fx.leaf_key, sb_buf_slice(&tbs), sig)));
	sb_buf_reset(out);
	assert_true(sb_ok(sb_cose_sign1_encode(sb_buf_slice(&payload), sig, out)));
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&tbs);
}

static void make_doc(uint8_t tag, struct sb_buf *out)
{
	make_doc_with(tag, KEY_RSA, true, out);
}

static struct sb_kmsd_attest_cache *new_cache(size_t capacity, uint64_t max_age_ms)
{
	struct sb_kmsd_attest_cache *c = NULL;

	assert_true(sb_ok(sb_kmsd_attest_cache_new(&fx.opts, capacity, max_age_ms, &c)));
	return c;
}

static struct sb_kmsd_attest_cache_stats stats_of(struct sb_kmsd_attest_cache *c)
{
	struct sb_kmsd_attest_cache_stats s;

	sb_kmsd_attest_cache_stats(c, &s);
	return s;
}

#define EXPECT_STATS(c, h, m, x, e, n)                                                             \
	do {                                                                                       \
		struct sb_kmsd_attest_cache_stats s_ = stats_of(c);                                \
		assert_int_equal(s_.hits, (h));                                                    \
		assert_int_equal(s_.misses, (m));                                                  \
		assert_int_equal(s_.expired, (x));                                                 \
		assert_int_equal(s_.evictions, (e));                                               \
		assert_int_equal(s_.entries, (n));                                                 \
	} while (0)

/* Gets doc at now_ms, expecting success; the caller releases. */
static const struct sb_kmsd_attest *get_ok(struct sb_kmsd_attest_cache *c, const struct sb_buf *doc,
					   uint64_t now_ms)
{
	const struct sb_kmsd_attest *a = NULL;

	if (!sb_ok(sb_kmsd_attest_cache_get(c, sb_buf_slice(doc), now_ms, &a)))
		fail_msg("get failed: %s", sb_error_describe());
	assert_non_null(a);
	return a;
}

/* Gets doc at now_ms, expecting SB_ERR_KMS_BAD_ATTESTATION with detail. */
static void get_fails(struct sb_kmsd_attest_cache *c, struct sb_slice doc, uint64_t now_ms,
		      const char *detail)
{
	const struct sb_kmsd_attest *a = (const struct sb_kmsd_attest *)&fx;
	sb_result r = sb_kmsd_attest_cache_get(c, doc, now_ms, &a);

	assert_int_equal(r.code, SB_ERR_KMS_BAD_ATTESTATION);
	assert_null(a);
	if (strstr(sb_error_detail(), detail) == NULL)
		fail_msg("detail '%s' lacks '%s'", sb_error_detail(), detail);
}

static void test_hit_and_miss(void **state)
{
	struct sb_buf d1 = SB_BUF_INIT(SB_ATTEST_DOC_MAX), d2 = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_buf spki = SB_BUF_INIT(4096), want = SB_BUF_INIT(4096);
	struct sb_kmsd_attest_cache *c = new_cache(8, LONG_AGE);
	const struct sb_kmsd_attest *a, *b, *x;
	char hex[97];

	(void)state;
	make_doc(0x11, &d1);
	make_doc(0x44, &d2);
	a = get_ok(c, &d1, T_MS);
	EXPECT_STATS(c, 0, 1, 0, 0, 1);
	/* What the request needs: PCRs as lower-case hex, the doc, the key. */
	memset(hex, 0, sizeof(hex));
	for (int i = 0; i < 96; i++)
		hex[i] = (i % 2) ? '2' : '1';
	assert_string_equal(a->pcr_hex[1], hex);
	assert_string_equal(a->pcr_hex[16], "");
	assert_string_equal(a->doc->module_id, "i-cache-enc11");
	assert_true(sb_ok(sb_rsa_key_public_der(a->key, &spki)));
	assert_true(sb_ok(sb_rsa_key_public_der(fx.rsa, &want)));
	assert_memory_equal(spki.data, want.data, want.len);
	/* The window: from the latest notBefore to the earliest notAfter. */
	assert_int_equal(a->valid_from_ms, (uint64_t)LEAF_NB * 1000);
	assert_int_equal(a->valid_until_ms, (uint64_t)LEAF_NA * 1000);

	/* The same bytes again: the same entry, not verified again. */
	b = get_ok(c, &d1, T_MS + 1000);
	assert_ptr_equal(a, b);
	EXPECT_STATS(c, 1, 1, 0, 0, 1);
	/* Another document is its own entry. */
	x = get_ok(c, &d2, T_MS);
	assert_ptr_not_equal(x, a);
	assert_string_equal(x->doc->module_id, "i-cache-enc44");
	EXPECT_STATS(c, 1, 2, 0, 0, 2);
	sb_kmsd_attest_release(a);
	sb_kmsd_attest_release(b);
	sb_kmsd_attest_release(x);
	sb_kmsd_attest_release(NULL);
	sb_kmsd_attest_cache_free(c);
	sb_kmsd_attest_cache_free(NULL);
	sb_buf_cleanup(&d1);
	sb_buf_cleanup(&d2);
	sb_buf_cleanup(&spki);
	sb_buf_cleanup(&want);
}

/* The entry ends where verification would start failing, never later. */
static void test_expiry_at_not_after(void **state)
{
	struct sb_buf d = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_kmsd_attest_cache *c = new_cache(8, LONG_AGE);
	uint64_t end = (uint64_t)LEAF_NA * 1000;

	(void)state;
	make_doc(0x11, &d);
	sb_kmsd_attest_release(get_ok(c, &d, T_MS));
	sb_kmsd_attest_release(get_ok(c, &d, end - 1));
	EXPECT_STATS(c, 1, 1, 0, 0, 1);
	/* At notAfter the leaf has expired: dropped, verified again, refused. */
	get_fails(c, sb_buf_slice(&d), end, "Invalid attestation document");
	EXPECT_STATS(c, 1, 2, 1, 0, 0);
	/* Failures are not cached: the next call verifies (and fails) again. */
	get_fails(c, sb_buf_slice(&d), end + 5000, "Invalid attestation document");
	EXPECT_STATS(c, 1, 3, 1, 0, 0);
	/* A time the chain is valid at again is served, by a fresh verification. */
	sb_kmsd_attest_release(get_ok(c, &d, T_MS));
	EXPECT_STATS(c, 1, 4, 1, 0, 1);
	/* Before the latest notBefore (a clock set back) is not served either. */
	get_fails(c, sb_buf_slice(&d), (uint64_t)LEAF_NB * 1000 - 1, "Invalid attestation");
	EXPECT_STATS(c, 1, 5, 2, 0, 0);
	sb_kmsd_attest_cache_free(c);
	sb_buf_cleanup(&d);
}

/* With a short max age, an entry is verified again after it. */
static void test_expiry_at_max_age(void **state)
{
	struct sb_buf d = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_kmsd_attest_cache *c = new_cache(8, 1000);
	const struct sb_kmsd_attest *a;

	(void)state;
	make_doc(0x11, &d);
	a = get_ok(c, &d, T_MS);
	assert_int_equal(a->valid_until_ms, T_MS + 1000);
	sb_kmsd_attest_release(a);
	sb_kmsd_attest_release(get_ok(c, &d, T_MS + 999));
	EXPECT_STATS(c, 1, 1, 0, 0, 1);
	a = get_ok(c, &d, T_MS + 1000);
	EXPECT_STATS(c, 1, 2, 1, 0, 1);
	assert_int_equal(a->valid_until_ms, T_MS + 2000);
	sb_kmsd_attest_release(a);
	/* Near notAfter, notAfter wins over the max age. */
	a = get_ok(c, &d, (uint64_t)LEAF_NA * 1000 - 10);
	assert_int_equal(a->valid_until_ms, (uint64_t)LEAF_NA * 1000);
	sb_kmsd_attest_release(a);
	sb_kmsd_attest_cache_free(c);
	sb_buf_cleanup(&d);
}

/* Capacity 2: the least recently used entry goes. */
static void test_eviction_lru(void **state)
{
	struct sb_buf d[3];
	struct sb_kmsd_attest_cache *c = new_cache(2, LONG_AGE);
	const struct sb_kmsd_attest *held;

	(void)state;
	for (int i = 0; i < 3; i++) {
		d[i] = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
		make_doc((uint8_t)(0x10 * (i + 1)), &d[i]);
	}
	held = get_ok(c, &d[0], T_MS);                      /* miss: [0] */
	sb_kmsd_attest_release(get_ok(c, &d[1], T_MS));      /* miss: [1 0] */
	sb_kmsd_attest_release(get_ok(c, &d[0], T_MS));      /* hit:  [0 1] */
	sb_kmsd_attest_release(get_ok(c, &d[2], T_MS));      /* miss, evicts 1: [2 0] */
	EXPECT_STATS(c, 1, 3, 0, 1, 2);
	sb_kmsd_attest_release(get_ok(c, &d[0], T_MS));      /* hit: [0 2] */
	EXPECT_STATS(c, 2, 3, 0, 1, 2);
	sb_kmsd_attest_release(get_ok(c, &d[1], T_MS));      /* miss, evicts 2: [1 0] */
	EXPECT_STATS(c, 2, 4, 0, 2, 2);
	sb_kmsd_attest_release(get_ok(c, &d[2], T_MS));      /* miss, evicts 0: [2 1] */
	EXPECT_STATS(c, 2, 5, 0, 3, 2);
	/* An evicted entry a request still holds stays intact until released. */
	assert_string_equal(held->doc->module_id, "i-cache-enc10");
	assert_true(held->doc->public_key.present);
	sb_kmsd_attest_release(held);
	/* So does one held across the cache's end. */
	held = get_ok(c, &d[2], T_MS);
	sb_kmsd_attest_cache_free(c);
	assert_string_equal(held->doc->module_id, "i-cache-enc30");
	sb_kmsd_attest_release(held);
	for (int i = 0; i < 3; i++)
		sb_buf_cleanup(&d[i]);
}

/* A changed document never meets the entry of the one it was made from. */
static void test_tampered_never_hits(void **state)
{
	struct sb_buf d = SB_BUF_INIT(SB_ATTEST_DOC_MAX), t = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_kmsd_attest_cache *c = new_cache(8, LONG_AGE);
	size_t where[] = {0, 100, 0, 0};

	(void)state;
	make_doc(0x11, &d);
	sb_kmsd_attest_release(get_ok(c, &d, T_MS));
	where[2] = d.len / 2;
	where[3] = d.len - 1; /* the signature's last byte */
	for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		sb_buf_reset(&t);
		assert_true(sb_ok(sb_buf_append_slice(&t, sb_buf_slice(&d))));
		t.data[where[i]] ^= 0x01;
		get_fails(c, sb_buf_slice(&t), T_MS, "");
		EXPECT_STATS(c, 0, 2 + i, 0, 0, 1);
	}
	/* A prefix and a longer document are other bytes too. */
	get_fails(c, SB_SLICE(d.data, d.len - 1), T_MS, "");
	sb_buf_reset(&t);
	assert_true(sb_ok(sb_buf_append_slice(&t, sb_buf_slice(&d))));
	assert_true(sb_ok(sb_buf_append_u8(&t, 0)));
	get_fails(c, sb_buf_slice(&t), T_MS, "");
	EXPECT_STATS(c, 0, 7, 0, 0, 1);
	/* The original still hits. */
	sb_kmsd_attest_release(get_ok(c, &d, T_MS));
	EXPECT_STATS(c, 1, 7, 0, 0, 1);
	sb_kmsd_attest_cache_free(c);
	sb_buf_cleanup(&d);
	sb_buf_cleanup(&t);
}

/* Each refusal names its check and leaves nothing cached. */
static void test_refusals_not_cached(void **state)
{
	struct sb_buf d = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_kmsd_attest_cache *c = new_cache(8, LONG_AGE);
	const struct sb_kmsd_attest *a = NULL;

	(void)state;
	make_doc_with(0x11, KEY_NONE, true, &d);
	get_fails(c, sb_buf_slice(&d), T_MS, "has no public key");
	get_fails(c, sb_buf_slice(&d), T_MS, "has no public key");
	/* An empty public_key (AWS allows 0..1024 bytes) is no key either. */
	make_doc_with(0x11, KEY_EMPTY, true, &d);
	get_fails(c, sb_buf_slice(&d), T_MS, "has no public key");
	make_doc_with(0x11, KEY_EC, true, &d);
	get_fails(c, sb_buf_slice(&d), T_MS, "is not an RSA key");
	make_doc_with(0x11, KEY_RSA, false, &d);
	get_fails(c, sb_buf_slice(&d), T_MS, "Invalid attestation document");
	get_fails(c, SB_SLICE_LIT("not cbor"), T_MS, "Invalid attestation document");
	get_fails(c, SB_SLICE(NULL, 0), T_MS, "Invalid attestation document");
	EXPECT_STATS(c, 0, 7, 0, 0, 0);
	/* Bad arguments. */
	make_doc(0x11, &d);
	assert_int_equal(sb_kmsd_attest_cache_get(c, sb_buf_slice(&d), 0, &a).code,
			 SB_ERR_INVALID_ARG);
	assert_int_equal(sb_kmsd_attest_cache_get(c, sb_buf_slice(&d), T_MS, NULL).code,
			 SB_ERR_NULL);
	assert_int_equal(sb_kmsd_attest_cache_get(NULL, sb_buf_slice(&d), T_MS, &a).code,
			 SB_ERR_NULL);
	sb_kmsd_attest_cache_free(c);
	c = NULL;
	assert_int_equal(sb_kmsd_attest_cache_new(&fx.opts, 0, 1, &c).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_kmsd_attest_cache_new(&fx.opts, 1, 0, &c).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_kmsd_attest_cache_new(NULL, 1, 1, &c).code, SB_ERR_NULL);
	assert_int_equal(sb_kmsd_attest_cache_new(&fx.opts, 1, 1, NULL).code, SB_ERR_NULL);
	assert_null(c);
	sb_buf_cleanup(&d);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ROUNDS  40
#define DOCS    3

struct worker {
	struct sb_kmsd_attest_cache *c;
	const struct sb_buf *docs;
	unsigned seed;
	unsigned bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	const struct sb_kmsd_attest *held[2] = {NULL, NULL};

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned i = (w->seed + r * 7u) % DOCS;
		const struct sb_kmsd_attest *a = NULL;
		char want[32];

		if (!sb_ok(sb_kmsd_attest_cache_get(w->c, sb_buf_slice(&w->docs[i]),
						    T_MS + r, &a))) {
			w->bad++;
			continue;
		}
		snprintf(want, sizeof(want), "i-cache-enc%02x", 0x20 + i);
		if (strcmp(a->doc->module_id, want) != 0 || a->pcr_hex[0][0] == '\0')
			w->bad++;
		/* Hold some references across other threads' evictions. */
		sb_kmsd_attest_release(held[r % 2]);
		held[r % 2] = a;
	}
	sb_kmsd_attest_release(held[0]);
	sb_kmsd_attest_release(held[1]);
	return NULL;
}

static void test_concurrent_use(void **state)
{
	struct sb_buf docs[DOCS];
	struct sb_kmsd_attest_cache *c = new_cache(2, LONG_AGE);
	struct worker w[THREADS];
	pthread_t th[THREADS];

	(void)state;
	for (unsigned i = 0; i < DOCS; i++) {
		docs[i] = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
		make_doc((uint8_t)(0x20 + i), &docs[i]);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		w[t] = (struct worker){c, docs, t, 0};
		assert_int_equal(pthread_create(&th[t], NULL, worker_main, &w[t]), 0);
	}
	for (unsigned t = 0; t < THREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(w[t].bad, 0);
	}
	struct sb_kmsd_attest_cache_stats s = stats_of(c);
	assert_int_equal(s.hits + s.misses, THREADS * ROUNDS);
	assert_true(s.entries <= 2);
	assert_true(s.misses >= DOCS);
	sb_kmsd_attest_cache_free(c);
	for (unsigned i = 0; i < DOCS; i++)
		sb_buf_cleanup(&docs[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_and_miss),
		cmocka_unit_test(test_expiry_at_not_after),
		cmocka_unit_test(test_expiry_at_max_age),
		cmocka_unit_test(test_eviction_lru),
		cmocka_unit_test(test_tampered_never_hits),
		cmocka_unit_test(test_refusals_not_cached),
		cmocka_unit_test(test_concurrent_use),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
