/* SPDX-License-Identifier: MIT */
/*
 * Plain-text tables for people: columns sized by display width (CJK and other wide characters
 * take two columns, combining marks none), long cells cut with an ellipsis, control characters
 * shown as spaces.
 */
#ifndef HETU_CLI_TABLE_H
#define HETU_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#define TABLE_MAX_COLS      16
#define TABLE_DEFAULT_WIDTH 60 /* widest a column gets unless table_max_width says otherwise */

struct table {
    size_t ncols, nrows, cap; /* rows include the header row */
    char **cells;             /* nrows * ncols cleaned copies */
    size_t max[TABLE_MAX_COLS];
};

/* headers: ncols strings (ncols <= TABLE_MAX_COLS). Returns 0 or HE_NOMEM. */
int table_init(struct table *t, size_t ncols, const char *const *headers);
void table_done(struct table *t);
/* Caps column col at width display columns (0: no cap). */
void table_max_width(struct table *t, size_t col, size_t width);
/* Adds a row of ncols cells (NULL prints as empty). Returns 0 or HE_NOMEM. */
int table_add(struct table *t, const char *const *cells);
void table_print(const struct table *t, FILE *out);

/* Display width of one code point: 0, 1 or 2. */
int table_cp_width(unsigned cp);
/* Display width of a UTF-8 string (invalid bytes count as one column each). */
size_t table_text_width(const char *s);

#endif
