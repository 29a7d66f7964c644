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
#include "auction/sb_trailer.h"
#include "common/sb_encoding.h"
#include "test_job_fake.h"


#define MANIFEST(job, disclose, bind1, extra)                                                 \
	"{\"version\":1,\"job_id\":\"" job "\",\"region\":\"us-east-1\"" disclose ",\"parties\":[" \
	"{\"name\":\"Buyer1\",\"input\":\"file:///b1.csv\",\"key\":\"" ARN1 "\"" bind1 "},"      \
	"{\"name\":\"Buyer2\",\"input\":\"file:///b2.csv\",\"key\":\"alias/buyer2\"" bind1 "}"   \
	extra "],\"output\":\"file:///out/output.csv\"}"

static const char manifest_none[] = MANIFEST("t1", "", ",\"binding\":\"none\"", "");
static const char manifest_job[] = MANIFEST("t1", "", "", "");

/* One party's file as a party (or an attacker) would write it. */
struct file {
	struct sb_buf csv;
	struct sb_trailer tr;
	const char *party, *arn, *hash; /* hash NULL: unbound */
};

static void file_init(struct file *f, const char *party, const char *arn, const char *hash)
{
	memset(f, 0, sizeof(*f));
	f->csv = SB_BUF_INIT(1 << 20);
	f->party = party;
	f->arn = arn;
	f->hash = hash;
	assert_true(sb_ok(sb_trailer_init(&f->tr)));
	assert_true(sb_ok(sb_buf_append_str(&f->csv, "[].contract,[].bid\n")));
}

static void cipher_for(const struct file *f, const char *arn, const char *prop,
		       const char *amount, struct sb_buf *b64)
{
	char raw[1024], ctx[512] = "";
	if (f->hash != NULL)
		snprintf(ctx, sizeof(ctx), "sealbid:manifest=%s;sealbid:party=%s;sealbid:property=%s;",
			 f->hash, f->party, prop);
	snprintf(raw, sizeof(raw), "%s|%s|%s", arn, ctx, amount);
	assert_true(sb_ok(sb_base64_encode(sb_slice_str(raw), b64)));
}

static void add_row_as(struct file *f, const char *arn, const char *prop, const char *amount)
{
	struct sb_buf b64 = SB_BUF_INIT(2048);
	cipher_for(f, arn, prop, amount, &b64);
	assert_true(sb_ok(sb_trailer_add(&f->tr, sb_slice_str(prop), sb_buf_slice(&b64))));
	assert_true(sb_ok(sb_buf_printf(&f->csv, "%s,%s\n", prop, sb_buf_cstr(&b64))));
	sb_buf_cleanup(&b64);
}

static void add_row(struct file *f, const char *prop, const char *amount)
{
	add_row_as(f, f->arn, prop, amount);
}

static void add_trailer(struct file *f)
{
	struct sb_buf text = SB_BUF_INIT(256);
	assert_true(sb_ok(sb_trailer_text(&f->tr, &text)));
	struct sb_buf b64 = SB_BUF_INIT(2048);
	cipher_for(f, f->arn, SB_TRAILER_PROPERTY, sb_buf_cstr(&text), &b64);
	assert_true(sb_ok(sb_buf_printf(&f->csv, "%s,%s\n", SB_TRAILER_PROPERTY, sb_buf_cstr(&b64))));
	sb_buf_cleanup(&b64);
	sb_buf_cleanup(&text);
}

static void file_cleanup(struct file *f)
{
	sb_buf_cleanup(&f->csv);
	sb_trailer_cleanup(&f->tr);
}

struct run {
	struct sb_buf out, receipt;
	sb_result rc;
	struct fake fake;
};

/* Buyer1 in two chunks around Buyer2's single one. */
static void run_job(struct run *r, const char *manifest, struct file *f1, struct file *f2)
{
	struct sb_job *job = NULL;
	struct sb_job_io io = {&r->fake, fake_decrypt, NULL, fake_attest};
	memset(r, 0, sizeof(*r));
	r->out = SB_BUF_INIT(1 << 20);
	r->receipt = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest), &io, &job)));
	size_t half = f1->csv.len / 2;
	r->rc = sb_job_input(job, sb_slice_str("Buyer1"), 0, false, SB_SLICE(f1->csv.data, half));
	if (sb_ok(r->rc))
		r->rc = sb_job_input(job, sb_slice_str("Buyer2"), 0, true, sb_buf_slice(&f2->csv));
	if (sb_ok(r->rc))
		r->rc = sb_job_input(job, sb_slice_str("Buyer1"), 1, true,
				     SB_SLICE(f1->csv.data + half, f1->csv.len - half));
	if (sb_ok(r->rc))
		r->rc = sb_job_finish(job, &r->out, &r->receipt);
	sb_job_free(job);
}

