/*
 * Unit tests for sharding (issue 12): the shard function's vectors, the
 * manifest's "shards" field and hash, one shard of a job (only its rows
 * decrypted and computed, the trailer still checked whole), v2 receipts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auction/sb_job.h"
#include "auction/sb_receipt.h"
#include "auction/sb_shard.h"
#include "auction/sb_trailer.h"
#include "common/sb_encoding.h"
#include "test_job_fake.h"

#define MANIFEST(extra)                                                                        \
	"{\"version\":1,\"job_id\":\"s1\",\"region\":\"us-east-1\",\"parties\":["                \
	"{\"name\":\"Buyer1\",\"input\":\"file:///b1.csv\",\"key\":\"" ARN1 "\"},"               \
	"{\"name\":\"Buyer2\",\"input\":\"file:///b2.csv\",\"key\":\"" ARN2 "\"}],"              \
	"\"output\":\"file:///out/output.csv\"" extra "}"

static void test_shard_vectors(void **state)
{
	static const struct {
		const char *id;
		uint32_t n, want;
	} v[] = {
		{"1", 1, 0},    {"1", 4, 3},           {"1", 7, 1}, {"1", 4096, 2891},
		{"42", 4, 1},   {"property-17", 3, 1}, {"", 2, 1},
	};
	uint32_t s;
	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_true(sb_ok(sb_shard_of(sb_slice_str(v[i].id), v[i].n, &s)));
		assert_int_equal(s, v[i].want);
		assert_true(sb_shard_owns(sb_slice_str(v[i].id), v[i].want, v[i].n));
		assert_false(sb_shard_owns(sb_slice_str(v[i].id), v[i].want + 1, v[i].n));
	}
	assert_int_equal(sb_shard_of(sb_slice_str("1"), 0, &s).code, SB_ERR_BAD_SHARD);
	assert_int_equal(sb_shard_of(sb_slice_str("1"), 4097, &s).code, SB_ERR_BAD_SHARD);
	assert_int_equal(sb_shard_check(4, 4).code, SB_ERR_BAD_SHARD);
	assert_true(sb_ok(sb_shard_check(3, 4)));
	assert_true(sb_ok(sb_shard_check(4095, 4096)));
}

static sb_result parse(const char *json, struct sb_manifest *m)
{
	return sb_manifest_parse(sb_slice_str(json), m);
}

static void test_manifest_shards(void **state)
{
	static const char *const bad[] = {
		MANIFEST(",\"shards\":0"),    MANIFEST(",\"shards\":4097"), MANIFEST(",\"shards\":-1"),
		MANIFEST(",\"shards\":\"4\""), MANIFEST(",\"shards\":2.0"),  MANIFEST(",\"shards\":true"),
	};
	struct sb_manifest plain, one, four, max;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct sb_manifest m;
		assert_int_equal(parse(bad[i], &m).code, SB_ERR_BAD_MANIFEST);
	}
	assert_true(sb_ok(parse(MANIFEST(""), &plain)));
	assert_true(sb_ok(parse(MANIFEST(",\"shards\":1"), &one)));
	assert_true(sb_ok(parse(MANIFEST(",\"shards\":4"), &four)));
	assert_true(sb_ok(parse(MANIFEST(",\"shards\":4096"), &max)));
	assert_int_equal(plain.shards, 1);
	assert_int_equal(four.shards, 4);
	assert_int_equal(max.shards, 4096);
	/* Old manifests keep their hash; a shard count is part of it. */
	assert_memory_equal(plain.hash, one.hash, SB_SHA384_LEN);
	assert_null(strstr(sb_buf_cstr(&plain.canonical), "shards"));
	assert_memory_not_equal(plain.hash, four.hash, SB_SHA384_LEN);
	assert_memory_not_equal(four.hash, max.hash, SB_SHA384_LEN);
	assert_non_null(strstr(sb_buf_cstr(&four.canonical), "\"shards\":4"));
	sb_manifest_cleanup(&plain);
	sb_manifest_cleanup(&one);
	sb_manifest_cleanup(&four);
	sb_manifest_cleanup(&max);
}

