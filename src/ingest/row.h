/* SPDX-License-Identifier: MIT */
/*
 * One row of an imported file, as the streaming readers (csv_reader, jsonl_reader) deliver it to
 * their row callback, and the limits that keep a reader's memory bounded whatever the file size.
 * Every pointer in a row is valid only during the callback: copy what must outlive it.
 */
#ifndef HETU_INGEST_ROW_H
#define HETU_INGEST_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "util/err.h"

struct ingest_row {
    size_t line;                   /* 1-based line of the file where the row starts */
    const char *input;             /* never NULL nor empty; an object input is compact JSON text */
    size_t input_len;              /* bytes, without the NUL */
    bool input_is_json;            /* input was a JSON object (JSONL only) */
    const char *output;            /* NULL when the row has none; an object output is JSON text */
    size_t output_len;             /* bytes; 0 when output is NULL */
    bool output_is_json;           /* output was a JSON object (JSONL only) */
    const char *system;            /* a chat record's system prompt (JSONL only), or NULL */
    const char *human_guidance;    /* NULL when absent or empty */
    const char *const *topic_path; /* topic_path_count topics, outermost first */
    size_t topic_path_count;
    const char *const *tags; /* tags_count non-empty tags */
    size_t tags_count;
    /* JSONL only: the stored fields of a sample exported as hetu_jsonl (rating, sources, usage,
     * session, ...) as a compact JSON object, or NULL when the line has none. */
    const char *provenance;
    size_t provenance_len;
};

/*
 * Delivers one row. A non-zero return stops the parse: feed() or finish() then returns that code
 * (and e holds the callback's message, or a generic one if the callback set none).
 */
typedef int (*ingest_row_cb)(void *ud, const struct ingest_row *row, struct err *e);

#define INGEST_MAX_FIELD_DEFAULT   (1024 * 1024)     /* bytes of one field or JSON value */
#define INGEST_MAX_ROW_DEFAULT     (4 * 1024 * 1024) /* bytes of one CSV record or JSONL line */
#define INGEST_MAX_COLUMNS_DEFAULT 64                /* CSV header columns */
#define INGEST_MAX_ITEMS_DEFAULT   256               /* topics in topic_path, tags */

/* Limits of a reader; a zero member (or a NULL pointer to the struct) takes the default. */
struct ingest_limits {
    size_t max_field;
    size_t max_row;
    size_t max_columns;
    size_t max_items;
};

static inline struct ingest_limits ingest_limits_resolve(const struct ingest_limits *l)
{
    struct ingest_limits r = {INGEST_MAX_FIELD_DEFAULT, INGEST_MAX_ROW_DEFAULT,
                              INGEST_MAX_COLUMNS_DEFAULT, INGEST_MAX_ITEMS_DEFAULT};
    if (l) {
        if (l->max_field)
            r.max_field = l->max_field;
        if (l->max_row)
            r.max_row = l->max_row;
        if (l->max_columns)
            r.max_columns = l->max_columns;
        if (l->max_items)
            r.max_items = l->max_items;
    }
    return r;
}

/*
 * Shared by the readers: a list of string pointers reused from row to row, grown up to a maximum.
 */
struct ingest_list {
    const char **items;
    size_t count, cap, max;
};

static inline void ingest_list_init(struct ingest_list *l, size_t max)
{
    l->items = NULL;
    l->count = l->cap = 0;
    l->max = max;
}

static inline void ingest_list_done(struct ingest_list *l)
{
    free(l->items);
    ingest_list_init(l, l->max);
}

/* HE_TOO_LARGE past max items, HE_NOMEM when allocation fails. */
static inline int ingest_list_push(struct ingest_list *l, const char *s)
{
    if (l->count >= l->max)
        return HE_TOO_LARGE;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        const char **p;
        if (cap > l->max)
            cap = l->max;
        p = realloc(l->items, cap * sizeof(*p));
        if (!p)
            return HE_NOMEM;
        l->items = p;
        l->cap = cap;
    }
    l->items[l->count++] = s;
    return 0;
}

#define INGEST_TOPIC_SEP     ">>>>>"
#define INGEST_TOPIC_SEP_LEN 5

/*
 * Splits the NUL-terminated s in place on ">>>>>" into l (after clearing it). An empty s gives no
 * topics; an empty topic ("a>>>>>" or "a>>>>>>>>>>b") is HE_INVALID.
 */
static inline int ingest_split_topic_path(struct ingest_list *l, char *s)
{
    int r;

    l->count = 0;
    if (!*s)
        return 0;
    for (;;) {
        char *sep = strstr(s, INGEST_TOPIC_SEP);
        if (sep)
            *sep = '\0';
        if (!*s)
            return HE_INVALID;
        r = ingest_list_push(l, s);
        if (r)
            return r;
        if (!sep)
            return 0;
        s = sep + INGEST_TOPIC_SEP_LEN;
    }
}

#endif
