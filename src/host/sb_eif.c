/*
 * Enclave Image Files: a strict streaming parser and nitro-cli's PCRs
 * (format and rules in sb_eif.h and docs/FORMATS.md).
 */
#include "host/sb_eif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zlib.h>

#include "attest/sb_eif_sig.h"
#include "common/sb_file.h"
#include "crypto/sb_x509.h"
#include "host/sb_measure.h"

#define EIF_CHUNK   (64u << 10)
#define EIF_CRC_OFF (SB_EIF_HEADER_LEN - 4) /* the crc32 field is the header's last */

/* Where the bytes come from: memory, or a file read with pread. */
struct eif_src {
	const uint8_t *mem; /* NULL: read fd */
	int fd;
	uint64_t size;
};

/* Reads exactly len bytes at off; the caller has checked off + len <= size. */
static SB_RESULT src_read(const struct eif_src *s, uint64_t off, uint8_t *buf, size_t len)
{
	if (s->mem != NULL) {
		memcpy(buf, s->mem + off, len);
		return SB_OK_RESULT;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(s->fd, buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		SB_ENSURE_MSG(n >= 0, SB_ERR_IO, "read: %s", strerror(errno));
		/* The file shrank under us. */
		SB_ENSURE_MSG(n > 0, SB_ERR_HOST_EIF_TRUNCATED, "file ended while reading");
		done += (size_t)n;
	}
	return SB_OK_RESULT;
}

struct eif_header {
	uint8_t magic[SB_EIF_MAGIC_LEN];
	uint16_t version, flags, reserved, num_sections;
	uint64_t default_mem, default_cpus;
	uint64_t offsets[SB_EIF_MAX_SECTIONS], sizes[SB_EIF_MAX_SECTIONS];
	uint32_t unused, crc32;
};

/* Everything one measurement carries from section to section. */
struct eif_parse {
	struct eif_src src;
	struct sb_eif_info *info;
	struct sb_hash image; /* PCR0 */
	struct sb_hash boot;  /* PCR1 */
	struct sb_hash app;   /* PCR2 */
	uLong crc;
	unsigned count[SB_EIF_SECTION_METADATA + 1];
	struct sb_buf signature;
	struct sb_buf metadata;
	uint8_t chunk[EIF_CHUNK];
};

static const char *const section_names[] = {"invalid", "kernel",    "cmdline",
                                            "ramdisk", "signature", "metadata"};

static SB_RESULT read_header(struct sb_slice raw, struct eif_header *h)
{
	struct sb_reader r;
	sb_reader_init(&r, raw);
	sb_result rc = sb_reader_copy(&r, h->magic, sizeof(h->magic));
	if (sb_ok(rc))
		rc = sb_reader_be16(&r, &h->version);
	if (sb_ok(rc))
		rc = sb_reader_be16(&r, &h->flags);
	if (sb_ok(rc))
		rc = sb_reader_be64(&r, &h->default_mem);
	if (sb_ok(rc))
		rc = sb_reader_be64(&r, &h->default_cpus);
	if (sb_ok(rc))
		rc = sb_reader_be16(&r, &h->reserved);
	if (sb_ok(rc))
		rc = sb_reader_be16(&r, &h->num_sections);
	for (size_t i = 0; i < SB_EIF_MAX_SECTIONS && sb_ok(rc); i++)
		rc = sb_reader_be64(&r, &h->offsets[i]);
	for (size_t i = 0; i < SB_EIF_MAX_SECTIONS && sb_ok(rc); i++)
		rc = sb_reader_be64(&r, &h->sizes[i]);
	if (sb_ok(rc))
		rc = sb_reader_be32(&r, &h->unused);
	if (sb_ok(rc))
		rc = sb_reader_be32(&r, &h->crc32);
	if (sb_ok(rc))
		rc = sb_reader_end(&r);
	SB_ENSURE_MSG(sb_ok(rc), SB_ERR_HOST_EIF_BAD_HEADER, "header is not %d bytes",
	              SB_EIF_HEADER_LEN);
	return SB_OK_RESULT;
}

static SB_RESULT check_header(const struct eif_header *h)
{
	SB_ENSURE_MSG(memcmp(h->magic, SB_EIF_MAGIC, SB_EIF_MAGIC_LEN) == 0,
	              SB_ERR_HOST_EIF_BAD_HEADER, "no '.eif' magic");
	/* "V1 -> V2: Add support to generate and check CRC." A v1 file cannot be checked. */
	SB_ENSURE_MSG(h->version >= SB_EIF_VERSION_MIN && h->version <= SB_EIF_VERSION_MAX,
	              SB_ERR_HOST_EIF_BAD_HEADER, "version %u, this build reads %d to %d",
	              h->version, SB_EIF_VERSION_MIN, SB_EIF_VERSION_MAX);
	/* "bits 1: Architecture - toggled for aarch64 ... bits 2-8: Unused" */
	SB_ENSURE_MSG((h->flags & ~0x1u) == 0, SB_ERR_HOST_EIF_BAD_HEADER,
	              "unknown header flags 0x%04x", h->flags);
	SB_ENSURE_MSG(h->reserved == 0 && h->unused == 0, SB_ERR_HOST_EIF_BAD_HEADER,
	              "reserved header fields are not zero");
	/* kernel, cmdline and at least one ramdisk */
	SB_ENSURE_MSG(h->num_sections >= 3 && h->num_sections <= SB_EIF_MAX_SECTIONS,
	              SB_ERR_HOST_EIF_BAD_HEADER, "%u sections (3 to %d allowed)", h->num_sections,
	              SB_EIF_MAX_SECTIONS);
	for (size_t i = h->num_sections; i < SB_EIF_MAX_SECTIONS; i++)
		SB_ENSURE_MSG(h->offsets[i] == 0 && h->sizes[i] == 0, SB_ERR_HOST_EIF_BAD_HEADER,
		              "section table entry %zu is past num_sections but not zero", i);
	return SB_OK_RESULT;
}

/* Feeds one chunk of a section's data to the CRC and to the hashes and buffers it belongs to. */
static SB_RESULT consume(struct eif_parse *p, uint16_t type, struct sb_slice data)
{
	p->crc = crc32(p->crc, data.ptr, (uInt)data.len);
	switch (type) {
	case SB_EIF_SECTION_KERNEL:
	case SB_EIF_SECTION_CMDLINE:
		SB_GUARD(sb_hash_update(&p->image, data));
		return sb_hash_update(&p->boot, data);
	case SB_EIF_SECTION_RAMDISK:
		SB_GUARD(sb_hash_update(&p->image, data));
		/* "The first ramdisk is provided by amazon and it contains the code to bootstrap"
		 */
		return sb_hash_update(p->count[SB_EIF_SECTION_RAMDISK] == 1 ? &p->boot : &p->app,
		                      data);
	case SB_EIF_SECTION_SIGNATURE:
		return sb_buf_append_slice(&p->signature, data);
	case SB_EIF_SECTION_METADATA:
		return sb_buf_append_slice(&p->metadata, data);
	default:
		SB_BAIL(SB_ERR_HOST_EIF_BAD_SECTION);
	}
}

/* Per-type rules checked from the section header, before any data is read. */
static SB_RESULT check_section(const struct eif_parse *p, unsigned i, uint16_t type, uint64_t size)
{
	SB_ENSURE_MSG(type >= SB_EIF_SECTION_KERNEL && type <= SB_EIF_SECTION_METADATA,
	              SB_ERR_HOST_EIF_BAD_SECTION, "section %u has unknown type %u", i, type);
	const char *name = section_names[type];
	uint16_t v = p->info->version;
	SB_ENSURE_MSG(type != SB_EIF_SECTION_SIGNATURE || v >= 3, SB_ERR_HOST_EIF_BAD_SECTION,
	              "signature section in a version %u EIF (signatures came in version 3)", v);
	SB_ENSURE_MSG(type != SB_EIF_SECTION_METADATA || v >= 4, SB_ERR_HOST_EIF_BAD_SECTION,
	              "metadata section in a version %u EIF (metadata came in version 4)", v);
	SB_ENSURE_MSG(type == SB_EIF_SECTION_RAMDISK || p->count[type] == 0,
	              SB_ERR_HOST_EIF_BAD_SECTION, "a second %s section (section %u)", name, i);
	SB_ENSURE_MSG(type != SB_EIF_SECTION_KERNEL || size > 0, SB_ERR_HOST_EIF_BAD_SECTION,
	              "empty kernel section");
	uint64_t max = type == SB_EIF_SECTION_CMDLINE     ? SB_EIF_CMDLINE_MAX
	               : type == SB_EIF_SECTION_SIGNATURE ? SB_EIF_SIGNATURE_MAX
	               : type == SB_EIF_SECTION_METADATA  ? SB_EIF_METADATA_MAX
	                                                  : SB_EIF_MAX;
	SB_ENSURE_MSG(size <= max, SB_ERR_HOST_EIF_BAD_SECTION,
	              "%s section of %llu bytes (at most %llu)", name, (unsigned long long)size,
	              (unsigned long long)max);
	return SB_OK_RESULT;
}

/*
 * Section i must start exactly where the previous one ended (the layout
 * nitro-cli writes and the only one its sequential reader and the
 * hypervisor's offset-based loader both read the same way).
 */
static SB_RESULT read_section(struct eif_parse *p, const struct eif_header *h, unsigned i,
                              uint64_t *pos)
{
	uint64_t off = h->offsets[i], size = h->sizes[i], file = p->src.size;
	SB_ENSURE_MSG(off >= *pos, SB_ERR_HOST_EIF_BAD_LAYOUT,
	              "section %u at offset %llu overlaps what precedes it (ends at %llu)", i,
	              (unsigned long long)off, (unsigned long long)*pos);
	SB_ENSURE_MSG(off == *pos, SB_ERR_HOST_EIF_BAD_LAYOUT,
	              "%llu unaccounted bytes before section %u", (unsigned long long)(off - *pos),
	              i);
	SB_ENSURE_MSG(file - off >= SB_EIF_SECTION_HDR, SB_ERR_HOST_EIF_TRUNCATED,
	              "section %u header at offset %llu is past the end of the file", i,
	              (unsigned long long)off);
	SB_ENSURE_MSG(size <= file - off - SB_EIF_SECTION_HDR, SB_ERR_HOST_EIF_TRUNCATED,
	              "section %u claims %llu bytes, the file has %llu after its header", i,
	              (unsigned long long)size,
	              (unsigned long long)(file - off - SB_EIF_SECTION_HDR));
	uint8_t raw[SB_EIF_SECTION_HDR];
	SB_GUARD(src_read(&p->src, off, raw, sizeof(raw)));
	struct sb_reader r;
	uint16_t type = 0, flags = 0;
	uint64_t hsize = 0;
	sb_reader_init(&r, SB_SLICE(raw, sizeof(raw)));
	SB_GUARD(sb_reader_be16(&r, &type));
	SB_GUARD(sb_reader_be16(&r, &flags));
	SB_GUARD(sb_reader_be64(&r, &hsize));
	SB_GUARD(check_section(p, i, type, hsize));
	SB_ENSURE_MSG(flags == 0, SB_ERR_HOST_EIF_BAD_SECTION, "section %u has flags 0x%04x", i,
	              flags);
	SB_ENSURE_MSG(hsize == size, SB_ERR_HOST_EIF_BAD_LAYOUT,
	              "section %u header says %llu bytes, the header table %llu", i,
	              (unsigned long long)hsize, (unsigned long long)size);
	p->count[type]++;
	p->crc = crc32(p->crc, raw, sizeof(raw));
	uint64_t at = off + SB_EIF_SECTION_HDR, end = at + size;
	while (at < end) {
		size_t n = end - at < EIF_CHUNK ? (size_t)(end - at) : EIF_CHUNK;
		SB_GUARD(src_read(&p->src, at, p->chunk, n));
		SB_GUARD(consume(p, type, SB_SLICE(p->chunk, n)));
		at += n;
	}
	*pos = end;
	return SB_OK_RESULT;
}

/* pcr = SHA384(zero48 || SHA384(what h has seen)) */
static SB_RESULT finish_pcr(struct sb_hash *h, uint8_t pcr[SB_SHA384_LEN])
{
	uint8_t digest[SB_SHA384_LEN];

	SB_GUARD(sb_hash_final(h, digest, sizeof(digest)));
	memset(pcr, 0, SB_SHA384_LEN);
	return sb_pcr_extend_digest(pcr, digest);
}

/*
 * PCR8 = SHA384(zero48 || SHA384(DER of the first signature's PEM
 * certificate)), after checking that entry's COSE_Sign1 signs this image's
 * PCR0 with that certificate's key: nitro-cli refuses to run an EIF whose
 * signature does not verify, so neither is it measured here.
 */
static SB_RESULT measure_signature(struct eif_parse *p)
{
	struct sb_buf pem = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX),
	              cose = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX);
	struct sb_x509 *cert = NULL;
	struct sb_ecdsa_key *key = NULL;
	sb_result rc = sb_eif_sig_parse(sb_buf_slice(&p->signature), SB_ERR_HOST_EIF_BAD_SIGNATURE,
	                                &pem, &cose);
	if (sb_ok(rc) && !sb_ok(sb_x509_from_pem(sb_buf_slice(&pem), &cert)))
		rc = sb_error_recordf(SB_ERR_HOST_EIF_BAD_SIGNATURE, SB_HERE,
		                      "signing certificate is not a PEM X.509 certificate");
	if (sb_ok(rc) && !sb_ok(sb_x509_public_key(cert, &key)))
		rc = sb_error_recordf(SB_ERR_HOST_EIF_BAD_SIGNATURE, SB_HERE,
		                      "signing certificate has no EC public key");
	if (sb_ok(rc))
		rc = sb_eif_sig_check(sb_buf_slice(&cose), key, p->info->pcr0,
		                      SB_ERR_HOST_EIF_BAD_SIGNATURE);
	if (sb_ok(rc)) {
		memset(p->info->pcr8, 0, sizeof(p->info->pcr8));
		rc = sb_pcr_extend(p->info->pcr8, sb_x509_der(cert));
	}
	sb_ecdsa_key_free(key);
	sb_x509_free(cert);
	sb_buf_cleanup(&pem);
	sb_buf_cleanup(&cose);
	return rc;
}

