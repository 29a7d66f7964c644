#include "kmsd/sb_kmsd_attest_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_mem.h"
#include "crypto/sb_hash.h"
#include "crypto/sb_rsa.h"
#include "crypto/sb_x509.h"

/* One cached document. pub is the first member: holders get &pub. */
struct entry {
	struct sb_kmsd_attest pub;
	struct sb_attest_doc *doc;
	struct sb_rsa_key *key;
	uint8_t hash[SB_SHA384_LEN];
	atomic_size_t refs; /* the cache's (while linked) plus one per holder */
	struct entry *bucket_next;
	struct entry *lru_prev, *lru_next; /* lru_head = most recently used */
};

struct sb_kmsd_attest_cache {
	struct sb_verify_opts opts; /* at_ms set per verification */
	size_t capacity;
	uint64_t max_age_ms;
	pthread_mutex_t lock;
	struct entry **buckets; /* n_buckets, a power of two >= 2 * capacity */
	size_t n_buckets;
	struct entry *lru_head, *lru_tail;
	struct sb_kmsd_attest_cache_stats stats;
};

/* ---- entries ---- */

static void entry_free(struct entry *e)
{
	sb_rsa_key_free(e->key);
	sb_attest_doc_free(e->doc);
	free(e);
}

static void entry_unref(struct entry *e)
{
	if (atomic_fetch_sub(&e->refs, 1) == 1)
		entry_free(e);
}

void sb_kmsd_attest_release(const struct sb_kmsd_attest *attest)
{
	if (attest != NULL)
		entry_unref((struct entry *)(uintptr_t)attest);
}

static void pcr_hex(const struct sb_attest_pcr *p, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < p->len; i++) {
		out[2 * i] = hex[p->value[i] >> 4];
		out[2 * i + 1] = hex[p->value[i] & 15];
	}
	out[2 * (size_t)p->len] = '\0';
}

/* Narrows [from, until) to the validity of one certificate of the chain. */
static SB_RESULT narrow_to_cert(const struct sb_buf *der, uint64_t *from_ms, uint64_t *until_ms)
{
	struct sb_x509 *x = NULL;
	int64_t nb = 0, na = 0;
	sb_result rc;

	SB_GUARD(sb_x509_from_der(sb_buf_slice(der), &x));
	rc = sb_x509_validity(x, &nb, &na);
	sb_x509_free(x);
	SB_GUARD(rc);
	/* Seconds to ms: certificate times end in year 9999, far below 2^63 ms. */
	if (nb > 0 && (uint64_t)nb * 1000 > *from_ms)
		*from_ms = (uint64_t)nb * 1000;
	*until_ms = na <= 0 ? 0 : ((uint64_t)na * 1000 < *until_ms ? (uint64_t)na * 1000 : *until_ms);
	return SB_OK_RESULT;
}

/*
 * When verifying at another time t would still pass: the chain check is the
 * only time-dependent step, and OpenSSL accepts a certificate when
 * notBefore <= t < notAfter (t in seconds: ms / 1000), for every
 * certificate of the chain.
 */
static SB_RESULT chain_window(const struct sb_attest_doc *doc, uint64_t *from_ms,
			      uint64_t *until_ms)
{
	*from_ms = 0;
	*until_ms = UINT64_MAX;
	SB_GUARD(narrow_to_cert(&doc->certificate, from_ms, until_ms));
	for (size_t i = 0; i < doc->cabundle_len; i++)
		SB_GUARD(narrow_to_cert(&doc->cabundle[i], from_ms, until_ms));
	return SB_OK_RESULT;
}

/* The public key the Recipient response is encrypted to. */
static SB_RESULT recipient_key(const struct sb_attest_doc *doc, struct sb_rsa_key **out)
{
	sb_result r;

	SB_ENSURE_MSG(sb_attest_doc_has_public_key(doc), SB_ERR_KMS_BAD_ATTESTATION,
		      "The attestation document has no public key.");
	r = sb_rsa_key_from_public_der(sb_buf_slice(&doc->public_key.value), out);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_ATTESTATION,
		      "The attestation document's public key is not an RSA key of 2048..8192 bits.");
	return SB_OK_RESULT;
}

/* Verifies doc at now_ms into e (whose doc and key it fills; freed by entry_free). */
static SB_RESULT verify_into(const struct sb_kmsd_attest_cache *c, struct sb_slice doc,
			     uint64_t now_ms, struct entry *e)
{
	struct sb_verify_opts opts = c->opts;
	uint64_t from_ms, until_ms;
	sb_result r;

	opts.at_ms = now_ms;
	r = sb_attest_verify(doc, &opts, &e->doc);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_ATTESTATION, "Invalid attestation document: %s",
		      sb_error_message(r.code));
	SB_GUARD(recipient_key(e->doc, &e->key));
	SB_GUARD(chain_window(e->doc, &from_ms, &until_ms));
	if (until_ms > now_ms && until_ms - now_ms > c->max_age_ms)
		until_ms = now_ms + c->max_age_ms;
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++)
		if (e->doc->pcrs[i].present)
			pcr_hex(&e->doc->pcrs[i], e->pub.pcr_hex[i]);
	e->pub.doc = e->doc;
	e->pub.key = e->key;
	e->pub.valid_from_ms = from_ms;
	e->pub.valid_until_ms = until_ms;
	return SB_OK_RESULT;
}

/* ---- the table (all under c->lock) ---- */

static size_t bucket_of(const struct sb_kmsd_attest_cache *c, const uint8_t hash[SB_SHA384_LEN])
{
	uint64_t h;

	memcpy(&h, hash, sizeof(h)); /* the hash is uniform: any 8 bytes will do */
	return (size_t)(h & (c->n_buckets - 1));
}

