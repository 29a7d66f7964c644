/*
 * Attestation documents: COSE_Sign1 (RFC 9052) around the Nitro payload map
 * (AWS "Nitro Enclaves attestation process" §2.2 and §3.2.2). Parsing only
 * checks structure; sb_verify.c checks chain, signature and policy.
 */
#include <string.h>

#include "attest/sb_attest_doc.h"
#include "attest/sb_cbor.h"

/* RFC 9052 §4.2: "COSE_Sign1 = [Headers, payload : bstr / nil, signature : bstr]". */
#define COSE_SIGN1_ITEMS 4
/* RFC 9052 §9.1 / RFC 9053 §2.1: alg (label 1) = ES384 (-35), encoded as negint 34. */
#define COSE_LABEL_ALG    1
#define COSE_ES384_NEGINT 34
#define COSE_TAG_SIGN1    0xD2 /* tag 18 in one byte: major type 6, value 18 */

typedef sb_result (*field_parse_fn)(const cbor_item_t *value, struct sb_attest_doc *doc);

static SB_RESULT parse_module_id(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	struct sb_slice s;
	/* AWS §3.2.2.2: "module_id ... $length != 0". */
	SB_GUARD(sb_cbor_text(v, 1, SB_ATTEST_MODULE_ID_MAX, SB_ERR_ATTEST_STRUCTURE, &s));
	for (size_t i = 0; i < s.len; i++)
		SB_ENSURE_MSG(s.ptr[i] >= 0x20 && s.ptr[i] < 0x7f, SB_ERR_ATTEST_STRUCTURE,
		              "module_id is not printable ASCII");
	memcpy(doc->module_id, s.ptr, s.len);
	doc->module_id[s.len] = '\0';
	return SB_OK_RESULT;
}

static SB_RESULT parse_digest(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	(void)doc;
	struct sb_slice s;
	SB_GUARD(sb_cbor_text(v, 1, 16, SB_ERR_ATTEST_STRUCTURE, &s));
	/* AWS §3.2.2.2: "digest ... $value ∈ {"SHA384"}". */
	SB_ENSURE_MSG(sb_slice_eq_str(s, "SHA384"), SB_ERR_ATTEST_DIGEST, "digest is not SHA384");
	return SB_OK_RESULT;
}

static SB_RESULT parse_timestamp(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	SB_GUARD(sb_cbor_uint(v, UINT64_MAX, SB_ERR_ATTEST_STRUCTURE, &doc->timestamp_ms));
	/* AWS §3.2.2.2: "timestamp ... $value > 0". */
	SB_ENSURE_MSG(doc->timestamp_ms > 0, SB_ERR_ATTEST_STRUCTURE, "timestamp is zero");
	return SB_OK_RESULT;
}

static SB_RESULT parse_one_pcr(const struct cbor_pair *pair, struct sb_attest_doc *doc)
{
	uint64_t idx;
	/* AWS §3.2.2.2: "pcrIdx ∈ [0, 32)"; "$length pcrs[pcrIdx] ∈ {32, 48, 64}". */
	SB_GUARD(sb_cbor_uint(pair->key, SB_ATTEST_PCR_COUNT - 1, SB_ERR_ATTEST_STRUCTURE, &idx));
	struct sb_attest_pcr *pcr = &doc->pcrs[idx];
	SB_ENSURE_MSG(!pcr->present, SB_ERR_ATTEST_DUPLICATE_KEY, "PCR%u twice", (unsigned)idx);
	struct sb_slice val;
	SB_GUARD(sb_cbor_bytes(pair->value, 0, SIZE_MAX, SB_ERR_ATTEST_STRUCTURE, &val));
	SB_ENSURE_MSG(val.len == 32 || val.len == 48 || val.len == 64, SB_ERR_ATTEST_PCR_LENGTH,
	              "PCR%u is %zu bytes", (unsigned)idx, val.len);
	memcpy(pcr->value, val.ptr, val.len);
	pcr->len = (uint8_t)val.len;
	pcr->present = true;
	return SB_OK_RESULT;
}

