/*
 * Fuzz target for sealbid-kms ciphertext blobs (src/kmsd/sb_kblob.c): the
 * CiphertextBlob a client sends to Decrypt/ReEncrypt, key ids, and the
 * canonical encryption context. The first byte picks:
 *   0: the rest is a blob: sb_kblob_key_id, then sb_kblob_open under a fixed
 *      key and an empty context (a forged blob must never open);
 *   1: the rest is a key id string for sb_kblob_key_id_parse; an id that
 *      parses must be 36 characters and name the same 16 bytes in any case;
 *   2: the rest is "k=v" lines, an encryption context for
 *      sb_kblob_context_encode; then a blob is sealed under it with the
 *      first line as plaintext and must open under it to the same bytes,
 *      and not under the empty context unless the context is empty.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_buf.h"
#include "kmsd/sb_kblob.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PAIRS 16

static const uint8_t material[SB_AES256_KEY_LEN] = {
	0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81,
	0x1f, 0x35, 0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4};
static const char key_id[] = "1234abcd-12ab-34cd-56ef-1234567890ab";

static void fuzz_blob(struct sb_slice in)
{
	char id[SB_KBLOB_KEY_ID_LEN + 1];
	struct sb_buf out = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);

	if (sb_ok(sb_kblob_key_id(in, id)) && strlen(id) != SB_KBLOB_KEY_ID_LEN)
		abort();
	/* Without the key nobody can make a blob that opens. */
	if (sb_ok(sb_kblob_open(material, in, SB_SLICE(NULL, 0), &out)))
		abort();
	if (out.len != 0)
		abort();
	sb_buf_cleanup(&out);
}

static void fuzz_key_id(struct sb_slice in)
{
	char s[64], up[64];
	uint8_t a[SB_KBLOB_UUID_LEN], b[SB_KBLOB_UUID_LEN];
	size_t n = in.len < sizeof(s) - 1 ? in.len : sizeof(s) - 1;

	memcpy(s, in.ptr, n);
	s[n] = '\0';
	if (!sb_ok(sb_kblob_key_id_parse(s, a)))
		return;
	if (strlen(s) != SB_KBLOB_KEY_ID_LEN)
		abort();
	for (size_t i = 0; i <= strlen(s); i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	if (sb_ok(sb_kblob_key_id_parse(up, b)) && memcmp(a, b, sizeof(a)) != 0)
		abort();
}

static void fuzz_context(struct sb_slice in)
{
	struct sb_kblob_pair pairs[MAX_PAIRS];
	struct sb_buf ctx = SB_BUF_INIT(SB_KBLOB_MAX_CONTEXT);
	struct sb_buf blob = SB_BUF_INIT(SB_KBLOB_MAX_LEN);
	struct sb_buf pt = SB_BUF_INIT_SECRET(SB_KBLOB_MAX_PLAINTEXT);
	struct sb_slice first = SB_SLICE(NULL, 0);
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= in.len && n < MAX_PAIRS; i++) {
		if (i < in.len && in.ptr[i] != '\n')
			continue;
		struct sb_slice line = SB_SLICE(in.ptr + start, i - start);
		const uint8_t *eq = line.len > 0 ? memchr(line.ptr, '=', line.len) : NULL;
		size_t k = eq != NULL ? (size_t)(eq - line.ptr) : line.len;
		if (first.ptr == NULL)
			first = line;
		pairs[n++] = (struct sb_kblob_pair){
			SB_SLICE(line.ptr, k),
			eq != NULL ? SB_SLICE(eq + 1, line.len - k - 1) : SB_SLICE(NULL, 0)};
		start = i + 1;
	}
	if (!sb_ok(sb_kblob_context_encode(pairs, n, &ctx)))
		goto out;
	if (sb_ok(sb_kblob_seal(material, key_id, sb_buf_slice(&ctx), first, &blob))) {
		char id[SB_KBLOB_KEY_ID_LEN + 1];
		if (!sb_ok(sb_kblob_key_id(sb_buf_slice(&blob), id)) || strcmp(id, key_id) != 0 ||
		    !sb_ok(sb_kblob_open(material, sb_buf_slice(&blob), sb_buf_slice(&ctx), &pt)) ||
		    !sb_slice_eq(sb_buf_slice(&pt), first))
			abort();
		sb_buf_reset(&pt);
		if (ctx.len > 0 &&
		    sb_ok(sb_kblob_open(material, sb_buf_slice(&blob), SB_SLICE(NULL, 0), &pt)))
			abort();
	}
out:
	sb_buf_cleanup(&ctx);
	sb_buf_cleanup(&blob);
	sb_buf_cleanup(&pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct sb_slice in = SB_SLICE(data + 1, size - 1);

	switch (data[0] % 3) {
	case 0:
		fuzz_blob(in);
		break;
	case 1:
		fuzz_key_id(in);
		break;
	default:
		fuzz_context(in);
		break;
	}
	sb_error_clear();
	return 0;
}
