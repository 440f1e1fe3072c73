/* SPDX-License-Identifier: MIT */
/*
 * The prompt builders against the exact texts they must produce: the task prompt, the guidance
 * block, the topic-tree and input-generation requests, and the output system prompt of every
 * prompt method (with and without guidance, with few-shot and repair examples, and the
 * chain-of-thought turns).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "gen/prompt.h"
#include "util/buf.h"

#define INSTRUCTION "Translate the sentence into English."
#define REQUIREMENTS                                                                \
    "[{\"name\": \"short\", \"instruction\": \"Keep it short.\", \"priority\": 1}," \
    " {\"name\": \"uk\", \"instruction\": \"Use British spelling.\", \"priority\": 2}]"
#define INPUT_SCHEMA "{\"type\": \"object\", \"properties\": {\"text\": {\"type\": \"string\"}}}"

/* prompt_task of the task above */
#define TASK_TEXT                                                \
    "Translate the sentence into English.\n"                     \
    "\n"                                                         \
    "Your response should respect the following requirements:\n" \
    "1) Keep it short.\n"                                        \
    "2) Use British spelling.\n"

#define GUIDANCE "Prefer a formal register."
#define GUIDANCE_TEXT                                                                     \
    "\n"                                                                                  \
    "\n"                                                                                  \
    "# Additional instructions\n"                                                         \
    "The user gave these additional instructions. Follow them; where they conflict with " \
    "anything above, they take precedence.\n"                                             \
    "<additional_instructions>\n"                                                         \
    "Prefer a formal register.\n"                                                         \
    "</additional_instructions>\n"

/* the system message of both list requests */
#define DATASET_SYSTEM                                                                          \
    "You help build a synthetic dataset for training and evaluating a language model on a "     \
    "task. The dataset is organised as a tree of topics, from general to specific, so that it " \
    "covers the task broadly and evenly.\n"                                                     \
    "\n"                                                                                        \
    "The task the data is for:\n"                                                               \
    "<task>\n" TASK_TEXT "\n"                                                                   \
    "</task>\n"

static struct task make_task(void)
{
    struct task t;
    memset(&t, 0, sizeof(t));
    t.instruction = INSTRUCTION;
    t.requirements = REQUIREMENTS;
    return t;
}

static struct json_object *path_of(const char *a, const char *b)
{
    struct json_object *p = json_object_new_array();
    if (a)
        json_object_array_add(p, json_object_new_string(a));
    if (b)
        json_object_array_add(p, json_object_new_string(b));
    return p;
}

/* ---- prompt methods ---- */

static void method_names_round_trip(void **state)
{
    static const char *const names[PM_COUNT] = {
        "simple_prompt_builder",
        "few_shot_prompt_builder",
        "multi_shot_prompt_builder",
        "repairs_prompt_builder",
        "simple_chain_of_thought_prompt_builder",
        "few_shot_chain_of_thought_prompt_builder",
        "multi_shot_chain_of_thought_prompt_builder",
    };
    (void)state;
    for (int m = 0; m < PM_COUNT; m++) {
        assert_string_equal(prompt_method_name((enum prompt_method)m), names[m]);
        assert_int_equal(prompt_method_parse(names[m]), m);
        assert_non_null(strstr(prompt_method_list(), names[m]));
    }
    assert_int_equal(prompt_method_parse("default"), PM_SIMPLE);
    assert_int_equal(prompt_method_parse(""), PM_SIMPLE);
    assert_int_equal(prompt_method_parse(NULL), PM_SIMPLE);
    assert_int_equal(prompt_method_parse("magic_prompt"), -1);
    assert_int_equal(prompt_method_parse("Simple_prompt_builder"), -1);
    assert_int_equal(prompt_method_parse("simple_prompt_builder "), -1);
    assert_string_equal(prompt_method_list(),
                        "default, simple_prompt_builder, few_shot_prompt_builder, "
                        "multi_shot_prompt_builder, repairs_prompt_builder, "
                        "simple_chain_of_thought_prompt_builder, "
                        "few_shot_chain_of_thought_prompt_builder, "
                        "multi_shot_chain_of_thought_prompt_builder");
}

