/* SPDX-License-Identifier: MIT */
/*
 * The streaming JSON Lines reader: plain rows and OpenAI chat records, object inputs as JSON
 * text, BOM, CRLF and blank lines, lines split across any chunking (inside a character too), and
 * every error with the line (and field) it names. Each run renders what the callback saw as a
 * transcript, one line per row, ending with "OK" or "ERR <slug>: <message>".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/jsonl_reader.h"
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
    buf_addf(&g->out, "L%zu", row->line);
    add(&g->out, row->input_is_json ? "in_json" : "in", row->input);
    add(&g->out, row->output_is_json ? "out_json" : "out", row->output);
    add(&g->out, "sys", row->system);
    add_list(&g->out, "topics", row->topic_path, row->topic_path_count);
    add(&g->out, "hg", row->human_guidance);
    add_list(&g->out, "tags", row->tags, row->tags_count);
    buf_adds(&g->out, "\n");
    if (++g->rows == g->refuse_at)
        return err_set(e, HE_CONFLICT, NULL, "refused the row at line %zu", row->line);
    return 0;
}

static char *run_limits(const char *data, size_t len, size_t chunk, const struct ingest_limits *lim,
                        size_t refuse_at)
{
    struct got g = {.refuse_at = refuse_at};
    struct jsonl_reader *r = jsonl_reader_new(collect_cb, &g, lim);
    struct err e;
    int rc = 0;

    assert_non_null(r);
    buf_init(&g.out, 1 << 24);
    err_clear(&e);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (size_t at = 0; at < len && !rc; at += chunk)
        rc = jsonl_reader_feed(r, data + at, len - at < chunk ? len - at : chunk, &e);
    if (!rc)
        rc = jsonl_reader_finish(r, &e);
    if (rc) {
        assert_int_equal(rc, e.code);
        assert_string_equal(e.field, refuse_at ? "" : "file");
        buf_addf(&g.out, "ERR %s: %s", err_slug(rc), e.msg);
        assert_int_equal(jsonl_reader_feed(r, "{}\n", 3, &e), rc);
        assert_int_equal(jsonl_reader_finish(r, &e), rc);
    } else {
        assert_int_equal(jsonl_reader_rows(r), g.rows);
        buf_adds(&g.out, "OK");
    }
    jsonl_reader_free(r);
    return buf_take(&g.out);
}

static char *run(const char *data, size_t chunk)
{
    return run_limits(data, strlen(data), chunk, NULL, 0);
}

#define assert_jsonl(data, expected)         \
    do {                                     \
        char *_t = run((data), 0);           \
        assert_string_equal(_t, (expected)); \
        free(_t);                            \
    } while (0)

static void plain_rows(void **state)
{
    (void)state;
    assert_jsonl("{\"input\": \"什么是机器学习？\", \"output\": \"他说\\\"学习\\\"很重要\"}\n"
                 "{\"input\": {\"question\": \"2+2\", \"n\": [1, 2.5]}, \"output\": {\"a\": 4}}\n"
                 "{\"input\": \"q\", \"output\": null, \"topic_path\": [\"科学\", \"物理\"], "
                 "\"tags\": [\"x\", \"\", \"y\"], \"human_guidance\": \"be brief\"}\n"
                 "{\"input\": \"q\", \"output\": \"\", \"topic_path\": \"a>>>>>b c\", "
                 "\"human_guidance\": null, \"tags\": null}\n",
                 "L1 in=[什么是机器学习？] out=[他说\"学习\"很重要]\n"
                 "L2 in_json=[{\"question\":\"2+2\",\"n\":[1,2.5]}] out_json=[{\"a\":4}]\n"
                 "L3 in=[q] topics=[科学][物理] hg=[be brief] tags=[x][y]\n"
                 "L4 in=[q] topics=[a][b c]\n"
                 "OK");
}

static void chat_records(void **state)
{
    (void)state;
    assert_jsonl(
        "{\"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, "
        "{\"role\": \"user\", \"content\": \"Hi?\"}, {\"role\": \"assistant\", \"content\": "
        "\"Hello.\"}]}\n"
        /* Multi-turn: the last user turn and the reply after it. */
        "{\"messages\": [{\"role\": \"system\", \"content\": \"s1\"}, {\"role\": \"user\", "
        "\"content\": \"u1\"}, {\"role\": \"assistant\", \"content\": \"a1\"}, {\"role\": "
        "\"user\", \"content\": \"u2\"}, {\"role\": \"assistant\", \"content\": \"a2\", "
        "\"weight\": 1}], \"tags\": [\"chat\"]}\n"
        /* No reply yet: output is generated later. Content given as text parts. */
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": "
        "\"part one\"}, {\"type\": \"text\", \"text\": \"part two\"}]}], \"topic_path\": "
        "\"a>>>>>b\"}\n"
        /* An assistant turn before the user turn is not its reply. */
        "{\"messages\": [{\"role\": \"assistant\", \"content\": \"earlier\"}, {\"role\": "
        "\"developer\", \"content\": \"dev prompt\"}, {\"role\": \"user\", \"content\": "
        "\"q\"}]}\n",
        "L1 in=[Hi?] out=[Hello.] sys=[You are terse.]\n"
        "L2 in=[u2] out=[a2] sys=[s1] tags=[chat]\n"
        "L3 in=[part one\npart two] topics=[a][b]\n"
        "L4 in=[q] sys=[dev prompt]\n"
        "OK");
}

