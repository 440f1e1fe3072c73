/* SPDX-License-Identifier: MIT */
/*
 * The job runner's file loading (the fast path of file imports).
 *
 * The runner reads a slice of the spool (rows with an output become runs, the others items)
 * and hands it to the store as one asynchronous write that also moves the job's cursor; while
 * the store writes it, the runner reads the next. Writes commit in the order they are handed
 * over, so the cursor only moves forward over rows that are stored. A slice's rows, runs and
 * item payloads live in its arena: the runs point into the rows (gen_import_run). A slice is
 * the runner's until handed to the store, the writer's until on_loaded puts it on the list of
 * spent slices (under the lock), and the runner's again to free it.
 * Runs on the runner's thread, except on_loaded (the store writer's).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/runner_int.h"
#include "util/cleanup.h"
#include "util/log.h"
#include "util/banned.h"

void jobs_close_spool(struct active *a)
{
    if (a->spool_file)
        fclose(a->spool_file);
    a->spool_file = NULL;
}

struct load {
    struct jobs *j;
    struct active *a;
    struct arena mem;
    struct run *run_mem;
    struct run **runs;
    const void **payloads;
    size_t *lens;
    int64_t *idx;
    size_t n_runs, n_items;
    struct job_load jl;
    struct load *next; /* on the list of spent slices */
};

static void load_free(struct load *l)
{
    arena_done(&l->mem);
    free(l->run_mem);
    free(l->runs);
    free(l->payloads);
    free(l->lens);
    free(l->idx);
    free(l);
}

static void on_loaded(void *ud, int result, const struct err *e)
{
    struct load *l = ud;
    struct jobs *j = l->j;
    struct active *a = l->a;

    pthread_mutex_lock(&j->lock);
    if (result < 0) {
        if (!a->load_error)
            a->load_error = strdup(e ? e->msg : "the store refused the rows");
    } else {
        if (l->jl.cursor > a->cursor) /* slices commit in order, but may be called back out of it */
            a->cursor = l->jl.cursor;
        a->successes += (int64_t)l->n_runs;
    }
    a->loads--;
    j->inflight--;
    /* The runner frees the slice: the writer's time is the import's bottleneck. */
    l->next = j->spent_loads;
    j->spent_loads = l;
    pthread_cond_signal(&j->wake);
    pthread_mutex_unlock(&j->lock);
}

void jobs_free_spent_loads(struct jobs *j)
{
    struct load *l;

    pthread_mutex_lock(&j->lock);
    l = take_ptr(j->spent_loads);
    pthread_mutex_unlock(&j->lock);
    for (struct load *next; l; l = next) {
        next = l->next;
        load_free(l);
    }
}

/* Opens the spool, reads its header, and moves to the first row not stored yet. */
static int open_spool(struct jobs *j, struct active *a, int64_t cursor, struct err *e)
{
    struct spool_header h;
    struct arena mem;
    int r;

    jobs_close_spool(a);
    if (!(a->spool_file = fopen(a->params.spool, "r")))
        return err_set(e, HE_IO, NULL, "cannot open the import's spool file %s: %s",
                       a->params.spool, strerror(errno));
    a->spool_row = 0;
    arena_init(&mem);
    if ((r = spool_read_header(a->spool_file, &mem, &h, e)) < 0)
        goto fail;
    if (!a->imp_ready) { /* the first opening: what the rows share, kept for the job's life */
        if ((r = gen_import_init(&a->imp, &j->env, &a->task, a->params.session_id,
                                 a->params.file_name, h.input_model, h.input_provider,
                                 h.output_model, h.output_provider, e)) < 0)
            goto fail;
        a->imp_ready = true;
        a->spool_mem = mem;
        a->spool_hdr = h;
        arena_init(&mem);
    }
    arena_done(&mem);
    /* After a restart: skip what is stored already. */
    if ((r = spool_skip_rows(a->spool_file, cursor, e)) != 0) {
        if (r > 0)
            r = err_set(e, HE_IO, NULL, "the spool file %s ends before row %lld", a->params.spool,
                        (long long)cursor);
        jobs_close_spool(a);
        return r;
    }
    a->spool_row = cursor;
    return 0;
fail:
    arena_done(&mem);
    jobs_close_spool(a);
    return r;
}

