/* SPDX-License-Identifier: MIT */
/*
 * The estimate: the token rule on Latin, CJK and mixed text; calls, leaves and samples of a
 * pipeline over a stored tree (stored children are not asked for, a leaf's samples reduce what
 * it asks for); tokens equal to those of the prompts the builders make with the stored samples'
 * mean lengths; chain of thought as two calls; no price known: cost unknown and named.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pipeline/estimate.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"

static int64_t tok(const char *s)
{
    return pipeline_token_count(s, strlen(s));
}

static void token_rule(void **state)
{
    (void)state;
    assert_int_equal(tok(""), 0);
    assert_int_equal(tok("abcd"), 1);
    assert_int_equal(tok("abcde"), 2);
    assert_int_equal(tok("Hello, world!"), 4); /* 13 characters */
    assert_int_equal(tok("中文"), 2);
    assert_int_equal(tok("中文ab"), 3);
    assert_int_equal(tok("「写一首诗」 about \"spring\""), 6 + 4); /* 6 CJK, 16 others */
    assert_int_equal(tok("ひらがなカタカナ한국어"), 11);
    assert_int_equal(tok("，。！"), 3);                       /* full-width punctuation */
    assert_int_equal(tok("é"), 1);                            /* two bytes, one character */
    assert_int_equal(pipeline_token_count("\xff\xfe", 2), 1); /* two invalid bytes */
    assert_true(fabs(pipeline_cjk_share("写诗ab") - 0.5) < 1e-9);
    assert_true(pipeline_cjk_share("") == 0);
}

struct fixture {
    struct store *s;
    struct project p;
    struct task t;
    struct gen_env env;
    struct arena mem;
    struct pipeline_spec spec;
    struct pipeline_estimate est;
};

static void setup(struct fixture *f)
{
    struct err e;

    memset(f, 0, sizeof(*f));
    err_clear(&e);
    if (store_open(":memory:", &f->s, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    f->p = (struct project){.created_at = 1, .created_by = "tester", .name = "p"};
    f->p.description = "";
    assert_int_equal(store_new_id(f->s, f->p.id, &e), 0);
    assert_int_equal(store_project_insert(f->s, &f->p, &e), 0);
    f->t = (struct task){.created_at = 1, .name = "jokes", .instruction = "Write a short joke."};
    f->t.created_by = "tester";
    f->t.description = "Jokes for a \"funny\" chatbot.";
    f->t.requirements = "[]";
    memcpy(f->t.project_id, f->p.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, f->t.id, &e), 0);
    assert_int_equal(store_task_insert(f->s, &f->t, &e), 0);
    f->env = (struct gen_env){f->s, NULL, "tester"};
    arena_init(&f->mem);
}

static void teardown(struct fixture *f)
{
    pipeline_estimate_done(&f->est);
    arena_done(&f->mem);
    store_close(f->s);
}

/* A sample under topic_key with an input of in_len and an output of out_len characters. */
static void add_sample(struct fixture *f, const char *topic_key, size_t in_len, size_t out_len)
{
    char in[256], out[256];
    struct run r, *rp = &r;
    struct err e;

    err_clear(&e);
    memset(in, 'i', in_len);
    in[in_len] = '\0';
    memset(out, 'o', out_len);
    out[out_len] = '\0';
    r = (struct run){.created_by = "tester", .input = in, .output = out, .topic_key = topic_key};
    r.input_source_type = r.output_source_type = "human";
    r.input_source = r.output_source = "{}";
    r.intermediate_outputs = "{}";
    r.tags = "[]";
    r.rating_score = r.cost = NAN;
    r.input_tokens = r.output_tokens = r.total_tokens = -1;
    memcpy(r.task_id, f->t.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, r.id, &e), 0);
    assert_int_equal(store_new_id(f->s, r.output_id, &e), 0);
    if (store_run_insert(f->s, &rp, 1, &e) != 0)
        fail_msg("run_insert: %s", e.msg);
}

