/*
 * sealbid-enclave: the measured application. It serves the parent<->enclave
 * channel on a vsock port (docs/PROTOCOL.md): Hello handshake, Ping -> Pong,
 * Error, and jobs: SetCredentials, BeginJob, Input, EndInputs -> Result
 * (handle_job.c), decrypting through KMS with the NSM's attestation.
 *
 * Signals: SIGTERM and SIGINT arrive through a signalfd watched by the event
 * loop, which stops cleanly; SIGPIPE is ignored (writes use MSG_NOSIGNAL too).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_parse.h"
#include "enclave/enclave.h"
#include "wire/sb_vsock.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
	fprintf(f, "usage: sealbid-enclave [--port P] [--kms-endpoint URL] [--kms-proxy-port P]\n"
		   "                       [--kms-max-connections N]\n"
		   "                       [--hello-timeout MS] [--idle-timeout MS]\n"
		   "\n"
		   "Serves the sealbid parent<->enclave channel on vsock port P (default %u).\n"
		   "With SEALBID_VSOCK_DIR set, listens on the Unix socket\n"
		   "$SEALBID_VSOCK_DIR/$SEALBID_VSOCK_CID.P instead (local runs).\n"
		   "KMS is reached through the parent's proxy on vsock port %u of CID %u;\n"
		   "its URL is https://kms.<manifest region>.amazonaws.com unless the image's\n"
		   "configuration sets --kms-endpoint (local stacks).\n"
		   "At most --kms-max-connections N (1..%u, default %u) KMS connections are\n"
		   "open at once, all jobs together: the stock vsock-proxy serves only its\n"
		   "--num_workers (default 4) at a time (docs/DEPLOY.md).\n"
		   "A connection must send Hello within --hello-timeout ms (default %u) and,\n"
		   "with no job running, is closed after --idle-timeout ms without a\n"
		   "message (default %u); past 64 connections a new one is told \"enclave busy\".\n"
		   "Logging: SEALBID_LOG=error|warn|info|debug.\n",
		   SB_VSOCK_DEFAULT_PORT, SB_ENCLAVE_KMS_PROXY_PORT, SB_ENCLAVE_KMS_PROXY_CID,
		   SB_KMS_BUDGET_MAX, SB_KMS_BUDGET_DEFAULT, SB_SERVER_DEFAULT_HELLO_MS, SB_SERVER_DEFAULT_IDLE_MS);
}

static int u32_arg(const char *name, const char *v, uint32_t max, uint32_t *out)
{
	if (sb_ok(sb_parse_u32_str(v, 1, max, out)))
		return 0;
	fprintf(stderr, "sealbid-enclave: %s: %s\n", name, sb_error_describe());
	return EXIT_USAGE;
}

/* 0 ok, EXIT_USAGE on bad arguments, -1 when --help was printed. */
static int parse_args(int argc, char **argv, uint32_t *port, struct sb_enclave *e)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return -1;
		}
		if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			if (u32_arg("--port", argv[++i], UINT32_MAX - 1, port) != 0)
				return EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--kms-proxy-port") == 0 && i + 1 < argc) {
			if (u32_arg("--kms-proxy-port", argv[++i], UINT32_MAX - 1,
				    &e->kms_proxy_port) != 0)
				return EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--kms-max-connections") == 0 && i + 1 < argc) {
			if (u32_arg("--kms-max-connections", argv[++i], SB_KMS_BUDGET_MAX,
				    &e->kms_max_connections) != 0)
				return EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--hello-timeout") == 0 && i + 1 < argc) {
			if (u32_arg("--hello-timeout", argv[++i], 3600000, &e->hello_timeout_ms) != 0)
				return EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--idle-timeout") == 0 && i + 1 < argc) {
			if (u32_arg("--idle-timeout", argv[++i], 86400000, &e->idle_timeout_ms) != 0)
				return EXIT_USAGE;
			continue;
		}
		if (strcmp(argv[i], "--kms-endpoint") == 0 && i + 1 < argc) {
			e->kms_endpoint = argv[++i];
			continue;
		}
		fprintf(stderr, "sealbid-enclave: unexpected argument '%s' (see --help)\n", argv[i]);
		return EXIT_USAGE;
	}
	return 0;
}

