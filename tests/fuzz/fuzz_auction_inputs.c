/*
 * Fuzz target for the job's untrusted inputs (DESIGN.md §9.6): the manifest
 * JSON, the kms-csv bids file, bid amounts, the receipt JSON and the job
 * message payloads (SetCredentials, Input, Result). The first input byte
 * picks the parser. Properties checked beyond "no crash": a parsed amount
 * formats to a string that parses to an equal amount; a parsed Input or
 * Result re-encodes to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auction/sb_amount.h"
#include "auction/sb_bids_csv.h"
#include "auction/sb_manifest.h"
#include "auction/sb_receipt.h"
#include "wire/sb_msg_job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sb_result count_row(void *ctx, const struct sb_bid_row *row)
{
	(void)row;
	(*(size_t *)ctx)++;
	return SB_OK_RESULT;
}

static void fuzz_amount(struct sb_slice in)
{
	struct sb_amount a, b;
	struct sb_buf text = SB_BUF_INIT(128);

	if (!sb_ok(sb_amount_parse(in, &a)))
		return;
	if (!sb_ok(sb_amount_format(&a, &text)) ||
	    !sb_ok(sb_amount_parse(sb_buf_slice(&text), &b)) || sb_amount_cmp(&a, &b) != 0)
		abort();
	sb_buf_cleanup(&text);
}

static void fuzz_receipt(struct sb_slice in)
{
	static const char manifest[] =
		"{\"version\":1,\"job_id\":\"f\",\"region\":\"us-east-1\",\"parties\":["
		"{\"name\":\"A\",\"input\":\"file:///a\",\"key\":\"alias/a\"},"
		"{\"name\":\"B\",\"input\":\"file:///b\",\"key\":\"alias/b\"}],"
		"\"output\":\"file:///o\"}";
	struct sb_verify_opts o;
	uint8_t pcr[48] = {1};

	sb_verify_opts_init(&o);
	if (!sb_ok(sb_verify_opts_expect_pcr(&o, 0, SB_SLICE(pcr, sizeof(pcr)))))
		abort();
	/* No receipt made up by the fuzzer can verify against the AWS root. */
	if (sb_ok(sb_receipt_verify(in, sb_slice_str("Property,Result\n"), sb_slice_str(manifest),
				    &o, NULL)))
		abort();
}

static void fuzz_input_msg(struct sb_slice in)
{
	struct sb_msg_input msg;
	struct sb_buf again = SB_BUF_INIT(2u << 20);
	char party[SB_MSG_PARTY_NAME_MAX + 1];

	if (sb_ok(sb_msg_input_parse(in, &msg)) && memchr(msg.party.ptr, 0, msg.party.len) == NULL) {
		memcpy(party, msg.party.ptr, msg.party.len);
		party[msg.party.len] = '\0';
		if (!sb_ok(sb_msg_input_append(&again, party, msg.seq, msg.last, msg.chunk)) ||
		    !sb_slice_eq(sb_buf_slice(&again), in))
			abort();
	}
	sb_buf_cleanup(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_slice in;
	struct sb_manifest m;
	struct sb_msg_creds creds;
	struct sb_slice out, rec;
	size_t rows = 0;

	if (size == 0)
		return 0;
	in = SB_SLICE(data + 1, size - 1);
	switch (data[0] % 6) {
	case 0:
		if (sb_ok(sb_manifest_parse(in, &m)))
			sb_manifest_cleanup(&m);
		break;
	case 1:
		if (sb_ok(sb_bids_csv_each(in, count_row, &rows)) && rows > in.len)
			abort(); /* a row takes at least one byte */
		break;
	case 2:
		fuzz_amount(in);
		break;
	case 3:
		fuzz_receipt(in);
		break;
	case 4:
		sb_msg_creds_init(&creds);
		if (sb_ok(sb_msg_creds_parse(in, &creds)) && creds.secret_access_key.len == 0)
			abort(); /* an empty secret is never accepted */
		sb_msg_creds_cleanup(&creds);
		break;
	default:
		fuzz_input_msg(in);
		if (sb_ok(sb_msg_result_parse(in, &out, &rec)) &&
		    out.len + rec.len + 8 != in.len)
			abort();
		break;
	}
	return 0;
}
