/* SPDX-License-Identifier: MIT */
/*
 * The normal form of a text that duplicate detection compares: Unicode NFKC with case folding
 * (full-width letters and digits become their ASCII forms, "Straße" and "STRASSE" both become
 * "strasse"), then every run of Unicode white space (U+3000 among it) one ASCII space, none at
 * either end. UTF-8 in and out. Exact duplicates compare its hash; near duplicates shingle it.
 */
#ifndef HETU_UTIL_TEXTNORM_H
#define HETU_UTIL_TEXTNORM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * Appends the normal form of in[0..n) to out (out is reset first). Invalid UTF-8 sequences
 * become U+FFFD. 0; HE_TOO_LARGE when out's maximum is too small, HE_NOMEM, or HE_INTERNAL when
 * ICU refuses (the message says why).
 */
int text_normalize(const char *in, size_t n, struct buf *out, struct err *e);

/* The hash of a normal form (64-bit FNV-1a, 1 for 0), never 0: what samples keep as input_hash. */
uint64_t text_hash64(const char *s, size_t n);

/* text_hash64 of the normal form of in[0..n) (ASCII text hashed as it is read, without a copy);
 * text_normalize's errors. */
int text_norm_hash(const char *in, size_t n, uint64_t *ret, struct err *e);

#endif