/* nitro-cli deserialises metadata as a JSON object (EifIdentityInfo). */
static SB_RESULT check_metadata(const struct eif_parse *p)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)p->metadata.data, p->metadata.len,
	                          JSON_REJECT_DUPLICATES, &jerr);
	bool ok = root != NULL && json_is_object(root);
	json_decref(root);
	SB_ENSURE_MSG(ok, SB_ERR_HOST_EIF_BAD_SECTION, "metadata section is not a JSON object");
	return SB_OK_RESULT;
}

static SB_RESULT check_counts(const struct eif_parse *p)
{
	SB_ENSURE_MSG(p->count[SB_EIF_SECTION_KERNEL] == 1, SB_ERR_HOST_EIF_BAD_SECTION,
	              "no kernel section");
	SB_ENSURE_MSG(p->count[SB_EIF_SECTION_CMDLINE] == 1, SB_ERR_HOST_EIF_BAD_SECTION,
	              "no cmdline section");
	SB_ENSURE_MSG(p->count[SB_EIF_SECTION_RAMDISK] >= 1, SB_ERR_HOST_EIF_BAD_SECTION,
	              "no ramdisk section");
	return SB_OK_RESULT;
}

static SB_RESULT parse(struct eif_parse *p)
{
	struct sb_eif_info *info = p->info;
	uint8_t raw[SB_EIF_HEADER_LEN];
	struct eif_header h;
	SB_ENSURE_MSG(p->src.size >= SB_EIF_MAGIC_LEN, SB_ERR_HOST_EIF_TRUNCATED, "%llu bytes",
	              (unsigned long long)p->src.size);
	SB_GUARD(src_read(&p->src, 0, raw, SB_EIF_MAGIC_LEN));
	SB_ENSURE_MSG(sb_eif_has_magic(SB_SLICE(raw, SB_EIF_MAGIC_LEN)), SB_ERR_HOST_EIF_BAD_HEADER,
	              "no '.eif' magic");
	SB_ENSURE_MSG(p->src.size >= SB_EIF_HEADER_LEN, SB_ERR_HOST_EIF_TRUNCATED,
	              "%llu bytes, shorter than the %d-byte header",
	              (unsigned long long)p->src.size, SB_EIF_HEADER_LEN);
	SB_ENSURE_MSG(p->src.size <= SB_EIF_MAX, SB_ERR_HOST_EIF_BAD_LAYOUT, "file too large");
	SB_GUARD(src_read(&p->src, 0, raw, sizeof(raw)));
	SB_GUARD(read_header(SB_SLICE(raw, sizeof(raw)), &h));
	SB_GUARD(check_header(&h));
	info->version = h.version;
	info->flags = h.flags;
	info->default_mem = h.default_mem;
	info->default_cpus = h.default_cpus;
	info->num_sections = h.num_sections;
	info->crc32 = h.crc32;
	/* "it contains the crc for everything except the bytes representing this field" */
	p->crc = crc32(crc32(0L, Z_NULL, 0), raw, EIF_CRC_OFF);
	uint64_t pos = SB_EIF_HEADER_LEN;
	for (unsigned i = 0; i < h.num_sections; i++)
		SB_GUARD(read_section(p, &h, i, &pos));
	SB_ENSURE_MSG(pos == p->src.size, SB_ERR_HOST_EIF_BAD_LAYOUT,
	              "%llu bytes after the last section", (unsigned long long)(p->src.size - pos));
	SB_GUARD(check_counts(p));
	SB_ENSURE_MSG((uint32_t)p->crc == h.crc32, SB_ERR_HOST_EIF_BAD_CRC,
	              "header says %08x, the contents give %08x", h.crc32, (uint32_t)p->crc);
	info->num_ramdisks = p->count[SB_EIF_SECTION_RAMDISK];
	info->has_metadata = p->count[SB_EIF_SECTION_METADATA] > 0;
	info->is_signed = p->count[SB_EIF_SECTION_SIGNATURE] > 0;
	if (info->has_metadata)
		SB_GUARD(check_metadata(p));
	SB_GUARD(finish_pcr(&p->image, info->pcr0));
	SB_GUARD(finish_pcr(&p->boot, info->pcr1));
	SB_GUARD(finish_pcr(&p->app, info->pcr2));
	return info->is_signed ? measure_signature(p) : SB_OK_RESULT;
}

