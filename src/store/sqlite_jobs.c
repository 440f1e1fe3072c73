/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: durable jobs and their items.
 *
 * An item's result is written in the same transaction as its new state and the job's counters:
 * the item moves from pending (0) to done (1) or failed (2) only once (the UPDATE is guarded by
 * state = 0), so a result that arrives twice, for instance after a restart re-ran an item whose
 * first result had been committed, changes nothing. A sample names its (job, item) and that pair
 * is unique: each item yields at most one sample.
 *
 * A job's status is kept as its name (store/job_status.h) and changes only from the state the
 * caller saw (the UPDATE is guarded by it). When a job ends failed or cancelled, the same write
 * gives each pending item the reason it did not run; a requeue (a resume, or another round for
 * items that failed) puts failed items back to pending and clears those reasons, and the job's
 * failed count with them. An item's payload is kept as the bytes it was given:
 * JSON text for items created with the job, binary records for those a file import loads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

#define JOB_COLUMNS                                                                          \
    "id, task_id, kind, status, params, total, completed, failed, error, cancel_requested, " \
    "created_at, started_at, finished_at, cursor"

static const char SQL_JOB_INSERT[] =
    "INSERT INTO jobs (id, task_id, kind, status, params, total, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
static const char SQL_ITEM_INSERT[] =
    "INSERT INTO job_items (job_id, idx, state, payload) VALUES (?1, ?2, 0, ?3)";
static const char SQL_JOB_GET[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1";
static const char SQL_JOB_LIST_TASK[] =
    "SELECT " JOB_COLUMNS " FROM jobs WHERE task_id = ?1 ORDER BY id DESC";
static const char SQL_JOB_LIST_ACTIVE[] =
    "SELECT " JOB_COLUMNS " FROM jobs WHERE status IN (?1, ?2) ORDER BY id";
static const char SQL_JOB_STATUS[] =
    "UPDATE jobs SET status = ?2, error = coalesce(?3, error), "
    "started_at = CASE WHEN ?5 THEN coalesce(started_at, ?4) ELSE started_at END, "
    "finished_at = CASE WHEN ?6 THEN ?4 ELSE finished_at END WHERE id = ?1 AND status = ?7";
static const char SQL_JOB_STATUS_NOW[] = "SELECT status FROM jobs WHERE id = ?1";
static const char SQL_JOB_CANCEL[] = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1";
static const char SQL_ITEMS_PENDING[] =
    "SELECT idx, payload FROM job_items WHERE job_id = ?1 AND state = 0 AND idx > ?2 "
    "ORDER BY idx LIMIT ?3";
/* Failed items first, then (a job that ended failed or cancelled) those that did not run: the
 * second part is not read at all while the job runs, when no pending item has a reason. */
static const char SQL_ITEMS_FAILED[] =
    "SELECT idx, error FROM (SELECT idx, error FROM job_items WHERE job_id = ?1 AND state = 2 "
    "ORDER BY idx LIMIT ?2) UNION ALL SELECT idx, error FROM (SELECT idx, error FROM job_items "
    "WHERE job_id = ?1 AND state = 0 AND error IS NOT NULL AND "
    "(SELECT status FROM jobs WHERE id = ?1) IN (?3, ?4) ORDER BY idx LIMIT ?2) LIMIT ?2";
static const char SQL_ITEMS_BY_STATE[] = "SELECT state, count(*) FROM job_items GROUP BY state";
static const char SQL_ITEMS_NOT_RUN[] =
    "UPDATE job_items SET error = ?2 WHERE job_id = ?1 AND state = 0";
static const char SQL_ITEMS_REQUEUE[] =
    "UPDATE job_items SET state = 0, error = NULL "
    "WHERE job_id = ?1 AND (state = 2 OR (state = 0 AND error IS NOT NULL))";
static const char SQL_JOB_REQUEUE[] =
    "UPDATE jobs SET failed = 0, status = ?3, error = CASE WHEN ?4 THEN NULL ELSE error END, "
    "cancel_requested = CASE WHEN ?4 THEN 0 ELSE cancel_requested END, "
    "finished_at = CASE WHEN ?4 THEN NULL ELSE finished_at END WHERE id = ?1 AND status = ?2";
static const char SQL_ITEM_SETTLE[] =
    "UPDATE job_items SET state = ?3, error = ?4, sample_id = ?5, attempts = attempts + 1 "
    "WHERE job_id = ?1 AND idx = ?2 AND state = 0";
static const char SQL_JOB_COUNT[] =
    "UPDATE jobs SET completed = completed + ?2, failed = failed + ?3 WHERE id = ?1";
static const char SQL_JOB_LOADED[] =
    "UPDATE jobs SET cursor = ?2, completed = completed + ?3 WHERE id = ?1";

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- create ---- */

struct job_create_args {
    const struct job *j;
    const char *const *payloads;
    size_t n;
};

int sq_job_insert_row(struct sq_conn *c, const struct job *j, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_JOB_INSERT, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(j->id));
    sqlite3_bind_int64(s, 2, sq_id_value(j->task_id));
    sq_bind_text(s, 3, j->kind);
    sq_bind_text(s, 4, job_status_name(JOB_QUEUED));
    sq_bind_text(s, 5, j->params ? j->params : "{}");
    sqlite3_bind_int64(s, 6, j->total);
    sqlite3_bind_int64(s, 7, j->created_at);
    if (sqlite3_step(s) != SQLITE_DONE)
        return sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY
                   ? err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", j->task_id)
                   : sq_error(e, c->db, "creating the job");
    return 0;
}

