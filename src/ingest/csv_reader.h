/* SPDX-License-Identifier: MIT */
/*
 * Streaming CSV reader for imports (RFC 4180 on libcsv): feed the file in chunks of any size, get
 * one callback per row. The first row is the header; it must name an `input` column and may name
 * `output`, `topic_path` (split on ">>>>>"), `human_guidance` and `tags` (split on commas).
 * Only the current row is held, so memory stays bounded by the limits whatever the file size.
 * Every error names the line (and for quoting or encoding errors the column) it concerns.
 */
#ifndef HETU_INGEST_CSV_READER_H
#define HETU_INGEST_CSV_READER_H

#include <stddef.h>

#include "ingest/row.h"
#include "util/err.h"

struct csv_reader;

/* limits may be NULL (defaults). Returns NULL when out of memory. */
struct csv_reader *csv_reader_new(ingest_row_cb row_cb, void *ud,
                                  const struct ingest_limits *limits);
void csv_reader_free(struct csv_reader *r);

/*
 * Parses the next len bytes, calling row_cb for each row they complete. After an error (from the
 * file or from row_cb) the reader is stopped: later calls return the same code.
 */
int csv_reader_feed(struct csv_reader *r, const void *data, size_t len, struct err *e);

/* Ends the input: delivers a last row without a final newline, reports an unterminated quote,
 * a missing header or a file with no rows. */
int csv_reader_finish(struct csv_reader *r, struct err *e);

/* Rows delivered so far. */
size_t csv_reader_rows(const struct csv_reader *r);

#endif
