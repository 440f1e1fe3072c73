/* SPDX-License-Identifier: MIT */
/*
 * The job runner.
 *
 * DESIGN
 * - One thread owns the list of active jobs. It wakes on notify, on each finished item, and
 *   every 200 ms. Each pass: pick up jobs the store lists as queued or running; load file rows
 *   (a slice at a time, so jobs share the thread); top every job up to its window of items in
 *   flight; finish jobs with nothing left; honour cancel requests.
 * - Items go through gen_output (the engine) and their results through one asynchronous store
 *   write each; group commit turns a burst of results into one transaction. The writer's
 *   callback updates the in-memory counters under the runner's lock and wakes the runner.
 * - Crash safety comes from the store: an item's sample and its state change commit together,
 *   and a repeated result is ignored. Items in flight at a crash are pending again at restart.
 * - A job whose first items all fail with the same reason a retry cannot fix (job_failure.h)
 *   stops early with it; items that failed otherwise run again in up to RETRY_ROUNDS rounds.
 * - An import that ends failed or cancelled keeps its spool, for a resume to load the rest.
 * - A job's state moves only through set_status, along the table of store/job_status.h; each
 *   pass of step() ends in one place, which records the final state when the job is over.
 * - An item's payload is what job_item.h reads: a spooled row for file imports (copied from
 *   the spool as it is), the request's JSON for import_samples_async.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs/job_failure.h"
#include "jobs/job_item.h"
#include "jobs/jobs.h"
#include "jobs/runner_int.h"
#include "jobs/spool.h"
#include "llm/engine.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/banned.h"

#define EARLY_STOP_FAILURES 10
#define RETRY_ROUNDS        3   /* extra rounds for items that failed in ways a retry can fix */
#define LIST_EVERY_MS       200 /* how often the store is asked for jobs to adopt */
#define GROUP_BIT           (1ULL << 62) /* engine groups of jobs, apart from HTTP requests */

/* One item on its way: made by the runner, then owned by the engine (on_output), then by the
 * store writer (on_recorded), which frees it; never two threads at once. */
struct item_ctx {
    struct jobs *j;
    struct active *a;
    struct job_item_result res;
    char job_id[ID_LEN];
    char *error;
    int code; /* the failure's HE_* code */
};

static uint64_t group_of(const struct active *a)
{
    return a->group;
}

static void active_free(struct active *a)
{
    jobs_close_spool(a);
    if (a->imp_ready)
        gen_import_done(&a->imp);
    arena_done(&a->spool_mem);
    free(a->load_error);
    job_done(&a->job);
    task_done(&a->task);
    arena_done(&a->params_mem);
    free(a->last_error);
    free(a);
}

/* ---- results ---- */

static void on_recorded(void *ud, int result, const struct err *e)
{
    struct item_ctx *x = ud;
    struct jobs *j = x->j;
    struct active *a = x->a;

    pthread_mutex_lock(&j->lock);
    if (result < 0) {
        /* The store refused the result: the item stays pending and runs again later. */
        log_set_request(a->params.request_id); /* (this is the store writer's thread) */
        log_event(LOG_ERROR, "job item result not saved", "job", a->job.id, "error",
                  e ? e->msg : "", NULL);
        log_set_request(NULL);
    } else if (x->res.run) {
        a->successes++;
        a->same_failures = 0;
    } else if (x->error && !job_failure_is_permanent(x->code, x->error)) {
        a->retryable++;
    } else if (x->error) {
        if (a->last_error && strcmp(a->last_error, x->error) == 0) {
            a->same_failures++;
        } else {
            free(a->last_error);
            a->last_error = strdup(x->error);
            a->same_failures = 1;
        }
    }
    a->inflight--;
    j->inflight--;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    if (x->res.run) {
        run_done(x->res.run);
        free(x->res.run);
    }
    free(x->error);
    free(x);
}

static void record(struct item_ctx *x, struct run *run, const struct err *fail)
{
    struct err e = ERR_INIT;

    x->code = fail ? fail->code : 0;
    x->res.job_id = x->job_id;
    x->res.run = run;
    x->error = strdup(fail ? fail->msg : "");
    if (!x->error)
        x->error = strdup("out of memory");
    x->res.error = x->error ? x->error : "out of memory";
    if (store_job_items_done_async(x->j->env.store, &x->res, 1, on_recorded, x, &e) < 0)
        on_recorded(x, e.code, &e);
}

