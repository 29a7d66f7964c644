/*
 * bench_kmsd: Decrypt-with-Recipient requests per second through sealbid-kms's
 * real HTTP path (libmicrohttpd thread pool, SigV4, policy with PCR
 * conditions, attestation verification, RSA-OAEP + CMS), from keep-alive
 * client connections on 127.0.0.1, and the ratio to this machine's
 * `openssl speed -seconds 3 rsa2048` public-key operations per second (each
 * Recipient response costs one RSA public-key encryption, so the ratio says
 * how much of the RSA ceiling the server reaches). Every request carries the
 * same document, as an enclave's calls of one job do (DESIGN §8), so after
 * the first it is served from the server's cache of verified documents;
 * the counters of that cache are printed too.
 *
 *   bench_kmsd [seconds=3] [client-threads=2] [server-threads=2]
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "attest/sb_attest_doc.h"
#include "common/sb_encoding.h"
#include "common/sb_log.h"
#include "common/sb_time.h"
#include "crypto/sb_ecdsa.h"
#include "crypto/sb_rsa.h"
#include "crypto/sb_x509.h"
#include "kmsd/sb_kmsd.h"
#include "kmsd/sb_kmsd_http.h"

#define DIE(...)                                                                                   \
	do {                                                                                       \
		fprintf(stderr, "bench_kmsd: " __VA_ARGS__);                                       \
		fprintf(stderr, " (%s)\n", sb_error_describe());                                   \
		exit(1);                                                                           \
	} while (0)
#define CHECK(expr, what)                                                                          \
	do {                                                                                       \
		if (!sb_ok(expr))                                                                  \
			DIE("%s failed", what);                                                    \
	} while (0)

/* PCR1 of the benchmark's document: 48 bytes of 0x22. */
#define PCR1_HEX                                                                                   \
	"222222222222222222222222222222222222222222222222"                                         \
	"222222222222222222222222222222222222222222222222"

struct bench {
	uint16_t port;
	struct sb_buf request; /* one complete signed HTTP request, reused */
	double seconds;
	unsigned long done[64];
	unsigned long failed[64];
};

/* A test CA and a document carrying the RSA key, PCR0..2 = 0x11.., 0x22.., 0x33.. */
static void make_doc(struct sb_rsa_key *rsa, struct sb_buf *root_pem, struct sb_buf *doc_out)
{
	int64_t now = (int64_t)(sb_time_now_ms() / 1000);
	struct sb_x509_spec rs = {"bench root", 1, now - 60, now + 86400, true, -1};
	struct sb_x509_spec ls = {"bench leaf", 2, now - 60, now + 3600, false, -1};
	struct sb_ecdsa_key *rk, *lk;
	struct sb_x509 *root, *leaf;
	struct sb_attest_doc *doc;
	struct sb_buf payload = SB_BUF_INIT(SB_ATTEST_DOC_MAX), tbs = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	uint8_t sig[96];

	CHECK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &rk), "root key");
	CHECK(sb_ecdsa_key_generate(SB_EC_CURVE_P384, &lk), "leaf key");
	CHECK(sb_x509_create(&rs, rk, NULL, rk, &root), "root cert");
	CHECK(sb_x509_create(&ls, lk, root, rk, &leaf), "leaf cert");
	CHECK(sb_x509_to_pem(root, root_pem), "root pem");
	CHECK(sb_attest_doc_new(&doc), "doc");
	(void)snprintf(doc->module_id, sizeof(doc->module_id), "i-bench-enc0000000001");
	doc->timestamp_ms = sb_time_now_ms();
	for (int i = 0; i < 16; i++) {
		doc->pcrs[i].present = true;
		doc->pcrs[i].len = 48;
		if (i < 3)
			memset(doc->pcrs[i].value, 0x11 * (i + 1), 48);
	}
	CHECK(sb_buf_append_slice(&doc->certificate, sb_x509_der(leaf)), "cert");
	CHECK(sb_buf_append_slice(&doc->cabundle[0], sb_x509_der(root)), "bundle");
	doc->cabundle_len = 1;
	doc->public_key.present = true;
	CHECK(sb_rsa_key_public_der(rsa, &doc->public_key.value), "spki");
	CHECK(sb_attest_payload_encode(doc, false, &payload), "payload");
	CHECK(sb_cose_sig_structure(sb_cose_protected_es384(), sb_buf_slice(&payload), &tbs), "tbs");
	CHECK(sb_ecdsa_sign_es384(lk, sb_buf_slice(&tbs), sig), "sign");
	CHECK(sb_cose_sign1_encode(sb_buf_slice(&payload), sig, doc_out), "cose");
	sb_attest_doc_free(doc);
	sb_buf_cleanup(&payload);
	sb_buf_cleanup(&tbs);
	sb_x509_free(leaf);
	sb_x509_free(root);
	sb_ecdsa_key_free(lk);
	sb_ecdsa_key_free(rk);
}

