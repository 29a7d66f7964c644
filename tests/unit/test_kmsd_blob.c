/* Unit tests for src/kmsd/sb_kblob: the ciphertext blob format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kmsd/sb_kblob.h"

static const uint8_t key_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
static const uint8_t key_b[32] = {9, 9, 9};
#define ID_A "0f8e3c5a-1b2d-4e6f-8a9b-0c1d2e3f4a5b"

static void context(const char *k1, const char *v1, const char *k2, const char *v2,
		    struct sb_buf *out)
{
	struct sb_kblob_pair p[2] = {{sb_slice_str(k1), sb_slice_str(v1)},
				     {sb_slice_str(k2), sb_slice_str(v2)}};
	assert_true(sb_ok(sb_kblob_context_encode(p, k1 == NULL ? 0 : (k2 == NULL ? 1 : 2), out)));
}

static void test_round_trip_and_header(void **state)
{
	struct sb_buf ctx = SB_BUF_INIT(1024), blob = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	struct sb_buf plain = SB_BUF_INIT_SECRET(4096);
	char id[SB_KBLOB_KEY_ID_LEN + 1];

	(void)state;
	context("sealbid:party", "buyer1", "sealbid:manifest", "abc", &ctx);
	assert_true(sb_ok(sb_kblob_seal(key_a, ID_A, sb_buf_slice(&ctx), SB_SLICE_LIT("100000"),
					&blob)));
	assert_int_equal(blob.len, SB_KBLOB_HEADER_LEN + 6 + 16);
	assert_int_equal(blob.data[0], SB_KBLOB_VERSION);
	assert_true(sb_ok(sb_kblob_key_id(sb_buf_slice(&blob), id)));
	assert_string_equal(id, ID_A);
	assert_true(sb_ok(sb_kblob_open(key_a, sb_buf_slice(&blob), sb_buf_slice(&ctx), &plain)));
	assert_int_equal(plain.len, 6);
	assert_memory_equal(plain.data, "100000", 6);
	/* The same context given in another order is the same canonical bytes. */
	struct sb_buf ctx2 = SB_BUF_INIT(1024);
	context("sealbid:manifest", "abc", "sealbid:party", "buyer1", &ctx2);
	assert_true(sb_slice_eq(sb_buf_slice(&ctx), sb_buf_slice(&ctx2)));
	sb_buf_cleanup(&ctx);
	sb_buf_cleanup(&ctx2);
	sb_buf_cleanup(&blob);
	sb_buf_cleanup(&plain);
}

