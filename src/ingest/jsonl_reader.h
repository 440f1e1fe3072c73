/* SPDX-License-Identifier: MIT */
/*
 * Streaming JSON Lines reader for imports: feed the file in chunks of any size (split anywhere,
 * even inside a character), get one callback per line. A line is an object
 * {"input": string|object, "output"?, "topic_path"?, "human_guidance"?, "tags"?} or an OpenAI chat
 * record {"messages": [{"role": "system"|"user"|"assistant", "content": ...}, ...]}: input is the
 * last user message, output the last assistant message after it, system the system prompt.
 * A line exported as hetu_jsonl also carries the sample's stored fields (rating, sources, usage,
 * session, ...): they reach the callback as the row's provenance.
 * Blank lines are skipped; only the current line is held. Errors name the line and the field.
 */
#ifndef HETU_INGEST_JSONL_READER_H
#define HETU_INGEST_JSONL_READER_H

#include <stddef.h>

#include "ingest/row.h"
#include "util/err.h"

struct jsonl_reader;

/* limits may be NULL (defaults); max_row bounds a line. Returns NULL when out of memory. */
struct jsonl_reader *jsonl_reader_new(ingest_row_cb row_cb, void *ud,
                                      const struct ingest_limits *limits);
void jsonl_reader_free(struct jsonl_reader *r);

/* Parses the next len bytes, calling row_cb for each line they complete. After an error the
 * reader is stopped: later calls return the same code. */
int jsonl_reader_feed(struct jsonl_reader *r, const void *data, size_t len, struct err *e);

/* Ends the input: parses a last line without a newline; reports a file with no rows. */
int jsonl_reader_finish(struct jsonl_reader *r, struct err *e);

/*
 * For a file read in batches of whole lines by several readers: starts over (an earlier error
 * forgotten, nothing held, rows counted from zero) with the next line numbered first_line.
 * Only line 1 may begin with a byte order mark.
 */
void jsonl_reader_restart(struct jsonl_reader *r, size_t first_line);

/* Rows delivered so far. */
size_t jsonl_reader_rows(const struct jsonl_reader *r);

#endif
