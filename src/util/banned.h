/* SPDX-License-Identifier: MIT */
/*
 * Functions with no length or no error report. Included last by every source file of the
 * library so that a use is a compile error. Use snprintf, memcpy with a known size, strtoll with
 * an end pointer, or the slice helpers.
 */
#ifndef HETU_UTIL_BANNED_H
#define HETU_UTIL_BANNED_H

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
