/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend, selected by a postgresql:// or postgres:// URL (libpq's environment
 * variables, PGHOST, PGUSER, ..., fill what the URL leaves out).
 *
 * DESIGN
 * - A pool of connections (pg_int.h; its size from struct store's pool_hint, bounded by
 *   PG_POOL_MAX), opened on demand, shared by every calling thread: a call borrows one for its
 *   statement or transaction and gives it back, so a connection is used by one thread at a
 *   time. A connection the server closed meanwhile is found when borrowed and replaced; one that
 *   a statement found lost is closed when given back.
 * - An unreachable database is tried again with exponential backoff (PG_BACKOFF_MIN_MS doubling
 *   to PG_BACKOFF_MAX_MS) for PG_RETRY_MS per call, then the call answers HE_UNAVAILABLE ("the
 *   database is unreachable: ..."); a single statement whose connection was lost runs again, a
 *   transaction runs again whole (pg_writer.c). So a server that loses its database answers 503
 *   and recovers by itself when it comes back. The pool counts reconnects and keeps the last
 *   connection error for /healthz, which checks the database once, without retrying.
 * - Statements are prepared per connection on first use (named s<slot>) and kept with it.
 * - Asynchronous writes go through the writer (pg_writer.c): group commits, one transaction
 *   per batch, a savepoint per write.
 * - The schema (pg_schema.h) is migrated at open under a session advisory lock, so servers
 *   starting together migrate once: the first takes the lock and migrates, the others wait and
 *   then find the schema current. Each migration commits with its version in one transaction.
 * - The id counter (meta.next_id) is advanced by one UPDATE ... RETURNING, atomic across
 *   servers: blocks of ids never overlap, whichever server reserves them.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/pg_int.h"
#include "store/pg_schema.h"
#include "store/store_int.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/banned.h"

/* Any constant shared by every Hetu server: the advisory lock held while migrating. */
#define PG_MIGRATE_LOCK 4847545500001LL

static const char SQL_RESERVE[] =
    "UPDATE meta SET value = value + $1::bigint WHERE key = 'next_id' RETURNING value - $1::bigint";
static const char SQL_PING[] = "SELECT count(*) FROM meta";

static const struct store_ops pg_ops;

/* ---- parameters and columns ---- */

void pg_param_text(struct pg_params *p, const char *v)
{
    if (p->n < PG_MAX_PARAMS)
        p->v[p->n++] = v;
    else
        p->overflow = true;
}

void pg_param_int(struct pg_params *p, int64_t v)
{
    if (p->n >= PG_MAX_PARAMS) {
        p->overflow = true;
        return;
    }
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

void pg_param_id(struct pg_params *p, const char *id)
{
    pg_param_int(p, id_valid(id) ? (int64_t)strtoll(id, NULL, 10) : 0);
}

void pg_param_bytes(struct pg_params *p, const unsigned char *b, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";

    hex[0] = '\\';
    hex[1] = 'x';
    for (size_t i = 0; i < n; i++) {
        hex[2 + 2 * i] = digits[b[i] >> 4];
        hex[3 + 2 * i] = digits[b[i] & 15];
    }
    hex[2 + 2 * n] = '\0';
    pg_param_text(p, hex);
}

void pg_col_id(const PGresult *r, int row, int col, char out[ID_LEN])
{
    id_format((uint64_t)pg_col_int(r, row, col), out);
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : (int64_t)strtoll(PQgetvalue(r, row, col), NULL, 10);
}

const char *pg_col_text(const PGresult *r, int row, int col, struct arena *mem)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    if (!mem)
        return PQgetvalue(r, row, col);
    return arena_strndup(mem, PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
}

int pg_row_reserve(const PGresult *r, int row, struct arena *mem)
{
    size_t need = 0;

    for (int i = 0, n = PQnfields(r); i < n; i++)
        if (!PQgetisnull(r, row, i))
            need += ARENA_ROUND((size_t)PQgetlength(r, row, i) + 1);
    return arena_reserve(mem, need) < 0 ? HE_NOMEM : 0;
}

/* ---- errors and keys ---- */

int pg_error(struct err *e, struct pg_conn *c, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *msg = primary ? primary : res ? PQresultErrorMessage(res) : PQerrorMessage(c->db);
    char line[256];
    size_t n;

    if (!msg || !*msg)
        msg = PQerrorMessage(c->db);
    n = strcspn(msg, "\n");
    snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ? n : sizeof(line) - 1), msg);
    /* 40P01 deadlock detected, 40001 serialization failure: the transaction may run again */
    c->conflict = state && (strcmp(state, "40P01") == 0 || strcmp(state, "40001") == 0);
    /* 08: connection exceptions; 57P: the server is shutting down or starting up */
    if (PQstatus(c->db) != CONNECTION_OK ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))) {
        c->lost = true;
        return err_set(e, HE_UNAVAILABLE, NULL, "%s: the database is unreachable: %s", what, line);
    }
    if (state && strcmp(state, "23503") == 0)
        return err_set(e, HE_NOT_FOUND, NULL, "%s: a referenced record does not exist", what);
    if (state && strcmp(state, "23505") == 0)
        return err_set(e, HE_CONFLICT, NULL, "%s: the record exists already", what);
    if (state && strcmp(state, "53100") == 0)
        return err_set(e, HE_STORE, NULL, "%s: the disk is full", what);
    return err_set(e, HE_STORE, NULL, "%s: %s", what, line);
}