static SB_RESULT parse_pcrs(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	SB_ENSURE_MSG(cbor_isa_map(v), SB_ERR_ATTEST_STRUCTURE, "pcrs is not a map");
	size_t n = cbor_map_size(v);
	/* AWS §3.2.2.2: "pcrs ... $size ∈ [1, 32]". */
	SB_ENSURE_MSG(n >= 1 && n <= SB_ATTEST_PCR_COUNT, SB_ERR_ATTEST_FIELD_SIZE, "%zu PCRs", n);
	const struct cbor_pair *pairs = cbor_map_handle(v);
	for (size_t i = 0; i < n; i++)
		SB_GUARD(parse_one_pcr(&pairs[i], doc));
	return SB_OK_RESULT;
}

static SB_RESULT parse_cert_into(const cbor_item_t *v, struct sb_buf *out)
{
	struct sb_slice s;
	/* AWS §2.2: "cert = bytes .size (1..1024)". */
	SB_GUARD(sb_cbor_bytes(v, 1, SB_ATTEST_CERT_MAX, SB_ERR_ATTEST_STRUCTURE, &s));
	return sb_buf_set(out, s);
}

static SB_RESULT parse_certificate(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	return parse_cert_into(v, &doc->certificate);
}

static SB_RESULT parse_cabundle(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	SB_ENSURE_MSG(cbor_isa_array(v), SB_ERR_ATTEST_STRUCTURE, "cabundle is not an array");
	size_t n = cbor_array_size(v);
	/* AWS §3.2.2.2: "CA Bundle is not allowed to have 0 elements". */
	SB_ENSURE_MSG(n >= 1 && n <= SB_ATTEST_CABUNDLE_MAX, SB_ERR_ATTEST_FIELD_SIZE,
	              "cabundle of %zu certificates", n);
	cbor_item_t **items = cbor_array_handle(v);
	for (size_t i = 0; i < n; i++)
		SB_GUARD(parse_cert_into(items[i], &doc->cabundle[i]));
	doc->cabundle_len = n;
	return SB_OK_RESULT;
}

static SB_RESULT parse_public_key(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	/*
	 * AWS §3.2.2.2 says "$length ∈ [1, 1024]", but AWS accepts 0..1024 and
	 * a genuine NSM emits an empty byte string when asked for no key
	 * (issue 10 item 9): accept it; sb_attest_doc_has_public_key reads an
	 * empty key as none.
	 */
	return sb_cbor_opt_bytes(v, 0, SB_ATTEST_PUBLIC_KEY_MAX, SB_ERR_ATTEST_STRUCTURE,
	                         &doc->public_key);
}

static SB_RESULT parse_user_data(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	/* AWS §3.2.2.2: "user_data ... $length ∈ [0, 512]". */
	return sb_cbor_opt_bytes(v, 0, SB_ATTEST_USER_DATA_MAX, SB_ERR_ATTEST_STRUCTURE,
	                         &doc->user_data);
}

static SB_RESULT parse_nonce(const cbor_item_t *v, struct sb_attest_doc *doc)
{
	/* AWS §3.2.2.2: "nonce ... $length ∈ [0, 512]". */
	return sb_cbor_opt_bytes(v, 0, SB_ATTEST_NONCE_MAX, SB_ERR_ATTEST_STRUCTURE, &doc->nonce);
}

/* AWS §3.2.2.1 "Attestation Document Allowed Fields", in the NSM's order. */
static const struct payload_field {
	const char *name;
	field_parse_fn parse;
	bool required;
} payload_fields[] = {
    {"module_id", parse_module_id, true},
    {"digest", parse_digest, true},
    {"timestamp", parse_timestamp, true},
    {"pcrs", parse_pcrs, true},
    {"certificate", parse_certificate, true},
    {"cabundle", parse_cabundle, true},
    {"public_key", parse_public_key, false},
    {"user_data", parse_user_data, false},
    {"nonce", parse_nonce, false},
};
#define PAYLOAD_FIELDS (sizeof(payload_fields) / sizeof(payload_fields[0]))

