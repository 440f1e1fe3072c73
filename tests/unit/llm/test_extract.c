/* SPDX-License-Identifier: MIT */
/* Reply reading: think blocks split off, JSON found in fences or prose, clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm/extract.h"
#include "util/json.h"

/* ---- extract_think ---- */

static void think(const char *content, const char *want_reasoning, const char *want_rest)
{
    char *reasoning = (char *)"unset", *rest = NULL;
    struct err e;

    err_clear(&e);
    assert_int_equal(extract_think(content, strlen(content), &reasoning, &rest, &e), 0);
    if (want_reasoning)
        assert_non_null(reasoning);
    if (want_reasoning && strcmp(reasoning, want_reasoning) != 0)
        fail_msg("reasoning of %s\n  got:  [%s]\n  want: [%s]", content, reasoning, want_reasoning);
    if (!want_reasoning && reasoning)
        fail_msg("reasoning of %s should be NULL, got [%s]", content, reasoning);
    if (strcmp(rest, want_rest) != 0)
        fail_msg("rest of %s\n  got:  [%s]\n  want: [%s]", content, rest, want_rest);
    free(reasoning);
    free(rest);
}

static void think_none(void **state)
{
    (void)state;
    think("  {\"a\": 1}\n", NULL, "{\"a\": 1}");
    think("", NULL, "");
    think("<thinking>not our tag</thinking> x", NULL, "<thinking>not our tag</thinking> x");
}

static void think_one_block(void **state)
{
    (void)state;
    think("<think>\nThe user wants JSON.\n</think>\n\n{\"a\": 1}", "The user wants JSON.",
          "{\"a\": 1}");
    think("<think>让我想想：用户需要中文。</think>答案是：学习", "让我想想：用户需要中文。",
          "答案是：学习");
    /* An empty block (thinking switched off) is no reasoning. */
    think("<think>\n\n</think>\n\nHello", NULL, "Hello");
}

static void think_several_blocks(void **state)
{
    (void)state;
    think("<think>first</think>A <think> second </think>B\n<think>third\n</think>",
          "first\n\nsecond\n\nthird", "A B");
}

static void think_unterminated(void **state)
{
    (void)state;
    /* At the start: the model was cut off while thinking. */
    think("<think>I am still thinking about {\"a\":", "I am still thinking about {\"a\":", "");
    think("  \n<think>one</think>\n<think>two, cut off", "one\n\ntwo, cut off", "");
    /* After the answer began it is ordinary text. */
    think("Use the <think> tag to reason.", NULL, "Use the <think> tag to reason.");
}

static void think_opened_by_the_template(void **state)
{
    (void)state;
    think("The prompt opened the block.\n</think>\n\n{\"ok\": true}",
          "The prompt opened the block.", "{\"ok\": true}");
}

/* ---- extract_json ---- */

static void found(const char *text, const char *want_json)
{
    struct json_object *o = NULL, *want = NULL;
    struct err e;

    err_clear(&e);
    if (extract_json(text, strlen(text), &o, &e) != 0)
        fail_msg("no JSON extracted from %s: %s", text, e.msg);
    assert_int_equal(json_parse(want_json, strlen(want_json), &want, &e), 0);
    if (!json_object_equal(o, want))
        fail_msg("from %s\n  got:  %s\n  want: %s", text, json_text(o, NULL), want_json);
    json_object_put(o);
    json_object_put(want);
}

static void not_found(const char *text, const char *want_msg)
{
    struct json_object *sentinel = json_object_new_object(), *o = sentinel;
    struct err e;

    err_clear(&e);
    assert_int_equal(extract_json(text, strlen(text), &o, &e), HE_INVALID);
    assert_ptr_equal(o, sentinel); /* untouched on failure */
    if (strcmp(e.msg, want_msg) != 0)
        fail_msg("from %s\n  got:  %s\n  want: %s", text, e.msg, want_msg);
    json_object_put(sentinel);
}

static void json_whole_text(void **state)
{
    (void)state;
    found("{\"a\": [1, 2]}", "{\"a\": [1, 2]}");
    found("\n\t [\"x\"] \n", "[\"x\"]");
    found("\xEF\xBB\xBF{\"bom\": 1}", "{\"bom\": 1}");
    found("42", "42");
}

static void json_in_fences(void **state)
{
    (void)state;
    found("```json\n{\"a\": 1}\n```", "{\"a\": 1}");
    found("```JSON\n{\"a\": 1}\n```", "{\"a\": 1}");
    found("```\n[1, 2]\n```", "[1, 2]");
    found("```json {\"inline\": true} ```", "{\"inline\": true}");
    found("Here you go:\n\n```json\n{\"a\": \"b\"}\n```\n\nLet me know if you need more.",
          "{\"a\": \"b\"}");
    /* Other languages are skipped; the first json/bare fence that parses wins. */
    found("```python\nx = {\"no\": 1}\n```\n```json\n{\"yes\": 1}\n```", "{\"yes\": 1}");
    found("```json\n{\"broken\": \n```\nFixed:\n```json\n{\"fixed\": 2}\n```\n```json\n{\"third\": "
          "3}\n```",
          "{\"fixed\": 2}");
    /* A fence inside a JSON string does not end the block. */
    found("```json\n{\"code\": \"```python\\nprint(1)\\n```\", \"n\": 1}\n```",
          "{\"code\": \"```python\\nprint(1)\\n```\", \"n\": 1}");
    /* A reply cut off before the closing fence. */
    found("```json\n{\"a\": [1, 2]}\n", "{\"a\": [1, 2]}");
    found("以下是结果：\n```json\n{\"标题\": \"机器学习\"}\n```\n希望对你有帮助。",
          "{\"标题\": \"机器学习\"}");
}

