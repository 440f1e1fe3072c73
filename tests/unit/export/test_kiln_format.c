/* SPDX-License-Identifier: MIT */
/*
 * Kiln's formats against golden files: for a plain task and a structured one, every format and
 * data strategy writes the bytes Kiln 0.15's formatter writes for the same runs (Chinese text,
 * quotes, newlines, tabs, slashes, an emoji, control characters, U+2028, a repaired output,
 * reasoning preferred over chain of thought, structured values written again as Kiln stores
 * them, floats as Python prints them). Also the task prompt, and the refusals: a JSON-answer
 * format for a task without an output schema, and a row whose output is not JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/format.h"
#include "export/kiln.h"
#include "gen/prompt.h"
#include "util/json.h"

struct sample_def {
    const char *id, *input, *output, *repaired, *intermediate;
};

static const struct sample_def plain_runs[] = {
    {"100000000001", "请翻译：\"你好/世界\" 😀\n第二行\t制表", "\"Hello/world\" 😀\nSecond line\ttab",
     NULL,
     "{\"chain_of_thought\":\"先看引号 \\\"…\\\"，再看斜杠 /。\\n最后是表情 😀\","
     "\"reasoning\":\"推理：逐字翻译 / word by word\\u0001 ctl\x7f"
     " and \xe2\x80\xa8 sep\\\\\"}"},
    {"100000000002", "早上好", "Good moning",
     "{\"v\":1,\"output\":\"Good morning\",\"source\":{\"type\":\"human\",\"properties\":{}}}",
     "{}"},
    {"100000000003", "晚安", "Good night", NULL,
     "{\"reasoning\":\"\",\"chain_of_thought\":\"只有思维链\"}"},
    {"100000000004", "再见", "Goodbye", NULL, "{\"reasoning\":\"\"}"},
};

static const struct sample_def structured_runs[] = {
    {"200000000001", "{\"text\":\"你好/世界 \\\"引号\\\"\\n😀\"}",
     "{\"译文\":\"Hello/world \\\"quotes\\\"\\n😀\",\"score\":1.50,\"tiny\":0.00001,\"big\":1E16,"
     "\"n\":-0,\"ok\":true,\"none\":null,"
     "\"list\":[1,2.0,-3.25e-7,123456789012345678,0.1,1e22,12345.678]}",
     NULL, "{\"reasoning\":\"先分析 JSON 结构 / structure\"}"},
    {"200000000002", "{\"text\":\"早上好\"}", "{\"译文\":\"Good moning\"}",
     "{\"output\":\"{\\\"译文\\\": \\\"Good morning\\\", \\\"score\\\": 0.1}\"}",
     "{\"chain_of_thought\":\"拼写检查\",\"reasoning\":\"\"}"},
};

static struct task plain_task(void)
{
    struct task t;
    memset(&t, 0, sizeof(t));
    strcpy(t.id, "900000000001");
    t.instruction = "Translate \"as is\" the sentence/phrase into English. 把句子翻译成英文。";
    t.requirements = "[{\"name\":\"short\",\"instruction\":\"保持简短。\",\"priority\":1},"
                     "{\"name\":\"quote\",\"instruction\":\"Keep \\\"quotes\\\" and slashes / "
                     "as they are.\",\"priority\":2}]";
    return t;
}

static struct task structured_task(void)
{
    struct task t;
    memset(&t, 0, sizeof(t));
    strcpy(t.id, "900000000002");
    t.instruction = "Answer as JSON / 以JSON回答。";
    t.requirements = "[]";
    t.thinking_instruction = "先逐步思考 \"step by step\"。";
    t.output_json_schema = "{\"type\":\"object\",\"properties\":{\"译文\":{\"type\":\"string\"}}}";
    t.input_json_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}}}";
    return t;
}

static struct run make_run(const struct sample_def *d)
{
    struct run r;
    memset(&r, 0, sizeof(r));
    strcpy(r.id, d->id);
    r.input = d->input;
    r.output = d->output;
    r.repaired_output = d->repaired;
    r.intermediate_outputs = d->intermediate;
    return r;
}

static char *read_golden(const char *name, size_t *ret_len)
{
    char path[512];
    FILE *f;
    char *data;
    long n;

    snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("missing golden file %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return data;
}

static void assert_bytes(const char *what, const char *want, size_t want_len, const struct buf *got)
{
    if (got->len == want_len && memcmp(got->data, want, want_len) == 0)
        return;
    for (size_t i = 0; i < want_len && i < got->len; i++)
        if (want[i] != got->data[i]) {
            print_error("%s: first difference at byte %zu\nwant: %.120s\ngot:  %.120s\n", what, i,
                        want + i, got->data + i);
            break;
        }
    fail_msg("%s: %zu bytes written, %zu expected", what, got->len, want_len);
}

/* Writes every run in format fmt and strategy and compares with label.fmt.strategy.jsonl. */
static void check_golden(const char *label, const struct task *t, const struct sample_def *defs,
                         size_t n, const char *fmt, enum export_strategy strategy)
{
    const struct export_format *f = export_format_find(fmt);
    const char *sname = strategy == EXPORT_FINAL_ONLY ? "final_only" : "final_and_intermediate";
    struct export_opts o;
    struct buf system, out;
    struct err e = ERR_INIT;
    char name[256];
    char *want;
    size_t want_len;

    assert_non_null(f);
    assert_string_equal(f->content_type, "application/jsonl");
    assert_string_equal(f->extension, "jsonl");
    buf_init(&system, 1 << 20);
    buf_init(&out, 1 << 20);
    assert_int_equal(prompt_task(t, &system), 0);
    memset(&o, 0, sizeof(o));
    o.task = t;
    o.system_message = system.data;
    o.strategy = strategy;
    if (f->check)
        assert_int_equal(f->check(&o, &e), 0);
    assert_null(f->begin);
    assert_null(f->end);
    for (size_t i = 0; i < n; i++) {
        struct run r = make_run(&defs[i]);
        int rc = f->row(&o, &r, i, &out, &e);
        if (rc)
            fail_msg("%s row %zu: %s", fmt, i, e.msg);
    }
    snprintf(name, sizeof(name), "%s.%s.%s.jsonl", label, fmt, sname);
    want = read_golden(name, &want_len);
    assert_bytes(name, want, want_len, &out);
    free(want);
    buf_done(&system);
    buf_done(&out);
}

