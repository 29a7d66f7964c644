/*
 * Base64 (RFC 4648 §4, standard alphabet, padded) and hex, strictly:
 * decoders reject characters outside the alphabet, whitespace, missing or
 * misplaced padding and non-zero pad bits, so every byte string has exactly
 * one accepted encoding. Output is appended to a caller-owned sb_buf.
 */
#ifndef SB_ENCODING_H
#define SB_ENCODING_H

#include "common/sb_buf.h"

SB_RESULT sb_base64_encode(struct sb_slice in, struct sb_buf *out);
SB_RESULT sb_base64_decode(struct sb_slice in, struct sb_buf *out);
/* Lower-case hex. */
SB_RESULT sb_hex_encode(struct sb_slice in, struct sb_buf *out);
/* Accepts either case; even length only. */
SB_RESULT sb_hex_decode(struct sb_slice in, struct sb_buf *out);
/* The value of one hex digit (either case), or -1. */
int sb_hex_digit(uint8_t c);
/* Decodes exactly n bytes of hex into dst (e.g. a PCR). */
SB_RESULT sb_hex_decode_fixed(struct sb_slice in, void *dst, size_t n);

#endif
