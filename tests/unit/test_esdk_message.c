/*
 * Unit tests for src/esdk: AWS Encryption SDK messages.
 *
 * Known answers: messages made by the AWS Encryption SDK for JavaScript
 * (tests/data/esdk/README.md) with a raw AES keyring; the test unwraps
 * the data key the way that keyring does (AES-GCM, AAD = the serialized
 * encryption context) and decrypts with sb_esdk. Then round trips through
 * sb_esdk's encryptor, and every tamper case of issue 9 with its error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_buf.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "crypto/sb_aead.h"
#include "esdk/sb_esdk.h"

#define MAX_MSG    (8u << 20)
#define MAX_FRAMES 256

static const uint8_t fixed_id[SB_ESDK_MESSAGE_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t test_data_key[SB_ESDK_DATA_KEY_LEN] = {
    0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba,
    0xcb, 0xdc, 0xed, 0xfe, 0x0f, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
    0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00};
static const char test_arn[] = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
#define MANIFEST_HEX                                                                               \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaa"
static const struct sb_esdk_pair job_ctx[] = {
    {"sealbid:manifest", MANIFEST_HEX},
    {"sealbid:party", "Buyer1"},
};

/* ---- helpers ------------------------------------------------------------- */

static struct sb_buf load(const char *name)
{
	char path[512];
	struct sb_buf b = SB_BUF_INIT(MAX_MSG);

	snprintf(path, sizeof(path), "%s/esdk/%s", SB_TEST_DATA, name);
	assert_true(sb_ok(sb_file_read(path, &b)));
	return b;
}

/* Where the pieces of a well-formed message are. */
struct parts {
	size_t header_len;
	size_t nframes;
	size_t frame_off[MAX_FRAMES], frame_len[MAX_FRAMES];
	size_t footer_off, footer_len;
};

static void split(struct sb_slice m, struct parts *p)
{
	struct sb_esdk_header h;
	struct sb_esdk_body b;
	struct sb_esdk_frame f;
	size_t off, used = 0;

	memset(p, 0, sizeof(*p));
	assert_true(sb_ok(sb_esdk_header_parse(m, &h, &p->header_len)));
	assert_true(sb_ok(sb_esdk_body_init(&b, &h)));
	off = p->header_len;
	do {
		assert_true(p->nframes < MAX_FRAMES);
		assert_true(sb_ok(sb_esdk_body_next(&b, SB_SLICE(m.ptr + off, m.len - off), &f, &used)));
		p->frame_off[p->nframes] = off;
		p->frame_len[p->nframes++] = used;
		off += used;
	} while (!f.final);
	p->footer_off = off;
	p->footer_len = m.len - off;
	sb_esdk_body_cleanup(&b);
	sb_esdk_header_cleanup(&h);
}

/* The raw AES keyring's unwrap (provider info: name, u32 tag bits, u32 IV len, IV). */
static void raw_aes_unwrap(const struct sb_esdk_header *h, uint8_t dk[SB_ESDK_DATA_KEY_LEN])
{
	static const char name[] = "sealbid-test-key";
	struct sb_buf wrap = SB_BUF_INIT(64), out = SB_BUF_INIT_SECRET(64);
	struct sb_buf hexkey = load("wrapping_key.hex");
	const size_t name_len = sizeof(name) - 1;

	assert_true(sb_ok(sb_hex_decode(SB_SLICE(hexkey.data, 64), &wrap)));
	assert_int_equal(h->nedks, 1);
	const struct sb_esdk_edk *e = &h->edks[0];
	assert_true(sb_slice_eq_str(sb_buf_slice(&e->provider_id), "sealbid-test"));
	assert_int_equal(e->provider_info.len, name_len + 4 + 4 + 12);
	assert_memory_equal(e->provider_info.data, name, name_len);
	/* AAD: the serialized context, i.e. the header's AAD field without its length. */
	size_t kv_len = (size_t)h->raw.data[35] << 8 | h->raw.data[36];
	assert_true(sb_ok(sb_aes256gcm_open(wrap.data, e->provider_info.data + name_len + 8,
					    SB_SLICE(h->raw.data + 37, kv_len),
					    sb_buf_slice(&e->ciphertext), &out)));
	assert_int_equal(out.len, SB_ESDK_DATA_KEY_LEN);
	memcpy(dk, out.data, SB_ESDK_DATA_KEY_LEN);
	sb_buf_cleanup(&wrap);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&hexkey);
}

/*
 * Parses, derives (with data key dk), decrypts: the error code (SB_OK = 0
 * on success). On failure pt must be empty: nothing unverified leaves.
 */
static int open_all(struct sb_slice m, const uint8_t *dk, struct sb_buf *pt)
{
	struct sb_esdk_header h;
	struct sb_esdk_key *k = NULL;
	size_t used = 0;
	sb_result rc = sb_esdk_header_parse(m, &h, &used);

	sb_buf_reset(pt);
	if (!sb_ok(rc))
		return rc.code;
	rc = sb_esdk_key_new(&h, SB_SLICE(dk, SB_ESDK_DATA_KEY_LEN), &k);
	if (sb_ok(rc))
		rc = sb_esdk_decrypt_body(&h, k, m, used, pt);
	if (!sb_ok(rc))
		assert_int_equal(pt->len, 0);
	sb_esdk_key_free(k);
	sb_esdk_header_cleanup(&h);
	return rc.code;
}