static void on_output(void *ud, struct run *run, const struct err *e)
{
    struct item_ctx *x = ud;

    if (!run && e->code == HE_CANCELLED) {
        /* Cancelled (job cancelled or server stopping): the item stays pending. */
        struct jobs *j = x->j;
        pthread_mutex_lock(&j->lock);
        x->a->inflight--;
        j->inflight--;
        pthread_cond_signal(&j->wake);
        pthread_mutex_unlock(&j->lock);
        free(x);
        return;
    }
    record(x, run, run ? NULL : e);
}

/* ---- claiming items ---- */

struct claim {
    struct jobs *j;
    struct active *a;
    size_t started;
    struct arena scratch; /* for reading the items of one claim */
};

static int sample_of(struct claim *c, const void *payload, size_t len, int64_t idx,
                     struct gen_sample *s, struct err *e)
{
    struct active *a = c->a;
    int r = job_item_sample(&c->j->env, &a->task, payload, len, idx, &c->scratch, s, e);

    if (r < 0)
        return r;
    s->job_id = (int64_t)strtoll(a->job.id, NULL, 10);
    s->job_item = idx;
    if (a->params.source_type) {
        free(s->source_type);
        free(s->file_name);
        s->source_type = strdup(a->params.source_type);
        s->file_name = a->params.file_name ? strdup(a->params.file_name) : NULL;
    }
    if (a->params.allow_truncated)
        s->allow_truncated = true;
    return 0;
}

static int claim_item(void *ud, int64_t idx, const void *payload, size_t len, struct err *ignored)
{
    struct claim *c = ud;
    struct jobs *j = c->j;
    struct active *a = c->a;
    struct item_ctx *x = calloc(1, sizeof(*x));
    struct gen_sample s;
    struct err e;
    (void)ignored;

    if (!x)
        return HE_NOMEM;
    x->j = j;
    x->a = a;
    x->res.idx = idx;
    memcpy(x->job_id, a->job.id, ID_LEN);
    a->next_idx = idx;
    pthread_mutex_lock(&j->lock);
    a->inflight++;
    j->inflight++;
    pthread_mutex_unlock(&j->lock);
    c->started++;
    err_clear(&e);
    if (sample_of(c, payload, len, idx, &s, &e) < 0) {
        record(x, NULL, &e);
        return 0;
    }
    if (gen_output(&j->env, &a->task, &s, NULL, a->params.session_id, group_of(a), on_output, x,
                   &e) < 0)
        record(x, NULL, &e);
    gen_sample_free(&s);
    return 0;
}

/* ---- the job's state ---- */

/* The one place the runner changes a job's state: from the state it holds to `to`, in the
 * store first. A refused move is logged as an error and leaves the job as it was. */
static int set_status(struct jobs *j, struct active *a, enum job_status to, const char *error)
{
    struct err e;

    err_clear(&e);
    if (store_job_set_status(j->env.store, a->job.id, a->job.status, to, error, &e) < 0) {
        /* deleted with its task meanwhile, or moved by another server: nothing to record */
        if (e.code == HE_NOT_FOUND || e.code == HE_CONFLICT)
            return e.code;
        log_event(LOG_ERROR, "cannot change the job's status", "job", a->job.id, "from",
                  job_status_name(a->job.status), "to", job_status_name(to), "error", e.msg, NULL);
        return e.code;
    }
    a->job.status = to;
    return 0;
}

/* ---- the loop ---- */

