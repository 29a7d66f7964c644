/*
 * The AWS Encryption SDK message format, version 2.0, framed, for the two
 * committing algorithm suites (aws-encryption-sdk-specification,
 * data-format/message-header.md, message-body.md, message-body-aad.md,
 * message-footer.md, framework/algorithm-suites.md):
 *
 *   0x0478  AES-256-GCM, HKDF-SHA512, key commitment
 *   0x0578  the same, plus an ECDSA P-384 / SHA-384 signature in the footer
 *
 * Everything else is refused with a specific error: version 1.0 messages,
 * non-framed content, the non-committing suites 0x0014..0x0378, unknown
 * suites. docs/FORMATS.md "Sealed dataset" describes the format and limits.
 *
 * Decryption, streamed (no function needs the whole message in memory):
 *
 *   sb_esdk_header_parse(in)          strict; SB_ERR_ESDK_SHORT = feed more
 *   sb_esdk_header_check_context()    the context the manifest implies
 *   sb_esdk_header_find_kms_edk()     the party's aws-kms EDK -> KMS Decrypt
 *   sb_esdk_key_new(h, data_key)      HKDF, commitment, header auth tag
 *   sb_esdk_body_init(h)              then per frame:
 *     sb_esdk_body_next(in)           order, IV, sizes; feeds the signature
 *     sb_esdk_frame_open(key, frame)  AES-GCM open (thread-safe, any order)
 *   sb_esdk_body_footer(in)           0x0578: signature verified
 *   sb_esdk_body_end(b, trailing)     complete, nothing after it
 *
 * Encryption: sb_esdk_encryptor_* at the end of this file.
 *
 * Errors are SB_ERR_ESDK_* (src/common/errors/esdk.def); details name the
 * field or frame, never a key, a context value or plaintext.
 */
#ifndef SB_ESDK_H
#define SB_ESDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sb_buf.h"

#define SB_ESDK_SUITE_COMMIT     0x0478 /* ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY */
#define SB_ESDK_SUITE_COMMIT_SIG 0x0578 /* ..._COMMIT_KEY_ECDSA_P384 */
#define SB_ESDK_PUBLIC_KEY_CTX   "aws-crypto-public-key"
#define SB_ESDK_KMS_PROVIDER_ID  "aws-kms"

#define SB_ESDK_VERSION        0x02
#define SB_ESDK_MESSAGE_ID_LEN 32
#define SB_ESDK_DATA_KEY_LEN   32 /* "Key Derivation Input Length" 256 bits */
#define SB_ESDK_COMMIT_LEN     32 /* "Algorithm Suite Data Length" 32 */
#define SB_ESDK_IV_LEN         12
#define SB_ESDK_TAG_LEN        16
/* Our limits (the format allows more): refused with a specific error. */
#define SB_ESDK_MAX_EDKS       16          /* SB_ERR_ESDK_TOO_MANY_EDKS */
#define SB_ESDK_MAX_FRAME_LEN  (16u << 20) /* SB_ERR_ESDK_BAD_FRAME_LENGTH */
#define SB_ESDK_DEFAULT_FRAME_LEN (256u << 10)
/* Bytes of one framed body element around its content. */
#define SB_ESDK_FRAME_OVERHEAD       (4 + SB_ESDK_IV_LEN + SB_ESDK_TAG_LEN)
#define SB_ESDK_FINAL_FRAME_OVERHEAD (4 + 4 + SB_ESDK_IV_LEN + 4 + SB_ESDK_TAG_LEN)

/* One encryption context entry: UTF-8 text without NUL bytes. */
struct sb_esdk_pair {
	const char *key;
	const char *value;
};

/* One encrypted data key. In a parsed header every buffer is owned by the header. */
struct sb_esdk_edk {
	struct sb_buf provider_id;   /* "aws-kms" for KMS */
	struct sb_buf provider_info; /* aws-kms: the KMS key ARN (text, sb_buf_cstr) */
	struct sb_buf ciphertext;    /* aws-kms: the KMS CiphertextBlob */
};

/* A parsed, not yet authenticated, header. Caller storage; sb_esdk_header_cleanup. */
struct sb_esdk_header {
	uint16_t suite;                           /* 0x0478 or 0x0578 */
	uint8_t message_id[SB_ESDK_MESSAGE_ID_LEN];
	struct sb_esdk_pair *pairs;               /* owned strings, sorted by key bytes */
	size_t npairs;
	struct sb_esdk_edk *edks;                 /* owned, in message order */
	size_t nedks;
	uint32_t frame_len;                       /* 1..SB_ESDK_MAX_FRAME_LEN */
	uint8_t commitment[SB_ESDK_COMMIT_LEN];   /* algorithm suite data */
	uint8_t auth_tag[SB_ESDK_TAG_LEN];        /* header authentication tag */
	struct sb_buf raw;                        /* owned: header body + auth tag bytes */
	size_t body_len;                          /* raw[0..body_len) is the header body */
};

