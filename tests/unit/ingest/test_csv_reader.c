/* SPDX-License-Identifier: MIT */
/*
 * The streaming CSV reader: RFC 4180 quoting, BOM, CRLF, rows split across any chunking, the
 * header, tags and topic_path splitting, and every error with the line (and column) it names.
 * Each run renders what the callback saw as a transcript, one line per row, ending with "OK" or
 * "ERR <slug>: <message>", so a test states exactly what a user would get.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/csv_reader.h"
#include "util/buf.h"

struct got {
    struct buf out;
    size_t rows, refuse_at;
};

static void add(struct buf *b, const char *label, const char *s)
{
    if (s)
        buf_addf(b, " %s=[%s]", label, s);
}

static void add_list(struct buf *b, const char *label, const char *const *items, size_t n)
{
    if (!n)
        return;
    buf_addf(b, " %s=", label);
    for (size_t i = 0; i < n; i++)
        buf_addf(b, "[%s]", items[i]);
}

static int collect_cb(void *ud, const struct ingest_row *row, struct err *e)
{
    struct got *g = ud;

    assert_non_null(row->input);
    assert_int_equal(strlen(row->input), row->input_len);
    assert_int_equal(row->output ? strlen(row->output) : 0, row->output_len);
    assert_false(row->input_is_json);
    assert_null(row->system);
    buf_addf(&g->out, "L%zu", row->line);
    add(&g->out, "in", row->input);
    add(&g->out, "out", row->output);
    add_list(&g->out, "topics", row->topic_path, row->topic_path_count);
    add(&g->out, "hg", row->human_guidance);
    add_list(&g->out, "tags", row->tags, row->tags_count);
    buf_adds(&g->out, "\n");
    if (++g->rows == g->refuse_at)
        return err_set(e, HE_CONFLICT, NULL, "refused the row at line %zu", row->line);
    return 0;
}

/* Feeds data in chunks of `chunk` bytes (0: all at once); returns the transcript (caller frees). */
static char *run_limits(const char *data, size_t len, size_t chunk, const struct ingest_limits *lim,
                        size_t refuse_at)
{
    struct got g = {.refuse_at = refuse_at};
    struct csv_reader *r = csv_reader_new(collect_cb, &g, lim);
    struct err e;
    int rc = 0;

    assert_non_null(r);
    buf_init(&g.out, 1 << 24);
    err_clear(&e);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t at = 0; at < len && !rc; at += chunk)
        rc = csv_reader_feed(r, data + at, len - at < chunk ? len - at : chunk, &e);
    if (!rc)
        rc = csv_reader_finish(r, &e);
    if (rc) {
        assert_int_equal(rc, e.code);
        assert_string_equal(e.field, refuse_at ? "" : "file");
        buf_addf(&g.out, "ERR %s: %s", err_slug(rc), e.msg);
        /* A stopped reader stays stopped. */
        assert_int_equal(csv_reader_feed(r, "x\n", 2, &e), rc);
        assert_int_equal(csv_reader_finish(r, &e), rc);
    } else {
        assert_int_equal(csv_reader_rows(r), g.rows);
        buf_adds(&g.out, "OK");
    }
    csv_reader_free(r);
    return buf_take(&g.out);
}

static char *run(const char *data, size_t chunk)
{
    return run_limits(data, strlen(data), chunk, NULL, 0);
}

#define assert_csv(data, expected)           \
    do {                                     \
        char *_t = run((data), 0);           \
        assert_string_equal(_t, (expected)); \
        free(_t);                            \
    } while (0)

static void gateway_example(void **state)
{
    (void)state;
    assert_csv("input,output\n"
               "什么是机器学习？,机器学习是人工智能的一个分支。\n"
               "\"他说\"\"学习\"\"很重要\",\"是的，学习很重要\"\n"
               "\"a, b, c\",\"x,y\"\n",
               "L2 in=[什么是机器学习？] out=[机器学习是人工智能的一个分支。]\n"
               "L3 in=[他说\"学习\"很重要] out=[是的，学习很重要]\n"
               "L4 in=[a, b, c] out=[x,y]\n"
               "OK");
}

static void bom_crlf_and_quoted_newlines(void **state)
{
    (void)state;
    assert_csv("\xEF\xBB\xBFinput,output\r\n"
               "\"first\r\nsecond\",\"  spaces kept  \"\r\n"
               "q2, a2 \r\n",
               "L2 in=[first\r\nsecond] out=[  spaces kept  ]\n"
               "L4 in=[q2] out=[ a2 ]\n"
               "OK");
    /* A BOM-like prefix that is not a BOM is data; here it makes an unknown column. */
    assert_csv("\xEF\xBBinput\nq\n", "ERR bad_request: line 1, header column 1: invalid UTF-8 "
                                     "(the file must be UTF-8 encoded)");
}

