/*
 * Fuzz target for the EIF parser (src/host/sb_eif.c), whose PCRs buyers pin
 * in their key policies. Beyond "no crash, no leak": on every accepted
 * input, the PCRs must equal those of a naive reader that walks the
 * section headers one after another as nitro-cli's EifReader does (so the
 * strict parser never measures differently from nitro-cli); PCR0 == PCR1
 * when there is one ramdisk; PCR8 is zero unless signed; the JSON prints;
 * and a failure leaves no partial measurement. Each input is tried as it
 * is and again with its CRC32 fixed, so that mutations reach the checks
 * behind the CRC (metadata, signature, the PCRs themselves).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "host/sb_eif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void extend(struct sb_hash *h, uint8_t pcr[SB_SHA384_LEN])
{
	uint8_t both[2 * SB_SHA384_LEN] = {0};
	if (!sb_ok(sb_hash_final(h, both + SB_SHA384_LEN, SB_SHA384_LEN)) ||
	    !sb_ok(sb_sha384(SB_SLICE(both, sizeof(both)), pcr)))
		abort();
}

/* nitro-cli's sequential reading of an input the strict parser accepted. */
static void naive_pcrs(const uint8_t *data, size_t size, uint8_t pcr[3][SB_SHA384_LEN])
{
	struct sb_hash h[3];
	for (int i = 0; i < 3; i++)
		if (!sb_ok(sb_hash_init(&h[i], SB_HASH_SHA384)))
			abort();
	size_t pos = SB_EIF_HEADER_LEN;
	unsigned ramdisks = 0;
	while (size - pos >= SB_EIF_SECTION_HDR) {
		uint64_t type = be(data + pos, 2), len = be(data + pos + 4, 8);
		pos += SB_EIF_SECTION_HDR;
		if (len > size - pos)
			abort(); /* the strict parser accepted a section past the end */
		struct sb_slice body = SB_SLICE(data + pos, (size_t)len);
		pos += (size_t)len;
		bool image = type >= 1 && type <= 3;
		bool boot = type == 1 || type == 2 || (type == 3 && ramdisks == 0);
		if (type == 3)
			ramdisks++;
		if ((image && !sb_ok(sb_hash_update(&h[0], body))) ||
		    (boot && !sb_ok(sb_hash_update(&h[1], body))) ||
		    (image && !boot && !sb_ok(sb_hash_update(&h[2], body))))
			abort();
	}
	if (pos != size)
		abort(); /* trailing bytes were accepted */
	for (int i = 0; i < 3; i++) {
		extend(&h[i], pcr[i]);
		sb_hash_cleanup(&h[i]);
	}
}

static void check_one(const uint8_t *data, size_t size)
{
	static const struct sb_eif_info zero;
	struct sb_eif_info info;
	if (!sb_ok(sb_eif_measure_slice(SB_SLICE(data, size), &info))) {
		if (memcmp(&info, &zero, sizeof(info)) != 0)
			abort();
		sb_error_clear();
		return;
	}
	uint8_t pcr[3][SB_SHA384_LEN];
	naive_pcrs(data, size, pcr);
	if (memcmp(pcr[0], info.pcr0, SB_SHA384_LEN) != 0 ||
	    memcmp(pcr[1], info.pcr1, SB_SHA384_LEN) != 0 ||
	    memcmp(pcr[2], info.pcr2, SB_SHA384_LEN) != 0)
		abort();
	if (info.num_ramdisks == 0 ||
	    (info.num_ramdisks == 1 && memcmp(info.pcr0, info.pcr1, SB_SHA384_LEN) != 0) ||
	    (!info.is_signed && memcmp(info.pcr8, zero.pcr8, SB_SHA384_LEN) != 0))
		abort();
	struct sb_buf json = SB_BUF_INIT(1024);
	if (!sb_ok(sb_eif_json(&info, &json)))
		abort();
	sb_buf_cleanup(&json);
	sb_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_one(data, size);
	if (size < SB_EIF_HEADER_LEN)
		return 0;
	uint8_t *copy = malloc(size);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	const size_t at = SB_EIF_HEADER_LEN - 4;
	uLong crc = crc32(0L, copy, (uInt)at);
	crc = crc32(crc, copy + SB_EIF_HEADER_LEN, (uInt)(size - SB_EIF_HEADER_LEN));
	for (size_t i = 0; i < 4; i++)
		copy[at + i] = (uint8_t)(crc >> (24 - 8 * i));
	check_one(copy, size);
	free(copy);
	return 0;
}
