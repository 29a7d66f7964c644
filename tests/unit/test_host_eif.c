/*
 * Unit tests for the EIF parser and its PCRs (src/host/sb_eif.c). The
 * known answers were computed independently with Python's hashlib from
 * the rules in sb_eif.h (PCR = SHA384(zero48 || SHA384(data))); the EIFs
 * are built here by a small writer that follows aws-nitro-enclaves-image-
 * format's EifBuilder, and every rejection path is one table row.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "attest/sb_attest_doc.h"
#include "attest/sb_eif_sig.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "crypto/sb_x509.h"
#include "host/sb_eif.h"
#include "host/sb_measure.h"

#define T_OK(expr) assert_true(sb_ok(expr))

static const char *const kat_pcr0 = "6c2a3a9f083aea600e0e8c2164a6cd2cdfc4809df1ac481ec04901218ce9"
                                    "181ab0407524410ed0936ec3d6f85f6ce234";
static const char *const kat_pcr1 = "954f8085f896a60cfa3bc82cacbc0405802367f39f5a9d2471453483671f"
                                    "600276722bc421360428eed249dfb3741a94";
static const char *const kat_pcr2 = "3bfe3eb33312b5c5e0d7b776798893b7364fd86ab7e9c65e00cca91dd87e"
                                    "d3de55d70cd1283466fe73a5643330e4de71";
/* PCR8 for tests/data/nitro/aws-nitro-root-g1.pem as the signing certificate. */
static const char *const kat_pcr8 = "df3a0511a411c6a5628d91a189a052d281dec8153ffecde6bdc1a059825c"
                                    "32e4bfb7fc95b367564a64812a8795af8f8a";

struct section {
	uint16_t type;
	uint16_t flags;
	struct sb_slice data;
};

#define SEC(t, s) ((struct section){.type = (t), .data = SB_SLICE((s), strlen(s))})

static char kernel[101];

/* Header field offsets (sb_eif.h). */
#define OFF_VERSION  4
#define OFF_FLAGS    6
#define OFF_RESERVED 24
#define OFF_COUNT    26
#define OFF_OFFSETS  28
#define OFF_SIZES    (OFF_OFFSETS + 8 * SB_EIF_MAX_SECTIONS)
#define OFF_CRC      (SB_EIF_HEADER_LEN - 4)

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void fix_crc(struct sb_buf *eif)
{
	uLong crc = crc32(0L, eif->data, OFF_CRC);
	crc = crc32(crc, eif->data + SB_EIF_HEADER_LEN, (uInt)(eif->len - SB_EIF_HEADER_LEN));
	eif->data[OFF_CRC] = (uint8_t)(crc >> 24);
	eif->data[OFF_CRC + 1] = (uint8_t)(crc >> 16);
	eif->data[OFF_CRC + 2] = (uint8_t)(crc >> 8);
	eif->data[OFF_CRC + 3] = (uint8_t)crc;
}

/* A well-formed EIF of these sections, in this order (caller cleans up). */
static void build(const struct section *s, size_t n, uint16_t version, struct sb_buf *out)
{
	sb_buf_init(out, 64u << 20);
	uint8_t hdr[SB_EIF_HEADER_LEN] = {0};
	memcpy(hdr, ".eif", 4);
	put_be16(hdr + OFF_VERSION, version);
	put_be64(hdr + 8, 1u << 30);
	put_be64(hdr + 16, 2);
	put_be16(hdr + OFF_COUNT, (uint16_t)n);
	uint64_t pos = SB_EIF_HEADER_LEN;
	for (size_t i = 0; i < n; i++) {
		put_be64(hdr + OFF_OFFSETS + 8 * i, pos);
		put_be64(hdr + OFF_SIZES + 8 * i, s[i].data.len);
		pos += SB_EIF_SECTION_HDR + s[i].data.len;
	}
	T_OK(sb_buf_append(out, hdr, sizeof(hdr)));
	for (size_t i = 0; i < n; i++) {
		T_OK(sb_buf_append_be16(out, s[i].type));
		T_OK(sb_buf_append_be16(out, s[i].flags));
		T_OK(sb_buf_append_be64(out, s[i].data.len));
		T_OK(sb_buf_append_slice(out, s[i].data));
	}
	fix_crc(out);
}

