/* SPDX-License-Identifier: MIT */
/*
 * What the two streaming readers (csv_reader, jsonl_reader) keep alike: the row callback, the
 * limits, the sticky first error, the topic and tag lists reused from row to row, and the count
 * of rows delivered. Each reader embeds one; once `failed` is set every call returns it and
 * nothing more is parsed.
 */
#ifndef HETU_INGEST_READER_H
#define HETU_INGEST_READER_H

#include "ingest/row.h"

struct ingest_reader {
    ingest_row_cb row_cb;
    void *ud;
    struct ingest_limits lim;
    struct err *e; /* the caller's, during feed() and finish() */
    int failed;    /* sticky error code, 0 while healthy */
    bool finished;
    struct ingest_list topics, tags;
    size_t rows;
};

void ingest_reader_init(struct ingest_reader *b, ingest_row_cb row_cb, void *ud,
                        const struct ingest_limits *limits);
void ingest_reader_done(struct ingest_reader *b);

/* Starts a feed() or finish() call that reports into e; the stopped error when the reader has
   already failed or finished, else 0. */
int ingest_reader_enter(struct ingest_reader *b, struct err *e);

/* Records the first error (on the field "file") and returns the sticky code. */
int ingest_reader_fail(struct ingest_reader *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Splits the topic path s (NUL-terminated, changed in place) into b->topics; 0, or the sticky
   code of an error that names line. */
int ingest_reader_topics(struct ingest_reader *b, char *s, size_t line);

/* Hands row, with the topic and tag lists, to the callback and counts it; 0, or the sticky code
   when the callback refused it. */
int ingest_reader_deliver(struct ingest_reader *b, struct ingest_row *row, size_t line);

#endif
