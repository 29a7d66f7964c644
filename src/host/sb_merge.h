/*
 * Merging a sharded job (docs/FORMATS.md, "Shards" and "Merge record").
 *
 * A job whose manifest declares "shards": N runs as N shards (`sealbid run
 * --shard K`), each on its own enclave, each with its own version 2 receipt
 * binding the manifest, K, N and the shard's output.csv (sb_receipt.h).
 * sb_merge_run verifies every shard's receipt (chain, PCRs, debug mode,
 * manifest hash, K/N, output hash) and refuses a missing, duplicated,
 * foreign or altered shard, naming it; only then does it write the merged
 * output.csv: the header, then every shard's rows in the one documented
 * row order (sb_pindex_id_cmp), the same bytes an unsharded run of the same
 * bids would give. The merge is deterministic, so any party can redo it.
 *
 * The merge record (output.merge.json) lists each shard's receipt hash:
 *
 *   {"version":1,"job_id":"...","manifest_sha384":"<hex>","shards":N,
 *    "output_sha384":"<hex of merged output.csv>",
 *    "shard_receipts":[{"shard":0,"output_sha384":"<hex>","receipt_sha384":"<hex>"},...]}
 *
 * sb_merge_verify checks a merged output against its record and the shard
 * receipts alone: each shard's output is re-derived from the merged file
 * (its header and its own rows, in order; sb_merge_split), so the shard
 * outputs themselves need not be kept.
 */
#ifndef SB_MERGE_H
#define SB_MERGE_H

#include <stdint.h>

#include "attest/sb_verify.h"
#include "common/sb_buf.h"

#define SB_MERGE_RECORD_MAX (2u << 20)
#define SB_MERGE_PART_MAX (1u << 30) /* a shard's part of a merged output.csv */

/* Shard k's output beside the job's output: "x/output.csv" -> "x/output.shard-K.csv". */
SB_RESULT sb_merge_shard_uri(const char *output_uri, uint32_t k, struct sb_buf *out);
/* The merge record beside the output: "x/output.csv" -> "x/output.merge.json". */
SB_RESULT sb_merge_record_uri(const char *output_uri, struct sb_buf *out);

/* One shard's files, as read (all borrowed). name is for messages only. */
struct sb_merge_shard {
	const char *name;
	struct sb_slice output;
	struct sb_slice receipt;
};

/*
 * Verifies and merges shards[0..n) (any order) of the manifest's job;
 * appends the merged output.csv to out and the merge record to record.
 * opts: roots, expected PCRs, debug policy (its user_data is set here).
 * Nothing is appended on failure.
 */
SB_RESULT sb_merge_run(struct sb_slice manifest_json, struct sb_verify_opts *opts,
		       const struct sb_merge_shard *shards, size_t n, struct sb_buf *out,
		       struct sb_buf *record);

/* Appends shard k of n's part of a merged output.csv: its header and k's rows. */
SB_RESULT sb_merge_split(struct sb_slice merged, uint32_t k, uint32_t n, struct sb_buf *out);

/*
 * Verifies a merged output.csv: the record must be the manifest's job and
 * this output, and receipts[0..n) must be exactly the record's receipts,
 * each verifying against its shard's part of the merged output.
 */
SB_RESULT sb_merge_verify(struct sb_slice manifest_json, struct sb_verify_opts *opts,
			  struct sb_slice merged, struct sb_slice record,
			  const struct sb_slice *receipts, size_t n);

#endif
