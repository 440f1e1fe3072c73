/* SPDX-License-Identifier: MIT */
/*
 * UTF-8 as the standard defines it (RFC 3629): shortest forms only, no surrogates (U+D800 to
 * U+DFFF), nothing above U+10FFFF. NUL counts as invalid here: no text Hetu stores may hold it.
 */
#ifndef HETU_UTIL_UTF8_H
#define HETU_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Whether s[0..len) is valid UTF-8 without NUL. Fast path: ASCII eight bytes at a time. */
bool utf8_valid(const char *s, size_t len);

/* The offset of the first byte of s[0..len) that is NUL or starts invalid UTF-8, or len. */
size_t utf8_check(const char *s, size_t len);

#endif
