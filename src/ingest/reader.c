/* SPDX-License-Identifier: MIT */
/* The state and the error and delivery rules both streaming readers share (see reader.h). */
#include "ingest/reader.h"

#include <stdarg.h>

#include "util/banned.h"

#define ERR_FIELD "file"

void ingest_reader_init(struct ingest_reader *b, ingest_row_cb row_cb, void *ud,
                        const struct ingest_limits *limits)
{
    b->row_cb = row_cb;
    b->ud = ud;
    b->lim = ingest_limits_resolve(limits);
    ingest_list_init(&b->topics, b->lim.max_items);
    ingest_list_init(&b->tags, b->lim.max_items);
}

void ingest_reader_done(struct ingest_reader *b)
{
    ingest_list_done(&b->topics);
    ingest_list_done(&b->tags);
}

int ingest_reader_enter(struct ingest_reader *b, struct err *e)
{
    if (b->failed || b->finished)
        return err_set(e, b->failed ? b->failed : HE_INTERNAL, ERR_FIELD,
                       b->failed ? "the file was rejected at an earlier error"
                                 : "the file was already finished");
    b->e = e;
    return 0;
}

int ingest_reader_fail(struct ingest_reader *b, int code, const char *fmt, ...)
{
    va_list ap;

    if (!b->failed) {
        va_start(ap, fmt);
        b->failed = err_setv(b->e, code, ERR_FIELD, fmt, ap);
        va_end(ap);
    }
    return b->failed;
}

int ingest_reader_topics(struct ingest_reader *b, char *s, size_t line)
{
    int rc = ingest_split_topic_path(&b->topics, s);

    if (rc == HE_INVALID)
        return ingest_reader_fail(b, HE_BAD_REQUEST, "line %zu: topic_path has an empty topic",
                                  line);
    if (rc)
        return ingest_reader_fail(b, HE_BAD_REQUEST,
                                  "line %zu: topic_path has more than %zu topics", line,
                                  b->lim.max_items);
    return 0;
}

int ingest_reader_deliver(struct ingest_reader *b, struct ingest_row *row, size_t line)
{
    int rc;

    row->topic_path = b->topics.items;
    row->topic_path_count = b->topics.count;
    row->tags = b->tags.items;
    row->tags_count = b->tags.count;
    rc = b->row_cb(b->ud, row, b->e);
    if (rc) {
        if (b->e->code == 0)
            err_set(b->e, rc < 0 ? rc : HE_INTERNAL, NULL, "line %zu: the row was not accepted",
                    line);
        b->failed = b->e->code;
        return b->failed;
    }
    b->rows++;
    return 0;
}
