/* SPDX-License-Identifier: MIT */
/* The trainers' export formats (export/trainer_format.c): each format's bytes for two samples
 * (Chinese text, quotes, newlines, commas, a repaired output, an unrated and a rated sample)
 * against golden files written by hand from each format's documentation, and LLaMA-Factory's
 * dataset_info.json entries. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "export/format.h"
#include "export/trainer.h"

#define T0 1767323045123456LL /* 2026-01-02T03:04:05.123456Z */

static const struct task task = {
    .instruction = "把句子翻译成英文",
    .requirements = "[]",
};

static const struct export_opts opts = {
    .task = &task,
    .system_message = "你是翻译助手。\n要求：准确",
};

/* The two samples every golden file holds. */
static void samples(struct run r[2])
{
    memset(r, 0, 2 * sizeof(*r));
    snprintf(r[0].id, sizeof(r[0].id), "101");
    r[0].created_at = T0;
    r[0].created_by = "alice";
    r[0].input = "他说：\"你好\"\n再见";
    r[0].input_source_type = "synthetic";
    r[0].input_source = "{\"model_name\":\"qwen-max\",\"model_provider\":\"dashscope\","
                        "\"adapter_name\":\"kiln_data_gen\",\"topic_path\":\"语言>>>>>中文\"}";
    r[0].output = "He said, \"Hello\"\nGoodbye";
    r[0].output_source_type = "synthetic";
    r[0].output_source =
        "{\"model_name\":\"gpt-4o\",\"model_provider\":\"openai\","
        "\"adapter_name\":\"hetu_data_gen\",\"prompt_id\":\"simple_prompt_builder\"}";
    r[0].rating = "{\"v\":1,\"value\":4.0,\"type\":\"five_star\",\"requirement_ratings\":{}}";
    r[0].rating_score = 4;
    r[0].intermediate_outputs = "{}";
    r[0].tags = "[\"synthetic\",\"翻译\"]";
    r[0].session_id = "s1";
    r[0].topic_key = "语言\x1f中文\x1f";
    r[0].input_tokens = 10;
    r[0].output_tokens = 20;
    r[0].total_tokens = 30;
    r[0].cost = 0.25;

    snprintf(r[1].id, sizeof(r[1].id), "102");
    r[1].created_at = T0 + 1000000;
    r[1].created_by = "bob";
    r[1].input = "a,b \"c\"";
    r[1].input_source_type = "human";
    r[1].input_source = "{\"created_by\":\"bob\"}";
    r[1].output = "原始输出";
    r[1].output_source_type = "human";
    r[1].output_source = "{\"created_by\":\"bob\"}";
    r[1].rating = "{\"v\":1,\"value\":1.0,\"type\":\"pass_fail\",\"requirement_ratings\":{}}";
    r[1].rating_score = 5;
    r[1].repair_instructions = "更正式";
    r[1].repaired_output = "{\"v\":1,\"output\":\"修好的，输出\",\"source\":{\"type\":\"human\","
                           "\"properties\":{\"created_by\":\"bob\"}}}";
    r[1].intermediate_outputs = "{}";
    r[1].tags = "[\"imported\"]";
    r[1].topic_key = "";
    r[1].input_tokens = r[1].output_tokens = r[1].total_tokens = -1;
    r[1].cost = NAN;
}

