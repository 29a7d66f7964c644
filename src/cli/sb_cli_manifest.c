#include "cli/sb_cli_manifest.h"

#include "common/sb_file.h"

SB_RESULT sb_cli_manifest_party(const char *path, const char *party, struct sb_manifest *m)
{
	struct sb_buf text = SB_BUF_INIT(SB_MANIFEST_MAX_BYTES);
	size_t idx;
	sb_result rc = sb_file_read(path, &text);

	if (sb_ok(rc))
		rc = sb_manifest_parse(sb_buf_slice(&text), m);
	sb_buf_cleanup(&text);
	if (!sb_ok(rc)) {
		sb_error_context("%s", path);
		return rc;
	}
	if (party != NULL && !sb_ok(sb_manifest_party_index(m, sb_slice_str(party), &idx))) {
		sb_manifest_cleanup(m);
		SB_BAIL_MSG(SB_ERR_BAD_PARTY, "%s: no party \"%.64s\" in the manifest", path, party);
	}
	return SB_OK_RESULT;
}
