/* SPDX-License-Identifier: MIT */
/* The check of an imported file's rows (gen_import_check_row): what passes comes back typed and
 * pointing into the row, a leading "root" is dropped as save_sample drops it, and every limit
 * and schema refuses with the line and the field named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gen/gen.h"
#include "ingest/row.h"
#include "util/arena.h"

#define SCHEMA \
    "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},\"required\":[\"q\"]}"

struct fixture {
    struct gen_env env;
    struct task task;
    struct gen_row_check check;
    struct arena mem;
    struct gen_checked_row out;
    struct err e;
};

static struct fixture *fixture(const char *input_schema, const char *output_schema)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    f.env.user = "test";
    f.task.input_json_schema = (char *)input_schema;
    f.task.output_json_schema = (char *)output_schema;
    f.check = (struct gen_row_check){.env = &f.env, .task = &f.task};
    arena_init(&f.mem);
    err_clear(&f.e);
    return &f;
}

static int check(struct fixture *f, const struct ingest_row *row)
{
    err_clear(&f->e);
    return gen_import_check_row(&f->check, row, &f->mem, &f->out, &f->e);
}

/* The row is refused as invalid (422), naming field, with exactly msg. */
static void refused(struct fixture *f, const struct ingest_row *row, const char *field,
                    const char *msg)
{
    assert_int_equal(check(f, row), HE_INVALID);
    assert_string_equal(f->e.field, field);
    assert_string_equal(f->e.msg, msg);
}

static struct ingest_row text_row(size_t line, const char *input, const char *output)
{
    return (struct ingest_row){.line = line,
                               .input = input,
                               .input_len = strlen(input),
                               .output = output,
                               .output_len = output ? strlen(output) : 0};
}

/* A string of n copies of the UTF-8 character c (malloc'd). */
static char *repeat(const char *c, size_t n)
{
    size_t l = strlen(c);
    char *s = malloc(n * l + 1);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * l, c, l);
    s[n * l] = '\0';
    return s;
}

static void plain_row_points_into_the_row(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    static const char *const topic[] = {"科学", "子题"};
    static const char *const tags[] = {"t1", "x y"};
    struct ingest_row row = text_row(4, "问题 \"q\"", "答案");
    (void)state;

    row.topic_path = topic;
    row.topic_path_count = 2;
    row.tags = tags;
    row.tags_count = 2;
    row.human_guidance = "be brief";
    assert_int_equal(check(f, &row), 0);
    assert_ptr_equal(f->out.input, row.input);
    assert_int_equal(f->out.input_len, row.input_len);
    assert_ptr_equal(f->out.output, row.output);
    assert_int_equal(f->out.output_len, row.output_len);
    assert_ptr_equal(f->out.guidance, row.human_guidance);
    assert_ptr_equal(f->out.topic, topic);
    assert_int_equal(f->out.n_topic, 2);
    assert_ptr_equal(f->out.tags, tags);
    assert_int_equal(f->out.n_tags, 2);
    assert_int_equal(f->mem.total, 0); /* nothing rewritten, nothing allocated */
    arena_done(&f->mem);
}

static void leading_root_dropped(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    static const char *const alone[] = {"root"};
    static const char *const first[] = {"root", "a", "b"};
    static const char *const later[] = {"a", "root"};
    struct ingest_row row = text_row(2, "in", "out");
    (void)state;

    row.topic_path = alone;
    row.topic_path_count = 1;
    assert_int_equal(check(f, &row), 0);
    assert_int_equal(f->out.n_topic, 0);

    row.topic_path = first;
    row.topic_path_count = 3;
    assert_int_equal(check(f, &row), 0);
    assert_int_equal(f->out.n_topic, 2);
    assert_string_equal(f->out.topic[0], "a");
    assert_string_equal(f->out.topic[1], "b");

    row.topic_path = later;
    row.topic_path_count = 2;
    assert_int_equal(check(f, &row), 0);
    assert_int_equal(f->out.n_topic, 2);
    assert_string_equal(f->out.topic[1], "root");
    arena_done(&f->mem);
}

