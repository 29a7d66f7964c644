/*
 * Unit tests for the emulated NSM (src/host/sb_nsm_emu.c): the development
 * CA on disk, and the enclave's NSM client talking to the emulator over a
 * socketpair, with every document checked by the one verifier against the
 * dev root and the PCRs sb_measure computes for a test image.
 */
#include "test_attest_util.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/sb_nsm.h"
#include "host/sb_measure.h"
#include "host/sb_nsm_emu.h"

struct fixture {
	char dir[64];
	struct sb_buf image;
	struct sb_measurement m;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/sb-nsm-emu-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	sb_buf_init(&f->image, 1 << 20);
	T_OK(sb_image_build(SB_SLICE_LIT("enclave binary v1"), SB_SLICE_LIT("cfg"), &f->image));
	T_OK(sb_image_measure(sb_buf_slice(&f->image), &f->m));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	sb_buf_cleanup(&f->image);
	free(f);
	return 0;
}

/* The emulator serving one end of a socketpair on a thread. */
struct served {
	struct sb_nsm_emu *emu;
	struct sb_nsm *nsm;
	int server_fd;
	pthread_t thread;
	sb_result serve_rc;
};

static void *serve_thread(void *arg)
{
	struct served *s = arg;
	s->serve_rc = sb_nsm_emu_serve(s->emu, s->server_fd);
	return NULL;
}

static void serve_start(struct served *s, const struct sb_nsm_emu_config *cfg)
{
	memset(s, 0, sizeof(*s));
	T_OK(sb_nsm_emu_new(cfg, &s->emu));
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->server_fd = sv[1];
	T_OK(sb_nsm_open_socket(sv[0], &s->nsm));
	assert_int_equal(pthread_create(&s->thread, NULL, serve_thread, s), 0);
}

static void serve_stop(struct served *s)
{
	sb_nsm_close(s->nsm); /* EOF: the server loop ends cleanly */
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	T_OK(s->serve_rc);
	close(s->server_fd);
	sb_nsm_emu_free(s->emu);
}

static void opts_dev(struct sb_verify_opts *o, const struct sb_nsm_emu *emu,
                     const struct sb_measurement *m)
{
	sb_verify_opts_init(o);
	T_OK(sb_verify_opts_add_root(o, sb_nsm_emu_root_der(emu)));
	T_OK(sb_verify_opts_expect_pcr(o, 0, SB_SLICE(m->pcr0, 48)));
	T_OK(sb_verify_opts_expect_pcr(o, 1, SB_SLICE(m->pcr1, 48)));
	T_OK(sb_verify_opts_expect_pcr(o, 2, SB_SLICE(m->pcr2, 48)));
}

