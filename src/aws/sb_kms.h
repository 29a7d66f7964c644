/*
 * AWS KMS client (JSON 1.1 protocol, "X-Amz-Target: TrentService.<Action>"):
 * Decrypt, Encrypt, GenerateDataKey, GenerateRandom, with the optional
 * Recipient (an attestation document; KeyEncryptionAlgorithm
 * RSAES_OAEP_SHA_256) that makes KMS return CiphertextForRecipient (CMS
 * EnvelopedData for the enclave's key) instead of Plaintext.
 *
 * Responses are parsed strictly: every known field is type-checked, base64
 * decoded strictly, required fields must be present, duplicate keys are
 * rejected; unknown fields are ignored (AWS adds response fields over time,
 * e.g. KeyMaterialId). Plaintexts land in secret buffers, and jansson's
 * allocations are wiped on free so no copy of a plaintext lingers.
 *
 * The KeyId KMS returns (the key ARN) is surfaced so a caller can check
 * which key decrypted a ciphertext (DESIGN.md §6).
 */
#ifndef SB_KMS_H
#define SB_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/sb_creds.h"
#include "aws/sb_http.h"

/* Limits from the KMS API reference. */
#define SB_KMS_CIPHERTEXT_MAX  6144   /* "CiphertextBlob ... Maximum length of 6144." */
#define SB_KMS_PLAINTEXT_MAX   4096   /* "Plaintext ... Maximum length of 4096." */
#define SB_KMS_RANDOM_MAX      1024   /* "NumberOfBytes ... Maximum value of 1024." */
#define SB_KMS_KEY_ID_MAX      2048
#define SB_KMS_ATTESTATION_MAX 262144 /* "AttestationDocument ... Maximum length of 262144." */
#define SB_KMS_RECIPIENT_MAX   (64u << 10) /* a CMS EnvelopedData around <= 4 KiB */
#define SB_KMS_CONTEXT_MAX     64
#define SB_KMS_RESPONSE_MAX    (512u << 10)

struct sb_kms_config {
	const char *region;   /* NULL: sb_aws_region() */
	const char *endpoint; /* NULL: sb_aws_endpoint("kms", region) */
	struct sb_http_config http;
	struct sb_creds_provider *creds; /* borrowed; required */
};

void sb_kms_config_default(struct sb_kms_config *cfg);

struct sb_kms;

SB_RESULT sb_kms_new(const struct sb_kms_config *cfg, struct sb_kms **out);
void sb_kms_free(struct sb_kms *k);
/* The resolved endpoint URL (borrowed from k). */
const char *sb_kms_endpoint(const struct sb_kms *k);

/* One encryption-context pair; all borrowed. */
struct sb_kms_context {
	const char *key;
	const char *value;
};

/* Inputs; everything borrowed for the call. */
struct sb_kms_decrypt_in {
	struct sb_slice ciphertext;
	const char *key_id; /* optional: KMS checks the ciphertext is under it */
	const struct sb_kms_context *context;
	size_t n_context;
	struct sb_slice attestation; /* optional: Recipient.AttestationDocument */
};

struct sb_kms_gdk_in {
	const char *key_id;
	const char *key_spec;    /* "AES_256" or "AES_128"; NULL with number_of_bytes */
	uint32_t number_of_bytes;
	const struct sb_kms_context *context;
	size_t n_context;
	struct sb_slice attestation; /* optional Recipient */
};

/* Outputs. Caller storage: _init / _cleanup. */
struct sb_kms_result {
	char key_id[SB_KMS_KEY_ID_MAX + 1]; /* "" when the operation returns none */
	struct sb_buf plaintext;            /* secret; empty with a Recipient */
	struct sb_buf ciphertext_blob;
	struct sb_buf ciphertext_for_recipient; /* DER CMS EnvelopedData */
	int error;                          /* batch calls: SB_OK or the error */
	char detail[SB_HTTP_DETAIL_MAX];
};

void sb_kms_result_init(struct sb_kms_result *r);
void sb_kms_result_cleanup(struct sb_kms_result *r);

SB_RESULT sb_kms_decrypt(struct sb_kms *k, const struct sb_kms_decrypt_in *in,
			 struct sb_kms_result *out);
SB_RESULT sb_kms_encrypt(struct sb_kms *k, const char *key_id, struct sb_slice plaintext,
			 const struct sb_kms_context *context, size_t n_context,
			 struct sb_kms_result *out);
SB_RESULT sb_kms_generate_data_key(struct sb_kms *k, const struct sb_kms_gdk_in *in,
				   struct sb_kms_result *out);
/* attestation may be empty (no Recipient). */
SB_RESULT sb_kms_generate_random(struct sb_kms *k, uint32_t n, struct sb_slice attestation,
				 struct sb_kms_result *out);
/*
 * Decrypts n ciphertexts concurrently (at most parallel in flight) over
 * kept-alive connections. Each outcome is in outs[i].error / .detail; this
 * fails only when the batch itself cannot run (credentials, set-up).
 */
SB_RESULT sb_kms_decrypt_batch(struct sb_kms *k, const struct sb_kms_decrypt_in *ins,
			       struct sb_kms_result *outs, size_t n, uint32_t parallel);
/* Options of a batch decrypt. */
struct sb_kms_batch_opts {
	uint32_t parallel; /* calls in flight at once, 1..64 */
	/*
	 * Stop at the first row that fails for good (after its retries, or a
	 * response that does not parse): no further call is made, calls in
	 * flight are abandoned, and every row not decrypted by then has
	 * error SB_ERR_HTTP_CANCELLED naming the row that stopped the batch. A
	 * caller that needs every row (a job) then fails without spending the
	 * rest of the batch's calls. A row that cannot even be encoded stops
	 * the batch before any call.
	 */
	bool stop_at_first_failure;
};

/* sb_kms_decrypt_batch with options; the same contract otherwise. */
SB_RESULT sb_kms_decrypt_batch_opts(struct sb_kms *k, const struct sb_kms_decrypt_in *ins,
				    struct sb_kms_result *outs, size_t n,
				    const struct sb_kms_batch_opts *opts);
/* Any JSON 1.1 action ("CreateKey"): body is the request JSON, resp gets the response JSON. */
SB_RESULT sb_kms_call(struct sb_kms *k, const char *action, struct sb_slice body,
		      struct sb_buf *resp);

enum sb_kms_op {
	SB_KMS_OP_DECRYPT,
	SB_KMS_OP_ENCRYPT,
	SB_KMS_OP_GENERATE_DATA_KEY,
	SB_KMS_OP_GENERATE_RANDOM,
};

/* Strict response parsing (pure; fuzzed). with_recipient: the request had a Recipient. */
SB_RESULT sb_kms_parse_response(enum sb_kms_op op, struct sb_slice body, bool with_recipient,
				struct sb_kms_result *out);
/* Request encoding (pure): appends the request JSON to out (a secret buffer for Encrypt). */
SB_RESULT sb_kms_encode_decrypt(const struct sb_kms_decrypt_in *in, struct sb_buf *out);

#endif