static SB_RESULT parse_payload_pair(const struct cbor_pair *pair, struct sb_attest_doc *doc,
                                    unsigned *seen)
{
	char key[32];
	SB_GUARD(sb_cbor_key(pair->key, key, sizeof(key), SB_ERR_ATTEST_STRUCTURE));
	for (size_t f = 0; f < PAYLOAD_FIELDS; f++) {
		if (strcmp(key, payload_fields[f].name) != 0)
			continue;
		SB_ENSURE_MSG((*seen & (1u << f)) == 0, SB_ERR_ATTEST_DUPLICATE_KEY,
		              "field %s twice", key);
		*seen |= 1u << f;
		SB_GUARD(payload_fields[f].parse(pair->value, doc));
		return SB_OK_RESULT;
	}
	SB_BAIL_MSG(SB_ERR_ATTEST_UNKNOWN_KEY, "unknown field '%s'", key);
}

static SB_RESULT parse_payload_map(const cbor_item_t *map, struct sb_attest_doc *doc)
{
	SB_ENSURE_MSG(cbor_isa_map(map), SB_ERR_ATTEST_STRUCTURE, "payload is not a map");
	size_t n = cbor_map_size(map);
	/* More pairs than fields means a duplicate or an unknown key, found below. */
	const struct cbor_pair *pairs = cbor_map_handle(map);
	unsigned seen = 0;
	for (size_t i = 0; i < n; i++)
		SB_GUARD(parse_payload_pair(&pairs[i], doc, &seen));
	for (size_t f = 0; f < PAYLOAD_FIELDS; f++)
		SB_ENSURE_MSG(!payload_fields[f].required || (seen & (1u << f)) != 0,
		              SB_ERR_ATTEST_MISSING_FIELD, "no %s", payload_fields[f].name);
	return SB_OK_RESULT;
}

static SB_RESULT parse_payload(struct sb_slice payload, struct sb_attest_doc *doc)
{
	cbor_item_t *map = NULL;
	SB_GUARD(sb_cbor_load(payload, SB_ATTEST_NESTING_MAX, SB_ERR_ATTEST_CBOR, &map));
	sb_result rc = parse_payload_map(map, doc);
	cbor_decref(&map);
	return rc;
}

/* The protected header must be exactly the map {1: -35}. */
static SB_RESULT check_protected(struct sb_slice prot)
{
	cbor_item_t *map = NULL;
	SB_GUARD(sb_cbor_load(prot, 2, SB_ERR_ATTEST_STRUCTURE, &map));
	bool is_map = cbor_isa_map(map) && cbor_map_size(map) == 1;
	bool alg_ok = false;
	if (is_map) {
		const struct cbor_pair *p = cbor_map_handle(map);
		alg_ok = cbor_isa_uint(p[0].key) && cbor_get_int(p[0].key) == COSE_LABEL_ALG &&
		         cbor_isa_negint(p[0].value) &&
		         cbor_get_int(p[0].value) == COSE_ES384_NEGINT;
	}
	cbor_decref(&map);
	SB_ENSURE_MSG(is_map, SB_ERR_ATTEST_STRUCTURE, "protected header is not {alg}");
	SB_ENSURE_MSG(alg_ok, SB_ERR_ATTEST_ALGORITHM, "protected header alg is not ES384 (-35)");
	return SB_OK_RESULT;
}

static SB_RESULT parse_cose(const cbor_item_t *cose, struct sb_attest_doc *doc)
{
	SB_ENSURE_MSG(cbor_isa_array(cose) && cbor_array_size(cose) == COSE_SIGN1_ITEMS,
	              SB_ERR_ATTEST_STRUCTURE, "not a COSE_Sign1 array of 4");
	cbor_item_t **it = cbor_array_handle(cose);
	struct sb_slice prot, payload, sig;
	SB_GUARD(sb_cbor_bytes(it[0], 1, 64, SB_ERR_ATTEST_STRUCTURE, &prot));
	SB_GUARD(check_protected(prot));
	/* The NSM puts nothing in the unprotected bucket: "{}". */
	SB_ENSURE_MSG(cbor_isa_map(it[1]) && cbor_map_size(it[1]) == 0, SB_ERR_ATTEST_STRUCTURE,
	              "unprotected header is not {}");
	SB_GUARD(sb_cbor_bytes(it[2], 1, SB_ATTEST_DOC_MAX, SB_ERR_ATTEST_STRUCTURE, &payload));
	SB_GUARD(sb_cbor_bytes(it[3], 0, SIZE_MAX, SB_ERR_ATTEST_STRUCTURE, &sig));
	SB_ENSURE_MSG(sig.len == sizeof(doc->signature), SB_ERR_ATTEST_STRUCTURE,
	              "signature is %zu bytes, ES384 needs 96", sig.len);
	memcpy(doc->signature, sig.ptr, sig.len);
	SB_GUARD(sb_buf_set(&doc->protected_hdr, prot));
	SB_GUARD(sb_buf_set(&doc->payload, payload));
	return parse_payload(payload, doc);
}

