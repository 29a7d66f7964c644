/*
 * Sealed dataset benchmark: how fast a 64 MiB AWS Encryption SDK v2
 * message is sealed and, what a job and `sealbid unseal` do, opened and
 * verified in full (header, HKDF + key commitment, header tag, every frame,
 * for 0x0578 the SHA-384 over the message and the P-384 signature), for
 * both suites and several frame lengths; beside raw AES-256-GCM through
 * OpenSSL's EVP (sb_gcm, one context, 1 MiB calls) on the same machine.
 * No KMS: a fixed data key and a dummy aws-kms EDK.
 *
 * usage: bench_esdk [--mib N] [--rounds R]   (default 64 MiB, best of 3)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sb_parse.h"
#include "common/sb_time.h"
#include "crypto/sb_gcm.h"
#include "esdk/sb_esdk.h"

#define RAW_CALL (1u << 20)

static double mb_per_s(size_t bytes, uint64_t ns)
{
	return (double)bytes / 1e6 / ((double)ns / 1e9);
}

/* Bid-like text: what a sealed dataset holds (the content does not matter to GCM). */
static SB_RESULT plaintext_make(size_t len, struct sb_buf *pt)
{
	char line[64];

	SB_GUARD(sb_buf_reserve(pt, len));
	for (unsigned i = 0; pt->len < len; i++) {
		int n = snprintf(line, sizeof(line), "property-%u,%u.%02u\n", i, 100000 + i * 7, i % 100);
		size_t take = (size_t)n < len - pt->len ? (size_t)n : len - pt->len;
		SB_GUARD(sb_buf_append(pt, line, take));
	}
	return SB_OK_RESULT;
}

static SB_RESULT seal(uint16_t suite, uint32_t frame, const uint8_t key[32], struct sb_slice pt,
		      struct sb_buf *msg)
{
	const struct sb_esdk_pair ctx[] = {{"sealbid:manifest", "0123abcd"},
					   {"sealbid:party", "Buyer1"}};
	struct sb_esdk_edk edk = {SB_BUF_INIT(64), SB_BUF_INIT(128), SB_BUF_INIT(256)};
	struct sb_esdk_encryptor *e = NULL;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_buf_append_str(&edk.provider_id, SB_ESDK_KMS_PROVIDER_ID), out);
	SB_GUARD_GOTO(rc, sb_buf_append_str(&edk.provider_info,
					    "arn:aws:kms:us-east-1:111122223333:key/bench"), out);
	SB_GUARD_GOTO(rc, sb_buf_append(&edk.ciphertext, key, 32), out); /* a stand-in blob */
	SB_GUARD_GOTO(rc, sb_esdk_encryptor_new(suite, ctx, 2, frame, &e), out);
	SB_GUARD_GOTO(rc, sb_esdk_encryptor_start(e, SB_SLICE(key, 32), &edk, 1, msg), out);
	SB_GUARD_GOTO(rc, sb_esdk_encryptor_update(e, pt, msg), out);
	rc = sb_esdk_encryptor_final(e, msg);
out:
	sb_esdk_encryptor_free(e);
	sb_buf_cleanup(&edk.provider_id);
	sb_buf_cleanup(&edk.provider_info);
	sb_buf_cleanup(&edk.ciphertext);
	return rc;
}

/* Everything unseal does after KMS: parse, derive and check, open, verify. */
static SB_RESULT unseal(const uint8_t key[32], struct sb_slice msg, struct sb_buf *pt)
{
	struct sb_esdk_header h = {0};
	struct sb_esdk_key *k = NULL;
	size_t hlen;
	sb_result rc;

	SB_GUARD_GOTO(rc, sb_esdk_header_parse(msg, &h, &hlen), out);
	SB_GUARD_GOTO(rc, sb_esdk_key_new(&h, SB_SLICE(key, 32), &k), out);
	rc = sb_esdk_decrypt_body(&h, k, msg, hlen, pt);
out:
	sb_esdk_key_free(k);
	sb_esdk_header_cleanup(&h);
	return rc;
}

/* Raw AES-256-GCM over len bytes in RAW_CALL pieces: encrypt, then decrypt. */
static SB_RESULT raw_gcm(const uint8_t key[32], struct sb_buf *buf, bool encrypt, uint8_t *tags)
{
	struct sb_gcm g;
	uint8_t iv[SB_GCM_NONCE_LEN] = {0};

	SB_GUARD(sb_gcm_init(&g, key, encrypt));
	sb_result rc = SB_OK_RESULT;
	for (size_t off = 0, i = 0; off < buf->len && sb_ok(rc); off += RAW_CALL, i++) {
		size_t n = buf->len - off < RAW_CALL ? buf->len - off : RAW_CALL;
		memcpy(iv, &i, sizeof(i) < sizeof(iv) ? sizeof(i) : sizeof(iv));
		struct sb_slice in = SB_SLICE(buf->data + off, n);
		rc = encrypt ? sb_gcm_seal(&g, iv, SB_SLICE(NULL, 0), in, buf->data + off,
					   tags + i * SB_GCM_TAG_LEN)
			     : sb_gcm_open(&g, iv, SB_SLICE(NULL, 0), in, tags + i * SB_GCM_TAG_LEN,
					   buf->data + off);
	}
	sb_gcm_cleanup(&g);
	return rc;
}