static void bom_crlf_blank_lines_and_no_final_newline(void **state)
{
    (void)state;
    assert_jsonl("\xEF\xBB\xBF{\"input\": \"a\"}\r\n\r\n   \n\t\r\n{\"input\": \"b\"}\r\n\n"
                 "{\"input\": \"c\"}",
                 "L1 in=[a]\nL5 in=[b]\nL7 in=[c]\nOK");
}

static const char mixed[] =
    "\xEF\xBB\xBF{\"input\": \"多行\\n输入 😀\", \"output\": {\"k\": \"值\"}, \"topic_path\": "
    "\"科学>>>>>物理\", \"tags\": [\"t1\"]}\r\n"
    "\n"
    "{\"messages\": [{\"role\": \"system\", \"content\": \"系统\"}, {\"role\": \"user\", "
    "\"content\": \"问题\"}, {\"role\": \"assistant\", \"content\": \"回答\"}]}\n"
    "{\"input\": \"last\", \"human_guidance\": \"指导\"}";

static void chunking_does_not_matter(void **state)
{
    static const size_t chunks[] = {1, 2, 3, 7, 0};
    char *ref = run(mixed, 0);
    char bad[sizeof(mixed) + 64];

    (void)state;
    assert_string_equal(ref, "L1 in=[多行\n输入 😀] out_json=[{\"k\":\"值\"}] topics=[科学][物理] "
                             "tags=[t1]\n"
                             "L3 in=[问题] out=[回答] sys=[系统]\n"
                             "L4 in=[last] hg=[指导]\n"
                             "OK");
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *t = run(mixed, chunks[i]);
        assert_string_equal(t, ref);
        free(t);
    }
    free(ref);

    snprintf(bad, sizeof(bad), "%s\n{\"input\": \"中文\",}\n", mixed);
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        char *t = run(bad, chunks[i]);
        assert_non_null(strstr(t, "L4 in=[last] hg=[指导]\nERR bad_json: line 5 column 16: "
                                  "malformed JSON: unexpected character"));
        free(t);
    }
}

static void bad_json_names_line_and_column(void **state)
{
    (void)state;
    assert_jsonl("{\"input\": \"a\"}\n{\"input\": tru}\n",
                 "L1 in=[a]\nERR bad_json: line 2 column 14: malformed JSON: boolean expected");
    assert_jsonl("{\"input\": \"a\"}\n\n{\"input\": \"unterminated}\n",
                 "L1 in=[a]\nERR bad_json: line 3 column 25: malformed JSON: unexpected end of "
                 "input");
    assert_jsonl("{\"input\": \"a\"} {\"input\": \"b\"}\n",
                 "ERR bad_json: line 1 column 16: malformed JSON: unexpected character");
    /* Invalid UTF-8 (Latin-1 text). */
    assert_jsonl("{\"input\": \"ok\"}\n{\"input\": \"caf\xE9\"}\n",
                 "L1 in=[ok]\nERR bad_json: line 2 column 15: malformed JSON: invalid UTF-8");
    /* Forms json-c's own check lets through: overlong NUL, an encoded surrogate, a code point
       above U+10FFFF, an overlong three-byte form. */
    assert_jsonl("{\"input\": \"ok\"}\n{\"input\": \"a\xC0\x80\"}\n",
                 "L1 in=[ok]\nERR bad_json: line 2 column 13: malformed JSON: invalid UTF-8");
    assert_jsonl("{\"input\": \"\xED\xA0\x80\"}\n",
                 "ERR bad_json: line 1 column 12: malformed JSON: invalid UTF-8");
    assert_jsonl("{\"input\": \"\xF4\x90\x80\x80\"}\n",
                 "ERR bad_json: line 1 column 12: malformed JSON: invalid UTF-8");
    assert_jsonl("{\"input\": \"\xE0\x80\x80\"}\n",
                 "ERR bad_json: line 1 column 12: malformed JSON: invalid UTF-8");
}