/* Encrypts pt with sb_esdk's encryptor (fixed test key, one aws-kms EDK). */
static struct sb_buf seal(uint16_t suite, uint32_t frame_len, struct sb_slice pt, size_t chunk)
{
	struct sb_esdk_encryptor *e = NULL;
	struct sb_buf out = SB_BUF_INIT(MAX_MSG);
	struct sb_esdk_edk edk = {SB_BUF_INIT(64), SB_BUF_INIT(256), SB_BUF_INIT(256)};

	assert_true(sb_ok(sb_buf_append_str(&edk.provider_id, SB_ESDK_KMS_PROVIDER_ID)));
	assert_true(sb_ok(sb_buf_append_str(&edk.provider_info, test_arn)));
	assert_true(sb_ok(sb_buf_append_str(&edk.ciphertext, "opaque KMS ciphertext blob")));
	assert_true(sb_ok(sb_esdk_encryptor_new(suite, job_ctx, 2, frame_len, &e)));
	assert_true(sb_ok(sb_esdk_encryptor_set_message_id(e, fixed_id)));
	assert_true(sb_ok(sb_esdk_encryptor_start(e, SB_SLICE(test_data_key, 32), &edk, 1, &out)));
	for (size_t off = 0; off < pt.len; off += chunk) {
		size_t n = pt.len - off < chunk ? pt.len - off : chunk;
		assert_true(sb_ok(sb_esdk_encryptor_update(e, SB_SLICE(pt.ptr + off, n), &out)));
	}
	assert_true(sb_ok(sb_esdk_encryptor_final(e, &out)));
	sb_esdk_encryptor_free(e);
	sb_buf_cleanup(&edk.provider_id);
	sb_buf_cleanup(&edk.provider_info);
	sb_buf_cleanup(&edk.ciphertext);
	return out;
}

/* A message made of pieces of m: [off, off+len) pairs, ended by len 0 and off 0. */
static struct sb_buf splice(struct sb_slice m, const size_t *pieces)
{
	struct sb_buf out = SB_BUF_INIT(MAX_MSG);

	for (size_t i = 0; pieces[i + 1] != 0; i += 2)
		assert_true(sb_ok(sb_buf_append(&out, m.ptr + pieces[i], pieces[i + 1])));
	return out;
}

/* ---- known answers from the AWS Encryption SDK for JavaScript ------------ */

static void kat_check(const char *name, uint16_t suite, size_t frames)
{
	struct sb_buf m = load(name), want = load("plaintext.csv");
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);
	struct sb_esdk_header h;
	struct parts p;
	uint8_t dk[32];
	size_t used = 0;

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &used)));
	assert_int_equal(h.suite, suite);
	assert_int_equal(h.npairs, suite == SB_ESDK_SUITE_COMMIT_SIG ? 3 : 2);
	assert_true(sb_ok(sb_esdk_header_check_context(&h, job_ctx, 2)));
	assert_string_equal(sb_esdk_header_context(&h, "sealbid:party"), "Buyer1");
	assert_null(sb_esdk_header_context(&h, "sealbid:property"));
	raw_aes_unwrap(&h, dk);
	sb_esdk_header_cleanup(&h);

	assert_int_equal(open_all(sb_buf_slice(&m), dk, &pt), SB_OK);
	assert_int_equal(pt.len, want.len);
	assert_memory_equal(pt.data, want.data, want.len);
	split(sb_buf_slice(&m), &p);
	assert_int_equal(p.nframes, frames);
	assert_int_equal(p.footer_len == 0, suite == SB_ESDK_SUITE_COMMIT);
	sb_buf_cleanup(&m);
	sb_buf_cleanup(&want);
	sb_buf_cleanup(&pt);
}

static void test_kat_js(void **state)
{
	(void)state;
	/* 208 bytes: 64-byte frames give 3 regular + a final of 16. */
	kat_check("kat_0478.bin", SB_ESDK_SUITE_COMMIT, 4);
	kat_check("kat_0578.bin", SB_ESDK_SUITE_COMMIT_SIG, 4);
	/* 208 = 4 x 52: the JS SDK writes 4 regular frames and an empty final one. */
	kat_check("kat_0478_exact.bin", SB_ESDK_SUITE_COMMIT, 5);
	kat_check("kat_0578_default_frame.bin", SB_ESDK_SUITE_COMMIT_SIG, 1);
}

/* Every strict prefix of a header asks for more; the whole one parses. */
static void test_header_incremental(void **state)
{
	(void)state;
	struct sb_buf m = load("kat_0578.bin");
	struct sb_esdk_header h;
	struct parts p;
	size_t used = 1;

	split(sb_buf_slice(&m), &p);
	for (size_t n = 0; n < p.header_len; n++) {
		assert_int_equal(sb_esdk_header_parse(SB_SLICE(m.data, n), &h, &used).code,
				 SB_ERR_ESDK_SHORT);
		assert_int_equal(used, 0);
	}
	assert_true(sb_ok(sb_esdk_header_parse(SB_SLICE(m.data, p.header_len), &h, &used)));
	assert_int_equal(used, p.header_len);
	assert_int_equal(h.raw.len, p.header_len);
	sb_esdk_header_cleanup(&h);
	sb_esdk_header_cleanup(&h); /* idempotent */
	sb_buf_cleanup(&m);
}