static int job_create_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct job_create_args *a = arg;
    sqlite3_int64 id = sq_id_value(a->j->id);
    sqlite3_stmt *item;
    int r = sq_job_insert_row(c, a->j, e);

    if (r < 0 || a->n == 0)
        return r;
    if (!(item = sq_stmt(c, SQL_ITEM_INSERT, e)))
        return e->code;
    for (size_t i = 0; i < a->n && r == 0; i++) {
        sqlite3_reset(item);
        sqlite3_bind_int64(item, 1, id);
        sqlite3_bind_int64(item, 2, (sqlite3_int64)i);
        sqlite3_bind_text(item, 3, a->payloads[i], -1, SQLITE_STATIC);
        if (sqlite3_step(item) != SQLITE_DONE)
            r = sq_error(e, c->db, "saving the job's items");
    }
    sq_stmt_release(&item);
    return r;
}

int sq_job_create(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                  struct err *e)
{
    struct job_create_args a = {j, payloads, n};
    return sq_write((struct sq_store *)s, job_create_fn, &a, e);
}

/* ---- read ---- */

/* 0, HE_NOMEM, or HE_STORE when the status is not one of the table's. */
static int job_from_row(sqlite3_stmt *s, struct job *j, bool copy)
{
    char *(*get)(sqlite3_stmt *, int) =
        copy ? sq_col_dup : (char *(*)(sqlite3_stmt *, int))sqlite3_column_text;

    memset(j, 0, sizeof(*j));
    sq_col_id(s, 0, j->id);
    sq_col_id(s, 1, j->task_id);
    j->kind = get(s, 2);
    if (job_status_parse((const char *)sqlite3_column_text(s, 3), &j->status) < 0)
        return HE_STORE;
    j->params = get(s, 4);
    j->total = sqlite3_column_int64(s, 5);
    j->completed = sqlite3_column_int64(s, 6);
    j->failed = sqlite3_column_int64(s, 7);
    j->error = get(s, 8);
    j->cancel_requested = sqlite3_column_int(s, 9) != 0;
    j->created_at = sqlite3_column_int64(s, 10);
    j->started_at = sqlite3_column_int64(s, 11);
    j->finished_at = sqlite3_column_int64(s, 12);
    j->cursor = sqlite3_column_int64(s, 13);
    if (copy && (!j->kind || !j->params))
        return HE_NOMEM;
    return 0;
}

