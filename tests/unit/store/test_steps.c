/* SPDX-License-Identifier: MIT */
/*
 * Jobs in stages in the SQLite store: a step settles a pending item with what it produced and
 * spent, the job's counters and everything it carries (topics, samples, new items, judge
 * ratings) in one write; a step for an item no longer pending changes nothing; new items take
 * the next indexes and grow the total; topics already there are skipped; a judge's rating never
 * touches a person's; stages are summed in the order they first appear; a failing step undoes
 * its whole call; a paused job resumes or is cancelled.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "store/store.h"

#include "task_fixture.h"

/* cmocka 1.1 has no assert_double_equal */
#define assert_near(a, b, eps) assert_true(fabs((a) - (b)) <= (eps))

struct fixture {
    struct store *s;
    struct project p;
    struct task t;
    struct job job;
};

static void setup(struct fixture *f, const struct job_new_item *items, size_t n)
{
    struct err e;

    memset(f, 0, sizeof(*f));
    err_clear(&e);
    open_task_store(&f->s, &f->p, &f->t);
    f->job = (struct job){.kind = "pipeline", .params = "{\"budget\":1}", .created_at = 1};
    memcpy(f->job.task_id, f->t.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, f->job.id, &e), 0);
    if (store_job_create_staged(f->s, &f->job, items, n, &e) != 0)
        fail_msg("store_job_create_staged: %s", e.msg);
}

static const struct job_new_item two_topics[] = {{"topics", "{\"path\":[]}"},
                                                 {"topics", "{\"path\":[\"a\"]}"}};

static struct job_step step_of(struct fixture *f, int64_t idx)
{
    return (struct job_step){
        .job_id = f->job.id,
        .idx = idx,
        .task_id = f->t.id,
        .spend = {
            .calls = 1, .input_tokens = 10, .output_tokens = 5, .cached_tokens = 2, .cost = 0.25}};
}

struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
    int result;
    char msg[256];
};

static void on_done(void *ud, int result, const struct err *e)
{
    struct waiter *w = ud;
    pthread_mutex_lock(&w->m);
    w->done = true;
    w->result = result;
    if (e)
        snprintf(w->msg, sizeof(w->msg), "%s", e->msg);
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* Sends steps and waits for their commit: the write's result. */
static int send_steps(struct fixture *f, const struct job_step *steps, size_t n)
{
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 1, ""};
    struct err e;

    err_clear(&e);
    assert_int_equal(store_job_step_async(f->s, steps, n, on_done, &w, &e), 0);
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    return w.result;
}

static struct job job_of(struct fixture *f)
{
    struct job j;
    struct err e;

    err_clear(&e);
    assert_int_equal(store_job_get(f->s, f->job.id, &j, &e), 0);
    return j;
}

/* "idx:state:stage:payload;" for each item the query selects. */
static int add_item(void *ud, const struct job_item_row *it, struct err *e)
{
    char *out = ud;
    (void)e;
    snprintf(out + strlen(out), 512 - strlen(out), "%lld:%d:%s:%.*s;", (long long)it->idx,
             it->state, it->stage ? it->stage : "-", (int)it->len, it->payload);
    return 0;
}

static void scan(struct fixture *f, const char *stage, unsigned states, int64_t after, size_t limit,
                 char out[512])
{
    struct job_item_query q = {f->job.id, stage, states, after, limit};
    struct err e;

    out[0] = 0;
    err_clear(&e);
    assert_int_equal(store_job_items_scan(f->s, &q, add_item, out, &e), 0);
}

/* "parent|name;" for each topic. */
static int add_topic(void *ud, const char *parent_key, const char *name, struct err *e)
{
    char *out = ud;
    (void)e;
    snprintf(out + strlen(out), 512 - strlen(out), "%s|%s;", parent_key, name);
    return 0;
}

