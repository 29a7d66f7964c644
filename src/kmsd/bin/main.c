/*
 * sealbid-kms: a KMS-compatible server for development and tests.
 *
 *   sealbid-kms --listen 127.0.0.1:PORT --data DIR [--config FILE]
 *               [--threads N] [--port-file FILE] [--idle-timeout S]
 *               [--max-connections N] [--max-per-ip N]
 *
 * Without --config it runs with the documented development principal (see
 * docs/KMS.md). It prints nothing secret; SEALBID_LOG=info logs one line per
 * request. SIGINT/SIGTERM stop it cleanly.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/sb_file.h"
#include "common/sb_log.h"
#include "common/sb_mem.h"
#include "common/sb_parse.h"
#include "kmsd/sb_kmsd.h"
#include "kmsd/sb_kmsd_config.h"
#include "kmsd/sb_kmsd_http.h"

#define PROG "sealbid-kms"

/*
 * The default thread pool: one thread per online CPU, at least 4 (a request
 * is CPU-bound, RSA and AES; 4 keeps a small machine busy while one thread
 * waits on a SQLite fsync), at most the server's 64.
 */
static unsigned default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 4)
		return 4;
	return n > 64 ? 64 : (unsigned)n;
}

struct opts {
	char host[64];
	uint16_t port;
	const char *data;
	const char *config;
	const char *port_file;
	struct sb_kmsd_http_limits limits;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " --listen HOST:PORT --data DIR [--config FILE]\n"
		   "                   [--threads N] [--port-file FILE] [--idle-timeout S]\n"
		   "                   [--max-connections N] [--max-per-ip N]\n\n"
		   "A KMS-compatible server (AWS KMS JSON 1.1 API subset, SigV4, key policies\n"
		   "with kms:RecipientAttestation conditions). Keys live in DIR/kms.sqlite3.\n"
		   "Without --config it runs with the development principal of docs/KMS.md.\n"
		   "PORT 0 picks a free port; --port-file writes the port chosen.\n"
		   "--threads N (1..64) sizes the HTTP thread pool; the default is the number\n"
		   "of online CPUs, at least 4.\n"
		   "--idle-timeout S (1..3600, default %u) closes a connection silent for S\n"
		   "seconds, also in the middle of its headers; --max-connections N (default\n"
		   "%u) and --max-per-ip N (default %u) cap the connections open at once.\n",
		SB_KMSD_HTTP_DEFAULT_IDLE_S, SB_KMSD_HTTP_DEFAULT_CONNECTIONS,
		SB_KMSD_HTTP_DEFAULT_PER_IP);
}

static SB_RESULT parse_listen(const char *arg, struct opts *o)
{
	const char *colon = strrchr(arg, ':');
	uint32_t port;

	SB_ENSURE_MSG(colon != NULL && (size_t)(colon - arg) < sizeof(o->host) && colon != arg,
		      SB_ERR_USAGE, "--listen wants HOST:PORT");
	memcpy(o->host, arg, (size_t)(colon - arg));
	o->host[colon - arg] = '\0';
	SB_GUARD(sb_parse_u32_str(colon + 1, 0, 65535, &port));
	o->port = (uint16_t)port;
	return SB_OK_RESULT;
}

/* Returns 0 to run, 1 for --help, 2 for a usage error. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, 'l'}, {"data", required_argument, NULL, 'd'},
		{"config", required_argument, NULL, 'c'}, {"threads", required_argument, NULL, 't'},
		{"port-file", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"max-connections", required_argument, NULL, 'm'},
		{"max-per-ip", required_argument, NULL, 'P'},
		{NULL, 0, NULL, 0},
	};
	bool listen = false;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (!sb_ok(parse_listen(optarg, o)))
				return 2;
			listen = true;
			break;
		case 'd':
			o->data = optarg;
			break;
		case 'c':
			o->config = optarg;
			break;
		case 't':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, 64, &o->limits.threads)))
				return 2;
			break;
		case 'i':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, 3600, &o->limits.idle_timeout_s)))
				return 2;
			break;
		case 'm':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, 16384, &o->limits.max_connections)))
				return 2;
			break;
		case 'P':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, 16384, &o->limits.max_per_ip)))
				return 2;
			break;
		case 'p':
			o->port_file = optarg;
			break;
		case 'h':
			return 1;
		default:
			return 2;
		}
	}
	if (o->limits.max_per_ip > (o->limits.max_connections != 0
					    ? o->limits.max_connections
					    : SB_KMSD_HTTP_DEFAULT_CONNECTIONS)) {
		fprintf(stderr, PROG ": --max-per-ip exceeds --max-connections\n");
		return 2;
	}
	return (listen && o->data != NULL && optind == argc) ? 0 : 2;
}

static SB_RESULT write_port(const char *path, uint16_t port)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", (unsigned)port);

	SB_ENSURE(n > 0 && (size_t)n < sizeof(text), SB_ERR_INTERNAL);
	return sb_file_write_atomic(path, SB_SLICE(text, (size_t)n), 0644);
}

/* Waits for SIGINT/SIGTERM (blocked in every thread, taken here). */
static void wait_for_signal(void)
{
	sigset_t set;
	int sig = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	(void)sigwait(&set, &sig);
	sb_log_info("signal %d: stopping", sig);
}

static int serve(const struct opts *o, const struct sb_kmsd_config *cfg)
{
	struct sb_kmsd *k = NULL;
	struct sb_kmsd_http *http = NULL;
	sb_result rc = sb_kmsd_new(cfg, o->data, &k);

	if (sb_ok(rc))
		rc = sb_kmsd_http_start_limits(k, o->host, o->port, &o->limits, &http);
	if (sb_ok(rc) && o->port_file != NULL)
		rc = write_port(o->port_file, sb_kmsd_http_port(http));
	if (!sb_ok(rc)) {
		fprintf(stderr, PROG ": %s\n", sb_error_describe());
		sb_kmsd_http_stop(http);
		sb_kmsd_free(k);
		return 1;
	}
	fprintf(stderr, PROG ": listening on http://%s:%u (region %s, account %s, %zu principals)\n",
		o->host, (unsigned)sb_kmsd_http_port(http), cfg->region, cfg->account_id,
		cfg->n_principals);
	wait_for_signal();
	sb_kmsd_http_stop(http);
	sb_kmsd_free(k);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {.limits.threads = default_threads()};
	struct sb_kmsd_config cfg;
	sigset_t set;
	int rc;

	sb_log_init(argv[0]);
	/* Before any key or credential is loaded: no core dump, no same-user ptrace. */
	if (!sb_ok(sb_process_protect())) {
		fprintf(stderr, PROG ": %s\n", sb_error_describe());
		return 1;
	}
	switch (parse_args(argc, argv, &o)) {
	case 0:
		break;
	case 1:
		usage(stdout);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
	/* Block the stop signals before any thread starts, so only sigwait sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	sb_kmsd_config_init(&cfg);
	sb_result r = o.config != NULL ? sb_kmsd_config_load(o.config, &cfg)
				       : sb_kmsd_config_default(&cfg);
	if (!sb_ok(r)) {
		fprintf(stderr, PROG ": %s\n", sb_error_describe());
		sb_kmsd_config_cleanup(&cfg);
		return 1;
	}
	if (o.config == NULL)
		fprintf(stderr, PROG ": no --config: using the DEVELOPMENT-ONLY principal %s "
				"(access key %s, see docs/KMS.md)\n",
			SB_KMSD_DEV_ARN, SB_KMSD_DEV_ACCESS_KEY);
	rc = serve(&o, &cfg);
	sb_kmsd_config_cleanup(&cfg);
	return rc;
}
