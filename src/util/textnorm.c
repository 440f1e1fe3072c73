/* SPDX-License-Identifier: MIT */
/*
 * Text normalisation for duplicate detection (textnorm.h), with ICU's NFKC_Casefold
 * normaliser. Text that is all ASCII (most inputs of most datasets) takes a path of its own
 * that gives the same bytes without ICU: for ASCII, NFKC_Casefold is lower-casing A-Z, and the
 * only white space is TAB, LF, VT, FF, CR and SPACE.
 *
 * Any thread: the normaliser instance is ICU's shared, immutable one; the UTF-16 buffers are
 * the call's own.
 */
#include "util/textnorm.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>

#include "util/banned.h"

#define FNV_OFFSET 1469598103934665603ULL
#define FNV_PRIME  1099511628211ULL

static bool ascii_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static int normalize_ascii(const char *in, size_t n, struct buf *out)
{
    size_t i = 0;
    int r;

    if (n > out->max)
        return HE_TOO_LARGE;
    if ((r = buf_add(out, in, n)) < 0) /* reserves the room: the result is never longer */
        return r;
    out->len = 0;
    while (i < n && ascii_space((unsigned char)in[i]))
        i++;
    for (bool space = false; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (ascii_space(c)) {
            space = true;
            continue;
        }
        if (space)
            out->data[out->len++] = ' ';
        space = false;
        out->data[out->len++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    }
    out->data[out->len] = '\0';
    return 0;
}

/* White space as u_isUWhiteSpace has it, asking ICU only about the few code points it may hold
 * for (none above U+3000: CJK text is not asked about at all). */
static bool is_space(UChar32 c)
{
    if (c < 0x80)
        return ascii_space((unsigned char)c);
    return c >= 0x85 && c <= 0x3000 && u_isUWhiteSpace(c);
}

/* The normal form's code points as UTF-8 into d (3 bytes per UTF-16 unit at most), white space
 * collapsed; the bytes written. */
static size_t collapse(const UChar *u, int32_t len, char *d)
{
    size_t k = 0;
    bool space = false;

    for (int32_t i = 0; i < len;) {
        UChar32 c;
        U16_NEXT(u, i, len, c);
        if (is_space(c)) {
            space = k > 0;
            continue;
        }
        if (space)
            d[k++] = ' ';
        space = false;
        U8_APPEND_UNSAFE(d, k, c);
    }
    return k;
}

/* Buffers of one normalisation: on the stack for a short text, on the heap for a long one. */
#define STACK_UNITS 512
struct scratch {
    UChar in[STACK_UNITS], out[2 * STACK_UNITS];
    char utf8[6 * STACK_UNITS];
    UChar *heap_in, *heap_out;
    char *heap_utf8;
};

static void scratch_done(struct scratch *s)
{
    free(s->heap_in);
    free(s->heap_out);
    free(s->heap_utf8);
}

/* The normal form of in[0..n) (not all ASCII), as UTF-8 in s: *ret, *ret_len bytes. */
static int unicode_form(const char *in, size_t n, struct scratch *s, const char **ret,
                        size_t *ret_len, struct err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nf = unorm2_getNFKCCasefoldInstance(&st);
    UChar *u = s->in, *f = s->out;
    int32_t ulen = 0, flen = 0;
    char *d = s->utf8;

    if (U_FAILURE(st))
        return err_set(e, HE_INTERNAL, NULL, "ICU: %s", u_errorName(st));
    if (n > INT32_MAX / 8)
        return err_set(e, HE_TOO_LARGE, NULL, "the text is too long to normalise");
    /* UTF-16 never has more units than UTF-8 has bytes */
    if (n + 1 > STACK_UNITS && !(u = s->heap_in = malloc((n + 1) * sizeof(*u))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    u_strFromUTF8WithSub(u, (int32_t)n + 1, &ulen, in, (int32_t)n, 0xFFFD, NULL, &st);
    if (U_SUCCESS(st))
        flen = unorm2_normalize(nf, u, ulen, f, 2 * STACK_UNITS, &st);
    if (st == U_BUFFER_OVERFLOW_ERROR) {
        st = U_ZERO_ERROR;
        if (!(f = s->heap_out = malloc(((size_t)flen + 1) * sizeof(*f))))
            return err_set(e, HE_NOMEM, NULL, NULL);
        flen = unorm2_normalize(nf, u, ulen, f, flen + 1, &st);
    }
    if (U_FAILURE(st))
        return err_set(e, HE_INTERNAL, NULL, "ICU: %s", u_errorName(st));
    if ((size_t)flen * 3 > sizeof(s->utf8) && !(d = s->heap_utf8 = malloc((size_t)flen * 3)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    *ret_len = collapse(f, flen, d);
    *ret = d;
    return 0;
}

static bool all_ascii(const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] >= 0x80)
            return false;
    return true;
}

int text_normalize(const char *in, size_t n, struct buf *out, struct err *e)
{
    struct scratch s;
    const char *form;
    size_t len;
    int r;

    buf_reset(out);
    if (all_ascii(in, n))
        return (r = normalize_ascii(in, n, out)) < 0 ? err_set(e, r, NULL, NULL) : 0;
    s.heap_in = s.heap_out = NULL;
    s.heap_utf8 = NULL;
    if ((r = unicode_form(in, n, &s, &form, &len, e)) == 0 && (r = buf_add(out, form, len)) < 0)
        r = err_set(e, r, NULL, NULL);
    scratch_done(&s);
    return r;
}

uint64_t text_hash64(const char *s, size_t n)
{
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * FNV_PRIME;
    return h ? h : 1;
}

/* text_hash64 of the ASCII normal form of in[0..n), computed as normalize_ascii writes it. */
static uint64_t hash_ascii(const char *in, size_t n)
{
    uint64_t h = FNV_OFFSET;
    bool space = false, any = false;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (ascii_space(c)) {
            space = any;
            continue;
        }
        if (space)
            h = (h ^ ' ') * FNV_PRIME;
        space = false;
        any = true;
        h = (h ^ (c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c)) * FNV_PRIME;
    }
    return h ? h : 1;
}

int text_norm_hash(const char *in, size_t n, uint64_t *ret, struct err *e)
{
    struct scratch s;
    const char *form;
    size_t len;
    int r;

    if (all_ascii(in, n)) {
        *ret = hash_ascii(in, n);
        return 0;
    }
    s.heap_in = s.heap_out = NULL;
    s.heap_utf8 = NULL;
    if ((r = unicode_form(in, n, &s, &form, &len, e)) == 0)
        *ret = text_hash64(form, len);
    scratch_done(&s);
    return r;
}
