/* Loading a job manifest for a subcommand (encrypt-bids, seal, manifest). */
#ifndef SB_CLI_MANIFEST_H
#define SB_CLI_MANIFEST_H

#include "auction/sb_manifest.h"

/*
 * Reads and validates the manifest file at path into m (caller cleans up
 * with sb_manifest_cleanup). party, if not NULL, must be one of its
 * parties. Errors name the file.
 */
SB_RESULT sb_cli_manifest_party(const char *path, const char *party, struct sb_manifest *m);

#endif