static void test_tamper_other_key_changed_context(void **state)
{
	struct sb_buf ctx = SB_BUF_INIT(1024), other = SB_BUF_INIT(1024), none = SB_BUF_INIT(16);
	struct sb_buf blob = SB_BUF_INIT(SB_KBLOB_MAX_LEN), plain = SB_BUF_INIT_SECRET(4096);

	(void)state;
	context("party", "buyer1", NULL, NULL, &ctx);
	context("party", "buyer2", NULL, NULL, &other);
	assert_true(sb_ok(sb_kblob_seal(key_a, ID_A, sb_buf_slice(&ctx), SB_SLICE_LIT("secret"),
					&blob)));
	/* Every single-byte change anywhere in the blob is caught. */
	for (size_t i = 0; i < blob.len; i++) {
		blob.data[i] ^= 0x01;
		assert_int_equal(sb_kblob_open(key_a, sb_buf_slice(&blob), sb_buf_slice(&ctx),
					       &plain).code,
				 SB_ERR_KMS_INVALID_CIPHERTEXT);
		blob.data[i] ^= 0x01;
	}
	assert_int_equal(plain.len, 0);
	assert_int_equal(sb_kblob_open(key_b, sb_buf_slice(&blob), sb_buf_slice(&ctx), &plain).code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	assert_int_equal(sb_kblob_open(key_a, sb_buf_slice(&blob), sb_buf_slice(&other), &plain).code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	assert_int_equal(sb_kblob_open(key_a, sb_buf_slice(&blob), sb_buf_slice(&none), &plain).code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	/* Truncated, empty, wrong version. */
	assert_int_equal(sb_kblob_open(key_a, SB_SLICE(blob.data, blob.len - 1), sb_buf_slice(&ctx),
				       &plain).code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	assert_int_equal(sb_kblob_open(key_a, SB_SLICE(blob.data, 10), sb_buf_slice(&ctx), &plain)
				 .code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	assert_int_equal(sb_kblob_key_id(SB_SLICE(NULL, 0), id).code, SB_ERR_KMS_INVALID_CIPHERTEXT);
	blob.data[0] = 2;
	assert_int_equal(sb_kblob_key_id(sb_buf_slice(&blob), id).code,
			 SB_ERR_KMS_INVALID_CIPHERTEXT);
	/* Opening into a non-secret buffer is refused. */
	struct sb_buf open_buf = SB_BUF_INIT(64);
	blob.data[0] = 1;
	assert_int_equal(sb_kblob_open(key_a, sb_buf_slice(&blob), sb_buf_slice(&ctx), &open_buf)
				 .code,
			 SB_ERR_INVALID_ARG);
	sb_buf_cleanup(&ctx);
	sb_buf_cleanup(&other);
	sb_buf_cleanup(&none);
	sb_buf_cleanup(&blob);
	sb_buf_cleanup(&plain);
}

static void test_limits_and_ids(void **state)
{
	struct sb_buf blob = SB_BUF_INIT(SB_KBLOB_MAX_LEN + 100);
	static uint8_t big[SB_KBLOB_MAX_PLAINTEXT + 1];
	char id1[SB_KBLOB_KEY_ID_LEN + 1], id2[SB_KBLOB_KEY_ID_LEN + 1];
	uint8_t u[SB_KBLOB_UUID_LEN];

	(void)state;
	assert_int_equal(sb_kblob_seal(key_a, ID_A, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), &blob).code,
			 SB_ERR_KMS_VALIDATION);
	assert_int_equal(sb_kblob_seal(key_a, ID_A, SB_SLICE(NULL, 0), SB_SLICE(big, sizeof(big)),
				       &blob).code,
			 SB_ERR_KMS_VALIDATION);
	assert_true(sb_ok(sb_kblob_seal(key_a, ID_A, SB_SLICE(NULL, 0),
					SB_SLICE(big, SB_KBLOB_MAX_PLAINTEXT), &blob)));
	assert_int_equal(blob.len, SB_KBLOB_MAX_LEN);
	assert_int_equal(sb_kblob_seal(key_a, "not-a-key-id", SB_SLICE(NULL, 0), SB_SLICE_LIT("x"),
				       &blob).code,
			 SB_ERR_KMS_NOT_FOUND);
	assert_true(sb_ok(sb_kblob_key_id_new(id1)));
	assert_true(sb_ok(sb_kblob_key_id_new(id2)));
	assert_string_not_equal(id1, id2);
	assert_int_equal(id1[14], '4'); /* version 4 */
	assert_true(sb_ok(sb_kblob_key_id_parse(id1, u)));
	assert_int_equal(sb_kblob_key_id_parse("0F8E3C5A-1B2D-4E6F-8A9B-0C1D2E3F4A5B", u).code,
			 SB_ERR_KMS_NOT_FOUND);
	assert_int_equal(sb_kblob_key_id_parse("0f8e3c5a11b2d-4e6f-8a9b-0c1d2e3f4a5b", u).code,
			 SB_ERR_KMS_NOT_FOUND);
	/* Duplicate context keys are refused. */
	struct sb_kblob_pair dup[2] = {{SB_SLICE_LIT("a"), SB_SLICE_LIT("1")},
				       {SB_SLICE_LIT("a"), SB_SLICE_LIT("2")}};
	struct sb_buf ctx = SB_BUF_INIT(64);
	assert_int_equal(sb_kblob_context_encode(dup, 2, &ctx).code, SB_ERR_KMS_VALIDATION);
	sb_buf_cleanup(&ctx);
	sb_buf_cleanup(&blob);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_header),
		cmocka_unit_test(test_tamper_other_key_changed_context),
		cmocka_unit_test(test_limits_and_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
