/*
 * Unit tests for the attestation document parser (src/attest/cbor_doc.c,
 * cbor_util.c): documents crafted byte by byte, one defect each, every
 * defect with its own error; plus encode/parse round trips and the text
 * spellings of a document file (sb_attest_doc_load).
 */
#include "test_attest_util.h"

enum variant {
	V_OK,
	V_INDEFINITE,
	V_NO_OPTIONALS,
	V_NULL_OPTIONALS,
	V_DUP_NONCE,
	V_DUP_PCR,
	V_UNKNOWN_KEY,
	V_NO_CERT,
	V_NO_PCRS,
	V_MODULE_ID_BYTES,
	V_MODULE_ID_EMPTY,
	V_MODULE_ID_CONTROL,
	V_DIGEST_SHA256,
	V_DIGEST_INT,
	V_TIMESTAMP_TEXT,
	V_TIMESTAMP_ZERO,
	V_TIMESTAMP_NEG,
	V_TIMESTAMP_LONG_FORM,
	V_PCRS_ARRAY,
	V_PCRS_EMPTY,
	V_PCR_LEN_33,
	V_PCR_LEN_0,
	V_PCR_LEN_96,
	V_PCR_LEN_32_64,
	V_PCR_INDEX_32,
	V_PCR_INDEX_TEXT,
	V_PCR_VALUE_TEXT,
	V_CERT_EMPTY,
	V_CERT_TOO_BIG,
	V_CERT_TEXT,
	V_CABUNDLE_EMPTY,
	V_CABUNDLE_TOO_MANY,
	V_CABUNDLE_ENTRY_INT,
	V_CABUNDLE_MAP,
	V_PUBLIC_KEY_EMPTY,
	V_PUBLIC_KEY_TOO_BIG,
	V_USER_DATA_TOO_BIG,
	V_USER_DATA_INT,
	V_NONCE_MAX,
	V_NONCE_FLOAT,
	V_KEY_INT,
	V_KEY_BYTES,
	V_TAG_INSIDE,
	V_INDEF_BYTES,
	V_TRAILING,
	V_NOT_A_MAP,
};

static const uint8_t filler[2048];

/* Emits one "key: value" pair into b and counts it. */
#define PAIR(key) (cb_text(b, (key)), (*n)++)

static void emit_pcrs(struct sb_buf *b, enum variant v)
{
	switch (v) {
	case V_PCRS_ARRAY:
		cb_array(b, 1);
		cb_bytes(b, filler, 48);
		return;
	case V_PCRS_EMPTY:
		cb_map(b, 0);
		return;
	default:
		break;
	}
	size_t lens[3] = {48, 48, 48};
	if (v == V_PCR_LEN_33)
		lens[1] = 33;
	if (v == V_PCR_LEN_0)
		lens[1] = 0;
	if (v == V_PCR_LEN_96)
		lens[1] = 96;
	if (v == V_PCR_LEN_32_64) {
		lens[1] = 32;
		lens[2] = 64;
	}
	cb_map(b, v == V_DUP_PCR ? 4 : 3);
	static const uint8_t one[48] = {1};
	for (unsigned i = 0; i < 3; i++) {
		if (i == 2 && v == V_PCR_INDEX_32)
			cb_uint(b, 32);
		else if (i == 2 && v == V_PCR_INDEX_TEXT)
			cb_text(b, "2");
		else
			cb_uint(b, i);
		if (i == 2 && v == V_PCR_VALUE_TEXT)
			cb_text(b, "pcr");
		else
			cb_bytes(b, i == 0 ? one : filler, lens[i]);
	}
	if (v == V_DUP_PCR) {
		cb_uint(b, 0);
		cb_bytes(b, filler, 48);
	}
}

static void emit_cabundle(struct sb_buf *b, enum variant v)
{
	if (v == V_CABUNDLE_MAP) {
		cb_map(b, 0);
		return;
	}
	size_t n = v == V_CABUNDLE_EMPTY ? 0 : v == V_CABUNDLE_TOO_MANY ? 9 : 2;
	cb_array(b, n);
	for (size_t i = 0; i < n; i++) {
		if (i == 1 && v == V_CABUNDLE_ENTRY_INT)
			cb_uint(b, 7);
		else
			cb_bytes(b, "\x30\x01\x00", 3);
	}
}