/* The body reader fed a growing prefix, as the enclave's stream would. */
static void test_body_streaming(void **state)
{
	(void)state;
	struct sb_buf m = seal(SB_ESDK_SUITE_COMMIT_SIG, 100, SB_SLICE_LIT(
		"[].contract,[].bid\nproperty-1,1\nproperty-2,2\nproperty-3,3\nproperty-4,4\n"
		"property-5,5\nproperty-6,6\nproperty-7,7\nproperty-8,8\nproperty-9,9\n"
		"property-10,10\nproperty-11,11\nproperty-12,12\n"), 7);
	struct sb_esdk_header h;
	struct sb_esdk_key *k = NULL;
	struct sb_esdk_body b;
	struct sb_esdk_frame f;
	size_t off = 0, avail, used = 0, frames = 0;
	uint8_t out[100];

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &off)));
	assert_true(sb_ok(sb_esdk_key_new(&h, SB_SLICE(test_data_key, 32), &k)));
	assert_true(sb_ok(sb_esdk_body_init(&b, &h)));
	for (avail = off; b.state == SB_ESDK_BODY_FRAMES; avail++) {
		assert_true(avail <= m.len);
		sb_result rc = sb_esdk_body_next(&b, SB_SLICE(m.data + off, avail - off), &f, &used);
		if (rc.code == SB_ERR_ESDK_SHORT)
			continue;
		assert_true(sb_ok(rc));
		assert_int_equal(f.seq, ++frames);
		assert_true(sb_ok(sb_esdk_frame_open(k, &f, out)));
		off += used;
	}
	assert_int_equal(sb_esdk_body_end(&b, 0).code, SB_ERR_ESDK_SIG_MISSING);
	for (avail = off; !sb_esdk_body_done(&b); avail++) {
		sb_result rc = sb_esdk_body_footer(&b, SB_SLICE(m.data + off, avail - off), &used);
		assert_true(sb_ok(rc) || rc.code == SB_ERR_ESDK_SHORT);
	}
	assert_int_equal(off + used, m.len);
	assert_true(sb_ok(sb_esdk_body_end(&b, 0)));
	assert_int_equal(sb_esdk_body_end(&b, 1).code, SB_ERR_ESDK_TRAILING);
	/* Nothing more is accepted once complete. */
	assert_int_equal(sb_esdk_body_next(&b, sb_buf_slice(&m), &f, &used).code,
			 SB_ERR_ESDK_BAD_STATE);
	sb_esdk_body_cleanup(&b);
	sb_esdk_key_free(k);
	sb_esdk_header_cleanup(&h);
	sb_buf_cleanup(&m);
}

/* ---- round trips through sb_esdk's encryptor ----------------------------- */

static void test_round_trips(void **state)
{
	(void)state;
	static const uint16_t suites[] = {SB_ESDK_SUITE_COMMIT, SB_ESDK_SUITE_COMMIT_SIG};
	static const size_t sizes[] = {0, 1, 99, 100, 101, 300, 1000, 12345};
	static const size_t chunks[] = {1, 7, 100, 1 << 20};
	static uint8_t data[12345];
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	for (size_t s = 0; s < 2; s++) {
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
				struct sb_buf m = seal(suites[s], 100, SB_SLICE(data, sizes[z]),
						       chunks[c]);
				struct parts p;
				assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_OK);
				assert_int_equal(pt.len, sizes[z]);
				assert_memory_equal(pt.data, data, sizes[z]);
				/* Frames: the final one holds 1..100 bytes unless the plaintext is empty. */
				split(sb_buf_slice(&m), &p);
				assert_int_equal(p.nframes, sizes[z] == 0 ? 1 : (sizes[z] + 99) / 100);
				sb_buf_cleanup(&m);
			}
		}
	}
	sb_buf_cleanup(&pt);
}

/* Same inputs and message id give the same bytes whatever the chunking (0x0478). */
static void test_encryptor_deterministic(void **state)
{
	(void)state;
	static uint8_t data[5000];
	memset(data, 'x', sizeof(data));
	struct sb_buf a = seal(SB_ESDK_SUITE_COMMIT, 256, SB_SLICE(data, sizeof(data)), 1);
	struct sb_buf b = seal(SB_ESDK_SUITE_COMMIT, 256, SB_SLICE(data, sizeof(data)), 4096);

	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	sb_buf_cleanup(&a);
	sb_buf_cleanup(&b);
}