SB_RESULT sb_attest_doc_parse(struct sb_slice in, struct sb_attest_doc **out)
{
	SB_ENSURE_REF(out);
	SB_ENSURE(in.ptr != NULL || in.len == 0, SB_ERR_NULL);
	SB_ENSURE_MSG(in.len <= SB_ATTEST_DOC_MAX, SB_ERR_ATTEST_TOO_LARGE, "%zu bytes, at most %d",
	              in.len, SB_ATTEST_DOC_MAX);
	/* RFC 9052 §4.2: "The COSE_Sign1 structure can be encoded as either
	 * tagged or untagged". libcbor 0.8 rejects one-byte tags, so the
	 * tag-18 byte is stripped here. */
	if (in.len > 0 && in.ptr[0] == COSE_TAG_SIGN1)
		in = SB_SLICE(in.ptr + 1, in.len - 1);
	cbor_item_t *cose = NULL;
	SB_GUARD(sb_cbor_load(in, SB_ATTEST_NESTING_MAX, SB_ERR_ATTEST_CBOR, &cose));
	struct sb_attest_doc *doc = NULL;
	sb_result rc;
	SB_GUARD_GOTO(rc, sb_attest_doc_new(&doc), out);
	SB_GUARD_GOTO(rc, parse_cose(cose, doc), out);
	*out = doc;
	doc = NULL;
out:
	sb_attest_doc_free(doc);
	cbor_decref(&cose);
	return rc;
}

/* ---- encoding ---- */

static SB_RESULT encode_pcrs(const struct sb_attest_doc *doc, cbor_item_t **out)
{
	size_t n = 0;
	for (size_t i = 0; i < SB_ATTEST_PCR_COUNT; i++)
		n += doc->pcrs[i].present ? 1 : 0;
	SB_GUARD(sb_cbor_new_map(false, n, out));
	for (size_t i = 0; i < SB_ATTEST_PCR_COUNT; i++) {
		const struct sb_attest_pcr *p = &doc->pcrs[i];
		if (!p->present)
			continue;
		SB_GUARD(
		    sb_cbor_map_put_uint(*out, i, sb_cbor_build_bytes(SB_SLICE(p->value, p->len))));
	}
	return SB_OK_RESULT;
}

static SB_RESULT encode_cabundle(const struct sb_attest_doc *doc, cbor_item_t **out)
{
	*out = cbor_new_definite_array(doc->cabundle_len);
	SB_ENSURE(*out != NULL, SB_ERR_NOMEM);
	for (size_t i = 0; i < doc->cabundle_len; i++)
		SB_GUARD(
		    sb_cbor_array_push(*out, sb_cbor_build_bytes(sb_buf_slice(&doc->cabundle[i]))));
	return SB_OK_RESULT;
}

static struct sb_slice opt_slice(const struct sb_attest_opt *o)
{
	if (!o->present)
		return SB_SLICE(NULL, 0);
	/* A present but empty value must still be a bstr, so never a NULL ptr. */
	return o->value.len > 0 ? sb_buf_slice(&o->value) : SB_SLICE("", 0);
}

