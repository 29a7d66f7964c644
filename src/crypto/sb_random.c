#include "crypto/sb_random.h"

#include <limits.h>

#include <openssl/rand.h>

SB_RESULT sb_random_bytes(void *out, size_t n)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(n <= INT_MAX, SB_ERR_TOO_LARGE);
	SB_ENSURE(RAND_bytes(out, (int)n) == 1, SB_ERR_RANDOM);
	return SB_OK_RESULT;
}
