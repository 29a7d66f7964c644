/*
 * The emulated NSM (server side): a development CA under the state
 * directory and the NSM's answers to Attestation, DescribePCR and GetRandom.
 */
#include "host/sb_nsm_emu.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "attest/sb_nsm.h"
#include "attest/sb_nsm_msg.h"
#include "common/sb_encoding.h"
#include "common/sb_file.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_time.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_random.h"
#include "crypto/sb_x509.h"

#define CA_DIR           "ca"
#define ROOT_CERT        "ca/dev-root.pem"
#define ROOT_KEY         "ca/dev-root.key"
#define INTER_CERT       "ca/dev-intermediate.pem"
#define INTER_KEY        "ca/dev-intermediate.key"
#define CA_LOCK          "ca/.lock"
#define PATH_MAX_LEN     4096
#define PEM_MAX          16384
#define DAY_S            86400
#define ROOT_VALIDITY_S  (30 * 365 * DAY_S) /* AWS's root: 30 years */
#define INTER_VALIDITY_S (10 * 365 * DAY_S)
#define EMU_PCRS         16 /* Nitro reports PCR0..15 in documents */

struct sb_nsm_emu {
	struct sb_x509 *root, *inter;
	struct sb_ecdsa_key *inter_key;
	char module_id[SB_ATTEST_MODULE_ID_MAX + 1];
	struct sb_attest_pcr pcrs[SB_ATTEST_PCR_COUNT];
	uint64_t now_ms;
	uint32_t leaf_validity_s;
};

static SB_RESULT state_path(const char *state_dir, const char *rel, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", state_dir, rel);
	SB_ENSURE_MSG(n > 0 && (size_t)n < cap, SB_ERR_TOO_LARGE, "state path too long");
	return SB_OK_RESULT;
}

/* ---- the development CA ---- */

struct dev_ca {
	struct sb_x509 *root, *inter;
	struct sb_ecdsa_key *root_key, *inter_key;
};

static void dev_ca_cleanup(struct dev_ca *ca)
{
	sb_x509_free(ca->root);
	sb_x509_free(ca->inter);
	sb_ecdsa_key_free(ca->root_key);
	sb_ecdsa_key_free(ca->inter_key);
	memset(ca, 0, sizeof(*ca));
}

/* The key file must hold the private half of the certificate's key. */
static SB_RESULT check_pair(const struct sb_x509 *cert, const struct sb_ecdsa_key *key,
                            const char *what)
{
	struct sb_buf a = SB_BUF_INIT(1024), b = SB_BUF_INIT(1024);
	struct sb_ecdsa_key *pub = NULL;
	sb_result rc = sb_x509_public_key(cert, &pub);
	if (sb_ok(rc))
		rc = sb_ecdsa_key_public_der(pub, &a);
	if (sb_ok(rc))
		rc = sb_ecdsa_key_public_der(key, &b);
	if (sb_ok(rc) && !sb_slice_eq(sb_buf_slice(&a), sb_buf_slice(&b)))
		rc = sb_error_recordf(SB_ERR_BAD_KEY, SB_HERE, "%s does not match its key", what);
	sb_ecdsa_key_free(pub);
	sb_buf_cleanup(&a);
	sb_buf_cleanup(&b);
	return rc;
}

