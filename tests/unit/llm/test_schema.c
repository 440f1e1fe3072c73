/* SPDX-License-Identifier: MIT */
/* JSON Schema subset: structural checks naming keyword paths, validation naming value paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "llm/schema.h"
#include "util/json.h"

static struct json_object *parse(const char *text)
{
    struct json_object *o = NULL;
    struct err e;

    if (strcmp(text, "null") == 0)
        return NULL; /* JSON null is json-c's NULL */
    err_clear(&e);
    if (json_parse(text, strlen(text), &o, &e) != 0)
        fail_msg("test JSON does not parse: %s: %s", text, e.msg);
    return o;
}

/* Compiles schema, validates value, drops the compiled schema. */
static int validate_json(struct json_object *schema, struct json_object *value, struct err *e)
{
    struct schema *s = schema_compile(schema, e);
    int r;

    if (!s)
        return e->code;
    r = schema_validate(s, value, e);
    schema_unref(s);
    return r;
}

/* ---- schema_check ---- */

static void check_ok(const char *schema_text, bool require_object)
{
    struct json_object *s = parse(schema_text);
    struct err e;

    err_clear(&e);
    if (schema_check(s, require_object, "output_json_schema", &e) != 0)
        fail_msg("%s rejected: %s", schema_text, e.msg);
    json_object_put(s);
}

