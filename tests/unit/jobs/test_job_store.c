/* SPDX-License-Identifier: MIT */
/*
 * Jobs in the SQLite store: an item's result delivered twice (success then failure, failure
 * then success, success twice) changes no counter, item state or sample after the first; a
 * status change goes only along the state table and only from the state the job is in; a job
 * ended failed or cancelled says why its pending items did not run, and resumes them; item
 * payloads come back as the bytes they were stored with.
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

#include "../store/task_fixture.h"

struct fixture {
    struct store *s;
    struct project p;
    struct task t;
    struct job job;
};

static void setup(struct fixture *f, size_t n_items)
{
    static const char *const payloads[] = {"{\"input\":\"一\"}", "{\"input\":\"二\"}",
                                           "{\"input\":\"三\"}"};
    struct err e;

    assert_true(n_items <= 3);
    memset(f, 0, sizeof(*f));
    err_clear(&e);
    open_task_store(&f->s, &f->p, &f->t);
    f->job = (struct job){.kind = "import_samples", .params = "{}", .created_at = 1};
    f->job.total = (int64_t)n_items;
    memcpy(f->job.task_id, f->t.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, f->job.id, &e), 0);
    if (store_job_create(f->s, &f->job, payloads, n_items, &e) != 0)
        fail_msg("store_job_create: %s", e.msg);
}

static void teardown(struct fixture *f)
{
    store_close(f->s);
}

/* The sample of item idx, as the runner hands it to the store. */
static void fill_run(struct fixture *f, int64_t idx, struct run *r)
{
    struct err e;

    err_clear(&e);
    *r = (struct run){.created_by = "tester", .input = "问", .output = "答", .topic_key = ""};
    r->input_source_type = r->output_source_type = "human";
    r->input_source = r->output_source = "{}";
    r->rating_score = r->cost = NAN;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
    r->job_id = (int64_t)strtoll(f->job.id, NULL, 10);
    memcpy(r->task_id, f->t.id, ID_LEN);
    assert_int_equal(store_new_id(f->s, r->id, &e), 0);
    assert_int_equal(store_new_id(f->s, r->output_id, &e), 0);
    r->job_item = idx;
}

struct waiter {
    pthread_mutex_t m;
    pthread_cond_t c;
    bool done;
    int result;
};

static void on_done(void *ud, int result, const struct err *e)
{
    struct waiter *w = ud;
    (void)e;
    pthread_mutex_lock(&w->m);
    w->done = true;
    w->result = result;
    pthread_cond_signal(&w->c);
    pthread_mutex_unlock(&w->m);
}

/* Records one result (run NULL: failed with error) and waits for its commit. */
static void deliver(struct fixture *f, int64_t idx, struct run *run, const char *error)
{
    struct job_item_result res = {f->job.id, idx, run, error};
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 1};
    struct err e;

    err_clear(&e);
    assert_int_equal(store_job_items_done_async(f->s, &res, 1, on_done, &w, &e), 0);
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    assert_int_equal(w.result, 0);
}

/* What a user can see of the job: its counters, its pending and failed items, its samples. */
struct seen {
    int64_t completed, failed;
    char pending[8], failed_items[96], samples[128];
};

static int add_pending(void *ud, int64_t idx, const void *payload, size_t len, struct err *e)
{
    (void)payload, (void)len, (void)e;
    snprintf((char *)ud + strlen(ud), 8 - strlen(ud), "%lld", (long long)idx);
    return 0;
}

static int add_failed(void *ud, int64_t idx, const char *error, struct err *e)
{
    (void)e;
    snprintf((char *)ud + strlen(ud), 96 - strlen(ud), "%lld:%s;", (long long)idx, error);
    return 0;
}

static int add_sample(void *ud, const struct run *r, struct err *e)
{
    (void)e;
    snprintf((char *)ud + strlen(ud), 128 - strlen(ud), "%lld=%s;", (long long)r->job_item, r->id);
    return 0;
}