static SB_RESULT signals_setup(int *out_fd)
{
	struct sigaction ign = {.sa_handler = SIG_IGN};
	sigset_t set;

	SB_ENSURE_MSG(sigaction(SIGPIPE, &ign, NULL) == 0, SB_ERR_INTERNAL, "sigaction: %s",
		      strerror(errno));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Blocked before any thread starts, so every thread inherits the mask. */
	SB_ENSURE_MSG(sigprocmask(SIG_BLOCK, &set, NULL) == 0, SB_ERR_INTERNAL,
		      "sigprocmask: %s", strerror(errno));
	*out_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	SB_ENSURE_MSG(*out_fd >= 0, SB_ERR_INTERNAL, "signalfd: %s", strerror(errno));
	return SB_OK_RESULT;
}

static void on_signal(struct sb_server *s, int fd, void *arg)
{
	struct signalfd_siginfo si;

	(void)arg;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	sb_log_info("signal %u: stopping", si.ssi_signo);
	sb_server_stop(s);
}

static SB_RESULT serve(struct sb_enclave *enclave, uint32_t port, int sig_fd)
{
	struct sb_server_config cfg = {
		.dispatch = sb_enclave_dispatch,
		.dispatch_len = sb_enclave_dispatch_len,
		.app = enclave,
		.conn_open = sb_enclave_conn_open,
		.conn_close = sb_enclave_conn_close,
		.hello_timeout_ms = enclave->hello_timeout_ms,
		.idle_timeout_ms = enclave->idle_timeout_ms,
	};
	struct sb_server *srv = NULL;
	struct sb_server_stats st;
	sb_result rc;
	int lfd;

	SB_GUARD(sb_vsock_listen(port, &lfd));
	SB_GUARD(sb_server_new(lfd, &cfg, &srv));
	SB_GUARD_GOTO(rc, sb_server_watch(srv, sig_fd, on_signal, NULL), out);
	sb_log_info("listening on port %u; at most %u KMS connections at once", port,
		    enclave->kms_max_connections);
	SB_GUARD_GOTO(rc, sb_server_run(srv), out);
	/* Job threads post to the server: let them finish before it goes. */
	pthread_mutex_lock(&enclave->jobs_lock);
	while (enclave->jobs_running > 0)
		pthread_cond_wait(&enclave->jobs_done, &enclave->jobs_lock);
	pthread_mutex_unlock(&enclave->jobs_lock);
	sb_server_get_stats(srv, &st);
	sb_log_info("stopped: %llu connections, %llu frames in, %llu protocol errors",
		    (unsigned long long)st.accepted, (unsigned long long)st.frames_in,
		    (unsigned long long)st.protocol_errors);
	sb_log_info("KMS connections: at most %u open at once (cap %u)",
		    sb_kms_budget_peak(&enclave->kms_budget), enclave->kms_max_connections);
out:
	sb_server_free(srv);
	return rc;
}

static void enclave_init(struct sb_enclave *e)
{
	memset(e, 0, sizeof(*e));
	e->kms_proxy_cid = SB_ENCLAVE_KMS_PROXY_CID;
	e->kms_proxy_port = SB_ENCLAVE_KMS_PROXY_PORT;
	e->kms_max_connections = SB_KMS_BUDGET_DEFAULT;
	pthread_mutex_init(&e->nsm_lock, NULL);
	pthread_mutex_init(&e->jobs_lock, NULL);
	pthread_cond_init(&e->jobs_done, NULL);
}

int main(int argc, char **argv)
{
	struct sb_enclave enclave;
	uint32_t port = SB_VSOCK_DEFAULT_PORT;
	int sig_fd = -1, status = 0;
	int r;

	sb_log_init("sealbid-enclave");
	/* Before any secret exists: no core dump, no same-user ptrace or /proc/PID/mem. */
	if (!sb_ok(sb_process_protect())) {
		sb_log_error("%s", sb_error_describe());
		return 1;
	}
	enclave_init(&enclave);
	r = parse_args(argc, argv, &port, &enclave);
	if (r != 0)
		return r < 0 ? 0 : r;
	sb_kms_budget_init(&enclave.kms_budget, enclave.kms_max_connections);
	/* Without an NSM the channel still works; every job then fails clearly. */
	if (!sb_ok(sb_nsm_open(&enclave.nsm)))
		sb_log_warn("no NSM: %s", sb_error_describe());
	else
		sb_enclave_spare_start(&enclave);
	if (!sb_ok(signals_setup(&sig_fd)) || !sb_ok(serve(&enclave, port, sig_fd))) {
		sb_log_error("%s", sb_error_describe());
		status = 1;
	}
	sb_enclave_spare_stop(&enclave);
	if (sig_fd >= 0)
		close(sig_fd);
	sb_nsm_close(enclave.nsm);
	sb_kms_budget_cleanup(&enclave.kms_budget);
	return status;
}
