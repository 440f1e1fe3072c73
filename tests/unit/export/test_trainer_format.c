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
#include "gen/gen.h"
#include "ingest/csv_reader.h"
#include "ingest/jsonl_reader.h"
#include "jobs/spool.h"
#include "util/arena.h"

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

/* A format and the golden file of what it writes for the two samples. */
struct golden_case {
    const char *format, *file;
};

static void golden(void **state)
{
    const struct golden_case *c = *state;
    struct run r[2];
    struct buf out;
    char *want = read_golden(c->file);

    samples(r);
    write_all(c->format, r, 2, &out);
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    buf_done(&out);
    free(want);
}

static struct golden_case goldens[] = {
    {"sharegpt", "sharegpt.jsonl"},
    {"alpaca", "alpaca.jsonl"},
    {"alpaca_json", "alpaca.json"},
    {"trl_prompt_completion", "trl_prompt_completion.jsonl"},
    {"trl_messages", "trl_messages.jsonl"},
    {"csv", "data.csv"},
    {"hetu_jsonl", "hetu.jsonl"},
};

/* An empty export is still one valid JSON array, and a CSV with its header alone. */
static void empty_exports(void **state)
{
    struct buf out;

    (void)state;
    write_all("alpaca_json", NULL, 0, &out);
    assert_string_equal(out.data, "[]\n");
    buf_done(&out);
    write_all("csv", NULL, 0, &out);
    assert_string_equal(out.data, "input,output,topic_path,tags,rating,session_id,input_model,"
                                  "output_model,created_at\r\n");
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
    assert_non_null(strstr(out.data, "\"synthetic,翻译\",critical,s1,"));
    buf_reset(&out);
    assert_int_equal(export_format_find("csv")->row(&opts, &r[1], 1, &out, &e), 0);
    assert_non_null(strstr(out.data, ",imported,fail,,"));
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

/* ---- hetu_jsonl read back by the file import ---- */

/* A hetu_jsonl line without what a new sample gets anew (id, created_at, created_by). */
static char *without_own_fields(const char *line)
{
    const char *at = strstr(line, ",\"id\":");
    assert_non_null(at);
    return strndup(line, (size_t)(at - line));
}

static const char *const stored_fields[] = {"input",           "output",
                                            "topic_key",       "tags",
                                            "rating",          "repair_instructions",
                                            "repaired_output", "intermediate_outputs",
                                            "session_id",      "input_source_type",
                                            "input_source",    "output_source_type",
                                            "output_source",   NULL};

static const char *field(const struct run *r, size_t i)
{
    const char *v[] = {r->input,           r->output,
                       r->topic_key,       r->tags,
                       r->rating,          r->repair_instructions,
                       r->repaired_output, r->intermediate_outputs,
                       r->session_id,      r->input_source_type,
                       r->input_source,    r->output_source_type,
                       r->output_source};
    return v[i];
}

/* The sample built of an imported line has every stored field of the original. */
static void same_sample(const struct run *got, const struct run *want)
{
    for (size_t i = 0; stored_fields[i]; i++) {
        const char *g = field(got, i), *w = field(want, i);
        if ((g == NULL) != (w == NULL) || (g && strcmp(g, w) != 0))
            fail_msg("%s: got %s, want %s", stored_fields[i], g ? g : "NULL", w ? w : "NULL");
    }
    assert_true(got->rating_score == want->rating_score);
    assert_int_equal(got->input_tokens, want->input_tokens);
    assert_int_equal(got->output_tokens, want->output_tokens);
    assert_int_equal(got->total_tokens, want->total_tokens);
    assert_true(isnan(want->cost) ? isnan(got->cost) : got->cost == want->cost);
}

struct import_fixture {
    struct store *store;
    struct gen_env env;
    struct task task;
    struct gen_row_check check;
    struct gen_import g;
    struct run want[2];
    char *want_lines[2];
    size_t rows;
    struct run *inline_run; /* what the request's own save built */
};

static void on_inline_run(void *ud, struct run *run, const struct err *e)
{
    struct import_fixture *f = ud;
    assert_null(e);
    f->inline_run = run;
}

/* The run a row becomes, both ways the import builds it. Both come back as the original. */
static int on_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct import_fixture *f = ud;
    const struct export_format *hetu = export_format_find("hetu_jsonl");
    struct gen_import_source src = {.file_name = "export.jsonl"};
    struct gen_checked_row k;
    struct gen_sample sample;
    struct arena a;
    struct run run;
    struct buf out;
    char *line;

    arena_init(&a);
    buf_init(&out, 1 << 20);
    assert_int_equal(gen_import_check_row(&f->check, row, &a, &k, e), 0);
    /* an import job's load */
    assert_int_equal(gen_import_run(&f->g, &k, &a, &run, e), 0);
    same_sample(&run, &f->want[f->rows]);
    assert_int_equal(hetu->row(&opts, &run, 0, &out, e), 0);
    line = without_own_fields(out.data);
    assert_string_equal(line, f->want_lines[f->rows]);
    free(line);
    /* a small file's save inside the request */
    assert_int_equal(gen_import_sample(&src, &k, &sample), 0);
    assert_int_equal(gen_output(&f->env, &f->task, &sample, NULL, NULL, 0, on_inline_run, f, e), 0);
    assert_non_null(f->inline_run);
    same_sample(f->inline_run, &f->want[f->rows]);
    run_done(f->inline_run);
    free(f->inline_run);
    f->inline_run = NULL;
    gen_sample_free(&sample);
    buf_done(&out);
    arena_done(&a);
    f->rows++;
    return 0;
}