static SB_RESULT measure_src(struct eif_src src, struct sb_eif_info *out)
{
	SB_ENSURE_REF(out);
	memset(out, 0, sizeof(*out));
	struct eif_parse *p = calloc(1, sizeof(*p)); /* the chunk is too big for the stack */
	SB_ENSURE(p != NULL, SB_ERR_NOMEM);
	p->src = src;
	p->info = out;
	sb_buf_init(&p->signature, SB_EIF_SIGNATURE_MAX);
	sb_buf_init(&p->metadata, SB_EIF_METADATA_MAX);
	sb_result rc = sb_hash_init(&p->image, SB_HASH_SHA384);
	if (sb_ok(rc))
		rc = sb_hash_init(&p->boot, SB_HASH_SHA384);
	if (sb_ok(rc))
		rc = sb_hash_init(&p->app, SB_HASH_SHA384);
	if (sb_ok(rc))
		rc = parse(p);
	sb_hash_cleanup(&p->image);
	sb_hash_cleanup(&p->boot);
	sb_hash_cleanup(&p->app);
	sb_buf_cleanup(&p->signature);
	sb_buf_cleanup(&p->metadata);
	free(p);
	if (!sb_ok(rc))
		memset(out, 0, sizeof(*out)); /* no partial measurement */
	return rc;
}

