/*
 * The sealed-bid auction: pure computation over parsed bids, no I/O.
 *
 * Bids stream in one at a time (any party order); memory is O(number of
 * properties). Per property the highest bid wins; equal highest bids are a
 * tie (never silently given to the first party); with second-price the
 * winner pays the second-highest bid (the tied amount on a tie, its own bid
 * when it was the only bidder). A property nobody bid on is not reported.
 *
 * Output rows are ordered: properties whose id is all digits first, by
 * numeric value; then the rest, bytewise. Amounts are wiped on free.
 */
#ifndef SB_AUCTION_H
#define SB_AUCTION_H

#include <stddef.h>

#include "auction/sb_amount.h"
#include "common/sb_buf.h"

#define SB_AUCTION_MAX_PARTIES     1024
#define SB_AUCTION_MAX_PROPERTIES  (1u << 24)
#define SB_AUCTION_MAX_PROPERTY_ID 128
#define SB_PARTY_NAME_MAX          64

enum sb_computation {
	SB_COMPUTE_HIGHEST_BID,
	SB_COMPUTE_SECOND_PRICE,
	SB_COMPUTE_JOIN_AGGREGATE, /* not an auction: src/collab (sb_auction_new refuses it) */
};

enum sb_disclose {
	SB_DISCLOSE_WINNER,
	SB_DISCLOSE_WINNER_AND_PRICE,
};

struct sb_auction;

/* party_names are copied; names must be valid (sb_party_name_check). */
SB_RESULT sb_auction_new(const char *const *party_names, size_t nparties,
			 enum sb_computation computation, enum sb_disclose disclose,
			 struct sb_auction **out);
void sb_auction_free(struct sb_auction *a);

/* A property id: 1..128 printable ASCII characters, no ',', '"' or spaces. */
SB_RESULT sb_property_id_check(struct sb_slice id);
/* A party name: 1..64 of [A-Za-z0-9_.-]. */
SB_RESULT sb_party_name_check(struct sb_slice name);

/*
 * Adds party's bid on property. Fails (changing nothing) when the party
 * already bid on that property, the id is invalid or the party index is
 * out of range. Errors never contain the amount.
 */
SB_RESULT sb_auction_add_bid(struct sb_auction *a, size_t party, struct sb_slice property,
			     const struct sb_amount *amount);
size_t sb_auction_property_count(const struct sb_auction *a);
/* Appends output.csv: "Property,Result[,Price]\n" then one row per property. */
SB_RESULT sb_auction_write_csv(const struct sb_auction *a, struct sb_buf *out);

#endif
