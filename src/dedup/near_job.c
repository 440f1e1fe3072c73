/* SPDX-License-Identifier: MIT */
/*
 * The near-duplicate job's worker (see near_job.h).
 *
 * DESIGN
 * - One thread, its own: it wakes when notified and every POLL_MS, lists the jobs not finished
 *   and runs those of its kind one after the other, each to its end. The job runner skips this
 *   kind, so no job has two owners.
 * - A job runs in two phases. Sign: the task's samples in id order, PAGE at a time; a sample
 *   without a signature of MINHASH_PARAMS is normalised and signed, one without band keys for
 *   the job's banding gets them from its (new or stored) signature; each page's signatures,
 *   keys and the job's counters are one write. Group: the stored band keys that more than one
 *   sample shares, in key order, are buckets for near_groups (which verifies each candidate
 *   pair by the exact Jaccard similarity of the normalised inputs' shingles); the clusters
 *   replace the job's earlier ones in one write, then the job completes.
 * - Between pages the worker reads the job: a cancel request ends it cancelled, a deleted job
 *   ends the run. At stop it leaves the job running: the next start takes it up from the
 *   beginning, and the signatures stored so far are not made again.
 * - Memory: a page of inputs, and one signature per sample that shares a bucket with another.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/near_groups.h"
#include "dedup/near_job.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/log.h"
#include "util/worker.h"
#include "util/textnorm.h"
#include "util/grow.h"
#include "util/banned.h"

#define POLL_MS     1000
#define PAGE        1024
#define INPUT_MAX   ((size_t)256 << 20) /* the normal form of one input, at most */
#define MEMBERS_MAX ((size_t)1 << 26)

