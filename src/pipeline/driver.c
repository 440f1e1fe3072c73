/* SPDX-License-Identifier: MIT */
/*
 * The pipeline driver: runs pipeline and judge jobs (the job runner and the near-duplicate
 * worker leave these kinds alone).
 *
 * DESIGN
 * - One thread owns the list of active jobs, each with what it keeps in memory (memo.c). It
 *   wakes on notify, on each item that lands or is recorded, and every LIST_EVERY_MS. Each
 *   pass: hand landed items their steps, take recorded ones back, pick up jobs the store lists
 *   as queued or running (queued ones become running), then step every job: claim pending
 *   items in stage order (topics, dedup, inputs, outputs, judge, so the tree grows first and
 *   stages overlap) up to the window of items in flight, honour cancel requests, finish jobs
 *   with nothing left.
 * - An item's calls run in the engine; its callback only queues it (`landed`). The driver
 *   thread builds its step (stages.c) and writes it with store_job_step_async; the writer's
 *   callback queues it again (`recorded`). So a job and its memory are the driver thread's
 *   alone, and the lock guards only the two queues and the flags.
 * - Crash safety is the store's: a step (what the item made, its spend, its new state) is one
 *   write, applied only to a pending item. Items in flight at a crash are pending at restart;
 *   what memory holds is rebuilt from the store when a job is taken up.
 * - The budget (budget.c): before an item starts, its expected spend is reserved; when the next
 *   item would take spent + reserved past a cap, claiming stops, items in flight land, and the
 *   job moves running -> paused with the reason. Spent is the sum of recorded items.
 * - Failures as the job runner has them: the first items all failing with the same permanent
 *   error stop the job (failed); items that failed otherwise run again in up to RETRY_ROUNDS
 *   rounds; then completed, completed_with_errors or failed from the stored counts.
 * - A job's state moves only through set_status, along store/job_status.h.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/job_failure.h"
#include "jobs/jobs.h"
#include "llm/engine.h"
#include "pipeline/driver_int.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/banned.h"

#define EARLY_STOP_FAILURES 10
#define RETRY_ROUNDS        3
#define LIST_EVERY_MS       200
#define STOP_WAIT_US        (10 * 1000000LL)
#define GROUP_BIT           (1ULL << 61) /* engine groups of these jobs */

struct pipeline_driver {
    struct gen_env env;
    size_t window;
    pthread_t thread;
    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, kicked;
    struct pitem *landed, *recorded; /* queues (LIFO; order does not matter) */
    /* driver thread only */
    struct pjob *list;
    size_t inflight; /* items of every job not yet recorded */
    uint64_t runs;
};

static const enum pipeline_stage claim_order[PS_COUNT] = {PS_TOPICS, PS_DEDUP, PS_INPUTS,
                                                          PS_OUTPUTS, PS_JUDGE};

uint64_t driver_group(const struct pjob *j)
{
    return j->group;
}

const struct gen_env *driver_env(const struct pjob *j)
{
    return &j->d->env;
}

static void push(struct pipeline_driver *d, struct pitem **queue, struct pitem *it)
{
    pthread_mutex_lock(&d->lock);
    it->next = *queue;
    *queue = it;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
}

void driver_landed(struct pitem *it)
{
    push(it->j->d, &it->j->d->landed, it);
}

static void on_written(void *ud, int result, const struct err *e)
{
    struct pitem *it = ud;
    (void)e;
    it->written = result;
    push(it->j->d, &it->j->d->recorded, it);
}

static void write_step(struct pitem *it)
{
    struct err e = ERR_INIT;

    if (store_job_step_async(it->j->d->env.store, &it->step, 1, on_written, it, &e) < 0)
        on_written(it, e.code, &e);
}

/* ---- items coming back ---- */

static void release(struct pitem *it)
{
    struct pjob *j = it->j;

    j->inflight--;
    j->inflight_stage[it->stage]--;
    j->d->inflight--;
    budget_release(j, &it->reserve);
}

