/*
 * Unit tests for src/crypto/sb_cms: parsing the real KMS CiphertextForRecipient
 * vector, building KMS-shaped envelopes (compared byte for byte with the
 * real one outside the random fields), decrypting them, decrypting envelopes
 * made by OpenSSL's own CMS_encrypt (the `openssl cms -encrypt` path), and
 * every way the input can be wrong. OpenSSL is used here only as an
 * independent second implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/sb_buf.h"
#include "common/sb_file.h"
#include "crypto/sb_cms.h"
#include "crypto/sb_rsa.h"

#define KMS_VECTOR SB_TEST_DATA "/kms/ciphertext-for-recipient-1"

static struct sb_rsa_key *key_a;    /* the recipient */
static struct sb_rsa_key *key_b;    /* another 2048-bit key */
static struct sb_rsa_key *key_3072; /* a key of another size */
static struct sb_buf kms_vector;    /* the real .ber */

static int group_setup(void **state)
{
	(void)state;
	sb_buf_init(&kms_vector, SB_CMS_MAX_LEN);
	if (!sb_ok(sb_rsa_key_new(2048, &key_a)) || !sb_ok(sb_rsa_key_new(2048, &key_b)) ||
	    !sb_ok(sb_rsa_key_new(3072, &key_3072)) ||
	    !sb_ok(sb_file_read(KMS_VECTOR ".ber", &kms_vector)))
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sb_rsa_key_free(key_a);
	sb_rsa_key_free(key_b);
	sb_rsa_key_free(key_3072);
	sb_buf_cleanup(&kms_vector);
	return 0;
}

static void read_file(const char *path, struct sb_buf *out)
{
	sb_buf_init(out, SB_CMS_MAX_LEN);
	assert_true(sb_ok(sb_file_read(path, out)));
}

/* Fills n bytes with a pattern that differs per size. */
static void pattern(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)((i * 131 + n) & 0xff);
}

/* ---- the real KMS vector ------------------------------------------------ */

static void test_parse_real_kms_vector(void **state)
{
	struct sb_buf key, iv, content;
	struct sb_cms_parts parts;

	(void)state;
	read_file(KMS_VECTOR ".encrypted-key", &key);
	read_file(KMS_VECTOR ".iv", &iv);
	read_file(KMS_VECTOR ".encrypted-content", &content);
	assert_int_equal(kms_vector.len, 493);
	assert_int_equal(key.len, 256);
	assert_int_equal(iv.len, 16);
	assert_int_equal(content.len, 48);

	sb_cms_parts_init(&parts);
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&kms_vector), &parts)));
	assert_true(sb_slice_eq(sb_buf_slice(&parts.encrypted_key), sb_buf_slice(&key)));
	assert_memory_equal(parts.iv, iv.data, SB_CMS_IV_LEN);
	assert_true(sb_slice_eq(sb_buf_slice(&parts.encrypted_content), sb_buf_slice(&content)));
	/* rid: the 32 bytes after "80 20" at offset 31. */
	assert_memory_equal(kms_vector.data + 31, "\x80\x20", 2);
	assert_memory_equal(parts.ski, kms_vector.data + 33, SB_CMS_SKI_LEN);

	/* Parsing again replaces (does not append to) the previous result. */
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&kms_vector), &parts)));
	assert_int_equal(parts.encrypted_content.len, 48);
	assert_int_equal(parts.encrypted_key.len, 256);

	/* Without the enclave's private key, decryption fails cleanly. */
	struct sb_buf pt = SB_BUF_INIT_SECRET(1024);
	assert_int_equal(sb_cms_decrypt(key_a, sb_buf_slice(&kms_vector), &pt).code,
	                 SB_ERR_DECRYPT);
	assert_int_equal(pt.len, 0);
	assert_int_equal(sb_cms_decrypt(key_3072, sb_buf_slice(&kms_vector), &pt).code,
	                 SB_ERR_DECRYPT);
	sb_buf_cleanup(&pt);
	sb_cms_parts_cleanup(&parts);
	sb_cms_parts_cleanup(NULL);
	sb_buf_cleanup(&key);
	sb_buf_cleanup(&iv);
	sb_buf_cleanup(&content);
}