static const char *const all_formats[] = {
    "openai_chat_jsonl",
    "openai_chat_json_schema_jsonl",
    "openai_chat_toolcall_jsonl",
    "huggingface_chat_template_jsonl",
    "huggingface_chat_template_toolcall_jsonl",
    "vertex_gemini",
};
static const char *const json_formats[] = {
    "openai_chat_json_schema_jsonl",
    "openai_chat_toolcall_jsonl",
    "huggingface_chat_template_toolcall_jsonl",
};
static const char *const text_formats[] = {
    "openai_chat_jsonl",
    "huggingface_chat_template_jsonl",
    "vertex_gemini",
};

static void plain_task_every_text_format(void **state)
{
    struct task t = plain_task();
    (void)state;
    for (size_t i = 0; i < sizeof(text_formats) / sizeof(text_formats[0]); i++) {
        check_golden("plain", &t, plain_runs, 4, text_formats[i], EXPORT_FINAL_ONLY);
        check_golden("plain", &t, plain_runs, 4, text_formats[i], EXPORT_FINAL_AND_INTERMEDIATE);
    }
}

static void structured_task_every_format(void **state)
{
    struct task t = structured_task();
    (void)state;
    for (size_t i = 0; i < sizeof(all_formats) / sizeof(all_formats[0]); i++) {
        check_golden("structured", &t, structured_runs, 2, all_formats[i], EXPORT_FINAL_ONLY);
        check_golden("structured", &t, structured_runs, 2, all_formats[i],
                     EXPORT_FINAL_AND_INTERMEDIATE);
    }
}

static void task_prompt_golden(const struct task *t, const char *file)
{
    struct buf out;
    size_t want_len;
    char *want = read_golden(file, &want_len);

    buf_init(&out, 1 << 20);
    assert_int_equal(prompt_task(t, &out), 0);
    assert_bytes(file, want, want_len, &out);
    free(want);
    buf_done(&out);
}

