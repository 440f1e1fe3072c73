/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: transactions (pg_transact) and the writer of asynchronous writes
 * (run_insert_async, topic_add_async, job_items_done_async, job_step_async, job_load_async).
 *
 * DESIGN
 * - A transaction runs on a borrowed connection between "BEGIN; SELECT txid_current()" and
 *   COMMIT. When its connection is lost, nothing it did is known to have committed: it connects
 *   again (with backoff, pg.c) and runs again whole. When the lost answer was the COMMIT's, it
 *   first asks txid_status whether that transaction committed: committed is success, anything
 *   else runs it again. So a restart of the database neither loses a write nor applies one twice.
 *   A deadlock or a serialization failure (the database rolled the transaction back) runs it
 *   again too; in a batch, the write that met it runs again under its savepoint.
 *   A call retries for PG_RETRY_MS, the writer for PG_WRITER_RETRY_MS.
 * - One writer thread per store (started at open, drained and joined at close) takes the writes
 *   pg_write_async queues: every write waiting, at most PG_BATCH_MAX, in one transaction, each
 *   under SAVEPOINT w, so a write that fails rolls back alone and gets its own error (a lone
 *   write needs no savepoint). A failed COMMIT fails every write of the batch. Callbacks run
 *   after the COMMIT, in queue order, on the writer thread, its connection back in the pool.
 * - Consecutive writes of a batch that share a group function (many small writes of one kind,
 *   such as items' results) run as one call of it under one savepoint: fewer statements for the
 *   common case. When that call fails, it is rolled back and each of them runs alone, so a
 *   failing write still fails alone.
 * - The queue holds at most PG_QUEUE_MAX writes: a caller waits for room (backpressure), except
 *   the writer thread itself (a callback that writes again), which must never wait for itself.
 * - A thread's writes commit in the order it made them: the queue is first in, first out,
 *   batches commit in order, a batch runs again whole, and pg_transact first waits for the
 *   writes queued before it (pg_write_wait).
 *
 * Threads: the fields of struct pg_writer under lock are shared with the calling threads; a
 * batch, once taken off the queue, is the writer thread's until its callbacks have run.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics/metrics.h"
#include "store/pg_int.h"
#include "util/cleanup.h"
#include "util/clock.h"
#include "util/worker.h"
#include "util/banned.h"

/* How many times a write of a batch that met a deadlock runs */
#define PG_CONFLICT_TRIES 3

static const char SQL_BEGIN[] = "BEGIN; SELECT txid_current()";
static const char SQL_TXID_STATUS[] = "SELECT txid_status($1)";

struct pg_write {
    pg_write_fn fn;
    pg_group_fn group; /* NULL: runs alone */
    void *arg;
    bool free_arg;
    const char *what;
    store_done_cb cb;
    void *ud;
    int result;
    struct err err;
    struct pg_write *next;
};

struct pg_writer {
    struct pg_store *st;
    pthread_t thread;
    size_t batch_max; /* writes in one transaction: PG_BATCH_MAX, a loader 1 */

    /* shared under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer waits for writes */
    pthread_cond_t room; /* callers wait for room in the queue */
    pthread_cond_t done; /* pg_write_wait waits for callbacks */
    struct pg_write *head, *tail;
    size_t queued;                 /* writes in the queue */
    uint64_t pending;              /* queued or being written */
    uint64_t seq_queued, seq_done; /* writes queued, and written and called back, so far */
    bool stopping;
};

/* ---- transactions ---- */

struct txn {
    pg_write_fn fn;
    void *arg;
    const char *what;
    int64_t xid;   /* the transaction's id, once begun */
    bool in_doubt; /* its COMMIT went out and the answer was lost */
};

/* BEGIN, fn, COMMIT on c. */
static int txn_attempt(struct pg_conn *c, struct txn *t, struct err *e)
{
    PGresult *res = PQexec(c->db, SQL_BEGIN);
    int r;

    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        r = pg_error(e, c, res, t->what);
        PQclear(res);
        return r;
    }
    t->xid = pg_col_int(res, 0, 0);
    PQclear(res);
    c->conflict = false;
    if ((r = t->fn(c, t->arg, e)) < 0)
        return r;
    if (PQtransactionStatus(c->db) == PQTRANS_INERROR) /* COMMIT would roll back, silently */
        return err_set(e, HE_STORE, NULL, "%s: the transaction failed", t->what);
    r = pg_exec(c, "COMMIT", t->what, e);
    t->in_doubt = r < 0 && pg_conn_lost(c);
    return r;
}

/* After a COMMIT whose answer was lost: 1 when its transaction committed, 0 when it did not (it
 * may run again), HE_UNAVAILABLE while that is not known yet. */