static void emit_head_fields(struct sb_buf *b, enum variant v, size_t *n)
{
	PAIR("module_id");
	if (v == V_MODULE_ID_BYTES)
		cb_bytes(b, "i-1", 3);
	else if (v == V_MODULE_ID_EMPTY)
		cb_text(b, "");
	else if (v == V_MODULE_ID_CONTROL)
		cb_text(b, "i-1\n");
	else
		cb_text(b, "i-0123-enc0456");
	PAIR("digest");
	if (v == V_DIGEST_INT)
		cb_uint(b, 384);
	else
		cb_text(b, v == V_DIGEST_SHA256 ? "SHA256" : "SHA384");
	PAIR("timestamp");
	if (v == V_TIMESTAMP_TEXT)
		cb_text(b, "1665651482136");
	else if (v == V_TIMESTAMP_ZERO)
		cb_uint(b, 0);
	else if (v == V_TIMESTAMP_NEG)
		cb_head(b, 1, 5);
	else if (v == V_TIMESTAMP_LONG_FORM)
		cb_raw(b, "\x1b\x00\x00\x00\x00\x00\x00\x00\x05", 9);
	else
		cb_uint(b, 1665651482136ull);
	if (v != V_NO_PCRS) {
		PAIR("pcrs");
		emit_pcrs(b, v);
	}
}

static void emit_cert_fields(struct sb_buf *b, enum variant v, size_t *n)
{
	if (v != V_NO_CERT) {
		PAIR("certificate");
		if (v == V_CERT_EMPTY)
			cb_bytes(b, "", 0);
		else if (v == V_CERT_TOO_BIG)
			cb_bytes(b, filler, 1025);
		else if (v == V_CERT_TEXT)
			cb_text(b, "cert");
		else
			cb_bytes(b, filler, 1024);
	}
	PAIR("cabundle");
	emit_cabundle(b, v);
}

static void emit_optional_fields(struct sb_buf *b, enum variant v, size_t *n)
{
	if (v == V_NO_OPTIONALS)
		return;
	PAIR("public_key");
	if (v == V_NULL_OPTIONALS)
		cb_null(b);
	else
		cb_bytes(b, filler,
		         v == V_PUBLIC_KEY_EMPTY     ? 0
		         : v == V_PUBLIC_KEY_TOO_BIG ? 1025
		                                     : 91);
	PAIR("user_data");
	if (v == V_NULL_OPTIONALS)
		cb_null(b);
	else if (v == V_USER_DATA_INT)
		cb_uint(b, 1);
	else
		cb_bytes(b, filler, v == V_USER_DATA_TOO_BIG ? 513 : 0);
	PAIR("nonce");
	if (v == V_NULL_OPTIONALS)
		cb_null(b);
	else if (v == V_NONCE_FLOAT)
		cb_raw(b, "\xf9\x3c\x00", 3);
	else if (v == V_TAG_INSIDE)
		cb_raw(b, "\xc2\x41\x01", 3); /* tag 2 (bignum) around a bstr */
	else if (v == V_INDEF_BYTES)
		cb_raw(b, "\x5f\x41\x01\xff", 4);
	else
		cb_bytes(b, filler, v == V_NONCE_MAX ? 512 : 16);
}

static void emit_extra_fields(struct sb_buf *b, enum variant v, size_t *n)
{
	if (v == V_DUP_NONCE) {
		PAIR("nonce");
		cb_null(b);
	}
	if (v == V_UNKNOWN_KEY) {
		PAIR("extra");
		cb_null(b);
	}
	if (v == V_KEY_INT) {
		cb_uint(b, 1);
		cb_null(b);
		(*n)++;
	}
	if (v == V_KEY_BYTES) {
		cb_bytes(b, "nonce", 5);
		cb_null(b);
		(*n)++;
	}
}

