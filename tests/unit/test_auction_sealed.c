/*
 * Sealed parties in the enclave's job core (src/auction/sb_job_sealed.c):
 * AWS Encryption SDK messages made with the project's encryptor, fed in
 * chunks of every size, against a fake KMS; every operator attack and
 * tamper case fails with an error naming the party and no output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auction/sb_job.h"
#include "auction/sb_trailer.h"
#include "esdk/sb_esdk.h"
#include "test_job_fake.h"

#define PARTY(name, key, fmt)                                                                      \
	"{\"name\":\"" name "\",\"input\":\"file:///" name "\",\"key\":\"" key "\"" fmt "}"
#define SEALED ",\"format\":\"sealed\""
#define MANIFEST(job, disclose, parties)                                                           \
	"{\"version\":1,\"job_id\":\"" job "\",\"region\":\"us-east-1\"" disclose                  \
	",\"parties\":[" parties "],\"output\":\"file:///out/output.csv\"}"

static const char agreed[] =
    MANIFEST("s1", "", PARTY("Buyer1", ARN1, SEALED) "," PARTY("Buyer2", "alias/buyer2", SEALED));

struct msg {
	struct sb_buf bytes;
};

/*
 * A party's sealed file: plaintext CSV rows under context {manifest hash of
 * `manifest`, party}, data key of `key_arn`, EDK naming `edk_arn`.
 */
static void seal_as(struct sb_buf *out, const char *manifest, const char *party,
                    const char *edk_arn, const char *key_arn, uint16_t suite, uint32_t frame,
                    const char *csv)
{
	struct sb_manifest m;
	struct sb_esdk_encryptor *e = NULL;
	const struct sb_esdk_pair *pairs;
	size_t n;
	char edk_text[1024];
	uint8_t key[32];

	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(manifest), &m)));
	const struct sb_esdk_pair ctx[] = {{SB_CTX_MANIFEST, m.hash_hex}, {SB_CTX_PARTY, party}};
	assert_true(sb_ok(sb_esdk_encryptor_new(suite, ctx, 2, frame, &e)));
	sb_esdk_encryptor_context(e, &pairs, &n);
	struct sb_job_ctx jctx[4];
	assert_true(n <= 4);
	for (size_t i = 0; i < n; i++)
		jctx[i] = (struct sb_job_ctx){pairs[i].key, pairs[i].value};
	char want[900];
	context_text(jctx, n, want, sizeof(want));
	snprintf(edk_text, sizeof(edk_text), "%s|%s|", key_arn, want);
	struct sb_esdk_edk edk = {SB_BUF_INIT(64), SB_BUF_INIT(256), SB_BUF_INIT(1024)};
	assert_true(sb_ok(sb_buf_append_str(&edk.provider_id, SB_ESDK_KMS_PROVIDER_ID)));
	assert_true(sb_ok(sb_buf_append_str(&edk.provider_info, edk_arn)));
	assert_true(sb_ok(sb_buf_append_str(&edk.ciphertext, edk_text)));
	fake_data_key(key_arn, key);
	*out = SB_BUF_INIT(64 << 20);
	assert_true(sb_ok(sb_esdk_encryptor_start(e, SB_SLICE(key, 32), &edk, 1, out)));
	assert_true(sb_ok(sb_esdk_encryptor_update(e, sb_slice_str(csv), out)));
	assert_true(sb_ok(sb_esdk_encryptor_final(e, out)));
	sb_esdk_encryptor_free(e);
	sb_buf_cleanup(&edk.provider_id);
	sb_buf_cleanup(&edk.provider_info);
	sb_buf_cleanup(&edk.ciphertext);
	sb_manifest_cleanup(&m);
}

static void seal(struct sb_buf *out, const char *manifest, const char *party, const char *arn,
                 const char *csv)
{
	seal_as(out, manifest, party, arn, arn, SB_ESDK_SUITE_COMMIT_SIG, 64, csv);
}

static const char csv1[] = "[].contract,[].bid\n1,100000\n2,200000\n3,150000\n";
static const char csv2[] = "[].contract,[].bid\r\n1,200000\r\n2,300000";
static const char expected[] = "Property,Result\n1,Buyer2 Wins\n2,Buyer2 Wins\n3,Buyer1 Wins\n";