/* Inputs and outputs refused by a task with or without schemas (a row's line is 5). */
static const struct text_case {
    const char *input_schema, *output_schema;
    const char *input, *output;
    bool input_is_json, output_is_json;
    const char *field, *msg;
} text_cases[] = {
    {NULL, NULL, "{\"q\":\"x\"}", "o", true, false, "input",
     "line 5: input must be a string: the task has no schema for it"},
    {NULL, NULL, "i", "{\"a\":1}", false, true, "output",
     "line 5: output must be a string: the task has no schema for it"},
    {NULL, SCHEMA, "{\"q\":\"x\"}", "o", true, false, "input",
     "line 5: input must be a string: the task has no schema for it"},
    {SCHEMA, NULL, "{\"r\":1}", "o", false, false, "input",
     "line 5: input does not match the task's schema: $: missing required property \"q\""},
    {SCHEMA, NULL, "not json", "o", false, false, "input",
     "line 5: input must be a JSON object matching the task's schema"},
    {SCHEMA, NULL, "[1]", "o", false, false, "input",
     "line 5: input must be a JSON object matching the task's schema"},
    {NULL, SCHEMA, "i", "{\"q\": 5}", false, true, "output",
     "line 5: output does not match the task's schema: $.q: expected a string, got an integer"},
    {NULL, SCHEMA, "i", "plain", false, false, "output",
     "line 5: output must be a JSON object matching the task's schema"},
};

static void texts_refused(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
        const struct text_case *c = &text_cases[i];
        struct fixture *f = fixture(c->input_schema, c->output_schema);
        struct ingest_row row = text_row(5, c->input, c->output);
        row.input_is_json = c->input_is_json;
        row.output_is_json = c->output_is_json;
        refused(f, &row, c->field, c->msg);
        arena_done(&f->mem);
    }
}

static void text_limit_counts_characters(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    char *at_limit = repeat("字", TEXT_MAX_CHARS); /* three times the limit in bytes */
    char *over = repeat("x", TEXT_MAX_CHARS + 1);
    struct ingest_row row = text_row(3, at_limit, at_limit);
    (void)state;

    assert_int_equal(check(f, &row), 0);
    row = text_row(3, over, "o");
    refused(f, &row, "input", "line 3: input is longer than 1000000 characters");
    row = text_row(5, "i", over);
    refused(f, &row, "output", "line 5: output is longer than 1000000 characters");
    free(at_limit);
    free(over);
    arena_done(&f->mem);
}

static void topic_and_tag_limits(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    const char *names[TAG_MAX_COUNT + 1];
    char *long_name = repeat("名", TOPIC_MAX_CHARS + 1), *max_name = repeat("名", TOPIC_MAX_CHARS);
    struct ingest_row row = text_row(9, "in", "out");
    (void)state;

    for (size_t i = 0; i <= TAG_MAX_COUNT; i++)
        names[i] = "n";
    row.topic_path = names;
    row.topic_path_count = TOPIC_MAX_DEPTH;
    assert_int_equal(check(f, &row), 0);
    row.topic_path_count = TOPIC_MAX_DEPTH + 1;
    refused(f, &row, "topic_path", "line 9: topic_path has more than 32 items");
    names[1] = long_name;
    row.topic_path_count = 2;
    refused(f, &row, "topic_path", "line 9: topic_path[1] is longer than 200 characters");
    names[1] = "two\nlines";
    refused(f, &row, "topic_path",
            "line 9: topic_path[1] must be one line without control characters");
    names[1] = "a>>>>>b"; /* a JSONL list may hold the separator inside a name */
    refused(f, &row, "topic_path",
            "line 9: topic_path[1] must not hold \">>>>>\", the separator of topic paths");
    names[1] = ">b"; /* "a>>>>>>b" in a CSV cell splits into "a" and ">b" */
    refused(f, &row, "topic_path",
            "line 9: topic_path[1] must not begin or end with '>', which would run into the "
            "separator \">>>>>\"");
    names[1] = "a>>>>b";
    assert_int_equal(check(f, &row), 0);
    names[1] = max_name;
    assert_int_equal(check(f, &row), 0);

    row.topic_path_count = 0;
    names[1] = "n";
    row.tags = names;
    row.tags_count = TAG_MAX_COUNT;
    assert_int_equal(check(f, &row), 0);
    row.tags_count = TAG_MAX_COUNT + 1;
    refused(f, &row, "tags", "line 9: tags has more than 100 items");
    names[0] = long_name;
    row.tags_count = 1;
    refused(f, &row, "tags", "line 9: tags[0] is longer than 200 characters");
    names[0] = "a>>>>>b"; /* a tag is not a topic name */
    assert_int_equal(check(f, &row), 0);
    names[0] = "bell\a";
    refused(f, &row, "tags", "line 9: tags[0] must be one line without control characters");
    free(long_name);
    free(max_name);
    arena_done(&f->mem);
}

static void guidance_limit(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    char *over = repeat("g", GUIDANCE_MAX_CHARS + 1);
    struct ingest_row row = text_row(2, "in", "out");
    (void)state;

    row.human_guidance = over;
    refused(f, &row, "human_guidance", "line 2: human_guidance is longer than 20000 characters");
    over[GUIDANCE_MAX_CHARS] = '\0';
    assert_int_equal(check(f, &row), 0);
    free(over);
    arena_done(&f->mem);
}

