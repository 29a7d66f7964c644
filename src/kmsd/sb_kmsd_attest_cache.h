/*
 * A bounded cache of verified Recipient attestation documents.
 *
 * An enclave sends the same document with every KMS call of a job (DESIGN
 * §8: "One attestation document and RSA key pair per job"), and verifying it
 * (X.509 chain, ES384, and the SP 800-56B check of its RSA key) costs far
 * more than the RSA encryption the response needs. So a document that
 * verified is kept, keyed by the SHA-384 of its exact bytes, with what the
 * request needs from it: the parsed document (PCRs, module id, public key),
 * the parsed RSA key and the PCRs as lower-case hex.
 *
 * What caching must not change:
 * - a hit is only served while the verification would still pass: the
 *   chain is checked at the request time, so an entry is valid from the
 *   latest notBefore to the earliest notAfter of its certificates (leaf and
 *   cabundle; cabundle[0] is the trusted root itself), and no longer than
 *   max_age after it was verified, whichever ends first;
 * - failures are never cached: a bad document is verified (and refused) on
 *   every request;
 * - the key is the hash of every byte, so a changed document (one flipped
 *   bit) never meets another document's entry;
 * - only verification is cached, never a decision: the key policy is
 *   evaluated on every request with the entry's PCRs.
 * The verifier options (trusted roots, debug allowed) are fixed for the
 * cache's life, so they are not part of the key.
 *
 * Eviction: fixed capacity, least recently used first. Entries are shared
 * by reference count: an entry handed out stays valid until its holder
 * releases it, even if the cache evicts it meanwhile. Documents are not
 * secret, so nothing is wiped; everything is freed.
 *
 * Thread safety: every function may be called from several threads at once
 * (one mutex; verification on a miss runs outside it, so two threads that
 * miss on the same document both verify, and one result is kept).
 */
#ifndef SB_KMSD_ATTEST_CACHE_H
#define SB_KMSD_ATTEST_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "attest/sb_verify.h"
#include "common/sb_buf.h"

#define SB_KMSD_ATTEST_CACHE_CAPACITY 256
#define SB_KMSD_ATTEST_MAX_AGE_MS     (5 * 60 * 1000)

struct sb_rsa_key;

/* One verified document. Read-only for holders; owned by the cache. */
struct sb_kmsd_attest {
	const struct sb_attest_doc *doc; /* the parsed, verified document */
	const struct sb_rsa_key *key;    /* its public_key: RSA 2048..8192 bits */
	/* PCRs present in doc, as lower-case hex ("" for absent ones). */
	char pcr_hex[SB_ATTEST_PCR_COUNT][2 * SB_ATTEST_PCR_MAX_LEN + 1];
	uint64_t valid_from_ms;  /* latest notBefore of the chain */
	uint64_t valid_until_ms; /* min(earliest notAfter, verified at + max age); exclusive */
};

struct sb_kmsd_attest_cache;

/* Counters since creation. */
struct sb_kmsd_attest_cache_stats {
	uint64_t hits;
	uint64_t misses;    /* lookups that ran the verifier (passing or not) */
	uint64_t expired;   /* entries dropped because a request fell outside their window */
	uint64_t evictions; /* entries dropped for room */
	size_t entries;
};

/*
 * Creates a cache of capacity (>= 1) entries. opts is copied; the root
 * slices inside it are borrowed and must outlive the cache. max_age_ms >= 1.
 * Caller frees.
 */
SB_RESULT sb_kmsd_attest_cache_new(const struct sb_verify_opts *opts, size_t capacity,
				   uint64_t max_age_ms, struct sb_kmsd_attest_cache **out);
/* Drops the cache's references; entries still held are freed on release. NULL-safe. */
void sb_kmsd_attest_cache_free(struct sb_kmsd_attest_cache *cache);

/*
 * The verified form of doc (borrowed bytes) at now_ms: a valid cached entry,
 * or the result of verifying doc now (then cached). On success *out is a
 * reference the caller releases with sb_kmsd_attest_release. Errors, all
 * SB_ERR_KMS_BAD_ATTESTATION with a detail naming the failed check: the
 * document does not verify at now_ms, has no public key, or its key is not
 * RSA-2048..8192.
 */
SB_RESULT sb_kmsd_attest_cache_get(struct sb_kmsd_attest_cache *cache, struct sb_slice doc,
				   uint64_t now_ms, const struct sb_kmsd_attest **out);
/* Gives back a reference from sb_kmsd_attest_cache_get. NULL-safe. */
void sb_kmsd_attest_release(const struct sb_kmsd_attest *attest);

void sb_kmsd_attest_cache_stats(struct sb_kmsd_attest_cache *cache,
				struct sb_kmsd_attest_cache_stats *out);

#endif