/* Builds a variant of the real vector: its bytes [0, cut) + middle + [resume, end). */
static void splice(struct sb_slice middle, size_t cut, size_t resume, struct sb_buf *out)
{
	sb_buf_init(out, SB_CMS_MAX_LEN);
	assert_true(sb_ok(sb_buf_append(out, kms_vector.data, cut)));
	assert_true(sb_ok(sb_buf_append_slice(out, middle)));
	assert_true(sb_ok(sb_buf_append(out, kms_vector.data + resume, kms_vector.len - resume)));
}

/* Offsets in the real vector (see `openssl asn1parse -i`). */
#define V_CONTENT_CHUNKS 431 /* A0 80, then 04 30 <48 bytes>, then EOC */
#define V_CONTENT        435
#define V_CONTENT_END    483

static void test_parse_content_forms(void **state)
{
	const uint8_t *c = kms_vector.data + V_CONTENT;
	struct sb_cms_parts parts;
	struct sb_buf v, mid = SB_BUF_INIT(256);

	(void)state;
	sb_cms_parts_init(&parts);
	/* Three chunks 16 + 0 + 32 concatenate to the same content. */
	assert_true(sb_ok(sb_buf_append(&mid, "\x04\x10", 2)));
	assert_true(sb_ok(sb_buf_append(&mid, c, 16)));
	assert_true(sb_ok(sb_buf_append(&mid, "\x04\x00\x04\x20", 4)));
	assert_true(sb_ok(sb_buf_append(&mid, c + 16, 32)));
	splice(sb_buf_slice(&mid), V_CONTENT_CHUNKS + 2, V_CONTENT_END, &v);
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&v), &parts)));
	assert_memory_equal(parts.encrypted_content.data, c, 48);
	assert_int_equal(parts.encrypted_content.len, 48);
	sb_buf_cleanup(&v);

	/* The DER form: primitive [0] (and one end-of-contents fewer). */
	sb_buf_reset(&mid);
	assert_true(sb_ok(sb_buf_append(&mid, "\x80\x30", 2)));
	assert_true(sb_ok(sb_buf_append(&mid, c, 48)));
	splice(sb_buf_slice(&mid), V_CONTENT_CHUNKS, V_CONTENT_END + 2, &v);
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&v), &parts)));
	assert_memory_equal(parts.encrypted_content.data, c, 48);
	sb_buf_cleanup(&v);

	/* Definite-length constructed [0] with one chunk. */
	sb_buf_reset(&mid);
	assert_true(sb_ok(sb_buf_append(&mid, "\xa0\x32\x04\x30", 4)));
	assert_true(sb_ok(sb_buf_append(&mid, c, 48)));
	splice(sb_buf_slice(&mid), V_CONTENT_CHUNKS, V_CONTENT_END + 2, &v);
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&v), &parts)));
	assert_int_equal(parts.encrypted_content.len, 48);
	sb_buf_cleanup(&v);

	sb_buf_cleanup(&mid);
	sb_cms_parts_cleanup(&parts);
}

struct mutation {
	const char *what;
	size_t cut, resume; /* replace bytes [cut, resume) of the vector ... */
	const char *with;   /* ... with these */
	size_t with_len;
	int code;
};

#define M(what, cut, resume, lit, code)                                                            \
	{                                                                                          \
		what, cut, resume, lit, sizeof(lit) - 1, code                                      \
	}

