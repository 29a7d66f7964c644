/*
 * Unit tests for the NSM messages (src/attest/cbor_nsm.c) and the NSM client
 * over a socket (src/attest/sb_nsm.c). The "server" is the other end of a
 * socketpair with its answers written in advance, so no thread is needed;
 * the emulated NSM itself is tested in test_host_nsm_emu.c.
 */
#include "test_attest_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attest/sb_nsm.h"
#include "attest/sb_nsm_msg.h"

static void test_request_encodings(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	T_OK(sb_nsm_encode_get_random(&b));
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "\x69GetRandom", 10);
	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_describe_pcr(3, &b));
	static const uint8_t dpcr[] = "\xa1\x6b"
	                              "DescribePCR"
	                              "\xa1\x65"
	                              "index"
	                              "\x03";
	assert_int_equal(b.len, sizeof(dpcr) - 1);
	assert_memory_equal(b.data, dpcr, b.len);
	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_attestation(SB_SLICE(NULL, 0), SB_SLICE("\x01\x02", 2),
	                               SB_SLICE(NULL, 0), &b));
	static const uint8_t att[] = "\xa1\x6b"
	                             "Attestation"
	                             "\xa3\x69"
	                             "user_data"
	                             "\xf6\x65"
	                             "nonce"
	                             "\x42\x01\x02\x6a"
	                             "public_key"
	                             "\xf6";
	assert_int_equal(b.len, sizeof(att) - 1);
	assert_memory_equal(b.data, att, b.len);
	/* Limits of the real NSM. */
	static const uint8_t big[1025];
	T_ERR(
	    sb_nsm_encode_attestation(SB_SLICE(big, 513), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), &b),
	    SB_ERR_ATTEST_FIELD_SIZE);
	T_ERR(
	    sb_nsm_encode_attestation(SB_SLICE(NULL, 0), SB_SLICE(big, 513), SB_SLICE(NULL, 0), &b),
	    SB_ERR_ATTEST_FIELD_SIZE);
	T_ERR(sb_nsm_encode_attestation(SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(big, 1025),
	                                &b),
	      SB_ERR_ATTEST_FIELD_SIZE);
	T_ERR(sb_nsm_encode_attestation(SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE("", 0), &b),
	      SB_ERR_ATTEST_FIELD_SIZE);
	sb_buf_cleanup(&b);
}

static void test_request_decode_roundtrip(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	struct sb_nsm_request req;
	static const uint8_t pk[1024] = {7};
	T_OK(sb_nsm_encode_attestation(SB_SLICE("", 0), SB_SLICE(NULL, 0), SB_SLICE(pk, 1024), &b));
	sb_nsm_request_init(&req);
	T_OK(sb_nsm_request_decode(sb_buf_slice(&b), &req));
	assert_int_equal(req.op, SB_NSM_OP_ATTESTATION);
	assert_true(req.user_data.present);
	assert_int_equal(req.user_data.value.len, 0);
	assert_false(req.nonce.present);
	assert_true(req.public_key.present);
	assert_int_equal(req.public_key.value.len, 1024);
	assert_int_equal(req.public_key.value.data[0], 7);
	sb_nsm_request_cleanup(&req);

	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_describe_pcr(65535, &b));
	sb_nsm_request_init(&req);
	T_OK(sb_nsm_request_decode(sb_buf_slice(&b), &req));
	assert_int_equal(req.op, SB_NSM_OP_DESCRIBE_PCR);
	assert_int_equal(req.pcr_index, 65535);
	sb_nsm_request_cleanup(&req);

	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_get_random(&b));
	sb_nsm_request_init(&req);
	T_OK(sb_nsm_request_decode(sb_buf_slice(&b), &req));
	assert_int_equal(req.op, SB_NSM_OP_GET_RANDOM);
	sb_nsm_request_cleanup(&req);
	sb_buf_cleanup(&b);
}

