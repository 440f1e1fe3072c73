/* SPDX-License-Identifier: MIT */
/*
 * The bounded buffer: contents up to exactly its maximum and never one byte more, growth by
 * doubling, reset and take, the formatting helper, and a refused append that leaves the buffer
 * as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"

/* The buffer holds exactly `want` (len bytes) and a NUL after them. */
static void assert_holds(const struct buf *b, const char *want, size_t len)
{
    assert_int_equal(b->len, len);
    assert_non_null(b->data);
    assert_memory_equal(b->data, want, len);
    assert_int_equal(b->data[len], '\0');
    assert_true(b->cap >= len + 1);
    assert_true(b->cap <= b->max + 1);
}

static void starts_empty_without_memory(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 100);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 100);
    buf_done(&b);
}

static void fills_exactly_to_max(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "abcd"), 0);
    assert_int_equal(buf_adds(&b, "efgh"), 0);
    assert_holds(&b, "abcdefgh", 8);
    assert_int_equal(b.cap, 9); /* the doubling stops at max + 1 */
    assert_int_equal(buf_add(&b, "", 0), 0);
    assert_holds(&b, "abcdefgh", 8);
    buf_done(&b);
}

static void one_byte_over_is_refused_unchanged(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 8);
    assert_int_equal(buf_adds(&b, "abcdefgh"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    assert_int_equal(buf_adds(&b, "i"), HE_TOO_LARGE);
    assert_holds(&b, "abcdefgh", 8);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);

    buf_reset(&b);
    assert_int_equal(buf_adds(&b, "abc"), 0);
    assert_int_equal(buf_adds(&b, "123456"), HE_TOO_LARGE); /* 9 > 8: none of it goes in */
    assert_holds(&b, "abc", 3);
    assert_int_equal(buf_adds(&b, "12345"), 0);
    assert_holds(&b, "abc12345", 8);
    buf_done(&b);
}

static void first_append_over_max_allocates_nothing(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 4);
    assert_int_equal(buf_adds(&b, "abcde"), HE_TOO_LARGE);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    buf_done(&b);
}

static void sizes_that_wrap_around_are_refused(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 64);
    assert_int_equal(buf_adds(&b, "x"), 0);
    /* len + n wraps past SIZE_MAX to a small number: still far over the maximum */
    assert_int_equal(buf_add(&b, "y", SIZE_MAX), HE_TOO_LARGE);
    assert_int_equal(buf_add(&b, "y", SIZE_MAX - 1), HE_TOO_LARGE);
    assert_holds(&b, "x", 1);
    buf_done(&b);
}

static void max_zero_holds_only_the_empty_string(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 0);
    assert_int_equal(buf_adds(&b, ""), 0);
    assert_holds(&b, "", 0);
    assert_int_equal(buf_adds(&b, "a"), HE_TOO_LARGE);
    assert_int_equal(buf_addf(&b, "%d", 1), HE_TOO_LARGE);
    assert_holds(&b, "", 0);
    buf_done(&b);
}

static void grows_by_doubling_from_64(void **state)
{
    struct buf b;
    char chunk[10];
    char want[1000];
    (void)state;
    memset(chunk, 'z', sizeof(chunk));
    buf_init(&b, 1u << 20);
    assert_int_equal(buf_add(&b, "a", 1), 0);
    assert_int_equal(b.cap, 64);
    assert_int_equal(buf_add(&b, chunk, 10), 0);
    assert_int_equal(b.cap, 64);
    for (size_t i = 0; i < 5; i++) /* 61 bytes and the NUL still fit in 64 */
        assert_int_equal(buf_add(&b, chunk, 10), 0);
    assert_int_equal(b.len, 61);
    assert_int_equal(b.cap, 64);
    assert_int_equal(buf_add(&b, "bcd", 3), 0); /* 64 bytes + NUL: 128 */
    assert_int_equal(b.cap, 128);
    for (size_t i = 0; i < 93; i++)
        assert_int_equal(buf_add(&b, chunk, 10), 0);
    assert_int_equal(b.len, 994);
    assert_int_equal(b.cap, 1024);
    want[0] = 'a';
    memset(want + 1, 'z', 60);
    memcpy(want + 61, "bcd", 3);
    memset(want + 64, 'z', 930);
    assert_holds(&b, want, 994);
    buf_done(&b);
}

