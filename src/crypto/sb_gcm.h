/*
 * AES-256-GCM with a context bound to one key and reused across calls with
 * fresh IVs: no allocation and no key schedule per message, which is what
 * decrypting a framed stream frame by frame needs (sb_aead.h is the
 * one-shot form). Tags are detached (16 bytes), IVs 12 bytes.
 *
 * A context is not thread-safe: one per thread. Open writes plaintext to
 * out before the tag is checked, and wipes it when the tag is wrong, so out
 * holds plaintext only on success.
 */
#ifndef SB_GCM_H
#define SB_GCM_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/sb_aead.h"

struct sb_gcm {
	void *ctx; /* EVP_CIPHER_CTX, owns the expanded key */
	bool encrypt;
};

/* key borrowed (copied into the context). Caller cleans up. */
SB_RESULT sb_gcm_init(struct sb_gcm *g, const uint8_t key[SB_AES256_KEY_LEN], bool encrypt);
/* Frees and clears the expanded key; NULL-safe, idempotent. */
void sb_gcm_cleanup(struct sb_gcm *g);
/* out gets pt.len bytes (may be the same memory as pt), tag 16 bytes. */
SB_RESULT sb_gcm_seal(struct sb_gcm *g, const uint8_t iv[SB_GCM_NONCE_LEN], struct sb_slice aad,
		      struct sb_slice pt, uint8_t *out, uint8_t tag[SB_GCM_TAG_LEN]);
/* out gets ct.len bytes; SB_ERR_DECRYPT (out wiped) when the tag does not verify. */
SB_RESULT sb_gcm_open(struct sb_gcm *g, const uint8_t iv[SB_GCM_NONCE_LEN], struct sb_slice aad,
		      struct sb_slice ct, const uint8_t tag[SB_GCM_TAG_LEN], uint8_t *out);

#endif