static char *read_golden(const char *name)
{
    char path[1024];
    FILE *f;
    long n;
    char *s;

    snprintf(path, sizeof(path), "%s/%s", GOLDEN_DIR, name);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Everything format `name` writes for the samples. */
static void write_all(const char *name, const struct run *runs, size_t n, struct buf *out)
{
    const struct export_format *f = export_format_find(name);
    struct err e = ERR_INIT;

    assert_non_null(f);
    buf_init(out, 1 << 20);
    if (f->check)
        assert_int_equal(f->check(&opts, &e), 0);
    if (f->begin)
        assert_int_equal(f->begin(&opts, out, &e), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(f->row(&opts, &runs[i], i, out, &e), 0);
    if (f->end)
        assert_int_equal(f->end(&opts, n, out, &e), 0);
    assert_int_equal(e.code, 0);
}

static void golden(const char *format, const char *file)
{
    struct run r[2];
    struct buf out;
    char *want = read_golden(file);

    samples(r);
    write_all(format, r, 2, &out);
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    buf_done(&out);
    free(want);
}

static void sharegpt(void **state)
{
    (void)state;
    golden("sharegpt", "sharegpt.jsonl");
}

static void alpaca_lines(void **state)
{
    (void)state;
    golden("alpaca", "alpaca.jsonl");
}

static void alpaca_array(void **state)
{
    (void)state;
    golden("alpaca_json", "alpaca.json");
}

static void trl_prompt_completion(void **state)
{
    (void)state;
    golden("trl_prompt_completion", "trl_prompt_completion.jsonl");
}

static void trl_messages(void **state)
{
    (void)state;
    golden("trl_messages", "trl_messages.jsonl");
}

static void csv(void **state)
{
    (void)state;
    golden("csv", "data.csv");
}

static void hetu_jsonl(void **state)
{
    (void)state;
    golden("hetu_jsonl", "hetu.jsonl");
}

/* An empty export is still one valid JSON array, and a CSV with its header alone. */
static void empty_exports(void **state)
{
    struct buf out;

    (void)state;
    write_all("alpaca_json", NULL, 0, &out);
    assert_string_equal(out.data, "[]\n");
    buf_done(&out);
    write_all("csv", NULL, 0, &out);
    assert_string_equal(out.data, "\"input\",\"output\",\"topic_path\",\"tags\",\"rating\","
                                  "\"session_id\",\"input_model\",\"output_model\","
                                  "\"created_at\"\r\n");
    buf_done(&out);
}

/* An empty system message leaves the system turn out. */
static void no_system_turn(void **state)
{
    struct export_opts o = opts;
    struct err e = ERR_INIT;
    struct run r[2];
    struct buf out;

    (void)state;
    samples(r);
    o.system_message = "";
    buf_init(&out, 1 << 16);
    assert_int_equal(export_format_find("sharegpt")->row(&o, &r[1], 0, &out, &e), 0);
    assert_string_equal(out.data, "{\"conversations\":[{\"from\":\"human\",\"value\":\"a,b "
                                  "\\\"c\\\"\"},{\"from\":\"gpt\",\"value\":\"修好的，输出\"}]}\n");
    buf_done(&out);
}

/* A pass_fail_critical rating of -1 is "critical"; a fail is "fail". */
static void csv_ratings(void **state)
{
    struct err e = ERR_INIT;
    struct run r[2];
    struct buf out;

    (void)state;
    samples(r);
    buf_init(&out, 1 << 16);
    r[0].rating = "{\"v\":1,\"value\":-1.0,\"type\":\"pass_fail_critical\"}";
    r[1].rating = "{\"v\":1,\"value\":0.0,\"type\":\"pass_fail\"}";
    assert_int_equal(export_format_find("csv")->row(&opts, &r[0], 0, &out, &e), 0);
    assert_non_null(strstr(out.data, "\"synthetic,翻译\",\"critical\",\"s1\""));
    buf_reset(&out);
    assert_int_equal(export_format_find("csv")->row(&opts, &r[1], 1, &out, &e), 0);
    assert_non_null(strstr(out.data, "\"imported\",\"fail\",\"\""));
    buf_done(&out);
}

static void llamafactory(const char *format, const char *name, const char *file,
                         const char *golden_file)
{
    struct err e = ERR_INIT;
    struct buf out;
    char *want = read_golden(golden_file);

    buf_init(&out, 1 << 16);
    assert_int_equal(export_llamafactory_entry(format, name, file, &out, &e), 0);
    assert_string_equal(out.data, want);
    buf_done(&out);
    free(want);
}

static void llamafactory_entries(void **state)
{
    struct err e = ERR_INIT;
    struct buf out;

    (void)state;
    llamafactory("sharegpt", "翻译数据", "翻译.jsonl", "llamafactory_sharegpt.json");
    llamafactory("alpaca_json", "translate", "data/translate.json", "llamafactory_alpaca.json");
    buf_init(&out, 1 << 16);
    assert_int_equal(export_llamafactory_entry("csv", "x", "x.csv", &out, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "format");
    assert_int_equal(out.len, 0);
    buf_done(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sharegpt),
        cmocka_unit_test(alpaca_lines),
        cmocka_unit_test(alpaca_array),
        cmocka_unit_test(trl_prompt_completion),
        cmocka_unit_test(trl_messages),
        cmocka_unit_test(csv),
        cmocka_unit_test(hetu_jsonl),
        cmocka_unit_test(empty_exports),
        cmocka_unit_test(no_system_turn),
        cmocka_unit_test(csv_ratings),
        cmocka_unit_test(llamafactory_entries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