static void task_prompt_as_simple_builder(void **state)
{
    struct task p = plain_task(), s = structured_task();
    (void)state;
    task_prompt_golden(&p, "plain_task_prompt.txt");
    task_prompt_golden(&s, "structured_task_prompt.txt");
}

/* Custom thinking instructions replace the task's. */
static void custom_thinking_instructions(void **state)
{
    struct task t = structured_task();
    struct run r = make_run(&structured_runs[1]);
    struct export_opts o = {.task = &t,
                            .system_message = "系统",
                            .thinking_instructions = "Reason/思考 first.",
                            .strategy = EXPORT_FINAL_AND_INTERMEDIATE};
    struct buf out;
    struct err e = ERR_INIT;
    (void)state;

    buf_init(&out, 1 << 20);
    assert_int_equal(export_format_find("vertex_gemini")->row(&o, &r, 0, &out, &e), 0);
    assert_string_equal(
        out.data,
        "{\"systemInstruction\": {\"role\": \"system\", \"parts\": [{\"text\": \"系统\"}]}, "
        "\"contents\": [{\"role\": \"user\", \"parts\": [{\"text\": "
        "\"{\\\"text\\\": \\\"早上好\\\"}\"}]}, "
        "{\"role\": \"user\", \"parts\": [{\"text\": \"Reason/思考 first.\"}]}, "
        "{\"role\": \"model\", \"parts\": [{\"text\": \"拼写检查\"}]}, "
        "{\"role\": \"user\", \"parts\": [{\"text\": \"Considering the above, return a final "
        "result.\"}]}, "
        "{\"role\": \"model\", \"parts\": [{\"text\": \"{\\\"译文\\\": \\\"Good morning\\\", "
        "\\\"score\\\": 0.1}\"}]}]}\n");
    buf_done(&out);
}

static void json_formats_refuse_a_task_without_output_schema(void **state)
{
    struct task t = plain_task();
    struct export_opts o = {.task = &t, .system_message = "s"};
    (void)state;

    for (size_t i = 0; i < 3; i++) {
        const struct export_format *f = export_format_find(json_formats[i]);
        struct err e = ERR_INIT;
        assert_non_null(f->check);
        assert_int_equal(f->check(&o, &e), HE_BAD_REQUEST);
        assert_non_null(strstr(e.msg, "needs a task with an output schema; task 900000000001 "
                                      "has none"));
    }
    for (size_t i = 0; i < 3; i++)
        assert_null(export_format_find(text_formats[i])->check);
}

/* A repaired output stored as JSON null is no repair: the output is the answer. */
static void null_repair_is_no_repair(void **state)
{
    struct task t = plain_task();
    struct sample_def d = {"100000000009", "in", "out", "null", "{}"};
    struct run r = make_run(&d);
    struct export_opts o = {.task = &t, .system_message = "s"};
    struct buf out;
    struct err e = ERR_INIT;
    (void)state;

    buf_init(&out, 1 << 20);
    assert_int_equal(
        export_format_find("huggingface_chat_template_jsonl")->row(&o, &r, 0, &out, &e), 0);
    assert_string_equal(out.data, "{\"conversations\": [{\"role\": \"system\", \"content\": "
                                  "\"s\"}, {\"role\": \"user\", \"content\": \"in\"}, "
                                  "{\"role\": \"assistant\", \"content\": \"out\"}]}\n");
    buf_done(&out);
}

/* Writes a structured task's sample with this output in format fmt after "before\n": the row
 * must fail with HE_BAD_REQUEST, a message starting with want, and the buffer as it was. */
static void assert_row_refused(const char *fmt, const char *output, const char *want)
{
    struct task t = structured_task();
    struct sample_def d = {"200000000009", "{\"text\":\"x\"}", output, NULL, "{}"};
    struct run r = make_run(&d);
    struct export_opts o = {.task = &t, .system_message = "s"};
    struct buf out;
    struct err e = ERR_INIT;

    buf_init(&out, 1 << 20);
    buf_adds(&out, "before\n");
    assert_int_equal(export_format_find(fmt)->row(&o, &r, 0, &out, &e), HE_BAD_REQUEST);
    if (strncmp(e.msg, want, strlen(want)) != 0)
        fail_msg("%s: message %s", fmt, e.msg);
    assert_string_equal(out.data, "before\n");
    buf_done(&out);
}