/* A bound kms-csv file of the fake KMS (test_job_fake.h) with its trailer. */
static void bound_file(struct sb_buf *csv, const char *party, const char *arn, const char *hash,
		       int nprops, int base, int skip)
{
	struct sb_trailer tr;
	struct sb_buf b64 = SB_BUF_INIT(4096), text = SB_BUF_INIT(256);
	char raw[1024], prop[32];

	assert_true(sb_ok(sb_trailer_init(&tr)));
	assert_true(sb_ok(sb_buf_append_str(csv, "[].contract,[].bid\n")));
	for (int i = 1; i <= nprops + 1; i++) {
		bool trailer = i == nprops + 1;
		const char *amount;
		char amt[32];
		snprintf(prop, sizeof(prop), "%s", trailer ? SB_TRAILER_PROPERTY : "");
		if (!trailer)
			snprintf(prop, sizeof(prop), "%d", i);
		if (trailer) {
			assert_true(sb_ok(sb_trailer_text(&tr, &text)));
			amount = sb_buf_cstr(&text);
		} else {
			snprintf(amt, sizeof(amt), "%d", base + (i * 37) % 101);
			amount = amt;
		}
		snprintf(raw, sizeof(raw),
			 "%s|sealbid:manifest=%s;sealbid:party=%s;sealbid:property=%s;|%s", arn,
			 hash, party, prop, amount);
		sb_buf_reset(&b64);
		assert_true(sb_ok(sb_base64_encode(sb_slice_str(raw), &b64)));
		if (!trailer)
			assert_true(sb_ok(sb_trailer_add(&tr, sb_slice_str(prop), sb_buf_slice(&b64))));
		if (i == skip) /* the operator drops a row after the trailer was made */
			continue;
		assert_true(sb_ok(sb_buf_printf(csv, "%s,%s\n", prop, sb_buf_cstr(&b64))));
	}
	sb_trailer_cleanup(&tr);
	sb_buf_cleanup(&b64);
	sb_buf_cleanup(&text);
}

struct shard_run {
	struct sb_buf out, receipt;
	struct fake fake;
	sb_result rc;
};

/* Runs shard k (k < 0: unsharded) of manifest over 30 properties per party. */
static void run_shard(struct shard_run *r, const char *manifest, int k, int skip)
{
	struct sb_manifest m;
	struct sb_buf f1 = SB_BUF_INIT(1 << 20), f2 = SB_BUF_INIT(1 << 20);
	struct sb_job_io io = {&r->fake, fake_decrypt, NULL, fake_attest};
	struct sb_job *job = NULL;

	memset(r, 0, sizeof(*r));
	r->out = SB_BUF_INIT(1 << 20);
	r->receipt = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(parse(manifest, &m)));
	bound_file(&f1, "Buyer1", ARN1, m.hash_hex, 30, 1000, skip);
	bound_file(&f2, "Buyer2", ARN2, m.hash_hex, 30, 1050, 0);
	sb_manifest_cleanup(&m);
	r->rc = k < 0 ? sb_job_new(sb_slice_str(manifest), &io, &job)
		      : sb_job_new_shard(sb_slice_str(manifest), (uint32_t)k, &io, &job);
	if (sb_ok(r->rc))
		r->rc = sb_job_input(job, sb_slice_str("Buyer1"), 0, true, sb_buf_slice(&f1));
	if (sb_ok(r->rc))
		r->rc = sb_job_input(job, sb_slice_str("Buyer2"), 0, true, sb_buf_slice(&f2));
	if (sb_ok(r->rc))
		r->rc = sb_job_finish(job, &r->out, &r->receipt);
	sb_job_free(job);
	sb_buf_cleanup(&f1);
	sb_buf_cleanup(&f2);
}

static void shard_run_cleanup(struct shard_run *r)
{
	sb_buf_cleanup(&r->out);
	sb_buf_cleanup(&r->receipt);
}

static void test_shard_bounds_in_the_job(void **state)
{
	struct shard_run r;
	(void)state;
	/* A sharded manifest cannot run whole, nor a shard outside 0..N-1. */
	run_shard(&r, MANIFEST(",\"shards\":4"), -1, 0);
	assert_int_equal(r.rc.code, SB_ERR_BAD_SHARD);
	shard_run_cleanup(&r);
	run_shard(&r, MANIFEST(",\"shards\":4"), 4, 0);
	assert_int_equal(r.rc.code, SB_ERR_BAD_SHARD);
	shard_run_cleanup(&r);
	run_shard(&r, MANIFEST(""), 1, 0);
	assert_int_equal(r.rc.code, SB_ERR_BAD_SHARD);
	shard_run_cleanup(&r);
	/* Shard 0 of an unsharded manifest is the whole job, with a v1 receipt. */
	run_shard(&r, MANIFEST(""), 0, 0);
	assert_true(sb_ok(r.rc));
	assert_non_null(strstr(sb_buf_cstr(&r.receipt), "\"version\":1,"));
	assert_null(strstr(sb_buf_cstr(&r.receipt), "\"shard\""));
	shard_run_cleanup(&r);
}

/* Each line of a shard's output (after the header) must be in want's rows. */
static size_t rows_in(const char *shard_out, const char *whole)
{
	size_t n = 0;
	const char *p = strchr(shard_out, '\n') + 1;
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		char line[128];
		snprintf(line, sizeof(line), "\n%.*s", (int)(nl - p + 1), p);
		assert_non_null(strstr(whole, line));
		n++;
		p = nl + 1;
	}
	return n;
}