static void test_encryptor_context(void **state)
{
	(void)state;
	struct sb_esdk_encryptor *e = NULL;
	const struct sb_esdk_pair *pairs = NULL;
	size_t n = 0;
	const struct sb_esdk_pair reserved[] = {{SB_ESDK_PUBLIC_KEY_CTX, "x"}};
	const struct sb_esdk_pair dup[] = {{"a", "1"}, {"a", "2"}};
	const struct sb_esdk_pair empty[] = {{"", "1"}};
	const struct sb_esdk_pair binary[] = {{"a", "\xff\xfe"}};

	/* 0x0578: the public key joins the context, sorted, before any KMS call. */
	assert_true(sb_ok(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT_SIG, job_ctx, 2, 0, &e)));
	sb_esdk_encryptor_context(e, &pairs, &n);
	assert_int_equal(n, 3);
	assert_string_equal(pairs[0].key, SB_ESDK_PUBLIC_KEY_CTX);
	assert_int_equal(strlen(pairs[0].value), 68); /* base64 of 49 bytes */
	assert_string_equal(pairs[1].key, "sealbid:manifest");
	assert_string_equal(pairs[2].key, "sealbid:party");
	/* update before start is refused. */
	struct sb_buf out = SB_BUF_INIT(1024);
	assert_int_equal(sb_esdk_encryptor_update(e, SB_SLICE_LIT("x"), &out).code,
			 SB_ERR_ESDK_BAD_STATE);
	sb_esdk_encryptor_free(e);
	e = NULL;
	/* A data key of the wrong size, no EDK: refused, nothing written. */
	assert_true(sb_ok(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, job_ctx, 2, 0, &e)));
	sb_esdk_encryptor_context(e, &pairs, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sb_esdk_encryptor_start(e, SB_SLICE(test_data_key, 16), NULL, 0, &out).code,
			 SB_ERR_ESDK_BAD_DATA_KEY);
	assert_int_equal(out.len, 0);
	sb_esdk_encryptor_free(e);
	assert_true(sb_ok(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, job_ctx, 2, 0, &e)));
	assert_int_equal(sb_esdk_encryptor_start(e, SB_SLICE(test_data_key, 32), NULL, 0, &out).code,
			 SB_ERR_ESDK_TOO_MANY_EDKS);
	assert_int_equal(out.len, 0);
	sb_esdk_encryptor_free(e);
	sb_buf_cleanup(&out);

	e = NULL;
	assert_int_equal(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT_SIG, reserved, 1, 0, &e).code,
			 SB_ERR_ESDK_BAD_CONTEXT);
	assert_int_equal(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, dup, 2, 0, &e).code,
			 SB_ERR_ESDK_BAD_CONTEXT);
	assert_int_equal(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, empty, 1, 0, &e).code,
			 SB_ERR_ESDK_BAD_CONTEXT);
	assert_int_equal(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, binary, 1, 0, &e).code,
			 SB_ERR_ESDK_BAD_CONTEXT);
	assert_int_equal(sb_esdk_encryptor_new(0x0378, job_ctx, 2, 0, &e).code,
			 SB_ERR_ESDK_NON_COMMITTING);
	assert_int_equal(sb_esdk_encryptor_new(0x0999, job_ctx, 2, 0, &e).code,
			 SB_ERR_ESDK_UNSUPPORTED_SUITE);
	assert_int_equal(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, job_ctx, 2,
					       SB_ESDK_MAX_FRAME_LEN + 1, &e).code,
			 SB_ERR_ESDK_BAD_FRAME_LENGTH);
	assert_null(e);
}

/* ---- context and EDK choice ---------------------------------------------- */

static bool arn_equal(const char *declared, const char *arn)
{
	return strcmp(declared, arn) == 0;
}

static void test_context_and_edk(void **state)
{
	(void)state;
	struct sb_buf m = seal(SB_ESDK_SUITE_COMMIT_SIG, 100, SB_SLICE_LIT("x"), 1);
	struct sb_esdk_header h;
	const struct sb_esdk_edk *edk = NULL;
	size_t used = 0;
	const struct sb_esdk_pair other_party[] = {{"sealbid:manifest", MANIFEST_HEX},
						   {"sealbid:party", "Buyer2"}};
	const struct sb_esdk_pair missing[] = {{"sealbid:manifest", MANIFEST_HEX}};
	const struct sb_esdk_pair extra[] = {{"sealbid:manifest", MANIFEST_HEX},
					     {"sealbid:party", "Buyer1"},
					     {"sealbid:job", "1"}};

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &used)));
	assert_true(sb_ok(sb_esdk_header_check_context(&h, job_ctx, 2)));
	assert_int_equal(sb_esdk_header_check_context(&h, other_party, 2).code,
			 SB_ERR_ESDK_CONTEXT_MISMATCH);
	/* The detail names the key, never the value. */
	assert_null(strstr(sb_error_detail(), "Buyer"));
	assert_non_null(strstr(sb_error_detail(), "sealbid:party"));
	assert_int_equal(sb_esdk_header_check_context(&h, missing, 1).code,
			 SB_ERR_ESDK_CONTEXT_MISMATCH);
	assert_int_equal(sb_esdk_header_check_context(&h, extra, 3).code,
			 SB_ERR_ESDK_CONTEXT_MISMATCH);

	assert_true(sb_ok(sb_esdk_header_find_kms_edk(&h, arn_equal, test_arn, &edk)));
	assert_string_equal(sb_buf_cstr(&edk->provider_info), test_arn);
	assert_true(sb_slice_eq_str(sb_buf_slice(&edk->ciphertext), "opaque KMS ciphertext blob"));
	assert_int_equal(sb_esdk_header_find_kms_edk(&h, arn_equal, "arn:aws:kms:other", &edk).code,
			 SB_ERR_ESDK_NO_EDK);
	assert_null(edk);
	sb_esdk_header_cleanup(&h);
	sb_buf_cleanup(&m);

	/* The JS message's only EDK is a raw AES one: no aws-kms EDK at all. */
	m = load("kat_0478.bin");
	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &used)));
	assert_int_equal(sb_esdk_header_find_kms_edk(&h, arn_equal, test_arn, &edk).code,
			 SB_ERR_ESDK_NO_EDK);
	sb_esdk_header_cleanup(&h);
	sb_buf_cleanup(&m);
}

/* ---- tampering ----------------------------------------------------------- */