static const struct mutation mutations[] = {
    M("not a SEQUENCE", 0, 1, "\x31", SB_ERR_BAD_CMS),
    M("signedData, not envelopedData", 12, 13, "\x02", SB_ERR_BAD_CMS),
    M("EnvelopedData version 0", 19, 20, "\x00", SB_ERR_BAD_CMS),
    M("KTRI version 0", 30, 31, "\x00", SB_ERR_BAD_CMS),
    M("rid of 31 bytes", 31, 65,
      "\x80\x1f"
      "0123456789012345678901234567890",
      SB_ERR_BAD_CMS),
    M("rsaEncryption (PKCS#1 v1.5), not OAEP", 77, 78, "\x01", SB_ERR_BAD_CMS),
    M("OAEP hash SHA-384", 94, 95, "\x02", SB_ERR_BAD_CMS),
    M("MGF1 hash SHA-384", 124, 125, "\x02", SB_ERR_BAD_CMS),
    M("mgf other than MGF1", 111, 112, "\x09", SB_ERR_BAD_CMS),
    M("NULL running past its SEQUENCE", 95, 97, "\x05\x01", SB_ERR_TRUNCATED),
    M("id-signedData content type", 399, 400, "\x02", SB_ERR_BAD_CMS),
    M("aes-128-cbc", 412, 413, "\x02", SB_ERR_BAD_CMS),
    M("IV of 15 bytes", 413, 415, "\x04\x0f", SB_ERR_BAD_CMS),
    M("content not a block multiple", 433, 435, "\x04\x2f", SB_ERR_BAD_CMS),
    M("nested constructed chunk", 433, 435, "\x24\x80\x04\x30", SB_ERR_BAD_CMS),
    M("chunk not an OCTET STRING", 433, 434, "\x05", SB_ERR_BAD_CMS),
    M("unprotectedAttrs present", 487, 487, "\xa1\x00", SB_ERR_BAD_CMS),
    M("missing end-of-contents", 489, 493, "", SB_ERR_TRUNCATED),
    M("end-of-contents not zero", 491, 493, "\x00\x01", SB_ERR_BAD_CMS),
    M("trailing garbage", 493, 493, "\x00", SB_ERR_TRAILING),
    M("trailing second message", 493, 493, "\x30\x00", SB_ERR_TRAILING),
    M("indefinite primitive", 3, 4, "\x80", SB_ERR_BAD_CMS),
    M("high tag number", 0, 1, "\x3f", SB_ERR_BAD_CMS),
    M("4-octet length", 20, 24, "\x31\x84\x00\x00\x01\x6b", SB_ERR_BAD_CMS),
    M("length past the end", 20, 24, "\x31\x82\x7f\x00", SB_ERR_TRUNCATED),
    M("empty encrypted content", 431, 483, "\xa0\x80\x00\x00", SB_ERR_BAD_CMS),
    M("no encrypted content", 431, 485, "", SB_ERR_BAD_CMS),
    M("second recipient in the SET", 20, 24, "\x31\x82\x02\xd6", SB_ERR_BAD_CMS),
};

static void test_parse_rejects_mutations(void **state)
{
	struct sb_cms_parts parts;

	(void)state;
	sb_cms_parts_init(&parts);
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *m = &mutations[i];
		struct sb_buf v, mid = SB_BUF_INIT(2048);

		assert_true(sb_ok(sb_buf_append(&mid, m->with, m->with_len)));
		if (strcmp(m->what, "second recipient in the SET") == 0)
			assert_true(sb_ok(sb_buf_append(&mid, kms_vector.data + 24, 363)));
		splice(sb_buf_slice(&mid), m->cut, m->resume, &v);
		sb_result rc = sb_cms_parse(sb_buf_slice(&v), &parts);
		if (rc.code != m->code)
			fail_msg("%s: got %s (%s)", m->what, sb_error_name(rc.code),
			         sb_error_describe());
		/* A failed parse leaves nothing behind. */
		assert_int_equal(parts.encrypted_key.len, 0);
		assert_int_equal(parts.encrypted_content.len, 0);
		/* The same input never gets as far as a decryption. */
		struct sb_buf pt = SB_BUF_INIT_SECRET(4096);
		assert_int_equal(sb_cms_decrypt(key_a, sb_buf_slice(&v), &pt).code, m->code);
		assert_int_equal(pt.len, 0);
		sb_buf_cleanup(&pt);
		sb_buf_cleanup(&v);
		sb_buf_cleanup(&mid);
	}
	sb_cms_parts_cleanup(&parts);
}

static void test_parse_every_truncation(void **state)
{
	struct sb_cms_parts parts;

	(void)state;
	sb_cms_parts_init(&parts);
	for (size_t n = 0; n < kms_vector.len; n++) {
		sb_result rc = sb_cms_parse(SB_SLICE(kms_vector.data, n), &parts);
		if (rc.code != SB_ERR_TRUNCATED && rc.code != SB_ERR_BAD_CMS)
			fail_msg("prefix of %zu bytes: %s", n, sb_error_name(rc.code));
	}
	sb_cms_parts_cleanup(&parts);
}

