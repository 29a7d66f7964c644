/*
 * Hashes and MACs (OpenSSL EVP). Digests are written to fixed arrays.
 */
#ifndef SB_HASH_H
#define SB_HASH_H

#include <stdint.h>

#include "common/sb_buf.h"

#define SB_SHA256_LEN 32
#define SB_SHA384_LEN 48

enum sb_hash_alg {
	SB_HASH_SHA256,
	SB_HASH_SHA384,
};

SB_RESULT sb_sha256(struct sb_slice in, uint8_t out[SB_SHA256_LEN]);
SB_RESULT sb_sha384(struct sb_slice in, uint8_t out[SB_SHA384_LEN]);
SB_RESULT sb_hmac_sha256(struct sb_slice key, struct sb_slice msg, uint8_t out[SB_SHA256_LEN]);

/* Incremental hashing; owned by the caller: _init, _update..., _final, _cleanup. */
struct sb_hash {
	void *ctx; /* EVP_MD_CTX */
	enum sb_hash_alg alg;
};

SB_RESULT sb_hash_init(struct sb_hash *h, enum sb_hash_alg alg);
SB_RESULT sb_hash_update(struct sb_hash *h, struct sb_slice in);
/* out must hold the digest length (32 or 48). */
SB_RESULT sb_hash_final(struct sb_hash *h, uint8_t *out, size_t out_len);
void sb_hash_cleanup(struct sb_hash *h);

/*
 * PCR extension as Nitro does it: pcr = SHA384(pcr || SHA384(data)) ...
 * the measured value of one blob from a zero register is
 * SHA384(zero48 || SHA384(data)).
 */
SB_RESULT sb_pcr_extend(uint8_t pcr[SB_SHA384_LEN], struct sb_slice data);
/* The same with SHA384(data) already computed (data streamed through an sb_hash). */
SB_RESULT sb_pcr_extend_digest(uint8_t pcr[SB_SHA384_LEN], const uint8_t digest[SB_SHA384_LEN]);

#endif