int pg_not_found(struct err *e, const struct pg_key *k)
{
    if (k->parent_id)
        return err_set(e, HE_NOT_FOUND, k->field, "%s %s not found in %s %s", k->kind, k->id,
                       k->parent_kind, k->parent_id);
    return err_set(e, HE_NOT_FOUND, k->field, "%s %s not found", k->kind, k->id);
}

int pg_changed(const PGresult *r, const struct pg_key *k, struct err *e)
{
    const char *n = PQcmdTuples((PGresult *)r);
    return (!n[0] || strcmp(n, "0") == 0) ? pg_not_found(e, k) : 0;
}

/* ---- connections ---- */

/* The server's notices (a WARNING, a NOTICE) are not errors: the library never logs them. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static void conn_close(struct pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}
DEFINE_FREEP(struct pg_conn, conn_close)

bool pg_conn_lost(const struct pg_conn *c)
{
    return c->lost || PQstatus(c->db) != CONNECTION_OK;
}

/* Libpq's defaults for what the URL leaves out: a bounded wait for a connection (a database
 * that accepts TCP and never answers would hold a call forever), and a name in pg_stat_activity.
 * The URL comes last, so what it says wins; so does PGCONNECT_TIMEOUT. */
static PGconn *connect_db(const char *conninfo)
{
    const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
    const char *values[] = {getenv("PGCONNECT_TIMEOUT") ? NULL : "5", "hetu", conninfo, NULL};

    return PQconnectdbParams(keys, values, 1);
}

static int conn_open(struct pg_store *st, struct pg_conn **ret, struct err *e)
{
    _cleanup_(conn_closep) struct pg_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return err_set(e, HE_NOMEM, NULL, NULL);
    c->db = connect_db(st->conninfo);
    if (!c->db)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (PQstatus(c->db) != CONNECTION_OK)
        return pg_error(e, c, NULL, "connecting to the database");
    PQsetNoticeProcessor(c->db, ignore_notice, NULL);
    c->owner = st->base.owner;
    if (pg_exec(c, "SET client_min_messages = warning", "setting up the connection", e) < 0)
        return e->code;
    *ret = take_ptr(c);
    return 0;
}

/*
 * Whether an idle connection is still usable. A server that closed it meanwhile (a restart)
 * has sent a last message and then end of file; both are read here without blocking, and
 * libpq marks the connection bad on the end of file, so no call fails on a connection that
 * was already closed.
 */
static bool conn_alive(PGconn *db)
{
    struct pollfd p = {.fd = PQsocket(db), .events = POLLIN};

    for (int i = 0; i < 4 && PQstatus(db) == CONNECTION_OK; i++)
        if (poll(&p, 1, 0) <= 0 || !PQconsumeInput(db))
            break; /* nothing to read (alive), or end of file (now bad) */
    return PQstatus(db) == CONNECTION_OK;
}

static int pool_size(const struct pg_store *st)
{
    int n = st->base.pool_hint > 0 ? st->base.pool_hint : PG_POOL_DEFAULT;
    return n < 2 ? 2 : n > PG_POOL_MAX ? PG_POOL_MAX : n;
}

/* Keeps the first line of a connection error for /healthz (under lock). libpq's messages name
 * the host, port and user, never the password. */
static void note_down(struct pg_store *st, const char *msg)
{
    int n = (int)strcspn(msg, "\n");

    pthread_mutex_lock(&st->lock);
    st->down = true;
    snprintf(st->last_error, sizeof(st->last_error), "%.*s", n, msg);
    pthread_mutex_unlock(&st->lock);
}