/* Loads a cert + key pair; SB_ERR_NOT_FOUND when either file is missing. */
static SB_RESULT load_pair(const char *state_dir, const char *cert_rel, const char *key_rel,
                           struct sb_x509 **cert, struct sb_ecdsa_key **key)
{
	char path[PATH_MAX_LEN];
	struct sb_buf pem = SB_BUF_INIT_SECRET(PEM_MAX);
	sb_result rc;
	SB_GUARD(state_path(state_dir, key_rel, path, sizeof(path)));
	if (access(path, F_OK) != 0)
		SB_BAIL(SB_ERR_NOT_FOUND);
	SB_GUARD_GOTO(rc, sb_file_read(path, &pem), out);
	SB_GUARD_GOTO(rc, sb_ecdsa_key_from_pem(sb_buf_slice(&pem), key), out);
	sb_buf_reset(&pem);
	SB_GUARD_GOTO(rc, state_path(state_dir, cert_rel, path, sizeof(path)), out);
	if (access(path, F_OK) != 0)
		SB_FAIL_GOTO(rc, SB_ERR_NOT_FOUND, out);
	SB_GUARD_GOTO(rc, sb_file_read(path, &pem), out);
	SB_GUARD_GOTO(rc, sb_x509_from_pem(sb_buf_slice(&pem), cert), out);
	SB_GUARD_GOTO(rc, check_pair(*cert, *key, cert_rel), out);
out:
	if (!sb_ok(rc)) { /* all or nothing: the caller may create the pair afresh */
		sb_ecdsa_key_free(*key);
		*key = NULL;
	}
	sb_buf_cleanup(&pem);
	return rc;
}

static SB_RESULT save_pair(const char *state_dir, const char *cert_rel, const char *key_rel,
                           const struct sb_x509 *cert, const struct sb_ecdsa_key *key)
{
	char path[PATH_MAX_LEN];
	struct sb_buf pem = SB_BUF_INIT_SECRET(PEM_MAX);
	sb_result rc;
	SB_GUARD_GOTO(rc, state_path(state_dir, key_rel, path, sizeof(path)), out);
	SB_GUARD_GOTO(rc, sb_ecdsa_key_to_pem(key, &pem), out);
	SB_GUARD_GOTO(rc, sb_file_write_atomic(path, sb_buf_slice(&pem), 0600), out);
	sb_buf_reset(&pem);
	SB_GUARD_GOTO(rc, state_path(state_dir, cert_rel, path, sizeof(path)), out);
	SB_GUARD_GOTO(rc, sb_x509_to_pem(cert, &pem), out);
	SB_GUARD_GOTO(rc, sb_file_write_atomic(path, sb_buf_slice(&pem), 0644), out);
out:
	sb_buf_cleanup(&pem);
	return rc;
}

static uint64_t random_serial(void)
{
	uint64_t s = 0;
	if (!sb_ok(sb_random_bytes(&s, sizeof(s))))
		s = sb_time_now_ms();
	return (s >> 1) | 1; /* positive and non-zero */
}

static SB_RESULT create_root(const char *state_dir, struct dev_ca *ca)
{
	int64_t now = (int64_t)(sb_time_now_ms() / 1000);
	struct sb_x509_spec spec = {.common_name = "sealbid-dev-root",
	                            .serial = random_serial(),
	                            .not_before = now - DAY_S,
	                            .not_after = now + ROOT_VALIDITY_S,
	                            .is_ca = true,
	                            .path_len = -1};
	SB_GUARD(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->root_key));
	SB_GUARD(sb_x509_create(&spec, ca->root_key, NULL, ca->root_key, &ca->root));
	return save_pair(state_dir, ROOT_CERT, ROOT_KEY, ca->root, ca->root_key);
}

static SB_RESULT create_intermediate(const char *state_dir, struct dev_ca *ca)
{
	int64_t now = (int64_t)(sb_time_now_ms() / 1000);
	/* AWS's regional intermediate has pathlen:2; the dev chain is one shorter. */
	struct sb_x509_spec spec = {.common_name = "sealbid-dev-intermediate",
	                            .serial = random_serial(),
	                            .not_before = now - DAY_S,
	                            .not_after = now + INTER_VALIDITY_S,
	                            .is_ca = true,
	                            .path_len = 0};
	SB_GUARD(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &ca->inter_key));
	SB_GUARD(sb_x509_create(&spec, ca->inter_key, ca->root, ca->root_key, &ca->inter));
	return save_pair(state_dir, INTER_CERT, INTER_KEY, ca->inter, ca->inter_key);
}

