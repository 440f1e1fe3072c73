/* SPDX-License-Identifier: MIT */
/*
 * The rules of names (gen/names.c): a topic name is one line and stays one name when its path is
 * written as "a>>>>>b"; a model or provider name is one line. And how a topic path given as a
 * string is split: the separator's edge cases either split back into the same names or are
 * refused, naming the field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen/gen.h"
#include "util/json.h"

static const char *fault(const char *s)
{
    return gen_topic_name_fault(s, strlen(s));
}

static void topic_names_that_pass(void **state)
{
    (void)state;
    assert_null(fault("科学"));
    assert_null(fault("a>>>>b")); /* four '>' are not the separator */
    assert_null(fault("C++ > C"));
    assert_null(fault("a/b"));
    assert_null(fault("tab\xc2\xa0nbsp")); /* U+00A0 is no control character */
}

static void topic_names_that_do_not(void **state)
{
    const char *sep = "must not hold \">>>>>\", the separator of topic paths";
    const char *edge = "must not begin or end with '>', which would run into the separator "
                       "\">>>>>\"";
    const char *ctl = "must be one line without control characters";
    (void)state;
    assert_string_equal(fault("a>>>>>b"), sep);
    assert_string_equal(fault(">>>>>"), sep);
    assert_string_equal(fault("a>>>>>>b"), sep);
    assert_string_equal(fault("<html>"), edge);
    assert_string_equal(fault(">b"), edge);
    assert_string_equal(fault(">"), edge);
    assert_string_equal(fault("a\x1f"), ctl); /* the unit separator of stored topic keys */
    assert_string_equal(fault("two\nlines"), ctl);
    assert_string_equal(fault("del\x7f"), ctl);
    assert_string_equal(fault("nel\xc2\x85"), ctl); /* U+0085, a C1 control */
    /* only len bytes are looked at */
    assert_null(gen_topic_name_fault("ab>>>>>", 2));
}

/* gen_check_model_name of s: its error message, or NULL when it passes. */
static char *model_error(const char *s)
{
    static struct err e;
    err_clear(&e);
    if (gen_check_model_name("output_model_name", s, &e) == 0)
        return NULL;
    assert_int_equal(e.code, HE_INVALID);
    assert_string_equal(e.field, "output_model_name");
    return e.msg;
}

static void model_names_are_one_line(void **state)
{
    const char *ctl = "output_model_name must be one line without control characters";
    char long_name[3 * (MODEL_MAX_CHARS + 1) + 1] = "";
    (void)state;
    assert_null(model_error(NULL));
    assert_null(model_error("Qwen/Qwen2.5-72B-Instruct-Turbo"));
    assert_null(model_error("gpt-4o:latest+x=1"));
    assert_string_equal(model_error("m\r\nX-Injected: 1"), ctl);
    assert_string_equal(model_error("m\n"), ctl);
    assert_string_equal(model_error("\tm"), ctl);
    assert_string_equal(model_error("m\x7f"), ctl);
    assert_string_equal(model_error("m\xc2\x9f"), ctl);
    for (size_t i = 0; i < MODEL_MAX_CHARS; i++) /* 200 three-byte characters are a name */
        memcpy(long_name + 3 * i, "模", 4);
    assert_null(model_error(long_name));
    memcpy(long_name + 3 * MODEL_MAX_CHARS, "模", 4);
    assert_string_equal(model_error(long_name), "output_model_name must be at most 200 characters");
}

static void model_names_in_a_body(void **state)
{
    struct json_object *body = json_tokener_parse(
        "{\"model_name\": \"m\\r\\nHost: evil\", \"provider\": \"together_ai\", \"empty\": \"\"}");
    const char *got = NULL;
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(gen_get_model_name(body, NULL, "provider", JF_REQUIRED, &got, &e), 0);
    assert_string_equal(got, "together_ai");
    assert_int_equal(gen_get_model_name(body, "samples[2]", "model_name", JF_NULLABLE, &got, &e),
                     HE_INVALID);
    assert_string_equal(e.field, "samples[2].model_name");
    assert_string_equal(e.msg, "samples[2].model_name must be one line without control characters");
    assert_string_equal(got, "together_ai"); /* written only on success */
    err_clear(&e);
    assert_int_equal(gen_get_model_name(body, NULL, "empty", JF_REQUIRED, &got, &e), HE_INVALID);
    assert_string_equal(e.msg, "empty must not be empty");
    err_clear(&e);
    assert_int_equal(gen_get_model_name(body, NULL, "absent", JF_NULLABLE, &got, &e), 0);
    assert_string_equal(got, "together_ai");
    json_object_put(body);
}

