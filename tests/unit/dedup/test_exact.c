/* SPDX-License-Identifier: MIT */
/* Exact duplicates against an in-memory store: hash matches count only when the normal forms are
 * equal (every hash below is forced equal, as a collision would make them), within the list the
 * first copy stays, and the first duplicate is reported. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dedup/exact.h"
#include "util/textnorm.h"

#define COLLIDING 42

struct fixture {
    struct store *s;
    struct project p;
    struct task t;
};

static int setup(void **state)
{
    static struct fixture f;
    struct err e = ERR_INIT;

    memset(&f, 0, sizeof(f));
    if (store_open(":memory:", &f.s, &e) != 0 || store_new_id(f.s, f.p.id, &e) != 0 ||
        store_new_id(f.s, f.t.id, &e) != 0)
        return -1;
    f.p.created_by = f.p.name = f.p.description = "dedup";
    memcpy(f.t.project_id, f.p.id, ID_LEN);
    f.t.created_by = f.t.name = f.t.description = f.t.instruction = "dedup";
    f.t.requirements = "[]";
    if (store_project_insert(f.s, &f.p, &e) != 0 || store_task_insert(f.s, &f.t, &e) != 0)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->s);
    return 0;
}

/* Stores a sample with the given input under the given hash. */
static void store_sample(struct fixture *f, const char *input, int64_t hash, char id[ID_LEN])
{
    struct run r = {0};
    struct run *rs[] = {&r};
    struct err e = ERR_INIT;

    assert_int_equal(store_new_id(f->s, r.id, &e), 0);
    assert_int_equal(store_new_id(f->s, r.output_id, &e), 0);
    memcpy(r.task_id, f->t.id, ID_LEN);
    r.created_by = "t";
    r.input = input;
    r.input_source_type = r.output_source_type = "human";
    r.output = "答";
    r.rating_score = r.cost = NAN;
    r.input_tokens = r.output_tokens = r.total_tokens = -1;
    r.input_hash = hash;
    assert_int_equal(store_run_insert(f->s, rs, 1, &e), 0);
    memcpy(id, r.id, ID_LEN);
}

static int list_input(void *ud, size_t i, const char **ret, size_t *ret_len, struct err *e)
{
    const char *const *items = ud;
    (void)e;
    *ret = items[i];
    *ret_len = strlen(items[i]);
    return 0;
}

static void collisions_are_not_duplicates(void **state)
{
    struct fixture *f = *state;
    const char *items[] = {"hello", "different", "ＨＥＬＬＯ", " different\t", "new"};
    int64_t hashes[] = {COLLIDING, COLLIDING, COLLIDING, COLLIDING, COLLIDING};
    uint8_t dup[5];
    struct dedup_first first;
    struct err e = ERR_INIT;
    char stored[ID_LEN], other[ID_LEN];
    size_t count = 99;

    store_sample(f, "Ｈｅｌｌｏ", COLLIDING, stored);
    store_sample(f, "unrelated text", COLLIDING, other);
    assert_int_equal(dedup_exact_find(f->s, f->t.id, hashes, 5, list_input, (void *)items, dup,
                                      &first, &count, &e),
                     0);
    assert_int_equal(count, 3);
    assert_memory_equal(dup, ((uint8_t[]){1, 0, 1, 1, 0}), 5);
    assert_int_equal(first.index, 0);
    assert_int_equal(first.of, SIZE_MAX);
    assert_string_equal(first.existing_id, stored);
}

static void first_copy_in_the_list_stays(void **state)
{
    struct fixture *f = *state;
    const char *items[] = {"甲", "ＡＢＣ", "乙", "abc", "Abc ", "甲"};
    int64_t hashes[6];
    uint8_t dup[6];
    struct dedup_first first;
    struct err e = ERR_INIT;
    size_t count = 0;

    assert_int_equal(dedup_hash_inputs(items, 6, hashes, &e), 0);
    assert_int_equal(dedup_exact_find(f->s, f->t.id, hashes, 6, list_input, (void *)items, dup,
                                      &first, &count, &e),
                     0);
    assert_int_equal(count, 3);
    assert_memory_equal(dup, ((uint8_t[]){0, 0, 0, 1, 1, 1}), 6);
    assert_int_equal(first.index, 3);
    assert_int_equal(first.of, 1);
    assert_string_equal(first.existing_id, "");
}

static void modes(void **state)
{
    enum dedup_mode m = DEDUP_FAIL;
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(dedup_mode_parse(NULL, &m, &e), 0);
    assert_int_equal(m, DEDUP_KEEP);
    assert_int_equal(dedup_mode_parse("skip", &m, &e), 0);
    assert_int_equal(m, DEDUP_SKIP);
    assert_int_equal(dedup_mode_parse("fail", &m, &e), 0);
    assert_int_equal(m, DEDUP_FAIL);
    assert_int_equal(dedup_mode_parse("Skip", &m, &e), HE_INVALID);
    assert_string_equal(e.field, "dedup");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(collisions_are_not_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(first_copy_in_the_list_stays, setup, teardown),
        cmocka_unit_test(modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