static void test_shards_compute_only_their_rows(void **state)
{
	static const char manifest4[] = MANIFEST(",\"shards\":4");
	struct shard_run whole, r;
	size_t total = 0, items = 0;
	struct sb_manifest m;
	(void)state;
	run_shard(&whole, MANIFEST(""), -1, 0);
	assert_true(sb_ok(whole.rc));
	assert_true(sb_ok(parse(manifest4, &m)));
	for (uint32_t k = 0; k < 4; k++) {
		uint8_t ud[SB_SHA384_LEN];
		char want[64];
		run_shard(&r, manifest4, (int)k, 0);
		assert_true(sb_ok(r.rc));
		/* Only this shard's rows: each property in the output is k's, and is right. */
		for (int p = 1; p <= 30; p++) {
			char needle[16];
			snprintf(needle, sizeof(needle), "\n%d,", p);
			char id[8];
			snprintf(id, sizeof(id), "%d", p);
			assert_int_equal(strstr(sb_buf_cstr(&r.out), needle) != NULL,
					 sb_shard_owns(sb_slice_str(id), k, 4));
		}
		total += rows_in(sb_buf_cstr(&r.out), sb_buf_cstr(&whole.out));
		items += r.fake.items;
		/* The receipt is v2 and the document binds manifest, K, N and output. */
		snprintf(want, sizeof(want), "\"version\":2,");
		assert_non_null(strstr(sb_buf_cstr(&r.receipt), want));
		snprintf(want, sizeof(want), "\"shard\":%u,\"shards\":4,", k);
		assert_non_null(strstr(sb_buf_cstr(&r.receipt), want));
		assert_true(sb_ok(sb_receipt_user_data_shard(m.hash, k, 4, sb_buf_slice(&r.out), ud)));
		assert_memory_equal(ud, r.fake.last_user_data, sizeof(ud));
		assert_true(sb_ok(sb_receipt_user_data_shard(m.hash, (k + 1) % 4, 4,
							     sb_buf_slice(&r.out), ud)));
		assert_memory_not_equal(ud, r.fake.last_user_data, sizeof(ud));
		shard_run_cleanup(&r);
	}
	assert_int_equal(total, 30);
	/* Every data row decrypted once across the shards, the 2 trailers by each. */
	assert_int_equal(items, 60 + 4 * 2);
	sb_manifest_cleanup(&m);
	shard_run_cleanup(&whole);
}

static void test_trailer_checked_over_the_whole_file(void **state)
{
	struct shard_run r;
	uint32_t k, other;
	(void)state;
	/* Row 1 is dropped: every shard fails, also those that do not own property 1. */
	assert_true(sb_ok(sb_shard_of(sb_slice_str("1"), 4, &k)));
	other = (k + 1) % 4;
	run_shard(&r, MANIFEST(",\"shards\":4"), (int)other, 1);
	assert_int_equal(r.rc.code, SB_ERR_TRAILER_COUNT);
	assert_int_equal(r.out.len, 0);
	assert_int_equal(r.receipt.len, 0);
	shard_run_cleanup(&r);
	run_shard(&r, MANIFEST(",\"shards\":4"), (int)k, 1);
	assert_int_equal(r.rc.code, SB_ERR_TRAILER_COUNT);
	shard_run_cleanup(&r);
}

static void test_receipt_user_data_v2(void **state)
{
	uint8_t mh[SB_SHA384_LEN], a[SB_SHA384_LEN], b[SB_SHA384_LEN], oh[SB_SHA384_LEN];
	uint8_t all[2 * SB_SHA384_LEN + 8];
	struct sb_buf rec = SB_BUF_INIT(1 << 16);
	(void)state;
	memset(mh, 0xab, sizeof(mh));
	/* 1 of 1 is the v1 value; k of n is SHA-384(mh || be32 k || be32 n || SHA-384(out)). */
	assert_true(sb_ok(sb_receipt_user_data(mh, sb_slice_str("x"), a)));
	assert_true(sb_ok(sb_receipt_user_data_shard(mh, 0, 1, sb_slice_str("x"), b)));
	assert_memory_equal(a, b, sizeof(a));
	assert_true(sb_ok(sb_sha384(sb_slice_str("x"), oh)));
	memcpy(all, mh, sizeof(mh));
	memcpy(all + 48, "\0\0\0\x02\0\0\x01\x00", 8);
	memcpy(all + 56, oh, sizeof(oh));
	assert_true(sb_ok(sb_sha384(SB_SLICE(all, sizeof(all)), a)));
	assert_true(sb_ok(sb_receipt_user_data_shard(mh, 2, 256, sb_slice_str("x"), b)));
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(sb_receipt_user_data_shard(mh, 256, 256, sb_slice_str("x"), b).code,
			 SB_ERR_BAD_SHARD);
	assert_int_equal(sb_receipt_build_shard("j", mh, 4, 4, sb_slice_str("x"), sb_slice_str("D"),
						&rec).code,
			 SB_ERR_BAD_SHARD);
	assert_int_equal(rec.len, 0);
	sb_buf_cleanup(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard_vectors),
		cmocka_unit_test(test_manifest_shards),
		cmocka_unit_test(test_shard_bounds_in_the_job),
		cmocka_unit_test(test_shards_compute_only_their_rows),
		cmocka_unit_test(test_trailer_checked_over_the_whole_file),
		cmocka_unit_test(test_receipt_user_data_v2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
