/* SPDX-License-Identifier: MIT */
/*
 * The server's watch thread: every 200 ms it resumes streams that have more to say, looks at
 * suspended requests whose client may have left (their work is cancelled through the request's
 * cancel hook) and at file uploads still arriving (http/uploads.c), and once nothing has run for
 * a second it gives freed memory back to the system. The list of watched requests and the idle
 * streams are under srv->watch_lock; a watched request cannot be freed while it is listed.
 */
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "http/server_int.h"
#include "http/uploads.h"
#include "util/clock.h"

#include "util/banned.h"

void http_watch_add(struct http_server *srv, struct http_req *req)
{
    pthread_mutex_lock(&srv->watch_lock);
    req->watch.prev = NULL;
    req->watch.next = srv->watched;
    if (srv->watched)
        srv->watched->watch.prev = req;
    srv->watched = req;
    req->watch.on = true;
    pthread_mutex_unlock(&srv->watch_lock);
}

void http_watch_remove(struct http_server *srv, struct http_req *req)
{
    pthread_mutex_lock(&srv->watch_lock);
    if (req->watch.on) {
        if (req->watch.prev)
            req->watch.prev->watch.next = req->watch.next;
        else
            srv->watched = req->watch.next;
        if (req->watch.next)
            req->watch.next->watch.prev = req->watch.prev;
        req->watch.on = false;
    }
    pthread_mutex_unlock(&srv->watch_lock);
}

int http_req_fd(struct http_req *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

bool http_client_gone(struct http_req *req)
{
    struct pollfd p;

    if ((p.fd = http_req_fd(req)) < 0)
        return false;
    p.events = POLLRDHUP;
    p.revents = 0;
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* What the watch thread knows of the server's idleness. */
struct idle_state {
    uint64_t ended;   /* requests ended when last looked at */
    int64_t since_us; /* when nothing was in flight and no request had ended since */
    uint64_t trimmed; /* requests ended at the last trim */
};

/* Gives freed memory back to the system once, when nothing has run for a second after some
 * requests ended (bursts of uploads leave the allocator's arenas large). */
static void trim_when_idle(struct http_server *srv, struct idle_state *st, int64_t now_us)
{
    uint64_t ended = atomic_load(&srv->ended);

    if (atomic_load(&srv->inflight) > 0 || ended != st->ended) {
        st->ended = ended;
        st->since_us = now_us;
        return;
    }
    if (ended != st->trimmed && now_us - st->since_us >= 1000000) {
        malloc_trim(0);
        st->trimmed = ended;
    }
}

void *http_watch_main(void *arg)
{
    struct http_server *srv = arg;
    struct idle_state idle = {0};

    pthread_mutex_lock(&srv->watch_lock);
    while (!srv->watch_stop) {
        struct timespec ts;
        clock_deadline(200, &ts);
        pthread_cond_timedwait(&srv->watch_cond, &srv->watch_lock, &ts);
        while (srv->idle_streams) {
            struct stream *st = srv->idle_streams;
            srv->idle_streams = st->idle_next;
            st->idle = false;
            MHD_resume_connection(st->conn);
        }
        int64_t now = clock_mono_us();
        trim_when_idle(srv, &idle, now);
        for (struct http_req *req = srv->watched; req; req = req->watch.next) {
            if (uploads_watch(req, now))
                continue;
            if (atomic_load(&req->susp.cancelled) || !req->susp.cancel_cb || !http_client_gone(req))
                continue;
            atomic_store(&req->susp.cancelled, true);
            /* Safe under watch_lock: the request cannot complete and be freed until it is
             * removed from this list, which takes the same lock. */
            req->susp.cancel_cb(req->susp.cancel_ud);
        }
    }
    pthread_mutex_unlock(&srv->watch_lock);
    return NULL;
}
