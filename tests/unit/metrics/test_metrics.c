/* SPDX-License-Identifier: MIT */
/*
 * The metrics registry and its text format: exact decimals, escaped label values and help
 * text, cumulative histogram buckets ending at +Inf equal to the count, unused series left out,
 * negative gauges, increments from several threads, and the server's families: the
 * (provider, model) cap folding the rest into "other", statuses outside the table, requests
 * with no answer.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "metrics/metrics.h"
#include "util/err.h"

static const char *render(const struct metric_family *f, struct buf *b)
{
    buf_init(b, 1 << 20);
    assert_int_equal(metric_render_family(b, f), 0);
    return b->data;
}

static void formats_exact_decimals(void **state)
{
    static const struct {
        uint64_t v;
        unsigned scale;
        const char *want;
    } cases[] = {
        {0, 0, "0"},         {12, 0, "12"},  {36000, 9, "0.000036"},
        {1500000, 6, "1.5"}, {1000, 3, "1"}, {1234567, 3, "1234.567"},
        {5, 6, "0.000005"},
    };
    char s[32];
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metric_format(s, sizeof(s), cases[i].v, cases[i].scale);
        assert_string_equal(s, cases[i].want);
    }
}

static const char *const odd_values[] = {"plain", "a\"b\\c\nd"};

static bool odd_labels(const struct metric_family *f, size_t i, const char **v)
{
    (void)f;
    v[0] = odd_values[i];
    return true;
}

static void escapes_label_values_and_help(void **state)
{
    static _Atomic uint64_t v[2];
    static const struct metric_family f = {
        "x_total",   "first line\nback\\slash \"quoted\"", METRIC_COUNTER, 1, {"l"}, odd_labels, 2,
        .values = v,
    };
    struct buf b;
    (void)state;
    metric_add(&f, 1, 3);
    assert_string_equal(render(&f, &b), "# HELP x_total first line\\nback\\\\slash \"quoted\"\n"
                                        "# TYPE x_total counter\n"
                                        "x_total{l=\"a\\\"b\\\\c\\nd\"} 3\n");
    buf_done(&b);
}

static void leaves_out_unused_series_keeps_unlabelled_ones(void **state)
{
    static _Atomic uint64_t v[2], g[1];
    static const struct metric_family counter = {
        "c_total", "c", METRIC_COUNTER, 1, {"l"}, odd_labels, 2, .values = v,
    };
    static const struct metric_family gauge = {"g", "g", METRIC_GAUGE, .nseries = 1, .values = g};
    struct buf b;
    (void)state;
    assert_string_equal(render(&counter, &b), "# HELP c_total c\n# TYPE c_total counter\n");
    buf_done(&b);
    assert_string_equal(render(&gauge, &b), "# HELP g g\n# TYPE g gauge\ng 0\n");
    buf_done(&b);
    metric_gauge_add(&gauge, 0, 2);
    metric_gauge_add(&gauge, 0, -5);
    assert_string_equal(render(&gauge, &b), "# HELP g g\n# TYPE g gauge\ng -3\n");
    buf_done(&b);
    metric_add(&counter, 7, 1); /* past nseries: ignored */
    assert_int_equal(metric_value(&counter, 0) + metric_value(&counter, 1), 0);
}

static void histogram_buckets_are_cumulative(void **state)
{
    static const uint64_t bounds[] = {10, 100};
    static _Atomic uint64_t v[2 * 3], sums[2];
    static const struct metric_family f = {
        "h_seconds", "h", METRIC_HISTOGRAM, 1, {"l"}, odd_labels, 2, 3, bounds, 2, v, sums,
    };
    struct buf b;
    (void)state;
    metric_observe(&f, 0, 5);
    metric_observe(&f, 0, 10); /* on a bound: in its bucket (le is "less or equal") */
    metric_observe(&f, 0, 11);
    metric_observe(&f, 0, 1000);
    assert_int_equal(metric_value(&f, 0), 4);
    assert_string_equal(render(&f, &b), "# HELP h_seconds h\n"
                                        "# TYPE h_seconds histogram\n"
                                        "h_seconds_bucket{l=\"plain\",le=\"0.01\"} 2\n"
                                        "h_seconds_bucket{l=\"plain\",le=\"0.1\"} 3\n"
                                        "h_seconds_bucket{l=\"plain\",le=\"+Inf\"} 4\n"
                                        "h_seconds_sum{l=\"plain\"} 1.026\n"
                                        "h_seconds_count{l=\"plain\"} 4\n");
    buf_done(&b);
}

static void *count_many(void *arg)
{
    const struct metric_family *f = arg;
    for (int i = 0; i < 100000; i++) {
        metric_add(f, 0, 1);
        metric_observe(f + 1, 0, (uint64_t)i % 3);
    }
    return NULL;
}

