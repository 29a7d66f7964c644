/* Unit tests for the enclave's job core (src/auction/sb_job) with injected I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auction/sb_job.h"
#include "auction/sb_receipt.h"
#include "common/sb_encoding.h"

#define ARN1 "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111"
#define ARN2 "arn:aws:kms:us-east-1:111122223333:key/22222222-2222-2222-2222-222222222222"

static const char manifest[] =
	"{\"version\":1,\"job_id\":\"t1\",\"region\":\"us-east-1\",\"parties\":["
	"{\"name\":\"Buyer1\",\"input\":\"file:///b1.csv\",\"key\":\"" ARN1 "\"},"
	"{\"name\":\"Buyer2\",\"input\":\"file:///b2.csv\",\"key\":\"alias/buyer2\"}],"
	"\"output\":\"file:///out/output.csv\"}";

/*
 * The fake KMS: a "ciphertext" is base64 of "<key-arn>|<plaintext>"; it
 * fails like KMS's IncorrectKeyException when a declared ARN differs.
 */
struct fake {
	size_t decrypt_calls;
	uint8_t last_user_data[48];
};

static sb_result fake_decrypt(void *ctx, struct sb_job_cipher *items, size_t n)
{
	struct fake *f = ctx;
	f->decrypt_calls++;
	for (size_t i = 0; i < n; i++) {
		struct sb_buf raw = SB_BUF_INIT(4096);
		items[i].status = sb_base64_decode(items[i].ciphertext_b64, &raw);
		const char *bar = strchr(sb_buf_cstr(&raw), '|');
		if (sb_ok(items[i].status) && bar == NULL)
			items[i].status = (sb_result){SB_ERR_DECRYPT};
		/* Like KMS with KeyId = an alias: another key is IncorrectKeyException. */
		if (sb_ok(items[i].status) && strcmp(items[i].key_id, "alias/buyer2") == 0 &&
		    strncmp(sb_buf_cstr(&raw), ARN2 "|", strlen(ARN2) + 1) != 0) {
			items[i].status = (sb_result){SB_ERR_WRONG_KEY};
			snprintf(items[i].error, sizeof(items[i].error),
				 "KMS Decrypt: IncorrectKeyException");
			sb_buf_cleanup(&raw);
			continue;
		}
		if (sb_ok(items[i].status)) {
			snprintf(items[i].key_arn, sizeof(items[i].key_arn), "%.*s",
				 (int)(bar - sb_buf_cstr(&raw)), sb_buf_cstr(&raw));
			items[i].status = sb_buf_append_str(&items[i].plaintext, bar + 1);
		} else {
			snprintf(items[i].error, sizeof(items[i].error),
				 "KMS Decrypt: InvalidCiphertextException");
		}
		sb_buf_cleanup(&raw);
	}
	return SB_OK_RESULT;
}

static sb_result fake_attest(void *ctx, struct sb_slice user_data, struct sb_buf *doc)
{
	struct fake *f = ctx;
	assert_int_equal(user_data.len, 48);
	memcpy(f->last_user_data, user_data.ptr, 48);
	return sb_buf_append_str(doc, "DOC");
}

static void add_row(struct sb_buf *csv, const char *prop, const char *arn, const char *amount)
{
	char raw[512];
	struct sb_buf b64 = SB_BUF_INIT(2048);
	snprintf(raw, sizeof(raw), "%s|%s", arn, amount);
	assert_true(sb_ok(sb_base64_encode(sb_slice_str(raw), &b64)));
	assert_true(sb_ok(sb_buf_printf(csv, "%s,%s\n", prop, sb_buf_cstr(&b64))));
	sb_buf_cleanup(&b64);
}

struct run {
	struct sb_buf b1, b2, out, receipt;
	sb_result rc;
	struct fake fake;
};

static void run_job(struct run *r)
{
	struct sb_job *job = NULL;
	struct sb_job_io io = {&r->fake, fake_decrypt, fake_attest};
	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest), &job)));
	/* Buyer1 in two chunks, Buyer2 in one. */
	size_t half = r->b1.len / 2;
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer1"), 0, false, SB_SLICE(r->b1.data, half))));
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer2"), 0, true, sb_buf_slice(&r->b2))));
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer1"), 1, true,
				       SB_SLICE(r->b1.data + half, r->b1.len - half))));
	r->out = SB_BUF_INIT(1 << 20);
	r->receipt = SB_BUF_INIT(1 << 20);
	r->rc = sb_job_finish(job, &io, &r->out, &r->receipt);
	sb_job_free(job);
}

static void init_sample(struct run *r)
{
	memset(r, 0, sizeof(*r));
	r->b1 = SB_BUF_INIT(1 << 20);
	r->b2 = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_buf_append_str(&r->b1, "[].contract,[].bid\n")));
	assert_true(sb_ok(sb_buf_append_str(&r->b2, "[].contract,[].bid\n")));
	add_row(&r->b1, "1", ARN1, "100000");
	add_row(&r->b1, "2", ARN1, "200000");
	add_row(&r->b1, "3", ARN1, "150000");
	add_row(&r->b2, "1", ARN2, "200000");
	add_row(&r->b2, "2", ARN2, "300000");
}

static void cleanup_run(struct run *r)
{
	sb_buf_cleanup(&r->b1);
	sb_buf_cleanup(&r->b2);
	sb_buf_cleanup(&r->out);
	sb_buf_cleanup(&r->receipt);
}

