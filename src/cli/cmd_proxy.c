/*
 * sealbid proxy: the local vsock-proxy. Listens on a vsock port (the Unix
 * mapping when SEALBID_VSOCK_DIR is set, where it takes CID 3, the parent's)
 * and relays every connection to one allowed TCP host:port. In production
 * AWS's own `vsock-proxy 8000 kms.<region>.amazonaws.com 443` plays this
 * part (docs/DEPLOY.md).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sb_parse.h"
#include "host/sb_proxy.h"
#include "wire/sb_vsock.h"

static struct sb_proxy *proxy_for_signal;

static void on_stop_signal(int sig)
{
	(void)sig;
	sb_proxy_stop(proxy_for_signal);
}

static void proxy_usage(FILE *f)
{
	fprintf(f, "usage: sealbid proxy --port PORT --to HOST:PORT [--cid CID] [--max-conns N]\n"
		   "                     [--num-workers N]\n"
		   "\n"
		   "Relays connections on vsock port PORT to HOST:PORT over TCP (both ways,\n"
		   "half-close kept), like AWS's vsock-proxy. With SEALBID_VSOCK_DIR set, the\n"
		   "vsock port is the Unix socket $SEALBID_VSOCK_DIR/<cid>.<port>.\n"
		   "\n"
		   "  --port PORT      vsock port to listen on (e.g. 8000)\n"
		   "  --to HOST:PORT   the one allowed destination (e.g. kms.us-east-1.amazonaws.com:443)\n"
		   "  --cid CID        own CID for the Unix mapping (default 3, the parent)\n"
		   "  --max-conns N    connections open at once, served or waiting (default %u);\n"
		   "                   more are refused\n"
		   "  --num-workers N  connections served at once (default: --max-conns); the\n"
		   "                   rest wait their turn, as with vsock-proxy --num_workers\n"
		   "                   (its default is %u)\n"
		   "\n"
		   "Stops cleanly on SIGTERM or SIGINT, then prints on stderr how many\n"
		   "connections it saw and the most open and served at once.\n",
		SB_PROXY_DEFAULT_CONNS, SB_PROXY_VSOCK_DEFAULT_WORKERS);
}

static int parse_args(int argc, char **argv, struct sb_proxy_config *cfg, const char **cid)
{
	bool have_port = false, have_to = false;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (v == NULL)
			return sb_cli_usage_error("proxy", "%s needs a value", a);
		if (strcmp(a, "--port") == 0) {
			if (!sb_ok(sb_parse_u32_str(v, 1, UINT32_MAX - 1, &cfg->listen_port)))
				return sb_cli_usage_error("proxy", "--port: not a port number");
			have_port = true;
		} else if (strcmp(a, "--to") == 0) {
			if (!sb_ok(sb_proxy_parse_target(v, cfg)))
				return sb_cli_usage_error("proxy", "--to: %s", sb_error_detail());
			have_to = true;
		} else if (strcmp(a, "--cid") == 0) {
			uint32_t c;
			if (!sb_ok(sb_parse_u32_str(v, 2, UINT32_MAX - 1, &c)))
				return sb_cli_usage_error("proxy", "--cid: not a CID");
			*cid = v;
		} else if (strcmp(a, "--max-conns") == 0) {
			if (!sb_ok(sb_parse_u32_str(v, 1, 65536, &cfg->max_conns)))
				return sb_cli_usage_error("proxy", "--max-conns: 1..65536");
		} else if (strcmp(a, "--num-workers") == 0) {
			if (!sb_ok(sb_parse_u32_str(v, 1, 65536, &cfg->num_workers)))
				return sb_cli_usage_error("proxy", "--num-workers: 1..65536");
		} else {
			return sb_cli_usage_error("proxy", "unknown option '%s'", a);
		}
		i++;
	}
	if (!have_port || !have_to)
		return sb_cli_usage_error("proxy", "--port and --to are required");
	if (cfg->num_workers > (cfg->max_conns != 0 ? cfg->max_conns : SB_PROXY_DEFAULT_CONNS))
		return sb_cli_usage_error("proxy", "--num-workers cannot exceed --max-conns");
	return SB_EXIT_OK;
}

int sb_cmd_proxy(int argc, char **argv)
{
	struct sb_proxy_config cfg = {0};
	struct sb_proxy *p = NULL;
	struct sb_proxy_stats st;
	const char *cid = "3";
	struct sigaction sa;
	int rc;

	if (sb_cli_wants_help(argc, argv)) {
		proxy_usage(stdout);
		return SB_EXIT_OK;
	}
	rc = parse_args(argc, argv, &cfg, &cid);
	if (rc != SB_EXIT_OK)
		return rc;
	/* The Unix mapping names sockets by the listener's own CID. */
	if (setenv(SB_VSOCK_ENV_CID, cid, 1) != 0 || !sb_ok(sb_proxy_new(&cfg, &p)))
		return sb_cli_fail("proxy");
	proxy_for_signal = p;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	rc = sb_ok(sb_proxy_run(p)) ? SB_EXIT_OK : sb_cli_fail("proxy");
	proxy_for_signal = NULL;
	sb_proxy_stats(p, &st);
	/* One line for operators and tests: did anything wait, how many at once. */
	fprintf(stderr,
		"sealbid proxy: %llu connections; at most %u open at once, %u served at once "
		"(workers %u); %llu waited for a worker\n",
		(unsigned long long)st.accepted, st.peak_open, st.peak_served,
		cfg.num_workers != 0 ? cfg.num_workers
				     : (cfg.max_conns != 0 ? cfg.max_conns : SB_PROXY_DEFAULT_CONNS),
		(unsigned long long)st.waited);
	sb_proxy_free(p);
	return rc;
}