/* The failure counts the early stop and the retry rounds look at. */
static void count_outcome(struct pjob *j, const struct pitem *it)
{
    if (!it->step.failed) {
        j->successes++;
        j->same_failures = 0;
    } else if (!job_failure_is_permanent(it->code, it->error ? it->error : "")) {
        j->retryable++;
    } else if (j->last_error && strcmp(j->last_error, it->error) == 0) {
        j->same_failures++;
    } else {
        free(j->last_error);
        j->last_error = strdup(it->error);
        j->same_failures = 1;
    }
}

static void on_landed(struct pitem *it)
{
    if (it->code == HE_CANCELLED) {
        /* cancelled (the job, or the server stopping): the item stays pending */
        release(it);
        pitem_free(it);
        return;
    }
    stage_step(it);
    write_step(it);
}

static void on_recorded(struct pitem *it)
{
    struct pjob *j = it->j;

    release(it);
    if (it->written < 0) {
        /* the store refused the step: the item stays pending and runs again later */
        log_event(LOG_ERROR, "job item step not saved", "job", j->job.id, NULL);
    } else {
        budget_spent(j, it->stage, &it->step.spend);
        count_outcome(j, it);
        stage_recorded(it);
    }
    pitem_free(it);
}

/* Takes both queues and handles what was in them. Returns whether there was anything. */
static bool drain(struct pipeline_driver *d)
{
    struct pitem *landed, *recorded;

    pthread_mutex_lock(&d->lock);
    landed = d->landed;
    recorded = d->recorded;
    d->landed = d->recorded = NULL;
    pthread_mutex_unlock(&d->lock);
    for (struct pitem *it = landed, *next; it; it = next) {
        next = it->next;
        on_landed(it);
    }
    for (struct pitem *it = recorded, *next; it; it = next) {
        next = it->next;
        on_recorded(it);
    }
    return landed || recorded;
}

/* ---- claiming ---- */

/* Pending items as scanned: copies, started once the scan is over. */
struct claimed {
    struct pjob *j;
    enum pipeline_stage stage;
    struct pitem *head, **tail;
    size_t n;
    int64_t last;
};

static int take_item(void *ud, const struct job_item_row *row, struct err *e)
{
    struct claimed *c = ud;
    struct pitem *it = calloc(1, sizeof(*it));
    struct err pe = ERR_INIT;

    if (!it)
        return err_set(e, HE_NOMEM, NULL, NULL);
    it->j = c->j;
    it->idx = row->idx;
    it->stage = c->stage;
    it->score = NAN;
    if (json_parse(row->payload, row->len, &it->payload, &pe) < 0 ||
        !json_object_is_type(it->payload, json_type_object)) {
        json_object_put(it->payload);
        it->payload = json_object_new_object();
        it->code = HE_INVALID;
        it->error = strdup("the item's payload is not a JSON object");
    }
    *c->tail = it;
    c->tail = &it->next;
    c->n++;
    c->last = row->idx;
    return 0;
}

/* Starts one item (its spend reserved); false when the budget holds it back. */
static bool start_item(struct pjob *j, struct pitem *it)
{
    double calls = 0;
    int r;

    if (!it->error) {
        stage_plan(it, &calls);
        if (!budget_reserve(j, it->stage, calls, &it->reserve))
            return false;
    }
    j->inflight++;
    j->inflight_stage[it->stage]++;
    j->d->inflight++;
    r = it->error ? it->code : stage_start(it);
    if (r == 0)
        return true; /* its calls run; it lands later */
    stage_step(it);
    write_step(it);
    return true;
}

/* Claims and starts pending items of one stage while the window and the budget allow. The
 * number started. */
