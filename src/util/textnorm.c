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
/* The most bytes of normal form a byte of UTF-8 can become (U+FDFA, 3 bytes, becomes 33). */
#define NORM_GROWTH 12

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

/* u[0..len), NFKC_Casefold-normalised, into *ret (malloc'd) and *ret_len. */
static int casefold(const UChar *u, int32_t len, UChar **ret, int32_t *ret_len, struct err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    const UNormalizer2 *nf = unorm2_getNFKCCasefoldInstance(&st);
    int32_t cap = len * 2 + 16, got;
    UChar *d;

    if (U_FAILURE(st))
        return err_set(e, HE_INTERNAL, NULL, "ICU: %s", u_errorName(st));
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!(d = malloc((size_t)cap * sizeof(*d))))
            return err_set(e, HE_NOMEM, NULL, NULL);
        st = U_ZERO_ERROR;
        got = unorm2_normalize(nf, u, len, d, cap, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR && attempt == 0) {
            free(d);
            cap = got + 1;
            continue;
        }
        if (U_FAILURE(st)) {
            free(d);
            return err_set(e, HE_INTERNAL, NULL, "ICU: %s", u_errorName(st));
        }
        *ret = d;
        *ret_len = got;
        return 0;
    }
    return err_set(e, HE_INTERNAL, NULL, "ICU: the normal form keeps growing");
}

/* The normal form's code points to out as UTF-8, white space collapsed. */
static int collapse(const UChar *u, int32_t len, struct buf *out, struct err *e)
{
    bool space = false;
    int r = 0;

    for (int32_t i = 0; i < len && r == 0;) {
        UChar32 c;
        uint8_t bytes[U8_MAX_LENGTH];
        int32_t k = 0;

        U16_NEXT(u, i, len, c);
        if (u_isUWhiteSpace(c)) {
            space = out->len > 0;
            continue;
        }
        if (space && (r = buf_add(out, " ", 1)) < 0)
            break;
        space = false;
        U8_APPEND_UNSAFE(bytes, k, c);
        r = buf_add(out, bytes, (size_t)k);
    }
    if (r == 0 && !out->data)
        r = buf_add(out, "", 0); /* an empty form is still a string */
    return r < 0 ? err_set(e, r, NULL, NULL) : 0;
}

int text_normalize(const char *in, size_t n, struct buf *out, struct err *e)
{
    UErrorCode st = U_ZERO_ERROR;
    UChar *u = NULL, *folded = NULL;
    int32_t ulen = 0, flen = 0;
    bool ascii = true;
    int r;

    buf_reset(out);
    for (size_t i = 0; i < n && ascii; i++)
        ascii = (unsigned char)in[i] < 0x80;
    if (ascii)
        return (r = normalize_ascii(in, n, out)) < 0 ? err_set(e, r, NULL, NULL) : 0;
    if (n > INT32_MAX / 2)
        return err_set(e, HE_TOO_LARGE, NULL, "the text is too long to normalise");
    /* UTF-16 never has more units than UTF-8 has bytes */
    if (!(u = malloc((n + 1) * sizeof(*u))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    u_strFromUTF8WithSub(u, (int32_t)n + 1, &ulen, in, (int32_t)n, 0xFFFD, NULL, &st);
    if (U_FAILURE(st))
        r = err_set(e, HE_INTERNAL, NULL, "ICU: %s", u_errorName(st));
    else if ((r = casefold(u, ulen, &folded, &flen, e)) == 0)
        r = collapse(folded, flen, out, e);
    free(u);
    free(folded);
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
    struct buf b;
    int r;

    for (size_t i = 0; i < n; i++)
        if ((unsigned char)in[i] >= 0x80)
            goto unicode;
    *ret = hash_ascii(in, n);
    return 0;
unicode:
    buf_init(&b, n * NORM_GROWTH + 64);
    if ((r = text_normalize(in, n, &b, e)) == 0)
        *ret = text_hash64(b.data, b.len);
    buf_done(&b);
    return r;
}