/*
 * Parses the header at the start of in (borrowed). SB_ERR_ESDK_SHORT when
 * in is a strict prefix of a header (call again with more bytes: in must
 * start at the same place); any other error is final. On success h owns
 * its fields and *consumed = header body + authentication tag bytes.
 * Checks: version 2.0, suite (0x0478/0x0578 only), context (no duplicate
 * keys, sorted, UTF-8, no NUL, reserved key only with 0x0578), 1..16 EDKs,
 * framed content, frame length 1..SB_ESDK_MAX_FRAME_LEN.
 */
SB_RESULT sb_esdk_header_parse(struct sb_slice in, struct sb_esdk_header *h, size_t *consumed);
/* Frees what h owns; NULL-safe, idempotent. */
void sb_esdk_header_cleanup(struct sb_esdk_header *h);
/* The value of a context key (borrowed from h), or NULL. */
const char *sb_esdk_header_context(const struct sb_esdk_header *h, const char *key);
/*
 * Whether the context is exactly `expected` (borrowed, any order), plus
 * aws-crypto-public-key for 0x0578. SB_ERR_ESDK_CONTEXT_MISMATCH naming the
 * missing, extra or different key (never a value).
 */
SB_RESULT sb_esdk_header_check_context(const struct sb_esdk_header *h,
				       const struct sb_esdk_pair *expected, size_t n);
/*
 * The first aws-kms EDK whose provider info (key ARN) satisfies
 * match(declared, arn) (e.g. sb_job_key_matches); *out is borrowed from h.
 * SB_ERR_ESDK_NO_EDK when none does (the detail counts the EDKs seen).
 */
SB_RESULT sb_esdk_header_find_kms_edk(const struct sb_esdk_header *h,
				      bool (*match)(const char *declared, const char *arn),
				      const char *declared, const struct sb_esdk_edk **out);

/*
 * The derived content key of one message. sb_esdk_key_new derives it from
 * the plaintext data key (borrowed; the caller wipes it right after) with
 * HKDF-SHA512, checks the key commitment in constant time
 * (SB_ERR_ESDK_COMMITMENT) and the header authentication tag
 * (SB_ERR_ESDK_HEADER_AUTH). Wiped on free. Const use is thread-safe.
 */
struct sb_esdk_key;
SB_RESULT sb_esdk_key_new(const struct sb_esdk_header *h, struct sb_slice data_key,
			  struct sb_esdk_key **out);
void sb_esdk_key_free(struct sb_esdk_key *k);

/* One frame of the body; slices borrow the input given to sb_esdk_body_next. */
struct sb_esdk_frame {
	uint32_t seq;
	bool final;
	struct sb_slice iv;      /* SB_ESDK_IV_LEN bytes, = seq left-padded with zeros */
	struct sb_slice content; /* ciphertext; its plaintext has the same length */
	struct sb_slice tag;     /* SB_ESDK_TAG_LEN bytes */
};

enum sb_esdk_body_state {
	SB_ESDK_BODY_FRAMES = 0, /* expecting a frame */
	SB_ESDK_BODY_FOOTER,     /* final frame seen; expecting the footer */
	SB_ESDK_BODY_DONE,       /* complete (signature verified for 0x0578) */
	SB_ESDK_BODY_FAILED,     /* an error happened; nothing more is accepted */
};

/* The body reader: caller storage, _init/_cleanup. Fields are private. */
struct sb_esdk_body {
	enum sb_esdk_body_state state;
	uint16_t suite;
	uint32_t frame_len;
	uint32_t next_seq;
	uint64_t plaintext_len;  /* sum of content lengths so far */
	void *sig_hash;          /* 0x0578: SHA-384 over header and body (owned) */
	void *verify_key;        /* 0x0578: the context's public key (owned) */
};

/*
 * Starts reading the body of h's message (h borrowed for this call only).
 * For 0x0578 it decodes the verification key from the context
 * (SB_ERR_ESDK_PUBLIC_KEY) and starts the signature hash over h->raw.
 */
SB_RESULT sb_esdk_body_init(struct sb_esdk_body *b, const struct sb_esdk_header *h);
void sb_esdk_body_cleanup(struct sb_esdk_body *b);
/*
 * The next frame at the start of in (borrowed): SB_ERR_ESDK_SHORT when in
 * holds less than a whole frame (nothing consumed; call again with more).
 * Checks the sequence number (SB_ERR_ESDK_FRAME_SEQ: dropped, duplicated or
 * reordered), the IV (SB_ERR_ESDK_BAD_IV), the final frame's length
 * (SB_ERR_ESDK_BAD_FRAME_LENGTH); feeds the signature hash. Does not
 * decrypt: pass *f to sb_esdk_frame_open. After the final frame
 * (f->final) the state is SB_ESDK_BODY_FOOTER.
 */
