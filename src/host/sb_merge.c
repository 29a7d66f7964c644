#include "host/sb_merge.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "auction/sb_auction_index.h"
#include "auction/sb_manifest.h"
#include "auction/sb_receipt.h"
#include "auction/sb_shard.h"
#include "common/sb_encoding.h"
#include "common/sb_mem.h"

static SB_RESULT sibling_uri(const char *output_uri, const char *suffix, struct sb_buf *out)
{
	size_t n;

	SB_ENSURE(output_uri != NULL && out != NULL, SB_ERR_NULL);
	n = strlen(output_uri);
	if (n > 4 && strcmp(output_uri + n - 4, ".csv") == 0)
		n -= 4;
	SB_GUARD(sb_buf_append(out, output_uri, n));
	return sb_buf_append_str(out, suffix);
}

SB_RESULT sb_merge_shard_uri(const char *output_uri, uint32_t k, struct sb_buf *out)
{
	char suffix[32];

	(void)snprintf(suffix, sizeof(suffix), ".shard-%u.csv", k);
	return sibling_uri(output_uri, suffix, out);
}

SB_RESULT sb_merge_record_uri(const char *output_uri, struct sb_buf *out)
{
	return sibling_uri(output_uri, ".merge.json", out);
}

/* One output.csv row (its newline included) and its property id. */
struct row {
	struct sb_slice line;
	struct sb_slice property;
};

/* The header line (with its newline) and the rest. */
static SB_RESULT split_header(struct sb_slice csv, const char *name, struct sb_slice *header,
			      struct sb_slice *rows)
{
	const uint8_t *nl = csv.len > 0 ? memchr(csv.ptr, '\n', csv.len) : NULL;

	SB_ENSURE_MSG(nl != NULL && csv.ptr[0] == 'P', SB_ERR_MERGE,
		      "%s: not an output.csv (no Property header)", name);
	*header = SB_SLICE(csv.ptr, (size_t)(nl - csv.ptr) + 1);
	*rows = SB_SLICE(nl + 1, csv.len - header->len);
	return SB_OK_RESULT;
}

/* The next row of rows (advanced past it); false at the end. */
static bool next_row(struct sb_slice *rows, struct row *r)
{
	const uint8_t *nl, *comma;
	size_t n;

	if (rows->len == 0)
		return false;
	nl = memchr(rows->ptr, '\n', rows->len);
	n = nl != NULL ? (size_t)(nl - rows->ptr) + 1 : rows->len;
	r->line = SB_SLICE(rows->ptr, n);
	comma = memchr(rows->ptr, ',', n);
	r->property = SB_SLICE(rows->ptr, comma != NULL ? (size_t)(comma - rows->ptr) : 0);
	*rows = SB_SLICE(rows->ptr + n, rows->len - n);
	return true;
}

SB_RESULT sb_merge_split(struct sb_slice merged, uint32_t k, uint32_t n, struct sb_buf *out)
{
	struct sb_slice header, rows;
	struct row r;
	size_t had;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_shard_check(k, n));
	SB_GUARD(split_header(merged, "merged output", &header, &rows));
	had = out->len;
	SB_GUARD(sb_buf_append_slice(out, header));
	while (sb_ok(rc) && next_row(&rows, &r))
		if (sb_shard_owns(r.property, k, n))
			rc = sb_buf_append_slice(out, r.line);
	if (!sb_ok(rc))
		sb_buf_truncate(out, had);
	return rc;
}

/*
 * A shard's attested output, checked as the merge needs it: every row ends
 * with a newline, has a property of this shard, and comes after the row
 * before it in output order (so no id twice).
 */
static SB_RESULT check_rows(const struct sb_merge_shard *s, uint32_t k, uint32_t n)
{
	struct sb_slice header, rows;
	struct row r, prev = {0};
	size_t i = 0;

	SB_GUARD(split_header(s->output, s->name, &header, &rows));
	while (next_row(&rows, &r)) {
		i++;
		SB_ENSURE_MSG(r.line.ptr[r.line.len - 1] == '\n' && r.property.len > 0,
			      SB_ERR_MERGE, "%s: row %zu is not a result row", s->name, i);
		SB_ENSURE_MSG(sb_shard_owns(r.property, k, n), SB_ERR_MERGE,
			      "%s: row %zu belongs to another shard", s->name, i);
		SB_ENSURE_MSG(i == 1 || sb_pindex_id_cmp(prev.property, r.property) < 0,
			      SB_ERR_MERGE, "%s: row %zu is out of order", s->name, i);
		prev = r;
	}
	return SB_OK_RESULT;
}

