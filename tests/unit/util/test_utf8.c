/* SPDX-License-Identifier: MIT */
/* UTF-8 validation: the standard's definition, at every offset, fast path and slow path agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/utf8.h"

/* Byte-at-a-time reference decoder straight from RFC 3629's definition: returns the offset of
   the first bad byte, or len. */
static size_t reference(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i], n;
        uint32_t cp, min;
        if (c == 0)
            return i;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return i;
        }
        if (len - i <= n)
            return i;
        for (unsigned k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += n + 1;
    }
    return len;
}

static void check(const char *s, size_t len, size_t want)
{
    assert_int_equal(utf8_check(s, len), want);
    assert_int_equal(utf8_valid(s, len), want == len);
    assert_int_equal(reference((const unsigned char *)s, len), want);
}

static void standard_forms(void **state)
{
    (void)state;
    check("", 0, 0);
    check("plain ascii", 11, 11);
    check("\xE4\xBD\xA0\xE5\xA5\xBD", 6, 6); /* 你好 */
    check("\xF0\x9F\x98\x80", 4, 4);         /* U+1F600 */
    check("\xF4\x8F\xBF\xBF", 4, 4);         /* U+10FFFF, the last code point */
    check("\xED\x9F\xBF", 3, 3);             /* U+D7FF, just below the surrogates */
    check("\xEE\x80\x80", 3, 3);             /* U+E000, just above them */
    check("ab\xC0\x80", 4, 2);               /* overlong NUL */
    check("\xC1\xBF", 2, 0);                 /* overlong two-byte */
    check("\xE0\x80\x80", 3, 0);             /* overlong three-byte */
    check("\xF0\x80\x80\x80", 4, 0);         /* overlong four-byte */
    check("x\xED\xA0\x80", 4, 1);            /* high surrogate U+D800 */
    check("\xED\xBF\xBF", 3, 0);             /* low surrogate U+DFFF */
    check("\xF4\x90\x80\x80", 4, 0);         /* U+110000 */
    check("\xF5\x80\x80\x80", 4, 0);
    check("\xFF", 1, 0);
    check("abc\xE4\xBD", 5, 3); /* cut short */
    check("a\0b", 3, 1);        /* NUL */
    check("\x80", 1, 0);        /* lone continuation byte */
}

/* Every bad form at every offset of a long text, so both the eight-byte ASCII steps and the
   DFA's 64-byte runs meet it at every alignment. */
static void every_offset(void **state)
{
    static const char *bad[] = {"\xC0\x80",     "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                "\xE0\x80\x80", "\xFF",         "\xE4\xBD"};
    char text[200];
    (void)state;
    for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        size_t blen = strlen(bad[b]);
        for (size_t off = 0; off + blen <= 150; off++) {
            size_t len = 0;
            for (size_t i = 0; i < off; i++)
                text[len++] = (i % 7 == 3) ? '\n' : 'a';
            memcpy(text + len, bad[b], blen);
            len += blen;
            /* the cut-short form is complete when followed by a continuation byte: end there */
            if (b != 5)
                for (size_t i = 0; i < 40; i++)
                    text[len++] = (i % 2) ? 'z' : ' ';
            check(text, len, off);
        }
    }
}

/* Random bytes biased towards UTF-8 lead and continuation bytes: the two paths and the
   reference always agree. */
static void agrees_with_reference(void **state)
{
    unsigned char s[96];
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    (void)state;
    for (int round = 0; round < 200000; round++) {
        size_t len = round % 96;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            unsigned r = (unsigned)(x >> 24);
            s[i] = (r & 3) == 0   ? (unsigned char)(0x80 | (r >> 8 & 0x3F))
                   : (r & 3) == 1 ? (unsigned char)(0xC0 | (r >> 8 & 0x3F))
                                  : (unsigned char)(0x20 + (r >> 8) % 0x5F);
        }
        size_t want = reference(s, len);
        assert_int_equal(utf8_check((const char *)s, len), want);
        assert_int_equal(utf8_valid((const char *)s, len), want == len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(standard_forms),
        cmocka_unit_test(every_offset),
        cmocka_unit_test(agrees_with_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
