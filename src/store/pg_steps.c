/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: jobs whose items come in stages (the pipeline, the judge), with the SQLite
 * backend's semantics and errors (sqlite_steps.c).
 *
 * A step settles one item and writes, in the transaction of its write (pg_write_async), the
 * item's new state, what it produced and spent, the job's counters, and everything the item
 * made: topics, samples, new items, judge ratings. The item's UPDATE is guarded by state = 0:
 * a step for an item that is no longer pending (a late or repeated result, the same result from
 * a server presumed dead) changes nothing at all. A concurrent step of the same item waits for
 * the first one's row lock and then finds it settled.
 *
 * New items take the job's next indexes, one more than the largest it has: the job's counter
 * UPDATE comes first and holds the job's row until commit, so steps of one job from several
 * servers read the largest index one at a time and never reuse one. Items go in through COPY
 * (pg_copy_items), a staged job's whole list in one.
 *
 * Topic ids come from the shared id counter, reserved for all the steps of a call before the
 * write (a step that turns out to be a repeat leaves its ids unused).
 *
 * A judge's rating goes to judge_rating / judge_score; its reasoning is merged into the sample's
 * intermediate_outputs (read FOR UPDATE), and a rejection adds the tag "rejected" once, to the
 * list and to sample_tags. A sample deleted before its rating arrives is skipped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_int.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/banned.h"

DEFINE_FREEP(json_object, json_object_put)

#define REJECTED_TAG "rejected"
/* Items a scan reads at a time. */
#define SCAN_PAGE 1000

static const char SQL_ITEM_SETTLE[] =
    "UPDATE job_items SET state = $3, error = $4, produced = produced + $5, calls = calls + $6, "
    "input_tokens = input_tokens + $7, output_tokens = output_tokens + $8, "
    "cached_tokens = cached_tokens + $9, cost = cost + $10::double precision, "
    "attempts = attempts + 1, claimed_by = NULL "
    "WHERE job_id = $1 AND idx = $2 AND state = 0";
static const char SQL_JOB_STEP[] =
    "UPDATE jobs SET completed = completed + $2, failed = failed + $3, total = total + $4 "
    "WHERE id = $1";
static const char SQL_NEXT_IDX[] =
    "SELECT coalesce(max(idx), -1) + 1 FROM job_items WHERE job_id = $1";
static const char SQL_JUDGE_READ[] =
    "SELECT intermediate_outputs, tags FROM samples WHERE id = $1 AND task_id = $2 FOR UPDATE";
static const char SQL_JUDGE_SET[] =
    "UPDATE samples SET judge_rating = $3, judge_score = $4, intermediate_outputs = $5, "
    "tags = $6 WHERE id = $1 AND task_id = $2";
/* states $3 $4 $5 (-1: not asked for), $6 after, $7 limit */
static const char SQL_ITEMS_SCAN[] =
    "SELECT idx, state, stage, payload FROM job_items WHERE job_id = $1 AND "
    "state IN ($3, $4, $5) AND idx > $6 AND $2::text IS NULL ORDER BY idx LIMIT $7";
static const char SQL_ITEMS_SCAN_STAGE[] =
    "SELECT idx, state, stage, payload FROM job_items WHERE job_id = $1 AND stage = $2 AND "
    "state IN ($3, $4, $5) AND idx > $6 ORDER BY idx LIMIT $7";
static const char SQL_STAGES[] =
    "SELECT stage, min(idx) AS first_idx, count(*), "
    "sum(CASE WHEN state = 0 THEN 1 ELSE 0 END), sum(CASE WHEN state = 1 THEN 1 ELSE 0 END), "
    "sum(CASE WHEN state = 2 THEN 1 ELSE 0 END), sum(produced), sum(calls), sum(input_tokens), "
    "sum(output_tokens), sum(cached_tokens), coalesce(sum(cost), 0), "
    "sum(CASE WHEN cost IS NULL THEN calls ELSE 0 END) "
    "FROM job_items WHERE job_id = $1 AND stage IS NOT NULL GROUP BY stage ORDER BY first_idx";

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t id_value(const char *id)
{
    struct pg_params p = {0};
    pg_param_id(&p, id);
    return (int64_t)strtoll(p.v[0], NULL, 10);
}