static void cleanup_run(struct run *r)
{
	sb_buf_cleanup(&r->out);
	sb_buf_cleanup(&r->receipt);
}

static const char *hash_of(const char *manifest, char out[97])
{
	struct sb_manifest m;
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest), &m)));
	memcpy(out, m.hash_hex, 97);
	sb_manifest_cleanup(&m);
	return out;
}

/* The agreed sample: Buyer1 bids on 1..3, Buyer2 on 1..2 (+ what a case adds). */
static void sample(struct file *f1, struct file *f2, const char *hash)
{
	file_init(f1, "Buyer1", ARN1, hash);
	file_init(f2, "Buyer2", ARN2, hash);
	add_row(f1, "1", "100000");
	add_row(f1, "2", "200000");
	add_row(f1, "3", "150000");
	add_row(f2, "1", "200000");
	add_row(f2, "2", "300000");
}

static void test_sample_job_and_receipt_binding(void **state)
{
	(void)state;
	struct file f1, f2;
	struct run r;
	sample(&f1, &f2, NULL);
	add_row(&f2, "3", "100000");
	run_job(&r, manifest_none, &f1, &f2);
	assert_true(sb_ok(r.rc));
	assert_string_equal(sb_buf_cstr(&r.out),
			    "Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins\n");
	assert_int_equal(r.fake.decrypt_calls, 1); /* one batch for all bids */
	/* The attested user_data commits to manifest and output. */
	struct sb_manifest m;
	uint8_t ud[48];
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest_none), &m)));
	assert_true(sb_ok(sb_receipt_user_data(m.hash, sb_buf_slice(&r.out), ud)));
	assert_memory_equal(ud, r.fake.last_user_data, 48);
	assert_non_null(strstr(sb_buf_cstr(&r.receipt), "\"attestation_document\":\"RE9D\""));
	assert_non_null(strstr(sb_buf_cstr(&r.receipt), "\"job_id\":\"t1\""));
	sb_manifest_cleanup(&m);
	cleanup_run(&r);
	file_cleanup(&f1);
	file_cleanup(&f2);
}

static void test_bound_job_runs_and_sends_contexts(void **state)
{
	(void)state;
	char hash[97];
	struct file f1, f2;
	struct run r;
	sample(&f1, &f2, hash_of(manifest_job, hash));
	add_trailer(&f1);
	add_trailer(&f2);
	run_job(&r, manifest_job, &f1, &f2);
	if (!sb_ok(r.rc))
		fail_msg("%s", sb_error_describe());
	assert_string_equal(sb_buf_cstr(&r.out),
			    "Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins\n");
	assert_int_equal(r.fake.items, 7); /* 5 bids + 2 trailers */
	cleanup_run(&r);
	file_cleanup(&f1);
	file_cleanup(&f2);
}

/* Each operator attack against job-bound inputs fails, with no output. */
static void expect_fail(const char *manifest, struct file *f1, struct file *f2, int code,
			const char *detail)
{
	struct run r;
	run_job(&r, manifest, f1, f2);
	if (r.rc.code != code || strstr(sb_error_describe(), detail) == NULL)
		fail_msg("expected %d \"%s\", got %d: %s", code, detail, r.rc.code,
			 sb_error_describe());
	assert_null(strstr(sb_error_describe(), "300000"));
	assert_int_equal(r.out.len, 0);
	assert_int_equal(r.receipt.len, 0);
	cleanup_run(&r);
	file_cleanup(f1);
	file_cleanup(f2);
}

