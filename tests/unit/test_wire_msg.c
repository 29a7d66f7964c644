/* Unit tests for src/wire/sb_msg: the type table and the Hello / Error / Ping payloads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "wire/sb_msg.h"

/* Type numbers are part of the protocol: a change here breaks deployed peers. */
static void test_type_numbers_are_fixed(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const char *name;
	} table[] = {
		{1, "Hello"}, {2, "Ping"}, {3, "Pong"}, {4, "Error"}, {5, "SetCredentials"},
		{6, "BeginJob"}, {7, "Input"}, {8, "EndInputs"}, {9, "Result"},
		{10, "Attest"}, {11, "ResultPart"}, {12, "NeedCredentials"},
	};
	assert_int_equal(SB_MSG_HELLO, 1);
	assert_int_equal(SB_MSG_RESULT, 9);
	assert_int_equal(SB_MSG_ATTEST, 10);
	assert_int_equal(SB_MSG_RESULT_PART, 11);
	assert_int_equal(SB_MSG_NEED_CREDENTIALS, 12);
	/* Only ResultPart and NeedCredentials leave their request in flight. */
	for (uint16_t t = 0; t < 64; t++)
		assert_int_equal(sb_msg_is_partial(t),
				 t == SB_MSG_RESULT_PART || t == SB_MSG_NEED_CREDENTIALS);
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const struct sb_msg_info *info = sb_msg_info(table[i].type);
		assert_non_null(info);
		assert_int_equal(info->type, table[i].type);
		assert_string_equal(info->name, table[i].name);
		assert_string_equal(sb_msg_name(table[i].type), table[i].name);
	}
	static const uint16_t unknown[] = {0, 13, 0x7fff, 0x8000, 0xffff};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_null(sb_msg_info(unknown[i]));
		assert_string_equal(sb_msg_name(unknown[i]), "unknown");
	}
}

static void test_state_rules(void **state)
{
	(void)state;
	/* Before the handshake only Hello (and an Error) may come. */
	assert_int_equal(sb_msg_info(SB_MSG_HELLO)->states, SB_WIRE_STATE_HELLO);
	assert_int_equal(sb_msg_info(SB_MSG_PING)->states & SB_WIRE_STATE_HELLO, 0);
	assert_int_equal(sb_msg_info(SB_MSG_BEGIN_JOB)->states, SB_WIRE_STATE_CREDENTIALS);
	assert_int_equal(sb_msg_info(SB_MSG_INPUT)->states, SB_WIRE_STATE_JOB);
	assert_int_equal(sb_msg_info(SB_MSG_END_INPUTS)->states, SB_WIRE_STATE_JOB);
	/* Responses only: never accepted as a request. */
	assert_int_equal(sb_msg_info(SB_MSG_PONG)->states, 0);
	assert_int_equal(sb_msg_info(SB_MSG_RESULT)->states, 0);
	assert_int_equal(sb_msg_info(SB_MSG_RESULT)->dir, SB_MSG_DIR_ENCLAVE);
}

static void test_hello_roundtrip(void **state)
{
	(void)state;
	static const uint16_t v[] = {1, 2, 0x1234};
	struct sb_msg_hello h, back;
	struct sb_buf b = SB_BUF_INIT(64);
	static const uint8_t want[] = {1, 3, 0, 1, 0, 2, 0x12, 0x34};

	assert_true(sb_ok(sb_msg_hello_init(&h, SB_WIRE_ROLE_PARENT, v, 3)));
	assert_true(sb_ok(sb_msg_hello_append(&b, &h)));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_true(sb_ok(sb_msg_hello_parse(sb_buf_slice(&b), &back)));
	assert_int_equal(back.role, SB_WIRE_ROLE_PARENT);
	assert_int_equal(back.count, 3);
	assert_int_equal(back.versions[2], 0x1234);
	sb_buf_cleanup(&b);
}

