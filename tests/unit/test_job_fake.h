/* The fake KMS and NSM the job tests inject (struct sb_job_io). */
#ifndef TEST_JOB_FAKE_H
#define TEST_JOB_FAKE_H

#include <stdio.h>
#include <string.h>

#include "auction/sb_job.h"
#include "common/sb_encoding.h"

#define ARN1 "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111"
#define ARN2 "arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222"
#define ARN3 "arn:aws:kms:us-east-1:999999999999:key/33333333-3333-3333-3333-333333333333"

/*
 * The fake KMS: a "ciphertext" is base64 of "<key-arn>|<context>|<plaintext>",
 * context being "k=v;..." of the pairs it was encrypted with. Decrypt fails
 * like KMS (InvalidCiphertextException) when the context differs, and with
 * IncorrectKeyException when KeyId is the alias and the key is another.
 */
struct fake {
	size_t decrypt_calls, items, unwrap_calls;
	uint8_t last_user_data[48];
};

static inline void context_text(const struct sb_job_ctx *ctx, size_t n, char *out, size_t cap)
{
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(out + off, cap - off, "%s=%s;", ctx[i].key, ctx[i].value);
}

static inline void fake_one(struct sb_job_cipher *it)
{
	struct sb_buf raw = SB_BUF_INIT(4096);
	char want[1024];
	it->status = sb_base64_decode(it->ciphertext_b64, &raw);
	const char *s = sb_buf_cstr(&raw);
	const char *bar1 = strchr(s, '|');
	const char *bar2 = bar1 != NULL ? strchr(bar1 + 1, '|') : NULL;
	context_text(it->context, it->n_context, want, sizeof(want));
	if (!sb_ok(it->status) || bar2 == NULL || strlen(want) != (size_t)(bar2 - bar1 - 1) ||
	    strncmp(bar1 + 1, want, strlen(want)) != 0) {
		it->status = (sb_result){SB_ERR_DECRYPT};
		snprintf(it->error, sizeof(it->error), "KMS Decrypt: InvalidCiphertextException");
	} else if (strcmp(it->key_id, "alias/buyer2") == 0 &&
	           strncmp(s, ARN2 "|", strlen(ARN2) + 1) != 0) {
		it->status = (sb_result){SB_ERR_WRONG_KEY};
		snprintf(it->error, sizeof(it->error), "KMS Decrypt: IncorrectKeyException");
	} else {
		snprintf(it->key_arn, sizeof(it->key_arn), "%.*s", (int)(bar1 - s), s);
		it->status = sb_buf_append_str(&it->plaintext, bar2 + 1);
	}
	sb_buf_cleanup(&raw);
}

static inline sb_result fake_decrypt(void *ctx, struct sb_job_cipher *items, size_t n)
{
	struct fake *f = ctx;
	f->decrypt_calls++;
	f->items += n;
	for (size_t i = 0; i < n; i++)
		fake_one(&items[i]);
	return SB_OK_RESULT;
}

static inline sb_result fake_attest(void *ctx, struct sb_slice user_data, struct sb_buf *doc)
{
	struct fake *f = ctx;
	assert_int_equal(user_data.len, 48);
	memcpy(f->last_user_data, user_data.ptr, 48);
	return sb_buf_append_str(doc, "DOC");
}

/*
 * The fake KMS for data keys: an encrypted data key is "<key-arn>|<context>|"
 * (context as above); its plaintext is the data key of that ARN (see
 * fake_data_key). The same refusals as fake_one.
 */
static inline void fake_data_key(const char *arn, uint8_t key[32])
{
	size_t n = strlen(arn);
	for (size_t i = 0; i < 32; i++)
		key[i] = (uint8_t)arn[n - 32 + i] ^ 0x5a;
}

static inline sb_result fake_unwrap(void *ctx, const struct sb_job_unwrap *in,
                                    struct sb_buf *data_key, char key_arn[SB_JOB_KEY_ARN_MAX])
{
	struct fake *f = ctx;
	char want[1024], arn[SB_JOB_KEY_ARN_MAX];
	uint8_t key[32];
	f->unwrap_calls++;
	context_text(in->context, in->n_context, want, sizeof(want));
	const char *s = (const char *)in->ciphertext.ptr;
	const char *bar1 = memchr(s, '|', in->ciphertext.len);
	if (bar1 == NULL || (size_t)(bar1 - s) >= sizeof(arn) ||
	    in->ciphertext.len != (size_t)(bar1 - s) + strlen(want) + 2 ||
	    memcmp(bar1 + 1, want, strlen(want)) != 0)
		return sb_error_recordf(SB_ERR_DECRYPT, SB_HERE,
		                        "KMS Decrypt: InvalidCiphertextException");
	memcpy(arn, s, (size_t)(bar1 - s));
	arn[bar1 - s] = '\0';
	if (strcmp(in->key_id, "alias/buyer2") == 0 && strcmp(arn, ARN2) != 0)
		return sb_error_recordf(SB_ERR_WRONG_KEY, SB_HERE,
		                        "KMS Decrypt: IncorrectKeyException");
	fake_data_key(arn, key);
	snprintf(key_arn, SB_JOB_KEY_ARN_MAX, "%s", arn);
	return sb_buf_append(data_key, key, sizeof(key));
}

#endif
