/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: the listener, one thread per store with a connection of its own.
 *
 * DESIGN
 * - It LISTENs on hetu_jobs and, on each notification of another server (it changed a job:
 *   pg_notify_job, whose payload names the server), calls store_wake_watchers. This server's
 *   own changes wake its workers where they are made, once the answer is built, as on SQLite.
 *   After it reconnects it wakes them once too, for what it may have missed meanwhile.
 * - From this server's first claim on (pg_listen_arm, from job_pending and job_hold, which come
 *   after struct store's owner and lease_ms are set), it renews this server's lease (its row in
 *   hetu_servers, which every claim of this server lasts by) every third of lease_ms.
 * - When the database goes away it reconnects with a backoff (100 ms doubling to 5 s), logging
 *   nothing (library code never logs; /healthz reports the database). It waits only in poll(),
 *   on its socket and on a pipe that pg_listen_arm and pg_listen_stop write to, so it renews
 *   from the first claim on and the store closes at once.
 * - pg_listen_stop joins the thread and then ends this server's lease and gives up its claims
 *   and holds, so a server that stops cleanly leaves its items to the others at once.
 *
 * Threads: the fields under `lock` are shared with the calling threads (pg_listen_arm); the
 * rest belong to the listener thread between start and stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/pg_int.h"
#include "store/store_int.h"
#include "util/cleanup.h"
#include "util/banned.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
/* How long the thread sleeps when it has nothing to renew. */
#define IDLE_WAIT_MS 1000

static const char SQL_LISTEN[] = "LISTEN " PG_JOBS_CHANNEL;
static const char SQL_RENEW[] =
    "INSERT INTO hetu_servers (owner, lease_until) VALUES ($1, " PG_NOW_US " + $2::bigint) "
    "ON CONFLICT (owner) DO UPDATE SET lease_until = excluded.lease_until";
/* Servers whose lease ended an hour ago: what they claimed is free with or without them. */
static const char SQL_FORGET_GONE[] =
    "DELETE FROM hetu_servers WHERE lease_until < " PG_NOW_US " - 3600000000";
static const char SQL_END_LEASE[] = "DELETE FROM hetu_servers WHERE owner = $1";
static const char SQL_FREE_ITEMS[] = "UPDATE job_items SET claimed_by = NULL WHERE claimed_by = $1";
static const char SQL_FREE_HOLDS[] = "UPDATE jobs SET owner = NULL WHERE owner = $1";

struct pg_listener {
    struct pg_store *st;
    pthread_t thread;
    int pipe[2]; /* a byte: look at the shared fields again */

    /* shared under lock */
    pthread_mutex_t lock;
    bool stopping;
    bool armed;     /* this server has a lease: renew it */
    char owner[64]; /* struct store's, copied when armed */
    int64_t lease_ms;

