/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. Batches are numbered in file order; batch n fills slot n % SLOTS and is read by worker
 * n % workers, each worker taking its batches in order. The request's thread fills one slot at
 * a time; before it fills a slot again it takes that slot's earlier batch (waiting for it if a
 * worker is still reading it), so outputs are taken in file order and at most SLOTS batches,
 * two a worker, are held. Slot states move FREE -> READY (filled) -> DONE (read) -> FREE (taken);
 * READY and DONE are set under the lock, and a slot's buffers belong to the thread whose turn
 * the state says it is.
 */
#include "ingest/batches.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/worker.h"
#include "util/banned.h"

#define SLOTS (2 * BATCH_WORKERS)

enum slot_state { SLOT_FREE, SLOT_READY, SLOT_DONE };

struct slot {
    enum slot_state state;
    size_t seq; /* the batch held */
    struct buf in;
    size_t first_line;
    bool last;
    struct batch_out out;
    int rc;
    struct err err;
};

struct worker {
    struct batches *b;
    size_t index;
    pthread_t thread;
};

struct batches {
    struct batches_cfg cfg;
    pthread_mutex_t lock;
    pthread_cond_t ready; /* a slot was filled, or stop */
    pthread_cond_t done;  /* a slot was read */
    bool started, stop, finished;
    struct worker workers[BATCH_WORKERS];
    struct slot slots[SLOTS];
    size_t filling;   /* the batch being filled */
    size_t taking;    /* the oldest batch not taken yet */
    size_t line;      /* the line number of the filling batch's first byte */
    struct buf carry; /* bytes after the last line end of a batch, for the next one */
    int failed;
    struct err failure;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct batches *b = w->b;

    pthread_mutex_lock(&b->lock);
    for (size_t seq = w->index;; seq += b->cfg.workers) {
        struct slot *s = &b->slots[seq % SLOTS];
        while (!b->stop && !(s->state == SLOT_READY && s->seq == seq))
            pthread_cond_wait(&b->ready, &b->lock);
        if (b->stop)
            break;
        pthread_mutex_unlock(&b->lock);
        err_clear(&s->err);
        s->rc = b->cfg.read(b->cfg.worker_ud[w->index], s->in.data, s->in.len, s->first_line,
                            s->last, &s->out, &s->err);
        pthread_mutex_lock(&b->lock);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&b->done);
        if (s->last)
            break;
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

struct batches *batches_new(const struct batches_cfg *cfg)
{
    struct batches *b = calloc(1, sizeof(*b));

    if (!b)
        return NULL;
    b->cfg = *cfg;
    if (b->cfg.workers < 1)
        b->cfg.workers = 1;
    if (b->cfg.workers > BATCH_WORKERS)
        b->cfg.workers = BATCH_WORKERS;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->ready, NULL);
    pthread_cond_init(&b->done, NULL);
    for (size_t i = 0; i < SLOTS; i++) {
        buf_init(&b->slots[i].in, 2 * BATCH_BYTES + cfg->max_line + 2);
        buf_init(&b->slots[i].out.bytes, cfg->out_max);
    }
    buf_init(&b->carry, BATCH_BYTES + cfg->max_line + 2);
    b->line = 1;
    return b;
}

void batches_free(struct batches *b)
{
    if (!b)
        return;
    worker_raise(&b->lock, &b->stop, &b->ready, NULL);
    for (size_t i = 0; b->started && i < b->cfg.workers; i++)
        pthread_join(b->workers[i].thread, NULL);
    for (size_t i = 0; i < SLOTS; i++) {
        buf_done(&b->slots[i].in);
        buf_done(&b->slots[i].out.bytes);
    }
    buf_done(&b->carry);
    pthread_cond_destroy(&b->done);
    pthread_cond_destroy(&b->ready);
    pthread_mutex_destroy(&b->lock);
    free(b);
}

static int fail(struct batches *b, int rc, const struct err *why, struct err *e)
{
    if (!b->failed) {
        b->failed = rc;
        if (why)
            b->failure = *why;
        else
            err_set(&b->failure, rc, NULL, NULL);
    }
    *e = b->failure;
    return b->failed;
}

/* Takes the oldest batch out: waits until it is read, hands its output over, frees its slot. */
static int take_one(struct batches *b, struct err *e)
{
    struct slot *s = &b->slots[b->taking % SLOTS];
    struct err te;
    int r;

    pthread_mutex_lock(&b->lock);
    while (s->state != SLOT_DONE)
        pthread_cond_wait(&b->done, &b->lock);
    pthread_mutex_unlock(&b->lock);
    if (s->rc < 0)
        return fail(b, s->rc, &s->err, e);
    err_clear(&te);
    if ((r = b->cfg.take(b->cfg.ud, &s->out, &te)) < 0)
        return fail(b, r, &te, e);
    buf_reset(&s->in);
    buf_reset(&s->out.bytes);
    s->out.rows = 0;
    s->last = false;
    pthread_mutex_lock(&b->lock);
    s->state = SLOT_FREE;
    pthread_mutex_unlock(&b->lock);
    b->taking++;
    return 0;
}