static int txn_settle(struct pg_conn *c, struct txn *t, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    const char *status;
    int r;

    pg_param_int(&p, t->xid);
    if ((r = pg_run(c, SQL_TXID_STATUS, &p, &res, t->what, e)) < 0)
        return r;
    status = PQntuples(res) == 1 && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "";
    if (strcmp(status, "committed") == 0)
        return 1;
    if (strcmp(status, "in progress") == 0)
        return err_set(e, HE_UNAVAILABLE, NULL,
                       "%s: the database is unreachable: a lost commit is still in progress",
                       t->what);
    t->in_doubt = false;
    return 0;
}

/* Runs t, again while its connection is lost, until deadline_us. */
static int txn_run(struct pg_store *st, struct txn *t, int64_t deadline_us, struct err *e)
{
    int backoff = PG_BACKOFF_MIN_MS, r;
    struct err tried;

    t->in_doubt = false;
    do {
        struct pg_conn *c;
        bool again;

        err_clear(&tried);
        if ((r = pg_acquire_until(st, deadline_us, &c, &tried)) < 0)
            break;
        r = t->in_doubt ? txn_settle(c, t, &tried) : 0;
        if (r == 0)
            r = txn_attempt(c, t, &tried);
        again = r < 0 && (pg_conn_lost(c) || t->in_doubt || c->conflict);
        pg_release(st, c); /* rolls back what a failure left open */
        if (!again)
            break;
    } while (pg_backoff(&backoff, deadline_us));
    if (r >= 0)
        return 0;
    if (t->in_doubt)
        return err_set(e, tried.code, NULL, "%s (whether the last commit went through is unknown)",
                       tried.msg);
    return pg_err_copy(e, &tried);
}

int pg_transact(struct store *s, pg_write_fn fn, void *arg, const char *what, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    struct txn t = {.fn = fn, .arg = arg, .what = what};

    pg_write_wait(st);
    return txn_run(st, &t, clock_mono_us() + PG_RETRY_MS * 1000LL, e);
}

/* ---- the writer ---- */

struct batch {
    struct pg_write *head;
    size_t n;
};

/* How many writes from w on share its group function (1 when it has none). */
static size_t group_len(const struct pg_write *w)
{
    size_t n = 1;

    if (w->group)
        for (const struct pg_write *x = w->next; x && x->group == w->group; x = x->next)
            n++;
    return n;
}

/* The k writes from w as one call of their group function, under the savepoint: 1 written, 0
 * failed and rolled back (each is to run alone), < 0 the batch failed. */
static int run_group(struct pg_conn *c, struct pg_write *w, size_t k, struct err *e)
{
    void *args[PG_BATCH_MAX];
    struct err tried = ERR_INIT;
    size_t i = 0;

    for (struct pg_write *x = w; i < k; x = x->next)
        args[i++] = x->arg;
    if (w->group(c, args, k, &tried) == 0)
        return 1;
    if (pg_conn_lost(c))
        return pg_err_copy(e, &tried);
    return pg_exec(c, "ROLLBACK TO w", "rolling a failed write back", e);
}

/* w under the savepoint (none when alone): 0 with w's result and error set, < 0 the batch
 * failed. A write that met a deadlock runs again (the other transaction was rolled back). */
static int run_one(struct pg_conn *c, struct pg_write *w, bool alone, struct err *e)
{
    int r;

    for (int tries = 1;; tries++) {
        c->conflict = false;
        if ((w->result = w->fn(c, w->arg, &w->err)) == 0)
            return 0;
        if (!w->err.code)
            err_set(&w->err, w->result, NULL, "%s failed", w->what);
        if (alone || pg_conn_lost(c)) /* alone: the transaction runs again on a conflict */
            return pg_err_copy(e, &w->err);
        if ((r = pg_exec(c, "ROLLBACK TO w", "rolling a failed write back", e)) < 0)
            return r;
        if (!c->conflict || tries == PG_CONFLICT_TRIES)
            return 0;
        w->result = 0;
        err_clear(&w->err);
    }
}

/* The batch's writes, each under its savepoint (a lone one without), a group of them under
 * one: a write that fails rolls back alone, keeping its error; a lost connection fails the
 * batch, which runs again whole. */
static int batch_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct batch *b = arg;
    bool alone = b->n == 1;
    size_t singly = 0; /* writes left of a group that failed: each runs alone */
    int r;

    for (struct pg_write *w = b->head; w; w = w->next) {
        w->result = 0;
        err_clear(&w->err);
    }
    for (struct pg_write *w = b->head; w; w = w->next) {
        size_t k = singly ? 1 : group_len(w);

        if (!alone && (r = pg_exec(c, w == b->head ? "SAVEPOINT w" : "RELEASE w; SAVEPOINT w",
                                   "keeping writes apart", e)) < 0)
            return r;
        if (k > 1) {
            if ((r = run_group(c, w, k, e)) < 0)
                return r;
            if (r == 1) {
                while (--k)
                    w = w->next;
                continue;
            }
            singly = k;
        }
        singly -= singly > 0;
        if ((r = run_one(c, w, alone, e)) < 0)
            return r;
    }
    return 0;
}