static void check_bad(const char *schema_text, bool require_object, const char *want)
{
    struct json_object *s = parse(schema_text);
    struct err e;

    err_clear(&e);
    assert_int_equal(schema_check(s, require_object, "output_json_schema", &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "output_json_schema");
    if (strcmp(e.msg, want) != 0)
        fail_msg("%s\n  got:  %s\n  want: %s", schema_text, e.msg, want);
    json_object_put(s);
}

#define P "output_json_schema: "

static void check_accepts_every_keyword(void **state)
{
    (void)state;
    check_ok("{\"$schema\": \"https://json-schema.org/draft/2020-12/schema\","
             " \"title\": \"T\", \"description\": \"d\", \"type\": \"object\","
             " \"properties\": {"
             "   \"name\": {\"type\": \"string\", \"minLength\": 1, \"maxLength\": 20,"
             "              \"format\": \"email\", \"default\": \"x\", \"examples\": [\"a\"]},"
             "   \"n\": {\"type\": [\"integer\", \"null\"], \"minimum\": 0, \"maximum\": 1e3},"
             "   \"tags\": {\"type\": \"array\", \"items\": {\"enum\": [\"a\", 1, null, {}]},"
             "              \"minItems\": 0, \"maxItems\": 2.0},"
             "   \"any\": true, \"none\": false,"
             "   \"map\": {\"type\": \"object\", \"additionalProperties\": {\"type\": \"number\"}}"
             " },"
             " \"required\": [\"name\"], \"additionalProperties\": false,"
             " \"$defs\": {\"x\": 5}, \"x-unknown\": [1, 2]}",
             true);
    check_ok("{}", false);
    check_ok("{\"type\": \"array\", \"items\": {\"type\": \"string\"}}", false);
}

static void check_type_keyword(void **state)
{
    (void)state;
    check_bad("{\"type\": 5}", false,
              P "type must be a string or an array of strings, not an integer");
    check_bad("{\"type\": \"str\"}", false,
              P "type must be one of object, array, string, integer, number, boolean, null "
                "(got \"str\")");
    check_bad("{\"type\": []}", false, P "type must not be an empty array");
    check_bad("{\"type\": [\"string\", 1]}", false, P "type[1] must be a string, not an integer");
    check_bad("{\"type\": [\"string\", \"nul\"]}", false,
              P "type[1] must be one of object, array, string, integer, number, boolean, null "
                "(got \"nul\")");
    check_bad("{\"type\": [\"string\", \"string\"]}", false, P "type[1] repeats \"string\"");
}

static void check_nested_paths(void **state)
{
    (void)state;
    check_bad("{\"type\": \"object\", \"properties\": {\"name\": {\"type\": 3}}}", true,
              P "properties.name.type must be a string or an array of strings, not an integer");
    check_bad("{\"properties\": []}", false,
              P "properties must be an object mapping names to schemas, not an array");
    check_bad("{\"properties\": {\"a\": 1}}", false,
              P "properties.a must be a schema (an object or a boolean), not an integer");
    check_bad("{\"items\": {\"properties\": {\"a b\": {\"items\": {\"minLength\": -1}}}}}", false,
              P "items.properties[\"a b\"].items.minLength must be a non-negative integer, not a "
                "negative or fractional number");
    check_bad("{\"properties\": {\"名字\": {\"maxLength\": \"3\"}}}", false,
              P "properties.名字.maxLength must be a non-negative integer, not a string");
    check_bad("{\"additionalProperties\": {\"type\": \"obj\"}}", false,
              P "additionalProperties.type must be one of object, array, string, integer, "
                "number, boolean, null (got \"obj\")");
}

static void check_other_keywords(void **state)
{
    (void)state;
    check_bad("{\"required\": \"name\"}", false,
              P "required must be an array of strings, not a string");
    check_bad("{\"required\": [\"a\", 2]}", false,
              P "required[1] must be a string, not an integer");
    check_bad("{\"required\": [\"a\", \"a\"]}", false, P "required[1] repeats \"a\"");
    check_bad("{\"items\": [{}]}", false,
              P "items must be a schema (an object or a boolean), not an array");
    check_bad("{\"enum\": \"a\"}", false, P "enum must be an array, not a string");
    check_bad("{\"enum\": []}", false, P "enum must not be empty");
    check_bad("{\"additionalProperties\": \"no\"}", false,
              P "additionalProperties must be a schema (an object or a boolean), not a string");
    check_bad("{\"minItems\": 1.5}", false,
              P "minItems must be a non-negative integer, not a negative or fractional number");
    check_bad("{\"maxItems\": null}", false, P "maxItems must be a non-negative integer, not null");
    check_bad("{\"minLength\": true}", false,
              P "minLength must be a non-negative integer, not a boolean");
    check_bad("{\"minimum\": \"0\"}", false, P "minimum must be a number, not a string");
    check_bad("{\"maximum\": [1]}", false, P "maximum must be a number, not an array");
    check_bad("{\"minLength\": 5, \"maxLength\": 4}", false,
              P "minLength must not exceed maxLength");
    check_bad("{\"minItems\": 3, \"maxItems\": 2}", false, P "minItems must not exceed maxItems");
    check_bad("{\"minimum\": 1.5, \"maximum\": 1}", false, P "minimum must not exceed maximum");
    check_ok("{\"minLength\": 4, \"maxLength\": 4, \"minimum\": -1.5, \"maximum\": -1.5}", false);
}

static void check_top_level(void **state)
{
    struct json_object *s = parse("[1]");
    struct err e;
    (void)state;

    check_bad("{\"type\": \"array\"}", true, P "type must be \"object\" at the top level");
    check_bad("{\"properties\": {}}", true, P "type must be \"object\" at the top level");
    check_ok("{\"type\": \"array\"}", false);

    err_clear(&e);
    assert_int_equal(schema_check(s, false, "input_json_schema", &e), HE_BAD_REQUEST);
    assert_string_equal(e.msg, "input_json_schema: the schema must be an object, not an array");
    json_object_put(s);

    /* Without a field name the message is the path alone. */
    s = parse("{\"items\": {\"type\": 1}}");
    err_clear(&e);
    assert_int_equal(schema_check(s, false, NULL, &e), HE_BAD_REQUEST);
    assert_string_equal(e.msg,
                        "items.type must be a string or an array of strings, not an integer");
    assert_string_equal(e.field, "");
    json_object_put(s);
}

/* {"items": {"items": ... {}}} with `depth` schemas (built directly: the parser stops at 64). */
static struct json_object *nested_items(int depth)
{
    struct json_object *s = json_object_new_object();
    for (int i = 1; i < depth; i++) {
        struct json_object *outer = json_object_new_object();
        json_object_object_add(outer, "items", s);
        s = outer;
    }
    return s;
}

static void check_depth_limit(void **state)
{
    struct json_object *s, *v;
    struct err e;
    (void)state;

    s = nested_items(64);
    err_clear(&e);
    assert_int_equal(schema_check(s, false, "f", &e), 0);
    json_object_put(s);

    s = nested_items(65);
    err_clear(&e);
    assert_int_equal(schema_check(s, false, "f", &e), HE_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "nests schemas more than 64 deep"));
    assert_non_null(strstr(e.msg, "f: items.items.items."));

    /* Validation of an unchecked, deeper schema stops too. */
    v = json_object_new_array();
    for (int i = 0; i < 70; i++) {
        struct json_object *outer = json_object_new_array();
        json_object_array_add(outer, v);
        v = outer;
    }
    json_object_put(s);
    s = nested_items(80);
    err_clear(&e);
    assert_int_equal(validate_json(s, v, &e), HE_INVALID);
    assert_non_null(strstr(e.msg, "nests more than 64 levels deep"));
    json_object_put(s);
    json_object_put(v);
}