static void import_setup(struct import_fixture *f)
{
    struct err e = ERR_INIT;

    memset(f, 0, sizeof(*f));
    if (store_open(":memory:", &f->store, &e) != 0)
        fail_msg("store_open: %s", e.msg);
    f->env = (struct gen_env){.store = f->store, .user = "carol"};
    f->task = task;
    snprintf(f->task.id, sizeof(f->task.id), "900");
    f->check = (struct gen_row_check){.env = &f->env, .task = &f->task};
    assert_int_equal(
        gen_import_init(&f->g, &f->env, &f->task, NULL, "export.jsonl", NULL, NULL, NULL, NULL, &e),
        0);
    samples(f->want);
}

static void import_teardown(struct import_fixture *f)
{
    gen_import_done(&f->g);
    store_close(f->store);
}

/* Exports f->want as hetu_jsonl and imports it: on_row checks every line. */
static void export_and_read_back(struct import_fixture *f)
{
    struct jsonl_reader *rd;
    struct err e = ERR_INIT;
    struct buf out;

    write_all("hetu_jsonl", f->want, 2, &out);
    f->want_lines[0] = without_own_fields(out.data);
    f->want_lines[1] = without_own_fields(strchr(out.data, '\n') + 1);
    rd = jsonl_reader_new(on_row, f, NULL);
    assert_non_null(rd);
    if (jsonl_reader_feed(rd, out.data, out.len, &e) != 0 || jsonl_reader_finish(rd, &e) != 0)
        fail_msg("import: %s", e.msg);
    assert_int_equal(f->rows, 2);
    jsonl_reader_free(rd);
    free(f->want_lines[0]);
    free(f->want_lines[1]);
    buf_done(&out);
}

/* Export, import (as a job loads it and as a request saves it), export again: the same
 * samples, every stored field but the id, time and creator. */
static void hetu_jsonl_reads_back(void **state)
{
    struct import_fixture f;

    (void)state;
    import_setup(&f);
    export_and_read_back(&f);
    import_teardown(&f);
}

static int refuse_row(void *ud, const struct ingest_row *row, struct err *e)
{
    struct import_fixture *f = ud;
    struct gen_checked_row k;
    struct arena a;
    int r;

    arena_init(&a);
    r = gen_import_check_row(&f->check, row, &a, &k, e);
    arena_done(&a);
    return r;
}