/* Signs body for op as the dev principal and renders the HTTP request. */
static void build_request(uint16_t port, const char *op, const char *body, struct sb_buf *out)
{
	char date[17], target[64], host[32];
	struct sb_buf authz = SB_BUF_INIT(1024);
	uint64_t now = sb_time_now_ms();
	struct sb_sigv4_credential cred = {SB_KMSD_DEV_ACCESS_KEY, SB_KMSD_DEV_SECRET, NULL};
	struct sb_sigv4_header h[3] = {{SB_SLICE_LIT("Host"), SB_SLICE(NULL, 0)},
				       {SB_SLICE_LIT("X-Amz-Date"), SB_SLICE(NULL, 0)},
				       {SB_SLICE_LIT("X-Amz-Target"), SB_SLICE(NULL, 0)}};
	struct sb_sigv4_request r = {SB_SLICE_LIT("POST"), SB_SLICE_LIT("/"), SB_SLICE(NULL, 0), h, 3,
				     sb_slice_str(body)};

	CHECK(sb_sigv4_format_date(now, date), "date");
	(void)snprintf(host, sizeof(host), "127.0.0.1:%u", (unsigned)port);
	(void)snprintf(target, sizeof(target), "TrentService.%s", op);
	h[0].value = sb_slice_str(host);
	h[1].value = sb_slice_str(date);
	h[2].value = sb_slice_str(target);
	CHECK(sb_sigv4_sign(&r, &cred, "us-east-1", "kms", SB_SLICE_LIT("host;x-amz-date;x-amz-target"),
			    &authz),
	      "sigv4");
	sb_buf_reset(out);
	CHECK(sb_buf_printf(out,
			    "POST / HTTP/1.1\r\nHost: %s\r\nX-Amz-Date: %s\r\nX-Amz-Target: %s\r\n"
			    "Content-Type: application/x-amz-json-1.1\r\nAuthorization: %s\r\n"
			    "Content-Length: %zu\r\n\r\n%s",
			    host, date, target, sb_buf_cstr(&authz), strlen(body), body),
	      "request");
	sb_buf_cleanup(&authz);
}

static int connect_local(uint16_t port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		DIE("connect to 127.0.0.1:%u", (unsigned)port);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* One round trip on a kept-alive connection; returns the HTTP status or -1. */
static int round_trip(int fd, const struct sb_buf *req, struct sb_buf *resp)
{
	size_t hdr_end = 0, clen = 0;
	char *p;

	if (write(fd, req->data, req->len) != (ssize_t)req->len)
		return -1;
	sb_buf_reset(resp);
	for (;;) {
		if (!sb_ok(sb_buf_reserve(resp, 4096)))
			return -1;
		ssize_t n = read(fd, sb_buf_tail(resp), 4096);
		if (n <= 0 || !sb_ok(sb_buf_commit(resp, resp->len + (size_t)n)))
			return -1;
		if (hdr_end == 0 && (p = strstr((char *)resp->data, "\r\n\r\n")) != NULL) {
			hdr_end = (size_t)(p - (char *)resp->data) + 4;
			char *cl = strcasestr((char *)resp->data, "Content-Length:");
			if (cl == NULL)
				return -1;
			clen = strtoul(cl + 15, NULL, 10);
		}
		if (hdr_end != 0 && resp->len >= hdr_end + clen)
			return atoi((char *)resp->data + 9);
	}
}

struct worker {
	struct bench *b;
	unsigned id;
};

static void *client(void *arg)
{
	struct worker *w = arg;
	struct sb_buf resp = SB_BUF_INIT_SECRET(1 << 20);
	int fd = connect_local(w->b->port);
	uint64_t end = sb_time_mono_ns() + (uint64_t)(w->b->seconds * 1e9);

	while (sb_time_mono_ns() < end) {
		int status = round_trip(fd, &w->b->request, &resp);
		if (status == 200)
			w->b->done[w->id]++;
		else
			w->b->failed[w->id]++;
		if (status < 0) {
			close(fd);
			fd = connect_local(w->b->port);
		}
	}
	close(fd);
	sb_buf_cleanup(&resp);
	return NULL;
}

/* `openssl speed -seconds 3 rsa2048`: the verify/s column (public-key ops). */
static double openssl_rsa_public_per_s(void)
{
	FILE *f = popen("openssl speed -seconds 3 rsa2048 2>/dev/null", "r");
	char line[512];
	double sign_s, verify_s, signs, verifies = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "rsa 2048 bits %lfs %lfs %lf %lf", &sign_s, &verify_s, &signs,
			   &verifies) == 4)
			break;
	(void)pclose(f);
	return verifies;
}