static void test_ca_created_once(void **state)
{
	struct fixture *f = *state;
	struct sb_buf pem1 = SB_BUF_INIT(8192), pem2 = SB_BUF_INIT(8192);
	T_OK(sb_nsm_emu_ca_ensure(f->dir, &pem1));
	T_OK(sb_nsm_emu_ca_ensure(f->dir, &pem2));
	assert_int_equal(pem1.len, pem2.len);
	assert_memory_equal(pem1.data, pem2.data, pem1.len); /* reused, not recreated */
	static const struct {
		const char *rel;
		unsigned mode;
	} files[] = {{"ca", 0700},
	             {"ca/dev-root.key", 0600},
	             {"ca/dev-intermediate.key", 0600},
	             {"ca/dev-root.pem", 0644},
	             {"ca/dev-intermediate.pem", 0644}};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[256];
		struct stat st;
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i].rel);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, files[i].mode);
	}
	/* The exported PEM is the file on disk and a P-384 CA. */
	struct sb_buf disk;
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, SB_NSM_EMU_ROOT_FILE);
	sb_buf_init(&disk, 8192);
	T_OK(sb_file_read(path, &disk));
	assert_memory_equal(disk.data, pem1.data, pem1.len);
	struct sb_x509 *root = NULL;
	T_OK(sb_x509_from_pem(sb_buf_slice(&pem1), &root));
	assert_int_equal(sb_x509_key_curve(root), SB_EC_CURVE_P384);
	sb_x509_free(root);
	/* A missing intermediate is re-issued by the same root. */
	snprintf(path, sizeof(path), "%s/ca/dev-intermediate.pem", f->dir);
	assert_int_equal(unlink(path), 0);
	sb_buf_reset(&pem2);
	T_OK(sb_nsm_emu_ca_ensure(f->dir, &pem2));
	assert_memory_equal(pem1.data, pem2.data, pem1.len);
	assert_int_equal(access(path, F_OK), 0);
	/* A root key that is not the root certificate's is refused. */
	struct sb_ecdsa_key *other = NULL;
	struct sb_buf other_pem = SB_BUF_INIT_SECRET(8192);
	T_OK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &other));
	T_OK(sb_ecdsa_key_to_pem(other, &other_pem));
	snprintf(path, sizeof(path), "%s/ca/dev-root.key", f->dir);
	struct sb_buf saved = SB_BUF_INIT_SECRET(8192);
	T_OK(sb_file_read(path, &saved));
	T_OK(sb_file_write_atomic(path, sb_buf_slice(&other_pem), 0600));
	T_ERR(sb_nsm_emu_ca_ensure(f->dir, NULL), SB_ERR_BAD_KEY);
	T_OK(sb_file_write_atomic(path, sb_buf_slice(&saved), 0600));
	T_OK(sb_nsm_emu_ca_ensure(f->dir, NULL));
	sb_ecdsa_key_free(other);
	sb_buf_cleanup(&other_pem);
	sb_buf_cleanup(&saved);
	/* A corrupted key is an error, never silently replaced. */
	snprintf(path, sizeof(path), "%s/ca/dev-root.key", f->dir);
	T_OK(sb_file_write_atomic(path, SB_SLICE_LIT("not a key"), 0600));
	T_ERR(sb_nsm_emu_ca_ensure(f->dir, NULL), SB_ERR_BAD_KEY);
	sb_buf_cleanup(&disk);
	sb_buf_cleanup(&pem1);
	sb_buf_cleanup(&pem2);
}

static void test_roundtrip_document_verifies(void **state)
{
	struct fixture *f = *state;
	struct sb_nsm_emu_config cfg = {.state_dir = f->dir, .measurement = f->m};
	memset(cfg.extra_pcrs[4].value, 0x44, 48);
	cfg.extra_pcrs[4].len = 48;
	cfg.extra_pcrs[4].present = true;
	struct served s;
	serve_start(&s, &cfg);
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	uint8_t pk[91];
	memset(pk, 0x30, sizeof(pk));
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE_LIT("user data"), SB_SLICE_LIT("nonce-1"),
	                        SB_SLICE(pk, sizeof(pk)), &doc));
	struct sb_verify_opts o;
	opts_dev(&o, s.emu, &f->m);
	T_OK(sb_verify_opts_expect_pcr(&o, 4, SB_SLICE(cfg.extra_pcrs[4].value, 48)));
	o.expect_nonce = (struct sb_verify_expect){.set = true, .value = SB_SLICE_LIT("nonce-1")};
	o.expect_user_data =
	    (struct sb_verify_expect){.set = true, .value = SB_SLICE_LIT("user data")};
	o.expect_public_key = (struct sb_verify_expect){.set = true, .value = SB_SLICE(pk, 91)};
	struct sb_attest_doc *d = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, &d));
	assert_true(strncmp(d->module_id, "i-sealbid-local-enc", 19) == 0);
	assert_int_equal(d->cabundle_len, 2);
	assert_int_equal(d->payload.data[0], 0xbf); /* the 2026 NSM's indefinite map */
	for (unsigned i = 0; i < 16; i++)
		assert_true(d->pcrs[i].present && d->pcrs[i].len == 48);
	assert_false(d->pcrs[16].present);
	assert_true(d->timestamp_ms + 60000 > sb_time_now_ms());
	/* Three hours and a bit later the leaf has expired. */
	o.at_ms = d->timestamp_ms + 3 * 3600 * 1000ull + 61000;
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_EXPIRED);
	sb_attest_doc_free(d);
	/* Against the AWS root it is untrusted. */
	opts_dev(&o, s.emu, &f->m);
	o.root_count = 0;
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_UNTRUSTED_ROOT);
	/* A second document, without optional fields. */
	sb_buf_reset(&doc);
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	opts_dev(&o, s.emu, &f->m);
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, &d));
	assert_false(d->nonce.present || d->user_data.present || d->public_key.present);
	sb_attest_doc_free(d);
	sb_buf_cleanup(&doc);
	serve_stop(&s);
}