static size_t claim_stage(struct pjob *j, enum pipeline_stage s, int64_t after)
{
    struct claimed c = {j, s, NULL, &c.head, 0, after};
    struct job_item_query q = {j->job.id, pipeline_stage_name(s), JOB_ITEM_PENDING, after,
                               j->d->window - j->inflight};
    struct err e = ERR_INIT;
    size_t started = 0;
    struct pitem *it, *next;

    if (j->inflight >= j->d->window || j->blocked[0])
        return 0;
    if (store_job_items_scan(j->d->env.store, &q, take_item, &c, &e) < 0)
        log_event(LOG_ERROR, "cannot read the job's items", "job", j->job.id, "error", e.msg, NULL);
    for (it = c.head; it; it = next) {
        next = it->next;
        it->next = NULL;
        if (j->blocked[0] || !start_item(j, it)) {
            pitem_free(it);
            continue;
        }
        j->after[s] = it->idx;
        started++;
    }
    return started;
}

static size_t claim(struct pjob *j, bool from_start)
{
    size_t started = 0;

    for (int i = 0; i < PS_COUNT; i++) {
        enum pipeline_stage s = claim_order[i];
        if (j->pipeline || s == PS_JUDGE)
            started += claim_stage(j, s, from_start ? -1 : j->after[s]);
    }
    return started;
}

/* ---- the job's state ---- */

static int set_status(struct pjob *j, enum job_status to, const char *error)
{
    struct err e = ERR_INIT;

    if (store_job_set_status(j->d->env.store, j->job.id, j->job.status, to, error, &e) < 0) {
        /* gone with its task, or moved by another server since (step sees it next) */
        if (e.code != HE_NOT_FOUND && e.code != HE_CONFLICT)
            log_event(LOG_ERROR, "cannot change the job's status", "job", j->job.id, "from",
                      job_status_name(j->job.status), "to", job_status_name(to), "error", e.msg,
                      NULL);
        return e.code;
    }
    j->job.status = to;
    return 0;
}

static void pjob_free(struct pjob *j)
{
    memo_done(&j->memo);
    if (j->examples_ready)
        gen_examples_done(&j->examples);
    task_done(&j->task);
    job_done(&j->job);
    arena_done(&j->mem);
    free(j->last_error);
    free(j);
}

/* Frees a job this server no longer runs, and gives its hold back. */
static void drop(struct pjob *j)
{
    struct err e = ERR_INIT;

    store_job_hold(j->d->env.store, j->job.id, true, &e);
    pjob_free(j);
}

/* How a pass ends when the job is over (gone: deleted with its task, nothing to record). */
struct ending {
    enum job_status status;
    char reason[ERR_MSG_MAX + 64];
    bool gone;
};

/* Whether a round starts for items that failed in a way a retry can fix. */
static bool again(struct pjob *j)
{
    struct err e = ERR_INIT;
    int64_t retryable = j->retryable;

    j->retryable = 0;
    if (retryable == 0 || j->rounds >= RETRY_ROUNDS)
        return false;
    if (store_job_requeue(j->d->env.store, j->job.id, JOB_RUNNING, JOB_RUNNING, &e) < 0) {
        log_event(LOG_ERROR, "cannot run the job's failed items again", "job", j->job.id, "error",
                  e.msg, NULL);
        return false;
    }
    j->rounds++;
    j->no_more = false;
    for (int s = 0; s < PS_COUNT; s++)
        j->after[s] = -1;
    return true;
}

static bool settle(struct pjob *j, struct ending *end)
{
    struct job fin = {0};
    struct err e = ERR_INIT;

    end->status = JOB_COMPLETED;
    if (store_job_get(j->d->env.store, j->job.id, &fin, &e) == 0 && fin.failed > 0)
        end->status = fin.completed > 0 ? JOB_COMPLETED_WITH_ERRORS : JOB_FAILED;
    if (end->status == JOB_FAILED)
        snprintf(end->reason, sizeof(end->reason), "every item failed; see errors");
    job_done(&fin);
    return true;
}

/* Keeps the window full; over when nothing is pending or in flight (or the budget holds the
 * next item back with nothing in flight: paused). */
