/* SPDX-License-Identifier: MIT */
/* Id generation: the 12-digit form, uniqueness across threads and block refills. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/id.h"

static uint64_t next_block = ID_MIN;
static int reservations;

static int reserve(void *ud, uint64_t n, uint64_t *ret_first, struct err *e)
{
    (void)ud;
    (void)e;
    *ret_first = next_block;
    next_block += n;
    reservations++;
    return 0;
}

static void format_and_validate(void **state)
{
    char s[ID_LEN];
    (void)state;
    id_format(123456789012ULL, s);
    assert_string_equal(s, "123456789012");
    assert_true(id_valid(s));
    assert_false(id_valid("012345678901"));
    assert_false(id_valid("12345678901"));
    assert_false(id_valid("1234567890123"));
    assert_false(id_valid("12345678901a"));
    assert_false(id_valid("../etc/passw"));
    assert_false(id_valid(NULL));
}

#define THREADS 4
#define PER     5000

struct worker {
    struct id_gen *g;
    uint64_t ids[PER];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < PER; i++)
        if (id_gen_next(w->g, &w->ids[i], NULL) != 0)
            return NULL;
    return w;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void unique_across_threads(void **state)
{
    struct worker *w = calloc(THREADS, sizeof(*w));
    pthread_t t[THREADS];
    uint64_t *all = malloc(sizeof(uint64_t) * THREADS * PER);
    struct id_gen *g = id_gen_new(reserve, NULL, 100);
    (void)state;

    reservations = 0;
    for (int i = 0; i < THREADS; i++) {
        w[i].g = g;
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        void *res;
        pthread_join(t[i], &res);
        assert_non_null(res);
        memcpy(all + i * PER, w[i].ids, sizeof(w[i].ids));
    }
    qsort(all, THREADS * PER, sizeof(uint64_t), cmp);
    for (int i = 1; i < THREADS * PER; i++)
        assert_true(all[i] != all[i - 1]);
    assert_true(all[0] >= ID_MIN);
    assert_int_equal(reservations, THREADS * PER / 100);
    id_gen_free(g);
    free(all);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_and_validate),
        cmocka_unit_test(unique_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
