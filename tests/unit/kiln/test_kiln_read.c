/* SPDX-License-Identifier: MIT */
/*
 * Kiln files into store records (kiln/kiln_read.c): the checks Kiln 0.15's models make on load
 * (rating values per type, data source properties per type, repairs, schema versions, model
 * types, split percentages) with the file and field named, Kiln's defaults, rating scores; and
 * the store's import write (all or nothing, ids already stored refused).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kiln/kiln.h"
#include "util/json.h"

static struct store *store;
static struct arena mem;
static struct kiln_ids ids;

static struct kiln_ctx ctx(void)
{
    ids = (struct kiln_ids){.store = store};
    return (struct kiln_ctx){.ids = &ids,
                             .mem = &mem,
                             .user = "server",
                             .now = 42,
                             .rel = "tasks/t/runs/r/task_run.kiln"};
}

static struct json_object *parse(const char *text)
{
    struct json_object *o = NULL;
    struct err e = ERR_INIT;
    if (json_parse(text, strlen(text), &o, &e) < 0)
        fail_msg("bad test JSON: %s", e.msg);
    return o;
}

/* The object {head members}; e cleared for the read that follows. */
static struct json_object *object(const char *head, const char *members, struct err *e)
{
    char text[4096];
    snprintf(text, sizeof(text), "{%s%s}", head, members);
    err_clear(e);
    return parse(text);
}

#define RUN_HEAD "\"v\":1,\"id\":\"638234567892\",\"created_by\":\"k\",\"model_type\":\"task_run\","
#define HUMAN    "{\"type\":\"human\",\"properties\":{\"created_by\":\"ann\"}}"

/* The code of a read, which with e NULL must succeed. */
static int outcome(int rc, const struct err *e, const struct err *own)
{
    if (!e && rc != 0)
        fail_msg("refused: %s", own->msg);
    return rc;
}

/* Reads a task_run.kiln of the given members after the head; returns the code, e filled. */
static int read_run(const char *members, struct run *r, struct err *e)
{
    struct kiln_ctx k = ctx();
    struct err own;
    struct json_object *o = object(RUN_HEAD, members, e ? e : &own);
    int rc = kiln_read_run(&k, o, "528234567891", r, e ? e : &own);

    json_object_put(o);
    return outcome(rc, e, &own);
}

static void expect_bad(const char *members, const char *field)
{
    struct run r;
    struct err e;

    assert_int_equal(read_run(members, &r, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, field);
    assert_non_null(strstr(e.msg, "tasks/t/runs/r/task_run.kiln: "));
    assert_non_null(strstr(e.msg, field));
}

static void ratings_are_checked_and_scored(void **state)
{
    struct run r;
    (void)state;

    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"type\":\"five_star\","
               "\"value\":3.5}}",
               "output.rating.value");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"type\":\"pass_fail\","
               "\"value\":-1.0}}",
               "output.rating.value");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"type\":\"stars\"}}",
               "output.rating.type");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"value\":5.0,"
               "\"requirement_ratings\":{\"1\":{\"value\":9.0,\"type\":\"five_star\"}}}}",
               "output.rating.requirement_ratings.1.value");

    read_run("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"type\":"
             "\"pass_fail_critical\",\"value\":-1.0}}",
             &r, NULL);
    assert_true(r.rating_score == 0.0);
    read_run("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"type\":"
             "\"custom\",\"value\":0.37}}",
             &r, NULL);
    assert_true(isnan(r.rating_score));
    /* no type: five_star; the old form of requirement ratings: bare five-star numbers */
    read_run("\"input\":\"x\",\"output\":{\"output\":\"y\",\"rating\":{\"value\":"
             "4.0,\"requirement_ratings\":{\"7\":2}}}",
             &r, NULL);
    assert_true(r.rating_score == 4.0);
    assert_non_null(strstr(r.rating, "\"requirement_ratings\":{\"7\":{\"value\":2.0,\"type\":"
                                     "\"five_star\"}}"));
    assert_non_null(strstr(r.rating, "\"model_type\":\"task_output_rating\""));
}

static void sources_follow_kiln_property_rules(void **state)
{
    struct run r;
    (void)state;

    expect_bad("\"input\":\"x\",\"input_source\":{\"type\":\"synthetic\",\"properties\":{"
               "\"model_name\":\"m\",\"model_provider\":\"p\"}},\"output\":{\"output\":\"y\"}",
               "input_source.properties.adapter_name");
    expect_bad("\"input\":\"x\",\"input_source\":{\"type\":\"human\",\"properties\":{"
               "\"created_by\":\"a\",\"model_name\":\"m\"}},\"output\":{\"output\":\"y\"}",
               "input_source.properties.model_name");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"source\":{\"type\":\"human\","
               "\"properties\":{\"created_by\":\"\"}}}",
               "output.source.properties.created_by");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"source\":{\"type\":\"robot\"}}",
               "output.source");
    /* a synthetic output gives the models and the prompt to statistics */
    read_run("\"input\":\"x\",\"output\":{\"output\":\"y\",\"source\":{\"type\":\"synthetic\","
             "\"properties\":{\"model_name\":\"m\",\"model_provider\":\"p\",\"adapter_name\":"
             "\"a\",\"prompt_id\":\"few_shot\",\"temperature\":0.5}}}",
             &r, NULL);
    assert_string_equal(r.output_source_type, "synthetic");
    assert_string_equal(r.output_model, "m");
    assert_string_equal(r.prompt_method, "few_shot");
    /* no input source: a human's, the run's creator */
    assert_string_equal(r.input_source_type, "human");
    assert_string_equal(r.input_source, "{\"created_by\":\"k\"}");
}