struct run {
	struct sb_buf out, receipt;
	sb_result rc;
	struct fake fake;
};

/* Whether run_job feeds the parties one after the other (as `sealbid run` does). */
static bool one_by_one;

/* Feeds each party's bytes in chunks of `chunk` bytes, interleaved (or one_by_one). */
static void run_job(struct run *r, const char *manifest, const char *const names[],
                    const struct sb_buf *files, size_t nparties, size_t chunk)
{
	struct sb_job *job = NULL;
	struct sb_job_io io = {&r->fake, fake_decrypt, fake_unwrap, fake_attest};
	size_t off[4] = {0};
	uint32_t seq[4] = {0};
	bool done[4] = {false};
	size_t left = nparties;

	memset(r, 0, sizeof(*r));
	r->out = SB_BUF_INIT(1 << 20);
	r->receipt = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_job_new(sb_slice_str(manifest), &io, &job)));
	r->rc = SB_OK_RESULT;
	while (left > 0 && sb_ok(r->rc)) {
		for (size_t i = 0; i < nparties && sb_ok(r->rc); i++) {
			if (done[i])
				continue;
			size_t n = files[i].len - off[i] < chunk ? files[i].len - off[i] : chunk;
			bool last = off[i] + n == files[i].len;
			r->rc = sb_job_input(job, sb_slice_str(names[i]), seq[i]++, last,
			                     SB_SLICE(files[i].data + off[i], n));
			off[i] += n;
			if (last) {
				done[i] = true;
				left--;
			}
			if (one_by_one && !last)
				break;
		}
	}
	if (sb_ok(r->rc))
		r->rc = sb_job_finish(job, &r->out, &r->receipt);
	sb_job_free(job);
}

static void cleanup_run(struct run *r)
{
	sb_buf_cleanup(&r->out);
	sb_buf_cleanup(&r->receipt);
}

static const char *const buyers[] = {"Buyer1", "Buyer2"};

static void test_sealed_job_any_chunking(void **state)
{
	(void)state;
	static const uint16_t suites[] = {SB_ESDK_SUITE_COMMIT, SB_ESDK_SUITE_COMMIT_SIG};
	static const size_t chunks[] = {1, 7, 64, 100, 1 << 20};
	for (size_t s = 0; s < 2; s++) {
		struct sb_buf f[2];
		seal_as(&f[0], agreed, "Buyer1", ARN1, ARN1, suites[s], 16, csv1);
		seal_as(&f[1], agreed, "Buyer2", ARN2, ARN2, suites[s], 4096, csv2);
		for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
			struct run r;
			run_job(&r, agreed, buyers, f, 2, chunks[c]);
			if (!sb_ok(r.rc))
				fail_msg("suite %#x chunk %zu: %s", suites[s], chunks[c],
				         sb_error_describe());
			assert_string_equal(sb_buf_cstr(&r.out), expected);
			assert_int_equal(r.fake.unwrap_calls, 2); /* one KMS call per party */
			assert_int_equal(r.fake.decrypt_calls, 0);
			cleanup_run(&r);
		}
		sb_buf_cleanup(&f[0]);
		sb_buf_cleanup(&f[1]);
	}
}