/* The slot of the batch being filled, taking the batch it held before if need be. */
static int filling_slot(struct batches *b, struct slot **ret, struct err *e)
{
    int r;

    while (b->filling - b->taking >= SLOTS)
        if ((r = take_one(b, e)) < 0)
            return r;
    *ret = &b->slots[b->filling % SLOTS];
    return 0;
}

static int start_workers(struct batches *b, struct err *e)
{
    for (size_t i = 0; i < b->cfg.workers; i++) {
        b->workers[i] = (struct worker){.b = b, .index = i};
        if (pthread_create(&b->workers[i].thread, NULL, worker_main, &b->workers[i]) != 0) {
            worker_raise(&b->lock, &b->stop, &b->ready, NULL);
            for (size_t k = 0; k < i; k++)
                pthread_join(b->workers[k].thread, NULL);
            return fail(b, HE_INTERNAL, NULL, e);
        }
    }
    b->started = true;
    return 0;
}

/* Hands the filled slot to its worker. */
static int submit(struct batches *b, struct slot *s, struct err *e)
{
    int r;

    if (!b->started && (r = start_workers(b, e)) < 0)
        return r;
    s->first_line = b->line;
    if (b->cfg.workers > 1)
        for (const char *p = s->in.data, *end = p + s->in.len;
             (p = memchr(p, '\n', (size_t)(end - p))); p++)
            b->line++;
    pthread_mutex_lock(&b->lock);
    s->seq = b->filling;
    s->state = SLOT_READY;
    pthread_cond_broadcast(&b->ready);
    pthread_mutex_unlock(&b->lock);
    b->filling++;
    return 0;
}

/* A full slot: with several workers, cut at its last line end (the rest starts the next
 * batch); with no line end yet, wait for one unless the line is already too long. */
static int submit_full(struct batches *b, struct slot *s, struct err *e)
{
    const char *nl;
    int r;

    if (b->cfg.workers == 1)
        return submit(b, s, e);
    nl = memrchr(s->in.data, '\n', s->in.len);
    if (!nl && s->in.len <= b->cfg.max_line + 1)
        return 0;
    buf_reset(&b->carry);
    if (nl) {
        size_t keep = (size_t)(nl - s->in.data) + 1;
        if ((r = buf_add(&b->carry, s->in.data + keep, s->in.len - keep)) < 0)
            return fail(b, r, NULL, e);
        s->in.len = keep;
    }
    if ((r = submit(b, s, e)) < 0 || (r = filling_slot(b, &s, e)) < 0)
        return r;
    if ((r = buf_add(&s->in, b->carry.data, b->carry.len)) < 0)
        return fail(b, r, NULL, e);
    return 0;
}

int batches_feed(struct batches *b, const char *data, size_t len, struct err *e)
{
    struct slot *s;
    int r;

    if (b->failed || b->finished)
        return fail(b, b->failed ? b->failed : HE_INTERNAL, NULL, e);
    while (len > 0) {
        size_t n;
        if ((r = filling_slot(b, &s, e)) < 0)
            return r;
        /* up to the batch size; past it (a line still open) a batch's worth at a time */
        n = s->in.len < BATCH_BYTES ? BATCH_BYTES - s->in.len : BATCH_BYTES;
        if (n > len)
            n = len;
        if ((r = buf_add(&s->in, data, n)) < 0)
            return fail(b, r, NULL, e);
        data += n;
        len -= n;
        if (s->in.len >= BATCH_BYTES && (r = submit_full(b, s, e)) < 0)
            return r;
    }
    return 0;
}

int batches_finish(struct batches *b, struct err *e)
{
    struct slot *s;
    int r;

    if (b->failed || b->finished)
        return fail(b, b->failed ? b->failed : HE_INTERNAL, NULL, e);
    b->finished = true;
    if ((r = filling_slot(b, &s, e)) < 0)
        return r;
    if (b->cfg.workers > 1 && s->in.len && s->in.data[s->in.len - 1] != '\n' &&
        (r = buf_add(&s->in, "\n", 1)) < 0)
        return fail(b, r, NULL, e);
    s->last = true;
    if (!b->started && b->filling == 0) {
        /* the whole file is one batch: read here */
        err_clear(&s->err);
        s->first_line = 1;
        s->rc = b->cfg.read(b->cfg.worker_ud[0], s->in.data, s->in.len, 1, true, &s->out, &s->err);
        s->state = SLOT_DONE;
        b->filling++;
    } else if ((r = submit(b, s, e)) < 0) {
        return r;
    }
    while (b->taking < b->filling)
        if ((r = take_one(b, e)) < 0)
            return r;
    return 0;
}