static void blank_lines_and_last_line_without_newline(void **state)
{
    (void)state;
    assert_csv("\n\ninput,human_guidance\n\nq1,be brief\n\r\n\nq2,\nlast,\"multi\nline\"",
               "L5 in=[q1] hg=[be brief]\n"
               "L8 in=[q2]\n"
               "L9 in=[last] hg=[multi\nline]\n"
               "OK");
}

static void header_names_are_trimmed_and_any_case(void **state)
{
    (void)state;
    assert_csv("Input , OUTPUT\nq,a\n", "L2 in=[q] out=[a]\nOK");
    assert_csv("output,input\na,q\n", "L2 in=[q] out=[a]\nOK");
}

static void tags_and_topic_path(void **state)
{
    (void)state;
    assert_csv("input,topic_path,tags\n"
               "q1,science>>>>>physics>>>>>quantum,\" a, b ,,c ,\"\n"
               "q2,single,solo\n"
               "q3,,\n"
               "q4,a b>>>>>c d,\" \"\n",
               "L2 in=[q1] topics=[science][physics][quantum] tags=[a][b][c]\n"
               "L3 in=[q2] topics=[single] tags=[solo]\n"
               "L4 in=[q3]\n"
               "L5 in=[q4] topics=[a b][c d]\n"
               "OK");
    assert_csv("input,topic_path\nq,a>>>>>>>>>>b\n",
               "ERR bad_request: line 2: topic_path has an empty topic");
    assert_csv("input,topic_path\nq,a>>>>>\n",
               "ERR bad_request: line 2: topic_path has an empty topic");
}

/* A file that exercises everything, and the same file with an error at the end. */
static const char mixed[] =
    "\xEF\xBB\xBF"
    "input,output,topic_path,human_guidance,tags\r\n"
    "\"多行\r\n输入\",\"他说\"\"好\"\"，然后走了\",科学>>>>>物理,,\"t1, t2\"\r\n"
    "\r\n"
    "😀 emoji,,a>>>>>b,guide,\r\n"
    "\"\"\"quoted\"\"\",\"\n\n\",x,\"\",\n"
    "last,row,,,";

static void chunking_does_not_matter(void **state)
{
    static const size_t chunks[] = {1, 2, 3, 7, 0};
    char *ref = run(mixed, 0);
    char bad[sizeof(mixed) + 64];

    (void)state;
    assert_string_equal(ref, "L2 in=[多行\r\n输入] out=[他说\"好\"，然后走了] topics=[科学][物理] "
                             "tags=[t1][t2]\n"
                             "L5 in=[😀 emoji] topics=[a][b] hg=[guide]\n"
                             "L6 in=[\"quoted\"] out=[\n\n] topics=[x]\n"
                             "L9 in=[last] out=[row]\n"
                             "OK");
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *t = run(mixed, chunks[i]);
        assert_string_equal(t, ref);
        free(t);
    }
    free(ref);

    /* A stray quote after Chinese text: the column counts characters, whatever the chunks. */
    snprintf(bad, sizeof(bad), "%s\r\n中文,ab\"c,,,\r\n", mixed);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *t = run(bad, chunks[i]);
        assert_non_null(strstr(t, "L9 in=[last] out=[row]\nERR bad_request: line 10 column 6: "
                                  "a quote inside an unquoted field"));
        free(t);
    }
}

static void quoting_errors_name_line_and_column(void **state)
{
    (void)state;
    assert_csv("input,output\nq,\"never closed\n\nmore\n",
               "ERR bad_request: line 2 column 2: a quoted field is never closed (the file ends "
               "inside it)");
    assert_csv("input,output\nok,ok\n\"x\",\"y\n\"z\n",
               "L2 in=[ok] out=[ok]\n"
               "ERR bad_request: line 4 column 2: text after the closing quote of a quoted field "
               "(a quote inside a quoted field must be doubled)");
    assert_csv("input\nab\"c\n",
               "ERR bad_request: line 2 column 3: a quote inside an unquoted field (quote the "
               "whole field and double the quotes inside it)");
    assert_csv("input,output\n\"a\" ,b\n",
               "ERR bad_request: line 2 column 4: text after the closing quote of a quoted field "
               "(a quote inside a quoted field must be doubled)");
}

static void field_count_errors(void **state)
{
    (void)state;
    assert_csv("input,output\nq,a\nq,a,extra\n",
               "L2 in=[q] out=[a]\nERR bad_request: line 3: the row has 3 fields but the header "
               "has 2");
    assert_csv("input,output\n\"multi\nline\"\nq,a\n",
               "ERR bad_request: line 2: the row has 1 field but the header has 2");
}