/* Loads the CA, creating what is missing. Call with the CA lock held. */
static SB_RESULT dev_ca_load_or_create(const char *state_dir, struct dev_ca *ca)
{
	sb_result rc = load_pair(state_dir, ROOT_CERT, ROOT_KEY, &ca->root, &ca->root_key);
	if (rc.code == SB_ERR_NOT_FOUND) {
		SB_GUARD(create_root(state_dir, ca));
		SB_GUARD(create_intermediate(state_dir, ca));
		sb_log_info("created development CA under %s/%s", state_dir, CA_DIR);
		return SB_OK_RESULT;
	}
	SB_GUARD(rc);
	rc = load_pair(state_dir, INTER_CERT, INTER_KEY, &ca->inter, &ca->inter_key);
	if (rc.code == SB_ERR_NOT_FOUND)
		return create_intermediate(state_dir, ca);
	SB_GUARD(rc);
	SB_ENSURE_MSG(sb_x509_names_chain(ca->inter, ca->root), SB_ERR_INVALID_ARG,
	              "%s/%s is not issued by the dev root", state_dir, INTER_CERT);
	return SB_OK_RESULT;
}

/* The CA directory, locked (flock) while the CA is read or created. */
static SB_RESULT dev_ca_open(const char *state_dir, struct dev_ca *ca)
{
	char path[PATH_MAX_LEN];
	SB_ENSURE_REF(state_dir);
	SB_GUARD(state_path(state_dir, CA_DIR, path, sizeof(path)));
	SB_GUARD(sb_mkdir_p(path, 0700));
	SB_GUARD(state_path(state_dir, CA_LOCK, path, sizeof(path)));
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	SB_ENSURE_MSG(fd >= 0, SB_ERR_IO, "%s: %s", path, strerror(errno));
	sb_result rc;
	if (flock(fd, LOCK_EX) != 0)
		rc = sb_error_recordf(SB_ERR_IO, SB_HERE, "lock %s: %s", path, strerror(errno));
	else
		rc = dev_ca_load_or_create(state_dir, ca);
	(void)close(fd); /* releases the lock */
	if (!sb_ok(rc))
		dev_ca_cleanup(ca);
	return rc;
}

SB_RESULT sb_nsm_emu_ca_ensure(const char *state_dir, struct sb_buf *root_pem)
{
	struct dev_ca ca = {0};
	SB_GUARD(dev_ca_open(state_dir, &ca));
	sb_result rc = root_pem != NULL ? sb_x509_to_pem(ca.root, root_pem) : SB_OK_RESULT;
	dev_ca_cleanup(&ca);
	return rc;
}

/* ---- the emulator ---- */

static void set_pcr(struct sb_attest_pcr *p, const uint8_t *value)
{
	p->present = true;
	p->len = SB_SHA384_LEN;
	if (value != NULL)
		memcpy(p->value, value, SB_SHA384_LEN);
	else
		memset(p->value, 0, SB_SHA384_LEN);
}

static SB_RESULT emu_set_pcrs(struct sb_nsm_emu *emu, const struct sb_nsm_emu_config *cfg)
{
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++) {
		const struct sb_attest_pcr *x = &cfg->extra_pcrs[i];
		SB_ENSURE_MSG(!x->present || (x->len == SB_SHA384_LEN && i > 2), SB_ERR_INVALID_ARG,
		              "extra PCR%u must be 48 bytes and not 0..2", i);
		set_pcr(&emu->pcrs[i], x->present ? x->value : NULL);
	}
	set_pcr(&emu->pcrs[0], cfg->measurement.pcr0);
	set_pcr(&emu->pcrs[1], cfg->measurement.pcr1);
	set_pcr(&emu->pcrs[2], cfg->measurement.pcr2);
	if (cfg->debug_mode) {
		/* Nitro: "in debug mode ... PCR0, PCR1, PCR2 and PCR8 are all zeros". */
		static const unsigned zeroed[] = {0, 1, 2, 8};
		for (size_t i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
			set_pcr(&emu->pcrs[zeroed[i]], NULL);
	}
	return SB_OK_RESULT;
}