static void created_staged_items_scan_in_order(void **state)
{
    static const struct job_new_item items[] = {
        {"topics", "{\"n\":0}"}, {"inputs", "{\"n\":1}"}, {"topics", "{\"n\":2}"}};
    struct fixture f;
    struct job j;
    char out[512];
    (void)state;

    setup(&f, items, 3);
    j = job_of(&f);
    assert_int_equal(j.total, 3);
    assert_int_equal(j.status, JOB_QUEUED);
    assert_string_equal(j.params, "{\"budget\":1}");
    job_done(&j);
    scan(&f, NULL, JOB_ITEM_PENDING, -1, 0, out);
    assert_string_equal(out, "0:0:topics:{\"n\":0};1:0:inputs:{\"n\":1};2:0:topics:{\"n\":2};");
    scan(&f, "topics", JOB_ITEM_PENDING, -1, 0, out);
    assert_string_equal(out, "0:0:topics:{\"n\":0};2:0:topics:{\"n\":2};");
    scan(&f, "topics", JOB_ITEM_PENDING, 0, 0, out);
    assert_string_equal(out, "2:0:topics:{\"n\":2};");
    scan(&f, NULL, JOB_ITEM_PENDING, -1, 2, out);
    assert_string_equal(out, "0:0:topics:{\"n\":0};1:0:inputs:{\"n\":1};");
    scan(&f, NULL, JOB_ITEM_DONE | JOB_ITEM_FAILED, -1, 0, out);
    assert_string_equal(out, "");
    store_close(f.s);
}

static void step_settles_appends_and_dedups_topics(void **state)
{
    static const char *const names[] = {"Rust", " rust ", "Go"};
    static const struct job_new_item more[] = {{"topics", "{\"p\":\"Rust\"}"},
                                               {"inputs", "{\"p\":\"Go\"}"}};
    struct fixture f;
    struct job_topics t = {"", names, 3};
    struct job_step x;
    struct job j;
    struct err e;
    char out[512] = "";
    (void)state;

    setup(&f, two_topics, 2);
    x = step_of(&f, 0);
    x.produced = 2;
    x.topics = &t;
    x.n_topics = 1;
    x.items = more;
    x.n_items = 2;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    j = job_of(&f);
    assert_int_equal(j.total, 4);
    assert_int_equal(j.completed, 1);
    assert_int_equal(j.failed, 0);
    job_done(&j);
    scan(&f, NULL, JOB_ITEM_PENDING | JOB_ITEM_DONE | JOB_ITEM_FAILED, -1, 0, out);
    assert_string_equal(out, "0:1:topics:{\"path\":[]};1:0:topics:{\"path\":[\"a\"]};"
                             "2:0:topics:{\"p\":\"Rust\"};3:0:inputs:{\"p\":\"Go\"};");
    err_clear(&e);
    out[0] = 0;
    assert_int_equal(store_topic_list(f.s, f.t.id, add_topic, out, &e), 0);
    assert_string_equal(out, "|Rust;|Go;");

    /* the next step's items come after the ones appended, not after its own index */
    x = step_of(&f, 1);
    x.items = more;
    x.n_items = 1;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    scan(&f, NULL, JOB_ITEM_PENDING, -1, 0, out);
    assert_string_equal(out, "2:0:topics:{\"p\":\"Rust\"};3:0:inputs:{\"p\":\"Go\"};"
                             "4:0:topics:{\"p\":\"Rust\"};");
    j = job_of(&f);
    assert_int_equal(j.total, 5);
    job_done(&j);
    store_close(f.s);
}

static void step_on_a_settled_item_changes_nothing(void **state)
{
    static const char *const names[] = {"Late"};
    static const struct job_new_item more[] = {{"topics", "{}"}};
    struct fixture f;
    struct job_topics t = {"", names, 1};
    struct job_step x;
    struct job j;
    struct err e;
    char before[512], after[512], topics[512] = "";
    (void)state;

    setup(&f, two_topics, 2);
    x = step_of(&f, 0);
    x.failed = true;
    x.error = "boom";
    assert_int_equal(send_steps(&f, &x, 1), 0);
    scan(&f, NULL, ~0u, -1, 0, before);
    assert_string_equal(before, "0:2:topics:{\"path\":[]};1:0:topics:{\"path\":[\"a\"]};");

    x = step_of(&f, 0); /* a late success for the failed item, carrying products */
    x.topics = &t;
    x.n_topics = 1;
    x.items = more;
    x.n_items = 1;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    scan(&f, NULL, ~0u, -1, 0, after);
    assert_string_equal(after, before);
    j = job_of(&f);
    assert_int_equal(j.total, 2);
    assert_int_equal(j.completed, 0);
    assert_int_equal(j.failed, 1);
    job_done(&j);
    err_clear(&e);
    assert_int_equal(store_topic_list(f.s, f.t.id, add_topic, topics, &e), 0);
    assert_string_equal(topics, "");
    store_close(f.s);
}

