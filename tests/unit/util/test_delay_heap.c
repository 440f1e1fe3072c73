/* SPDX-License-Identifier: MIT */
/* The delay heap: timers come out in due order, only when due, and leave from the middle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/delay_heap.h"

#define N 1000

struct timer {
    struct delay_heap_node node;
    int id;
};

static uint64_t rng = 88172645463325252ULL;

static int64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (int64_t)(rng % 100000);
}

static void check_invariant(const struct delay_heap *h)
{
    for (size_t i = 0; i < h->n; i++) {
        assert_int_equal(h->v[i]->idx, i);
        if (i > 0)
            assert_true(h->v[(i - 1) / 2]->at <= h->v[i]->at);
    }
}

static void pops_in_due_order(void **state)
{
    static struct timer t[N];
    struct delay_heap h;
    int64_t last = -1;
    (void)state;

    delay_heap_init(&h);
    assert_int_equal(delay_heap_next(&h), -1);
    assert_null(delay_heap_pop_due(&h, INT64_MAX));
    for (int i = 0; i < N; i++) {
        t[i].id = i;
        assert_int_equal(delay_heap_push(&h, &t[i].node, next_rand()), 0);
    }
    check_invariant(&h);
    for (int i = 0; i < N; i++) {
        struct delay_heap_node *n = delay_heap_pop_due(&h, INT64_MAX);
        assert_non_null(n);
        assert_true(n->at >= last);
        last = n->at;
    }
    assert_int_equal(h.n, 0);
    delay_heap_done(&h);
}

static void only_what_is_due(void **state)
{
    struct timer a, b, c;
    struct delay_heap h;
    (void)state;

    delay_heap_init(&h);
    assert_int_equal(delay_heap_push(&h, &a.node, 300), 0);
    assert_int_equal(delay_heap_push(&h, &b.node, 100), 0);
    assert_int_equal(delay_heap_push(&h, &c.node, 200), 0);
    assert_int_equal(delay_heap_next(&h), 100);
    assert_null(delay_heap_pop_due(&h, 99));
    assert_ptr_equal(delay_heap_pop_due(&h, 100), &b.node);
    assert_ptr_equal(delay_heap_pop_due(&h, 250), &c.node);
    assert_null(delay_heap_pop_due(&h, 250));
    assert_int_equal(delay_heap_next(&h), 300);
    assert_ptr_equal(delay_heap_pop_due(&h, 300), &a.node);
    assert_int_equal(delay_heap_next(&h), -1);
    delay_heap_done(&h);
}

static void removes_from_the_middle(void **state)
{
    static struct timer t[N];
    static char gone[N];
    struct delay_heap h;
    int64_t last = -1;
    int left = 0;
    (void)state;

    delay_heap_init(&h);
    for (int i = 0; i < N; i++) {
        t[i].id = i;
        assert_int_equal(delay_heap_push(&h, &t[i].node, next_rand()), 0);
    }
    /* every third timer is cancelled, wherever it sits */
    for (int i = 0; i < N; i += 3) {
        delay_heap_remove(&h, &t[i].node);
        gone[i] = 1;
        check_invariant(&h);
    }
    for (int i = 0; i < N; i++)
        left += !gone[i];
    assert_int_equal(h.n, (size_t)left);
    for (int i = 0; i < left; i++) {
        struct delay_heap_node *n = delay_heap_pop_due(&h, INT64_MAX);
        struct timer *tm = (struct timer *)n;
        assert_non_null(n);
        assert_false(gone[tm->id]);
        assert_true(n->at >= last);
        last = n->at;
    }
    assert_null(delay_heap_pop_due(&h, INT64_MAX));
    delay_heap_done(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pops_in_due_order),
        cmocka_unit_test(only_what_is_due),
        cmocka_unit_test(removes_from_the_middle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
