/*
 * Fuzz target for the channel's untrusted input (DESIGN.md §9.6): the frame
 * parser, the stream decoder fed in fuzzer-chosen chunk sizes, and the
 * Hello / Error / Ping payload parsers. A payload that parses must encode
 * back to exactly the same bytes (one canonical encoding).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/sb_frame.h"
#include "wire/sb_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_roundtrip(struct sb_slice in, const struct sb_buf *again)
{
	if (again->len != in.len || (in.len > 0 && memcmp(again->data, in.ptr, in.len) != 0))
		abort();
}

static void parse_payload(uint16_t type, struct sb_slice p)
{
	struct sb_buf again = SB_BUF_INIT(SB_FRAME_MAX_PAYLOAD);
	struct sb_msg_hello h;
	struct sb_msg_error e;

	switch (type) {
	case SB_MSG_HELLO:
		if (sb_ok(sb_msg_hello_parse(p, &h))) {
			if (!sb_ok(sb_msg_hello_append(&again, &h)))
				abort();
			check_roundtrip(p, &again);
		}
		break;
	case SB_MSG_ERROR:
		if (sb_ok(sb_msg_error_parse(p, &e))) {
			if (!sb_ok(sb_msg_error_append(&again, e.code, e.message)))
				abort();
			check_roundtrip(p, &again);
		}
		break;
	case SB_MSG_PING:
	case SB_MSG_PONG:
		(void)sb_ok(sb_msg_ping_check(p));
		break;
	default:
		(void)sb_msg_info(type);
		break;
	}
	sb_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_frame_decoder d;
	struct sb_frame f;
	size_t chunk, off = 1;
	bool have;

	if (sb_ok(sb_frame_parse(SB_SLICE(data, size), 0, &f)))
		parse_payload(f.type, f.payload);
	if (size == 0)
		return 0;
	/* The first byte picks how the stream is cut into reads. */
	chunk = (size_t)data[0] % 32u + 1u;
	sb_frame_decoder_init(&d, 1u << 16);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (!sb_ok(sb_frame_decoder_feed(&d, data + off, n)))
			break;
		off += n;
		while (sb_ok(sb_frame_decoder_next(&d, &f, &have)) && have)
			parse_payload(f.type, f.payload);
	}
	(void)sb_ok(sb_frame_decoder_finish(&d));
	sb_frame_decoder_cleanup(&d);
	return 0;
}
