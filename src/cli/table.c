/* SPDX-License-Identifier: MIT */
/*
 * Tables. Cells are copied in cleaned form (control characters become spaces, invalid UTF-8
 * bytes become '?') so widths are computed once on text that prints as measured. A column's
 * width is the widest cell up to its cap; a longer cell is cut at a code-point boundary and
 * ends in U+2026. Wide characters follow the East Asian Width ranges W and F of Unicode (the
 * ranges most text needs; wcwidth() would depend on the locale).
 */
#include "cli/table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/err.h"

#include "util/banned.h"

#define CELL_MAX (64u << 10) /* bytes of one cleaned cell */

struct range {
    unsigned lo, hi;
};

static const struct range wide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18CFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F251}, {0x1F300, 0x1F320},
    {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C}, {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA},
    {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
    {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E},
    {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4},
    {0x1F5FB, 0x1F64F}, {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
    {0x1F6D5, 0x1F6D7}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB},
    {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

static const struct range zero[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD},   {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E},   {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF},
    {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064},   {0x20D0, 0x20FF}, {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F}, {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

static bool in(const struct range *r, size_t n, unsigned cp)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

int table_cp_width(unsigned cp)
{
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0))
        return 0;
    if (cp < 0x300)
        return 1;
    if (in(zero, sizeof(zero) / sizeof(zero[0]), cp))
        return 0;
    return in(wide, sizeof(wide) / sizeof(wide[0]), cp) ? 2 : 1;
}

/* Decodes one code point at s; returns its byte length, or 0 for an invalid sequence. */
static size_t utf8_decode(const unsigned char *s, unsigned *ret)
{
    unsigned cp;
    size_t n;

    if (s[0] < 0x80) {
        *ret = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0)
        cp = s[0] & 0x1F, n = 2;
    else if ((s[0] & 0xF0) == 0xE0)
        cp = s[0] & 0x0F, n = 3;
    else if ((s[0] & 0xF8) == 0xF0)
        cp = s[0] & 0x07, n = 4;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret = cp;
    return n;
}

size_t table_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    unsigned cp;

    while (*p) {
        size_t n = utf8_decode(p, &cp);
        if (n == 0) {
            w++, p++;
            continue;
        }
        w += (size_t)table_cp_width(cp);
        p += n;
    }
    return w;
}

/* A cleaned copy of s: whitespace controls to spaces, other controls dropped, bad bytes '?'. */
static char *clean(const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    struct buf b;
    unsigned cp;
    int r = 0;

    buf_init(&b, CELL_MAX);
    if (buf_add(&b, "", 0) < 0)
        return NULL;
    while (*p && r == 0) {
        size_t n = utf8_decode(p, &cp);
        if (n == 0) {
            r = buf_add(&b, "?", 1);
            p++;
        } else if (cp == '\n' || cp == '\t' || cp == '\r') {
            r = buf_add(&b, " ", 1);
            p += n;
        } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
            p += n;
        } else {
            r = buf_add(&b, p, n);
            p += n;
        }
    }
    return buf_take(&b); /* a cell over CELL_MAX keeps its first CELL_MAX bytes */
}

int table_init(struct table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    if (ncols == 0 || ncols > TABLE_MAX_COLS)
        return HE_INTERNAL;
    t->ncols = ncols;
    for (size_t i = 0; i < ncols; i++)
        t->max[i] = TABLE_DEFAULT_WIDTH;
    return table_add(t, headers);
}

void table_done(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

void table_max_width(struct table *t, size_t col, size_t width)
{
    if (col < t->ncols)
        t->max[col] = width;
}

int table_add(struct table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **p = realloc(t->cells, cap * t->ncols * sizeof(*p));
        if (!p)
            return HE_NOMEM;
        t->cells = p;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        char *c = clean(cells[i]);
        if (!c) {
            for (size_t j = 0; j < i; j++)
                free(t->cells[t->nrows * t->ncols + j]);
            return HE_NOMEM;
        }
        t->cells[t->nrows * t->ncols + i] = c;
    }
    t->nrows++;
    return 0;
}

/* Writes s cut to at most width columns (ellipsis when cut); returns the columns written. */
static size_t put_cut(FILE *out, const char *s, size_t width)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t w = 0;
    unsigned cp;

    if (table_text_width(s) <= width) {
        fputs(s, out);
        return table_text_width(s);
    }
    while (*p) {
        size_t n = utf8_decode(p, &cp);
        int cw = n ? table_cp_width(cp) : 1;
        if (n == 0)
            n = 1;
        if (w + (size_t)cw + 1 > width)
            break;
        fwrite(p, 1, n, out);
        w += (size_t)cw;
        p += n;
    }
    if (width > 0) {
        fputs("\xe2\x80\xa6", out); /* U+2026 */
        w++;
    }
    return w;
}

void table_print(const struct table *t, FILE *out)
{
    size_t width[TABLE_MAX_COLS] = {0};

    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = table_text_width(t->cells[r * t->ncols + c]);
            if (t->max[c] && w > t->max[c])
                w = t->max[c];
            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *cell = t->cells[r * t->ncols + c];
            size_t w = put_cut(out, cell, t->max[c] ? t->max[c] : (size_t)-1);
            if (c + 1 < t->ncols)
                for (size_t k = w; k < width[c] + 2; k++)
                    fputc(' ', out);
        }
        fputc('\n', out);
    }
}
