/*
 * Fuzz target: the attestation document parser and verifier
 * (sb_attest_doc_load, sb_attest_doc_parse, sb_attest_verify). Any input
 * must give a result, never a crash, leak or undefined behaviour; a
 * document that parses must re-encode to a payload that parses again.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest/sb_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_reencode(const struct sb_attest_doc *doc)
{
	struct sb_buf payload = SB_BUF_INIT(2 * SB_ATTEST_DOC_MAX);
	struct sb_buf cose = SB_BUF_INIT(4 * SB_ATTEST_DOC_MAX);
	struct sb_attest_doc *again = NULL;
	if (sb_ok(sb_attest_payload_encode(doc, false, &payload)) &&
	    sb_ok(sb_cose_sign1_encode(sb_buf_slice(&payload), doc->signature, &cose)) &&
	    cose.len <= SB_ATTEST_DOC_MAX) {
		/* What we parsed, we can write, and read back identically. */
		if (!sb_ok(sb_attest_doc_parse(sb_buf_slice(&cose), &again)) ||
		    strcmp(again->module_id, doc->module_id) != 0 ||
		    again->timestamp_ms != doc->timestamp_ms ||
		    memcmp(again->pcrs, doc->pcrs, sizeof(doc->pcrs)) != 0)
			__builtin_trap();
	}
	sb_attest_doc_free(again);
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&cose);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_buf raw = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_attest_doc *doc = NULL;
	struct sb_slice in = SB_SLICE(data, size);

	/* The file spellings (raw / hex / base64) first, then the parser. */
	if (sb_ok(sb_attest_doc_load(in, &raw)))
		in = sb_buf_slice(&raw);
	if (sb_ok(sb_attest_doc_parse(in, &doc))) {
		check_reencode(doc);
		sb_attest_doc_free(doc);
		doc = NULL;
		/* Chain, signature and policy code on whatever certificates parsed. */
		struct sb_verify_opts opts;
		sb_verify_opts_init(&opts);
		opts.at_ms = 1665653400000ull; /* inside the 2022 sample's window */
		uint8_t pcr[48] = {0};
		if (!sb_ok(sb_verify_opts_expect_pcr(&opts, 5, SB_SLICE(pcr, sizeof(pcr)))))
			__builtin_trap();
		if (sb_ok(sb_attest_verify(in, &opts, &doc)))
			sb_attest_doc_free(doc);
	}
	sb_buf_cleanup(&raw);
	sb_error_clear();
	return 0;
}
