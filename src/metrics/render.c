/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition format, version 0.0.4: per family a "# HELP name text" line (text
 * with \ and newline escaped), a "# TYPE name counter|gauge|histogram" line, then one line per
 * sample, "name{label="value",...} value", label values with \, " and newline escaped. A
 * histogram's series is its cumulative buckets name_bucket{...,le="bound"} ending with
 * le="+Inf", then name_sum and name_count (equal to the +Inf bucket). Numbers are written as
 * exact decimals from the integers kept.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"
#include "util/banned.h"

static const char *const type_names[] = {"counter", "gauge", "histogram"};

void metric_format(char *dst, size_t n, uint64_t v, unsigned scale)
{
    uint64_t div = 1;
    unsigned digits = scale;

    for (unsigned i = 0; i < scale; i++)
        div *= 10;
    uint64_t frac = v % div;
    if (!frac) {
        snprintf(dst, n, "%" PRIu64, v / div);
        return;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    snprintf(dst, n, "%" PRIu64 ".%0*" PRIu64, v / div, (int)digits, frac);
}

static int put_escaped(struct buf *out, const char *s, bool quotes)
{
    int r = 0;

    for (const char *p = s; *p && r == 0; p++) {
        if (*p == '\\')
            r = buf_add(out, "\\\\", 2);
        else if (*p == '\n')
            r = buf_add(out, "\\n", 2);
        else if (*p == '"' && quotes)
            r = buf_add(out, "\\\"", 2);
        else
            r = buf_add(out, p, 1);
    }
    return r;
}

/* name{n1="v1",...,le="le"} value\n; no braces when there are no labels. */
static int put_sample(struct buf *out, const char *name, const char *suffix, size_t nlabels,
                      const char *const *names, const char *const *values, const char *le,
                      const char *value)
{
    int r = buf_addf(out, "%s%s", name, suffix);

    if (nlabels || le)
        r = r ? r : buf_add(out, "{", 1);
    for (size_t i = 0; i < nlabels && r == 0; i++) {
        r = buf_addf(out, "%s%s=\"", i ? "," : "", names[i]);
        r = r ? r : put_escaped(out, values[i], true);
        r = r ? r : buf_add(out, "\"", 1);
    }
    if (le && r == 0)
        r = buf_addf(out, "%sle=\"%s\"", nlabels ? "," : "", le);
    if ((nlabels || le) && r == 0)
        r = buf_add(out, "}", 1);
    return r ? r : buf_addf(out, " %s\n", value);
}

int metric_render_head(struct buf *out, const char *name, const char *help, enum metric_type t)
{
    int r = buf_addf(out, "# HELP %s ", name);

    r = r ? r : put_escaped(out, help, false);
    return r ? r : buf_addf(out, "\n# TYPE %s %s\n", name, type_names[t]);
}

int metric_render_sample(struct buf *out, const char *name, size_t nlabels,
                         const char *const *names, const char *const *values, int64_t value)
{
    char num[32];

    snprintf(num, sizeof(num), "%" PRId64, value);
    return put_sample(out, name, "", nlabels, names, values, NULL, num);
}

static int render_histogram(struct buf *out, const struct metric_family *f, size_t i,
                            const char *const *values)
{
    const _Atomic uint64_t *b = f->values + i * (f->nbounds + 1);
    uint64_t cum = 0;
    char le[32], num[32];
    int r = 0;

    for (size_t k = 0; k <= f->nbounds && r == 0; k++) {
        cum += atomic_load_explicit(&b[k], memory_order_relaxed);
        if (k < f->nbounds)
            metric_format(le, sizeof(le), f->bounds[k], f->scale);
        snprintf(num, sizeof(num), "%" PRIu64, cum);
        r = put_sample(out, f->name, "_bucket", f->nlabels, f->label_names, values,
                       k < f->nbounds ? le : "+Inf", num);
    }
    metric_format(num, sizeof(num), atomic_load_explicit(&f->sums[i], memory_order_relaxed),
                  f->scale);
    r = r ? r : put_sample(out, f->name, "_sum", f->nlabels, f->label_names, values, NULL, num);
    snprintf(num, sizeof(num), "%" PRIu64, cum);
    return r ? r
             : put_sample(out, f->name, "_count", f->nlabels, f->label_names, values, NULL, num);
}

int metric_render_family(struct buf *out, const struct metric_family *f)
{
    int r = metric_render_head(out, f->name, f->help, f->type);

    for (size_t i = 0; i < f->nseries && r == 0; i++) {
        const char *values[METRIC_LABELS_MAX] = {0};
        uint64_t v = metric_value(f, i);
        char num[32];

        if (f->labels && (!v || !f->labels(f, i, values)))
            continue;
        if (f->type == METRIC_HISTOGRAM) {
            r = render_histogram(out, f, i, values);
            continue;
        }
        if (f->type == METRIC_GAUGE && (int64_t)v < 0) {
            num[0] = '-';
            metric_format(num + 1, sizeof(num) - 1, -v, f->scale);
        } else {
            metric_format(num, sizeof(num), v, f->scale);
        }
        r = put_sample(out, f->name, "", f->nlabels, f->label_names, values, NULL, num);
    }
    return r;
}