/* A double as text for a parameter (NaN: NULL). */
static const char *double_text(double v, char buf[40])
{
    if (isnan(v))
        return NULL;
    snprintf(buf, 40, "%.17g", v);
    return buf;
}

/* ---- create ---- */

struct staged_args {
    const struct job *j;
    const struct job_new_item *items;
    size_t n;
};

static int create_staged_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct staged_args *a = arg;
    _cleanup_free_ const char **stages = calloc(a->n + 1, sizeof(*stages));
    _cleanup_free_ const char **payloads = calloc(a->n + 1, sizeof(*payloads));
    int r;

    if (!stages || !payloads)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if ((r = pg_job_insert_row(c, a->j, e)) < 0)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        stages[i] = a->items[i].stage;
        payloads[i] = a->items[i].payload;
    }
    if ((r = pg_copy_staged_items(c, id_value(a->j->id), 0, stages, payloads, a->n, e)) < 0)
        return r;
    return pg_notify_job(c, a->j->id, e);
}

int pg_job_create_staged(struct store *s, const struct job *j, const struct job_new_item *items,
                         size_t n, struct err *e)
{
    struct job total = *j;
    struct staged_args a = {&total, items, n};

    total.total = (int64_t)n;
    return pg_transact(s, create_staged_fn, &a, "creating the job", e);
}

/* ---- steps ---- */

/* Moves the item from pending to its state with its spend: *ret_applied false when it was not
 * pending (the step is a repeat and nothing else of it is applied). */
static int settle(struct pg_conn *c, const struct job_step *x, bool *ret_applied, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    char cost[40];
    int r;

    pg_param_id(&p, x->job_id);
    pg_param_int(&p, x->idx);
    pg_param_int(&p, x->failed ? 2 : 1);
    pg_param_text(&p, x->failed ? (x->error ? x->error : "failed") : NULL);
    pg_param_int(&p, x->produced);
    pg_param_int(&p, x->spend.calls);
    pg_param_int(&p, x->spend.input_tokens);
    pg_param_int(&p, x->spend.output_tokens);
    pg_param_int(&p, x->spend.cached_tokens);
    pg_param_text(&p, double_text(x->spend.cost, cost));
    if ((r = pg_run(c, SQL_ITEM_SETTLE, &p, &res, "recording an item's step", e)) < 0)
        return r;
    *ret_applied = strcmp(PQcmdTuples(res), "0") != 0;
    return 0;
}

/* The job's counters (holding its row until commit), and its new items at the next indexes. */
static int count_and_append(struct pg_conn *c, const struct job_step *x, struct err *e)
{
    _cleanup_result_ PGresult *count = NULL, *next = NULL;
    struct pg_params p = {0}, q = {0};
    _cleanup_free_ const char **stages = NULL;
    _cleanup_free_ const char **payloads = NULL;
    int r;

    pg_param_id(&p, x->job_id);
    pg_param_int(&p, x->failed ? 0 : 1);
    pg_param_int(&p, x->failed ? 1 : 0);
    pg_param_int(&p, (int64_t)x->n_items);
    if ((r = pg_run(c, SQL_JOB_STEP, &p, &count, "counting the job's progress", e)) < 0 ||
        x->n_items == 0)
        return r;
    pg_param_id(&q, x->job_id);
    if ((r = pg_run(c, SQL_NEXT_IDX, &q, &next, "reading the job's last item", e)) < 0)
        return r;
    stages = calloc(x->n_items, sizeof(*stages));
    payloads = calloc(x->n_items, sizeof(*payloads));
    if (!stages || !payloads)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < x->n_items; i++) {
        stages[i] = x->items[i].stage;
        payloads[i] = x->items[i].payload;
    }
    return pg_copy_staged_items(c, id_value(x->job_id), pg_col_int(next, 0, 0), stages, payloads,
                                x->n_items, e);
}

/* Whether the JSON list of tags holds tag. */
static bool has_tag(struct json_object *tags, const char *tag)
{
    for (size_t i = 0, n = json_object_array_length(tags); i < n; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(tags, i));
        if (t && strcmp(t, tag) == 0)
            return true;
    }
    return false;
}

/* Column col of the row as JSON of type, or a fresh value of it when it is not. */
static struct json_object *json_col(const PGresult *res, int col, json_type type)
{
    struct json_object *o = NULL;
    struct err ignore = ERR_INIT;

