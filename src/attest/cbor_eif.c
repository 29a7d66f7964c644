/*
 * EIF signature section (format in sb_eif_sig.h): a schema-like walk over
 * the libcbor tree that sb_cbor_load has already bounded.
 */
#include "attest/sb_eif_sig.h"

#include <string.h>

#include "attest/sb_attest_doc.h"
#include "attest/sb_cbor.h"

/* array [map {key: array [uint...]}] */
#define EIF_SIG_DEPTH 3

/* An array of 1..SB_EIF_SIG_FIELD_MAX integers 0..255, appended to out. */
static SB_RESULT byte_array(const cbor_item_t *item, const char *name, int err, struct sb_buf *out)
{
	SB_ENSURE_MSG(cbor_isa_array(item) && cbor_array_is_definite(item), err,
	              "%s is not an array of bytes", name);
	size_t n = cbor_array_size(item);
	SB_ENSURE_MSG(n > 0 && n <= SB_EIF_SIG_FIELD_MAX, err, "%s has %zu bytes", name, n);
	SB_GUARD(sb_buf_reserve(out, n));
	cbor_item_t **elems = cbor_array_handle(item);
	for (size_t i = 0; i < n; i++) {
		uint64_t v;
		sb_result rc = sb_cbor_uint(elems[i], UINT8_MAX, err, &v);
		SB_ENSURE_MSG(sb_ok(rc), err, "%s byte %zu is not an integer 0..255", name, i);
		SB_GUARD(sb_buf_append_u8(out, (uint8_t)v));
	}
	return SB_OK_RESULT;
}

/* One PcrSignature map: exactly "signing_certificate" and "signature", in either order. */
static SB_RESULT entry(const cbor_item_t *map, int err, struct sb_buf *cert, struct sb_buf *sig)
{
	SB_ENSURE_MSG(cbor_isa_map(map) && cbor_map_is_definite(map) && cbor_map_size(map) == 2,
	              err, "signature entry is not a map of two fields");
	struct cbor_pair *pairs = cbor_map_handle(map);
	bool have_cert = false, have_sig = false;
	for (size_t i = 0; i < 2; i++) {
		if (sb_cbor_is_text(pairs[i].key, "signing_certificate") && !have_cert) {
			have_cert = true;
			SB_GUARD(byte_array(pairs[i].value, "signing_certificate", err, cert));
		} else if (sb_cbor_is_text(pairs[i].key, "signature") && !have_sig) {
			have_sig = true;
			SB_GUARD(byte_array(pairs[i].value, "signature", err, sig));
		} else {
			SB_BAIL_MSG(err, "unexpected or repeated field in signature entry");
		}
	}
	return SB_OK_RESULT;
}

SB_RESULT sb_eif_sig_parse(struct sb_slice in, int err, struct sb_buf *cert, struct sb_buf *sig)
{
	SB_ENSURE_REF(cert);
	SB_ENSURE_REF(sig);
	cbor_item_t *root = NULL;
	SB_GUARD(sb_cbor_load(in, EIF_SIG_DEPTH, err, &root));
	sb_result rc = SB_OK_RESULT;
	if (!cbor_isa_array(root) || !cbor_array_is_definite(root) || cbor_array_size(root) == 0 ||
	    cbor_array_size(root) > SB_EIF_SIG_MAX_ENTRIES) {
		rc = sb_error_recordf(err, SB_HERE, "not an array of 1..%d signatures",
		                      SB_EIF_SIG_MAX_ENTRIES);
		goto out;
	}
	cbor_item_t **entries = cbor_array_handle(root);
	rc = entry(entries[0], err, cert, sig);
	/* Every entry must be well formed; only the first one's bytes are kept. */
	struct sb_buf scratch_cert = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX),
	              scratch_sig = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX);
	for (size_t i = 1; i < cbor_array_size(root) && sb_ok(rc); i++) {
		sb_buf_reset(&scratch_cert);
		sb_buf_reset(&scratch_sig);
		rc = entry(entries[i], err, &scratch_cert, &scratch_sig);
	}
	sb_buf_cleanup(&scratch_cert);
	sb_buf_cleanup(&scratch_sig);
