/* SPDX-License-Identifier: MIT */
/*
 * The pipeline request: every refusal names its field; defaults (exact dedup, one input a
 * leaf, topics and inputs on the outputs' model); the stored form decodes to the same spec
 * and stores again byte for byte; the budget round trip.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/pipeline.h"

static const struct task task = {.name = "t", .instruction = "Write.", .requirements = "[]"};

/* Parses body (with no engine: providers are not checked); the error's field, or "" when it
 * parsed. */
static const char *parse(const char *body, struct arena *mem, struct pipeline_spec *s)
{
    static struct err e;
    struct json_object *o = json_tokener_parse(body);
    int r;

    assert_non_null(o);
    err_clear(&e);
    r = pipeline_spec_parse(NULL, &task, o, mem, s, &e);
    json_object_put(o);
    if (r == 0)
        return "";
    assert_true(e.field[0] != '\0');
    return e.field;
}

#define OUT "\"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\"}"

static void refusals_name_their_field(void **state)
{
    static const struct {
        const char *body, *field;
    } cases[] = {
        {"{\"topics\": {\"depth\": 2, \"breadth\": [3]}, " OUT "}", "topics.breadth"},
        {"{\"topics\": {\"depth\": 2, \"breadth\": [3, 0]}, " OUT "}", "topics.breadth[1]"},
        {"{\"topics\": {\"depth\": 2, \"breadth\": [3, \"x\"]}, " OUT "}", "topics.breadth[1]"},
        {"{\"topics\": {\"depth\": 2}, " OUT "}", "topics.breadth"},
        {"{\"topics\": {\"depth\": 9, \"breadth\": 2}, " OUT "}", "topics.depth"},
        {"{\"topics\": {\"depth\": 1, \"breadth\": 2, \"color\": 1}, " OUT "}", "topics.color"},
        {"{\"topics\": {\"depth\": 2, \"breadth\": 2, \"human_guidance\": [\"a\"]}, " OUT "}",
         "topics.human_guidance"},
        {"{\"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\", \"prompt_method\": "
         "\"magic\"}}",
         "outputs.prompt_method"},
        {"{\"outputs\": {\"provider\": \"openai\"}}", "outputs.model_name"},
        {"{}", "outputs"},
        {"{" OUT ", \"colour\": 1}", "colour"},
        {"{" OUT ", \"inputs\": {\"per_leaf\": 0}}", "inputs.per_leaf"},
        {"{" OUT ", \"budget\": {\"max_cost_usd\": -1}}", "budget.max_cost_usd"},
        {"{" OUT ", \"budget\": {\"max_calls\": -5}}", "budget.max_calls"},
        {"{" OUT ", \"budget\": {\"max_tokens\": -1}}", "budget.max_tokens"},
        {"{" OUT ", \"budget\": {\"cents\": 1}}", "budget.cents"},
        {"{" OUT ", \"dedup\": {\"threshold\": 2}}", "dedup.threshold"},
        {"{" OUT ", \"judge\": {\"provider\": \"openai\"}}", "judge.model_name"},
        {"{" OUT ", \"judge\": {\"provider\": \"openai\", \"model_name\": \"j\", \"keep\": 6}}",
         "judge.keep"},
        {"{\"topics\": {\"depth\": 3, \"breadth\": 100}, \"inputs\": {\"per_leaf\": 100}, " OUT "}",
         "inputs.per_leaf"},
    };
    struct pipeline_spec s;
    struct arena mem;

    (void)state;
    arena_init(&mem);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *field = parse(cases[i].body, &mem, &s);
        if (strcmp(field, cases[i].field) != 0)
            fail_msg("%s: field %s, want %s", cases[i].body, field, cases[i].field);
    }
    arena_done(&mem);
}

static void defaults(void **state)
{
    struct pipeline_spec s;
    struct arena mem;

    (void)state;
    arena_init(&mem);
    assert_string_equal(parse("{" OUT "}", &mem, &s), "");
    assert_int_equal(s.depth, 0);
    assert_int_equal(s.n_start, 0);
    assert_int_equal(s.per_leaf, 1);
    assert_int_equal(s.prompt_method, PM_SIMPLE);
    assert_true(s.dedup_exact);
    assert_false(s.dedup_near);
    assert_false(s.judge);
    assert_false(s.dry_run);
    assert_true(isnan(s.keep));
    assert_string_equal(s.inputs.provider, "openai");
    assert_string_equal(s.topics.model_name, "m");
    assert_true(s.budget.max_cost_usd < 0 && s.budget.max_calls < 0 && s.budget.max_tokens < 0);
    arena_done(&mem);
}