/* ---- schema_validate ---- */

static void valid(const char *schema_text, const char *value_text)
{
    struct json_object *s = parse(schema_text), *v = parse(value_text);
    struct err e;

    err_clear(&e);
    if (validate_json(s, v, &e) != 0)
        fail_msg("%s against %s: %s", value_text, schema_text, e.msg);
    json_object_put(s);
    json_object_put(v);
}

static void invalid(const char *schema_text, const char *value_text, const char *want)
{
    struct json_object *s = parse(schema_text), *v = parse(value_text);
    struct err e;

    err_clear(&e);
    assert_int_equal(validate_json(s, v, &e), HE_INVALID);
    if (strcmp(e.msg, want) != 0)
        fail_msg("%s against %s\n  got:  %s\n  want: %s", value_text, schema_text, e.msg, want);
    json_object_put(s);
    json_object_put(v);
}

static void validate_types(void **state)
{
    static const char *const values[] = {"{}", "[]", "\"s\"", "3", "2.5", "true", "null"};
    static const char *const labels[] = {"an object", "an array",  "a string", "an integer",
                                         "a number",  "a boolean", "null"};
    static const char *const types[] = {"object", "array",   "string", "integer",
                                        "number", "boolean", "null"};
    /* matches[t][v]: does a value v satisfy type t */
    static const bool matches[7][7] = {
        {1, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0}, {0, 0, 1, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0},
        {0, 0, 0, 1, 1, 0, 0}, {0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 1},
    };
    (void)state;

    for (int t = 0; t < 7; t++) {
        char schema[64], want[128];
        snprintf(schema, sizeof(schema), "{\"type\": \"%s\"}", types[t]);
        for (int v = 0; v < 7; v++) {
            if (matches[t][v]) {
                valid(schema, values[v]);
            } else {
                snprintf(want, sizeof(want), "$: expected %s, got %s", labels[t], labels[v]);
                invalid(schema, values[v], want);
            }
        }
    }
}

static void validate_integer_and_number(void **state)
{
    (void)state;
    valid("{\"type\": \"integer\"}", "3.0");
    valid("{\"type\": \"integer\"}", "-12");
    valid("{\"type\": \"integer\"}", "1e2");
    invalid("{\"type\": \"integer\"}", "3.5", "$: expected an integer, got a number");
    valid("{\"type\": \"number\"}", "7");
    valid("{\"type\": \"number\"}", "-0.25");
    valid("{\"type\": [\"string\", \"null\"]}", "null");
    invalid("{\"type\": [\"string\", \"null\"]}", "4",
            "$: expected a string or null, got an integer");
    invalid("{\"type\": [\"string\", \"integer\", \"boolean\"]}", "[]",
            "$: expected a string, an integer or a boolean, got an array");
}

static void validate_nested_paths(void **state)
{
    const char *schema = "{\"type\": \"object\", \"properties\": {"
                         "  \"a\": {\"type\": \"object\", \"properties\": {"
                         "     \"b\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}}}}}}";
    struct json_object *s = parse(schema), *v = parse("{\"a\": {\"b\": [\"x\", \"y\", 3]}}");
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(validate_json(s, v, &e), HE_INVALID);
    assert_string_equal(e.msg, "$.a.b[2]: expected a string, got an integer");
    assert_string_equal(e.field, "$.a.b[2]");
    json_object_put(s);
    json_object_put(v);

    valid(schema, "{\"a\": {\"b\": [\"x\"]}, \"c\": 1}");
    invalid("{\"properties\": {\"a b\": {\"items\": {\"type\": \"null\"}}}}",
            "{\"a b\": [null, 1]}", "$[\"a b\"][1]: expected null, got an integer");
    invalid("{\"items\": {\"properties\": {\"标题\": {\"type\": \"string\"}}}}",
            "[{}, {\"标题\": false}]", "$[1].标题: expected a string, got a boolean");
}

