/*
 * The streaming encryptor (client-apis/encrypt.md), in two phases because
 * the KMS GenerateDataKey call needs the full encryption context, and for
 * 0x0578 that includes the signing key's public half:
 *
 *   new      context copied and sorted; 0x0578: P-384 key generated,
 *            "aws-crypto-public-key" = base64(compressed point) added
 *   start    data key -> content key + commitment; header body, auth tag
 *   update   whole frames; the last full frame is held back until more
 *            plaintext arrives, so the final frame is empty only for an
 *            empty plaintext ("the Final Frame encrypted content length
 *            SHOULD be equal to the frame length")
 *   final    final frame, then the footer (signature over header and body)
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_mem.h"
#include "crypto/sb_ecdsa_der.h"
#include "crypto/sb_gcm.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_random.h"
#include "esdk/esdk_internal.h"

enum enc_state { ENC_NEW, ENC_STARTED, ENC_FINISHED, ENC_FAILED };

struct sb_esdk_encryptor {
	enum enc_state state;
	uint16_t suite;
	uint32_t frame_len;
	uint32_t seq;                  /* of the next frame */
	struct sb_esdk_pair *pairs;    /* owned, sorted */
	size_t npairs;
	struct sb_ecdsa_key *sign_key; /* 0x0578 */
	struct sb_hash hash;           /* 0x0578: SHA-384 over header and body */
	uint8_t message_id[SB_ESDK_MESSAGE_ID_LEN];
	bool id_fixed;
	struct sb_gcm gcm;     /* bound to the derived content key */
	struct sb_buf pending; /* secret: plaintext not yet framed (<= frame_len) */
};

/* Copies the caller's context plus, for 0x0578, the public key entry. */
static SB_RESULT context_build(struct sb_esdk_encryptor *e, const struct sb_esdk_pair *pairs,
			       size_t n, const char *public_key)
{
	struct sb_esdk_pair *all = NULL;
	size_t total = n + (public_key != NULL ? 1 : 0);

	for (size_t i = 0; i < n; i++)
		SB_ENSURE_MSG(pairs[i].key == NULL || strcmp(pairs[i].key, SB_ESDK_PUBLIC_KEY_CTX) != 0,
			      SB_ERR_ESDK_BAD_CONTEXT, "%s is reserved", SB_ESDK_PUBLIC_KEY_CTX);
	SB_GUARD(sb_calloc(total > 0 ? total : 1, sizeof(*all), (void **)&all));
	if (n > 0)
		memcpy(all, pairs, n * sizeof(*all));
	if (public_key != NULL)
		all[n] = (struct sb_esdk_pair){SB_ESDK_PUBLIC_KEY_CTX, public_key};
	sb_result rc = esdk_pairs_copy(all, total, &e->pairs);
	free(all);
	SB_GUARD(rc);
	e->npairs = total;
	/* The serialized context must fit its u16 length: found now, not at start. */
	struct sb_buf probe = SB_BUF_INIT(2 + UINT16_MAX);
	rc = esdk_context_serialize(e->pairs, e->npairs, &probe);
	sb_buf_cleanup(&probe);
	return rc;
}

/* A fresh P-384 signing key; its public point in base64 into b64. */
static SB_RESULT signing_key_new(struct sb_esdk_encryptor *e, struct sb_buf *b64)
{
	uint8_t point[SB_P384_COMPRESSED_LEN];

	SB_GUARD(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &e->sign_key));
	SB_GUARD(sb_ecdsa_p384_compressed(e->sign_key, point));
	return sb_base64_encode(SB_SLICE(point, sizeof(point)), b64);
}

static SB_RESULT encryptor_setup(struct sb_esdk_encryptor *e, const struct sb_esdk_pair *pairs,
				 size_t n)
{
	struct sb_buf b64 = SB_BUF_INIT(128);
	sb_result rc = SB_OK_RESULT;

	if (esdk_suite_signed(e->suite)) {
		rc = signing_key_new(e, &b64);
		if (sb_ok(rc))
			rc = sb_hash_init(&e->hash, SB_HASH_SHA384);
	}
	if (sb_ok(rc))
		rc = context_build(e, pairs, n, esdk_suite_signed(e->suite) ? sb_buf_cstr(&b64) : NULL);
	sb_buf_cleanup(&b64);
	return rc;
}

