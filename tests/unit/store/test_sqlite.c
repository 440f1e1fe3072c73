/* SPDX-License-Identifier: MIT */
/*
 * What only the SQLite store has, on :memory: and on a temporary file: ids unique under
 * concurrent writers, the schema-change guard, reopening keeps data, and records read that own
 * their strings. What every backend shares (round trips, cascades, not-found errors, filters)
 * is in test_backends.c, run on both.
 */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store/store.h"

static struct store *open_store(const char *url)
{
    struct store *s = NULL;
    struct err e;
    err_clear(&e);
    if (store_open(url, &s, &e) != 0)
        fail_msg("store_open(%s): %s", url, e.msg);
    return s;
}

static void make_project(struct store *s, const char *name, struct project *ret)
{
    struct err e;
    err_clear(&e);
    memset(ret, 0, sizeof(*ret));
    assert_int_equal(store_new_id(s, ret->id, &e), 0);
    ret->created_at = 1795515330123456LL;
    ret->created_by = "tester";
    ret->name = name;
    ret->description = "描述";
    assert_int_equal(store_project_insert(s, ret, &e), 0);
}

static void make_task(struct store *s, const char *project_id, struct task *ret)
{
    struct err e;
    err_clear(&e);
    memset(ret, 0, sizeof(*ret));
    assert_int_equal(store_new_id(s, ret->id, &e), 0);
    memcpy(ret->project_id, project_id, ID_LEN);
    ret->created_at = 1795515330123456LL;
    ret->created_by = "tester";
    ret->name = "任务";
    ret->description = "";
    ret->instruction = "写一首诗";
    ret->requirements = "[]";
    ret->input_json_schema = "{\"type\":\"object\"}";
    assert_int_equal(store_task_insert(s, ret, &e), 0);
}

static int count_cb(void *ud, const struct project *p, struct err *e)
{
    (void)p;
    (void)e;
    (*(int *)ud)++;
    return 0;
}

struct writer_arg {
    struct store *s;
    int failures;
};

static void *insert_many(void *p)
{
    struct writer_arg *w = p;
    for (int i = 0; i < 200; i++) {
        struct project pr = {0};
        struct err e;
        err_clear(&e);
        pr.created_by = "t";
        pr.name = "concurrent";
        pr.description = "";
        if (store_new_id(w->s, pr.id, &e) || store_project_insert(w->s, &pr, &e))
            w->failures++;
    }
    return NULL;
}