static SB_RESULT raw_best(const uint8_t key[32], struct sb_slice pt, unsigned rounds,
			  uint64_t *enc_ns, uint64_t *dec_ns)
{
	struct sb_buf buf = SB_BUF_INIT(pt.len);
	uint8_t *tags = calloc(pt.len / RAW_CALL + 1, SB_GCM_TAG_LEN);
	sb_result rc = tags != NULL ? sb_buf_set(&buf, pt) : sb_error_record(SB_ERR_NOMEM, SB_HERE);

	*enc_ns = *dec_ns = UINT64_MAX;
	for (unsigned r = 0; r < rounds && sb_ok(rc); r++) {
		uint64_t t0 = sb_time_mono_ns();
		rc = raw_gcm(key, &buf, true, tags);
		uint64_t t1 = sb_time_mono_ns();
		if (sb_ok(rc))
			rc = raw_gcm(key, &buf, false, tags);
		uint64_t t2 = sb_time_mono_ns();
		*enc_ns = t1 - t0 < *enc_ns ? t1 - t0 : *enc_ns;
		*dec_ns = t2 - t1 < *dec_ns ? t2 - t1 : *dec_ns;
	}
	if (sb_ok(rc) && !sb_slice_eq(sb_buf_slice(&buf), pt))
		rc = sb_error_record(SB_ERR_INTERNAL, SB_HERE);
	free(tags);
	sb_buf_cleanup(&buf);
	return rc;
}

static SB_RESULT one_case(uint16_t suite, uint32_t frame, const uint8_t key[32],
			  struct sb_slice pt, unsigned rounds, double raw_dec)
{
	struct sb_buf msg = SB_BUF_INIT(2 * pt.len + (64u << 20));
	struct sb_buf out = SB_BUF_INIT_SECRET(pt.len);
	uint64_t enc = UINT64_MAX, dec = UINT64_MAX;
	/* Memory is reserved up front: the page faults of growing 64 MiB
	 * buffers would otherwise dominate on a busy machine. */
	sb_result rc = sb_buf_reserve(&msg, pt.len + pt.len / 8 + (1u << 20));
	if (sb_ok(rc))
		rc = sb_buf_reserve(&out, pt.len);

	for (unsigned r = 0; r < rounds && sb_ok(rc); r++) {
		sb_buf_reset(&msg);
		sb_buf_reset(&out);
		uint64_t t0 = sb_time_mono_ns();
		rc = seal(suite, frame, key, pt, &msg);
		uint64_t t1 = sb_time_mono_ns();
		if (sb_ok(rc))
			rc = unseal(key, sb_buf_slice(&msg), &out);
		uint64_t t2 = sb_time_mono_ns();
		enc = t1 - t0 < enc ? t1 - t0 : enc;
		dec = t2 - t1 < dec ? t2 - t1 : dec;
	}
	if (sb_ok(rc) && !sb_slice_eq(sb_buf_slice(&out), pt))
		rc = sb_error_record(SB_ERR_INTERNAL, SB_HERE); /* round trip broken */
	if (sb_ok(rc))
		printf("0x%04x %9u %14.0f %14.0f %12.2f\n", suite, frame, mb_per_s(pt.len, enc),
		       mb_per_s(pt.len, dec), mb_per_s(pt.len, dec) / raw_dec);
	sb_buf_cleanup(&msg);
	sb_buf_cleanup(&out);
	return rc;
}

static SB_RESULT run(size_t mib, unsigned rounds)
{
	static const uint32_t frames[] = {4096, 16384, 65536, 262144, 1048576};
	static const uint16_t suites[] = {SB_ESDK_SUITE_COMMIT, SB_ESDK_SUITE_COMMIT_SIG};
	struct sb_buf pt = SB_BUF_INIT(mib << 20);
	uint8_t key[32];
	uint64_t raw_enc, raw_dec;
	sb_result rc;

	memset(key, 0x5b, sizeof(key));
	SB_GUARD_GOTO(rc, plaintext_make(mib << 20, &pt), out);
	SB_GUARD_GOTO(rc, raw_best(key, sb_buf_slice(&pt), rounds, &raw_enc, &raw_dec), out);
	double raw_d = mb_per_s(pt.len, raw_dec);
	printf("bench_esdk: %zu MiB message, best of %u; decrypt = parse, commitment, every frame, "
	       "signature\n", mib, rounds);
	printf("raw AES-256-GCM (EVP, one context, 1 MiB calls): seal %.0f MB/s, open %.0f MB/s\n",
	       mb_per_s(pt.len, raw_enc), raw_d);
	printf("%-6s %9s %14s %14s %12s\n", "suite", "frame", "encrypt MB/s", "decrypt MB/s",
	       "dec/raw GCM");
	for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++)
		for (size_t f = 0; f < sizeof(frames) / sizeof(frames[0]); f++)
			SB_GUARD_GOTO(rc, one_case(suites[s], frames[f], key, sb_buf_slice(&pt),
						   rounds, raw_d), out);
out:
	sb_buf_cleanup(&pt);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"mib", required_argument, NULL, 'm'},
		{"rounds", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	uint32_t mib = 64, rounds = 3;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		bool ok = c == 'm'   ? sb_ok(sb_parse_u32_str(optarg, 1, 1024, &mib))
			  : c == 'r' ? sb_ok(sb_parse_u32_str(optarg, 1, 100, &rounds))
				     : false;
		if (!ok) {
			fprintf(stderr, "usage: bench_esdk [--mib 1..1024] [--rounds 1..100]\n");
			return 2;
		}
	}
	if (!sb_ok(run(mib, rounds))) {
		fprintf(stderr, "bench_esdk: %s\n", sb_error_describe());
		return 1;
	}
	return 0;
}
