/*
 * IAM-style wildcard matching, shared by sealbid-kms's policy engine and
 * `sealbid policy check`: '*' matches any run of characters (also none),
 * '?' exactly one; everything else literally, optionally ignoring ASCII case
 * (Action names are case-insensitive, condition values are not).
 */
#ifndef SB_GLOB_H
#define SB_GLOB_H

#include <stdbool.h>

/* True when text matches pattern. Borrows both; linear in their lengths. */
bool sb_glob_match(const char *pattern, const char *text, bool ignore_case);

#endif