static void build_std(struct sb_buf *out)
{
	struct section s[] = {
	    SEC(SB_EIF_SECTION_KERNEL, kernel),     SEC(SB_EIF_SECTION_CMDLINE, "console=ttyS0"),
	    SEC(SB_EIF_SECTION_METADATA, "{}"),     SEC(SB_EIF_SECTION_RAMDISK, "init-ramdisk"),
	    SEC(SB_EIF_SECTION_RAMDISK, "app-one"), SEC(SB_EIF_SECTION_RAMDISK, "app-two"),
	};
	build(s, sizeof(s) / sizeof(s[0]), 4, out);
}

static void assert_hex(const uint8_t *pcr, const char *hex)
{
	struct sb_buf h = SB_BUF_INIT(128);
	T_OK(sb_hex_encode(SB_SLICE(pcr, SB_SHA384_LEN), &h));
	assert_string_equal(sb_buf_cstr(&h), hex);
	sb_buf_cleanup(&h);
}

static int setup(void **state)
{
	(void)state;
	memset(kernel, 'K', 100);
	kernel[100] = '\0';
	return 0;
}

static void test_known_answer(void **state)
{
	(void)state;
	struct sb_buf eif;
	struct sb_eif_info info;
	build_std(&eif);
	T_OK(sb_eif_measure_slice(sb_buf_slice(&eif), &info));
	assert_hex(info.pcr0, kat_pcr0);
	assert_hex(info.pcr1, kat_pcr1);
	assert_hex(info.pcr2, kat_pcr2);
	assert_false(info.is_signed);
	assert_true(info.has_metadata);
	assert_int_equal(info.version, 4);
	assert_int_equal(info.num_sections, 6);
	assert_int_equal(info.num_ramdisks, 3);
	assert_int_equal(info.default_cpus, 2);
	assert_true(info.default_mem == 1u << 30);
	/* The same through a file and pread, as the CLI reads it. */
	char path[] = "/tmp/test_host_eif_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	T_OK(sb_fd_write_all(fd, sb_buf_slice(&eif)));
	struct sb_eif_info from_file;
	T_OK(sb_eif_measure_file(path, &from_file));
	assert_memory_equal(&from_file, &info, sizeof(info));
	/* A wrong size for the file is refused, never misread. */
	struct sb_eif_info shrunk;
	assert_false(sb_ok(sb_eif_measure_fd(fd, eif.len + 10, &shrunk)));
	close(fd);
	unlink(path);
	sb_buf_cleanup(&eif);
}

static void test_json_shape(void **state)
{
	(void)state;
	struct sb_eif_info info = {0};
	memset(info.pcr0, 0x01, SB_SHA384_LEN);
	memset(info.pcr8, 0x08, SB_SHA384_LEN);
	struct sb_buf json = SB_BUF_INIT(1024);
	T_OK(sb_eif_json(&info, &json));
	assert_non_null(strstr(sb_buf_cstr(&json), "\"HashAlgorithm\": \"Sha384 { ... }\",\n"));
	assert_null(strstr(sb_buf_cstr(&json), "PCR8"));
	assert_non_null(strstr(sb_buf_cstr(&json), "\"PCR2\": \"000000"));
	assert_string_equal(sb_buf_cstr(&json) + json.len - 8, "\"\n  }\n}\n");
	sb_buf_reset(&json);
	info.is_signed = true;
	T_OK(sb_eif_json(&info, &json));
	assert_non_null(strstr(sb_buf_cstr(&json), "\",\n    \"PCR8\": \"080808"));
	sb_buf_cleanup(&json);
}