static void setup_key(struct bench *b, const struct sb_buf *doc)
{
	struct sb_buf resp = SB_BUF_INIT_SECRET(1 << 20), body = SB_BUF_INIT(1 << 16);
	struct sb_buf d64 = SB_BUF_INIT(1 << 16);
	char key[64] = "", blob[512] = "";
	int fd = connect_local(b->port);
	const char *pin =
		"{\\\"Statement\\\":[{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":{\\\"AWS\\\":"
		"\\\"arn:aws:iam::111122223333:root\\\"},\\\"Action\\\":\\\"kms:PutKeyPolicy\\\","
		"\\\"Resource\\\":\\\"*\\\"},{\\\"Effect\\\":\\\"Allow\\\",\\\"Principal\\\":\\\"*\\\","
		"\\\"Action\\\":[\\\"kms:Encrypt\\\",\\\"kms:Decrypt\\\"],\\\"Resource\\\":\\\"*\\\","
		"\\\"Condition\\\":{\\\"StringEqualsIgnoreCase\\\":{"
		"\\\"kms:RecipientAttestation:PCR1\\\":\\\"" PCR1_HEX "\\\"}}},{\\\"Effect\\\":\\\"Allow\\\","
		"\\\"Principal\\\":\\\"*\\\",\\\"Action\\\":\\\"kms:Encrypt\\\",\\\"Resource\\\":\\\"*\\\"}]}";

	CHECK(sb_buf_printf(&body, "{\"Policy\":\"%s\"}", pin), "body");
	build_request(b->port, "CreateKey", sb_buf_cstr(&body), &b->request);
	if (round_trip(fd, &b->request, &resp) != 200)
		DIE("CreateKey: %s", sb_buf_cstr(&resp));
	char *k = strstr((char *)resp.data, "\"KeyId\":\"");
	if (k == NULL)
		DIE("CreateKey reply");
	memcpy(key, k + 9, 36);
	sb_buf_reset(&body);
	CHECK(sb_buf_printf(&body, "{\"KeyId\":\"%s\",\"Plaintext\":\"MTAwMDAw\"}", key), "body");
	build_request(b->port, "Encrypt", sb_buf_cstr(&body), &b->request);
	if (round_trip(fd, &b->request, &resp) != 200)
		DIE("Encrypt: %s", sb_buf_cstr(&resp));
	char *c = strstr((char *)resp.data, "\"CiphertextBlob\":\"");
	if (c == NULL || sscanf(c + 18, "%511[^\"]", blob) != 1)
		DIE("Encrypt reply");
	CHECK(sb_base64_encode(sb_buf_slice(doc), &d64), "b64");
	sb_buf_reset(&body);
	CHECK(sb_buf_printf(&body,
			    "{\"CiphertextBlob\":\"%s\",\"Recipient\":{\"KeyEncryptionAlgorithm\":"
			    "\"RSAES_OAEP_SHA_256\",\"AttestationDocument\":\"%s\"}}",
			    blob, sb_buf_cstr(&d64)),
	      "body");
	build_request(b->port, "Decrypt", sb_buf_cstr(&body), &b->request);
	if (round_trip(fd, &b->request, &resp) != 200 ||
	    strstr((char *)resp.data, "CiphertextForRecipient") == NULL)
		DIE("Decrypt with Recipient: %s", sb_buf_cstr(&resp));
	close(fd);
	sb_buf_cleanup(&resp);
	sb_buf_cleanup(&body);
	sb_buf_cleanup(&d64);
}

int main(int argc, char **argv)
{
	static struct bench b;
	struct sb_kmsd_config cfg;
	struct sb_kmsd *kmsd;
	struct sb_kmsd_http *http;
	struct sb_rsa_key *rsa;
	struct sb_buf doc = SB_BUF_INIT(SB_ATTEST_DOC_MAX);
	char dir[] = "/tmp/sb_bench_kmsd_XXXXXX", cmd[128];
	unsigned clients = argc > 2 ? (unsigned)atoi(argv[2]) : 2;
	unsigned servers = argc > 3 ? (unsigned)atoi(argv[3]) : 2;
	pthread_t th[64];
	struct worker w[64];
	unsigned long total = 0, failed = 0;

	b.request = SB_BUF_INIT(1 << 17);
	b.seconds = argc > 1 ? atof(argv[1]) : 3.0;
	if (clients < 1 || clients > 64 || servers < 1 || servers > 64 || b.seconds <= 0)
		DIE("usage: bench_kmsd [seconds] [client-threads] [server-threads]");
	sb_log_set_level(SB_LOG_ERROR);
	if (mkdtemp(dir) == NULL)
		DIE("mkdtemp");
	sb_kmsd_config_init(&cfg);
	CHECK(sb_kmsd_config_default(&cfg), "config");
	CHECK(sb_rsa_key_new(2048, &rsa), "rsa");
	for (size_t i = 0; i < SB_KMSD_MAX_ROOTS; i++)
		sb_buf_reset(&cfg.roots[i]);
	cfg.n_roots = 1;
	cfg.trust_aws_root = false;
	make_doc(rsa, &cfg.roots[0], &doc);
	CHECK(sb_kmsd_new(&cfg, dir, &kmsd), "server");
	CHECK(sb_kmsd_http_start(kmsd, "127.0.0.1", 0, servers, &http), "listen");
	b.port = sb_kmsd_http_port(http);
	setup_key(&b, &doc);

	uint64_t t0 = sb_time_mono_ns();
	for (unsigned i = 0; i < clients; i++) {
		w[i] = (struct worker){&b, i};
		pthread_create(&th[i], NULL, client, &w[i]);
	}
	for (unsigned i = 0; i < clients; i++) {
		pthread_join(th[i], NULL);
		total += b.done[i];
		failed += b.failed[i];
	}
	double secs = (double)(sb_time_mono_ns() - t0) / 1e9, rps = (double)total / secs;
	struct sb_kmsd_attest_cache_stats st;
	sb_kmsd_attest_stats(kmsd, &st);
	double rsa_ops = openssl_rsa_public_per_s();
	printf("sealbid-kms Decrypt+Recipient: %.0f req/s (%lu ok, %lu failed, %.1f s, %u client "
	       "connections, %u server threads)\n",
	       rps, total, failed, secs, clients, servers);
	printf("attestation cache: %llu hits, %llu misses (verifications), %zu entries\n",
	       (unsigned long long)st.hits, (unsigned long long)st.misses, st.entries);
	if (rsa_ops > 0)
		printf("openssl speed rsa2048 public-key ops: %.0f/s; ratio kms/rsa = %.4f\n", rsa_ops,
		       rps / rsa_ops);
	else
		printf("openssl speed rsa2048: unavailable\n");
	sb_kmsd_http_stop(http);
	sb_kmsd_free(kmsd);
	sb_kmsd_config_cleanup(&cfg);
	sb_rsa_key_free(rsa);
	sb_buf_cleanup(&doc);
	sb_buf_cleanup(&b.request);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 && failed == 0 ? 0 : 1;
}
