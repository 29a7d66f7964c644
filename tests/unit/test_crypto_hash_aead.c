/*
 * Unit tests for src/crypto/sb_hash, sb_aead and sb_random against published
 * vectors: SHA-256 and SHA-384 (FIPS 180-4 examples), HMAC-SHA256 (RFC 4231),
 * AES-256-GCM (the GCM specification's test cases 13, 14 and 16), and the
 * Nitro PCR extension rule.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_buf.h"
#include "common/sb_encoding.h"
#include "crypto/sb_aead.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_random.h"

/* Decodes hex into a fresh buffer (caller cleans up). */
static struct sb_buf hex(const char *h)
{
	struct sb_buf b = SB_BUF_INIT(4096);

	assert_true(sb_ok(sb_hex_decode(sb_slice_str(h), &b)));
	return b;
}

static void assert_hex_equal(const uint8_t *got, size_t n, const char *want_hex)
{
	struct sb_buf want = hex(want_hex);

	assert_int_equal(want.len, n);
	assert_memory_equal(got, want.data, n);
	sb_buf_cleanup(&want);
}

/* Repeats byte v n times into b. */
static void fill(struct sb_buf *b, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_true(sb_ok(sb_buf_append_u8(b, v)));
}

/* ---- SHA-2 -------------------------------------------------------------- */

static const struct {
	const char *msg;
	const char *sha256;
	const char *sha384;
} sha_vectors[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f1"
     "4898b95b"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
     "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca1"
     "34c825a7"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", NULL},
    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlm"
     "nopqrsmnopqrstnopqrstu",
     NULL,
     "09330c33f71147e83d192fc782cd1b4753111b173b3b05d22fa08086e3b0f712fcc7c71a557e2db966c3e9fa"
     "91746039"},
};

static void test_sha2_vectors(void **state)
{
	uint8_t d256[SB_SHA256_LEN], d384[SB_SHA384_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(sha_vectors) / sizeof(sha_vectors[0]); i++) {
		struct sb_slice m = sb_slice_str(sha_vectors[i].msg);
		if (sha_vectors[i].sha256 != NULL) {
			assert_true(sb_ok(sb_sha256(m, d256)));
			assert_hex_equal(d256, sizeof(d256), sha_vectors[i].sha256);
		}
		if (sha_vectors[i].sha384 != NULL) {
			assert_true(sb_ok(sb_sha384(m, d384)));
			assert_hex_equal(d384, sizeof(d384), sha_vectors[i].sha384);
		}
	}
}