static void json_in_prose(void **state)
{
    (void)state;
    found("Here is the JSON: {\"a\": 1}. Hope it helps", "{\"a\": 1}");
    found("The list is [\"x\", \"y\"] as requested.", "[\"x\", \"y\"]");
    found("这是结果：{\"名字\": \"张三\", \"年龄\": 30}。希望有帮助！",
          "{\"名字\": \"张三\", \"年龄\": 30}");
    /* Braces in prose before the JSON do not confuse the search. */
    found("Use {curly braces} for objects: {\"a\": true}", "{\"a\": true}");
    found("I will open { but never close it. {\"b\": 2}", "{\"b\": 2}");
    /* Outer arrays are kept whole. */
    found("Result: [{\"a\": 1}, {\"b\": 2}] done", "[{\"a\": 1}, {\"b\": 2}]");
}

static void json_braces_inside_strings(void **state)
{
    (void)state;
    found("Answer: {\"text\": \"a } b { c ] [\", \"q\": \"say \\\"}\\\" now\"} end",
          "{\"text\": \"a } b { c ] [\", \"q\": \"say \\\"}\\\" now\"}");
    found("x {\"s\": \"\\\\\"} y", "{\"s\": \"\\\\\"}");
    found("结果 {\"诗\": \"春眠不觉晓{处处闻啼鸟}\"} 完", "{\"诗\": \"春眠不觉晓{处处闻啼鸟}\"}");
}

static void reasoning_and_json_together(void **state)
{
    const char *reply =
        "<think>\nThe schema needs {\"topic\": string}. Let me write it.\n</think>\n"
        "Sure! ```json\n{\"topic\": \"光合作用\"}\n```";
    char *reasoning = NULL, *rest = NULL;
    struct json_object *o = NULL;
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(extract_think(reply, strlen(reply), &reasoning, &rest, &e), 0);
    assert_string_equal(reasoning, "The schema needs {\"topic\": string}. Let me write it.");
    assert_int_equal(extract_json(rest, strlen(rest), &o, &e), 0);
    assert_string_equal(json_text(o, NULL), "{\"topic\":\"光合作用\"}");
    json_object_put(o);
    free(reasoning);
    free(rest);
}

static void no_json_errors(void **state)
{
    (void)state;
    not_found("", "no JSON found in the reply: it is empty");
    not_found(" \n\t", "no JSON found in the reply: it is empty");
    not_found("I cannot help with that.", "no JSON found in the reply");
    not_found("我无法回答这个问题。", "no JSON found in the reply");
    not_found("Here: {\"a\": [1, 2", "no JSON found in the reply: the '{' at line 1 column 7 is "
                                     "never closed");
    not_found("{\"a\": 1,}",
              "no valid JSON in the reply: the reply does not parse: malformed JSON at line 1 "
              "column 9: unexpected character");
    not_found("Text\n```json\n{\"a\": tru}\n```",
              "no valid JSON in the reply: the ```json block at line 3 column 1 does not parse: "
              "malformed JSON at line 1 column 10: boolean expected");
    not_found("Prose {\"a\": x} more",
              "no valid JSON in the reply: the {...} span at line 1 column 7 does not parse: "
              "malformed JSON at line 1 column 7: unexpected character");
}

static void bounded_on_adversarial_input(void **state)
{
    static const char *const units[] = {"{", "[", "```", "{\"", "{a}", "\\\"", "<think>"};
    size_t n = 100 * 1024;
    char *text = malloc(n + 1);
    (void)state;

    assert_non_null(text);
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        size_t ul = strlen(units[u]);
        struct json_object *o = NULL;
        char *reasoning = NULL, *rest = NULL;
        struct err e;

        for (size_t i = 0; i < n; i++)
            text[i] = units[u][i % ul];
        text[n] = '\0';
        err_clear(&e);
        assert_int_equal(extract_json(text, n, &o, &e), HE_INVALID);
        err_clear(&e);
        assert_int_equal(extract_think(text, n, &reasoning, &rest, &e), 0);
        free(reasoning);
        free(rest);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(think_none),
        cmocka_unit_test(think_one_block),
        cmocka_unit_test(think_several_blocks),
        cmocka_unit_test(think_unterminated),
        cmocka_unit_test(think_opened_by_the_template),
        cmocka_unit_test(json_whole_text),
        cmocka_unit_test(json_in_fences),
        cmocka_unit_test(json_in_prose),
        cmocka_unit_test(json_braces_inside_strings),
        cmocka_unit_test(reasoning_and_json_together),
        cmocka_unit_test(no_json_errors),
        cmocka_unit_test(bounded_on_adversarial_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