static void heads_repairs_and_defaults(void **state)
{
    struct run r;
    (void)state;

    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\"},\"repair_instructions\":\"fix\"",
               "repaired_output");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\"},\"repair_instructions\":\"fix\","
               "\"repaired_output\":{\"output\":\"z\",\"rating\":{\"value\":5.0}}",
               "repaired_output.rating");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\"},\"tags\":[\"\"]", "tags[0]");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\",\"created_at\":\"yesterday\"}",
               "output.created_at");
    expect_bad("\"input\":\"x\",\"output\":{\"output\":\"y\"},\"intermediate_outputs\":{\"a\":1}",
               "intermediate_outputs.a");
    expect_bad("\"v\":2,\"input\":\"x\",\"output\":{\"output\":\"y\"}", "v");

    /* Kiln's defaults: created_at now, created_by the run's, a new output id, no tags */
    read_run("\"input\":\"x\",\"output\":{\"output\":\"y\"}", &r, NULL);
    assert_int_equal(r.created_at, 42);
    assert_true(id_valid(r.output_id));
    assert_string_equal(r.tags, "[]");
    assert_int_equal(r.ntags, 0);
    assert_string_equal(r.intermediate_outputs, "{}");
    assert_string_equal(r.topic_key, "");
    /* a naive timestamp is UTC */
    read_run("\"created_at\":\"2024-10-01T00:00:01.5\",\"input\":\"x\","
             "\"output\":{\"output\":\"y\"},\"tags\":[\"a\",\"b\"]",
             &r, NULL);
    assert_int_equal(r.created_at, 1727740801500000LL);
    assert_int_equal(r.ntags, 2);
    assert_string_equal(r.tag_list[1], "b");
}

static void model_type_must_match(void **state)
{
    struct kiln_ctx k = ctx();
    struct json_object *o = parse("{\"name\":\"P\",\"model_type\":\"task\"}");
    struct project p;
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(kiln_read_project(&k, o, &p, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "model_type");
    json_object_put(o);
}

static int read_split(const char *members, struct dataset_split *d, struct err *e)
{
    struct kiln_ctx k = ctx();
    struct dataset_split_part *parts;
    size_t n;
    struct err own;
    struct json_object *o =
        object("\"name\":\"s\",\"model_type\":\"dataset_split\",", members, e ? e : &own);
    int rc = kiln_read_split(&k, o, "528234567891", d, &parts, &n, e ? e : &own);

    json_object_put(o);
    return outcome(rc, e, &own);
}

static void splits_add_up_and_keep_their_type(void **state)
{
    /* a refusal's field, or the split type and filter read */
    static const struct {
        const char *members, *field, *type, *filter;
    } cases[] = {
        {"\"splits\":[{\"name\":\"train\",\"percentage\":0.5}],\"split_contents\":{\"train\":[]}",
         "splits"},
        {"\"splits\":[{\"name\":\"all\",\"percentage\":1.0}],\"split_contents\":{\"all\":[\"12\"]}",
         "split_contents.all[0]"},
        {"\"splits\":[{\"name\":\"train\",\"percentage\":0.8},{\"name\":\"test\",\"percentage\":"
         "0.2}],\"split_contents\":{\"train\":[],\"test\":[]}",
         NULL, "train_test", "all"},
        {"\"splits\":[{\"name\":\"a\",\"percentage\":0.3},{\"name\":\"b\",\"percentage\":0.7}],"
         "\"split_contents\":{},\"filter\":\"tag::x\"",
         NULL, "custom", "tag::x"},
    };
    struct dataset_split d;
    struct err e;
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (cases[i].field) {
            assert_int_equal(read_split(cases[i].members, &d, &e), HE_BAD_REQUEST);
            assert_string_equal(e.field, cases[i].field);
            continue;
        }
        read_split(cases[i].members, &d, NULL);
        assert_string_equal(d.split_type, cases[i].type);
        assert_string_equal(d.filter_id, cases[i].filter);
    }
}