struct near_worker {
    struct store *store;
    pthread_t thread;
    /* shared, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, kicked;
};

/* ---- params and JSON ---- */

char *near_job_params(const char *project_id, double threshold)
{
    struct json_object *o = json_object_new_object();
    char *text;

    if (!o)
        return NULL;
    json_object_object_add(o, "project_id", json_object_new_string(project_id));
    json_object_object_add(o, "threshold", json_object_new_double(threshold));
    if (log_request()) /* the request making the job: the job's lines carry its id */
        json_object_object_add(o, "request_id", json_object_new_string(log_request()));
    text = strdup(json_text(o, NULL));
    json_object_put(o);
    return text;
}

int near_job_threshold(const struct job *j, double *ret, struct err *e)
{
    struct json_object *o = NULL, *v;
    struct err pe = ERR_INIT;
    double t = NAN;

    if (j->params && json_parse(j->params, strlen(j->params), &o, &pe) == 0 &&
        json_object_object_get_ex(o, "threshold", &v) &&
        (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        t = json_object_get_double(v);
    json_object_put(o);
    if (!(t > 0 && t <= 1))
        return err_set(e, HE_INVALID, NULL, "job %s has no near-duplicate threshold", j->id);
    *ret = t;
    return 0;
}

void near_job_render(const struct job *j, struct json_object *o)
{
    double t;
    struct err e = ERR_INIT;

    if (!j->kind || strcmp(j->kind, NEAR_JOB_KIND) != 0)
        return;
    if (near_job_threshold(j, &t, &e) == 0)
        json_object_object_add(o, "threshold", json_object_new_double(t));
    json_object_object_add(o, "signatures_computed", json_object_new_int64(j->cursor));
}

/* ---- signing ---- */

int near_sign_input(const char *input, size_t len, struct buf *scratch, struct minhash_sig *ret,
                    struct err *e)
{
    int r;

    buf_reset(scratch);
    if ((r = text_normalize(input, len, scratch, e)) < 0)
        return r;
    minhash_sign(scratch->data ? scratch->data : "", scratch->len, ret);
    return 0;
}

/* ---- one job ---- */

struct near_run {
    struct near_worker *w;
    struct job job;
    double threshold;
    struct lsh_params lsh;
    struct buf scratch;
};

/* A page of samples as read: copies, the statement is gone before they are signed. */
struct page {
    struct dedup_signed items[PAGE];
    unsigned char sigs[PAGE][MINHASH_SIG_BYTES];
    int64_t keys[PAGE][MINHASH_K];
    char *inputs[PAGE];
    size_t input_lens[PAGE];
    bool need_sig[PAGE];
    size_t n, seen; /* samples needing work, samples read */
    int64_t last;
};

static int page_row(void *ud, const struct dedup_sample *s, struct err *e)
{
    struct page *p = ud;
    size_t i = p->n;
    struct minhash_sig sig;

    p->last = s->id;
    p->seen++;
    /* Nothing to do (counted as completed all the same), or a stored signature of another size,
     * which is not compared. */
    if ((s->sig && s->banded) || (s->sig && !minhash_decode(s->sig, s->sig_len, &sig)))
        return 0;
    p->items[i] = (struct dedup_signed){.sample_id = s->id};
    p->need_sig[i] = !s->sig;
    p->inputs[i] = NULL;
    if (p->need_sig[i]) {
        p->input_lens[i] = s->input ? strlen(s->input) : 0;
        if (!(p->inputs[i] = strndup(s->input ? s->input : "", p->input_lens[i])))
            return err_set(e, HE_NOMEM, NULL, NULL);
    } else {
        memcpy(p->sigs[i], s->sig, MINHASH_SIG_BYTES);
    }
    p->n++;
    return 0;
}

/* Signs what the page needs and fills its items. The number of signatures made. */
static int64_t page_sign(struct near_run *x, struct page *p, struct err *e)
{
    int64_t made = 0;

    for (size_t i = 0; i < p->n; i++) {
        struct minhash_sig sig;
        if (p->need_sig[i]) {
            if (near_sign_input(p->inputs[i], p->input_lens[i], &x->scratch, &sig, e) < 0)
                return e->code;
            minhash_encode(&sig, p->sigs[i]);
            p->items[i].sig = p->sigs[i];
            p->items[i].sig_len = MINHASH_SIG_BYTES;
            made++;
        } else {
            minhash_decode(p->sigs[i], MINHASH_SIG_BYTES, &sig);
        }
        for (int b = 0; b < x->lsh.bands; b++)
            p->keys[i][b] = lsh_band_key(&sig, b, x->lsh.rows);
        p->items[i].keys = p->keys[i];
    }
    return made;
}

static void page_clear(struct page *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->inputs[i]);
    p->n = 0;
}

/* Whether the job should go on: 0, HE_CANCELLED (cancel requested or worker stopping), or
 * HE_NOT_FOUND (deleted with its task). */
static int still_wanted(struct near_run *x, struct err *e)
{
    struct job now = {0};
    bool stop, cancel;
    int r;

    pthread_mutex_lock(&x->w->lock);
    stop = x->w->stop;
    pthread_mutex_unlock(&x->w->lock);
    if (stop)
        return err_set(e, HE_CANCELLED, NULL, "the server is stopping");
    if ((r = store_job_get(x->w->store, x->job.id, &now, e)) < 0)
        return r;
    cancel = now.cancel_requested;
    job_done(&now);
    return cancel ? err_set(e, HE_CANCELLED, NULL, "cancelled") : 0;
}

static int sign_all(struct near_run *x, struct err *e)
{
    struct page *p = calloc(1, sizeof(*p));
    struct dedup_scan q = {x->job.task_id, MINHASH_PARAMS, x->lsh.rows, 0, PAGE};
    int64_t total = 0, completed = 0;
    int r = 0;

    if (!p)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (;;) {
        int64_t made;
        p->seen = 0;
        if ((r = still_wanted(x, e)) < 0 ||
            (r = store_dedup_scan(x->w->store, &q, page_row, p, q.after ? NULL : &total, e)) < 0)
            break;
        if (p->seen == 0)
            break; /* no sample after the last page */
        if ((made = page_sign(x, p, e)) < 0) {
            r = (int)made;
            break;
        }
        q.after = p->last;
        completed += (int64_t)p->seen;
        r = store_dedup_save(x->w->store,
                             &(struct dedup_save){x->job.id, x->job.task_id, MINHASH_PARAMS,
                                                  x->lsh.bands, x->lsh.rows, p->items, p->n,
                                                  total > completed ? total : completed, completed,
                                                  made},
                             e);
        page_clear(p);
        if (r < 0)
            break;
    }
    page_clear(p);
    free(p);
    return r;
}

/* ---- grouping ---- */

struct grouping {
    struct near_run *x;
    struct near_groups *g;
    int band;
    int64_t key;
    int64_t *slots; /* of the bucket being read */
    size_t n, cap;
    struct dedup_member *members;
    size_t n_members, cap_members;
    int64_t rows; /* read so far, for the stop check */
};

static void flush_bucket(struct grouping *gr)
{
    if (gr->n > 1)
        near_groups_bucket(gr->g, gr->slots, gr->n);
    gr->n = 0;
}

static int bucket_row(void *ud, int band, int64_t key, int64_t sample_id, const void *sig_bytes,
                      size_t sig_len, const char *input, struct err *e)
{
    struct grouping *gr = ud;
    struct minhash_sig sig;
    int64_t slot, *s;
    int r;

    if (++gr->rows % 65536 == 0 && (r = still_wanted(gr->x, e)) < 0)
        return r;
    if (!minhash_decode(sig_bytes, sig_len, &sig))
        return 0; /* a signature of another size: not comparable, left out */
    if (gr->n > 0 && (band != gr->band || key != gr->key))
        flush_bucket(gr);
    gr->band = band;
    gr->key = key;
    /* a sample stands in up to one bucket a band: its text is normalised and shingled once */
    if ((slot = near_groups_slot(gr->g, sample_id)) < 0) {
        if ((r = text_normalize(input ? input : "", input ? strlen(input) : 0, &gr->x->scratch,
                                e)) < 0)
            return r;
        if ((slot = near_groups_add(gr->g, sample_id, &sig,
                                    gr->x->scratch.data ? gr->x->scratch.data : "",
                                    gr->x->scratch.len)) < 0)
            return err_set(e, HE_NOMEM, NULL, NULL);
    }
    if (!(s = grow_array(gr->slots, &gr->cap, gr->n, sizeof(*s), 64)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    gr->slots = s;
    gr->slots[gr->n++] = slot;
    return 0;
}

static int add_member(void *ud, int64_t cluster, int64_t id, double similarity)
{
    struct grouping *gr = ud;

    if (gr->n_members == gr->cap_members) {
        size_t cap = gr->cap_members ? gr->cap_members * 2 : 256;
        struct dedup_member *m = cap <= MEMBERS_MAX ? realloc(gr->members, cap * sizeof(*m)) : NULL;
        if (!m)
            return -1;
        gr->members = m;
        gr->cap_members = cap;
    }
    gr->members[gr->n_members++] = (struct dedup_member){cluster, id, similarity};
    return 0;
}

static int group_all(struct near_run *x, struct err *e)
{
    struct grouping gr = {.x = x};
    int r;

    if (!(gr.g = near_groups_new(x->threshold, NULL, NULL)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    r = store_dedup_buckets(x->w->store, x->job.task_id, MINHASH_PARAMS, x->lsh.rows, bucket_row,
                            &gr, e);
    if (r == 0) {
        flush_bucket(&gr);
        if (near_groups_clusters(gr.g, add_member, &gr) < 0)
            r = err_set(e, HE_NOMEM, NULL, "out of memory listing the clusters");
    }
    if (r == 0)
        r = store_dedup_clusters_save(x->w->store, x->job.id, gr.members, gr.n_members, e);
    near_groups_free(gr.g);
    free(gr.slots);
    free(gr.members);
    return r;
}

/* ---- the worker ---- */

/* The id of the request that made the job, into out ("" when none is kept). */
static void request_of(const struct job *j, char out[LOG_REQUEST_MAX + 1])
{
    struct json_object *o = NULL, *v;
    struct err pe = ERR_INIT;

    out[0] = '\0';
    if (j->params && json_parse(j->params, strlen(j->params), &o, &pe) == 0 &&
        json_object_object_get_ex(o, "request_id", &v) && json_object_is_type(v, json_type_string))
        snprintf(out, LOG_REQUEST_MAX + 1, "%s", json_object_get_string(v));
    json_object_put(o);
}

static void set_status(struct near_run *x, enum job_status to, const char *error)
{
    struct err e = ERR_INIT;

    if (store_job_set_status(x->w->store, x->job.id, x->job.status, to, error, &e) < 0) {
        if (e.code != HE_NOT_FOUND)
            log_event(LOG_ERROR, "cannot change the job's status", "job", x->job.id, "error", e.msg,
                      NULL);
        return;
    }
    x->job.status = to;
}

static void run_job(struct near_worker *w, const struct job *job)
{
    struct near_run x = {.w = w, .job = *job};
    struct job now = {0};
    struct err e = ERR_INIT;
    char request_id[LOG_REQUEST_MAX + 1];
    int r;

    /* One server runs a job at a time: another that holds it is left to it, and one that
     * finished it meanwhile has changed its status since it was listed. */
    if (store_job_hold(w->store, job->id, false, &e) < 0)
        return;
    if (store_job_get(w->store, job->id, &now, &e) < 0 ||
        (now.status != JOB_QUEUED && now.status != JOB_RUNNING)) {
        job_done(&now);
        store_job_hold(w->store, job->id, true, &e);
        return;
    }
    x.job.status = now.status;
    job_done(&now);
    request_of(job, request_id);
    log_set_request(request_id[0] ? request_id : NULL);
    buf_init(&x.scratch, INPUT_MAX);
    if (x.job.status == JOB_QUEUED)
        set_status(&x, JOB_RUNNING, NULL);
    if (x.job.status != JOB_RUNNING)
        goto out;
    log_event(LOG_INFO, "job running", "job", x.job.id, "kind", NEAR_JOB_KIND, NULL);
    if ((r = near_job_threshold(&x.job, &x.threshold, &e)) == 0) {
        x.lsh = lsh_params_for(x.threshold, LSH_FN_WEIGHT);
        if ((r = sign_all(&x, &e)) == 0)
            r = group_all(&x, &e);
    }
    if (r == 0) {
        set_status(&x, JOB_COMPLETED, NULL);
    } else if (r == HE_CANCELLED) {
        bool stopping;
        pthread_mutex_lock(&w->lock);
        stopping = w->stop;
        pthread_mutex_unlock(&w->lock);
        if (!stopping)
            set_status(&x, JOB_CANCELLED, NULL);
    } else if (r != HE_NOT_FOUND) {
        set_status(&x, JOB_FAILED, e.msg);
    }
    log_event(LOG_INFO, "job finished", "job", x.job.id, "status", job_status_name(x.job.status),
              NULL);
out:
    err_clear(&e);
    store_job_hold(w->store, job->id, true, &e);
    buf_done(&x.scratch);
    log_set_request(NULL);
}

/* The jobs of this kind that are not finished, oldest first (copies). */
struct todo {
    struct job jobs[64];
    size_t n;
};

static int take_job(void *ud, const struct job *j, struct err *e)
{
    struct todo *t = ud;
    (void)e;
    if (strcmp(j->kind, NEAR_JOB_KIND) != 0 || t->n == ARRAY_SIZE(t->jobs))
        return 0;
    t->jobs[t->n] = *j;
    t->jobs[t->n].kind = strdup(j->kind);
    t->jobs[t->n].params = j->params ? strdup(j->params) : NULL;
    t->jobs[t->n].error = NULL;
    t->n++;
    return 0;
}

static void *worker_main(void *arg)
{
    struct near_worker *w = arg;

    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        struct todo t = {.n = 0};
        struct err e = ERR_INIT;

        w->kicked = false;
        pthread_mutex_unlock(&w->lock);
        store_job_list(w->store, NULL, take_job, &t, &e);
        for (size_t i = 0; i < t.n; i++) {
            pthread_mutex_lock(&w->lock);
            bool stop = w->stop;
            pthread_mutex_unlock(&w->lock);
            if (!stop) /* (a job cancelled before it ran ends at its first check) */
                run_job(w, &t.jobs[i]);
            job_done(&t.jobs[i]);
        }
        pthread_mutex_lock(&w->lock);
        if (!w->kicked && !w->stop)
            worker_wait_ms(&w->wake, &w->lock, POLL_MS);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int near_worker_start(struct store *store, struct near_worker **ret, struct err *e)
{
    struct near_worker *w = calloc(1, sizeof(*w));

    if (!w)
        return err_set(e, HE_NOMEM, NULL, NULL);
    w->store = store;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (!worker_start(&w->thread, worker_main, w, "hetu-dedup")) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return err_set(e, HE_INTERNAL, NULL, "cannot start the near-duplicate worker");
    }
    *ret = w;
    return 0;
}

void near_worker_notify(struct near_worker *w)
{
    if (w)
        worker_raise(&w->lock, &w->kicked, &w->wake, NULL);
}

void near_worker_stop(struct near_worker *w)
{
    if (!w)
        return;
    worker_raise(&w->lock, &w->stop, &w->wake, NULL);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}
