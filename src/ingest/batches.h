/* SPDX-License-Identifier: MIT */
/*
 * An upload read while it arrives, on the request's thread (no thread of its own: a server holds
 * many uploads at once). The bytes are cut into batches of about BATCH_BYTES, each batch is read
 * by one of `workers` readers into an output of its own, and the outputs are taken in file
 * order, so the first error reported is the first in the file.
 *
 * With one reader, every batch is read by it in order, so a reader may keep state from one
 * batch to the next (CSV, whose records span lines). With more, batches end at line ends and
 * each must stand alone (JSON Lines: one row a line); a last line without its newline gets one.
 */
#ifndef HETU_INGEST_BATCHES_H
#define HETU_INGEST_BATCHES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

#define BATCH_BYTES   (512u * 1024)
#define BATCH_WORKERS 2

/* What the reader of one batch produced. */
struct batch_out {
    struct buf bytes; /* what the rows became, to be written in order */
    size_t rows;
};

struct batches_cfg {
    size_t workers;  /* 1 .. BATCH_WORKERS */
    size_t max_line; /* with several workers: the longest line a batch must wait for */
    size_t out_max;  /* bound of a batch_out's bytes */
    void *worker_ud[BATCH_WORKERS];
    /*
     * Reads a batch with reader number w (batch n: reader n % workers).
     * first_line: the file's line number of the batch's first byte (several readers only).
     * last: the file's last batch.
     */
    int (*read)(void *worker_ud, const char *data, size_t len, size_t first_line, bool last,
                struct batch_out *out, struct err *e);
    /* Takes a batch's output on the request's thread, in file order. */
    int (*take)(void *ud, struct batch_out *out, struct err *e);
    void *ud;
};

struct batches;

struct batches *batches_new(const struct batches_cfg *cfg);
/* Frees everything (batches not taken are dropped). */
void batches_free(struct batches *b);
/* Feeds the next bytes. An error (a batch's, in file order, or take's) stops the reading: later
 * calls return it again. */
int batches_feed(struct batches *b, const char *data, size_t len, struct err *e);
/* Ends the input: reads the last batch and takes every output still out. */
int batches_finish(struct batches *b, struct err *e);

#endif