static void field_errors_name_the_field(void **state)
{
    (void)state;
    assert_jsonl("{\"output\": \"a\"}\n",
                 "ERR bad_request: line 1: input is missing (each line needs \"input\" or "
                 "\"messages\")");
    assert_jsonl("{\"input\": null}\n",
                 "ERR bad_request: line 1: input is missing (each line needs \"input\" or "
                 "\"messages\")");
    assert_jsonl("{\"input\": \"\"}\n", "ERR bad_request: line 1: input is empty");
    assert_jsonl("{\"input\": 42}\n",
                 "ERR bad_request: line 1: input must be a string or an object, not an integer");
    assert_jsonl("{\"input\": \"q\", \"output\": [1]}\n",
                 "ERR bad_request: line 1: output must be a string or an object, not an array");
    assert_jsonl("{\"input\": \"q\", \"label\": 7}\n",
                 "ERR bad_request: line 1: unknown field \"label\"; the known fields are input, "
                 "output, topic_path, human_guidance, tags, messages and the stored fields of a "
                 "hetu_jsonl export");
    assert_jsonl("{\"input\": \"q\", \"tags\": \"a,b\"}\n",
                 "ERR bad_request: line 1: tags must be a list of strings, not a string");
    assert_jsonl("{\"input\": \"q\", \"tags\": [\"a\", 3]}\n",
                 "ERR bad_request: line 1: tags[1] must be a string, not an integer");
    assert_jsonl("{\"input\": \"q\", \"topic_path\": 3}\n",
                 "ERR bad_request: line 1: topic_path must be a list of strings or a string, not "
                 "an integer");
    assert_jsonl("{\"input\": \"q\", \"topic_path\": [\"a\", \"\"]}\n",
                 "ERR bad_request: line 1: topic_path[1] is empty");
    assert_jsonl("{\"input\": \"q\", \"topic_path\": \">>>>>b\"}\n",
                 "ERR bad_request: line 1: topic_path has an empty topic");
    assert_jsonl("{\"input\": \"q\", \"human_guidance\": true}\n",
                 "ERR bad_request: line 1: human_guidance must be a string, not a boolean");
    assert_jsonl("{\"input\": \"a\\u0000b\"}\n",
                 "ERR bad_request: line 1: input contains a NUL character");
    assert_jsonl("[{\"input\": \"q\"}]\n",
                 "ERR bad_request: line 1: each line must be a JSON object, not an array");
}

static void chat_errors(void **state)
{
    (void)state;
    assert_jsonl("{\"input\": \"ok\"}\n"
                 "{\"messages\": [{\"role\": \"system\", \"content\": \"s\"}, {\"role\": "
                 "\"assistant\", \"content\": \"a\"}]}\n",
                 "L1 in=[ok]\nERR bad_request: line 2: the chat record has no user message");
    assert_jsonl("{\"messages\": []}\n",
                 "ERR bad_request: line 1: the chat record has no user message");
    assert_jsonl("{\"messages\": {\"role\": \"user\"}}\n",
                 "ERR bad_request: line 1: messages must be a list, not an object");
    assert_jsonl("{\"messages\": [{\"role\": \"tool\", \"content\": \"x\"}]}\n",
                 "ERR bad_request: line 1: messages[0].role must be system, user or assistant, "
                 "not \"tool\"");
    assert_jsonl("{\"messages\": [{\"role\": \"user\", \"content\": \"x\", \"tool_calls\": "
                 "[]}]}\n",
                 "ERR bad_request: line 1: unknown field messages[0].tool_calls (a message has "
                 "role and content)");
    assert_jsonl("{\"messages\": [{\"role\": \"user\", \"content\": \"\"}]}\n",
                 "ERR bad_request: line 1: messages[0].content (the input) is empty");
    assert_jsonl("{\"messages\": [{\"role\": \"user\"}]}\n",
                 "ERR bad_request: line 1: messages[0].content is missing");
    assert_jsonl("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}"
                 "\n",
                 "ERR bad_request: line 1: messages[0].content[0] must be a text part {\"type\": "
                 "\"text\", \"text\": \"...\"}");
    assert_jsonl("{\"input\": \"q\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n",
                 "ERR bad_request: line 1: a line has either input (and output) or messages, not "
                 "both");
}

static void empty_files(void **state)
{
    (void)state;
    assert_jsonl("", "ERR bad_request: the file has no rows");
    assert_jsonl("\n\r\n  \n", "ERR bad_request: the file has no rows");
    assert_jsonl("\xEF\xBB\xBF", "ERR bad_request: the file has no rows");
}

