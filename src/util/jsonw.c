/* SPDX-License-Identifier: MIT */
/* Compact JSON writing into a bounded buffer; see jsonw.h. */
#include "util/jsonw.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
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

/* Whether any of the 8 bytes of w is a control character, '"' or '\\' (bytes >= 0x80, the
 * rest of UTF-8, are not): the classic "has a byte less than n" and "has a zero byte" tests. */
static bool word_needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t quote = w ^ (ones * '"'), slash = w ^ (ones * '\\');

    return (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((slash - ones) & ~slash)) &
           highs;
}

int jsonw_escape(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0, i = 0;
    int r;

    while (i < len) {
        unsigned char c;
        char esc[6];
        size_t n = 2;
        uint64_t w;

        /* text without anything to escape goes eight bytes at a time */
        if (len - i >= 8) {
            memcpy(&w, s + i, 8);
            if (!word_needs_escape(w)) {
                i += 8;
                continue;
            }
        }
        c = (unsigned char)s[i++];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((r = buf_add(out, s + run, i - 1 - run)) < 0)
            return r;
        run = i;
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

char *jsonw_string_list(const char *const *items, size_t n, size_t max)
{
    struct buf b;
    struct jsonw w;

    buf_init(&b, max);
    jsonw_init(&w, &b);
    jsonw_arr(&w);
    for (size_t i = 0; i < n; i++)
        jsonw_str(&w, items[i]);
    jsonw_end_arr(&w);
    if (w.err) {
        buf_done(&b);
        return NULL;
    }
    return buf_take(&b);
}
