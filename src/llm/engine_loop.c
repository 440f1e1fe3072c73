/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. The engine thread's loop, curl's socket-action way (curl docs/examples/
 * ephiperfifo.c): epoll over the sockets of every shard's multi handle plus an eventfd that
 * other threads write to wake the thread, and curl_multi_socket_action on the socket's own multi
 * for the ready sockets only, so the cost of a wake-up does not grow with the number of calls in
 * flight. Each turn takes new submissions and cancels, moves due timers back to their lanes,
 * starts what the lanes allow, sleeps until the earliest of a socket event, a timer, a lane that
 * may start and curl's own timeouts, then hands ended transfers to engine_outcome.c.
 *
 * Owns the shards (multi handles), the epoll set, the eventfd and the socket registrations; all
 * of it is the engine thread's alone, except that engine_wake may be called from any thread.
 */
#include <curl/curl.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "llm/engine_int.h"
#include "util/clock.h"

#include "util/banned.h"

/*
 * Socket registration. curl says REMOVE when a transfer ends and its connection goes idle in
 * the cache, and IN again when the next transfer reuses it; following that literally costs an
 * epoll_ctl DEL and ADD per call. Instead a registered socket stays in the epoll set with its
 * last events while idle (fds[fd].want == 0): the next IN needs no system call. An event on an
 * idle socket (the server closed it) takes it out of the set; the close-socket hook forgets a
 * socket curl closes, so a new socket that reuses the number is added afresh.
 */
struct fd_slot {
    uint8_t reg;   /* events registered in epoll (EPOLLIN/EPOLLOUT bits as CURL_POLL_*), 0: none */
    uint8_t want;  /* what curl wants now; 0: idle */
    uint8_t shard; /* the multi handle whose connection it is */
};

void engine_wake(struct llm_engine *eng)
{
    uint64_t one = 1;
    ssize_t n;

    /* the engine thread itself (a callback submitting more) looks at the queue before it
     * sleeps again */
    if (eng->thread_started && pthread_equal(pthread_self(), eng->thread)) {
        eng->self_woken = true;
        return;
    }
    n = write(eng->evfd, &one, sizeof(one));
    (void)n;
}

static struct fd_slot *fd_slot(struct llm_engine *eng, curl_socket_t s)
{
    if (s < 0)
        return NULL;
    if ((size_t)s >= eng->n_fds) {
        size_t n = eng->n_fds ? eng->n_fds : 1024;
        struct fd_slot *f;
        while (n <= (size_t)s)
            n *= 2;
        f = realloc(eng->fds, n * sizeof(*f));
        if (!f)
            return NULL;
        memset(f + eng->n_fds, 0, (n - eng->n_fds) * sizeof(*f));
        eng->fds = f;
        eng->n_fds = n;
    }
    return &eng->fds[s];
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct shard *sh = userp;
    struct llm_engine *eng = sh->eng;
    struct fd_slot *f = fd_slot(eng, s);
    struct epoll_event ev = {0};
    (void)easy;
    (void)socketp;

    if (!f)
        return -1;
    if (what == CURL_POLL_REMOVE) {
        f->want = 0;
        return 0;
    }
    f->want = (uint8_t)what;
    f->shard = (uint8_t)(sh - eng->shards);
    if (f->reg == f->want)
        return 0;
    ev.data.fd = s;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (epoll_ctl(eng->epfd, f->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) < 0) {
        /* the slot was stale: the socket number was reused behind our back */
        if (epoll_ctl(eng->epfd, errno == ENOENT ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev) < 0)
            return -1;
    }
    f->reg = f->want;
    return 0;
}

int engine_close_cb(void *clientp, curl_socket_t s)
{
    struct llm_engine *eng = clientp;
    if (s >= 0 && (size_t)s < eng->n_fds)
        eng->fds[s] = (struct fd_slot){0, 0, 0};
    return close(s);
}

/* An event on a socket curl does not watch: forget it until curl wants it again. */
static bool idle_event(struct llm_engine *eng, int fd)
{
    if (fd < 0 || (size_t)fd >= eng->n_fds || eng->fds[fd].want != 0)
        return false;
    epoll_ctl(eng->epfd, EPOLL_CTL_DEL, fd, NULL);
    eng->fds[fd].reg = 0;
    return true;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct shard *sh = userp;
    (void)multi;
    sh->deadline_us = timeout_ms < 0 ? -1 : clock_mono_us() + timeout_ms * 1000;
    return 0;
}