static void add_topic(struct fixture *f, const char *parent_key, const char *name)
{
    struct err e;

    err_clear(&e);
    assert_int_equal(store_topic_add(f->s, f->t.id, parent_key, &name, 1, &e), 0);
}

/* f->est of the request body (the last estimate is freed first). */
static void estimate(struct fixture *f, const char *body)
{
    struct json_object *o = json_tokener_parse(body);
    struct err e;

    err_clear(&e);
    assert_non_null(o);
    pipeline_estimate_done(&f->est);
    if (pipeline_spec_parse(&f->env, &f->t, o, &f->mem, &f->spec, &e) != 0)
        fail_msg("parse: %s (%s)", e.msg, e.field);
    if (pipeline_estimate(&f->env, &f->t, &f->spec, &f->est, &e) != 0)
        fail_msg("estimate: %s", e.msg);
    json_object_put(o);
}

/* Tokens of one call: its messages joined by newlines, then chars more characters. */
static int64_t call_tokens(const struct buf *system, const struct buf *user, size_t chars)
{
    struct buf all;
    int64_t n;

    buf_init(&all, PROMPT_MAX);
    assert_int_equal(
        buf_addf(&all, "%s\n%s", system->data ? system->data : "", user->data ? user->data : ""),
        0);
    for (size_t i = 0; i < chars; i++)
        buf_adds(&all, "x");
    n = tok(all.data);
    buf_done(&all);
    return n;
}

/*
 * root (stored child A) > A (stored child A1, which has 2 samples); depth 2, breadth [3, 2],
 * 5 inputs a leaf:
 *   topics: root asks for 2, A for 1, the 2 new level-1 nodes for 2 each: 4 calls
 *   inputs: A1 lacks 3, A's new leaf 5, the 4 new leaves 5 each: 6 calls, 28 samples, 5 new
 *   leaves; outputs: 28 calls
 */
static void tree_counts(void **state)
{
    struct fixture f;
    const struct pipeline_estimate *est = &f.est;
    struct buf system, user;

    (void)state;
    setup(&f);
    add_topic(&f, "", "A");
    add_topic(&f, "A\x1f", "A1");
    for (int i = 0; i < 2; i++)
        add_sample(&f,
                   "A\x1f"
                   "A1\x1f",
                   40, 120);
    estimate(&f, "{\"topics\": {\"depth\": 2, \"breadth\": [3, 2]}, \"inputs\": {\"per_leaf\": 5},"
                 " \"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\"}}");
    assert_int_equal(est->stage[PS_TOPICS].calls, 4);
    assert_int_equal(est->stage[PS_INPUTS].calls, 6);
    assert_int_equal(est->stage[PS_DEDUP].calls, 0);
    assert_int_equal(est->stage[PS_OUTPUTS].calls, 28);
    assert_int_equal(est->stage[PS_JUDGE].calls, 0);
    assert_int_equal(est->samples, 28);
    assert_int_equal(est->leaves, 5);
    assert_int_equal(est->total.calls, 38);
    /* the outputs: the stored samples' mean lengths (40 in, 120 out) */
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    assert_int_equal(prompt_output_system(&f.t, PM_SIMPLE, NULL, 0, NULL, &system), 0);
    assert_int_equal(est->stage[PS_OUTPUTS].input_tokens, 28 * call_tokens(&system, &user, 40));
    assert_int_equal(est->stage[PS_OUTPUTS].output_tokens, 28 * 30);
    buf_done(&system);
    buf_done(&user);
    teardown(&f);
}

/* o[a][b]..., NULL-ended keys. */
static struct json_object *at(struct json_object *o, ...)
{
    va_list ap;
    const char *k;

    va_start(ap, o);
    while (o && (k = va_arg(ap, const char *)))
        if (!json_object_object_get_ex(o, k, &o))
            o = NULL;
    va_end(ap);
    return o;
}