static const struct {
	const char *what;
	const char *bytes;
	size_t len;
	int want_op; /* > 0: decodes to this op */
	int want_err;
} request_cases[] = {
#define RQ(w, s, op, err)                                                                          \
	{                                                                                          \
		w, s, sizeof(s) - 1, op, err                                                       \
	}
    RQ("DescribeNSM",
       "\x6b"
       "DescribeNSM",
       SB_NSM_OP_UNSUPPORTED, 0),
    RQ("LockPCRs",
       "\xa1\x68"
       "LockPCRs"
       "\xa1\x65"
       "range"
       "\x10",
       SB_NSM_OP_UNSUPPORTED, 0),
    RQ("attestation without fields",
       "\xa1\x6b"
       "Attestation"
       "\xa0",
       SB_NSM_OP_ATTESTATION, 0),
    RQ("unknown unit request",
       "\x64"
       "Ping",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("unknown struct request",
       "\xa1\x64"
       "Ping"
       "\xa0",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("two variants",
       "\xa2\x6b"
       "DescribePCR"
       "\xa1\x65"
       "index"
       "\x03\x64"
       "Ping"
       "\xa0",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("index too large",
       "\xa1\x6b"
       "DescribePCR"
       "\xa1\x65"
       "index"
       "\x1a\x00\x01\x00\x00",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("index text",
       "\xa1\x6b"
       "DescribePCR"
       "\xa1\x65"
       "index"
       "\x61"
       "3",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("index missing",
       "\xa1\x6b"
       "DescribePCR"
       "\xa0",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("extra field",
       "\xa1\x6b"
       "DescribePCR"
       "\xa2\x65"
       "index"
       "\x03\x61x\x01",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("duplicate field",
       "\xa1\x6b"
       "Attestation"
       "\xa2\x65"
       "nonce"
       "\xf6\x65"
       "nonce"
       "\xf6",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("nonce not bytes",
       "\xa1\x6b"
       "Attestation"
       "\xa1\x65"
       "nonce"
       "\x01",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("empty public key",
       "\xa1\x6b"
       "Attestation"
       "\xa1\x6a"
       "public_key"
       "\x40",
       0, SB_ERR_ATTEST_FIELD_SIZE),
    RQ("trailing byte",
       "\x69"
       "GetRandom"
       "\x00",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("truncated",
       "\xa1\x6b"
       "DescribePCR"
       "\xa1\x65"
       "ind",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("array",
       "\x81\x69"
       "GetRandom",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("too deep",
       "\xa1\x6b"
       "Attestation"
       "\xa1\x65"
       "nonce"
       "\x81\x81\x00",
       0, SB_ERR_ATTEST_NSM_MESSAGE),
    RQ("empty", "", 0, SB_ERR_ATTEST_NSM_MESSAGE),
#undef RQ
};

static void test_request_decode_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(request_cases) / sizeof(request_cases[0]); i++) {
		struct sb_nsm_request req;
		sb_nsm_request_init(&req);
		sb_result r = sb_nsm_request_decode(
		    SB_SLICE(request_cases[i].bytes, request_cases[i].len), &req);
		if (r.code != request_cases[i].want_err)
			print_error("%s: got %s (%s)\n", request_cases[i].what,
			            sb_error_name(r.code), sb_error_describe());
		assert_int_equal(r.code, request_cases[i].want_err);
		if (request_cases[i].want_op > 0)
			assert_int_equal(req.op, request_cases[i].want_op);
		sb_nsm_request_cleanup(&req);
	}
	/* Over the NSM's request limit. */
	struct sb_buf big = SB_BUF_INIT(8192);
	cb_bytes(&big, (const uint8_t[SB_NSM_REQUEST_MAX]){0}, SB_NSM_REQUEST_MAX);
	struct sb_nsm_request req;
	sb_nsm_request_init(&req);
	T_ERR(sb_nsm_request_decode(sb_buf_slice(&big), &req), SB_ERR_ATTEST_FIELD_SIZE);
	sb_nsm_request_cleanup(&req);
	sb_buf_cleanup(&big);
}

static void test_response_roundtrip_and_cases(void **state)
{
	(void)state;
	struct sb_buf b = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	struct sb_nsm_response resp;
	sb_nsm_response_init(&resp);
	T_OK(sb_nsm_encode_attestation_resp(SB_SLICE("doc", 3), &b));
	T_OK(sb_nsm_response_decode(sb_buf_slice(&b), &resp));
	assert_int_equal(resp.kind, SB_NSM_RESP_ATTESTATION);
	assert_int_equal(resp.data.len, 3);
	sb_buf_reset(&b);
	uint8_t pcr[48];
	memset(pcr, 0xaa, sizeof(pcr));
	T_OK(sb_nsm_encode_describe_pcr_resp(true, SB_SLICE(pcr, 48), &b));
	T_OK(sb_nsm_response_decode(sb_buf_slice(&b), &resp));
	assert_int_equal(resp.kind, SB_NSM_RESP_DESCRIBE_PCR);
	assert_true(resp.lock);
	assert_memory_equal(resp.data.data, pcr, 48);
	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_get_random_resp(SB_SLICE(pcr, 32), &b));
	T_OK(sb_nsm_response_decode(sb_buf_slice(&b), &resp));
	assert_int_equal(resp.kind, SB_NSM_RESP_GET_RANDOM);
	assert_int_equal(resp.data.len, 32);
	for (int e = SB_NSM_E_SUCCESS; e <= SB_NSM_E_INTERNAL_ERROR; e++) {
		sb_buf_reset(&b);
		T_OK(sb_nsm_encode_error((enum sb_nsm_error)e, &b));
		T_OK(sb_nsm_response_decode(sb_buf_slice(&b), &resp));
		assert_int_equal(resp.kind, SB_NSM_RESP_ERROR);
		assert_int_equal(resp.error, e);
	}
	sb_buf_reset(&b);
	T_OK(sb_nsm_encode_error(SB_NSM_E_INVALID_INDEX, &b));
	assert_memory_equal(b.data,
	                    "\xa1\x65"
	                    "Error"
	                    "\x6c"
	                    "InvalidIndex",
	                    b.len);
	assert_string_equal(sb_nsm_error_name((enum sb_nsm_error)99), "Unknown");
	T_ERR(sb_nsm_encode_error((enum sb_nsm_error)99, &b), SB_ERR_INVALID_ARG);
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
#define RS(s) {s, sizeof(s) - 1}
	    RS("\xa1\x65"
	       "Error"
	       "\x64"
	       "Oops"),
	    RS("\xa1\x65"
	       "Error"
	       "\x01"),
	    RS("\xa1\x6b"
	       "DescribePCR"
	       "\xa2\x64"
	       "lock"
	       "\x01\x64"
	       "data"
	       "\x40"),
	    RS("\xa1\x6b"
	       "DescribePCR"
	       "\xa2\x64"
	       "lock"
	       "\xf9\x00\x00\x64"
	       "data"
	       "\x40"),
	    RS("\xa1\x6b"
	       "DescribePCR"
	       "\xa1\x64"
	       "lock"
	       "\xf5"),
	    RS("\xa1\x6b"
	       "Attestation"
	       "\xa1\x68"
	       "document"
	       "\x63"
	       "doc"),
	    RS("\xa1\x6b"
	       "Attestation"
	       "\xa0"),
	    RS("\xa1\x69"
	       "GetRandom"
	       "\xa1\x66"
	       "random"
	       "\x40\x00"),
	    RS("\x69"
	       "GetRandom"),
	    RS("\xa1\x67"
	       "Unknown"
	       "\xa0"),
#undef RS
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sb_result r = sb_nsm_response_decode(SB_SLICE(bad[i].bytes, bad[i].len), &resp);
		if (r.code != SB_ERR_ATTEST_NSM_MESSAGE)
			print_error("bad response %zu: %s\n", i, sb_error_name(r.code));
		assert_int_equal(r.code, SB_ERR_ATTEST_NSM_MESSAGE);
	}
	sb_nsm_response_cleanup(&resp);
	sb_buf_cleanup(&b);
}

/* ---- the client over a socketpair ---- */

struct pair {
	struct sb_nsm *nsm;
	int server;
};

static void pair_open(struct pair *p)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	T_OK(sb_nsm_open_socket(sv[0], &p->nsm));
	assert_false(sb_nsm_is_device(p->nsm));
	p->server = sv[1];
}

static void pair_close(struct pair *p)
{
	sb_nsm_close(p->nsm);
	if (p->server >= 0)
		close(p->server);
}

/* Queues one framed answer on the server side. */
static void queue(struct pair *p, struct sb_slice msg)
{
	T_OK(sb_nsm_frame_write(p->server, msg));
}

static void expect_request(struct pair *p, const char *prefix, size_t n)
{
	struct sb_buf got = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	T_OK(sb_nsm_frame_read(p->server, SB_NSM_REQUEST_MAX, &got));
	assert_true(got.len >= n);
	assert_memory_equal(got.data, prefix, n);
	sb_buf_cleanup(&got);
}

static void test_client_attestation(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct sb_buf msg = SB_BUF_INIT(SB_NSM_RESPONSE_MAX), doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	T_OK(sb_nsm_encode_attestation_resp(SB_SLICE("\x84\x01\x02", 3), &msg));
	queue(&p, sb_buf_slice(&msg));
	T_OK(sb_nsm_attestation(p.nsm, SB_SLICE("ud", 2), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	assert_int_equal(doc.len, 3);
	assert_memory_equal(doc.data, "\x84\x01\x02", 3);
	expect_request(&p,
	               "\xa1\x6b"
	               "Attestation",
	               13);
	/* An NSM error reply. */
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_error(SB_NSM_E_INVALID_ARGUMENT, &msg));
	queue(&p, sb_buf_slice(&msg));
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_ERROR);
	assert_string_equal(sb_error_detail(), "InvalidArgument");
	expect_request(&p, "\xa1", 1);
	/* A reply of the wrong kind. */
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_get_random_resp(SB_SLICE("r", 1), &msg));
	queue(&p, sb_buf_slice(&msg));
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_MESSAGE);
	expect_request(&p, "\xa1", 1);
	/* Arguments over the limits never reach the socket. */
	static const uint8_t big[513];
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(big, 513), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_FIELD_SIZE);
	T_ERR(sb_nsm_roundtrip(
	          p.nsm,
	          SB_SLICE((const uint8_t[SB_NSM_REQUEST_MAX + 1]){0}, SB_NSM_REQUEST_MAX + 1),
	          &doc),
	      SB_ERR_TOO_LARGE);
	sb_buf_cleanup(&msg);
	sb_buf_cleanup(&doc);
	pair_close(&p);
}

static void test_client_describe_pcr_and_random(void **state)
{
	(void)state;
	struct pair p;
	pair_open(&p);
	struct sb_buf msg = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	uint8_t v[48];
	memset(v, 0x5a, sizeof(v));
	T_OK(sb_nsm_encode_describe_pcr_resp(true, SB_SLICE(v, 48), &msg));
	queue(&p, sb_buf_slice(&msg));
	bool locked = false;
	struct sb_attest_pcr pcr = {0};
	T_OK(sb_nsm_describe_pcr(p.nsm, 4, &locked, &pcr));
	assert_true(locked && pcr.present && pcr.len == 48);
	assert_memory_equal(pcr.value, v, 48);
	expect_request(&p,
	               "\xa1\x6b"
	               "DescribePCR"
	               "\xa1\x65"
	               "index"
	               "\x04",
	               21);
	/* A PCR of an impossible length. */
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_describe_pcr_resp(false, SB_SLICE(v, 47), &msg));
	queue(&p, sb_buf_slice(&msg));
	T_ERR(sb_nsm_describe_pcr(p.nsm, 4, &locked, &pcr), SB_ERR_ATTEST_NSM_MESSAGE);
	expect_request(&p, "\xa1", 1);
	/* 300 random bytes take two answers of 256. */
	uint8_t r1[256], r2[256], got[300];
	memset(r1, 1, sizeof(r1));
	memset(r2, 2, sizeof(r2));
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_get_random_resp(SB_SLICE(r1, 256), &msg));
	queue(&p, sb_buf_slice(&msg));
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_get_random_resp(SB_SLICE(r2, 256), &msg));
	queue(&p, sb_buf_slice(&msg));
	T_OK(sb_nsm_get_random(p.nsm, got, sizeof(got)));
	assert_int_equal(got[255], 1);
	assert_int_equal(got[256], 2);
	assert_int_equal(got[299], 2);
	expect_request(&p, "\x69GetRandom", 10);
	expect_request(&p, "\x69GetRandom", 10);
	/* An empty answer would loop forever: refused. */
	sb_buf_reset(&msg);
	T_OK(sb_nsm_encode_get_random_resp(SB_SLICE("", 0), &msg));
	queue(&p, sb_buf_slice(&msg));
	T_ERR(sb_nsm_get_random(p.nsm, got, 1), SB_ERR_ATTEST_NSM_MESSAGE);
	T_OK(sb_nsm_get_random(p.nsm, NULL, 0));
	sb_buf_cleanup(&msg);
	pair_close(&p);
}

static void test_client_framing_errors(void **state)
{
	(void)state;
	struct pair p;
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	/* Oversized frame header: refused before allocating. */
	pair_open(&p);
	assert_int_equal(write(p.server, "\x00\x00\x30\x01", 4), 4);
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_FRAME);
	pair_close(&p);
	/* Zero-length frame. */
	pair_open(&p);
	assert_int_equal(write(p.server, "\x00\x00\x00\x00", 4), 4);
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_FRAME);
	pair_close(&p);
	/* Truncated frame body, then EOF. */
	pair_open(&p);
	assert_int_equal(write(p.server, "\x00\x00\x00\x10\xa1", 5), 5);
	shutdown(p.server, SHUT_WR);
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_FRAME);
	pair_close(&p);
	/* Truncated header. */
	pair_open(&p);
	assert_int_equal(write(p.server, "\x00\x00", 2), 2);
	shutdown(p.server, SHUT_WR);
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_ATTEST_NSM_FRAME);
	pair_close(&p);
	/* Peer gone: a clean close, then a send error (no SIGPIPE). */
	pair_open(&p);
	shutdown(p.server, SHUT_WR);
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_CLOSED);
	close(p.server);
	p.server = -1;
	T_ERR(sb_nsm_attestation(p.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                         &doc),
	      SB_ERR_SOCKET);
	pair_close(&p);
	T_ERR(sb_nsm_frame_write(0, SB_SLICE("", 0)), SB_ERR_ATTEST_NSM_FRAME);
	sb_buf_cleanup(&doc);
}

