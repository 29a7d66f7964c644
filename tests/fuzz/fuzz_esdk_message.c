/*
 * Fuzz target for sealed datasets (AWS Encryption SDK messages, src/esdk):
 * the header parser on the input and on every prefix of it (each strict
 * prefix of a header must ask for more, never fail otherwise or succeed),
 * the context and EDK lookups, then key derivation with a fixed data key
 * and the whole body (frames, footer, signature). The seeds are messages
 * sealed under that key, so mutations past the header reach the body.
 *
 * Invariant checked: whatever the input, success means the plaintext has
 * the length the frames declare, and failure releases no plaintext.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "esdk/sb_esdk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The data key the seeds (sealed_*) were sealed under with sb_esdk_encryptor. */
static const uint8_t fuzz_data_key[SB_ESDK_DATA_KEY_LEN] = {
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba,
    0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
    0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};

static bool any_arn(const char *declared, const char *arn)
{
	(void)declared;
	return arn != NULL && arn[0] != 0;
}

/* A shorter prefix of a header that parses must be "need more", nothing else. */
static void prefixes(const uint8_t *data, size_t header_len)
{
	struct sb_esdk_header h;
	size_t used = 0;

	for (size_t n = 0; n < header_len; n += 1 + n / 8) {
		sb_result rc = sb_esdk_header_parse(SB_SLICE(data, n), &h, &used);
		if (rc.code != SB_ERR_ESDK_SHORT || used != 0)
			abort();
	}
}

static void body(const struct sb_esdk_header *h, struct sb_slice msg, size_t header_len)
{
	struct sb_esdk_key *k = NULL;
	struct sb_buf pt = SB_BUF_INIT_SECRET(16u << 20);

	if (sb_ok(sb_esdk_key_new(h, SB_SLICE(fuzz_data_key, sizeof(fuzz_data_key)), &k))) {
		sb_result rc = sb_esdk_decrypt_body(h, k, msg, header_len, &pt);
		if (!sb_ok(rc) && pt.len != 0)
			abort(); /* plaintext released from a refused message */
	}
	sb_esdk_key_free(k);
	sb_buf_cleanup(&pt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_esdk_header h;
	const struct sb_esdk_edk *edk = NULL;
	size_t used = 0;

	if (!sb_ok(sb_esdk_header_parse(SB_SLICE(data, size), &h, &used)))
		return 0;
	if (used > size || h.raw.len != used)
		abort();
	prefixes(data, used);
	(void)sb_esdk_header_context(&h, SB_ESDK_PUBLIC_KEY_CTX);
	if (sb_ok(sb_esdk_header_find_kms_edk(&h, any_arn, "k", &edk)) &&
	    (edk == NULL || edk->ciphertext.len == 0))
		abort(); /* an aws-kms EDK always names a key and carries a blob */
	body(&h, SB_SLICE(data, size), used);
	sb_esdk_header_cleanup(&h);
	return 0;
}
