/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: durable jobs and their items, a queue several servers share.
 *
 * DESIGN
 * - Same answers and errors as sqlite_jobs.c. A job's status is kept as its name and changes
 *   only from the state the caller saw (the UPDATE is guarded by it). Counters are derived:
 *   each server adds the results it records to its own row of job_counts (job, server), in the
 *   write's transaction, and a job reads as its jobs row's counts plus the sum of those rows.
 *   Servers finishing items of one job at once neither lose an update nor queue on one row.
 * - Items are claimed, not merely read: job_pending marks the pending items it hands out with
 *   this server's owner name (job_items.claimed_by), in one UPDATE over a SELECT ... FOR UPDATE
 *   SKIP LOCKED. A claim lasts while its server's lease lives: one row per server in
 *   hetu_servers (lease_until, microseconds on the database's clock, so servers whose clocks
 *   differ agree), which pg_listen.c renews while the server runs and removes when it closes.
 *   Renewing touches that one row, never the items, so it neither rewrites the claimed items
 *   nor locks them away from a claim; another server takes an item once its claimer's lease
 *   ran out (the server died).
 * - A result applies only while its item is pending (the settling UPDATE checks state = 0 and
 *   locks the row): a late duplicate from a server presumed dead changes nothing and stores no
 *   sample; samples also keep (job_id, job_item) unique.
 * - A job hold (jobs.owner) gives a whole job to one server under the same lease.
 * - Changes another server must hear of at once (a new job, a cancel, a requeue, a status)
 *   NOTIFY hetu_jobs with the job id in their transaction: delivered on commit only.
 * - Payloads are BYTEA (JSON text, or a file import's binary records), written through COPY.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/job_status.h"
#include "store/pg_int.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/banned.h"

/* A job's count: its jobs row's plus what every server counted (job_counts) */
#define JOB_COUNT(column)                                                                 \
    column " + coalesce((SELECT sum(c." column ") FROM job_counts AS c WHERE c.job_id = " \
           "jobs.id), 0)"
#define JOB_COUNTS JOB_COUNT("completed") ", " JOB_COUNT("failed")
#define JOB_COLUMNS                                                     \
    "id, task_id, kind, status, params, total, " JOB_COUNTS ", error, " \
    "cancel_requested, created_at, started_at, finished_at, cursor"

static const char SQL_JOB_INSERT[] =
    "INSERT INTO jobs (id, task_id, kind, status, params, total, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7)";
static const char SQL_ITEMS_COPY[] = "COPY job_items (job_id, idx, payload) FROM STDIN";
/* The payload is "JOB_ID OWNER": a server's listener ignores its own (it wakes its workers
 * itself, after answering, as on SQLite). */
static const char SQL_NOTIFY[] = "SELECT pg_notify('" PG_JOBS_CHANNEL "', $1 || ' ' || $2)";
static const char SQL_JOB_GET[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1";
static const char SQL_JOB_LIST_TASK[] =
    "SELECT " JOB_COLUMNS " FROM jobs WHERE task_id = $1 ORDER BY id DESC";
static const char SQL_JOB_LIST_ACTIVE[] =
    "SELECT " JOB_COLUMNS " FROM jobs WHERE status IN ($1, $2) ORDER BY id";
static const char SQL_JOB_STATUS[] =
    "UPDATE jobs SET status = $2, error = coalesce($3, error), "
    "started_at = CASE WHEN $5::boolean THEN coalesce(started_at, $4::bigint) ELSE started_at END, "
    "finished_at = CASE WHEN $6::boolean THEN $4::bigint ELSE finished_at END "
    "WHERE id = $1 AND status = $7";
static const char SQL_JOB_STATUS_NOW[] = "SELECT status FROM jobs WHERE id = $1";
static const char SQL_JOB_CANCEL[] = "UPDATE jobs SET cancel_requested = true WHERE id = $1";
static const char SQL_JOB_PARAMS[] = "UPDATE jobs SET params = $2 WHERE id = $1";
/* Whether the server named by column (an owner name) has no live lease. Within a lease of the
 * database's start none has lapsed: a restart outlasting the leases would otherwise free every
 * claim at once, and results still on their way from live servers would meet a second call. */
#define LEASE_GONE(column, lease)                                                          \
    "NOT EXISTS (SELECT 1 FROM hetu_servers s WHERE s.owner = " column " AND "             \
    "s.lease_until >= " PG_NOW_US ") AND (extract(epoch FROM pg_postmaster_start_time()) " \
    "* 1000000)::bigint < " PG_NOW_US " - " lease "::bigint"

/* Pending items after $2 that no other live server claimed, claimed for $4 */
/* A claim renews its server's own lease first (a data-modifying WITH runs whether read or not):
 * a server whose lease lapsed (the database was away longer than a lease) never claims items
 * the others would take for free. */
#define RENEW_MINE(owner, lease)                                                                \
    "WITH mine AS (INSERT INTO hetu_servers (owner, lease_until) VALUES (" owner ", " PG_NOW_US \
    " + " lease "::bigint) ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until) "
static const char SQL_ITEMS_CLAIM[] = RENEW_MINE(
    "$4", "$5") "UPDATE job_items AS i SET claimed_by = $4 "
                "FROM (SELECT job_id, idx FROM job_items AS j WHERE job_id = $1 AND state = 0 AND "
                "idx > $2 "
                "  AND (claimed_by IS NULL OR claimed_by = $4 OR " LEASE_GONE(
                    "j.claimed_by",
                    "$5") ") "
                          "  ORDER BY idx LIMIT $3 FOR UPDATE OF j SKIP LOCKED) AS c "
                          "WHERE i.job_id = c.job_id AND i.idx = c.idx RETURNING i.idx, "
                          "i.payload";
/* Pending items claimed by other servers whose lease lapsed, claimed for $3 */
static const char SQL_ITEMS_LAPSED[] = RENEW_MINE(
    "$3", "$4") "UPDATE job_items AS i SET claimed_by = $3 "
                "FROM (SELECT job_id, idx FROM job_items AS j WHERE job_id = $1 AND state = 0 "
                "  AND claimed_by IS NOT NULL AND claimed_by <> $3 AND " LEASE_GONE(
                    "j.claimed_by", "$4") " ORDER BY idx LIMIT $2 FOR UPDATE OF j SKIP LOCKED) "
                                          "AS c WHERE i.job_id = c.job_id AND i.idx = c.idx "
                                          "RETURNING i.idx, i.payload";
static const char SQL_ITEMS_FAILED[] =
    "SELECT idx, error FROM ((SELECT idx, error FROM job_items WHERE job_id = $1 AND state = 2 "
    "ORDER BY idx LIMIT $2) UNION ALL (SELECT idx, error FROM job_items "
    "WHERE job_id = $1 AND state = 0 AND error IS NOT NULL AND "
    "(SELECT status FROM jobs WHERE id = $1) IN ($3, $4) ORDER BY idx LIMIT $2)) AS x LIMIT $2";
static const char SQL_ITEMS_BY_STATE[] = "SELECT state, count(*) FROM job_items GROUP BY state";
static const char SQL_ITEMS_NOT_RUN[] =
    "UPDATE job_items SET error = $2 WHERE job_id = $1 AND state = 0";
/* A resume ($2) also frees every claim: the resumed job's items go to whichever server asks
 * first (another round of a running job leaves the items in flight with their servers). */
static const char SQL_ITEMS_REQUEUE[] =
    "UPDATE job_items SET state = 0, error = NULL, "
    "claimed_by = CASE WHEN $2::boolean THEN NULL ELSE claimed_by END "
    "WHERE job_id = $1 AND (state = 2 OR (state = 0 AND (error IS NOT NULL OR "
    "($2::boolean AND claimed_by IS NOT NULL))))";
static const char SQL_JOB_REQUEUE[] =
    "UPDATE jobs SET failed = 0, status = $3, "
    "error = CASE WHEN $4::boolean THEN NULL ELSE error END, "
    "cancel_requested = CASE WHEN $4::boolean THEN false ELSE cancel_requested END, "
    "finished_at = CASE WHEN $4::boolean THEN NULL ELSE finished_at END "
    "WHERE id = $1 AND status = $2";
static const char SQL_ITEM_SETTLE[] =
    "UPDATE job_items SET state = $3, error = $4, sample_id = $5, attempts = attempts + 1, "
    "claimed_by = NULL WHERE job_id = $1 AND idx = $2 AND state = 0";
/* Items with a sample, settled in one statement ($1 job ids, $2 indexes, $3 sample ids) */
static const char SQL_ITEMS_SETTLE_RUNS[] =
    "UPDATE job_items AS i SET state = 1, error = NULL, sample_id = v.sample_id, "
    "attempts = i.attempts + 1, claimed_by = NULL "
    "FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(job_id, idx, sample_id) "
    "WHERE i.job_id = v.job_id AND i.idx = v.idx AND i.state = 0 RETURNING i.job_id, i.idx";
static const char SQL_JOB_COUNT[] =
    "INSERT INTO job_counts (job_id, owner, completed, failed) VALUES ($1, $4, $2, $3) "
    "ON CONFLICT (job_id, owner) DO UPDATE SET completed = job_counts.completed + $2, "
    "failed = job_counts.failed + $3";
static const char SQL_COUNTS_REQUEUE[] = "UPDATE job_counts SET failed = 0 WHERE job_id = $1";
/* Taken when unheld, held by this server, or held by one whose lease ran out */
static const char SQL_JOB_HOLD[] = RENEW_MINE(
    "$2", "$3") "UPDATE jobs SET owner = $2 WHERE id = $1 AND "
                "(owner IS NULL OR owner = $2 OR " LEASE_GONE("jobs.owner", "$3") ") RETURNING id";
static const char SQL_JOB_HOLDER[] = "SELECT owner FROM jobs WHERE id = $1";
static const char SQL_JOB_UNHOLD[] = "UPDATE jobs SET owner = NULL WHERE id = $1 AND owner = $2";

/* A COPY buffer is sent when it holds this much. */
#define COPY_CHUNK (1024 * 1024)

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int job_not_found(struct err *e, const char *job_id)
{
    return err_set(e, HE_NOT_FOUND, "job_id", "job %s not found", job_id);
}

static bool changed_none(const PGresult *r)
{
    const char *n = PQcmdTuples((PGresult *)r);
    return !n[0] || strcmp(n, "0") == 0;
}

/* Runs sql with the job id as its one parameter. */
static int run_on_job(struct pg_conn *c, const char *sql, const char *job_id, PGresult **ret,
                      const char *what, struct err *e)
{
    struct pg_params p = {0};
    pg_param_id(&p, job_id);
    return pg_run(c, sql, &p, ret, what, e);
}

int pg_notify_job(struct pg_conn *c, const char *job_id, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};

    pg_param_text(&p, job_id);
    pg_param_text(&p, c->owner ? c->owner : "");
    return pg_run(c, SQL_NOTIFY, &p, &res, "telling the other servers", e);
}

/* ---- create ---- */

int pg_job_insert_row(struct pg_conn *c, const struct job *j, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, j->id);
    pg_param_id(&p, j->task_id);
    pg_param_text(&p, j->kind);
    pg_param_text(&p, job_status_name(JOB_QUEUED));
    pg_param_text(&p, j->params ? j->params : "{}");
    pg_param_int(&p, j->total);
    pg_param_int(&p, j->created_at);
    if ((r = pg_run(c, SQL_JOB_INSERT, &p, &res, "creating the job", e)) == HE_NOT_FOUND) {
        err_clear(e); /* the foreign key: its task is missing */
        return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", j->task_id);
    }
    return r;
}