static void look(struct fixture *f, struct seen *ret)
{
    struct run_filter filter = {.task_id = f->t.id, .min_rating = NAN};
    struct job j;
    struct err e;

    memset(ret, 0, sizeof(*ret));
    err_clear(&e);
    assert_int_equal(store_job_get(f->s, f->job.id, &j, &e), 0);
    ret->completed = j.completed;
    ret->failed = j.failed;
    job_done(&j);
    assert_int_equal(store_job_pending(f->s, f->job.id, -1, 10, add_pending, ret->pending, &e), 0);
    assert_int_equal(store_job_errors(f->s, f->job.id, 10, add_failed, ret->failed_items, &e), 0);
    assert_int_equal(store_run_list(f->s, &filter, add_sample, ret->samples, &e), 0);
}

static void success_then_failure(void **state)
{
    struct fixture f;
    struct run r0;
    struct seen first, again;
    char want[64];
    (void)state;

    setup(&f, 2);
    fill_run(&f, 0, &r0);
    deliver(&f, 0, &r0, NULL);
    look(&f, &first);
    snprintf(want, sizeof(want), "0=%s;", r0.id);
    assert_int_equal(first.completed, 1);
    assert_int_equal(first.failed, 0);
    assert_string_equal(first.pending, "1");
    assert_string_equal(first.failed_items, "");
    assert_string_equal(first.samples, want);

    deliver(&f, 0, NULL, "late failure");
    look(&f, &again);
    assert_memory_equal(&first, &again, sizeof(first));
    teardown(&f);
}

static void failure_then_success(void **state)
{
    struct fixture f;
    struct run r1;
    struct seen first, again;
    (void)state;

    setup(&f, 2);
    deliver(&f, 1, NULL, "boom");
    look(&f, &first);
    assert_int_equal(first.completed, 0);
    assert_int_equal(first.failed, 1);
    assert_string_equal(first.pending, "0");
    assert_string_equal(first.failed_items, "1:boom;");
    assert_string_equal(first.samples, "");

    fill_run(&f, 1, &r1);
    deliver(&f, 1, &r1, NULL);
    look(&f, &again);
    assert_memory_equal(&first, &again, sizeof(first));
    teardown(&f);
}

static void success_twice_keeps_the_first_sample(void **state)
{
    struct fixture f;
    struct run a, b;
    struct seen first, again;
    (void)state;

    setup(&f, 1);
    fill_run(&f, 0, &a);
    fill_run(&f, 0, &b);
    deliver(&f, 0, &a, NULL);
    look(&f, &first);
    deliver(&f, 0, &b, NULL);
    look(&f, &again);
    assert_int_equal(again.completed, 1);
    assert_int_equal(again.failed, 0);
    assert_memory_equal(&first, &again, sizeof(first));
    teardown(&f);
}

static enum job_status status_of(struct fixture *f, int64_t *ret_started)
{
    struct job j;
    struct err e;
    enum job_status st;

    err_clear(&e);
    assert_int_equal(store_job_get(f->s, f->job.id, &j, &e), 0);
    st = j.status;
    *ret_started = j.started_at;
    job_done(&j);
    return st;
}

static void status_moves_along_the_table_only(void **state)
{
    struct fixture f;
    struct err e;
    int64_t started;
    char want[ERR_MSG_MAX];
    (void)state;

    setup(&f, 1);
    assert_int_equal(status_of(&f, &started), JOB_QUEUED);
    /* a move the table refuses: reported, and nothing changes */
    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_COMPLETED, NULL, &e),
                     HE_INTERNAL);
    snprintf(want, sizeof(want), "job %s: the move from queued to completed is not allowed",
             f.job.id);
    assert_string_equal(e.msg, want);
    assert_int_equal(status_of(&f, &started), JOB_QUEUED);
    assert_int_equal(started, 0);

    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    assert_int_equal(status_of(&f, &started), JOB_RUNNING);
    assert_true(started > 0);

    /* an allowed move from a state the job has left: a conflict, and nothing changes */
    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_FAILED, "x", &e),
                     HE_CONFLICT);
    assert_int_equal(status_of(&f, &started), JOB_RUNNING);

    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_RUNNING, JOB_CANCELLED, NULL, &e), 0);
    assert_int_equal(status_of(&f, &started), JOB_CANCELLED);
    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_CANCELLED, JOB_RUNNING, NULL, &e),
                     HE_INTERNAL);
    assert_int_equal(status_of(&f, &started), JOB_CANCELLED);
    teardown(&f);
}

