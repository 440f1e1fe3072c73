/* SPDX-License-Identifier: MIT */
/*
 * Dataset splits (export/split.c and the store's splits): part sizes as Kiln rounds them (half
 * to even, the rest to the last part), Kiln's filters on each rating kind and on intermediate
 * outputs, the seeded shuffle, and a split stored, read back and used as a run filter.
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

#include "export/split.h"

static void sizes_of(const char *type, size_t n, size_t a, size_t b, size_t c)
{
    const struct split_type *t = split_type_find(type);
    size_t sizes[SPLIT_MAX_PARTS] = {0}, want[] = {a, b, c};

    assert_non_null(t);
    split_sizes(t, n, sizes);
    for (size_t i = 0; i < t->nparts; i++)
        if (sizes[i] != want[i])
            fail_msg("%s of %zu: part %zu has %zu, not %zu", type, n, i, sizes[i], want[i]);
}

static void sizes_round_half_to_even(void **state)
{
    (void)state;
    sizes_of("train_test", 1000, 800, 200, 0);
    sizes_of("train_val", 1000, 800, 200, 0);
    sizes_of("train_test_val", 1000, 600, 200, 200);
    sizes_of("train_test_val_80", 1000, 800, 100, 100);
    sizes_of("all", 1000, 1000, 0, 0);
    sizes_of("train_test", 0, 0, 0, 0);
    sizes_of("train_test", 3, 2, 1, 0);          /* round(2.4) = 2 */
    sizes_of("train_test_val", 7, 4, 1, 2);      /* 4.2 -> 4, 1.4 -> 1, the rest 2 */
    sizes_of("train_test_val_80", 5, 4, 0, 1);   /* round(0.5) = 0 (half to even) */
    sizes_of("train_test_val_80", 15, 12, 2, 1); /* round(1.5) = 2 */
    sizes_of("train_test_val_80", 25, 20, 2, 3); /* round(2.5) = 2 */
    sizes_of("train_test", 1, 1, 0, 0);
    sizes_of("train_test_val", 1, 1, 0, 0);
    assert_null(split_type_find("train_test_val_90"));
}

static struct run rated(const char *rating)
{
    return (struct run){.rating = rating, .intermediate_outputs = "{}", .tags = "[]"};
}

static void high_rating_as_kiln(void **state)
{
    struct run r;
    (void)state;

    r = rated("{\"v\":1,\"value\":4.0,\"type\":\"five_star\",\"requirement_ratings\":{}}");
    assert_true(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":5,\"type\":\"five_star\"}");
    assert_true(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":3.0,\"type\":\"five_star\"}");
    assert_false(split_high_rating(&r));
    r = rated("{\"value\":4}"); /* the type defaults to five_star */
    assert_true(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":1.0,\"type\":\"pass_fail\"}");
    assert_true(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":0.0,\"type\":\"pass_fail\"}");
    assert_false(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":1.0,\"type\":\"pass_fail_critical\"}");
    assert_true(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":-1.0,\"type\":\"pass_fail_critical\"}");
    assert_false(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":null,\"type\":\"five_star\"}");
    assert_false(split_high_rating(&r));
    r = rated("{\"v\":1,\"value\":5,\"type\":\"custom\"}");
    assert_false(split_high_rating(&r));
    r = rated(NULL);
    assert_false(split_high_rating(&r));
    r.repaired_output = "{}"; /* a repair counts as high quality, rated or not */
    assert_true(split_high_rating(&r));
}

static void thinking_and_tags(void **state)
{
    struct run r = rated(NULL);
    struct split_filter f;
    struct err e = ERR_INIT;
    (void)state;

    assert_false(split_has_thinking(&r));
    r.intermediate_outputs = "{\"chain_of_thought\":\"first\"}";
    assert_true(split_has_thinking(&r));
    r.intermediate_outputs = "{\"reasoning\":\"\"}"; /* the key counts, even empty */
    assert_true(split_has_thinking(&r));
    r.intermediate_outputs = "{\"other\":\"reasoning about chain_of_thought\"}";
    assert_false(split_has_thinking(&r));

    assert_int_equal(split_filter_parse("tag::金标", &f, &e), 0);
    assert_int_equal(f.kind, SPLIT_FILTER_TAG);
    r.tags = "[\"a\",\"金标\"]";
    assert_true(split_filter_match(&f, &r));
    r.tags = "[\"金标x\"]";
    assert_false(split_filter_match(&f, &r));

    r.rating = "{\"value\":5,\"type\":\"five_star\"}";
    r.intermediate_outputs = "{\"reasoning\":\"r\"}";
    assert_int_equal(split_filter_parse("thinking_model_high_rated", &f, &e), 0);
    assert_true(split_filter_match(&f, &r));
    r.rating = "{\"value\":2,\"type\":\"five_star\"}";
    assert_false(split_filter_match(&f, &r));

    assert_int_equal(split_filter_parse("tag::", &f, &e), HE_INVALID);
    assert_string_equal(e.field, "filter_id");
    err_clear(&e);
    assert_int_equal(split_filter_parse("High_rating", &f, &e), HE_INVALID);
}

