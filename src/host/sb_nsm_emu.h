/*
 * The emulated Nitro Secure Module: the server side the local launcher
 * (`sealbid enclave run`) runs while it plays the Nitro hypervisor. Host
 * layer only: the enclave binary links none of this.
 *
 * Development CA (created once under <state_dir>/ca/ and reused):
 *   ca/dev-root.pem + ca/dev-root.key          P-384, self-signed, 30 years
 *   ca/dev-intermediate.pem + .key            P-384, signed by the root, 10 years
 *   (keys mode 0600, directory 0700)
 * One sb_nsm_emu per enclave launch answers the NSM CBOR requests of
 * sb_nsm_msg.h. Each Attestation gets a fresh P-384 leaf key and
 * certificate issued by the intermediate, valid from 1 minute before the
 * document's timestamp for 3 hours (like AWS's), so a long-running launch
 * never hands out an expired chain; the document's cabundle is [root,
 * intermediate] and it verifies with sb_attest_verify against
 * ca/dev-root.pem. The payload map is indefinite-length, as the 2026 NSM
 * emits it.
 *
 * Thread safety: after sb_nsm_emu_new the object is read-only, so several
 * threads may call sb_nsm_emu_handle / sb_nsm_emu_serve on it at once.
 */
#ifndef SB_NSM_EMU_H
#define SB_NSM_EMU_H

#include <stdbool.h>
#include <stdint.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_buf.h"
#include "host/sb_measure.h"

#define SB_NSM_EMU_LEAF_VALIDITY_S (3 * 3600)
#define SB_NSM_EMU_ROOT_FILE       "ca/dev-root.pem"

struct sb_nsm_emu_config {
	const char *state_dir;             /* required; borrowed; <state_dir>/ca is created */
	const char *module_id;             /* NULL = "i-sealbid-local-enc" + random hex */
	struct sb_measurement measurement; /* PCR0/1/2 from sb_image_measure */
	bool debug_mode;                   /* zeroes PCR0/1/2/8 as Nitro does in debug mode */
	/* Optional extra PCRs (3 = IAM role, 4 = instance id, 8 = signing cert):
	 * .present = set, 48 bytes. Others stay 48 zero bytes. */
	struct sb_attest_pcr extra_pcrs[SB_ATTEST_PCR_COUNT];
	uint64_t now_ms; /* 0 = the real clock at each request (tests pin time) */
	/* Leaf certificate lifetime in seconds; 0 = SB_NSM_EMU_LEAF_VALIDITY_S (3 h,
	 * as AWS). Tests shorten it to exercise the enclave's document renewal. */
	uint32_t leaf_validity_s;
};

struct sb_nsm_emu;

/* Loads or creates the CA, makes the launch's leaf. Borrows cfg. Caller frees. */
SB_RESULT sb_nsm_emu_new(const struct sb_nsm_emu_config *cfg, struct sb_nsm_emu **out);
/* Wipes keys and frees; NULL-safe. */
void sb_nsm_emu_free(struct sb_nsm_emu *emu);

/*
 * Creates the development CA under state_dir if missing and appends the
 * root certificate (PEM) to root_pem (either may be used alone: root_pem
 * NULL just ensures the CA exists).
 */
SB_RESULT sb_nsm_emu_ca_ensure(const char *state_dir, struct sb_buf *root_pem);
/* The dev root certificate, DER; borrowed from emu. */
struct sb_slice sb_nsm_emu_root_der(const struct sb_nsm_emu *emu);

/*
 * Answers one CBOR request (borrowed) by appending the CBOR response to
 * response (the caller resets it). Requests the NSM would refuse get the
 * NSM's error reply ({"Error":"InvalidArgument"} for malformed/oversized
 * input, "InvalidIndex" for PCR >= 32, "InvalidOperation" for requests
 * the emulator does not implement) and still return OK: an error is only
 * returned when no reply can be produced.
 */
SB_RESULT sb_nsm_emu_handle(const struct sb_nsm_emu *emu, struct sb_slice request,
                            struct sb_buf *response);
/*
 * Serves the framed protocol (u32 BE length + CBOR, sb_nsm_frame_*) on fd
 * until the peer closes it (returns OK) or a framing/IO error. Borrows fd.
 */
SB_RESULT sb_nsm_emu_serve(const struct sb_nsm_emu *emu, int fd);

#endif
