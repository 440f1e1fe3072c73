/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. One engine thread owns the curl multi handles (see struct shard), every call object,
 * every lane and every timer; other threads touch only the submission queue and the cancel list
 * (llm_engine.mu), the lane list for llm_engine_window (llm_engine.lanes_mu) and the atomic
 * statistics, and wake the thread through an eventfd. engine_int.h lists the parts: this file
 * has submission and cancellation, the call state machine, lanes, completion and the engine's
 * life cycle; engine_loop.c the thread's loop; engine_xfer.c one HTTP attempt and the keys;
 * engine_outcome.c what an ended attempt means.
 *
 * A call is a small state machine with one setter (call_set_state; HETU_LLM_TRACE=1 in the
 * environment prints every change on stderr):
 *   QUEUED (submitted, not yet seen) -> WAITING (in its lane's FIFO) -> RUNNING (an HTTP
 *   attempt in curl) -> DONE (callback made, freed)
 *   RUNNING -> DELAYED (backoff timer in the heap) -> WAITING, and RUNNING -> WAITING for an
 *   immediate re-try (a step down the structured-output ladder, a schema re-ask, a cut-off
 *   answer asked again with a larger output limit).
 * An attempt that ended leaves curl as WAITING (xfer_detach) before engine_outcome.c decides
 * where it goes, so a trace shows RUNNING -> WAITING -> DELAYED for a backoff, and a call that
 * succeeds or fails goes WAITING -> DONE. Every state can go to DONE through cancellation.
 *
 * A lane is one (provider, model): its AIMD window, request and token buckets, a hold time
 * from Retry-After / x-ratelimit-* headers, and a FIFO of waiting calls. The scheduler starts
 * calls from a lane while its window is open and its buckets allow.
 *
 * Callbacks run on this thread and never inside a curl callback; a call is freed only after
 * its callback returned.
 */
#include "llm/engine.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llm/engine_int.h"
#include "llm/schema.h"
#include "util/clock.h"
#include "util/log.h"

#include "util/banned.h"