/* Verifies every receipt; by_shard[K] = the index of shard K's files. */
static SB_RESULT verify_all(struct sb_slice manifest_json, struct sb_verify_opts *opts,
			    const struct sb_merge_shard *shards, size_t n, uint32_t nshards,
			    size_t *by_shard, struct sb_receipt_info *info)
{
	for (size_t i = 0; i < nshards; i++)
		by_shard[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		sb_result r = sb_receipt_verify_info(shards[i].receipt, shards[i].output,
						     manifest_json, opts, NULL, &info[i]);
		if (!sb_ok(r)) {
			sb_error_context("shard output %s", shards[i].name);
			return r;
		}
		uint32_t k = info[i].shard;
		SB_ENSURE_MSG(by_shard[k] == SIZE_MAX, SB_ERR_MERGE,
			      "%s and %s are both shard %u", shards[by_shard[k]].name,
			      shards[i].name, k);
		by_shard[k] = i;
	}
	for (uint32_t k = 0; k < nshards; k++)
		SB_ENSURE_MSG(by_shard[k] != SIZE_MAX, SB_ERR_MERGE, "shard %u of %u is missing", k,
			      nshards);
	for (uint32_t k = 0; k < nshards; k++)
		SB_GUARD(check_rows(&shards[by_shard[k]], k, nshards));
	return SB_OK_RESULT;
}

static int row_cmp(const void *a, const void *b)
{
	return sb_pindex_id_cmp(((const struct row *)a)->property, ((const struct row *)b)->property);
}

/* Header (the same in every shard) then all rows in output order. */
static SB_RESULT combine(const struct sb_merge_shard *shards, size_t n, struct sb_buf *out)
{
	struct sb_slice header, h, rows;
	struct row *all = NULL, r;
	size_t nrows = 0, cap = 0;
	sb_result rc = SB_OK_RESULT;

	SB_GUARD(split_header(shards[0].output, shards[0].name, &header, &rows));
	for (size_t i = 0; i < n && sb_ok(rc); i++) {
		SB_GUARD_GOTO(rc, split_header(shards[i].output, shards[i].name, &h, &rows), out);
		if (!sb_slice_eq(h, header))
			SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out, "%s: another header than %s",
					 shards[i].name, shards[0].name);
		while (next_row(&rows, &r)) {
			if (nrows == cap) {
				size_t c = cap == 0 ? 1024 : cap * 2;
				struct row *p = realloc(all, c * sizeof(*p));
				if (p == NULL)
					SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
				all = p;
				cap = c;
			}
			all[nrows++] = r;
		}
	}
	if (nrows > 1)
		qsort(all, nrows, sizeof(*all), row_cmp);
	SB_GUARD_GOTO(rc, sb_buf_append_slice(out, header), out);
	for (size_t i = 0; i < nrows; i++)
		SB_GUARD_GOTO(rc, sb_buf_append_slice(out, all[i].line), out);
out:
	free(all);
	return rc;
}

static json_t *hex_json(const uint8_t *d, size_t n)
{
	char hex[2 * SB_SHA384_LEN + 1];

	for (size_t i = 0; i < n && i < SB_SHA384_LEN; i++)
		(void)snprintf(hex + 2 * i, 3, "%02x", d[i]);
	return json_stringn(hex, 2 * n);
}

static SB_RESULT write_record(const struct sb_manifest *m, const struct sb_merge_shard *shards,
			      const size_t *by_shard, const struct sb_receipt_info *info,
			      struct sb_slice merged, struct sb_buf *record)
{
	uint8_t h[SB_SHA384_LEN];
	json_t *root = json_object(), *list = json_array();
	char *text = NULL;
	sb_result rc = SB_OK_RESULT;

