/*
 * Recipient: "A signed attestation document from an Amazon Web Services
 * Nitro enclave and the encryption algorithm to use with the enclave's
 * public key. The only valid encryption algorithm is RSAES_OAEP_SHA_256."
 *
 * The document is verified with the one attestation verifier (sb_verify.h)
 * against the configured roots, through the cache of verified documents
 * (sb_kmsd_attest_cache.h: a document that verified is not verified again
 * while its chain stays valid; the key policy is still evaluated on every
 * request). Debug-mode documents pass verification here
 * on purpose: KMS accepts them and it is the key policy (PCR conditions that
 * an all-zero PCR cannot meet) that refuses them, so the same happens here.
 */
#include <string.h>

#include "attest/sb_verify.h"
#include "common/sb_encoding.h"
#include "crypto/sb_cms.h"
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
	sb_kmsd_attest_release(r->attest);
	memset(r, 0, sizeof(*r));
}

SB_RESULT sb_kmsd_recipient_opts(const struct sb_kmsd_config *cfg, struct sb_verify_opts *o,
				 bool *trusted)
{
	sb_verify_opts_init(o);
	o->allow_debug = true;
	*trusted = cfg->trust_aws_root || cfg->n_roots > 0;
	for (size_t i = 0; i < cfg->n_roots; i++)
		SB_GUARD(sb_verify_opts_add_root(o, sb_buf_slice(&cfg->roots[i])));
	/* With no root added the verifier uses the AWS root; once dev roots are
	 * configured, AWS's must be added explicitly to stay trusted. */
	if (cfg->trust_aws_root && cfg->n_roots > 0)
		SB_GUARD(sb_verify_opts_add_root(o, sb_attest_aws_root_der()));
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_recipient_parse(struct sb_kmsd *k, const json_t *req, uint64_t now_ms,
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
	SB_ENSURE_MSG(k->attest != NULL, SB_ERR_KMS_BAD_ATTESTATION,
		      "no attestation roots are trusted by this server");
	/* Verified at now_ms, or verified before and still valid at now_ms. */
	SB_GUARD(sb_kmsd_attest_cache_get(k->attest, sb_buf_slice(&doc), now_ms, &out->attest));
	out->present = true;
	return SB_OK_RESULT;
}

SB_RESULT sb_kmsd_recipient_seal(const struct sb_kmsd_recipient *r, struct sb_slice plaintext,
				 struct sb_buf *out_b64)
{
	SB_DEFER(struct sb_buf cms, sb_buf_cleanup) = SB_BUF_INIT(SB_CMS_MAX_LEN);

	SB_ENSURE_REF(r);
	SB_ENSURE(r->present && r->attest != NULL, SB_ERR_BAD_STATE);
	SB_GUARD(sb_cms_envelope_for_recipient(r->attest->key, plaintext, &cms));
	return sb_base64_encode(sb_buf_slice(&cms), out_b64);
}