static void test_parse_limits(void **state)
{
	struct sb_cms_parts parts;
	struct sb_buf big = SB_BUF_INIT(SB_CMS_MAX_LEN + 1);

	(void)state;
	sb_cms_parts_init(&parts);
	assert_true(sb_ok(sb_buf_reserve(&big, SB_CMS_MAX_LEN + 1)));
	memset(big.data, 0, SB_CMS_MAX_LEN + 1);
	assert_int_equal(sb_cms_parse(SB_SLICE(big.data, SB_CMS_MAX_LEN + 1), &parts).code,
	                 SB_ERR_TOO_LARGE);
	assert_int_equal(sb_cms_parse(SB_SLICE(NULL, 0), &parts).code, SB_ERR_TRUNCATED);
	assert_int_equal(sb_cms_parse(SB_SLICE(NULL, 5), &parts).code, SB_ERR_NULL);
	assert_int_equal(sb_cms_parse(sb_buf_slice(&kms_vector), NULL).code, SB_ERR_NULL);
	sb_buf_cleanup(&big);
	sb_cms_parts_cleanup(&parts);
}

/* ---- building ----------------------------------------------------------- */

/* Byte ranges of a 32-byte-plaintext envelope that are not random: equal to KMS's. */
static const struct {
	size_t from, to;
} fixed_ranges[] = {{0, 31 + 2}, {65, 131}, {387, 415}, {431, 435}, {483, 493}};

static void test_envelope_matches_kms_shape(void **state)
{
	uint8_t msg[32], ski[SB_CMS_SKI_LEN];
	struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN);

	(void)state;
	pattern(msg, sizeof(msg));
	/* 32 bytes of plaintext pad to 48 bytes of content, as in the KMS vector. */
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_a, SB_SLICE(msg, 32), &env)));
	assert_int_equal(env.len, kms_vector.len);
	for (size_t i = 0; i < sizeof(fixed_ranges) / sizeof(fixed_ranges[0]); i++)
		assert_memory_equal(env.data + fixed_ranges[i].from,
		                    kms_vector.data + fixed_ranges[i].from,
		                    fixed_ranges[i].to - fixed_ranges[i].from);
	/* The rid is the key's SKI. */
	assert_true(sb_ok(sb_rsa_key_ski(key_a, ski)));
	assert_memory_equal(env.data + 33, ski, sizeof(ski));
	sb_buf_cleanup(&env);
}

/* Decrypts with OpenSSL's CMS code directly (independent of sb_cms_decrypt). */
static bool openssl_decrypt(const struct sb_rsa_key *k, struct sb_slice cms, struct sb_buf *out)
{
	const unsigned char *p = cms.ptr;
	CMS_ContentInfo *ci = d2i_CMS_ContentInfo(NULL, &p, (long)cms.len);
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	bool ok = ci != NULL && bio != NULL &&
	          CMS_decrypt(ci, sb_rsa_key_evp(k), NULL, NULL, bio,
	                      CMS_BINARY | CMS_DEBUG_DECRYPT) == 1;
	if (ok) {
		long n = BIO_get_mem_data(bio, &data);
		ok = n >= 0 && sb_ok(sb_buf_append(out, data, (size_t)n));
	}
	BIO_free(bio);
	CMS_ContentInfo_free(ci);
	return ok;
}

/* Unwraps the content key with sb_rsa and decrypts the parsed content with
 * EVP: checks that sb_cms_parse found exactly the right fields. */
static void decrypt_from_parts(const struct sb_cms_parts *parts, struct sb_buf *out)
{
	struct sb_buf cek = SB_BUF_INIT_SECRET(64);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0, fin = 0;

	assert_true(sb_ok(sb_rsa_oaep_decrypt(key_a, sb_buf_slice(&parts->encrypted_key), &cek)));
	assert_int_equal(cek.len, 32);
	assert_true(sb_ok(sb_buf_reserve(out, parts->encrypted_content.len)));
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_cbc(), NULL, cek.data, parts->iv), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, out->data, &n, parts->encrypted_content.data,
	                                   (int)parts->encrypted_content.len),
	                 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, out->data + n, &fin), 1);
	assert_true(sb_ok(sb_buf_commit(out, (size_t)(n + fin))));
	EVP_CIPHER_CTX_free(ctx);
	sb_buf_cleanup(&cek);
}

