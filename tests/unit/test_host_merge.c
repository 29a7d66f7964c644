/*
 * sealbid merge in process (src/host/sb_merge): shard receipts signed by
 * the emulated NSM, merged back into the unsharded bytes, and every bad
 * input of issue 12 refused with nothing written.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "attest/sb_nsm_msg.h"
#include "auction/sb_manifest.h"
#include "auction/sb_receipt.h"
#include "host/sb_merge.h"
#include "host/sb_nsm_emu.h"

#define MANIFEST(job, extra)                                                                   \
	"{\"version\":1,\"job_id\":\"" job "\",\"region\":\"us-east-1\",\"parties\":["           \
	"{\"name\":\"A\",\"input\":\"file:///a\",\"key\":\"alias/a\"},"                          \
	"{\"name\":\"B\",\"input\":\"file:///b\",\"key\":\"alias/b\"}],"                         \
	"\"output\":\"file:///out/output.csv\"" extra "}"

static const char manifest4[] = MANIFEST("m1", ",\"shards\":4");
static const char manifest2[] = MANIFEST("m1", ",\"shards\":2");
static const char other4[] = MANIFEST("m2", ",\"shards\":4");

struct fixture {
	char state[64];
	struct sb_nsm_emu *emu;
	struct sb_measurement m;
	struct sb_buf root;
	struct sb_buf whole;
	struct sb_buf out[4], rec[4];
};

/* A receipt for shard k of the manifest's N over output, signed by the emulator. */
static void sign(struct fixture *f, const char *manifest, uint32_t k, struct sb_slice output,
		 struct sb_buf *receipt)
{
	struct sb_manifest m;
	struct sb_buf req = SB_BUF_INIT(4096), resp = SB_BUF_INIT(32768);
	struct sb_nsm_response dec;
	uint8_t ud[SB_SHA384_LEN];

	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest), &m)));
	assert_true(sb_ok(sb_receipt_user_data_shard(m.hash, k, m.shards, output, ud)));
	assert_true(sb_ok(sb_nsm_encode_attestation(SB_SLICE(ud, sizeof(ud)), SB_SLICE(NULL, 0),
						    SB_SLICE(NULL, 0), &req)));
	assert_true(sb_ok(sb_nsm_emu_handle(f->emu, sb_buf_slice(&req), &resp)));
	sb_nsm_response_init(&dec);
	assert_true(sb_ok(sb_nsm_response_decode(sb_buf_slice(&resp), &dec)));
	sb_buf_reset(receipt);
	assert_true(sb_ok(sb_receipt_build_shard(m.job_id, m.hash, k, m.shards, output,
						 sb_buf_slice(&dec.data), receipt)));
	sb_nsm_response_cleanup(&dec);
	sb_buf_cleanup(&req);
	sb_buf_cleanup(&resp);
	sb_manifest_cleanup(&m);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sb_nsm_emu_config cfg = {0};

	snprintf(f->state, sizeof(f->state), "/tmp/sb_merge_XXXXXX");
	assert_non_null(mkdtemp(f->state));
	memset(f->m.pcr0, 0x11, sizeof(f->m.pcr0));
	memset(f->m.pcr1, 0x22, sizeof(f->m.pcr1));
	memset(f->m.pcr2, 0x33, sizeof(f->m.pcr2));
	f->root = SB_BUF_INIT(1 << 16);
	assert_true(sb_ok(sb_nsm_emu_ca_ensure(f->state, &f->root)));
	cfg.state_dir = f->state;
	cfg.measurement = f->m;
	assert_true(sb_ok(sb_nsm_emu_new(&cfg, &f->emu)));
	/* The unsharded output: numeric ids first (numeric order), then the rest bytewise. */
	f->whole = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_buf_append_str(&f->whole, "Property,Result\n")));
	for (int i = 1; i <= 40; i++)
		assert_true(sb_ok(sb_buf_printf(&f->whole, "%d,%s\n", i,
						i % 3 == 0 ? "\"Tie: A, B\"" : "B Wins")));
	assert_true(sb_ok(sb_buf_append_str(&f->whole, "Lot-7,A Wins\nabc,B Wins\n")));
	for (uint32_t k = 0; k < 4; k++) {
		f->out[k] = SB_BUF_INIT(1 << 20);
		f->rec[k] = SB_BUF_INIT(1 << 16);
		assert_true(sb_ok(sb_merge_split(sb_buf_slice(&f->whole), k, 4, &f->out[k])));
		sign(f, manifest4, k, sb_buf_slice(&f->out[k]), &f->rec[k]);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	sb_nsm_emu_free(f->emu);
	for (int k = 0; k < 4; k++) {
		sb_buf_cleanup(&f->out[k]);
		sb_buf_cleanup(&f->rec[k]);
	}
	sb_buf_cleanup(&f->whole);
	sb_buf_cleanup(&f->root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->state);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void opts_for(struct fixture *f, struct sb_verify_opts *o)
{
	sb_verify_opts_init(o);
	assert_true(sb_ok(sb_verify_opts_add_root(o, sb_buf_slice(&f->root))));
	assert_true(sb_ok(sb_verify_opts_expect_pcr(o, 0, SB_SLICE(f->m.pcr0, 48))));
	assert_true(sb_ok(sb_verify_opts_expect_pcr(o, 2, SB_SLICE(f->m.pcr2, 48))));
}

/* Merges shards (by index into the fixture, -1 = the extra one) and returns the result code. */
static int merge(struct fixture *f, const char *manifest, const struct sb_merge_shard *s,
		 size_t n, struct sb_buf *out, struct sb_buf *record)
{
	struct sb_verify_opts o;
	opts_for(f, &o);
	sb_result rc = sb_merge_run(sb_slice_str(manifest), &o, s, n, out, record);
	if (!sb_ok(rc)) {
		assert_int_equal(out->len, 0);
		assert_int_equal(record->len, 0);
	}
	return rc.code;
}

static void shards_of(struct fixture *f, struct sb_merge_shard s[4])
{
	static const char *const names[] = {"s0.csv", "s1.csv", "s2.csv", "s3.csv"};
	/* Any order: 2, 0, 3, 1. */
	static const int order[] = {2, 0, 3, 1};
	for (int i = 0; i < 4; i++)
		s[i] = (struct sb_merge_shard){names[order[i]], sb_buf_slice(&f->out[order[i]]),
					       sb_buf_slice(&f->rec[order[i]])};
}

static void test_merge_gives_the_unsharded_bytes(void **state)
{
	struct fixture *f = *state;
	struct sb_merge_shard s[4];
	struct sb_buf out = SB_BUF_INIT(1 << 20), record = SB_BUF_INIT(1 << 20);
	struct sb_buf out2 = SB_BUF_INIT(1 << 20), record2 = SB_BUF_INIT(1 << 20);
	struct sb_slice receipts[4];
	struct sb_verify_opts o;

	shards_of(f, s);
	assert_int_equal(merge(f, manifest4, s, 4, &out, &record), SB_OK);
	assert_true(sb_slice_eq(sb_buf_slice(&out), sb_buf_slice(&f->whole)));
	assert_non_null(strstr(sb_buf_cstr(&record), "\"shards\":4,"));
	assert_non_null(strstr(sb_buf_cstr(&record), "\"shard_receipts\":[{\"shard\":0,"));
	/* Deterministic: any order of the same shards gives the same bytes. */
	struct sb_merge_shard r[4] = {s[3], s[2], s[1], s[0]};
	assert_int_equal(merge(f, manifest4, r, 4, &out2, &record2), SB_OK);
	assert_true(sb_slice_eq(sb_buf_slice(&out), sb_buf_slice(&out2)));
	assert_true(sb_slice_eq(sb_buf_slice(&record), sb_buf_slice(&record2)));
	/* The merged output verifies with the record and the receipts alone. */
	for (int k = 0; k < 4; k++)
		receipts[k] = sb_buf_slice(&f->rec[3 - k]);
	opts_for(f, &o);
	assert_true(sb_ok(sb_merge_verify(sb_slice_str(manifest4), &o, sb_buf_slice(&out),
					  sb_buf_slice(&record), receipts, 4)));
	/* ... and fails for a changed output, a missing, repeated or foreign receipt. */
	out.data[20] ^= 1;
	assert_int_equal(sb_merge_verify(sb_slice_str(manifest4), &o, sb_buf_slice(&out),
					 sb_buf_slice(&record), receipts, 4).code,
			 SB_ERR_RECEIPT_MISMATCH);
	out.data[20] ^= 1;
	assert_int_equal(sb_merge_verify(sb_slice_str(manifest4), &o, sb_buf_slice(&out),
					 sb_buf_slice(&record), receipts, 3).code, SB_ERR_MERGE);
	receipts[3] = receipts[2];
	assert_int_equal(sb_merge_verify(sb_slice_str(manifest4), &o, sb_buf_slice(&out),
					 sb_buf_slice(&record), receipts, 4).code, SB_ERR_MERGE);
	receipts[3] = sb_slice_str("{}");
	assert_int_equal(sb_merge_verify(sb_slice_str(manifest4), &o, sb_buf_slice(&out),
					 sb_buf_slice(&record), receipts, 4).code, SB_ERR_MERGE);
	assert_int_equal(sb_merge_verify(sb_slice_str(other4), &o, sb_buf_slice(&out),
					 sb_buf_slice(&record), receipts, 4).code,
			 SB_ERR_RECEIPT_MISMATCH);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&record);
	sb_buf_cleanup(&out2);
	sb_buf_cleanup(&record2);
}

