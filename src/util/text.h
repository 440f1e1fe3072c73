/* SPDX-License-Identifier: MIT */
/* Small text helpers shared across modules. */
#ifndef HETU_UTIL_TEXT_H
#define HETU_UTIL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The comparison key of a name: ASCII letters lower-cased, every space removed (ASCII
 * whitespace and U+3000), so "Machine  Learning" and "machine learning" compare equal.
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *text_norm_key(const char *s);

/*
 * Whether s[0..len) holds a control character: C0 (U+0000 to U+001F: CR, LF and the unit
 * separator among them), DEL, or C1 (U+0080 to U+009F, as UTF-8). A name that must be one line
 * (a topic name, a tag, a model or provider name) holds none.
 */
bool text_has_control(const char *s, size_t len);

/* 64-bit FNV-1a of s[0..len). */
uint64_t text_hash(const char *s, size_t len);

#endif
