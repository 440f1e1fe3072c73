/* SPDX-License-Identifier: MIT */
/*
 * DESIGN
 * An export is a keyset cursor over the store: each page is one short read of the samples
 * after the last id handed out (store_run_list with after_id and a limit), so no read
 * transaction stays open between pages and a writer is never held back by a slow client. Each
 * row of a page goes through the format into `raw`; with gzip, `raw` is deflated into `gz`.
 * Readers take bytes from the pending buffer; a new page is read only when it is empty, so
 * memory holds one page of output whatever the size of the export. The page's row limit adapts
 * to the size of the rows: a page aims at EXPORT_PAGE_BYTES of output.
 *
 * Threads: one export is used by one thread at a time (the server calls a stream's read from
 * whichever of its threads serves the connection, one call at a time). Freeing it stops the
 * cursor: the next page is simply never read.
 */
#include "export/stream.h"

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "util/arena.h"

#include "util/banned.h"

#define OUT_MAX  (64u << 20) /* one page's output, or one sample larger than a page */
#define GZ_CHUNK (64u << 10)

enum stage { STAGE_BEGIN, STAGE_ROWS, STAGE_END, STAGE_DONE };

struct export_stream {
    struct store *store;
    struct run_filter filter; /* strings in mem */
    const struct export_format *fmt;
    struct export_opts opts; /* strings in mem, task in task */
    struct task task;
    struct arena mem;

    enum stage stage;
    char last_id[ID_LEN]; /* the cursor: "" before the first page */
    size_t page_limit;

    struct buf raw;     /* formatted bytes not yet compressed or handed out */
    struct buf gz;      /* compressed bytes not yet handed out (gzip only) */
    struct buf *out;    /* what readers take from: &raw or &gz */
    size_t pos;         /* bytes of *out already handed out */
    bool gzip, z_ready; /* z_ready: zs was initialised */
    z_stream zs;

    struct export_stats stats;
    struct err err;
};

static int copy_str(struct export_stream *x, const char *s, const char **ret)
{
    *ret = NULL;
    if (s && !(*ret = arena_strdup(&x->mem, s)))
        return HE_NOMEM;
    return 0;
}

static int copy_inputs(struct export_stream *x, const struct run_filter *f,
                       const struct export_opts *o)
{
    struct run_filter *g = &x->filter;

    g->min_rating = f->min_rating;
    g->min_judge_rating = f->min_judge_rating;
    g->judged = f->judged;
    g->rated_by_both = f->rated_by_both;
    if (copy_str(x, f->task_id, &g->task_id) < 0 ||
        copy_str(x, f->topic_prefix, &g->topic_prefix) < 0 ||
        copy_str(x, f->session_id, &g->session_id) < 0 || copy_str(x, f->tag, &g->tag) < 0 ||
        copy_str(x, f->source_type, &g->source_type) < 0 ||
        copy_str(x, f->split_id, &g->split_id) < 0 ||
        copy_str(x, f->split_name, &g->split_name) < 0)
        return HE_NOMEM;
    x->opts = *o;
    if (copy_str(x, o->system_message, &x->opts.system_message) < 0 ||
        copy_str(x, o->thinking_instructions, &x->opts.thinking_instructions) < 0)
        return HE_NOMEM;
    if (o->task) {
        if (task_copy(&x->task, o->task) < 0)
            return HE_NOMEM;
        x->opts.task = &x->task;
    }
    return 0;
}

int export_stream_new(struct store *s, const struct run_filter *f, const struct export_format *fmt,
                      const struct export_opts *o, bool gzip, struct export_stream **ret,
                      struct err *e)
{
    struct export_stream *x;
    int r;