/* Buyer1 sealed, Buyer2 the AWS sample's kms-csv, job-bound with a trailer. */
static void test_mixed_job(void **state)
{
	(void)state;
	static const char mixed[] = MANIFEST(
	    "s1", "", PARTY("Buyer1", ARN1, SEALED) "," PARTY("Buyer2", "alias/buyer2", ""));
	struct sb_manifest m;
	assert_true(sb_ok(sb_manifest_parse(sb_slice_str(mixed), &m)));
	struct sb_buf f[2];
	seal(&f[0], mixed, "Buyer1", ARN1, csv1);
	f[1] = SB_BUF_INIT(1 << 16);
	struct sb_trailer tr;
	assert_true(sb_ok(sb_trailer_init(&tr)));
	assert_true(sb_ok(sb_buf_append_str(&f[1], "[].contract,[].bid\n")));
	static const char *const rows[][2] = {
	    {"1", "200000"}, {"2", "300000"}, {SB_TRAILER_PROPERTY, NULL}};
	for (size_t i = 0; i < 3; i++) {
		char raw[1024], plain[256];
		struct sb_buf b64 = SB_BUF_INIT(2048), text = SB_BUF_INIT(256);
		if (rows[i][1] == NULL) {
			assert_true(sb_ok(sb_trailer_text(&tr, &text)));
			snprintf(plain, sizeof(plain), "%s", sb_buf_cstr(&text));
		} else {
			snprintf(plain, sizeof(plain), "%s", rows[i][1]);
		}
		snprintf(raw, sizeof(raw),
		         ARN2 "|sealbid:manifest=%s;sealbid:party=Buyer2;sealbid:property=%s;|%s",
		         m.hash_hex, rows[i][0], plain);
		assert_true(sb_ok(sb_base64_encode(sb_slice_str(raw), &b64)));
		if (rows[i][1] != NULL)
			assert_true(sb_ok(
			    sb_trailer_add(&tr, sb_slice_str(rows[i][0]), sb_buf_slice(&b64))));
		assert_true(sb_ok(sb_buf_printf(&f[1], "%s,%s\n", rows[i][0], sb_buf_cstr(&b64))));
		sb_buf_cleanup(&b64);
		sb_buf_cleanup(&text);
	}
	sb_trailer_cleanup(&tr);
	struct run r;
	run_job(&r, mixed, buyers, f, 2, 50);
	if (!sb_ok(r.rc))
		fail_msg("%s", sb_error_describe());
	assert_string_equal(sb_buf_cstr(&r.out), expected);
	assert_int_equal(r.fake.unwrap_calls, 1);
	assert_int_equal(r.fake.items, 3);
	cleanup_run(&r);
	sb_buf_cleanup(&f[0]);
	sb_buf_cleanup(&f[1]);
	sb_manifest_cleanup(&m);
}

static void expect_fail(const char *manifest, const char *const names[], struct sb_buf *f, size_t n,
                        int code, const char *detail, size_t max_unwraps)
{
	static const size_t chunks[] = {13, 1 << 20};
	for (size_t c = 0; c < 2; c++) {
		struct run r;
		run_job(&r, manifest, names, f, n, chunks[c]);
		if (r.rc.code != code || strstr(sb_error_describe(), detail) == NULL)
			fail_msg("expected %s \"%s\", got %s: %s", sb_error_name(code), detail,
			         sb_error_name(r.rc.code), sb_error_describe());
		assert_null(strstr(sb_error_describe(), "300000"));
		assert_null(strstr(sb_error_describe(), "200000"));
		assert_int_equal(r.out.len, 0);
		assert_int_equal(r.receipt.len, 0);
		assert_true(r.fake.unwrap_calls <= max_unwraps);
		cleanup_run(&r);
	}
	for (size_t i = 0; i < n; i++)
		sb_buf_cleanup(&f[i]);
}

