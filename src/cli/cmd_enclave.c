/* sealbid enclave run|describe|terminate|dev-root: the local launcher, as nitro-cli. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sb_file.h"
#include "common/sb_parse.h"
#include "host/sb_launcher.h"
#include "host/sb_nsm_emu.h"

static const char usage_text[] =
	"usage: sealbid enclave run --image IMAGE [--cid N] [--debug-mode] [--state DIR]\n"
	"                           [--vsock-dir DIR] [--wait-port P] [--wait-ms MS]\n"
	"                           [--test-cert-lifetime S]\n"
	"       sealbid enclave describe [--state DIR]\n"
	"       sealbid enclave terminate (--enclave-id ID | --all) [--state DIR]\n"
	"       sealbid enclave dev-root [--state DIR]\n"
	"\n"
	"Plays the Nitro hypervisor on a machine without Nitro: starts the enclave\n"
	"application of a local image (see 'sealbid image build') as its own process,\n"
	"measured at launch, with an emulated NSM whose development CA lives in the\n"
	"state directory (dev-root prints its root certificate for verifiers), vsock\n"
	"mapped to Unix sockets in the vsock directory, and, as root, no network.\n"
	"\n"
	"  --state DIR      state directory (default $SEALBID_STATE, $XDG_STATE_HOME/sealbid\n"
	"                   or ~/.local/state/sealbid)\n"
	"  --vsock-dir DIR  vsock mapping directory (default $SEALBID_VSOCK_DIR or STATE/vsock);\n"
	"                   parent-side commands need SEALBID_VSOCK_DIR set to the same\n"
	"  --cid N          enclave CID (default: the lowest free from 16)\n"
	"  --debug-mode     PCR0/1/2/8 are zero, as in a Nitro debug-mode enclave\n"
	"  --wait-port P    return once the enclave listens on vsock port P (default 5005; 0: don't)\n"
	"  --test-cert-lifetime S  tests only: the emulated NSM's attestation certificates\n"
	"                   live S seconds (10..10800) instead of 3 hours\n";

static int enclave_run(int argc, char **argv, const char *state)
{
	static const struct option opts[] = {
		{"image", required_argument, NULL, 'i'},   {"cid", required_argument, NULL, 'c'},
		{"debug-mode", no_argument, NULL, 'd'},    {"vsock-dir", required_argument, NULL, 'v'},
		{"wait-port", required_argument, NULL, 'w'}, {"wait-ms", required_argument, NULL, 'm'},
		{"state", required_argument, NULL, 's'},
		{"test-cert-lifetime", required_argument, NULL, 'L'}, {NULL, 0, NULL, 0},
	};
	struct sb_launch_opts o = {.state_dir = state, .wait_port = 5005, .wait_ms = 10000};
	struct sb_enclave_info info;
	struct sb_buf json = SB_BUF_INIT(4096);
	char vdir[PATH_MAX];
	int c;

	o.vsock_dir = getenv("SEALBID_VSOCK_DIR");
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.image_path = optarg;
			break;
		case 'c':
			if (!sb_ok(sb_parse_u32_str(optarg, 3, UINT32_MAX - 1, &o.cid)))
				return sb_cli_usage_error("enclave run", "bad --cid");
			break;
		case 'd':
			o.debug_mode = true;
			break;
		case 'v':
			o.vsock_dir = optarg;
			break;
		case 'w':
			if (!sb_ok(sb_parse_u32_str(optarg, 0, UINT32_MAX, &o.wait_port)))
				return sb_cli_usage_error("enclave run", "bad --wait-port");
			break;
		case 'm':
			if (!sb_ok(sb_parse_u32_str(optarg, 1, 600000, &o.wait_ms)))
				return sb_cli_usage_error("enclave run", "bad --wait-ms");
			break;
		case 's':
			o.state_dir = optarg;
			break;
		case 'L':
			if (!sb_ok(sb_parse_u32_str(optarg, 10, SB_NSM_EMU_LEAF_VALIDITY_S,
						    &o.leaf_validity_s)))
				return sb_cli_usage_error("enclave run", "bad --test-cert-lifetime");
			break;
		default:
			return sb_cli_usage_error("enclave run", "unknown option");
		}
	}
	if (o.image_path == NULL || optind != argc)
		return sb_cli_usage_error("enclave run", "--image IMAGE is required");
	if (o.vsock_dir == NULL || *o.vsock_dir == '\0') {
		(void)snprintf(vdir, sizeof(vdir), "%s/vsock", o.state_dir);
		o.vsock_dir = vdir;
		fprintf(stderr, "sealbid enclave run: vsock mapped to %s "
				"(export SEALBID_VSOCK_DIR=%s for parent-side commands)\n",
			vdir, vdir);
	}
	if (!sb_ok(sb_launcher_run(&o, &info)) || !sb_ok(sb_enclave_info_json(&info, &json))) {
		sb_buf_cleanup(&json);
		return sb_cli_fail("enclave run");
	}
	printf("%s\n", sb_buf_cstr(&json));
	sb_buf_cleanup(&json);
	return SB_EXIT_OK;
}

static int enclave_describe(const char *state)
{
	struct sb_buf json = SB_BUF_INIT(1 << 20);

	if (!sb_ok(sb_launcher_describe(state, &json))) {
		sb_buf_cleanup(&json);
		return sb_cli_fail("enclave describe");
	}
	printf("%s\n", sb_buf_cstr(&json));
	sb_buf_cleanup(&json);
	return SB_EXIT_OK;
}

static int enclave_terminate(int argc, char **argv, const char *state)
{
	const char *id = NULL;
	bool all = false;
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0)
			all = true;
		else if (strcmp(argv[i], "--enclave-id") == 0 && i + 1 < argc)
			id = argv[++i];
		else
			return sb_cli_usage_error("enclave terminate", "unexpected '%s'", argv[i]);
	}
	if (all == (id != NULL))
		return sb_cli_usage_error("enclave terminate", "give --enclave-id ID or --all");
	if (!sb_ok(sb_launcher_terminate(state, id, &n)))
		return sb_cli_fail("enclave terminate");
	printf("{\"Terminated\":%zu}\n", n);
	return SB_EXIT_OK;
}

static int enclave_dev_root(const char *state)
{
	struct sb_buf pem = SB_BUF_INIT(1 << 16);

	if (!sb_ok(sb_nsm_emu_ca_ensure(state, &pem))) {
		sb_buf_cleanup(&pem);
		return sb_cli_fail("enclave dev-root");
	}
	fputs(sb_buf_cstr(&pem), stdout);
	sb_buf_cleanup(&pem);
	return SB_EXIT_OK;
}

/* Takes --state DIR out of argv (anywhere) so each verb sees only its own options. */
static int take_state(int *argc, char **argv, char *state, size_t n)
{
	int out = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--state") == 0) {
			if (i + 1 >= *argc)
				return -1;
			(void)snprintf(state, n, "%s", argv[++i]);
			continue;
		}
		argv[out++] = argv[i];
	}
	*argc = out;
	return 0;
}

int sb_cmd_enclave(int argc, char **argv)
{
	char state[PATH_MAX];

	if (argc < 2 || sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? SB_EXIT_USAGE : SB_EXIT_OK;
	}
	if (!sb_ok(sb_state_dir(state, sizeof(state))))
		return sb_cli_fail("enclave");
	if (take_state(&argc, argv, state, sizeof(state)) != 0)
		return sb_cli_usage_error("enclave", "--state needs a directory");
	if (strcmp(argv[1], "run") == 0)
		return enclave_run(argc - 1, argv + 1, state);
	if (strcmp(argv[1], "describe") == 0 && argc == 2)
		return enclave_describe(state);
	if (strcmp(argv[1], "terminate") == 0)
		return enclave_terminate(argc - 1, argv + 1, state);
	if (strcmp(argv[1], "dev-root") == 0 && argc == 2)
		return enclave_dev_root(state);
	return sb_cli_usage_error("enclave", "unknown verb '%s'", argv[1]);
}