static void test_bad_shards_are_refused(void **state)
{
	struct fixture *f = *state;
	struct sb_merge_shard s[5];
	struct sb_buf out = SB_BUF_INIT(1 << 20), record = SB_BUF_INIT(1 << 20);
	struct sb_buf foreign = SB_BUF_INIT(1 << 16), edited = SB_BUF_INIT(1 << 20);

	/* Missing shard. */
	shards_of(f, s);
	assert_int_equal(merge(f, manifest4, s, 3, &out, &record), SB_ERR_MERGE);
	assert_non_null(strstr(sb_error_describe(), "shard 1 of 4 is missing"));
	/* Duplicate shard: named by both files. */
	s[4] = s[0];
	s[4].name = "copy.csv";
	assert_int_equal(merge(f, manifest4, s, 5, &out, &record), SB_ERR_MERGE);
	assert_non_null(strstr(sb_error_describe(), "copy.csv"));
	/* A receipt from another job. */
	shards_of(f, s);
	sign(f, other4, 1, s[3].output, &foreign);
	s[3].receipt = sb_buf_slice(&foreign);
	assert_int_equal(merge(f, manifest4, s, 4, &out, &record), SB_ERR_RECEIPT_MISMATCH);
	assert_non_null(strstr(sb_error_describe(), "s1.csv"));
	/* A receipt from the same job with another shard count. */
	sign(f, manifest2, 1, s[3].output, &foreign);
	s[3].receipt = sb_buf_slice(&foreign);
	assert_int_equal(merge(f, manifest4, s, 4, &out, &record), SB_ERR_RECEIPT_MISMATCH);
	assert_int_equal(merge(f, manifest2, s, 4, &out, &record), SB_ERR_RECEIPT_MISMATCH);
	/* A shard output edited after its receipt. */
	shards_of(f, s);
	assert_true(sb_ok(sb_buf_append_slice(&edited, s[1].output)));
	edited.data[edited.len - 3] ^= 0x20;
	s[1].output = sb_buf_slice(&edited);
	assert_int_equal(merge(f, manifest4, s, 4, &out, &record), SB_ERR_RECEIPT_MISMATCH);
	assert_non_null(strstr(sb_error_describe(), "s0.csv"));
	/* Shard 1's output and receipt passed off as shard 0's: the receipt says 1. */
	shards_of(f, s);
	s[1] = s[3];
	assert_int_equal(merge(f, manifest4, s, 4, &out, &record), SB_ERR_MERGE);
	/* Nothing to merge for an unsharded manifest. */
	assert_int_equal(merge(f, MANIFEST("m1", ""), s, 4, &out, &record), SB_ERR_MERGE);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&record);
	sb_buf_cleanup(&foreign);
	sb_buf_cleanup(&edited);
}