static struct entry *find(const struct sb_kmsd_attest_cache *c, const uint8_t hash[SB_SHA384_LEN])
{
	struct entry *e = c->buckets[bucket_of(c, hash)];

	/* Every byte of the hash is compared: a prefix match is not a hit. */
	while (e != NULL && memcmp(e->hash, hash, SB_SHA384_LEN) != 0)
		e = e->bucket_next;
	return e;
}

static void lru_unlink(struct sb_kmsd_attest_cache *c, struct entry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		c->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		c->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void lru_push_front(struct sb_kmsd_attest_cache *c, struct entry *e)
{
	e->lru_prev = NULL;
	e->lru_next = c->lru_head;
	if (c->lru_head != NULL)
		c->lru_head->lru_prev = e;
	c->lru_head = e;
	if (c->lru_tail == NULL)
		c->lru_tail = e;
}

/* Unlinks e and drops the cache's reference (freed now if nobody holds it). */
static void remove_entry(struct sb_kmsd_attest_cache *c, struct entry *e)
{
	struct entry **p = &c->buckets[bucket_of(c, e->hash)];

	while (*p != e)
		p = &(*p)->bucket_next;
	*p = e->bucket_next;
	lru_unlink(c, e);
	c->stats.entries--;
	entry_unref(e);
}

static void insert(struct sb_kmsd_attest_cache *c, struct entry *e)
{
	size_t b = bucket_of(c, e->hash);
	struct entry *old = find(c, e->hash);

	/* Another thread verified the same document meanwhile: keep the newer. */
	if (old != NULL)
		remove_entry(c, old);
	if (c->stats.entries == c->capacity) {
		remove_entry(c, c->lru_tail);
		c->stats.evictions++;
	}
	atomic_fetch_add(&e->refs, 1);
	e->bucket_next = c->buckets[b];
	c->buckets[b] = e;
	lru_push_front(c, e);
	c->stats.entries++;
}

/* A valid entry for hash at now_ms with a reference for the caller, or NULL. */
static struct entry *lookup(struct sb_kmsd_attest_cache *c, const uint8_t hash[SB_SHA384_LEN],
			    uint64_t now_ms)
{
	struct entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, hash);
	if (e != NULL && (now_ms < e->pub.valid_from_ms || now_ms >= e->pub.valid_until_ms)) {
		remove_entry(c, e);
		c->stats.expired++;
		e = NULL;
	}
	if (e != NULL) {
		lru_unlink(c, e);
		lru_push_front(c, e);
		atomic_fetch_add(&e->refs, 1);
		c->stats.hits++;
	} else {
		c->stats.misses++;
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

/* ---- public ---- */

SB_RESULT sb_kmsd_attest_cache_new(const struct sb_verify_opts *opts, size_t capacity,
				   uint64_t max_age_ms, struct sb_kmsd_attest_cache **out)
{
	struct sb_kmsd_attest_cache *c = NULL;
	size_t n = 1;

	SB_ENSURE_REF(opts);
	SB_ENSURE_REF(out);
	SB_ENSURE(capacity >= 1 && capacity <= 65536 && max_age_ms >= 1, SB_ERR_INVALID_ARG);
	while (n < 2 * capacity)
		n *= 2;
	SB_GUARD(sb_calloc(1, sizeof(*c), (void **)&c));
	if (!sb_ok(sb_calloc(n, sizeof(*c->buckets), (void **)&c->buckets))) {
		free(c);
		SB_BAIL(SB_ERR_NOMEM);
	}
	c->opts = *opts;
	c->capacity = capacity;
	c->max_age_ms = max_age_ms;
	c->n_buckets = n;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return SB_OK_RESULT;
}

void sb_kmsd_attest_cache_free(struct sb_kmsd_attest_cache *c)
{
	if (c == NULL)
		return;
	while (c->lru_head != NULL)
		remove_entry(c, c->lru_head);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

SB_RESULT sb_kmsd_attest_cache_get(struct sb_kmsd_attest_cache *c, struct sb_slice doc,
				   uint64_t now_ms, const struct sb_kmsd_attest **out)
{
	uint8_t hash[SB_SHA384_LEN];
	struct entry *e;
	sb_result rc;

	SB_ENSURE_REF(c);
	SB_ENSURE_REF(out);
	*out = NULL;
	/* The verifier reads at_ms = 0 as "now": a pinned time must be real. */
	SB_ENSURE(now_ms != 0, SB_ERR_INVALID_ARG);
	SB_GUARD(sb_sha384(doc, hash));
	e = lookup(c, hash, now_ms);
	if (e != NULL) {
		*out = &e->pub;
		return SB_OK_RESULT;
	}
	/* A miss: verify outside the lock, publish only a success. */
	SB_GUARD(sb_calloc(1, sizeof(*e), (void **)&e));
	memcpy(e->hash, hash, sizeof(hash));
	atomic_init(&e->refs, 1);
	rc = verify_into(c, doc, now_ms, e);
	if (!sb_ok(rc)) {
		entry_free(e);
		return rc;
	}
	/* Verification passed at now_ms, so the window holds it; if the
	 * certificates' times say otherwise, serve this request uncached. */
	if (now_ms >= e->pub.valid_from_ms && now_ms < e->pub.valid_until_ms) {
		pthread_mutex_lock(&c->lock);
		insert(c, e);
		pthread_mutex_unlock(&c->lock);
	}
	*out = &e->pub;
	return SB_OK_RESULT;
}

void sb_kmsd_attest_cache_stats(struct sb_kmsd_attest_cache *c,
				struct sb_kmsd_attest_cache_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->lock);
}
