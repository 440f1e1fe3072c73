/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: jobs whose items come in stages (the pipeline, the judge).
 *
 * An item has a stage and a JSON payload, and settles once, by a step (store.h, struct job_step)
 * that writes in one transaction the item's new state, what it produced and spent, the job's
 * counters, and everything the item made: topics, samples, new items, judge ratings. The item's
 * UPDATE is guarded by state = 0: a step for an item that is no longer pending (a late or
 * repeated result, a result delivered again after a restart) changes nothing at all, none of
 * what it carries included. Spend adds up over the item's attempts (a failed attempt's calls
 * were paid for), and a cost once unknown (NULL) stays unknown.
 *
 * New items take the job's next indexes: one more than the largest it has, read inside the
 * write, so concurrent steps (serialised by the writer) never reuse one.
 *
 * The steps of one call are one write: when any of them fails (a sample whose (job, item)
 * already has one, a task deleted meanwhile), the whole call is undone and its callback gets
 * that error. Nothing is half-stored; the caller may send the steps again one at a time to
 * settle the others and learn which one is at fault.
 *
 * A judge's rating goes to judge_rating / judge_score, never to a person's rating; its
 * reasoning is merged into intermediate_outputs, and a rejection adds the tag "rejected" (to the
 * list and to sample_tags) when the sample does not have it yet. A sample deleted before its
 * rating arrives is skipped.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_int.h"
#include "util/json.h"
#include "util/banned.h"

DEFINE_FREEP(json_object, json_object_put)

#define REJECTED_TAG "rejected"

static const char SQL_ITEM_INSERT[] =
    "INSERT INTO job_items (job_id, idx, state, stage, payload) VALUES (?1, ?2, 0, ?3, ?4)";
static const char SQL_ITEM_SETTLE[] =
    "UPDATE job_items SET state = ?3, error = ?4, produced = produced + ?5, calls = calls + ?6, "
    "input_tokens = input_tokens + ?7, output_tokens = output_tokens + ?8, "
    "cached_tokens = cached_tokens + ?9, cost = cost + ?10, attempts = attempts + 1 "
    "WHERE job_id = ?1 AND idx = ?2 AND state = 0";
static const char SQL_JOB_STEP[] =
    "UPDATE jobs SET completed = completed + ?2, failed = failed + ?3, total = total + ?4 "
    "WHERE id = ?1";
static const char SQL_NEXT_IDX[] =
    "SELECT coalesce(max(idx), -1) + 1 FROM job_items WHERE job_id = ?1";
static const char SQL_JUDGE_READ[] =
    "SELECT intermediate_outputs, tags FROM samples WHERE id = ?1 AND task_id = ?2";
static const char SQL_JUDGE_SET[] =
    "UPDATE samples SET judge_rating = ?3, judge_score = ?4, intermediate_outputs = ?5, "
    "tags = ?6 WHERE id = ?1 AND task_id = ?2";
/* states ?3 ?4 ?5 (-1: not asked for), ?6 after, ?7 limit */
static const char SQL_ITEMS_SCAN[] =
    "SELECT idx, state, stage, payload FROM job_items WHERE job_id = ?1 AND "
    "state IN (?3, ?4, ?5) AND idx > ?6 ORDER BY idx LIMIT ?7";
static const char SQL_ITEMS_SCAN_STAGE[] =
    "SELECT idx, state, stage, payload FROM job_items WHERE job_id = ?1 AND stage = ?2 AND "
    "state IN (?3, ?4, ?5) AND idx > ?6 ORDER BY idx LIMIT ?7";
static const char SQL_STAGES[] =
    "SELECT stage, min(idx) AS first_idx, count(*), "
    "sum(CASE WHEN state = 0 THEN 1 ELSE 0 END), sum(CASE WHEN state = 1 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN state = 2 THEN 1 ELSE 0 END), sum(produced), sum(calls), sum(input_tokens), "
    "sum(output_tokens), sum(cached_tokens), coalesce(sum(cost), 0), "
    "sum(CASE WHEN cost IS NULL THEN calls ELSE 0 END) "
    "FROM job_items WHERE job_id = ?1 AND stage IS NOT NULL GROUP BY stage ORDER BY first_idx";
