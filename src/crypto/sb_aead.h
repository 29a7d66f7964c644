/*
 * AES-256-GCM with a 12-byte nonce and a 16-byte tag. Seal appends
 * ciphertext||tag to out; open verifies the tag before anything is appended
 * (plaintext lands in out only when authentic).
 */
#ifndef SB_AEAD_H
#define SB_AEAD_H

#include <stdint.h>

#include "common/sb_buf.h"

#define SB_AES256_KEY_LEN 32
#define SB_GCM_NONCE_LEN  12
#define SB_GCM_TAG_LEN    16

SB_RESULT sb_aes256gcm_seal(const uint8_t key[SB_AES256_KEY_LEN],
			    const uint8_t nonce[SB_GCM_NONCE_LEN], struct sb_slice aad,
			    struct sb_slice plaintext, struct sb_buf *out);
SB_RESULT sb_aes256gcm_open(const uint8_t key[SB_AES256_KEY_LEN],
			    const uint8_t nonce[SB_GCM_NONCE_LEN], struct sb_slice aad,
			    struct sb_slice ciphertext_and_tag, struct sb_buf *out);

#endif