/* serde_cbor's Vec<u8>: an array of unsigned integers. */
static void cbor_head(struct sb_buf *b, uint8_t major, size_t n)
{
	if (n < 24) {
		T_OK(sb_buf_append_u8(b, (uint8_t)((size_t)major << 5 | n)));
	} else if (n < 256) {
		T_OK(sb_buf_append_u8(b, (uint8_t)(major << 5 | 24)));
		T_OK(sb_buf_append_u8(b, (uint8_t)n));
	} else {
		T_OK(sb_buf_append_u8(b, (uint8_t)(major << 5 | 25)));
		T_OK(sb_buf_append_be16(b, (uint16_t)n));
	}
}

static void cbor_text(struct sb_buf *b, const char *s)
{
	cbor_head(b, 3, strlen(s));
	T_OK(sb_buf_append_str(b, s));
}

static void cbor_byte_array(struct sb_buf *b, struct sb_slice s)
{
	cbor_head(b, 4, s.len);
	for (size_t i = 0; i < s.len; i++)
		cbor_head(b, 0, s.ptr[i]);
}

static void signature_section(struct sb_slice pem, struct sb_slice cose, struct sb_buf *out)
{
	sb_buf_init(out, 1u << 20);
	cbor_head(out, 4, 1);
	cbor_head(out, 5, 2);
	cbor_text(out, "signing_certificate");
	cbor_byte_array(out, pem);
	cbor_text(out, "signature");
	cbor_byte_array(out, cose);
}

/* A COSE_Sign1 by key over serde_cbor(PcrInfo{0, pcr0}), as EifSigner makes it. */
static void sign_pcr0(const struct sb_ecdsa_key *key, const uint8_t *pcr0, struct sb_buf *cose)
{
	struct sb_buf payload = SB_BUF_INIT(256), tbs = SB_BUF_INIT(1024);
	cbor_head(&payload, 5, 2);
	cbor_text(&payload, "register_index");
	cbor_head(&payload, 0, 0);
	cbor_text(&payload, "register_value");
	cbor_byte_array(&payload, SB_SLICE(pcr0, SB_SHA384_LEN));
	T_OK(sb_cose_sig_structure(sb_cose_protected_es384(), sb_buf_slice(&payload), &tbs));
	uint8_t sig[SB_ES384_SIG_LEN];
	T_OK(sb_ecdsa_sign_es384(key, sb_buf_slice(&tbs), sig));
	sb_buf_init(cose, 4096);
	T_OK(sb_cose_sign1_encode(sb_buf_slice(&payload), sig, cose));
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&tbs);
}

/* The standard sections plus a signature section; pcr0 is what gets signed. */
static void build_signed(const struct sb_ecdsa_key *key, struct sb_slice pem, const uint8_t *pcr0,
                         struct sb_buf *eif)
{
	struct sb_buf cose, sig;
	sign_pcr0(key, pcr0, &cose);
	signature_section(pem, sb_buf_slice(&cose), &sig);
	struct section s[] = {
	    SEC(SB_EIF_SECTION_KERNEL, kernel),
	    SEC(SB_EIF_SECTION_CMDLINE, "console=ttyS0"),
	    SEC(SB_EIF_SECTION_METADATA, "{}"),
	    SEC(SB_EIF_SECTION_RAMDISK, "init-ramdisk"),
	    SEC(SB_EIF_SECTION_RAMDISK, "app-one"),
	    SEC(SB_EIF_SECTION_RAMDISK, "app-two"),
	    {.type = SB_EIF_SECTION_SIGNATURE, .data = sb_buf_slice(&sig)},
	};
	build(s, 7, 4, eif);
	sb_buf_cleanup(&cose);
	sb_buf_cleanup(&sig);
}