static void test_operator_attacks_on_bound_inputs(void **state)
{
	(void)state;
	char hash[97];
	struct file f1, f2;
	hash_of(manifest_job, hash);

	/* The same files under a new job id that discloses prices: KMS refuses. */
	static const char reprice[] =
		MANIFEST("t2", ",\"disclose\":\"winner-and-price\"", "", "");
	sample(&f1, &f2, hash);
	add_trailer(&f1);
	add_trailer(&f2);
	expect_fail(reprice, &f1, &f2, SB_ERR_DECRYPT, "party Buyer1, row 1: KMS Decrypt");

	/* A row dropped from Buyer2's file (the trailer still counts it). */
	file_init(&f1, "Buyer1", ARN1, hash);
	file_init(&f2, "Buyer2", ARN2, hash);
	add_row(&f1, "1", "100000");
	add_row(&f2, "1", "200000");
	struct sb_buf b64 = SB_BUF_INIT(2048);
	cipher_for(&f2, ARN2, "2", "300000", &b64);
	assert_true(sb_ok(sb_trailer_add(&f2.tr, sb_slice_str("2"), sb_buf_slice(&b64))));
	sb_buf_cleanup(&b64);
	add_trailer(&f1);
	add_trailer(&f2);
	expect_fail(manifest_job, &f1, &f2, SB_ERR_TRAILER_COUNT, "party Buyer2");

	/* Buyer2's property-1 ciphertext copied onto property 3: context mismatch at KMS. */
	sample(&f1, &f2, hash);
	b64 = SB_BUF_INIT(2048);
	cipher_for(&f2, ARN2, "1", "200000", &b64);
	assert_true(sb_ok(sb_buf_printf(&f2.csv, "3,%s\n", sb_buf_cstr(&b64))));
	sb_buf_cleanup(&b64);
	add_trailer(&f1);
	add_trailer(&f2);
	expect_fail(manifest_job, &f1, &f2, SB_ERR_DUPLICATE_CIPHERTEXT, "party Buyer2 row 1");

	/* A moved ciphertext re-encrypted... cannot be: only the owner can. A row
	 * without a trailer (the operator strips it) is refused. */
	sample(&f1, &f2, hash);
	add_trailer(&f1);
	expect_fail(manifest_job, &f1, &f2, SB_ERR_TRAILER, "party Buyer2");

	/* Rows reordered: the digest differs. */
	file_init(&f1, "Buyer1", ARN1, hash);
	file_init(&f2, "Buyer2", ARN2, hash);
	add_row(&f1, "1", "100000");
	struct file shadow;
	file_init(&shadow, "Buyer2", ARN2, hash);
	add_row(&shadow, "2", "300000");
	add_row(&shadow, "1", "200000");
	add_row(&f2, "1", "200000");
	add_row(&f2, "2", "300000");
	add_trailer(&f1);
	add_trailer(&shadow); /* trailer of the other order */
	const char *tl = strstr(sb_buf_cstr(&shadow.csv), SB_TRAILER_PROPERTY);
	assert_true(sb_ok(sb_buf_append_str(&f2.csv, tl)));
	file_cleanup(&shadow);
	expect_fail(manifest_job, &f1, &f2, SB_ERR_TRAILER_DIGEST, "party Buyer2");

	/* A reserved property id in the middle of a bound file. */
	sample(&f1, &f2, hash);
	add_row(&f2, "sealbid:x", "1");
	add_trailer(&f1);
	add_trailer(&f2);
	expect_fail(manifest_job, &f1, &f2, SB_ERR_BAD_CSV, "reserved");
}