/* Commits the batch and calls each write back, in order, then frees it. */
static void write_batch(struct pg_writer *wr, struct batch *b, bool closing)
{
    struct txn t = {.fn = batch_fn, .arg = b, .what = b->n == 1 ? b->head->what : "committing"};
    int64_t wait_ms = closing ? PG_RETRY_MS : PG_WRITER_RETRY_MS;
    struct err e = ERR_INIT;
    size_t committed = 0;
    int r = txn_run(wr->st, &t, clock_mono_us() + wait_ms * 1000LL, &e);

    for (struct pg_write *w = b->head; w; w = w->next) {
        if (r < 0 && w->result == 0) { /* the batch failed: so did every write of it */
            size_t n = strlen(w->what);
            w->result = r;
            err_clear(&w->err);
            if (strncmp(e.msg, w->what, n) == 0 && e.msg[n] == ':')
                pg_err_copy(&w->err, &e);
            else
                err_set(&w->err, r, e.field[0] ? e.field : NULL, "%s: %s", w->what, e.msg);
        }
        committed += w->result == 0;
    }
    if (committed)
        metrics_store_commit(committed);
    for (struct pg_write *w = b->head, *next; w; w = next) {
        next = w->next;
        w->cb(w->ud, w->result, w->result < 0 ? &w->err : NULL);
        if (w->free_arg)
            free(w->arg);
        free(w);
    }
}

/* Takes up to batch_max writes off the queue (under lock). */
static struct batch take_batch(struct pg_writer *wr)
{
    struct batch b = {wr->head, 0};
    struct pg_write *last = NULL;

    for (struct pg_write *w = wr->head; w && b.n < wr->batch_max; w = w->next) {
        last = w;
        b.n++;
    }
    wr->head = last->next;
    if (!wr->head)
        wr->tail = NULL;
    last->next = NULL;
    wr->queued -= b.n;
    pthread_cond_broadcast(&wr->room);
    return b;
}

static void *writer_main(void *arg)
{
    struct pg_writer *wr = arg;

    pthread_mutex_lock(&wr->lock);
    for (;;) {
        struct batch b;
        bool closing;

        while (!wr->head && !wr->stopping)
            pthread_cond_wait(&wr->wake, &wr->lock);
        if (!wr->head)
            break;
        b = take_batch(wr);
        closing = wr->stopping;
        pthread_mutex_unlock(&wr->lock);

        write_batch(wr, &b, closing);

        pthread_mutex_lock(&wr->lock);
        wr->pending -= b.n;
        wr->seq_done += b.n;
        pthread_cond_broadcast(&wr->done);
    }
    pthread_mutex_unlock(&wr->lock);
    return NULL;
}

/* Whether the calling thread is one of the store's writers (or loaders). */
static bool on_writer(const struct pg_store *st)
{
    for (int i = 0; i < PG_WRITERS; i++)
        if (st->writers[i] && pthread_equal(pthread_self(), st->writers[i]->thread))
            return true;
    return false;
}

static int enqueue(struct pg_store *st, struct pg_writer *wr, struct pg_write *w, struct err *e)
{
    pthread_mutex_lock(&wr->lock);
    while (!wr->stopping && wr->queued >= PG_QUEUE_MAX && !on_writer(st))
        pthread_cond_wait(&wr->room, &wr->lock);
    if (wr->stopping) {
        pthread_mutex_unlock(&wr->lock);
        return err_set(e, HE_UNAVAILABLE, NULL, "%s: the store is closing", w->what);
    }
    if (wr->tail)
        wr->tail->next = w;
    else
        wr->head = w;
    wr->tail = w;
    wr->queued++;
    wr->pending++;
    wr->seq_queued++;
    pthread_cond_signal(&wr->wake);
    pthread_mutex_unlock(&wr->lock);
    return 0;
}

static int write_async(struct store *s, int writer, pg_write_fn fn, pg_group_fn group, void *arg,
                       bool free_arg, const char *what, store_done_cb cb, void *ud, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    struct pg_write *w;
    int r;

    if (!cb || !(w = calloc(1, sizeof(*w)))) {
        r = cb ? err_set(e, HE_NOMEM, NULL, NULL) : pg_transact(s, fn, arg, what, e);
        if (free_arg)
            free(arg);
        return r;
    }
    *w = (struct pg_write){.fn = fn,
                           .group = group,
                           .arg = arg,
                           .free_arg = free_arg,
                           .what = what,
                           .cb = cb,
                           .ud = ud};
    if ((r = enqueue(st, st->writers[writer], w, e)) < 0) {
        if (free_arg)
            free(arg);
        free(w);
    }
    return r;
}

