/* Unit tests for src/wire/sb_frame: header codec, whole-frame parser, stream decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wire/sb_frame.h"

/* A header from its fields, big-endian, as a peer would send it. */
static void put_header(uint8_t h[SB_FRAME_HEADER_LEN], uint32_t magic, uint8_t version,
		       uint8_t flags, uint16_t type, uint32_t length, uint32_t id)
{
	struct sb_writer w;
	sb_writer_init(&w, h, SB_FRAME_HEADER_LEN);
	assert_true(sb_ok(sb_writer_be32(&w, magic)));
	assert_true(sb_ok(sb_writer_u8(&w, version)));
	assert_true(sb_ok(sb_writer_u8(&w, flags)));
	assert_true(sb_ok(sb_writer_be16(&w, type)));
	assert_true(sb_ok(sb_writer_be32(&w, length)));
	assert_true(sb_ok(sb_writer_be32(&w, id)));
}

static void test_frame_layout_is_big_endian(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(64);
	static const uint8_t want[] = {'S', 'B', 'I', 'D', 1, 1, 0x01, 0x02, 0, 0, 0, 3,
				       0xde, 0xad, 0xbe, 0xef, 'a', 'b', 'c'};
	assert_true(sb_ok(sb_frame_append(&b, 0x0102, SB_FRAME_FLAG_RESPONSE, 0xdeadbeefu,
					  SB_SLICE_LIT("abc"))));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	sb_buf_cleanup(&b);
}

static void test_frame_roundtrip(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		uint8_t flags;
		uint32_t id;
		size_t len;
	} cases[] = {
		{1, 0, 1, 0}, {2, SB_FRAME_FLAG_RESPONSE, 0xffffffffu, 1}, {0xffff, 0, 0, 1000},
		{9, SB_FRAME_FLAG_RESPONSE, 77, 65536},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_buf b = SB_BUF_INIT(1 << 20);
		uint8_t *p = malloc(cases[i].len + 1);
		struct sb_frame f;
		assert_non_null(p);
		for (size_t j = 0; j < cases[i].len; j++)
			p[j] = (uint8_t)(j * 13 + i);
		assert_true(sb_ok(sb_frame_append(&b, cases[i].type, cases[i].flags, cases[i].id,
						  SB_SLICE(p, cases[i].len))));
		assert_true(sb_ok(sb_frame_parse(sb_buf_slice(&b), 0, &f)));
		assert_int_equal(f.type, cases[i].type);
		assert_int_equal(f.flags, cases[i].flags);
		assert_int_equal(f.id, cases[i].id);
		assert_int_equal(f.payload.len, cases[i].len);
		if (cases[i].len > 0)
			assert_memory_equal(f.payload.ptr, p, cases[i].len);
		free(p);
		sb_buf_cleanup(&b);
	}
}

static void test_header_vectors(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint32_t magic;
		uint8_t version, flags;
		uint32_t length;
		size_t max;
		int code;
	} cases[] = {
		{"valid", SB_FRAME_MAGIC, 1, 0, 5, 0, SB_OK},
		{"valid at the maximum", SB_FRAME_MAGIC, 1, 1, SB_FRAME_MAX_PAYLOAD, 0, SB_OK},
		{"wrong magic", 0x53424945u, 1, 0, 0, 0, SB_ERR_WIRE_BAD_MAGIC},
		{"byte-swapped magic", 0x44494253u, 1, 0, 0, 0, SB_ERR_WIRE_BAD_MAGIC},
		{"version 0", SB_FRAME_MAGIC, 0, 0, 0, 0, SB_ERR_WIRE_BAD_VERSION},
		{"version 2", SB_FRAME_MAGIC, 2, 0, 0, 0, SB_ERR_WIRE_BAD_VERSION},
		{"unknown flag 0x02", SB_FRAME_MAGIC, 1, 0x02, 0, 0, SB_ERR_WIRE_BAD_FLAGS},
		{"unknown flag 0x80", SB_FRAME_MAGIC, 1, 0x81, 0, 0, SB_ERR_WIRE_BAD_FLAGS},
		{"one past the maximum", SB_FRAME_MAGIC, 1, 0, SB_FRAME_MAX_PAYLOAD + 1, 0,
		 SB_ERR_WIRE_OVERSIZE},
		{"4 GiB", SB_FRAME_MAGIC, 1, 0, 0xffffffffu, 0, SB_ERR_WIRE_OVERSIZE},
		{"past a smaller maximum", SB_FRAME_MAGIC, 1, 0, 101, 100, SB_ERR_WIRE_OVERSIZE},
		{"a larger maximum is capped", SB_FRAME_MAGIC, 1, 0, SB_FRAME_MAX_PAYLOAD + 1,
		 (size_t)SB_FRAME_MAX_PAYLOAD * 4, SB_ERR_WIRE_OVERSIZE},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[SB_FRAME_HEADER_LEN];
		struct sb_frame_header out;
		put_header(h, cases[i].magic, cases[i].version, cases[i].flags, 7, cases[i].length,
			   42);
		sb_result r = sb_frame_header_parse(SB_SLICE(h, sizeof(h)), cases[i].max, &out);
		if (r.code != cases[i].code)
			fail_msg("%s: got %s", cases[i].name, sb_error_name(r.code));
		if (cases[i].code == SB_OK) {
			assert_int_equal(out.length, cases[i].length);
			assert_int_equal(out.type, 7);
			assert_int_equal(out.id, 42);
		}
	}
}