struct stage_seen {
    char text[512];
    double cost[4];
    int n;
};

static int add_stage(void *ud, const struct job_stage_totals *t, struct err *e)
{
    struct stage_seen *s = ud;
    (void)e;
    snprintf(s->text + strlen(s->text), sizeof(s->text) - strlen(s->text),
             "%s t%lld p%lld d%lld f%lld y%lld c%lld i%lld o%lld k%lld u%lld;", t->stage,
             (long long)t->total, (long long)t->pending, (long long)t->done, (long long)t->failed,
             (long long)t->produced, (long long)t->spend.calls, (long long)t->spend.input_tokens,
             (long long)t->spend.output_tokens, (long long)t->spend.cached_tokens,
             (long long)t->unpriced_calls);
    if (s->n < 4)
        s->cost[s->n++] = t->spend.cost;
    return 0;
}

static void stages_sum_in_first_appearance_order(void **state)
{
    static const struct job_new_item items[] = {
        {"topics", "{}"}, {"outputs", "{}"}, {"topics", "{}"}, {"outputs", "{}"}};
    struct fixture f;
    struct job_step x[3];
    struct stage_seen seen = {"", {0}, 0};
    struct err e;
    (void)state;

    setup(&f, items, 4);
    x[0] = step_of(&f, 0);
    x[0].produced = 1;
    x[1] = step_of(&f, 2);
    x[1].failed = true;
    x[1].error = "no";
    x[2] = step_of(&f, 1);
    x[2].produced = 7;
    x[2].spend.cost = NAN; /* a price unknown */
    x[2].spend.calls = 3;
    assert_int_equal(send_steps(&f, x, 3), 0);
    err_clear(&e);
    assert_int_equal(store_job_stages(f.s, f.job.id, add_stage, &seen, &e), 0);
    /* topics first: they appear first, though "outputs" sorts before */
    assert_string_equal(seen.text, "topics t2 p0 d1 f1 y1 c2 i20 o10 k4 u0;"
                                   "outputs t2 p1 d1 f0 y7 c3 i10 o5 k2 u3;");
    assert_int_equal(seen.n, 2);
    assert_near(seen.cost[0], 0.5, 1e-12);
    assert_true(isnan(seen.cost[1]));

    /* a failed item run again: its spend adds to what the first attempt spent */
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_RUNNING, JOB_RUNNING, &e), 0);
    x[1].failed = false;
    assert_int_equal(send_steps(&f, &x[1], 1), 0);
    seen = (struct stage_seen){"", {0}, 0};
    assert_int_equal(store_job_stages(f.s, f.job.id, add_stage, &seen, &e), 0);
    assert_string_equal(seen.text, "topics t2 p0 d2 f0 y1 c3 i30 o15 k6 u0;"
                                   "outputs t2 p1 d1 f0 y7 c3 i10 o5 k2 u3;");
    assert_near(seen.cost[0], 0.75, 1e-12);
    store_close(f.s);
}

/* A sample of item idx with a person's rating. */
static void fill_run(struct fixture *f, int64_t idx, struct run *r)
{
    struct err e;

    err_clear(&e);
    *r = (struct run){.created_by = "tester", .input = "问", .output = "答", .topic_key = ""};
    r->input_source_type = r->output_source_type = "synthetic";
    r->input_source = r->output_source = "{}";
    r->rating = "{\"type\":\"five_star\",\"value\":2}";
    r->rating_score = 2;
    r->intermediate_outputs = "{\"chain_of_thought\":\"想\"}";
    r->tags = "[\"synthetic\"]";
    r->cost = NAN;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
    r->job_id = (int64_t)strtoll(f->job.id, NULL, 10);
    r->job_item = idx;
    memcpy(r->task_id, f->t.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, r->id, &e), 0);
    assert_int_equal(store_new_id(f->s, r->output_id, &e), 0);
}