static void long_lines_are_rejected_at_any_chunking(void **state)
{
    static const struct ingest_limits lim = {.max_row = 32, .max_field = 8, .max_items = 2};
    static const char *const files[] = {
        "{\"input\": \"short\"}\n{\"input\": \"this line is much too long\"}\n",
        "{\"input\": \"123456789\"}\n",
        "{\"input\": \"q\", \"tags\": [\"a\", \"b\", \"c\"]}\n",
        /* 32 bytes then CRLF: the '\r' does not count. */
        "{\"input\": \"0123456\"}            \r\n",
    };
    static const char *const want[] = {
        "L1 in=[short]\nERR bad_request: line 2 is longer than the limit of 32 bytes",
        "ERR bad_request: line 1: input is larger than the limit of 8 bytes",
        "ERR bad_request: line 1 is longer than the limit of 32 bytes",
        "L1 in=[0123456]\nOK",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        for (size_t chunk = 0; chunk < 5; chunk++) {
            char *t = run_limits(files[i], strlen(files[i]), chunk, &lim, 0);
            assert_string_equal(t, want[i]);
            free(t);
        }
    }
}

static void huge_line_keeps_memory_bounded(void **state)
{
    /* 6 MiB with no newline, fed in 64 KiB chunks: rejected at the 4 MiB default. */
    size_t len = 6 << 20;
    char *data = malloc(len);
    char *t;

    (void)state;
    assert_non_null(data);
    memset(data, ' ', len);
    memcpy(data, "{\"input\": \"q\"}\n{", 16);
    t = run_limits(data, len, 65536, NULL, 0);
    assert_string_equal(t, "L1 in=[q]\nERR bad_request: line 2 is longer than the limit of "
                           "4194304 bytes");
    free(t);
    free(data);
}

static void callback_error_stops_the_parse(void **state)
{
    static const char file[] = "{\"input\": \"a\"}\n{\"input\": \"b\"}\n{\"input\": \"c\"}\n";
    char *t = run_limits(file, strlen(file), 0, NULL, 2);

    (void)state;
    assert_string_equal(t, "L1 in=[a]\nL2 in=[b]\nERR conflict: refused the row at line 2");
    free(t);
}

/* Batches read apart: line numbers from the batch's first line, an earlier error forgotten,
 * a byte order mark only at line 1. */
static void restart_numbers_lines_from_the_batch(void **state)
{
    static const char batch1[] = "{\"input\":\"a\"}\n\n{\"input\":\"b\"}\n";
    static const char batch2[] = "{\"input\":\"c\"}\n{oops}\n";
    static const char bom_row[] = "\xEF\xBB\xBF{\"input\":\"d\"}\n";
    struct got g = {0};
    struct jsonl_reader *r = jsonl_reader_new(collect_cb, &g, NULL);
    struct err e;
    (void)state;

    buf_init(&g.out, 1 << 20);
    err_clear(&e);
    jsonl_reader_restart(r, 1000);
    assert_int_equal(jsonl_reader_feed(r, batch1, strlen(batch1), &e), 0);
    jsonl_reader_restart(r, 5000);
    assert_int_equal(jsonl_reader_feed(r, batch2, strlen(batch2), &e), HE_BAD_JSON);
    assert_non_null(strstr(e.msg, "line 5001 column 2"));
    err_clear(&e);              /* (the first error set in an err stays) */
    jsonl_reader_restart(r, 7); /* a mark past line 1 is not one */
    assert_int_equal(jsonl_reader_feed(r, bom_row, strlen(bom_row), &e), HE_BAD_JSON);
    assert_non_null(strstr(e.msg, "line 7 column 1"));
    jsonl_reader_restart(r, 1);
    assert_int_equal(jsonl_reader_feed(r, bom_row, strlen(bom_row), &e), 0);
    assert_int_equal(jsonl_reader_rows(r), 1);
    assert_string_equal(g.out.data, "L1000 in=[a]\nL1002 in=[b]\nL5000 in=[c]\nL1 in=[d]\n");
    jsonl_reader_free(r);
    buf_done(&g.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_rows),
        cmocka_unit_test(chat_records),
        cmocka_unit_test(bom_crlf_blank_lines_and_no_final_newline),
        cmocka_unit_test(chunking_does_not_matter),
        cmocka_unit_test(bad_json_names_line_and_column),
        cmocka_unit_test(field_errors_name_the_field),
        cmocka_unit_test(chat_errors),
        cmocka_unit_test(empty_files),
        cmocka_unit_test(long_lines_are_rejected_at_any_chunking),
        cmocka_unit_test(huge_line_keeps_memory_bounded),
        cmocka_unit_test(callback_error_stops_the_parse),
        cmocka_unit_test(restart_numbers_lines_from_the_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
