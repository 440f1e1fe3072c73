/* SPDX-License-Identifier: MIT */
/*
 * The spool of a file import: the rows of the uploaded file, validated and normalized, in file
 * order. The upload writes it while the file arrives; the import job reads it back a slice at a
 * time (after a restart, from the row its cursor names). Binary, so that loading a row costs no
 * parsing: a header, then one record per row.
 *
 *   file   := MAGIC header record*
 *   header := u32 size, then strings: input_model, input_provider, output_model,
 *             output_provider, prompt_method
 *   record := u32 size, then u8 flags (SPOOL_HAS_OUTPUT), strings input, output (when the flag
 *             is set), guidance, u32 topic count, topics, u32 tag count, tags, provenance
 *             (when the flag SPOOL_HAS_PROVENANCE is set)
 *   string := u32 length, the bytes, a NUL (length 0 is absent)
 *
 * Integers are little-endian. A size counts the bytes that follow it.
 *
 * A row without an output becomes a job item in this same encoding: a spool of that one row
 * (MAGIC, the header's record, the row's record), read back without any other parsing.
 */
#ifndef HETU_JOBS_SPOOL_H
#define HETU_JOBS_SPOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gen/gen.h"

#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

#define SPOOL_MAGIC      "HETU-SPOOL-2\n"
#define SPOOL_RECORD_MAX (64u * 1024 * 1024)

/* What every row of one upload shares: the request's model names and prompt method. */
struct spool_header {
    const char *input_model, *input_provider, *output_model, *output_provider;
    const char *prompt_method;
    const void *record; /* set when read: the record's bytes (after its size) */
    size_t record_len;
};

/* A validated row as the spool keeps it: the checked row (gen/: input, output or NULL, topic
 * path with a leading "root" dropped, own tags, guidance or NULL) and, when read back, the bytes
 * of its record. */
struct spool_row {
    struct gen_checked_row row;
    const void *record; /* set when read: the record's bytes (after its size) */
    size_t record_len;
};

int spool_write_header(FILE *f, const struct spool_header *h, struct err *e);
/* Appends the row's record to out, to be written to the file after the header (records go in
 * row order): 0, HE_TOO_LARGE (out unchanged) or HE_NOMEM. */
int spool_encode_row(struct buf *out, const struct gen_checked_row *row);

/* Reads the header; its strings live in a. HE_INVALID when the file is not a spool. */
int spool_read_header(FILE *f, struct arena *a, struct spool_header *h, struct err *e);
/* The next row, its strings and lists in a: 0, or 1 at the end of the file; HE_INVALID when the
 * file is cut short or damaged. */
int spool_read_row(FILE *f, struct arena *a, struct spool_row *row, struct err *e);
/* Skips n rows: 0, or 1 when the file ends first. */
int spool_skip_rows(FILE *f, int64_t n, struct err *e);

/* The job item of a row read from a spool with header h, in a (*ret_len bytes); NULL when out
 * of memory or when h or row were not read from a spool. */
const void *spool_item(struct arena *a, const struct spool_header *h, const struct spool_row *row,
                       size_t *ret_len);
/* Whether p starts as an item made by spool_item does. */
bool spool_is_item(const void *p, size_t len);
/* Reads an item back: its header and row point into p (their lists live in a). HE_INVALID when
 * it is not an item or is damaged. */
int spool_item_read(const void *p, size_t len, struct arena *a, struct spool_header *h,
                    struct spool_row *row, struct err *e);

/* Removes what a crash or a deleted job left in the spool directory: every upload-* file (an
 * upload that never finished: at start none is under way) and every import-ID.spool whose job
 * no longer exists in store; logs how many files and bytes it removed. */
void spool_sweep(const char *dir, struct store *store);

#endif
