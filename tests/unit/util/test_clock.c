/* SPDX-License-Identifier: MIT */
/* ISO 8601 timestamps: the API's exact form, and parsing back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/clock.h"

static void formats_with_microseconds_and_offset(void **state)
{
    char s[CLOCK_ISO_LEN];
    (void)state;
    clock_iso8601(1795515330123456LL, s);
    assert_string_equal(s, "2026-11-24T10:15:30.123456+00:00");
    clock_iso8601(0, s);
    assert_string_equal(s, "1970-01-01T00:00:00.000000+00:00");
}

static void round_trips(void **state)
{
    int64_t us;
    (void)state;
    assert_int_equal(clock_parse_iso8601("2026-11-24T10:15:30.123456+00:00", &us), 0);
    assert_int_equal(us, 1795515330123456LL);
    assert_int_equal(clock_parse_iso8601("2026-11-24T12:15:30.123456+02:00", &us), 0);
    assert_int_equal(us, 1795515330123456LL);
    assert_int_equal(clock_parse_iso8601("2026-11-24T10:15:30Z", &us), 0);
    assert_int_equal(us, 1795515330000000LL);
    assert_int_equal(clock_parse_iso8601("2026-11-24 10:15", &us), -1);
    assert_int_equal(clock_parse_iso8601("2026-11-24T10:15:30.+00:00", &us), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(formats_with_microseconds_and_offset),
        cmocka_unit_test(round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
