/*
 * sealbid ping: connects to an enclave's channel, runs the Hello handshake
 * and sends pipelined Pings, then reports round-trip latency.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sb_parse.h"
#include "wire/sb_client.h"
#include "wire/sb_ping.h"
#include "wire/sb_vsock.h"

struct ping_args {
	uint32_t cid, port, count, window, size, timeout_ms;
	bool have_cid, json;
};

static void ping_usage(FILE *f)
{
	fprintf(f,
		"usage: sealbid ping --cid N [--port P] [--count K] [--window W] [--size B]\n"
		"                    [--timeout-ms T] [--json]\n"
		"\n"
		"Connects to the enclave at vsock (N, P), runs the channel handshake and sends\n"
		"K Pings with up to W in flight, each carrying B bytes that the Pong must echo.\n"
		"Reports min / median / p99 / max round-trip time and pings per second.\n"
		"\n"
		"  --cid N         enclave CID (required)\n"
		"  --port P        enclave port (default %u)\n"
		"  --count K       pings to send (default 10)\n"
		"  --window W      pings in flight at once, 1..%u (default 16)\n"
		"  --size B        payload bytes per ping, up to %u (default 32)\n"
		"  --timeout-ms T  per-step timeout (default 10000)\n"
		"  --json          machine-readable output\n"
		"\n"
		"With SEALBID_VSOCK_DIR set, (N, P) is the Unix socket $SEALBID_VSOCK_DIR/N.P.\n",
		SB_VSOCK_DEFAULT_PORT, SB_PING_MAX_WINDOW, SB_MSG_PING_MAX_PAYLOAD);
}

/* One "--name value" pair into *out; false (usage printed) on a bad value. */
static bool num_arg(const char *name, const char *value, uint32_t min, uint32_t max,
		    uint32_t *out)
{
	if (sb_ok(sb_parse_u32_str(value, min, max, out)))
		return true;
	(void)sb_cli_usage_error("ping", "%s: %s (allowed %u..%u)", name, sb_error_describe(), min,
				 max);
	return false;
}

static int parse_ping_args(int argc, char **argv, struct ping_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok;
		if (strcmp(o, "--json") == 0) {
			a->json = true;
			continue;
		}
		if (v == NULL)
			return sb_cli_usage_error("ping", "unknown option or missing value: %s", o);
		if (strcmp(o, "--cid") == 0)
			ok = a->have_cid = num_arg(o, v, 0, UINT32_MAX, &a->cid);
		else if (strcmp(o, "--port") == 0)
			ok = num_arg(o, v, 0, UINT32_MAX, &a->port);
		else if (strcmp(o, "--count") == 0)
			ok = num_arg(o, v, 1, 10000000, &a->count);
		else if (strcmp(o, "--window") == 0)
			ok = num_arg(o, v, 1, SB_PING_MAX_WINDOW, &a->window);
		else if (strcmp(o, "--size") == 0)
			ok = num_arg(o, v, 0, SB_MSG_PING_MAX_PAYLOAD, &a->size);
		else if (strcmp(o, "--timeout-ms") == 0)
			ok = num_arg(o, v, 1, 3600000, &a->timeout_ms);
		else
			return sb_cli_usage_error("ping", "unknown option: %s", o);
		if (!ok)
			return SB_EXIT_USAGE;
		i++;
	}
	if (!a->have_cid)
		return sb_cli_usage_error("ping", "--cid is required");
	return SB_EXIT_OK;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static void print_stats(const struct ping_args *a, uint16_t version, const struct sb_ping_stats *st)
{
	double rate = st->total_ns > 0 ? (double)st->count * 1e9 / (double)st->total_ns : 0.0;

	if (a->json) {
		printf("{\"cid\":%u,\"port\":%u,\"count\":%zu,\"window\":%u,\"payload_bytes\":%u,"
		       "\"protocol_version\":%u,\"min_ms\":%.3f,\"median_ms\":%.3f,\"p99_ms\":%.3f,"
		       "\"max_ms\":%.3f,\"total_ms\":%.3f,\"pings_per_second\":%.0f}\n",
		       a->cid, a->port, st->count, a->window, a->size, version, ms(st->min_ns),
		       ms(st->p50_ns), ms(st->p99_ns), ms(st->max_ns), ms(st->total_ns), rate);
		return;
	}
	printf("ping cid %u port %u: %zu pings of %u bytes, %u in flight, protocol version %u\n",
	       a->cid, a->port, st->count, a->size, a->window, version);
	printf("round trip: min %.3f ms, median %.3f ms, p99 %.3f ms, max %.3f ms\n",
	       ms(st->min_ns), ms(st->p50_ns), ms(st->p99_ns), ms(st->max_ns));
	printf("%.0f pings/s over %.3f ms\n", rate, ms(st->total_ns));
}

int sb_cmd_ping(int argc, char **argv)
{
	struct ping_args a = {.port = SB_VSOCK_DEFAULT_PORT, .count = 10, .window = 16,
			      .size = 32, .timeout_ms = 10000};
	struct sb_wire_client *c = NULL;
	struct sb_ping_stats st;
	struct sb_ping_opts po;
	int r;

	if (sb_cli_wants_help(argc, argv)) {
		ping_usage(stdout);
		return SB_EXIT_OK;
	}
	r = parse_ping_args(argc, argv, &a);
	if (r != SB_EXIT_OK)
		return r;
	if (a.window > a.count)
		a.window = a.count;
	struct sb_wire_client_opts co = {.timeout_ms = (int)a.timeout_ms};
	if (!sb_ok(sb_wire_client_connect(a.cid, a.port, &co, &c)))
		return sb_cli_fail("ping");
	po = (struct sb_ping_opts){.count = a.count, .window = a.window, .payload_len = a.size};
	if (!sb_ok(sb_ping_run(c, &po, &st))) {
		sb_wire_client_free(c);
		return sb_cli_fail("ping");
	}
	print_stats(&a, sb_wire_client_version(c), &st);
	sb_wire_client_free(c);
	return SB_EXIT_OK;
}
