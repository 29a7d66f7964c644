/*
 * Key derivation, key commitment, header authentication and frame
 * decryption for the committing suites (framework/algorithm-suites.md,
 * transitive-requirements.md, client-apis/decrypt.md).
 */
#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_gcm.h"
#include "crypto/sb_hkdf.h"
#include "esdk/esdk_internal.h"

struct sb_esdk_key {
	uint8_t key[SB_ESDK_DATA_KEY_LEN]; /* derived content key: secret */
	uint8_t message_id[SB_ESDK_MESSAGE_ID_LEN];
	uint32_t frame_len;
};

struct sb_esdk_opener {
	const struct sb_esdk_key *key;
	struct sb_gcm gcm;
};

SB_RESULT esdk_suite_check(uint16_t suite)
{
	switch (suite) {
	case SB_ESDK_SUITE_COMMIT:
	case SB_ESDK_SUITE_COMMIT_SIG:
		return SB_OK_RESULT;
	/* The ESDK's suites without key commitment (algorithm-suites.md). */
	case 0x0014: case 0x0046: case 0x0078:
	case 0x0114: case 0x0146: case 0x0178:
	case 0x0214: case 0x0346: case 0x0378:
		SB_BAIL_MSG(SB_ERR_ESDK_NON_COMMITTING, "suite 0x%04x (only 0x0478 and 0x0578)",
			    suite);
	default:
		SB_BAIL_MSG(SB_ERR_ESDK_UNSUPPORTED_SUITE, "suite 0x%04x (only 0x0478 and 0x0578)",
			    suite);
	}
}

SB_RESULT esdk_derive(uint16_t suite, const uint8_t message_id[SB_ESDK_MESSAGE_ID_LEN],
		      struct sb_slice data_key, uint8_t enc_key[SB_ESDK_DATA_KEY_LEN],
		      uint8_t commit_key[SB_ESDK_COMMIT_LEN])
{
	/* "the input info MUST be a concatenation of the algorithm suite ID
	 * followed by the string DERIVEKEY as UTF8 encoded bytes" */
	uint8_t info[2 + 9] = {(uint8_t)(suite >> 8), (uint8_t)suite};
	struct sb_slice salt = SB_SLICE(message_id, SB_ESDK_MESSAGE_ID_LEN);

	memcpy(info + 2, "DERIVEKEY", 9);
	SB_ENSURE_MSG(data_key.len == SB_ESDK_DATA_KEY_LEN, SB_ERR_ESDK_BAD_DATA_KEY,
		      "data key is %zu bytes, want 32", data_key.len);
	SB_GUARD(sb_hkdf_sha512(salt, data_key, SB_SLICE(info, sizeof(info)), enc_key,
				SB_ESDK_DATA_KEY_LEN));
	/* "The input info MUST the string COMMITKEY as UTF8 encoded bytes" */
	sb_result rc = sb_hkdf_sha512(salt, data_key, SB_SLICE_LIT("COMMITKEY"), commit_key,
				      SB_ESDK_COMMIT_LEN);
	if (!sb_ok(rc))
		sb_wipe(enc_key, SB_ESDK_DATA_KEY_LEN);
	return rc;
}

size_t esdk_body_aad(uint8_t out[ESDK_BODY_AAD_MAX], const uint8_t *message_id, bool final,
		     uint32_t seq, uint64_t len)
{
	static const char regular[] = "AWSKMSEncryptionClient Frame";
	static const char last[] = "AWSKMSEncryptionClient Final Frame";
	const char *content = final ? last : regular;
	size_t clen = final ? sizeof(last) - 1 : sizeof(regular) - 1;
	size_t off = 0;

	memcpy(out, message_id, SB_ESDK_MESSAGE_ID_LEN);
	off += SB_ESDK_MESSAGE_ID_LEN;
	memcpy(out + off, content, clen);
	off += clen;
	for (int i = 3; i >= 0; i--)
		out[off++] = (uint8_t)(seq >> (8 * i));
	for (int i = 7; i >= 0; i--)
		out[off++] = (uint8_t)(len >> (8 * i));
	return off;
}

void esdk_frame_iv(uint8_t iv[SB_ESDK_IV_LEN], uint32_t seq)
{
	memset(iv, 0, SB_ESDK_IV_LEN - 4);
	for (int i = 0; i < 4; i++)
		iv[SB_ESDK_IV_LEN - 4 + i] = (uint8_t)(seq >> (24 - 8 * i));
}