out:
	cbor_decref(&root);
	return rc;
}

/* serde_cbor of PcrInfo {register_index: 0, register_value: Vec<u8>}: a map of two fields. */
static SB_RESULT pcr_info_cbor(const uint8_t pcr0[SB_SHA384_LEN], struct sb_buf *out)
{
	static const uint8_t head[] = "\xa2\x6eregister_index\x00\x6eregister_value\x98\x30";
	SB_GUARD(sb_buf_append(out, head, sizeof(head) - 1));
	for (size_t i = 0; i < SB_SHA384_LEN; i++) {
		if (pcr0[i] >= 24)
			SB_GUARD(sb_buf_append_u8(out, 0x18)); /* uint8 follows */
		SB_GUARD(sb_buf_append_u8(out, pcr0[i]));
	}
	return SB_OK_RESULT;
}

/* The four parts of an untagged COSE_Sign1 as the aws-nitro-enclaves-cose crate writes it. */
static SB_RESULT cose_parts(const cbor_item_t *cose, int err, struct sb_slice *payload,
                            struct sb_slice *sig)
{
	SB_ENSURE_MSG(cbor_isa_array(cose) && cbor_array_is_definite(cose) &&
	                  cbor_array_size(cose) == 4,
	              err, "PCR0 signature is not a COSE_Sign1 array of 4");
	cbor_item_t **it = cbor_array_handle(cose);
	struct sb_slice prot;
	SB_GUARD(sb_cbor_bytes(it[0], 1, 64, err, &prot));
	SB_ENSURE_MSG(sb_slice_eq(prot, sb_cose_protected_es384()), err,
	              "PCR0 signature is not ES384 (protected header is not {1: -35})");
	SB_ENSURE_MSG(cbor_isa_map(it[1]) && cbor_map_size(it[1]) == 0, err,
	              "PCR0 signature has unprotected headers");
	SB_GUARD(sb_cbor_bytes(it[2], 1, SB_EIF_SIG_FIELD_MAX, err, payload));
	SB_GUARD(sb_cbor_bytes(it[3], SB_ES384_SIG_LEN, SB_ES384_SIG_LEN, err, sig));
	return SB_OK_RESULT;
}

SB_RESULT sb_eif_sig_check(struct sb_slice cose, const struct sb_ecdsa_key *key,
                           const uint8_t pcr0[SB_SHA384_LEN], int err)
{
	SB_ENSURE_REF(key);
	SB_ENSURE_REF(pcr0);
	cbor_item_t *root = NULL;
	struct sb_buf want = SB_BUF_INIT(256), tbs = SB_BUF_INIT(SB_EIF_SIG_FIELD_MAX + 256);
	struct sb_slice payload, sig;
	bool valid = false;
	SB_GUARD(sb_cbor_load(cose, 2, err, &root));
	sb_result rc = cose_parts(root, err, &payload, &sig);
	if (sb_ok(rc))
		rc = pcr_info_cbor(pcr0, &want);
	if (sb_ok(rc) && !sb_slice_eq(payload, sb_buf_slice(&want)))
		rc = sb_error_recordf(err, SB_HERE, "the signed payload is not this image's PCR0");
	if (sb_ok(rc))
		rc = sb_cose_sig_structure(sb_cose_protected_es384(), payload, &tbs);
	if (sb_ok(rc) && !sb_ok(sb_ecdsa_verify_es384(key, sb_buf_slice(&tbs), sig, &valid)))
		rc = sb_error_recordf(err, SB_HERE, "signing key is not P-384 (ES384)");
	if (sb_ok(rc) && !valid)
		rc = sb_error_recordf(
		    err, SB_HERE, "PCR0 signature does not verify with the signing certificate");
	cbor_decref(&root);
	sb_buf_cleanup(&want);
	sb_buf_cleanup(&tbs);
	return rc;
}
