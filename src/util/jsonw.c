/* SPDX-License-Identifier: MIT */
/* Compact JSON writing into a bounded buffer; see jsonw.h. */
#include "util/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

void jsonw_init(struct jsonw *w, struct buf *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = true;
    w->err = 0;
}

static void put(struct jsonw *w, const char *s, size_t n)
{
    int r;
    if (w->err)
        return;
    if ((r = buf_add(w->out, s, n)) < 0)
        w->err = r;
}

/* Before a value: a comma unless it is the first at this depth (keys write their own). */
static void sep(struct jsonw *w)
{
    if (!w->first[w->depth])
        put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open_(struct jsonw *w, char c)
{
    sep(w);
    put(w, &c, 1);
    if (w->depth + 1 < JSONW_MAX_DEPTH)
        w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct jsonw *w, char c)
{
    put(w, &c, 1);
    if (w->depth > 0)
        w->depth--;
}

void jsonw_obj(struct jsonw *w)
{
    open_(w, '{');
}

void jsonw_arr(struct jsonw *w)
{
    open_(w, '[');
}

void jsonw_end_obj(struct jsonw *w)
{
    close_(w, '}');
}

void jsonw_end_arr(struct jsonw *w)
{
    close_(w, ']');
}

int jsonw_escape(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    int r;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[6];
        size_t n = 2;

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((r = buf_add(out, s + run, i - run)) < 0)
            return r;
        run = i + 1;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if ((r = buf_add(out, esc, n)) < 0)
            return r;
    }
    return buf_add(out, s + run, len - run);
}

static void escaped(struct jsonw *w, const char *s)
{
    int r;

    put(w, "\"", 1);
    if (!w->err && (r = jsonw_escape(w->out, s, strlen(s))) < 0)
        w->err = r;
    put(w, "\"", 1);
}

void jsonw_key(struct jsonw *w, const char *key)
{
    sep(w);
    escaped(w, key);
    put(w, ":", 1);
    w->first[w->depth] = true; /* the value that follows needs no comma */
}

void jsonw_str(struct jsonw *w, const char *s)
{
    sep(w);
    if (s)
        escaped(w, s);
    else
        put(w, "null", 4);
}

void jsonw_int(struct jsonw *w, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, v);
    sep(w);
    put(w, num, (size_t)n);
}

void jsonw_raw(struct jsonw *w, const char *json)
{
    sep(w);
    put(w, json, strlen(json));
}

void jsonw_kstr(struct jsonw *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_str(w, s);
}

void jsonw_kint(struct jsonw *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void jsonw_kraw(struct jsonw *w, const char *key, const char *json)
{
    jsonw_key(w, key);
    jsonw_raw(w, json);
}
