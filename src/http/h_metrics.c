/* SPDX-License-Identifier: MIT */
/*
 * GET /metrics: the metrics of metrics/metrics.h, then what is read when scraped: each
 * (provider, model)'s concurrency window from the engine, the store's write queue, and the job
 * items of every job by state from the store. Job items are counted in the store rather than
 * kept as counters, so that the figures stay right across restarts (items persist; counters
 * would start from zero and miss what a resumed job finishes). The text is rendered whole, then
 * sent as a stream with the exposition format's content type.
 */
#include <stdlib.h>
#include <string.h>

#include "http/h_web.h"
#include "http/request.h"
#include "http/routes.h"
#include "llm/engine.h"
#include "metrics/metrics.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/banned.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_TEXT_MAX     ((size_t)16 << 20)

void http_metrics_request(const struct route *route, unsigned status, int64_t duration_us)
{
    if (!route)
        metrics_http_request(0, NULL, NULL, status, duration_us);
    else if (route == &http_web_route) /* the slot after the table's */
        metrics_http_request(http_routes_count + 1, route->method, route->pattern, status,
                             duration_us);
    else
        metrics_http_request((size_t)(route - http_routes) + 1, route->method, route->pattern,
                             status, duration_us);
}

/* ---- read when scraped ---- */

static const char *const pm_names[] = {"provider", "model"};

struct windows {
    struct buf *out;
    int r;
};

static void window_line(void *ud, const char *provider, const char *model, int window)
{
    struct windows *w = ud;
    const char *values[] = {provider, model};

    /* only pairs with series of their own: a window of "other" would mean nothing */
    if (w->r == 0 && metrics_pm_known(provider, model))
        w->r = metric_render_sample(w->out, "hetu_llm_window", 2, pm_names, values, window);
}

static int render_windows(struct buf *out, struct llm_engine *eng)
{
    struct windows w = {out, 0};

    w.r = metric_render_head(out, "hetu_llm_window",
                             "Concurrency window of a (provider, model): calls it lets run at once",
                             METRIC_GAUGE);
    if (eng && w.r == 0)
        llm_engine_windows(eng, window_line, &w);
    return w.r;
}

static int render_store(struct buf *out, struct store *st)
{
    static const char *const states[] = {"pending", "done", "failed"};
    static const char *const state_name[] = {"state"};
    struct store_health h;
    int64_t items[3];
    struct err e = ERR_INIT;
    int r =
        metric_render_head(out, "hetu_store_write_queue",
                           "Writes queued for the store's writer, not yet committed", METRIC_GAUGE);

    if (r == 0 && store_health(st, &h, &e) == 0)
        r = metric_render_sample(out, "hetu_store_write_queue", 0, NULL, NULL,
                                 (int64_t)h.pending_writes);
    r = r ? r
          : metric_render_head(out, "hetu_job_items", "Job items of every job, by state",
                               METRIC_GAUGE);
    if (r == 0 && store_job_item_counts(st, items, &e) == 0)
        for (size_t i = 0; i < 3 && r == 0; i++)
            r = metric_render_sample(out, "hetu_job_items", 1, state_name, &states[i], items[i]);
    return r;
}

/* ---- the answer ---- */

struct text {
    struct buf buf;
    size_t pos;
};

static long text_read(void *ud, char *dst, size_t max)
{
    struct text *t = ud;
    size_t n = t->buf.len - t->pos;

    if (!n)
        return -1;
    if (n > max)
        n = max;
    memcpy(dst, t->buf.data + t->pos, n);
    t->pos += n;
    return (long)n;
}

static void text_free(void *ud)
{
    struct text *t = ud;
    buf_done(&t->buf);
    free(t);
}

int h_metrics(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct text *t = calloc(1, sizeof(*t));
    int r;
    (void)ret_body;

    if (!t)
        return err_set(e, HE_NOMEM, NULL, NULL);
    buf_init(&t->buf, METRICS_TEXT_MAX);
    r = metrics_render(&t->buf);
    r = r ? r : render_windows(&t->buf, app->engine);
    r = r ? r : render_store(&t->buf, app->store);
    if (r < 0) {
        text_free(t);
        return err_set(e, r, NULL, "rendering the metrics");
    }
    http_req_set_stream(req, text_read, t, text_free);
    http_req_set_stream_type(req, METRICS_CONTENT_TYPE, 65536);
    return HTTP_STREAM;
}