static const char SQL_SET_PARAMS[] = "UPDATE jobs SET params = ?2 WHERE id = ?1";

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Items[0..n) at indexes first, first + 1, ... */
static int insert_items(struct sq_conn *c, sqlite3_int64 job, int64_t first,
                        const struct job_new_item *items, size_t n, struct err *e)
{
    sqlite3_stmt *s;
    int r = 0;

    if (n == 0)
        return 0;
    if (!(s = sq_stmt(c, SQL_ITEM_INSERT, e)))
        return e->code;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, job);
        sqlite3_bind_int64(s, 2, first + (int64_t)i);
        sq_bind_text(s, 3, items[i].stage);
        sq_bind_text(s, 4, items[i].payload ? items[i].payload : "{}");
        if (sqlite3_step(s) != SQLITE_DONE)
            r = sq_error(e, c->db, "saving the job's items");
    }
    sq_stmt_release(&s);
    return r;
}

/* ---- create ---- */

struct staged_args {
    const struct job *j;
    const struct job_new_item *items;
    size_t n;
};

static int create_staged_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct staged_args *a = arg;
    int r = sq_job_insert_row(c, a->j, e);

    if (r < 0)
        return r;
    return insert_items(c, sq_id_value(a->j->id), 0, a->items, a->n, e);
}

int sq_job_create_staged(struct store *s, const struct job *j, const struct job_new_item *items,
                         size_t n, struct err *e)
{
    struct job total = *j;
    struct staged_args a = {&total, items, n};

    total.total = (int64_t)n;
    return sq_write((struct sq_store *)s, create_staged_fn, &a, e);
}

/* ---- steps ---- */

/* Moves the item from pending to its state with its spend: *ret_applied false when it was not
 * pending (the step is a repeat and nothing else of it is applied). */
static int settle(struct sq_conn *c, const struct job_step *x, bool *ret_applied, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_ITEM_SETTLE, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(x->job_id));
    sqlite3_bind_int64(s, 2, x->idx);
    sqlite3_bind_int(s, 3, x->failed ? 2 : 1);
    sq_bind_text(s, 4, x->failed ? (x->error ? x->error : "failed") : NULL);
    sqlite3_bind_int64(s, 5, x->produced);
    sqlite3_bind_int64(s, 6, x->spend.calls);
    sqlite3_bind_int64(s, 7, x->spend.input_tokens);
    sqlite3_bind_int64(s, 8, x->spend.output_tokens);
    sqlite3_bind_int64(s, 9, x->spend.cached_tokens);
    if (isnan(x->spend.cost))
        sqlite3_bind_null(s, 10);
    else
        sqlite3_bind_double(s, 10, x->spend.cost);
    if (sq_step_done(c, s, "recording an item's step", e) < 0)
        return e->code;
    *ret_applied = sqlite3_changes(c->db) > 0;
    return 0;
}

/* The job's counters, and its new items at the next indexes. */
static int count_and_append(struct sq_conn *c, const struct job_step *x, struct err *e)
{
    sqlite3_int64 job = sq_id_value(x->job_id);
    _cleanup_stmt_ sqlite3_stmt *count = sq_stmt(c, SQL_JOB_STEP, e);
    int r;

    if (!count)
        return e->code;
    if (x->n_items) {
        _cleanup_stmt_ sqlite3_stmt *next = sq_stmt(c, SQL_NEXT_IDX, e);
        if (!next)
            return e->code;
        sqlite3_bind_int64(next, 1, job);
        if (sqlite3_step(next) != SQLITE_ROW)
            return sq_error(e, c->db, "reading the job's last item");
        if ((r = insert_items(c, job, sqlite3_column_int64(next, 0), x->items, x->n_items, e)) < 0)
            return r;
    }
    sqlite3_bind_int64(count, 1, job);
    sqlite3_bind_int(count, 2, x->failed ? 0 : 1);
    sqlite3_bind_int(count, 3, x->failed ? 1 : 0);
    sqlite3_bind_int64(count, 4, (sqlite3_int64)x->n_items);
    return sq_step_done(c, count, "counting the job's progress", e);
}

