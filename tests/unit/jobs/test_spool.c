/* SPDX-License-Identifier: MIT */
/* The import spool: rows come back as written, skipping lands on the right row, and a file cut
 * short or damaged anywhere is an error, never a crash or a wrong row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobs/spool.h"

#define ROWS 50

static const char *const topics[] = {"科学", "子题 1", "deep"};
static const char *const tags[] = {"a", "b,c"};

/* Row i: every third without an output, every other with topics, every fifth with tags. */
static struct gen_checked_row row_of(int i, char *input, char *output)
{
    sprintf(input, "问题 %d \"quoted\"\n", i);
    sprintf(output, "answer %d", i);
    return (struct gen_checked_row){.input = input,
                                    .input_len = strlen(input),
                                    .output = i % 3 ? output : NULL,
                                    .output_len = i % 3 ? strlen(output) : 0,
                                    .guidance = i % 4 == 0 ? "be brief" : NULL,
                                    .topic = i % 2 ? topics : NULL,
                                    .n_topic = i % 2 ? 3 : 0,
                                    .tags = i % 5 == 0 ? tags : NULL,
                                    .n_tags = i % 5 == 0 ? 2 : 0};
}

static FILE *written(long *sizes)
{
    FILE *f = tmpfile();
    struct buf rec;
    struct err e;
    char input[64], output[64];

    assert_non_null(f);
    buf_init(&rec, SPOOL_RECORD_MAX);
    assert_int_equal(
        spool_write_header(
            f, &(struct spool_header){"in-model", NULL, "out-model", "openai", "few_shot"}, &e),
        0);
    for (int i = 0; i < ROWS; i++) {
        struct gen_checked_row r = row_of(i, input, output);
        if (sizes)
            sizes[i] = ftell(f);
        buf_reset(&rec);
        assert_int_equal(spool_encode_row(&rec, &r), 0);
        assert_int_equal(fwrite(rec.data, 1, rec.len, f), rec.len);
    }
    if (sizes)
        sizes[ROWS] = ftell(f);
    buf_done(&rec);
    rewind(f);
    return f;
}

/* The bytes of a written spool, with where each row starts (sizes[ROWS]: the file's size). */
static char *written_bytes(long *sizes)
{
    FILE *f = written(sizes);
    char *bytes = malloc((size_t)sizes[ROWS]);

    assert_non_null(bytes);
    assert_int_equal(fread(bytes, 1, (size_t)sizes[ROWS], f), (size_t)sizes[ROWS]);
    fclose(f);
    return bytes;
}

static void assert_row(const struct spool_row *spooled, int i)
{
    char input[64], output[64];
    const struct gen_checked_row *got = &spooled->row;
    struct gen_checked_row want = row_of(i, input, output);

    assert_int_equal(got->input_len, want.input_len);
    assert_string_equal(got->input, want.input);
    if (want.output) {
        assert_non_null(got->output);
        assert_int_equal(got->output_len, want.output_len);
        assert_string_equal(got->output, want.output);
    } else {
        assert_null(got->output);
    }
    if (want.guidance)
        assert_string_equal(got->guidance, want.guidance);
    else
        assert_null(got->guidance);
    assert_int_equal(got->n_topic, want.n_topic);
    for (size_t k = 0; k < want.n_topic; k++)
        assert_string_equal(got->topic[k], want.topic[k]);
    assert_int_equal(got->n_tags, want.n_tags);
    for (size_t k = 0; k < want.n_tags; k++)
        assert_string_equal(got->tags[k], want.tags[k]);
}

static void round_trip(void **state)
{
    FILE *f = written(NULL);
    struct spool_header h;
    struct spool_row r;
    struct arena a;
    struct err e;
    (void)state;

    arena_init(&a);
    assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
    assert_string_equal(h.input_model, "in-model");
    assert_null(h.input_provider);
    assert_string_equal(h.output_model, "out-model");
    assert_string_equal(h.output_provider, "openai");
    assert_string_equal(h.prompt_method, "few_shot");
    for (int i = 0; i < ROWS; i++) {
        assert_int_equal(spool_read_row(f, &a, &r, &e), 0);
        assert_row(&r, i);
    }
    assert_int_equal(spool_read_row(f, &a, &r, &e), 1);
    arena_done(&a);
    fclose(f);
}

/* A row without an output as a job item: read back to the same header and row, and any byte
 * cut or changed is an error, never a wrong row. */
static void item_round_trip(void **state)
{
    FILE *f = written(NULL);
    struct spool_header h, ih;
    struct spool_row r, ir;
    struct arena a;
    struct err e;
    const unsigned char *item;
    unsigned char *copy;
    size_t len;
    (void)state;

    arena_init(&a);
    assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
    assert_int_equal(spool_read_row(f, &a, &r, &e), 0); /* row 0: no output */
    assert_null(r.row.output);
    assert_non_null(item = spool_item(&a, &h, &r, &len));
    assert_true(spool_is_item(item, len));
    err_clear(&e);
    assert_int_equal(spool_item_read(item, len, &a, &ih, &ir, &e), 0);
    assert_string_equal(ih.input_model, "in-model");
    assert_null(ih.input_provider);
    assert_string_equal(ih.output_model, "out-model");
    assert_string_equal(ih.output_provider, "openai");
    assert_string_equal(ih.prompt_method, "few_shot");
    assert_row(&ir, 0);
    for (size_t n = 0; n < len; n++) {
        err_clear(&e);
        assert_int_equal(spool_item_read(item, n, &a, &ih, &ir, &e), HE_INVALID);
    }
    assert_non_null(copy = malloc(len));
    for (size_t k = sizeof(SPOOL_MAGIC) - 1; k < len; k++) {
        /* a changed size or count byte is damage; a changed text byte may still be a row */
        memcpy(copy, item, len);
        copy[k] ^= 0x80;
        err_clear(&e);
        if (spool_item_read(copy, len, &a, &ih, &ir, &e) == 0)
            assert_int_equal(ir.row.n_topic + ir.row.n_tags, r.row.n_topic + r.row.n_tags);
    }
    free(copy);
    assert_false(spool_is_item("{\"input\":\"x\"}", 13));
    err_clear(&e);
    assert_int_equal(spool_item_read("{\"input\":\"x\"}", 13, &a, &ih, &ir, &e), HE_INVALID);
    arena_done(&a);
    fclose(f);
}

