/* SPDX-License-Identifier: MIT */
/*
 * The body of the streaming-reader fuzz targets (csv_reader.c, jsonl_reader.c), for the reader
 * named by READER (its functions are READER_new, READER_feed, ...). The input is fed whole, then
 * split at a point taken from its first byte: both runs must deliver the same rows and end with
 * the same error (the reader's result must not depend on how the upload was chunked). A third
 * run with tiny limits feeds it in small chunks and only has to survive. The row callback reads
 * every byte it is given (so the sanitizers see any dangling pointer) and sometimes refuses a row
 * to test stopping.
 */
#ifndef READER
#error "define READER (csv_reader or jsonl_reader) before including reader_fuzz.h"
#endif

#define READER_FN_(r, f) r##_##f
#define READER_FN2(r, f) READER_FN_(r, f)
#define READER_FN(f)     READER_FN2(READER, f)

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
    uint64_t hash;
    size_t rows, refuse_at;
    int code;
    struct err e;
};

static void mix(struct outcome *o, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        o->hash = (o->hash ^ s[i]) * 1099511628211ULL;
}

static void mix_str(struct outcome *o, const char *s)
{
    if (s)
        mix(o, s, strlen(s) + 1);
    else
        mix(o, "\xff", 1);
}

static int row_cb(void *ud, const struct ingest_row *row, struct err *e)
{
    struct outcome *o = ud;

    if (!row->input || row->input_len == 0 || strlen(row->input) != row->input_len)
        abort();
    if (row->output && strlen(row->output) != row->output_len)
        abort();
    mix(o, &row->line, sizeof(row->line));
    mix_str(o, row->input);
    mix_str(o, row->output);
    mix_str(o, row->system);
    mix_str(o, row->human_guidance);
    mix_str(o, row->provenance);
    mix(o, &row->input_is_json, 1);
    mix(o, &row->output_is_json, 1);
    for (size_t i = 0; i < row->topic_path_count; i++)
        mix_str(o, row->topic_path[i]);
    mix(o, "|", 1);
    for (size_t i = 0; i < row->tags_count; i++) {
        if (!row->tags[i][0])
            abort();
        mix_str(o, row->tags[i]);
    }
    if (++o->rows == o->refuse_at)
        return err_set(e, HE_CONFLICT, NULL, "refused");
    return 0;
}

static void run(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                const struct ingest_limits *lim, struct outcome *o)
{
    struct READER *r = READER_FN(new)(row_cb, o, lim);
    size_t at = 0;

    if (!r)
        abort();
    err_clear(&o->e);
    o->hash = 14695981039346656037ULL;
    o->code = 0;
    for (size_t i = 0; i <= ncuts && !o->code; i++) {
        size_t end = i < ncuts ? cuts[i] : size;
        o->code = READER_FN(feed)(r, data + at, end - at, &o->e);
        at = end;
    }
    if (!o->code)
        o->code = READER_FN(finish)(r, &o->e);
    if (o->code && (!o->e.code || !o->e.msg[0]))
        abort();
    if (o->rows != READER_FN(rows)(r) + (o->code == HE_CONFLICT))
        abort();
    READER_FN(free)(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct ingest_limits tiny = {
        .max_field = 16, .max_row = 48, .max_columns = 3, .max_items = 2};
    struct outcome whole = {0}, split = {0}, small = {0};
    size_t cut = size ? (size_t)data[0] * size / 256 : 0;
    size_t cuts[64], n = 0;

    whole.refuse_at = split.refuse_at = size && data[0] % 5 == 0 ? 2 : SIZE_MAX;
    run(data, size, NULL, 0, NULL, &whole);
    run(data, size, &cut, 1, NULL, &split);
    if (whole.code != split.code || whole.rows != split.rows || whole.hash != split.hash ||
        strcmp(whole.e.msg, split.e.msg) != 0)
        abort();

    for (size_t at = 0, step = size ? (size_t)data[size - 1] % 7 + 1 : 1; n < 64 && at < size;
         at += step)
        cuts[n++] = at;
    small.refuse_at = SIZE_MAX;
    run(data, size, cuts, n, &tiny, &small);
    return 0;
}
