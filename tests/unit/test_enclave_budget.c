/*
 * The enclave's KMS connection budget and work split (src/enclave/kms_budget.c):
 * the budget never hands out more than its total however many threads ask,
 * waits rather than refuses, and the splits cover every row and connection
 * exactly once (the old ceil-based split ran past the end: 5 rows in 4 parts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

/* The enclave is a program, not a library: the module is built in. */
#include "enclave/kms_budget.c"

static void test_init_clamps(void **state)
{
	struct sb_kms_budget b;

	(void)state;
	sb_kms_budget_init(&b, 0);
	assert_int_equal(b.total, 1);
	sb_kms_budget_cleanup(&b);
	sb_kms_budget_init(&b, 1000);
	assert_int_equal(b.total, SB_KMS_BUDGET_MAX);
	sb_kms_budget_cleanup(&b);
	sb_kms_budget_cleanup(NULL);
}

static void test_take_up_to_want(void **state)
{
	struct sb_kms_budget b;

	(void)state;
	sb_kms_budget_init(&b, 4);
	assert_int_equal(sb_kms_budget_take(&b, 3), 3);
	assert_int_equal(sb_kms_budget_take(&b, 16), 1); /* only one left */
	assert_int_equal(b.in_use, 4);
	sb_kms_budget_give(&b, 3);
	assert_int_equal(sb_kms_budget_take(&b, 0), 1); /* asks for at least one */
	assert_int_equal(sb_kms_budget_take(&b, 64), 2);
	assert_int_equal(sb_kms_budget_peak(&b), 4);
	sb_kms_budget_give(&b, 1);
	sb_kms_budget_give(&b, 1);
	sb_kms_budget_give(&b, 2);
	assert_int_equal(b.in_use, 0);
	assert_int_equal(sb_kms_budget_peak(&b), 4);
	sb_kms_budget_cleanup(&b);
}

struct waiter {
	struct sb_kms_budget *b;
	atomic_bool got;
	uint32_t n;
};

static void *waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->n = sb_kms_budget_take(w->b, 2);
	atomic_store(&w->got, true);
	return NULL;
}

/* A holder of everything makes the next one wait (queued, not refused). */
static void test_waits_when_spent(void **state)
{
	struct sb_kms_budget b;
	struct waiter w = {.b = &b};
	pthread_t t;

	(void)state;
	sb_kms_budget_init(&b, 2);
	assert_int_equal(sb_kms_budget_take(&b, 2), 2);
	assert_int_equal(pthread_create(&t, NULL, waiter_main, &w), 0);
	/* It cannot have got anything while all of it is held. */
	assert_false(atomic_load(&w.got));
	sb_kms_budget_give(&b, 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(atomic_load(&w.got));
	assert_int_equal(w.n, 1); /* only one was free */
	assert_int_equal(b.in_use, 2);
	sb_kms_budget_give(&b, 1);
	sb_kms_budget_give(&b, 1);
	sb_kms_budget_cleanup(&b);
}

#define STRESS_THREADS 8
#define STRESS_ROUNDS  2000

struct stress {
	struct sb_kms_budget *b;
	atomic_uint *held; /* what the holders say they hold, all together */
	atomic_uint *over; /* times that exceeded the total */
	unsigned seed;
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;

	for (int i = 0; i < STRESS_ROUNDS; i++) {
		uint32_t want = (uint32_t)(rand_r(&s->seed) % 6) + 1;
		uint32_t got = sb_kms_budget_take(s->b, want);
		if (got < 1 || got > want)
			atomic_fetch_add(s->over, 1);
		if (atomic_fetch_add(s->held, got) + got > s->b->total)
			atomic_fetch_add(s->over, 1);
		atomic_fetch_sub(s->held, got);
		sb_kms_budget_give(s->b, got);
	}
	return NULL;
}

static void test_never_over_total(void **state)
{
	struct sb_kms_budget b;
	struct stress s[STRESS_THREADS];
	pthread_t t[STRESS_THREADS];
	atomic_uint held = 0, over = 0;

	(void)state;
	sb_kms_budget_init(&b, 4);
	for (unsigned i = 0; i < STRESS_THREADS; i++) {
		s[i] = (struct stress){.b = &b, .held = &held, .over = &over, .seed = i + 1};
		assert_int_equal(pthread_create(&t[i], NULL, stress_main, &s[i]), 0);
	}
	for (unsigned i = 0; i < STRESS_THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(atomic_load(&over), 0);
	assert_int_equal(b.in_use, 0);
	assert_true(sb_kms_budget_peak(&b) >= 1 && sb_kms_budget_peak(&b) <= 4);
	sb_kms_budget_cleanup(&b);
}

static void test_split_range_regression(void **state)
{
	static const size_t want_off[] = {0, 2, 3, 4}, want_len[] = {2, 1, 1, 1};
	size_t off, len;

	(void)state;
	/* 5 rows over 4 workers: ceil(5/4) = 2 a range put range 3 at row 6. */
	for (size_t i = 0; i < 4; i++) {
		sb_kms_split_range(5, 4, i, &off, &len);
		assert_int_equal(off, want_off[i]);
		assert_int_equal(len, want_len[i]);
	}
	sb_kms_split_range(5, 4, 4, &off, &len); /* past the parts: empty */
	assert_int_equal(len, 0);
	sb_kms_split_range(5, 0, 0, &off, &len);
	assert_int_equal(len, 0);
}

static void test_split_range_covers(void **state)
{
	(void)state;
	for (size_t n = 0; n <= 70; n++) {
		for (size_t parts = 1; parts <= 12; parts++) {
			size_t next = 0, lo = SIZE_MAX, hi = 0;
			for (size_t i = 0; i < parts; i++) {
				size_t off, len;
				sb_kms_split_range(n, parts, i, &off, &len);
				assert_int_equal(off, next); /* contiguous, in order */
				assert_true(off + len <= n);
				if (parts <= n)
					assert_true(len >= 1);
				lo = len < lo ? len : lo;
				hi = len > hi ? len : hi;
				next = off + len;
			}
			assert_int_equal(next, n); /* every row once */
			assert_true(hi - lo <= 1);
		}
	}
}

static void test_split_share(void **state)
{
	(void)state;
	for (uint32_t conns = 1; conns <= SB_KMS_BUDGET_MAX; conns++) {
		for (uint32_t workers = 1; workers <= conns && workers <= 8; workers++) {
			uint32_t sum = 0;
			for (uint32_t i = 0; i < workers; i++) {
				uint32_t s = sb_kms_split_share(conns, workers, i);
				assert_true(s >= 1);
				sum += s;
			}
			assert_int_equal(sum, conns);
			assert_int_equal(sb_kms_split_share(conns, workers, workers), 0);
		}
	}
	assert_int_equal(sb_kms_split_share(4, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_clamps),
		cmocka_unit_test(test_take_up_to_want),
		cmocka_unit_test(test_waits_when_spent),
		cmocka_unit_test(test_never_over_total),
		cmocka_unit_test(test_split_range_regression),
		cmocka_unit_test(test_split_range_covers),
		cmocka_unit_test(test_split_share),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