static int bad_job(struct err *e, int code, const char *job_id)
{
    if (code == HE_NOMEM)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return err_set(e, code, NULL, "job %s has a status this version does not know", job_id);
}

int sq_job_get(struct store *st, const char *job_id, struct job *ret, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, SQL_JOB_GET, e)))
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(job_id));
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", job_id);
    if (rc != SQLITE_ROW)
        return sq_error(e, c->db, "reading the job");
    if ((r = job_from_row(s, ret, true)) < 0) {
        job_done(ret);
        return bad_job(e, r, job_id);
    }
    return 0;
}

int sq_job_list(struct store *st, const char *task_id, store_job_cb cb, void *ud, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, task_id ? SQL_JOB_LIST_TASK : SQL_JOB_LIST_ACTIVE, e)))
        return e->code;
    if (task_id) {
        sqlite3_bind_int64(s, 1, sq_id_value(task_id));
    } else { /* the states a job is not over in */
        sq_bind_text(s, 1, job_status_name(JOB_QUEUED));
        sq_bind_text(s, 2, job_status_name(JOB_RUNNING));
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct job j;
        if ((r = job_from_row(s, &j, false)) < 0) {
            char id[ID_LEN];
            sq_col_id(s, 0, id);
            return bad_job(e, r, id);
        }
        if ((r = cb(ud, &j, e)) < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "listing jobs");
}

int sq_job_pending(struct store *st, const char *job_id, int64_t after, size_t limit,
                   store_item_cb cb, void *ud, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc, r;

    if (after == JOB_ITEMS_LAPSED) /* one server: no lease lapses */
        return 0;
    if ((r = sq_reader((struct sq_store *)st, &c, e)) != 0)
        return r;
    if (!(s = sq_stmt(c, SQL_ITEMS_PENDING, e)))
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(job_id));
    sqlite3_bind_int64(s, 2, after);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const void *payload = sqlite3_column_blob(s, 1);
        size_t len = (size_t)sqlite3_column_bytes(s, 1);
        if ((r = cb(ud, sqlite3_column_int64(s, 0), payload ? payload : "", len, e)) < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "reading the job's items");
}

/* One server owns a SQLite store: it holds every job. */
int sq_job_hold(struct store *st, const char *job_id, bool release, struct err *e)
{
    (void)st;
    (void)job_id;
    (void)release;
    (void)e;
    return 0;
}

int sq_job_errors(struct store *st, const char *job_id, size_t limit, store_item_error_cb cb,
                  void *ud, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, SQL_ITEMS_FAILED, e)))
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(job_id));
    sqlite3_bind_int64(s, 2, (sqlite3_int64)limit);
    sq_bind_text(s, 3, job_status_name(JOB_FAILED));
    sq_bind_text(s, 4, job_status_name(JOB_CANCELLED));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((r = cb(ud, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1), e)) <
            0)
            return r;
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "reading the job's errors");
}

/* Counts every job's items by state (0 pending, 1 done, 2 failed), when /metrics is scraped:
 * one scan of the items kept (a covering index), so its cost grows with them. */
int sq_job_item_counts(struct store *st, int64_t ret[3], struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int64_t n[3] = {0, 0, 0};
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, SQL_ITEMS_BY_STATE, e)))
        return e->code;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int state = sqlite3_column_int(s, 0);
        if (state >= 0 && state < 3)
            n[state] = sqlite3_column_int64(s, 1);
    }
    if (rc != SQLITE_DONE)
        return sq_error(e, c->db, "counting job items");
    memcpy(ret, n, sizeof(n));
    return 0;
}

/* ---- state changes ---- */

struct status_args {
    const char *job_id;
    enum job_status from, to;
    const char *error;
};