static int adopt(void *ud, const struct job *job, struct err *e)
{
    struct jobs *j = ud;
    struct active *a;
    struct err pe;
    int r;

    /* Imports alone: near_duplicates (dedup/near_job.c), pipeline and judge jobs
     * (pipeline/driver.c) have runners of their own. */
    if (strcmp(job->kind, JOBS_KIND_SAMPLES) != 0 && strcmp(job->kind, JOBS_KIND_FILE) != 0)
        return 0;
    for (a = j->list; a; a = a->next)
        if (strcmp(a->job.id, job->id) == 0)
            return 0;
    a = calloc(1, sizeof(*a));
    if (!a)
        return err_set(e, HE_NOMEM, NULL, NULL);
    a->job = *job;
    a->cursor = job->cursor; /* no callback can reach a yet */
    a->job.kind = strdup(job->kind);
    a->job.params = NULL; /* read into a->params */
    a->job.error = NULL;
    a->next_idx = -1;
    /* the id's low 40 bits (ids have 12 digits) and which adoption this is */
    a->group = GROUP_BIT | (++j->runs & 0x3FFFFF) << 40 |
               ((uint64_t)strtoull(job->id, NULL, 10) & ((1ULL << 40) - 1));
    arena_init(&a->params_mem);
    if (!a->job.kind) {
        active_free(a);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    err_clear(&pe);
    r = job_params_decode(job->params, &a->params_mem, &a->params, &pe);
    if (r == 0)
        r = store_task_get(j->env.store, a->params.project_id, job->task_id, &a->task, &pe);
    if (r < 0 || !a->task.instruction) {
        /* The task is gone (or the params are broken): the job cannot go on. Gone with its task,
         * it leaves no spool behind. */
        if (set_status(j, a, JOB_FAILED,
                       pe.code ? pe.msg : "the job's parameters are incomplete") == HE_NOT_FOUND &&
            a->params.spool)
            unlink(a->params.spool);
        active_free(a);
        return 0;
    }
    /* A file import is loaded once its cursor reached the last row (the spool may be gone). */
    a->loaded = !a->params.spool || job->cursor >= job->total;
    /* The lines of the job carry the request that started it; the loop that steps the jobs
     * sets the context again for each and clears it after them. */
    log_set_request(a->params.request_id);
    if (a->job.status == JOB_QUEUED && set_status(j, a, JOB_RUNNING, NULL) == HE_CONFLICT)
        a->job.status = JOB_RUNNING; /* another server started it (step sees any other move) */
    log_event(LOG_INFO, "job running", "job", job->id, "kind", job->kind, NULL);
    a->next = j->list;
    j->list = a;
    return 0;
}

/* How a pass over a job ends when the job is over: its final state and why, or gone (deleted
 * with its task: there is nothing left to record). */
struct ending {
    enum job_status status;
    char reason[ERR_MSG_MAX + 64]; /* "" for none */
    bool gone;
};

static void finish(struct jobs *j, struct active *a, const struct ending *end)
{
    jobs_close_spool(a);
    if (a->params.spool && (end->gone || !job_status_can_move(end->status, JOB_QUEUED)))
        unlink(a->params.spool);
    if (end->gone)
        return;
    set_status(j, a, end->status, end->reason[0] ? end->reason : NULL);
    log_event(LOG_INFO, "job finished", "job", a->job.id, "status", job_status_name(end->status),
              NULL);
}

/* What the callbacks have changed, read at once under the lock. */
struct counts {
    size_t inflight, loads;
    int64_t successes, same_failures;
};

static struct counts counts_of(struct jobs *j, const struct active *a)
{
    struct counts c;

    pthread_mutex_lock(&j->lock);
    c = (struct counts){a->inflight, a->loads, a->successes, a->same_failures};
    pthread_mutex_unlock(&j->lock);
    return c;
}

/* Items in the engine plus file slices in the store: an active job is freed only at zero, since
 * their callbacks point to it. */
static size_t outstanding(struct jobs *j, struct active *a)
{
    struct counts c = counts_of(j, a);
    return c.inflight + c.loads;
}

/* The job was deleted (with its task): over once nothing points to it any more. */
static bool gone(struct jobs *j, struct active *a, struct ending *end)
{
    llm_cancel_group(j->env.engine, group_of(a));
    if (outstanding(j, a) > 0)
        return false;
    end->gone = true;
    return true;
}

/* Cancelled, or stopping early: over once the items in flight are back. */
static bool wind_down(struct jobs *j, struct active *a, struct ending *end)
{
    if (outstanding(j, a) > 0)
        return false;
    if (a->cancelling) {
        end->status = JOB_CANCELLED;
        return true;
    }
    end->status = JOB_FAILED;
    pthread_mutex_lock(&j->lock);
    snprintf(end->reason, sizeof(end->reason),
             "stopped after %lld items failed with the same error: %s", (long long)a->same_failures,
             a->last_error ? a->last_error : "");
    pthread_mutex_unlock(&j->lock);
    return true;
}

/* A file import still loading: hands the store the next slice while fewer than LOADS_IN_FLIGHT
 * are being written; over when a slice could not be stored. */
static bool load_more(struct jobs *j, struct active *a, const struct job *now, struct ending *end)
{
    size_t loads;
    char *load_error;
    struct err e;

    pthread_mutex_lock(&j->lock);
    loads = a->loads;
    load_error = loads == 0 ? take_ptr(a->load_error) : NULL;
    if (loads > 0 && a->load_error) {
        /* reported once the other slices are back */
        pthread_mutex_unlock(&j->lock);
        return false;
    }
    pthread_mutex_unlock(&j->lock);
    if (load_error) {
        end->status = JOB_FAILED;
        snprintf(end->reason, sizeof(end->reason), "%s", load_error);
        free(load_error);
        return true;
    }
    if (a->spool_row < a->job.total || a->spool_row == 0) {
        if (loads >= LOADS_IN_FLIGHT)
            return false;
        if (a->spool_row == 0) {
            pthread_mutex_lock(&j->lock);
            a->cursor = now->cursor;
            pthread_mutex_unlock(&j->lock);
        }
        err_clear(&e);
        if (jobs_load_slice(j, a, &e) < 0) {
            pthread_mutex_lock(&j->lock);
            if (!a->load_error)
                a->load_error = strdup(e.msg);
            pthread_mutex_unlock(&j->lock);
        }
    } else if (loads == 0) {
        a->loaded = true;
        unlink(a->params.spool);
        err_clear(&e);
        store_job_hold(j->env.store, a->job.id, true, &e);
    }
    return false;
}

/* Starts pending items after `after` up to the window; the number started. */
static size_t claim(struct jobs *j, struct active *a, int64_t after, size_t limit)
{
    struct claim c = {j, a, 0};
    struct err e;

    err_clear(&e);
    arena_init(&c.scratch);
    store_job_pending(j->env.store, a->job.id, after, limit, claim_item, &c, &e);
    arena_done(&c.scratch);
    return c.started;
}

/* Whether a round starts for items that failed in a way a retry can fix (all failed items). */
static bool again(struct jobs *j, struct active *a)
{
    struct err e;
    int64_t retryable;

    pthread_mutex_lock(&j->lock);
    retryable = a->retryable;
    a->retryable = 0;
    pthread_mutex_unlock(&j->lock);
    if (retryable == 0 || a->rounds >= RETRY_ROUNDS)
        return false;
    err_clear(&e);
    if (store_job_requeue(j->env.store, a->job.id, JOB_RUNNING, JOB_RUNNING, &e) < 0) {
        log_event(LOG_ERROR, "cannot run the job's failed items again", "job", a->job.id, "error",
                  e.msg, NULL);
        return false;
    }
    a->rounds++;
    a->no_more = false;
    a->next_idx = -1;
    return true;
}

static int any_item(void *ud, const struct job_item_row *it, struct err *e)
{
    (void)it;
    (void)e;
    *(bool *)ud = true;
    return 0;
}

/* Whether an item is still pending that this server could not claim: another server works on
 * it (or held it and died: its lease runs out and a later claim takes it). */
static bool others_working(struct jobs *j, struct active *a)
{
    struct job_item_query q = {a->job.id, NULL, JOB_ITEM_PENDING, -1, 1};
    struct err e;
    bool any = false;

    err_clear(&e);
    if (store_job_items_scan(j->env.store, &q, any_item, &any, &e) < 0)
        return true; /* not known: ask again at the next pass */
    return any;
}

/* Every item settled: the final state follows from the stored counts. */
static bool settle(struct jobs *j, struct active *a, struct ending *end)
{
    struct job fin = {0};
    struct err e;

    err_clear(&e);
    end->status = JOB_COMPLETED;
    if (store_job_get(j->env.store, a->job.id, &fin, &e) == 0 && fin.failed > 0)
        end->status = fin.completed > 0 ? JOB_COMPLETED_WITH_ERRORS : JOB_FAILED;
    if (end->status == JOB_FAILED)
        snprintf(end->reason, sizeof(end->reason), "every item failed; see errors");
    job_done(&fin);
    return true;
}

/* On a store several servers share, once a lease: claims the job's items whose server died
 * (their lease lapsed) without waiting for the job's last pass over its pending items; at every
 * pass while it finds more than the window has room for. */
static void sweep(struct jobs *j, struct active *a)
{
    size_t inflight = counts_of(j, a).inflight, room = j->cfg.window - inflight;
    int64_t now = clock_mono_us(), next = a->next_idx;

    if (!j->env.store->shared || inflight >= j->cfg.window ||
        now - a->swept_us < j->env.store->lease_ms * 1000)
        return;
    if (claim(j, a, JOB_ITEMS_LAPSED, room) < room)
        a->swept_us = now; /* none left: look again in a lease; else at the next pass */
    a->next_idx = next;    /* the items after it are still to claim */
}

/* Keeps the window of items full; over when no item is pending or in flight. */
static bool run_items(struct jobs *j, struct active *a, struct ending *end)
{
    size_t inflight;

    sweep(j, a);
    inflight = counts_of(j, a).inflight;
    if (inflight < j->cfg.window && !a->no_more &&
        claim(j, a, a->next_idx, j->cfg.window - inflight) == 0 && inflight == 0)
        a->no_more = true;
    if (!a->no_more || counts_of(j, a).inflight > 0)
        return false;
    /* Nothing pending after next_idx: look once more from the start (items that failed to save
     * went back to pending), then finish. */
    if (claim(j, a, -1, j->cfg.window) > 0) {
        a->no_more = false;
        return false;
    }
    if (others_working(j, a))
        return false;
    return !again(j, a) && settle(j, a, end);
}

/* Another server loads the rows of this file import: this one runs the items loaded so far, and
 * takes the job's end once every row is in. */
static bool help(struct jobs *j, struct active *a, const struct job *now)
{
    size_t inflight;

    if (now->cursor >= now->total) {
        a->loaded = true;
        return false;
    }
    sweep(j, a);
    inflight = counts_of(j, a).inflight;
    if (inflight < j->cfg.window)
        claim(j, a, a->next_idx, j->cfg.window - inflight);
    return false;
}

/*
 * Whether this server loads the rows of a file import: one server at a time holds the job for
 * it. On a store several servers share, the rows are in the spool of the server that received
 * the file; a server without that file leaves the loading to it (it resumes when that server
 * comes back) and runs the items loaded so far.
 */
static bool may_load(struct jobs *j, struct active *a)
{
    struct err e;

    if (j->env.store->shared && access(a->params.spool, R_OK) < 0)
        return false;
    err_clear(&e);
    return store_job_hold(j->env.store, a->job.id, false, &e) == 0;
}

static bool go_on(struct jobs *j, struct active *a, const struct job *now, struct ending *end)
{
    struct counts c = counts_of(j, a);

    if (c.successes == 0 && c.same_failures >= EARLY_STOP_FAILURES) {
        a->stopping_early = true;
        llm_cancel_group(j->env.engine, group_of(a));
        return false;
    }
    if (!a->loaded && !a->loader)
        a->loader = may_load(j, a);
    if (a->loaded)
        return run_items(j, a, end);
    return a->loader ? load_more(j, a, now, end) : help(j, a, now);
}

/* One pass over a job; returns true when the job is over and can be dropped. */
static bool step(struct jobs *j, struct active *a)
{
    struct ending end = {.status = a->job.status};
    struct job now = {0};
    struct err e;
    bool over;

    err_clear(&e);
    if (store_job_get(j->env.store, a->job.id, &now, &e) < 0) {
        over = e.code == HE_NOT_FOUND && gone(j, a, &end);
    } else {
        if (now.cancel_requested && !a->cancelling) {
            a->cancelling = true;
            llm_cancel_group(j->env.engine, group_of(a));
        }
        if (now.status != a->job.status && job_status_is_stopped(now.status)) {
            /* another server ended it (an early stop, a cancel it recorded first) */
            a->job.status = now.status;
            a->ended_elsewhere = true;
            llm_cancel_group(j->env.engine, group_of(a));
        }
        over = a->ended_elsewhere                   ? outstanding(j, a) == 0
               : a->cancelling || a->stopping_early ? wind_down(j, a, &end)
                                                    : go_on(j, a, &now, &end);
    }
    job_done(&now);
    if (!over)
        return false;
    if (!a->ended_elsewhere)
        finish(j, a, &end);
    jobs_close_spool(a);
    if (a->loader) {
        err_clear(&e);
        store_job_hold(j->env.store, a->job.id, true, &e);
    }
    return true;
}

static void *runner_main(void *arg)
{
    struct jobs *j = arg;
    int64_t listed_at = -1;

    pthread_mutex_lock(&j->lock);
    while (!j->stop) {
        struct err e;
        bool busy = false, kicked = j->kicked;
        int64_t now;

        j->kicked = false;
        pthread_mutex_unlock(&j->lock);
        jobs_free_spent_loads(j);
        /* Jobs to adopt: at once when told of one, else at every poll interval (not after each
         * stored slice, which wakes this loop hundreds of times in a large import). */
        now = clock_mono_us();
        if (kicked || listed_at < 0 || now - listed_at >= LIST_EVERY_MS * 1000) {
            err_clear(&e);
            store_job_list(j->env.store, NULL, adopt, j, &e);
            listed_at = now;
        }
        for (struct active **pp = &j->list; *pp;) {
            struct active *a = *pp;
            log_set_request(a->params.request_id); /* its lines and its model calls carry it */
            if (step(j, a)) {
                *pp = a->next;
                active_free(a);
            } else {
                pthread_mutex_lock(&j->lock);
                busy = busy || (!a->loaded && a->loads < LOADS_IN_FLIGHT);
                pthread_mutex_unlock(&j->lock);
                pp = &a->next;
            }
        }
        log_set_request(NULL);
        pthread_mutex_lock(&j->lock);
        if (!busy && !j->kicked && !j->stop) {
            struct timespec ts;
            clock_deadline(LIST_EVERY_MS, &ts);
            pthread_cond_timedwait(&j->wake, &j->lock, &ts);
        }
    }
    pthread_mutex_unlock(&j->lock);
    return NULL;
}

int jobs_start(const struct gen_env *env, const struct jobs_config *cfg, struct jobs **ret,
               struct err *e)
{
    struct jobs *j = calloc(1, sizeof(*j));

    if (!j)
        return err_set(e, HE_NOMEM, NULL, NULL);
    j->env = *env;
    j->cfg = *cfg;
    if (!j->cfg.window)
        j->cfg.window = JOBS_DEFAULT_WINDOW;
    j->spool_dir = strdup(cfg->spool_dir ? cfg->spool_dir : "/tmp");
    j->cfg.spool_dir = j->spool_dir;
    if (j->spool_dir)
        spool_sweep(j->spool_dir, env->store);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->wake, NULL);
    if (!j->spool_dir || pthread_create(&j->thread, NULL, runner_main, j) != 0) {
        free(j->spool_dir);
        free(j);
        return err_set(e, HE_INTERNAL, NULL, "cannot start the job runner");
    }
    pthread_setname_np(j->thread, "hetu-jobs");
    *ret = j;
    return 0;
}

