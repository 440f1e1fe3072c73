/* SPDX-License-Identifier: MIT */
/* Wall and monotonic clocks, and the ISO 8601 form the API uses. */
#ifndef HETU_UTIL_CLOCK_H
#define HETU_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds since the Unix epoch (wall clock). */
int64_t clock_wall_us(void);
/* Microseconds on the monotonic clock, for durations and deadlines. */
int64_t clock_mono_us(void);

/* The CLOCK_REALTIME time ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec;
void clock_deadline(int64_t ms, struct timespec *ret);

/* "2026-11-24T10:15:30.123456+00:00": 32 characters plus NUL. */
#define CLOCK_ISO_LEN 33
/* Writes wall-clock microseconds `us` as ISO 8601 UTC with microseconds into out. */
void clock_iso8601(int64_t us, char out[CLOCK_ISO_LEN]);
/* Parses the form above (any offset, or Z); returns 0 and sets *ret_us, or -1. */
int clock_parse_iso8601(const char *s, int64_t *ret_us);

#endif