/* Whether the JSON list of tags holds tag. */
static bool has_tag(struct json_object *tags, const char *tag)
{
    size_t n = json_object_array_length(tags);
    for (size_t i = 0; i < n; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
        if (t && strcmp(t, tag) == 0)
            return true;
    }
    return false;
}

/* A JSON value of the row's column i of the expected type, or a fresh one when it is not. */
static struct json_object *col_json(sqlite3_stmt *s, int i, json_type type)
{
    const char *text = (const char *)sqlite3_column_text(s, i);
    struct json_object *o = NULL;
    struct err ignore = ERR_INIT;

    if (text && json_parse(text, strlen(text), &o, &ignore) == 0 && json_object_is_type(o, type))
        return o;
    json_object_put(o);
    return type == json_type_array ? json_object_new_array() : json_object_new_object();
}

static int judge_one(struct sq_conn *c, sqlite3_int64 task, const struct job_judged *j,
                     struct err *e)
{
    sqlite3_int64 id = sq_id_value(j->run_id);
    _cleanup_stmt_ sqlite3_stmt *read = sq_stmt(c, SQL_JUDGE_READ, e);
    _cleanup_stmt_ sqlite3_stmt *set = sq_stmt(c, SQL_JUDGE_SET, e);
    _cleanup_(json_object_putp) struct json_object *io = NULL, *tags = NULL;
    const char *const tag = REJECTED_TAG;
    bool tag_it;
    int rc;

