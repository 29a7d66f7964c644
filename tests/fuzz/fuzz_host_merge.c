/*
 * Fuzz target for what `sealbid merge` and `sealbid verify --merge-record`
 * read from others (src/host/sb_merge.c, src/auction/sb_receipt.c): the
 * merge record, shard receipts (version 1 and 2) and merged outputs.
 * Input: a merge record / receipt, then optionally a NUL byte and a merged
 * output.csv. Properties beyond "no crash": nothing unsigned ever verifies;
 * sb_merge_split puts every row of the output in exactly one shard.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_receipt.h"
#include "host/sb_merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest[] =
	"{\"version\":1,\"job_id\":\"f1\",\"region\":\"us-east-1\",\"shards\":4,\"parties\":["
	"{\"name\":\"A\",\"input\":\"file:///a\",\"key\":\"alias/a\"},"
	"{\"name\":\"B\",\"input\":\"file:///b\",\"key\":\"alias/b\"}],"
	"\"output\":\"file:///out/output.csv\"}";

static void check_split(struct sb_slice merged)
{
	struct sb_buf part = SB_BUF_INIT(1u << 20);
	const uint8_t *nl = memchr(merged.ptr, '\n', merged.len);
	size_t header, rows = 0;

	if (nl == NULL || merged.len == 0 || merged.ptr[0] != 'P')
		return;
	header = (size_t)(nl - merged.ptr) + 1;
	for (uint32_t k = 0; k < 4; k++) {
		sb_buf_reset(&part);
		if (!sb_ok(sb_merge_split(merged, k, 4, &part)) || part.len < header)
			abort();
		rows += part.len - header;
	}
	if (rows != merged.len - header)
		abort(); /* a row lost or in two shards */
	sb_buf_cleanup(&part);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	struct sb_slice first = SB_SLICE(data, nul != NULL ? (size_t)(nul - data) : size);
	struct sb_slice merged = nul != NULL ? SB_SLICE(nul + 1, size - first.len - 1)
					     : sb_slice_str("Property,Result\n1,A Wins\n42,B Wins\n");
	uint8_t pcr[48];
	struct sb_verify_opts o;
	struct sb_receipt_info info;

	memset(pcr, 0x33, sizeof(pcr));
	sb_verify_opts_init(&o);
	if (!sb_ok(sb_verify_opts_expect_pcr(&o, 2, SB_SLICE(pcr, sizeof(pcr)))))
		abort();
	/* As a merge record with itself as the one receipt, and as a shard receipt. */
	if (sb_ok(sb_merge_verify(sb_slice_str(manifest), &o, merged, first, &first, 1)))
		abort();
	if (sb_ok(sb_receipt_verify_info(first, merged, sb_slice_str(manifest), &o, NULL, &info)))
		abort();
	check_split(merged);
	return 0;
}
