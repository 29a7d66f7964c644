/*
 * Unit tests for src/crypto/sb_hkdf (HKDF-SHA512) and sb_gcm (AES-256-GCM
 * with a reusable context). Vectors were computed independently with
 * Python: HKDF from hmac/hashlib by RFC 5869's definition, GCM with
 * pyca/cryptography's AESGCM; the inputs are the AWS Encryption SDK's
 * (32-byte message id as salt, suite id || "DERIVEKEY", "COMMITKEY").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_buf.h"
#include "common/sb_encoding.h"
#include "crypto/sb_aead.h"
#include "crypto/sb_gcm.h"
#include "crypto/sb_hkdf.h"

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

/* bytes start, start+1, ... */
static void ramp(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* ---- HKDF-SHA512 --------------------------------------------------------- */

static void test_hkdf_vectors(void **state)
{
	(void)state;
	uint8_t ikm[32], salt[32], out[100];
	ramp(ikm, sizeof(ikm), 0);
	ramp(salt, sizeof(salt), 0x40);

	assert_true(sb_ok(sb_hkdf_sha512(SB_SLICE(salt, 32), SB_SLICE(ikm, 32),
					 SB_SLICE_LIT("\x04\x78" "DERIVEKEY"), out, 32)));
	assert_hex_equal(out, 32, "d74e333c806138f8d6920e0bba0d3d03babaf903bd68b68f7c3ca48365622a41");
	assert_true(sb_ok(sb_hkdf_sha512(SB_SLICE(salt, 32), SB_SLICE(ikm, 32),
					 SB_SLICE_LIT("COMMITKEY"), out, 32)));
	assert_hex_equal(out, 32, "4fc8f3b078da9a1778fd776cf39f21e62e3c512006129bc6f16a06f8ccdead3a");
	/* No salt (HashLen zeros), no info, more than one block of output. */
	assert_true(sb_ok(sb_hkdf_sha512(SB_SLICE(NULL, 0), SB_SLICE(ikm, 32), SB_SLICE(NULL, 0),
					 out, 100)));
	assert_hex_equal(out, 100,
			 "f5def084b086c3aea7c1ea1693f66dc54d414765f65467e0ff0bf1e7fed491c96bc7e892"
			 "1b5df55ed1dc990afc0bf8cd0ea225ad5aa2aebde9184b30b2c9b546479fd14b3df278ff"
			 "b785d8ca52305b1fef1c2f5708b0c6742b069211e7a9e93159b4377a");
}

static void test_hkdf_limits(void **state)
{
	(void)state;
	uint8_t ikm[32] = {1}, out[64];

	assert_int_equal(sb_hkdf_sha512(SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
					out, 32).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_hkdf_sha512(SB_SLICE(NULL, 0), SB_SLICE(ikm, 32), SB_SLICE(NULL, 0),
					out, 0).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_hkdf_sha512(SB_SLICE(NULL, 0), SB_SLICE(ikm, 32), SB_SLICE(NULL, 0),
					out, SB_HKDF_SHA512_MAX_OUT + 1).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_hkdf_sha512(SB_SLICE(NULL, 0), SB_SLICE(ikm, 32), SB_SLICE(NULL, 0),
					NULL, 32).code, SB_ERR_NULL);
}

/* ---- AES-256-GCM, reusable context -------------------------------------- */

#define GCM_CT                                                                                     \
	"80251e4570425ac9af102a4008308fc099e286a61ac2a4dba030a6de981e1d56ee7c27a7984c562edca4ed2f40" \
	"83b034e8c1fd9d97184f8ccdd294944c2052502b87"
#define GCM_TAG "a3361d82e8d5e87e1d5c0ae0ad5b8cb5"
static const char gcm_pt[] = "sealed bids, frame onesealed bids, frame onesealed bids, frame one";

static void gcm_key(uint8_t key[32], uint8_t iv[12])
{
	ramp(key, 32, 0x80);
	ramp(iv, 12, 0);
}

static void test_gcm_seal_vector(void **state)
{
	(void)state;
	uint8_t key[32], iv[12], out[sizeof(gcm_pt)], tag[16];
	struct sb_gcm g;
	gcm_key(key, iv);

	assert_true(sb_ok(sb_gcm_init(&g, key, true)));
	/* Twice on one context: the second call must not depend on the first. */
	for (int round = 0; round < 2; round++) {
		assert_true(sb_ok(sb_gcm_seal(&g, iv, SB_SLICE_LIT("header aad"),
					      SB_SLICE(gcm_pt, sizeof(gcm_pt) - 1), out, tag)));
		assert_hex_equal(out, sizeof(gcm_pt) - 1, GCM_CT);
		assert_hex_equal(tag, 16, GCM_TAG);
	}
	/* Empty plaintext: the AWS Encryption SDK's header authentication tag. */
	uint8_t zero_iv[12] = {0};
	assert_true(sb_ok(sb_gcm_seal(&g, zero_iv, SB_SLICE_LIT("header aad"), SB_SLICE(NULL, 0),
				      NULL, tag)));
	assert_hex_equal(tag, 16, "b841b07fc7e251998657acb58d696e40");
	/* A sealing context does not open. */
	assert_int_equal(sb_gcm_open(&g, iv, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), tag, NULL).code,
			 SB_ERR_INVALID_ARG);
	sb_gcm_cleanup(&g);
	sb_gcm_cleanup(&g); /* idempotent */
}