/* decrypt.md: the header auth tag over the header body, "The IV has a value of 0". */
static SB_RESULT header_auth_check(const struct sb_esdk_header *h, const uint8_t *key)
{
	static const uint8_t zero_iv[SB_ESDK_IV_LEN];
	struct sb_gcm g;

	SB_GUARD(sb_gcm_init(&g, key, false));
	sb_result rc = sb_gcm_open(&g, zero_iv, SB_SLICE(h->raw.data, h->body_len),
				   SB_SLICE(NULL, 0), h->auth_tag, NULL);
	sb_gcm_cleanup(&g);
	if (rc.code == SB_ERR_DECRYPT)
		SB_BAIL(SB_ERR_ESDK_HEADER_AUTH);
	return rc;
}

SB_RESULT sb_esdk_key_new(const struct sb_esdk_header *h, struct sb_slice data_key,
			  struct sb_esdk_key **out)
{
	uint8_t commit[SB_ESDK_COMMIT_LEN];
	struct sb_esdk_key *k = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE(h != NULL && out != NULL, SB_ERR_NULL);
	*out = NULL;
	SB_ENSURE_MSG(h->raw.len > h->body_len, SB_ERR_ESDK_BAD_STATE, "header not parsed");
	SB_GUARD(esdk_suite_check(h->suite));
	SB_GUARD(sb_calloc(1, sizeof(*k), (void **)&k));
	SB_GUARD_GOTO(rc, esdk_derive(h->suite, h->message_id, data_key, k->key, commit), fail);
	/* "Verification of the commitment key MUST be a constant time comparison." */
	bool same = sb_ct_equal(commit, h->commitment, SB_ESDK_COMMIT_LEN);
	sb_wipe(commit, sizeof(commit));
	if (!same)
		SB_FAIL_GOTO(rc, SB_ERR_ESDK_COMMITMENT, fail);
	SB_GUARD_GOTO(rc, header_auth_check(h, k->key), fail);
	memcpy(k->message_id, h->message_id, SB_ESDK_MESSAGE_ID_LEN);
	k->frame_len = h->frame_len;
	*out = k;
	return SB_OK_RESULT;
fail:
	sb_esdk_key_free(k);
	return rc;
}

void sb_esdk_key_free(struct sb_esdk_key *k)
{
	sb_free_secret(k, sizeof(*k));
}

/* Checks the frame's shape against the key's message, opens it with g. */
static SB_RESULT frame_open(const struct sb_esdk_key *k, struct sb_gcm *g,
			    const struct sb_esdk_frame *f, uint8_t *out)
{
	uint8_t aad[ESDK_BODY_AAD_MAX];

	SB_ENSURE(f->iv.len == SB_ESDK_IV_LEN && f->tag.len == SB_ESDK_TAG_LEN,
		  SB_ERR_INVALID_ARG);
	SB_ENSURE(f->content.len <= k->frame_len && (f->final || f->content.len == k->frame_len),
		  SB_ERR_ESDK_BAD_FRAME_LENGTH);
	size_t n = esdk_body_aad(aad, k->message_id, f->final, f->seq, f->content.len);
	sb_result rc = sb_gcm_open(g, f->iv.ptr, SB_SLICE(aad, n), f->content, f->tag.ptr, out);
	if (rc.code == SB_ERR_DECRYPT)
		SB_BAIL_MSG(SB_ERR_ESDK_FRAME_AUTH, "frame %u", f->seq);
	return rc;
}

SB_RESULT sb_esdk_frame_open(const struct sb_esdk_key *k, const struct sb_esdk_frame *f,
			     uint8_t *out)
{
	struct sb_gcm g;

	SB_ENSURE(k != NULL && f != NULL, SB_ERR_NULL);
	SB_GUARD(sb_gcm_init(&g, k->key, false));
	sb_result rc = frame_open(k, &g, f, out);
	sb_gcm_cleanup(&g);
	return rc;
}

SB_RESULT sb_esdk_opener_new(const struct sb_esdk_key *k, struct sb_esdk_opener **out)
{
	struct sb_esdk_opener *o = NULL;

	SB_ENSURE(k != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_calloc(1, sizeof(*o), (void **)&o));
	sb_result rc = sb_gcm_init(&o->gcm, k->key, false);
	if (!sb_ok(rc)) {
		free(o);
		return rc;
	}
	o->key = k;
	*out = o;
	return SB_OK_RESULT;
}

void sb_esdk_opener_free(struct sb_esdk_opener *o)
{
	if (o == NULL)
		return;
	sb_gcm_cleanup(&o->gcm);
	free(o);
}

SB_RESULT sb_esdk_opener_open(struct sb_esdk_opener *o, const struct sb_esdk_frame *f,
			      uint8_t *out)
{
	SB_ENSURE(o != NULL && f != NULL, SB_ERR_NULL);
	return frame_open(o->key, &o->gcm, f, out);
}