static void judge_rates_apart_from_the_person(void **state)
{
    static const struct job_new_item items[] = {
        {"outputs", "{}"}, {"judge", "{}"}, {"judge", "{}"}};
    struct fixture f;
    struct run r, got;
    struct run *runs[] = {&r};
    struct job_judged verdict = {.rating = "{\"type\":\"five_star\",\"value\":1}",
                                 .score = 1,
                                 .reasoning = "off topic",
                                 .reject = true};
    struct job_step x;
    struct err e;
    (void)state;

    setup(&f, items, 3);
    fill_run(&f, 0, &r);
    x = step_of(&f, 0);
    x.runs = runs;
    x.n_runs = 1;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    verdict.run_id = r.id;
    x = step_of(&f, 1);
    x.judged = &verdict;
    x.n_judged = 1;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    x = step_of(&f, 2); /* rejected again: tagged once */
    x.judged = &verdict;
    x.n_judged = 1;
    assert_int_equal(send_steps(&f, &x, 1), 0);

    err_clear(&e);
    memset(&got, 0, sizeof(got));
    assert_int_equal(store_run_get(f.s, f.t.id, r.id, &got, &e), 0);
    assert_string_equal(got.rating, "{\"type\":\"five_star\",\"value\":2}");
    assert_near(got.rating_score, 2, 0);
    assert_string_equal(got.judge_rating, "{\"type\":\"five_star\",\"value\":1}");
    assert_near(got.judge_score, 1, 0);
    assert_string_equal(got.intermediate_outputs,
                        "{\"chain_of_thought\":\"想\",\"judge_reasoning\":\"off topic\"}");
    assert_string_equal(got.tags, "[\"synthetic\",\"rejected\"]");
    run_done(&got);
    store_close(f.s);
}

static int count_runs(void *ud, const struct run *r, struct err *e)
{
    (void)r, (void)e;
    (*(int *)ud)++;
    return 0;
}

static int listed(struct fixture *f, struct run_filter filter)
{
    struct err e;
    int n = 0;

    err_clear(&e);
    filter.task_id = f->t.id;
    assert_int_equal(store_run_list(f->s, &filter, count_runs, &n, &e), 0);
    return n;
}

static void judge_filters_select(void **state)
{
    static const struct job_new_item items[] = {
        {"outputs", "{}"}, {"outputs", "{}"}, {"outputs", "{}"}, {"judge", "{}"}};
    struct fixture f;
    struct run r[3];
    struct run *runs[] = {&r[0], &r[1], &r[2]};
    struct job_judged v[2] = {{.rating = "{\"value\":5}", .score = 5},
                              {.rating = "{\"value\":3}", .score = 3}};
    struct job_step x;
    (void)state;

    setup(&f, items, 4);
    for (int i = 0; i < 3; i++)
        fill_run(&f, i, &r[i]);
    r[1].rating = NULL; /* judged only */
    r[1].rating_score = NAN;
    x = step_of(&f, 0);
    x.runs = runs;
    x.n_runs = 3;
    assert_int_equal(send_steps(&f, &x, 1), 0);
    v[0].run_id = r[0].id;
    v[1].run_id = r[1].id;
    x = step_of(&f, 3);
    x.judged = v;
    x.n_judged = 2;
    assert_int_equal(send_steps(&f, &x, 1), 0);

    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN}), 3);
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN, .min_judge_rating = NAN}),
                     3);
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN, .min_judge_rating = 4}), 1);
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN, .min_judge_rating = 3}), 2);
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN, .judged = true}), 2);
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = NAN, .rated_by_both = true}), 1);
    /* a person's minimum reads the person's rating only */
    assert_int_equal(listed(&f, (struct run_filter){.min_rating = 3}), 0);
    store_close(f.s);
}

