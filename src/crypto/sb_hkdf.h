/*
 * HKDF (RFC 5869) with SHA-512, extract then expand, over OpenSSL's EVP_KDF.
 * The AWS Encryption SDK's committing suites derive their content key and
 * their commitment key this way (spec framework/transitive-requirements.md).
 */
#ifndef SB_HKDF_H
#define SB_HKDF_H

#include <stdint.h>

#include "common/sb_buf.h"

#define SB_HKDF_SHA512_MAX_OUT (255u * 64u) /* RFC 5869 §2.3: L <= 255*HashLen */

/*
 * out[0..out_len) = HKDF-Expand(HKDF-Extract(salt, ikm), info, out_len).
 * All inputs borrowed; ikm non-empty; out_len 1..SB_HKDF_SHA512_MAX_OUT.
 * out is secret material: the caller wipes it.
 */
SB_RESULT sb_hkdf_sha512(struct sb_slice salt, struct sb_slice ikm, struct sb_slice info,
			 uint8_t *out, size_t out_len);

#endif
