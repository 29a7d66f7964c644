/*
 * Receipts end to end in process: a document from the emulated NSM whose
 * user_data binds manifest and output, then sb_receipt_verify against every
 * kind of change (the host layer brings the emulator and, below it, auction).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "attest/sb_nsm_msg.h"
#include "auction/sb_manifest.h"
#include "auction/sb_receipt.h"
#include "common/sb_encoding.h"
#include "host/sb_nsm_emu.h"

static const char manifest[] =
	"{\"version\":1,\"job_id\":\"r1\",\"region\":\"us-east-1\",\"parties\":["
	"{\"name\":\"A\",\"input\":\"file:///a\",\"key\":\"alias/a\"},"
	"{\"name\":\"B\",\"input\":\"file:///b\",\"key\":\"alias/b\"}],"
	"\"output\":\"file:///out/output.csv\"}";
static const char output[] = "Property,Result\n1,B Wins\n";

struct fixture {
	char state[64];
	struct sb_nsm_emu *emu;
	struct sb_measurement m;
	struct sb_buf receipt;
	struct sb_buf root;
	uint64_t signed_at;
};

/* Signs a receipt for (manifest, output) with the emulator pinned at now_ms. */
static void make_receipt(struct fixture *f, uint64_t now_ms)
{
	struct sb_nsm_emu_config cfg = {0};
	struct sb_manifest m;
	struct sb_buf req = SB_BUF_INIT(4096), resp = SB_BUF_INIT(32768);
	uint8_t ud[SB_SHA384_LEN];

	cfg.state_dir = f->state;
	cfg.measurement = f->m;
	cfg.now_ms = now_ms;
	sb_nsm_emu_free(f->emu);
	assert_true(sb_ok(sb_nsm_emu_new(&cfg, &f->emu)));
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest), &m)));
	assert_true(sb_ok(sb_receipt_user_data(m.hash, sb_slice_str(output), ud)));
	assert_true(sb_ok(sb_nsm_encode_attestation(SB_SLICE(ud, sizeof(ud)), SB_SLICE(NULL, 0),
						    SB_SLICE(NULL, 0), &req)));
	assert_true(sb_ok(sb_nsm_emu_handle(f->emu, sb_buf_slice(&req), &resp)));
	struct sb_nsm_response dec;
	sb_nsm_response_init(&dec);
	assert_true(sb_ok(sb_nsm_response_decode(sb_buf_slice(&resp), &dec)));
	assert_int_equal(dec.kind, SB_NSM_RESP_ATTESTATION);
	sb_buf_reset(&f->receipt);
	assert_true(sb_ok(sb_receipt_build(m.job_id, m.hash, sb_slice_str(output),
					   sb_buf_slice(&dec.data), &f->receipt)));
	f->signed_at = now_ms;
	sb_nsm_response_cleanup(&dec);
	sb_buf_cleanup(&req);
	sb_buf_cleanup(&resp);
	sb_manifest_cleanup(&m);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	snprintf(f->state, sizeof(f->state), "/tmp/sb_receipt_XXXXXX");
	assert_non_null(mkdtemp(f->state));
	memset(f->m.pcr0, 0x11, sizeof(f->m.pcr0));
	memset(f->m.pcr1, 0x22, sizeof(f->m.pcr1));
	memset(f->m.pcr2, 0x33, sizeof(f->m.pcr2));
	f->receipt = SB_BUF_INIT(1 << 20);
	f->root = SB_BUF_INIT(1 << 16);
	assert_true(sb_ok(sb_nsm_emu_ca_ensure(f->state, &f->root)));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	sb_nsm_emu_free(f->emu);
	sb_buf_cleanup(&f->receipt);
	sb_buf_cleanup(&f->root);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->state);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static sb_result verify(struct fixture *f, struct sb_slice receipt, struct sb_slice out,
			struct sb_slice man, const uint8_t *pcr0, uint64_t at_ms)
{
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	assert_true(sb_ok(sb_verify_opts_add_root(&o, sb_buf_slice(&f->root))));
	if (pcr0 != NULL)
		assert_true(sb_ok(sb_verify_opts_expect_pcr(&o, 0, SB_SLICE(pcr0, 48))));
	assert_true(sb_ok(sb_verify_opts_expect_pcr(&o, 2, SB_SLICE(f->m.pcr2, 48))));
	o.at_ms = at_ms;
	return sb_receipt_verify(receipt, out, man, &o, NULL);
}

static void test_good_receipt_and_every_byte(void **state)
{
	struct fixture *f = *state;
	make_receipt(f, 0);
	assert_true(sb_ok(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				 sb_slice_str(manifest), f->m.pcr0, 0)));
	/* Any changed byte of the receipt fails (every 5th byte, to keep it quick). */
	for (size_t i = 0; i < f->receipt.len; i += 5) {
		uint8_t saved = f->receipt.data[i];
		f->receipt.data[i] = (uint8_t)(saved == 'A' ? 'B' : 'A');
		sb_result r = verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				     sb_slice_str(manifest), f->m.pcr0, 0);
		if (sb_ok(r))
			fail_msg("receipt byte %zu changed and still verifies", i);
		f->receipt.data[i] = saved;
	}
}