/* A test-only short leaf lifetime (enclave run --test-cert-lifetime): valid, then expired. */
static void test_short_leaf_lifetime(void **state)
{
	struct fixture *f = *state;
	struct sb_nsm_emu_config cfg = {.state_dir = f->dir, .measurement = f->m,
	                                .leaf_validity_s = 20};
	struct served s;
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_verify_opts o;
	struct sb_attest_doc *d = NULL;

	serve_start(&s, &cfg);
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	opts_dev(&o, s.emu, &f->m);
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, &d));
	o.at_ms = d->timestamp_ms + 19000;
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, NULL));
	o.at_ms = d->timestamp_ms + 21000;
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_EXPIRED);
	sb_attest_doc_free(d);
	sb_buf_cleanup(&doc);
	serve_stop(&s);
}

static void test_describe_pcr_random_and_errors(void **state)
{
	struct fixture *f = *state;
	struct sb_nsm_emu_config cfg = {.state_dir = f->dir,
	                                .measurement = f->m,
	                                .module_id = "i-0123456789abcdef0-enc0123456789abcdef"};
	struct served s;
	serve_start(&s, &cfg);
	bool locked = false;
	struct sb_attest_pcr pcr = {0};
	T_OK(sb_nsm_describe_pcr(s.nsm, 0, &locked, &pcr));
	assert_true(locked);
	assert_memory_equal(pcr.value, f->m.pcr0, 48);
	T_OK(sb_nsm_describe_pcr(s.nsm, 2, &locked, &pcr));
	assert_memory_equal(pcr.value, f->m.pcr2, 48);
	T_OK(sb_nsm_describe_pcr(s.nsm, 20, &locked, &pcr));
	assert_false(locked);
	assert_true(sb_attest_pcr_is_zero(&pcr));
	T_ERR(sb_nsm_describe_pcr(s.nsm, 32, &locked, &pcr), SB_ERR_ATTEST_NSM_ERROR);
	assert_string_equal(sb_error_detail(), "InvalidIndex");
	uint8_t rnd[600] = {0}, zero[600] = {0};
	T_OK(sb_nsm_get_random(s.nsm, rnd, sizeof(rnd)));
	assert_memory_not_equal(rnd, zero, sizeof(rnd));
	/* Requests the NSM refuses get the NSM's error replies. */
	static const struct {
		const char *req;
		size_t len;
		enum sb_nsm_error want;
	} refused[] = {
	    {"\x6b"
	     "DescribeNSM",
	     12, SB_NSM_E_INVALID_OPERATION},
	    {"\xa1\x67"
	     "LockPCR"
	     "\xa1\x65"
	     "index"
	     "\x10",
	     17, SB_NSM_E_INVALID_OPERATION},
	    {"\x64"
	     "Ping",
	     5, SB_NSM_E_INVALID_ARGUMENT},
	    {"\xff\xff", 2, SB_NSM_E_INVALID_ARGUMENT},
	    {"\xa1\x6b"
	     "Attestation"
	     "\xa1\x65"
	     "nonce"
	     "\x59\x02\x01",
	     23, SB_NSM_E_INVALID_ARGUMENT}, /* claims 513 bytes: truncated and too big */
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct sb_buf raw = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
		struct sb_nsm_response resp;
		sb_nsm_response_init(&resp);
		T_OK(sb_nsm_roundtrip(s.nsm, SB_SLICE(refused[i].req, refused[i].len), &raw));
		T_OK(sb_nsm_response_decode(sb_buf_slice(&raw), &resp));
		assert_int_equal(resp.kind, SB_NSM_RESP_ERROR);
		assert_int_equal(resp.error, refused[i].want);
		sb_nsm_response_cleanup(&resp);
		sb_buf_cleanup(&raw);
	}
	/* A user_data of 513 bytes, well-formed: refused by the emulator too. */
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX), raw = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	cb_map(&req, 1);
	cb_text(&req, "Attestation");
	cb_map(&req, 1);
	cb_text(&req, "user_data");
	cb_bytes(&req, (const uint8_t[513]){0}, 513);
	T_OK(sb_nsm_roundtrip(s.nsm, sb_buf_slice(&req), &raw));
	struct sb_nsm_response resp;
	sb_nsm_response_init(&resp);
	T_OK(sb_nsm_response_decode(sb_buf_slice(&raw), &resp));
	assert_int_equal(resp.error, SB_NSM_E_INVALID_ARGUMENT);
	sb_nsm_response_cleanup(&resp);
	/* The module id given is the one in documents. */
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	struct sb_attest_doc *d = NULL;
	T_OK(sb_attest_doc_parse(sb_buf_slice(&doc), &d));
	assert_string_equal(d->module_id, cfg.module_id);
	sb_attest_doc_free(d);
	sb_buf_cleanup(&doc);
	sb_buf_cleanup(&req);
	sb_buf_cleanup(&raw);
	serve_stop(&s);
}

