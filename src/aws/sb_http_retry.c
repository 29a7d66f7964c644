/*
 * Retry policy of the HTTP clients, after the AWS SDKs' "standard" and
 * "adaptive" retry modes (AWS SDKs and Tools Reference Guide, "Retry
 * behavior"):
 *
 *   standard: "This mode includes a standard set of errors that are
 *   retried, and support for retry quotas." Retries use "exponential backoff
 *   with jitter", and it "never delays the first request attempt, only
 *   retries".
 *   adaptive: "includes the functionality of standard mode as well as
 *   automatic client-side rate limiting"; it "can throttle or delay the
 *   initial request attempt".
 *
 * The quota constants are those of the SDKs' standard mode: 500 initial
 * tokens, 5 per retry, 10 per retry after a timeout, a successful retry
 * refunds its cost and a first-attempt success adds 1. The rate limiter is
 * the SDKs' token bucket driven by CUBIC (scale 0.4, beta 0.7, minimum rate
 * 0.5/s, the measured send rate smoothed 0.8 over half-second buckets, a new
 * rate never above twice the measured one).
 *
 * Where sealbid differs: throttling errors may be retried up to
 * throttle_max_attempts (8) rather than max_attempts (3). A job of thousands
 * of KMS calls against a throttled account would otherwise fail on the few
 * rows throttled three times in a row; the quota still bounds the total.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/sb_http_internal.h"
#include "common/sb_parse.h"
#include "common/sb_time.h"
#include "crypto/sb_random.h"

#define RETRY_COST         5u
#define TIMEOUT_RETRY_COST 10u
#define NO_RETRY_INCREMENT 1u

#define CUBIC_SCALE    0.4
#define CUBIC_BETA     0.7
#define MIN_FILL_RATE  0.5
#define MAX_RATE_SCALE 2.0
#define RATE_SMOOTHING 0.8
#define RATE_BUCKET_NS 500000000ull /* half a second */
#define NS_PER_S       1e9

void sb_http_retry_init(struct sb_http_retry *r, const struct sb_http_config *cfg)
{
	memset(r, 0, sizeof(*r));
	r->cfg = cfg;
	r->tokens = cfg->retry_quota;
	r->t0_ns = sb_time_mono_ns();
}

uint64_t sb_http_backoff_ms(const struct sb_http_config *cfg, uint32_t attempt)
{
	uint64_t cap = cfg->backoff_base_ms;
	uint32_t rnd = 0;

	for (uint32_t i = 1; i < attempt && cap < cfg->backoff_max_ms; i++)
		cap *= 2;
	if (cap > cfg->backoff_max_ms)
		cap = cfg->backoff_max_ms;
	if (cap == 0 || !sb_ok(sb_random_bytes(&rnd, sizeof(rnd)))) {
		sb_error_clear();
		return cap / 2;
	}
	return rnd % cap;
}

void sb_http_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
	                      .tv_nsec = (long)(ns % 1000000000u)};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- adaptive: measured send rate, CUBIC, token bucket ------------------ */

/* Cube root of x >= 0 by Newton's method (spares the layer a libm dependency). */
static double cube_root(double x)
{
	double y = x > 1.0 ? x : 1.0;

	if (x <= 0.0)
		return 0.0;
	for (int i = 0; i < 100; i++) {
		double next = (2.0 * y + x / (y * y)) / 3.0;
		if (next >= y)
			break;
		y = next;
	}
	return y;
}

/* Counts one send; returns the smoothed rate of sends per second. */
static double measure_rate(struct sb_http_retry *r, uint64_t now_ns)
{
	uint64_t bucket = (now_ns - r->t0_ns) / RATE_BUCKET_NS;

	r->rate_count++;
	if (bucket > r->rate_bucket) {
		double span = (double)(bucket - r->rate_bucket) * (double)RATE_BUCKET_NS / NS_PER_S;
		double cur = (double)r->rate_count / span;
		r->measured_rate = cur * RATE_SMOOTHING + r->measured_rate * (1 - RATE_SMOOTHING);
		r->rate_count = 0;
		r->rate_bucket = bucket;
	} else if (bucket == 0 && now_ns > r->t0_ns) {
		/*
		 * Before the first bucket closes the SDKs' rate is 0, which pins a
		 * limiter turned on by an early throttle at the 0.5/s floor; the
		 * rate so far is the better estimate.
		 */
		return (double)r->rate_count / ((double)(now_ns - r->t0_ns) / NS_PER_S);
	}
	return r->measured_rate;
}

static void bucket_refill(struct sb_http_retry *r, uint64_t now_ns)
{
	double cap = r->fill_rate > 1.0 ? r->fill_rate : 1.0;

	if (now_ns > r->last_refill_ns)
		r->bucket += (double)(now_ns - r->last_refill_ns) / NS_PER_S * r->fill_rate;
	if (r->bucket > cap)
		r->bucket = cap;
	r->last_refill_ns = now_ns;
}

static void set_fill_rate(struct sb_http_retry *r, double rate, uint64_t now_ns)
{
	bucket_refill(r, now_ns);
	r->fill_rate = rate > MIN_FILL_RATE ? rate : MIN_FILL_RATE;
}