static SB_RESULT emu_set_module_id(struct sb_nsm_emu *emu, const char *module_id)
{
	if (module_id != NULL) {
		size_t n = strlen(module_id);
		SB_ENSURE_MSG(n > 0 && n <= SB_ATTEST_MODULE_ID_MAX, SB_ERR_INVALID_ARG,
		              "module_id of %zu bytes", n);
		for (size_t i = 0; i < n; i++)
			SB_ENSURE_MSG(module_id[i] >= 0x20 && module_id[i] < 0x7f,
			              SB_ERR_INVALID_ARG, "module_id is not printable ASCII");
		memcpy(emu->module_id, module_id, n + 1);
		return SB_OK_RESULT;
	}
	uint8_t rnd[8];
	struct sb_buf hex = SB_BUF_INIT(32);
	SB_GUARD(sb_random_bytes(rnd, sizeof(rnd)));
	sb_result rc = sb_hex_encode(SB_SLICE(rnd, sizeof(rnd)), &hex);
	if (sb_ok(rc))
		(void)snprintf(emu->module_id, sizeof(emu->module_id), "i-sealbid-local-enc%s",
		               sb_buf_cstr(&hex));
	sb_buf_cleanup(&hex);
	return rc;
}

SB_RESULT sb_nsm_emu_new(const struct sb_nsm_emu_config *cfg, struct sb_nsm_emu **out)
{
	SB_ENSURE_REF(cfg);
	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(cfg->state_dir != NULL, SB_ERR_INVALID_ARG, "no state directory");
	struct sb_nsm_emu *emu = NULL;
	SB_GUARD(sb_calloc(1, sizeof(*emu), (void **)&emu));
	struct dev_ca ca = {0};
	sb_result rc;
	SB_GUARD_GOTO(rc, emu_set_pcrs(emu, cfg), out);
	SB_GUARD_GOTO(rc, emu_set_module_id(emu, cfg->module_id), out);
	SB_GUARD_GOTO(rc, dev_ca_open(cfg->state_dir, &ca), out);
	/* Keep what signing needs; the root key stays on disk only. */
	emu->root = ca.root;
	emu->inter = ca.inter;
	emu->inter_key = ca.inter_key;
	ca.root = NULL;
	ca.inter = NULL;
	ca.inter_key = NULL;
	emu->now_ms = cfg->now_ms;
	emu->leaf_validity_s = cfg->leaf_validity_s != 0 ? cfg->leaf_validity_s
							 : SB_NSM_EMU_LEAF_VALIDITY_S;
	*out = emu;
	emu = NULL;
out:
	dev_ca_cleanup(&ca);
	sb_nsm_emu_free(emu);
	return rc;
}

void sb_nsm_emu_free(struct sb_nsm_emu *emu)
{
	if (emu == NULL)
		return;
	sb_x509_free(emu->root);
	sb_x509_free(emu->inter);
	sb_ecdsa_key_free(emu->inter_key);
	sb_wipe(emu, sizeof(*emu));
	free(emu);
}

struct sb_slice sb_nsm_emu_root_der(const struct sb_nsm_emu *emu)
{
	return emu != NULL ? sb_x509_der(emu->root) : SB_SLICE(NULL, 0);
}

/* ---- requests ---- */

static uint64_t emu_now_ms(const struct sb_nsm_emu *emu)
{
	return emu->now_ms != 0 ? emu->now_ms : sb_time_now_ms();
}

/* A fresh leaf for one document: 1 minute before ts until 3 hours (or the configured lifetime) after. */
static SB_RESULT make_leaf(const struct sb_nsm_emu *emu, uint64_t ts_ms, struct sb_ecdsa_key **key,
                           struct sb_x509 **leaf)
{
	int64_t ts = (int64_t)(ts_ms / 1000);
	struct sb_x509_spec spec = {.common_name = emu->module_id,
	                            .serial = random_serial(),
	                            .not_before = ts - 60,
	                            .not_after = ts + (int64_t)emu->leaf_validity_s,
	                            .is_ca = false,
	                            .path_len = -1};
	SB_GUARD(sb_ecdsa_key_generate(SB_EC_CURVE_P384, key));
	return sb_x509_create(&spec, *key, emu->inter, emu->inter_key, leaf);
}