bool sb_eif_has_magic(struct sb_slice head)
{
	return head.len >= SB_EIF_MAGIC_LEN &&
	       memcmp(head.ptr, SB_EIF_MAGIC, SB_EIF_MAGIC_LEN) == 0;
}

SB_RESULT sb_eif_measure_slice(struct sb_slice in, struct sb_eif_info *out)
{
	SB_ENSURE(in.ptr != NULL || in.len == 0, SB_ERR_NULL);
	static const uint8_t empty[1];
	return measure_src(
	    (struct eif_src){.mem = in.ptr != NULL ? in.ptr : empty, .fd = -1, .size = in.len},
	    out);
}

SB_RESULT sb_eif_measure_fd(int fd, uint64_t size, struct sb_eif_info *out)
{
	SB_ENSURE(fd >= 0, SB_ERR_INVALID_ARG);
	return measure_src((struct eif_src){.mem = NULL, .fd = fd, .size = size}, out);
}

SB_RESULT sb_eif_measure_file(const char *path, struct sb_eif_info *out)
{
	int fd = -1;
	uint64_t size = 0;
	SB_GUARD(sb_file_open_regular(path, &fd, &size));
	sb_result rc = sb_eif_measure_fd(fd, size, out);
	close(fd);
	return rc;
}

SB_RESULT sb_eif_json(const struct sb_eif_info *info, struct sb_buf *out)
{
	SB_ENSURE_REF(info);
	return sb_pcrs_json(info->pcr0, info->pcr1, info->pcr2, info->is_signed ? info->pcr8 : NULL,
	                    out);
}
