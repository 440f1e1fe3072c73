/* SPDX-License-Identifier: MIT */
/*
 * An export in progress: the samples a run filter selects, read from the store a page at a time
 * in id order, each written by a format, optionally gzip-compressed, and handed out in pieces
 * of the size the reader asks for. Nothing here knows HTTP: the server's stream callback (or a
 * test, or a program) calls export_stream_read until it says the end.
 */
#ifndef HETU_EXPORT_STREAM_H
#define HETU_EXPORT_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export/format.h"
#include "store/store.h"
#include "util/err.h"

/* Most rows one page reads, and the bytes of formatted output a page aims at (a page of large
 * samples reads fewer rows the next time). */
#define EXPORT_PAGE_ROWS  512
#define EXPORT_PAGE_BYTES (1u << 20)

struct export_stream;

/* What an export did so far (for the log line at its end and for tests). */
struct export_stats {
    uint64_t rows;  /* samples written */
    uint64_t pages; /* store reads */
    uint64_t bytes; /* bytes handed out (compressed when gzip) */
    bool finished;  /* the last byte was handed out */
    bool failed;    /* a read or a format failed (see export_stream_error) */
};

/*
 * Prepares an export of what f selects (its after_id and limit are ignored) written by fmt with
 * opts o; gzip compresses the bytes. Everything given is copied: the caller's filter, task and
 * strings may go right after. Runs fmt->check first: its HE_BAD_REQUEST comes back here, before
 * any byte. Reads nothing from the store yet.
 */
int export_stream_new(struct store *s, const struct run_filter *f, const struct export_format *fmt,
                      const struct export_opts *o, bool gzip, struct export_stream **ret,
                      struct err *e);

/*
 * Fills buf with up to max bytes: returns how many (> 0), -1 at the end, or -2 when the export
 * failed (export_stream_error says why). Reads at most one page of the store per call.
 */
long export_stream_read(struct export_stream *x, char *buf, size_t max);

const struct export_stats *export_stream_stats(const struct export_stream *x);
const struct err *export_stream_error(const struct export_stream *x);

/* Stops the export where it is (no further page is read) and frees it; NULL is a no-op. */
void export_stream_free(struct export_stream *x);

#endif
