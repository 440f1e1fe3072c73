/* SPDX-License-Identifier: MIT */
/*
 * bench-ingest-readers: throughput of the import readers. Builds about 200 MB of ~600-byte rows
 * in memory (mixed ASCII and Chinese text, commas and doubled quotes inside quoted CSV fields,
 * topic paths and tags), then feeds them to csv_reader and jsonl_reader in 16 KiB chunks, the
 * way an upload arrives, with a row callback that only counts. Each reader runs three times; the
 * best run is reported as "ingest: csv_reader = N MB/s (R rows/s)". Usage:
 * bench-ingest-readers [MEGABYTES [csv|jsonl]].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/csv_reader.h"
#include "ingest/jsonl_reader.h"
#include "util/buf.h"

#define CHUNK 16384
#define RUNS  3

static const char *const words[] = {"the",  "model", "answer", "问题", "学习",  "很重要",
                                    "data", "topic", "数据集", "训练", "quick", "review"};

static size_t counted;

static int count_cb(void *ud, const struct ingest_row *row, struct err *e)
{
    (void)ud;
    (void)e;
    counted += row->input_len > 0;
    return 0;
}

static void text(struct buf *b, unsigned *seed, size_t target)
{
    size_t start = b->len;
    while (b->len - start < target) {
        *seed = *seed * 1103515245u + 12345u;
        if (buf_adds(b, words[(*seed >> 16) % (sizeof(words) / sizeof(words[0]))]) ||
            buf_adds(b, " ")) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
}

static void build(struct buf *b, int jsonl, size_t bytes, size_t *ret_rows)
{
    unsigned seed = 42;
    size_t rows = 0;
    int rc = 0;

    if (!jsonl)
        rc |= buf_adds(b, "input,output,topic_path,tags\r\n");
    while (b->len < bytes) {
        if (jsonl) {
            rc |= buf_adds(b, "{\"input\": \"");
            text(b, &seed, 230);
            rc |= buf_adds(b, "\\\"quoted\\\", ok?\", \"output\": \"");
            text(b, &seed, 250);
            rc |= buf_adds(b, "\", \"topic_path\": \"science>>>>>physics\", \"tags\": [\"a\", "
                              "\"b\"]}\n");
        } else {
            rc |= buf_adds(b, "\"");
            text(b, &seed, 250);
            rc |= buf_adds(b, "\"\"quoted\"\", ok?\",\"");
            text(b, &seed, 270);
            rc |= buf_adds(b, "\",science>>>>>physics,\"a, b\"\r\n");
        }
        rows++;
    }
    if (rc) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    *ret_rows = rows;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench(const char *name, int jsonl, size_t bytes)
{
    struct buf b;
    size_t rows;
    double best = 1e9;

    buf_init(&b, bytes + 4096);
    build(&b, jsonl, bytes, &rows);
    for (int run = 0; run < RUNS; run++) {
        struct err e;
        double t0 = now();
        int rc = 0;
        void *r = jsonl ? (void *)jsonl_reader_new(count_cb, NULL, NULL)
                        : (void *)csv_reader_new(count_cb, NULL, NULL);

        err_clear(&e);
        counted = 0;
        for (size_t at = 0; at < b.len && !rc; at += CHUNK) {
            size_t n = b.len - at < CHUNK ? b.len - at : CHUNK;
            rc = jsonl ? jsonl_reader_feed(r, b.data + at, n, &e)
                       : csv_reader_feed(r, b.data + at, n, &e);
        }
        if (!rc)
            rc = jsonl ? jsonl_reader_finish(r, &e) : csv_reader_finish(r, &e);
        if (jsonl)
            jsonl_reader_free(r);
        else
            csv_reader_free(r);
        if (rc || counted != rows) {
            fprintf(stderr, "%s: failed after %zu of %zu rows: %s\n", name, counted, rows, e.msg);
            exit(1);
        }
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    printf("ingest: %s = %.0f MB/s (%.0f rows/s, %zu rows of %zu bytes on average)\n", name,
           (double)b.len / best / 1e6, (double)rows / best, rows, b.len / rows);
    buf_done(&b);
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;

    const char *only = argc > 2 ? argv[2] : "";

    if (mb == 0)
        mb = 200;
    if (strcmp(only, "jsonl") != 0)
        bench("csv_reader", 0, mb * 1000 * 1000);
    if (strcmp(only, "csv") != 0)
        bench("jsonl_reader", 1, mb * 1000 * 1000);
    return 0;
}