	if (root == NULL || list == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	SB_GUARD_GOTO(rc, sb_sha384(merged, h), out);
	json_object_set_new(root, "version", json_integer(1));
	json_object_set_new(root, "job_id", json_string(m->job_id));
	json_object_set_new(root, "manifest_sha384", hex_json(m->hash, SB_SHA384_LEN));
	json_object_set_new(root, "shards", json_integer(m->shards));
	json_object_set_new(root, "output_sha384", hex_json(h, SB_SHA384_LEN));
	for (uint32_t k = 0; k < m->shards; k++) {
		const struct sb_merge_shard *s = &shards[by_shard[k]];
		SB_GUARD_GOTO(rc, sb_sha384(s->output, h), out);
		json_array_append_new(
		    list, json_pack("{s:I, s:o, s:o}", "shard", (json_int_t)k, "output_sha384",
				    hex_json(h, SB_SHA384_LEN), "receipt_sha384",
				    hex_json(info[by_shard[k]].receipt_hash, SB_SHA384_LEN)));
	}
	json_object_set(root, "shard_receipts", list);
	text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL)
		SB_FAIL_GOTO(rc, SB_ERR_NOMEM, out);
	SB_GUARD_GOTO(rc, sb_buf_append_str(record, text), out);
	rc = sb_buf_append_str(record, "\n");
out:
	free(text);
	json_decref(list);
	json_decref(root);
	return rc;
}

SB_RESULT sb_merge_run(struct sb_slice manifest_json, struct sb_verify_opts *opts,
		       const struct sb_merge_shard *shards, size_t n, struct sb_buf *out,
		       struct sb_buf *record)
{
	struct sb_manifest m;
	struct sb_receipt_info *info = NULL;
	size_t *by_shard = NULL, out_had, rec_had;
	sb_result rc;

	SB_ENSURE(opts != NULL && out != NULL && record != NULL && (shards != NULL || n == 0),
		  SB_ERR_NULL);
	out_had = out->len;
	rec_had = record->len;
	SB_GUARD(sb_manifest_parse(manifest_json, &m));
	if (m.shards < 2)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out,
				 "the manifest declares no shards: there is nothing to merge");
	if (n == 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out, "no shard outputs given");
	SB_GUARD_GOTO(rc, sb_calloc(n, sizeof(*info), (void **)&info), out);
	SB_GUARD_GOTO(rc, sb_calloc(m.shards, sizeof(*by_shard), (void **)&by_shard), out);
	SB_GUARD_GOTO(rc, verify_all(manifest_json, opts, shards, n, m.shards, by_shard, info), out);
	SB_GUARD_GOTO(rc, combine(shards, n, out), out);
	rc = write_record(&m, shards, by_shard, info,
			  SB_SLICE(out->data + out_had, out->len - out_had), record);
out:
	if (!sb_ok(rc)) {
		sb_buf_truncate(out, out_had);
		sb_buf_truncate(record, rec_had);
	}
	free(info);
	free(by_shard);
	sb_manifest_cleanup(&m);
	return rc;
}

/* The record's fields, checked against the manifest and the merged output. */
struct record {
	uint32_t shards;
	uint8_t (*receipt_hash)[SB_SHA384_LEN]; /* [shards], owned */
};

#define RECORD_FAIL(rc, ...) SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_MERGE_RECORD, out, __VA_ARGS__)

static bool int_is(json_t *v, json_int_t want)
{
	return json_is_integer(v) && json_integer_value(v) == want;
}

static SB_RESULT hex_eq(json_t *v, const uint8_t *want, uint8_t *got)
{
	uint8_t d[SB_SHA384_LEN];

	if (!json_is_string(v) ||
	    !sb_ok(sb_hex_decode_fixed(SB_SLICE(json_string_value(v), json_string_length(v)), d,
				       sizeof(d))))
		SB_BAIL_MSG(SB_ERR_BAD_MERGE_RECORD, "a hash is not 96 hex digits");
	if (got != NULL)
		memcpy(got, d, sizeof(d));
	if (want != NULL && memcmp(d, want, sizeof(d)) != 0)
		SB_BAIL(SB_ERR_RECEIPT_MISMATCH);
	return SB_OK_RESULT;
}