static void test_open_from_environment(void **state)
{
	(void)state;
	struct sb_nsm *nsm = NULL;
	/* This machine has no /dev/nsm, so SEALBID_NSM_FD decides. */
	assert_int_not_equal(access(SB_NSM_DEVICE, F_OK), 0);
	unsetenv(SB_NSM_FD_ENV);
	T_ERR(sb_nsm_open(&nsm), SB_ERR_ATTEST_NSM_UNAVAILABLE);
	static const char *bad[] = {"", "abc", "-1", "07", "99999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(SB_NSM_FD_ENV, bad[i], 1);
		T_ERR(sb_nsm_open(&nsm), SB_ERR_ATTEST_NSM_UNAVAILABLE);
	}
	int fd = open(SB_TEST_DATA "/nitro/README.md", O_RDONLY);
	assert_true(fd >= 0);
	char num[16];
	snprintf(num, sizeof(num), "%d", fd);
	setenv(SB_NSM_FD_ENV, num, 1);
	T_ERR(sb_nsm_open(&nsm), SB_ERR_ATTEST_NSM_UNAVAILABLE); /* not a socket; closed */
	assert_int_equal(fcntl(fd, F_GETFD), -1);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	snprintf(num, sizeof(num), "%d", sv[0]);
	setenv(SB_NSM_FD_ENV, num, 1);
	T_OK(sb_nsm_open(&nsm));
	assert_false(sb_nsm_is_device(nsm));
	assert_true((fcntl(sv[0], F_GETFD) & FD_CLOEXEC) != 0);
	sb_nsm_close(nsm);
	sb_nsm_close(NULL);
	close(sv[1]);
	unsetenv(SB_NSM_FD_ENV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_encodings),
	    cmocka_unit_test(test_request_decode_roundtrip),
	    cmocka_unit_test(test_request_decode_cases),
	    cmocka_unit_test(test_response_roundtrip_and_cases),
	    cmocka_unit_test(test_client_attestation),
	    cmocka_unit_test(test_client_describe_pcr_and_random),
	    cmocka_unit_test(test_client_framing_errors),
	    cmocka_unit_test(test_open_from_environment),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
