/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. Batches are numbered in file order; batch n fills slot n % SLOTS and is read with
 * reader n % workers, each reader taking its batches in order. Everything runs on the caller's
 * thread (the HTTP thread of the upload): a batch is read as soon as it is filled, so an upload
 * never holds a thread of its own and a stalled one costs only its buffers. Before a slot is
 * filled again its earlier batch is taken, so outputs are taken in file order and at most SLOTS
 * batches are held. Slot states move FREE -> DONE (filled and read) -> FREE (taken).
 */
#include "ingest/batches.h"

#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

#define SLOTS (2 * BATCH_WORKERS)

enum slot_state { SLOT_FREE, SLOT_DONE };

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

struct batches {
    struct batches_cfg cfg;
    bool finished;
    struct slot slots[SLOTS];
    size_t filling;   /* the batch being filled */
    size_t taking;    /* the oldest batch not taken yet */
    size_t line;      /* the line number of the filling batch's first byte */
    struct buf carry; /* bytes after the last line end of a batch, for the next one */
    int failed;
    struct err failure;
};

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
    for (size_t i = 0; i < SLOTS; i++) {
        buf_done(&b->slots[i].in);
        buf_done(&b->slots[i].out.bytes);
    }
    buf_done(&b->carry);
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

/* Takes the oldest batch out (it has been read): hands its output over, frees its slot. */
static int take_one(struct batches *b, struct err *e)
{
    struct slot *s = &b->slots[b->taking % SLOTS];
    struct err te;
    int r;

    if (s->rc < 0)
        return fail(b, s->rc, &s->err, e);
    err_clear(&te);
    if ((r = b->cfg.take(b->cfg.ud, &s->out, &te)) < 0)
        return fail(b, r, &te, e);
    buf_reset(&s->in);
    buf_reset(&s->out.bytes);
    s->out.rows = 0;
    s->last = false;
    s->state = SLOT_FREE;
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

/* Reads the filled slot with its batch's reader. */
static void submit(struct batches *b, struct slot *s)
{
    s->first_line = b->line;
    if (b->cfg.workers > 1 && s->in.len)
        for (const char *p = s->in.data, *end = p + s->in.len;
             (p = memchr(p, '\n', (size_t)(end - p))); p++)
            b->line++;
    s->seq = b->filling;
    err_clear(&s->err);
    s->rc = b->cfg.read(b->cfg.worker_ud[s->seq % b->cfg.workers], s->in.data, s->in.len,
                        s->first_line, s->last, &s->out, &s->err);
    s->state = SLOT_DONE;
    b->filling++;
}

/* A full slot: with several workers, cut at its last line end (the rest starts the next
 * batch); with no line end yet, wait for one unless the line is already too long. */
static int submit_full(struct batches *b, struct slot *s, struct err *e)
{
    const char *nl;
    int r;

    if (b->cfg.workers == 1) {
        submit(b, s);
        return 0;
    }
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
    submit(b, s);
    if ((r = filling_slot(b, &s, e)) < 0)
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
    submit(b, s);
    while (b->taking < b->filling)
        if ((r = take_one(b, e)) < 0)
            return r;
    return 0;
}
