/* SPDX-License-Identifier: MIT */
/*
 * The export stream over a :memory: store, driven with a format defined here: the bytes do not
 * depend on how they are read, pages follow the cursor (and shrink for large rows), freeing
 * mid-way reads no further page, gzip inflates to the plain bytes, a format's check refuses
 * before any byte, and a row the format refuses ends the stream as failed.
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
#include <zlib.h>

#include "export/stream.h"

/* ---- a format: "[" head, "<nth>:<input>\n" rows, "]<count>" tail ---- */

static int t_begin(const struct export_opts *o, struct buf *out, struct err *e)
{
    (void)o;
    (void)e;
    return buf_adds(out, "[");
}

static int t_row(const struct export_opts *o, const struct run *r, size_t nth, struct buf *out,
                 struct err *e)
{
    (void)o;
    if (strcmp(r->input, "refuse") == 0)
        return err_set(e, HE_BAD_REQUEST, NULL, "sample %s cannot be written", r->id);
    return buf_addf(out, "%zu:%s\n", nth, r->input);
}

static int t_end(const struct export_opts *o, size_t nrows, struct buf *out, struct err *e)
{
    (void)o;
    (void)e;
    return buf_addf(out, "]%zu", nrows);
}

static int t_check(const struct export_opts *o, struct err *e)
{
    if (strcmp(o->system_message, "no") == 0)
        return err_set(e, HE_BAD_REQUEST, "format", "this task cannot be written so");
    return 0;
}

static const struct export_format fmt = {"test",  "text/plain", "txt", t_check,
                                         t_begin, t_row,        t_end};

/* ---- a store with one task ---- */

struct fixture {
    struct store *s;
    struct task t;
};

static void setup_store(struct fixture *fx)
{
    struct project p = {0};
    struct err e;

    err_clear(&e);
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(store_open(":memory:", &fx->s, &e), 0);
    assert_int_equal(store_new_id(fx->s, p.id, &e), 0);
    p.created_by = "tester";
    p.name = "项目";
    p.description = "";
    assert_int_equal(store_project_insert(fx->s, &p, &e), 0);
    assert_int_equal(store_new_id(fx->s, fx->t.id, &e), 0);
    memcpy(fx->t.project_id, p.id, ID_LEN);
    fx->t.created_by = "tester";
    fx->t.name = "任务";
    fx->t.description = "";
    fx->t.instruction = "写一首诗";
    fx->t.requirements = "[]";
    assert_int_equal(store_task_insert(fx->s, &fx->t, &e), 0);
}

/* n samples; input i is text(i) (a fresh string per sample), session "odd"/"even". */
static void add_runs(struct fixture *fx, size_t n, char *(*text)(size_t i))
{
    struct run *runs = calloc(n, sizeof(*runs));
    struct run **ptrs = calloc(n, sizeof(*ptrs));
    struct err e;

    err_clear(&e);
    assert_non_null(runs);
    assert_non_null(ptrs);
    for (size_t i = 0; i < n; i++) {
        runs[i] = (struct run){.created_by = "tester",
                               .input = text(i),
                               .output = "答",
                               .input_source_type = "human",
                               .output_source_type = "human",
                               .input_source = "{}",
                               .output_source = "{}",
                               .topic_key = "",
                               .session_id = i % 2 ? "odd" : "even",
                               .rating_score = NAN,
                               .cost = NAN,
                               .input_tokens = -1,
                               .output_tokens = -1,
                               .total_tokens = -1};
        memcpy(runs[i].task_id, fx->t.id, ID_LEN);
        assert_int_equal(store_new_id(fx->s, runs[i].id, &e), 0);
        assert_int_equal(store_new_id(fx->s, runs[i].output_id, &e), 0);
        ptrs[i] = &runs[i];
    }
    assert_int_equal(store_run_insert(fx->s, ptrs, n, &e), 0);
    for (size_t i = 0; i < n; i++)
        free((char *)runs[i].input);
    free(runs);
    free(ptrs);
}

static char *small_text(size_t i)
{
    char *s = malloc(32);
    snprintf(s, 32, "问题 %zu", i);
    return s;
}

static char *large_text(size_t i)
{
    char *s = malloc(4096);
    memset(s, 'a' + (int)(i % 26), 4095);
    s[4095] = '\0';
    return s;
}

static char *refuse_at_700(size_t i)
{
    return i == 700 ? strdup("refuse") : small_text(i);
}

static struct export_stream *open_export(struct fixture *fx, const char *session, bool gzip)
{
    struct run_filter f = {.task_id = fx->t.id, .session_id = session, .min_rating = NAN};
    struct export_opts o = {.task = &fx->t, .system_message = "system"};
    struct export_stream *x = NULL;
    struct err e;

    err_clear(&e);
    assert_int_equal(export_stream_new(fx->s, &f, &fmt, &o, gzip, &x, &e), 0);
    return x;
}

/* Reads the whole export in pieces of at most step bytes. */
static char *read_all(struct export_stream *x, size_t step, size_t *ret_len)
{
    size_t cap = 1 << 16, len = 0;
    char *out = malloc(cap);
    long n;

    while ((n = export_stream_read(x, out + len, step)) > 0) {
        assert_true((size_t)n <= step);
        len += (size_t)n;
        if (cap - len < step + 1)
            out = realloc(out, cap *= 2);
    }
    assert_int_equal(n, -1);
    out[len] = '\0';
    *ret_len = len;
    return out;
}