static void keeps_bytes_after_a_nul(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 16);
    assert_int_equal(buf_add(&b, "a\0b", 3), 0);
    assert_holds(&b, "a\0b", 3);
    buf_done(&b);
}

static void reset_keeps_the_memory(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 100);
    buf_reset(&b); /* nothing allocated yet: still fine */
    assert_null(b.data);
    assert_int_equal(buf_adds(&b, "hello world"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    buf_reset(&b);
    assert_holds(&b, "", 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(b.max, 100);
    assert_int_equal(buf_adds(&b, "again"), 0);
    assert_holds(&b, "again", 5);
    buf_done(&b);
}

static void done_frees_and_keeps_the_max(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 5);
    assert_int_equal(buf_adds(&b, "abc"), 0);
    buf_done(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 5);
    assert_int_equal(buf_adds(&b, "abcdef"), HE_TOO_LARGE);
    buf_done(&b);
}

static void take_hands_out_the_text(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 50);
    assert_int_equal(buf_adds(&b, "taken"), 0);
    char *p = buf_take(&b);
    assert_string_equal(p, "taken");
    free(p);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 50);
    p = buf_take(&b); /* an empty buffer gives an empty string, never NULL */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    buf_done(&b);
}

static void addf_formats_and_appends(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 1000);
    assert_int_equal(buf_addf(&b, "%s-%d", "abc", 12345), 0);
    assert_int_equal(buf_addf(&b, "%zu) %s\n", (size_t)2, "二"), 0);
    assert_int_equal(buf_addf(&b, "%s", ""), 0);
    assert_holds(&b,
                 "abc-12345"
                 "2) 二\n",
                 strlen("abc-12345"
                        "2) 二\n"));
    buf_done(&b);
}

static void addf_limits_match_add(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 12);
    assert_int_equal(buf_addf(&b, "%s-%d", "abc", 12345), 0); /* 9 */
    assert_int_equal(buf_addf(&b, "%03d", 7), 0);             /* 12: exactly max */
    assert_holds(&b, "abc-12345007", 12);
    buf_reset(&b);
    assert_int_equal(buf_addf(&b, "%s-%d", "abc", 12345), 0);
    char *data = b.data;
    assert_int_equal(buf_addf(&b, "%04d", 7), HE_TOO_LARGE); /* 13 */
    assert_holds(&b, "abc-12345", 9);
    assert_ptr_equal(b.data, data);
    buf_done(&b);
}

static void addf_grows_past_the_first_block(void **state)
{
    struct buf b;
    char big[300];
    (void)state;
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_init(&b, 1000);
    assert_int_equal(buf_adds(&b, "<"), 0);
    assert_int_equal(buf_addf(&b, "%s>", big), 0);
    assert_int_equal(b.len, 301);
    assert_int_equal(b.cap, 512);
    assert_int_equal(b.data[0], '<');
    assert_memory_equal(b.data + 1, big, 299);
    assert_string_equal(b.data + 300, ">");
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_empty_without_memory),
        cmocka_unit_test(fills_exactly_to_max),
        cmocka_unit_test(one_byte_over_is_refused_unchanged),
        cmocka_unit_test(first_append_over_max_allocates_nothing),
        cmocka_unit_test(sizes_that_wrap_around_are_refused),
        cmocka_unit_test(max_zero_holds_only_the_empty_string),
        cmocka_unit_test(grows_by_doubling_from_64),
        cmocka_unit_test(keeps_bytes_after_a_nul),
        cmocka_unit_test(reset_keeps_the_memory),
        cmocka_unit_test(done_frees_and_keeps_the_max),
        cmocka_unit_test(take_hands_out_the_text),
        cmocka_unit_test(addf_formats_and_appends),
        cmocka_unit_test(addf_limits_match_add),
        cmocka_unit_test(addf_grows_past_the_first_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
