/* SPDX-License-Identifier: MIT */
/*
 * The count contract of list generation: which reply entries count as items, which two items
 * are the same one, and how many follow-up calls a short answer earns before it fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen/gen.h"
#include "gen/listgen.h"

/* listgen_item of a string entry: the kept text (malloc'd), or NULL when it counts for nothing. */
static char *item_text(const char *entry, bool name)
{
    struct json_object *in = json_object_new_string(entry), *out = listgen_item(in, name);
    char *text = NULL;
    if (out) {
        assert_true(json_object_is_type(out, json_type_string));
        text = strdup(json_object_get_string(out));
        json_object_put(out);
    }
    json_object_put(in);
    return text;
}

static void assert_item(const char *entry, bool name, const char *want)
{
    char *got = item_text(entry, name);
    if (!want) {
        if (got)
            fail_msg("\"%s\" kept as \"%s\", wanted dropped", entry, got);
    } else {
        if (!got)
            fail_msg("\"%s\" dropped, wanted \"%s\"", entry, want);
        assert_string_equal(got, want);
    }
    free(got);
}

static void strings_are_trimmed(void **state)
{
    (void)state;
    for (int name = 0; name < 2; name++) {
        assert_item("  Budget hotels\t\n", name, "Budget hotels");
        assert_item("\n\t 酒店 ", name, "酒店");
        assert_item("a  b", name, "a  b"); /* inner spaces stay */
        assert_item("x", name, "x");
    }
}

static void blank_strings_count_for_nothing(void **state)
{
    (void)state;
    for (int name = 0; name < 2; name++) {
        assert_item("", name, NULL);
        assert_item(" \t\n ", name, NULL);
    }
}

static void names_have_a_length_limit_in_characters(void **state)
{
    char s[3 * (LISTGEN_NAME_MAX_CHARS + 1) + 2];
    char *want;
    (void)state;
    /* 200 three-byte characters (600 bytes) are a name; 201 are not */
    for (size_t i = 0; i < LISTGEN_NAME_MAX_CHARS; i++)
        memcpy(s + 3 * i, "字", 3);
    memcpy(s + 3 * LISTGEN_NAME_MAX_CHARS, " ", 2); /* trimmed before counting */
    want = strndup(s, 3 * LISTGEN_NAME_MAX_CHARS);
    assert_item(s, true, want);
    memcpy(s + 3 * LISTGEN_NAME_MAX_CHARS, "字", 4);
    assert_item(s, true, NULL);
    assert_item(s, false, s); /* inputs have no such limit */
    free(want);
}

static void names_hold_no_control_characters(void **state)
{
    (void)state;
    assert_item("a\tb", true, NULL);
    assert_item("line\nbreak", true, NULL);
    assert_item("bell\a", true, NULL);
    assert_item("a\tb", false, "a\tb"); /* an input may span lines */
    assert_item("line\nbreak", false, "line\nbreak");
}

static void names_cannot_hold_the_topic_separator(void **state)
{
    (void)state;
    assert_item("Hotels>>>>>Budget", true, NULL);
    assert_item(">>>>>", true, NULL);
    assert_item("<html>", true, NULL); /* would run into the separator */
    assert_item(">quoted", true, NULL);
    assert_item("a>>>>b", true, "a>>>>b"); /* four '>' are not the separator */
    assert_item("C++ > C", true, "C++ > C");
    assert_item("Hotels>>>>>Budget", false, "Hotels>>>>>Budget"); /* inputs may */
}

static void other_entries_are_kept_as_they_are(void **state)
{
    struct json_object *o = json_object_new_object(), *n = json_object_new_int(7), *got;
    (void)state;
    json_object_object_add(o, "text", json_object_new_string("  padded  "));
    got = listgen_item(o, false);
    assert_ptr_equal(got, o); /* the same object, one more reference */
    json_object_put(got);
    got = listgen_item(n, true);
    assert_ptr_equal(got, n);
    json_object_put(got);
    json_object_put(o);
    json_object_put(n);
}