static SB_RESULT copy_opt(struct sb_attest_opt *dst, const struct sb_attest_opt *src)
{
	dst->present = src->present;
	return sb_buf_set(&dst->value, sb_buf_slice(&src->value));
}

/* The payload fields of a document for req, signed by leaf. */
static SB_RESULT fill_doc(const struct sb_nsm_emu *emu, const struct sb_nsm_request *req,
                          uint64_t ts_ms, const struct sb_x509 *leaf, struct sb_attest_doc *doc)
{
	memcpy(doc->module_id, emu->module_id, sizeof(doc->module_id));
	doc->timestamp_ms = ts_ms;
	for (unsigned i = 0; i < EMU_PCRS; i++)
		doc->pcrs[i] = emu->pcrs[i];
	SB_GUARD(sb_buf_set(&doc->certificate, sb_x509_der(leaf)));
	SB_GUARD(sb_buf_set(&doc->cabundle[0], sb_x509_der(emu->root)));
	SB_GUARD(sb_buf_set(&doc->cabundle[1], sb_x509_der(emu->inter)));
	doc->cabundle_len = 2;
	SB_GUARD(copy_opt(&doc->public_key, &req->public_key));
	SB_GUARD(copy_opt(&doc->user_data, &req->user_data));
	return copy_opt(&doc->nonce, &req->nonce);
}

/* COSE_Sign1 over doc's payload with key, appended to out. */
static SB_RESULT sign_doc(const struct sb_attest_doc *doc, const struct sb_ecdsa_key *key,
                          struct sb_buf *out)
{
	struct sb_buf payload = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	struct sb_buf tbs = SB_BUF_INIT(SB_ATTEST_DOC_MAX + 64);
	uint8_t sig[SB_ES384_SIG_LEN];
	sb_result rc;
	SB_GUARD_GOTO(rc, sb_attest_payload_encode(doc, true, &payload), out);
	SB_GUARD_GOTO(
	    rc, sb_cose_sig_structure(sb_cose_protected_es384(), sb_buf_slice(&payload), &tbs),
	    out);
	SB_GUARD_GOTO(rc, sb_ecdsa_sign_es384(key, sb_buf_slice(&tbs), sig), out);
	SB_GUARD_GOTO(rc, sb_cose_sign1_encode(sb_buf_slice(&payload), sig, out), out);
out:
	sb_buf_cleanup(&tbs);
	sb_buf_cleanup(&payload);
	return rc;
}

static SB_RESULT answer_attestation(const struct sb_nsm_emu *emu, const struct sb_nsm_request *req,
                                    struct sb_buf *response)
{
	uint64_t ts_ms = emu_now_ms(emu);
	struct sb_ecdsa_key *key = NULL;
	struct sb_x509 *leaf = NULL;
	struct sb_attest_doc *doc = NULL;
	struct sb_buf cose = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	sb_result rc;
	SB_GUARD_GOTO(rc, make_leaf(emu, ts_ms, &key, &leaf), out);
	SB_GUARD_GOTO(rc, sb_attest_doc_new(&doc), out);
	SB_GUARD_GOTO(rc, fill_doc(emu, req, ts_ms, leaf, doc), out);
	SB_GUARD_GOTO(rc, sign_doc(doc, key, &cose), out);
	SB_GUARD_GOTO(rc, sb_nsm_encode_attestation_resp(sb_buf_slice(&cose), response), out);
out:
	sb_buf_cleanup(&cose);
	sb_attest_doc_free(doc);
	sb_x509_free(leaf);
	sb_ecdsa_key_free(key);
	return rc;
}