static void test_signed(void **state)
{
	(void)state;
	struct sb_ecdsa_key *key = NULL, *other = NULL;
	struct sb_x509 *cert = NULL;
	struct sb_buf pem = SB_BUF_INIT(1u << 16), eif;
	struct sb_x509_spec spec = {.common_name = "eif signer",
	                            .serial = 7,
	                            .not_before = 0,
	                            .not_after = 4102444800,
	                            .is_ca = false,
	                            .path_len = -1};
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &key));
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &other));
	T_OK(sb_x509_create(&spec, key, NULL, key, &cert));
	T_OK(sb_x509_to_pem(cert, &pem));
	uint8_t pcr0[SB_SHA384_LEN];
	struct sb_buf hex = SB_BUF_INIT(64);
	T_OK(sb_hex_decode(sb_slice_str(kat_pcr0), &hex));
	memcpy(pcr0, hex.data, SB_SHA384_LEN);
	sb_buf_cleanup(&hex);

	build_signed(key, sb_buf_slice(&pem), pcr0, &eif);
	struct sb_eif_info info;
	T_OK(sb_eif_measure_slice(sb_buf_slice(&eif), &info));
	assert_true(info.is_signed);
	/* The signature section is outside PCR0..2. */
	assert_hex(info.pcr0, kat_pcr0);
	assert_hex(info.pcr1, kat_pcr1);
	assert_hex(info.pcr2, kat_pcr2);
	uint8_t pcr8[SB_SHA384_LEN] = {0};
	T_OK(sb_pcr_extend(pcr8, sb_x509_der(cert)));
	assert_memory_equal(info.pcr8, pcr8, SB_SHA384_LEN);
	sb_buf_cleanup(&eif);

	/* A signature over another PCR0, or by another key, is refused. */
	uint8_t wrong[SB_SHA384_LEN];
	memcpy(wrong, pcr0, sizeof(wrong));
	wrong[47] ^= 1;
	build_signed(key, sb_buf_slice(&pem), wrong, &eif);
	assert_false(sb_ok(sb_eif_measure_slice(sb_buf_slice(&eif), &info)));
	assert_int_equal(sb_error_code(), SB_ERR_HOST_EIF_BAD_SIGNATURE);
	assert_non_null(strstr(sb_error_detail(), "not this image's PCR0"));
	sb_buf_cleanup(&eif);
	build_signed(other, sb_buf_slice(&pem), pcr0, &eif);
	assert_false(sb_ok(sb_eif_measure_slice(sb_buf_slice(&eif), &info)));
	assert_int_equal(sb_error_code(), SB_ERR_HOST_EIF_BAD_SIGNATURE);
	assert_non_null(strstr(sb_error_detail(), "does not verify"));
	sb_buf_cleanup(&eif);

	sb_x509_free(cert);
	sb_ecdsa_key_free(key);
	sb_ecdsa_key_free(other);
	sb_buf_cleanup(&pem);
}

/* The section parser alone, and PCR8 of a known certificate (computed with hashlib). */
static void test_signature_section(void **state)
{
	(void)state;
	struct sb_buf pem = SB_BUF_INIT(1u << 16), sig;
	T_OK(sb_file_read(SB_TEST_DATA "/nitro/aws-nitro-root-g1.pem", &pem));
	signature_section(sb_buf_slice(&pem), SB_SLICE("\x84\x40\xa0\x40\x40", 5), &sig);
	struct sb_buf cert = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX), cose = SB_BUF_INIT(64);
	T_OK(sb_eif_sig_parse(sb_buf_slice(&sig), SB_ERR_HOST_EIF_BAD_SIGNATURE, &cert, &cose));
	assert_true(sb_slice_eq(sb_buf_slice(&cert), sb_buf_slice(&pem)));
	assert_int_equal(cose.len, 5);
	struct sb_x509 *x = NULL;
	T_OK(sb_x509_from_pem(sb_buf_slice(&cert), &x));
	uint8_t pcr8[SB_SHA384_LEN] = {0};
	T_OK(sb_pcr_extend(pcr8, sb_x509_der(x)));
	assert_hex(pcr8, kat_pcr8);
	sb_x509_free(x);
	/* Trailing bytes after the array are refused. */
	T_OK(sb_buf_append_u8(&sig, 0));
	sb_buf_reset(&cert);
	sb_buf_reset(&cose);
	assert_false(sb_ok(
	    sb_eif_sig_parse(sb_buf_slice(&sig), SB_ERR_HOST_EIF_BAD_SIGNATURE, &cert, &cose)));
	assert_int_equal(sb_error_code(), SB_ERR_HOST_EIF_BAD_SIGNATURE);
	sb_buf_cleanup(&cert);
	sb_buf_cleanup(&cose);
	sb_buf_cleanup(&pem);
	sb_buf_cleanup(&sig);
}