static void test_gcm_open_and_tamper(void **state)
{
	(void)state;
	uint8_t key[32], iv[12], out[sizeof(gcm_pt)];
	struct sb_buf ct = hex(GCM_CT), tag = hex(GCM_TAG);
	struct sb_gcm g;
	gcm_key(key, iv);
	assert_true(sb_ok(sb_gcm_init(&g, key, false)));

	assert_true(sb_ok(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aad"), sb_buf_slice(&ct),
				      tag.data, out)));
	assert_memory_equal(out, gcm_pt, ct.len);
	/* Wrong AAD, flipped ciphertext bit, wrong IV, wrong tag: each refused, out wiped. */
	assert_int_equal(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aaD"), sb_buf_slice(&ct),
				     tag.data, out).code, SB_ERR_DECRYPT);
	for (size_t i = 0; i < ct.len; i++)
		assert_int_equal(out[i], 0);
	ct.data[5] ^= 1;
	assert_int_equal(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aad"), sb_buf_slice(&ct),
				     tag.data, out).code, SB_ERR_DECRYPT);
	ct.data[5] ^= 1;
	iv[11] ^= 1;
	assert_int_equal(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aad"), sb_buf_slice(&ct),
				     tag.data, out).code, SB_ERR_DECRYPT);
	iv[11] ^= 1;
	tag.data[15] ^= 0x80;
	assert_int_equal(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aad"), sb_buf_slice(&ct),
				     tag.data, out).code, SB_ERR_DECRYPT);
	tag.data[15] ^= 0x80;
	/* And the context still opens the genuine message afterwards. */
	assert_true(sb_ok(sb_gcm_open(&g, iv, SB_SLICE_LIT("header aad"), sb_buf_slice(&ct),
				      tag.data, out)));
	assert_memory_equal(out, gcm_pt, ct.len);
	sb_gcm_cleanup(&g);
	sb_buf_cleanup(&ct);
	sb_buf_cleanup(&tag);
}

/* Agrees with the one-shot sb_aead form on a larger input, in place. */
static void test_gcm_matches_aead(void **state)
{
	(void)state;
	enum { N = 200000 };
	uint8_t key[32], iv[12], tag[16];
	static uint8_t buf[N];
	struct sb_buf ref = SB_BUF_INIT(N + 16);
	struct sb_gcm g;
	gcm_key(key, iv);
	for (size_t i = 0; i < N; i++)
		buf[i] = (uint8_t)(i * 7);

	assert_true(sb_ok(sb_aes256gcm_seal(key, iv, SB_SLICE_LIT("a"), SB_SLICE(buf, N), &ref)));
	assert_true(sb_ok(sb_gcm_init(&g, key, true)));
	assert_true(sb_ok(sb_gcm_seal(&g, iv, SB_SLICE_LIT("a"), SB_SLICE(buf, N), buf, tag)));
	sb_gcm_cleanup(&g);
	assert_memory_equal(buf, ref.data, N);
	assert_memory_equal(tag, ref.data + N, 16);
	sb_buf_cleanup(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hkdf_vectors),
	    cmocka_unit_test(test_hkdf_limits),
	    cmocka_unit_test(test_gcm_seal_vector),
	    cmocka_unit_test(test_gcm_open_and_tamper),
	    cmocka_unit_test(test_gcm_matches_aead),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