    if (!PQgetisnull(res, 0, col) &&
        json_parse(PQgetvalue(res, 0, col), (size_t)PQgetlength(res, 0, col), &o, &ignore) == 0 &&
        json_object_is_type(o, type))
        return o;
    json_object_put(o);
    return type == json_type_array ? json_object_new_array() : json_object_new_object();
}

static int judge_one(struct pg_conn *c, const char *task_id, const struct job_judged *j,
                     struct err *e)
{
    _cleanup_result_ PGresult *read = NULL, *set = NULL;
    _cleanup_(json_object_putp) struct json_object *io = NULL, *tags = NULL;
    const char *const tag = REJECTED_TAG;
    struct pg_params p = {0};
    char score[40];
    bool tag_it;
    int r;

    pg_param_id(&p, j->run_id);
    pg_param_id(&p, task_id);
    if ((r = pg_run(c, SQL_JUDGE_READ, &p, &read, "reading a sample to rate", e)) < 0)
        return r;
    if (PQntuples(read) == 0)
        return 0; /* deleted since it was made: nothing to rate */
    io = json_col(read, 0, json_type_object);
    tags = json_col(read, 1, json_type_array);
    if (!io || !tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (j->reasoning &&
        json_object_object_add(io, "judge_reasoning", json_object_new_string(j->reasoning)) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    tag_it = j->reject && !has_tag(tags, tag);
    if (tag_it && json_object_array_add(tags, json_object_new_string(tag)) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    pg_param_text(&p, j->rating);
    pg_param_text(&p, j->rating ? double_text(j->score, score) : NULL);
    pg_param_text(&p, json_text(io, NULL));
    pg_param_text(&p, json_text(tags, NULL));
    if ((r = pg_run(c, SQL_JUDGE_SET, &p, &set, "rating a sample", e)) < 0)
        return r;
    return tag_it ? pg_tag_insert_rows(c, task_id, j->run_id, &tag, 1, e) : 0;
}

struct step_args {
    const struct job_step *steps;
    size_t n;
    uint64_t first_topic_id; /* ids reserved for every topic of the steps, in order */
    int64_t now;
};

/* Topics a step adds. */
static uint64_t topics_of(const struct job_step *x)
{
    uint64_t n = 0;
    for (size_t i = 0; i < x->n_topics; i++)
        n += x->topics[i].n;
    return n;
}

/* One step: nothing at all when its item is not pending. Its topics take ids topic_id, ... */
static int apply_step(struct pg_conn *c, const struct job_step *x, uint64_t topic_id, int64_t now,
                      struct err *e)
{
    bool applied = false;
    int r;

    if ((r = settle(c, x, &applied, e)) < 0 || !applied)
        return r;
    if ((r = count_and_append(c, x, e)) < 0)
        return r;
    for (size_t i = 0; i < x->n_topics; i++) {
        const struct job_topics *t = &x->topics[i];
        if ((r = pg_topic_insert_rows(c, x->task_id, t->parent_key ? t->parent_key : "", t->names,
                                      t->n, topic_id, now, e)) < 0)
            return r;
        topic_id += t->n;
    }
    if (x->n_runs && (r = pg_run_insert_rows(c, x->runs, x->n_runs, e)) < 0)
        return r;
    for (size_t i = 0; i < x->n_judged; i++)
        if ((r = judge_one(c, x->task_id, &x->judged[i], e)) < 0)
            return r;
    return 0;
}

static int step_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct step_args *a = arg;
    uint64_t topic_id = a->first_topic_id;
    int r = 0;

    for (size_t i = 0; i < a->n && r == 0; i++) {
        r = apply_step(c, &a->steps[i], topic_id, a->now, e);
        topic_id += topics_of(&a->steps[i]);
    }
    return r;
}

/* The write's arguments, freed once it is done. */
struct step_call {
    struct step_args a;
    store_done_cb cb;
    void *ud;
};

static void step_done(void *ud, int result, const struct err *e)
{
    struct step_call *call = ud;
    if (call->cb)
        call->cb(call->ud, result, e);
    free(call);
}

int pg_job_step_async(struct store *s, const struct job_step *steps, size_t n, store_done_cb cb,
                      void *ud, struct err *e)
{
    struct step_call *call;
    uint64_t topics = 0;
    int r;

    if (!(call = calloc(1, sizeof(*call))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    *call = (struct step_call){{steps, n, 0, now_us()}, cb, ud};
    for (size_t i = 0; i < n; i++)
        topics += topics_of(&steps[i]);
    if (topics && (r = s->ops->reserve_ids(s, topics, &call->a.first_topic_id, e)) < 0) {
        free(call);
        return r;
    }
    if (!cb) {
        r = pg_write_async(s, step_fn, &call->a, "recording the job's steps", NULL, NULL, e);
        free(call);
        return r;
    }
    if ((r = pg_write_async(s, step_fn, &call->a, "recording the job's steps", step_done, call,
                            e)) < 0)
        free(call); /* refused: step_done will not run */
    return r;
}

/* ---- reads ---- */

static int items_page(struct pg_conn *c, const struct job_item_query *q, int64_t after,
                      size_t limit, PGresult **ret, struct err *e)
{
    struct pg_params p = {0};

    pg_param_id(&p, q->job_id);
    pg_param_text(&p, q->stage);
    for (int state = 0; state < 3; state++)
        pg_param_int(&p, q->states & (1u << state) ? state : -1);
    pg_param_int(&p, after);
    pg_param_int(&p, (int64_t)limit);
    return pg_run(c, q->stage ? SQL_ITEMS_SCAN_STAGE : SQL_ITEMS_SCAN, &p, ret,
                  "reading the job's items", e);
}

/* The rows of a page through cb; *ret_last the last index. */
static int items_each(const PGresult *res, store_job_item_cb cb, void *ud, int64_t *ret_last,
                      struct err *e)
{
    int r = 0;

    for (int i = 0, n = PQntuples(res); i < n && r == 0; i++) {
        size_t len;
        unsigned char *payload =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, 3), &len);
        struct job_item_row it = {
            .idx = pg_col_int(res, i, 0),
            .state = (int)pg_col_int(res, i, 1),
            .stage = pg_col_text(res, i, 2, NULL),
            .payload = (const char *)payload,
            .len = len,
        };
        if (!payload)
            return err_set(e, HE_NOMEM, NULL, NULL);
        *ret_last = it.idx;
        r = cb(ud, &it, e);
        PQfreemem(payload);
    }
    return r;
}

int pg_job_items_scan(struct store *s, const struct job_item_query *q, store_job_item_cb cb,
                      void *ud, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    size_t left = q->limit ? q->limit : SIZE_MAX;
    int64_t after = q->after;
    struct pg_conn *c;
    int r = pg_acquire(st, &c, e);

    if (r)
        return r;
    while (left > 0) {
        _cleanup_result_ PGresult *res = NULL;
        size_t want = left < SCAN_PAGE ? left : SCAN_PAGE, got;
        if ((r = items_page(c, q, after, want, &res, e)) < 0)
            break;
        got = (size_t)PQntuples(res);
        if ((r = items_each(res, cb, ud, &after, e)) < 0 || got < want)
            break;
        left -= got;
    }
    pg_release(st, c);
    return r;
}

int pg_job_stages(struct store *s, const char *job_id, store_job_stage_cb cb, void *ud,
                  struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    if ((r = pg_query((struct pg_store *)s, SQL_STAGES, &p, &res, "summing the job's stages", e)) <
        0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n && r == 0; i++) {
        struct job_stage_totals t = {
            .stage = pg_col_text(res, i, 0, NULL),
            .total = pg_col_int(res, i, 2),
            .pending = pg_col_int(res, i, 3),
            .done = pg_col_int(res, i, 4),
            .failed = pg_col_int(res, i, 5),
            .produced = pg_col_int(res, i, 6),
            .spend = {.calls = pg_col_int(res, i, 7),
                      .input_tokens = pg_col_int(res, i, 8),
                      .output_tokens = pg_col_int(res, i, 9),
                      .cached_tokens = pg_col_int(res, i, 10),
                      .cost = strtod(PQgetvalue(res, i, 11), NULL)},
            .unpriced_calls = pg_col_int(res, i, 12),
        };
        if (t.unpriced_calls > 0)
            t.spend.cost = NAN;
        r = cb(ud, &t, e);
    }
    return r;
}
