/*
 * AWS Enclave Image Files (EIF) and their PCRs, computed as nitro-cli
 * describe-eif computes them (docs/FORMATS.md, "Enclave Image File (EIF)").
 * Reference: aws-nitro-enclaves-image-format, src/defs/mod.rs (layout) and
 * src/utils/eif_reader.rs (measurement).
 *
 * File (all integers big-endian):
 *   header, 548 bytes:
 *     magic ".eif" (4) | version u16 | flags u16 (bit 0: aarch64)
 *     | default_mem u64 | default_cpus u64 | reserved u16 | num_sections u16
 *     | section_offsets u64[32] | section_sizes u64[32] | unused u32 | crc32 u32
 *   then num_sections sections, each at section_offsets[i]:
 *     type u16 | flags u16 | size u64 (= section_sizes[i]) | size bytes
 *   types: 1 kernel, 2 cmdline, 3 ramdisk, 4 signature (v3+), 5 metadata (v4+).
 *   crc32 (IEEE, zlib's) covers every byte of the file except the crc32 field.
 *
 * PCRs: each is SHA384(zero48 || SHA384(the concatenated data it covers)),
 * data only (no section headers), in file order:
 *   PCR0 = kernel | cmdline | every ramdisk
 *   PCR1 = kernel | cmdline | the first ramdisk (AWS's boot ramdisk)
 *   PCR2 = the other ramdisks (the user application)
 *   PCR8 = over the DER of the signing certificate (signed EIFs only)
 * The metadata and signature sections are not part of PCR0..2.
 *
 * This parser is stricter than nitro-cli's reader: whatever it accepts,
 * nitro-cli measures identically, but it also refuses what nitro-cli would
 * merely flag (a bad CRC) or misread (gaps, overlaps, trailing bytes).
 * Sections are streamed through the hashes in bounded chunks, so a
 * multi-gigabyte ramdisk never sits in memory.
 */
#ifndef SB_EIF_H
#define SB_EIF_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_EIF_MAGIC         ".eif"
#define SB_EIF_MAGIC_LEN     4
#define SB_EIF_HEADER_LEN    548
#define SB_EIF_SECTION_HDR   12
#define SB_EIF_MAX_SECTIONS  32
#define SB_EIF_VERSION_MIN   2 /* v1 had no CRC */
#define SB_EIF_VERSION_MAX   4 /* CURRENT_VERSION in aws-nitro-enclaves-image-format */
#define SB_EIF_MAX           ((uint64_t)64 << 30) /* whole file */
#define SB_EIF_CMDLINE_MAX   (64u << 10)
#define SB_EIF_METADATA_MAX  (1u << 20)
#define SB_EIF_SIGNATURE_MAX (256u << 10)

enum sb_eif_section_type {
	SB_EIF_SECTION_KERNEL = 1,
	SB_EIF_SECTION_CMDLINE = 2,
	SB_EIF_SECTION_RAMDISK = 3,
	SB_EIF_SECTION_SIGNATURE = 4,
	SB_EIF_SECTION_METADATA = 5,
};

/* What sb_eif_measure_* found. Caller storage; no heap. */
struct sb_eif_info {
	uint16_t version;
	uint16_t flags;
	uint64_t default_mem;
	uint64_t default_cpus;
	uint16_t num_sections;
	unsigned num_ramdisks;
	bool has_metadata;
	bool is_signed; /* a signature section is present: pcr8 is set */
	uint32_t crc32;
	uint8_t pcr0[SB_SHA384_LEN];
	uint8_t pcr1[SB_SHA384_LEN];
	uint8_t pcr2[SB_SHA384_LEN];
	uint8_t pcr8[SB_SHA384_LEN]; /* zero when !is_signed */
};

/* True when head (the first bytes of a file) starts with the EIF magic. */
bool sb_eif_has_magic(struct sb_slice head);
/*
 * Parses and measures an EIF held in memory (borrows in). Errors:
 * SB_ERR_HOST_EIF_TRUNCATED, _BAD_HEADER, _BAD_LAYOUT, _BAD_SECTION,
 * _BAD_CRC, _BAD_SIGNATURE, each with a detail naming the field or section.
 */
SB_RESULT sb_eif_measure_slice(struct sb_slice in, struct sb_eif_info *out);
/*
 * The same over an open regular file of `size` bytes, read with pread in
 * bounded chunks (the fd's offset is not used). Borrows fd.
 */
SB_RESULT sb_eif_measure_fd(int fd, uint64_t size, struct sb_eif_info *out);
/* Opens path (a regular file; no FIFOs or symlinks) and measures it. */
SB_RESULT sb_eif_measure_file(const char *path, struct sb_eif_info *out);
/*
 * describe-eif's "Measurements" object (PCR8 only when signed), in the
 * same pretty-printed shape as sb_measurement_json, appended to out.
 */
SB_RESULT sb_eif_json(const struct sb_eif_info *info, struct sb_buf *out);

#endif