/* One malformed EIF: a mutation of the standard one, and what it must be refused with. */
struct bad_case {
	const char *name;
	void (*mutate)(struct sb_buf *eif);
	int err;
	const char *detail;
};

static void m_magic(struct sb_buf *e)
{
	e->data[1] = 'E';
}
static void m_crc(struct sb_buf *e)
{
	e->data[SB_EIF_HEADER_LEN + 20] ^= 1; /* in the kernel; CRC not fixed */
}
static void m_truncate(struct sb_buf *e)
{
	sb_buf_truncate(e, e->len - 1);
	fix_crc(e);
}
static void m_short(struct sb_buf *e)
{
	sb_buf_truncate(e, 100);
}
static void m_tiny(struct sb_buf *e)
{
	sb_buf_truncate(e, 2);
}
static void m_version(struct sb_buf *e)
{
	put_be16(e->data + OFF_VERSION, 9);
	fix_crc(e);
}
static void m_flags(struct sb_buf *e)
{
	put_be16(e->data + OFF_FLAGS, 0x8000);
	fix_crc(e);
}
static void m_reserved(struct sb_buf *e)
{
	put_be16(e->data + OFF_RESERVED, 1);
	fix_crc(e);
}
static void m_count_low(struct sb_buf *e)
{
	put_be16(e->data + OFF_COUNT, 2);
	fix_crc(e);
}
static void m_count_high(struct sb_buf *e)
{
	put_be16(e->data + OFF_COUNT, 7); /* table entry 6 is zero: offset 0 overlaps the header */
	fix_crc(e);
}
static void m_overlap(struct sb_buf *e)
{
	uint8_t *off2 = e->data + OFF_OFFSETS + 16;
	put_be64(off2, get_be64(off2) - 1);
	fix_crc(e);
}
static void m_gap(struct sb_buf *e)
{
	uint8_t *off2 = e->data + OFF_OFFSETS + 16;
	put_be64(off2, get_be64(off2) + 1);
	fix_crc(e);
}
static void m_size_beyond(struct sb_buf *e)
{
	uint8_t *size5 = e->data + OFF_SIZES + 40;
	put_be64(size5, 1u << 20);
	put_be64(e->data + get_be64(e->data + OFF_OFFSETS + 40) + 4, 1u << 20);
	fix_crc(e);
}
static void m_size_huge(struct sb_buf *e)
{
	put_be64(e->data + OFF_SIZES + 40, UINT64_MAX);
	fix_crc(e);
}
static void m_table_mismatch(struct sb_buf *e)
{
	uint8_t *size5 = e->data + OFF_SIZES + 40;
	put_be64(size5, get_be64(size5) - 1);
	fix_crc(e);
}
static void m_table_extra(struct sb_buf *e)
{
	put_be64(e->data + OFF_SIZES + 8 * 31, 1);
	fix_crc(e);
}
static void set_type(struct sb_buf *e, unsigned i, uint16_t type)
{
	put_be16(e->data + get_be64(e->data + OFF_OFFSETS + 8 * i), type);
	fix_crc(e);
}
static void m_unknown_type(struct sb_buf *e)
{
	set_type(e, 5, 6);
}
static void m_invalid_type(struct sb_buf *e)
{
	set_type(e, 5, 0);
}
static void m_no_kernel(struct sb_buf *e)
{
	set_type(e, 0, SB_EIF_SECTION_RAMDISK);
}
static void m_no_cmdline(struct sb_buf *e)
{
	set_type(e, 1, SB_EIF_SECTION_RAMDISK);
}
static void m_two_metadata(struct sb_buf *e)
{
	set_type(e, 3, SB_EIF_SECTION_METADATA);
}
static void m_two_cmdlines(struct sb_buf *e)
{
	set_type(e, 2, SB_EIF_SECTION_CMDLINE);
}
static void m_section_flags(struct sb_buf *e)
{
	put_be16(e->data + get_be64(e->data + OFF_OFFSETS + 8) + 2, 1);
	fix_crc(e);
}
static void m_metadata_v3(struct sb_buf *e)
{
	put_be16(e->data + OFF_VERSION, 3);
	fix_crc(e);
}
static void m_metadata_json(struct sb_buf *e)
{
	e->data[get_be64(e->data + OFF_OFFSETS + 16) + SB_EIF_SECTION_HDR] = '[';
	fix_crc(e);
}
static void m_trailing(struct sb_buf *e)
{
	T_OK(sb_buf_append_u8(e, 0));
	fix_crc(e);
}