/* One million 'a': FIPS 180-4 long message, hashed in uneven pieces. */
static void test_sha256_incremental_million_a(void **state)
{
	static uint8_t a[1000];
	struct sb_hash h;
	uint8_t d[SB_SHA256_LEN];
	size_t done = 0, step = 1;

	(void)state;
	memset(a, 'a', sizeof(a));
	assert_true(sb_ok(sb_hash_init(&h, SB_HASH_SHA256)));
	while (done < 1000000) {
		size_t n = 1000000 - done < step ? 1000000 - done : step;
		assert_true(sb_ok(sb_hash_update(&h, SB_SLICE(a, n))));
		done += n;
		step = step % 997 + 1;
	}
	assert_true(sb_ok(sb_hash_final(&h, d, sizeof(d))));
	sb_hash_cleanup(&h);
	assert_hex_equal(d, sizeof(d),
	                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_hash_incremental_matches_oneshot(void **state)
{
	struct sb_hash h;
	uint8_t one[SB_SHA384_LEN], inc[SB_SHA384_LEN];
	const char *msg = sha_vectors[3].msg;
	size_t len = strlen(msg);

	(void)state;
	assert_true(sb_ok(sb_sha384(SB_SLICE(msg, len), one)));
	assert_true(sb_ok(sb_hash_init(&h, SB_HASH_SHA384)));
	assert_true(sb_ok(sb_hash_update(&h, SB_SLICE(msg, 5))));
	assert_true(sb_ok(sb_hash_update(&h, SB_SLICE(NULL, 0))));
	assert_true(sb_ok(sb_hash_update(&h, SB_SLICE(msg + 5, len - 5))));
	/* The output length must be the digest's. */
	assert_int_equal(sb_hash_final(&h, inc, SB_SHA256_LEN).code, SB_ERR_INVALID_ARG);
	assert_true(sb_ok(sb_hash_final(&h, inc, sizeof(inc))));
	assert_memory_equal(one, inc, sizeof(one));
	sb_hash_cleanup(&h);
	sb_hash_cleanup(&h); /* idempotent */
	sb_hash_cleanup(NULL);
	assert_int_equal(sb_hash_update(&h, SB_SLICE_LIT("x")).code, SB_ERR_NULL);
	assert_int_equal(sb_hash_final(&h, inc, sizeof(inc)).code, SB_ERR_NULL);
	assert_int_equal(sb_hash_init(&h, (enum sb_hash_alg)99).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_hash_init(NULL, SB_HASH_SHA256).code, SB_ERR_NULL);
}

/* ---- HMAC-SHA256, RFC 4231 ---------------------------------------------- */

static void test_hmac_sha256_rfc4231(void **state)
{
	struct {
		struct sb_buf key, msg;
		const char *mac;
	} tc[6];
	uint8_t mac[SB_SHA256_LEN];

	(void)state;
	for (size_t i = 0; i < 6; i++) {
		sb_buf_init(&tc[i].key, 4096);
		sb_buf_init(&tc[i].msg, 4096);
	}
	/* Test case 1 */
	fill(&tc[0].key, 0x0b, 20);
	assert_true(sb_ok(sb_buf_append_str(&tc[0].msg, "Hi There")));
	tc[0].mac = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
	/* Test case 2: a key shorter than the output */
	assert_true(sb_ok(sb_buf_append_str(&tc[1].key, "Jefe")));
	assert_true(sb_ok(sb_buf_append_str(&tc[1].msg, "what do ya want for nothing?")));
	tc[1].mac = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
	/* Test case 3 */
	fill(&tc[2].key, 0xaa, 20);
	fill(&tc[2].msg, 0xdd, 50);
	tc[2].mac = "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe";
	/* Test case 4 */
	for (uint8_t b = 1; b <= 25; b++)
		assert_true(sb_ok(sb_buf_append_u8(&tc[3].key, b)));
	fill(&tc[3].msg, 0xcd, 50);
	tc[3].mac = "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b";
	/* Test case 6: a key larger than the block */
	fill(&tc[4].key, 0xaa, 131);
	assert_true(sb_ok(sb_buf_append_str(
	    &tc[4].msg, "Test Using Larger Than Block-Size Key - Hash Key First")));
	tc[4].mac = "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54";
	/* Test case 7: key and data larger than the block */
	fill(&tc[5].key, 0xaa, 131);
	assert_true(sb_ok(sb_buf_append_str(
	    &tc[5].msg, "This is a test using a larger than block-size key and a larger than "
	                "block-size data. The key needs to be hashed before being used by the "
	                "HMAC algorithm.")));
	tc[5].mac = "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2";

	for (size_t i = 0; i < 6; i++) {
		assert_true(
		    sb_ok(sb_hmac_sha256(sb_buf_slice(&tc[i].key), sb_buf_slice(&tc[i].msg), mac)));
		assert_hex_equal(mac, sizeof(mac), tc[i].mac);
		sb_buf_cleanup(&tc[i].key);
		sb_buf_cleanup(&tc[i].msg);
	}
	/* An empty key, as an empty sb_buf hands it over (NULL pointer). */
	assert_true(sb_ok(sb_hmac_sha256(SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), mac)));
	assert_hex_equal(mac, sizeof(mac),
	                 "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

/* ---- PCR extension ------------------------------------------------------ */

static void test_pcr_extend(void **state)
{
	uint8_t pcr[SB_SHA384_LEN] = {0};

	(void)state;
	/* SHA384(zero48 || SHA384("")) */
	assert_true(sb_ok(sb_pcr_extend(pcr, SB_SLICE(NULL, 0))));
	assert_hex_equal(pcr, sizeof(pcr),
	                 "21b9efbc184807662e966d34f390821309eeac6802309798826296bf3e8bec7c10edb309"
	                 "48c90ba67310f7b964fc500a");
	/* Extending is chained: zero, then "abc", then "def". */
	memset(pcr, 0, sizeof(pcr));
	assert_true(sb_ok(sb_pcr_extend(pcr, SB_SLICE_LIT("abc"))));
	assert_hex_equal(pcr, sizeof(pcr),
	                 "93732e3733514a841c982cfa75ea76ab55fe011acb9cd980ef4523913c65be1b0998e04d"
	                 "77f8c174f81a82151619ca40");
	assert_true(sb_ok(sb_pcr_extend(pcr, SB_SLICE_LIT("def"))));
	assert_hex_equal(pcr, sizeof(pcr),
	                 "c138bc0d993f7bcf76a109b56451f955580eba49e5b9b8a5a8655cdc54239a4e6ef931f1"
	                 "5c4909459132b8f4b73d31a5");
}

/* ---- AES-256-GCM -------------------------------------------------------- */

static const struct {
	const char *name, *key, *iv, *aad, *pt, *ct_tag;
} gcm_vectors[] = {
    {"GCM test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b"},
};

static void test_gcm_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); i++) {
		struct sb_buf key = hex(gcm_vectors[i].key), iv = hex(gcm_vectors[i].iv);
		struct sb_buf aad = hex(gcm_vectors[i].aad), pt = hex(gcm_vectors[i].pt);
		struct sb_buf want = hex(gcm_vectors[i].ct_tag);
		struct sb_buf sealed = SB_BUF_INIT(4096), opened = SB_BUF_INIT_SECRET(4096);

		assert_int_equal(key.len, SB_AES256_KEY_LEN);
		assert_int_equal(iv.len, SB_GCM_NONCE_LEN);
		/* Seal appends after what is there. */
		assert_true(sb_ok(sb_buf_append_str(&sealed, "hdr")));
		assert_true(sb_ok(sb_aes256gcm_seal(key.data, iv.data, sb_buf_slice(&aad),
		                                    sb_buf_slice(&pt), &sealed)));
		assert_int_equal(sealed.len, 3 + want.len);
		assert_memory_equal(sealed.data + 3, want.data, want.len);
		assert_true(sb_ok(sb_aes256gcm_open(key.data, iv.data, sb_buf_slice(&aad),
		                                    sb_buf_slice(&want), &opened)));
		assert_true(sb_slice_eq(sb_buf_slice(&opened), sb_buf_slice(&pt)));
		sb_buf_cleanup(&key);
		sb_buf_cleanup(&iv);
		sb_buf_cleanup(&aad);
		sb_buf_cleanup(&pt);
		sb_buf_cleanup(&want);
		sb_buf_cleanup(&sealed);
		sb_buf_cleanup(&opened);
	}
}