static void test_envelope_round_trips(void **state)
{
	static const size_t sizes[] = {0, 1, 15, 16, 32, 1000, 1024, 4096, SB_CMS_MAX_PLAINTEXT};
	static const enum sb_cms_form forms[] = {SB_CMS_FORM_BER_INDEFINITE, SB_CMS_FORM_DER};
	static uint8_t msg[SB_CMS_MAX_PLAINTEXT];

	(void)state;
	for (size_t f = 0; f < 2; f++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN);
			struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);
			struct sb_buf other = SB_BUF_INIT(SB_CMS_MAX_LEN);
			struct sb_cms_parts parts;
			size_t n = sizes[i];

			pattern(msg, n);
			assert_true(sb_ok(sb_cms_envelope_for_recipient_form(
			    key_a, SB_SLICE(msg, n), forms[f], &env)));
			assert_true(env.len <= SB_CMS_MAX_LEN);
			/* BER: indefinite outer SEQUENCE; DER: definite. */
			assert_int_equal(env.data[1], forms[f] == SB_CMS_FORM_DER ? 0x82 : 0x80);
			/* sb_cms_decrypt appends after existing contents. */
			assert_true(sb_ok(sb_buf_append_str(&pt, "@")));
			assert_true(sb_ok(sb_cms_decrypt(key_a, sb_buf_slice(&env), &pt)));
			assert_int_equal(pt.len, n + 1);
			if (n > 0)
				assert_memory_equal(pt.data + 1, msg, n);
			/* OpenSSL's CMS reads it too. */
			assert_true(openssl_decrypt(key_a, sb_buf_slice(&env), &other));
			assert_int_equal(other.len, n);
			if (n > 0)
				assert_memory_equal(other.data, msg, n);
			/* And the parsed fields decrypt by hand. */
			sb_buf_reset(&other);
			sb_cms_parts_init(&parts);
			assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&env), &parts)));
			assert_int_equal(parts.encrypted_content.len, (n / 16 + 1) * 16);
			decrypt_from_parts(&parts, &other);
			assert_int_equal(other.len, n);
			if (n > 0)
				assert_memory_equal(other.data, msg, n);
			sb_cms_parts_cleanup(&parts);
			sb_buf_cleanup(&env);
			sb_buf_cleanup(&pt);
			sb_buf_cleanup(&other);
		}
	}
}

static void test_envelope_is_fresh_each_time(void **state)
{
	struct sb_buf a = SB_BUF_INIT(SB_CMS_MAX_LEN), b = SB_BUF_INIT(SB_CMS_MAX_LEN);
	struct sb_cms_parts pa, pb;

	(void)state;
	sb_cms_parts_init(&pa);
	sb_cms_parts_init(&pb);
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_a, SB_SLICE_LIT("same"), &a)));
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_a, SB_SLICE_LIT("same"), &b)));
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&a), &pa)));
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&b), &pb)));
	assert_memory_equal(pa.ski, pb.ski, SB_CMS_SKI_LEN);
	assert_memory_not_equal(pa.iv, pb.iv, SB_CMS_IV_LEN);
	assert_false(sb_slice_eq(sb_buf_slice(&pa.encrypted_key), sb_buf_slice(&pb.encrypted_key)));
	sb_cms_parts_cleanup(&pa);
	sb_cms_parts_cleanup(&pb);
	sb_buf_cleanup(&a);
	sb_buf_cleanup(&b);
}

static void test_envelope_errors(void **state)
{
	static uint8_t big[SB_CMS_MAX_PLAINTEXT + 1];
	struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN), small = SB_BUF_INIT(100);

	(void)state;
	assert_int_equal(
	    sb_cms_envelope_for_recipient(key_a, SB_SLICE(big, sizeof(big)), &env).code,
	    SB_ERR_TOO_LARGE);
	assert_int_equal(
	    sb_cms_envelope_for_recipient_form(key_a, SB_SLICE_LIT("x"), (enum sb_cms_form)7, &env)
	        .code,
	    SB_ERR_INVALID_ARG);
	assert_int_equal(sb_cms_envelope_for_recipient(NULL, SB_SLICE_LIT("x"), &env).code,
	                 SB_ERR_NULL);
	assert_int_equal(sb_cms_envelope_for_recipient(key_a, SB_SLICE(NULL, 3), &env).code,
	                 SB_ERR_NULL);
	assert_int_equal(env.len, 0);
	/* Output too small for the envelope: nothing partial is left in it. */
	assert_int_equal(sb_cms_envelope_for_recipient(key_a, SB_SLICE_LIT("x"), &small).code,
	                 SB_ERR_TOO_LARGE);
	assert_int_equal(small.len, 0);
	/* A 3072-bit recipient gets a 384-byte encryptedKey. */
	struct sb_cms_parts parts;
	struct sb_buf pt = SB_BUF_INIT_SECRET(64);
	sb_cms_parts_init(&parts);
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_3072, SB_SLICE_LIT("big key"), &env)));
	assert_true(sb_ok(sb_cms_parse(sb_buf_slice(&env), &parts)));
	assert_int_equal(parts.encrypted_key.len, 384);
	assert_true(sb_ok(sb_cms_decrypt(key_3072, sb_buf_slice(&env), &pt)));
	assert_true(sb_slice_eq_str(sb_buf_slice(&pt), "big key"));
	sb_cms_parts_cleanup(&parts);
	sb_buf_cleanup(&pt);
	sb_buf_cleanup(&env);
	sb_buf_cleanup(&small);
}

