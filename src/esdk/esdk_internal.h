/*
 * Internal to src/esdk: the pieces the decryptor and the encryptor share
 * (suite checks, key derivation, the body AAD and frame IVs, the encryption
 * context codec). Not for other layers.
 */
#ifndef SB_ESDK_INTERNAL_H
#define SB_ESDK_INTERNAL_H

#include "esdk/sb_esdk.h"

#define ESDK_FRAME_END      0xFFFFFFFFu /* "Sequence Number End" of the final frame */
#define ESDK_CONTENT_FRAMED 0x02
#define ESDK_CONTENT_SINGLE 0x01
#define ESDK_BODY_AAD_MAX   (SB_ESDK_MESSAGE_ID_LEN + 34 + 4 + 8)

/* OK for 0x0478/0x0578; SB_ERR_ESDK_NON_COMMITTING or _UNSUPPORTED_SUITE otherwise. */
SB_RESULT esdk_suite_check(uint16_t suite);
static inline bool esdk_suite_signed(uint16_t suite)
{
	return suite == SB_ESDK_SUITE_COMMIT_SIG;
}

/*
 * HKDF-SHA512 with salt = message id over the 32-byte data key: the content
 * key (info = suite id || "DERIVEKEY") and the commitment key (info =
 * "COMMITKEY"). Both outputs are secret; the caller wipes them.
 */
SB_RESULT esdk_derive(uint16_t suite, const uint8_t message_id[SB_ESDK_MESSAGE_ID_LEN],
		      struct sb_slice data_key, uint8_t enc_key[SB_ESDK_DATA_KEY_LEN],
		      uint8_t commit_key[SB_ESDK_COMMIT_LEN]);

/* message-body-aad.md: message id || content string || u32 seq || u64 length. */
size_t esdk_body_aad(uint8_t out[ESDK_BODY_AAD_MAX], const uint8_t *message_id, bool final,
		     uint32_t seq, uint64_t len);
/* encrypt.md: "The IV is the sequence number ... padded to the IV length" with zeros. */
void esdk_frame_iv(uint8_t iv[SB_ESDK_IV_LEN], uint32_t seq);

/*
 * Decodes the AAD field's key-value pairs (exactly kv, borrowed) into an
 * owned array sorted by key bytes (free with esdk_pairs_free). Refuses
 * duplicate or empty keys, NUL bytes, invalid UTF-8 (SB_ERR_ESDK_BAD_CONTEXT).
 */
SB_RESULT esdk_context_parse(struct sb_slice kv, struct sb_esdk_pair **pairs, size_t *n);
/* Copies pairs (borrowed), validates as above, sorts. */
SB_RESULT esdk_pairs_copy(const struct sb_esdk_pair *in, size_t n, struct sb_esdk_pair **out);
void esdk_pairs_free(struct sb_esdk_pair *pairs, size_t n);
/* Appends the AAD field (u16 length || serialization) of sorted pairs. */
SB_RESULT esdk_context_serialize(const struct sb_esdk_pair *pairs, size_t n, struct sb_buf *out);
/* The value of key in sorted pairs, or NULL. */
const char *esdk_pairs_get(const struct sb_esdk_pair *pairs, size_t n, const char *key);

/* The verification key from the context's base64 compressed point (SB_ERR_ESDK_PUBLIC_KEY). */
struct sb_ecdsa_key;
SB_RESULT esdk_public_key_decode(const char *b64, struct sb_ecdsa_key **out);

#endif
