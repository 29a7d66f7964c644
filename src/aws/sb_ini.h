/*
 * Strict reader for the AWS shared config and credentials files (INI).
 *
 * Accepted: "[section]" headers, "key = value" lines, full-line comments
 * starting with '#' or ';', blank lines, and indented "sub = value" lines
 * under a key with an empty value (the AWS CLI's nested settings such as
 * "s3 =\n  max_concurrent_requests = 10", kept with parent "s3", never
 * returned by sb_ini_get).
 * Rejected, with "file:line: why": lines longer than SB_INI_LINE_MAX, keys
 * outside a section, duplicate sections, duplicate keys in a section,
 * malformed headers, characters outside printable ASCII/UTF-8 text, NUL.
 *
 * Values may be secrets (aws_secret_access_key): the text lives in one secret
 * buffer, wiped by sb_ini_cleanup.
 */
#ifndef SB_INI_H
#define SB_INI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/sb_buf.h"

#define SB_INI_FILE_MAX  (1u << 20) /* 1 MiB: far more than any real config */
#define SB_INI_LINE_MAX  16384      /* session tokens in credentials files are long */
#define SB_INI_ENTRY_MAX 4096

struct sb_ini_entry {
	const char *section; /* points into sb_ini.text */
	const char *key;
	const char *value;
	const char *parent; /* NULL, or the key a nested setting belongs to */
	unsigned line;
};

/* Caller storage: sb_ini_init, then sb_ini_parse/sb_ini_load, sb_ini_cleanup. */
struct sb_ini {
	struct sb_buf text; /* secret: the file's bytes, split in place */
	struct sb_ini_entry *entries;
	size_t n_entries;
	const char **sections;
	unsigned *section_lines;
	size_t n_sections;
};

void sb_ini_init(struct sb_ini *ini);
void sb_ini_cleanup(struct sb_ini *ini);
/* Parses text (borrowed, copied). name is used in error details ("~/.aws/config"). */
SB_RESULT sb_ini_parse(struct sb_ini *ini, struct sb_slice text, const char *name);
/* Reads and parses path; a missing file is not an error: *found = false. */
SB_RESULT sb_ini_load(struct sb_ini *ini, const char *path, bool *found);
/* Borrowed pointers into ini, valid until sb_ini_cleanup; NULL when absent. */
const char *sb_ini_get(const struct sb_ini *ini, const char *section, const char *key);
bool sb_ini_has_section(const struct sb_ini *ini, const char *section);

#endif