/* A job that ends failed gives its pending items their reason; resumed, its failed and pending
 * items are pending again, its done ones stay done, and its failed count is back to 0. */
static void resume_requeues_failed_and_pending_items(void **state)
{
    struct fixture f;
    struct run r0;
    struct seen seen;
    struct err e;
    int64_t started;
    (void)state;

    setup(&f, 3);
    err_clear(&e);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    fill_run(&f, 0, &r0);
    deliver(&f, 0, &r0, NULL);
    deliver(&f, 1, NULL, "boom");
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_RUNNING, JOB_FAILED, "stopped", &e),
                     0);
    look(&f, &seen);
    assert_int_equal(seen.completed, 1);
    assert_int_equal(seen.failed, 1);
    assert_string_equal(seen.pending, "2");
    assert_string_equal(seen.failed_items, "1:boom;2:not run: the job failed: stopped;");

    /* only from the state the job is in */
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_CANCELLED, JOB_QUEUED, &e), HE_CONFLICT);
    err_clear(&e);
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_FAILED, JOB_QUEUED, &e), 0);
    assert_int_equal(status_of(&f, &started), JOB_QUEUED);
    look(&f, &seen);
    assert_int_equal(seen.completed, 1);
    assert_int_equal(seen.failed, 0);
    assert_string_equal(seen.pending, "12");
    assert_string_equal(seen.failed_items, "");

    /* cancelled: the reason says so; a queued job is not resumed */
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_QUEUED, JOB_RUNNING, NULL, &e), 0);
    assert_int_equal(store_job_set_status(f.s, f.job.id, JOB_RUNNING, JOB_CANCELLED, NULL, &e), 0);
    look(&f, &seen);
    assert_string_equal(seen.failed_items,
                        "1:not run: the job was cancelled;2:not run: the job was cancelled;");
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_CANCELLED, JOB_QUEUED, &e), 0);
    err_clear(&e);
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_QUEUED, JOB_QUEUED, &e), HE_INTERNAL);
    err_clear(&e);
    assert_int_equal(store_job_requeue(f.s, f.job.id, JOB_RUNNING, JOB_QUEUED, &e), HE_CONFLICT);
    assert_int_equal(status_of(&f, &started), JOB_QUEUED);
    teardown(&f);
}

struct bytes {
    unsigned char data[16];
    size_t len;
};

static int take_bytes(void *ud, int64_t idx, const void *payload, size_t len, struct err *e)
{
    struct bytes *b = ud;
    (void)e;
    assert_int_equal(idx, 7);
    assert_true(len <= sizeof(b->data));
    memcpy(b->data, payload, len);
    b->len = len;
    return 0;
}

/* A loaded item's payload is binary (NULs included) and comes back byte for byte. */
static void loaded_payload_round_trips(void **state)
{
    static const unsigned char payload[] = {'H', 0, 1, 0xff, 0, 'x'};
    const void *payloads[] = {payload};
    size_t lens[] = {sizeof(payload)};
    int64_t idx[] = {7};
    struct job_load l = {
        .item_idx = idx, .item_payloads = payloads, .item_lens = lens, .n_items = 1, .cursor = 8};
    struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 1};
    struct bytes got = {{0}, 0};
    struct fixture f;
    struct err e;
    (void)state;

    setup(&f, 0);
    l.job_id = f.job.id;
    err_clear(&e);
    assert_int_equal(store_job_load_async(f.s, &l, on_done, &w, &e), 0);
    pthread_mutex_lock(&w.m);
    while (!w.done)
        pthread_cond_wait(&w.c, &w.m);
    pthread_mutex_unlock(&w.m);
    assert_int_equal(w.result, 0);
    assert_int_equal(store_job_pending(f.s, f.job.id, -1, 10, take_bytes, &got, &e), 0);
    assert_int_equal(got.len, sizeof(payload));
    assert_memory_equal(got.data, payload, sizeof(payload));
    teardown(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(success_then_failure),
        cmocka_unit_test(failure_then_success),
        cmocka_unit_test(success_twice_keeps_the_first_sample),
        cmocka_unit_test(status_moves_along_the_table_only),
        cmocka_unit_test(resume_requeues_failed_and_pending_items),
        cmocka_unit_test(loaded_payload_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
