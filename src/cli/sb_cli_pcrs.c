#include "cli/sb_cli_pcrs.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/sb_encoding.h"
#include "common/sb_file.h"

/* One "PCRn" member: absent, or exactly 96 hex digits (stored lower-case). */
static SB_RESULT read_one(const char *path, const json_t *m, int i, bool *have,
			  char hex[2 * SB_SHA384_LEN + 1])
{
	char name[8];
	const json_t *jv;
	const char *v;

	(void)snprintf(name, sizeof(name), "PCR%d", i);
	jv = json_object_get(m, name);
	*have = jv != NULL;
	if (jv == NULL)
		return SB_OK_RESULT;
	v = json_string_value(jv);
	SB_ENSURE_MSG(v != NULL && strlen(v) == 2 * SB_SHA384_LEN, SB_ERR_BAD_JSON,
		      "%s: %s must be 96 hex digits", path, name);
	for (size_t k = 0; k < 2 * SB_SHA384_LEN; k++) {
		SB_ENSURE_MSG(isxdigit((unsigned char)v[k]), SB_ERR_BAD_HEX, "%s: %s", path, name);
		hex[k] = (char)tolower((unsigned char)v[k]);
	}
	hex[2 * SB_SHA384_LEN] = '\0';
	return SB_OK_RESULT;
}

SB_RESULT sb_cli_read_all_pcrs(const char *path, bool have[SB_CLI_N_PCRS],
			       char hex[SB_CLI_N_PCRS][2 * SB_SHA384_LEN + 1])
{
	struct sb_buf text = SB_BUF_INIT(1 << 20);
	json_error_t err;
	json_t *root = NULL, *m;
	sb_result rc = SB_OK_RESULT;

	SB_GUARD_GOTO(rc, sb_file_read(path, &text), out);
	root = json_loadb(sb_buf_cstr(&text), text.len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_JSON, out, "%s: line %d: %.80s", path, err.line,
				 err.text);
	m = json_is_array(root) ? json_array_get(root, 0) : root;
	m = json_object_get(m, "Measurements");
	if (!json_is_object(m))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_JSON, out, "%s: no \"Measurements\" object", path);
	for (int i = 0; i < SB_CLI_N_PCRS; i++) {
		SB_GUARD_GOTO(rc, read_one(path, m, i, &have[i], hex[i]), out);
		if (i < 3 && !have[i])
			SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_JSON, out, "%s: PCR%d must be 96 hex digits",
					 path, i);
	}
out:
	json_decref(root);
	sb_buf_cleanup(&text);
	return rc;
}

SB_RESULT sb_cli_read_pcrs(const char *path, char hex[3][2 * SB_SHA384_LEN + 1])
{
	bool have[SB_CLI_N_PCRS];
	char all[SB_CLI_N_PCRS][2 * SB_SHA384_LEN + 1];

	SB_GUARD(sb_cli_read_all_pcrs(path, have, all));
	memcpy(hex, all, 3 * sizeof(all[0]));
	return SB_OK_RESULT;
}

SB_RESULT sb_cli_expect_pcrs_file(struct sb_verify_opts *o, const char *path)
{
	char hex[3][2 * SB_SHA384_LEN + 1];
	uint8_t pcr[SB_SHA384_LEN];

	SB_GUARD(sb_cli_read_pcrs(path, hex));
	for (unsigned i = 0; i < 3; i++) {
		SB_GUARD(sb_hex_decode_fixed(sb_slice_str(hex[i]), pcr, sizeof(pcr)));
		SB_GUARD(sb_verify_opts_expect_pcr(o, i, SB_SLICE(pcr, sizeof(pcr))));
	}
	return SB_OK_RESULT;
}