static void schema_input_rewritten_as_compact_json(void **state)
{
    struct fixture *f = fixture(SCHEMA, NULL);
    struct ingest_row row = text_row(6, "{ \"q\" : \"问\" }", "answer");
    (void)state;

    assert_int_equal(check(f, &row), 0);
    assert_string_equal(f->out.input, "{\"q\":\"问\"}");
    assert_int_equal(f->out.input_len, strlen("{\"q\":\"问\"}"));
    assert_ptr_equal(f->out.output, row.output); /* no output schema: kept as it is */
    row.input_is_json = true;                    /* the same text from a JSON Lines object */
    assert_int_equal(check(f, &row), 0);
    assert_string_equal(f->out.input, "{\"q\":\"问\"}");

    arena_done(&f->mem);
}

static void schema_output_checked(void **state)
{
    struct fixture *f = fixture(NULL, SCHEMA);
    struct ingest_row row = text_row(4, "in", "{\"q\": \"a\"}");
    (void)state;

    row.output_is_json = true;
    assert_int_equal(check(f, &row), 0);
    assert_string_equal(f->out.output, "{\"q\":\"a\"}");
    assert_ptr_equal(f->out.input, row.input);
    arena_done(&f->mem);
}

static void row_without_output_needs_the_model(void **state)
{
    struct fixture *f = fixture(NULL, NULL);
    struct ingest_row row = text_row(3, "in", NULL);
    (void)state;

    refused(f, &row, "output_provider",
            "line 3: output_provider is required when the sample has no output to keep");
    assert_false(f->check.models_checked);
    f->check.output_provider = "openai";
    refused(f, &row, "output_model_name",
            "line 3: output_model_name is required when the sample has no output to keep");
    row = text_row(3, "in", "given"); /* a row with its output needs no model */
    assert_int_equal(check(f, &row), 0);
    arena_done(&f->mem);
}

static void sample_of_a_checked_row(void **state)
{
    static const char *const topic[] = {"科学", "子题"};
    static const char *const tags[] = {"t1"};
    const char input[] = "问题 and more", output[] = "答案";
    struct gen_checked_row k = {.input = input,
                                .input_len = 6, /* "问题": the length, not the NUL, ends it */
                                .output = output,
                                .output_len = strlen(output),
                                .guidance = "be brief",
                                .topic = topic,
                                .n_topic = 2,
                                .tags = tags,
                                .n_tags = 1};
    struct gen_import_source src = {.file_name = "rows.csv",
                                    .output_model = "m",
                                    .output_provider = "openai",
                                    .method = PM_FEW_SHOT};
    struct gen_sample s;
    (void)state;

    assert_int_equal(gen_import_sample(&src, &k, &s), 0);
    assert_string_equal(s.input, "问题");
    assert_string_equal(s.output, "答案");
    assert_ptr_not_equal(s.output, output);
    assert_string_equal(s.guidance, "be brief");
    assert_int_equal(s.n_topic, 2);
    assert_string_equal(s.topic[0], "科学");
    assert_string_equal(s.topic[1], "子题");
    assert_null(s.topic[2]);
    assert_int_equal(s.ntags, 1);
    assert_string_equal(s.tags[0], "t1");
    assert_string_equal(s.source_type, "file_import");
    assert_string_equal(s.file_name, "rows.csv");
    assert_null(s.input_model);
    assert_null(s.input_provider);
    assert_string_equal(s.output_model, "m");
    assert_string_equal(s.output_provider, "openai");
    assert_int_equal(s.method, PM_FEW_SHOT);
    assert_false(s.drop_unsupported);
    assert_int_equal(s.job_id, 0);
    gen_sample_free(&s);

    k.output = NULL; /* a row the output model fills */
    k.guidance = NULL;
    k.n_topic = k.n_tags = 0;
    assert_int_equal(gen_import_sample(&src, &k, &s), 0);
    assert_null(s.output);
    assert_null(s.guidance);
    assert_int_equal(s.n_topic, 0);
    assert_null(s.topic[0]);
    assert_int_equal(s.ntags, 0);
    gen_sample_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_row_points_into_the_row),
        cmocka_unit_test(leading_root_dropped),
        cmocka_unit_test(texts_refused),
        cmocka_unit_test(text_limit_counts_characters),
        cmocka_unit_test(topic_and_tag_limits),
        cmocka_unit_test(guidance_limit),
        cmocka_unit_test(schema_input_rewritten_as_compact_json),
        cmocka_unit_test(schema_output_checked),
        cmocka_unit_test(row_without_output_needs_the_model),
        cmocka_unit_test(sample_of_a_checked_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