/* Any single byte changed anywhere: refused, and no plaintext released. */
static void tamper_every_byte(const char *name)
{
	struct sb_buf m = load(name), pt = SB_BUF_INIT_SECRET(MAX_MSG);
	struct sb_esdk_header h;
	uint8_t dk[32];
	size_t used = 0;

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &used)));
	raw_aes_unwrap(&h, dk);
	sb_esdk_header_cleanup(&h);
	for (size_t i = 0; i < m.len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			m.data[i] ^= (uint8_t)(1u << bit);
			int code = open_all(sb_buf_slice(&m), dk, &pt);
			if (code == SB_OK)
				fail_msg("%s: byte %zu bit %d changed and still accepted", name, i,
					 bit);
			m.data[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(open_all(sb_buf_slice(&m), dk, &pt), SB_OK);
	sb_buf_cleanup(&m);
	sb_buf_cleanup(&pt);
}

static void test_tamper_any_byte(void **state)
{
	(void)state;
	tamper_every_byte("kat_0478.bin");
	tamper_every_byte("kat_0578.bin");
}

/* Frames dropped, duplicated, reordered; final frame, footer missing; bytes appended. */
static void frames_tamper(uint16_t suite)
{
	static uint8_t data[450];
	memset(data, 'b', sizeof(data));
	struct sb_buf m = seal(suite, 100, SB_SLICE(data, sizeof(data)), 1000);
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);
	struct sb_slice s = sb_buf_slice(&m);
	struct parts p;
	split(s, &p);
	assert_int_equal(p.nframes, 5);
	size_t H = p.header_len, *o = p.frame_off, *l = p.frame_len;
	size_t F = p.footer_off, FL = p.footer_len;
	const struct {
		const char *what;
		size_t pieces[20];
		int want;
	} cases[] = {
	    {"frame 2 dropped", {0, H, o[0], l[0], o[2], F - o[2] + FL, 0, 0}, SB_ERR_ESDK_FRAME_SEQ},
	    {"frame 2 twice", {0, o[2], o[1], F - o[1] + FL, 0, 0}, SB_ERR_ESDK_FRAME_SEQ},
	    {"frames 2 and 3 swapped",
	     {0, H + l[0], o[2], l[2], o[1], l[1], o[3], F - o[3] + FL, 0, 0},
	     SB_ERR_ESDK_FRAME_SEQ},
	    {"final frame missing", {0, o[4], 0, 0}, SB_ERR_ESDK_FINAL_MISSING},
	    {"final frame cut", {0, o[4] + 10, 0, 0}, SB_ERR_ESDK_TRUNCATED},
	    {"header only", {0, H, 0, 0}, SB_ERR_ESDK_FINAL_MISSING},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_buf t = splice(s, cases[i].pieces);
		int got = open_all(sb_buf_slice(&t), test_data_key, &pt);
		if (got != cases[i].want)
			fail_msg("suite %04x, %s: %s, want %s", suite, cases[i].what,
				 sb_error_name(got), sb_error_name(cases[i].want));
		sb_buf_cleanup(&t);
	}
	/* The footer: missing, cut, a byte of the signature changed; bytes appended. */
	struct sb_buf t = splice(s, (size_t[]){0, F, 0, 0});
	assert_int_equal(open_all(sb_buf_slice(&t), test_data_key, &pt),
			 suite == SB_ESDK_SUITE_COMMIT ? SB_OK : SB_ERR_ESDK_SIG_MISSING);
	sb_buf_cleanup(&t);
	if (suite == SB_ESDK_SUITE_COMMIT_SIG) {
		t = splice(s, (size_t[]){0, m.len - 1, 0, 0});
		assert_int_equal(open_all(sb_buf_slice(&t), test_data_key, &pt),
				 SB_ERR_ESDK_TRUNCATED);
		sb_buf_cleanup(&t);
		m.data[m.len - 5] ^= 0x10;
		assert_int_equal(open_all(s, test_data_key, &pt), SB_ERR_ESDK_SIG_INVALID);
		m.data[m.len - 5] ^= 0x10;
		m.data[F + 1] = 0; /* signature length 0 */
		assert_int_equal(open_all(s, test_data_key, &pt), SB_ERR_ESDK_SIG_INVALID);
		m.data[F + 1] = (uint8_t)(FL - 2);
	}
	assert_true(sb_ok(sb_buf_append_u8(&m, 0)));
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_ERR_ESDK_TRAILING);
	m.len--;
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_OK);
	sb_buf_cleanup(&m);
	sb_buf_cleanup(&pt);
}

static void test_tamper_frames(void **state)
{
	(void)state;
	frames_tamper(SB_ESDK_SUITE_COMMIT);
	frames_tamper(SB_ESDK_SUITE_COMMIT_SIG);
}

