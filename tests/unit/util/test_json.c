/* SPDX-License-Identifier: MIT */
/* JSON helpers: strict parsing with positions, field accessors naming fields, raw UTF-8 out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/buf.h"
#include "util/json.h"
#include "util/jsonw.h"

static void parse_fail(const char *text, const char *want)
{
    struct json_object *o = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(json_parse(text, strlen(text), &o, &e), HE_BAD_JSON);
    assert_null(o);
    if (!strstr(e.msg, want))
        fail_msg("'%s' -> '%s', expected '%s'", text, e.msg, want);
}

static void strict_parsing_with_positions(void **state)
{
    (void)state;
    parse_fail("{\"a\": 1,}", "line 1 column");
    parse_fail("{\n  \"a\": tru\n}", "line 2 column");
    parse_fail("{\"a\": 1} x", "line 1 column 10");
    parse_fail("{\"a\": ", "unexpected end of input");
    parse_fail("", "empty body");
    parse_fail("[\"\xff\"]", "line 1");
    parse_fail("// c\n{}", "line 1 column 1");
}

static void parses_values_and_whitespace(void **state)
{
    struct json_object *o = NULL;
    struct err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(json_parse(" {\"名字\": \"学习\"}\r\n", 21, &o, &e), 0);
    assert_string_equal(json_object_get_string(json_object_object_get(o, "名字")), "学习");
    json_object_put(o);
    assert_int_equal(json_parse("12", 2, &o, &e), 0);
    json_object_put(o);
}

static void output_is_raw_utf8_and_ordered(void **state)
{
    struct json_object *o = json_object_new_object();
    (void)state;
    json_object_object_add(o, "z", json_object_new_string("中文/x"));
    json_object_object_add(o, "a", json_raw_new("{\"k\":[1,2]}"));
    json_object_object_add(o, "n", NULL);
    assert_string_equal(json_text(o, NULL), "{\"z\":\"中文/x\",\"a\":{\"k\":[1,2]},\"n\":null}");
    json_object_put(o);
}

static void accessors_name_fields(void **state)
{
    const char *text =
        "{\"name\": 5, \"s\": \"abcdé\", \"n\": 200, \"b\": \"yes\", \"arr\": [1,2,3]}";
    struct json_object *o = NULL, *arr = NULL;
    const char *s = NULL;
    int64_t n = 0;
    bool b = false;
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(json_parse(text, strlen(text), &o, &e), 0);

    assert_int_equal(json_get_str(o, NULL, "name", JF_REQUIRED, 1, 10, &s, &e), HE_INVALID);
    assert_string_equal(e.field, "name");
    assert_string_equal(e.msg, "name must be a string, not an integer");

    err_clear(&e);
    assert_int_equal(json_get_str(o, "samples[2]", "s", 0, 1, 4, &s, &e), HE_INVALID);
    assert_string_equal(e.field, "samples[2].s");
    assert_string_equal(e.msg, "samples[2].s must be at most 4 characters (got 5)");

    err_clear(&e);
    assert_int_equal(json_get_str(o, NULL, "s", 0, 1, 5, &s, &e), 0);
    assert_string_equal(s, "abcdé");

    assert_int_equal(json_get_int(o, NULL, "n", 0, 1, 100, &n, &e), HE_INVALID);
    assert_string_equal(e.msg, "n must be between 1 and 100 (got 200)");

    err_clear(&e);
    assert_int_equal(json_get_bool(o, NULL, "b", 0, &b, &e), HE_INVALID);
    err_clear(&e);
    assert_int_equal(json_get_array(o, NULL, "arr", 0, 2, &arr, &e), HE_INVALID);
    err_clear(&e);
    assert_int_equal(json_get_str(o, NULL, "missing", JF_REQUIRED, 1, 5, &s, &e), HE_INVALID);
    assert_string_equal(e.msg, "missing is required");
    err_clear(&e);
    s = "unchanged";
    assert_int_equal(json_get_str(o, NULL, "missing", 0, 1, 5, &s, &e), 0);
    assert_string_equal(s, "unchanged");

    {
        const char *const known[] = {"name", "s", "n", "b", NULL};
        assert_int_equal(json_check_keys(o, NULL, known, &e), HE_INVALID);
        assert_string_equal(e.msg, "unknown field arr");
    }
    json_object_put(o);
}

static void nul_in_string_is_rejected(void **state)
{
    const char *text = "{\"s\": \"a\\u0000b\"}";
    struct json_object *o = NULL;
    const char *s = NULL;
    struct err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(json_parse(text, strlen(text), &o, &e), 0);
    assert_int_equal(json_get_str(o, NULL, "s", 0, 0, 100, &s, &e), HE_INVALID);
    assert_string_equal(e.msg, "s must not contain NUL characters");
    json_object_put(o);
}

/* The escaper against a byte-at-a-time reference: every byte value, at every offset across the
 * eight-byte steps, between plain ASCII and UTF-8 text. */
static void reference_escape(struct buf *out, const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\')
            buf_addf(out, "\\%c", c);
        else if (c == '\n')
            buf_adds(out, "\\n");
        else if (c == '\r')
            buf_adds(out, "\\r");
        else if (c == '\t')
            buf_adds(out, "\\t");
        else if (c == '\b')
            buf_adds(out, "\\b");
        else if (c == '\f')
            buf_adds(out, "\\f");
        else if (c < 0x20)
            buf_addf(out, "\\u%04x", c);
        else
            buf_add(out, &c, 1);
    }
}

static void escape_matches_reference(void **state)
{
    static const char *const fillers[] = {"abcdefghijklmnopqrstuvwxyz0123",
                                          "学习很重要，语法要点。"};
    unsigned char text[96];
    struct buf got, want;

    (void)state;
    buf_init(&got, 1 << 20);
    buf_init(&want, 1 << 20);
    for (size_t f = 0; f < 2; f++) {
        size_t flen = strlen(fillers[f]);
        for (int byte = 1; byte < 256; byte++) {
            size_t len = flen < sizeof(text) ? flen : sizeof(text);
            for (size_t at = 0; at < len; at++) {
                memcpy(text, fillers[f], len);
                text[at] = (unsigned char)byte;
                buf_reset(&got);
                buf_reset(&want);
                assert_int_equal(jsonw_escape(&got, (const char *)text, len), 0);
                reference_escape(&want, text, len);
                assert_int_equal(got.len, want.len);
                assert_memory_equal(got.data, want.data, want.len);
            }
        }
    }
    buf_done(&got);
    buf_done(&want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strict_parsing_with_positions),
        cmocka_unit_test(parses_values_and_whitespace),
        cmocka_unit_test(output_is_raw_utf8_and_ordered),
        cmocka_unit_test(accessors_name_fields),
        cmocka_unit_test(nul_in_string_is_rejected),
        cmocka_unit_test(escape_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