/* The root as the only leaf, nothing stored: one inputs call whose tokens are the prompt's,
 * the default lengths; chain of thought: two calls a sample; no engine: no price known. */
static void prompt_tokens_and_prices(void **state)
{
    struct fixture f;
    const struct pipeline_estimate *est = &f.est;
    struct buf system, user;
    struct json_object *o;

    (void)state;
    setup(&f);
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    estimate(&f, "{\"inputs\": {\"per_leaf\": 5, \"human_guidance\": \"about cats\"},"
                 " \"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\","
                 " \"prompt_method\": \"simple_chain_of_thought_prompt_builder\"}}");
    assert_int_equal(prompt_samples(&f.t, NULL, 5, "about cats", NULL, 0, &system, &user), 0);
    assert_int_equal(est->stage[PS_INPUTS].calls, 1);
    assert_int_equal(est->stage[PS_INPUTS].input_tokens, call_tokens(&system, &user, 0));
    /* {"generated_samples":[..]}: 24 characters, 5 x (300 + 3) */
    assert_int_equal(est->stage[PS_INPUTS].output_tokens, (24 + 5 * 303 + 3) / 4);
    assert_int_equal(est->stage[PS_OUTPUTS].calls, 10);
    assert_int_equal(est->stage[PS_OUTPUTS].output_tokens, 10 * (EST_OUTPUT_CHARS / 4));
    assert_int_equal(est->leaves, 0); /* the root is stored: no new leaf */
    assert_int_equal(est->samples, 5);
    assert_false(est->total.priced);
    assert_true(isnan(est->total.cost_usd));
    assert_int_equal(est->n_unpriced, 1);
    assert_string_equal(est->unpriced[0], "openai/m");
    o = pipeline_estimate_json(est);
    assert_non_null(at(o, "total", NULL));
    assert_null(at(o, "total", "cost_usd", NULL));
    assert_non_null(strstr(json_object_get_string(at(o, "note", NULL)), "The cost is unknown"));
    assert_non_null(strstr(json_object_get_string(at(o, "note", NULL)), "openai/m"));
    /* no call: nothing to price */
    assert_true(json_object_get_double(at(o, "stages", "dedup", "cost_usd", NULL)) == 0);
    assert_non_null(at(o, "stages", "dedup", "cost_usd", NULL));
    json_object_put(o);
    buf_done(&system);
    buf_done(&user);
    teardown(&f);
}

/* A leaf with all its samples asks for nothing; more than GEN_MAX_COUNT a leaf: two calls. */
static void full_leaves_and_chunks(void **state)
{
    struct fixture f;
    const struct pipeline_estimate *est = &f.est;

    (void)state;
    setup(&f);
    add_topic(&f, "", "A");
    add_topic(&f, "", "B");
    add_sample(&f, "A\x1f", 10, 10);
    estimate(&f, "{\"topics\": {\"depth\": 1, \"breadth\": 2}, \"inputs\": {\"per_leaf\": 1},"
                 " \"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\"}}");
    assert_int_equal(est->stage[PS_TOPICS].calls, 0);
    assert_int_equal(est->stage[PS_INPUTS].calls, 1); /* B only */
    assert_int_equal(est->samples, 1);
    assert_int_equal(est->leaves, 0);
    estimate(&f, "{\"topics\": {\"depth\": 1, \"breadth\": 2}, \"inputs\": {\"per_leaf\": 150},"
                 " \"outputs\": {\"provider\": \"openai\", \"model_name\": \"m\"}}");
    assert_int_equal(est->stage[PS_INPUTS].calls, 4);
    assert_int_equal(est->samples, 149 + 150);
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_rule),
        cmocka_unit_test(tree_counts),
        cmocka_unit_test(prompt_tokens_and_prices),
        cmocka_unit_test(full_leaves_and_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