struct copy_buf {
    struct pg_conn *c;
    char *data;
    size_t len, cap;
};

static int copy_flush(struct copy_buf *b, struct err *e)
{
    if (b->len && PQputCopyData(b->c->db, b->data, (int)b->len) != 1)
        return pg_error(e, b->c, NULL, "saving the job's items");
    b->len = 0;
    return 0;
}

/* One COPY text row: job, idx, and the payload as BYTEA hex ("\\x..." once COPY unescapes). */
static int copy_row(struct copy_buf *b, int64_t job, int64_t idx, const unsigned char *v, size_t n,
                    struct err *e)
{
    static const char digits[] = "0123456789abcdef";
    size_t need = 64 + 2 * n;
    char *at;

    if (b->len + need > b->cap) {
        int r = copy_flush(b, e);
        if (r < 0)
            return r;
        if (need > b->cap) {
            char *d = realloc(b->data, need);
            if (!d)
                return err_set(e, HE_NOMEM, NULL, NULL);
            b->data = d;
            b->cap = need;
        }
    }
    at = b->data + b->len;
    at += snprintf(at, 64, "%lld\t%lld\t\\\\x", (long long)job, (long long)idx);
    for (size_t i = 0; i < n; i++) {
        *at++ = digits[v[i] >> 4];
        *at++ = digits[v[i] & 15];
    }
    *at++ = '\n';
    b->len = (size_t)(at - b->data);
    return 0;
}