/* Opening must fail with SB_ERR_DECRYPT and append nothing. */
static void expect_open_fails(const uint8_t *key, const uint8_t *iv, struct sb_slice aad,
                              struct sb_slice ct)
{
	struct sb_buf out = SB_BUF_INIT_SECRET(4096);

	assert_true(sb_ok(sb_buf_append_str(&out, "xyz")));
	assert_int_equal(sb_aes256gcm_open(key, iv, aad, ct, &out).code, SB_ERR_DECRYPT);
	assert_int_equal(out.len, 3);
	assert_memory_equal(out.data, "xyz", 3);
	sb_buf_cleanup(&out);
}

static void test_gcm_tamper(void **state)
{
	struct sb_buf key = hex(gcm_vectors[2].key), iv = hex(gcm_vectors[2].iv);
	struct sb_buf aad = hex(gcm_vectors[2].aad), ct = hex(gcm_vectors[2].ct_tag);
	size_t tag_at = ct.len - SB_GCM_TAG_LEN;

	(void)state;
	/* Every byte of ciphertext and tag, one at a time. */
	for (size_t pos = 0; pos < ct.len; pos++) {
		ct.data[pos] ^= 0x01;
		expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), sb_buf_slice(&ct));
		ct.data[pos] ^= 0x01;
	}
	assert_true(tag_at == 60);
	/* AAD changed, removed, extended. */
	aad.data[0] ^= 0x80;
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), sb_buf_slice(&ct));
	aad.data[0] ^= 0x80;
	expect_open_fails(key.data, iv.data, SB_SLICE(NULL, 0), sb_buf_slice(&ct));
	expect_open_fails(key.data, iv.data, SB_SLICE(aad.data, aad.len - 1), sb_buf_slice(&ct));
	/* Nonce and key changed. */
	iv.data[11] ^= 0x01;
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), sb_buf_slice(&ct));
	iv.data[11] ^= 0x01;
	key.data[31] ^= 0x01;
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), sb_buf_slice(&ct));
	key.data[31] ^= 0x01;
	/* Truncated: tag cut, or shorter than a tag. */
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), SB_SLICE(ct.data, ct.len - 1));
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), SB_SLICE(ct.data, 15));
	expect_open_fails(key.data, iv.data, sb_buf_slice(&aad), SB_SLICE(NULL, 0));
	/* Untouched, it still opens. */
	struct sb_buf out = SB_BUF_INIT_SECRET(4096);
	assert_true(sb_ok(
	    sb_aes256gcm_open(key.data, iv.data, sb_buf_slice(&aad), sb_buf_slice(&ct), &out)));
	assert_int_equal(out.len, 60);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&key);
	sb_buf_cleanup(&iv);
	sb_buf_cleanup(&aad);
	sb_buf_cleanup(&ct);
}