static void test_header_size_is_exact(void **state)
{
	(void)state;
	uint8_t h[SB_FRAME_HEADER_LEN + 1] = {0};
	struct sb_frame_header out;
	put_header(h, SB_FRAME_MAGIC, 1, 0, 1, 0, 1);
	assert_int_equal(sb_frame_header_parse(SB_SLICE(h, 15), 0, &out).code, SB_ERR_TRUNCATED);
	assert_int_equal(sb_frame_header_parse(SB_SLICE(h, 0), 0, &out).code, SB_ERR_TRUNCATED);
	assert_int_equal(sb_frame_header_parse(SB_SLICE(h, 17), 0, &out).code, SB_ERR_TRAILING);
	assert_int_equal(sb_frame_header_parse(SB_SLICE(h, 16), 0, NULL).code, SB_ERR_NULL);
}

static void test_frame_parse_rejects_truncation_and_trailing(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(64);
	struct sb_frame f;
	assert_true(sb_ok(sb_frame_append(&b, 2, 0, 5, SB_SLICE_LIT("hello"))));
	/* Every strict prefix is truncated: header first, then payload. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(sb_frame_parse(SB_SLICE(b.data, n), 0, &f).code, SB_ERR_TRUNCATED);
	assert_true(sb_ok(sb_buf_append_u8(&b, 0)));
	assert_int_equal(sb_frame_parse(sb_buf_slice(&b), 0, &f).code, SB_ERR_TRAILING);
	sb_buf_cleanup(&b);
}

static void test_frame_append_refuses(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(20);
	static const uint8_t byte = 0;
	/* The length is checked before the payload is touched. */
	assert_int_equal(
		sb_frame_append(&b, 1, 0, 1, SB_SLICE(&byte, (size_t)SB_FRAME_MAX_PAYLOAD + 1)).code,
		SB_ERR_WIRE_OVERSIZE);
	assert_int_equal(sb_frame_append(&b, 1, 0x40, 1, SB_SLICE_LIT("")).code,
			 SB_ERR_WIRE_BAD_FLAGS);
	assert_true(sb_ok(sb_frame_append(&b, 1, 0, 1, SB_SLICE_LIT("abcd"))));
	/* No room for a second frame: the buffer is left as it was. */
	assert_int_equal(sb_frame_append(&b, 1, 0, 2, SB_SLICE_LIT("")).code, SB_ERR_TOO_LARGE);
	assert_int_equal(b.len, 20);
	assert_int_equal(sb_frame_append(NULL, 1, 0, 1, SB_SLICE_LIT("")).code, SB_ERR_NULL);
	sb_buf_cleanup(&b);
}

