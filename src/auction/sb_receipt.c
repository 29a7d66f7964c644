#include "auction/sb_receipt.h"

#include <string.h>

#include <jansson.h>

#include "auction/sb_manifest.h"
#include "auction/sb_shard.h"
#include "common/sb_encoding.h"
#include "common/sb_mem.h"

SB_RESULT sb_receipt_user_data(const uint8_t manifest_hash[SB_SHA384_LEN],
			       struct sb_slice output, uint8_t out[SB_SHA384_LEN])
{
	uint8_t both[2 * SB_SHA384_LEN];

	SB_ENSURE(manifest_hash != NULL && out != NULL, SB_ERR_NULL);
	memcpy(both, manifest_hash, SB_SHA384_LEN);
	SB_GUARD(sb_sha384(output, both + SB_SHA384_LEN));
	return sb_sha384(SB_SLICE(both, sizeof(both)), out);
}

SB_RESULT sb_receipt_user_data_shard(const uint8_t manifest_hash[SB_SHA384_LEN], uint32_t k,
				     uint32_t n, struct sb_slice output,
				     uint8_t out[SB_SHA384_LEN])
{
	uint8_t all[2 * SB_SHA384_LEN + 8], output_hash[SB_SHA384_LEN];
	struct sb_writer w;

	if (n == 1 && k == 0)
		return sb_receipt_user_data(manifest_hash, output, out);
	SB_ENSURE(manifest_hash != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_shard_check(k, n));
	SB_GUARD(sb_sha384(output, output_hash));
	sb_writer_init(&w, all, sizeof(all));
	SB_GUARD(sb_writer_bytes(&w, manifest_hash, SB_SHA384_LEN));
	SB_GUARD(sb_writer_be32(&w, k));
	SB_GUARD(sb_writer_be32(&w, n));
	SB_GUARD(sb_writer_bytes(&w, output_hash, SB_SHA384_LEN));
	return sb_sha384(SB_SLICE(all, w.len), out);
}

SB_RESULT sb_receipt_build(const char *job_id, const uint8_t manifest_hash[SB_SHA384_LEN],
			   struct sb_slice output, struct sb_slice attestation_doc,
			   struct sb_buf *out)
{
	return sb_receipt_build_shard(job_id, manifest_hash, 0, 1, output, attestation_doc, out);
}

SB_RESULT sb_receipt_build_shard(const char *job_id, const uint8_t manifest_hash[SB_SHA384_LEN],
				 uint32_t k, uint32_t n, struct sb_slice output,
				 struct sb_slice attestation_doc, struct sb_buf *out)
{
	uint8_t oh[SB_SHA384_LEN];
	struct sb_buf mh_hex = SB_BUF_INIT(128), oh_hex = SB_BUF_INIT(128);
	struct sb_buf doc_b64 = SB_BUF_INIT(SB_RECEIPT_MAX);
	sb_result rc;

	SB_ENSURE(job_id != NULL && manifest_hash != NULL && out != NULL, SB_ERR_NULL);
	SB_GUARD(sb_sha384(output, oh));
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(manifest_hash, SB_SHA384_LEN), &mh_hex), out);
	SB_GUARD_GOTO(rc, sb_hex_encode(SB_SLICE(oh, sizeof(oh)), &oh_hex), out);
	SB_GUARD_GOTO(rc, sb_base64_encode(attestation_doc, &doc_b64), out);
	SB_GUARD_GOTO(rc, sb_shard_check(k, n), out);
	/* job_id is validated by the manifest parser: [A-Za-z0-9._:-] only. */
	if (n > 1)
		rc = sb_buf_printf(out,
				   "{\"version\":2,\"job_id\":\"%s\",\"manifest_sha384\":\"%s\","
				   "\"shard\":%u,\"shards\":%u,"
				   "\"output_sha384\":\"%s\",\"attestation_document\":\"%s\"}\n",
				   job_id, sb_buf_cstr(&mh_hex), k, n, sb_buf_cstr(&oh_hex),
				   sb_buf_cstr(&doc_b64));
	else
		rc = sb_buf_printf(out,
			   "{\"version\":1,\"job_id\":\"%s\",\"manifest_sha384\":\"%s\","
			   "\"output_sha384\":\"%s\",\"attestation_document\":\"%s\"}\n",
			   job_id, sb_buf_cstr(&mh_hex), sb_buf_cstr(&oh_hex),
			   sb_buf_cstr(&doc_b64));
out:
	sb_buf_cleanup(&mh_hex);
	sb_buf_cleanup(&oh_hex);
	sb_buf_cleanup(&doc_b64);
	return rc;
}