SB_RESULT sb_esdk_encryptor_new(uint16_t suite, const struct sb_esdk_pair *pairs, size_t n,
				uint32_t frame_len, struct sb_esdk_encryptor **out)
{
	struct sb_esdk_encryptor *e = NULL;

	SB_ENSURE(out != NULL && (pairs != NULL || n == 0), SB_ERR_NULL);
	*out = NULL;
	SB_GUARD(esdk_suite_check(suite));
	if (frame_len == 0)
		frame_len = SB_ESDK_DEFAULT_FRAME_LEN;
	SB_ENSURE_MSG(frame_len <= SB_ESDK_MAX_FRAME_LEN, SB_ERR_ESDK_BAD_FRAME_LENGTH,
		      "frame length %u (1..%u)", frame_len, SB_ESDK_MAX_FRAME_LEN);
	SB_GUARD(sb_calloc(1, sizeof(*e), (void **)&e));
	e->suite = suite;
	e->frame_len = frame_len;
	e->seq = 1;
	sb_buf_init_secret(&e->pending, frame_len);
	sb_result rc = encryptor_setup(e, pairs, n);
	if (!sb_ok(rc)) {
		sb_esdk_encryptor_free(e);
		return rc;
	}
	*out = e;
	return SB_OK_RESULT;
}

void sb_esdk_encryptor_free(struct sb_esdk_encryptor *e)
{
	if (e == NULL)
		return;
	esdk_pairs_free(e->pairs, e->npairs);
	sb_ecdsa_key_free(e->sign_key);
	sb_hash_cleanup(&e->hash);
	sb_gcm_cleanup(&e->gcm);
	sb_buf_cleanup(&e->pending);
	sb_free_secret(e, sizeof(*e));
}

void sb_esdk_encryptor_context(const struct sb_esdk_encryptor *e,
			       const struct sb_esdk_pair **pairs, size_t *n)
{
	*pairs = e != NULL ? e->pairs : NULL;
	*n = e != NULL ? e->npairs : 0;
}

SB_RESULT sb_esdk_encryptor_set_message_id(struct sb_esdk_encryptor *e,
					   const uint8_t id[SB_ESDK_MESSAGE_ID_LEN])
{
	SB_ENSURE(e != NULL, SB_ERR_NULL);
	SB_ENSURE(e->state == ENC_NEW, SB_ERR_ESDK_BAD_STATE);
	e->id_fixed = id != NULL;
	if (id != NULL)
		memcpy(e->message_id, id, SB_ESDK_MESSAGE_ID_LEN);
	return SB_OK_RESULT;
}

/* Feeds bytes just written to out (from `from`) into the signature hash. */
static SB_RESULT hash_tail(struct sb_esdk_encryptor *e, const struct sb_buf *out, size_t from)
{
	if (!esdk_suite_signed(e->suite))
		return SB_OK_RESULT;
	return sb_hash_update(&e->hash, SB_SLICE(out->data + from, out->len - from));
}

static SB_RESULT edks_write(const struct sb_esdk_edk *edks, size_t n, struct sb_buf *out)
{
	SB_ENSURE_MSG(n > 0 && n <= SB_ESDK_MAX_EDKS, SB_ERR_ESDK_TOO_MANY_EDKS,
		      "%zu data keys (1..%d)", n, SB_ESDK_MAX_EDKS);
	SB_GUARD(sb_buf_append_be16(out, (uint16_t)n));
	for (size_t i = 0; i < n; i++) {
		const struct sb_buf *f[3] = {&edks[i].provider_id, &edks[i].provider_info,
					     &edks[i].ciphertext};
		for (size_t j = 0; j < 3; j++) {
			SB_ENSURE_MSG(f[j]->len <= UINT16_MAX, SB_ERR_ESDK_BAD_EDK,
				      "data key %zu: field longer than 65535 bytes", i + 1);
			SB_GUARD(sb_buf_append_be16(out, (uint16_t)f[j]->len));
			SB_GUARD(sb_buf_append_slice(out, sb_buf_slice(f[j])));
		}
	}
	return SB_OK_RESULT;
}

