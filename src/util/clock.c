/* SPDX-License-Identifier: MIT */
/* Clocks and ISO 8601 timestamps (always written in UTC with an explicit +00:00). */
#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/banned.h"

int64_t clock_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_deadline(int64_t ms, struct timespec *ret)
{
    clock_gettime(CLOCK_REALTIME, ret);
    ret->tv_sec += (time_t)(ms / 1000);
    ret->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ret->tv_nsec >= 1000000000L) {
        ret->tv_sec++;
        ret->tv_nsec -= 1000000000L;
    }
}

void clock_iso8601(int64_t us, char out[CLOCK_ISO_LEN])
{
    time_t secs = (time_t)(us / 1000000);
    long frac = (long)(us % 1000000);
    struct tm tm;

    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    int year;
    char *p = out;

    gmtime_r(&secs, &tm);
    year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        snprintf(out, CLOCK_ISO_LEN, "%s", "0000-01-01T00:00:00.000000+00:00");
        return;
    }
    /* Written digit by digit: this runs for every timestamp of every answer. */
#define D2(v) (*p++ = (char)('0' + (v) / 10), *p++ = (char)('0' + (v) % 10))
    D2(year / 100);
    D2(year % 100);
    *p++ = '-';
    D2(tm.tm_mon + 1);
    *p++ = '-';
    D2(tm.tm_mday);
    *p++ = 'T';
    D2(tm.tm_hour);
    *p++ = ':';
    D2(tm.tm_min);
    *p++ = ':';
    D2(tm.tm_sec);
    *p++ = '.';
    D2((int)(frac / 10000));
    D2((int)(frac / 100 % 100));
    D2((int)(frac % 100));
#undef D2
    memcpy(p, "+00:00", 7);
}

static int digits(const char *s, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *ret = v;
    return 0;
}

int clock_parse_iso8601(const char *s, int64_t *ret_us)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec, off = 0;
    long frac = 0;
    size_t len = strlen(s);

    if (len < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    if (digits(s, 4, &y) || digits(s + 5, 2, &mo) || digits(s + 8, 2, &d) ||
        digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) || digits(s + 17, 2, &sec))
        return -1;
    s += 19;
    if (*s == '.') {
        int n = 0;
        s++;
        for (; *s >= '0' && *s <= '9'; s++, n++)
            if (n < 6)
                frac = frac * 10 + (*s - '0');
        if (n == 0)
            return -1;
        for (; n < 6; n++)
            frac *= 10;
    }
    if (*s == 'Z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int oh, om, sign = *s == '-' ? -1 : 1;
        if (strlen(s) < 6 || digits(s + 1, 2, &oh) || s[3] != ':' || digits(s + 4, 2, &om))
            return -1;
        off = sign * (oh * 3600 + om * 60);
        s += 6;
    }
    if (*s)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *ret_us = ((int64_t)timegm(&tm) - off) * 1000000 + frac;
    return 0;
}