static const struct bad_case bad_cases[] = {
    {"magic", m_magic, SB_ERR_HOST_EIF_BAD_HEADER, "magic"},
    {"crc", m_crc, SB_ERR_HOST_EIF_BAD_CRC, "header says"},
    {"truncated", m_truncate, SB_ERR_HOST_EIF_TRUNCATED, "claims"},
    {"short header", m_short, SB_ERR_HOST_EIF_TRUNCATED, "548-byte header"},
    {"tiny", m_tiny, SB_ERR_HOST_EIF_TRUNCATED, "2 bytes"},
    {"version", m_version, SB_ERR_HOST_EIF_BAD_HEADER, "version 9"},
    {"flags", m_flags, SB_ERR_HOST_EIF_BAD_HEADER, "flags 0x8000"},
    {"reserved", m_reserved, SB_ERR_HOST_EIF_BAD_HEADER, "reserved"},
    {"too few sections", m_count_low, SB_ERR_HOST_EIF_BAD_HEADER, "2 sections"},
    {"count past table", m_count_high, SB_ERR_HOST_EIF_BAD_LAYOUT, "overlaps"},
    {"overlap", m_overlap, SB_ERR_HOST_EIF_BAD_LAYOUT, "overlaps"},
    {"gap", m_gap, SB_ERR_HOST_EIF_BAD_LAYOUT, "unaccounted"},
    {"size beyond file", m_size_beyond, SB_ERR_HOST_EIF_TRUNCATED, "claims"},
    {"size 2^64-1", m_size_huge, SB_ERR_HOST_EIF_TRUNCATED, "claims"},
    {"table/header size", m_table_mismatch, SB_ERR_HOST_EIF_BAD_LAYOUT, "header table"},
    {"table past count", m_table_extra, SB_ERR_HOST_EIF_BAD_HEADER, "past num_sections"},
    {"unknown type", m_unknown_type, SB_ERR_HOST_EIF_BAD_SECTION, "unknown type 6"},
    {"invalid type", m_invalid_type, SB_ERR_HOST_EIF_BAD_SECTION, "unknown type 0"},
    {"no kernel", m_no_kernel, SB_ERR_HOST_EIF_BAD_SECTION, "no kernel"},
    {"no cmdline", m_no_cmdline, SB_ERR_HOST_EIF_BAD_SECTION, "no cmdline"},
    {"two metadata", m_two_metadata, SB_ERR_HOST_EIF_BAD_SECTION, "second metadata"},
    {"two cmdlines", m_two_cmdlines, SB_ERR_HOST_EIF_BAD_SECTION, "second cmdline"},
    {"section flags", m_section_flags, SB_ERR_HOST_EIF_BAD_SECTION, "flags 0x0001"},
    {"metadata in v3", m_metadata_v3, SB_ERR_HOST_EIF_BAD_SECTION, "version 3"},
    {"metadata not JSON", m_metadata_json, SB_ERR_HOST_EIF_BAD_SECTION, "JSON"},
    {"trailing", m_trailing, SB_ERR_HOST_EIF_BAD_LAYOUT, "after the last section"},
};