static void skip_lands_on_the_row(void **state)
{
    struct spool_header h;
    struct spool_row r;
    struct arena a;
    struct err e;
    (void)state;

    for (int n = 0; n <= ROWS; n++) {
        FILE *f = written(NULL);
        arena_init(&a);
        assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
        assert_int_equal(spool_skip_rows(f, n, &e), 0);
        if (n < ROWS) {
            assert_int_equal(spool_read_row(f, &a, &r, &e), 0);
            assert_row(&r, n);
        } else {
            assert_int_equal(spool_read_row(f, &a, &r, &e), 1);
        }
        arena_done(&a);
        fclose(f);
    }
    {
        FILE *f = written(NULL);
        arena_init(&a);
        assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
        assert_int_equal(spool_skip_rows(f, ROWS + 1, &e), 1);
        arena_done(&a);
        fclose(f);
    }
}

/* The whole file read back after cutting it at every length: rows before the cut come back
 * right; the first record the cut reaches is an error, or a clean end exactly at a boundary. */
static void cut_anywhere(void **state)
{
    long sizes[ROWS + 1];
    char *bytes = written_bytes(sizes);
    long total = sizes[ROWS];
    (void)state;

    for (long cut = 0; cut < total; cut++) {
        FILE *f = tmpfile();
        struct spool_header h;
        struct spool_row r;
        struct arena a;
        struct err e;
        int i = 0, rc;

        fwrite(bytes, 1, (size_t)cut, f);
        rewind(f);
        arena_init(&a);
        err_clear(&e);
        if (cut < sizes[0]) {
            assert_int_equal(spool_read_header(f, &a, &h, &e), HE_INVALID);
        } else {
            assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
            while ((rc = spool_read_row(f, &a, &r, &e)) == 0)
                assert_row(&r, i++);
            assert_true(sizes[i] <= cut && cut < sizes[i + 1]);
            assert_int_equal(rc, cut == sizes[i] ? 1 : HE_INVALID);
        }
        arena_done(&a);
        fclose(f);
    }
    free(bytes);
}

/* Every byte of a record changed in turn: the reader either reads some row or reports the file
 * damaged; it never reads out of bounds (the sanitizer build runs this too). */
static void damaged_anywhere(void **state)
{
    long sizes[ROWS + 1];
    char *bytes = written_bytes(sizes);
    long total = sizes[ROWS];
    (void)state;

    for (long at = sizes[5]; at < sizes[6]; at++)
        for (int v = 0; v < 256; v += 51) {
            FILE *f = tmpfile();
            struct spool_header h;
            struct spool_row r;
            struct arena a;
            struct err e;
            char saved = bytes[at];

            bytes[at] = (char)v;
            fwrite(bytes, 1, (size_t)total, f);
            bytes[at] = saved;
            rewind(f);
            arena_init(&a);
            assert_int_equal(spool_read_header(f, &a, &h, &e), 0);
            for (int i = 0; i < 5; i++) {
                assert_int_equal(spool_read_row(f, &a, &r, &e), 0);
                assert_row(&r, i);
            }
            while (spool_read_row(f, &a, &r, &e) == 0)
                ;
            arena_done(&a);
            fclose(f);
        }
    free(bytes);
}

/* A record that does not fit leaves the buffer as it was (the records before it intact). */
static void too_large_leaves_the_buffer(void **state)
{
    char input[64], output[64], big[300];
    struct gen_checked_row r = row_of(1, input, output), b = r;
    struct buf out;
    size_t before;
    (void)state;

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    b.input = big;
    b.input_len = strlen(big);
    buf_init(&out, 256);
    assert_int_equal(spool_encode_row(&out, &r), 0);
    before = out.len;
    assert_int_equal(spool_encode_row(&out, &b), HE_TOO_LARGE);
    assert_int_equal(out.len, before);
    assert_int_equal(spool_encode_row(&out, &r), 0);
    assert_int_equal(out.len, 2 * before);
    assert_memory_equal(out.data, out.data + before, before);
    buf_done(&out);
}

static void not_a_spool(void **state)
{
    FILE *f = tmpfile();
    struct spool_header h;
    struct arena a;
    struct err e;
    (void)state;

    fputs("{\"input\": \"an older spool, one JSON object a line\"}\n", f);
    rewind(f);
    arena_init(&a);
    err_clear(&e);
    assert_int_equal(spool_read_header(f, &a, &h, &e), HE_INVALID);
    assert_non_null(strstr(e.msg, "import the file again"));
    arena_done(&a);
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(item_round_trip),
        cmocka_unit_test(skip_lands_on_the_row),
        cmocka_unit_test(cut_anywhere),
        cmocka_unit_test(damaged_anywhere),
        cmocka_unit_test(not_a_spool),
        cmocka_unit_test(too_large_leaves_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
