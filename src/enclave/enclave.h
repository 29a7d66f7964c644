/*
 * sealbid-enclave internals: the process state, the per-connection state,
 * and the message handlers. Each handler lives in its own file
 * (handle_<message>.c) and is listed once in dispatch.c's table.
 */
#ifndef SB_ENCLAVE_H
#define SB_ENCLAVE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest/sb_nsm.h"
#include "auction/sb_job.h"
#include "aws/sb_creds.h"
#include "crypto/sb_rsa.h"
#include "enclave/kms_budget.h"
#include "wire/sb_msg_job.h"
#include "wire/sb_server.h"

/* The parent's end of the KMS proxy: vsock CID 3 (the parent), port 8000. */
#define SB_ENCLAVE_KMS_PROXY_CID  3u
#define SB_ENCLAVE_KMS_PROXY_PORT 8000u

/* Process-wide state, owned by main. */
/* The next job's key pair and attestation document, made ahead (spare_key.c). */
struct sb_enclave_spare {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	bool started, stop;
	struct sb_rsa_key *key; /* NULL: none ready */
	struct sb_buf doc;
	uint64_t made_ns;
};

struct sb_enclave {
	uint64_t connections; /* opened since start */
	/* KMS: NULL endpoint = https://kms.<manifest region>.amazonaws.com. The
	 * endpoint is part of the measured configuration, never the parent's choice. */
	const char *kms_endpoint;
	uint32_t kms_proxy_cid;
	uint32_t kms_proxy_port;
	/* KMS connections open at once, all jobs together (--kms-max-connections,
	 * measured like the endpoint; kms_budget.h). */
	uint32_t kms_max_connections;
	struct sb_kms_budget kms_budget;
	/* Channel deadlines (--hello-timeout, --idle-timeout); 0 = the server's defaults. */
	uint32_t hello_timeout_ms;
	uint32_t idle_timeout_ms;
	struct sb_nsm *nsm; /* NULL when there is none: jobs then fail clearly */
	pthread_mutex_t nsm_lock;
	/* Job threads still running; main waits for them before freeing the server. */
	pthread_mutex_t jobs_lock;
	pthread_cond_t jobs_done;
	unsigned jobs_running;
	struct sb_enclave_spare spare;
};

/*
 * The spare key (spare_key.c): _start makes one in the background (after
 * the NSM is open), _stop joins the thread and frees it. sb_enclave_job_key
 * hands a job its own key pair and document (appended to doc): the spare
 * if one is ready and fresh, else made now; taking one starts the next.
 */
void sb_enclave_spare_start(struct sb_enclave *e);
void sb_enclave_spare_stop(struct sb_enclave *e);
SB_RESULT sb_enclave_job_key(struct sb_enclave *e, struct sb_rsa_key **key, struct sb_buf *doc);

/*
 * One parent connection (one job). Made by sb_enclave_conn_open, freed by
 * sb_enclave_conn_close; later issues add the credentials (secret, wiped
 * on close) and the job here.
 */
struct sb_enclave_conn {
	struct sb_enclave *enclave; /* borrowed */
	uint64_t conn_id;
	struct sb_msg_creds creds; /* secret parts wiped on close */
	bool has_creds;
	struct sb_enclave_run *run; /* the job, shared with its thread (job_run.c) */
};

SB_RESULT sb_enclave_conn_open(void *app, uint64_t conn_id, void **out_state);
void sb_enclave_conn_close(void *app, void *state);

/* The dispatch table: {type, states, handler}. */
extern const struct sb_server_dispatch sb_enclave_dispatch[];
extern const size_t sb_enclave_dispatch_len;

/* Ping -> Pong with the same payload. */
SB_RESULT sb_enclave_handle_ping(struct sb_server_request *req);
/* Attest: a fresh attestation document with the parent's nonce (handle_attest.c). */
SB_RESULT sb_enclave_handle_attest(struct sb_server_request *req);
/* The job messages (handle_job.c). */
SB_RESULT sb_enclave_handle_set_credentials(struct sb_server_request *req);
SB_RESULT sb_enclave_handle_begin_job(struct sb_server_request *req);
SB_RESULT sb_enclave_handle_input(struct sb_server_request *req);
SB_RESULT sb_enclave_handle_end_inputs(struct sb_server_request *req);