static void increments_from_threads_add_up(void **state)
{
    static const uint64_t bounds[] = {1};
    static _Atomic uint64_t c[1], h[2], hs[1];
    static const struct metric_family f[2] = {
        {"n_total", "n", METRIC_COUNTER, .nseries = 1, .values = c},
        {"o", "o", METRIC_HISTOGRAM, .nseries = 1, .bounds = bounds, .nbounds = 1, .values = h,
         .sums = hs},
    };
    pthread_t t[4];
    (void)state;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, count_many, (void *)f), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(metric_value(&f[0], 0), 400000);
    assert_int_equal(metric_value(&f[1], 0), 400000);
    assert_int_equal(atomic_load(&h[0]), 4 * 66667); /* 0 and 1 */
    assert_int_equal(atomic_load(&hs[0]), 4 * (33333 * 1 + 33333 * 2));
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = strstr(text, line); p; p = strstr(p + 1, line))
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

/* Renders the server's metrics, finds each of want[0..n) as a whole line and absent nowhere. */
static void assert_rendered(const char *const *want, size_t n, const char *absent)
{
    struct buf b;

    buf_init(&b, 1 << 22);
    assert_int_equal(metrics_render(&b), 0);
    for (size_t i = 0; i < n; i++)
        if (!has_line(b.data, want[i]))
            fail_msg("no line %s", want[i]);
    assert_null(strstr(b.data, absent));
    buf_done(&b);
}

static const char *const pm_lines[] = {
    "hetu_llm_calls_total{provider=\"openai\",model=\"m03\",outcome=\"ok\"} 1",
    "hetu_llm_calls_total{provider=\"openai\",model=\"m03\",outcome=\"timeout\"} 1",
    "hetu_llm_calls_total{provider=\"other\",model=\"other\",outcome=\"ok\"} 2",
    "hetu_llm_tokens_total{provider=\"openai\",model=\"m03\",direction=\"output\"} 20",
    "hetu_llm_cost_usd_total{provider=\"openai\",model=\"m03\"} 0.000036",
    "hetu_llm_retries_total{provider=\"openai\",model=\"m03\"} 1",
    "hetu_llm_rate_limited_total{provider=\"other\",model=\"other\"} 1",
};

static void provider_model_pairs_are_capped(void **state)
{
    char model[32], long_model[300];
    (void)state;
    for (int i = 0; i < METRICS_PM_MAX; i++) {
        snprintf(model, sizeof(model), "m%02d", i);
        assert_int_equal(metrics_pm_slot("openai", model), i);
        assert_true(metrics_pm_known("openai", model));
    }
    assert_int_equal(metrics_pm_slot("openai", "m07"), 7);
    assert_int_equal(metrics_pm_slot("openai", "one too many"), METRICS_PM_MAX);
    assert_false(metrics_pm_known("openai", "one too many"));
    memset(long_model, 'x', sizeof(long_model) - 1);
    long_model[sizeof(long_model) - 1] = '\0';
    assert_int_equal(metrics_pm_slot("openai", long_model), METRICS_PM_MAX);

    metrics_llm_call(3, 0, 10, 20, 0.000036);
    metrics_llm_call(3, HE_TIMEOUT, -1, -1, -1);
    metrics_llm_call(METRICS_PM_MAX, 0, 1, 1, 0);
    metrics_llm_call(METRICS_PM_MAX, 0, 1, 1, 0);
    metrics_llm_retry(3);
    metrics_llm_rate_limited(METRICS_PM_MAX);
    /* m04 has a slot but was never called: no line */
    assert_rendered(pm_lines, sizeof(pm_lines) / sizeof(pm_lines[0]), "model=\"m04\"");
}

#define THINGS "method=\"GET\",route=\"/api/things/{id}\""
static const char *const route_lines[] = {
    "hetu_http_requests_total{" THINGS ",status=\"200\"} 1",
    "hetu_http_requests_total{" THINGS ",status=\"other\"} 1",
    "hetu_http_requests_total{" THINGS ",status=\"aborted\"} 1",
    "hetu_http_requests_total{method=\"any\",route=\"unmatched\",status=\"404\"} 2",
    "hetu_http_request_duration_seconds_bucket{" THINGS ",le=\"0.001\"} 1",
    "hetu_http_request_duration_seconds_bucket{" THINGS ",le=\"0.0025\"} 2",
    "hetu_http_request_duration_seconds_bucket{" THINGS ",le=\"2.5\"} 3",
    "hetu_http_request_duration_seconds_sum{" THINGS "} 2.00151",
};

static void requests_by_route_and_status(void **state)
{
    (void)state;
    metrics_http_request(5, "GET", "/api/things/{id}", 200, 1500);
    metrics_http_request(5, "GET", "/api/things/{id}", 418, 2000000);
    metrics_http_request(5, "GET", "/api/things/{id}", 0, 10);
    metrics_http_request(0, NULL, NULL, 404, 10);
    metrics_http_request(9999, "GET", "/past/the/cap", 404, 10); /* folded into no route */
    assert_rendered(route_lines, sizeof(route_lines) / sizeof(route_lines[0]), "/past/the/cap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_exact_decimals),
        cmocka_unit_test(escapes_label_values_and_help),
        cmocka_unit_test(leaves_out_unused_series_keeps_unlabelled_ones),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(increments_from_threads_add_up),
        cmocka_unit_test(provider_model_pairs_are_capped),
        cmocka_unit_test(requests_by_route_and_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