/* Three frames fed one byte at a time come out whole and in order. */
static void test_decoder_byte_by_byte(void **state)
{
	(void)state;
	struct sb_buf stream = SB_BUF_INIT(1024);
	struct sb_frame_decoder d;
	static const char *payloads[] = {"", "x", "a longer payload"};
	size_t got = 0;

	for (uint32_t i = 0; i < 3; i++)
		assert_true(sb_ok(sb_frame_append(&stream, (uint16_t)(i + 1), 0, i + 100,
						  sb_slice_str(payloads[i]))));
	sb_frame_decoder_init(&d, 0);
	for (size_t off = 0; off < stream.len; off++) {
		struct sb_frame f;
		bool have;
		assert_true(sb_ok(sb_frame_decoder_feed(&d, stream.data + off, 1)));
		assert_true(sb_ok(sb_frame_decoder_next(&d, &f, &have)));
		if (!have)
			continue;
		assert_int_equal(f.type, got + 1);
		assert_int_equal(f.id, got + 100);
		assert_true(sb_slice_eq_str(f.payload, payloads[got]));
		got++;
	}
	assert_int_equal(got, 3);
	assert_int_equal(sb_frame_decoder_pending(&d), 0);
	assert_true(sb_ok(sb_frame_decoder_finish(&d)));
	sb_frame_decoder_cleanup(&d);
	sb_buf_cleanup(&stream);
}

/* Many frames in one feed: all taken with no further input. */
static void test_decoder_many_in_one_read(void **state)
{
	(void)state;
	struct sb_buf stream = SB_BUF_INIT(1 << 20);
	struct sb_frame_decoder d;
	struct sb_frame f;
	bool have;
	uint32_t n = 0;

	for (uint32_t i = 1; i <= 500; i++)
		assert_true(sb_ok(sb_frame_append(&stream, 2, 0, i, SB_SLICE(&i, sizeof(i)))));
	sb_frame_decoder_init(&d, 0);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, stream.data, stream.len)));
	while (sb_ok(sb_frame_decoder_next(&d, &f, &have)) && have) {
		uint32_t v;
		memcpy(&v, f.payload.ptr, sizeof(v));
		assert_int_equal(f.id, ++n);
		assert_int_equal(v, n);
	}
	assert_int_equal(n, 500);
	sb_frame_decoder_cleanup(&d);
	sb_buf_cleanup(&stream);
}

/* "The length is checked against a named maximum before any allocation." */
static void test_decoder_oversize_before_allocation(void **state)
{
	(void)state;
	uint8_t h[SB_FRAME_HEADER_LEN];
	struct sb_frame_decoder d;
	struct sb_frame f;
	bool have = true;

	put_header(h, SB_FRAME_MAGIC, 1, 0, 2, 0xfffffff0u, 1);
	sb_frame_decoder_init(&d, 0);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, h, sizeof(h))));
	assert_int_equal(sb_frame_decoder_next(&d, &f, &have).code, SB_ERR_WIRE_OVERSIZE);
	assert_false(have);
	assert_true(d.buf.cap <= 1024); /* only the header was ever buffered */
	/* The failure sticks: no more input is taken and no frame comes out. */
	assert_int_equal(sb_frame_decoder_feed(&d, "x", 1).code, SB_ERR_WIRE_OVERSIZE);
	assert_int_equal(sb_frame_decoder_next(&d, &f, &have).code, SB_ERR_WIRE_OVERSIZE);
	assert_int_equal(sb_frame_decoder_finish(&d).code, SB_ERR_WIRE_OVERSIZE);
	sb_frame_decoder_cleanup(&d);

	/* A decoder with a smaller maximum enforces it. */
	put_header(h, SB_FRAME_MAGIC, 1, 0, 2, 101, 1);
	sb_frame_decoder_init(&d, 100);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, h, sizeof(h))));
	assert_int_equal(sb_frame_decoder_next(&d, &f, &have).code, SB_ERR_WIRE_OVERSIZE);
	sb_frame_decoder_cleanup(&d);
}

/* A bad header is reported as soon as its 16 bytes are in, before any payload. */
static void test_decoder_bad_header_early(void **state)
{
	(void)state;
	static const struct {
		uint32_t magic;
		uint8_t version, flags;
		int code;
	} cases[] = {
		{0x12345678u, 1, 0, SB_ERR_WIRE_BAD_MAGIC},
		{SB_FRAME_MAGIC, 3, 0, SB_ERR_WIRE_BAD_VERSION},
		{SB_FRAME_MAGIC, 1, 0x10, SB_ERR_WIRE_BAD_FLAGS},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t h[SB_FRAME_HEADER_LEN];
		struct sb_frame_decoder d;
		struct sb_frame f;
		bool have;
		put_header(h, cases[i].magic, cases[i].version, cases[i].flags, 2, 1000, 1);
		sb_frame_decoder_init(&d, 0);
		assert_true(sb_ok(sb_frame_decoder_feed(&d, h, sizeof(h) - 1)));
		assert_true(sb_ok(sb_frame_decoder_next(&d, &f, &have)));
		assert_false(have);
		assert_true(sb_ok(sb_frame_decoder_feed(&d, h + sizeof(h) - 1, 1)));
		assert_int_equal(sb_frame_decoder_next(&d, &f, &have).code, cases[i].code);
		sb_frame_decoder_cleanup(&d);
	}
}

