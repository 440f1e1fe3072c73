/* SPDX-License-Identifier: MIT */
/*
 * A JSON writer for hot answers: appends compact JSON straight into a bounded buffer, with
 * strings escaped as json-c would (raw UTF-8, no escaped '/'). Use it where building a json-c
 * object only to serialize it again would cost more than the work itself; the caller keeps the
 * shape right (keys, commas) through the begin/end calls.
 */
#ifndef HETU_UTIL_JSONW_H
#define HETU_UTIL_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define JSONW_MAX_DEPTH 32

struct jsonw {
    struct buf *out;
    int depth;
    bool first[JSONW_MAX_DEPTH]; /* no value written yet at this depth */
    int err;                     /* the first error (HE_TOO_LARGE, HE_NOMEM), else 0 */
};

void jsonw_init(struct jsonw *w, struct buf *out);
/* Appends s[0..len) escaped for the inside of a JSON string (no quotes). */
int jsonw_escape(struct buf *out, const char *s, size_t len);
void jsonw_obj(struct jsonw *w);     /* { */
void jsonw_arr(struct jsonw *w);     /* [ */
void jsonw_end_obj(struct jsonw *w); /* } */
void jsonw_end_arr(struct jsonw *w); /* ] */
void jsonw_key(struct jsonw *w, const char *key);
void jsonw_str(struct jsonw *w, const char *s); /* NULL writes null */
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_raw(struct jsonw *w, const char *json); /* already valid JSON text */

/* Key and value in one call. */
void jsonw_kstr(struct jsonw *w, const char *key, const char *s);
void jsonw_kint(struct jsonw *w, const char *key, int64_t v);
void jsonw_kraw(struct jsonw *w, const char *key, const char *json);

/* The n strings as a JSON array, malloc'ed text of at most max bytes; NULL when it would be
   larger, or out of memory. */
char *jsonw_string_list(const char *const *items, size_t n, size_t max);

#endif