/* Ends the COPY: sent whole (end true) or abandoned after a failure. */
static int copy_end(struct pg_conn *c, bool ok, struct err *e)
{
    PGresult *res;
    int r = 0;

    if (PQputCopyEnd(c->db, ok ? NULL : "abandoned") != 1 && ok)
        r = pg_error(e, c, NULL, "saving the job's items");
    while ((res = PQgetResult(c->db))) {
        if (ok && r == 0 && PQresultStatus(res) != PGRES_COMMAND_OK)
            r = pg_error(e, c, res, "saving the job's items");
        PQclear(res);
    }
    return r;
}

int pg_job_items_copy(struct pg_conn *c, const char *job_id, const int64_t *idx,
                      const void *const *payloads, const size_t *lens, size_t n, struct err *e)
{
    struct copy_buf b = {.c = c, .cap = COPY_CHUNK};
    int64_t job = id_valid(job_id) ? (int64_t)strtoll(job_id, NULL, 10) : 0;
    PGresult *res;
    int r = 0;

    if (n == 0)
        return 0;
    if (!(b.data = malloc(b.cap)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    res = PQexec(c->db, SQL_ITEMS_COPY);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        r = pg_error(e, c, res, "saving the job's items");
        PQclear(res);
        free(b.data);
        return r;
    }
    PQclear(res);
    for (size_t i = 0; i < n && r == 0; i++) {
        const unsigned char *v = payloads[i];
        r = copy_row(&b, job, idx ? idx[i] : (int64_t)i, v, lens ? lens[i] : strlen(payloads[i]),
                     e);
    }
    if (r == 0)
        r = copy_flush(&b, e);
    free(b.data);
    if (copy_end(c, r == 0, e) < 0 && r == 0)
        r = e->code;
    return r;
}

struct job_create_args {
    const struct job *j;
    const char *const *payloads;
    size_t n;
};

static int job_create_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct job_create_args *a = arg;
    int r;

    if ((r = pg_job_insert_row(c, a->j, e)) < 0 ||
        (r = pg_job_items_copy(c, a->j->id, NULL, (const void *const *)a->payloads, NULL, a->n,
                               e)) < 0)
        return r;
    return pg_notify_job(c, a->j->id, e);
}

