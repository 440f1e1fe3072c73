/* SPDX-License-Identifier: MIT */
/* The error table and struct err: first cause wins, one-line messages, statuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/err.h"

static void first_error_wins(void **state)
{
    struct err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(err_set(&e, HE_INVALID, "name", "name is %s", "bad"), HE_INVALID);
    assert_int_equal(err_set(&e, HE_NOT_FOUND, "id", "later"), HE_INVALID);
    assert_string_equal(e.msg, "name is bad");
    assert_string_equal(e.field, "name");
}

static void messages_are_one_line(void **state)
{
    struct err e;
    (void)state;
    err_clear(&e);
    err_set(&e, HE_BAD_REQUEST, NULL, "a\nb\tc");
    assert_string_equal(e.msg, "a b c");
    assert_string_equal(e.field, "");
}

static void statuses_and_slugs(void **state)
{
    (void)state;
    assert_int_equal(err_http_status(HE_NOT_FOUND), 404);
    assert_int_equal(err_http_status(HE_INVALID), 422);
    assert_int_equal(err_http_status(HE_TOO_LARGE), 413);
    assert_int_equal(err_http_status(HE_PROVIDER), 502);
    assert_string_equal(err_slug(HE_METHOD), "method_not_allowed");
    assert_int_equal(err_http_status(-999), 500);
}

static void prefix_keeps_cause(void **state)
{
    struct err e;
    (void)state;
    err_clear(&e);
    err_prefix(&e, "ignored");
    assert_string_equal(e.msg, "");
    err_set(&e, HE_STORE, NULL, "disk full");
    err_prefix(&e, "saving %d rows", 3);
    assert_string_equal(e.msg, "saving 3 rows: disk full");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(first_error_wins),
        cmocka_unit_test(messages_are_one_line),
        cmocka_unit_test(statuses_and_slugs),
        cmocka_unit_test(prefix_keeps_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