static void shuffle_is_seeded(void **state)
{
    enum { N = 500 };
    char(*a)[ID_LEN] = calloc(N, ID_LEN), (*b)[ID_LEN] = calloc(N, ID_LEN);
    size_t same = 0;
    (void)state;

    for (size_t i = 0; i < N; i++)
        id_format(100000000000ULL + i, a[i]);
    memcpy(b, a, (size_t)N * ID_LEN);
    split_shuffle(a, N, 42);
    split_shuffle(b, N, 42);
    assert_memory_equal(a, b, (size_t)N * ID_LEN);
    for (size_t i = 0; i < N; i++)
        id_format(100000000000ULL + i, b[i]);
    split_shuffle(b, N, 43);
    for (size_t i = 0; i < N; i++)
        same += memcmp(a[i], b[i], ID_LEN) == 0;
    assert_true(same < N / 10);
    for (size_t i = 0; i < N; i++) /* a permutation: every id once */
        for (size_t j = i + 1; j < N; j++)
            assert_true(memcmp(a[i], a[j], ID_LEN) != 0);
    free(a);
    free(b);
}

/* ---- the store ---- */

struct fixture {
    struct store *s;
    char project[ID_LEN], task[ID_LEN];
    char runs[20][ID_LEN];
};

static void setup_store(struct fixture *x)
{
    struct err e = ERR_INIT;
    struct project p = {.created_by = "t", .name = "p", .description = ""};
    struct task t = {.created_by = "t", .name = "t", .instruction = "i", .requirements = "[]"};
    struct run r[20], *all[20];

    assert_int_equal(store_open(":memory:", &x->s, &e), 0);
    assert_int_equal(store_new_id(x->s, p.id, &e), 0);
    assert_int_equal(store_project_insert(x->s, &p, &e), 0);
    assert_int_equal(store_new_id(x->s, t.id, &e), 0);
    memcpy(t.project_id, p.id, ID_LEN);
    assert_int_equal(store_task_insert(x->s, &t, &e), 0);
    memcpy(x->project, p.id, ID_LEN);
    memcpy(x->task, t.id, ID_LEN);
    for (size_t i = 0; i < 20; i++) {
        r[i] = (struct run){.created_by = "t",
                            .input = "in",
                            .input_source_type = "human",
                            .output = "out",
                            .output_source_type = "human",
                            .rating_score = NAN,
                            .cost = NAN,
                            .input_tokens = -1,
                            .output_tokens = -1,
                            .total_tokens = -1};
        r[i].rating = i % 2 ? "{\"v\":1,\"value\":5.0,\"type\":\"five_star\"}" : NULL;
        assert_int_equal(store_new_id(x->s, r[i].id, &e), 0);
        assert_int_equal(store_new_id(x->s, r[i].output_id, &e), 0);
        memcpy(r[i].task_id, t.id, ID_LEN);
        memcpy(x->runs[i], r[i].id, ID_LEN);
        all[i] = &r[i];
    }
    assert_int_equal(store_run_insert(x->s, all, 20, &e), 0);
}

struct ids {
    char v[32][ID_LEN];
    size_t n;
};

static int collect_run(void *ud, const struct run *r, struct err *e)
{
    struct ids *x = ud;
    (void)e;
    memcpy(x->v[x->n++], r->id, ID_LEN);
    return 0;
}

static int collect_id(void *ud, const char *id, struct err *e)
{
    struct ids *x = ud;
    (void)e;
    memcpy(x->v[x->n++], id, ID_LEN);
    return 0;
}