/*
 * A job's thread (job_run.c): started by BeginJob (req->payload is the
 * manifest), fed by Input and EndInputs, answering each itself. The
 * connection holds one reference, released by sb_enclave_run_release (which
 * cancels a job still running).
 */
struct sb_enclave_run;
SB_RESULT sb_enclave_run_start(struct sb_server_request *req, struct sb_enclave_conn *c,
			       struct sb_enclave_run **out);
const struct sb_manifest *sb_enclave_run_manifest(const struct sb_enclave_run *run);
SB_RESULT sb_enclave_run_input(struct sb_enclave_run *run, uint32_t req_id,
			       const struct sb_msg_input *in);
SB_RESULT sb_enclave_run_end(struct sb_enclave_run *run, uint32_t req_id);
/* Fresh credentials from the parent (SetCredentials mid-job): the job swaps them in. */
SB_RESULT sb_enclave_run_credentials(struct sb_enclave_run *run, const struct sb_msg_creds *creds);
void sb_enclave_run_release(struct sb_enclave_run *run);

/*
 * A job's I/O (job_io.c): credentials from the parent, one RSA key pair and
 * its attestation document for the job, KMS through the vsock proxy.
 */
struct sb_enclave_job_io {
	struct sb_enclave *enclave; /* borrowed */
	struct sb_creds_provider *creds; /* static, replaced when the parent sends new ones */
	struct sb_rsa_key *key;
	struct sb_buf doc; /* attestation document carrying the public key */
	char region[64];
	/* Long jobs (job_refresh.c). */
	uint64_t creds_exp_ms;    /* Unix ms; 0 = the credentials do not expire */
	uint64_t creds_margin_ms; /* ask for fresh ones this long before they expire */
	bool creds_asked;         /* NeedCredentials already sent for the current ones */
	uint64_t doc_refresh_ms;  /* Unix ms: ask the NSM for a new document (same key) */
	uint32_t docs;            /* documents used so far (1 after init) */
	/*
	 * Asks the parent for fresh credentials and waits for them (job_run.c);
	 * on success it has called sb_enclave_job_io_set_creds. NULL: never asks.
	 */
	sb_result (*need_creds)(void *ctx, struct sb_enclave_job_io *io);
	void *need_ctx;
};

/* Rows per slice: between slices, credentials and document are renewed when due. */
#define SB_ENCLAVE_SLICE_ROWS 256u
/* Ask for fresh credentials at most this long before they expire (or at half life). */
#define SB_ENCLAVE_CREDS_MARGIN_MS (60u * 1000u)
/* How long the job waits for the parent's fresh credentials. */
#define SB_ENCLAVE_CREDS_WAIT_MS (30u * 1000u)

/*
 * job_refresh.c. _note_creds records new credentials' expiry (and the
 * margin: min(SB_ENCLAVE_CREDS_MARGIN_MS, half their remaining life));
 * _set_creds replaces the provider's credentials with creds and notes them;
 * _note_doc reads the current document's certificate and schedules its
 * renewal at half its remaining life; _maintain (between slices) asks for
 * credentials and renews the document when due, and fails with
 * SB_ERR_AWS_CREDENTIALS_EXPIRE once the credentials have expired.
 */
void sb_enclave_job_io_note_creds(struct sb_enclave_job_io *io, uint64_t expiration_ms);
SB_RESULT sb_enclave_job_io_set_creds(struct sb_enclave_job_io *io,
				      const struct sb_msg_creds *creds);
SB_RESULT sb_enclave_job_io_note_doc(struct sb_enclave_job_io *io);
SB_RESULT sb_enclave_job_io_maintain(struct sb_enclave_job_io *io);

SB_RESULT sb_enclave_job_io_init(struct sb_enclave_job_io *io, struct sb_enclave *e,
				 const struct sb_msg_creds *creds, const char *region);
void sb_enclave_job_io_cleanup(struct sb_enclave_job_io *io);
/* The sb_job_io callbacks bound to io (borrowed). */
struct sb_job_io sb_enclave_job_io(struct sb_enclave_job_io *io);

#endif