/* ---- decryption failures ------------------------------------------------ */

static void expect_decrypt(const struct sb_rsa_key *k, struct sb_slice cms, int code)
{
	struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);

	assert_true(sb_ok(sb_buf_append_str(&pt, "kept")));
	sb_result rc = sb_cms_decrypt(k, cms, &pt);
	if (rc.code != code)
		fail_msg("expected %s, got %s (%s)", sb_error_name(code), sb_error_name(rc.code),
		         sb_error_describe());
	/* Never garbage: nothing is appended on failure. */
	assert_int_equal(pt.len, code == SB_OK ? pt.len : 4);
	assert_memory_equal(pt.data, "kept", 4);
	sb_buf_cleanup(&pt);
}

static void test_decrypt_failures(void **state)
{
	uint8_t msg[32];
	struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN), plain = SB_BUF_INIT(1024);
	struct sb_buf der = SB_BUF_INIT(SB_RSA_MAX_SPKI_DER_LEN);
	struct sb_rsa_key *pub = NULL;

	(void)state;
	pattern(msg, sizeof(msg));
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_a, SB_SLICE(msg, 32), &env)));
	expect_decrypt(key_a, sb_buf_slice(&env), SB_OK);
	/* Wrong key of the same size: refused at the key transport step, not
	 * left to the content padding (OpenSSL's MMA countermeasure would
	 * decrypt with a random key and let garbage through now and then). */
	for (int i = 0; i < 20; i++) {
		expect_decrypt(key_b, sb_buf_slice(&env), SB_ERR_DECRYPT);
		assert_non_null(strstr(sb_error_detail(), "content key does not decrypt"));
	}
	expect_decrypt(key_3072, sb_buf_slice(&env), SB_ERR_DECRYPT);
	/* Any flipped bit of the wrapped key. */
	for (size_t pos = 131; pos < 387; pos += 17) {
		env.data[pos] ^= 0x80;
		expect_decrypt(key_a, sb_buf_slice(&env), SB_ERR_DECRYPT);
		env.data[pos] ^= 0x80;
	}
	/* Content: 32 bytes of plaintext end in a whole block of padding 0x10;
	 * flipping the last byte of the block before it makes that 0x11. */
	env.data[435 + 31] ^= 0x01;
	expect_decrypt(key_a, sb_buf_slice(&env), SB_ERR_DECRYPT);
	assert_string_equal(sb_error_detail(), "the content does not decrypt");
	env.data[435 + 31] ^= 0x01;
	/* Every structural byte (the non-random ranges) flipped is refused. */
	for (size_t i = 0; i < sizeof(fixed_ranges) / sizeof(fixed_ranges[0]); i++) {
		for (size_t pos = fixed_ranges[i].from; pos < fixed_ranges[i].to; pos++) {
			env.data[pos] ^= 0x01;
			struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);
			sb_result rc = sb_cms_decrypt(key_a, sb_buf_slice(&env), &pt);
			if (sb_ok(rc))
				fail_msg("flipped byte %zu accepted", pos);
			assert_int_equal(pt.len, 0);
			sb_buf_cleanup(&pt);
			env.data[pos] ^= 0x01;
		}
	}
	/* Truncations at every length, trailing garbage. */
	for (size_t n = 0; n < env.len; n += 7) {
		struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);
		assert_false(sb_ok(sb_cms_decrypt(key_a, SB_SLICE(env.data, n), &pt)));
		assert_int_equal(pt.len, 0);
		sb_buf_cleanup(&pt);
	}
	assert_true(sb_ok(sb_buf_append(&env, "\0\0", 2)));
	expect_decrypt(key_a, sb_buf_slice(&env), SB_ERR_TRAILING);
	env.len -= 2;

	/* Argument errors. */
	assert_true(sb_ok(sb_rsa_key_public_der(key_a, &der)));
	assert_true(sb_ok(sb_rsa_key_from_public_der(sb_buf_slice(&der), &pub)));
	expect_decrypt(pub, sb_buf_slice(&env), SB_ERR_BAD_KEY);
	assert_int_equal(sb_cms_decrypt(key_a, sb_buf_slice(&env), &plain).code,
	                 SB_ERR_INVALID_ARG);
	assert_int_equal(plain.len, 0);
	assert_int_equal(sb_cms_decrypt(NULL, sb_buf_slice(&env), &plain).code, SB_ERR_NULL);
	assert_int_equal(sb_cms_decrypt(key_a, sb_buf_slice(&env), NULL).code, SB_ERR_NULL);
	/* A plaintext larger than the output's limit fails without a partial result. */
	struct sb_buf tiny = SB_BUF_INIT_SECRET(8);
	assert_int_equal(sb_cms_decrypt(key_a, sb_buf_slice(&env), &tiny).code, SB_ERR_TOO_LARGE);
	assert_int_equal(tiny.len, 0);
	sb_buf_cleanup(&tiny);
	sb_rsa_key_free(pub);
	sb_buf_cleanup(&der);
	sb_buf_cleanup(&env);
	sb_buf_cleanup(&plain);
}

