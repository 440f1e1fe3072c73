/* SPDX-License-Identifier: MIT */
/* Text normalisation: case and width folded, white space collapsed, hashes of equal forms equal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/textnorm.h"

static void expect_norm(const char *in, const char *want)
{
    struct buf b;
    struct err e = ERR_INIT;

    buf_init(&b, 1 << 20);
    assert_int_equal(text_normalize(in, strlen(in), &b, &e), 0);
    assert_string_equal(b.data, want);
    assert_int_equal(b.len, strlen(want));
    assert_null(memchr(b.data, '\0', b.len));
    buf_done(&b);
}

/* The hash through text_norm_hash, checked against text_hash64 of text_normalize's form. */
static uint64_t norm_hash(const char *in)
{
    struct buf b;
    struct err e = ERR_INIT;
    uint64_t h = 0;

    buf_init(&b, 1 << 20);
    assert_int_equal(text_norm_hash(in, strlen(in), &h, &e), 0);
    assert_int_equal(text_normalize(in, strlen(in), &b, &e), 0);
    assert_int_equal(h, text_hash64(b.data, b.len));
    buf_done(&b);
    return h;
}

static void folds_case_and_width(void **state)
{
    (void)state;
    expect_norm("ＡＢＣ", "abc");
    expect_norm("abc", "abc");
    expect_norm("ABC", "abc");
    expect_norm("１２３４５", "12345");
    expect_norm("全角ＡＢＣ１２３", "全角abc123");
    expect_norm("Straße", "strasse");
    expect_norm("STRASSE", "strasse");
    expect_norm("ﾊﾝｶｸ", "ハンカク"); /* half-width katakana to full width */
    expect_norm("ΣΊΣΥΦΟΣ", "σίσυφοσ");
    expect_norm("什么是机器学习？", "什么是机器学习?"); /* full-width question mark */
}

static void collapses_white_space(void **state)
{
    (void)state;
    expect_norm("  a\t\tb\n\nc  ", "a b c");
    expect_norm("\r\n\v\fx\r\n", "x");
    expect_norm("机器　学习", "机器 学习");        /* U+3000 ideographic space */
    expect_norm("\u3000\u3000机器\u3000", "机器"); /* trimmed at both ends */
    expect_norm("a\u00a0\u2003b\u2028c", "a b c"); /* no-break, em space, line separator */
    expect_norm("Ａ\t　Ｂ", "a b");
    expect_norm("", "");
    expect_norm(" \t\n\u3000", "");
}

static void keeps_what_differs(void **state)
{
    (void)state;
    expect_norm("a-b", "a-b");
    expect_norm("ab", "ab");
    expect_norm("机器学习", "机器学习");
    assert_true(norm_hash("机器学习") != norm_hash("机器学"));
    assert_true(norm_hash("hello world") != norm_hash("helloworld"));
    assert_true(norm_hash("hello world") != norm_hash("hello world!"));
}

static void hashes_of_equal_forms(void **state)
{
    (void)state;
    assert_int_equal(norm_hash("ＡＢＣ"), norm_hash("abc"));
    assert_int_equal(norm_hash("Straße"), norm_hash("STRASSE"));
    assert_int_equal(norm_hash("什么是\u3000机器学习？１２３"),
                     norm_hash(" 什么是 机器学习?123\n"));
    assert_int_equal(norm_hash("What  is\tAI"), norm_hash("what is ai"));
    assert_int_equal(norm_hash("  What  is\tAI \n"), norm_hash("what is ai"));
    assert_int_equal(norm_hash("AI\u3000"), norm_hash(" ai"));
    assert_int_equal(norm_hash("abc"), text_hash64("abc", 3));
    assert_true(norm_hash("") != 0);
    assert_true(text_hash64("", 0) != 0);
}

static void invalid_utf8_and_limits(void **state)
{
    struct buf b;
    struct err e = ERR_INIT;
    (void)state;

    buf_init(&b, 64);
    assert_int_equal(text_normalize("a\xff"
                                    "b",
                                    3, &b, &e),
                     0);
    assert_string_equal(b.data, "a\xef\xbf\xbd"
                                "b");
    buf_done(&b);
    buf_init(&b, 4);
    assert_int_equal(text_normalize("abcdef", 6, &b, &e), HE_TOO_LARGE);
    err_clear(&e);
    assert_int_equal(text_normalize("ＡＢＣＤＥＦ", strlen("ＡＢＣＤＥＦ"), &b, &e), HE_TOO_LARGE);
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(folds_case_and_width),    cmocka_unit_test(collapses_white_space),
        cmocka_unit_test(keeps_what_differs),      cmocka_unit_test(hashes_of_equal_forms),
        cmocka_unit_test(invalid_utf8_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