static SB_RESULT answer_describe_pcr(const struct sb_nsm_emu *emu, uint16_t index,
                                     struct sb_buf *response)
{
	if (index >= SB_ATTEST_PCR_COUNT)
		return sb_nsm_encode_error(SB_NSM_E_INVALID_INDEX, response);
	const struct sb_attest_pcr *p = &emu->pcrs[index];
	/* PCR0..15 are set by the hypervisor at launch and locked. */
	return sb_nsm_encode_describe_pcr_resp(index < EMU_PCRS, SB_SLICE(p->value, p->len),
	                                       response);
}

static SB_RESULT answer_get_random(struct sb_buf *response)
{
	uint8_t rnd[SB_NSM_RANDOM_CHUNK];
	SB_GUARD(sb_random_bytes(rnd, sizeof(rnd)));
	sb_result rc = sb_nsm_encode_get_random_resp(SB_SLICE(rnd, sizeof(rnd)), response);
	sb_wipe(rnd, sizeof(rnd));
	return rc;
}

static SB_RESULT dispatch(const struct sb_nsm_emu *emu, const struct sb_nsm_request *req,
                          struct sb_buf *response)
{
	switch (req->op) {
	case SB_NSM_OP_ATTESTATION:
		return answer_attestation(emu, req, response);
	case SB_NSM_OP_DESCRIBE_PCR:
		return answer_describe_pcr(emu, req->pcr_index, response);
	case SB_NSM_OP_GET_RANDOM:
		return answer_get_random(response);
	case SB_NSM_OP_UNSUPPORTED:
	default:
		return sb_nsm_encode_error(SB_NSM_E_INVALID_OPERATION, response);
	}
}

SB_RESULT sb_nsm_emu_handle(const struct sb_nsm_emu *emu, struct sb_slice request,
                            struct sb_buf *response)
{
	SB_ENSURE_REF(emu);
	SB_ENSURE_REF(response);
	struct sb_nsm_request req;
	sb_nsm_request_init(&req);
	sb_result rc = sb_nsm_request_decode(request, &req);
	if (!sb_ok(rc)) {
		/* The NSM answers a request it cannot use with an error, not silence. */
		sb_log_debug("emulated NSM: rejected request: %s", sb_error_describe());
		enum sb_nsm_error e =
		    rc.code == SB_ERR_ATTEST_FIELD_SIZE && request.len > SB_NSM_REQUEST_MAX
		        ? SB_NSM_E_INPUT_TOO_LARGE
		        : SB_NSM_E_INVALID_ARGUMENT;
		rc = sb_nsm_encode_error(e, response);
	} else {
		rc = dispatch(emu, &req, response);
		if (!sb_ok(rc) && rc.code != SB_ERR_NOMEM) {
			sb_log_warn("emulated NSM: %s", sb_error_describe());
			sb_buf_reset(response);
			rc = sb_nsm_encode_error(SB_NSM_E_INTERNAL_ERROR, response);
		}
	}
	sb_nsm_request_cleanup(&req);
	return rc;
}

SB_RESULT sb_nsm_emu_serve(const struct sb_nsm_emu *emu, int fd)
{
	SB_ENSURE_REF(emu);
	struct sb_buf req = SB_BUF_INIT(SB_NSM_REQUEST_MAX);
	struct sb_buf resp = SB_BUF_INIT(SB_NSM_RESPONSE_MAX);
	sb_result rc;
	for (;;) {
		rc = sb_nsm_frame_read(fd, SB_NSM_REQUEST_MAX, &req);
		if (rc.code == SB_ERR_CLOSED) {
			rc = SB_OK_RESULT; /* the enclave closed its end: done */
			break;
		}
		if (!sb_ok(rc))
			break;
		sb_buf_reset(&resp);
		SB_GUARD_GOTO(rc, sb_nsm_emu_handle(emu, sb_buf_slice(&req), &resp), out);
		SB_GUARD_GOTO(rc, sb_nsm_frame_write(fd, sb_buf_slice(&resp)), out);
	}
out:
	sb_buf_cleanup(&req);
	sb_buf_cleanup(&resp);
	return rc;
}