/* The agreed files replayed by the operator under other manifests. */
static void test_operator_attacks(void **state)
{
	(void)state;
	struct sb_buf f[3];

	/* A new job id that discloses prices: stopped before any KMS call. */
	static const char reprice[] =
	    MANIFEST("s2", ",\"disclose\":\"winner-and-price\"",
	             PARTY("Buyer1", ARN1, SEALED) "," PARTY("Buyer2", "alias/buyer2", SEALED));
	seal(&f[0], agreed, "Buyer1", ARN1, csv1);
	seal(&f[1], agreed, "Buyer2", ARN2, csv2);
	expect_fail(reprice, buyers, f, 2, SB_ERR_ESDK_CONTEXT_MISMATCH, "party Buyer", 0);

	/* Buyer1 listed twice: under its own name the second is a context mismatch. */
	static const char twice[] =
	    MANIFEST("s1", ",\"disclose\":\"winner-and-price\"",
	             PARTY("Buyer1", ARN1, SEALED) "," PARTY("Buyer1b", "alias/one", SEALED));
	static const char *const twice_names[] = {"Buyer1", "Buyer1b"};
	seal(&f[0], agreed, "Buyer1", ARN1, csv1);
	seal(&f[1], agreed, "Buyer1", ARN1, csv1);
	expect_fail(twice, twice_names, f, 2, SB_ERR_ESDK_CONTEXT_MISMATCH, "party Buyer", 0);

	/* A probe party under the operator's own key next to Buyer1. */
	static const char probe[] =
	    MANIFEST("s1", "", PARTY("Buyer1", ARN1, SEALED) "," PARTY("Probe", ARN3, SEALED));
	static const char *const probe_names[] = {"Buyer1", "Probe"};
	seal(&f[0], agreed, "Buyer1", ARN1, csv1);
	seal(&f[1], probe, "Probe", ARN3, "[].contract,[].bid\n1,100001\n");
	expect_fail(probe, probe_names, f, 2, SB_ERR_ESDK_CONTEXT_MISMATCH, "party Buyer1", 1);

	/* Buyer2's file handed in as Buyer1's. */
	seal(&f[0], agreed, "Buyer2", ARN2, csv2);
	seal(&f[1], agreed, "Buyer2", ARN2, csv2);
	expect_fail(agreed, buyers, f, 2, SB_ERR_ESDK_CONTEXT_MISMATCH, "party Buyer1", 1);

	/* An EDK under another key than the ARN Buyer1 declared: no KMS call at all. */
	seal_as(&f[0], agreed, "Buyer1", ARN3, ARN3, SB_ESDK_SUITE_COMMIT_SIG, 64, csv1);
	seal(&f[1], agreed, "Buyer2", ARN2, csv2);
	expect_fail(agreed, buyers, f, 2, SB_ERR_ESDK_NO_EDK, "party Buyer1", 1);

	/* Buyer2 declared an alias: KMS itself refuses a data key under another key. */
	seal(&f[0], agreed, "Buyer1", ARN1, csv1);
	seal_as(&f[1], agreed, "Buyer2", ARN2, ARN3, SB_ESDK_SUITE_COMMIT_SIG, 64, csv2);
	expect_fail(agreed, buyers, f, 2, SB_ERR_WRONG_KEY, "party Buyer2", 2);
	(void)f[2];
}

/* A data key that is not the one the message was sealed with. */
static void test_wrong_data_key(void **state)
{
	(void)state;
	struct sb_buf f[2], other;
	seal(&f[0], agreed, "Buyer1", ARN1, csv1);
	seal(&f[1], agreed, "Buyer2", ARN2, csv2);
	seal_as(&other, agreed, "Buyer2", ARN2, ARN2, SB_ESDK_SUITE_COMMIT, 64, csv2);
	/* Header of one message, body of another, same party and key. */
	struct sb_esdk_header h1 = {0}, h2 = {0};
	size_t n1, n2;
	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&f[1]), &h1, &n1)));
	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&other), &h2, &n2)));
	struct sb_buf spliced = SB_BUF_INIT(1 << 20);
	assert_true(sb_ok(sb_buf_append(&spliced, other.data, n2)));
	assert_true(sb_ok(sb_buf_append(&spliced, f[1].data + n1, f[1].len - n1)));
	sb_esdk_header_cleanup(&h1);
	sb_esdk_header_cleanup(&h2);
	sb_buf_cleanup(&f[1]);
	sb_buf_cleanup(&other);
	f[1] = spliced;
	expect_fail(agreed, buyers, f, 2, SB_ERR_ESDK_FRAME_AUTH, "party Buyer2", 2);
}

struct tamper {
	const char *what;
	int code;
};

