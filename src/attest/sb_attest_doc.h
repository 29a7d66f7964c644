/*
 * The Nitro attestation document, parsed. A document is a COSE_Sign1
 * structure (RFC 9052 §4.2), untagged or with tag 18:
 *
 *   [ protected: bstr .cbor {1: -35},  unprotected: {},  payload: bstr,
 *     signature: bstr (96 bytes, r||s) ]
 *
 * whose payload is the map (AWS "Nitro Enclaves attestation process",
 * "Attestation document specification"):
 *
 *   module_id tstr, digest "SHA384", timestamp uint (ms), pcrs {uint => bstr},
 *   certificate bstr (DER), cabundle [* bstr] (root first),
 *   ? public_key bstr/null, ? user_data bstr/null, ? nonce bstr/null
 *
 * Parsing is strict and only structural: it does NOT check the signature or
 * the chain (sb_attest_verify in sb_verify.h does). Decisions (FORMATS.md):
 * - definite and indefinite-length maps and arrays are accepted (the NSM
 *   emits an indefinite payload map since 2026); indefinite-length strings,
 *   tags other than a leading COSE tag 18, and non-minimal integer
 *   encodings are rejected (the NSM never emits them);
 * - an unknown payload key is rejected (SB_ERR_ATTEST_UNKNOWN_KEY): the AWS
 *   spec lists every field, and a verifier must not sign off on fields it
 *   does not understand; a duplicate key is rejected;
 * - public_key / user_data / nonce may be absent or null (both = not present).
 * The parsed document owns all of its memory: sb_attest_doc_free.
 */
#ifndef SB_ATTEST_DOC_H
#define SB_ATTEST_DOC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sb_buf.h"

/* Named maxima (the AWS spec's bounds, and what the NSM returns). */
#define SB_ATTEST_DOC_MAX        16384 /* whole COSE_Sign1 */
#define SB_ATTEST_MODULE_ID_MAX  128   /* spec: module_id text, 1..? */
#define SB_ATTEST_PCR_COUNT      32    /* spec: "pcrs ... index 0..31" */
#define SB_ATTEST_PCR_MAX_LEN    64    /* spec: "[32, 48, 64]" bytes */
#define SB_ATTEST_CERT_MAX       1024  /* spec: certificate/cabundle entries "1..1024" bytes */
#define SB_ATTEST_CABUNDLE_MAX   8     /* real chains are 4-5 long */
#define SB_ATTEST_PUBLIC_KEY_MAX 1024  /* public_key 0..1024 (AWS accepts empty) */
#define SB_ATTEST_USER_DATA_MAX  512   /* spec: user_data "0..512" */
#define SB_ATTEST_NONCE_MAX      512   /* spec: nonce "0..512" */
#define SB_ATTEST_NESTING_MAX    8     /* deepest legal item: payload is 3 deep */

/* An optional byte string: present = false for absent or CBOR null. */
struct sb_attest_opt {
	bool present;
	struct sb_buf value;
};

struct sb_attest_pcr {
	bool present;
	uint8_t len; /* 32, 48 or 64 */
	uint8_t value[SB_ATTEST_PCR_MAX_LEN];
};

struct sb_attest_doc {
	/* Payload fields. */
	char module_id[SB_ATTEST_MODULE_ID_MAX + 1]; /* NUL-terminated, printable ASCII */
	uint64_t timestamp_ms;
	struct sb_attest_pcr pcrs[SB_ATTEST_PCR_COUNT]; /* indexed by PCR number */
	struct sb_buf certificate;                      /* leaf, DER */
	struct sb_buf cabundle[SB_ATTEST_CABUNDLE_MAX]; /* DER, root first */
	size_t cabundle_len;
	struct sb_attest_opt public_key;
	struct sb_attest_opt user_data;
	struct sb_attest_opt nonce;
	/* The COSE pieces, as they were on the wire (needed for Sig_structure). */
	struct sb_buf protected_hdr; /* the bstr's contents: a1 01 38 22 */
	struct sb_buf payload;       /* the bstr's contents: the CBOR map above */
	uint8_t signature[96];       /* r||s */
};

/*
 * Parses a document (borrows in; tagged or untagged; <= SB_ATTEST_DOC_MAX).
 * Errors: SB_ERR_ATTEST_TOO_LARGE, _CBOR (not well-formed / trailing bytes /
 * too deep), _STRUCTURE (wrong COSE shape or type), _ALGORITHM, _DUPLICATE_KEY,
 * _UNKNOWN_KEY, _MISSING_FIELD, _FIELD_SIZE, _PCR_LENGTH, _DIGEST.
 * Caller frees *out with sb_attest_doc_free.
 */
SB_RESULT sb_attest_doc_parse(struct sb_slice in, struct sb_attest_doc **out);
/* NULL-safe. */
void sb_attest_doc_free(struct sb_attest_doc *doc);
/*
 * Whether doc carries a public key: present and non-empty. An empty
 * public_key (AWS allows 0..1024 bytes) is no key wherever one is required.
 */
bool sb_attest_doc_has_public_key(const struct sb_attest_doc *doc);
/* An empty document (all buffers bounded by the maxima above). Caller frees. */
SB_RESULT sb_attest_doc_new(struct sb_attest_doc **out);

/*
 * Encodes doc's payload fields as the payload map, in the NSM's key order
 * (module_id, digest, timestamp, pcrs, certificate, cabundle, public_key,
 * user_data, nonce; absent optionals as null), definite-length or
 * indefinite-length (the 2026 NSM shape). Appended to out.
 */
SB_RESULT sb_attest_payload_encode(const struct sb_attest_doc *doc, bool indefinite,
                                   struct sb_buf *out);
/*
 * Wraps payload (borrowed) as an untagged COSE_Sign1 with protected {1:-35}
 * and the given r||s signature. Appended to out.
 */
SB_RESULT sb_cose_sign1_encode(struct sb_slice payload, const uint8_t signature[96],
                               struct sb_buf *out);
/*
 * Sig_structure (RFC 9052 §4.4): ["Signature1", body_protected, external_aad
 * = h'', payload], the bytes ES384 signs. Appended to out.
 */
SB_RESULT sb_cose_sig_structure(struct sb_slice protected_hdr, struct sb_slice payload,
                                struct sb_buf *out);
/*
 * A document file's contents in any of its three spellings, strictly
 * auto-detected: raw CBOR (first byte 0x84 or 0xD2), else hex (only hex
 * digits, even length, optional final newline), else standard base64 (optional
 * final newline). The raw bytes are appended to out (max SB_ATTEST_DOC_MAX).
 * SB_ERR_ATTEST_DOC_ENCODING when none fits.
 */
SB_RESULT sb_attest_doc_load(struct sb_slice contents, struct sb_buf *out);
/* The protected header the NSM uses: {1: -35} (alg ES384). Borrowed constant. */
struct sb_slice sb_cose_protected_es384(void);

#endif