/* A connection made: a reconnect when the database was down or it replaces a lost one. */
static void note_up(struct pg_store *st, bool replacing)
{
    pthread_mutex_lock(&st->lock);
    if (st->down || replacing)
        st->reconnects++;
    st->down = false;
    pthread_mutex_unlock(&st->lock);
}

/* An idle connection or, when none is left and the pool has room, NULL and a slot to open one
 * in; waits while every connection is held. */
static struct pg_conn *take_slot(struct pg_store *st)
{
    struct pg_conn *c = NULL;

    pthread_mutex_lock(&st->lock);
    while (st->nidle == 0 && st->nopen >= pool_size(st))
        pthread_cond_wait(&st->idle_cond, &st->lock);
    if (st->nidle > 0)
        c = st->idle[--st->nidle];
    else
        st->nopen++;
    pthread_mutex_unlock(&st->lock);
    return c;
}

static void give_slot(struct pg_store *st)
{
    pthread_mutex_lock(&st->lock);
    st->nopen--;
    pthread_cond_signal(&st->idle_cond);
    pthread_mutex_unlock(&st->lock);
}

bool pg_backoff(int *backoff_ms, int64_t deadline_us)
{
    int64_t left = deadline_us - clock_mono_us();
    int64_t us = (int64_t)*backoff_ms * 1000;

    if (left <= 0)
        return false;
    usleep((useconds_t)(us < left ? us : left));
    *backoff_ms = *backoff_ms * 2 < PG_BACKOFF_MAX_MS ? *backoff_ms * 2 : PG_BACKOFF_MAX_MS;
    return true;
}

int pg_acquire_until(struct pg_store *st, int64_t deadline_us, struct pg_conn **ret, struct err *e)
{
    struct pg_conn *c = take_slot(st);
    bool replacing = false;
    int backoff = PG_BACKOFF_MIN_MS;
    struct err tried;

    if (c && conn_alive(c->db)) {
        *ret = c;
        return 0;
    }
    if (c) { /* closed by the server meanwhile (a restart): its slot opens a new one */
        note_down(st, "the server closed the connection");
        conn_close(c);
        replacing = true;
    }
    do {
        err_clear(&tried);
        if (conn_open(st, &c, &tried) == 0) {
            note_up(st, replacing);
            *ret = c;
            return 0;
        }
        if (tried.code != HE_UNAVAILABLE)
            break;
        note_down(st, tried.msg);
    } while (pg_backoff(&backoff, deadline_us));
    give_slot(st);
    return err_set(e, tried.code, NULL, "%s", tried.msg);
}

int pg_acquire(struct pg_store *st, struct pg_conn **ret, struct err *e)
{
    return pg_acquire_until(st, clock_mono_us() + PG_RETRY_MS * 1000LL, ret, e);
}

void pg_release(struct pg_store *st, struct pg_conn *c)
{
    if (!c)
        return;
    /* a connection left inside a transaction (a failed call) is rolled back before reuse */
    if (!pg_conn_lost(c) && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    if (pg_conn_lost(c)) {
        note_down(st, PQerrorMessage(c->db)[0] ? PQerrorMessage(c->db) : "the connection was lost");
        conn_close(c);
        give_slot(st);
        return;
    }
    pthread_mutex_lock(&st->lock);
    st->idle[st->nidle++] = c;
    pthread_cond_signal(&st->idle_cond);
    pthread_mutex_unlock(&st->lock);
}

/* ---- statements ---- */

/* The slot of sql's prepared statement on c, preparing it on first use; -1: run unprepared. */
static int prepared_slot(struct pg_conn *c, const char *sql, int nparams, struct err *e)
{
    char name[16];
    PGresult *res;
    bool ok;

    for (int i = 0; i < c->nprepared; i++)
        if (c->prepared[i] == sql)
            return i;
    if (c->nprepared == PG_STMT_SLOTS)
        return -1;
    snprintf(name, sizeof(name), "s%d", c->nprepared);
    res = PQprepare(c->db, name, sql, nparams, NULL);
    ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        pg_error(e, c, res, "preparing a statement");
        PQclear(res);
        return e->code;
    }
    PQclear(res);
    c->prepared[c->nprepared] = sql;
    return c->nprepared++;
}

int pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, PGresult **ret,
           const char *what, struct err *e)
{
    static const struct pg_params none;
    PGresult *res;
    int slot;

    if (!p)
        p = &none;
    if (p->overflow)
        return err_set(e, HE_INTERNAL, NULL, "%s: more than %d parameters", what, PG_MAX_PARAMS);
    if ((slot = prepared_slot(c, sql, p->n, e)) < -1)
        return slot;
    if (slot >= 0) {
        char name[16];
        snprintf(name, sizeof(name), "s%d", slot);
        res = PQexecPrepared(c->db, name, p->n, p->v, NULL, NULL, 0);
    } else {
        res = PQexecParams(c->db, sql, p->n, NULL, p->v, NULL, NULL, 0);
    }
    if (!res ||
        (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)) {
        int r = pg_error(e, c, res, what);
        PQclear(res);
        return r;
    }
    *ret = res;
    return 0;
}

int pg_query(struct pg_store *st, const char *sql, const struct pg_params *p, PGresult **ret,
             const char *what, struct err *e)
{
    int64_t deadline = clock_mono_us() + PG_RETRY_MS * 1000LL;
    int backoff = PG_BACKOFF_MIN_MS, r;
    struct err tried;

    do {
        struct pg_conn *c;
        bool lost;

        err_clear(&tried);
        if ((r = pg_acquire_until(st, deadline, &c, &tried)) < 0)
            break;
        r = pg_run(c, sql, p, ret, what, &tried);
        lost = r < 0 && pg_conn_lost(c);
        pg_release(st, c);
        if (!lost)
            break;
    } while (pg_backoff(&backoff, deadline));
    return r < 0 ? pg_err_copy(e, &tried) : 0;
}

int pg_exec(struct pg_conn *c, const char *sql, const char *what, struct err *e)
{
    PGresult *res = PQexec(c->db, sql);
    int r = 0;

    if (!res || (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK))
        r = pg_error(e, c, res, what);
    PQclear(res);
    return r;
}

/* ---- ids and health ---- */

static int pg_reserve_ids(struct store *s, uint64_t n, uint64_t *ret_first, struct err *e)
{
    struct pg_params p = {0};
    _cleanup_result_ PGresult *res = NULL;
    int r;

    pg_param_int(&p, (int64_t)n);
    if ((r = pg_query((struct pg_store *)s, SQL_RESERVE, &p, &res, "reserving ids", e)) < 0)
        return r;
    if (PQntuples(res) != 1)
        return err_set(e, HE_STORE, NULL, "reserving ids: the id counter is missing");
    *ret_first = (uint64_t)pg_col_int(res, 0, 0);
    return 0;
}

/* The pool as it is, and one statement on it: no retry, a health check answers at once. */
static int pg_health(struct store *s, struct store_health *ret, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    _cleanup_result_ PGresult *res = NULL;
    struct pg_conn *c;
    int r;

    if ((r = pg_acquire_until(st, 0, &c, e)) < 0)
        return r;
    r = pg_run(c, SQL_PING, NULL, &res, "checking the database", e);
    pg_release(st, c);
    if (r < 0)
        return r;
    ret->backend = "postgresql";
    ret->schema_version = st->schema_version;
    ret->writable = true;
    ret->pending_writes = pg_writer_pending(st);
    pthread_mutex_lock(&st->lock);
    ret->pool_open = st->nopen;
    ret->pool_idle = st->nidle;
    ret->pool_size = pool_size(st);
    ret->reconnects = st->reconnects;
    snprintf(ret->last_error, sizeof(ret->last_error), "%s", st->last_error);
    pthread_mutex_unlock(&st->lock);
    return 0;
}

/* ---- migrations, open, close ---- */

static int schema_version(struct pg_conn *c, int *ret, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_run(c, "SELECT version FROM hetu_schema", NULL, &res, "reading the schema", e);

    if (r)
        return r;
    *ret = PQntuples(res) == 1 ? (int)pg_col_int(res, 0, 0) : 0;
    return 0;
}

static int migrate_locked(struct pg_conn *c, int *ret_version, struct err *e)
{
    int n = (int)ARRAY_SIZE(pg_migrations), version = 0, r;
    char bump[64];

    if ((r = pg_exec(c, PG_SCHEMA_TABLE, "creating the schema table", e)) < 0 ||
        (r = schema_version(c, &version, e)) < 0)
        return r;
    if (version > n)
        return err_set(e, HE_STORE, "db",
                       "the database has schema version %d, newer than this server's %d", version,
                       n);
    for (; version < n; version++) {
        snprintf(bump, sizeof(bump), "UPDATE hetu_schema SET version = %d", version + 1);
        if ((r = pg_exec(c, "BEGIN", "migrating the schema", e)) < 0 ||
            (r = pg_exec(c, pg_migrations[version], "migrating the schema", e)) < 0 ||
            (r = pg_exec(c, bump, "migrating the schema", e)) < 0 ||
            (r = pg_exec(c, "COMMIT", "migrating the schema", e)) < 0)
            return r; /* pg_release rolls back */
    }
    *ret_version = version;
    return 0;
}