static void refused_line(const char *line, const char *field, const char *msg)
{
    struct import_fixture f;
    struct jsonl_reader *rd;
    struct err e = ERR_INIT;

    import_setup(&f);
    rd = jsonl_reader_new(refuse_row, &f, NULL);
    assert_int_equal(jsonl_reader_feed(rd, line, strlen(line), &e), HE_INVALID);
    assert_string_equal(e.field, field);
    assert_string_equal(e.msg, msg);
    jsonl_reader_free(rd);
    import_teardown(&f);
}

/* Stored fields that no sample could have are refused, naming the field and line. */
static void hetu_jsonl_bad_fields(void **state)
{
    (void)state;
    refused_line("{\"input\":\"q\",\"output\":\"a\",\"rating\":{\"type\":\"five_star\","
                 "\"value\":7}}\n",
                 "rating",
                 "line 1: rating must be a five_star rating of 1 to 5, or a pass_fail or "
                 "pass_fail_critical one");
    refused_line("{\"input\":\"q\",\"output\":\"a\",\"input_source\":{\"type\":\"robot\"}}\n",
                 "input_source",
                 "line 1: input_source must be an object whose type is human, synthetic or "
                 "file_import");
    refused_line("{\"input\":\"q\",\"output\":\"a\",\"usage\":{\"input_tokens\":-3}}\n", "usage",
                 "line 1: usage token counts must be whole numbers, at least 0");
    refused_line("{\"input\":\"q\",\"session_id\":\"s\"}\n", "output",
                 "line 1: a sample with its stored fields (rating, sources, ...) needs its "
                 "output");
}

/* A row's stored fields survive the import's spool (what an import job loads). */
static void hetu_jsonl_through_the_spool(void **state)
{
    const char *tags[] = {"synthetic"};
    struct gen_checked_row row = {.input = "q",
                                  .input_len = 1,
                                  .output = "a",
                                  .output_len = 1,
                                  .tags = tags,
                                  .n_tags = 1,
                                  .provenance = "{\"session_id\":\"s1\"}"};
    struct spool_header h;
    struct spool_row back;
    struct err e = ERR_INIT;
    struct arena a;
    struct buf b;
    FILE *f = tmpfile();

    (void)state;
    arena_init(&a);
    buf_init(&b, 1 << 16);
    assert_non_null(f);
    assert_int_equal(spool_write_header(f, &(struct spool_header){0}, &e), 0);
    assert_int_equal(spool_encode_row(&b, &row), 0);
    row.provenance = NULL;
    assert_int_equal(spool_encode_row(&b, &row), 0);
    assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
    rewind(f);
    assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
    assert_int_equal(spool_read_row(f, &a, &back, &e), 0);
    assert_string_equal(back.row.provenance, "{\"session_id\":\"s1\"}");
    assert_string_equal(back.row.tags[0], "synthetic");
    assert_int_equal(spool_read_row(f, &a, &back, &e), 0);
    assert_null(back.row.provenance);
    assert_int_equal(spool_read_row(f, &a, &back, &e), 1);
    fclose(f);
    buf_done(&b);
    arena_done(&a);
}

/* A CSV export's row imported: its texts, topic path, rating and session, and the tags of an
 * imported file (the file's own after "imported"). */
static int on_csv_row(void *ud, const struct ingest_row *row, struct err *e)
{
    static const char *const tags[] = {"[\"imported\",\"synthetic\",\"翻译\"]", "[\"imported\"]"};
    static const char *const outputs[] = {"He said, \"Hello\"\nGoodbye", "修好的，输出"};
    struct import_fixture *f = ud;
    const struct run *want = &f->want[f->rows];
    struct gen_checked_row k;
    struct arena a;
    struct run run;

    arena_init(&a);
    assert_int_equal(gen_import_check_row(&f->check, row, &a, &k, e), 0);
    assert_int_equal(gen_import_run(&f->g, &k, &a, &run, e), 0);
    assert_string_equal(run.input, want->input);
    assert_string_equal(run.output, outputs[f->rows]);
    assert_string_equal(run.topic_key, want->topic_key);
    assert_string_equal(run.tags, tags[f->rows]);
    assert_string_equal(run.rating, want->rating);
    assert_true(run.rating_score == want->rating_score);
    if (want->session_id)
        assert_string_equal(run.session_id, want->session_id);
    else
        assert_null(run.session_id);
    arena_done(&a);
    f->rows++;
    return 0;
}