static void test_decrypt_iv_tamper(void **state)
{
	struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN);

	(void)state;
	/* Empty plaintext: one block of sixteen 0x10; the IV's last byte XORs
	 * straight into the final padding byte. */
	assert_true(sb_ok(sb_cms_envelope_for_recipient(key_a, SB_SLICE(NULL, 0), &env)));
	expect_decrypt(key_a, sb_buf_slice(&env), SB_OK);
	env.data[415 + 15] ^= 0x01;
	expect_decrypt(key_a, sb_buf_slice(&env), SB_ERR_DECRYPT);
	sb_buf_cleanup(&env);
}

/* ---- envelopes made by OpenSSL's CMS_encrypt ----------------------------- */

/* A throwaway self-signed certificate for key carrying a subjectKeyIdentifier,
 * which is how OpenSSL's CMS addresses a recipient by key id. */
static X509 *recipient_cert(const struct sb_rsa_key *key, size_t ski_len)
{
	uint8_t ski[SB_CMS_SKI_LEN];
	X509 *x = X509_new();
	EVP_PKEY *pk = sb_rsa_key_evp(key);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_NAME *name;

	assert_non_null(x);
	assert_true(sb_ok(sb_rsa_key_ski(key, ski)));
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
	name = X509_get_subject_name(x);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                                            (const unsigned char *)"recipient", -1, -1, 0),
	                 1);
	assert_int_equal(X509_set_issuer_name(x, name), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, pk), 1);
	assert_int_equal(ASN1_OCTET_STRING_set(os, ski, (int)ski_len), 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_subject_key_identifier, os, 0, 0), 1);
	ASN1_OCTET_STRING_free(os);
	assert_true(X509_sign(x, pk, EVP_sha256()) > 0);
	return x;
}

struct ossl_env {
	const char *what;
	const EVP_CIPHER *(*cipher)(void);
	bool oaep;
	const EVP_MD *(*oaep_md)(void);
	bool keyid;
	bool stream;
	int recipients;
	size_t ski_len;
	int code; /* what sb_cms_decrypt answers */
};

/* As `openssl cms -encrypt -recip cert -keyid -keyopt rsa_padding_mode:oaep
 * -keyopt rsa_oaep_md:sha256 -keyopt rsa_mgf1_md:sha256 -aes256 [-stream]`. */
