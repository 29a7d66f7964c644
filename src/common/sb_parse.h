/*
 * Strict number parsing: ASCII digits only, no sign, no whitespace, no
 * leading zeros (except "0" itself), the whole input consumed, and a range
 * check. Anything else is SB_ERR_BAD_NUMBER or SB_ERR_OUT_OF_RANGE.
 */
#ifndef SB_PARSE_H
#define SB_PARSE_H

#include <stdint.h>

#include "common/sb_buf.h"

SB_RESULT sb_parse_u64(struct sb_slice s, uint64_t min, uint64_t max, uint64_t *out);
SB_RESULT sb_parse_u32(struct sb_slice s, uint32_t min, uint32_t max, uint32_t *out);
/* Convenience for NUL-terminated text (argv, environment). */
SB_RESULT sb_parse_u64_str(const char *s, uint64_t min, uint64_t max, uint64_t *out);
SB_RESULT sb_parse_u32_str(const char *s, uint32_t min, uint32_t max, uint32_t *out);

#endif
