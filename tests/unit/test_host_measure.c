/*
 * Unit tests for enclave images and their PCRs (src/host/sb_measure.c). The
 * known-answer vector was computed independently (Python hashlib) from the
 * format in docs/FORMATS.md.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/sb_encoding.h"
#include "host/sb_measure.h"

#define T_OK(expr) assert_true(sb_ok(expr))

static const char kat_app[] = "\x7f"
                              "ELF test enclave";
static const char kat_config[] = "port=5005\n";
static const char *const kat_pcr[3] = {
    "0867f2d8f169fcec3c1b5ed6a5552b5ae9838dfd8994149efd9f5aa7ed9223d60ec78e2a33887bc2222e4d13d9e929"
    "4e",
    "9d2d2f7211f8b2e34729fcd22dd148e442d496a1dd74683435eaf83d81b9c3320593308fee9ee804776d7b524860c5"
    "48",
    "64f30200e36e813faa7436783bbd79cdf5ebadd830db9b0ea035263cb07512948a0d28759034a05ab77685e550d655"
    "f4",
};

static void build(const char *app, size_t app_len, const char *cfg, size_t cfg_len,
                  struct sb_buf *img)
{
	sb_buf_init(img, SB_IMAGE_MAX);
	T_OK(sb_image_build(SB_SLICE(app, app_len), SB_SLICE(cfg, cfg_len), img));
}

static void assert_hex(const uint8_t *pcr, const char *hex)
{
	struct sb_buf h = SB_BUF_INIT(128);
	T_OK(sb_hex_encode(SB_SLICE(pcr, SB_SHA384_LEN), &h));
	assert_string_equal(sb_buf_cstr(&h), hex);
	sb_buf_cleanup(&h);
}

static void test_known_answer_and_extract(void **state)
{
	(void)state;
	struct sb_buf img;
	build(kat_app, sizeof(kat_app) - 1, kat_config, sizeof(kat_config) - 1, &img);
	assert_int_equal(img.len, 273);
	assert_memory_equal(img.data, "SBIMAGE\0\x00\x01\x00\x05", 12);
	struct sb_image parsed;
	T_OK(sb_image_parse(sb_buf_slice(&img), &parsed));
	assert_hex(parsed.measurement.pcr0, kat_pcr[0]);
	assert_hex(parsed.measurement.pcr1, kat_pcr[1]);
	assert_hex(parsed.measurement.pcr2, kat_pcr[2]);
	/* What the launcher runs is exactly what was put in (and measured). */
	assert_int_equal(parsed.app.len, sizeof(kat_app) - 1);
	assert_memory_equal(parsed.app.ptr, kat_app, parsed.app.len);
	assert_int_equal(parsed.config.len, sizeof(kat_config) - 1);
	assert_memory_equal(parsed.config.ptr, kat_config, parsed.config.len);
	assert_true(parsed.app.ptr >= img.data && parsed.app.ptr < img.data + img.len);
	struct sb_measurement m;
	T_OK(sb_image_measure(sb_buf_slice(&img), &m));
	assert_memory_equal(&m, &parsed.measurement, sizeof(m));
	/* Independent check of PCR2 with sb_pcr_extend over the two section records. */
	struct sb_buf rec = SB_BUF_INIT(1024);
	T_OK(
	    sb_buf_append(&rec, parsed.app.ptr - 12, parsed.app.len + 12 + 12 + parsed.config.len));
	uint8_t pcr[SB_SHA384_LEN] = {0};
	T_OK(sb_pcr_extend(pcr, sb_buf_slice(&rec)));
	assert_memory_equal(pcr, m.pcr2, SB_SHA384_LEN);
	sb_buf_cleanup(&rec);
	sb_buf_cleanup(&img);
}

static void test_changes_change_pcrs(void **state)
{
	(void)state;
	struct sb_buf a, b, c, d, e;
	struct sb_measurement ma, mb, mc, md, me;
	build("binary-v1", 9, "cfg", 3, &a);
	build("binary-v2", 9, "cfg", 3, &b);  /* a changed binary */
	build("binary-v1", 9, "cfh", 3, &c);  /* a changed configuration */
	build("binary-v1c", 10, "fg", 2, &d); /* a byte moved from config to binary */
	build("binary-v1", 9, NULL, 0, &e);   /* no configuration */
	T_OK(sb_image_measure(sb_buf_slice(&a), &ma));
	T_OK(sb_image_measure(sb_buf_slice(&b), &mb));
	T_OK(sb_image_measure(sb_buf_slice(&c), &mc));
	T_OK(sb_image_measure(sb_buf_slice(&d), &md));
	T_OK(sb_image_measure(sb_buf_slice(&e), &me));
	const struct sb_measurement *others[] = {&mb, &mc, &md, &me};
	for (size_t i = 0; i < 4; i++) {
		assert_memory_not_equal(ma.pcr0, others[i]->pcr0, SB_SHA384_LEN);
		assert_memory_not_equal(ma.pcr2, others[i]->pcr2, SB_SHA384_LEN);
		/* The boot stand-ins are the same for every image. */
		assert_memory_equal(ma.pcr1, others[i]->pcr1, SB_SHA384_LEN);
	}
	/* Deterministic: the same inputs give the same image and PCRs. */
	struct sb_buf a2;
	build("binary-v1", 9, "cfg", 3, &a2);
	assert_int_equal(a.len, a2.len);
	assert_memory_equal(a.data, a2.data, a.len);
	struct sb_buf *all[] = {&a, &a2, &b, &c, &d, &e};
	for (size_t i = 0; i < 6; i++)
		sb_buf_cleanup(all[i]);
}