static void test_same_key_and_duplicate_ciphertexts(void **state)
{
	(void)state;
	struct file f1, f2;
	/* Buyer2's alias resolving to Buyer1's key: one party played against itself. */
	file_init(&f1, "Buyer1", ARN1, NULL);
	file_init(&f2, "Buyer2", ARN2, NULL);
	add_row(&f1, "1", "5");
	add_row(&f2, "1", "6");
	static const char alias_to_1[] =
		"{\"version\":1,\"job_id\":\"t1\",\"region\":\"us-east-1\",\"parties\":["
		"{\"name\":\"Buyer1\",\"input\":\"file:///b1.csv\",\"key\":\"alias/one\","
		"\"binding\":\"none\"},"
		"{\"name\":\"Buyer2\",\"input\":\"file:///b2.csv\",\"key\":\"alias/two\","
		"\"binding\":\"none\"}],\"output\":\"file:///o.csv\"}";
	sb_buf_reset(&f2.csv);
	assert_true(sb_ok(sb_buf_append_str(&f2.csv, "[].contract,[].bid\n")));
	add_row_as(&f2, ARN1, "2", "7");
	expect_fail(alias_to_1, &f1, &f2, SB_ERR_SAME_KEY, "parties Buyer1 and Buyer2");

	/* One ciphertext in both files (unbound: the context cannot catch it). */
	file_init(&f1, "Buyer1", ARN1, NULL);
	file_init(&f2, "Buyer2", ARN2, NULL);
	add_row(&f1, "1", "5");
	add_row_as(&f2, ARN1, "1", "5");
	expect_fail(manifest_none, &f1, &f2, SB_ERR_DUPLICATE_CIPHERTEXT,
		    "party Buyer1 row 1 and party Buyer2 row 1");

	/* The manifest itself refuses one key declared twice. */
	struct sb_job *job = NULL;
	struct fake f = {0};
	struct sb_job_io io = {&f, fake_decrypt, NULL, fake_attest};
	static const char twice[] =
		"{\"version\":1,\"job_id\":\"t1\",\"region\":\"us-east-1\",\"parties\":["
		"{\"name\":\"Buyer1\",\"input\":\"file:///b1.csv\",\"key\":\"" ARN1 "\"},"
		"{\"name\":\"Buyer1b\",\"input\":\"file:///b1.csv\",\"key\":\"" ARN1 "\"}],"
		"\"output\":\"file:///o.csv\"}";
	assert_int_equal(sb_job_new(sb_slice_str(twice), &io, &job).code, SB_ERR_BAD_MANIFEST);
	assert_non_null(strstr(sb_error_detail(), "declare the same key"));
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
		{"3", ARN3, "100000", SB_ERR_WRONG_KEY,
		 "party Buyer2, row 3: KMS Decrypt: IncorrectKeyException"},
		{"3", ARN2, "-5", SB_ERR_BAD_AMOUNT, "party Buyer2, row 3"},
		{"3", ARN2, "12abc", SB_ERR_BAD_AMOUNT, "party Buyer2, row 3"},
		/* Issue 10 item 13: the reason, and the table's message once. */
		{"3", ARN2, "12345678901234567890123456789012345678901234567890123456789012345",
		 SB_ERR_BAD_AMOUNT,
		 "bid is not a non-negative decimal amount: party Buyer2, row 3: amount is longer "
		 "than 64 digits"},
		{"3", ARN2, "1.2.3", SB_ERR_BAD_AMOUNT,
		 "bid is not a non-negative decimal amount: party Buyer2, row 3: amount has a non-digit"},
		{"2", ARN2, "5", SB_ERR_DUPLICATE_PROPERTY, "party Buyer2, row 3"},
	};
	struct file f1, f2;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sample(&f1, &f2, NULL);
		add_row_as(&f2, cases[i].arn, cases[i].prop, cases[i].amount);
		expect_fail(manifest_none, &f1, &f2, cases[i].code, cases[i].detail);
	}
	/* Buyer1 declared an ARN: the enclave itself checks the key KMS reports. */
	sample(&f1, &f2, NULL);
	add_row_as(&f1, ARN2, "4", "7");
	expect_fail(manifest_none, &f1, &f2, SB_ERR_WRONG_KEY,
		    "party Buyer1: decrypted under another key");

	/* A ciphertext KMS refuses. */
	sample(&f1, &f2, NULL);
	assert_true(sb_ok(sb_buf_append_str(&f2.csv, "3,bm90LWEtY2lwaGVydGV4dA==\n")));
	expect_fail(manifest_none, &f1, &f2, SB_ERR_DECRYPT, "InvalidCiphertextException");
}

/* An I/O that stops at Buyer2's row 2 and skips every other row. */
static sb_result stopping_decrypt(void *ctx, struct sb_job_cipher *items, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++) {
		bool culprit = items[i].party == 1 && items[i].row == 2;
		items[i].status = (sb_result){culprit ? SB_ERR_DECRYPT : SB_ERR_HTTP_CANCELLED};
		items[i].skipped = !culprit;
		snprintf(items[i].error, sizeof(items[i].error), "%s",
			 culprit ? "KMS Decrypt: InvalidCiphertextException" : "not made");
	}
	return SB_OK_RESULT;
}

/* Rows the I/O skipped never hide the failure that stopped it. */
static void test_skipped_rows_report_the_real_failure(void **state)
{
	(void)state;
	struct file f1, f2;
	struct run r;
	sample(&f1, &f2, NULL);
	struct sb_job *job = NULL;
	struct sb_job_io io = {&r.fake, stopping_decrypt, NULL, fake_attest};
	struct sb_buf out = SB_BUF_INIT(4096), rec = SB_BUF_INIT(4096);
	memset(&r, 0, sizeof(r));
	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest_none), &io, &job)));
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer1"), 0, true, sb_buf_slice(&f1.csv))));
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer2"), 0, true, sb_buf_slice(&f2.csv))));
	assert_int_equal(sb_job_finish(job, &out, &rec).code, SB_ERR_DECRYPT);
	assert_non_null(strstr(sb_error_detail(), "party Buyer2, row 2: KMS Decrypt"));
	assert_int_equal(out.len, 0);
	sb_job_free(job);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
	file_cleanup(&f1);
	file_cleanup(&f2);
}