static SB_RESULT record_parse(struct sb_slice text, const struct sb_manifest *m,
			      struct sb_slice merged, struct record *r)
{
	json_error_t err;
	json_t *root, *list;
	uint8_t oh[SB_SHA384_LEN];
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_MSG(text.len <= SB_MERGE_RECORD_MAX, SB_ERR_BAD_MERGE_RECORD, "too large");
	root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL || !json_is_object(root) || json_object_size(root) != 6)
		RECORD_FAIL(rc, "not a merge record (JSON object of 6 fields)");
	if (!int_is(json_object_get(root, "version"), 1))
		RECORD_FAIL(rc, "\"version\" must be 1");
	json_t *job = json_object_get(root, "job_id");
	if (!json_is_string(job) || strcmp(json_string_value(job), m->job_id) != 0)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_RECEIPT_MISMATCH, out, "the record is for another job");
	if (!sb_ok(hex_eq(json_object_get(root, "manifest_sha384"), m->hash, NULL)))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_RECEIPT_MISMATCH, out,
				 "the record is for another manifest");
	json_t *ns = json_object_get(root, "shards");
	if (!json_is_integer(ns) || json_integer_value(ns) != m->shards)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_RECEIPT_MISMATCH, out,
				 "the record's shard count is not the manifest's (%u)", m->shards);
	SB_GUARD_GOTO(rc, sb_sha384(merged, oh), out);
	if (!sb_ok(hex_eq(json_object_get(root, "output_sha384"), oh, NULL)))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_RECEIPT_MISMATCH, out,
				 "the merged output is not the one of the record");
	list = json_object_get(root, "shard_receipts");
	if (!json_is_array(list) || json_array_size(list) != m->shards)
		RECORD_FAIL(rc, "\"shard_receipts\" must list all %u shards", m->shards);
	r->shards = m->shards;
	SB_GUARD_GOTO(rc, sb_calloc(m->shards, SB_SHA384_LEN, (void **)&r->receipt_hash), out);
	for (uint32_t k = 0; k < m->shards; k++) {
		json_t *e = json_array_get(list, k);
		if (!json_is_object(e) || json_object_size(e) != 3 ||
		    !int_is(json_object_get(e, "shard"), k) ||
		    json_object_get(e, "output_sha384") == NULL)
			RECORD_FAIL(rc, "shard_receipts[%u] must be shard %u's entry", k, k);
		SB_GUARD_GOTO(rc, hex_eq(json_object_get(e, "output_sha384"), NULL, NULL), out);
		SB_GUARD_GOTO(rc, hex_eq(json_object_get(e, "receipt_sha384"), NULL,
					 r->receipt_hash[k]), out);
	}
out:
	json_decref(root);
	return rc;
}

/* Which shard's receipt this is, by its hash in the record. */
static SB_RESULT receipt_shard(const struct record *r, struct sb_slice receipt, size_t i,
			       uint32_t *k)
{
	uint8_t h[SB_SHA384_LEN];

	SB_GUARD(sb_sha384(receipt, h));
	for (uint32_t j = 0; j < r->shards; j++) {
		if (memcmp(h, r->receipt_hash[j], sizeof(h)) == 0) {
			*k = j;
			return SB_OK_RESULT;
		}
	}
	SB_BAIL_MSG(SB_ERR_MERGE, "receipt %zu is not one of the merge record's", i + 1);
}

SB_RESULT sb_merge_verify(struct sb_slice manifest_json, struct sb_verify_opts *opts,
			  struct sb_slice merged, struct sb_slice record,
			  const struct sb_slice *receipts, size_t n)
{
	struct sb_manifest m;
	struct record r = {0};
	struct sb_buf part = SB_BUF_INIT(SB_MERGE_PART_MAX);
	struct sb_receipt_info info;
	bool *seen = NULL;
	sb_result rc;

	SB_ENSURE(opts != NULL && (receipts != NULL || n == 0), SB_ERR_NULL);
	SB_GUARD(sb_manifest_parse(manifest_json, &m));
	SB_GUARD_GOTO(rc, record_parse(record, &m, merged, &r), out);
	SB_GUARD_GOTO(rc, sb_calloc(m.shards, sizeof(*seen), (void **)&seen), out);
	for (size_t i = 0; i < n; i++) {
		uint32_t k = 0;
		SB_GUARD_GOTO(rc, receipt_shard(&r, receipts[i], i, &k), out);
		if (seen[k])
			SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out, "shard %u's receipt is given twice", k);
		seen[k] = true;
		sb_buf_truncate(&part, 0);
		SB_GUARD_GOTO(rc, sb_merge_split(merged, k, m.shards, &part), out);
		rc = sb_receipt_verify_info(receipts[i], sb_buf_slice(&part), manifest_json, opts,
					    NULL, &info);
		if (!sb_ok(rc)) {
			sb_error_context("shard %u's receipt", k);
			goto out;
		}
		if (info.shard != k)
			SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out, "the record lists shard %u's receipt "
					 "as shard %u's", info.shard, k);
	}
	for (uint32_t k = 0; k < m.shards; k++)
		if (!seen[k])
			SB_FAIL_GOTO_MSG(rc, SB_ERR_MERGE, out, "shard %u's receipt is missing", k);
	rc = SB_OK_RESULT;
out:
	free(seen);
	free(r.receipt_hash);
	sb_buf_cleanup(&part);
	sb_manifest_cleanup(&m);
	return rc;
}
