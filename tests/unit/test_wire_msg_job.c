/* Unit tests for the job message payloads (src/wire/sb_msg_job). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/sb_msg_job.h"

static void test_creds_round_trip_and_secrecy(void **state)
{
	(void)state;
	struct sb_msg_creds c, d;
	struct sb_buf wire = SB_BUF_INIT(1 << 16);
	sb_msg_creds_init(&c);
	sb_msg_creds_init(&d);
	assert_true(d.secret_access_key.secret && d.session_token.secret);
	assert_true(sb_ok(sb_buf_append_str(&c.access_key_id, "AKIDEXAMPLE")));
	assert_true(sb_ok(sb_buf_append_str(&c.secret_access_key, "wJalrXUtnFEMI")));
	c.expiration_ms = 1700000000000ull;
	assert_true(sb_ok(sb_msg_creds_append(&wire, &c)));
	assert_true(sb_ok(sb_msg_creds_parse(sb_buf_slice(&wire), &d)));
	assert_string_equal(sb_buf_cstr(&d.access_key_id), "AKIDEXAMPLE");
	assert_string_equal(sb_buf_cstr(&d.secret_access_key), "wJalrXUtnFEMI");
	assert_int_equal(d.session_token.len, 0);
	assert_true(d.expiration_ms == 1700000000000ull);
	/* Every truncation fails; a trailing byte fails. */
	for (size_t n = 0; n < wire.len; n++)
		assert_false(sb_ok(sb_msg_creds_parse(SB_SLICE(wire.data, n), &d)));
	assert_true(sb_ok(sb_buf_append_u8(&wire, 0)));
	assert_int_equal(sb_msg_creds_parse(sb_buf_slice(&wire), &d).code, SB_ERR_TRAILING);
	/* An empty secret is refused. */
	static const uint8_t empty_secret[] = {0, 1, 'A', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_int_equal(sb_msg_creds_parse(SB_SLICE(empty_secret, sizeof(empty_secret)), &d).code,
			 SB_ERR_BAD_FRAME);
	sb_msg_creds_cleanup(&c);
	sb_msg_creds_cleanup(&d);
	sb_buf_cleanup(&wire);
}

static void test_input_round_trip_and_rejects(void **state)
{
	(void)state;
	struct sb_buf wire = SB_BUF_INIT(1 << 21);
	struct sb_msg_input in;
	assert_true(sb_ok(sb_msg_input_append(&wire, "Buyer1", 7, true, sb_slice_str("1,AQID\n"))));
	assert_true(sb_ok(sb_msg_input_parse(sb_buf_slice(&wire), &in)));
	assert_true(sb_slice_eq_str(in.party, "Buyer1"));
	assert_int_equal(in.seq, 7);
	assert_true(in.last);
	assert_true(sb_slice_eq_str(in.chunk, "1,AQID\n"));
	for (size_t n = 0; n < 12; n++)
		assert_false(sb_ok(sb_msg_input_parse(SB_SLICE(wire.data, n), &in)));
	wire.data[1 + 6 + 4] = 0x80; /* unknown flag */
	assert_int_equal(sb_msg_input_parse(sb_buf_slice(&wire), &in).code, SB_ERR_BAD_FRAME);
	wire.data[0] = 0; /* empty party name */
	assert_int_equal(sb_msg_input_parse(sb_buf_slice(&wire), &in).code, SB_ERR_BAD_FRAME);
	assert_int_equal(sb_msg_input_append(&wire, "", 0, false, sb_slice_str("x")).code,
			 SB_ERR_INVALID_ARG);
	sb_buf_cleanup(&wire);
}

static void test_result_round_trip(void **state)
{
	(void)state;
	struct sb_buf wire = SB_BUF_INIT(1 << 16);
	struct sb_slice out, rec;
	assert_true(sb_ok(sb_msg_result_append(&wire, sb_slice_str("Property,Result\n"),
					       sb_slice_str("{}"))));
	assert_true(sb_ok(sb_msg_result_parse(sb_buf_slice(&wire), &out, &rec)));
	assert_true(sb_slice_eq_str(out, "Property,Result\n"));
	assert_true(sb_slice_eq_str(rec, "{}"));
	for (size_t n = 0; n < wire.len; n++)
		assert_false(sb_ok(sb_msg_result_parse(SB_SLICE(wire.data, n), &out, &rec)));
	wire.data[3] = 0xff; /* output length past the end */
	assert_int_equal(sb_msg_result_parse(sb_buf_slice(&wire), &out, &rec).code, SB_ERR_TRUNCATED);
	sb_buf_cleanup(&wire);
}

static void test_need_creds_round_trip_and_rejects(void **state)
{
	(void)state;
	struct sb_buf wire = SB_BUF_INIT(64);
	static const uint8_t want[8] = {0x00, 0x00, 0x01, 0x8f, 0x0e, 0x45, 0x60, 0x10};
	uint64_t exp = 0;

	assert_true(sb_ok(sb_msg_need_creds_append(&wire, 0x0000018f0e456010ull)));
	assert_int_equal(wire.len, SB_MSG_NEED_CREDENTIALS_LEN);
	assert_memory_equal(wire.data, want, sizeof(want)); /* big-endian */
	assert_true(sb_ok(sb_msg_need_creds_parse(sb_buf_slice(&wire), &exp)));
	assert_true(exp == 0x0000018f0e456010ull);
	for (size_t n = 0; n < wire.len; n++)
		assert_int_equal(sb_msg_need_creds_parse(SB_SLICE(wire.data, n), &exp).code,
				 SB_ERR_BAD_FRAME);
	assert_true(sb_ok(sb_buf_append_u8(&wire, 0)));
	assert_int_equal(sb_msg_need_creds_parse(sb_buf_slice(&wire), &exp).code, SB_ERR_BAD_FRAME);
	assert_int_equal(sb_msg_need_creds_parse(sb_buf_slice(&wire), NULL).code, SB_ERR_NULL);
	assert_int_equal(sb_msg_need_creds_append(NULL, 1).code, SB_ERR_NULL);
	sb_buf_cleanup(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_creds_round_trip_and_secrecy),
		cmocka_unit_test(test_input_round_trip_and_rejects),
		cmocka_unit_test(test_result_round_trip),
		cmocka_unit_test(test_need_creds_round_trip_and_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