static void test_debug_mode_and_changed_binary(void **state)
{
	struct fixture *f = *state;
	struct sb_nsm_emu_config cfg = {
	    .state_dir = f->dir, .measurement = f->m, .debug_mode = true};
	memset(cfg.extra_pcrs[8].value, 0x88, 48);
	cfg.extra_pcrs[8].len = 48;
	cfg.extra_pcrs[8].present = true;
	struct served s;
	serve_start(&s, &cfg);
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	struct sb_verify_opts o;
	sb_verify_opts_init(&o);
	T_OK(sb_verify_opts_add_root(&o, sb_nsm_emu_root_der(s.emu)));
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_DEBUG_MODE);
	o.allow_debug = true;
	struct sb_attest_doc *d = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, &d));
	static const unsigned zeroed[] = {0, 1, 2, 8};
	for (size_t i = 0; i < 4; i++)
		assert_true(sb_attest_pcr_is_zero(&d->pcrs[zeroed[i]]));
	sb_attest_doc_free(d);
	/* A policy pinned to the real PCRs refuses the debug enclave even when allowed. */
	opts_dev(&o, s.emu, &f->m);
	o.allow_debug = true;
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_PCR_MISMATCH);
	serve_stop(&s);

	/* A changed binary: different PCR0 and PCR2, refused by the old policy. */
	struct sb_buf img2 = SB_BUF_INIT(1 << 20);
	struct sb_measurement m2;
	T_OK(sb_image_build(SB_SLICE_LIT("enclave binary v2"), SB_SLICE_LIT("cfg"), &img2));
	T_OK(sb_image_measure(sb_buf_slice(&img2), &m2));
	assert_memory_not_equal(m2.pcr0, f->m.pcr0, 48);
	assert_memory_not_equal(m2.pcr2, f->m.pcr2, 48);
	struct sb_nsm_emu_config cfg2 = {.state_dir = f->dir, .measurement = m2};
	serve_start(&s, &cfg2);
	sb_buf_reset(&doc);
	T_OK(sb_nsm_attestation(s.nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                        &doc));
	opts_dev(&o, s.emu, &f->m);
	T_ERR(sb_attest_verify(sb_buf_slice(&doc), &o, NULL), SB_ERR_ATTEST_PCR_MISMATCH);
	assert_string_equal(sb_error_detail(), "PCR0");
	opts_dev(&o, s.emu, &m2);
	T_OK(sb_attest_verify(sb_buf_slice(&doc), &o, NULL));
	serve_stop(&s);
	sb_buf_cleanup(&img2);
	sb_buf_cleanup(&doc);
}

