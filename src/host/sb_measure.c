/*
 * Local enclave images and their PCRs (format and rules in sb_measure.h and
 * docs/FORMATS.md). The extend rule is Nitro's: each PCR is
 * SHA384(zero48 || SHA384(everything it covers)); what each covers is this
 * format's own (AWS EIFs: host/sb_eif.c).
 */
#include "host/sb_measure.h"

#include <string.h>

#include "common/sb_encoding.h"

#define IMAGE_HEADER_LEN 12 /* magic 8 | version u16 | count u16 */
#define IMAGE_SECTIONS   5
#define SECTION_HEADER   12 /* type u16 | flags u16 | length u64 */

enum image_section {
	SEC_KERNEL = 1,
	SEC_CMDLINE = 2,
	SEC_BOOT_RAMDISK = 3,
	SEC_APP = 4,
	SEC_CONFIG = 5,
};

/*
 * The local stack boots no kernel: these fixed texts stand in for the
 * kernel, its command line and the init ramdisk, so PCR1 has the same
 * meaning as on Nitro (the boot environment, identical for every build
 * of this version) and changes only when this format's version does.
 */
static const char stand_in_kernel[] = "sealbid local-stack kernel stand-in, image format 1\n";
static const char stand_in_cmdline[] =
    "reboot=k panic=30 pci=off nomodules console=ttyS0 random.trust_cpu=on\n";
static const char stand_in_ramdisk[] = "sealbid local-stack init ramdisk stand-in, format 1\n";

static SB_RESULT append_section(struct sb_buf *out, uint16_t type, struct sb_slice data)
{
	SB_GUARD(sb_buf_append_be16(out, type));
	SB_GUARD(sb_buf_append_be16(out, 0));
	SB_GUARD(sb_buf_append_be64(out, data.len));
	return sb_buf_append_slice(out, data);
}

SB_RESULT sb_image_build(struct sb_slice app, struct sb_slice config, struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(app.ptr != NULL && app.len > 0, SB_ERR_INVALID_ARG, "empty enclave binary");
	SB_ENSURE_MSG(config.len <= SB_IMAGE_CONFIG_MAX, SB_ERR_TOO_LARGE, "config of %zu bytes",
	              config.len);
	SB_GUARD(sb_buf_append(out, SB_IMAGE_MAGIC, sizeof(SB_IMAGE_MAGIC))); /* with its NUL */
	SB_GUARD(sb_buf_append_be16(out, SB_IMAGE_VERSION));
	SB_GUARD(sb_buf_append_be16(out, IMAGE_SECTIONS));
	SB_GUARD(append_section(out, SEC_KERNEL, SB_SLICE_LIT(stand_in_kernel)));
	SB_GUARD(append_section(out, SEC_CMDLINE, SB_SLICE_LIT(stand_in_cmdline)));
	SB_GUARD(append_section(out, SEC_BOOT_RAMDISK, SB_SLICE_LIT(stand_in_ramdisk)));
	SB_GUARD(append_section(out, SEC_APP, app));
	SB_GUARD(append_section(out, SEC_CONFIG, config.ptr != NULL ? config : SB_SLICE("", 0)));
	SB_ENSURE(out->len <= SB_IMAGE_MAX, SB_ERR_TOO_LARGE);
	return SB_OK_RESULT;
}

/* Reads one section of the expected type; *record is header + bytes (for hashing). */
static SB_RESULT read_section(struct sb_reader *r, uint16_t want, struct sb_slice *data,
                              struct sb_slice *record)
{
	size_t start = r->off;
	uint16_t type, flags;
	uint64_t len;
	sb_result rc = sb_reader_be16(r, &type);
	if (sb_ok(rc))
		rc = sb_reader_be16(r, &flags);
	if (sb_ok(rc))
		rc = sb_reader_be64(r, &len);
	SB_ENSURE_MSG(sb_ok(rc), SB_ERR_ATTEST_BAD_IMAGE, "truncated section header");
	SB_ENSURE_MSG(type == want, SB_ERR_ATTEST_BAD_IMAGE, "section %u where %u belongs", type,
	              want);
	SB_ENSURE_MSG(flags == 0, SB_ERR_ATTEST_BAD_IMAGE, "section %u has flags %u", type, flags);
	SB_ENSURE_MSG(len <= sb_reader_remaining(r), SB_ERR_ATTEST_BAD_IMAGE,
	              "section %u claims %llu bytes, %zu left", type, (unsigned long long)len,
	              sb_reader_remaining(r));
	SB_GUARD(sb_reader_bytes(r, (size_t)len, data));
	*record = SB_SLICE(r->in.ptr + start, r->off - start);
	return SB_OK_RESULT;
}

/* pcr = SHA384(zero48 || SHA384(records[0] || ... || records[n-1])). */
static SB_RESULT measure(const struct sb_slice *records, size_t n, uint8_t pcr[SB_SHA384_LEN])
{
	struct sb_hash h;
	uint8_t digest[SB_SHA384_LEN];
	SB_GUARD(sb_hash_init(&h, SB_HASH_SHA384));
	sb_result rc = SB_OK_RESULT;
	for (size_t i = 0; i < n && sb_ok(rc); i++)
		rc = sb_hash_update(&h, records[i]);
	if (sb_ok(rc))
		rc = sb_hash_final(&h, digest, sizeof(digest));
	sb_hash_cleanup(&h);
	SB_GUARD(rc);
	memset(pcr, 0, SB_SHA384_LEN); /* the register starts at 48 zero bytes */
	return sb_pcr_extend_digest(pcr, digest);
}

