/*
 * The auction's property index (internal to src/auction): one compact
 * record per property, found by id. Memory is O(properties) and small:
 * ~48 bytes of record, the bidder/winner bitsets, the id, and the lookup
 * slot. Ids that are canonical decimal numbers below 2^24 ("1", "42", not
 * "007") are looked up in a direct table (no hashing, no stored id, and
 * sequential ids touch sequential memory); every other id goes through an
 * open-addressing hash table (FNV-1a from a random per-auction seed, so a
 * party cannot plan collisions offline) with the id kept in an arena.
 */
#ifndef SB_AUCTION_INDEX_H
#define SB_AUCTION_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

/* A compact amount (sb_auction.c): see cam_* there. */
struct sb_cam {
	uint64_t hi, lo;
};

struct sb_prop {
	struct sb_cam best, second;
	uint64_t hash;  /* hashed ids */
	uint32_t id;    /* direct: the numeric value; hashed: offset into the arena */
	uint8_t id_len; /* 0 for direct ids */
	uint8_t has_second;
};

struct sb_pindex {
	struct sb_prop *props; /* count records, in first-seen order; secret (amounts) */
	uint64_t *bits;        /* 2 * words per record: bidders, then winners */
	size_t count, cap, words;
	uint32_t *direct; /* value -> record index + 1 (0: none) */
	size_t ndirect;   /* power of two, or 0 */
	uint32_t *slots;  /* hashed: record index + 1 (0: empty) */
	size_t nslots;    /* power of two */
	size_t nhashed;
	struct sb_buf ids; /* arena of hashed ids */
	uint64_t seed;
};

SB_RESULT sb_pindex_init(struct sb_pindex *x, size_t words);
/* Frees everything, wiping the records. NULL-safe, idempotent. */
void sb_pindex_cleanup(struct sb_pindex *x);
/* The record of id (valid, 1..SB_AUCTION_MAX_PROPERTY_ID), created if new. */
SB_RESULT sb_pindex_get(struct sb_pindex *x, struct sb_slice id, uint32_t *idx);
/* The id of a record: borrowed from x, or written into buf (direct ids). */
struct sb_slice sb_pindex_id(const struct sb_pindex *x, uint32_t idx, char buf[24]);
/*
 * Every record index in output order: ids of digits only first, by numeric
 * value (then bytewise: "007" before "7"), then the rest bytewise. The
 * caller frees *order.
 */
SB_RESULT sb_pindex_sorted(const struct sb_pindex *x, uint32_t **order);
/*
 * The order of output.csv rows (docs/FORMATS.md): ids of digits only first,
 * in numeric order (leading zeros ignored, then byte order), then the other
 * ids in byte order. <0, 0, >0 like memcmp; `sealbid merge` uses it too.
 */
int sb_pindex_id_cmp(struct sb_slice a, struct sb_slice b);

#endif
