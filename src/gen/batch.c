/* SPDX-License-Identifier: MIT */
/*
 * Saving a batch of samples: every sample's output is generated at once (the engine's window,
 * not this code, bounds how many calls are in flight), and when the last one is back the
 * successful runs are stored in one asynchronous write, so a batch costs about
 * ceil(n / window) model-call times plus one commit.
 *
 * Completions arrive on the engine thread, or synchronously from gen_save_batch itself for
 * samples that carry their output; a counter under a mutex decides which one is last. The
 * counter starts one higher than the number of samples and gen_save_batch drops that extra
 * count after submitting everything, so the batch cannot end while it is still submitting.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "util/banned.h"

struct batch {
    struct gen_env env;
    struct task task;
    struct gen_sample *samples;
    size_t n;
    char *session_id;
    struct gen_examples examples[PM_COUNT];
    struct run **runs;
    struct err *errs;
    struct run **ok; /* the successful runs, in order, for the store */
    size_t n_ok;
    pthread_mutex_t lock;
    size_t remaining;
    gen_batch_cb cb;
    void *ud;
};

struct slot {
    struct batch *b;
    size_t i;
};

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        gen_sample_free(&b->samples[i]);
        if (b->runs && b->runs[i]) {
            run_done(b->runs[i]);
            free(b->runs[i]);
        }
    }
    for (int m = 0; m < PM_COUNT; m++)
        gen_examples_done(&b->examples[m]);
    free(b->samples);
    free(b->runs);
    free(b->errs);
    free(b->ok);
    free(b->session_id);
    task_done(&b->task);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static void on_stored(void *ud, int result, const struct err *e)
{
    struct batch *b = ud;

    if (result < 0) {
        for (size_t i = 0; i < b->n; i++)
            if (b->runs[i]) {
                run_done(b->runs[i]);
                free(b->runs[i]);
                b->runs[i] = NULL;
                b->errs[i] = *e;
            }
    }
    b->cb(b->ud, b->runs, b->errs, b->n, result < 0 ? e : NULL);
    batch_free(b);
}

static void finish(struct batch *b)
{
    struct err e;

    err_clear(&e);
    for (size_t i = 0; i < b->n; i++)
        if (b->runs[i])
            b->ok[b->n_ok++] = b->runs[i];
    if (b->n_ok == 0) {
        b->cb(b->ud, b->runs, b->errs, b->n, NULL);
        batch_free(b);
        return;
    }
    if (store_run_insert_async(b->env.store, b->ok, b->n_ok, on_stored, b, &e) < 0)
        on_stored(b, e.code, &e);
}

static void release(struct batch *b)
{
    bool last;

    pthread_mutex_lock(&b->lock);
    last = --b->remaining == 0;
    pthread_mutex_unlock(&b->lock);
    if (last)
        finish(b);
}

static void on_run(void *ud, struct run *run, const struct err *e)
{
    struct slot *s = ud;
    struct batch *b = s->b;

    if (run)
        b->runs[s->i] = run;
    else
        b->errs[s->i] = *e;
    free(s);
    release(b);
}

int gen_save_batch(const struct gen_env *env, const struct task *t, struct gen_sample *samples,
                   size_t n, const char *session_id, uint64_t group, gen_batch_cb cb, void *ud,
                   struct err *e)
{
    struct batch *b = calloc(1, sizeof(*b));
    int r = 0;

    if (!b) {
        for (size_t i = 0; i < n; i++)
            gen_sample_free(&samples[i]);
        free(samples);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    pthread_mutex_init(&b->lock, NULL);
    b->env = *env;
    b->samples = samples;
    b->n = n;
    b->cb = cb;
    b->ud = ud;
    b->remaining = n + 1;
    b->runs = calloc(n ? n : 1, sizeof(*b->runs));
    b->errs = calloc(n ? n : 1, sizeof(*b->errs));
    b->ok = calloc(n ? n : 1, sizeof(*b->ok));
    b->session_id = session_id ? strdup(session_id) : NULL;
    if (!b->runs || !b->errs || !b->ok || (session_id && !b->session_id) ||
        task_copy(&b->task, t) < 0) {
        batch_free(b);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    /* Examples, once per prompt method in use (a read, before any call). */
    for (size_t i = 0; i < n && r == 0; i++) {
        enum prompt_method m = samples[i].method;
        if (!samples[i].output && prompt_method_examples(m) && !b->examples[m].items)
            r = gen_examples_load(env->store, t->id, m, &b->examples[m], e);
    }
    if (r < 0) {
        batch_free(b);
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        struct slot *s = malloc(sizeof(*s));
        struct err se;

        err_clear(&se);
        if (!s) {
            err_set(&b->errs[i], HE_NOMEM, NULL, NULL);
            release(b);
            continue;
        }
        s->b = b;
        s->i = i;
        if (gen_output(env, &b->task, &samples[i], &b->examples[samples[i].method], b->session_id,
                       group, on_run, s, &se) < 0) {
            free(s);
            b->errs[i] = se;
            release(b);
        }
    }
    release(b);
    return 0;
}