int pg_job_create(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                  struct err *e)
{
    struct job_create_args a = {j, payloads, n};
    return pg_transact(s, job_create_fn, &a, "creating the job", e);
}

/* ---- read ---- */

/* The job of a row; its strings are views into r (copy: duplicated). 0, HE_NOMEM, or HE_STORE
 * when the status is not one of the table's. */
static int job_from_row(const PGresult *r, int row, struct job *j, bool copy)
{
    const char *kind = pg_col_text(r, row, 2, NULL), *params = pg_col_text(r, row, 4, NULL);
    const char *error = pg_col_text(r, row, 8, NULL);

    memset(j, 0, sizeof(*j));
    pg_col_id(r, row, 0, j->id);
    pg_col_id(r, row, 1, j->task_id);
    if (job_status_parse(PQgetvalue(r, row, 3), &j->status) < 0)
        return HE_STORE;
    j->total = pg_col_int(r, row, 5);
    j->completed = pg_col_int(r, row, 6);
    j->failed = pg_col_int(r, row, 7);
    j->cancel_requested = PQgetvalue(r, row, 9)[0] == 't';
    j->created_at = pg_col_int(r, row, 10);
    j->started_at = pg_col_int(r, row, 11);
    j->finished_at = pg_col_int(r, row, 12);
    j->cursor = pg_col_int(r, row, 13);
    if (!copy) {
        j->kind = (char *)kind;
        j->params = (char *)params;
        j->error = (char *)error;
        return 0;
    }
    j->kind = strdup(kind);
    j->params = strdup(params);
    j->error = error ? strdup(error) : NULL;
    return (!j->kind || !j->params || (error && !j->error)) ? HE_NOMEM : 0;
}

static int bad_job(struct err *e, int code, const char *job_id)
{
    if (code == HE_NOMEM)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return err_set(e, code, NULL, "job %s has a status this version does not know", job_id);
}