static SB_RESULT encode_payload_fields(const struct sb_attest_doc *doc, cbor_item_t *map)
{
	cbor_item_t *pcrs = NULL, *bundle = NULL;
	SB_GUARD(sb_cbor_map_put(map, "module_id", sb_cbor_build_text(doc->module_id)));
	SB_GUARD(sb_cbor_map_put(map, "digest", sb_cbor_build_text("SHA384")));
	SB_GUARD(sb_cbor_map_put(map, "timestamp", sb_cbor_build_uint(doc->timestamp_ms)));
	sb_result rc = encode_pcrs(doc, &pcrs);
	if (!sb_ok(rc)) {
		if (pcrs != NULL)
			cbor_decref(&pcrs);
		return rc;
	}
	SB_GUARD(sb_cbor_map_put(map, "pcrs", pcrs));
	SB_GUARD(sb_cbor_map_put(map, "certificate",
	                         sb_cbor_build_bytes(sb_buf_slice(&doc->certificate))));
	rc = encode_cabundle(doc, &bundle);
	if (!sb_ok(rc)) {
		if (bundle != NULL)
			cbor_decref(&bundle);
		return rc;
	}
	SB_GUARD(sb_cbor_map_put(map, "cabundle", bundle));
	SB_GUARD(sb_cbor_map_put(map, "public_key",
	                         sb_cbor_build_opt_bytes(opt_slice(&doc->public_key))));
	SB_GUARD(
	    sb_cbor_map_put(map, "user_data", sb_cbor_build_opt_bytes(opt_slice(&doc->user_data))));
	SB_GUARD(sb_cbor_map_put(map, "nonce", sb_cbor_build_opt_bytes(opt_slice(&doc->nonce))));
	return SB_OK_RESULT;
}

SB_RESULT sb_attest_payload_encode(const struct sb_attest_doc *doc, bool indefinite,
                                   struct sb_buf *out)
{
	SB_ENSURE_REF(doc);
	SB_ENSURE_REF(out);
	cbor_item_t *map = NULL;
	SB_GUARD(sb_cbor_new_map(indefinite, PAYLOAD_FIELDS, &map));
	sb_result rc = encode_payload_fields(doc, map);
	if (sb_ok(rc))
		rc = sb_cbor_serialize(map, out);
	cbor_decref(&map);
	return rc;
}

static SB_RESULT encode_array(cbor_item_t **items, size_t n, struct sb_buf *out)
{
	cbor_item_t *arr = cbor_new_definite_array(n);
	sb_result rc = arr != NULL ? SB_OK_RESULT : sb_error_record(SB_ERR_NOMEM, SB_HERE);
	for (size_t i = 0; i < n; i++) {
		if (sb_ok(rc))
			rc = sb_cbor_array_push(arr, items[i]); /* takes items[i] */
		else if (items[i] != NULL)
			cbor_decref(&items[i]);
	}
	if (sb_ok(rc))
		rc = sb_cbor_serialize(arr, out);
	if (arr != NULL)
		cbor_decref(&arr);
	return rc;
}

SB_RESULT sb_cose_sign1_encode(struct sb_slice payload, const uint8_t signature[96],
                               struct sb_buf *out)
{
	SB_ENSURE_REF(signature);
	SB_ENSURE_REF(out);
	cbor_item_t *items[COSE_SIGN1_ITEMS] = {
	    sb_cbor_build_bytes(sb_cose_protected_es384()),
	    cbor_new_definite_map(0),
	    sb_cbor_build_bytes(payload),
	    sb_cbor_build_bytes(SB_SLICE(signature, 96)),
	};
	return encode_array(items, COSE_SIGN1_ITEMS, out);
}

SB_RESULT sb_cose_sig_structure(struct sb_slice protected_hdr, struct sb_slice payload,
                                struct sb_buf *out)
{
	SB_ENSURE_REF(out);
	/* RFC 9052 §4.4: Sig_structure = [context : "Signature1", body_protected,
	 * external_aad : bstr, payload : bstr]; the NSM uses no external AAD. */
	cbor_item_t *items[4] = {
	    sb_cbor_build_text("Signature1"),
	    sb_cbor_build_bytes(protected_hdr),
	    sb_cbor_build_bytes(SB_SLICE("", 0)),
	    sb_cbor_build_bytes(payload),
	};
	return encode_array(items, 4, out);
}
