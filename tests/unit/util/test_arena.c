/* SPDX-License-Identifier: MIT */
/* The region allocator: aligned, non-overlapping blocks that stay put, large blocks included;
 * chunks that grow from small; reserved room; copies. */
#include <setjmp.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/arena.h"

static void blocks_stay_put(void **state)
{
    struct arena a;
    unsigned char *blocks[2000];
    size_t sizes[2000];
    (void)state;

    arena_init(&a);
    for (size_t i = 0; i < 2000; i++) {
        /* mostly small, every 97th larger than a chunk */
        sizes[i] = i % 97 == 0 ? ARENA_CHUNK + i : 1 + i % 300;
        blocks[i] = arena_alloc(&a, sizes[i]);
        assert_non_null(blocks[i]);
        assert_int_equal((uintptr_t)blocks[i] % alignof(max_align_t), 0);
        memset(blocks[i], (int)(i & 0xff), sizes[i]);
    }
    /* every block still holds its own byte: none overlapped another or moved */
    for (size_t i = 0; i < 2000; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(blocks[i][k], i & 0xff);
    assert_true(a.total >= 2000 * 1);
    arena_done(&a);
    assert_int_equal(a.total, 0);
    assert_null(arena_alloc(&a, SIZE_MAX - 8));
    arena_done(&a);
}

static void strndup_copies(void **state)
{
    struct arena a;
    char *s;
    (void)state;

    arena_init(&a);
    s = arena_strndup(&a, "hello, world", 5);
    assert_string_equal(s, "hello");
    s = arena_strndup(&a, "", 0);
    assert_string_equal(s, "");
    arena_done(&a);
}

/* A zeroed arena starts with a small chunk and doubles, up to ARENA_CHUNK. */
static void chunks_grow_from_small(void **state)
{
    struct arena a = {0};
    size_t expect = 0, size = ARENA_FIRST;
    (void)state;

    for (int i = 0; i < 12; i++) {
        assert_non_null(arena_alloc(&a, size)); /* fills a chunk of exactly this size */
        expect += size;
        assert_int_equal(a.total, expect);
        if (size < ARENA_CHUNK)
            size *= 2;
    }
    assert_int_equal(size, ARENA_CHUNK);
    arena_done(&a);
}

/* After arena_reserve(n), allocations whose rounded sizes sum to n take no new chunk. */
static void reserve_makes_one_chunk(void **state)
{
    struct arena a = {0};
    char *x, *y, *z;
    size_t total;
    (void)state;

    assert_non_null(arena_alloc(&a, 500)); /* most of the first chunk */
    assert_int_equal(arena_reserve(&a, ARENA_ROUND(100) + ARENA_ROUND(3000) + ARENA_ROUND(1)), 0);
    total = a.total;
    x = arena_alloc(&a, 100);
    y = arena_alloc(&a, 3000);
    z = arena_alloc(&a, 1);
    assert_int_equal(a.total, total);
    assert_ptr_equal(y, x + ARENA_ROUND(100));
    assert_ptr_equal(z, y + ARENA_ROUND(3000));
    assert_int_equal(arena_reserve(&a, 0), 0);
    assert_int_equal(a.total, total);
    arena_done(&a);
}

static void strdup_and_take(void **state)
{
    struct arena a = {0};
    char *heap = strdup("heap text");
    const char *copy;
    (void)state;

    assert_null(arena_strdup(&a, NULL));
    assert_null(arena_take(&a, NULL));
    assert_string_equal(arena_strdup(&a, "abc"), "abc");
    copy = arena_take(&a, heap); /* heap is freed: ASan reports a leak otherwise */
    assert_ptr_not_equal(copy, heap);
    assert_string_equal(copy, "heap text");
    arena_done(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_stay_put),        cmocka_unit_test(strndup_copies),
        cmocka_unit_test(chunks_grow_from_small), cmocka_unit_test(reserve_makes_one_chunk),
        cmocka_unit_test(strdup_and_take),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