static void openssl_envelope(const struct ossl_env *o, struct sb_slice pt, struct sb_buf *out)
{
	unsigned flags = CMS_BINARY | CMS_PARTIAL | (o->stream ? CMS_STREAM : 0);
	BIO *in = BIO_new_mem_buf(pt.len ? (const void *)pt.ptr : "", (int)pt.len);
	BIO *bio = BIO_new(BIO_s_mem());
	CMS_ContentInfo *cms = CMS_encrypt(NULL, in, o->cipher(), flags);
	char *data = NULL;
	long n;

	assert_non_null(cms);
	for (int i = 0; i < o->recipients; i++) {
		X509 *x = recipient_cert(i == 0 ? key_a : key_b, o->ski_len);
		CMS_RecipientInfo *ri =
		    CMS_add1_recipient_cert(cms, x, CMS_KEY_PARAM | (o->keyid ? CMS_USE_KEYID : 0));
		assert_non_null(ri);
		if (o->oaep) {
			EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING),
			                 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_oaep_md(pctx, o->oaep_md()), 1);
			assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, o->oaep_md()), 1);
		}
		X509_free(x);
	}
	if (o->stream) {
		assert_int_equal(i2d_CMS_bio_stream(bio, cms, in, (int)flags), 1);
	} else {
		assert_int_equal(CMS_final(cms, in, NULL, flags), 1);
		assert_int_equal(i2d_CMS_bio(bio, cms), 1);
	}
	n = BIO_get_mem_data(bio, &data);
	assert_true(n > 0);
	assert_true(sb_ok(sb_buf_append(out, data, (size_t)n)));
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	BIO_free(bio);
}

static const struct ossl_env ossl_envs[] = {
    {"OAEP-SHA256 keyid DER", EVP_aes_256_cbc, true, EVP_sha256, true, false, 1, 32, SB_OK},
    {"OAEP-SHA256 keyid BER stream", EVP_aes_256_cbc, true, EVP_sha256, true, true, 1, 32, SB_OK},
    {"PKCS#1 v1.5 key transport", EVP_aes_256_cbc, false, EVP_sha256, true, false, 1, 32,
     SB_ERR_BAD_CMS},
    {"OAEP-SHA1", EVP_aes_256_cbc, true, EVP_sha1, true, false, 1, 32, SB_ERR_BAD_CMS},
    {"AES-128-CBC content", EVP_aes_128_cbc, true, EVP_sha256, true, false, 1, 32, SB_ERR_BAD_CMS},
    {"AES-256-GCM (AuthEnvelopedData)", EVP_aes_256_gcm, true, EVP_sha256, true, false, 1, 32,
     SB_ERR_BAD_CMS},
    {"issuerAndSerialNumber rid", EVP_aes_256_cbc, true, EVP_sha256, false, false, 1, 32,
     SB_ERR_BAD_CMS},
    {"20-byte SKI rid", EVP_aes_256_cbc, true, EVP_sha256, true, false, 1, 20, SB_ERR_BAD_CMS},
    {"two recipients", EVP_aes_256_cbc, true, EVP_sha256, true, false, 2, 32, SB_ERR_BAD_CMS},
};

static void test_decrypt_openssl_envelopes(void **state)
{
	static const size_t sizes[] = {0, 1, 32, 4096};

	(void)state;
	for (size_t i = 0; i < sizeof(ossl_envs) / sizeof(ossl_envs[0]); i++) {
		for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			static uint8_t msg[4096];
			struct sb_buf env = SB_BUF_INIT(SB_CMS_MAX_LEN);
			struct sb_buf pt = SB_BUF_INIT_SECRET(SB_CMS_MAX_LEN);

			pattern(msg, sizes[s]);
			openssl_envelope(&ossl_envs[i], SB_SLICE(msg, sizes[s]), &env);
			sb_result rc = sb_cms_decrypt(key_a, sb_buf_slice(&env), &pt);
			if (rc.code != ossl_envs[i].code)
				fail_msg("%s, %zu bytes: got %s (%s)", ossl_envs[i].what, sizes[s],
				         sb_error_name(rc.code), sb_error_describe());
			if (rc.code == SB_OK) {
				assert_int_equal(pt.len, sizes[s]);
				if (sizes[s] > 0)
					assert_memory_equal(pt.data, msg, sizes[s]);
			} else {
				assert_int_equal(pt.len, 0);
			}
			sb_buf_cleanup(&env);
			sb_buf_cleanup(&pt);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_real_kms_vector),
	    cmocka_unit_test(test_parse_content_forms),
	    cmocka_unit_test(test_parse_rejects_mutations),
	    cmocka_unit_test(test_parse_every_truncation),
	    cmocka_unit_test(test_parse_limits),
	    cmocka_unit_test(test_envelope_matches_kms_shape),
	    cmocka_unit_test(test_envelope_round_trips),
	    cmocka_unit_test(test_envelope_is_fresh_each_time),
	    cmocka_unit_test(test_envelope_errors),
	    cmocka_unit_test(test_decrypt_failures),
	    cmocka_unit_test(test_decrypt_iv_tamper),
	    cmocka_unit_test(test_decrypt_openssl_envelopes),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