static void test_input_order_and_completeness(void **state)
{
	(void)state;
	struct sb_job *job = NULL;
	struct fake f = {0};
	struct sb_job_io io = {&f, fake_decrypt, NULL, fake_attest};
	struct sb_buf out = SB_BUF_INIT(4096), rec = SB_BUF_INIT(4096);
	const char *hdr = "[].contract,[].bid\n";

	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest_none), &io, &job)));
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer3"), 0, true, sb_slice_str(hdr)).code,
			 SB_ERR_BAD_PARTY);
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer1"), 1, true, sb_slice_str(hdr)).code,
			 SB_ERR_JOB_INPUT);
	assert_true(sb_ok(sb_job_input(job, sb_slice_str("Buyer1"), 0, true, sb_slice_str(hdr))));
	assert_int_equal(sb_job_input(job, sb_slice_str("Buyer1"), 1, true, sb_slice_str(hdr)).code,
			 SB_ERR_JOB_INPUT);
	/* Buyer2 never sent its last chunk. */
	assert_int_equal(sb_job_finish(job, &out, &rec).code, SB_ERR_JOB_INPUT);
	assert_non_null(strstr(sb_error_detail(), "Buyer2"));
	assert_int_equal(sb_job_finish(job, &out, &rec).code, SB_ERR_BAD_STATE);
	sb_job_free(job);
	sb_buf_cleanup(&out);
	sb_buf_cleanup(&rec);
	assert_int_equal(sb_job_new(sb_slice_str("{}"), &io, &job).code, SB_ERR_BAD_MANIFEST);
}

static void test_trailer_text(void **state)
{
	(void)state;
	struct sb_trailer t;
	struct sb_buf text = SB_BUF_INIT(256);
	assert_true(sb_ok(sb_trailer_init(&t)));
	assert_true(sb_ok(sb_trailer_add(&t, sb_slice_str("1"), sb_slice_str("QUJD"))));
	assert_true(sb_ok(sb_trailer_text(&t, &text)));
	sb_trailer_cleanup(&t);
	assert_int_equal(strncmp(sb_buf_cstr(&text), "sealbid-trailer-v1 rows=1 sha384=", 33), 0);
	assert_int_equal(text.len, 33 + 96);
	static const char *const bad[] = {"", "sealbid-trailer-v1 rows=x sha384=00",
					  "sealbid-trailer-v1 rows=1", "hello",
					  "sealbid-trailer-v1 rows=1 sha384=zz"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_true(sb_ok(sb_trailer_init(&t)));
		assert_int_equal(sb_trailer_check(&t, sb_slice_str(bad[i])).code, SB_ERR_TRAILER);
		sb_trailer_cleanup(&t);
	}
	assert_true(sb_ok(sb_trailer_init(&t)));
	assert_int_equal(sb_trailer_check(&t, sb_buf_slice(&text)).code, SB_ERR_TRAILER_COUNT);
	sb_trailer_cleanup(&t);
	assert_true(sb_ok(sb_trailer_init(&t)));
	assert_true(sb_ok(sb_trailer_add(&t, sb_slice_str("1"), sb_slice_str("QUJE"))));
	assert_int_equal(sb_trailer_check(&t, sb_buf_slice(&text)).code, SB_ERR_TRAILER_DIGEST);
	sb_trailer_cleanup(&t);
	assert_true(sb_ok(sb_trailer_init(&t)));
	assert_true(sb_ok(sb_trailer_add(&t, sb_slice_str("1"), sb_slice_str("QUJD"))));
	assert_true(sb_ok(sb_trailer_check(&t, sb_buf_slice(&text))));
	sb_trailer_cleanup(&t);
	sb_buf_cleanup(&text);
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
		cmocka_unit_test(test_bound_job_runs_and_sends_contexts),
		cmocka_unit_test(test_operator_attacks_on_bound_inputs),
		cmocka_unit_test(test_same_key_and_duplicate_ciphertexts),
		cmocka_unit_test(test_bad_bids_fail_whole_job_without_output),
		cmocka_unit_test(test_skipped_rows_report_the_real_failure),
		cmocka_unit_test(test_input_order_and_completeness),
		cmocka_unit_test(test_trailer_text),
		cmocka_unit_test(test_key_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