static void test_gcm_limits(void **state)
{
	uint8_t key[SB_AES256_KEY_LEN] = {1}, iv[SB_GCM_NONCE_LEN] = {2};
	struct sb_buf small = SB_BUF_INIT(20), out = SB_BUF_INIT(64);

	(void)state;
	/* 5 bytes of plaintext need 21 bytes of output. */
	assert_int_equal(
	    sb_aes256gcm_seal(key, iv, SB_SLICE(NULL, 0), SB_SLICE_LIT("hello"), &small).code,
	    SB_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	assert_int_equal(
	    sb_aes256gcm_seal(NULL, iv, SB_SLICE(NULL, 0), SB_SLICE_LIT("x"), &out).code,
	    SB_ERR_NULL);
	assert_int_equal(
	    sb_aes256gcm_seal(key, NULL, SB_SLICE(NULL, 0), SB_SLICE_LIT("x"), &out).code,
	    SB_ERR_NULL);
	assert_int_equal(
	    sb_aes256gcm_open(key, iv, SB_SLICE(NULL, 0), SB_SLICE_LIT("x"), NULL).code,
	    SB_ERR_NULL);
	sb_buf_cleanup(&small);
	sb_buf_cleanup(&out);
}

/* ---- random ------------------------------------------------------------- */

static void test_random(void **state)
{
	uint8_t a[32] = {0}, b[32] = {0}, zero[32] = {0};

	(void)state;
	assert_true(sb_ok(sb_random_bytes(a, sizeof(a))));
	assert_true(sb_ok(sb_random_bytes(b, sizeof(b))));
	/* 2^-256 chance of a false failure. */
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_true(sb_ok(sb_random_bytes(a, 0)));
	assert_int_equal(sb_random_bytes(NULL, 1).code, SB_ERR_NULL);
	assert_int_equal(sb_random_bytes(a, (size_t)INT_MAX + 1).code, SB_ERR_TOO_LARGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha2_vectors),
	    cmocka_unit_test(test_sha256_incremental_million_a),
	    cmocka_unit_test(test_hash_incremental_matches_oneshot),
	    cmocka_unit_test(test_hmac_sha256_rfc4231),
	    cmocka_unit_test(test_pcr_extend),
	    cmocka_unit_test(test_gcm_vectors),
	    cmocka_unit_test(test_gcm_tamper),
	    cmocka_unit_test(test_gcm_limits),
	    cmocka_unit_test(test_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