/* encrypt.md "Construct the header": the header body, version 2.0. */
static SB_RESULT header_body_write(struct sb_esdk_encryptor *e, const struct sb_esdk_edk *edks,
				   size_t nedks, const uint8_t *commit, struct sb_buf *out)
{
	SB_GUARD(sb_buf_append_u8(out, SB_ESDK_VERSION));
	SB_GUARD(sb_buf_append_be16(out, e->suite));
	SB_GUARD(sb_buf_append(out, e->message_id, SB_ESDK_MESSAGE_ID_LEN));
	SB_GUARD(esdk_context_serialize(e->pairs, e->npairs, out));
	SB_GUARD(edks_write(edks, nedks, out));
	SB_GUARD(sb_buf_append_u8(out, ESDK_CONTENT_FRAMED));
	SB_GUARD(sb_buf_append_be32(out, e->frame_len));
	return sb_buf_append(out, commit, SB_ESDK_COMMIT_LEN);
}

/* Header body + its authentication tag (zero IV, empty plaintext). */
static SB_RESULT header_write(struct sb_esdk_encryptor *e, const struct sb_esdk_edk *edks,
			      size_t nedks, const uint8_t *key, const uint8_t *commit,
			      struct sb_buf *out)
{
	static const uint8_t zero_iv[SB_ESDK_IV_LEN];
	uint8_t tag[SB_ESDK_TAG_LEN];
	struct sb_gcm g;
	size_t start = out->len;

	SB_GUARD(header_body_write(e, edks, nedks, commit, out));
	SB_GUARD(sb_gcm_init(&g, key, true));
	sb_result rc = sb_gcm_seal(&g, zero_iv, SB_SLICE(out->data + start, out->len - start),
				   SB_SLICE(NULL, 0), NULL, tag);
	sb_gcm_cleanup(&g);
	SB_GUARD(rc);
	SB_GUARD(sb_buf_append(out, tag, sizeof(tag)));
	return hash_tail(e, out, start);
}

static SB_RESULT encryptor_start(struct sb_esdk_encryptor *e, struct sb_slice data_key,
				 const struct sb_esdk_edk *edks, size_t nedks, struct sb_buf *out)
{
	uint8_t key[SB_ESDK_DATA_KEY_LEN], commit[SB_ESDK_COMMIT_LEN];

	SB_ENSURE_MSG(e->state == ENC_NEW, SB_ERR_ESDK_BAD_STATE, "already started");
	SB_ENSURE(edks != NULL || nedks == 0, SB_ERR_NULL);
	/* message-header.md: "implementations MUST use a good source of randomness" */
	if (!e->id_fixed)
		SB_GUARD(sb_random_bytes(e->message_id, SB_ESDK_MESSAGE_ID_LEN));
	SB_GUARD(esdk_derive(e->suite, e->message_id, data_key, key, commit));
	sb_result rc = header_write(e, edks, nedks, key, commit, out);
	if (sb_ok(rc))
		rc = sb_gcm_init(&e->gcm, key, true);
	sb_wipe(key, sizeof(key));
	return rc;
}

SB_RESULT sb_esdk_encryptor_start(struct sb_esdk_encryptor *e, struct sb_slice data_key,
				  const struct sb_esdk_edk *edks, size_t nedks, struct sb_buf *out)
{
	SB_ENSURE(e != NULL && out != NULL, SB_ERR_NULL);
	size_t len = out->len;
	sb_result rc = encryptor_start(e, data_key, edks, nedks, out);
	if (!sb_ok(rc)) {
		out->len = len; /* nothing half-written */
		if (out->data != NULL)
			out->data[len] = 0;
		e->state = ENC_FAILED;
		return rc;
	}
	e->state = ENC_STARTED;
	return SB_OK_RESULT;
}

/* One frame of pt (regular: exactly frame_len bytes) appended to out. */
static SB_RESULT frame_write(struct sb_esdk_encryptor *e, struct sb_slice pt, bool final,
			     struct sb_buf *out)
{
	uint8_t iv[SB_ESDK_IV_LEN], aad[ESDK_BODY_AAD_MAX], tag[SB_ESDK_TAG_LEN];
	size_t start = out->len;

