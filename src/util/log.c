/* SPDX-License-Identifier: MIT */
/*
 * Log lines are written with a single write(2) each so that lines from several threads never
 * interleave. Values are escaped for JSON, and control characters are never written raw in
 * text mode.
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/banned.h"

static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_TEXT;
static const char *names[] = {"debug", "info", "warn", "error", "off"};

void log_setup(enum log_level level, enum log_format format)
{
    min_level = level;
    out_format = format;
}

int log_level_parse(const char *s, enum log_level *ret)
{
    for (int i = LOG_DEBUG; i <= LOG_OFF; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *ret = (enum log_level)i;
            return 0;
        }
    if (strcasecmp(s, "warning") == 0) {
        *ret = LOG_WARN;
        return 0;
    }
    return -1;
}

int log_format_parse(const char *s, enum log_format *ret)
{
    if (strcasecmp(s, "text") == 0)
        *ret = LOG_TEXT;
    else if (strcasecmp(s, "json") == 0)
        *ret = LOG_JSON;
    else
        return -1;
    return 0;
}

int log_enabled(enum log_level level)
{
    return level >= min_level && level < LOG_OFF;
}

struct line {
    char buf[4096];
    size_t len;
};

static void put(struct line *l, const char *s, size_t n)
{
    size_t room = sizeof(l->buf) - 2 - l->len; /* keep space for "\n" */
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void puts_(struct line *l, const char *s)
{
    put(l, s, strlen(s));
}

static void put_escaped(struct line *l, const char *s, int json)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (json && (c == '"' || c == '\\')) {
            char e[2] = {'\\', (char)c};
            put(l, e, 2);
        } else if (c < 0x20) {
            char e[8];
            int n = json ? snprintf(e, sizeof(e), "\\u%04x", c) : snprintf(e, sizeof(e), " ");
            put(l, e, (size_t)n);
        } else {
            put(l, s, 1);
        }
    }
}

static _Thread_local const char *current_request;

void log_set_request(const char *request_id)
{
    current_request = request_id;
}

const char *log_request(void)
{
    return current_request;
}

static void put_pair(struct line *l, const char *k, const char *v)
{
    if (out_format == LOG_JSON) {
        puts_(l, ",\"");
        put_escaped(l, k, 1);
        puts_(l, "\":\"");
        put_escaped(l, v, 1);
        puts_(l, "\"");
    } else {
        puts_(l, " ");
        puts_(l, k);
        puts_(l, "=");
        if (strchr(v, ' ') || !*v) {
            puts_(l, "\"");
            put_escaped(l, v, 1);
            puts_(l, "\"");
        } else {
            put_escaped(l, v, 0);
        }
    }
}

void log_event(enum log_level level, const char *msg, ...)
{
    struct line l = {.len = 0};
    char ts[CLOCK_ISO_LEN];
    va_list ap;

    if (!log_enabled(level))
        return;
    clock_iso8601(clock_wall_us(), ts);
    if (out_format == LOG_JSON) {
        puts_(&l, "{\"ts\":\"");
        puts_(&l, ts);
        puts_(&l, "\",\"level\":\"");
        puts_(&l, names[level]);
        puts_(&l, "\",\"msg\":\"");
        put_escaped(&l, msg, 1);
        puts_(&l, "\"");
    } else {
        puts_(&l, ts);
        puts_(&l, " ");
        puts_(&l, names[level]);
        puts_(&l, " ");
        put_escaped(&l, msg, 0);
    }
    va_start(ap, msg);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        const char *v;
        if (!k)
            break;
        v = va_arg(ap, const char *);
        put_pair(&l, k, v ? v : "");
    }
    va_end(ap);
    if (current_request)
        put_pair(&l, "request_id", current_request);
    if (out_format == LOG_JSON)
        l.buf[l.len++] = '}';
    l.buf[l.len++] = '\n';
    if (write(STDERR_FILENO, l.buf, l.len) < 0) {
        /* nowhere left to report it */
    }
}