/* A sample whose output is not JSON, in the formats that need JSON: an error naming it. */
static void row_refuses_output_that_is_not_json(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++)
        assert_row_refused(json_formats[i], "not json",
                           "sample 200000000009: its output is not valid JSON, which this format "
                           "needs");
}

/* json-c clamps integers past 64 bits, which Python writes whole: refused, not written wrong. */
static void row_refuses_integer_beyond_64_bits(void **state)
{
    (void)state;
    assert_row_refused("huggingface_chat_template_toolcall_jsonl",
                       "{\"n\": [1, 123456789012345678901234567890]}",
                       "sample 200000000009: its output holds an integer beyond 64 bits, which "
                       "this export cannot write");
    assert_row_refused("openai_chat_json_schema_jsonl", "[-99999999999999999999]",
                       "sample 200000000009: its output holds an integer beyond 64 bits");
}

/* A line that does not fit leaves the buffer as it was. */
static void row_too_large_leaves_buffer(void **state)
{
    struct task t = plain_task();
    struct run r = make_run(&plain_runs[0]);
    struct export_opts o = {.task = &t, .system_message = "s"};
    struct buf out;
    struct err e = ERR_INIT;
    (void)state;

    buf_init(&out, 40);
    buf_adds(&out, "{}\n");
    assert_int_equal(export_format_find("openai_chat_jsonl")->row(&o, &r, 0, &out, &e),
                     HE_TOO_LARGE);
    assert_int_equal(out.len, 3);
    assert_string_equal(out.data, "{}\n");
    buf_done(&out);
}

/* Values as Python's json.dumps writes them: floats as repr, duplicate keys (the last value in
 * the first place), NUL and control characters inside strings. */
static void python_json_values(void **state)
{
    static const char *const cases[][2] = {
        {"1e16", "1e+16"},
        {"1e15", "1000000000000000.0"},
        {"0.0001", "0.0001"},
        {"0.00001", "1e-05"},
        {"5e-324", "5e-324"},
        {"1.7976931348623157e308", "1.7976931348623157e+308"},
        {"-0.0", "-0.0"},
        {"0.30000000000000004", "0.30000000000000004"},
        {"100.0", "100.0"},
        {"123456789.123", "123456789.123"},
        {"-2.5E-3", "-0.0025"},
        {"9007199254740993.0", "9007199254740992.0"},
        {"1.5e300", "1.5e+300"},
        {"0.000123", "0.000123"},
        {"7.120236347223045e-307", "7.120236347223045e-307"}, /* 2^-1017 */
        {"8.98846567431158e307", "8.98846567431158e+307"},    /* 2^1023 */
        {"-0", "0"},
        {"18446744073709551614", "18446744073709551614"},
        {"-9223372036854775807", "-9223372036854775807"},
        {"[1,{\"a\":[],\"b\":{}}]", "[1, {\"a\": [], \"b\": {}}]"},
        {"{\"a\":1,\"b\":\"x\\u0000y\\u001f\\/\",\"a\":3}",
         "{\"a\": 3, \"b\": \"x\\u0000y\\u001f/\"}"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct json_object *v = NULL;
        struct err e = ERR_INIT;
        struct buf out;
        buf_init(&out, 100);
        assert_int_equal(json_parse(cases[i][0], strlen(cases[i][0]), &v, &e), 0);
        assert_int_equal(export_py_json(v, &out), 0);
        if (strcmp(out.data, cases[i][1]) != 0)
            fail_msg("%s: wrote %s, Python writes %s", cases[i][0], out.data, cases[i][1]);
        json_object_put(v);
        buf_done(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_task_every_text_format),
        cmocka_unit_test(structured_task_every_format),
        cmocka_unit_test(task_prompt_as_simple_builder),
        cmocka_unit_test(custom_thinking_instructions),
        cmocka_unit_test(json_formats_refuse_a_task_without_output_schema),
        cmocka_unit_test(row_refuses_output_that_is_not_json),
        cmocka_unit_test(row_refuses_integer_beyond_64_bits),
        cmocka_unit_test(null_repair_is_no_repair),
        cmocka_unit_test(row_too_large_leaves_buffer),
        cmocka_unit_test(python_json_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