static const char *const call_state_names[] = {
#define X(name, text) [CS_##name] = text,
    CALL_STATES(X)
#undef X
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

void engine_count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

double engine_rnd(struct llm_engine *eng)
{
    /* xorshift64* */
    uint64_t x = eng->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    eng->rng = x;
    return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ---- calls ---- */

static void call_free(struct call *c)
{
    for (size_t i = 0; i < c->n_extra; i++)
        free((char *)c->extra[i].content);
    schema_unref(c->schema);
    buf_done(&c->cut);
    free(c);
}

/* The one place a call changes state. */
void call_set_state(struct llm_engine *eng, struct call *c, enum call_state s)
{
    if (eng->trace)
        fprintf(stderr, "hetu-llm: call %llu %s/%s: %s -> %s (attempt %d)\n",
                (unsigned long long)c->id, c->provider, c->model, call_state_names[c->state],
                call_state_names[s], c->attempts);
    c->state = s;
}

/* ---- lanes ---- */

static struct lane *lane_get(struct llm_engine *eng, const struct llm_provider_cfg *prov,
                             const char *model)
{
    struct lane *l;
    for (l = eng->lanes; l; l = l->next)
        if (l->prov == prov && strcmp(l->model, model) == 0)
            return l;
    l = calloc(1, sizeof(*l));
    if (!l || !(l->model = strdup(model))) {
        free(l);
        return NULL;
    }
    l->prov = prov;
    llm_config_limits(prov, model, &l->lim);
    llm_price_of(prov, model, &l->price);
    llm_window_init(&l->win, l->lim.concurrency);
    llm_bucket_init(&l->rpm, l->lim.rpm, clock_mono_us());
    llm_bucket_init(&l->tpm, l->lim.tpm, clock_mono_us());
    l->learned = LLM_SO_NONE;
    l->metrics = metrics_pm_slot(prov->name, model);
    atomic_store(&l->window_now, (int)l->win.size);
    pthread_mutex_lock(&eng->lanes_mu);
    l->next = eng->lanes;
    eng->lanes = l;
    pthread_mutex_unlock(&eng->lanes_mu);
    eng->maxconnects += l->lim.concurrency;
    for (size_t i = 0; i < eng->n_shards; i++)
        curl_multi_setopt(eng->shards[i].multi, CURLMOPT_MAXCONNECTS, eng->maxconnects);
    return l;
}

static void lane_push_back(struct llm_engine *eng, struct lane *l, struct call *c)
{
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    call_set_state(eng, c, CS_WAITING);
}

void lane_push_front(struct llm_engine *eng, struct lane *l, struct call *c)
{
    c->next = l->head;
    l->head = c;
    if (!l->tail)
        l->tail = c;
    call_set_state(eng, c, CS_WAITING);
}

static void lane_unlink(struct lane *l, struct call *c)
{
    struct call **pp = &l->head, *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (!*pp)
        return;
    *pp = c->next;
    if (l->tail == c)
        l->tail = prev;
    c->next = NULL;
}

void lane_window_changed(struct lane *l)
{
    atomic_store_explicit(&l->window_now, (int)l->win.size, memory_order_relaxed);
}

int call_output_limit(const struct call *c)
{
    if (c->dropped & LLM_PARAM_MAX_TOKENS)
        return 0;
    if (c->max_tokens > 0)
        return c->max_tokens;
    return c->prov->info->flavour == LLM_ANTHROPIC_MESSAGES ? LLM_ANTHROPIC_DEFAULT_MAX_TOKENS : 0;
}

/* ---- completion ---- */

void call_finish(struct llm_engine *eng, struct call *c, struct llm_result *res)
{
    xfer_release(eng, c);
    res->provider = c->provider;
    res->model = c->model;
    res->usage = c->usage;
    res->http_status = c->http_status;
    res->attempts = c->attempts;
    res->max_tokens = call_output_limit(c);
    if (!res->method)
        res->method = c->schema ? c->method : LLM_SO_NONE;
    res->elapsed_us = clock_mono_us() - c->submitted_us;
    metrics_llm_call(c->lane ? c->lane->metrics : metrics_pm_slot(c->provider, c->model), res->code,
                     c->usage.input_tokens, c->usage.output_tokens, c->usage.cost);
    if (res->code) {
        xfer_redact(res->err.msg, sizeof(res->err.msg), c->prov ? c->prov->api_key : NULL);
        engine_count(res->code == HE_CANCELLED ? &eng->st_cancelled : &eng->st_failed, 1);
    } else {
        engine_count(&eng->st_succeeded, 1);
    }
    /* unlink from the live list before the callback, free after it */
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        eng->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    call_set_state(eng, c, CS_DONE);
    /* what the callback logs or submits next works for the same request */
    log_set_request(c->request_id[0] ? c->request_id : NULL);
    c->cb(c->ud, res);
    log_set_request(NULL);
    call_free(c);
}

void call_fail(struct llm_engine *eng, struct call *c, int code, const char *fmt, ...)
{
    struct llm_result res;
    va_list ap;

    memset(&res, 0, sizeof(res));
    res.code = code;
    va_start(ap, fmt);
    err_setv(&res.err, code, NULL, fmt, ap);
    va_end(ap);
    call_finish(eng, c, &res);
}

/* Removes c from wherever it waits, then fails it. */
void call_cancel(struct llm_engine *eng, struct call *c, const char *why)
{
    switch (c->state) {
    case CS_WAITING: lane_unlink(c->lane, c); break;
    case CS_DELAYED: delay_heap_remove(&eng->timers, &c->delay); break;
    case CS_RUNNING: xfer_detach(eng, c); break;
    default: break;
    }
    xfer_release(eng, c);
    call_fail(eng, c, HE_CANCELLED, "provider %s model %s: %s", c->provider, c->model, why);
}

/* ---- submissions and cancels ---- */

static void remember_cancel(struct llm_engine *eng, uint64_t group)
{
    eng->cancelled[eng->n_cancelled++ % CANCEL_MEMORY] = group;
    eng->last_cancel_us = clock_mono_us();
}

static bool group_cancelled(const struct llm_engine *eng, uint64_t group)
{
    size_t n = eng->n_cancelled < CANCEL_MEMORY ? eng->n_cancelled : CANCEL_MEMORY;

    if (!group || n == 0 || clock_mono_us() - eng->last_cancel_us > CANCEL_MEMORY_US)
        return false;
    for (size_t i = 0; i < n; i++)
        if (eng->cancelled[i] == group)
            return true;
    return false;
}

/* Applies new submissions and cancels; returns true when stopping. */
bool engine_take_incoming(struct llm_engine *eng)
{
    struct call *in;
    uint64_t *cancels;
    size_t n_cancels;
    bool stopping;

    pthread_mutex_lock(&eng->mu);
    in = eng->in_head;
    eng->in_head = eng->in_tail = NULL;
    cancels = eng->cancels;
    n_cancels = eng->n_cancels;
    eng->cancels = NULL;
    eng->n_cancels = eng->cap_cancels = 0;
    stopping = eng->stopping;
    pthread_mutex_unlock(&eng->mu);

    for (size_t i = 0; i < n_cancels; i++)
        remember_cancel(eng, cancels[i]);
    while (in) {
        struct call *c = in;
        in = c->next;
        c->next = NULL;
        c->id = ++eng->next_id;
        c->all_prev = NULL;
        c->all_next = eng->all;
        if (eng->all)
            eng->all->all_prev = c;
        eng->all = c;
        if (group_cancelled(eng, c->group)) {
            call_cancel(eng, c, "cancelled");
            continue;
        }
        c->lane = lane_get(eng, c->prov, c->model);
        if (!c->lane) {
            call_fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider,
                      c->model);
            continue;
        }
        if (c->drop && c->schema && c->lane->learned > c->method)
            c->method = c->lane->learned;
        if (c->drop)
            c->dropped |= c->lane->learned_drop;
        lane_push_back(eng, c->lane, c);
    }
    for (size_t i = 0; i < n_cancels; i++) {
        struct call *c = eng->all, *next;
        for (; c; c = next) {
            next = c->all_next;
            if (c->group == cancels[i]) {
                /* only c is freed here (a callback can queue submissions and cancels, not
                 * free calls), and next was read before */
                call_cancel(eng, c, "cancelled");
            }
        }
    }
    free(cancels);
    return stopping;
}

/* ---- public API ---- */

static void engine_destroy(struct llm_engine *eng)
{
    xfer_headers_free(eng);
    xfer_pool_free(eng);
    for (size_t i = 0; i < eng->n_shards; i++)
        curl_multi_cleanup(eng->shards[i].multi);
    if (eng->share)
        curl_share_cleanup(eng->share);
    while (eng->lanes) {
        struct lane *l = eng->lanes;
        eng->lanes = l->next;
        free(l->model);
        free(l);
    }
    delay_heap_done(&eng->timers);
    free(eng->cancels);
    free(eng->fds);
    if (eng->epfd >= 0)
        close(eng->epfd);
    if (eng->evfd >= 0)
        close(eng->evfd);
    pthread_mutex_destroy(&eng->mu);
    pthread_mutex_destroy(&eng->lanes_mu);
    free(eng);
}

int llm_engine_new_ex(const struct llm_config *cfg, const struct llm_engine_opts *opts,
                      struct llm_engine **ret, struct err *e)
{
    struct llm_engine *eng;
    const char *trace = getenv("HETU_LLM_TRACE");
    size_t shards = opts && opts->shards > 0 && opts->shards <= SHARDS_MAX ? (size_t)opts->shards
                                                                           : SHARDS_DEFAULT;
    int r;

    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return err_set(e, HE_INTERNAL, NULL, "libcurl initialisation failed: %s",
                       curl_easy_strerror(curl_init_rc));
    eng = calloc(1, sizeof(*eng));
    if (!eng)
        return err_set(e, HE_NOMEM, NULL, NULL);
    eng->cfg = cfg;
    eng->epfd = eng->evfd = -1;
    eng->trace = trace && *trace && strcmp(trace, "0") != 0;
    eng->rng = opts && opts->seed ? opts->seed : (uint64_t)clock_wall_us() | 1;
    delay_heap_init(&eng->timers);
    pthread_mutex_init(&eng->mu, NULL);
    pthread_mutex_init(&eng->lanes_mu, NULL);
    eng->pool = calloc(EASY_POOL_MAX, sizeof(*eng->pool));
    eng->share = curl_share_init();
    if (!eng->pool || !eng->share ||
        curl_share_setopt(eng->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        engine_destroy(eng);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    /* a libcurl without TLS has no sessions to share (CURLSHE_NOT_BUILT_IN): nothing lost */
    curl_share_setopt(eng->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    eng->maxconnects = 64;
    if ((r = engine_shards_init(eng, shards, e)) < 0 || (r = xfer_headers_build(eng, e)) < 0) {
        engine_destroy(eng);
        return r;
    }
    if ((r = pthread_create(&eng->thread, NULL, engine_main, eng)) != 0) {
        engine_destroy(eng);
        return err_set(e, HE_INTERNAL, NULL, "engine: cannot start its thread: %s", strerror(r));
    }
    pthread_setname_np(eng->thread, "hetu-llm");
    eng->thread_started = true;
    *ret = eng;
    return 0;
}

int llm_engine_new(const struct llm_config *cfg, struct llm_engine **ret, struct err *e)
{
    return llm_engine_new_ex(cfg, NULL, ret, e);
}

void llm_engine_free(struct llm_engine *eng)
{
    if (!eng)
        return;
    pthread_mutex_lock(&eng->mu);
    eng->stopping = true;
    pthread_mutex_unlock(&eng->mu);
    engine_wake(eng);
    if (eng->thread_started)
        pthread_join(eng->thread, NULL);
    engine_destroy(eng);
}

const struct llm_config *llm_engine_config(struct llm_engine *eng)
{
    return eng->cfg;
}

int llm_check(struct llm_engine *eng, const char *provider, const char *model, struct err *e)
{
    return llm_config_check(eng->cfg, provider, model, NULL, e);
}

static const char *role_ok(enum llm_role r)
{
    return (r == LLM_ROLE_SYSTEM || r == LLM_ROLE_USER || r == LLM_ROLE_ASSISTANT) ? "" : NULL;
}

int llm_submit(struct llm_engine *eng, const struct llm_request *req, llm_done_cb cb, void *ud,
               struct err *e)
{
    struct llm_target t;
    struct call *c;
    size_t size, plen, mlen, nlen = 0;
    char *p;
    int r;

    if ((r = llm_config_check(eng->cfg, req->provider, req->model, &t, e)))
        return r;
    if (!cb)
        return err_set(e, HE_INTERNAL, NULL, "llm_submit: no callback");
    if (req->n_messages == 0 || !req->messages)
        return err_set(e, HE_BAD_REQUEST, "messages", "a model call needs at least one message");
    plen = strlen(t.prov->name) + 1;
    mlen = strlen(t.model) + 1;
    if (req->schema_name)
        nlen = strlen(req->schema_name) + 1;
    size = sizeof(*c) + plen + mlen + nlen + req->n_messages * sizeof(struct llm_message);
    for (size_t i = 0; i < req->n_messages; i++) {
        if (!req->messages[i].content || !role_ok(req->messages[i].role))
            return err_set(e, HE_BAD_REQUEST, "messages", "message %zu has no content or role", i);
        size += strlen(req->messages[i].content) + 1;
    }
    c = calloc(1, size);
    if (!c)
        return err_set(e, HE_NOMEM, NULL, NULL);
    p = (char *)(c + 1);
    c->msgs = (struct llm_message *)p;
    c->n_msgs = req->n_messages;
    p += req->n_messages * sizeof(struct llm_message);
    c->provider = memcpy(p, t.prov->name, plen);
    p += plen;
    c->model = memcpy(p, t.model, mlen);
    p += mlen;
    if (nlen) {
        c->schema_name = memcpy(p, req->schema_name, nlen);
        p += nlen;
    }
    for (size_t i = 0; i < req->n_messages; i++) {
        size_t n = strlen(req->messages[i].content) + 1;
        c->msgs[i].role = req->messages[i].role;
        c->msgs[i].content = memcpy(p, req->messages[i].content, n);
        p += n;
    }
    c->prov = t.prov;
    c->cb = cb;
    c->ud = ud;
    c->group = req->group;
    snprintf(c->request_id, sizeof(c->request_id), "%s", log_request() ? log_request() : "");
    c->has_temperature = req->has_temperature;
    c->temperature = req->temperature;
    c->extra_body = t.extra_body;
    c->max_tokens = req->max_tokens > 0 ? req->max_tokens : 0;
    c->drop = req->drop_unsupported_params;
    c->cache_prefix = req->cache_prefix;
    c->usage = (struct llm_usage){-1, -1, -1, -1};
    buf_init(&c->cut, RESP_BODY_MAX);
    c->submitted_us = clock_mono_us();
    if (req->schema) {
        c->schema = schema_ref(req->schema);
        c->method = t.lim.so_method;
        if (c->method == LLM_SO_TOOL && !schema_wants_object(c->schema))
            c->method = llm_so_next(t.prov->info->flavour, LLM_SO_TOOL);
    }
    pthread_mutex_lock(&eng->mu);
    if (eng->stopping) {
        pthread_mutex_unlock(&eng->mu);
        call_free(c);
        return err_set(e, HE_UNAVAILABLE, NULL, "the model engine is stopping");
    }
    if (eng->in_tail)
        eng->in_tail->next = c;
    else
        eng->in_head = c;
    eng->in_tail = c;
    pthread_mutex_unlock(&eng->mu);
    engine_count(&eng->st_submitted, 1);
    engine_wake(eng);
    return 0;
}

void llm_cancel_group(struct llm_engine *eng, uint64_t group)
{
    if (!group)
        return; /* group 0 is no group */
    pthread_mutex_lock(&eng->mu);
    if (eng->n_cancels == eng->cap_cancels) {
        size_t cap = eng->cap_cancels ? eng->cap_cancels * 2 : 8;
        uint64_t *n = realloc(eng->cancels, cap * sizeof(*n));
        if (!n) {
            pthread_mutex_unlock(&eng->mu);
            return;
        }
        eng->cancels = n;
        eng->cap_cancels = cap;
    }
    eng->cancels[eng->n_cancels++] = group;
    pthread_mutex_unlock(&eng->mu);
    engine_wake(eng);
}

void llm_engine_stats(struct llm_engine *eng, struct llm_stats *ret)
{
    clockid_t cid;
    struct timespec ts;

    memset(ret, 0, sizeof(*ret));
    ret->submitted = atomic_load(&eng->st_submitted);
    ret->succeeded = atomic_load(&eng->st_succeeded);
    ret->failed = atomic_load(&eng->st_failed);
    ret->cancelled = atomic_load(&eng->st_cancelled);
    ret->http_requests = atomic_load(&eng->st_http);
    ret->retries = atomic_load(&eng->st_retries);
    ret->rate_limited = atomic_load(&eng->st_429);
    ret->window_shrinks = atomic_load(&eng->st_shrinks);
    ret->in_flight = atomic_load(&eng->st_in_flight);
    ret->cpu_ns = -1;
    if (eng->thread_started && pthread_getcpuclockid(eng->thread, &cid) == 0 &&
        clock_gettime(cid, &ts) == 0)
        ret->cpu_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int llm_engine_window(struct llm_engine *eng, const char *provider, const char *model)
{
    int w = -1;
    pthread_mutex_lock(&eng->lanes_mu);
    for (struct lane *l = eng->lanes; l; l = l->next)
        if (strcmp(l->prov->name, provider) == 0 && strcmp(l->model, model) == 0) {
            w = atomic_load_explicit(&l->window_now, memory_order_relaxed);
            break;
        }
    pthread_mutex_unlock(&eng->lanes_mu);
    return w;
}

void llm_engine_windows(struct llm_engine *eng, llm_window_cb cb, void *ud)
{
    pthread_mutex_lock(&eng->lanes_mu);
    for (struct lane *l = eng->lanes; l; l = l->next)
        cb(ud, l->prov->name, l->model, atomic_load_explicit(&l->window_now, memory_order_relaxed));
    pthread_mutex_unlock(&eng->lanes_mu);
}