/* Byte-level tampering of Buyer2's message, each a specific error. */
static void test_tamper(void **state)
{
	(void)state;
	struct sb_buf good;
	struct sb_esdk_header h = {0};
	size_t hlen;
	/* 64-byte frames: three whole frames, then the final frame. */
	seal_as(&good, agreed, "Buyer2", ARN2, ARN2, SB_ESDK_SUITE_COMMIT_SIG, 64,
	     "[].contract,[].bid\n1,200000\n2,300000\n4,1\n5,2\n6,3\n7,4\n8,5\n9,6\n10,7\n"
	     "11,8\n12,9\n13,10\n14,11\n15,12\n16,13\n17,14\n18,15\n19,16\n20,17\n21,18\n");
	assert_true(sb_ok(sb_esdk_header_parse(sb_buf_slice(&good), &h, &hlen)));
	sb_esdk_header_cleanup(&h);
	const size_t frame = 4 + 12 + 64 + 16;
	enum {
		FLIP_COMMIT,
		FLIP_HEADER,
		FLIP_BODY,
		FLIP_LAST,
		DROP,
		DUP,
		SWAP,
		CUT_FINAL,
		CUT_SIG,
		APPEND,
		N
	};
	static const struct tamper cases[N] = {
	    [FLIP_COMMIT] = {"flip commitment", SB_ERR_ESDK_COMMITMENT},
	    [FLIP_HEADER] = {"flip header tag", SB_ERR_ESDK_HEADER_AUTH},
	    [FLIP_BODY] = {"flip body", SB_ERR_ESDK_FRAME_AUTH},
	    [FLIP_LAST] = {"flip signature", SB_ERR_ESDK_SIG_INVALID},
	    [DROP] = {"drop frame", SB_ERR_ESDK_FRAME_SEQ},
	    [DUP] = {"duplicate frame", SB_ERR_ESDK_FRAME_SEQ},
	    [SWAP] = {"reorder frames", SB_ERR_ESDK_FRAME_SEQ},
	    [CUT_FINAL] = {"final frame missing", SB_ERR_ESDK_FINAL_MISSING},
	    [CUT_SIG] = {"signature missing", SB_ERR_ESDK_SIG_MISSING},
	    [APPEND] = {"bytes appended", SB_ERR_ESDK_TRAILING},
	};
	for (int c = 0; c < N; c++) {
		struct sb_buf f[2], t = SB_BUF_INIT(1 << 20);
		seal(&f[0], agreed, "Buyer1", ARN1, csv1);
		const uint8_t *g = good.data;
		size_t body = hlen;
		switch (c) {
		case FLIP_COMMIT:
		case FLIP_HEADER:
		case FLIP_BODY:
		case FLIP_LAST:
			assert_true(sb_ok(sb_buf_append(&t, g, good.len)));
			/* The header ends with the commitment (32) and its tag (16). */
			t.data[c == FLIP_COMMIT   ? hlen - 20
			       : c == FLIP_HEADER ? hlen - 5
			       : c == FLIP_BODY   ? hlen + 30
			                          : t.len - 5] ^= 1;
			break;
		case DROP:
			assert_true(sb_ok(sb_buf_append(&t, g, body)));
			assert_true(
			    sb_ok(sb_buf_append(&t, g + body + frame, good.len - body - frame)));
			break;
		case DUP:
			assert_true(sb_ok(sb_buf_append(&t, g, body + frame)));
			assert_true(sb_ok(sb_buf_append(&t, g + body, good.len - body)));
			break;
		case SWAP:
			assert_true(sb_ok(sb_buf_append(&t, g, body)));
			assert_true(sb_ok(sb_buf_append(&t, g + body + frame, frame)));
			assert_true(sb_ok(sb_buf_append(&t, g + body, frame)));
			assert_true(sb_ok(
			    sb_buf_append(&t, g + body + 2 * frame, good.len - body - 2 * frame)));
			break;
		case CUT_FINAL:
			assert_true(sb_ok(sb_buf_append(&t, g, body + 2 * frame)));
			break;
		case CUT_SIG: {
			/* Footer: 2-byte length + DER signature, at most 2 + 104 bytes. */
			size_t off = good.len;
			for (size_t k = 70; k <= 106; k++) {
				size_t at = good.len - k;
				if (((size_t)g[at] << 8 | g[at + 1]) == k - 2) {
					off = at;
					break;
				}
			}
			assert_true(off < good.len);
			assert_true(sb_ok(sb_buf_append(&t, g, off)));
			break;
		}
		case APPEND:
			assert_true(sb_ok(sb_buf_append(&t, g, good.len)));
			assert_true(sb_ok(sb_buf_append_str(&t, "x")));
			break;
		}
		f[1] = t;
		struct run r;
		run_job(&r, agreed, buyers, f, 2, 1 << 20);
		if (r.rc.code != cases[c].code ||
		    strstr(sb_error_describe(), "party Buyer2") == NULL)
			fail_msg("%s: expected %s, got %s: %s", cases[c].what,
			         sb_error_name(cases[c].code), sb_error_name(r.rc.code),
			         sb_error_describe());
		assert_int_equal(r.out.len, 0);
		cleanup_run(&r);
		sb_buf_cleanup(&f[0]);
		sb_buf_cleanup(&f[1]);
	}
	sb_buf_cleanup(&good);
}

