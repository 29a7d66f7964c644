/*
 * The local launcher: plays the Nitro hypervisor for `sealbid enclave run`.
 *
 * run: parses and measures the image (sb_image_parse), then forks a
 * supervisor (its own session, output to <state>/enclaves/<id>.log) that
 *   - creates the emulated NSM for this launch (dev CA under <state>/ca,
 *     PCR0/1/2 from the measurement, zeroed in debug mode),
 *   - starts the enclave application from the image's APP bytes through a
 *     sealed memfd (what was measured is exactly what runs), with argv taken
 *     from the CONFIG section (one argument per line), env
 *     SEALBID_VSOCK_DIR / SEALBID_VSOCK_CID (the vsock mapping) and
 *     SEALBID_NSM_FD (its end of a socketpair), and — when running as root —
 *     in a new network namespace, so like a Nitro enclave it has no network
 *     (Unix sockets in the vsock directory still reach the parent),
 *   - serves NSM requests until the enclave exits, then removes its record.
 * The record <state>/enclaves/<id>.json mirrors nitro-cli describe-enclaves.
 */
#ifndef SB_LAUNCHER_H
#define SB_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/sb_buf.h"
#include "host/sb_measure.h"

#define SB_ENCLAVE_ID_MAX 64
#define SB_ENCLAVE_FIRST_CID 16

struct sb_launch_opts {
	const char *image_path; /* required */
	const char *state_dir;  /* required */
	const char *vsock_dir;  /* required: the Unix-socket vsock mapping */
	uint32_t cid;           /* 0 = the lowest free CID >= 16 */
	bool debug_mode;
	uint32_t wait_port;     /* > 0: return once the enclave listens on it */
	uint32_t wait_ms;       /* bound for wait_port */
	uint32_t leaf_validity_s; /* emulated NSM leaf lifetime; 0 = 3 h (tests only) */
};

struct sb_enclave_info {
	char id[SB_ENCLAVE_ID_MAX];
	pid_t pid; /* the supervisor's */
	uint32_t cid;
	bool debug_mode;
	struct sb_measurement measurement;
};

SB_RESULT sb_launcher_run(const struct sb_launch_opts *opts, struct sb_enclave_info *out);
/* Appends a JSON array of the running enclaves' records (nitro-cli's shape). */
SB_RESULT sb_launcher_describe(const char *state_dir, struct sb_buf *out);
/* Terminates one enclave (id) or all (id NULL) and waits for them to end. */
SB_RESULT sb_launcher_terminate(const char *state_dir, const char *id, size_t *count);
/* Whether a running enclave already has cid. */
SB_RESULT sb_launcher_cid_in_use(const char *state_dir, uint32_t cid, bool *in_use);
/* The record JSON of one enclave (nitro-cli's shape), appended. */
SB_RESULT sb_enclave_info_json(const struct sb_enclave_info *info, struct sb_buf *out);

#endif