static void task_requirements_get_defaults(void **state)
{
    struct kiln_ctx k = ctx();
    struct json_object *o =
        parse("{\"name\":\"T\",\"instruction\":\"do\",\"model_type\":\"task\",\"requirements\":"
              "[{\"id\":\"r1\",\"name\":\"Short\",\"instruction\":\"be short\"}],"
              "\"output_json_schema\":\"{\\\"type\\\":\\\"array\\\"}\"}");
    struct task t;
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(kiln_read_task(&k, o, "418234567890", &t, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "output_json_schema");
    json_object_object_del(o, "output_json_schema");
    err_clear(&e);
    assert_int_equal(kiln_read_task(&k, o, "418234567890", &t, &e), 0);
    assert_string_equal(t.requirements, "[{\"id\":\"r1\",\"name\":\"Short\",\"description\":null,"
                                        "\"instruction\":\"be short\",\"priority\":2,\"type\":"
                                        "\"five_star\"}]");
    assert_null(t.output_json_schema);
    json_object_put(o);
}

static void ids_come_from_the_pool_when_there_is_one(void **state)
{
    static const char pool[][ID_LEN] = {"111111111111"};
    struct kiln_ids pooled = {.store = store, .pool = pool, .npool = 1};
    char id[ID_LEN];
    struct err e = ERR_INIT;
    (void)state;

    assert_int_equal(kiln_new_id(&pooled, id, &e), 0);
    assert_string_equal(id, "111111111111");
    assert_int_equal(kiln_new_id(&pooled, id, &e), HE_CONFLICT);
    assert_non_null(strstr(e.msg, "changed"));
    pooled.pool = NULL;
    err_clear(&e);
    assert_int_equal(kiln_new_id(&pooled, id, &e), 0);
    assert_int_equal(pooled.count, 1);
}

/* ---- the store's import write ---- */

struct run_list {
    struct run **runs;
    size_t n, next;
};

static int next_run(void *ud, struct run **ret, struct err *e)
{
    struct run_list *l = ud;
    (void)e;
    *ret = l->next < l->n ? l->runs[l->next++] : NULL;
    return 0;
}

static void import_is_all_or_nothing(void **state)
{
    struct project p = {.id = "418234567890", .created_by = "k", .name = "P", .description = ""};
    struct task t = {.id = "528234567891",
                     .project_id = "418234567890",
                     .created_by = "k",
                     .name = "T",
                     .instruction = "do",
                     .requirements = "[]"};
    struct run r = {.id = "638234567892", .task_id = "528234567891", .output_id = "748234567892"};
    struct run *runs[] = {&r};
    /* a split of a task the import does not hold: its insert fails last */
    struct dataset_split d = {.id = "858234567895", .task_id = "999999999999", .splits = "[]"};
    const struct dataset_split_part *parts[] = {NULL};
    size_t nparts[] = {0};
    struct run_list list = {runs, 1, 0};
    struct store_import imp = {&p, &t, 1, next_run, &list, &d, parts, nparts, 1};
    struct project got = {0};
    struct err e = ERR_INIT;
    (void)state;

    r.created_by = d.created_by = "k";
    r.input = r.output = "x";
    r.input_source_type = r.output_source_type = "human";
    r.rating_score = r.cost = NAN;
    r.input_tokens = r.output_tokens = r.total_tokens = -1;
    d.name = d.split_type = d.filter_id = "all";
    assert_int_equal(store_import(store, &imp, &e), HE_NOT_FOUND);
    err_clear(&e);
    assert_int_equal(store_project_get(store, p.id, &got, &e), HE_NOT_FOUND);

    /* the same without the split is stored; again, its id is taken */
    imp.nsplits = 0;
    list.next = 0;
    err_clear(&e);
    assert_int_equal(store_import(store, &imp, &e), 0);
    assert_int_equal(store_project_get(store, p.id, &got, &e), 0);
    project_done(&got);
    memcpy(p.id, "418234567899", ID_LEN); /* a new project, its task's id taken */
    memcpy(t.project_id, p.id, ID_LEN);
    list.next = 0;
    err_clear(&e);
    assert_int_equal(store_import(store, &imp, &e), HE_CONFLICT);
    assert_string_equal(e.field, "id");
    assert_non_null(strstr(e.msg, "528234567891"));
    err_clear(&e);
    assert_int_equal(store_project_get(store, p.id, &got, &e), HE_NOT_FOUND);
}

static int setup(void **state)
{
    struct err e = ERR_INIT;
    (void)state;
    arena_init(&mem);
    return store_open(":memory:", &store, &e);
}

static int teardown(void **state)
{
    (void)state;
    store_close(store);
    arena_done(&mem);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ratings_are_checked_and_scored),
        cmocka_unit_test(sources_follow_kiln_property_rules),
        cmocka_unit_test(heads_repairs_and_defaults),
        cmocka_unit_test(model_type_must_match),
        cmocka_unit_test(splits_add_up_and_keep_their_type),
        cmocka_unit_test(task_requirements_get_defaults),
        cmocka_unit_test(ids_come_from_the_pool_when_there_is_one),
        cmocka_unit_test(import_is_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
