/* Clocks and RFC 3339 / Unix-millisecond time parsing. */
#ifndef SB_TIME_H
#define SB_TIME_H

#include <stdint.h>

#include "common/sb_buf.h"

uint64_t sb_time_mono_ns(void);  /* CLOCK_MONOTONIC */
uint64_t sb_time_now_ms(void);   /* Unix time in milliseconds */
/*
 * "2022-10-13T08:58:02Z", "2022-10-13T08:58:02.136Z", "...+01:00", or a
 * plain count of Unix milliseconds ("1665651482136"). Out: Unix ms.
 */
SB_RESULT sb_time_parse(struct sb_slice s, uint64_t *out_ms);
/* "2022-10-13T08:58:02.136Z" into out (appended). */
SB_RESULT sb_time_format_rfc3339(uint64_t ms, struct sb_buf *out);

#endif