static void test_json_shape(void **state)
{
	(void)state;
	struct sb_buf img, json = SB_BUF_INIT(4096);
	struct sb_measurement m;
	build(kat_app, sizeof(kat_app) - 1, kat_config, sizeof(kat_config) - 1, &img);
	T_OK(sb_image_measure(sb_buf_slice(&img), &m));
	T_OK(sb_measurement_json(&m, &json));
	char want[1024];
	snprintf(want, sizeof(want),
	         "{\n  \"Measurements\": {\n    \"HashAlgorithm\": \"Sha384 { ... }\",\n"
	         "    \"PCR0\": \"%s\",\n    \"PCR1\": \"%s\",\n    \"PCR2\": \"%s\"\n  }\n}\n",
	         kat_pcr[0], kat_pcr[1], kat_pcr[2]);
	assert_string_equal(sb_buf_cstr(&json), want);
	sb_buf_cleanup(&json);
	sb_buf_cleanup(&img);
}

/* Writes a u16/u64 big-endian into an image at off. */
static void put16(struct sb_buf *b, size_t off, uint16_t v)
{
	b->data[off] = (uint8_t)(v >> 8);
	b->data[off + 1] = (uint8_t)v;
}

static void test_bad_images(void **state)
{
	(void)state;
	struct sb_buf good;
	build("app", 3, "c", 1, &good);
	/* Offsets: header 12; kernel section header at 12. */
	enum { MAGIC, VERSION, COUNT, ORDER, FLAGS, LENGTH, TRAILING, N_CASES };
	for (int k = 0; k < N_CASES; k++) {
		struct sb_buf bad = SB_BUF_INIT(SB_IMAGE_MAX);
		T_OK(sb_buf_append_slice(&bad, sb_buf_slice(&good)));
		switch (k) {
		case MAGIC:
			bad.data[0] = 'X';
			break;
		case VERSION:
			put16(&bad, 8, 2);
			break;
		case COUNT:
			put16(&bad, 10, 4);
			break;
		case ORDER:
			put16(&bad, 12, 2);
			break;
		case FLAGS:
			put16(&bad, 14, 1);
			break;
		case LENGTH:
			bad.data[16] = 0x80; /* kernel length 2^63+... */
			break;
		case TRAILING:
			T_OK(sb_buf_append_u8(&bad, 0));
			break;
		default:
			fail();
		}
		struct sb_image img;
		sb_result r = sb_image_parse(sb_buf_slice(&bad), &img);
		if (r.code != SB_ERR_ATTEST_BAD_IMAGE)
			print_error("case %d: %s\n", k, sb_error_name(r.code));
		assert_int_equal(r.code, SB_ERR_ATTEST_BAD_IMAGE);
		sb_buf_cleanup(&bad);
	}
	/* Truncated anywhere. */
	for (size_t cut = 0; cut < good.len; cut += 7) {
		struct sb_measurement m;
		assert_int_equal(sb_image_measure(SB_SLICE(good.data, cut), &m).code,
		                 SB_ERR_ATTEST_BAD_IMAGE);
	}
	static const uint8_t big_cfg[SB_IMAGE_CONFIG_MAX + 1];
	struct sb_buf out = SB_BUF_INIT(SB_IMAGE_MAX);
	assert_int_equal(sb_image_build(SB_SLICE("", 0), SB_SLICE("", 0), &out).code,
	                 SB_ERR_INVALID_ARG);
	assert_int_equal(
	    sb_image_build(SB_SLICE("a", 1), SB_SLICE(big_cfg, sizeof(big_cfg)), &out).code,
	    SB_ERR_TOO_LARGE);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_known_answer_and_extract),
	    cmocka_unit_test(test_changes_change_pcrs),
	    cmocka_unit_test(test_json_shape),
	    cmocka_unit_test(test_bad_images),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