static char *key_of_text(const char *s)
{
    struct json_object *o = json_object_new_string(s);
    char *k = listgen_item_key(o);
    json_object_put(o);
    assert_non_null(k);
    return k;
}

static void assert_same_item(const char *a, const char *b, bool same)
{
    char *ka = key_of_text(a), *kb = key_of_text(b);
    if ((strcmp(ka, kb) == 0) != same)
        fail_msg("\"%s\" and \"%s\" are %s, wanted %s", a, b, same ? "different" : "the same",
                 same ? "the same" : "different");
    free(ka);
    free(kb);
}

static void names_compare_without_case_and_spaces(void **state)
{
    (void)state;
    assert_same_item("Machine Learning", "machine  learning", true);
    assert_same_item("Machine Learning", "MachineLearning", true);
    assert_same_item("机器　学习", "机器学习", true); /* U+3000, the ideographic space */
    assert_same_item("Machine Learning", "Machine Learnings", false);
    assert_same_item("Hotels", "Hôtels", false);
    assert_same_item("酒店", "旅店", false);
}

static void objects_compare_by_their_json(void **state)
{
    struct json_object *a = json_object_new_object(), *b = json_object_new_object();
    struct json_object *c = json_object_new_object();
    char *ka, *kb, *kc;
    (void)state;
    json_object_object_add(a, "text", json_object_new_string("Hello"));
    json_object_object_add(b, "text", json_object_new_string("Hello"));
    json_object_object_add(c, "text", json_object_new_string("hello"));
    ka = listgen_item_key(a);
    kb = listgen_item_key(b);
    kc = listgen_item_key(c);
    assert_string_equal(ka, kb);
    assert_string_not_equal(ka, kc); /* object inputs are not names: case matters */
    free(ka);
    free(kb);
    free(kc);
    json_object_put(a);
    json_object_put(b);
    json_object_put(c);
}

static void a_full_list_is_done(void **state)
{
    (void)state;
    for (int calls = 1; calls <= 10; calls++) {
        assert_int_equal(listgen_next(5, 5, calls), LISTGEN_DONE);
        assert_int_equal(listgen_next(1, 1, calls), LISTGEN_DONE);
    }
}

static void a_short_list_earns_three_follow_ups(void **state)
{
    (void)state;
    assert_int_equal(GEN_MAX_FOLLOWUPS, 3);
    /* the first call and three follow-ups: a list still short after the fourth call fails */
    for (int calls = 1; calls <= 3; calls++) {
        assert_int_equal(listgen_next(0, 5, calls), LISTGEN_FOLLOW_UP);
        assert_int_equal(listgen_next(4, 5, calls), LISTGEN_FOLLOW_UP);
    }
    assert_int_equal(listgen_next(4, 5, 4), LISTGEN_SHORT);
    assert_int_equal(listgen_next(0, 5, 4), LISTGEN_SHORT);
    assert_int_equal(listgen_next(99, 100, 5), LISTGEN_SHORT);
    /* one item short is a shortfall, however many there are */
    assert_int_equal(listgen_next(GEN_MAX_COUNT - 1, GEN_MAX_COUNT, 1), LISTGEN_FOLLOW_UP);
    assert_int_equal(listgen_next(GEN_MAX_COUNT, GEN_MAX_COUNT, 4), LISTGEN_DONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_are_trimmed),
        cmocka_unit_test(blank_strings_count_for_nothing),
        cmocka_unit_test(names_have_a_length_limit_in_characters),
        cmocka_unit_test(names_hold_no_control_characters),
        cmocka_unit_test(names_cannot_hold_the_topic_separator),
        cmocka_unit_test(other_entries_are_kept_as_they_are),
        cmocka_unit_test(names_compare_without_case_and_spaces),
        cmocka_unit_test(objects_compare_by_their_json),
        cmocka_unit_test(a_full_list_is_done),
        cmocka_unit_test(a_short_list_earns_three_follow_ups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