struct receipt {
	uint32_t version;
	uint32_t shard, shards;
	char job_id[129];
	uint8_t manifest_hash[SB_SHA384_LEN];
	uint8_t output_hash[SB_SHA384_LEN];
	struct sb_buf doc;
};

static SB_RESULT hex_field(json_t *root, const char *name, uint8_t out[SB_SHA384_LEN])
{
	json_t *v = json_object_get(root, name);

	SB_ENSURE_MSG(json_is_string(v), SB_ERR_BAD_RECEIPT, "\"%s\" must be a string", name);
	/* Canonical lower-case hex only, so no two receipts mean the same thing. */
	for (const char *p = json_string_value(v); *p != '\0'; p++)
		SB_ENSURE_MSG(!(*p >= 'A' && *p <= 'F'), SB_ERR_BAD_RECEIPT,
			      "\"%s\" must be lower-case hex", name);
	if (!sb_ok(sb_hex_decode_fixed(SB_SLICE(json_string_value(v), json_string_length(v)), out,
				       SB_SHA384_LEN)))
		SB_BAIL_MSG(SB_ERR_BAD_RECEIPT, "\"%s\" must be 96 hex digits", name);
	return SB_OK_RESULT;
}

static SB_RESULT shard_field(json_t *root, const char *name, uint32_t *out)
{
	json_t *v = json_object_get(root, name);

	SB_ENSURE_MSG(json_is_integer(v) && json_integer_value(v) >= 0 &&
			  json_integer_value(v) <= SB_SHARD_MAX,
		      SB_ERR_BAD_RECEIPT, "\"%s\" must be an integer 0..%u", name, SB_SHARD_MAX);
	*out = (uint32_t)json_integer_value(v);
	return SB_OK_RESULT;
}

/* Version 1: no shard fields (shard 0 of 1). Version 2: both, a real shard of N > 1. */
static SB_RESULT shard_fields(json_t *root, struct receipt *r)
{
	if (r->version == 1) {
		SB_ENSURE_MSG(json_object_get(root, "shard") == NULL &&
				  json_object_get(root, "shards") == NULL,
			      SB_ERR_BAD_RECEIPT, "a version 1 receipt has no shard fields");
		r->shard = 0;
		r->shards = 1;
		return SB_OK_RESULT;
	}
	SB_GUARD(shard_field(root, "shard", &r->shard));
	SB_GUARD(shard_field(root, "shards", &r->shards));
	SB_ENSURE_MSG(r->shards > 1 && r->shard < r->shards, SB_ERR_BAD_RECEIPT,
		      "\"shard\" must be one of 0..shards-1 and \"shards\" over 1");
	return SB_OK_RESULT;
}

static SB_RESULT receipt_parse(struct sb_slice text, struct receipt *r)
{
	static const char *const keys[] = {"version", "job_id", "manifest_sha384", "shard",
					   "shards", "output_sha384", "attestation_document",
					   NULL};
	json_error_t err;
	const char *key;
	json_t *root, *val;
	sb_result rc = SB_OK_RESULT;

	SB_ENSURE_MSG(text.len <= SB_RECEIPT_MAX, SB_ERR_BAD_RECEIPT, "too large");
	root = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &err);
	/* Say why: jansson's text names a duplicated key ("duplicate object key"). */
	if (root == NULL)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "not valid JSON: %.160s (line %d)",
				 err.text, err.line);
	if (!json_is_object(root))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "not a JSON object");
	json_object_foreach(root, key, val) {
		bool known = false;
		for (const char *const *k = keys; *k != NULL; k++)
			known = known || strcmp(*k, key) == 0;
		if (!known)
			SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "unknown field \"%.32s\"",
					 key);
	}
	val = json_object_get(root, "version");
	if (!json_is_integer(val) || json_integer_value(val) < 1 || json_integer_value(val) > 2)
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "\"version\" must be 1 or 2");
	r->version = (uint32_t)json_integer_value(val);
	SB_GUARD_GOTO(rc, shard_fields(root, r), out);
	val = json_object_get(root, "job_id");
	if (!json_is_string(val) || json_string_length(val) >= sizeof(r->job_id))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "\"job_id\" must be a string");
	memcpy(r->job_id, json_string_value(val), json_string_length(val) + 1);
	SB_GUARD_GOTO(rc, hex_field(root, "manifest_sha384", r->manifest_hash), out);
	SB_GUARD_GOTO(rc, hex_field(root, "output_sha384", r->output_hash), out);
	val = json_object_get(root, "attestation_document");
	if (!json_is_string(val))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "no attestation_document");
	if (!sb_ok(sb_base64_decode(SB_SLICE(json_string_value(val), json_string_length(val)),
				    &r->doc)))
		SB_FAIL_GOTO_MSG(rc, SB_ERR_BAD_RECEIPT, out, "attestation_document: bad base64");