static void test_hello_parse_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint8_t bytes[40];
		size_t len;
		int code;
	} cases[] = {
		{"one version", {2, 1, 0, 1}, 4, SB_OK},
		{"sixteen versions",
		 {1, 16, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8,
		  0, 9, 0, 10, 0, 11, 0, 12, 0, 13, 0, 14, 0, 15, 0, 16},
		 34, SB_OK},
		{"empty", {0}, 0, SB_ERR_TRUNCATED},
		{"role only", {1}, 1, SB_ERR_TRUNCATED},
		{"role 0", {0, 1, 0, 1}, 4, SB_ERR_WIRE_BAD_ROLE},
		{"role 3", {3, 1, 0, 1}, 4, SB_ERR_WIRE_BAD_ROLE},
		{"no versions", {1, 0}, 2, SB_ERR_BAD_FRAME},
		{"seventeen versions", {1, 17}, 2, SB_ERR_BAD_FRAME},
		{"count past the data", {1, 2, 0, 1}, 4, SB_ERR_TRUNCATED},
		{"half a version", {1, 1, 0}, 3, SB_ERR_TRUNCATED},
		{"trailing byte", {1, 1, 0, 1, 0}, 5, SB_ERR_TRAILING},
		{"version 0", {1, 1, 0, 0}, 4, SB_ERR_BAD_FRAME},
		{"duplicate", {1, 2, 0, 1, 0, 1}, 6, SB_ERR_BAD_FRAME},
		{"descending", {1, 2, 0, 2, 0, 1}, 6, SB_ERR_BAD_FRAME},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_msg_hello h;
		sb_result r = sb_msg_hello_parse(SB_SLICE(cases[i].bytes, cases[i].len), &h);
		if (r.code != cases[i].code)
			fail_msg("%s: got %s", cases[i].name, sb_error_name(r.code));
	}
}

static void test_hello_init_and_choose(void **state)
{
	(void)state;
	static const uint16_t a[] = {1, 2, 3}, b[] = {2, 3, 5}, c[] = {4}, bad[] = {2, 2};
	static const uint16_t many[17] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17};
	struct sb_msg_hello ha, hb, hc;
	uint16_t v = 0;

	assert_true(sb_ok(sb_msg_hello_init(&ha, SB_WIRE_ROLE_PARENT, a, 3)));
	assert_true(sb_ok(sb_msg_hello_init(&hb, SB_WIRE_ROLE_ENCLAVE, b, 3)));
	assert_true(sb_ok(sb_msg_hello_init(&hc, SB_WIRE_ROLE_ENCLAVE, c, 1)));
	assert_true(sb_ok(sb_msg_hello_choose(&ha, &hb, &v)));
	assert_int_equal(v, 3); /* the highest shared version */
	assert_true(sb_ok(sb_msg_hello_choose(&hb, &ha, &v)));
	assert_int_equal(v, 3);
	assert_int_equal(sb_msg_hello_choose(&ha, &hc, &v).code, SB_ERR_WIRE_NO_VERSION);
	assert_int_equal(sb_msg_hello_init(&hc, SB_WIRE_ROLE_PARENT, bad, 2).code, SB_ERR_BAD_FRAME);
	assert_int_equal(sb_msg_hello_init(&hc, SB_WIRE_ROLE_PARENT, a, 0).code, SB_ERR_BAD_FRAME);
	assert_int_equal(sb_msg_hello_init(&hc, SB_WIRE_ROLE_PARENT, many, 17).code,
			 SB_ERR_BAD_FRAME);
	assert_int_equal(sb_msg_hello_init(&hc, (enum sb_wire_role)9, a, 1).code,
			 SB_ERR_WIRE_BAD_ROLE);
	assert_int_equal(sb_msg_hello_init(&hc, SB_WIRE_ROLE_PARENT, NULL, 1).code, SB_ERR_NULL);
}