/* Reads up to LOAD_BATCH rows (at most about LOAD_BYTES of them, so that long rows do not make
 * a slice large) of the spool and hands them to the store; 1 when the spool is read to its end. */
int jobs_load_slice(struct jobs *j, struct active *a, struct err *e)
{
    struct load *l = calloc(1, sizeof(*l));
    int64_t row, from, cursor;
    int r = 0;

    if (!l)
        return err_set(e, HE_NOMEM, NULL, NULL);
    l->j = j;
    l->a = a;
    arena_init(&l->mem);
    pthread_mutex_lock(&j->lock);
    cursor = a->cursor;
    pthread_mutex_unlock(&j->lock);
    if (!a->spool_file && (r = open_spool(j, a, cursor, e)) < 0) {
        free(l);
        return r;
    }
    l->run_mem = calloc(LOAD_BATCH, sizeof(*l->run_mem));
    l->runs = calloc(LOAD_BATCH, sizeof(*l->runs));
    l->payloads = calloc(LOAD_BATCH, sizeof(*l->payloads));
    l->lens = calloc(LOAD_BATCH, sizeof(*l->lens));
    l->idx = calloc(LOAD_BATCH, sizeof(*l->idx));
    if (!l->run_mem || !l->runs || !l->payloads || !l->lens || !l->idx) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto fail;
    }
    from = row = a->spool_row;
    while (l->n_runs + l->n_items < LOAD_BATCH && l->mem.total < LOAD_BYTES) {
        struct spool_row sr;
        if ((r = spool_read_row(a->spool_file, &l->mem, &sr, e)) != 0) {
            if (r < 0)
                goto fail;
            r = 0;
            break;
        }
        if (sr.row.output) {
            if ((r = gen_import_run(&a->imp, &sr.row, &l->mem, &l->run_mem[l->n_runs], e)) < 0)
                goto fail;
            l->runs[l->n_runs] = &l->run_mem[l->n_runs];
            l->n_runs++;
        } else {
            l->idx[l->n_items] = row;
            l->payloads[l->n_items] = spool_item(&l->mem, &a->spool_hdr, &sr, &l->lens[l->n_items]);
            if (!l->payloads[l->n_items]) {
                r = err_set(e, HE_NOMEM, NULL, NULL);
                goto fail;
            }
            l->n_items++;
        }
        row++;
    }
    if (row == a->spool_row && row < a->job.total) {
        r = err_set(e, HE_IO, NULL, "the spool file %s ends at row %lld of %lld", a->params.spool,
                    (long long)row, (long long)a->job.total);
        goto fail;
    }
    a->spool_row = row;
    l->jl = (struct job_load){
        .job_id = a->job.id,
        .runs = l->runs,
        .n_runs = l->n_runs,
        .item_idx = l->idx,
        .item_payloads = l->payloads,
        .item_lens = l->lens,
        .n_items = l->n_items,
        .from = from,
        .cursor = row,
    };
    pthread_mutex_lock(&j->lock);
    a->loads++;
    j->inflight++;
    pthread_mutex_unlock(&j->lock);
    if ((r = store_job_load_async(j->env.store, &l->jl, on_loaded, l, e)) < 0) {
        pthread_mutex_lock(&j->lock);
        a->loads--;
        j->inflight--;
        pthread_mutex_unlock(&j->lock);
        goto fail;
    }
    if (row >= a->job.total) {
        jobs_close_spool(a);
        return 1;
    }
    return 0;
fail:
    load_free(l);
    jobs_close_spool(a); /* a later attempt starts from the stored cursor */
    return r;
}
