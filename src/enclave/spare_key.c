/*
 * The next job's key pair, made ahead (enclave.h, "spare key"). RSA-2048
 * key generation takes 50-500 ms, most of a small job's latency; a thread
 * makes one key pair and its attestation document while the enclave is
 * idle, and a job takes it at BeginJob. A key still serves exactly one job
 * (taken, never copied) and never leaves the enclave. A spare older than
 * SPARE_MAX_AGE_MS is replaced, so the document KMS sees is always fresh.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/sb_kms.h"
#include "common/sb_log.h"
#include "common/sb_time.h"
#include "crypto/sb_rsa.h"
#include "enclave/enclave.h"

#define SPARE_MAX_AGE_MS (4u * 60u * 1000u)

/* Key pair and document for one job; a job that takes none makes its own. */
static SB_RESULT make(struct sb_enclave *e, struct sb_rsa_key **key, struct sb_buf *doc)
{
	struct sb_buf spki = SB_BUF_INIT(SB_RSA_MAX_SPKI_DER_LEN);
	sb_result rc;

	SB_GUARD(sb_rsa_key_new(SB_RSA_DEFAULT_BITS, key));
	SB_GUARD_GOTO(rc, sb_rsa_key_public_der(*key, &spki), out);
	pthread_mutex_lock(&e->nsm_lock);
	rc = sb_nsm_attestation(e->nsm, SB_SLICE(NULL, 0), SB_SLICE(NULL, 0), sb_buf_slice(&spki),
	                        doc);
	pthread_mutex_unlock(&e->nsm_lock);
out:
	sb_buf_cleanup(&spki);
	if (!sb_ok(rc)) {
		sb_rsa_key_free(*key);
		*key = NULL;
		sb_buf_reset(doc);
	}
	return rc;
}

static void drop_spare(struct sb_enclave_spare *s)
{
	sb_rsa_key_free(s->key);
	s->key = NULL;
	sb_buf_reset(&s->doc);
}

static void *maker(void *arg)
{
	struct sb_enclave *e = arg;
	struct sb_enclave_spare *s = &e->spare;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		if (s->key != NULL &&
		    sb_time_mono_ns() - s->made_ns < SPARE_MAX_AGE_MS * 1000000ull) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 30; /* wakes to check the age */
			pthread_cond_timedwait(&s->wake, &s->lock, &until);
			continue;
		}
		drop_spare(s);
		pthread_mutex_unlock(&s->lock);
		struct sb_rsa_key *key = NULL;
		struct sb_buf doc = SB_BUF_INIT(SB_KMS_ATTESTATION_MAX);
		sb_result r = make(e, &key, &doc);
		pthread_mutex_lock(&s->lock);
		if (!sb_ok(r)) { /* no NSM, say: jobs make their own and fail clearly */
			sb_buf_cleanup(&doc);
			sb_log_warn("spare key: %s", sb_error_describe());
			break;
		}
		s->key = key;
		sb_buf_move(&s->doc, &doc);
		sb_buf_cleanup(&doc);
		s->made_ns = sb_time_mono_ns();
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

void sb_enclave_spare_start(struct sb_enclave *e)
{
	struct sb_enclave_spare *s = &e->spare;

	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->doc = SB_BUF_INIT(SB_KMS_ATTESTATION_MAX);
	s->started = pthread_create(&s->thread, NULL, maker, e) == 0;
	if (!s->started)
		sb_log_warn("spare key: no thread; each job makes its key pair itself");
}

void sb_enclave_spare_stop(struct sb_enclave *e)
{
	struct sb_enclave_spare *s = &e->spare;

	if (s->started) {
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	drop_spare(s);
	sb_buf_cleanup(&s->doc);
}

SB_RESULT sb_enclave_job_key(struct sb_enclave *e, struct sb_rsa_key **key, struct sb_buf *doc)
{
	struct sb_enclave_spare *s = &e->spare;
	bool taken = false;

	if (s->started) {
		pthread_mutex_lock(&s->lock);
		if (s->key != NULL &&
		    sb_time_mono_ns() - s->made_ns < SPARE_MAX_AGE_MS * 1000000ull) {
			sb_result r = sb_buf_append_slice(doc, sb_buf_slice(&s->doc));
			if (sb_ok(r)) {
				*key = s->key; /* the job owns it now */
				s->key = NULL;
				taken = true;
			}
		}
		drop_spare(s);
		pthread_cond_signal(&s->wake); /* make the next one */
		pthread_mutex_unlock(&s->lock);
	}
	return taken ? SB_OK_RESULT : make(e, key, doc);
}