/* Why a guarded status change changed nothing: the job is gone, or no longer in from. */
static int status_unchanged(struct sq_conn *c, const struct status_args *a, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_JOB_STATUS_NOW, e);
    const char *now;
    int rc;

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(a->job_id));
    rc = sqlite3_step(s);
    now = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    if (now)
        return err_set(e, HE_CONFLICT, NULL, "job %s is %s, not %s: it cannot become %s", a->job_id,
                       now, job_status_name(a->from), job_status_name(a->to));
    return rc == SQLITE_DONE ? err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", a->job_id)
                             : sq_error(e, c->db, "reading the job");
}

/* The job ended failed or cancelled: each item still pending says why it did not run. */
static int not_run(struct sq_conn *c, const struct status_args *a, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_ITEMS_NOT_RUN, e);
    char why[ERR_MSG_MAX + 64];

    if (!s)
        return e->code;
    if (a->to == JOB_CANCELLED)
        snprintf(why, sizeof(why), "not run: the job was cancelled");
    else
        snprintf(why, sizeof(why), "not run: the job failed: %s",
                 a->error ? a->error : "no reason given");
    sqlite3_bind_int64(s, 1, sq_id_value(a->job_id));
    sq_bind_text(s, 2, why);
    return sq_step_done(c, s, "recording why the job's items did not run", e);
}

static int status_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct status_args *a = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_JOB_STATUS, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(a->job_id));
    sq_bind_text(s, 2, job_status_name(a->to));
    sq_bind_text(s, 3, a->error);
    sqlite3_bind_int64(s, 4, now_us());
    sqlite3_bind_int(s, 5, a->to == JOB_RUNNING);
    sqlite3_bind_int(s, 6, job_status_is_final(a->to));
    sq_bind_text(s, 7, job_status_name(a->from));
    if (sq_step_done(c, s, "updating the job", e) < 0)
        return e->code;
    if (sqlite3_changes(c->db) == 0)
        return status_unchanged(c, a, e);
    if (a->to == JOB_FAILED || a->to == JOB_CANCELLED)
        return not_run(c, a, e);
    return 0;
}

int sq_job_set_status(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                      const char *error, struct err *e)
{
    struct status_args a = {job_id, from, to, error};
    return sq_write((struct sq_store *)s, status_fn, &a, e);
}

static int requeue_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct status_args *a = arg;
    _cleanup_stmt_ sqlite3_stmt *job = sq_stmt(c, SQL_JOB_REQUEUE, e);
    _cleanup_stmt_ sqlite3_stmt *items = sq_stmt(c, SQL_ITEMS_REQUEUE, e);

    if (!job || !items)
        return e->code;
    sqlite3_bind_int64(job, 1, sq_id_value(a->job_id));
    sq_bind_text(job, 2, job_status_name(a->from));
    sq_bind_text(job, 3, job_status_name(a->to));
    sqlite3_bind_int(job, 4, a->from != a->to);
    if (sq_step_done(c, job, "requeueing the job", e) < 0)
        return e->code;
    if (sqlite3_changes(c->db) == 0)
        return status_unchanged(c, a, e);
    sqlite3_bind_int64(items, 1, sq_id_value(a->job_id));
    return sq_step_done(c, items, "requeueing the job's items", e);
}

int sq_job_requeue(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                   struct err *e)
{
    struct status_args a = {job_id, from, to, NULL};
    return sq_write((struct sq_store *)s, requeue_fn, &a, e);
}

static int cancel_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const char *job_id = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_JOB_CANCEL, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(job_id));
    if (sq_step_done(c, s, "cancelling the job", e) < 0)
        return e->code;
    if (sqlite3_changes(c->db) == 0)
        return err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", job_id);
    return 0;
}

int sq_job_request_cancel(struct store *s, const char *job_id, struct err *e)
{
    return sq_write((struct sq_store *)s, cancel_fn, (void *)job_id, e);
}