static void stored_form_round_trips(void **state)
{
    static const char body[] =
        "{\"topics\": {\"node_path\": \"诗>>>>>春天\", \"depth\": 2, \"breadth\": [3, 2],"
        " \"human_guidance\": [\"「古典」\", null], \"provider\": \"anthropic\","
        " \"model_name\": \"claude\"},"
        " \"inputs\": {\"per_leaf\": 7, \"human_guidance\": \"say \\\"hi\\\"\"},"
        " \"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\","
        " \"prompt_method\": \"few_shot_prompt_builder\", \"human_guidance\": \"短\"},"
        " \"dedup\": {\"exact\": false, \"near\": true, \"threshold\": 0.7},"
        " \"judge\": {\"provider\": \"openai\", \"model_name\": \"j\", \"keep\": 3.5,"
        " \"human_guidance\": \"strict\"},"
        " \"budget\": {\"max_calls\": 10}, \"session_id\": \"s1\","
        " \"drop_unsupported_params\": true, \"dry_run\": true}";
    struct pipeline_spec s, d;
    struct json_object *j1, *j2;
    struct arena mem;
    struct err e;
    char *t1;

    (void)state;
    arena_init(&mem);
    err_clear(&e);
    assert_string_equal(parse(body, &mem, &s), "");
    assert_true(s.dry_run);
    assert_int_equal(s.n_start, 2);
    assert_string_equal(s.start_path[1], "春天");
    assert_int_equal(s.breadth[1], 2);
    assert_string_equal(s.guidance[0], "「古典」");
    assert_null(s.guidance[1]);
    assert_string_equal(s.inputs.provider, "openai"); /* the outputs' */
    assert_string_equal(s.topics.provider, "anthropic");
    assert_int_equal(s.budget.max_calls, 10);
    j1 = pipeline_spec_json(&s);
    t1 = strdup(json_object_to_json_string_ext(j1, JSON_C_TO_STRING_PLAIN));
    assert_null(strstr(t1, "dry_run"));
    if (pipeline_spec_decode(j1, &mem, &d, &e) != 0)
        fail_msg("decode: %s (%s)", e.msg, e.field);
    j2 = pipeline_spec_json(&d);
    assert_string_equal(json_object_to_json_string_ext(j2, JSON_C_TO_STRING_PLAIN), t1);
    assert_int_equal(d.per_leaf, 7);
    assert_int_equal(d.prompt_method, PM_FEW_SHOT);
    assert_false(d.dedup_exact);
    assert_true(d.dedup_near);
    assert_true(fabs(d.near_threshold - 0.7) < 1e-12);
    assert_true(d.judge);
    assert_true(d.keep == 3.5);
    assert_string_equal(d.judge_model.guidance, "strict");
    assert_true(d.outputs.drop_unsupported && d.judge_model.drop_unsupported);
    assert_string_equal(d.session_id, "s1");
    assert_false(d.dry_run);
    free(t1);
    json_object_put(j1);
    json_object_put(j2);
    arena_done(&mem);
}

static void budget_round_trips(void **state)
{
    struct json_object *o = json_tokener_parse("{\"max_cost_usd\": 2.5, \"max_tokens\": 1000}"),
                       *back;
    struct pipeline_budget b, b2;
    struct err e;

    (void)state;
    err_clear(&e);
    assert_int_equal(pipeline_budget_parse(o, "budget", &b, &e), 0);
    assert_true(b.max_cost_usd == 2.5);
    assert_int_equal(b.max_calls, -1);
    assert_int_equal(b.max_tokens, 1000);
    back = pipeline_budget_json(&b);
    assert_int_equal(pipeline_budget_parse(back, "budget", &b2, &e), 0);
    assert_true(b2.max_cost_usd == 2.5 && b2.max_calls == -1 && b2.max_tokens == 1000);
    assert_int_equal(pipeline_budget_parse(NULL, "budget", &b2, &e), 0);
    assert_true(b2.max_cost_usd < 0 && b2.max_calls < 0 && b2.max_tokens < 0);
    json_object_put(o);
    json_object_put(back);
}

static void stage_names(void **state)
{
    (void)state;
    for (int i = 0; i < PS_COUNT; i++)
        assert_int_equal(pipeline_stage_parse(pipeline_stage_name((enum pipeline_stage)i)), i);
    assert_string_equal(pipeline_stage_name(PS_DEDUP), "dedup");
    assert_int_equal(pipeline_stage_parse("nope"), -1);
    assert_int_equal(pipeline_stage_parse(NULL), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refusals_name_their_field),
        cmocka_unit_test(defaults),
        cmocka_unit_test(stored_form_round_trips),
        cmocka_unit_test(budget_round_trips),
        cmocka_unit_test(stage_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
