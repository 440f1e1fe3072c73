/* SPDX-License-Identifier: MIT */
/*
 * A growable byte buffer with a maximum fixed at init: no input can grow it past that. The
 * contents are always NUL-terminated (the NUL is not counted in len).
 */
#ifndef HETU_UTIL_BUF_H
#define HETU_UTIL_BUF_H

#include <stddef.h>

#include "util/err.h"

struct buf {
    char *data;
    size_t len, cap, max;
};

void buf_init(struct buf *b, size_t max);
void buf_done(struct buf *b);
void buf_reset(struct buf *b);
/* Appends; HE_TOO_LARGE when the result would exceed max, HE_NOMEM when allocation fails. */
int buf_add(struct buf *b, const void *data, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the data out (caller frees) and leaves the buffer empty. */
char *buf_take(struct buf *b);

#endif