/* A frame's IV, tag, content; the final frame's length field. */
static void test_tamper_frame_fields(void **state)
{
	(void)state;
	static uint8_t data[250];
	memset(data, 'c', sizeof(data));
	struct sb_buf m = seal(SB_ESDK_SUITE_COMMIT, 100, SB_SLICE(data, sizeof(data)), 1000);
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);
	struct parts p;
	split(sb_buf_slice(&m), &p);
	size_t f1 = p.frame_off[1], fin = p.frame_off[2];

	m.data[f1 + 4 + 3] ^= 1; /* IV byte (zero padding) of frame 2 */
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_ERR_ESDK_BAD_IV);
	m.data[f1 + 4 + 3] ^= 1;
	m.data[f1 + 4 + 12 + 50] ^= 1; /* content */
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_ERR_ESDK_FRAME_AUTH);
	m.data[f1 + 4 + 12 + 50] ^= 1;
	m.data[f1 + p.frame_len[1] - 1] ^= 1; /* tag */
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_ERR_ESDK_FRAME_AUTH);
	m.data[f1 + p.frame_len[1] - 1] ^= 1;
	m.data[fin + 4 + 4 + 12 + 3] = 101; /* final frame content length > frame length */
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt),
			 SB_ERR_ESDK_BAD_FRAME_LENGTH);
	m.data[fin + 4 + 4 + 12 + 3] = 49; /* shorter than it is */
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_ERR_ESDK_FRAME_AUTH);
	m.data[fin + 4 + 4 + 12 + 3] = 50;
	assert_int_equal(open_all(sb_buf_slice(&m), test_data_key, &pt), SB_OK);
	assert_int_equal(pt.len, 250);
	sb_buf_cleanup(&m);
	sb_buf_cleanup(&pt);
}

/* Header from another message; another data key; the commitment; the context. */
static void test_tamper_header(void **state)
{
	(void)state;
	static uint8_t data[250];
	memset(data, 'd', sizeof(data));
	struct sb_buf a = seal(SB_ESDK_SUITE_COMMIT, 100, SB_SLICE(data, sizeof(data)), 1000);
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);
	uint8_t other_key[32];
	memcpy(other_key, test_data_key, 32);
	other_key[0] ^= 1;
	struct parts p;
	split(sb_buf_slice(&a), &p);

	/* The JS message's header (a genuine header, with its own data key) on a's body. */
	struct sb_buf js = load("kat_0478.bin"), mixed = SB_BUF_INIT(MAX_MSG);
	struct sb_esdk_header h;
	struct parts pj;
	uint8_t js_key[32];
	size_t used = 0;
	split(sb_buf_slice(&js), &pj);
	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&js), &h, &used)));
	raw_aes_unwrap(&h, js_key);
	sb_esdk_header_cleanup(&h);
	assert_true(sb_ok(sb_buf_append(&mixed, js.data, pj.header_len)));
	assert_true(sb_ok(sb_buf_append(&mixed, a.data + p.header_len, a.len - p.header_len)));
	/* 64-byte frames there, 100 here: a's first frame does not even have the right length. */
	assert_int_not_equal(open_all(sb_buf_slice(&mixed), js_key, &pt), SB_OK);
	sb_buf_cleanup(&mixed);
	/* Same frame length: a second message under another message id. */
	struct sb_esdk_encryptor *e = NULL;
	struct sb_esdk_edk edk = {SB_BUF_INIT(64), SB_BUF_INIT(256), SB_BUF_INIT(64)};
	struct sb_buf b = SB_BUF_INIT(MAX_MSG);
	assert_true(sb_ok(sb_buf_append_str(&edk.provider_id, "aws-kms")));
	assert_true(sb_ok(sb_buf_append_str(&edk.provider_info, test_arn)));
	assert_true(sb_ok(sb_buf_append_str(&edk.ciphertext, "blob")));
	assert_true(sb_ok(sb_esdk_encryptor_new(SB_ESDK_SUITE_COMMIT, job_ctx, 2, 100, &e)));
	assert_true(sb_ok(sb_esdk_encryptor_start(e, SB_SLICE(test_data_key, 32), &edk, 1, &b)));
	sb_esdk_encryptor_free(e);
	assert_true(sb_ok(sb_buf_append(&b, a.data + p.header_len, a.len - p.header_len)));
	assert_int_equal(open_all(sb_buf_slice(&b), test_data_key, &pt), SB_ERR_ESDK_FRAME_AUTH);
	sb_buf_cleanup(&b);
	sb_buf_cleanup(&edk.provider_id);
	sb_buf_cleanup(&edk.provider_info);
	sb_buf_cleanup(&edk.ciphertext);
	sb_buf_cleanup(&js);

	/* A data key from another party (another key): the commitment does not match. */
	assert_int_equal(open_all(sb_buf_slice(&a), other_key, &pt), SB_ERR_ESDK_COMMITMENT);
	/* The commitment (the last 32 bytes before the 16-byte tag) changed. */
	a.data[p.header_len - 16 - 1] ^= 1;
	assert_int_equal(open_all(sb_buf_slice(&a), test_data_key, &pt), SB_ERR_ESDK_COMMITMENT);
	a.data[p.header_len - 16 - 1] ^= 1;
	/* The party name in the context changed: header authentication fails. */
	uint8_t *party = memmem(a.data, p.header_len, "Buyer1", 6);
	assert_non_null(party);
	party[5] = '2';
	assert_int_equal(open_all(sb_buf_slice(&a), test_data_key, &pt), SB_ERR_ESDK_HEADER_AUTH);
	party[5] = '1';
	/* The header tag itself. */
	a.data[p.header_len - 1] ^= 1;
	assert_int_equal(open_all(sb_buf_slice(&a), test_data_key, &pt), SB_ERR_ESDK_HEADER_AUTH);
	a.data[p.header_len - 1] ^= 1;
	assert_int_equal(open_all(sb_buf_slice(&a), test_data_key, &pt), SB_OK);
	sb_buf_cleanup(&a);
	sb_buf_cleanup(&pt);
}

/* ---- header fields refused ----------------------------------------------- */

