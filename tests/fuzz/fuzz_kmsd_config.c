/*
 * Fuzz target for the sealbid-kms configuration parser
 * (src/kmsd/sb_kmsd_config.c), the whole input being the file. Relative
 * attestation_roots resolve in a directory holding root.der (the AWS Nitro
 * root) and junk.pem (not a certificate); inputs naming /dev, /proc or /sys
 * are skipped (a read of /dev/stdin would hang the run), and so are inputs
 * with "\/" or "\u002..." escapes, which could spell those paths. Properties checked
 * beyond "no crash" on every accepted file: 1..SB_KMSD_MAX_PRINCIPALS
 * principals, each with a 12-digit account equal to its ARN's, distinct
 * access keys, creds[] borrowing the principals, at most
 * SB_KMSD_MAX_ROOTS roots, and the roots handed to the attestation verifier
 * as sealbid-kms does.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/sb_verify.h"
#include "common/sb_log.h"
#include "kmsd/sb_kmsd_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/sb_fuzz_kmsd_config_XXXXXX";

static void write_file(const char *leaf, const void *p, size_t n)
{
	char path[128];
	int fd;

	(void)snprintf(path, sizeof(path), "%s/%s", dir, leaf);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static void setup(void)
{
	static bool ready;

	if (ready)
		return;
	sb_log_set_level(SB_LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		abort();
	struct sb_slice der = sb_attest_aws_root_der();
	write_file("root.der", der.ptr, der.len);
	write_file("junk.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 58);
	ready = true;
}

static bool mentions(const uint8_t *data, size_t size, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= size; i++)
		if (memcmp(data + i, s, n) == 0)
			return true;
	return false;
}

static void check(const struct sb_kmsd_config *cfg)
{
	char acct[13];
	struct sb_verify_opts o;

	if (cfg->n_principals == 0 || cfg->n_principals > SB_KMSD_MAX_PRINCIPALS ||
	    cfg->n_roots > SB_KMSD_MAX_ROOTS || strlen(cfg->account_id) != 12 ||
	    strnlen(cfg->region, sizeof(cfg->region)) == sizeof(cfg->region))
		abort();
	for (size_t i = 0; i < cfg->n_principals; i++) {
		const struct sb_kmsd_principal *p = &cfg->principals[i];
		if (!sb_ok(sb_kmsd_arn_account(p->arn, acct)) || strcmp(acct, p->account_id) != 0 ||
		    cfg->creds[i].access_key_id != p->access_key_id ||
		    cfg->creds[i].secret_access_key != p->secret_access_key ||
		    cfg->creds[i].session_token != p->session_token)
			abort();
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->principals[j].access_key_id, p->access_key_id) == 0)
				abort();
	}
	sb_verify_opts_init(&o);
	for (size_t i = 0; i < cfg->n_roots; i++)
		if (!sb_ok(sb_verify_opts_add_root(&o, sb_buf_slice(&cfg->roots[i]))))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb_kmsd_config cfg;

	if (mentions(data, size, "/dev") || mentions(data, size, "/proc") ||
	    mentions(data, size, "/sys") || mentions(data, size, "\\/") ||
	    mentions(data, size, "u002"))
		return 0;
	setup();
	sb_kmsd_config_init(&cfg);
	if (sb_ok(sb_kmsd_config_parse(SB_SLICE(data, size), dir, &cfg)))
		check(&cfg);
	sb_error_clear();
	sb_kmsd_config_cleanup(&cfg);
	return 0;
}
