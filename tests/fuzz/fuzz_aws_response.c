/*
 * Fuzz target for the parsers of untrusted AWS input in src/aws: KMS JSON
 * responses (each operation, with and without Recipient), AWS error bodies
 * (JSON and S3/STS XML), the shared config/credentials INI files, IMDS
 * credentials JSON, STS AssumeRole XML and storage URIs. The first byte
 * picks the parser; the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sb_aws.h"
#include "aws/sb_creds.h"
#include "aws/sb_ini.h"
#include "aws/sb_kms.h"
#include "aws/sb_storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_kms(uint8_t sel, struct sb_slice in)
{
	struct sb_kms_result r;
	static const enum sb_kms_op ops[] = {SB_KMS_OP_DECRYPT, SB_KMS_OP_ENCRYPT,
					     SB_KMS_OP_GENERATE_DATA_KEY, SB_KMS_OP_GENERATE_RANDOM};

	sb_kms_result_init(&r);
	(void)sb_ok(sb_kms_parse_response(ops[(sel >> 1) & 3], in, (sel & 1) != 0, &r));
	sb_kms_result_cleanup(&r);
}

static void fuzz_text(uint8_t sel, struct sb_slice in)
{
	struct sb_ini ini;
	struct sb_aws_creds c;
	struct sb_aws_error e;
	struct sb_buf b = SB_BUF_INIT(1 << 16);
	struct sb_slice s;

	switch (sel) {
	case 0:
		sb_aws_error_parse(SB_AWS_ERROR_JSON, in, &e);
		break;
	case 1:
		sb_aws_error_parse(SB_AWS_ERROR_XML, in, &e);
		break;
	case 2:
		sb_ini_init(&ini);
		if (sb_ok(sb_ini_parse(&ini, in, "fuzz"))) {
			(void)sb_ini_get(&ini, "default", "region");
			(void)sb_ini_has_section(&ini, "profile x");
		}
		sb_ini_cleanup(&ini);
		break;
	case 3:
		sb_aws_creds_init(&c);
		(void)sb_ok(sb_creds_parse_imds_json(in, &c));
		sb_aws_creds_cleanup(&c);
		break;
	case 4:
		sb_aws_creds_init(&c);
		(void)sb_ok(sb_creds_parse_sts_xml(in, &c));
		sb_aws_creds_cleanup(&c);
		break;
	case 5:
		if (sb_ok(sb_aws_xml_find(in, "Message", &s)))
			(void)sb_ok(sb_aws_xml_unescape(s, &b));
		break;
	default: {
		/* Storage URIs are NUL-terminated text. */
		char *z = malloc(in.len + 1);
		struct sb_storage_uri *u = malloc(sizeof(*u));
		if (z != NULL && u != NULL) {
			if (in.len > 0)
				memcpy(z, in.ptr, in.len);
			z[in.len] = '\0';
			(void)sb_ok(sb_storage_uri_parse(z, u));
		}
		free(z);
		free(u);
		break;
	}
	}
	sb_buf_cleanup(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	struct sb_slice in = SB_SLICE(data + 1, size - 1);
	uint8_t sel = data[0];

	if (sel < 8)
		fuzz_kms(sel, in);
	else
		fuzz_text((uint8_t)((sel - 8) % 7), in);
	sb_error_clear();
	return 0;
}