SB_RESULT sb_esdk_body_next(struct sb_esdk_body *b, struct sb_slice in, struct sb_esdk_frame *f,
			    size_t *consumed);
/*
 * After the final frame: 0x0578 parses the footer at the start of in and
 * verifies the signature (SB_ERR_ESDK_SHORT, SB_ERR_ESDK_SIG_INVALID);
 * 0x0478 has no footer (*consumed = 0). Then the state is SB_ESDK_BODY_DONE.
 */
SB_RESULT sb_esdk_body_footer(struct sb_esdk_body *b, struct sb_slice in, size_t *consumed);
/*
 * At the end of the input, with `trailing` bytes left unconsumed: OK only
 * when the message is complete and nothing follows. Otherwise
 * SB_ERR_ESDK_FINAL_MISSING (body ended before the final frame),
 * SB_ERR_ESDK_SIG_MISSING (no footer), SB_ERR_ESDK_TRAILING (bytes after).
 */
SB_RESULT sb_esdk_body_end(const struct sb_esdk_body *b, size_t trailing);
bool sb_esdk_body_done(const struct sb_esdk_body *b);

/*
 * Decrypts one frame into out (f->content.len bytes; out may not overlap
 * the input). SB_ERR_ESDK_FRAME_AUTH if the tag does not verify (out is
 * then wiped). Thread-safe on a shared key: one cipher context per call.
 * Final-frame plaintext of a 0x0578 message is not signed until
 * sb_esdk_body_footer succeeds (spec decrypt.md: "MUST NOT be released").
 */
SB_RESULT sb_esdk_frame_open(const struct sb_esdk_key *k, const struct sb_esdk_frame *f,
			     uint8_t *out);

/*
 * The same with a cipher context reused across calls: one opener per
 * thread (not shareable), for small frames where a context per call costs.
 */
struct sb_esdk_opener;
SB_RESULT sb_esdk_opener_new(const struct sb_esdk_key *k, struct sb_esdk_opener **out);
void sb_esdk_opener_free(struct sb_esdk_opener *o);
SB_RESULT sb_esdk_opener_open(struct sb_esdk_opener *o, const struct sb_esdk_frame *f,
			      uint8_t *out);

/*
 * A whole message in memory (tests, `sealbid unseal`): after h was parsed
 * from msg and k made from it, reads msg[header_len..] frame by frame,
 * appending plaintext to out (a secret buffer; on error out is reset).
 */
SB_RESULT sb_esdk_decrypt_body(const struct sb_esdk_header *h, const struct sb_esdk_key *k,
			       struct sb_slice msg, size_t header_len, struct sb_buf *out);

/*
 * Streaming encryptor, two-phase because the KMS call needs the full context:
 *
 *   sb_esdk_encryptor_new(suite, ctx, frame_len)  0x0578: generates the
 *       P-384 signing key and adds aws-crypto-public-key to the context
 *   sb_esdk_encryptor_context()   the full context -> KMS GenerateDataKey
 *   sb_esdk_encryptor_start(data key, EDKs)  -> header bytes
 *   sb_esdk_encryptor_update(plaintext)      -> whole frames
 *   sb_esdk_encryptor_final()                -> final frame + footer
 *
 * Output is appended to a caller buffer; it holds back at most one frame of
 * plaintext (a secret buffer, wiped).
 */
struct sb_esdk_encryptor;
/*
 * pairs[0..n) borrowed (copied); the reserved key is refused. frame_len 0
 * means SB_ESDK_DEFAULT_FRAME_LEN. Caller frees *out.
 */
SB_RESULT sb_esdk_encryptor_new(uint16_t suite, const struct sb_esdk_pair *pairs, size_t n,
				uint32_t frame_len, struct sb_esdk_encryptor **out);
void sb_esdk_encryptor_free(struct sb_esdk_encryptor *e);
/* The full, sorted context; borrowed from e, valid until it is freed. */
void sb_esdk_encryptor_context(const struct sb_esdk_encryptor *e,
			       const struct sb_esdk_pair **pairs, size_t *n);
/*
 * data_key (32 bytes) borrowed: derived from and not kept (the caller wipes
 * it). edks[0..nedks) borrowed, serialized in order. Appends the header.
 */
SB_RESULT sb_esdk_encryptor_start(struct sb_esdk_encryptor *e, struct sb_slice data_key,
				  const struct sb_esdk_edk *edks, size_t nedks, struct sb_buf *out);
SB_RESULT sb_esdk_encryptor_update(struct sb_esdk_encryptor *e, struct sb_slice plaintext,
				   struct sb_buf *out);
SB_RESULT sb_esdk_encryptor_final(struct sb_esdk_encryptor *e, struct sb_buf *out);

/* Test hook: encrypts with a fixed message id (NULL: random). Not for production. */
SB_RESULT sb_esdk_encryptor_set_message_id(struct sb_esdk_encryptor *e,
					   const uint8_t id[SB_ESDK_MESSAGE_ID_LEN]);

#endif