	SB_ENSURE_MSG(e->seq < ESDK_FRAME_END, SB_ERR_ESDK_TOO_MANY_FRAMES, "frame %u", e->seq);
	SB_GUARD(sb_buf_reserve(out, SB_ESDK_FINAL_FRAME_OVERHEAD + pt.len));
	if (final)
		SB_GUARD(sb_buf_append_be32(out, ESDK_FRAME_END));
	SB_GUARD(sb_buf_append_be32(out, e->seq));
	esdk_frame_iv(iv, e->seq);
	SB_GUARD(sb_buf_append(out, iv, sizeof(iv)));
	if (final)
		SB_GUARD(sb_buf_append_be32(out, (uint32_t)pt.len));
	size_t n = esdk_body_aad(aad, e->message_id, final, e->seq, pt.len);
	SB_GUARD(sb_gcm_seal(&e->gcm, iv, SB_SLICE(aad, n), pt, sb_buf_tail(out), tag));
	SB_GUARD(sb_buf_commit(out, out->len + pt.len));
	SB_GUARD(sb_buf_append(out, tag, sizeof(tag)));
	e->seq++;
	return hash_tail(e, out, start);
}

static SB_RESULT encryptor_update(struct sb_esdk_encryptor *e, struct sb_slice pt,
				  struct sb_buf *out)
{
	SB_ENSURE_MSG(e->state == ENC_STARTED, SB_ERR_ESDK_BAD_STATE, "not started or finished");
	while (pt.len > 0) {
		if (e->pending.len == e->frame_len) {
			/* More plaintext follows, so the held frame is a regular one. */
			SB_GUARD(frame_write(e, sb_buf_slice(&e->pending), false, out));
			sb_buf_reset(&e->pending);
		}
		if (e->pending.len == 0 && pt.len > e->frame_len) {
			/* Whole frames straight from the input, no copy. */
			SB_GUARD(frame_write(e, SB_SLICE(pt.ptr, e->frame_len), false, out));
			pt = SB_SLICE(pt.ptr + e->frame_len, pt.len - e->frame_len);
			continue;
		}
		size_t take = e->frame_len - e->pending.len;
		if (take > pt.len)
			take = pt.len;
		SB_GUARD(sb_buf_append(&e->pending, pt.ptr, take));
		pt = SB_SLICE(pt.ptr + take, pt.len - take);
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_esdk_encryptor_update(struct sb_esdk_encryptor *e, struct sb_slice plaintext,
				   struct sb_buf *out)
{
	SB_ENSURE(e != NULL && out != NULL && (plaintext.ptr != NULL || plaintext.len == 0),
		  SB_ERR_NULL);
	sb_result rc = encryptor_update(e, plaintext, out);
	if (!sb_ok(rc))
		e->state = ENC_FAILED;
	return rc;
}

/* message-footer.md: u16 signature length, then the DER signature. */
static SB_RESULT footer_write(struct sb_esdk_encryptor *e, struct sb_buf *out)
{
	uint8_t digest[SB_SHA384_LEN];
	struct sb_buf sig = SB_BUF_INIT(SB_P384_DER_SIG_MAX);

	SB_GUARD(sb_hash_final(&e->hash, digest, sizeof(digest)));
	sb_result rc = sb_ecdsa_sign_digest_der(e->sign_key, digest, &sig);
	if (sb_ok(rc))
		rc = sb_buf_append_be16(out, (uint16_t)sig.len);
	if (sb_ok(rc))
		rc = sb_buf_append_slice(out, sb_buf_slice(&sig));
	sb_buf_cleanup(&sig);
	return rc;
}

SB_RESULT sb_esdk_encryptor_final(struct sb_esdk_encryptor *e, struct sb_buf *out)
{
	SB_ENSURE(e != NULL && out != NULL, SB_ERR_NULL);
	SB_ENSURE_MSG(e->state == ENC_STARTED, SB_ERR_ESDK_BAD_STATE, "not started or finished");
	sb_result rc = frame_write(e, sb_buf_slice(&e->pending), true, out);
	sb_buf_cleanup(&e->pending);
	if (sb_ok(rc) && esdk_suite_signed(e->suite))
		rc = footer_write(e, out);
	e->state = sb_ok(rc) ? ENC_FINISHED : ENC_FAILED;
	return rc;
}
