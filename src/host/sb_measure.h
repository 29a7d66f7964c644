/*
 * Enclave images for the local stack, and their PCRs (docs/FORMATS.md,
 * "Enclave images and PCRs").
 *
 * Image file (all integers big-endian):
 *   magic "SBIMAGE\0" (8) | version u16 = 1 | section count u16 = 5
 *   then 5 sections, in this order, each: type u16 | flags u16 (0) | length u64 | bytes
 *     1 KERNEL        stand-in for the enclave kernel (fixed text, see .c)
 *     2 CMDLINE       stand-in for the kernel command line (fixed text)
 *     3 BOOT_RAMDISK  stand-in for the init ramdisk (fixed text)
 *     4 APP           the sealbid-enclave binary
 *     5 CONFIG        the enclave configuration file (may be empty)
 *   nothing after the last section.
 *
 * This is sealbid's own format, not an AWS EIF (EIFs are read by
 * host/sb_eif.h). Its PCRs use the Nitro extend rule (each register starts
 * at 48 zero bytes and is extended once with the SHA-384 of what it
 * covers: SHA384(zero48 || H)), but what they cover is this format's own
 * choice: a section's "record" is its type|flags|length header followed by
 * its bytes (so moving bytes between sections changes the measurement):
 *   PCR0 = over the records of all five sections, in order (the whole image)
 *   PCR1 = over KERNEL, CMDLINE, BOOT_RAMDISK records (kernel + boot ramdisk)
 *   PCR2 = over APP, CONFIG records (the user application)
 */
#ifndef SB_MEASURE_H
#define SB_MEASURE_H

#include <stdint.h>

#include "common/sb_buf.h"
#include "crypto/sb_hash.h"

#define SB_IMAGE_MAGIC      "SBIMAGE" /* 7 chars + NUL = 8 bytes on disk */
#define SB_IMAGE_VERSION    1
#define SB_IMAGE_MAX        (256u << 20) /* whole image file */
#define SB_IMAGE_CONFIG_MAX (1u << 20)

struct sb_measurement {
	uint8_t pcr0[SB_SHA384_LEN];
	uint8_t pcr1[SB_SHA384_LEN];
	uint8_t pcr2[SB_SHA384_LEN];
};

/* A parsed image: every slice borrows the image bytes given to sb_image_parse. */
struct sb_image {
	struct sb_slice kernel;
	struct sb_slice cmdline;
	struct sb_slice boot_ramdisk;
	struct sb_slice app;
	struct sb_slice config;
	struct sb_measurement measurement; /* of exactly these bytes */
};

/*
 * Builds an image from the enclave binary and a configuration (both
 * borrowed; config may be empty) and appends it to out.
 */
SB_RESULT sb_image_build(struct sb_slice app, struct sb_slice config, struct sb_buf *out);
/*
 * Parses and measures an image (borrows in; out's slices point into in).
 * Strict: magic, version, section order and types, lengths within the file,
 * no trailing bytes. The launcher runs out->app after this call, so what is
 * measured is what runs. Errors: SB_ERR_ATTEST_BAD_IMAGE (detail says why).
 */
SB_RESULT sb_image_parse(struct sb_slice in, struct sb_image *out);
/* sb_image_parse, keeping only the measurement. */
SB_RESULT sb_image_measure(struct sb_slice in, struct sb_measurement *out);
/*
 * nitro-cli's shape, pretty-printed with two-space indentation as nitro-cli
 * prints it, appended to out:
 * {"Measurements":{"HashAlgorithm":"Sha384 { ... }","PCR0":"<hex>","PCR1":"<hex>","PCR2":"<hex>"}}
 */
SB_RESULT sb_measurement_json(const struct sb_measurement *m, struct sb_buf *out);
/*
 * The same shape for any PCR set (borrowed, 48 bytes each); pcr8 NULL
 * leaves PCR8 out, as describe-eif does for an unsigned EIF.
 */
SB_RESULT sb_pcrs_json(const uint8_t *pcr0, const uint8_t *pcr1, const uint8_t *pcr2,
                       const uint8_t *pcr8, struct sb_buf *out);

#endif