static void method_examples_and_thinking(void **state)
{
    (void)state;
    assert_int_equal(prompt_method_examples(PM_SIMPLE), 0);
    assert_int_equal(prompt_method_examples(PM_FEW_SHOT), 4);
    assert_int_equal(prompt_method_examples(PM_MULTI_SHOT), 25);
    assert_int_equal(prompt_method_examples(PM_REPAIRS), 25);
    assert_int_equal(prompt_method_examples(PM_SIMPLE_COT), 0);
    assert_int_equal(prompt_method_examples(PM_FEW_SHOT_COT), 4);
    assert_int_equal(prompt_method_examples(PM_MULTI_SHOT_COT), 25);
    assert_false(prompt_method_cot(PM_SIMPLE));
    assert_false(prompt_method_cot(PM_FEW_SHOT));
    assert_false(prompt_method_cot(PM_MULTI_SHOT));
    assert_false(prompt_method_cot(PM_REPAIRS));
    assert_true(prompt_method_cot(PM_SIMPLE_COT));
    assert_true(prompt_method_cot(PM_FEW_SHOT_COT));
    assert_true(prompt_method_cot(PM_MULTI_SHOT_COT));
}

/* ---- the task prompt and the guidance block ---- */

static void task_prompt_numbers_requirements(void **state)
{
    struct task t = make_task();
    struct buf b;
    (void)state;
    buf_init(&b, PROMPT_MAX);
    assert_int_equal(prompt_task(&t, &b), 0);
    assert_string_equal(b.data, TASK_TEXT);
    buf_done(&b);
}

static void task_prompt_without_requirements_is_the_instruction(void **state)
{
    static const char *const none[] = {"[]", NULL, "not json", "{\"a\": 1}"};
    struct task t = make_task();
    struct buf b;
    (void)state;
    buf_init(&b, PROMPT_MAX);
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        t.requirements = (char *)none[i];
        buf_reset(&b);
        assert_int_equal(prompt_task(&t, &b), 0);
        assert_string_equal(b.data, INSTRUCTION);
    }
    buf_done(&b);
}

