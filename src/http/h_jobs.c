/* SPDX-License-Identifier: MIT */
/*
 * Jobs of a task: list, get, cancel, resume, and a text/event-stream of progress.
 *
 * The event stream sends `event: progress` with the job's JSON whenever its counts or status
 * change (checked about four times a second, with a comment line every 15 s to keep proxies
 * from closing an idle stream), then `event: end` with the final JSON, then closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/near_job.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "jobs/jobs.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

#define KEEPALIVE_US (15 * 1000000LL)

/* The job named by the path, which must belong to the path's task. */
static int load_job(struct http_req *req, struct job *ret, struct err *e)
{
    const char *job_id = http_req_param(req, "job_id");
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    r = store_job_get(http_req_app(req)->store, job_id, ret, e);
    if (r == 0 && strcmp(ret->task_id, t.id) != 0) {
        job_done(ret);
        r = err_set(e, HE_NOT_FOUND, "job_id", "job %s not found in task %s", job_id, t.id);
    }
    task_done(&t);
    return r;
}

struct list_ctx {
    struct store *store;
    struct json_object *list;
};

static int add_job(void *ud, const struct job *j, struct err *e)
{
    struct list_ctx *c = ud;
    struct json_object *o;
    int r = jobs_render(c->store, j, &o, e);
    if (r == 0)
        json_object_array_add(c->list, o);
    return r;
}

int h_job_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct list_ctx c = {http_req_app(req)->store, json_object_new_array()};
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) == 0)
        r = store_job_list(c.store, t.id, add_job, &c, e);
    task_done(&t);
    if (r < 0) {
        json_object_put(c.list);
        return r;
    }
    *ret_body = json_object_new_object();
    json_object_object_add(*ret_body, "jobs", c.list);
    return 0;
}

int h_job_get(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct job j;
    int r = load_job(req, &j, e);

    if (r < 0)
        return r;
    r = jobs_render(http_req_app(req)->store, &j, ret_body, e);
    job_done(&j);
    return r;
}

/* After a change the runner acts on: answers with the job as the change left it, then wakes
 * the runner. */
static int changed(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct job j = {0};
    int r;

    if ((r = store_job_get(app->store, http_req_param(req, "job_id"), &j, e)) == 0)
        r = jobs_render(app->store, &j, ret_body, e);
    job_done(&j);
    jobs_notify(app->jobs);
    near_worker_notify(app->near);
    pipeline_driver_notify(app->pipeline);
    return r;
}

int h_job_cancel(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct job j;
    int r = load_job(req, &j, e);

    if (r < 0)
        return r;
    if (j.status == JOB_PAUSED) {
        /* nothing runs while paused: cancelled at once */
        r = store_job_set_status(app->store, j.id, JOB_PAUSED, JOB_CANCELLED, NULL, e);
        job_done(&j);
        return r < 0 ? r : changed(req, ret_body, e);
    }
    if (!job_status_is_final(j.status)) {
        job_done(&j);
        if ((r = store_job_request_cancel(app->store, http_req_param(req, "job_id"), e)) < 0)
            return r;
        return changed(req, ret_body, e);
    }
    r = jobs_render(app->store, &j, ret_body, e);
    job_done(&j);
    return r;
}

/* A pipeline or judge job's params with the budget replaced (malloc'd text into *ret). */
static int with_budget(const struct job *j, struct json_object *budget, char **ret, struct err *e)
{
    struct pipeline_budget b;
    struct json_object *params = NULL;
    int r;

    if (strcmp(j->kind, PIPELINE_JOB_KIND) != 0 && strcmp(j->kind, JUDGE_JOB_KIND) != 0)
        return err_set(e, HE_INVALID, "budget", "job %s is a %s job, which has no budget", j->id,
                       j->kind);
    if ((r = pipeline_budget_parse(budget, "budget", &b, e)) < 0)
        return r;
    if (!j->params || json_parse(j->params, strlen(j->params), &params, e) < 0 ||
        !json_object_is_type(params, json_type_object)) {
        json_object_put(params);
        return err_set(e, HE_INTERNAL, NULL, "job %s has unreadable params", j->id);
    }
    json_object_object_add(params, "budget", pipeline_budget_json(&b));
    *ret = strdup(json_text(params, NULL));
    json_object_put(params);
    return *ret ? 0 : err_set(e, HE_NOMEM, NULL, NULL);
}

/* A paused, failed or cancelled job runs again: its pending and failed items, from where it
 * stopped; a pipeline or judge job with the new budget the body may give. */
