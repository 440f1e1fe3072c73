/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend.
 *
 * DESIGN
 * - One writer thread owns the only writing connection. Callers hand it a write (a function and
 *   its argument) through a queue and wait on a condition variable. The writer takes every write
 *   queued so far, runs them in one transaction, each inside its own SAVEPOINT so that one failing
 *   write rolls back alone, commits once, and wakes the waiters: many concurrent small writes
 *   share one commit (group commit).
 * - Reads use one connection per calling thread, opened on first use and kept until the store
 *   closes; statements are prepared once per connection and cached.
 * - WAL journal, synchronous=NORMAL, foreign keys on. The writer never checkpoints: after a
 *   commit that leaves the WAL past CKPT_FRAMES frames it wakes the checkpoint thread, which
 *   copies the WAL back into the database (PASSIVE, so it never blocks the writer) on a
 *   connection of its own; bulk writes and checkpoints then use both cores. Migrations
 * (sqlite_schema.h) run on the writer connection at open, each in its own transaction, tracked by
 * PRAGMA user_version.
 * - ":memory:" opens a private shared-cache in-memory database, so that the writer and the
 *   readers see the same data.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "store/sqlite_int.h"
#include "store/sqlite_schema.h"
#include "store/store_int.h"
#include "util/cleanup.h"
#include "util/worker.h"
#include "util/banned.h"

#define SQLITE_BUSY_MS 10000
#define CKPT_FRAMES    2000  /* about 8 MB of WAL */
#define RESTART_FRAMES 16000 /* about 64 MB, journal_size_limit: see restart_wal */

static const char SQL_NEXT_ID_GET[] = "SELECT value FROM meta WHERE key = 'next_id'";
static const char SQL_NEXT_ID_SET[] = "UPDATE meta SET value = ?1 WHERE key = 'next_id'";
static const char SQL_PING[] = "SELECT count(*) FROM meta";

static const struct store_ops sqlite_ops;

int sq_error(struct err *e, sqlite3 *db, const char *what)
{
    int rc = sqlite3_extended_errcode(db);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return err_set(e, HE_NOT_FOUND, NULL, "%s: a referenced record does not exist", what);
    if (rc == SQLITE_FULL)
        return err_set(e, HE_STORE, NULL, "%s: the disk is full", what);
    return err_set(e, HE_STORE, NULL, "%s: %s", what, sqlite3_errmsg(db));
}

/* ---- connections ---- */

static void conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < SQ_TASK_CACHE; i++)
        task_done(&c->tasks[i].rec);
    for (int i = 0; i < SQ_STMT_SLOTS; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}
DEFINE_FREEP(struct sq_conn, conn_close)

static int conn_open(struct sq_store *st, bool writer, struct sq_conn **ret, struct err *e)
{
    _cleanup_(conn_closep) struct sq_conn *c = calloc(1, sizeof(*c));
    _cleanup_(sqlite3_freep) char *errmsg = NULL;
    int flags = st->open_flags | SQLITE_OPEN_NOMUTEX;

    if (!c)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (writer)
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    else
        flags |= st->memory ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(st->uri, &c->db, flags, NULL) != SQLITE_OK)
        return err_set(e, HE_STORE, "db", "cannot open the database %s: %s", st->uri,
                       c->db ? sqlite3_errmsg(c->db) : "out of memory");
    sqlite3_busy_timeout(c->db, SQLITE_BUSY_MS);
    if (sqlite3_exec(c->db,
                     writer       ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                                    "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
                                    "PRAGMA cache_size=-16384; PRAGMA wal_autocheckpoint=0;"
                                    "PRAGMA journal_size_limit=67108864;"
                     : st->memory ? "PRAGMA foreign_keys=ON; PRAGMA read_uncommitted=1;"
                                  : "PRAGMA foreign_keys=ON;",
                     NULL, NULL, &errmsg) != SQLITE_OK)
        return err_set(e, HE_STORE, "db", "cannot configure the database %s: %s", st->uri,
                       errmsg ? errmsg : "?");
    *ret = take_ptr(c);
    return 0;
}

sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql, struct err *e)
{
    size_t i = ((uintptr_t)sql >> 4) % SQ_STMT_SLOTS;

    for (size_t n = 0; n < SQ_STMT_SLOTS; n++, i = (i + 1) % SQ_STMT_SLOTS) {
        if (c->cache[i].sql == sql) {
            /* Reset here too: a statement a caller forgot to release must not keep its old
             * bindings (sqlite3_bind fails on a statement that is not reset). */
            sqlite3_reset(c->cache[i].stmt);
            return c->cache[i].stmt;
        }
        if (!c->cache[i].sql) {
            sqlite3_stmt *s;
            if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) !=
                SQLITE_OK) {
                sq_error(e, c->db, "preparing a statement");
                return NULL;
            }
            c->cache[i].sql = sql;
            c->cache[i].stmt = s;
            return s;
        }
    }
    err_set(e, HE_INTERNAL, NULL, "statement cache full");
    return NULL;
}

void sq_stmt_release(sqlite3_stmt **s)
{
    if (*s) {
        sqlite3_reset(*s);
        sqlite3_clear_bindings(*s);
    }
}

int sq_reader(struct sq_store *st, struct sq_conn **ret, struct err *e)
{
    struct sq_conn *c = pthread_getspecific(st->reader_key);
    int r;

    if (c) {
        *ret = c;
        return 0;
    }
    r = conn_open(st, false, &c, e);
    if (r)
        return r;
    pthread_mutex_lock(&st->conns_lock);
    c->next = st->readers;
    st->readers = c;
    pthread_mutex_unlock(&st->conns_lock);
    pthread_setspecific(st->reader_key, c);
    *ret = c;
    return 0;
}

/* ---- the writer ---- */

static int exec(struct sq_conn *c, const char *sql, struct err *e)
{
    _cleanup_(sqlite3_freep) char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK)
        return err_set(e, HE_STORE, NULL, "%s: %s", sql, msg ? msg : "?");
    return 0;
}

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT w";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO w";
static const char SQL_RELEASE[] = "RELEASE w";

/* A transaction-control statement, prepared once like the others (they run for every write). */
static int control(struct sq_conn *c, const char *sql, struct err *e)
{
    sqlite3_stmt *s = sq_stmt(c, sql, e);
    int rc;

    if (!s)
        return e->code;
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return err_set(e, HE_STORE, NULL, "%s: %s", sql, sqlite3_errmsg(c->db));
    return 0;
}

static size_t batch_len(const struct sq_write *batch)
{
    size_t n = 0;
    for (; batch; batch = batch->next)
        n++;
    return n;
}

static void run_batch(struct sq_store *st, struct sq_write *batch)
{
    struct sq_conn *c = st->writer_conn;
    bool alone = batch && !batch->next;
    struct err e = ERR_INIT;

    if (control(c, SQL_BEGIN, &e) < 0) {
        for (struct sq_write *w = batch; w; w = w->next)
            w->result = err_set(&w->err, e.code, NULL, "%s", e.msg);
        return;
    }
    for (struct sq_write *w = batch; w; w = w->next) {
        struct err ignore = ERR_INIT;
        if (alone) { /* nothing to keep apart: a failure rolls the transaction back */
            w->result = w->fn(c, w->arg, &w->err);
            break;
        }
        control(c, SQL_SAVEPOINT, &w->err);
        w->result = w->fn(c, w->arg, &w->err);
        if (w->result < 0)
            control(c, SQL_ROLLBACK_TO, &w->err);
        if (sqlite3_get_autocommit(c->db)) {
            /* SQLite rolled the whole transaction back by itself (disk full, I/O error): every
             * write of the batch is undone, none may be reported stored. */
            for (struct sq_write *x = batch; x; x = x->next)
                if (x->result == 0 || x == w)
                    x->result =
                        err_set(&x->err, HE_STORE, NULL, "the transaction was rolled back: %s",
                                sqlite3_errmsg(c->db));
            return;
        }
        control(c, SQL_RELEASE, &ignore);
    }
    if (alone && batch->result < 0) {
        control(c, SQL_ROLLBACK, &e);
        return;
    }
    if (control(c, SQL_COMMIT, &e) < 0) {
        struct err ignore = ERR_INIT;
        control(c, SQL_ROLLBACK, &ignore);
        for (struct sq_write *w = batch; w; w = w->next)
            if (w->result == 0)
                w->result = err_set(&w->err, e.code, NULL, "%s", e.msg);
    }
}

