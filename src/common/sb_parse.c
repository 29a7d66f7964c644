#include "common/sb_parse.h"

SB_RESULT sb_parse_u64(struct sb_slice s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	SB_ENSURE_REF(out);
	SB_ENSURE_MSG(s.len > 0, SB_ERR_BAD_NUMBER, "empty number");
	SB_ENSURE_MSG(s.len == 1 || s.ptr[0] != '0', SB_ERR_BAD_NUMBER, "leading zero");
	for (size_t i = 0; i < s.len; i++) {
		uint8_t c = s.ptr[i];
		SB_ENSURE_MSG(c >= '0' && c <= '9', SB_ERR_BAD_NUMBER, "not a decimal digit");
		SB_ENSURE(!__builtin_mul_overflow(v, 10, &v), SB_ERR_OUT_OF_RANGE);
		SB_ENSURE(!__builtin_add_overflow(v, (uint64_t)(c - '0'), &v), SB_ERR_OUT_OF_RANGE);
	}
	SB_ENSURE_MSG(v >= min && v <= max, SB_ERR_OUT_OF_RANGE, "must be %llu..%llu",
		      (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return SB_OK_RESULT;
}

SB_RESULT sb_parse_u32(struct sb_slice s, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t v;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_parse_u64(s, min, max, &v));
	*out = (uint32_t)v;
	return SB_OK_RESULT;
}

SB_RESULT sb_parse_u64_str(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	SB_ENSURE_REF(s);
	return sb_parse_u64(sb_slice_str(s), min, max, out);
}

SB_RESULT sb_parse_u32_str(const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	SB_ENSURE_REF(s);
	return sb_parse_u32(sb_slice_str(s), min, max, out);
}