    if (fmt->check && (r = fmt->check(o, e)) < 0)
        return r;
    if (!(x = calloc(1, sizeof(*x))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    arena_init(&x->mem);
    x->store = s;
    x->fmt = fmt;
    x->page_limit = EXPORT_PAGE_ROWS;
    buf_init(&x->raw, OUT_MAX);
    buf_init(&x->gz, OUT_MAX);
    x->out = gzip ? &x->gz : &x->raw;
    x->gzip = gzip;
    err_clear(&x->err);
    if (copy_inputs(x, f, o) < 0) {
        export_stream_free(x);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    /* windowBits 15 + 16: a gzip wrapper instead of zlib's */
    if (gzip && deflateInit2(&x->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK) {
        export_stream_free(x);
        return err_set(e, HE_NOMEM, NULL, "the gzip compressor did not start");
    }
    x->z_ready = gzip;
    *ret = x;
    return 0;
}

/* Deflates raw into gz (and empties raw); finish ends the gzip member. */
static int compress_raw(struct export_stream *x, bool finish)
{
    unsigned char chunk[GZ_CHUNK];
    int zr, r;

    x->zs.next_in = (unsigned char *)x->raw.data;
    x->zs.avail_in = (uInt)x->raw.len;
    do {
        x->zs.next_out = chunk;
        x->zs.avail_out = sizeof(chunk);
        zr = deflate(&x->zs, finish ? Z_FINISH : Z_NO_FLUSH);
        if (zr == Z_STREAM_ERROR)
            return err_set(&x->err, HE_INTERNAL, NULL, "gzip compression failed");
        if ((r = buf_add(&x->gz, chunk, sizeof(chunk) - x->zs.avail_out)) < 0)
            return err_set(&x->err, r, NULL, "the compressed page is too large");
    } while (x->zs.avail_out == 0 || (finish && zr != Z_STREAM_END));
    buf_reset(&x->raw);
    return 0;
}

static int add_row(void *ud, const struct run *r, struct err *e)
{
    struct export_stream *x = ud;
    int rc;

    if ((rc = x->fmt->row(&x->opts, r, (size_t)x->stats.rows, &x->raw, e)) < 0)
        return rc;
    memcpy(x->last_id, r->id, ID_LEN);
    x->stats.rows++;
    return 0;
}

/* Reads the next page into raw; at the end of the rows, moves to STAGE_END. */
static int read_page(struct export_stream *x)
{
    struct run_filter f = x->filter;
    uint64_t rows = x->stats.rows;
    size_t before = x->raw.len, n, per_row;
    int r;

    f.after_id = x->last_id[0] ? x->last_id : NULL;
    f.limit = x->page_limit;
    f.best_first = false;
    if ((r = store_run_list(x->store, &f, add_row, x, &x->err)) < 0)
        return r;
    x->stats.pages++;
    n = (size_t)(x->stats.rows - rows);
    if (n < x->page_limit) {
        x->stage = STAGE_END;
        return 0;
    }
    per_row = (x->raw.len - before) / n + 1;
    x->page_limit = EXPORT_PAGE_BYTES / per_row;
    if (x->page_limit < 1)
        x->page_limit = 1;
    if (x->page_limit > EXPORT_PAGE_ROWS)
        x->page_limit = EXPORT_PAGE_ROWS;
    return 0;
}

/* One step of the export: its head, a page, or its tail. */
static int produce(struct export_stream *x)
{
    int r = 0;

    switch (x->stage) {
    case STAGE_BEGIN:
        if (x->fmt->begin)
            r = x->fmt->begin(&x->opts, &x->raw, &x->err);
        x->stage = STAGE_ROWS;
        break;
    case STAGE_ROWS: r = read_page(x); break;
    case STAGE_END:
        if (x->fmt->end)
            r = x->fmt->end(&x->opts, (size_t)x->stats.rows, &x->raw, &x->err);
        x->stage = STAGE_DONE;
        break;
    case STAGE_DONE: break;
    }
    if (r < 0)
        return r;
    if (x->gzip && (x->raw.len || x->stage == STAGE_DONE))
        r = compress_raw(x, x->stage == STAGE_DONE);
    return r;
}

long export_stream_read(struct export_stream *x, char *buf, size_t max)
{
    size_t n;

    if (x->stats.failed)
        return -2;
    while (x->pos == x->out->len) {
        buf_reset(x->out);
        x->pos = 0;
        if (x->stage == STAGE_DONE) {
            x->stats.finished = true;
            return -1;
        }
        if (produce(x) < 0) {
            if (!x->err.code)
                err_set(&x->err, HE_INTERNAL, NULL, "the export failed");
            x->stats.failed = true;
            return -2;
        }
    }
    n = x->out->len - x->pos;
    if (n > max)
        n = max;
    memcpy(buf, x->out->data + x->pos, n);
    x->pos += n;
    x->stats.bytes += n;
    return (long)n;
}

const struct export_stats *export_stream_stats(const struct export_stream *x)
{
    return &x->stats;
}

const struct err *export_stream_error(const struct export_stream *x)
{
    return &x->err;
}

void export_stream_free(struct export_stream *x)
{
    if (!x)
        return;
    if (x->z_ready)
        deflateEnd(&x->zs);
    buf_done(&x->raw);
    buf_done(&x->gz);
    task_done(&x->task);
    arena_done(&x->mem);
    free(x);
}
