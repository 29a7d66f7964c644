#include "auction/sb_shard.h"

#include "crypto/sb_hash.h"

SB_RESULT sb_shard_check(uint32_t k, uint32_t n)
{
	SB_ENSURE_MSG(n >= 1 && n <= SB_SHARD_MAX, SB_ERR_BAD_SHARD,
		      "the shard count must be 1..%u", SB_SHARD_MAX);
	SB_ENSURE_MSG(k < n, SB_ERR_BAD_SHARD, "shard %u is not one of 0..%u", k, n - 1);
	return SB_OK_RESULT;
}

SB_RESULT sb_shard_of(struct sb_slice property, uint32_t n, uint32_t *out)
{
	uint8_t d[SB_SHA256_LEN];
	uint64_t r = 0;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_shard_check(0, n));
	if (n == 1) {
		*out = 0;
		return SB_OK_RESULT;
	}
	SB_GUARD(sb_sha256(property, d));
	/* Horner's rule on the big-endian digits: r < n <= 4096, so r*256+255 fits. */
	for (size_t i = 0; i < sizeof(d); i++)
		r = (r * 256u + d[i]) % n;
	*out = (uint32_t)r;
	return SB_OK_RESULT;
}

bool sb_shard_owns(struct sb_slice property, uint32_t k, uint32_t n)
{
	uint32_t s;

	return sb_ok(sb_shard_of(property, n, &s)) && s == k;
}