static int wal_hook(void *ud, sqlite3 *db, const char *name, int frames)
{
    struct sq_store *st = ud;
    (void)db;
    (void)name;
    st->wal_frames = frames;
    if (frames >= CKPT_FRAMES) {
        worker_raise(&st->lock, &st->ckpt_due, &st->ckpt_wake, NULL);
    }
    return SQLITE_OK;
}

static void *ckpt_main(void *arg)
{
    struct sq_store *st = arg;

    pthread_mutex_lock(&st->lock);
    while (!st->stopping) {
        if (!st->ckpt_due)
            worker_wait_ms(&st->ckpt_wake, &st->lock, 1000);
        st->ckpt_due = false;
        pthread_mutex_unlock(&st->lock);
        /* Also once a second when idle, so the WAL is folded back between bursts. */
        sqlite3_wal_checkpoint_v2(st->ckpt_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&st->lock);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/*
 * Under a steady stream of commits the checkpoint thread never copies the WAL to its end before
 * the next transaction starts, so the WAL never starts over: it grows by everything written
 * (gigabytes for a large import), and every page the writer looks up searches a longer WAL
 * index. Past RESTART_FRAMES the writer copies, between two transactions, the frames the thread
 * has not copied yet, so that the next transaction writes the WAL from its start. PASSIVE: when
 * the thread is checkpointing, this returns at once and the next batch tries again.
 */
static void restart_wal(struct sq_store *st)
{
    int log = 0, copied = 0;

    if (st->wal_frames < RESTART_FRAMES)
        return;
    if (sqlite3_wal_checkpoint_v2(st->writer_conn->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                  &copied) == SQLITE_OK &&
        copied == log)
        st->wal_frames = 0;
}

static void *writer_main(void *arg)
{
    struct sq_store *st = arg;

    pthread_mutex_lock(&st->lock);
    for (;;) {
        struct sq_write *batch;
        while (!st->head && !st->stopping)
            pthread_cond_wait(&st->wake, &st->lock);
        if (!st->head && st->stopping)
            break;
        batch = st->head;
        st->head = st->tail = NULL;
        pthread_mutex_unlock(&st->lock);

        restart_wal(st);
        metrics_store_commit(batch_len(batch));
        run_batch(st, batch);
        atomic_fetch_add(&st->version, 1); /* before anyone learns of the commit */

        /* Asynchronous writes are answered here, outside the lock; their callers are gone. */
        for (struct sq_write **pp = &batch; *pp;) {
            struct sq_write *w = *pp;
            if (!w->cb) {
                pp = &w->next;
                continue;
            }
            *pp = w->next;
            w->cb(w->ud, w->result, w->result < 0 ? &w->err : NULL);
            if (w->free_arg)
                free(w->arg);
            free(w);
            atomic_fetch_sub(&st->pending, 1);
        }

        pthread_mutex_lock(&st->lock);
        for (struct sq_write *w = batch, *next; w; w = next) {
            next = w->next;
            w->done = true;
            atomic_fetch_sub(&st->pending, 1);
        }
        pthread_cond_broadcast(&st->done);
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

/* Runs fn(arg) in the writer's next group commit and waits for the commit. */
int sq_write(struct sq_store *st, sq_write_fn fn, void *arg, struct err *e)
{
    struct sq_write w = {.fn = fn, .arg = arg, .err = ERR_INIT};

    pthread_mutex_lock(&st->lock);
    if (st->stopping) {
        pthread_mutex_unlock(&st->lock);
        return err_set(e, HE_UNAVAILABLE, NULL, "the store is closing");
    }
    if (st->tail)
        st->tail->next = &w;
    else
        st->head = &w;
    st->tail = &w;
    atomic_fetch_add(&st->pending, 1);
    pthread_cond_signal(&st->wake);
    while (!w.done)
        pthread_cond_wait(&st->done, &st->lock);
    pthread_mutex_unlock(&st->lock);
    if (w.result < 0)
        return err_set(e, w.err.code ? w.err.code : w.result, w.err.field[0] ? w.err.field : NULL,
                       "%s", w.err.msg);
    return w.result;
}

int sq_write_async(struct sq_store *st, sq_write_fn fn, void *arg, bool free_arg, store_done_cb cb,
                   void *ud, struct err *e)
{
    struct sq_write *w = calloc(1, sizeof(*w));

    if (!w) {
        if (free_arg)
            free(arg);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    w->fn = fn;
    w->arg = arg;
    w->free_arg = free_arg;
    w->cb = cb;
    w->ud = ud;
    pthread_mutex_lock(&st->lock);
    if (st->stopping) {
        pthread_mutex_unlock(&st->lock);
        if (free_arg)
            free(arg);
        free(w);
        return err_set(e, HE_UNAVAILABLE, NULL, "the store is closing");
    }
    if (st->tail)
        st->tail->next = w;
    else
        st->head = w;
    st->tail = w;
    atomic_fetch_add(&st->pending, 1);
    pthread_cond_signal(&st->wake);
    pthread_mutex_unlock(&st->lock);
    return 0;
}

/* ---- ids ---- */

struct reserve_args {
    struct sq_store *st;
    uint64_t n, first;
};

static int reserve_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct reserve_args *a = arg;
    _cleanup_stmt_ sqlite3_stmt *get = sq_stmt(c, SQL_NEXT_ID_GET, e);
    _cleanup_stmt_ sqlite3_stmt *set = sq_stmt(c, SQL_NEXT_ID_SET, e);

    if (!get || !set)
        return e->code;
    if (sqlite3_step(get) != SQLITE_ROW)
        return sq_error(e, c->db, "reading the next id");
    a->first = (uint64_t)sqlite3_column_int64(get, 0);
    sqlite3_bind_int64(set, 1, (sqlite3_int64)(a->first + a->n));
    return sq_step_done(c, set, "reserving ids", e);
}

/* The background refill has committed: its block is the next spare. */
static void on_spare_reserved(void *ud, int result, const struct err *e)
{
    struct reserve_args *a = ud;
    struct sq_store *st = a->st;

    (void)e;
    pthread_mutex_lock(&st->ids_lock);
    if (result == 0) {
        st->spare_first = a->first;
        st->spare_n = a->n;
    }
    st->spare_refilling = false;
    pthread_cond_broadcast(&st->ids_cond);
    pthread_mutex_unlock(&st->ids_lock);
}

static void refill_spare(struct sq_store *st, uint64_t n)
{
    struct reserve_args *a;
    struct err ignore = ERR_INIT;

    pthread_mutex_lock(&st->ids_lock);
    if (st->spare_refilling) {
        pthread_mutex_unlock(&st->ids_lock);
        return;
    }
    st->spare_refilling = true;
    pthread_mutex_unlock(&st->ids_lock);
    if ((a = malloc(sizeof(*a))))
        *a = (struct reserve_args){.st = st, .n = n};
    /* sq_write_async frees a when it cannot queue it */
    if (!a || sq_write_async(st, reserve_fn, a, true, on_spare_reserved, a, &ignore) < 0) {
        pthread_mutex_lock(&st->ids_lock);
        st->spare_refilling = false;
        pthread_cond_broadcast(&st->ids_cond);
        pthread_mutex_unlock(&st->ids_lock);
    }
}

/*
 * Hands out the spare block when there is one (its reservation has committed), else reserves
 * one and waits; either way the next spare is reserved in the background. Blocks are handed out
 * in the order they were reserved (a refill on its way is waited for, not overtaken), so ids
 * keep increasing. A restart loses at most the spare block: ids may skip, never repeat.
 */
static int sq_reserve_ids(struct store *s, uint64_t n, uint64_t *ret_first, struct err *e)
{
    struct sq_store *st = (struct sq_store *)s;
    struct reserve_args a = {.st = st, .n = n};
    bool spare;
    int r = 0;

    pthread_mutex_lock(&st->ids_lock);
    while (st->spare_n == 0 && st->spare_refilling)
        pthread_cond_wait(&st->ids_cond, &st->ids_lock);
    spare = st->spare_n == n;
    if (spare)
        a.first = st->spare_first;
    st->spare_n = 0;
    pthread_mutex_unlock(&st->ids_lock);
    if (!spare)
        r = sq_write(st, reserve_fn, &a, e);
    if (r < 0)
        return r;
    refill_spare(st, n);
    *ret_first = a.first;
    return 0;
}

/* ---- health, open, close ---- */

static int sq_health(struct store *s, struct store_health *ret, struct err *e)
{
    struct sq_store *st = (struct sq_store *)s;
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *q = NULL;
    int r = sq_reader(st, &c, e);

    if (r)
        return r;
    if (!(q = sq_stmt(c, SQL_PING, e)))
        return e->code;
    if (sqlite3_step(q) != SQLITE_ROW)
        return sq_error(e, c->db, "checking the database");
    ret->backend = "sqlite";
    ret->schema_version = st->schema_version;
    ret->writable = !st->stopping;
    ret->pending_writes = atomic_load(&st->pending);
    return 0;
}

static int migrate(struct sq_store *st, struct err *e)
{
    struct sq_conn *c = st->writer_conn;
    sqlite3_stmt *s;
    int version = 0, latest = (int)ARRAY_SIZE(sqlite_migrations);

    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return sq_error(e, c->db, "reading the schema version");
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > latest)
        return err_set(e, HE_STORE, "db",
                       "the database has schema version %d, newer than this server's %d; "
                       "upgrade hetu",
                       version, latest);
    for (int v = version; v < latest; v++) {
        char set[64];
        int r;
        snprintf(set, sizeof(set), "PRAGMA user_version = %d", v + 1);
        if ((r = exec(c, "BEGIN IMMEDIATE", e)) < 0)
            return r;
        if ((r = exec(c, sqlite_migrations[v], e)) < 0 || (r = exec(c, set, e)) < 0 ||
            (r = exec(c, "COMMIT", e)) < 0) {
            struct err ignore = ERR_INIT;
            exec(c, "ROLLBACK", &ignore);
            err_prefix(e, "migrating the database to version %d", v + 1);
            return r;
        }
    }
    st->schema_version = latest;
    return 0;
}

static int make_parent_dir(const char *path, struct err *e)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t n;

    if (!slash || slash == path)
        return 0;
    n = (size_t)(slash - path);
    if (n >= sizeof(dir))
        return err_set(e, HE_BAD_REQUEST, "db", "the database path is too long");
    memcpy(dir, path, n);
    dir[n] = '\0';
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
            return err_set(e, HE_IO, "db", "cannot create %s: %s", dir, strerror(errno));
        *p = '/';
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, HE_IO, "db", "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

static void sq_close(struct store *s)
{
    struct sq_store *st = (struct sq_store *)s;

    if (!st)
        return;
    worker_raise(&st->lock, &st->stopping, &st->wake, &st->ckpt_wake);
    if (st->writer_started)
        pthread_join(st->writer, NULL);
    if (st->ckpt_started)
        pthread_join(st->ckpt, NULL);
    conn_close(st->ckpt_conn);
    for (struct sq_conn *c = st->readers, *next; c; c = next) {
        next = c->next;
        conn_close(c);
    }
    if (st->writer_conn) {
        struct err ignore = ERR_INIT;
        exec(st->writer_conn, "PRAGMA optimize", &ignore);
        if (!st->memory) /* fold the WAL back, so a copied database file is complete */
            sqlite3_wal_checkpoint_v2(st->writer_conn->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                                      NULL);
    }
    conn_close(st->writer_conn);
    pthread_key_delete(st->reader_key);
    pthread_mutex_destroy(&st->conns_lock);
    pthread_mutex_destroy(&st->lock);
    pthread_mutex_destroy(&st->ids_lock);
    pthread_cond_destroy(&st->ids_cond);
    pthread_cond_destroy(&st->wake);
    pthread_cond_destroy(&st->done);
    pthread_cond_destroy(&st->ckpt_wake);
    free(st->uri);
    free(st);
}

int store_sqlite_open(const char *path, struct store **ret, struct err *e)
{
    static atomic_uint memory_seq;
    struct sq_store *st = calloc(1, sizeof(*st));
    char uri[128];
    int r;

    if (!st)
        return err_set(e, HE_NOMEM, NULL, NULL);
    store_base_init(&st->base, &sqlite_ops);
    atomic_store(&st->version, 1);
    pthread_key_create(&st->reader_key, NULL);
    pthread_mutex_init(&st->conns_lock, NULL);
    pthread_mutex_init(&st->lock, NULL);
    pthread_mutex_init(&st->ids_lock, NULL);
    pthread_cond_init(&st->ids_cond, NULL);
    pthread_cond_init(&st->wake, NULL);
    pthread_cond_init(&st->done, NULL);
    pthread_cond_init(&st->ckpt_wake, NULL);
    if (strcmp(path, ":memory:") == 0) {
        snprintf(uri, sizeof(uri), "file:hetu-memory-%d-%u?mode=memory&cache=shared", (int)getpid(),
                 atomic_fetch_add(&memory_seq, 1));
        st->uri = strdup(uri);
        st->memory = true;
        st->open_flags = SQLITE_OPEN_URI;
    } else {
        if ((r = make_parent_dir(path, e)) < 0) {
            sq_close(&st->base);
            return r;
        }
        st->uri = strdup(path);
    }
    if (!st->uri) {
        sq_close(&st->base);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    if ((r = conn_open(st, true, &st->writer_conn, e)) < 0 || (r = migrate(st, e)) < 0) {
        sq_close(&st->base);
        return r;
    }
    if (!st->memory) {
        if ((r = conn_open(st, true, &st->ckpt_conn, e)) < 0) {
            sq_close(&st->base);
            return r;
        }
        sqlite3_wal_hook(st->writer_conn->db, wal_hook, st);
        st->ckpt_started = worker_start(&st->ckpt, ckpt_main, st, "hetu-ckpt");
        if (!st->ckpt_started) {
            conn_close(take_ptr(st->ckpt_conn));
            sq_close(&st->base);
            return err_set(e, HE_INTERNAL, NULL, "cannot start the store's checkpoint thread");
        }
    }
    st->writer_started = worker_start(&st->writer, writer_main, st, "hetu-store");
    if (!st->writer_started) {
        conn_close(take_ptr(st->writer_conn));
        sq_close(&st->base);
        return err_set(e, HE_INTERNAL, NULL, "cannot start the store's writer thread");
    }
    *ret = &st->base;
    return 0;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .health = sq_health,
    .reserve_ids = sq_reserve_ids,
    .project_insert = sq_project_insert,
    .project_update = sq_project_update,
    .project_get = sq_project_get,
    .project_list = sq_project_list,
    .project_delete = sq_project_delete,
    .task_insert = sq_task_insert,
    .task_update = sq_task_update,
    .task_get = sq_task_get,
    .task_list = sq_task_list,
    .task_delete = sq_task_delete,
    .run_insert = sq_run_insert,
    .run_insert_async = sq_run_insert_async,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .run_update = sq_run_update,
    .run_delete = sq_run_delete,
    .run_find_by_hash = sq_run_find_by_hash,
    .topic_add = sq_topic_add,
    .topic_add_async = sq_topic_add_async,
    .topic_list = sq_topic_list,
    .topic_counts = sq_topic_counts,
    .topic_delete = sq_topic_delete,
    .split_insert = sq_split_insert,
    .split_get = sq_split_get,
    .split_list = sq_split_list,
    .split_runs = sq_split_runs,
    .job_create = sq_job_create,
    .job_get = sq_job_get,
    .job_list = sq_job_list,
    .job_set_status = sq_job_set_status,
    .job_request_cancel = sq_job_request_cancel,
    .job_requeue = sq_job_requeue,
    .job_pending = sq_job_pending,
    .job_hold = sq_job_hold,
    .job_item_counts = sq_job_item_counts,
    .job_errors = sq_job_errors,
    .job_items_done_async = sq_job_items_done_async,
    .job_load_async = sq_job_load_async,
    .job_create_staged = sq_job_create_staged,
    .job_step_async = sq_job_step_async,
    .job_items_scan = sq_job_items_scan,
    .job_stages = sq_job_stages,
    .job_set_params = sq_job_set_params,
    .stats = sq_stats,
    .dedup_scan = sq_dedup_scan,
    .dedup_save = sq_dedup_save,
    .dedup_buckets = sq_dedup_buckets,
    .dedup_clusters_save = sq_dedup_clusters_save,
    .dedup_clusters_list = sq_dedup_clusters_list,
    .import = sq_import,
    .api_key_insert = sq_api_key_insert,
    .api_key_get = sq_api_key_get,
    .api_key_list = sq_api_key_list,
    .api_key_revoke = sq_api_key_revoke,
    .api_key_count = sq_api_key_count,
};