/* A hand-built header: version, suite, AAD (kv bytes), one EDK, content type, frame length. */
static struct sb_buf header_bytes(uint8_t version, uint16_t suite, struct sb_slice kv,
				  uint16_t nedks, uint8_t content, uint32_t frame_len)
{
	struct sb_buf b = SB_BUF_INIT(1 << 20);
	uint8_t zero[32] = {0};

	assert_true(sb_ok(sb_buf_append_u8(&b, version)));
	assert_true(sb_ok(sb_buf_append_be16(&b, suite)));
	assert_true(sb_ok(sb_buf_append(&b, zero, 32)));
	assert_true(sb_ok(sb_buf_append_be16(&b, (uint16_t)kv.len)));
	assert_true(sb_ok(sb_buf_append_slice(&b, kv)));
	assert_true(sb_ok(sb_buf_append_be16(&b, nedks)));
	for (uint16_t i = 0; i < nedks; i++)
		assert_true(sb_ok(sb_buf_append(&b, "\0\1p\0\1i\0\1c", 9)));
	assert_true(sb_ok(sb_buf_append_u8(&b, content)));
	assert_true(sb_ok(sb_buf_append_be32(&b, frame_len)));
	assert_true(sb_ok(sb_buf_append(&b, zero, 32)));  /* commitment */
	assert_true(sb_ok(sb_buf_append(&b, zero, 16)));  /* header auth tag */
	return b;
}

static int parse_code(struct sb_buf b)
{
	struct sb_esdk_header h;
	size_t used = 0;
	sb_result rc = sb_esdk_header_parse(sb_buf_slice(&b), &h, &used);

	if (sb_ok(rc)) {
		assert_int_equal(used, b.len);
		sb_esdk_header_cleanup(&h);
	}
	sb_buf_cleanup(&b);
	return rc.code;
}

#define KV(s) SB_SLICE_LIT(s)

static void test_header_refusals(void **state)
{
	(void)state;
	const struct sb_slice one = KV("\0\1\0\1a\0\1b");
	const uint16_t C = SB_ESDK_SUITE_COMMIT;

	assert_int_equal(parse_code(header_bytes(2, C, one, 1, 2, 4096)), SB_OK);
	assert_int_equal(parse_code(header_bytes(2, C, KV(""), 1, 2, 4096)), SB_OK);
	assert_int_equal(parse_code(header_bytes(1, C, one, 1, 2, 4096)), SB_ERR_ESDK_BAD_VERSION);
	assert_int_equal(parse_code(header_bytes(3, C, one, 1, 2, 4096)), SB_ERR_ESDK_BAD_VERSION);
	static const uint16_t weak[] = {0x0014, 0x0046, 0x0078, 0x0114, 0x0146,
					0x0178, 0x0214, 0x0346, 0x0378};
	for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++)
		assert_int_equal(parse_code(header_bytes(2, weak[i], one, 1, 2, 4096)),
				 SB_ERR_ESDK_NON_COMMITTING);
	assert_int_equal(parse_code(header_bytes(2, 0x0678, one, 1, 2, 4096)),
			 SB_ERR_ESDK_UNSUPPORTED_SUITE);
	assert_int_equal(parse_code(header_bytes(2, C, one, 1, 1, 4096)), SB_ERR_ESDK_NOT_FRAMED);
	assert_int_equal(parse_code(header_bytes(2, C, one, 1, 3, 4096)), SB_ERR_ESDK_NOT_FRAMED);
	assert_int_equal(parse_code(header_bytes(2, C, one, 1, 2, 0)), SB_ERR_ESDK_BAD_FRAME_LENGTH);
	assert_int_equal(parse_code(header_bytes(2, C, one, 1, 2, SB_ESDK_MAX_FRAME_LEN + 1)),
			 SB_ERR_ESDK_BAD_FRAME_LENGTH);
	assert_int_equal(parse_code(header_bytes(2, C, one, 0, 2, 4096)), SB_ERR_ESDK_BAD_EDK);
	assert_int_equal(parse_code(header_bytes(2, C, one, SB_ESDK_MAX_EDKS, 2, 4096)), SB_OK);
	assert_int_equal(parse_code(header_bytes(2, C, one, SB_ESDK_MAX_EDKS + 1, 2, 4096)),
			 SB_ERR_ESDK_TOO_MANY_EDKS);
	/* Context: duplicate key, count 0, overrun, trailing bytes, NUL, bad UTF-8, empty key. */
	const struct {
		struct sb_slice kv;
		int want;
	} ctx[] = {
	    {KV("\0\2\0\1a\0\1b\0\1a\0\1c"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\0"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\1\0\1a\0\5b"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\1\0\1a\0\1bX"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\2\0\1a\0\1b"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\1\0\1a\0\1\0"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\1\0\1a\0\2\xc0\xaf"), SB_ERR_ESDK_BAD_CONTEXT}, /* overlong '/' */
	    {KV("\0\1\0\1a\0\3\xed\xa0\x80"), SB_ERR_ESDK_BAD_CONTEXT}, /* surrogate */
	    {KV("\0\1\0\0\0\1b"), SB_ERR_ESDK_BAD_CONTEXT},
	    {KV("\0\1\0\1a\0\2\xc3\xa9"), SB_OK}, /* "é" */
	    /* The reserved key with the unsigned suite. */
	    {KV("\0\1\0\x15" "aws-crypto-public-key\0\1x"), SB_ERR_ESDK_BAD_CONTEXT},
	};
	for (size_t i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++) {
		int got = parse_code(header_bytes(2, C, ctx[i].kv, 1, 2, 4096));
		if (got != ctx[i].want)
			fail_msg("context case %zu: %s, want %s", i, sb_error_name(got),
				 sb_error_name(ctx[i].want));
	}
	/* 0x0578 without the public key, or with one that is not a point. */
	assert_int_equal(parse_code(header_bytes(2, SB_ESDK_SUITE_COMMIT_SIG, one, 1, 2, 4096)),
			 SB_ERR_ESDK_PUBLIC_KEY);
	assert_int_equal(parse_code(header_bytes(2, SB_ESDK_SUITE_COMMIT_SIG,
						 KV("\0\1\0\x15" "aws-crypto-public-key\0\4AAAA"),
						 1, 2, 4096)),
			 SB_ERR_ESDK_PUBLIC_KEY);
}

