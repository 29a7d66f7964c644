#include "common/sb_encoding.h"

#include "common/sb_mem.h"

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

SB_RESULT sb_base64_encode(struct sb_slice in, struct sb_buf *out)
{
	size_t groups, outlen, i;
	uint8_t *o;

	SB_ENSURE_REF(out);
	groups = in.len / 3 + (in.len % 3 != 0);
	SB_GUARD(sb_mul_size(groups, 4, &outlen));
	SB_GUARD(sb_buf_reserve(out, outlen));
	o = sb_buf_tail(out);
	for (i = 0; i + 3 <= in.len; i += 3) {
		uint32_t v = ((uint32_t)in.ptr[i] << 16) | ((uint32_t)in.ptr[i + 1] << 8) |
			     in.ptr[i + 2];
		*o++ = (uint8_t)b64_alphabet[(v >> 18) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
		*o++ = (uint8_t)b64_alphabet[v & 63];
	}
	if (in.len - i == 1) {
		uint32_t v = (uint32_t)in.ptr[i] << 16;
		*o++ = (uint8_t)b64_alphabet[(v >> 18) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (in.len - i == 2) {
		uint32_t v = ((uint32_t)in.ptr[i] << 16) | ((uint32_t)in.ptr[i + 1] << 8);
		*o++ = (uint8_t)b64_alphabet[(v >> 18) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 12) & 63];
		*o++ = (uint8_t)b64_alphabet[(v >> 6) & 63];
		*o++ = '=';
	}
	return sb_buf_commit(out, out->len + outlen);
}

SB_RESULT sb_base64_decode(struct sb_slice in, struct sb_buf *out)
{
	size_t i, start, reserve = 0;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len % 4 == 0, SB_ERR_BAD_BASE64, "length %zu is not a multiple of 4",
		      in.len);
	/* Reserve the decoded size, padding taken off: reserving len/4*3 would
	 * refuse a maximal input whose last group is padded (4096 bytes encode
	 * to 5464 characters, 4098 before the two '=' are subtracted). A
	 * misplaced '=' is still caught by the loop below. */
	if (in.len >= 4) {
		reserve = in.len / 4 * 3;
		reserve -= (size_t)(in.ptr[in.len - 1] == '=') + (size_t)(in.ptr[in.len - 2] == '=');
	}
	SB_GUARD(sb_buf_reserve(out, reserve));
	start = out->len;
	for (i = 0; i < in.len; i += 4) {
		int v[4];
		int pad = 0;
		bool last = i + 4 == in.len;

		for (int k = 0; k < 4; k++) {
			uint8_t c = in.ptr[i + (size_t)k];
			if (c == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			/* No data after padding, and '=' only at the end. */
			if (pad > 0 || (v[k] = b64_value(c)) < 0)
				goto bad;
		}
		uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) |
			     ((uint32_t)v[2] << 6) | (uint32_t)v[3];
		/* Non-canonical: bits under the padding must be zero. */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			goto bad;
		uint8_t b[3] = {(uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w};
		SB_GUARD(sb_buf_append(out, b, (size_t)(3 - pad)));
	}
	return SB_OK_RESULT;
bad:
	/* Leave nothing half-decoded behind. */
	if (out->secret)
		sb_wipe(out->data + start, out->len - start);
	out->len = start;
	out->data[start] = 0;
	SB_BAIL_MSG(SB_ERR_BAD_BASE64, "bad character or padding at offset %zu", i);
}

SB_RESULT sb_hex_encode(struct sb_slice in, struct sb_buf *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t outlen;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_mul_size(in.len, 2, &outlen));
	SB_GUARD(sb_buf_reserve(out, outlen));
	uint8_t *o = sb_buf_tail(out);
	for (size_t i = 0; i < in.len; i++) {
		o[2 * i] = (uint8_t)digits[in.ptr[i] >> 4];
		o[2 * i + 1] = (uint8_t)digits[in.ptr[i] & 15];
	}
	return sb_buf_commit(out, out->len + outlen);
}

int sb_hex_digit(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static SB_RESULT hex_decode_into(struct sb_slice in, uint8_t *dst)
{
	SB_ENSURE_MSG(in.len % 2 == 0, SB_ERR_BAD_HEX, "odd length %zu", in.len);
	for (size_t i = 0; i < in.len; i += 2) {
		int hi = sb_hex_digit(in.ptr[i]);
		int lo = sb_hex_digit(in.ptr[i + 1]);
		SB_ENSURE_MSG(hi >= 0 && lo >= 0, SB_ERR_BAD_HEX, "bad character at offset %zu", i);
		dst[i / 2] = (uint8_t)((hi << 4) | lo);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_hex_decode(struct sb_slice in, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len % 2 == 0, SB_ERR_BAD_HEX, "odd length %zu", in.len);
	SB_GUARD(sb_buf_reserve(out, in.len / 2));
	SB_GUARD(hex_decode_into(in, sb_buf_tail(out)));
	return sb_buf_commit(out, out->len + in.len / 2);
}

SB_RESULT sb_hex_decode_fixed(struct sb_slice in, void *dst, size_t n)
{
	SB_ENSURE_REF(dst);
	SB_ENSURE_MSG(in.len / 2 == n && in.len % 2 == 0, SB_ERR_BAD_HEX,
		      "expected %zu hex digits, got %zu", 2 * n, in.len);
	return hex_decode_into(in, dst);
}
