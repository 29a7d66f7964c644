/*
 * Fuzz target for the enclave image parser (src/host/sb_measure.c): the
 * launcher runs the APP section of whatever sb_image_parse accepted, so
 * what it measures must be exactly what it runs. Properties checked beyond
 * "no crash" on every accepted image: each section slice lies inside the
 * input; sb_image_measure agrees; rebuilding from APP and CONFIG gives an
 * image with the same APP and CONFIG, and either the same KERNEL, CMDLINE
 * and BOOT_RAMDISK (then the same bytes: one encoding per image) or other
 * ones (the stand-ins are not checked against the fixed texts, but then
 * PCR0 and PCR1 must differ from the rebuilt image's, and PCR2 must not).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/sb_measure.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(struct sb_slice s, const uint8_t *data, size_t size)
{
	return s.len == 0 || (s.ptr >= data && s.len <= size && s.ptr + s.len <= data + size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_image img, img2;
	struct sb_measurement m;
	struct sb_buf again = SB_BUF_INIT(SB_IMAGE_MAX);

	if (sb_ok(sb_image_parse(SB_SLICE(data, size), &img))) {
		if (!inside(img.kernel, data, size) || !inside(img.cmdline, data, size) ||
		    !inside(img.boot_ramdisk, data, size) || !inside(img.app, data, size) ||
		    !inside(img.config, data, size))
			abort();
		if (!sb_ok(sb_image_build(img.app, img.config, &again)) ||
		    !sb_ok(sb_image_parse(sb_buf_slice(&again), &img2)) ||
		    !sb_slice_eq(img.app, img2.app) || !sb_slice_eq(img.config, img2.config))
			abort();
		const struct sb_measurement *a = &img.measurement, *b = &img2.measurement;
		if (sb_slice_eq(img.kernel, img2.kernel) && sb_slice_eq(img.cmdline, img2.cmdline) &&
		    sb_slice_eq(img.boot_ramdisk, img2.boot_ramdisk)) {
			if (!sb_slice_eq(sb_buf_slice(&again), SB_SLICE(data, size)) ||
			    memcmp(a, b, sizeof(*a)) != 0)
				abort();
		} else if (memcmp(a->pcr0, b->pcr0, sizeof(a->pcr0)) == 0 ||
			   memcmp(a->pcr1, b->pcr1, sizeof(a->pcr1)) == 0 ||
			   memcmp(a->pcr2, b->pcr2, sizeof(a->pcr2)) != 0) {
			abort();
		}
		if (!sb_ok(sb_image_measure(SB_SLICE(data, size), &m)) ||
		    memcmp(&m, &img.measurement, sizeof(m)) != 0)
			abort();
	}
	sb_buf_cleanup(&again);
	sb_error_clear();
	return 0;
}