/* Keys in another order than sorted are read (old JS SDKs), and kept sorted. */
static void test_context_unsorted_accepted(void **state)
{
	(void)state;
	struct sb_buf b = header_bytes(2, SB_ESDK_SUITE_COMMIT, KV("\0\2\0\1b\0\1B\0\1a\0\1A"), 1, 2,
				       64);
	struct sb_esdk_header h;
	size_t used = 0;

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&b), &h, &used)));
	assert_int_equal(h.npairs, 2);
	assert_string_equal(h.pairs[0].key, "a");
	assert_string_equal(h.pairs[1].key, "b");
	assert_string_equal(sb_esdk_header_context(&h, "b"), "B");
	sb_esdk_header_cleanup(&h);
	sb_buf_cleanup(&b);
}

/* 0x0478 turned into 0x0578 and back by editing the suite bytes. */
static void test_suite_swapped(void **state)
{
	(void)state;
	struct sb_buf a = load("kat_0478.bin"), b = load("kat_0578.bin");
	struct sb_buf pt = SB_BUF_INIT_SECRET(MAX_MSG);
	uint8_t dk[32] = {0};

	a.data[1] = 0x05; /* signed suite, no public key in the context */
	assert_int_equal(open_all(sb_buf_slice(&a), dk, &pt), SB_ERR_ESDK_PUBLIC_KEY);
	b.data[1] = 0x04; /* unsigned suite carrying the reserved key */
	assert_int_equal(open_all(sb_buf_slice(&b), dk, &pt), SB_ERR_ESDK_BAD_CONTEXT);
	b.data[1] = 0x03;
	assert_int_equal(open_all(sb_buf_slice(&b), dk, &pt), SB_ERR_ESDK_NON_COMMITTING);
	sb_buf_cleanup(&a);
	sb_buf_cleanup(&b);
	sb_buf_cleanup(&pt);
}

/* The per-call and the per-thread openers agree, and refuse the same. */
static void test_openers_agree(void **state)
{
	(void)state;
	static uint8_t data[300];
	memset(data, 'e', sizeof(data));
	struct sb_buf m = seal(SB_ESDK_SUITE_COMMIT, 128, SB_SLICE(data, sizeof(data)), 1000);
	struct sb_esdk_header h;
	struct sb_esdk_key *k = NULL;
	struct sb_esdk_opener *o = NULL;
	struct sb_esdk_body b;
	struct sb_esdk_frame f;
	size_t off = 0, used = 0;
	uint8_t x[128], y[128];

	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&m), &h, &off)));
	assert_true(sb_ok(sb_esdk_key_new(&h, SB_SLICE(test_data_key, 32), &k)));
	assert_true(sb_ok(sb_esdk_opener_new(k, &o)));
	assert_true(sb_ok(sb_esdk_body_init(&b, &h)));
	do {
		assert_true(sb_ok(sb_esdk_body_next(&b, SB_SLICE(m.data + off, m.len - off), &f, &used)));
		assert_true(sb_ok(sb_esdk_frame_open(k, &f, x)));
		assert_true(sb_ok(sb_esdk_opener_open(o, &f, y)));
		assert_memory_equal(x, y, f.content.len);
		assert_memory_equal(x, data, f.content.len);
		/* The same frame claimed as another sequence number fails authentication. */
		f.seq++;
		assert_int_equal(sb_esdk_opener_open(o, &f, y).code, SB_ERR_ESDK_FRAME_AUTH);
		assert_int_equal(sb_esdk_frame_open(k, &f, x).code, SB_ERR_ESDK_FRAME_AUTH);
		off += used;
	} while (!f.final);
	sb_esdk_body_cleanup(&b);
	sb_esdk_opener_free(o);
	sb_esdk_key_free(k);
	sb_esdk_header_cleanup(&h);
	sb_buf_cleanup(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kat_js),
	    cmocka_unit_test(test_header_incremental),
	    cmocka_unit_test(test_body_streaming),
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_encryptor_deterministic),
	    cmocka_unit_test(test_encryptor_context),
	    cmocka_unit_test(test_context_and_edk),
	    cmocka_unit_test(test_tamper_any_byte),
	    cmocka_unit_test(test_tamper_frames),
	    cmocka_unit_test(test_tamper_frame_fields),
	    cmocka_unit_test(test_tamper_header),
	    cmocka_unit_test(test_header_refusals),
	    cmocka_unit_test(test_context_unsorted_accepted),
	    cmocka_unit_test(test_suite_swapped),
	    cmocka_unit_test(test_openers_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