static void test_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct sb_buf eif;
		build_std(&eif);
		c->mutate(&eif);
		struct sb_eif_info info;
		memset(&info, 0xa5, sizeof(info));
		sb_result rc = sb_eif_measure_slice(sb_buf_slice(&eif), &info);
		if (sb_ok(rc) || sb_error_code() != c->err || !strstr(sb_error_detail(), c->detail))
			fail_msg("%s: got %s (%s), want %s containing '%s'", c->name,
			         sb_ok(rc) ? "OK" : sb_error_name(sb_error_code()),
			         sb_error_detail(), sb_error_name(c->err), c->detail);
		/* No partial measurement survives a failure. */
		static const struct sb_eif_info zero;
		assert_memory_equal(&info, &zero, sizeof(info));
		sb_buf_cleanup(&eif);
	}
}

static void test_no_ramdisk(void **state)
{
	(void)state;
	struct section s[] = {
	    SEC(SB_EIF_SECTION_KERNEL, kernel),
	    SEC(SB_EIF_SECTION_CMDLINE, "x"),
	    SEC(SB_EIF_SECTION_METADATA, "{}"),
	};
	struct sb_buf eif;
	struct sb_eif_info info;
	build(s, 3, 4, &eif);
	assert_false(sb_ok(sb_eif_measure_slice(sb_buf_slice(&eif), &info)));
	assert_int_equal(sb_error_code(), SB_ERR_HOST_EIF_BAD_SECTION);
	assert_non_null(strstr(sb_error_detail(), "no ramdisk"));
	sb_buf_cleanup(&eif);
	assert_false(sb_ok(sb_eif_measure_slice(SB_SLICE(NULL, 0), &info)));
	assert_false(sb_ok(sb_eif_measure_file("/nonexistent/x.eif", &info)));
	assert_true(sb_eif_has_magic(SB_SLICE(".eif", 4)));
	assert_false(sb_eif_has_magic(SB_SLICE(".ei", 3)));
}

/* Every byte flipped in the header either still parses to the same PCRs or is refused. */
static void test_header_bit_flips(void **state)
{
	(void)state;
	struct sb_buf eif;
	struct sb_eif_info good, info;
	build_std(&eif);
	T_OK(sb_eif_measure_slice(sb_buf_slice(&eif), &good));
	for (size_t i = 0; i < SB_EIF_HEADER_LEN; i++) {
		eif.data[i] ^= 0x10;
		/* A flip of a CRC byte is caught by the CRC; anything else is caught even with a
		 * fixed CRC. */
		if (i < OFF_CRC)
			fix_crc(&eif);
		sb_result rc = sb_eif_measure_slice(sb_buf_slice(&eif), &info);
		/* default_mem and default_cpus are informational: flips there still parse. */
		bool informational = i >= 8 && i < 24;
		if (informational) {
			T_OK(rc);
			assert_memory_equal(info.pcr0, good.pcr0, SB_SHA384_LEN);
		} else if (sb_ok(rc)) {
			fail_msg("header byte %zu flipped and still accepted", i);
		}
		eif.data[i] ^= 0x10;
	}
	fix_crc(&eif);
	sb_buf_cleanup(&eif);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_known_answer, setup),
	    cmocka_unit_test_setup(test_json_shape, setup),
	    cmocka_unit_test_setup(test_signed, setup),
	    cmocka_unit_test_setup(test_signature_section, setup),
	    cmocka_unit_test_setup(test_malformed, setup),
	    cmocka_unit_test_setup(test_no_ramdisk, setup),
	    cmocka_unit_test_setup(test_header_bit_flips, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