static void stored_split_filters_runs(void **state)
{
    struct fixture x;
    struct err e = ERR_INIT;
    const struct split_type *t = split_type_find("train_test");
    struct split_filter f;
    struct split_result res;
    struct dataset_split d = {
        .created_by = "t", .name = "s", .split_type = "train_test", .filter_id = "high_rating"};
    struct dataset_split got;
    struct ids train = {0}, listed = {0};
    (void)state;

    setup_store(&x);
    assert_int_equal(split_filter_parse("high_rating", &f, &e), 0);
    assert_int_equal(split_build(x.s, x.task, t, &f, 7, &res, &e), 0);
    assert_int_equal(res.n, 10); /* the odd runs are rated 5 */
    assert_int_equal(res.parts[0].n, 8);
    assert_int_equal(res.parts[1].n, 2);
    assert_int_equal(store_new_id(x.s, d.id, &e), 0);
    memcpy(d.task_id, x.task, ID_LEN);
    d.splits = split_defs_json(t);
    assert_string_equal(d.splits, "[{\"name\":\"train\",\"description\":null,\"percentage\":0.8},"
                                  "{\"name\":\"test\",\"description\":null,\"percentage\":0.2}]");
    assert_int_equal(store_split_insert(x.s, &d, res.parts, res.nparts, &e), 0);

    assert_int_equal(store_split_get(x.s, x.task, d.id, &got, &e), 0);
    assert_string_equal(got.filter_id, "high_rating");
    assert_null(got.description);
    assert_true(split_has_part(&got, "test"));
    assert_false(split_has_part(&got, "val"));
    dataset_split_done(&got);

    /* the part reads back in its stored (shuffled) order, through the store and the filter */
    assert_int_equal(store_split_runs(x.s, d.id, "train", collect_id, &train, &e), 0);
    assert_int_equal(train.n, 8);
    assert_memory_equal(train.v, res.parts[0].ids, 8 * ID_LEN);
    struct run_filter rf = {
        .task_id = x.task, .min_rating = NAN, .split_id = d.id, .split_name = "train"};
    assert_int_equal(store_run_list(x.s, &rf, collect_run, &listed, &e), 0);
    assert_memory_equal(listed.v, train.v, 8 * ID_LEN);
    /* a cursor continues after its run's position in the part */
    listed.n = 0;
    rf.after_id = train.v[2];
    assert_int_equal(store_run_list(x.s, &rf, collect_run, &listed, &e), 0);
    assert_int_equal(listed.n, 5);
    assert_memory_equal(listed.v, train.v[3], 5 * ID_LEN);

    /* a deleted run stays in the split's ids but leaves the filtered list */
    assert_int_equal(store_run_delete(x.s, x.task, train.v[0], &e), 0);
    listed.n = 0;
    rf.after_id = NULL;
    assert_int_equal(store_run_list(x.s, &rf, collect_run, &listed, &e), 0);
    assert_int_equal(listed.n, 7);
    train.n = 0;
    assert_int_equal(store_split_runs(x.s, d.id, "train", collect_id, &train, &e), 0);
    assert_int_equal(train.n, 8);
    /* the whole split (no part): its runs still stored, in id order */
    listed.n = 0;
    rf.split_name = NULL;
    assert_int_equal(store_run_list(x.s, &rf, collect_run, &listed, &e), 0);
    assert_int_equal(listed.n, 9);
    for (size_t i = 1; i < listed.n; i++)
        assert_true(strcmp(listed.v[i - 1], listed.v[i]) < 0);

    assert_int_equal(store_split_get(x.s, x.task, "100000000000", &got, &e), HE_NOT_FOUND);
    assert_string_equal(e.field, "dataset_id");
    free((char *)d.splits);
    split_result_done(&res);
    store_close(x.s);
}

static void split_insert_is_all_or_nothing(void **state)
{
    struct fixture x;
    struct err e = ERR_INIT;
    struct dataset_split d = {.created_by = "t",
                              .name = "s",
                              .split_type = "train_test",
                              .filter_id = "all",
                              .splits = "[]"};
    struct dataset_split got;
    /* a part named twice: its second write fails after the first part's rows went in */
    struct dataset_split_part parts[2] = {{"train", x.runs, 3}, {"train", x.runs + 3, 3}};
    struct ids none = {0};
    (void)state;

    setup_store(&x);
    assert_int_equal(store_new_id(x.s, d.id, &e), 0);
    memcpy(d.task_id, x.task, ID_LEN);
    assert_int_equal(store_split_insert(x.s, &d, parts, 2, &e), HE_STORE);
    err_clear(&e);
    assert_int_equal(store_split_runs(x.s, d.id, "train", collect_id, &none, &e), 0);
    assert_int_equal(none.n, 0);
    assert_int_equal(store_split_get(x.s, x.task, d.id, &got, &e), HE_NOT_FOUND);
    /* an unknown task: not found, naming task_id */
    err_clear(&e);
    memcpy(d.task_id, "999999999999", ID_LEN);
    parts[1].name = "test";
    assert_int_equal(store_split_insert(x.s, &d, parts, 2, &e), HE_NOT_FOUND);
    assert_string_equal(e.field, "task_id");
    store_close(x.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sizes_round_half_to_even),
        cmocka_unit_test(high_rating_as_kiln),
        cmocka_unit_test(thinking_and_tags),
        cmocka_unit_test(shuffle_is_seeded),
        cmocka_unit_test(stored_split_filters_runs),
        cmocka_unit_test(split_insert_is_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