    /* the listener thread's */
    PGconn *db;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void poke(struct pg_listener *l)
{
    ssize_t n;
    do
        n = write(l->pipe[1], "x", 1);
    while (n < 0 && errno == EINTR);
}

/* After the pipe was readable: drains it and says whether to stop. */
static bool poked_to_stop(struct pg_listener *l)
{
    char buf[16];
    bool stop;

    while (read(l->pipe[0], buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&l->lock);
    stop = l->stopping;
    pthread_mutex_unlock(&l->lock);
    return stop;
}

/* Waits up to ms for the socket fd (-1: none) or the pipe: 1 stop, 2 armed meanwhile, 0 the
 * socket or the time. */
static int wait_for(struct pg_listener *l, int fd, int64_t ms)
{
    struct pollfd p[2] = {{.fd = l->pipe[0], .events = POLLIN}, {.fd = fd, .events = POLLIN}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms < 0 ? 0 : (int)ms);

    if (n > 0 && (p[0].revents & POLLIN))
        return poked_to_stop(l) ? 1 : 2;
    return 0;
}

static void drop(struct pg_listener *l)
{
    PQfinish(l->db);
    l->db = NULL;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Connects without blocking past a stop: 0 connected, -1 failed, 1 stop. */
static int connect_db(struct pg_listener *l)
{
    PostgresPollingStatusType s = PGRES_POLLING_WRITING;
    PGresult *res;

    if (!(l->db = PQconnectStart(l->st->conninfo)) || PQstatus(l->db) == CONNECTION_BAD)
        goto fail;
    while (s != PGRES_POLLING_OK) {
        int fd = PQsocket(l->db);
        struct pollfd p[2] = {{.fd = l->pipe[0], .events = POLLIN},
                              {.fd = fd, .events = s == PGRES_POLLING_READING ? POLLIN : POLLOUT}};
        if (s == PGRES_POLLING_FAILED || fd < 0)
            goto fail;
        if (poll(p, 2, BACKOFF_MAX_MS) > 0 && (p[0].revents & POLLIN) && poked_to_stop(l)) {
            drop(l);
            return 1;
        }
        s = PQconnectPoll(l->db);
    }
    PQsetNoticeProcessor(l->db, ignore_notice, NULL);
    res = PQexec(l->db, SQL_LISTEN);
    if (!res || PQresultStatus(res) != PGRES_COMMAND_OK) {
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    return 0;
fail:
    drop(l);
    return -1;
}

/* Runs an owner-wide UPDATE (owner, then lease in microseconds when with_lease): 0 or -1. */
static int owner_update(PGconn *db, const char *sql, const char *owner, int64_t lease_ms,
                        bool with_lease)
{
    char lease[24];
    const char *v[2] = {owner, lease};
    PGresult *res;
    bool ok;

    snprintf(lease, sizeof(lease), "%lld", (long long)(lease_ms * 1000));
    res = PQexecParams(db, sql, with_lease ? 2 : 1, NULL, v, NULL, NULL, 0);
    ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

/* Renews this server's lease when it has one: 0, or -1 (the connection failed). */
static int renew(struct pg_listener *l)
{
    char owner[64];
    int64_t lease_ms;
    bool armed;

    pthread_mutex_lock(&l->lock);
    armed = l->armed;
    memcpy(owner, l->owner, sizeof(owner));
    lease_ms = l->lease_ms;
    pthread_mutex_unlock(&l->lock);
    if (!armed)
        return 0;
    return owner_update(l->db, SQL_RENEW, owner, lease_ms, true);
}

static int64_t renew_every(struct pg_listener *l)
{
    int64_t ms = IDLE_WAIT_MS;

    pthread_mutex_lock(&l->lock);
    if (l->armed && l->lease_ms > 0)
        ms = l->lease_ms / 3;
    pthread_mutex_unlock(&l->lock);
    return ms > 0 ? ms : 1;
}

/* Reads what arrived: 0, or -1 when the connection is gone. */
static int take_notifications(struct pg_listener *l)
{
    PGnotify *n;
    int got = 0;

    if (!PQconsumeInput(l->db) || PQstatus(l->db) != CONNECTION_OK)
        return -1;
    while ((n = PQnotifies(l->db))) {
        const char *from = strchr(n->extra, ' ');
        if (!from || strcmp(from + 1, l->st->base.owner) != 0)
            got++;
        PQfreemem(n);
    }
    if (got)
        store_wake_watchers(&l->st->base);
    return 0;
}

/* Serves one connection until it fails (0) or a stop (1). */
static int serve(struct pg_listener *l, bool again)
{
    int64_t next = mono_ms();

    if (again) /* what changed while this server was not listening */
        store_wake_watchers(&l->st->base);
    for (;;) {
        int64_t now = mono_ms();
        int woke;

        if (now >= next) {
            if (renew(l) < 0)
                return 0;
            next = now + renew_every(l);
        }
        if (take_notifications(l) < 0) /* those that came during the renewal too */
            return 0;
        if ((woke = wait_for(l, PQsocket(l->db), next - now)) == 1)
            return 1;
        if (woke == 2) /* armed: the next renewal a third of the lease from now */
            next = now + renew_every(l);
    }
}

static void *listen_main(void *arg)
{
    struct pg_listener *l = arg;
    int64_t backoff = BACKOFF_MIN_MS;
    bool again = false; /* a reconnection (the first connection misses nothing) */

    for (;;) {
        int r = connect_db(l);
        if (r == 1)
            break;
        if (r == 0) {
            backoff = BACKOFF_MIN_MS;
            r = serve(l, again);
            again = true;
            drop(l);
            if (r == 1)
                break;
        }
        if (wait_for(l, -1, backoff) == 1)
            break;
        /* at most a third of a lease apart: back within the grace a restarted database gives
         * the leases (pg_jobs.c), the lease is renewed before another server takes its claims */
        backoff = backoff * 2 < BACKOFF_MAX_MS ? backoff * 2 : BACKOFF_MAX_MS;
        if (backoff > renew_every(l))
            backoff = renew_every(l);
    }
    return NULL;
}

int pg_listen_start(struct pg_store *st, struct err *e)
{
    struct pg_listener *l = calloc(1, sizeof(*l));

    if (!l)
        return err_set(e, HE_NOMEM, NULL, NULL);
    l->st = st;
    if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        free(l);
        return err_set(e, HE_INTERNAL, NULL, "starting the job listener: %s", strerror(errno));
    }
    pthread_mutex_init(&l->lock, NULL);
    if (pthread_create(&l->thread, NULL, listen_main, l) != 0) {
        close(l->pipe[0]);
        close(l->pipe[1]);
        pthread_mutex_destroy(&l->lock);
        free(l);
        return err_set(e, HE_INTERNAL, NULL, "starting the job listener");
    }
    st->listener = l;
    return 0;
}

int pg_listen_arm(struct pg_store *st, struct err *e)
{
    struct pg_listener *l = st->listener;
    _cleanup_result_ PGresult *res = NULL;
    _cleanup_result_ PGresult *gone = NULL;
    struct pg_params p = {0};
    bool current;
    int r;

    if (!l)
        return 0;
    pthread_mutex_lock(&l->lock);
    current = l->armed && l->lease_ms == st->base.lease_ms;
    pthread_mutex_unlock(&l->lock);
    if (current)
        return 0;
    /* the claim that follows must find this server live: the lease starts here */
    pg_param_text(&p, st->base.owner);
    pg_param_int(&p, st->base.lease_ms * 1000);
    if ((r = pg_query(st, SQL_RENEW, &p, &res, "starting this server's lease", e)) < 0 ||
        (r = pg_query(st, SQL_FORGET_GONE, NULL, &gone, "starting this server's lease", e)) < 0)
        return r;
    pthread_mutex_lock(&l->lock);
    snprintf(l->owner, sizeof(l->owner), "%s", st->base.owner);
    l->lease_ms = st->base.lease_ms;
    l->armed = true;
    pthread_mutex_unlock(&l->lock);
    poke(l); /* renew from now on, every third of the lease */
    return 0;
}

/* Ends this server's lease and gives up its claims and holds (best effort: when the database
 * is away the lease runs out by itself). */
static void release_claims(struct pg_listener *l)
{
    struct pg_conn *c;
    struct err e;

    err_clear(&e);
    if (!l->armed || pg_acquire(l->st, &c, &e) < 0)
        return;
    owner_update(c->db, SQL_END_LEASE, l->owner, 0, false);
    owner_update(c->db, SQL_FREE_ITEMS, l->owner, 0, false);
    owner_update(c->db, SQL_FREE_HOLDS, l->owner, 0, false);
    pg_release(l->st, c);
}

void pg_listen_stop(struct pg_store *st)
{
    struct pg_listener *l = st->listener;

    if (!l)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = true;
    pthread_mutex_unlock(&l->lock);
    poke(l);
    pthread_join(l->thread, NULL);
    release_claims(l);
    close(l->pipe[0]);
    close(l->pipe[1]);
    pthread_mutex_destroy(&l->lock);
    free(l);
    st->listener = NULL;
}