static char *expected(size_t n, size_t first, size_t stride)
{
    size_t cap = n * 32 + 32, len = 0, k = 0;
    char *out = malloc(cap);

    len += (size_t)snprintf(out, cap, "[");
    for (size_t i = first; i < n; i += stride, k++)
        len += (size_t)snprintf(out + len, cap - len, "%zu:问题 %zu\n", k, i);
    snprintf(out + len, cap - len, "]%zu", k);
    return out;
}

static void bytes_follow_the_cursor(void **state)
{
    struct fixture fx;
    char *want, *got;
    size_t len;
    (void)state;

    setup_store(&fx);
    add_runs(&fx, 1300, small_text);
    want = expected(1300, 0, 1);
    for (size_t step = 7; step <= 70000; step *= 100) {
        struct export_stream *x = open_export(&fx, NULL, false);
        got = read_all(x, step, &len);
        assert_string_equal(got, want);
        assert_int_equal(export_stream_stats(x)->rows, 1300);
        assert_int_equal(export_stream_stats(x)->pages, 3); /* 512 + 512 + 276 */
        assert_int_equal(export_stream_stats(x)->bytes, len);
        assert_true(export_stream_stats(x)->finished);
        free(got);
        export_stream_free(x);
    }
    free(want);
    {
        struct export_stream *x = open_export(&fx, "odd", false);
        got = read_all(x, 4096, &len);
        want = expected(1300, 1, 2);
        assert_string_equal(got, want);
        free(want);
        free(got);
        export_stream_free(x);
    }
    store_close(fx.s);
}

static void large_rows_make_smaller_pages(void **state)
{
    struct fixture fx;
    struct export_stream *x;
    size_t len;
    char *got;
    (void)state;

    setup_store(&fx);
    add_runs(&fx, 1100, large_text);
    x = open_export(&fx, NULL, false);
    got = read_all(x, 1 << 16, &len);
    /* 512 rows of ~4 KiB make a 2 MiB page: the next pages aim at 1 MiB (256 rows) */
    assert_int_equal(export_stream_stats(x)->rows, 1100);
    assert_int_equal(export_stream_stats(x)->pages, 4); /* 512 + 256 + 256 + 76 */
    free(got);
    export_stream_free(x);
    store_close(fx.s);
}

static void freeing_stops_the_cursor(void **state)
{
    struct fixture fx;
    struct export_stream *x;
    char buf[100];
    (void)state;

    setup_store(&fx);
    add_runs(&fx, 1300, small_text);
    x = open_export(&fx, NULL, false);
    for (int i = 0; i < 20; i++)
        assert_true(export_stream_read(x, buf, sizeof(buf)) > 0);
    assert_int_equal(export_stream_stats(x)->pages, 1);
    assert_int_equal(export_stream_stats(x)->rows, 512);
    assert_false(export_stream_stats(x)->finished);
    export_stream_free(x);
    store_close(fx.s);
}

static void gzip_inflates_to_the_plain_bytes(void **state)
{
    struct fixture fx;
    struct export_stream *x;
    size_t plain_len, gz_len;
    char *plain, *gz, *back = malloc(1 << 20);
    z_stream zs = {0};
    (void)state;

    setup_store(&fx);
    add_runs(&fx, 1300, small_text);
    x = open_export(&fx, NULL, false);
    plain = read_all(x, 4096, &plain_len);
    export_stream_free(x);
    x = open_export(&fx, NULL, true);
    gz = read_all(x, 333, &gz_len);
    export_stream_free(x);
    assert_true(gz_len > 18 && gz_len < plain_len);
    assert_int_equal((unsigned char)gz[0], 0x1f); /* the gzip magic */
    assert_int_equal((unsigned char)gz[1], 0x8b);
    assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
    zs.next_in = (unsigned char *)gz;
    zs.avail_in = (uInt)gz_len;
    zs.next_out = (unsigned char *)back;
    zs.avail_out = 1 << 20;
    assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
    assert_int_equal(zs.total_out, plain_len);
    assert_memory_equal(back, plain, plain_len);
    inflateEnd(&zs);
    free(plain);
    free(gz);
    free(back);
    store_close(fx.s);
}

static void check_refuses_before_any_byte(void **state)
{
    struct fixture fx;
    struct run_filter f = {.min_rating = NAN};
    struct export_opts o = {.system_message = "no"};
    struct export_stream *x = NULL;
    struct err e;
    (void)state;

    setup_store(&fx);
    f.task_id = fx.t.id;
    o.task = &fx.t;
    err_clear(&e);
    assert_int_equal(export_stream_new(fx.s, &f, &fmt, &o, false, &x, &e), HE_BAD_REQUEST);
    assert_null(x);
    assert_string_equal(e.field, "format");
    store_close(fx.s);
}

static void a_refused_row_fails_the_stream(void **state)
{
    struct fixture fx;
    struct export_stream *x;
    char buf[4096];
    long n;
    (void)state;

    setup_store(&fx);
    add_runs(&fx, 1000, refuse_at_700);
    x = open_export(&fx, NULL, false);
    while ((n = export_stream_read(x, buf, sizeof(buf))) > 0)
        ;
    assert_int_equal(n, -2);
    assert_int_equal(export_stream_read(x, buf, sizeof(buf)), -2);
    assert_true(export_stream_stats(x)->failed);
    assert_false(export_stream_stats(x)->finished);
    assert_non_null(strstr(export_stream_error(x)->msg, "cannot be written"));
    export_stream_free(x);
    store_close(fx.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bytes_follow_the_cursor),
        cmocka_unit_test(large_rows_make_smaller_pages),
        cmocka_unit_test(freeing_stops_the_cursor),
        cmocka_unit_test(gzip_inflates_to_the_plain_bytes),
        cmocka_unit_test(check_refuses_before_any_byte),
        cmocka_unit_test(a_refused_row_fails_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
