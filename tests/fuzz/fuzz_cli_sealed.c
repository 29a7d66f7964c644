/*
 * Fuzz target for the sealed dataset's plaintext CSV check
 * (src/cli/sb_cli_sealed.c), differential: the first byte picks a chunk
 * size (0: the whole input at once), the rest is the CSV. Fed in chunks
 * it must reach the same verdict, error code and row count as fed whole:
 * a streamed parser may not depend on where reads break.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The CLI is a program, not a library: its two helper files are built in. */
#include "cli/sb_cli_manifest.c"
#include "cli/sb_cli_sealed.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(struct sb_slice in, size_t step, size_t *rows)
{
	struct sb_sealed_csv c;
	sb_result rc = SB_OK_RESULT;

	sb_sealed_csv_init(&c);
	for (size_t off = 0; off < in.len && sb_ok(rc); off += step) {
		size_t n = step < in.len - off ? step : in.len - off;
		rc = sb_sealed_csv_feed(&c, SB_SLICE(in.ptr + off, n));
	}
	if (sb_ok(rc))
		rc = sb_sealed_csv_end(&c);
	*rows = c.rows;
	sb_sealed_csv_cleanup(&c);
	return rc.code;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t whole_rows = 0, split_rows = 0;

	if (size == 0)
		return 0;
	struct sb_slice in = SB_SLICE(data + 1, size - 1);
	size_t step = data[0] == 0 ? (in.len > 0 ? in.len : 1) : data[0];
	int whole = check(in, in.len > 0 ? in.len : 1, &whole_rows);
	int split = check(in, step, &split_rows);
	if (whole != split || (whole == SB_OK && whole_rows != split_rows))
		abort();
	return 0;
}