int pg_write_async(struct store *s, pg_write_fn fn, void *arg, const char *what, store_done_cb cb,
                   void *ud, struct err *e)
{
    return write_async(s, 0, fn, NULL, arg, false, what, cb, ud, e);
}

int pg_load_async(struct store *s, pg_write_fn fn, void *arg, const char *what, store_done_cb cb,
                  void *ud, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    unsigned n = __atomic_fetch_add(&st->loads, 1, __ATOMIC_RELAXED);
    return write_async(s, 1 + (int)(n % PG_LOADERS), fn, NULL, arg, false, what, cb, ud, e);
}

int pg_write_async_group(struct store *s, pg_write_fn fn, pg_group_fn group, void *arg,
                         const char *what, store_done_cb cb, void *ud, struct err *e)
{
    return write_async(s, 0, fn, group, arg, false, what, cb, ud, e);
}

int pg_write_async_free(struct store *s, pg_write_fn fn, void *arg, const char *what,
                        store_done_cb cb, void *ud, struct err *e)
{
    return write_async(s, 0, fn, NULL, arg, true, what, cb, ud, e);
}

void pg_write_wait(struct pg_store *st)
{
    uint64_t target[PG_WRITERS];

    if (!st->writers[0] || on_writer(st))
        return;
    for (int i = 0; i < PG_WRITERS; i++) {
        pthread_mutex_lock(&st->writers[i]->lock);
        target[i] = st->writers[i]->seq_queued;
        pthread_mutex_unlock(&st->writers[i]->lock);
    }
    for (int i = 0; i < PG_WRITERS; i++) {
        struct pg_writer *wr = st->writers[i];
        pthread_mutex_lock(&wr->lock);
        while (wr->seq_done < target[i])
            pthread_cond_wait(&wr->done, &wr->lock);
        pthread_mutex_unlock(&wr->lock);
    }
}

uint64_t pg_writer_pending(struct pg_store *st)
{
    uint64_t n = 0;

    for (int i = 0; i < PG_WRITERS; i++) {
        struct pg_writer *wr = st->writers[i];
        if (!wr)
            continue;
        pthread_mutex_lock(&wr->lock);
        n += wr->pending;
        pthread_mutex_unlock(&wr->lock);
    }
    return n;
}

static void writer_free(struct pg_writer *wr)
{
    pthread_cond_destroy(&wr->wake);
    pthread_cond_destroy(&wr->room);
    pthread_cond_destroy(&wr->done);
    pthread_mutex_destroy(&wr->lock);
    free(wr);
}

static int writer_start(struct pg_store *st, int i, struct err *e)
{
    struct pg_writer *wr = calloc(1, sizeof(*wr));

    if (!wr)
        return err_set(e, HE_NOMEM, NULL, NULL);
    wr->st = st;
    /* A loader's slice waits for the slice before it to commit (pg_load.c): two slices in one
     * transaction would wait for each other. */
    wr->batch_max = i ? 1 : PG_BATCH_MAX;
    pthread_mutex_init(&wr->lock, NULL);
    pthread_cond_init(&wr->wake, NULL);
    pthread_cond_init(&wr->room, NULL);
    pthread_cond_init(&wr->done, NULL);
    /* set before the thread starts: on_writer reads it from the others */
    st->writers[i] = wr;
    if (!worker_start(&wr->thread, writer_main, wr, i ? "hetu-pg-loader" : "hetu-pg-writer")) {
        st->writers[i] = NULL;
        writer_free(wr);
        return err_set(e, HE_INTERNAL, NULL, "cannot start the store's writer threads");
    }
    return 0;
}

int pg_writer_start(struct pg_store *st, struct err *e)
{
    for (int i = 0; i < PG_WRITERS; i++) {
        int r = writer_start(st, i, e);
        if (r < 0) {
            pg_writer_stop(st);
            return r;
        }
    }
    return 0;
}

void pg_writer_stop(struct pg_store *st)
{
    /* the loaders first: what they call back may queue on the writer */
    for (int i = PG_WRITERS - 1; i >= 0; i--) {
        struct pg_writer *wr = st->writers[i];
        if (!wr)
            continue;
        worker_raise(&wr->lock, &wr->stopping, &wr->wake, &wr->room);
        pthread_join(wr->thread, NULL);
        st->writers[i] = NULL;
        writer_free(wr);
    }
}