static void test_uris_and_split(void **state)
{
	struct sb_buf b = SB_BUF_INIT(4096);
	(void)state;
	assert_true(sb_ok(sb_merge_shard_uri("s3://b/out/output.csv", 3, &b)));
	assert_string_equal(sb_buf_cstr(&b), "s3://b/out/output.shard-3.csv");
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_merge_shard_uri("file:///x/result", 12, &b)));
	assert_string_equal(sb_buf_cstr(&b), "file:///x/result.shard-12.csv");
	sb_buf_reset(&b);
	assert_true(sb_ok(sb_merge_record_uri("file:///x/output.csv", &b)));
	assert_string_equal(sb_buf_cstr(&b), "file:///x/output.merge.json");
	sb_buf_reset(&b);
	/* "1" is shard 3 of 4, "42" shard 1 (sb_shard.h vectors). */
	assert_true(sb_ok(sb_merge_split(sb_slice_str("Property,Result\n1,A Wins\n42,B Wins\n"), 3,
					 4, &b)));
	assert_string_equal(sb_buf_cstr(&b), "Property,Result\n1,A Wins\n");
	assert_int_equal(sb_merge_split(sb_slice_str("x"), 0, 4, &b).code, SB_ERR_MERGE);
	assert_int_equal(sb_merge_split(sb_slice_str("Property\n"), 4, 4, &b).code,
			 SB_ERR_BAD_SHARD);
	sb_buf_cleanup(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_merge_gives_the_unsharded_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_shards_are_refused, setup, teardown),
		cmocka_unit_test(test_uris_and_split),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