int h_job_resume(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct json_object *body = http_req_body(req), *budget = NULL;
    struct store *store = http_req_app(req)->store;
    struct job j;
    char *params = NULL;
    int r;

    if (body && !json_object_is_type(body, json_type_object))
        return err_set(e, HE_INVALID, NULL, "the body must be a JSON object");
    if (body && (r = json_check_keys(body, NULL, (const char *const[]){"budget", NULL}, e)) < 0)
        return r;
    if (body)
        json_object_object_get_ex(body, "budget", &budget);
    if ((r = load_job(req, &j, e)) < 0)
        return r;
    if (budget)
        r = with_budget(&j, budget, &params, e);
    if (r == 0 && !job_status_can_move(j.status, JOB_QUEUED))
        r = err_set(e, HE_CONFLICT, "job_id",
                    "job %s is %s: only a paused, failed or cancelled job can be resumed", j.id,
                    job_status_name(j.status));
    if (r == 0 && params)
        r = store_job_set_params(store, j.id, params, e);
    if (r == 0)
        r = store_job_requeue(store, j.id, j.status, JOB_QUEUED, e);
    free(params);
    job_done(&j);
    return r < 0 ? r : changed(req, ret_body, e);
}

/* ---- the event stream ---- */

struct events {
    struct store *store;
    char job_id[ID_LEN];
    struct buf out; /* frames not yet sent */
    size_t sent;    /* bytes of out already sent */
    char *last;     /* the last JSON sent */
    int64_t last_write_us, last_check_us;
    bool ended, closing;
};

static void events_free(void *p)
{
    struct events *ev = p;
    buf_done(&ev->out);
    free(ev->last);
    free(ev);
}

static void frame(struct events *ev, const char *event, const char *json)
{
    buf_addf(&ev->out, "event: %s\ndata: %s\n\n", event, json ? json : "{}");
}

/* Looks at the job; queues a frame when something changed. */
static void check(struct events *ev)
{
    struct job j;
    struct json_object *o = NULL;
    struct err e;

    err_clear(&e);
    if (store_job_get(ev->store, ev->job_id, &j, &e) < 0) {
        if (e.code != HE_NOT_FOUND) /* the database away a while: the stream waits for it */
            return;
        buf_addf(&ev->out, "event: error\ndata: {\"detail\":\"job %s is gone\"}\n\n", ev->job_id);
        ev->ended = true;
        return;
    }
    if (jobs_render(ev->store, &j, &o, &e) == 0) {
        bool done = job_status_is_stopped(j.status);
        char key[ERR_MSG_MAX + 128];
        /* What counts as a change: status and counts (the rate moves with the clock alone). */
        snprintf(key, sizeof(key), "%s %lld %lld %lld %s", job_status_name(j.status),
                 (long long)j.total, (long long)j.completed, (long long)j.failed,
                 j.error ? j.error : "");
        if (done || !ev->last || strcmp(ev->last, key) != 0) {
            frame(ev, done ? "end" : "progress", json_text(o, NULL));
            free(ev->last);
            ev->last = strdup(key);
        }
        ev->ended = done;
        json_object_put(o);
    }
    job_done(&j);
}

static long events_read(void *ud, char *buf, size_t max)
{
    struct events *ev = ud;
    int64_t now = clock_mono_us();
    size_t n;

    if (ev->sent == ev->out.len) {
        buf_reset(&ev->out);
        ev->sent = 0;
        if (ev->closing)
            return -1;
        if (ev->ended) {
            ev->closing = true;
            return -1;
        }
        if (now - ev->last_check_us >= 250000) {
            ev->last_check_us = now;
            check(ev);
        }
        if (ev->out.len == 0 && now - ev->last_write_us >= KEEPALIVE_US)
            buf_adds(&ev->out, ": keep-alive\n\n");
        if (ev->out.len == 0)
            return 0;
    }
    n = ev->out.len - ev->sent;
    if (n > max)
        n = max;
    memcpy(buf, ev->out.data + ev->sent, n);
    ev->sent += n;
    ev->last_write_us = now;
    return (long)n;
}

int h_job_events(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct events *ev;
    struct job j;
    int r = load_job(req, &j, e);
    (void)ret_body;

    if (r < 0)
        return r;
    ev = calloc(1, sizeof(*ev));
    if (!ev) {
        job_done(&j);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    ev->store = http_req_app(req)->store;
    memcpy(ev->job_id, j.id, ID_LEN);
    buf_init(&ev->out, 1024 * 1024);
    ev->last_write_us = clock_mono_us();
    job_done(&j);
    check(ev);
    http_req_set_stream(req, events_read, ev, events_free);
    return HTTP_STREAM;
}
