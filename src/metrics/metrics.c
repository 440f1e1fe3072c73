/* SPDX-License-Identifier: MIT */
/*
 * The server's metric families and the calls that feed them.
 *
 * DESIGN
 * - Every family is a static array of atomics sized at compile time; a call picks the series by
 *   arithmetic on small indexes (route row, status, (provider, model) slot, error code) and adds
 *   with one relaxed atomic. Nothing here allocates or locks on the hot path.
 * - A route's labels are its row's method and pattern, stored (release) the first time the row
 *   is counted and read (acquire) at render time, so the route table stays in http/.
 * - (provider, model) pairs get slots 0..METRICS_PM_MAX-1 in the order they are first seen,
 *   under pm_lock; the pair's strings are written before the slot count is published (release),
 *   so a reader that sees the count sees the strings. Slot METRICS_PM_MAX is "other".
 * - Any thread calls these; the render reads a moment's values, not a snapshot: a series may
 *   move while the text is written, never backwards.
 */
#include "metrics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/err.h"
#include "util/banned.h"

#define ARRAY_N(a) (sizeof(a) / sizeof((a)[0]))

/* A counter family var of n series, kept in units of 10^-scale, labelled by fn with the label
 * names that follow. */
#define COUNTER(var, n, metric, text, scl, fn, ...)                                    \
    static _Atomic uint64_t var##_v[n];                                                \
    static const struct metric_family var = {metric,                                   \
                                             text,                                     \
                                             METRIC_COUNTER,                           \
                                             ARRAY_N(((const char *[]){__VA_ARGS__})), \
                                             {__VA_ARGS__},                            \
                                             fn,                                       \
                                             n,                                        \
                                             scl,                                      \
                                             .values = var##_v}

/* A gauge without labels. */
#define GAUGE(var, metric, text)                                                       \
    static _Atomic uint64_t var##_v[1];                                                \
    static const struct metric_family var = {metric, text, METRIC_GAUGE, .nseries = 1, \
                                             .values = var##_v}

/* ---- the registry ---- */

void metric_observe(const struct metric_family *f, size_t i, uint64_t v)
{
    size_t b = 0;

    if (i >= f->nseries)
        return;
    while (b < f->nbounds && v > f->bounds[b])
        b++;
    atomic_fetch_add_explicit(&f->values[i * (f->nbounds + 1) + b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&f->sums[i], v, memory_order_relaxed);
}

uint64_t metric_value(const struct metric_family *f, size_t i)
{
    uint64_t n = 0;

    if (i >= f->nseries)
        return 0;
    if (f->type != METRIC_HISTOGRAM)
        return atomic_load_explicit(&f->values[i], memory_order_relaxed);
    for (size_t b = 0; b <= f->nbounds; b++)
        n += atomic_load_explicit(&f->values[i * (f->nbounds + 1) + b], memory_order_relaxed);
    return n;
}

/* ---- HTTP ---- */

/* Statuses with their own series; then "other" (anything else) and "aborted" (none sent). */
static const unsigned statuses[] = {200, 201, 204, 206, 301, 302, 304, 400, 401, 403,
                                    404, 405, 406, 408, 409, 411, 413, 414, 415, 416,
                                    422, 429, 431, 499, 500, 501, 502, 503, 504, 505};
#define NSTATUS        (ARRAY_N(statuses) + 2)
#define STATUS_OTHER   ARRAY_N(statuses)
#define STATUS_ABORTED (ARRAY_N(statuses) + 1)

static const char *_Atomic route_method[METRICS_ROUTES_MAX];
static const char *_Atomic route_pattern[METRICS_ROUTES_MAX];
static char status_text[ARRAY_N(statuses)][4];
static pthread_once_t status_once = PTHREAD_ONCE_INIT;

static void status_init(void)
{
    for (size_t i = 0; i < ARRAY_N(statuses); i++)
        snprintf(status_text[i], sizeof(status_text[i]), "%u", statuses[i]);
}

static size_t status_slot(unsigned status)
{
    if (!status)
        return STATUS_ABORTED;
    for (size_t i = 0; i < ARRAY_N(statuses); i++)
        if (statuses[i] == status)
            return i;
    return STATUS_OTHER;
}

static bool route_labels(size_t slot, const char **method, const char **pattern)
{
    if (slot == 0) {
        *method = "any";
        *pattern = "unmatched";
        return true;
    }
    *method = atomic_load_explicit(&route_method[slot], memory_order_acquire);
    *pattern = atomic_load_explicit(&route_pattern[slot], memory_order_acquire);
    return *method && *pattern;
}

static bool http_request_labels(const struct metric_family *f, size_t i, const char **v)
{
    size_t st = i % NSTATUS;
    (void)f;
    pthread_once(&status_once, status_init);
    v[2] = st == STATUS_OTHER ? "other" : st == STATUS_ABORTED ? "aborted" : status_text[st];
    return route_labels(i / NSTATUS, &v[0], &v[1]);
}

static bool http_route_labels(const struct metric_family *f, size_t i, const char **v)
{
    (void)f;
    return route_labels(i, &v[0], &v[1]);
}

COUNTER(http_requests, (METRICS_ROUTES_MAX * NSTATUS), "hetu_http_requests_total",
        "HTTP requests answered, by route (its pattern) and status", 0, http_request_labels,
        "method", "route", "status");

/* Latency bounds in microseconds: 0.5 ms to 5 minutes. */
static const uint64_t latency_bounds[] = {500,     1000,     2500,     5000,     10000,    25000,
                                          50000,   100000,   250000,   500000,   1000000,  2500000,
                                          5000000, 10000000, 30000000, 60000000, 300000000};
#define NLATENCY (ARRAY_N(latency_bounds) + 1)
static _Atomic uint64_t http_latency_v[METRICS_ROUTES_MAX * NLATENCY];
static _Atomic uint64_t http_latency_sum[METRICS_ROUTES_MAX];
static const struct metric_family http_latency = {
    "hetu_http_request_duration_seconds",
    "Time from a request's target to its end (its answer sent), by route",
    METRIC_HISTOGRAM,
    2,
    {"method", "route"},
    http_route_labels,
    METRICS_ROUTES_MAX,
    6,
    latency_bounds,
    ARRAY_N(latency_bounds),
    http_latency_v,
    http_latency_sum,
};

GAUGE(parked, "hetu_http_requests_parked",
      "Requests waiting on other work (model calls, jobs) with their connection suspended");

GAUGE(uploads, "hetu_uploads_in_progress", "File uploads admitted and not yet ended");

void metrics_http_request(size_t slot, const char *method, const char *pattern, unsigned status,
                          int64_t duration_us)
{
    if (slot >= METRICS_ROUTES_MAX)
        slot = 0;
    if (slot && !atomic_load_explicit(&route_pattern[slot], memory_order_relaxed)) {
        atomic_store_explicit(&route_method[slot], method, memory_order_release);
        atomic_store_explicit(&route_pattern[slot], pattern, memory_order_release);
    }
    metric_add(&http_requests, slot * NSTATUS + status_slot(status), 1);
    metric_observe(&http_latency, slot, duration_us > 0 ? (uint64_t)duration_us : 0);
}

void metrics_parked(int delta)
{
    metric_gauge_add(&parked, 0, delta);
}

void metrics_uploads(int delta)
{
    metric_gauge_add(&uploads, 0, delta);
}

/* ---- (provider, model) slots ---- */

struct pm_slot {
    char provider[64];
    char model[256];
};

static struct pm_slot pm_slots[METRICS_PM_MAX];
static _Atomic size_t pm_count;
static pthread_mutex_t pm_lock = PTHREAD_MUTEX_INITIALIZER;

static int pm_find(const char *provider, const char *model, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(pm_slots[i].provider, provider) == 0 && strcmp(pm_slots[i].model, model) == 0)
            return (int)i;
    return -1;
}

bool metrics_pm_known(const char *provider, const char *model)
{
    return pm_find(provider, model, atomic_load_explicit(&pm_count, memory_order_acquire)) >= 0;
}

int metrics_pm_slot(const char *provider, const char *model)
{
    size_t n = atomic_load_explicit(&pm_count, memory_order_acquire);
    int i = pm_find(provider, model, n);

    if (i >= 0)
        return i;
    if (strlen(provider) >= sizeof(pm_slots[0].provider) ||
        strlen(model) >= sizeof(pm_slots[0].model))
        return METRICS_PM_MAX;
    pthread_mutex_lock(&pm_lock);
    n = atomic_load_explicit(&pm_count, memory_order_relaxed);
    i = pm_find(provider, model, n);
    if (i < 0 && n < METRICS_PM_MAX) {
        snprintf(pm_slots[n].provider, sizeof(pm_slots[n].provider), "%s", provider);
        snprintf(pm_slots[n].model, sizeof(pm_slots[n].model), "%s", model);
        atomic_store_explicit(&pm_count, n + 1, memory_order_release);
        i = (int)n;
    }
    pthread_mutex_unlock(&pm_lock);
    return i >= 0 ? i : METRICS_PM_MAX;
}

static bool pm_labels(size_t pm, const char **v)
{
    if (pm == METRICS_PM_MAX) {
        v[0] = v[1] = "other";
        return true;
    }
    if (pm >= atomic_load_explicit(&pm_count, memory_order_acquire))
        return false;
    v[0] = pm_slots[pm].provider;
    v[1] = pm_slots[pm].model;
    return true;
}

#define NPM (METRICS_PM_MAX + 1)

static bool llm_pm_labels(const struct metric_family *f, size_t i, const char **v)
{
    (void)f;
    return pm_labels(i, v);
}

static bool llm_call_labels(const struct metric_family *f, size_t i, const char **v)
{
    size_t code = i % HE_IDX_COUNT;
    (void)f;
    v[2] = code == 0 ? "ok" : err_slug(-(int)code);
    return pm_labels(i / HE_IDX_COUNT, v);
}

static bool llm_token_labels(const struct metric_family *f, size_t i, const char **v)
{
    (void)f;
    v[2] = i % 2 ? "output" : "input";
    return pm_labels(i / 2, v);
}

COUNTER(llm_calls, (NPM * HE_IDX_COUNT), "hetu_llm_calls_total",
        "Model calls ended, by provider, model and outcome (ok, or the error's code)", 0,
        llm_call_labels, "provider", "model", "outcome");

COUNTER(llm_retries, NPM, "hetu_llm_retries_total",
        "HTTP attempts after a call's first (any cause: 429, 5xx, timeouts, re-asks)", 0,
        llm_pm_labels, "provider", "model");

COUNTER(llm_429, NPM, "hetu_llm_rate_limited_total", "429 answers from the provider", 0,
        llm_pm_labels, "provider", "model");

COUNTER(llm_tokens, (NPM * 2), "hetu_llm_tokens_total",
        "Tokens the provider reported, by direction (input, output)", 0, llm_token_labels,
        "provider", "model", "direction");

/* Cost in nano-dollars, shown in dollars. */
COUNTER(llm_cost, NPM, "hetu_llm_cost_usd_total",
        "Cost of model calls in US dollars, from the configured prices", 9, llm_pm_labels,
        "provider", "model");

static size_t pm_index(int pm)
{
    return pm >= 0 && pm < METRICS_PM_MAX ? (size_t)pm : METRICS_PM_MAX;
}

void metrics_llm_call(int pm, int code, int64_t input_tokens, int64_t output_tokens, double cost)
{
    size_t s = pm_index(pm);
    size_t outcome =
        code < 0 && -code < HE_IDX_COUNT ? (size_t)-code : (code ? HE_IDX_INTERNAL : 0);

    metric_add(&llm_calls, s * HE_IDX_COUNT + outcome, 1);
    if (input_tokens > 0)
        metric_add(&llm_tokens, s * 2, (uint64_t)input_tokens);
    if (output_tokens > 0)
        metric_add(&llm_tokens, s * 2 + 1, (uint64_t)output_tokens);
    if (cost > 0)
        metric_add(&llm_cost, s, (uint64_t)llround(cost * 1e9));
}

void metrics_llm_retry(int pm)
{
    metric_add(&llm_retries, pm_index(pm), 1);
}

void metrics_llm_rate_limited(int pm)
{
    metric_add(&llm_429, pm_index(pm), 1);
}

/* ---- the store ---- */

static const uint64_t commit_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
static _Atomic uint64_t commit_v[ARRAY_N(commit_bounds) + 1];
static _Atomic uint64_t commit_sum[1];
static const struct metric_family store_commits = {
    "hetu_store_group_commit_writes",
    "Writes committed together by the store's writer, per commit",
    METRIC_HISTOGRAM,
    .nseries = 1,
    .bounds = commit_bounds,
    .nbounds = ARRAY_N(commit_bounds),
    .values = commit_v,
    .sums = commit_sum,
};

void metrics_store_commit(size_t writes)
{
    metric_observe(&store_commits, 0, writes);
}

/* ---- all of them ---- */

static const struct metric_family *const families[] = {
    &http_requests, &http_latency, &parked,     &uploads,  &llm_calls,
    &llm_retries,   &llm_429,      &llm_tokens, &llm_cost, &store_commits,
};

int metrics_render(struct buf *out)
{
    for (size_t i = 0; i < ARRAY_N(families); i++) {
        int r = metric_render_family(out, families[i]);
        if (r < 0)
            return r;
    }
    return 0;
}
