/* SPDX-License-Identifier: MIT */
/*
 * Body descriptions and the gateway's lenient reading: every JSON route of the table describes
 * its body; unknown keys go (named, except read-only ones) at every described level; lax
 * integers and booleans become strict exactly as pydantic v2 reads them, and nothing else does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/bodies.h"
#include "http/body_read.h"
#include "http/routes.h"
#include "util/json.h"

static struct json_object *parse(const char *text)
{
    struct json_object *o = NULL;
    struct err e;
    err_clear(&e);
    assert_int_equal(json_parse(text, strlen(text), &o, &e), 0);
    return o;
}

/* Reads text against fields; returns the body as compact text in out, the list in ignored. */
static void read_text(const char *text, const struct field *fields, char *out, size_t out_size,
                      char *ignored, size_t size)
{
    struct json_object *o = parse(text);
    body_read_lenient(o, fields, ignored, size);
    snprintf(out, out_size, "%s", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
}

static void check_fields(const struct field *f, const char *route)
{
    for (; f->name; f++) {
        if (!f->description || !*f->description)
            fail_msg("%s: field %s has no description", route, f->name);
        if (f->type == FT_OBJECT && f->fields)
            check_fields(f->fields, route);
        if (f->type == FT_ARRAY && f->items && f->items->type == FT_OBJECT && f->items->fields)
            check_fields(f->items->fields, route);
    }
}

static void every_json_route_has_a_body(void **state)
{
    size_t described = 0;
    (void)state;
    for (size_t i = 0; i < http_routes_count; i++) {
        const struct route *r = &http_routes[i];
        if (!(r->flags & ROUTE_JSON))
            continue;
        if (!r->body)
            fail_msg("%s %s has no body description", r->method, r->pattern);
        check_fields(r->body, r->pattern);
        described++;
    }
    assert_true(described >= 14);
}

static void unknown_keys_dropped_and_named(void **state)
{
    char out[1024], ignored[BODY_IGNORED_MAX];
    (void)state;

    read_text("{\"name\":\"p\",\"id\":\"123\",\"v\":1,\"owner\":\"x\",\"path\":null,"
              "\"created_at\":\"t\",\"created_by\":\"u\",\"model_type\":\"project\",\"z\":2}",
              project_update_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{\"name\":\"p\"}");
    assert_string_equal(ignored, "owner, z");

    read_text("{\"samples\":[{\"input\":\"a\",\"foo\":1},{\"input\":\"b\",\"id\":\"1\"},"
              "{\"input\":\"c\",\"tags\":[\"t\"],\"bar\":{\"x\":1}}],\"session_id\":\"s\","
              "\"extra\":true}",
              save_samples_batch_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{\"samples\":[{\"input\":\"a\"},{\"input\":\"b\"},"
                             "{\"input\":\"c\",\"tags\":[\"t\"]}],\"session_id\":\"s\"}");
    assert_string_equal(ignored, "samples[0].foo, samples[2].bar, extra");

    /* a requirement's own id is its field; an unknown key inside one is named with its index */
    read_text("{\"requirements\":[{\"id\":\"1\",\"name\":\"n\",\"instruction\":\"i\","
              "\"model_type\":\"task_requirement\",\"weight\":3}]}",
              task_update_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out,
                        "{\"requirements\":[{\"id\":\"1\",\"name\":\"n\",\"instruction\":\"i\"}]}");
    assert_string_equal(ignored, "requirements[0].weight");

    /* objects and values the table leaves open are not read */
    read_text("{\"input\":{\"q\":1,\"id\":2},\"output\":\"o\"}", save_sample_body, out, sizeof(out),
              ignored, sizeof(ignored));
    assert_string_equal(out, "{\"input\":{\"q\":1,\"id\":2},\"output\":\"o\"}");
    assert_string_equal(ignored, "");
}

static void ignored_names_escaped_and_bounded(void **state)
{
    char out[4096], ignored[40], text[2048];
    size_t n = 0;
    (void)state;

    read_text("{\"a b\":1,\"c,d\":2,\"\\r\\nX-Evil: 1\":3,\"\xc3\xa9\":4}", project_update_body,
              out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{}");
    assert_string_equal(ignored, "a%20b, c%2Cd, %0D%0AX-Evil:%201, ...");
    assert_true(strlen(ignored) < sizeof(ignored));

    n += (size_t)snprintf(text + n, sizeof(text) - n, "{");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"key%03d\":%d", i ? "," : "", i, i);
    snprintf(text + n, sizeof(text) - n, "}");
    read_text(text, project_update_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{}");
    assert_string_equal(ignored, "key000, key001, key002, key003, ...");

    /* a first name too long for the list at all */
    read_text("{\"a_very_long_key_name_that_does_not_fit_anywhere\":1}", project_update_body, out,
              sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(ignored, "...");
}

static int lax_int(const char *json, int64_t *ret)
{
    struct json_object *o = parse(json);
    int r = body_lax_int(o, ret);
    json_object_put(o);
    return r;
}

static int lax_bool(const char *json, bool *ret)
{
    struct json_object *o = parse(json);
    int r = body_lax_bool(o, ret);
    json_object_put(o);
    return r;
}

/* The cases measured against pydantic 2.13 (model_validate_json, an int field). */
static void integers_as_pydantic_reads_them(void **state)
{
    static const struct {
        const char *json;
        int64_t value;
    } good[] = {
        {"5", 5},
        {"5.0", 5},
        {"\"5\"", 5},
        {"\"5.0\"", 5},
        {"\"5.00\"", 5},
        {"\" 5 \"", 5},
        {"\"+5\"", 5},
        {"\"-5\"", -5},
        {"\"05\"", 5},
        {"\"1_000\"", 1000},
        {"\"5_0.0\"", 50},
        {"true", 1},
        {"false", 0},
        {"\"-0\"", 0},
        {"-0.0", 0},
        {"\"\\t5\\n\"", 5},
        {"\"\\u00a05\"", 5},
        {"\"\\u30005\"", 5},
        {"\"+05.0\"", 5},
        {"1000.0", 1000},
        {"\"9223372036854775807\"", INT64_MAX},
        {"\"-9223372036854775808\"", INT64_MIN},
        {"9.2e18", 9200000000000000000},
    };
    static const char *const bad[] = {
        "5.5",          "\"five\"", "\"5.5\"", "\"1e3\"",  "\"0x10\"", "\"\"",
        "\" \"",        "\"5.\"",   "\".0\"",  "\"1__0\"", "\"_1\"",   "\"1_\"",
        "\"5.0_0\"",    "\"+ 5\"",  "\"+-5\"", "\"5,0\"",  "\"5 .0\"", "\"\\u0665\"",
        "1e19",         "-1e19",    "null",    "[5]",      "{}",       "\"9223372036854775808\"",
        "\"5\\u0000\"",
    };
    int64_t v;
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        v = 0;
        if (lax_int(good[i].json, &v) != 1 || v != good[i].value)
            fail_msg("%s should read as %lld", good[i].json, (long long)good[i].value);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lax_int(bad[i], &v) != 0)
            fail_msg("%s should not read as an integer", bad[i]);
}

static void booleans_as_pydantic_reads_them(void **state)
{
    static const char *const yes[] = {"true",     "1",        "1.0",      "\"true\"",
                                      "\"True\"", "\"TRUE\"", "\"tRuE\"", "\"yes\"",
                                      "\"y\"",    "\"on\"",   "\"t\"",    "\"1\""};
    static const char *const no[] = {"false",  "0",     "0.0",     "\"false\"", "\"False\"",
                                     "\"no\"", "\"n\"", "\"off\"", "\"f\"",     "\"0\""};
    static const char *const bad[] = {
        "2",    "0.5",       "-1",   "\"2\"", "\" true\"",       "\"true \"",
        "\"\"", "\"maybe\"", "null", "[]",    "\"true\\u0000x\""};
    bool b;
    (void)state;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (lax_bool(yes[i], &b) != 1 || !b)
            fail_msg("%s should read as true", yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (lax_bool(no[i], &b) != 1 || b)
            fail_msg("%s should read as false", no[i]);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (lax_bool(bad[i], &b) != 0)
            fail_msg("%s should not read as a boolean", bad[i]);
}

static void lax_values_made_strict_in_place(void **state)
{
    char out[1024], ignored[BODY_IGNORED_MAX];
    (void)state;

    read_text("{\"topic\":[],\"num_samples\":\"5\",\"model_name\":\"m\",\"provider\":\"p\","
              "\"drop_unsupported_params\":\"true\"}",
              generate_samples_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{\"topic\":[],\"num_samples\":5,\"model_name\":\"m\",\"provider\":"
                             "\"p\",\"drop_unsupported_params\":true}");

    read_text("{\"samples\":[{\"input\":\"a\",\"allow_truncated\":1}],\"allow_truncated\":\"no\"}",
              save_samples_batch_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{\"samples\":[{\"input\":\"a\",\"allow_truncated\":true}],"
                             "\"allow_truncated\":false}");

    /* what does not convert is left for the handler's 422; strings stay strings */
    read_text("{\"num_subtopics\":5.5,\"model_name\":5,\"drop_unsupported_params\":\"maybe\","
              "\"node_path\":null}",
              generate_categories_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(out, "{\"num_subtopics\":5.5,\"model_name\":5,"
                             "\"drop_unsupported_params\":\"maybe\",\"node_path\":null}");

    read_text("{\"requirements\":[{\"name\":\"n\",\"instruction\":\"i\",\"priority\":\"1\"}]}",
              task_create_body, out, sizeof(out), ignored, sizeof(ignored));
    assert_string_equal(
        out, "{\"requirements\":[{\"name\":\"n\",\"instruction\":\"i\",\"priority\":1}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_json_route_has_a_body),
        cmocka_unit_test(unknown_keys_dropped_and_named),
        cmocka_unit_test(ignored_names_escaped_and_bounded),
        cmocka_unit_test(integers_as_pydantic_reads_them),
        cmocka_unit_test(booleans_as_pydantic_reads_them),
        cmocka_unit_test(lax_values_made_strict_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