static void build_payload(struct sb_buf *out, enum variant v)
{
	struct sb_buf body = SB_BUF_INIT(1 << 16);
	size_t count = 0;
	emit_head_fields(&body, v, &count);
	emit_cert_fields(&body, v, &count);
	emit_optional_fields(&body, v, &count);
	emit_extra_fields(&body, v, &count);
	if (v == V_NOT_A_MAP)
		cb_array(out, count * 2);
	else if (v == V_INDEFINITE)
		cb_raw(out, "\xbf", 1);
	else
		cb_map(out, count);
	cb_raw(out, body.data, body.len);
	if (v == V_INDEFINITE)
		cb_raw(out, "\xff", 1);
	if (v == V_TRAILING)
		cb_raw(out, "\x00", 1);
	sb_buf_cleanup(&body);
}

static const struct {
	enum variant v;
	int want;
} payload_cases[] = {
    {V_OK, SB_OK},
    {V_INDEFINITE, SB_OK},
    {V_NO_OPTIONALS, SB_OK},
    {V_NULL_OPTIONALS, SB_OK},
    {V_DUP_NONCE, SB_ERR_ATTEST_DUPLICATE_KEY},
    {V_DUP_PCR, SB_ERR_ATTEST_DUPLICATE_KEY},
    {V_UNKNOWN_KEY, SB_ERR_ATTEST_UNKNOWN_KEY},
    {V_NO_CERT, SB_ERR_ATTEST_MISSING_FIELD},
    {V_NO_PCRS, SB_ERR_ATTEST_MISSING_FIELD},
    {V_MODULE_ID_BYTES, SB_ERR_ATTEST_STRUCTURE},
    {V_MODULE_ID_EMPTY, SB_ERR_ATTEST_STRUCTURE},
    {V_MODULE_ID_CONTROL, SB_ERR_ATTEST_STRUCTURE},
    {V_DIGEST_SHA256, SB_ERR_ATTEST_DIGEST},
    {V_DIGEST_INT, SB_ERR_ATTEST_STRUCTURE},
    {V_TIMESTAMP_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {V_TIMESTAMP_ZERO, SB_ERR_ATTEST_STRUCTURE},
    {V_TIMESTAMP_NEG, SB_ERR_ATTEST_STRUCTURE},
    {V_TIMESTAMP_LONG_FORM, SB_ERR_ATTEST_STRUCTURE},
    {V_PCRS_ARRAY, SB_ERR_ATTEST_STRUCTURE},
    {V_PCRS_EMPTY, SB_ERR_ATTEST_FIELD_SIZE},
    {V_PCR_LEN_33, SB_ERR_ATTEST_PCR_LENGTH},
    {V_PCR_LEN_0, SB_ERR_ATTEST_PCR_LENGTH},
    {V_PCR_LEN_96, SB_ERR_ATTEST_PCR_LENGTH},
    {V_PCR_LEN_32_64, SB_OK},
    {V_PCR_INDEX_32, SB_ERR_ATTEST_STRUCTURE},
    {V_PCR_INDEX_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {V_PCR_VALUE_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {V_CERT_EMPTY, SB_ERR_ATTEST_FIELD_SIZE},
    {V_CERT_TOO_BIG, SB_ERR_ATTEST_FIELD_SIZE},
    {V_CERT_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {V_CABUNDLE_EMPTY, SB_ERR_ATTEST_FIELD_SIZE},
    {V_CABUNDLE_TOO_MANY, SB_ERR_ATTEST_FIELD_SIZE},
    {V_CABUNDLE_ENTRY_INT, SB_ERR_ATTEST_STRUCTURE},
    {V_CABUNDLE_MAP, SB_ERR_ATTEST_STRUCTURE},
    {V_PUBLIC_KEY_TOO_BIG, SB_ERR_ATTEST_FIELD_SIZE},
    {V_USER_DATA_TOO_BIG, SB_ERR_ATTEST_FIELD_SIZE},
    {V_USER_DATA_INT, SB_ERR_ATTEST_STRUCTURE},
    {V_NONCE_MAX, SB_OK},
    {V_NONCE_FLOAT, SB_ERR_ATTEST_STRUCTURE},
    {V_KEY_INT, SB_ERR_ATTEST_STRUCTURE},
    {V_KEY_BYTES, SB_ERR_ATTEST_STRUCTURE},
    {V_TAG_INSIDE, SB_ERR_ATTEST_CBOR},
    {V_INDEF_BYTES, SB_ERR_ATTEST_CBOR},
    {V_TRAILING, SB_ERR_ATTEST_CBOR},
    {V_NOT_A_MAP, SB_ERR_ATTEST_STRUCTURE},
};

static void test_payload_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(payload_cases) / sizeof(payload_cases[0]); i++) {
		struct sb_buf payload = SB_BUF_INIT(1 << 16), doc = SB_BUF_INIT(1 << 16);
		build_payload(&payload, payload_cases[i].v);
		t_sign1(sb_buf_slice(&payload), NULL, &doc);
		struct sb_attest_doc *parsed = NULL;
		sb_result r = sb_attest_doc_parse(sb_buf_slice(&doc), &parsed);
		if (r.code != payload_cases[i].want)
			print_error("case %zu (variant %d): got %s (%s), want %s\n", i,
			            (int)payload_cases[i].v, sb_error_name(r.code),
			            sb_error_describe(), sb_error_name(payload_cases[i].want));
		assert_int_equal(r.code, payload_cases[i].want);
		assert_true(sb_ok(r) == (parsed != NULL));
		sb_attest_doc_free(parsed);
		sb_buf_cleanup(&payload);
		sb_buf_cleanup(&doc);
	}
}

static void test_payload_fields_parsed(void **state)
{
	(void)state;
	struct sb_buf payload = SB_BUF_INIT(1 << 16), doc = SB_BUF_INIT(1 << 16);
	build_payload(&payload, V_PCR_LEN_32_64);
	t_sign1(sb_buf_slice(&payload), NULL, &doc);
	struct sb_attest_doc *d = NULL;
	T_OK(sb_attest_doc_parse(sb_buf_slice(&doc), &d));
	assert_string_equal(d->module_id, "i-0123-enc0456");
	assert_int_equal(d->timestamp_ms, 1665651482136ull);
	assert_true(d->pcrs[0].present && d->pcrs[1].present && d->pcrs[2].present);
	assert_false(d->pcrs[3].present);
	assert_int_equal(d->pcrs[0].len, 48);
	assert_int_equal(d->pcrs[0].value[0], 1);
	assert_int_equal(d->pcrs[1].len, 32);
	assert_int_equal(d->pcrs[2].len, 64);
	assert_int_equal(d->certificate.len, 1024);
	assert_int_equal(d->cabundle_len, 2);
	assert_true(d->public_key.present && d->public_key.value.len == 91);
	assert_true(sb_attest_doc_has_public_key(d));
	assert_true(d->user_data.present && d->user_data.value.len == 0); /* empty, not null */
	assert_true(d->nonce.present && d->nonce.value.len == 16);
	assert_memory_equal(d->payload.data, payload.data, payload.len);
	assert_memory_equal(d->protected_hdr.data, "\xa1\x01\x38\x22", 4);
	/* Re-encoding gives the same payload bytes (same key order as the NSM). */
	struct sb_buf again = SB_BUF_INIT(1 << 16);
	T_OK(sb_attest_payload_encode(d, false, &again));
	assert_int_equal(again.len, payload.len);
	assert_memory_equal(again.data, payload.data, payload.len);
	sb_attest_doc_free(d);
	/* An empty public_key (AWS: 0..1024 bytes) parses, re-encodes, and is no key. */
	sb_buf_reset(&payload);
	sb_buf_reset(&doc);
	sb_buf_reset(&again);
	assert_true(sb_attest_doc_has_public_key(NULL) == false);
	build_payload(&payload, V_PUBLIC_KEY_EMPTY);
	t_sign1(sb_buf_slice(&payload), NULL, &doc);
	T_OK(sb_attest_doc_parse(sb_buf_slice(&doc), &d));
	assert_true(d->public_key.present && d->public_key.value.len == 0);
	assert_false(sb_attest_doc_has_public_key(d));
	T_OK(sb_attest_payload_encode(d, false, &again));
	assert_int_equal(again.len, payload.len);
	assert_memory_equal(again.data, payload.data, payload.len);
	sb_attest_doc_free(d);
	/* Null optionals are "not present". */
	sb_buf_reset(&payload);
	sb_buf_reset(&doc);
	build_payload(&payload, V_NULL_OPTIONALS);
	t_sign1(sb_buf_slice(&payload), NULL, &doc);
	T_OK(sb_attest_doc_parse(sb_buf_slice(&doc), &d));
	assert_false(d->public_key.present || d->user_data.present || d->nonce.present);
	assert_false(sb_attest_doc_has_public_key(d));
	sb_attest_doc_free(d);
	sb_buf_cleanup(&again);
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&doc);
}

/* COSE_Sign1 envelope defects around a good payload. */
enum cose_variant {
	C_OK,
	C_TAGGED,
	C_INDEF_ARRAY,
	C_THREE_ITEMS,
	C_FIVE_ITEMS,
	C_TOP_MAP,
	C_ALG_ES256,
	C_ALG_TEXT,
	C_PROTECTED_NOT_MAP,
	C_PROTECTED_TWO,
	C_PROTECTED_GARBAGE,
	C_PROTECTED_TEXT,
	C_BAD_UTF8,
	C_UNPROTECTED_NONEMPTY,
	C_PAYLOAD_TEXT,
	C_PAYLOAD_NULL,
	C_SIG_64,
	C_SIG_TEXT,
	C_TAG_TWICE,
	C_OTHER_TAG,
	C_EMPTY,
	C_BREAK_ONLY,
	C_HUGE_ARRAY,
	C_HUGE_BSTR,
	C_DEEP,
};

static void build_cose(struct sb_buf *out, enum cose_variant v, struct sb_slice payload)
{
	static const uint8_t sig[96];
	if (v == C_EMPTY)
		return;
	if (v == C_BREAK_ONLY) {
		cb_raw(out, "\xff", 1);
		return;
	}
	if (v == C_HUGE_ARRAY) { /* claims 2^32 items in a few bytes */
		cb_raw(out, "\x9b\x00\x00\x00\x01\x00\x00\x00\x00\x01", 10);
		return;
	}
	if (v == C_HUGE_BSTR) {
		cb_raw(out, "\x84\x5b\x00\x00\x00\x01\x00\x00\x00\x00\x01", 11);
		return;
	}
	if (v == C_DEEP) {
		for (int i = 0; i < 40; i++)
			cb_array(out, 1);
		cb_uint(out, 0);
		return;
	}
	if (v == C_TAGGED)
		cb_raw(out, "\xd2", 1);
	if (v == C_TAG_TWICE)
		cb_raw(out, "\xd2\xd2", 2);
	if (v == C_OTHER_TAG)
		cb_raw(out, "\xd1", 1);
	if (v == C_TOP_MAP)
		cb_map(out, 2);
	else if (v == C_INDEF_ARRAY)
		cb_raw(out, "\x9f", 1);
	else
		cb_array(out, v == C_THREE_ITEMS ? 3 : v == C_FIVE_ITEMS ? 5 : 4);
	switch (v) {
	case C_ALG_ES256:
		cb_bytes(out, "\xa1\x01\x26", 3);
		break;
	case C_ALG_TEXT:
		cb_bytes(out,
		         "\xa1\x01\x65"
		         "ES384",
		         8);
		break;
	case C_PROTECTED_NOT_MAP:
		cb_bytes(out, "\x01", 1);
		break;
	case C_PROTECTED_TWO:
		cb_bytes(out, "\xa2\x01\x38\x22\x04\x00", 6);
		break;
	case C_PROTECTED_GARBAGE:
		cb_bytes(out, "\xa1\x01", 2);
		break;
	case C_PROTECTED_TEXT:
		cb_text(out, "alg");
		break;
	case C_BAD_UTF8:
		cb_text(out, "\xa1\x01\x38\x22"); /* text must be UTF-8 (RFC 8949 §3.1) */
		break;
	default:
		cb_bytes(out, "\xa1\x01\x38\x22", 4);
		break;
	}
	if (v == C_UNPROTECTED_NONEMPTY) {
		cb_map(out, 1);
		cb_uint(out, 4);
		cb_bytes(out, "kid", 3);
	} else {
		cb_map(out, 0);
	}
	if (v == C_PAYLOAD_TEXT)
		cb_text(out, "payload");
	else if (v == C_PAYLOAD_NULL)
		cb_null(out);
	else
		cb_bytes(out, payload.ptr, payload.len);
	if (v == C_SIG_TEXT)
		cb_text(out, "sig");
	else if (v != C_THREE_ITEMS)
		cb_bytes(out, sig, v == C_SIG_64 ? 64 : 96);
	if (v == C_FIVE_ITEMS)
		cb_null(out);
	if (v == C_INDEF_ARRAY)
		cb_raw(out, "\xff", 1);
}

static const struct {
	enum cose_variant v;
	int want;
} cose_cases[] = {
    {C_OK, SB_OK},
    {C_TAGGED, SB_OK},
    {C_INDEF_ARRAY, SB_OK},
    {C_THREE_ITEMS, SB_ERR_ATTEST_STRUCTURE},
    {C_FIVE_ITEMS, SB_ERR_ATTEST_STRUCTURE},
    {C_TOP_MAP, SB_ERR_ATTEST_STRUCTURE},
    {C_ALG_ES256, SB_ERR_ATTEST_ALGORITHM},
    {C_ALG_TEXT, SB_ERR_ATTEST_ALGORITHM},
    {C_PROTECTED_NOT_MAP, SB_ERR_ATTEST_STRUCTURE},
    {C_PROTECTED_TWO, SB_ERR_ATTEST_STRUCTURE},
    {C_PROTECTED_GARBAGE, SB_ERR_ATTEST_STRUCTURE},
    {C_PROTECTED_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {C_BAD_UTF8, SB_ERR_ATTEST_CBOR},
    {C_UNPROTECTED_NONEMPTY, SB_ERR_ATTEST_STRUCTURE},
    {C_PAYLOAD_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {C_PAYLOAD_NULL, SB_ERR_ATTEST_STRUCTURE},
    {C_SIG_64, SB_ERR_ATTEST_STRUCTURE},
    {C_SIG_TEXT, SB_ERR_ATTEST_STRUCTURE},
    {C_TAG_TWICE, SB_ERR_ATTEST_CBOR},
    {C_OTHER_TAG, SB_ERR_ATTEST_CBOR},
    {C_EMPTY, SB_ERR_ATTEST_CBOR},
    {C_BREAK_ONLY, SB_ERR_ATTEST_CBOR},
    {C_HUGE_ARRAY, SB_ERR_ATTEST_CBOR},
    {C_HUGE_BSTR, SB_ERR_ATTEST_CBOR},
    {C_DEEP, SB_ERR_ATTEST_CBOR},
};

static void test_cose_cases(void **state)
{
	(void)state;
	struct sb_buf payload = SB_BUF_INIT(1 << 16);
	build_payload(&payload, V_OK);
	for (size_t i = 0; i < sizeof(cose_cases) / sizeof(cose_cases[0]); i++) {
		struct sb_buf doc = SB_BUF_INIT(1 << 16);
		build_cose(&doc, cose_cases[i].v, sb_buf_slice(&payload));
		struct sb_attest_doc *parsed = NULL;
		sb_result r = sb_attest_doc_parse(sb_buf_slice(&doc), &parsed);
		if (r.code != cose_cases[i].want)
			print_error("cose case %zu: got %s (%s), want %s\n", i,
			            sb_error_name(r.code), sb_error_describe(),
			            sb_error_name(cose_cases[i].want));
		assert_int_equal(r.code, cose_cases[i].want);
		sb_attest_doc_free(parsed);
		sb_buf_cleanup(&doc);
	}
	T_ERR(sb_attest_doc_parse(SB_SLICE(NULL, 0), NULL), SB_ERR_NULL);
	sb_buf_cleanup(&payload);
}

static void test_encoders(void **state)
{
	(void)state;
	struct sb_buf out = SB_BUF_INIT(4096);
	uint8_t sig[96];
	memset(sig, 0xab, sizeof(sig));
	T_OK(sb_cose_sign1_encode(SB_SLICE("\xa0", 1), sig, &out));
	/* 84 | 44 a1013822 | a0 | 41 a0 | 58 60 ab.. */
	assert_int_equal(out.len, 1 + 5 + 1 + 2 + 2 + 96);
	assert_memory_equal(out.data, "\x84\x44\xa1\x01\x38\x22\xa0\x41\xa0\x58\x60", 11);
	sb_buf_reset(&out);
	T_OK(sb_cose_sig_structure(sb_cose_protected_es384(), SB_SLICE("\xa0", 1), &out));
	/* ["Signature1", h'a1013822', h'', h'a0'] */
	static const uint8_t want[] = {0x84, 0x6a, 'S',  'i',  'g',  'n',  'a',  't',  'u',  'r',
	                               'e',  '1',  0x44, 0xa1, 0x01, 0x38, 0x22, 0x40, 0x41, 0xa0};
	assert_int_equal(out.len, sizeof(want));
	assert_memory_equal(out.data, want, sizeof(want));
	sb_buf_cleanup(&out);
}

static void test_doc_load_spellings(void **state)
{
	(void)state;
	struct sb_buf raw, text = SB_BUF_INIT(1 << 16), out = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	t_read("nitro/aws-2021-03-17.cbor", &raw);
	T_OK(sb_attest_doc_load(sb_buf_slice(&raw), &out));
	assert_memory_equal(out.data, raw.data, raw.len);
	/* base64 with a final newline */
	T_OK(sb_base64_encode(sb_buf_slice(&raw), &text));
	T_OK(sb_buf_append_str(&text, "\n"));
	sb_buf_reset(&out);
	T_OK(sb_attest_doc_load(sb_buf_slice(&text), &out));
	assert_int_equal(out.len, raw.len);
	assert_memory_equal(out.data, raw.data, raw.len);
	/* hex, upper case, CRLF */
	sb_buf_reset(&text);
	T_OK(sb_hex_encode(sb_buf_slice(&raw), &text));
	for (size_t i = 0; i < text.len; i++)
		if (text.data[i] >= 'a')
			text.data[i] = (uint8_t)(text.data[i] - 32);
	T_OK(sb_buf_append_str(&text, "\r\n"));
	sb_buf_reset(&out);
	T_OK(sb_attest_doc_load(sb_buf_slice(&text), &out));
	assert_memory_equal(out.data, raw.data, raw.len);
	/* Neither: spaces, bad base64, empty. */
	static const char *bad[] = {"hEShATgi oFkR", "hEShATgioFkR=x", "", "\n", "abc"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_buf_reset(&out);
		T_ERR(sb_attest_doc_load(sb_slice_str(bad[i]), &out), SB_ERR_ATTEST_DOC_ENCODING);
	}
	/* Too large in each spelling. */
	struct sb_buf big = SB_BUF_INIT(1 << 20);
	T_OK(sb_buf_append_u8(&big, 0x84));
	while (big.len <= SB_ATTEST_DOC_MAX)
		T_OK(sb_buf_append_u8(&big, 0));
	T_ERR(sb_attest_doc_load(sb_buf_slice(&big), &out), SB_ERR_ATTEST_TOO_LARGE);
	sb_buf_reset(&text);
	T_OK(sb_hex_encode(sb_buf_slice(&big), &text));
	T_ERR(sb_attest_doc_load(sb_buf_slice(&text), &out), SB_ERR_ATTEST_TOO_LARGE);
	sb_buf_cleanup(&big);
	sb_buf_cleanup(&raw);
	sb_buf_cleanup(&text);
	sb_buf_cleanup(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_payload_cases),      cmocka_unit_test(test_payload_fields_parsed),
	    cmocka_unit_test(test_cose_cases),         cmocka_unit_test(test_encoders),
	    cmocka_unit_test(test_doc_load_spellings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
