/*
 * sealbid image: build a local enclave image, or print the PCRs of a local
 * image or of an AWS EIF (the latter exactly as nitro-cli describe-eif does).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/sb_file.h"
#include "host/sb_eif.h"
#include "host/sb_measure.h"

static const char usage_text[] =
    "usage: sealbid image build --enclave PATH [--config FILE] -o IMAGE\n"
    "       sealbid image measure IMAGE\n"
    "\n"
    "build    packs the sealbid-enclave binary (and an optional configuration file)\n"
    "         into a local enclave image (format: docs/FORMATS.md) and prints its\n"
    "         measurements, as 'nitro-cli build-enclave' does.\n"
    "measure  prints an image's PCR0 (whole image), PCR1 (boot stand-ins) and PCR2\n"
    "         (application) in nitro-cli's JSON shape:\n"
    "         {\"Measurements\":{\"HashAlgorithm\":\"Sha384 { ... }\",\"PCR0\":...}}\n"
    "         The local launcher derives the emulated NSM's PCRs the same way, so key\n"
    "         policies made from this output work.\n";

static int print_measurement(const struct sb_measurement *m, const char *cmd)
{
	struct sb_buf json = SB_BUF_INIT(1024);
	int status = SB_EXIT_OK;
	if (sb_ok(sb_measurement_json(m, &json)))
		fputs(sb_buf_cstr(&json), stdout);
	else
		status = sb_cli_fail(cmd);
	sb_buf_cleanup(&json);
	return status;
}

static SB_RESULT read_named(const char *path, struct sb_buf *out)
{
	sb_result rc = sb_file_read(path, out);
	if (!sb_ok(rc))
		sb_error_context("%s", path);
	return rc;
}

static int build(const char *enclave, const char *config, const char *out_path)
{
	struct sb_buf app = SB_BUF_INIT(SB_IMAGE_MAX), cfg = SB_BUF_INIT(SB_IMAGE_CONFIG_MAX),
	              img = SB_BUF_INIT(SB_IMAGE_MAX);
	struct sb_measurement m;
	int status = SB_EXIT_FAIL;
	if (!sb_ok(read_named(enclave, &app)) ||
	    (config != NULL && !sb_ok(read_named(config, &cfg))) ||
	    !sb_ok(sb_image_build(sb_buf_slice(&app), sb_buf_slice(&cfg), &img)) ||
	    !sb_ok(sb_image_measure(sb_buf_slice(&img), &m)) ||
	    !sb_ok(sb_file_write_atomic(out_path, sb_buf_slice(&img), 0644))) {
		status = sb_cli_fail("image build");
		goto out;
	}
	status = print_measurement(&m, "image build");
out:
	sb_buf_cleanup(&app);
	sb_buf_cleanup(&cfg);
	sb_buf_cleanup(&img);
	return status;
}

static int cmd_build(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"enclave", required_argument, NULL, 'e'},
	    {"config", required_argument, NULL, 'c'},
	    {"output", required_argument, NULL, 'o'},
	    {NULL, 0, NULL, 0},
	};
	const char *enclave = NULL, *config = NULL, *out = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			enclave = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return sb_cli_usage_error("image build", "unknown option or missing value");
		}
	}
	if (enclave == NULL || out == NULL || optind != argc)
		return sb_cli_usage_error("image build",
		                          "--enclave PATH and -o IMAGE are required");
	return build(enclave, config, out);
}

enum image_format { FORMAT_EIF, FORMAT_LOCAL };

/* Which format path holds, from its magic; neither is an error. */
static SB_RESULT image_format(const char *path, enum image_format *out)
{
	int fd = -1;
	uint64_t size = 0;
	uint8_t head[sizeof(SB_IMAGE_MAGIC)] = {0};
	SB_GUARD(sb_file_open_regular(path, &fd, &size));
	ssize_t n = pread(fd, head, sizeof(head), 0);
	close(fd);
	struct sb_slice got = SB_SLICE(head, n > 0 ? (size_t)n : 0);
	if (sb_eif_has_magic(got)) {
		*out = FORMAT_EIF;
		return SB_OK_RESULT;
	}
	SB_ENSURE_MSG(
	    got.len == sizeof(head) && memcmp(head, SB_IMAGE_MAGIC, sizeof(SB_IMAGE_MAGIC)) == 0,
	    SB_ERR_ATTEST_BAD_IMAGE,
	    "%s: neither an AWS EIF ('.eif') nor a sealbid local image ('SBIMAGE')", path);
	*out = FORMAT_LOCAL;
	return SB_OK_RESULT;
}

static int measure_eif(const char *path)
{
	struct sb_eif_info info;
	struct sb_buf json = SB_BUF_INIT(1024);
	int status = SB_EXIT_OK;
	if (!sb_ok(sb_eif_measure_file(path, &info))) {
		sb_error_context("%s", path);
		status = sb_cli_fail("image measure");
	} else if (sb_ok(sb_eif_json(&info, &json))) {
		fputs(sb_buf_cstr(&json), stdout);
	} else {
		status = sb_cli_fail("image measure");
	}
	sb_buf_cleanup(&json);
	return status;
}

static int cmd_measure(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return sb_cli_usage_error("image measure", "exactly one FILE is required");
	enum image_format format = FORMAT_LOCAL;
	if (!sb_ok(image_format(argv[1], &format)))
		return sb_cli_fail("image measure");
	if (format == FORMAT_EIF)
		return measure_eif(argv[1]);
	struct sb_buf img = SB_BUF_INIT(SB_IMAGE_MAX);
	struct sb_measurement m;
	int status;
	if (!sb_ok(read_named(argv[1], &img)) || !sb_ok(sb_image_measure(sb_buf_slice(&img), &m)))
		status = sb_cli_fail("image measure");
	else
		status = print_measurement(&m, "image measure");
	sb_buf_cleanup(&img);
	return status;
}

int sb_cmd_image(int argc, char **argv)
{
	if (sb_cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return SB_EXIT_OK;
	}
	if (argc < 2)
		return sb_cli_usage_error("image", "expected 'build' or 'measure'");
	if (strcmp(argv[1], "build") == 0)
		return cmd_build(argc - 1, argv + 1);
	if (strcmp(argv[1], "measure") == 0)
		return cmd_measure(argc - 1, argv + 1);
	return sb_cli_usage_error("image", "unknown subcommand '%.32s'", argv[1]);
}