static void test_error_roundtrip(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(512);
	struct sb_msg_error e;
	static const uint8_t want[] = {0, 0, 0x07, 0xd5, 0, 2, 'n', 'o'};

	assert_true(sb_ok(sb_msg_error_append(&b, 2005, "no")));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	assert_true(sb_ok(sb_msg_error_parse(sb_buf_slice(&b), &e)));
	assert_int_equal(e.code, 2005);
	assert_string_equal(e.message, "no");

	/* NULL message: empty text. */
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_msg_error_append(&b, 1, NULL)));
	assert_true(sb_ok(sb_msg_error_parse(sb_buf_slice(&b), &e)));
	assert_string_equal(e.message, "");
	sb_buf_cleanup(&b);
}

/* Any description can be sent: it is cut to the bound and made printable. */
static void test_error_append_sanitizes(void **state)
{
	(void)state;
	char long_text[400];
	struct sb_buf b = SB_BUF_INIT(512);
	struct sb_msg_error e;

	memset(long_text, 'x', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	assert_true(sb_ok(sb_msg_error_append(&b, 3, long_text)));
	assert_true(sb_ok(sb_msg_error_parse(sb_buf_slice(&b), &e)));
	assert_int_equal(strlen(e.message), SB_MSG_ERROR_MAX_TEXT);
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_msg_error_append(&b, 3, "a\nb\x1b[31m\xff")));
	assert_true(sb_ok(sb_msg_error_parse(sb_buf_slice(&b), &e)));
	assert_string_equal(e.message, "a?b?[31m?");
	sb_buf_cleanup(&b);
}

static void test_error_parse_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint8_t bytes[16];
		size_t len;
		int code;
	} cases[] = {
		{"valid", {0, 0, 0, 1, 0, 2, 'o', 'k'}, 8, SB_OK},
		{"empty text", {0, 0, 0, 1, 0, 0}, 6, SB_OK},
		{"empty", {0}, 0, SB_ERR_TRUNCATED},
		{"code cut", {0, 0, 0}, 3, SB_ERR_TRUNCATED},
		{"length cut", {0, 0, 0, 1, 0}, 5, SB_ERR_TRUNCATED},
		{"text cut", {0, 0, 0, 1, 0, 3, 'o', 'k'}, 8, SB_ERR_TRUNCATED},
		{"trailing byte", {0, 0, 0, 1, 0, 1, 'o', 'k'}, 8, SB_ERR_TRAILING},
		{"length over the bound", {0, 0, 0, 1, 0, 201}, 6, SB_ERR_BAD_FRAME},
		{"newline", {0, 0, 0, 1, 0, 2, 'o', '\n'}, 8, SB_ERR_BAD_FRAME},
		{"NUL", {0, 0, 0, 1, 0, 2, 0, 'k'}, 8, SB_ERR_BAD_FRAME},
		{"high byte", {0, 0, 0, 1, 0, 1, 0xc3}, 7, SB_ERR_BAD_FRAME},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_msg_error e;
		sb_result r = sb_msg_error_parse(SB_SLICE(cases[i].bytes, cases[i].len), &e);
		if (r.code != cases[i].code)
			fail_msg("%s: got %s", cases[i].name, sb_error_name(r.code));
	}
}

static void test_ping_bound(void **state)
{
	(void)state;
	static const uint8_t byte = 0;
	assert_true(sb_ok(sb_msg_ping_check(SB_SLICE(&byte, 0))));
	assert_true(sb_ok(sb_msg_ping_check(SB_SLICE(&byte, SB_MSG_PING_MAX_PAYLOAD))));
	assert_int_equal(sb_msg_ping_check(SB_SLICE(&byte, SB_MSG_PING_MAX_PAYLOAD + 1)).code,
			 SB_ERR_WIRE_OVERSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_numbers_are_fixed),
		cmocka_unit_test(test_state_rules),
		cmocka_unit_test(test_hello_roundtrip),
		cmocka_unit_test(test_hello_parse_vectors),
		cmocka_unit_test(test_hello_init_and_choose),
		cmocka_unit_test(test_error_roundtrip),
		cmocka_unit_test(test_error_append_sanitizes),
		cmocka_unit_test(test_error_parse_vectors),
		cmocka_unit_test(test_ping_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