static void header_errors(void **state)
{
    (void)state;
    assert_csv("output,tags\na,b\n",
               "ERR bad_request: line 1: the header has no \"input\" column (the first row must "
               "name the columns: input, output, topic_path, human_guidance, tags, rating, "
               "session_id, input_model, output_model, created_at)");
    assert_csv("\n\ninput,answer,colour\nq,a,c\n",
               "ERR bad_request: line 3: unknown columns \"answer\", \"colour\"; the known "
               "columns are input, output, topic_path, human_guidance, tags, rating, session_id, "
               "input_model, output_model, created_at");
    assert_csv("input,output,input\nq,a,q\n",
               "ERR bad_request: line 1: the header names column \"input\" twice");
    assert_csv("input,,output\n",
               "ERR bad_request: line 1: header column 2 has no name; the known columns are "
               "input, output, topic_path, human_guidance, tags, rating, session_id, "
               "input_model, output_model, created_at");
}

static void empty_files(void **state)
{
    (void)state;
    assert_csv("", "ERR bad_request: the file has no rows");
    assert_csv("\n\r\n\n", "ERR bad_request: the file has no rows");
    assert_csv("\xEF\xBB\xBF", "ERR bad_request: the file has no rows");
    assert_csv("input,output\n", "ERR bad_request: the file has no rows (only a header)");
    assert_csv("input,output\n\n\n", "ERR bad_request: the file has no rows (only a header)");
}

static void empty_input_is_an_error(void **state)
{
    (void)state;
    assert_csv("input,output\nq,a\n\n,answer only\n",
               "L2 in=[q] out=[a]\nERR bad_request: line 4: input is empty");
}

static void invalid_utf8_names_line_and_column(void **state)
{
    (void)state;
    /* Latin-1 text, as a spreadsheet might save it. */
    assert_csv("input,output\nq,a\ncaf\xE9,x\n",
               "L2 in=[q] out=[a]\nERR bad_request: line 3, column \"input\": invalid UTF-8 "
               "(the file must be UTF-8 encoded)");
    /* The bad byte on the third line of a quoted field. */
    assert_csv("input,output\nq,\"one\ntwo\nthr\xC3\x28\"\n",
               "ERR bad_request: line 4, column \"output\": invalid UTF-8 (the file must be UTF-8 "
               "encoded)");
    assert_csv("inp\xFFut\nq\n", "ERR bad_request: line 1, header column 1: invalid UTF-8 (the "
                                 "file must be UTF-8 encoded)");
}

static void utf8_edge_cases(void **state)
{
    static const char *const bad[] = {
        "\xC0\x80",         /* overlong NUL */
        "\xE0\x80\xAF",     /* overlong '/' */
        "\xED\xA0\x80",     /* UTF-16 surrogate */
        "\xF4\x90\x80\x80", /* past U+10FFFF */
        "\xF5\x80\x80\x80", /* invalid lead byte */
        "\xE4\xBD",         /* truncated at the end of the field */
        "\x80",             /* lone continuation byte */
        "\xE4\xBD\xA0\xE5", /* valid then truncated */
    };
    static const char *const good[] = {"\xC2\x80",
                                       "\xE0\xA0\x80",
                                       "\xED\x9F\xBF",
                                       "\xEE\x80\x80",
                                       "\xF0\x90\x80\x80",
                                       "\xF4\x8F\xBF\xBF",
                                       "plain ascii long enough for a word"};
    char file[64], want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *t;
        snprintf(file, sizeof(file), "input\nok\nx%s\n", bad[i]);
        t = run(file, 0);
        assert_string_equal(t, "L2 in=[ok]\nERR bad_request: line 3, column \"input\": invalid "
                               "UTF-8 (the file must be UTF-8 encoded)");
        free(t);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        snprintf(file, sizeof(file), "input\nx%s\n", good[i]);
        snprintf(want, sizeof(want), "L2 in=[x%s]\nOK", good[i]);
        assert_csv(file, want);
    }
    /* A NUL byte inside a field. */
    {
        static const char nul[] = "input,output\nq,a\x00z\n";
        char *t = run_limits(nul, sizeof(nul) - 1, 0, NULL, 0);
        assert_string_equal(t, "ERR bad_request: line 2, column \"output\": NUL byte in text");
        free(t);
    }
}