/* Creates n shards and the epoll set with the eventfd in it. */
int engine_shards_init(struct llm_engine *eng, size_t n, struct err *e)
{
    struct epoll_event ev = {.events = EPOLLIN};

    while (eng->n_shards < n) {
        struct shard *sh = &eng->shards[eng->n_shards];
        if (!(sh->multi = curl_multi_init()))
            return err_set(e, HE_NOMEM, NULL, NULL);
        eng->n_shards++;
        sh->eng = eng;
        sh->deadline_us = -1;
        curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, eng->maxconnects);
        curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
        curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
    }
    eng->epfd = epoll_create1(EPOLL_CLOEXEC);
    eng->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    ev.data.fd = eng->evfd;
    if (eng->epfd < 0 || eng->evfd < 0 || epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->evfd, &ev) < 0)
        return err_set(e, HE_INTERNAL, NULL, "engine: epoll/eventfd: %s", strerror(errno));
    return 0;
}

/* Moves the calls whose backoff has passed to the front of their lanes. */
static void fire_timers(struct llm_engine *eng, int64_t now)
{
    struct delay_heap_node *n;
    while ((n = delay_heap_pop_due(&eng->timers, now))) {
        struct call *c = call_of_delay(n);
        lane_push_front(eng, c->lane, c);
    }
}

/* Starts what the lanes allow; returns the earliest time a waiting lane may start (or -1). */
static int64_t schedule(struct llm_engine *eng, int64_t now)
{
    int64_t next = -1;
    for (struct lane *l = eng->lanes; l; l = l->next) {
        while (l->head && llm_window_open(&l->win)) {
            int64_t at = 0, w;
            if (l->hold_until > now)
                at = l->hold_until;
            if ((w = llm_bucket_wait(&l->rpm, 1, now)) > 0 && now + w > at)
                at = now + w;
            if ((w = llm_bucket_wait(&l->tpm, 2, now)) > 0 && now + w > at)
                at = now + w;
            if (at > 0) {
                if (next < 0 || at < next)
                    next = at;
                break;
            }
            llm_bucket_refill(&l->rpm, now);
            llm_bucket_refill(&l->tpm, now);
            struct call *c = l->head;
            l->head = c->next;
            if (!l->head)
                l->tail = NULL;
            c->next = NULL;
            xfer_start(eng, c);
        }
    }
    return next;
}

static void drain_done(struct llm_engine *eng)
{
    CURLMsg *m;
    int left;
    for (size_t i = 0; i < eng->n_shards; i++) {
        while ((m = curl_multi_info_read(eng->shards[i].multi, &left))) {
            struct call *c = NULL;
            if (m->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
            if (c)
                outcome_on_done(eng, c, m->data.result);
        }
    }
}

static int64_t earliest(int64_t a, int64_t b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static int wait_ms(int64_t deadline, int64_t now)
{
    int64_t d;
    if (deadline < 0)
        return 1000;
    if (deadline <= now)
        return 0;
    d = (deadline - now + 999) / 1000;
    return d > 1000 ? 1000 : (int)d;
}

/* Hands the ready sockets of one epoll_wait to curl. */
static void on_events(struct llm_engine *eng, const struct epoll_event *evs, int n)
{
    int running;

    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd, flags = 0;
        if (fd == eng->evfd) {
            uint64_t v;
            ssize_t r = read(eng->evfd, &v, sizeof(v));
            (void)r;
            continue;
        }
        if (idle_event(eng, fd))
            continue;
        if (evs[i].events & EPOLLIN)
            flags |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            flags |= CURL_CSELECT_OUT;
        if (evs[i].events & (EPOLLERR | EPOLLHUP))
            flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(eng->shards[eng->fds[fd].shard].multi, fd, flags, &running);
    }
}

static void loop(struct llm_engine *eng)
{
    struct epoll_event evs[256];
    int running;

    for (;;) {
        int64_t now = clock_mono_us(), next;
        if (engine_take_incoming(eng))
            return;
        fire_timers(eng, now);
        next = earliest(schedule(eng, now), delay_heap_next(&eng->timers));
        for (size_t i = 0; i < eng->n_shards; i++)
            next = earliest(next, eng->shards[i].deadline_us);
        int n = epoll_wait(eng->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
                           eng->self_woken ? 0 : wait_ms(next, clock_mono_us()));
        eng->self_woken = false;
        on_events(eng, evs, n);
        for (size_t i = 0; i < eng->n_shards; i++) {
            struct shard *sh = &eng->shards[i];
            if (sh->deadline_us >= 0 && sh->deadline_us <= clock_mono_us()) {
                sh->deadline_us = -1;
                curl_multi_socket_action(sh->multi, CURL_SOCKET_TIMEOUT, 0, &running);
            }
        }
        drain_done(eng);
    }
}

void *engine_main(void *arg)
{
    struct llm_engine *eng = arg;

    loop(eng);
    /* stopping: everything left is cancelled */
    engine_take_incoming(eng);
    while (eng->all)
        call_cancel(eng, eng->all, "cancelled: the engine is stopping");
    return NULL;
}
