#include "common/sb_time.h"

#include <string.h>
#include <time.h>

#include "common/sb_parse.h"

uint64_t sb_time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t sb_time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static SB_RESULT digits(struct sb_slice s, size_t off, size_t n, uint32_t max, uint32_t *out)
{
	struct sb_slice d;

	SB_GUARD(sb_slice_sub(s, off, n, &d));
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++) {
		SB_ENSURE(d.ptr[i] >= '0' && d.ptr[i] <= '9', SB_ERR_BAD_TIME);
		v = v * 10 + (uint32_t)(d.ptr[i] - '0');
	}
	SB_ENSURE(v <= max, SB_ERR_BAD_TIME);
	*out = v;
	return SB_OK_RESULT;
}

static int64_t days_from_civil(int64_t y, uint32_t m, uint32_t d)
{
	/* Howard Hinnant's algorithm: days since 1970-01-01. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? (int64_t)m - 3 : (int64_t)m + 9) + 2) / 5 + (int64_t)d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

SB_RESULT sb_time_parse(struct sb_slice s, uint64_t *out_ms)
{
	uint32_t Y = 0, M = 0, D = 0, h = 0, mi = 0, sec = 0, ms = 0;
	size_t off = 19;
	int64_t tz = 0;

	SB_ENSURE_REF(out_ms);
	if (s.len > 0 && memchr(s.ptr, '-', s.len) == NULL)
		return sb_parse_u64(s, 0, UINT64_MAX / 2, out_ms);
	SB_ENSURE_MSG(s.len >= 20, SB_ERR_BAD_TIME, "expected RFC 3339 or Unix milliseconds");
	SB_GUARD(digits(s, 0, 4, 9999, &Y));
	SB_GUARD(digits(s, 5, 2, 12, &M));
	SB_GUARD(digits(s, 8, 2, 31, &D));
	SB_GUARD(digits(s, 11, 2, 23, &h));
	SB_GUARD(digits(s, 14, 2, 59, &mi));
	SB_GUARD(digits(s, 17, 2, 60, &sec));
	SB_ENSURE(s.ptr[4] == '-' && s.ptr[7] == '-' && (s.ptr[10] == 'T' || s.ptr[10] == 't') &&
			  s.ptr[13] == ':' && s.ptr[16] == ':' && M >= 1 && D >= 1,
		  SB_ERR_BAD_TIME);
	if (s.ptr[off] == '.') {
		size_t n = 0;
		off++;
		while (off < s.len && s.ptr[off] >= '0' && s.ptr[off] <= '9') {
			if (n < 3)
				ms = ms * 10 + (uint32_t)(s.ptr[off] - '0');
			n++;
			off++;
		}
		SB_ENSURE(n > 0, SB_ERR_BAD_TIME);
		for (; n < 3; n++)
			ms *= 10;
	}
	SB_ENSURE(off < s.len, SB_ERR_BAD_TIME);
	if (s.ptr[off] == 'Z' || s.ptr[off] == 'z') {
		off++;
	} else {
		uint32_t th = 0, tm = 0;
		SB_ENSURE(s.ptr[off] == '+' || s.ptr[off] == '-', SB_ERR_BAD_TIME);
		SB_GUARD(digits(s, off + 1, 2, 23, &th));
		SB_GUARD(digits(s, off + 4, 2, 59, &tm));
		SB_ENSURE(s.ptr[off + 3] == ':', SB_ERR_BAD_TIME);
		tz = (int64_t)(th * 60 + tm) * 60 * (s.ptr[off] == '+' ? 1 : -1);
		off += 6;
	}
	SB_ENSURE(off == s.len, SB_ERR_BAD_TIME);
	int64_t days = days_from_civil((int64_t)Y, M, D);
	int64_t secs = days * 86400 + (int64_t)(h * 3600 + mi * 60 + sec) - tz;
	SB_ENSURE(secs >= 0, SB_ERR_BAD_TIME);
	*out_ms = (uint64_t)secs * 1000 + ms;
	return SB_OK_RESULT;
}

SB_RESULT sb_time_format_rfc3339(uint64_t ms, struct sb_buf *out)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char text[32];

	SB_ENSURE(gmtime_r(&t, &tm) != NULL, SB_ERR_BAD_TIME);
	SB_ENSURE(strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm) > 0, SB_ERR_BAD_TIME);
	return sb_buf_printf(out, "%s.%03uZ", text, (unsigned)(ms % 1000));
}
