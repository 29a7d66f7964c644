/*
 * What `sealbid seal` and `sealbid unseal` share (docs/FORMATS.md, "Sealed
 * dataset"): the plaintext CSV a sealed dataset holds, checked as a stream;
 * the manifest's party, which must be "sealed"; a KMS client found from the
 * environment as the AWS CLI finds it.
 *
 * The plaintext CSV: a first line exactly "[].contract,[].bid", then one
 * "property,amount" line per bid (at least one), each line ending in LF or
 * CRLF (the last line's ending optional), no blank lines, no quoting.
 * Property ids follow sb_property_id_check and may not start with
 * "sealbid:"; amounts follow sb_amount_parse. Errors name the line, never
 * its text (an amount is a plaintext bid).
 */
#ifndef SB_CLI_SEALED_H
#define SB_CLI_SEALED_H

#include <stddef.h>

#include "auction/sb_amount.h"
#include "auction/sb_auction.h"
#include "auction/sb_manifest.h"
#include "aws/sb_kms.h"
#include "collab/sb_collab_check.h"
#include "common/sb_buf.h"

/* The longest line: property, comma, amount, CR. */
#define SB_SEALED_CSV_LINE_MAX (SB_AUCTION_MAX_PROPERTY_ID + 1 + SB_AMOUNT_MAX_CHARS + 1)

/* The checker's state: caller storage, _init / _cleanup (wipes the held line). */
struct sb_sealed_csv {
	size_t lineno;      /* lines checked so far */
	size_t rows;        /* bid lines among them */
	struct sb_buf line; /* secret: the line not yet ended */
};

void sb_sealed_csv_init(struct sb_sealed_csv *c);
void sb_sealed_csv_cleanup(struct sb_sealed_csv *c);
/* Checks the next bytes of the CSV (borrowed; any split, even mid-line). */
SB_RESULT sb_sealed_csv_feed(struct sb_sealed_csv *c, struct sb_slice chunk);
/* At the end of the CSV: the last line, the header and at least one row. */
SB_RESULT sb_sealed_csv_end(struct sb_sealed_csv *c);

/*
 * The plaintext a party seals for a job, checked as a stream: bids
 * (sb_sealed_csv) or, for a join-aggregate manifest, the party's dataset CSV
 * (sb_collab_check). Caller storage; party is borrowed from m.
 */
struct sb_cli_plain {
	struct sb_sealed_csv bids;
	struct sb_collab_check dataset;
	bool is_dataset;
};

void sb_cli_plain_init(struct sb_cli_plain *p, const struct sb_manifest *m,
		       const struct sb_party *party);
void sb_cli_plain_cleanup(struct sb_cli_plain *p);
SB_RESULT sb_cli_plain_feed(struct sb_cli_plain *p, struct sb_slice chunk);
SB_RESULT sb_cli_plain_end(struct sb_cli_plain *p);

/*
 * Loads the manifest at path into m (caller cleans up with
 * sb_manifest_cleanup, on success only) and points *party (borrowed from
 * m) at the party called name, which must have format "sealed".
 */
SB_RESULT sb_cli_sealed_party(const char *path, const char *name, struct sb_manifest *m,
			      const struct sb_party **party);

/* A KMS client from the environment (region, endpoint, credentials chain). */
struct sb_cli_kms {
	struct sb_creds_provider *creds; /* owned */
	struct sb_kms *kms;              /* owned */
};

SB_RESULT sb_cli_kms_open(struct sb_cli_kms *k);
/* NULL-safe, idempotent. */
void sb_cli_kms_close(struct sb_cli_kms *k);

#endif