static void validate_object_keywords(void **state)
{
    const char *schema = "{\"type\": \"object\", \"required\": [\"name\", \"age\"],"
                         " \"properties\": {\"name\": {\"type\": \"string\"},"
                         "                  \"age\": {\"type\": \"integer\"}},"
                         " \"additionalProperties\": false}";
    (void)state;

    valid(schema, "{\"name\": \"x\", \"age\": 3}");
    invalid(schema, "{\"age\": 3}", "$: missing required property \"name\"");
    invalid(schema, "{\"name\": \"x\"}", "$: missing required property \"age\"");
    invalid(schema, "{\"name\": \"x\", \"age\": 3, \"extra\": 1}",
            "$: unexpected property \"extra\" (additionalProperties is false)");
    /* null satisfies "required" (the property is present). */
    valid("{\"required\": [\"a\"]}", "{\"a\": null}");
    /* additionalProperties as a schema applies to unlisted properties only. */
    valid("{\"properties\": {\"id\": {\"type\": \"string\"}},"
          " \"additionalProperties\": {\"type\": \"number\"}}",
          "{\"id\": \"a\", \"x\": 1, \"y\": 2.5}");
    invalid("{\"properties\": {\"id\": {\"type\": \"string\"}},"
            " \"additionalProperties\": {\"type\": \"number\"}}",
            "{\"id\": \"a\", \"x\": 1, \"y\": \"2\"}", "$.y: expected a number, got a string");
    valid("{\"additionalProperties\": true}", "{\"q\": 1}");
    /* Object keywords do not apply to other types. */
    valid("{\"required\": [\"a\"], \"additionalProperties\": false}", "[1]");
}

static void validate_array_keywords(void **state)
{
    const char *schema = "{\"type\": \"array\", \"minItems\": 1, \"maxItems\": 3,"
                         " \"items\": {\"type\": \"integer\", \"minimum\": 0}}";
    (void)state;

    valid(schema, "[0, 1, 2]");
    invalid(schema, "[]", "$: expected at least 1 item, got 0");
    invalid(schema, "[1, 2, 3, 4]", "$: expected at most 3 items, got 4");
    invalid(schema, "[1, -2]", "$[1]: expected at least 0, got -2");
    invalid("{\"minItems\": 2}", "[1]", "$: expected at least 2 items, got 1");
    invalid("{\"items\": false}", "[1]", "$[0]: no value is allowed here");
    valid("{\"items\": false}", "[]");
    valid("{\"properties\": {\"x\": true}}", "{\"x\": [1, {}]}");
}

static void validate_string_lengths_in_code_points(void **state)
{
    const char *schema = "{\"type\": \"string\", \"minLength\": 2, \"maxLength\": 4}";
    (void)state;

    valid(schema, "\"学习\"");     /* 2 code points, 6 bytes */
    valid(schema, "\"机器学习\""); /* 4 code points, 12 bytes */
    valid(schema, "\"ab😀\"");      /* 3 code points, one of them 4 bytes */
    invalid(schema, "\"学\"", "$: expected at least 2 characters, got 1");
    invalid(schema, "\"深度机器学习\"", "$: expected at most 4 characters, got 6");
    invalid("{\"maxLength\": 1}", "\"é\\u00e9\"", "$: expected at most 1 character, got 2");
    valid("{\"minLength\": 1}", "5"); /* string keywords ignore other types */
}

static void validate_number_bounds(void **state)
{
    const char *schema = "{\"type\": \"number\", \"minimum\": -1.5, \"maximum\": 10}";
    (void)state;

    valid(schema, "-1.5");
    valid(schema, "10");
    valid(schema, "10.0");
    invalid(schema, "-1.75", "$: expected at least -1.5, got -1.75");
    invalid(schema, "10.5", "$: expected at most 10, got 10.5");
    invalid(schema, "11", "$: expected at most 10, got 11");
    invalid("{\"maximum\": 9007199254740992}", "9007199254740993",
            "$: expected at most 9007199254740992, got 9007199254740993");
    valid("{\"minimum\": 0}", "\"-5\"");
}