static void guidance_block_only_when_given(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, PROMPT_MAX);
    assert_int_equal(prompt_guidance(NULL, &b), 0);
    assert_int_equal(prompt_guidance("", &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(prompt_guidance(GUIDANCE, &b), 0);
    assert_string_equal(b.data, GUIDANCE_TEXT);
    buf_done(&b);
}

static void topic_paths(void **state)
{
    struct json_object *p;
    struct buf b;
    (void)state;
    buf_init(&b, PROMPT_MAX);
    assert_int_equal(prompt_topic_path(NULL, &b), 0);
    assert_string_equal(b.data, "(the root: the task as a whole)");
    buf_reset(&b);
    p = path_of(NULL, NULL);
    assert_int_equal(prompt_topic_path(p, &b), 0);
    assert_string_equal(b.data, "(the root: the task as a whole)");
    json_object_put(p);
    buf_reset(&b);
    p = path_of("旅行", NULL);
    assert_int_equal(prompt_topic_path(p, &b), 0);
    assert_string_equal(b.data, "旅行");
    json_object_put(p);
    buf_reset(&b);
    p = path_of("旅行", "Hotels > Budget");
    assert_int_equal(prompt_topic_path(p, &b), 0);
    assert_string_equal(b.data, "旅行 > Hotels > Budget");
    json_object_put(p);
    buf_done(&b);
}

/* ---- subtopics and inputs ---- */

#define CATEGORIES_ASK(n)                                                                       \
    "\n"                                                                                        \
    "\n"                                                                                        \
    "Generate exactly " #n " subtopics of the current topic. Each subtopic is a short name (a " \
    "few words), more specific than the current topic, relevant to the task, and clearly "      \
    "different from the others.\n"
#define CATEGORIES_ANSWER(n) \
    "\n"                     \
    "Answer with a JSON object {\"subtopics\": [...]} holding exactly " #n " strings."
#define SAMPLES_ASK(n)                                                                           \
    "\n"                                                                                         \
    "\n"                                                                                         \
    "Generate exactly " #n " diverse inputs for the task about this topic. They are the inputs " \
    "a user would give to a model performing the task, not answers to the task and not "         \
    "solutions: do not answer them. Vary their style, length and difficulty, and make each one " \
    "different from the others.\n"
#define SAMPLES_ANSWER(n) \
    "\n"                  \
    "Answer with a JSON object {\"generated_samples\": [...]} holding exactly " #n " items."

typedef int list_prompt_cb(const struct task *t, struct json_object *path, size_t count,
                           const char *guidance, char *const *exclude, size_t n_exclude,
                           struct buf *system, struct buf *user);

/* One list request: the system message is always the dataset one; the user message is `want`. */
static void check_list_prompt(list_prompt_cb *fn, const struct task *t, struct json_object *path,
                              size_t count, const char *guidance, char *const *exclude,
                              size_t n_exclude, const char *want)
{
    struct buf sys, user;
    buf_init(&sys, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    assert_int_equal(fn(t, path, count, guidance, exclude, n_exclude, &sys, &user), 0);
    assert_string_equal(sys.data, DATASET_SYSTEM);
    assert_string_equal(user.data, want);
    buf_done(&sys);
    buf_done(&user);
    json_object_put(path);
}

static void categories_plain(void **state)
{
    struct task t = make_task();
    (void)state;
    check_list_prompt(prompt_categories, &t, path_of("旅行", "酒店"), 3, NULL, NULL, 0,
                      "Current topic path, from general to specific: 旅行 > 酒店" CATEGORIES_ASK(3)
                          CATEGORIES_ANSWER(3));
}

static void categories_at_root_with_exclusions_and_guidance(void **state)
{
    char *exclude[] = {"Budget hotels", "机票"};
    struct task t = make_task();
    (void)state;
    check_list_prompt(prompt_categories, &t, NULL, 7, GUIDANCE, exclude, 2,
                      "Current topic path, from general to specific: (the root: the task as a "
                      "whole)" CATEGORIES_ASK(
                          7) "\n"
                             "These subtopics already exist; do not repeat any of them or a close "
                             "variant:\n"
                             "- Budget hotels\n"
                             "- 机票\n" GUIDANCE_TEXT CATEGORIES_ANSWER(7));
}

static void samples_plain_with_guidance(void **state)
{
    struct task t = make_task();
    (void)state;
    check_list_prompt(prompt_samples, &t, path_of("旅行", NULL), 2, GUIDANCE, NULL, 0,
                      "Topic path, from general to specific: 旅行" SAMPLES_ASK(2)
                          GUIDANCE_TEXT SAMPLES_ANSWER(2));
}

static void samples_with_schema_and_exclusions(void **state)
{
    char *exclude[] = {"{\"text\":\"a\"}"};
    struct task t = make_task();
    (void)state;
    t.input_json_schema = INPUT_SCHEMA;
    check_list_prompt(
        prompt_samples, &t, path_of("a", "b"), 4, NULL, exclude, 1,
        "Topic path, from general to specific: a > b" SAMPLES_ASK(
            4) "Each input is a JSON object that matches this JSON schema:\n" INPUT_SCHEMA "\n"
               "\n"
               "These inputs already exist; do not repeat them:\n"
               "- {\"text\":\"a\"}\n" SAMPLES_ANSWER(4));
}

static void list_prompts_over_the_limit_fail(void **state)
{
    char *exclude[] = {"one"};
    struct task t = make_task();
    struct buf sys, user;
    size_t len;
    (void)state;
    buf_init(&sys, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    assert_int_equal(prompt_categories(&t, NULL, 2, NULL, NULL, 0, &sys, &user), 0);
    len = user.len;
    buf_done(&user);
    buf_init(&user, len); /* exactly the room the request takes: it fits */
    buf_reset(&sys);
    assert_int_equal(prompt_categories(&t, NULL, 2, NULL, NULL, 0, &sys, &user), 0);
    assert_int_equal(user.len, len);
    buf_reset(&sys); /* one name to exclude more: it does not */
    buf_reset(&user);
    assert_int_equal(prompt_categories(&t, NULL, 2, NULL, exclude, 1, &sys, &user), HE_TOO_LARGE);
    buf_done(&sys);
    buf_init(&sys, strlen(DATASET_SYSTEM) - 1); /* the system message is one byte too long */
    buf_reset(&user);
    assert_int_equal(prompt_samples(&t, NULL, 2, NULL, NULL, 0, &sys, &user), HE_TOO_LARGE);
    buf_done(&sys);
    buf_done(&user);
}

/* ---- the output system prompt of each method ---- */

static const struct prompt_example two_examples[] = {
    {"Bonjour", "Hello", NULL, NULL},
    {"Merci", "Thank you", NULL, NULL},
};

#define EXAMPLES_INTRO TASK_TEXT "\n\nHere are examples of inputs and their ideal outputs:\n"
#define EXAMPLE(n, input) \
    "\n"                  \
    "## Example " #n "\n" \
    "\n"                  \
    "Input: " input "\n"
#define SHOWN(label, output) "\n" label ": " output "\n"
#define FEW_SHOT_TEXT                                                                 \
    EXAMPLES_INTRO EXAMPLE(1, "Bonjour") SHOWN("Output", "Hello") EXAMPLE(2, "Merci") \
        SHOWN("Output", "Thank you")

static void check_output_system(enum prompt_method m, const struct prompt_example *examples,
                                size_t n, const char *guidance, const char *want)
{
    struct task t = make_task();
    struct buf b;
    buf_init(&b, PROMPT_MAX);
    assert_int_equal(prompt_output_system(&t, m, examples, n, guidance, &b), 0);
    assert_string_equal(b.data, want);
    buf_done(&b);
}

static void output_system_simple(void **state)
{
    (void)state;
    check_output_system(PM_SIMPLE, NULL, 0, NULL, TASK_TEXT);
    check_output_system(PM_SIMPLE, NULL, 0, GUIDANCE, TASK_TEXT GUIDANCE_TEXT);
}

static void output_system_few_shot(void **state)
{
    (void)state;
    check_output_system(PM_FEW_SHOT, two_examples, 2, NULL, FEW_SHOT_TEXT);
    check_output_system(PM_MULTI_SHOT, two_examples, 2, GUIDANCE, FEW_SHOT_TEXT GUIDANCE_TEXT);
    /* a few-shot method with no saved examples yet: the task alone */
    check_output_system(PM_FEW_SHOT, NULL, 0, NULL, TASK_TEXT);
}

static const struct prompt_example repaired_examples[] = {
    {"Bonjour", "Good day", "Too casual; be formal.", "Hi"},
    {"Merci", "Thank you", NULL, NULL},
};

static void output_system_repairs(void **state)
{
    (void)state;
    check_output_system(PM_REPAIRS, repaired_examples, 2, GUIDANCE,
                        TASK_TEXT
                        "\n"
                        "\n"
                        "Here are examples of inputs, with earlier outputs, the "
                        "corrections asked for, and the corrected outputs. Learn from "
                        "the corrections:\n" EXAMPLE(
                            1, "Bonjour") "\n"
                                          "Earlier output: Hi\n"
                                          "\n"
                                          "Correction asked for: Too casual; be formal.\n" SHOWN(
                                              "Corrected output", "Good day") EXAMPLE(2, "Merci")
                                              SHOWN("Output", "Thank you") GUIDANCE_TEXT);
}

static void other_methods_show_repaired_examples_plainly(void **state)
{
    (void)state;
    check_output_system(PM_FEW_SHOT, repaired_examples, 2, NULL,
                        EXAMPLES_INTRO EXAMPLE(1, "Bonjour") SHOWN("Output", "Good day")
                            EXAMPLE(2, "Merci") SHOWN("Output", "Thank you"));
}

static void chain_of_thought_methods_share_the_system_prompt(void **state)
{
    (void)state;
    check_output_system(PM_SIMPLE_COT, NULL, 0, GUIDANCE, TASK_TEXT GUIDANCE_TEXT);
    check_output_system(PM_FEW_SHOT_COT, two_examples, 2, NULL, FEW_SHOT_TEXT);
    check_output_system(PM_MULTI_SHOT_COT, two_examples, 2, GUIDANCE, FEW_SHOT_TEXT GUIDANCE_TEXT);
}

static void chain_of_thought_turns(void **state)
{
    struct task t = make_task();
    (void)state;
    assert_string_equal(prompt_thinking_instruction(&t),
                        "Think step by step, explaining your reasoning.");
    t.thinking_instruction = "";
    assert_string_equal(prompt_thinking_instruction(&t),
                        "Think step by step, explaining your reasoning.");
    t.thinking_instruction = "先想一想语气。";
    assert_string_equal(prompt_thinking_instruction(&t), "先想一想语气。");
    assert_string_equal(prompt_cot_final,
                        "Considering the reasoning above, give your final answer to the task now.");
}

static void examples_that_do_not_fit_are_dropped(void **state)
{
    static const char head[] = EXAMPLES_INTRO EXAMPLE(1, "Bonjour") SHOWN("Output", "Hello");
    struct task t = make_task();
    struct buf b;
    (void)state;
    /* room for the first example but not the second: the prompt ends after the first */
    buf_init(&b, sizeof(head) - 1 + 10);
    assert_int_equal(prompt_output_system(&t, PM_FEW_SHOT, two_examples, 2, NULL, &b), 0);
    assert_string_equal(b.data, head);
    assert_int_equal(b.len, strlen(head));
    buf_done(&b);
    /* room for the second example's input but not its output: none of it stays */
    buf_init(&b, sizeof(head) - 1 + strlen(EXAMPLE(2, "Merci")) + 3);
    assert_int_equal(prompt_output_system(&t, PM_FEW_SHOT, two_examples, 2, NULL, &b), 0);
    assert_string_equal(b.data, head);
    assert_int_equal(b.len, strlen(head));
    buf_reset(&b); /* the guidance is not dropped: with no room for it, the prompt fails */
    assert_int_equal(prompt_output_system(&t, PM_FEW_SHOT, two_examples, 2, GUIDANCE, &b),
                     HE_TOO_LARGE);
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(method_names_round_trip),
        cmocka_unit_test(method_examples_and_thinking),
        cmocka_unit_test(task_prompt_numbers_requirements),
        cmocka_unit_test(task_prompt_without_requirements_is_the_instruction),
        cmocka_unit_test(guidance_block_only_when_given),
        cmocka_unit_test(topic_paths),
        cmocka_unit_test(categories_plain),
        cmocka_unit_test(categories_at_root_with_exclusions_and_guidance),
        cmocka_unit_test(samples_plain_with_guidance),
        cmocka_unit_test(samples_with_schema_and_exclusions),
        cmocka_unit_test(list_prompts_over_the_limit_fail),
        cmocka_unit_test(output_system_simple),
        cmocka_unit_test(output_system_few_shot),
        cmocka_unit_test(output_system_repairs),
        cmocka_unit_test(other_methods_show_repaired_examples_plainly),
        cmocka_unit_test(chain_of_thought_methods_share_the_system_prompt),
        cmocka_unit_test(chain_of_thought_turns),
        cmocka_unit_test(examples_that_do_not_fit_are_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