static SB_RESULT parse_header(struct sb_reader *r)
{
	struct sb_slice magic;
	uint16_t version = 0, count = 0;
	sb_result rc = sb_reader_bytes(r, sizeof(SB_IMAGE_MAGIC), &magic);
	SB_ENSURE_MSG(sb_ok(rc) && memcmp(magic.ptr, SB_IMAGE_MAGIC, sizeof(SB_IMAGE_MAGIC)) == 0,
	              SB_ERR_ATTEST_BAD_IMAGE, "not a sealbid enclave image");
	rc = sb_reader_be16(r, &version);
	if (sb_ok(rc))
		rc = sb_reader_be16(r, &count);
	SB_ENSURE_MSG(sb_ok(rc), SB_ERR_ATTEST_BAD_IMAGE, "truncated header");
	SB_ENSURE_MSG(version == SB_IMAGE_VERSION, SB_ERR_ATTEST_BAD_IMAGE,
	              "image version %u, this build reads %u", version, SB_IMAGE_VERSION);
	SB_ENSURE_MSG(count == IMAGE_SECTIONS, SB_ERR_ATTEST_BAD_IMAGE, "%u sections", count);
	return SB_OK_RESULT;
}

SB_RESULT sb_image_parse(struct sb_slice in, struct sb_image *out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(in.len <= SB_IMAGE_MAX, SB_ERR_ATTEST_BAD_IMAGE, "image too large");
	struct sb_reader r;
	sb_reader_init(&r, in);
	SB_GUARD(parse_header(&r));
	struct sb_slice *data[IMAGE_SECTIONS] = {&out->kernel, &out->cmdline, &out->boot_ramdisk,
	                                         &out->app, &out->config};
	struct sb_slice records[IMAGE_SECTIONS];
	for (uint16_t i = 0; i < IMAGE_SECTIONS; i++)
		SB_GUARD(read_section(&r, (uint16_t)(i + 1), data[i], &records[i]));
	SB_ENSURE_MSG(sb_ok(sb_reader_end(&r)), SB_ERR_ATTEST_BAD_IMAGE, "%zu trailing bytes",
	              sb_reader_remaining(&r));
	SB_ENSURE_MSG(out->app.len > 0, SB_ERR_ATTEST_BAD_IMAGE, "empty application");
	SB_ENSURE_MSG(out->config.len <= SB_IMAGE_CONFIG_MAX, SB_ERR_ATTEST_BAD_IMAGE,
	              "config too large");
	/* PCR0: the whole image; PCR1: kernel, cmdline, boot ramdisk; PCR2: the application. */
	SB_GUARD(measure(records, IMAGE_SECTIONS, out->measurement.pcr0));
	SB_GUARD(measure(records, 3, out->measurement.pcr1));
	SB_GUARD(measure(records + 3, 2, out->measurement.pcr2));
	return SB_OK_RESULT;
}

SB_RESULT sb_image_measure(struct sb_slice in, struct sb_measurement *out)
{
	SB_ENSURE_REF(out);
	struct sb_image img;
	SB_GUARD(sb_image_parse(in, &img));
	*out = img.measurement;
	return SB_OK_RESULT;
}

static SB_RESULT append_pcr(struct sb_buf *out, const char *name, const uint8_t *pcr, bool last)
{
	SB_GUARD(sb_buf_printf(out, "    \"%s\": \"", name));
	SB_GUARD(sb_hex_encode(SB_SLICE(pcr, SB_SHA384_LEN), out));
	return sb_buf_append_str(out, last ? "\"\n" : "\",\n");
}

SB_RESULT sb_pcrs_json(const uint8_t *pcr0, const uint8_t *pcr1, const uint8_t *pcr2,
                       const uint8_t *pcr8, struct sb_buf *out)
{
	SB_ENSURE_REF(pcr0);
	SB_ENSURE_REF(pcr1);
	SB_ENSURE_REF(pcr2);
	SB_ENSURE_REF(out);
	/* nitro-cli build-enclave / describe-eif print exactly this shape (keys sorted). */
	SB_GUARD(sb_buf_append_str(out, "{\n  \"Measurements\": {\n"
	                                "    \"HashAlgorithm\": \"Sha384 { ... }\",\n"));
	SB_GUARD(append_pcr(out, "PCR0", pcr0, false));
	SB_GUARD(append_pcr(out, "PCR1", pcr1, false));
	SB_GUARD(append_pcr(out, "PCR2", pcr2, pcr8 == NULL));
	if (pcr8 != NULL)
		SB_GUARD(append_pcr(out, "PCR8", pcr8, true));
	return sb_buf_append_str(out, "  }\n}\n");
}

SB_RESULT sb_measurement_json(const struct sb_measurement *m, struct sb_buf *out)
{
	SB_ENSURE_REF(m);
	return sb_pcrs_json(m->pcr0, m->pcr1, m->pcr2, NULL, out);
}
