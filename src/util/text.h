/* SPDX-License-Identifier: MIT */
/* Small text helpers shared across modules. */
#ifndef HETU_UTIL_TEXT_H
#define HETU_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The comparison key of a name: ASCII letters lower-cased, every space removed (ASCII
 * whitespace and U+3000), so "Machine  Learning" and "machine learning" compare equal.
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *text_norm_key(const char *s);

/* 64-bit FNV-1a of s[0..len). */
uint64_t text_hash(const char *s, size_t len);

#endif