int pg_job_get(struct store *s, const char *job_id, struct job *ret, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    if ((r = pg_query((struct pg_store *)s, SQL_JOB_GET, &p, &res, "reading the job", e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return job_not_found(e, job_id);
    if ((r = job_from_row(res, 0, ret, true)) < 0) {
        job_done(ret);
        return bad_job(e, r, job_id);
    }
    return 0;
}

int pg_job_list(struct store *s, const char *task_id, store_job_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    if (task_id) {
        pg_param_id(&p, task_id);
    } else { /* the states a job is not over in */
        pg_param_text(&p, job_status_name(JOB_QUEUED));
        pg_param_text(&p, job_status_name(JOB_RUNNING));
    }
    if ((r = pg_query((struct pg_store *)s, task_id ? SQL_JOB_LIST_TASK : SQL_JOB_LIST_ACTIVE, &p,
                      &res, "listing jobs", e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++) {
        struct job j;
        if ((r = job_from_row(res, i, &j, false)) < 0) {
            char id[ID_LEN];
            pg_col_id(res, i, 0, id);
            return bad_job(e, r, id);
        }
        if ((r = cb(ud, &j, e)) < 0)
            return r;
    }
    return 0;
}

struct claimed {
    int64_t idx;
    int row;
};

static int by_idx(const void *a, const void *b)
{
    const struct claimed *x = a, *y = b;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Hands the claimed rows of res to cb in idx order (UPDATE ... RETURNING keeps no order). */
static int pending_each(const PGresult *res, store_item_cb cb, void *ud, struct err *e)
{
    int n = PQntuples(res), r = 0;
    _cleanup_free_ struct claimed *order = calloc((size_t)n + 1, sizeof(*order));

    if (!order)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (int i = 0; i < n; i++)
        order[i] = (struct claimed){pg_col_int(res, i, 0), i};
    qsort(order, (size_t)n, sizeof(*order), by_idx);
    for (int i = 0; i < n && r == 0; i++) {
        size_t len = 0;
        unsigned char *v =
            PQunescapeBytea((const unsigned char *)PQgetvalue(res, order[i].row, 1), &len);
        if (!v)
            return err_set(e, HE_NOMEM, NULL, NULL);
        r = cb(ud, order[i].idx, len ? (const void *)v : "", len, e);
        PQfreemem(v);
    }
    return r;
}

int pg_job_pending(struct store *s, const char *job_id, int64_t after, size_t limit,
                   store_item_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    if ((r = pg_listen_arm((struct pg_store *)s, e)) < 0)
        return r;
    pg_param_id(&p, job_id);
    if (after != JOB_ITEMS_LAPSED)
        pg_param_int(&p, after);
    pg_param_int(&p, (int64_t)limit);
    pg_param_text(&p, s->owner);
    pg_param_int(&p, s->lease_ms * 1000);
    if ((r = pg_query((struct pg_store *)s,
                      after == JOB_ITEMS_LAPSED ? SQL_ITEMS_LAPSED : SQL_ITEMS_CLAIM, &p, &res,
                      "claiming the job's items", e)) < 0)
        return r;
    return pending_each(res, cb, ud, e);
}

int pg_job_hold(struct store *s, const char *job_id, bool release, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    _cleanup_result_ PGresult *res = NULL;
    _cleanup_result_ PGresult *who = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    pg_param_text(&p, s->owner);
    if (release)
        return pg_query(st, SQL_JOB_UNHOLD, &p, &res, "releasing the job", e);
    if ((r = pg_listen_arm(st, e)) < 0)
        return r;
    pg_param_int(&p, s->lease_ms * 1000);
    if ((r = pg_query(st, SQL_JOB_HOLD, &p, &res, "holding the job", e)) < 0)
        return r;
    if (PQntuples(res) == 1)
        return 0;
    p.n = 1;
    if ((r = pg_query(st, SQL_JOB_HOLDER, &p, &who, "reading the job", e)) < 0)
        return r;
    if (PQntuples(who) == 0)
        return job_not_found(e, job_id);
    return err_set(e, HE_CONFLICT, "job_id", "job %s is held by another server (%s)", job_id,
                   PQgetvalue(who, 0, 0));
}

int pg_job_errors(struct store *s, const char *job_id, size_t limit, store_item_error_cb cb,
                  void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    pg_param_int(&p, (int64_t)limit);
    pg_param_text(&p, job_status_name(JOB_FAILED));
    pg_param_text(&p, job_status_name(JOB_CANCELLED));
    if ((r = pg_query((struct pg_store *)s, SQL_ITEMS_FAILED, &p, &res, "reading the job's errors",
                      e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++)
        if ((r = cb(ud, pg_col_int(res, i, 0), pg_col_text(res, i, 1, NULL), e)) < 0)
            return r;
    return 0;
}

int pg_job_item_counts(struct store *s, int64_t ret[3], struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int64_t n[3] = {0, 0, 0};
    int r = pg_query((struct pg_store *)s, SQL_ITEMS_BY_STATE, NULL, &res, "counting job items", e);

    if (r < 0)
        return r;
    for (int i = 0, rows = PQntuples(res); i < rows; i++) {
        int64_t state = pg_col_int(res, i, 0);
        if (state >= 0 && state < 3)
            n[state] = pg_col_int(res, i, 1);
    }
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
static int status_unchanged(struct pg_conn *c, const struct status_args *a, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = run_on_job(c, SQL_JOB_STATUS_NOW, a->job_id, &res, "reading the job", e);

    if (r < 0)
        return r;
    if (PQntuples(res) == 0)
        return job_not_found(e, a->job_id);
    return err_set(e, HE_CONFLICT, NULL, "job %s is %s, not %s: it cannot become %s", a->job_id,
                   PQgetvalue(res, 0, 0), job_status_name(a->from), job_status_name(a->to));
}

/* The job ended failed or cancelled: each item still pending says why it did not run. */
static int not_run(struct pg_conn *c, const struct status_args *a, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    char why[ERR_MSG_MAX + 64];

    if (a->to == JOB_CANCELLED)
        snprintf(why, sizeof(why), "not run: the job was cancelled");
    else
        snprintf(why, sizeof(why), "not run: the job failed: %s",
                 a->error ? a->error : "no reason given");
    pg_param_id(&p, a->job_id);
    pg_param_text(&p, why);
    return pg_run(c, SQL_ITEMS_NOT_RUN, &p, &res, "recording why the job's items did not run", e);
}

static int status_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct status_args *a = arg;
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, a->job_id);
    pg_param_text(&p, job_status_name(a->to));
    pg_param_text(&p, a->error);
    pg_param_int(&p, now_us());
    pg_param_text(&p, a->to == JOB_RUNNING ? "true" : "false");
    pg_param_text(&p, job_status_is_final(a->to) ? "true" : "false");
    pg_param_text(&p, job_status_name(a->from));
    if ((r = pg_run(c, SQL_JOB_STATUS, &p, &res, "updating the job", e)) < 0)
        return r;
    if (changed_none(res))
        return status_unchanged(c, a, e);
    if ((a->to == JOB_FAILED || a->to == JOB_CANCELLED) && (r = not_run(c, a, e)) < 0)
        return r;
    return pg_notify_job(c, a->job_id, e);
}

int pg_job_set_status(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                      const char *error, struct err *e)
{
    struct status_args a = {job_id, from, to, error};
    return pg_transact(s, status_fn, &a, "updating the job", e);
}

static int requeue_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct status_args *a = arg;
    _cleanup_result_ PGresult *job = NULL;
    _cleanup_result_ PGresult *items = NULL;
    _cleanup_result_ PGresult *counts = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, a->job_id);
    pg_param_text(&p, job_status_name(a->from));
    pg_param_text(&p, job_status_name(a->to));
    pg_param_text(&p, a->from != a->to ? "true" : "false");
    if ((r = pg_run(c, SQL_JOB_REQUEUE, &p, &job, "requeueing the job", e)) < 0)
        return r;
    if (changed_none(job))
        return status_unchanged(c, a, e);
    p.n = 1;
    pg_param_text(&p, a->from != a->to ? "true" : "false");
    if ((r = pg_run(c, SQL_ITEMS_REQUEUE, &p, &items, "requeueing the job's items", e)) < 0)
        return r;
    p.n = 1;
    if ((r = pg_run(c, SQL_COUNTS_REQUEUE, &p, &counts, "requeueing the job's items", e)) < 0)
        return r;
    return pg_notify_job(c, a->job_id, e);
}

int pg_job_requeue(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                   struct err *e)
{
    struct status_args a = {job_id, from, to, NULL};
    return pg_transact(s, requeue_fn, &a, "requeueing the job", e);
}

static int cancel_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const char *job_id = arg;
    _cleanup_result_ PGresult *res = NULL;
    int r = run_on_job(c, SQL_JOB_CANCEL, job_id, &res, "cancelling the job", e);

    if (r < 0)
        return r;
    if (changed_none(res))
        return job_not_found(e, job_id);
    return pg_notify_job(c, job_id, e);
}

int pg_job_request_cancel(struct store *s, const char *job_id, struct err *e)
{
    return pg_transact(s, cancel_fn, (void *)job_id, "cancelling the job", e);
}

int pg_job_set_params(struct store *s, const char *job_id, const char *params, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    pg_param_text(&p, params ? params : "{}");
    if ((r = pg_query((struct pg_store *)s, SQL_JOB_PARAMS, &p, &res,
                      "updating the job's parameters", e)) < 0)
        return r;
    return changed_none(res) ? job_not_found(e, job_id) : 0;
}

/* ---- results ---- */

struct done_args {
    const struct job_item_result *results;
    size_t n;
    store_done_cb cb;
    void *ud;
};

/* Settles one item when it is still pending; *ret_settled says whether it was. */
static int settle_one(struct pg_conn *c, const struct job_item_result *x, bool *ret_settled,
                      struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, x->job_id);
    pg_param_int(&p, x->idx);
    pg_param_int(&p, x->run ? 1 : 2);
    pg_param_text(&p, x->run ? NULL : x->error);
    if (x->run)
        pg_param_id(&p, x->run->id);
    else
        pg_param_text(&p, NULL);
    if ((r = pg_run(c, SQL_ITEM_SETTLE, &p, &res, "recording an item's result", e)) < 0)
        return r;
    *ret_settled = !changed_none(res);
    return 0;
}

static int by_item(const void *a, const void *b)
{
    const struct job_item_result *x = *(const struct job_item_result *const *)a;
    const struct job_item_result *y = *(const struct job_item_result *const *)b;
    int c = strcmp(x->job_id, y->job_id);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Adds a job's settled results to its counters. */
static int count_progress(struct pg_conn *c, const char *job_id, int64_t done, int64_t failed,
                          struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};

    if (done == 0 && failed == 0)
        return 0;
    pg_param_id(&p, job_id);
    pg_param_int(&p, done);
    pg_param_int(&p, failed);
    pg_param_text(&p, c->owner ? c->owner : "");
    return pg_run(c, SQL_JOB_COUNT, &p, &res, "counting the job's progress", e);
}

static bool same_item(const struct job_item_result *x, const struct job_item_result *y)
{
    return x->idx == y->idx && strcmp(x->job_id, y->job_id) == 0;
}

/* The index in order[0..n) of the first result for the item (job_id, idx), or n. */
static size_t find_item(const struct job_item_result **order, size_t n, const char *job_id,
                        int64_t idx)
{
    struct job_item_result key = {.job_id = job_id, .idx = idx};
    const struct job_item_result *k = &key, **at = bsearch(&k, order, n, sizeof(*order), by_item);
    size_t i = at ? (size_t)(at - order) : n;

    while (i > 0 && i < n && same_item(order[i - 1], order[i]))
        i--;
    return i;
}

/* Settles the results with a sample among order[0..n) (sorted; those marked in repeat left out)
 * in one statement, marking in settled those that were still pending. */
static int settle_runs(struct pg_conn *c, const struct job_item_result **order, size_t n,
                       const bool *repeat, bool *settled, struct err *e)
{
    _cleanup_(buf_done) struct buf jobs = {0};
    _cleanup_(buf_done) struct buf idxs = {0};
    _cleanup_(buf_done) struct buf samples = {0};
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    const char *sep = "{";
    int r = 0;

    buf_init(&jobs, n * 24 + 8); /* ids and indexes of at most 20 digits each */
    buf_init(&idxs, n * 24 + 8);
    buf_init(&samples, n * 24 + 8);
    for (size_t i = 0; i < n && r == 0; i++, sep = ",")
        if (order[i]->run && !repeat[i])
            r = buf_addf(&jobs, "%s%s", sep, order[i]->job_id) < 0 ||
                buf_addf(&idxs, "%s%lld", sep, (long long)order[i]->idx) < 0 ||
                buf_addf(&samples, "%s%s", sep, order[i]->run->id) < 0;
    if (r || buf_adds(&jobs, "}") < 0 || buf_adds(&idxs, "}") < 0 || buf_adds(&samples, "}") < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (jobs.len < 3) /* none */
        return 0;
    pg_param_text(&p, jobs.data);
    pg_param_text(&p, idxs.data);
    pg_param_text(&p, samples.data);
    if ((r = pg_run(c, SQL_ITEMS_SETTLE_RUNS, &p, &res, "recording the items' results", e)) < 0)
        return r;
    for (int i = 0; i < PQntuples(res); i++) {
        size_t k = find_item(order, n, PQgetvalue(res, i, 0), pg_col_int(res, i, 1));
        if (k < n)
            settled[k] = true;
    }
    return 0;
}

/*
 * Results with a sample settle in one statement, failures one by one after them; of two
 * results for one item, the first in (job, idx) order counts and the other is a repeat. The
 * samples of the items settled go in after them (one COPY for several), and each job's
 * counters are updated once. Two servers settling overlapping items
 * (one presumed dead, finishing late) could deadlock on their locks: the database then fails
 * one group, which runs again with each result alone, in (job, idx) order.
 */
static int settle_in_order(struct pg_conn *c, const struct job_item_result **order, size_t n,
                           struct err *e)
{
    _cleanup_free_ bool *settled = calloc(n + 1, sizeof(*settled));
    _cleanup_free_ bool *repeat = calloc(n + 1, sizeof(*repeat));
    _cleanup_free_ struct run **runs = calloc(n + 1, sizeof(*runs));
    int64_t done = 0, failed = 0;
    size_t nruns = 0;
    int r = 0;

    if (!settled || !repeat || !runs)
        return err_set(e, HE_NOMEM, NULL, NULL);
    qsort(order, n, sizeof(*order), by_item);
    for (size_t i = 1; i < n; i++)
        repeat[i] = same_item(order[i - 1], order[i]);
    if ((r = settle_runs(c, order, n, repeat, settled, e)) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        const struct job_item_result *x = order[i];

        if (!repeat[i] && !x->run && (r = settle_one(c, x, &settled[i], e)) < 0)
            return r;
        if (settled[i] && x->run)
            runs[nruns++] = x->run;
    }
    /* the samples of the items settled: one COPY when there are several */
    if ((r = nruns > 2 ? pg_copy_runs(c, runs, nruns, e) : pg_run_insert_rows(c, runs, nruns, e)) <
        0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++) {
        if (settled[i]) /* not settled: already done, this result is a repeat */
            *(order[i]->run ? &done : &failed) += 1;
        if (i + 1 == n || strcmp(order[i + 1]->job_id, order[i]->job_id) != 0) {
            r = count_progress(c, order[i]->job_id, done, failed, e);
            done = failed = 0;
        }
    }
    return r;
}

/* The results of args[0..n) (struct done_args), settled together. */
static int items_done_group(struct pg_conn *c, void *const *args, size_t n, struct err *e)
{
    size_t total = 0, k = 0;

    for (size_t i = 0; i < n; i++)
        total += ((const struct done_args *)args[i])->n;
    _cleanup_free_ const struct job_item_result **order = calloc(total + 1, sizeof(*order));
    if (!order)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        const struct done_args *a = args[i];
        for (size_t j = 0; j < a->n; j++)
            order[k++] = &a->results[j];
    }
    return settle_in_order(c, order, total, e);
}

static int items_done_fn(struct pg_conn *c, void *arg, struct err *e)
{
    void *args[1] = {arg};
    return items_done_group(c, args, 1, e);
}

static void items_done_cb(void *ud, int result, const struct err *error)
{
    struct done_args *a = ud;
    a->cb(a->ud, result, error);
    free(a);
}

int pg_job_items_done_async(struct store *s, const struct job_item_result *results, size_t n,
                            store_done_cb cb, void *ud, struct err *e)
{
    struct done_args *a = malloc(sizeof(*a));
    int r;

    if (!a)
        return err_set(e, HE_NOMEM, NULL, NULL);
    *a = (struct done_args){results, n, cb, ud};
    if (!cb) {
        r = pg_write_async(s, items_done_fn, a, "recording the items' results", NULL, NULL, e);
        free(a);
        return r;
    }
    if ((r = pg_write_async_group(s, items_done_fn, items_done_group, a,
                                  "recording the items' results", items_done_cb, a, e)) < 0)
        free(a); /* not queued: no callback follows */
    return r;
}