/* gen_parse_topic_path of the JSON value `json`: the names joined with '|', or the error's
 * "field: message". */
static char *topic(const char *json)
{
    static char out[512];
    struct json_object *body = json_object_new_object(), *list = NULL;
    struct err e;

    json_object_object_add(body, "topic_path", json_tokener_parse(json));
    err_clear(&e);
    if (gen_parse_topic_path(body, NULL, "topic_path", true, &list, &e) < 0) {
        snprintf(out, sizeof(out), "%s: %s", e.field, e.msg);
    } else {
        out[0] = '\0';
        for (size_t i = 0; i < json_object_array_length(list); i++)
            snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? "|" : "",
                     json_object_get_string(json_object_array_get_idx(list, i)));
    }
    json_object_put(list);
    json_object_put(body);
    return out;
}

static void topic_paths_as_lists(void **state)
{
    (void)state;
    assert_string_equal(topic("[\"a\", \"b\"]"), "a|b");
    assert_string_equal(topic("[\"root\", \"a>>>>b\"]"), "a>>>>b");
    assert_string_equal(topic("[\"a>>>>>b\"]"),
                        "topic_path[0]: topic_path[0] must not hold \">>>>>\", the separator of "
                        "topic paths");
    assert_string_equal(topic("[\"a>\", \"b\"]"),
                        "topic_path[0]: topic_path[0] must not begin or end with '>', which "
                        "would run into the separator \">>>>>\"");
    assert_string_equal(topic("[\"a\", \"b\\u001fc\"]"),
                        "topic_path[1]: topic_path[1] must be one line without control "
                        "characters");
}

static void topic_paths_as_strings(void **state)
{
    (void)state;
    assert_string_equal(topic("\"a>>>>>b\""), "a|b");
    assert_string_equal(topic("\"x>>>>>y/z\""), "x|y/z");
    assert_string_equal(topic("\"a>>>>b\""), "a>>>>b"); /* no separator: split on '/' */
    assert_string_equal(topic("\"/a/b/\""), "a|b");     /* '/' keeps skipping empty names */
    /* six '>': "a" then ">b", which would not split back the same */
    assert_string_equal(topic("\"a>>>>>>b\""),
                        "topic_path: topic_path: topic name 2 must not begin or end with '>', "
                        "which would run into the separator \">>>>>\"");
    assert_string_equal(topic("\"a>/b\""),
                        "topic_path: topic_path: topic name 1 must not begin or end with '>', "
                        "which would run into the separator \">>>>>\"");
    /* empty names around ">>>>>", refused as file imports refuse them */
    assert_string_equal(topic("\">>>>>a>>>>>b\""),
                        "topic_path: topic_path: topic name 1 is empty (a separator at either "
                        "end, or two in a row)");
    assert_string_equal(topic("\"a>>>>>b>>>>>\""),
                        "topic_path: topic_path: topic name 3 is empty (a separator at either "
                        "end, or two in a row)");
    assert_string_equal(topic("\"a>>>>>>>>>>b\""),
                        "topic_path: topic_path: topic name 2 is empty (a separator at either "
                        "end, or two in a row)");
    assert_string_equal(topic("\"a>>>>>b\\u001fc\""),
                        "topic_path: topic_path: topic name 2 must be one line without control "
                        "characters");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(topic_names_that_pass),    cmocka_unit_test(topic_names_that_do_not),
        cmocka_unit_test(model_names_are_one_line), cmocka_unit_test(model_names_in_a_body),
        cmocka_unit_test(topic_paths_as_lists),     cmocka_unit_test(topic_paths_as_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
