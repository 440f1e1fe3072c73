/* SPDX-License-Identifier: MIT */
/* Key redaction in provider messages: every copy, growing or shrinking, and a key cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "llm/engine_int.h"

#define KEY "sk-proj-0123456789abcdef"

static void every_copy(void **state)
{
    char s[128] = "bad key " KEY " (again: " KEY ")";
    (void)state;
    xfer_redact(s, sizeof(s), KEY);
    assert_string_equal(s, "bad key [redacted] (again: [redacted])");
}

static void a_key_cut_at_the_end(void **state)
{
    char s[64] = "bad key " KEY " and " KEY;
    (void)state;
    s[8 + strlen(KEY) + 5 + 11] = '\0'; /* the second copy cut after 11 characters */
    xfer_redact(s, sizeof(s), KEY);
    assert_string_equal(s, "bad key [redacted] and [redacted]");
}

static void short_starts_and_other_text_stay(void **state)
{
    char s[64] = "ends with sk-";
    char t[64] = "the key " KEY " is not sk-proj-0123";
    (void)state;
    xfer_redact(s, sizeof(s), KEY);
    assert_string_equal(s, "ends with sk-"); /* three characters: not a key */
    xfer_redact(t, sizeof(t), KEY);
    assert_string_equal(t, "the key [redacted] is not [redacted]");
}

static void short_key_grows_within_the_buffer(void **state)
{
    char s[24] = "k=abcdef k=abcdef";
    (void)state;
    xfer_redact(s, sizeof(s), "abcdef");
    assert_int_equal(strlen(s), sizeof(s) - 1);
    assert_string_equal(s, "k=[redacted] k=[redacte");
    assert_null(strstr(s, "abcdef"));
}

static void a_key_inside_the_mark_ends(void **state)
{
    char s[64] = "x edac y edac";
    (void)state;
    xfer_redact(s, sizeof(s), "edac");
    assert_string_equal(s, "x [redacted] y [redacted]");
}

static void no_key_no_change(void **state)
{
    char s[32] = "nothing here";
    (void)state;
    xfer_redact(s, sizeof(s), NULL);
    xfer_redact(s, sizeof(s), "abc"); /* too short to be a key */
    assert_string_equal(s, "nothing here");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_copy),
        cmocka_unit_test(a_key_cut_at_the_end),
        cmocka_unit_test(short_starts_and_other_text_stay),
        cmocka_unit_test(short_key_grows_within_the_buffer),
        cmocka_unit_test(a_key_inside_the_mark_ends),
        cmocka_unit_test(no_key_no_change),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
