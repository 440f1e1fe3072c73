/* SPDX-License-Identifier: MIT */
/* Token buckets, the AIMD window and backoff, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "llm/ratelimit.h"

static void bucket_never_exceeds_its_rate(void **state)
{
    struct llm_bucket b;
    int64_t now = 1000000;
    int started = 0, per_window[10] = {0};
    (void)state;
    llm_bucket_init(&b, 120, now); /* 2 per second, burst 2 */
    /* try to start every millisecond for 10 s */
    for (int64_t t = 0; t < 10000000; t += 1000) {
        if (llm_bucket_ready(&b, 1, now + t)) {
            llm_bucket_take(&b, 1);
            started++;
            per_window[t / 1000000]++;
        }
    }
    assert_int_equal(started, 2 + 20 - 1); /* the burst, then one every 0.5 s */
    for (int i = 1; i < 10; i++)
        assert_int_equal(per_window[i], 2);
}

static void bucket_wait_is_exact(void **state)
{
    struct llm_bucket b;
    (void)state;
    llm_bucket_init(&b, 60, 0); /* 1 per second, burst 1 */
    assert_true(llm_bucket_ready(&b, 1, 0));
    llm_bucket_take(&b, 1);
    assert_false(llm_bucket_ready(&b, 1, 400000));
    assert_in_range(llm_bucket_wait(&b, 1, 400000), 599999, 600001);
    assert_true(llm_bucket_ready(&b, 1, 1000000));
    /* disabled */
    llm_bucket_init(&b, 0, 0);
    assert_true(llm_bucket_ready(&b, 1, 0));
    assert_int_equal(llm_bucket_wait(&b, 1, 0), 0);
}

static void token_bucket_allows_debt_and_refunds(void **state)
{
    struct llm_bucket b;
    (void)state;
    llm_bucket_init(&b, 6000, 0); /* 100 tokens per second, cap 100 */
    assert_true(llm_bucket_ready(&b, 500, 0));
    llm_bucket_take(&b, 500); /* a big call may start; the bucket goes into debt */
    assert_false(llm_bucket_ready(&b, 2, 1000000));                 /* -400 + 100 */
    assert_int_equal(llm_bucket_wait(&b, 2, 1000000), 3000000 + 1); /* level > 0 after 4 s */
    llm_bucket_take(&b, -300); /* the call used 200: give 300 back */
    assert_true(llm_bucket_ready(&b, 2, 1000001));
    llm_bucket_take(&b, -100000); /* refunds never exceed the cap */
    assert_true(b.level <= b.cap);
}

static void window_shrinks_once_per_burst(void **state)
{
    struct llm_window w;
    uint64_t epochs[40];
    (void)state;
    llm_window_init(&w, 40);
    for (int i = 0; i < 40; i++) {
        assert_true(llm_window_open(&w));
        epochs[i] = w.epoch;
        w.in_flight++;
    }
    assert_false(llm_window_open(&w));
    /* all 40 come back 429: one shrink */
    int shrinks = 0;
    for (int i = 0; i < 40; i++) {
        w.in_flight--;
        shrinks += llm_window_on_429(&w, epochs[i]);
    }
    assert_int_equal(shrinks, 1);
    assert_int_equal((int)w.size, 30);
    /* a call started after the shrink that gets 429 shrinks again */
    assert_true(llm_window_on_429(&w, w.epoch));
    assert_int_equal((int)w.size, 22);
    /* one per success back to the ceiling, never above */
    for (int i = 0; i < 100; i++)
        llm_window_on_success(&w);
    assert_int_equal((int)w.size, 40);
    /* never below one */
    for (int i = 0; i < 50; i++)
        llm_window_on_429(&w, w.epoch);
    assert_int_equal((int)w.size, 1);
    assert_true(llm_window_open(&w));
}

static void backoff_doubles_with_equal_jitter(void **state)
{
    (void)state;
    assert_int_equal(llm_backoff_us(1, 500, 30000, 0), 250000);
    assert_int_equal(llm_backoff_us(1, 500, 30000, 0.999999), 499999);
    assert_int_equal(llm_backoff_us(2, 500, 30000, 0), 500000);
    assert_int_equal(llm_backoff_us(3, 500, 30000, 0.5), 1500000);
    assert_int_equal(llm_backoff_us(10, 500, 30000, 0), 15000000);   /* capped */
    assert_int_equal(llm_backoff_us(60, 500, 30000, 1.5), 29999985); /* u clamped below 1 */
    assert_int_equal(llm_backoff_us(3, 0, 30000, 0.7), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_never_exceeds_its_rate),
        cmocka_unit_test(bucket_wait_is_exact),
        cmocka_unit_test(token_bucket_allows_debt_and_refunds),
        cmocka_unit_test(window_shrinks_once_per_burst),
        cmocka_unit_test(backoff_doubles_with_equal_jitter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