static void test_sample_job_and_receipt_binding(void **state)
{
	(void)state;
	struct run r;
	init_sample(&r);
	add_row(&r.b2, "3", ARN2, "100000");
	run_job(&r);
	assert_true(sb_ok(r.rc));
	assert_string_equal(sb_buf_cstr(&r.out),
			    "Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins\n");
	assert_int_equal(r.fake.decrypt_calls, 1); /* one batch for all bids */
	/* The attested user_data commits to manifest and output. */
	struct sb_manifest m;
	uint8_t ud[48];
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest), &m)));
	assert_true(sb_ok(sb_receipt_user_data(m.hash, sb_buf_slice(&r.out), ud)));
	assert_memory_equal(ud, r.fake.last_user_data, 48);
	assert_non_null(strstr(sb_buf_cstr(&r.receipt), "\"attestation_document\":\"RE9D\""));
	assert_non_null(strstr(sb_buf_cstr(&r.receipt), "\"job_id\":\"t1\""));
	sb_manifest_cleanup(&m);
	cleanup_run(&r);
}

struct bad_case {
	const char *prop, *arn, *amount;
	int code;
	const char *detail;
};

static void test_bad_bids_fail_whole_job_without_output(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		/* Operator swaps in a ciphertext under its own key: the oracle attack. */
		{"3", "arn:aws:kms:us-east-1:999999999999:key/evil", "100000", SB_ERR_WRONG_KEY,
		 "party Buyer2, row 3: KMS Decrypt: IncorrectKeyException"},
		{"3", ARN2, "-5", SB_ERR_BAD_AMOUNT, "party Buyer2, row 3"},
		{"3", ARN2, "12abc", SB_ERR_BAD_AMOUNT, "party Buyer2, row 3"},
		{"2", ARN2, "5", SB_ERR_DUPLICATE_PROPERTY, "party Buyer2, property 2"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct run r;
		init_sample(&r);
		add_row(&r.b2, cases[i].prop, cases[i].arn, cases[i].amount);
		run_job(&r);
		assert_int_equal(r.rc.code, cases[i].code);
		if (strstr(sb_error_detail(), cases[i].detail) == NULL)
			fail_msg("case %zu: detail \"%s\"", i, sb_error_detail());
		assert_null(strstr(sb_error_describe(), cases[i].amount));
		assert_int_equal(r.out.len, 0);     /* no partial output */
		assert_int_equal(r.receipt.len, 0); /* and no receipt */
		cleanup_run(&r);
	}
	/* Buyer1 declared an ARN: the enclave itself checks the key KMS reports. */
	struct run r;
	init_sample(&r);
	add_row(&r.b1, "4", ARN2, "7");
	run_job(&r);
	assert_int_equal(r.rc.code, SB_ERR_WRONG_KEY);
	assert_non_null(strstr(sb_error_detail(), "party Buyer1, row 4: decrypted under another key"));
	assert_int_equal(r.out.len, 0);
	cleanup_run(&r);

	/* A ciphertext KMS refuses. */
	init_sample(&r);
	assert_true(sb_ok(sb_buf_append_str(&r.b2, "3,bm90LWEtY2lwaGVydGV4dA==\n")));
	run_job(&r);
	assert_int_equal(r.rc.code, SB_ERR_DECRYPT);
	assert_non_null(strstr(sb_error_detail(), "InvalidCiphertextException"));
	assert_int_equal(r.out.len, 0);
	cleanup_run(&r);
}

static void test_input_order_and_completeness(void **state)
{
	(void)state;
	struct sb_job *job = NULL;
	struct fake f = {0};
	struct sb_job_io io = {&f, fake_decrypt, fake_attest};
	struct sb_buf out = SB_BUF_INIT(4096), rec = SB_BUF_INIT(4096);
	const char *hdr = "[].contract,[].bid\n";

	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest), &job)));
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer3"), 0, true, sb_slice_str(hdr)).code,
			 SB_ERR_BAD_PARTY);
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer1"), 1, true, sb_slice_str(hdr)).code,
			 SB_ERR_JOB_INPUT);
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer1"), 0, true, sb_slice_str(hdr))));
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer1"), 1, true, sb_slice_str(hdr)).code,
			 SB_ERR_JOB_INPUT);
	/* Buyer2 never sent its last chunk. */
	assert_int_equal(sb_job_finish(job, &io, &out, &rec).code, SB_ERR_JOB_INPUT);
	assert_non_null(strstr(sb_error_detail(), "Buyer2"));
	assert_int_equal(sb_job_finish(job, &io, &out, &rec).code, SB_ERR_BAD_STATE);
	sb_job_free(job);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
	assert_int_equal(sb_job_new(sb_slice_str("{}"), &job).code, SB_ERR_BAD_MANIFEST);
}

static void test_key_matching(void **state)
{
	(void)state;
	assert_true(sb_job_key_matches(ARN1, ARN1));
	assert_false(sb_job_key_matches(ARN1, ARN2));
	assert_true(sb_job_key_matches("11111111-1111-1111-1111-111111111111", ARN1));
	assert_false(sb_job_key_matches("11111111-1111-1111-1111-111111111111", ARN2));
	assert_true(sb_job_key_matches("alias/buyer2", ARN2));
	assert_false(sb_job_key_matches("alias/buyer2", ""));
	assert_false(sb_job_key_matches(ARN1, ""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sample_job_and_receipt_binding),
		cmocka_unit_test(test_bad_bids_fail_whole_job_without_output),
		cmocka_unit_test(test_input_order_and_completeness),
		cmocka_unit_test(test_key_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