static void test_output_manifest_and_pcr_changes(void **state)
{
	struct fixture *f = *state;
	uint8_t other[48];
	char changed[sizeof(output)];

	make_receipt(f, 0);
	memcpy(changed, output, sizeof(output));
	changed[18] = 'A'; /* "1,A Wins" */
	assert_int_equal(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(changed),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_RECEIPT_MISMATCH);
	char man2[sizeof(manifest)];
	memcpy(man2, manifest, sizeof(manifest));
	*strstr(man2, "alias/b") = 'A';
	assert_int_equal(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				sb_slice_str(man2), f->m.pcr0, 0).code, SB_ERR_RECEIPT_MISMATCH);
	memset(other, 0x44, sizeof(other));
	assert_int_equal(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				sb_slice_str(manifest), other, 0).code, SB_ERR_ATTEST_PCR_MISMATCH);
	/* Without any expected PCR a receipt proves nothing: refused. */
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	assert_true(sb_ok(sb_verify_opts_add_root(&o, sb_buf_slice(&f->root))));
	assert_int_equal(sb_receipt_verify(sb_buf_slice(&f->receipt), sb_slice_str(output),
					   sb_slice_str(manifest), &o, NULL).code,
			 SB_ERR_ATTEST_PCRS_TOO_WEAK);
	/*
	 * Issue 10 item 8: PCR1 (and PCR3/4/8) are not the image. The receipt's
	 * own PCR1 must not suffice, since every image has it.
	 */
	assert_true(sb_ok(sb_verify_opts_expect_pcr(&o, 1, SB_SLICE(f->m.pcr1, 48))));
	assert_int_equal(sb_receipt_verify(sb_buf_slice(&f->receipt), sb_slice_str(output),
					   sb_slice_str(manifest), &o, NULL).code,
			 SB_ERR_ATTEST_PCRS_TOO_WEAK);
	assert_non_null(strstr(sb_error_detail(), "PCR0"));
	assert_non_null(strstr(sb_error_detail(), "PCR2"));
	/* PCR1 with PCR2, or PCR0 alone, pins the image: verifies. */
	assert_true(sb_ok(sb_verify_opts_expect_pcr(&o, 2, SB_SLICE(f->m.pcr2, 48))));
	assert_true(sb_ok(sb_receipt_verify(sb_buf_slice(&f->receipt), sb_slice_str(output),
					    sb_slice_str(manifest), &o, NULL)));
	sb_verify_opts_init(&o);
	assert_true(sb_ok(sb_verify_opts_add_root(&o, sb_buf_slice(&f->root))));
	assert_true(sb_ok(sb_verify_opts_expect_pcr(&o, 0, SB_SLICE(f->m.pcr0, 48))));
	assert_true(sb_ok(sb_receipt_verify(sb_buf_slice(&f->receipt), sb_slice_str(output),
					    sb_slice_str(manifest), &o, NULL)));
	/* Issue 10 item 13: a duplicated key is reported as such, not as "not a JSON object". */
	assert_int_equal(verify(f, sb_slice_str("{\"version\":1,\"version\":1}"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_non_null(strstr(sb_error_detail(), "duplicate object key"));
	assert_null(strstr(sb_error_detail(), "not a JSON object"));
	assert_int_equal(verify(f, sb_slice_str("{\"version\":1"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_non_null(strstr(sb_error_detail(), "not valid JSON"));
	assert_int_equal(verify(f, sb_slice_str("[1]"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_non_null(strstr(sb_error_detail(), "not a JSON object"));
	/* Not JSON, wrong version, unknown field. */
	assert_int_equal(verify(f, sb_slice_str("[]"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_int_equal(verify(f, sb_slice_str("nope"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_int_equal(verify(f, sb_slice_str("{\"version\":2}"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
	assert_int_equal(verify(f, sb_slice_str("{\"version\":1,\"x\":1}"), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, 0).code, SB_ERR_BAD_RECEIPT);
}

static void test_old_receipt_checked_at_its_own_time(void **state)
{
	struct fixture *f = *state;
	/* Signed six hours ago: its 3-hour leaf has expired (the dev root is a day old). */
	uint64_t then = (uint64_t)time(NULL) * 1000 - 6ull * 3600 * 1000;
	make_receipt(f, then);
	assert_true(sb_ok(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				 sb_slice_str(manifest), f->m.pcr0, 0)));
	/* Asked to check it now, the chain is expired. */
	assert_int_equal(verify(f, sb_buf_slice(&f->receipt), sb_slice_str(output),
				sb_slice_str(manifest), f->m.pcr0, then + 4ull * 3600 * 1000).code,
			 SB_ERR_ATTEST_EXPIRED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_good_receipt_and_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_output_manifest_and_pcr_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_receipt_checked_at_its_own_time, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
