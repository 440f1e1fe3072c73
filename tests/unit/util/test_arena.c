/* SPDX-License-Identifier: MIT */
/* The region allocator: aligned, non-overlapping blocks that stay put, large blocks included. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(blocks_stay_put),
        cmocka_unit_test(strndup_copies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