static void test_config_validation_and_pinned_time(void **state)
{
	struct fixture *f = *state;
	struct sb_nsm_emu *emu = NULL;
	struct sb_nsm_emu_config cfg = {.measurement = f->m};
	T_ERR(sb_nsm_emu_new(&cfg, &emu), SB_ERR_INVALID_ARG); /* no state dir */
	cfg.state_dir = f->dir;
	cfg.module_id = "";
	T_ERR(sb_nsm_emu_new(&cfg, &emu), SB_ERR_INVALID_ARG);
	cfg.module_id = "bad\nid";
	T_ERR(sb_nsm_emu_new(&cfg, &emu), SB_ERR_INVALID_ARG);
	cfg.module_id = NULL;
	cfg.extra_pcrs[3].present = true;
	cfg.extra_pcrs[3].len = 32;
	T_ERR(sb_nsm_emu_new(&cfg, &emu), SB_ERR_INVALID_ARG);
	cfg.extra_pcrs[3].present = false;
	cfg.extra_pcrs[0].present = true; /* PCR0 comes from the measurement only */
	cfg.extra_pcrs[0].len = 48;
	T_ERR(sb_nsm_emu_new(&cfg, &emu), SB_ERR_INVALID_ARG);
	cfg.extra_pcrs[0].present = false;
	/* A pinned clock: documents carry it and verify at it. */
	cfg.now_ms = sb_time_now_ms() + 86400000ull; /* tomorrow: inside the CA's validity */
	T_OK(sb_nsm_emu_new(&cfg, &emu));
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX),
	              resp_raw = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	T_OK(sb_nsm_encode_attestation(SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), SB_SLICE(NULL, 0),
	                               &req));
	T_OK(sb_nsm_emu_handle(emu, sb_buf_slice(&req), &resp_raw));
	struct sb_nsm_response resp;
	sb_nsm_response_init(&resp);
	T_OK(sb_nsm_response_decode(sb_buf_slice(&resp_raw), &resp));
	assert_int_equal(resp.kind, SB_NSM_RESP_ATTESTATION);
	struct sb_verify_opts o;
	opts_dev(&o, emu, &f->m);
	o.at_ms = cfg.now_ms + 1000;
	struct sb_attest_doc *d = NULL;
	T_OK(sb_attest_verify(sb_buf_slice(&resp.data), &o, &d));
	assert_int_equal(d->timestamp_ms, cfg.now_ms);
	sb_attest_doc_free(d);
	o.at_ms = cfg.now_ms - 120000; /* before the leaf */
	T_ERR(sb_attest_verify(sb_buf_slice(&resp.data), &o, NULL), SB_ERR_ATTEST_NOT_YET_VALID);
	sb_nsm_response_cleanup(&resp);
	T_ERR(sb_nsm_emu_handle(NULL, sb_buf_slice(&req), &resp_raw), SB_ERR_NULL);
	/* A framing error ends serve with that error. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[0], "\x00\x00\x10\x01", 4), 4); /* 4097 > request max */
	T_ERR(sb_nsm_emu_serve(emu, sv[1]), SB_ERR_ATTEST_NSM_FRAME);
	close(sv[0]);
	close(sv[1]);
	sb_nsm_emu_free(emu);
	sb_nsm_emu_free(NULL);
	sb_buf_cleanup(&req);
	sb_buf_cleanup(&resp_raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ca_created_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_document_verifies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_describe_pcr_random_and_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_short_leaf_lifetime, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_debug_mode_and_changed_binary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_validation_and_pinned_time, setup,
	                                    teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
