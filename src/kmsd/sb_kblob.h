/*
 * sealbid-kms ciphertext blobs: the CiphertextBlob of Encrypt and
 * GenerateDataKey. Opaque to clients, authenticated, and self-describing
 * enough that Decrypt needs no KeyId:
 *
 *   u8     version (1)
 *   u8[16] key id (the key's UUID, binary)
 *   u8[12] nonce (random per blob)
 *   ...    AES-256-GCM ciphertext || 16-byte tag
 *
 * under the key's 256-bit material, with AAD = the 29 header bytes || the
 * canonical encryption context. So a blob names its key, cannot be opened
 * with another key's material, and fails to open when the context differs
 * (SB_ERR_KMS_INVALID_CIPHERTEXT in every case, as KMS reports it).
 *
 * The canonical context: pairs sorted by key (bytewise), each encoded as
 * be32 len(key) || key || be32 len(value) || value; empty for no context.
 */
#ifndef SB_KBLOB_H
#define SB_KBLOB_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_aead.h"

#define SB_KBLOB_VERSION      1
#define SB_KBLOB_UUID_LEN     16
#define SB_KBLOB_KEY_ID_LEN   36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */
#define SB_KBLOB_HEADER_LEN   (1 + SB_KBLOB_UUID_LEN + SB_GCM_NONCE_LEN)
/* "Plaintext ... Length Constraints: Minimum length of 1. Maximum length of 4096." */
#define SB_KBLOB_MAX_PLAINTEXT 4096
#define SB_KBLOB_MAX_LEN      (SB_KBLOB_HEADER_LEN + SB_KBLOB_MAX_PLAINTEXT + SB_GCM_TAG_LEN)
/* "CiphertextBlob ... Maximum length of 6144." */
#define SB_KBLOB_MAX_WIRE_LEN 6144
#define SB_KBLOB_MAX_CONTEXT  8192

/* One encryption context pair. Borrowed. */
struct sb_kblob_pair {
	struct sb_slice key;
	struct sb_slice value;
};

/*
 * Appends the canonical context of pairs to out (pairs is sorted in place;
 * duplicate keys are SB_ERR_KMS_VALIDATION).
 */
SB_RESULT sb_kblob_context_encode(struct sb_kblob_pair *pairs, size_t n, struct sb_buf *out);

/* Key ids: a random v4 UUID string, and its 16-byte binary form. */
SB_RESULT sb_kblob_key_id_new(char out[SB_KBLOB_KEY_ID_LEN + 1]);
SB_RESULT sb_kblob_key_id_parse(const char *id, uint8_t out[SB_KBLOB_UUID_LEN]);

/* Seals plaintext (1..SB_KBLOB_MAX_PLAINTEXT bytes) and appends the blob to out. */
SB_RESULT sb_kblob_seal(const uint8_t material[SB_AES256_KEY_LEN], const char *key_id,
			struct sb_slice context, struct sb_slice plaintext, struct sb_buf *out);
/* The key id a blob names, after checking the header's shape. */
SB_RESULT sb_kblob_key_id(struct sb_slice blob, char out[SB_KBLOB_KEY_ID_LEN + 1]);
/* Opens blob; out must be a secret buffer. Nothing is appended on failure. */
SB_RESULT sb_kblob_open(const uint8_t material[SB_AES256_KEY_LEN], struct sb_slice blob,
			struct sb_slice context, struct sb_buf *out);

#endif