    if (!read || !set)
        return e->code;
    sqlite3_bind_int64(read, 1, id);
    sqlite3_bind_int64(read, 2, task);
    if ((rc = sqlite3_step(read)) == SQLITE_DONE)
        return 0; /* deleted since it was made: nothing to rate */
    if (rc != SQLITE_ROW)
        return sq_error(e, c->db, "reading a sample to rate");
    io = col_json(read, 0, json_type_object);
    tags = col_json(read, 1, json_type_array);
    if (!io || !tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (j->reasoning &&
        json_object_object_add(io, "judge_reasoning", json_object_new_string(j->reasoning)) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    tag_it = j->reject && !has_tag(tags, tag);
    if (tag_it && json_object_array_add(tags, json_object_new_string(tag)) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    sqlite3_bind_int64(set, 1, id);
    sqlite3_bind_int64(set, 2, task);
    sq_bind_text(set, 3, j->rating);
    if (j->rating && !isnan(j->score))
        sqlite3_bind_double(set, 4, j->score);
    else
        sqlite3_bind_null(set, 4);
    sq_bind_text(set, 5, json_text(io, NULL));
    sq_bind_text(set, 6, json_text(tags, NULL));
    if (sq_step_done(c, set, "rating a sample", e) < 0)
        return e->code;
    return tag_it ? sq_tag_insert_rows(c, task, id, &tag, 1, e) : 0;
}

/* One step: nothing at all when its item is not pending. */
static int apply_step(struct sq_conn *c, const struct job_step *x, int64_t now, struct err *e)
{
    sqlite3_int64 task = sq_id_value(x->task_id);
    bool applied = false;
    int r;

    if ((r = settle(c, x, &applied, e)) < 0 || !applied)
        return r;
    if ((r = count_and_append(c, x, e)) < 0)
        return r;
    for (size_t i = 0; i < x->n_topics; i++) {
        const struct job_topics *t = &x->topics[i];
        if ((r = sq_topic_insert_rows(c, x->task_id, t->parent_key ? t->parent_key : "", t->names,
                                      t->n, now, e)) < 0)
            return r;
    }
    if (x->n_runs && (r = sq_run_insert_rows(c, x->runs, x->n_runs, e)) < 0)
        return r;
    for (size_t i = 0; i < x->n_judged; i++)
        if ((r = judge_one(c, task, &x->judged[i], e)) < 0)
            return r;
    return 0;
}

struct step_args {
    const struct job_step *steps;
    size_t n;
};

static int step_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct step_args *a = arg;
    int64_t now = now_us();
    int r = 0;

    for (size_t i = 0; i < a->n && r == 0; i++)
        r = apply_step(c, &a->steps[i], now, e);
    return r;
}

int sq_job_step_async(struct store *s, const struct job_step *steps, size_t n, store_done_cb cb,
                      void *ud, struct err *e)
{
    struct step_args *a = malloc(sizeof(*a));

    if (!a)
        return err_set(e, HE_NOMEM, NULL, NULL);
    *a = (struct step_args){steps, n};
    return sq_write_async((struct sq_store *)s, step_fn, a, true, cb, ud, e);
}

/* ---- reads ---- */

static void bind_query(sqlite3_stmt *s, const void *arg)
{
    const struct job_item_query *q = arg;

    sqlite3_bind_int64(s, 1, sq_id_value(q->job_id));
    sq_bind_text(s, 2, q->stage);
    for (int state = 0; state < 3; state++)
        sqlite3_bind_int(s, 3 + state, q->states & (1u << state) ? state : -1);
    sqlite3_bind_int64(s, 6, q->after);
    sqlite3_bind_int64(s, 7, q->limit ? (sqlite3_int64)q->limit : INT64_MAX);
}

struct items_each {
    store_job_item_cb cb;
    void *ud;
};

static int item_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct items_each *x = ud;
    const char *payload = (const char *)sqlite3_column_text(s, 3);
    struct job_item_row it = {
        .idx = sqlite3_column_int64(s, 0),
        .state = sqlite3_column_int(s, 1),
        .stage = (const char *)sqlite3_column_text(s, 2),
        .payload = payload ? payload : "",
        .len = (size_t)sqlite3_column_bytes(s, 3),
    };

    return x->cb(x->ud, &it, e);
}

int sq_job_items_scan(struct store *st, const struct job_item_query *q, store_job_item_cb cb,
                      void *ud, struct err *e)
{
    struct items_each x = {cb, ud};
    return sq_list_bound((struct sq_store *)st, q->stage ? SQL_ITEMS_SCAN_STAGE : SQL_ITEMS_SCAN,
                         bind_query, q, item_row, &x, "reading the job's items", e);
}

struct stages_each {
    store_job_stage_cb cb;
    void *ud;
};

static int stage_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct stages_each *x = ud;
    struct job_stage_totals t = {
        .stage = (const char *)sqlite3_column_text(s, 0),
        .total = sqlite3_column_int64(s, 2),
        .pending = sqlite3_column_int64(s, 3),
        .done = sqlite3_column_int64(s, 4),
        .failed = sqlite3_column_int64(s, 5),
        .produced = sqlite3_column_int64(s, 6),
        .spend = {.calls = sqlite3_column_int64(s, 7),
                  .input_tokens = sqlite3_column_int64(s, 8),
                  .output_tokens = sqlite3_column_int64(s, 9),
                  .cached_tokens = sqlite3_column_int64(s, 10),
                  .cost = sqlite3_column_double(s, 11)},
        .unpriced_calls = sqlite3_column_int64(s, 12),
    };

    if (t.unpriced_calls > 0)
        t.spend.cost = NAN;
    return x->cb(x->ud, &t, e);
}

int sq_job_stages(struct store *st, const char *job_id, store_job_stage_cb cb, void *ud,
                  struct err *e)
{
    struct stages_each x = {cb, ud};
    return sq_list((struct sq_store *)st, SQL_STAGES, job_id, stage_row, &x,
                   "summing the job's stages", e);
}

struct params_args {
    const char *job_id, *params;
};

static int set_params_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct params_args *a = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_SET_PARAMS, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(a->job_id));
    sq_bind_text(s, 2, a->params ? a->params : "{}");
    if (sq_step_done(c, s, "updating the job's parameters", e) < 0)
        return e->code;
    if (sqlite3_changes(c->db) == 0)
        return err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", a->job_id);
    return 0;
}

int sq_job_set_params(struct store *s, const char *job_id, const char *params, struct err *e)
{
    struct params_args a = {job_id, params};
    return sq_write((struct sq_store *)s, set_params_fn, &a, e);
}