static void concurrent_writers_file_and_reopen(void **state)
{
    char dir[] = "/tmp/hetu-store-XXXXXX", path[256];
    struct writer_arg w[4];
    pthread_t t[4];
    struct store *s;
    struct err e;
    int n = 0;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "sqlite:%s/sub/dir/hetu.db", dir);
    s = open_store(path);
    for (int i = 0; i < 4; i++) {
        w[i].s = s;
        w[i].failures = 0;
        pthread_create(&t[i], NULL, insert_many, &w[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    store_close(s);

    s = open_store(path);
    err_clear(&e);
    assert_int_equal(store_project_list(s, count_cb, &n, &e), 0);
    assert_int_equal(n, 800);
    {
        /* ids keep increasing after a reopen: none is handed out twice */
        struct project p;
        make_project(s, "after reopen", &p);
        n = 0;
        assert_int_equal(store_project_list(s, count_cb, &n, &e), 0);
        assert_int_equal(n, 801);
    }
    store_close(s);
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        assert_int_equal(system(cmd), 0);
    }
}

/* Ids increase across many reserved blocks (each taken while the next is reserved in the
 * background) and after a reopen. */
static void ids_increase_across_blocks(void **state)
{
    char dir[] = "/tmp/hetu-store-XXXXXX", path[256], id[ID_LEN], cmd[300];
    uint64_t last = 0, v;
    struct store *s;
    struct err e;
    (void)state;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "sqlite:%s/hetu.db", dir);
    for (int round = 0; round < 2; round++) {
        s = open_store(path);
        for (int i = 0; i < 300000; i++) {
            err_clear(&e);
            assert_int_equal(store_new_id(s, id, &e), 0);
            v = strtoull(id, NULL, 10);
            if (v <= last)
                fail_msg("id %" PRIu64 " after %" PRIu64 " (round %d, id %d)", v, last, round, i);
            last = v;
        }
        store_close(s);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void schema_change_allowed_without_samples(void **state)
{
    struct store *s = open_store(":memory:");
    struct project p;
    struct task t, got = {0};
    struct err e;
    (void)state;

    err_clear(&e);
    make_project(s, "p", &p);
    make_task(s, p.id, &t);
    t.output_json_schema = "{\"type\":\"object\",\"properties\":{}}";
    assert_int_equal(store_task_update(s, &t, true, &e), 0);
    assert_int_equal(store_task_get(s, p.id, t.id, &got, &e), 0);
    assert_string_equal(got.output_json_schema, "{\"type\":\"object\",\"properties\":{}}");
    task_done(&got);
    store_close(s);
}

static void health_reports_backend(void **state)
{
    struct store *s = open_store(":memory:");
    struct store_health h;
    struct err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(store_health(s, &h, &e), 0);
    assert_string_equal(h.backend, "sqlite");
    assert_true(h.schema_version >= 1);
    assert_true(h.writable);
    store_close(s);
}

static int count_task(void *ud, const struct task *t, struct err *e)
{
    (void)t;
    (void)e;
    (*(int *)ud)++;
    return 0;
}

static int count_topic(void *ud, const char *key, int64_t n, struct err *e)
{
    (void)key;
    (void)e;
    *(int64_t *)ud += n;
    return 0;
}

/* Every read can be repeated: each statement is reset after use, whatever path it left by. */
static void reads_repeat(void **state)
{
    struct store *s = open_store(":memory:");
    struct project p, q;
    struct task t;
    struct err e;
    (void)state;

    /* Different arguments each time: a statement left unreset keeps its old bindings. */
    err_clear(&e);
    make_project(s, "p", &p);
    make_project(s, "q", &q);
    make_task(s, p.id, &t);
    make_task(s, p.id, &t);
    make_task(s, q.id, &t);
    for (int round = 0; round < 3; round++) {
        int tasks_p = 0, tasks_q = 0, projects = 0;
        int64_t samples = 0;
        assert_int_equal(store_task_list(s, p.id, count_task, &tasks_p, &e), 0);
        assert_int_equal(store_task_list(s, q.id, count_task, &tasks_q, &e), 0);
        assert_int_equal(tasks_p, 2);
        assert_int_equal(tasks_q, 1);
        assert_int_equal(store_project_list(s, count_cb, &projects, &e), 0);
        assert_int_equal(projects, 2);
        assert_int_equal(store_topic_counts(s, round % 2 ? t.id : p.id, count_topic, &samples, &e),
                         0);
        assert_int_equal(samples, 0);
    }
    store_close(s);
}

static void fill_run(struct store *s, const struct task *t, struct run *r, const char *input,
                     const char *topic_key, const char *session, const char *const *tags,
                     size_t ntags)
{
    struct err e;
    err_clear(&e);
    memset(r, 0, sizeof(*r));
    assert_int_equal(store_new_id(s, r->id, &e), 0);
    assert_int_equal(store_new_id(s, r->output_id, &e), 0);
    memcpy(r->task_id, t->id, ID_LEN);
    r->created_by = "tester";
    r->input = input;
    r->input_source_type = "human";
    r->input_source = "{}";
    r->output = "答";
    r->output_source_type = "human";
    r->output_source = "{}";
    r->rating_score = NAN;
    r->cost = NAN;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
    r->topic_key = topic_key;
    r->session_id = session;
    r->tag_list = tags;
    r->ntags = ntags;
}

static int noop_project(void *ud, const struct project *p, struct err *e)
{
    (void)ud;
    (void)p;
    (void)e;
    return 0;
}

/*
 * A record read owns its strings: they stay valid after the statement that read them is
 * reused, the rows are deleted and the store (every statement and connection) is gone; and
 * *_done releases them (ASan: no leak, no use after free).
 */
static void read_records_own_their_strings(void **state)
{
    struct store *s = open_store(":memory:");
    const char *tags[] = {"synthetic"};
    struct project p, q, gp = {0};
    struct task t, gt = {0}, cached = {0};
    struct run r, gr = {0};
    struct run *rs[] = {&r};
    struct err e;
    (void)state;

    err_clear(&e);
    make_project(s, "第一", &p);
    make_project(s, "second", &q);
    make_task(s, p.id, &t);
    fill_run(s, &t, &r, "{\"q\":1}", "a\x1f", "s1", tags, 1);
    assert_int_equal(store_run_insert(s, rs, 1, &e), 0);

    assert_int_equal(store_project_get(s, p.id, &gp, &e), 0);
    assert_int_equal(store_task_get(s, p.id, t.id, &gt, &e), 0);
    assert_int_equal(store_task_get(s, p.id, t.id, &cached, &e), 0); /* from the task cache */
    assert_int_equal(store_run_get(s, t.id, r.id, &gr, &e), 0);
    /* the same statements again, on other rows; then the rows and the store go */
    {
        struct project other = {0};
        assert_int_equal(store_project_get(s, q.id, &other, &e), 0);
        assert_string_equal(other.name, "second");
        project_done(&other);
    }
    assert_int_equal(store_project_list(s, noop_project, NULL, &e), 0);
    assert_int_equal(store_project_delete(s, p.id, &e), 0);
    store_close(s);

    assert_string_equal(gp.name, "第一");
    assert_string_equal(gp.created_by, "tester");
    assert_string_equal(gp.description, "描述");
    assert_string_equal(gt.instruction, "写一首诗");
    assert_string_equal(gt.requirements, "[]");
    assert_string_equal(gt.input_json_schema, "{\"type\":\"object\"}");
    assert_null(gt.output_json_schema);
    assert_string_equal(cached.name, "任务");
    assert_ptr_not_equal(cached.name, gt.name);
    assert_string_equal(gr.input, "{\"q\":1}");
    assert_string_equal(gr.output, "答");
    assert_string_equal(gr.tags, "[\"synthetic\"]");
    assert_string_equal(gr.topic_key, "a\x1f");
    assert_string_equal(gr.session_id, "s1");
    assert_null(gr.rating);

    project_done(&gp);
    task_done(&gt);
    task_done(&cached);
    run_done(&gr);
    assert_null(gp.name);
    assert_null(gp.mem.head);
    assert_null(gt.instruction);
    assert_null(gr.output);
    assert_null(gr.mem.head);
}

/* task_copy owns its strings: the source's buffers may change or go. */
static void task_copy_owns_its_strings(void **state)
{
    char name[] = "name", schema[] = "{}";
    struct task src = {.id = "100000000001", .project_id = "100000000002"};
    struct task copy = {0};
    (void)state;

    src.created_at = 7;
    src.created_by = "tester";
    src.name = name;
    src.description = "";
    src.instruction = "do it";
    src.requirements = "[]";
    src.output_json_schema = schema;
    assert_int_equal(task_copy(&copy, &src), 0);
    name[0] = 'N';
    schema[0] = '[';
    assert_string_equal(copy.id, "100000000001");
    assert_string_equal(copy.project_id, "100000000002");
    assert_int_equal(copy.created_at, 7);
    assert_string_equal(copy.name, "name");
    assert_string_equal(copy.output_json_schema, "{}");
    assert_null(copy.input_json_schema);
    assert_null(copy.thinking_instruction);
    assert_ptr_not_equal(copy.instruction, src.instruction);
    task_done(&copy);
    assert_null(copy.name);
}

/* A postgresql:// URL selects the PostgreSQL backend; a server that is not there is a clear
 * 503, not a crash or a SQLite file named like the URL. */
static void postgres_unreachable_is_a_clear_error(void **state)
{
    struct store *s = NULL;
    struct err e;
    (void)state;
    err_clear(&e);
    assert_int_equal(store_open("postgresql://hetu@127.0.0.1:1/hetu", &s, &e), HE_UNAVAILABLE);
    assert_non_null(strstr(e.msg, "connecting to the database: the database is unreachable"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_writers_file_and_reopen),
        cmocka_unit_test(ids_increase_across_blocks),
        cmocka_unit_test(schema_change_allowed_without_samples),
        cmocka_unit_test(health_reports_backend),
        cmocka_unit_test(reads_repeat),
        cmocka_unit_test(postgres_unreachable_is_a_clear_error),
        cmocka_unit_test(read_records_own_their_strings),
        cmocka_unit_test(task_copy_owns_its_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