static void csv_reads_back(void **state)
{
    struct import_fixture f;
    struct csv_reader *rd;
    struct err e = ERR_INIT;
    struct buf out;

    (void)state;
    import_setup(&f);
    write_all("csv", f.want, 2, &out);
    rd = csv_reader_new(on_csv_row, &f, NULL);
    assert_non_null(rd);
    if (csv_reader_feed(rd, out.data, out.len, &e) != 0 || csv_reader_finish(rd, &e) != 0)
        fail_msg("import: %s", e.msg);
    assert_int_equal(f.rows, 2);
    csv_reader_free(rd);
    buf_done(&out);
    import_teardown(&f);
}

#define IN_SCHEMA                                                                           \
    "{\"type\":\"object\",\"properties\":{\"问题\":{\"type\":\"string\"}},\"required\":[" \
    "\"问题\"]}"
#define OUT_SCHEMA                                                                        \
    "{\"type\":\"object\",\"properties\":{\"答\":{\"type\":\"string\"},\"n\":{\"type\":" \
    "\"integer\"}},\"required\":[\"答\"]}"

/* A task with schemas: chat content is the input's and output's JSON text, and hetu_jsonl
 * reads back into a task with the same schemas as the same JSON text. */
static void structured_task(void **state)
{
    struct import_fixture f;
    struct buf out;

    (void)state;
    import_setup(&f);
    f.task.input_json_schema = IN_SCHEMA;
    f.task.output_json_schema = OUT_SCHEMA;
    f.want[0].input = "{\"问题\":\"他说\\\"好\\\"\"}";
    f.want[0].output = "{\"答\":\"行\",\"n\":2}";
    f.want[1].input = "{\"问题\":\"a,b\"}";
    f.want[1].output = "{\"答\":\"原始\"}";
    f.want[1].repaired_output = "{\"v\":1,\"output\":\"{\\\"答\\\":\\\"修好\\\"}\"}";
    write_all("trl_messages", f.want, 2, &out);
    assert_string_equal(
        out.data,
        "{\"messages\":[{\"role\":\"system\",\"content\":\"你是翻译助手。\\n要求：准确\"},"
        "{\"role\":\"user\",\"content\":\"{\\\"问题\\\":\\\"他说\\\\\\\"好\\\\\\\"\\\"}\"},"
        "{\"role\":\"assistant\",\"content\":\"{\\\"答\\\":\\\"行\\\",\\\"n\\\":2}\"}]}\n"
        "{\"messages\":[{\"role\":\"system\",\"content\":\"你是翻译助手。\\n要求：准确\"},"
        "{\"role\":\"user\",\"content\":\"{\\\"问题\\\":\\\"a,b\\\"}\"},"
        "{\"role\":\"assistant\",\"content\":\"{\\\"答\\\":\\\"修好\\\"}\"}]}\n");
    buf_done(&out);
    export_and_read_back(&f);
    import_teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(golden, &goldens[0]),
        cmocka_unit_test_prestate(golden, &goldens[1]),
        cmocka_unit_test_prestate(golden, &goldens[2]),
        cmocka_unit_test_prestate(golden, &goldens[3]),
        cmocka_unit_test_prestate(golden, &goldens[4]),
        cmocka_unit_test_prestate(golden, &goldens[5]),
        cmocka_unit_test_prestate(golden, &goldens[6]),
        cmocka_unit_test(empty_exports),
        cmocka_unit_test(no_system_turn),
        cmocka_unit_test(csv_ratings),
        cmocka_unit_test(llamafactory_entries),
        cmocka_unit_test(hetu_jsonl_reads_back),
        cmocka_unit_test(hetu_jsonl_bad_fields),
        cmocka_unit_test(hetu_jsonl_through_the_spool),
        cmocka_unit_test(csv_reads_back),
        cmocka_unit_test(structured_task),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
