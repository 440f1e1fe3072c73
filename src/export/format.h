/* SPDX-License-Identifier: MIT */
/*
 * Export formats as data: each format turns stored samples into the bytes a trainer reads. A
 * format is pure (no store, no I/O): export/stream.c feeds it the rows of a cursor and sends
 * what it writes. Kiln's formats live in kiln_format.c, the other trainers' in trainer_format.c.
 */
#ifndef HETU_EXPORT_FORMAT_H
#define HETU_EXPORT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

/* Kiln's data strategies. */
enum export_strategy {
    EXPORT_FINAL_ONLY,
    EXPORT_FINAL_AND_INTERMEDIATE,
};

struct export_opts {
    const struct task *task;
    const char *system_message; /* never NULL: the task's prompt when the caller gives none */
    const char *thinking_instructions; /* for final_and_intermediate, or NULL for Kiln's default */
    enum export_strategy strategy;
};

struct export_format {
    const char *name;
    const char *content_type; /* e.g. "application/jsonl" */
    const char *extension;    /* file name extension without the dot, e.g. "jsonl" */
    /* 0, or HE_BAD_REQUEST naming why this task cannot be written in this format (before any
     * byte is sent). NULL: every task can. */
    int (*check)(const struct export_opts *o, struct err *e);
    /* Bytes before the first row (a CSV header, "["), or NULL. */
    int (*begin)(const struct export_opts *o, struct buf *out, struct err *e);
    /* Appends sample r, the nth (from 0) written. A sample the format cannot express is
     * HE_BAD_REQUEST naming it. */
    int (*row)(const struct export_opts *o, const struct run *r, size_t nth, struct buf *out,
               struct err *e);
    /* Bytes after the last row ("]"), or NULL. */
    int (*end)(const struct export_opts *o, size_t nrows, struct buf *out, struct err *e);
};

/* The format named name, or NULL. */
const struct export_format *export_format_find(const char *name);
/* Calls fn for every format (for error messages and OpenAPI). */
void export_format_each(void (*fn)(void *ud, const struct export_format *f), void *ud);

/* Each file's formats, ended by an entry with a NULL name. */
extern const struct export_format export_kiln_formats[];
extern const struct export_format export_trainer_formats[];

#endif