void jobs_notify(struct jobs *j)
{
    if (!j)
        return;
    worker_raise(&j->lock, &j->kicked, &j->wake, NULL);
}

const char *jobs_spool_dir(const struct jobs *j)
{
    return j->spool_dir;
}

void jobs_stop(struct jobs *j)
{
    int64_t deadline;

    if (!j)
        return;
    pthread_mutex_lock(&j->lock);
    j->stop = true;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
    pthread_join(j->thread, NULL);
    /* Cancel what is in flight; results still arriving are recorded (or the items stay
     * pending for the next start). */
    for (struct active *a = j->list; a; a = a->next)
        llm_cancel_group(j->env.engine, group_of(a));
    deadline = clock_mono_us() + 10 * 1000000LL;
    pthread_mutex_lock(&j->lock);
    while (j->inflight > 0 && clock_mono_us() < deadline) {
        pthread_mutex_unlock(&j->lock);
        usleep(5000);
        pthread_mutex_lock(&j->lock);
    }
    if (j->inflight > 0) {
        /* Callbacks still to come point into these objects: keep them (the process is
         * stopping) rather than free them under those callbacks. */
        pthread_mutex_unlock(&j->lock);
        log_event(LOG_WARN, "job runner stopped with work outstanding", NULL);
        return;
    }
    pthread_mutex_unlock(&j->lock);
    jobs_free_spent_loads(j);
    for (struct active *a = j->list, *next; a; a = next) {
        next = a->next;
        active_free(a);
    }
    pthread_mutex_destroy(&j->lock);
    pthread_cond_destroy(&j->wake);
    free(j->spool_dir);
    free(j);
}