static void failing_step_undoes_its_call(void **state)
{
    static const struct job_new_item items[] = {{"outputs", "{}"}, {"outputs", "{}"}};
    struct fixture f;
    struct run a, b;
    struct run *ra[] = {&a}, *rb[] = {&b};
    struct job_step x[2];
    struct job j;
    char out[512];
    (void)state;

    setup(&f, items, 2);
    fill_run(&f, 0, &a);
    fill_run(&f, 0, &b); /* item 1 brings a sample that names item 0: (job, item) taken */
    x[0] = step_of(&f, 0);
    x[0].runs = ra;
    x[0].n_runs = 1;
    x[1] = step_of(&f, 1);
    x[1].runs = rb;
    x[1].n_runs = 1;
    assert_int_equal(send_steps(&f, x, 2), HE_CONFLICT);
    scan(&f, NULL, ~0u, -1, 0, out);
    assert_string_equal(out, "0:0:outputs:{};1:0:outputs:{};");
    j = job_of(&f);
    assert_int_equal(j.completed, 0);
    job_done(&j);
    /* one at a time: the first is stored, the second alone fails */
    assert_int_equal(send_steps(&f, &x[0], 1), 0);
    assert_int_equal(send_steps(&f, &x[1], 1), HE_CONFLICT);
    scan(&f, NULL, ~0u, -1, 0, out);
    assert_string_equal(out, "0:1:outputs:{};1:0:outputs:{};");
    store_close(f.s);
}

static int add_error(void *ud, int64_t idx, const char *error, struct err *e)
{
    char *out = ud;
    (void)e;
    snprintf(out + strlen(out), 512 - strlen(out), "%lld:%s;", (long long)idx, error);
    return 0;
}

static void paused_resumes_or_cancels(void **state)
{
    struct fixture f;
    struct job j;
    struct err e;
    char out[512];
    (void)state;

    setup(&f, two_topics, 2);
    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_RUNNING, JOB_PAUSED, NULL, &e), 0);
    j = job_of(&f);
    assert_int_equal(j.status, JOB_PAUSED);
    assert_true(j.started_at > 0);
    assert_int_equal(j.finished_at, 0);
    job_done(&j);
    assert_int_equal(store_job_set_params(f.s, f.job.id, "{\"budget\":2}", &e), 0);
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_PAUSED, JOB_QUEUED, &e), 0);
    j = job_of(&f);
    assert_int_equal(j.status, JOB_QUEUED);
    assert_string_equal(j.params, "{\"budget\":2}");
    job_done(&j);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_RUNNING, JOB_PAUSED, NULL, &e), 0);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_PAUSED, JOB_CANCELLED, NULL, &e), 0);
    j = job_of(&f);
    assert_int_equal(j.status, JOB_CANCELLED);
    assert_true(j.finished_at > 0);
    job_done(&j);
    scan(&f, NULL, JOB_ITEM_PENDING, -1, 0, out);
    assert_string_equal(out, "0:0:topics:{\"path\":[]};1:0:topics:{\"path\":[\"a\"]};");
    out[0] = 0;
    assert_int_equal(store_job_errors(f.s, f.job.id, 10, add_error, out, &e), 0);
    assert_string_equal(out, "0:not run: the job was cancelled;1:not run: the job was cancelled;");
    err_clear(&e);
    assert_int_equal(store_job_set_params(f.s, "123456789012", "{}", &e), HE_NOT_FOUND);
    store_close(f.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_staged_items_scan_in_order),
        cmocka_unit_test(step_settles_appends_and_dedups_topics),
        cmocka_unit_test(step_on_a_settled_item_changes_nothing),
        cmocka_unit_test(stages_sum_in_first_appearance_order),
        cmocka_unit_test(judge_rates_apart_from_the_person),
        cmocka_unit_test(judge_filters_select),
        cmocka_unit_test(failing_step_undoes_its_call),
        cmocka_unit_test(paused_resumes_or_cancels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