static int migrate(struct pg_store *st, struct err *e)
{
    struct pg_conn *c;
    char sql[96];
    int r = pg_acquire(st, &c, e);

    if (r)
        return r;
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(%lld)", PG_MIGRATE_LOCK);
    if ((r = pg_exec(c, sql, "waiting for the schema lock", e)) == 0) {
        r = migrate_locked(c, &st->schema_version, e);
        if (PQtransactionStatus(c->db) != PQTRANS_IDLE)
            PQclear(PQexec(c->db, "ROLLBACK"));
        snprintf(sql, sizeof(sql), "SELECT pg_advisory_unlock(%lld)", PG_MIGRATE_LOCK);
        PQclear(PQexec(c->db, sql)); /* and the session's end releases it in any case */
    }
    pg_release(st, c);
    return r;
}

static void pg_close(struct store *s)
{
    struct pg_store *st = (struct pg_store *)s;

    if (!st)
        return;
    pg_writer_stop(st); /* writes what is queued first */
    pg_listen_stop(st); /* gives up this server's claims, on a pooled connection */
    /* every call has returned: every open connection is idle */
    for (int i = 0; i < st->nidle; i++)
        conn_close(st->idle[i]);
    pthread_cond_destroy(&st->idle_cond);
    pthread_mutex_destroy(&st->lock);
    free(st->conninfo);
    free(st);
}

int store_pg_open(const char *url, struct store **ret, struct err *e)
{
    struct pg_store *st = calloc(1, sizeof(*st));
    int r;

    if (!st || !(st->conninfo = strdup(url))) {
        free(st);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    store_base_init(&st->base, &pg_ops);
    st->base.shared = true;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->idle_cond, NULL);
    if ((r = migrate(st, e)) < 0 || (r = pg_writer_start(st, e)) < 0 ||
        (r = pg_listen_start(st, e)) < 0) {
        pg_close(&st->base);
        return r;
    }
    *ret = &st->base;
    return 0;
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .health = pg_health,
    .reserve_ids = pg_reserve_ids,
    .project_insert = pg_project_insert,
    .project_update = pg_project_update,
    .project_get = pg_project_get,
    .project_list = pg_project_list,
    .project_delete = pg_project_delete,
    .task_insert = pg_task_insert,
    .task_update = pg_task_update,
    .task_get = pg_task_get,
    .task_list = pg_task_list,
    .task_delete = pg_task_delete,
    .api_key_insert = pg_api_key_insert,
    .api_key_get = pg_api_key_get,
    .api_key_list = pg_api_key_list,
    .api_key_revoke = pg_api_key_revoke,
    .api_key_count = pg_api_key_count,
    .run_insert = pg_run_insert,
    .run_insert_async = pg_run_insert_async,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .run_update = pg_run_update,
    .run_delete = pg_run_delete,
    .run_find_by_hash = pg_run_find_by_hash,
    .topic_add = pg_topic_add,
    .topic_add_async = pg_topic_add_async,
    .topic_list = pg_topic_list,
    .topic_counts = pg_topic_counts,
    .topic_delete = pg_topic_delete,
    .split_insert = pg_split_insert,
    .split_get = pg_split_get,
    .split_list = pg_split_list,
    .split_runs = pg_split_runs,
    .stats = pg_stats,
    .dedup_scan = pg_dedup_scan,
    .dedup_save = pg_dedup_save,
    .dedup_buckets = pg_dedup_buckets,
    .dedup_clusters_save = pg_dedup_clusters_save,
    .dedup_clusters_list = pg_dedup_clusters_list,
    .import = pg_import,
    .job_create = pg_job_create,
    .job_get = pg_job_get,
    .job_list = pg_job_list,
    .job_set_status = pg_job_set_status,
    .job_request_cancel = pg_job_request_cancel,
    .job_requeue = pg_job_requeue,
    .job_pending = pg_job_pending,
    .job_hold = pg_job_hold,
    .job_errors = pg_job_errors,
    .job_item_counts = pg_job_item_counts,
    .job_items_done_async = pg_job_items_done_async,
    .job_set_params = pg_job_set_params,
    .job_create_staged = pg_job_create_staged,
    .job_step_async = pg_job_step_async,
    .job_items_scan = pg_job_items_scan,
    .job_stages = pg_job_stages,
    .job_load_async = pg_job_load_async,
};
