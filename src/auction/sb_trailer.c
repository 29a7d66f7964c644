#include "auction/sb_trailer.h"

#include <string.h>

#include "common/sb_encoding.h"
#include "common/sb_parse.h"

#define TRAILER_MAGIC  "sealbid-trailer-v1 rows="
#define TRAILER_DIGEST " sha384="

SB_RESULT sb_trailer_init(struct sb_trailer *t)
{
	SB_ENSURE_REF(t);
	t->rows = 0;
	return sb_hash_init(&t->digest, SB_HASH_SHA384);
}

void sb_trailer_cleanup(struct sb_trailer *t)
{
	if (t != NULL)
		sb_hash_cleanup(&t->digest);
}

bool sb_trailer_reserved(struct sb_slice property)
{
	size_t n = sizeof(SB_TRAILER_PREFIX) - 1;

	return property.len >= n && memcmp(property.ptr, SB_TRAILER_PREFIX, n) == 0;
}

SB_RESULT sb_trailer_add(struct sb_trailer *t, struct sb_slice property,
			 struct sb_slice ciphertext_b64)
{
	SB_ENSURE_REF(t);
	SB_GUARD(sb_hash_update(&t->digest, property));
	SB_GUARD(sb_hash_update(&t->digest, SB_SLICE(",", 1)));
	SB_GUARD(sb_hash_update(&t->digest, ciphertext_b64));
	SB_GUARD(sb_hash_update(&t->digest, SB_SLICE("\n", 1)));
	t->rows++;
	return SB_OK_RESULT;
}

SB_RESULT sb_trailer_text(struct sb_trailer *t, struct sb_buf *out)
{
	uint8_t d[SB_SHA384_LEN];

	SB_ENSURE(t != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_hash_final(&t->digest, d, sizeof(d)));
	SB_GUARD(sb_buf_printf(out, TRAILER_MAGIC "%llu" TRAILER_DIGEST,
			       (unsigned long long)t->rows));
	return sb_hex_encode(SB_SLICE(d, sizeof(d)), out);
}

SB_RESULT sb_trailer_check(struct sb_trailer *t, struct sb_slice text)
{
	const size_t magic = sizeof(TRAILER_MAGIC) - 1, dig = sizeof(TRAILER_DIGEST) - 1;
	uint8_t want[SB_SHA384_LEN], got[SB_SHA384_LEN];
	const uint8_t *sp;
	uint64_t rows;

	SB_ENSURE_REF(t);
	SB_GUARD(sb_hash_final(&t->digest, got, sizeof(got)));
	SB_ENSURE_MSG(text.len > magic && memcmp(text.ptr, TRAILER_MAGIC, magic) == 0,
		      SB_ERR_TRAILER, "the trailer row does not hold a sealbid trailer");
	sp = memchr(text.ptr + magic, ' ', text.len - magic);
	SB_ENSURE_MSG(sp != NULL, SB_ERR_TRAILER, "the trailer has no digest");
	size_t nlen = (size_t)(sp - (text.ptr + magic));
	if (!sb_ok(sb_parse_u64(SB_SLICE(text.ptr + magic, nlen), 0, UINT64_MAX, &rows)))
		SB_BAIL_MSG(SB_ERR_TRAILER, "the trailer's row count is not a number");
	size_t rest = text.len - magic - nlen;
	SB_ENSURE_MSG(rest == dig + 2 * SB_SHA384_LEN && memcmp(sp, TRAILER_DIGEST, dig) == 0,
		      SB_ERR_TRAILER, "the trailer's digest is malformed");
	if (!sb_ok(sb_hex_decode_fixed(SB_SLICE(sp + dig, 2 * SB_SHA384_LEN), want, sizeof(want))))
		SB_BAIL_MSG(SB_ERR_TRAILER, "the trailer's digest is not hex");
	SB_ENSURE_MSG(rows == t->rows, SB_ERR_TRAILER_COUNT,
		      "the trailer counts %llu rows, the input has %llu", (unsigned long long)rows,
		      (unsigned long long)t->rows);
	/* Not secret (a digest of ciphertexts): a plain comparison is fine. */
	SB_ENSURE(memcmp(want, got, sizeof(want)) == 0, SB_ERR_TRAILER_DIGEST);
	return SB_OK_RESULT;
}
