/* SPDX-License-Identifier: MIT */
/* Batches read by one or more readers: every byte read once and handed back in file order,
 * batches cut at line ends with the right first line, the first error in the file reported,
 * and every batch read on the caller's thread (an upload never holds a thread of its own). */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/batches.h"

#define MAX_LINE 100000

struct seen {
    struct buf all; /* the outputs taken, in order */
    size_t batches;
    pthread_t caller;
    atomic_bool read_elsewhere; /* some batch was read on another thread */
};

/* Echoes the batch; fails at a line starting "BAD" naming its line. */
static int read_echo(void *ud, const char *data, size_t len, size_t first_line, bool last,
                     struct batch_out *out, struct err *e)
{
    struct seen *s = ud;
    size_t line = first_line;
    (void)last;
    if (!pthread_equal(pthread_self(), s->caller))
        atomic_store(&s->read_elsewhere, true);
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || data[i - 1] == '\n') && len - i >= 3 && memcmp(data + i, "BAD", 3) == 0)
            return err_set(e, HE_INVALID, NULL, "line %zu: bad", line);
        if (data[i] == '\n')
            line++;
    }
    out->rows += line - first_line;
    return buf_add(&out->bytes, data, len);
}

static int take(void *ud, struct batch_out *out, struct err *e)
{
    struct seen *s = ud;
    (void)e;
    s->batches++;
    if (!pthread_equal(pthread_self(), s->caller))
        return err_set(e, HE_INTERNAL, NULL, "taken on another thread");
    return buf_add(&s->all, out->bytes.data, out->bytes.len);
}

static struct batches *make(struct seen *s, size_t workers)
{
    struct batches_cfg cfg = {.workers = workers,
                              .max_line = MAX_LINE,
                              .out_max = 64u << 20,
                              .read = read_echo,
                              .take = take,
                              .ud = s,
                              .worker_ud = {s, s}};
    memset(s, 0, sizeof(*s));
    buf_init(&s->all, 64u << 20);
    s->caller = pthread_self();
    return batches_new(&cfg);
}

/* Lines of varied lengths, some longer than a batch. */
static char *text_of(size_t lines, size_t *len)
{
    struct buf b;
    buf_init(&b, 64u << 20);
    for (size_t i = 0; i < lines; i++) {
        size_t n = i % 1000 == 999 ? BATCH_BYTES + 12345 : 1 + (i * 7919) % 300;
        buf_addf(&b, "%zu:", i + 1);
        for (size_t k = 0; k < n; k++)
            buf_add(&b, "abcdefghij" + k % 10, 1);
        buf_add(&b, "\n", 1);
    }
    *len = b.len;
    return buf_take(&b);
}

/* Feeds text in chunks of varying sizes. */
static int feed_all(struct batches *b, const char *text, size_t len, struct err *e)
{
    size_t at = 0, step = 1;
    int r;
    while (at < len) {
        size_t n = step % 70001 + 1;
        if (n > len - at)
            n = len - at;
        if ((r = batches_feed(b, text + at, n, e)) < 0)
            return r;
        at += n;
        step = step * 31 + 7;
    }
    return batches_finish(b, e);
}

static void every_byte_in_order(void **state)
{
    size_t len;
    char *text = text_of(6000, &len);
    (void)state;

    for (size_t w = 1; w <= BATCH_WORKERS; w++) {
        struct seen s;
        struct batches *b = make(&s, w);
        struct err e;
        err_clear(&e);
        assert_int_equal(feed_all(b, text, len, &e), 0);
        assert_int_equal(s.all.len, len);
        assert_memory_equal(s.all.data, text, len);
        assert_true(s.batches >= len / (2 * BATCH_BYTES + MAX_LINE));
        assert_false(atomic_load(&s.read_elsewhere));
        batches_free(b);
        buf_done(&s.all);
    }
    free(text);
}

/* The error of the first bad line, even when a later batch fails first. */
static void first_error_in_file_order(void **state)
{
    size_t len;
    char *text = text_of(6000, &len);
    (void)state;

    /* two bad lines far apart: lines 2001 and 5001 */
    for (size_t bad = 0, line = 1, i = 0; i < len && bad < 2; i++)
        if (i == 0 || text[i - 1] == '\n') {
            if (line == 2001 || line == 5001) {
                memcpy(text + i, "BAD", 3);
                bad++;
            }
            line++;
        }
    for (int round = 0; round < 20; round++) {
        struct seen s;
        struct batches *b = make(&s, BATCH_WORKERS);
        struct err e;
        err_clear(&e);
        assert_int_equal(feed_all(b, text, len, &e), HE_INVALID);
        assert_string_equal(e.msg, "line 2001: bad");
        /* later calls give the same error */
        assert_int_equal(batches_feed(b, "x\n", 2, &e), HE_INVALID);
        assert_string_equal(e.msg, "line 2001: bad");
        batches_free(b);
        buf_done(&s.all);
    }
    free(text);
}

/* A last line without its newline gets one; a small file is read on the caller's thread. */
static void small_file_and_last_line(void **state)
{
    struct seen s;
    struct batches *b = make(&s, BATCH_WORKERS);
    struct err e;
    (void)state;

    err_clear(&e);
    assert_int_equal(batches_feed(b, "a\nb", 3, &e), 0);
    assert_int_equal(batches_finish(b, &e), 0);
    assert_int_equal(s.all.len, 4);
    assert_memory_equal(s.all.data, "a\nb\n", 4);
    assert_int_equal(s.batches, 1);
    assert_false(atomic_load(&s.read_elsewhere));
    batches_free(b);
    buf_done(&s.all);

    b = make(&s, 1);
    assert_int_equal(batches_finish(b, &e), 0); /* an empty file: one empty batch */
    assert_int_equal(s.all.len, 0);
    assert_int_equal(s.batches, 1);
    batches_free(b);
    buf_done(&s.all);
}

/* Freed in the middle of a file: nothing leaks (the sanitizer build). */
static void freed_midway(void **state)
{
    size_t len;
    char *text = text_of(3000, &len);
    struct seen s;
    struct batches *b = make(&s, BATCH_WORKERS);
    struct err e;
    (void)state;

    assert_int_equal(batches_feed(b, text, len / 2, &e), 0);
    batches_free(b);
    buf_done(&s.all);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_byte_in_order),
        cmocka_unit_test(first_error_in_file_order),
        cmocka_unit_test(small_file_and_last_line),
        cmocka_unit_test(freed_midway),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
