/* Cryptographically secure random bytes (OpenSSL RAND_bytes). */
#ifndef SB_RANDOM_H
#define SB_RANDOM_H

#include "common/sb_result.h"

SB_RESULT sb_random_bytes(void *out, size_t n);

#endif