/* The plaintext CSV inside the envelope is checked like a kms-csv file. */
static void test_bad_plaintext(void **state)
{
	(void)state;
	static const struct {
		const char *csv;
		int code;
		const char *detail;
	} cases[] = {
	    {"", SB_ERR_BAD_CSV, "party Buyer2: the sealed CSV is empty"},
	    {"contract,bid\n1,5\n", SB_ERR_BAD_CSV, "must start with"},
	    {"[].contract,[].bid\n1,200000\n2\n", SB_ERR_BAD_CSV, "party Buyer2, row 2"},
	    {"[].contract,[].bid\n1,200000\n2,-300000\n", SB_ERR_BAD_AMOUNT, "party Buyer2, row 2"},
	    {"[].contract,[].bid\n1,200000\n1,300000\n", SB_ERR_DUPLICATE_PROPERTY,
	     "party Buyer2, row 2"},
	    {"[].contract,[].bid\n1,200000\n2,300000x\n", SB_ERR_BAD_AMOUNT, "party Buyer2, row 2"},
	    /* Issue 10 item 13: the reason, after the row, not the table's message again. */
	    {"[].contract,[].bid\n1,200000\n2,"
	     "12345678901234567890123456789012345678901234567890123456789012345\n",
	     SB_ERR_BAD_AMOUNT, "party Buyer2, row 2: amount is longer than 64 digits"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sb_buf f[2];
		seal(&f[0], agreed, "Buyer1", ARN1, csv1);
		seal(&f[1], agreed, "Buyer2", ARN2, cases[i].csv);
		expect_fail(agreed, buyers, f, 2, cases[i].code, cases[i].detail, 2);
	}
}

/* A join-aggregate job (src/collab) through sealed messages. */
#define RULE(gb, agg, min)                                                                         \
	",\"join\":\"email\",\"rule\":{\"group_by\":[\"" gb "\"],\"aggregate\":{" agg                 \
	"},\"min_distinct_keys\":" min "}"
#define COLLAB(min_r, query)                                                                       \
	"{\"version\":1,\"job_id\":\"c1\",\"region\":\"us-east-1\",\"computation\":"                 \
	"\"join-aggregate\",\"parties\":["                                                            \
	PARTY("retailer", ARN1, RULE("region", "\"email\":[\"count_distinct\"]", min_r)) ","         \
	PARTY("provider", "alias/buyer2", RULE("age", "\"spend\":[\"sum\",\"avg\"]", "2"))         \
	"],\"query\":" query ",\"output\":\"file:///out/output.csv\"}"
#define QUERY_OK                                                                                   \
	"{\"group_by\":[{\"party\":\"retailer\",\"column\":\"region\"}],\"aggregates\":["             \
	"{\"function\":\"avg\",\"party\":\"provider\",\"column\":\"spend\"},"                          \
	"{\"function\":\"count_distinct\",\"party\":\"retailer\",\"column\":\"email\"}]}"

static const char *const collab_names[] = {"retailer", "provider"};
static const char collab_r[] = "email,region\na@x,n\nb@x,n\nc@x,s\nd@x,s\ne@x,s\nf@x,w\n";
static const char collab_p[] = "age,email,spend\r\n1,A@X,10\r\n1,b@x,5\r\n2,c@x,1\r\n"
			       "2,d@x,2.5\r\n2,e@x,3\r\n3,f@x,99\r\n";

static void test_collab_job(void **state)
{
	static const char agreed_collab[] = COLLAB("3", QUERY_OK);
	static const size_t chunks[] = {13, 1 << 20};
	struct sb_buf f[2];
	(void)state;

	one_by_one = true;
	for (size_t c = 0; c < 2; c++) {
		struct run r;
		seal(&f[0], agreed_collab, "retailer", ARN1, collab_r);
		seal(&f[1], agreed_collab, "provider", ARN2, collab_p);
		run_job(&r, agreed_collab, collab_names, f, 2, chunks[c]);
		if (!sb_ok(r.rc))
			fail_msg("%s", sb_error_describe());
		assert_string_equal((char *)r.out.data,
				    "retailer.region,avg(provider.spend),count_distinct(retailer.email)\n"
				    "s,2.17,3\n# suppressed_groups=2 threshold=3\n");
		assert_int_equal(r.fake.unwrap_calls, 2);
		assert_true(r.receipt.len > 0);
		cleanup_run(&r);
		sb_buf_cleanup(&f[0]);
		sb_buf_cleanup(&f[1]);
	}
	/* The operator lowers the retailer's threshold: another manifest, stopped before KMS. */
	static const char lowered[] = COLLAB("2", QUERY_OK);
	seal(&f[0], agreed_collab, "retailer", ARN1, collab_r);
	seal(&f[1], agreed_collab, "provider", ARN2, collab_p);
	expect_fail(lowered, collab_names, f, 2, SB_ERR_ESDK_CONTEXT_MISMATCH, "party retailer", 0);
	/* The provider's spend, one row not a number: named by row and column, never shown. */
	seal(&f[0], agreed_collab, "retailer", ARN1, collab_r);
	seal(&f[1], agreed_collab, "provider", ARN2, "age,email,spend\n1,a@x,10\n1,b@x,300000x\n");
	expect_fail(agreed_collab, collab_names, f, 2, SB_ERR_BAD_DECIMAL,
		    "party provider, row 2, column \"spend\"", 2);
	/* A ragged row. */
	seal(&f[0], agreed_collab, "retailer", ARN1, "email,region\na@x,n\nb@x\n");
	seal(&f[1], agreed_collab, "provider", ARN2, collab_p);
	expect_fail(agreed_collab, collab_names, f, 2, SB_ERR_DATASET_CSV,
		    "party retailer, row 2: 1 field where the header has 2", 2);
	/* A header only. */
	seal(&f[0], agreed_collab, "retailer", ARN1, "email,region\n");
	seal(&f[1], agreed_collab, "provider", ARN2, collab_p);
	expect_fail(agreed_collab, collab_names, f, 2, SB_ERR_DATASET_CSV,
		    "party retailer: the input has no rows", 2);
	one_by_one = false;
	/* Interleaved chunks: the second input may not start before the first has ended. */
	struct run r;
	seal(&f[0], agreed_collab, "retailer", ARN1, collab_r);
	seal(&f[1], agreed_collab, "provider", ARN2, collab_p);
	run_job(&r, agreed_collab, collab_names, f, 2, 13);
	assert_int_equal(r.rc.code, SB_ERR_BAD_STATE);
	assert_non_null(strstr(sb_error_detail(), "party provider: its input began before"));
	assert_int_equal(r.out.len, 0);
	cleanup_run(&r);
	sb_buf_cleanup(&f[0]);
	sb_buf_cleanup(&f[1]);

	/* A query the provider's rule does not allow: refused at BeginJob (sb_job_new). */
	static const char refused[] = COLLAB(
	    "3", "{\"group_by\":[{\"party\":\"provider\",\"column\":\"email\"}],\"aggregates\":["
		 "{\"function\":\"sum\",\"party\":\"provider\",\"column\":\"spend\"}]}");
	struct fake fk = {0};
	struct sb_job_io io = {&fk, fake_decrypt, fake_unwrap, fake_attest};
	struct sb_job *job = NULL;
	assert_int_equal(sb_job_new(sb_slice_str(refused), &io, &job).code, SB_ERR_RULE_REFUSED);
	assert_string_equal(sb_error_detail(), "party provider does not allow grouping by \"email\"");
	assert_null(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sealed_job_any_chunking),
	    cmocka_unit_test(test_mixed_job),
	    cmocka_unit_test(test_operator_attacks),
	    cmocka_unit_test(test_wrong_data_key),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_bad_plaintext),
	    cmocka_unit_test(test_collab_job),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