static bool run_items(struct pjob *j, struct ending *end)
{
    j->blocked[0] = '\0';
    if (!j->no_more && claim(j, false) == 0 && j->inflight == 0 && !j->blocked[0])
        j->no_more = true;
    if (j->inflight > 0)
        return false;
    if (j->blocked[0]) {
        end->status = JOB_PAUSED;
        snprintf(end->reason, sizeof(end->reason), "%s", j->blocked);
        return true;
    }
    if (!j->no_more)
        return false;
    /* Nothing pending after the cursors: look once more from the start (items whose step was
     * not saved went back to pending), then another round, then the end. */
    if (claim(j, true) > 0 || j->blocked[0]) {
        j->no_more = false;
        return false;
    }
    return !again(j) && settle(j, end);
}

static bool wind_down(struct pjob *j, struct ending *end)
{
    if (j->inflight > 0)
        return false;
    if (j->cancelling) {
        end->status = JOB_CANCELLED;
        return true;
    }
    end->status = JOB_FAILED;
    snprintf(end->reason, sizeof(end->reason),
             "stopped after %lld items failed with the same error: %s", (long long)j->same_failures,
             j->last_error ? j->last_error : "");
    return true;
}

/* One pass over a job; true when it is over and can be dropped. */
static bool step(struct pjob *j)
{
    struct ending end = {.status = j->job.status};
    struct job now = {0};
    struct err e = ERR_INIT;
    bool over;

    if (store_job_get(j->d->env.store, j->job.id, &now, &e) < 0) {
        if (e.code != HE_NOT_FOUND)
            return false;
        llm_cancel_group(j->d->env.engine, j->group);
        over = end.gone = j->inflight == 0;
    } else {
        if (now.cancel_requested && !j->cancelling) {
            j->cancelling = true;
            llm_cancel_group(j->d->env.engine, j->group);
        }
        if (now.status != j->job.status && job_status_is_stopped(now.status)) {
            /* ended elsewhere (another server held it before): nothing left to record here */
            llm_cancel_group(j->d->env.engine, j->group);
            job_done(&now);
            return end.gone = j->inflight == 0;
        }
        if (!j->cancelling && !j->stopping_early && j->successes == 0 &&
            j->same_failures >= EARLY_STOP_FAILURES) {
            j->stopping_early = true;
            llm_cancel_group(j->d->env.engine, j->group);
        }
        over = j->cancelling || j->stopping_early ? wind_down(j, &end) : run_items(j, &end);
    }
    job_done(&now);
    if (over && !end.gone) {
        set_status(j, end.status, end.reason[0] ? end.reason : NULL);
        log_event(LOG_INFO, "job stopped", "job", j->job.id, "status", job_status_name(end.status),
                  NULL);
    }
    return over;
}

/* ---- adoption ---- */

static int adopt(void *ud, const struct job *job, struct err *e)
{
    struct pipeline_driver *d = ud;
    struct pjob *j;
    struct err pe = ERR_INIT;

    (void)e;
    if (strcmp(job->kind, PIPELINE_JOB_KIND) != 0 && strcmp(job->kind, JUDGE_JOB_KIND) != 0)
        return 0;
    if (job->status != JOB_QUEUED && job->status != JOB_RUNNING)
        return 0;
    for (j = d->list; j; j = j->next)
        if (strcmp(j->job.id, job->id) == 0)
            return 0;
    /* One server runs a job at a time: one another server holds is left to it. */
    if (store_job_hold(d->env.store, job->id, false, &pe) < 0)
        return 0;
    if (!(j = calloc(1, sizeof(*j)))) {
        store_job_hold(d->env.store, job->id, true, &pe);
        return 0;
    }
    j->d = d;
    j->job = *job;
    j->job.kind = strdup(job->kind);
    j->job.params = NULL;
    j->job.error = NULL;
    j->pipeline = strcmp(job->kind, PIPELINE_JOB_KIND) == 0;
    j->group = GROUP_BIT | (++d->runs & 0x3FFFFF) << 36 |
               ((uint64_t)strtoull(job->id, NULL, 10) & ((1ULL << 36) - 1));
    for (int s = 0; s < PS_COUNT; s++)
        j->after[s] = -1;
    if (!j->job.kind || adopt_load(j, job->params, &pe) < 0) {
        /* The task is gone or the params are broken: the job cannot go on. */
        set_status(j, JOB_FAILED, pe.code ? pe.msg : "out of memory");
        drop(j);
        return 0;
    }
    log_set_request(j->request_id[0] ? j->request_id : NULL);
    if (j->job.status == JOB_QUEUED)
        set_status(j, JOB_RUNNING, NULL);
    log_event(LOG_INFO, "job running", "job", job->id, "kind", job->kind, NULL);
    log_set_request(NULL);
    j->next = d->list;
    d->list = j;
    return 0;
}

