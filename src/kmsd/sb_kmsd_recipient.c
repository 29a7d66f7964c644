/*
 * Recipient: "A signed attestation document from an Amazon Web Services
 * Nitro enclave and the encryption algorithm to use with the enclave's
 * public key. The only valid encryption algorithm is RSAES_OAEP_SHA_256."
 *
 * The document is verified with the one attestation verifier (sb_verify.h)
 * against the configured roots. Debug-mode documents pass verification here
 * on purpose: KMS accepts them and it is the key policy (PCR conditions that
 * an all-zero PCR cannot meet) that refuses them, so the same happens here.
 */
#include <string.h>

#include "attest/sb_verify.h"
#include "common/sb_encoding.h"
#include "crypto/sb_cms.h"
#include "crypto/sb_rsa.h"
#include "kmsd/sb_kjson.h"
#include "kmsd/sb_kmsd_internal.h"

void sb_kmsd_recipient_init(struct sb_kmsd_recipient *r)
{
	memset(r, 0, sizeof(*r));
}

void sb_kmsd_recipient_cleanup(struct sb_kmsd_recipient *r)
{
	if (r == NULL)
		return;
	sb_rsa_key_free(r->key);
	sb_attest_doc_free(r->doc);
	memset(r, 0, sizeof(*r));
}

static SB_RESULT verify_opts(const struct sb_kmsd *k, uint64_t now_ms, struct sb_verify_opts *o)
{
	sb_verify_opts_init(o);
	o->at_ms = now_ms;
	o->allow_debug = true;
	for (size_t i = 0; i < k->cfg->n_roots; i++)
		SB_GUARD(sb_verify_opts_add_root(o, sb_buf_slice(&k->cfg->roots[i])));
	/* With no root added the verifier uses the AWS root; once dev roots are
	 * configured, AWS's must be added explicitly to stay trusted. */
	if (k->cfg->trust_aws_root && k->cfg->n_roots > 0)
		SB_GUARD(sb_verify_opts_add_root(o, sb_attest_aws_root_der()));
	SB_ENSURE_MSG(k->cfg->trust_aws_root || k->cfg->n_roots > 0, SB_ERR_KMS_BAD_ATTESTATION,
		      "no attestation roots are trusted by this server");
	return SB_OK_RESULT;
}

static SB_RESULT verify_doc(const struct sb_kmsd *k, struct sb_slice doc, uint64_t now_ms,
			    struct sb_kmsd_recipient *out)
{
	struct sb_verify_opts opts;
	sb_result r;

	SB_GUARD(verify_opts(k, now_ms, &opts));
	r = sb_attest_verify(doc, &opts, &out->doc);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_ATTESTATION,
		      "Invalid attestation document: %s", sb_error_message(r.code));
	SB_ENSURE_MSG(out->doc->public_key.present, SB_ERR_KMS_BAD_ATTESTATION,
		      "The attestation document has no public key.");
	r = sb_rsa_key_from_public_der(sb_buf_slice(&out->doc->public_key.value), &out->key);
	SB_ENSURE_MSG(sb_ok(r), SB_ERR_KMS_BAD_ATTESTATION,
		      "The attestation document's public key is not an RSA key of 2048..8192 bits.");
	return SB_OK_RESULT;
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

SB_RESULT sb_kmsd_recipient_parse(const struct sb_kmsd *k, const json_t *req, uint64_t now_ms,
				  struct sb_kmsd_recipient *out)
{
	SB_DEFER(struct sb_buf doc, sb_buf_cleanup) = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	const char *alg;
	json_t *r;
	bool present;

	SB_ENSURE_REF(out);
	SB_GUARD(sb_kjson_object(req, "Recipient", false, &r));
	if (r == NULL)
		return SB_OK_RESULT;
	SB_GUARD(sb_kjson_string(r, "KeyEncryptionAlgorithm", false, &alg));
	SB_ENSURE_MSG(alg == NULL || strcmp(alg, "RSAES_OAEP_SHA_256") == 0, SB_ERR_KMS_VALIDATION,
		      "1 validation error detected: Value '%s' at 'recipient.keyEncryptionAlgorithm' "
		      "failed to satisfy constraint: Member must satisfy enum value set: "
		      "[RSAES_OAEP_SHA_256]",
		      alg);
	SB_GUARD(sb_kjson_base64(r, "AttestationDocument", true, &present, &doc));
	SB_GUARD(verify_doc(k, sb_buf_slice(&doc), now_ms, out));
	for (unsigned i = 0; i < SB_ATTEST_PCR_COUNT; i++)
		if (out->doc->pcrs[i].present)
			pcr_hex(&out->doc->pcrs[i], out->pcr_hex[i]);
	out->present = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_recipient_seal(const struct sb_kmsd_recipient *r, struct sb_slice plaintext,
				 struct sb_buf *out_b64)
{
	SB_DEFER(struct sb_buf cms, sb_buf_cleanup) = SB_BUF_INIT(SB_CMS_MAX_LEN);

	SB_ENSURE_REF(r);
	SB_ENSURE(r->present && r->key != NULL, SB_ERR_BAD_STATE);
	SB_GUARD(sb_cms_envelope_for_recipient(r->key, plaintext, &cms));
	return sb_base64_encode(sb_buf_slice(&cms), out_b64);
}
