/*
 * Unit tests for src/crypto/sb_ecdsa_der: P-384 compressed points and DER
 * signatures over SHA-384 digests. The known-answer vector (a key with a
 * fixed scalar, its compressed point, a signature) was made with
 * pyca/cryptography, independently of OpenSSL's EVP calls here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_buf.h"
#include "common/sb_encoding.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_ecdsa_der.h"
#include "crypto/sb_hash.h"

#define KAT_PUB                                                                                    \
	"03bfd152465458e5b9f1a903eafef03095ebfd52c5f9ea97be74de9194355fcfb40ec097315adf6afdefba21f4" \
	"4b625b48"
#define KAT_SIG                                                                                    \
	"3065023100a2cace6c9e4ceda56824a00bd61a13a4fe8321ac6d2a479eaf48c6096d927dee48c2946a2785be20" \
	"b5c161903ccb05ff02307672109ee957105ab850943d2fc574c17798ca9a316044b7f8cbf2e9f0ff86f7f7dd97" \
	"fd83fde95ea3453dd4349ac03a"

static struct sb_buf hex(const char *h)
{
	struct sb_buf b = SB_BUF_INIT(4096);

	assert_true(sb_ok(sb_hex_decode(sb_slice_str(h), &b)));
	return b;
}

static bool verifies(const struct sb_ecdsa_key *k, const uint8_t *digest, struct sb_slice sig)
{
	bool valid = true;

	assert_true(sb_ok(sb_ecdsa_verify_digest_der(k, digest, sig, &valid)));
	return valid;
}

static void test_known_answer(void **state)
{
	(void)state;
	struct sb_buf pub = hex(KAT_PUB), sig = hex(KAT_SIG);
	struct sb_ecdsa_key *k = NULL;
	uint8_t d[SB_SHA384_LEN];
	assert_true(sb_ok(sb_sha384(SB_SLICE_LIT("header and body"), d)));

	assert_true(sb_ok(sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k)));
	assert_true(verifies(k, d, sb_buf_slice(&sig)));
	/* Re-encoding the decoded key gives the same compressed point. */
	uint8_t again[SB_P384_COMPRESSED_LEN];
	assert_true(sb_ok(sb_ecdsa_p384_compressed(k, again)));
	assert_memory_equal(again, pub.data, SB_P384_COMPRESSED_LEN);
	/* Any changed signature byte, another digest, a truncated or extended signature. */
	for (size_t i = 0; i < sig.len; i++) {
		sig.data[i] ^= 0x01;
		assert_false(verifies(k, d, sb_buf_slice(&sig)));
		sig.data[i] ^= 0x01;
	}
	d[0] ^= 1;
	assert_false(verifies(k, d, sb_buf_slice(&sig)));
	d[0] ^= 1;
	assert_false(verifies(k, d, SB_SLICE(sig.data, sig.len - 1)));
	assert_true(sb_ok(sb_buf_append_u8(&sig, 0)));
	assert_false(verifies(k, d, sb_buf_slice(&sig)));
	assert_false(verifies(k, d, SB_SLICE(NULL, 0)));
	sb_ecdsa_key_free(k);
	sb_buf_cleanup(&pub);
	sb_buf_cleanup(&sig);
}

/* The same (r, s) in non-canonical DER (a redundant leading zero) does not verify. */
static void test_non_canonical_der(void **state)
{
	(void)state;
	struct sb_buf pub = hex(KAT_PUB), sig = hex(KAT_SIG), bad = SB_BUF_INIT(256);
	struct sb_ecdsa_key *k = NULL;
	uint8_t d[SB_SHA384_LEN];
	assert_true(sb_ok(sb_sha384(SB_SLICE_LIT("header and body"), d)));
	assert_true(sb_ok(sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k)));
	/* 30 65 | 02 31 00 r... | 02 30 s...  ->  30 66 | ... | 02 31 00 s... */
	size_t s_at = 2 + 2 + 0x31;
	assert_int_equal(sig.data[s_at], 0x02);
	assert_true(sb_ok(sb_buf_append_u8(&bad, 0x30)));
	assert_true(sb_ok(sb_buf_append_u8(&bad, 0x66)));
	assert_true(sb_ok(sb_buf_append(&bad, sig.data + 2, s_at - 2)));
	assert_true(sb_ok(sb_buf_append_u8(&bad, 0x02)));
	assert_true(sb_ok(sb_buf_append_u8(&bad, 0x31)));
	assert_true(sb_ok(sb_buf_append_u8(&bad, 0x00)));
	assert_true(sb_ok(sb_buf_append(&bad, sig.data + s_at + 2, sig.len - s_at - 2)));
	assert_false(verifies(k, d, sb_buf_slice(&bad)));
	sb_ecdsa_key_free(k);
	sb_buf_cleanup(&pub);
	sb_buf_cleanup(&sig);
	sb_buf_cleanup(&bad);
}