static void validate_enum_structurally(void **state)
{
    const char *schema = "{\"enum\": [\"red\", 2, null, [1, {\"a\": true}], {\"k\": [1.0]}]}";
    (void)state;

    valid(schema, "\"red\"");
    valid(schema, "2.0"); /* the same number as 2 */
    valid(schema, "null");
    valid(schema, "[1, {\"a\": true}]");
    valid(schema, "{\"k\": [1]}");
    invalid(schema, "\"Red\"", "$: expected one of \"red\", 2, null, [...], {...}, got \"Red\"");
    invalid(schema, "[1, {\"a\": false}]",
            "$: expected one of \"red\", 2, null, [...], {...}, got [...]");
    invalid(schema, "{\"k\": [1], \"j\": 0}",
            "$: expected one of \"red\", 2, null, [...], {...}, got {...}");
    invalid("{\"properties\": {\"c\": {\"enum\": [\"红\", \"绿\"]}}}", "{\"c\": \"蓝\"}",
            "$.c: expected one of \"红\", \"绿\", got \"蓝\"");
}

static void first_error_wins(void **state)
{
    const char *schema = "{\"properties\": {\"a\": {\"type\": \"string\"},"
                         "                  \"b\": {\"type\": \"string\"}}}";
    struct json_object *s = parse(schema), *v = parse("{\"a\": 1, \"b\": 2}");
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(validate_json(s, v, &e), HE_INVALID);
    assert_string_equal(e.msg, "$.a: expected a string, got an integer");
    /* An error already recorded is kept. */
    err_clear(&e);
    err_set(&e, HE_PROVIDER, NULL, "earlier");
    assert_int_equal(validate_json(s, v, &e), HE_PROVIDER);
    assert_string_equal(e.msg, "earlier");
    json_object_put(s);
    json_object_put(v);
}

static void unchecked_schemas_do_not_break_validation(void **state)
{
    (void)state;
    /* Keywords of the wrong type are skipped rather than trusted. */
    valid("{\"type\": 5, \"required\": \"a\", \"properties\": [], \"items\": 3,"
          " \"enum\": {}, \"minLength\": \"x\", \"minimum\": null}",
          "{\"z\": \"\"}");
    valid("{\"type\": [\"bogus\", 1]}", "1");
    valid("{\"maxLength\": -1}", "\"abc\"");
}

/* ---- compiled schemas from text ---- */

static void schemas_from_text_are_shared(void **state)
{
    static const char text[] = "{ \"type\": \"object\", \"required\": [\"a\"] }";
    struct schema *a, *b, *other;
    struct json_object *v = parse("{\"b\": 1}");
    struct err e;
    char buf[64];

    (void)state;
    err_clear(&e);
    a = schema_from_text(text, &e);
    b = schema_from_text(text, &e);
    assert_non_null(a);
    assert_ptr_equal(a, b); /* compiled once */
    assert_string_equal(schema_text(a), "{\"type\":\"object\",\"required\":[\"a\"]}");
    assert_true(schema_wants_object(a));
    assert_int_equal(schema_validate(a, v, &e), HE_INVALID);
    assert_string_equal(e.msg, "$: missing required property \"a\"");
    /* more distinct texts than the cache holds: each still compiles right, and a reference
     * held outside the cache stays valid after its slot is reused */
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof(buf), "{\"type\": \"integer\", \"maximum\": %d}", i);
        err_clear(&e);
        other = schema_from_text(buf, &e);
        assert_non_null(other);
        assert_false(schema_wants_object(other));
        schema_unref(other);
    }
    err_clear(&e);
    assert_int_equal(schema_validate(a, v, &e), HE_INVALID);
    schema_unref(a);
    schema_unref(b);
    err_clear(&e);
    assert_null(schema_from_text("{\"type\": ", &e));
    assert_int_equal(e.code, HE_BAD_JSON);
    json_object_put(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(check_accepts_every_keyword),
        cmocka_unit_test(check_type_keyword),
        cmocka_unit_test(check_nested_paths),
        cmocka_unit_test(check_other_keywords),
        cmocka_unit_test(check_top_level),
        cmocka_unit_test(check_depth_limit),
        cmocka_unit_test(validate_types),
        cmocka_unit_test(validate_integer_and_number),
        cmocka_unit_test(validate_nested_paths),
        cmocka_unit_test(validate_object_keywords),
        cmocka_unit_test(validate_array_keywords),
        cmocka_unit_test(validate_string_lengths_in_code_points),
        cmocka_unit_test(validate_number_bounds),
        cmocka_unit_test(validate_enum_structurally),
        cmocka_unit_test(first_error_wins),
        cmocka_unit_test(unchecked_schemas_do_not_break_validation),
        cmocka_unit_test(schemas_from_text_are_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