/* The SDKs' ClientRateLimiter, on every response. */
static void rate_update(struct sb_http_retry *r, bool throttled, uint64_t now_ns)
{
	double measured = measure_rate(r, now_ns);
	double rate;

	if (throttled) {
		double use = r->limiter_on && r->fill_rate < measured ? r->fill_rate : measured;
		if (!r->limiter_on) {
			r->limiter_on = true;
			r->bucket = 1.0;
			r->last_refill_ns = now_ns;
		}
		r->last_max_rate = use;
		r->k = cube_root(use * (1 - CUBIC_BETA) / CUBIC_SCALE);
		r->last_throttle_ns = now_ns;
		rate = use * CUBIC_BETA;
	} else {
		if (!r->limiter_on)
			return;
		double t = (double)(now_ns - r->last_throttle_ns) / NS_PER_S - r->k;
		rate = CUBIC_SCALE * t * t * t + r->last_max_rate;
	}
	if (rate > MAX_RATE_SCALE * measured)
		rate = MAX_RATE_SCALE * measured;
	set_fill_rate(r, rate, now_ns);
}

uint64_t sb_http_retry_acquire(struct sb_http_retry *r, uint64_t now_ns)
{
	if (r->cfg->retry_mode != SB_HTTP_RETRY_ADAPTIVE || !r->limiter_on)
		return 0;
	bucket_refill(r, now_ns);
	if (r->bucket >= 1.0) {
		r->bucket -= 1.0;
		return 0;
	}
	return (uint64_t)((1.0 - r->bucket) / r->fill_rate * NS_PER_S) + 1;
}

/* ---- standard: which failures, how often, at what cost ----------------- */

static void quota_refund(struct sb_http_retry *r, uint32_t n)
{
	uint64_t t = (uint64_t)r->tokens + n;

	r->tokens = t > r->cfg->retry_quota ? r->cfg->retry_quota : (uint32_t)t;
}

bool sb_http_retry_next(struct sb_http_retry *r, struct xfer *x, enum sb_http_class cls,
                        uint64_t *delay_ms)
{
	const struct sb_http_config *cfg = r->cfg;
	uint32_t attempts = x->resp->attempts;
	uint32_t limit, cost;

	*delay_ms = 0;
	/* Every attempt is a send the limiter measures; only throttles cut its rate. */
	if (cfg->retry_mode == SB_HTTP_RETRY_ADAPTIVE)
		rate_update(r, cls == SB_HTTP_CLASS_THROTTLE, sb_time_mono_ns());
	switch (cls) {
	case SB_HTTP_CLASS_OK:
		if (cfg->retry_quota > 0)
			quota_refund(r, attempts > 1 ? x->retry_cost : NO_RETRY_INCREMENT);
		return false;
	case SB_HTTP_CLASS_THROTTLE:
		limit = cfg->throttle_max_attempts;
		cost = RETRY_COST;
		break;
	case SB_HTTP_CLASS_TIMEOUT:
		limit = cfg->max_attempts;
		cost = TIMEOUT_RETRY_COST;
		break;
	case SB_HTTP_CLASS_TRANSIENT:
		limit = cfg->max_attempts;
		cost = RETRY_COST;
		break;
	case SB_HTTP_CLASS_PERMANENT:
	default:
		return false;
	}
	if (attempts >= limit)
		return false;
	if (cfg->retry_quota > 0) {
		/* "When the quota is exhausted, the SDK stops retrying" until successes refill it.
		 */
		if (r->tokens < cost)
			return false;
		r->tokens -= cost;
		x->retry_cost = cost;
	}
	*delay_ms = sb_http_backoff_ms(cfg, attempts);
	return true;
}

/* ---- configuration ------------------------------------------------------ */

SB_RESULT sb_http_config_check(const struct sb_http_config *cfg)
{
	SB_ENSURE_MSG(cfg->max_attempts >= 1 && cfg->max_attempts <= 10, SB_ERR_INVALID_ARG,
	              "max_attempts must be 1..10");
	SB_ENSURE_MSG(cfg->throttle_max_attempts >= cfg->max_attempts &&
	                  cfg->throttle_max_attempts <= 20,
	              SB_ERR_INVALID_ARG, "throttle_max_attempts must be max_attempts..20");
	SB_ENSURE_MSG(cfg->retry_mode == SB_HTTP_RETRY_STANDARD ||
	                  cfg->retry_mode == SB_HTTP_RETRY_ADAPTIVE,
	              SB_ERR_INVALID_ARG, "unknown retry mode");
	return SB_OK_RESULT;
}

SB_RESULT sb_http_config_apply_env(struct sb_http_config *cfg)
{
	const char *mode = getenv("AWS_RETRY_MODE");
	const char *max = getenv("AWS_MAX_ATTEMPTS");

	SB_ENSURE_REF(cfg);
	if (mode != NULL && mode[0] != '\0') {
		if (strcmp(mode, "standard") == 0 || strcmp(mode, "legacy") == 0)
			cfg->retry_mode = SB_HTTP_RETRY_STANDARD;
		else if (strcmp(mode, "adaptive") == 0)
			cfg->retry_mode = SB_HTTP_RETRY_ADAPTIVE;
		else
			SB_BAIL_MSG(SB_ERR_INVALID_ARG,
			            "AWS_RETRY_MODE must be standard, adaptive or legacy");
	}
	if (max != NULL && max[0] != '\0') {
		uint32_t v = 0;
		SB_ENSURE_MSG(sb_ok(sb_parse_u32_str(max, 1, 10, &v)), SB_ERR_INVALID_ARG,
		              "AWS_MAX_ATTEMPTS must be an integer 1..10");
		cfg->max_attempts = v;
		if (cfg->throttle_max_attempts < cfg->max_attempts)
			cfg->throttle_max_attempts = cfg->max_attempts;
	}
	return SB_OK_RESULT;
}