static void test_decoder_finish_truncated(void **state)
{
	(void)state;
	struct sb_buf stream = SB_BUF_INIT(64);
	struct sb_frame_decoder d;
	struct sb_frame f;
	bool have;

	assert_true(sb_ok(sb_frame_append(&stream, 2, 0, 1, SB_SLICE_LIT("payload"))));
	/* Cut inside the header. */
	sb_frame_decoder_init(&d, 0);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, stream.data, 5)));
	assert_true(sb_ok(sb_frame_decoder_next(&d, &f, &have)));
	assert_int_equal(sb_frame_decoder_pending(&d), 5);
	assert_int_equal(sb_frame_decoder_finish(&d).code, SB_ERR_TRUNCATED);
	assert_non_null(strstr(sb_error_detail(), "header"));
	sb_frame_decoder_cleanup(&d);
	/* Cut inside the payload. */
	sb_frame_decoder_init(&d, 0);
	assert_true(sb_ok(sb_frame_decoder_feed(&d, stream.data, stream.len - 1)));
	assert_true(sb_ok(sb_frame_decoder_next(&d, &f, &have)));
	assert_false(have);
	assert_int_equal(sb_frame_decoder_finish(&d).code, SB_ERR_TRUNCATED);
	assert_non_null(strstr(sb_error_detail(), "payload"));
	sb_frame_decoder_cleanup(&d);
	sb_buf_cleanup(&stream);
}

/* Reading straight into the decoder; a big frame's memory is returned once taken. */
static void test_decoder_space_commit(void **state)
{
	(void)state;
	size_t big = 3u << 20;
	struct sb_buf stream = SB_BUF_INIT(big + 64);
	struct sb_frame_decoder d;
	struct sb_frame f;
	uint8_t *payload = calloc(1, big);
	bool have = false;
	size_t off = 0;

	assert_non_null(payload);
	payload[big - 1] = 0x5a;
	assert_true(sb_ok(sb_frame_append(&stream, 7, 0, 9, SB_SLICE(payload, big))));
	sb_frame_decoder_init(&d, 0);
	while (!have) {
		uint8_t *p;
		size_t room, n;
		assert_true(sb_ok(sb_frame_decoder_space(&d, 100000, &p, &room)));
		assert_true(room > 0 && room <= 100000);
		n = room < stream.len - off ? room : stream.len - off;
		memcpy(p, stream.data + off, n);
		assert_true(sb_ok(sb_frame_decoder_commit(&d, n)));
		off += n;
		assert_true(sb_ok(sb_frame_decoder_next(&d, &f, &have)));
	}
	assert_int_equal(f.payload.len, big);
	assert_int_equal(f.payload.ptr[big - 1], 0x5a);
	uint8_t *p;
	size_t room;
	assert_true(sb_ok(sb_frame_decoder_space(&d, 10, &p, &room)));
	assert_true(d.buf.cap < (1u << 20));
	/* Committing more than was offered is refused; so is asking for nothing. */
	assert_int_equal(sb_frame_decoder_commit(&d, 1u << 20).code, SB_ERR_INVALID_ARG);
	assert_int_equal(sb_frame_decoder_space(&d, 0, &p, &room).code, SB_ERR_INVALID_ARG);
	assert_true(sb_ok(sb_frame_decoder_commit(&d, 0)));
	sb_frame_decoder_cleanup(&d);
	sb_frame_decoder_cleanup(NULL);
	sb_buf_cleanup(&stream);
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_layout_is_big_endian),
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_header_vectors),
		cmocka_unit_test(test_header_size_is_exact),
		cmocka_unit_test(test_frame_parse_rejects_truncation_and_trailing),
		cmocka_unit_test(test_frame_append_refuses),
		cmocka_unit_test(test_decoder_byte_by_byte),
		cmocka_unit_test(test_decoder_many_in_one_read),
		cmocka_unit_test(test_decoder_oversize_before_allocation),
		cmocka_unit_test(test_decoder_bad_header_early),
		cmocka_unit_test(test_decoder_finish_truncated),
		cmocka_unit_test(test_decoder_space_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