struct done_args {
    const struct job_item_result *results;
    size_t n;
};

static int items_done_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct done_args *a = arg;
    sqlite3_stmt *settle = sq_stmt(c, SQL_ITEM_SETTLE, e);
    sqlite3_stmt *count = sq_stmt(c, SQL_JOB_COUNT, e);
    int r = 0;

    if (!settle || !count)
        return e->code;
    for (size_t i = 0; i < a->n && r == 0; i++) {
        const struct job_item_result *x = &a->results[i];
        sqlite3_int64 job = sq_id_value(x->job_id);

        sqlite3_reset(settle);
        sqlite3_bind_int64(settle, 1, job);
        sqlite3_bind_int64(settle, 2, x->idx);
        sqlite3_bind_int(settle, 3, x->run ? 1 : 2);
        sq_bind_text(settle, 4, x->run ? NULL : x->error);
        if (x->run)
            sqlite3_bind_int64(settle, 5, sq_id_value(x->run->id));
        else
            sqlite3_bind_null(settle, 5);
        if (sqlite3_step(settle) != SQLITE_DONE) {
            r = sq_error(e, c->db, "recording an item's result");
            break;
        }
        if (sqlite3_changes(c->db) == 0)
            continue; /* already settled: this result is a repeat */
        if (x->run && (r = sq_run_insert_rows(c, &x->run, 1, e)) < 0)
            break;
        sqlite3_reset(count);
        sqlite3_bind_int64(count, 1, job);
        sqlite3_bind_int(count, 2, x->run ? 1 : 0);
        sqlite3_bind_int(count, 3, x->run ? 0 : 1);
        if (sqlite3_step(count) != SQLITE_DONE)
            r = sq_error(e, c->db, "counting the job's progress");
    }
    sq_stmt_release(&settle);
    sq_stmt_release(&count);
    return r;
}

int sq_job_items_done_async(struct store *s, const struct job_item_result *results, size_t n,
                            store_done_cb cb, void *ud, struct err *e)
{
    struct done_args *a = malloc(sizeof(*a));

    if (!a)
        return err_set(e, HE_NOMEM, NULL, NULL);
    *a = (struct done_args){results, n};
    return sq_write_async((struct sq_store *)s, items_done_fn, a, true, cb, ud, e);
}

static int load_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct job_load *l = arg;
    sqlite3_int64 job = sq_id_value(l->job_id);
    _cleanup_stmt_ sqlite3_stmt *loaded = sq_stmt(c, SQL_JOB_LOADED, e);
    int r;

    if (!loaded)
        return e->code;
    if ((r = sq_run_insert_rows(c, l->runs, l->n_runs, e)) < 0)
        return r;
    if (l->n_items) {
        sqlite3_stmt *item = sq_stmt(c, SQL_ITEM_INSERT, e);
        if (!item)
            return e->code;
        for (size_t i = 0; i < l->n_items && r == 0; i++) {
            sqlite3_reset(item);
            sqlite3_bind_int64(item, 1, job);
            sqlite3_bind_int64(item, 2, l->item_idx[i]);
            sqlite3_bind_blob(item, 3, l->item_payloads[i], (int)l->item_lens[i], SQLITE_STATIC);
            if (sqlite3_step(item) != SQLITE_DONE)
                r = sq_error(e, c->db, "saving the job's items");
        }
        sq_stmt_release(&item);
        if (r < 0)
            return r;
    }
    sqlite3_bind_int64(loaded, 1, job);
    sqlite3_bind_int64(loaded, 2, l->cursor);
    sqlite3_bind_int64(loaded, 3, (sqlite3_int64)l->n_runs);
    return sq_step_done(c, loaded, "recording the import's progress", e);
}

int sq_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                      struct err *e)
{
    return sq_write_async((struct sq_store *)s, load_fn, (void *)l, false, cb, ud, e);
}
