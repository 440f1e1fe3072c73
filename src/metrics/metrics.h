/* SPDX-License-Identifier: MIT */
/*
 * The server's metrics, shown by GET /metrics in Prometheus' text exposition format (0.0.4).
 *
 * A metric family is a fixed array of series: its label values are numbered when the family is
 * defined (a route, a status, a (provider, model) slot), so the hot path is an index and one
 * relaxed atomic add, with no lock and no allocation. Every family has a bounded number of
 * series; (provider, model) pairs, which come from configuration and requests, get one of
 * METRICS_PM_MAX slots and the rest share one slot labelled "other".
 *
 * The lower half of this header is the server's own metrics (every name starts with hetu_);
 * any thread may call them.
 */
#ifndef HETU_METRICS_METRICS_H
#define HETU_METRICS_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* ---- the registry ---- */

#define METRIC_LABELS_MAX 3

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_family;

/* The label values of series i (nlabels of them, into values); false when the series has no
 * labels yet (it has never been used), so it is left out. */
typedef bool (*metric_labels_fn)(const struct metric_family *f, size_t i, const char **values);

/*
 * A family. Values are kept as integers in units of 10^-scale (latency in microseconds is
 * scale 6, so that it reads in seconds) and rendered as exact decimals. A gauge keeps its value
 * in two's complement. A histogram keeps, per series, nbounds + 1 bucket counts (not
 * cumulative: the last counts what is past every bound) and the sum of what it observed.
 */
struct metric_family {
    const char *name, *help;
    enum metric_type type;
    size_t nlabels;
    const char *label_names[METRIC_LABELS_MAX];
    metric_labels_fn labels; /* NULL: one series, without labels */
    size_t nseries;
    unsigned scale;
    const uint64_t *bounds; /* histograms: upper bounds (le), ascending, in the family's units */
    size_t nbounds;
    _Atomic uint64_t *values; /* counters and gauges: nseries; histograms: the buckets */
    _Atomic uint64_t *sums;   /* histograms: nseries */
};

/* A series index past nseries is a programming error; these ignore it. */
static inline void metric_add(const struct metric_family *f, size_t i, uint64_t n)
{
    if (i < f->nseries)
        atomic_fetch_add_explicit(&f->values[i], n, memory_order_relaxed);
}

static inline void metric_gauge_add(const struct metric_family *f, size_t i, int64_t delta)
{
    if (i < f->nseries)
        atomic_fetch_add_explicit(&f->values[i], (uint64_t)delta, memory_order_relaxed);
}

void metric_observe(const struct metric_family *f, size_t i, uint64_t v);

/* What series i holds: a counter's count, a gauge's value (as int64_t), a histogram's count. */
uint64_t metric_value(const struct metric_family *f, size_t i);

/* ---- the text format (render.c) ---- */

/* Appends the family: # HELP, # TYPE, then every series in use (a counter or histogram that was
 * never incremented has no line; a family without labels always has its one series). */
int metric_render_family(struct buf *out, const struct metric_family *f);
/* # HELP and # TYPE of a family whose samples the caller writes. */
int metric_render_head(struct buf *out, const char *name, const char *help, enum metric_type t);
/* One sample line: name{names[i]="values[i]",...} value, values escaped. */
int metric_render_sample(struct buf *out, const char *name, size_t nlabels,
                         const char *const *names, const char *const *values, int64_t value);
/* v / 10^scale as an exact decimal ("0.0005", "12", "3.6e-05" never): n bytes at most. */
void metric_format(char *dst, size_t n, uint64_t v, unsigned scale);

/* ---- the server's metrics ---- */

#define METRICS_ROUTES_MAX 160 /* route rows with their own series; slot 0: no route */
#define METRICS_PM_MAX     64  /* (provider, model) pairs with their own series */

/*
 * A request ended: slot is its route row + 1 (0: no route answered it), method and pattern the
 * row's (static strings; ignored for slot 0), status 0 when none was sent.
 */
void metrics_http_request(size_t slot, const char *method, const char *pattern, unsigned status,
                          int64_t duration_us);
/* A request parked (HTTP_PENDING, its connection suspended): +1; resumed: -1. */
void metrics_parked(int delta);
/* A file upload admitted: +1; released: -1. */
void metrics_uploads(int delta);

/* The slot of (provider, model): its own while fewer than METRICS_PM_MAX pairs have one, else
 * the shared "other" slot. Takes a lock when the pair is new; call it once per pair and keep
 * the slot. */
int metrics_pm_slot(const char *provider, const char *model);
/* Whether (provider, model) has a slot of its own. */
bool metrics_pm_known(const char *provider, const char *model);
/* A model call ended: code 0 or its HE_* code; tokens -1 and cost < 0 when unknown. */
void metrics_llm_call(int pm, int code, int64_t input_tokens, int64_t output_tokens, double cost);
/* An attempt after a call's first. */
void metrics_llm_retry(int pm);
/* A 429 answer. */
void metrics_llm_rate_limited(int pm);
/* The store's writer committed a group of writes. */
void metrics_store_commit(size_t writes);

/* Appends every family above in the text format. */
int metrics_render(struct buf *out);

#endif