out:
	json_decref(root);
	return rc;
}

/* A job id as the manifest allows them ([A-Za-z0-9._:-]), safe to print. */
static bool printable_id(const char *id)
{
	if (*id == '\0')
		return false;
	for (; *id != '\0'; id++)
		if (!((*id >= 'A' && *id <= 'Z') || (*id >= 'a' && *id <= 'z') ||
		      (*id >= '0' && *id <= '9') || strchr("._:-", *id) != NULL))
			return false;
	return true;
}

static SB_RESULT check_bindings(const struct receipt *r, struct sb_slice output,
				struct sb_slice manifest_json)
{
	struct sb_manifest m;
	uint8_t oh[SB_SHA384_LEN];
	sb_result rc = SB_OK_RESULT;

	SB_GUARD(sb_manifest_parse(manifest_json, &m));
	/* Every field of the receipt is bound; the most telling difference is said. */
	if (strcmp(m.job_id, r->job_id) != 0)
		rc = sb_error_recordf(SB_ERR_RECEIPT_MISMATCH, SB_HERE,
				      "the receipt is of job \"%s\", the manifest's is \"%s\"",
				      printable_id(r->job_id) ? r->job_id : "(not a job id)", m.job_id);
	else if (m.shards != r->shards)
		rc = sb_error_recordf(SB_ERR_RECEIPT_MISMATCH, SB_HERE,
				      "the receipt is for a job of %u shard(s), the manifest declares %u",
				      r->shards, m.shards);
	else if (memcmp(m.hash, r->manifest_hash, SB_SHA384_LEN) != 0)
		rc = sb_error_recordf(SB_ERR_RECEIPT_MISMATCH, SB_HERE,
				      "the manifest is not the one of the receipt");
	sb_manifest_cleanup(&m);
	SB_GUARD(rc);
	SB_GUARD(sb_sha384(output, oh));
	SB_ENSURE_MSG(memcmp(oh, r->output_hash, SB_SHA384_LEN) == 0, SB_ERR_RECEIPT_MISMATCH,
		      "the output is not the one of the receipt");
	return SB_OK_RESULT;
}

SB_RESULT sb_receipt_verify(struct sb_slice receipt, struct sb_slice output,
			    struct sb_slice manifest_json, struct sb_verify_opts *opts,
			    struct sb_attest_doc **doc_out)
{
	return sb_receipt_verify_info(receipt, output, manifest_json, opts, doc_out, NULL);
}

SB_RESULT sb_receipt_verify_info(struct sb_slice receipt, struct sb_slice output,
				 struct sb_slice manifest_json, struct sb_verify_opts *opts,
				 struct sb_attest_doc **doc_out, struct sb_receipt_info *info)
{
	struct receipt r = {.doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX)};
	struct sb_attest_doc *unverified = NULL;
	uint8_t ud[SB_SHA384_LEN], rh[SB_SHA384_LEN];
	uint64_t at_saved;
	sb_result rc;

	SB_ENSURE_REF(opts);
	/* A receipt proves what ran only if the expected PCRs pin the image (issue 10 item 8). */
	SB_ENSURE_MSG(sb_verify_opts_pins_image(opts), SB_ERR_ATTEST_PCRS_TOO_WEAK,
		      SB_VERIFY_PINS_IMAGE_HELP);
	SB_GUARD_GOTO(rc, receipt_parse(receipt, &r), out);
	SB_GUARD_GOTO(rc, check_bindings(&r, output, manifest_json), out);
	/* The document must commit to exactly this manifest and output. */
	SB_GUARD_GOTO(rc, sb_receipt_user_data_shard(r.manifest_hash, r.shard, r.shards, output, ud),
		      out);
	SB_GUARD_GOTO(rc, sb_sha384(receipt, rh), out);
	opts->expect_user_data.set = true;
	opts->expect_user_data.value = SB_SLICE(ud, sizeof(ud));
	at_saved = opts->at_ms;
	if (at_saved == 0) {
		SB_GUARD_GOTO(rc, sb_attest_doc_parse(sb_buf_slice(&r.doc), &unverified), out);
		opts->at_ms = unverified->timestamp_ms;
	}
	rc = sb_attest_verify(sb_buf_slice(&r.doc), opts, doc_out);
	opts->at_ms = at_saved;
	if (sb_ok(rc) && info != NULL) {
		info->version = r.version;
		info->shard = r.shard;
		info->shards = r.shards;
		memcpy(info->receipt_hash, rh, sizeof(rh));
	}
out:
	opts->expect_user_data.set = false;
	sb_attest_doc_free(unverified);
	sb_buf_cleanup(&r.doc);
	return rc;
}