/* ---- the thread ---- */

static void step_all(struct pipeline_driver *d)
{
    for (struct pjob **pp = &d->list; *pp;) {
        struct pjob *j = *pp;
        log_set_request(j->request_id[0] ? j->request_id : NULL);
        if (step(j)) {
            *pp = j->next;
            drop(j);
        } else {
            pp = &j->next;
        }
    }
    log_set_request(NULL);
}

/* At stop: calls in flight are cancelled; what lands is recorded, until nothing is out. */
static void wind_up(struct pipeline_driver *d)
{
    int64_t deadline = clock_mono_us() + STOP_WAIT_US;

    for (struct pjob *j = d->list; j; j = j->next)
        llm_cancel_group(d->env.engine, j->group);
    while (d->inflight > 0 && clock_mono_us() < deadline) {
        pthread_mutex_lock(&d->lock);
        if (!d->landed && !d->recorded)
            worker_wait_ms(&d->wake, &d->lock, 50);
        pthread_mutex_unlock(&d->lock);
        drain(d);
    }
}

static void *driver_main(void *arg)
{
    struct pipeline_driver *d = arg;
    int64_t listed_at = -1;

    pthread_mutex_lock(&d->lock);
    while (!d->stop) {
        bool kicked = d->kicked;
        int64_t now;

        d->kicked = false;
        pthread_mutex_unlock(&d->lock);
        drain(d);
        now = clock_mono_us();
        if (kicked || listed_at < 0 || now - listed_at >= LIST_EVERY_MS * 1000) {
            struct err e = ERR_INIT;
            store_job_list(d->env.store, NULL, adopt, d, &e);
            listed_at = now;
        }
        step_all(d);
        pthread_mutex_lock(&d->lock);
        if (!d->kicked && !d->stop && !d->landed && !d->recorded)
            worker_wait_ms(&d->wake, &d->lock, LIST_EVERY_MS);
    }
    pthread_mutex_unlock(&d->lock);
    wind_up(d);
    return NULL;
}

int pipeline_driver_start(const struct gen_env *env, size_t window, struct pipeline_driver **ret,
                          struct err *e)
{
    struct pipeline_driver *d = calloc(1, sizeof(*d));

    if (!d)
        return err_set(e, HE_NOMEM, NULL, NULL);
    d->env = *env;
    d->window = window ? window : JOBS_DEFAULT_WINDOW;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (!worker_start(&d->thread, driver_main, d, "hetu-pipeline")) {
        pthread_mutex_destroy(&d->lock);
        pthread_cond_destroy(&d->wake);
        free(d);
        return err_set(e, HE_INTERNAL, NULL, "cannot start the pipeline driver");
    }
    *ret = d;
    return 0;
}

void pipeline_driver_notify(struct pipeline_driver *d)
{
    if (d)
        worker_raise(&d->lock, &d->kicked, &d->wake, NULL);
}

void pipeline_driver_stop(struct pipeline_driver *d)
{
    if (!d)
        return;
    worker_raise(&d->lock, &d->stop, &d->wake, NULL);
    pthread_join(d->thread, NULL);
    if (d->inflight > 0) {
        /* callbacks still to come point into these objects: keep them (the process stops) */
        log_event(LOG_WARN, "pipeline driver stopped with work outstanding", NULL);
        return;
    }
    for (struct pjob *j = d->list, *next; j; j = next) {
        next = j->next;
        pjob_free(j);
    }
    pthread_mutex_destroy(&d->lock);
    pthread_cond_destroy(&d->wake);
    free(d);
}
