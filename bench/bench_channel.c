/*
 * Channel benchmark: round trips per second and latency percentiles for
 * pipelined Pings between a parent client and an in-process enclave server
 * (sb_server on its own thread), over the Unix-socket mapping of vsock in
 * a temporary directory. Printed beside the design floor of the AWS
 * bidding-service sample, whose parent and enclave each poll every 0.5 s,
 * so one request costs at least 1 s (DESIGN.md §8: no polling, no sleeps).
 *
 * usage: bench_channel [--count N]   (pings per scenario, default 20000)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sb_log.h"
#include "common/sb_parse.h"
#include "wire/sb_client.h"
#include "wire/sb_ping.h"
#include "wire/sb_server.h"
#include "wire/sb_vsock.h"

#define BENCH_PORT 5005u
#define BENCH_CID  16u
/* The AWS sample: 0.5 s polling on each side, so >= 1 s per request. */
#define SAMPLE_FLOOR_NS 1000000000.0

static sb_result echo_ping(struct sb_server_request *req)
{
	SB_GUARD(sb_msg_ping_check(req->payload));
	return sb_server_reply(req, SB_MSG_PONG, req->payload);
}

static const struct sb_server_dispatch bench_table[] = {
	{SB_MSG_PING, SB_WIRE_STATES_AFTER_HELLO, echo_ping},
};

static void *serve(void *arg)
{
	if (!sb_ok(sb_server_run(arg)))
		sb_log_error("server: %s", sb_error_describe());
	return NULL;
}

static void report(size_t window, size_t size, const struct sb_ping_stats *st)
{
	double rps = (double)st->count * 1e9 / (double)st->total_ns;
	printf("%8zu %8zu %12.0f %10.1f %10.1f %14.0fx %14.0fx\n", window, size, rps,
	       (double)st->p50_ns / 1e3, (double)st->p99_ns / 1e3, rps * SAMPLE_FLOOR_NS / 1e9,
	       SAMPLE_FLOOR_NS / (double)st->p50_ns);
}

static SB_RESULT run_scenarios(size_t count)
{
	static const struct {
		size_t window, size;
	} scenarios[] = {{1, 32}, {16, 32}, {64, 32}, {256, 32}, {64, 4096}, {16, 65536}};
	struct sb_wire_client *c = NULL;
	sb_result rc = SB_OK_RESULT;

	SB_GUARD(sb_wire_client_connect(BENCH_CID, BENCH_PORT, NULL, &c));
	printf("channel: %zu pipelined pings per row, Unix-socket mapping, 1 connection\n", count);
	printf("%8s %8s %12s %10s %10s %15s %15s\n", "window", "bytes", "round trips/s", "p50 us",
	       "p99 us", "vs sample rate", "vs sample p50");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		struct sb_ping_opts o = {.count = count, .window = scenarios[i].window,
					 .payload_len = scenarios[i].size};
		struct sb_ping_stats st;
		SB_GUARD_GOTO(rc, sb_ping_run(c, &o, &st), out);
		report(o.window, o.payload_len, &st);
	}
	printf("sample floor: 1 round trip/s, >= 1000000 us each (0.5 s polling on both sides)\n");
out:
	sb_wire_client_free(c);
	return rc;
}

static SB_RESULT bench(size_t count, const char *dir)
{
	struct sb_server_config cfg = {.dispatch = bench_table, .dispatch_len = 1};
	struct sb_server *srv = NULL;
	pthread_t loop;
	sb_result rc;
	int lfd;

	/* Always the Unix mapping: a benchmark never opens an AF_VSOCK socket. */
	SB_ENSURE(setenv(SB_VSOCK_ENV_DIR, dir, 1) == 0, SB_ERR_INTERNAL);
	SB_ENSURE(setenv(SB_VSOCK_ENV_CID, "16", 1) == 0, SB_ERR_INTERNAL);
	SB_GUARD(sb_vsock_listen(BENCH_PORT, &lfd));
	SB_GUARD(sb_server_new(lfd, &cfg, &srv));
	if (pthread_create(&loop, NULL, serve, srv) != 0) {
		sb_server_free(srv);
		SB_BAIL_MSG(SB_ERR_INTERNAL, "pthread_create failed");
	}
	rc = run_scenarios(count);
	sb_server_stop(srv);
	pthread_join(loop, NULL);
	sb_server_free(srv);
	return rc;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/sb-bench-XXXXXX";
	char path[64];
	uint64_t count = 20000;
	sb_result rc;

	sb_log_init("bench_channel");
	if (argc == 3 && strcmp(argv[1], "--count") == 0) {
		if (!sb_ok(sb_parse_u64_str(argv[2], 1, 10000000, &count))) {
			fprintf(stderr, "bench_channel: --count: %s\n", sb_error_describe());
			return 2;
		}
	} else if (argc != 1) {
		fprintf(stderr, "usage: bench_channel [--count N]\n");
		return 2;
	}
	if (mkdtemp(dir) == NULL) {
		perror("bench_channel: mkdtemp");
		return 1;
	}
	rc = bench((size_t)count, dir);
	snprintf(path, sizeof(path), "%s/%u.%u", dir, BENCH_CID, BENCH_PORT);
	unlink(path);
	rmdir(dir);
	if (!sb_ok(rc)) {
		fprintf(stderr, "bench_channel: %s\n", sb_error_describe());
		return 1;
	}
	return 0;
}