static void limits_name_the_line(void **state)
{
    static const struct ingest_limits lim = {
        .max_field = 16, .max_row = 24, .max_columns = 2, .max_items = 2};
    static const char *const files[] = {
        "input\nshort\n0123456789abcdefg\n",
        "input,output\nabcdefghijkl,mnopqrstuvwx\n",
        "input,output,tags\n",
        "input,tags\nq,\"a,b,c\"\n",
        "input,topic_path\nq,a>>>>>b>>>>>c\n",
    };
    static const char *const want[] = {
        ("L2 in=[short]\nERR bad_request: line 3, column \"input\": the field is larger than the "
         "limit of 16 bytes"),
        "ERR bad_request: line 2: the row is larger than the limit of 24 bytes",
        "ERR bad_request: line 1: the header has more than 2 columns",
        "ERR bad_request: line 2: tags has more than 2 tags",
        "ERR bad_request: line 2: topic_path has more than 2 topics",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        for (size_t chunk = 0; chunk < 4; chunk++) {
            char *t = run_limits(files[i], strlen(files[i]), chunk, &lim, 0);
            assert_string_equal(t, want[i]);
            free(t);
        }
    }
}

static void huge_field_keeps_memory_bounded(void **state)
{
    /* 3 MiB inside one quoted field, fed in 64 KiB chunks: rejected at the 1 MiB default. */
    size_t len = 3 << 20;
    char *data = malloc(len);
    char *t;

    (void)state;
    assert_non_null(data);
    memset(data, 'x', len);
    memcpy(data, "input\nq\n\"", 9);
    t = run_limits(data, len, 65536, NULL, 0);
    assert_string_equal(t, "L2 in=[q]\nERR bad_request: line 3, column \"input\": the field is "
                           "larger than the limit of 1048576 bytes");
    free(t);
    free(data);
}

static void callback_error_stops_the_parse(void **state)
{
    static const char file[] = "input\na\nb\nc\n";
    char *t = run_limits(file, strlen(file), 0, NULL, 2);

    (void)state;
    assert_string_equal(t, "L2 in=[a]\nL3 in=[b]\nERR conflict: refused the row at line 3");
    free(t);
}

/* Old Mac files end lines with a lone '\r': rows and errors name their lines as with '\n', a
 * '\r\n' stays one line end when a chunk boundary falls inside it, and the three mix. */
static void lone_cr_line_ends(void **state)
{
    static const size_t chunks[] = {1, 2, 3, 5, 0};
    static const char mac[] = "input,output\rq1,a1\r\"multi\rline\",a2\rq3,a3\r";
    static const char mixed_ends[] = "input\r\nq1\rq2\nq3\r\n\rq4\r";
    static const char bad[] = "input,output\rq1,a1\r\rq2,x\"y\r";

    (void)state;
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *t = run(mac, chunks[i]);
        assert_string_equal(t, "L2 in=[q1] out=[a1]\n"
                               "L3 in=[multi\rline] out=[a2]\n"
                               "L5 in=[q3] out=[a3]\n"
                               "OK");
        free(t);
        t = run(mixed_ends, chunks[i]);
        assert_string_equal(t, "L2 in=[q1]\nL3 in=[q2]\nL4 in=[q3]\nL6 in=[q4]\nOK");
        free(t);
        t = run(bad, chunks[i]);
        assert_string_equal(t, "L2 in=[q1] out=[a1]\n"
                               "ERR bad_request: line 4 column 5: a quote inside an unquoted "
                               "field (quote the whole field and double the quotes inside it)");
        free(t);
    }
    /* invalid UTF-8 on the second line of a quoted field with lone '\r's */
    assert_csv("input\r\"ok\r\xFF\"\r",
               "ERR bad_request: line 3, column \"input\": invalid UTF-8 (the file must be UTF-8 "
               "encoded)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gateway_example),
        cmocka_unit_test(bom_crlf_and_quoted_newlines),
        cmocka_unit_test(blank_lines_and_last_line_without_newline),
        cmocka_unit_test(header_names_are_trimmed_and_any_case),
        cmocka_unit_test(tags_and_topic_path),
        cmocka_unit_test(chunking_does_not_matter),
        cmocka_unit_test(quoting_errors_name_line_and_column),
        cmocka_unit_test(field_count_errors),
        cmocka_unit_test(header_errors),
        cmocka_unit_test(empty_files),
        cmocka_unit_test(empty_input_is_an_error),
        cmocka_unit_test(invalid_utf8_names_line_and_column),
        cmocka_unit_test(utf8_edge_cases),
        cmocka_unit_test(limits_name_the_line),
        cmocka_unit_test(huge_field_keeps_memory_bounded),
        cmocka_unit_test(callback_error_stops_the_parse),
        cmocka_unit_test(lone_cr_line_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
