/*
 * Fuzz target for the job-binding trailer (src/auction/sb_trailer.c). Its
 * text comes out of a KMS Decrypt of a ciphertext any party with Encrypt
 * rights can make, so the enclave parses it as untrusted input.
 * Input: "property,ciphertext" rows, one a line, then a line "=", then the
 * trailer text to check against those rows. Properties checked beyond
 * "no crash": the text sb_trailer_text makes for the rows passes
 * sb_trailer_check, and a text that passes carries that text's digest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_trailer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void add_rows(struct sb_trailer *t, struct sb_slice rows)
{
	size_t start = 0;

	for (size_t i = 0; i < rows.len; i++) {
		if (rows.ptr[i] != '\n')
			continue;
		struct sb_slice line = SB_SLICE(rows.ptr + start, i - start);
		const uint8_t *comma = memchr(line.ptr, ',', line.len);
		size_t k = comma != NULL ? (size_t)(comma - line.ptr) : line.len;
		struct sb_slice ct = comma != NULL ? SB_SLICE(comma + 1, line.len - k - 1)
						   : SB_SLICE(NULL, 0);
		if (!sb_ok(sb_trailer_add(t, SB_SLICE(line.ptr, k), ct)))
			abort();
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_trailer a, b;
	struct sb_buf text = SB_BUF_INIT(SB_TRAILER_TEXT_MAX);
	struct sb_slice rows = SB_SLICE(data, size), check = SB_SLICE(NULL, 0);

	for (size_t i = 0; i + 2 < size; i++) {
		if ((i == 0 || data[i - 1] == '\n') && data[i] == '=' && data[i + 1] == '\n') {
			rows = SB_SLICE(data, i);
			check = SB_SLICE(data + i + 2, size - i - 2);
			break;
		}
	}
	if (!sb_ok(sb_trailer_init(&a)) || !sb_ok(sb_trailer_init(&b)))
		abort();
	add_rows(&a, rows);
	add_rows(&b, rows);
	if (!sb_ok(sb_trailer_text(&a, &text)) || !sb_ok(sb_trailer_check(&b, sb_buf_slice(&text))))
		abort();
	sb_trailer_cleanup(&b);
	if (!sb_ok(sb_trailer_init(&b)))
		abort();
	add_rows(&b, rows);
	if (sb_ok(sb_trailer_check(&b, check))) {
		/* The digest is the last 96 characters of both texts (any hex case). */
		if (check.len < 96 || text.len < 96)
			abort();
		for (size_t i = 0; i < 96; i++) {
			uint8_t c = check.ptr[check.len - 96 + i];
			if (c >= 'A' && c <= 'F')
				c = (uint8_t)(c + 32);
			if (c != text.data[text.len - 96 + i])
				abort();
		}
	}
	sb_trailer_cleanup(&a);
	sb_trailer_cleanup(&b);
	sb_buf_cleanup(&text);
	sb_error_clear();
	return 0;
}
