/*
 * Publishing a job's result: output.csv and its receipt, both or neither.
 *
 * A failed publish leaves what was there before exactly as it was (an
 * earlier job's output and receipt stay a matching pair), and a publish
 * only ever replaces a regular file or nothing: a device, FIFO, directory
 * or symbolic link at either name is SB_ERR_NOT_REGULAR before anything is
 * written (`output: file:///dev/null` run as root once replaced the device).
 *
 * Files (the receipt and output are siblings in one directory):
 *   1. both targets checked with lstat (missing or regular);
 *   2. both staged in full as temporary files beside them (mkstemp, 0600,
 *      fsync): a full disk fails here, with nothing changed;
 *   3. the old receipt, if any, kept under a hard link (a backup name);
 *   4. rename receipt, then rename output (each re-checked just before);
 *      if the output rename fails the old receipt is renamed back (or the
 *      new one removed when there was none);
 *   5. the backup link removed, the directory fsynced.
 * S3: the old receipt is read first; the receipt is put, then the output;
 * if the output put fails the old receipt is put back (or the new one
 * deleted). Each PUT is atomic; a reader may briefly see the new receipt
 * beside the old output, never a missing receipt afterwards.
 */
#ifndef SB_PUBLISH_H
#define SB_PUBLISH_H

#include "aws/sb_storage.h"
#include "common/sb_buf.h"

/* The largest receipt kept in memory to restore an S3 receipt. */
#define SB_PUBLISH_RECEIPT_MAX (1u << 20)

/*
 * Fails unless every file target is missing or a regular file (s3 targets
 * pass). Run before a job so an impossible output fails before the work.
 */
SB_RESULT sb_publish_check(const char *output_uri, const char *receipt_uri);

/* Borrows everything; st is used for S3 targets. */
SB_RESULT sb_publish_pair(struct sb_storage *st, const char *output_uri, const char *receipt_uri,
			  struct sb_slice output, struct sb_slice receipt);

/*
 * Tests only: from now on, publishing step i fails (as a full disk would:
 * ENOSPC) when bit i-1 of steps is set; steps are counted across calls
 * until the next sb_publish_test_fail. Files: 1 stage output, 2 stage
 * receipt, 3 back up the old receipt (counted
 * even when there is none), 4 rename
 * receipt, 5 rename output, 6 put the old receipt back (or remove the new one). S3: 1 put receipt,
 * 2 put output, 3 put the old receipt back. 0 turns it off.
 */
#define SB_PUBLISH_STEP(i) (1u << ((i) - 1))
void sb_publish_test_fail(unsigned steps);

#endif