static void test_bad_points(void **state)
{
	(void)state;
	struct sb_buf pub = hex(KAT_PUB);
	struct sb_ecdsa_key *k = NULL;

	/* Wrong length, uncompressed or hybrid prefix, x off the curve. */
	assert_int_equal(sb_ecdsa_p384_from_compressed(SB_SLICE(pub.data, 48), &k).code,
			 SB_ERR_BAD_KEY);
	pub.data[0] = 0x04;
	assert_int_equal(sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k).code,
			 SB_ERR_BAD_KEY);
	pub.data[0] = 0x06;
	assert_int_equal(sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k).code,
			 SB_ERR_BAD_KEY);
	pub.data[0] = 0x02;
	memset(pub.data + 1, 0xff, 48); /* x >= p */
	assert_int_equal(sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k).code,
			 SB_ERR_BAD_KEY);
	/* About half of all x have no point; find one among small values. */
	int refused = 0;
	for (uint8_t x = 1; x < 16; x++) {
		memset(pub.data + 1, 0, 48);
		pub.data[48] = x;
		sb_result r = sb_ecdsa_p384_from_compressed(sb_buf_slice(&pub), &k);
		if (!sb_ok(r)) {
			assert_int_equal(r.code, SB_ERR_BAD_KEY);
			refused++;
		} else {
			sb_ecdsa_key_free(k);
			k = NULL;
		}
	}
	assert_true(refused > 0);
	assert_null(k);
	sb_buf_cleanup(&pub);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct sb_ecdsa_key *priv = NULL, *pub = NULL, *p256 = NULL;
	uint8_t point[SB_P384_COMPRESSED_LEN], d[SB_SHA384_LEN] = {0x42};
	struct sb_buf sig = SB_BUF_INIT(SB_P384_DER_SIG_MAX);

	assert_true(sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &priv)));
	assert_true(sb_ok(sb_ecdsa_p384_compressed(priv, point)));
	assert_true(point[0] == 0x02 || point[0] == 0x03);
	assert_true(sb_ok(sb_ecdsa_p384_from_compressed(SB_SLICE(point, sizeof(point)), &pub)));
	assert_true(sb_ok(sb_ecdsa_sign_digest_der(priv, d, &sig)));
	assert_true(sig.len > 8 && sig.len <= SB_P384_DER_SIG_MAX && sig.data[0] == 0x30);
	assert_true(verifies(pub, d, sb_buf_slice(&sig)));
	d[1] = 1;
	assert_false(verifies(pub, d, sb_buf_slice(&sig)));
	/* A public key cannot sign; a P-256 key is refused. */
	sb_buf_reset(&sig);
	assert_false(sb_ok(sb_ecdsa_sign_digest_der(pub, d, &sig)));
	assert_true(sb_ok(sb_ecdsa_key_generate(SB_EC_CURVE_P256, &p256)));
	assert_int_equal(sb_ecdsa_p384_compressed(p256, point).code, SB_ERR_BAD_KEY);
	assert_int_equal(sb_ecdsa_sign_digest_der(p256, d, &sig).code, SB_ERR_BAD_KEY);
	sb_ecdsa_key_free(priv);
	sb_ecdsa_key_free(pub);
	sb_ecdsa_key_free(p256);
	sb_buf_cleanup(&sig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_non_canonical_der),
	    cmocka_unit_test(test_bad_points),
	    cmocka_unit_test(test_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
