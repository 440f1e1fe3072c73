/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. One engine thread owns the curl multi handles (see struct shard), every call object,
 * every lane and every timer; other threads touch only the submission queue and the cancel list
 * (one mutex) and wake the thread (an eventfd in socket mode, curl_multi_wakeup in poll mode).
 *
 * A call is a small state machine with one setter (call_set_state):
 *   QUEUED (submitted, not yet seen) -> WAITING (in its lane's FIFO) -> RUNNING (an HTTP
 *   attempt in curl) -> DONE (callback made, freed)
 *   RUNNING -> DELAYED (backoff timer in the heap) -> WAITING, and RUNNING -> WAITING for an
 *   immediate re-try (a step down the structured-output ladder, a schema re-ask).
 * Every state can go to DONE through cancellation.
 *
 * A lane is one (provider, model): its AIMD window, request and token buckets, a hold time
 * from Retry-After / x-ratelimit-* headers, and a FIFO of waiting calls. The scheduler starts
 * calls from a lane while its window is open and its buckets allow.
 *
 * The loop (socket mode, the default): epoll over the sockets of every multi handle plus the
 * eventfd, with curl_multi_socket_action on the socket's own multi for the ready sockets only,
 * so the cost of a wake-up does not grow with the number of calls in flight. Poll mode
 * (curl_multi_poll + curl_multi_perform on one multi handle) is kept for comparison; the bench
 * measures both.
 *
 * Callbacks run on this thread and never inside a curl callback; a call is freed only after
 * its callback returned.
 */
#include "llm/engine.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "llm/extract.h"
#include "llm/ratelimit.h"
#include "llm/schema.h"
#include "util/clock.h"
#include "util/json.h"

#include "util/banned.h"

#define REQ_BODY_MAX       (32u << 20) /* request body we build */
#define RESP_BODY_MAX      (16u << 20) /* reply we accept */
#define EASY_POOL_MAX      4096
#define SHARDS_MAX         16 /* multi handles in socket mode */
#define SHARDS_DEFAULT     16
#define XFER_KEEP          (256u << 10) /* pooled buffers larger than this are freed */
#define CONNECT_TIMEOUT_MS 15000
#define HOLD_MAX_US        (600LL * 1000000) /* longest Retry-After we honour */
#define MAX_STEP_DOWNS     6
#define FEEDBACK_MAX       2000 /* bytes of the bad reply echoed back in a schema re-ask */
#define CANCEL_MEMORY      1024 /* cancelled groups remembered, for calls submitted later */
#define CANCEL_MEMORY_US   (600LL * 1000000)

enum call_state { CS_QUEUED, CS_WAITING, CS_RUNNING, CS_DELAYED, CS_DONE };

struct lane;

/* What one HTTP attempt needs, pooled: an easy handle (for good in one shard) and the bodies. */
struct xfer {
    CURL *easy;
    struct shard *sh;
    struct buf body, resp;
};

/*
 * A curl multi handle with its own connection cache. libcurl 7.88 finds a connection to reuse,
 * and the connection of a transfer it removes, by walking the host's whole connection list, so
 * with a thousand connections to one provider that walk dominates the cost of a call. Transfers
 * are spread over a few multi handles instead (each easy handle stays in one), which divides the
 * walk; every multi shares the engine's epoll set, and one share object keeps the DNS cache and
 * TLS sessions common to all.
 */
struct shard {
    struct llm_engine *eng;
    CURLM *multi;
    int64_t deadline_us; /* socket mode: when curl wants a timeout call; -1 none */
};

struct call {
    struct call *next;                /* incoming queue / lane FIFO */
    struct call *all_prev, *all_next; /* every live call, for cancel and shutdown */
    enum call_state state;
    uint64_t group; /* cancel group, 0: none */
    llm_done_cb cb;
    void *ud;
    const struct llm_provider_cfg *prov;
    struct lane *lane;
    char *provider, *model; /* point into the call's own allocation */
    struct llm_message *msgs;
    size_t n_msgs;
    struct llm_message extra[2]; /* schema re-ask turns (malloc'd contents) */
    size_t n_extra;
    struct schema *schema; /* a reference */
    char *schema_name;
    bool has_temperature, drop;
    double temperature;
    int max_tokens;
    enum llm_so_method method;
    unsigned dropped; /* LLM_PARAM_* no longer sent */
    int attempts;     /* HTTP attempts made */
    int failures;     /* transient failures, for backoff */
    int schema_tries; /* re-asks after an invalid answer */
    int step_downs;
    int64_t submitted_us, wake_us;
    size_t heap_idx;
    uint64_t epoch;
    double tokens_reserved;
    struct xfer *x;  /* the HTTP attempt running (or just finished) */
    size_t body_len; /* size of the last request body, for the token estimate */
    /* headers of the current attempt */
    int64_t retry_after_us, reset_req_us, reset_tok_us;
    int remaining_req, remaining_tok;
    /* outcome so far */
    struct llm_usage usage;
    int http_status;
};

struct lane {
    struct lane *next;
    const struct llm_provider_cfg *prov;
    char *model;
    struct llm_limits lim;
    struct llm_window win;
    struct llm_bucket rpm, tpm;
    int64_t hold_until;
    struct call *head, *tail;
    enum llm_so_method learned; /* lowest method a 400 pushed this lane to */
    unsigned learned_drop;      /* parameters a 400 rejected */
    _Atomic int window_now;
};

struct fd_slot;

struct llm_engine {
    const struct llm_config *cfg;
    enum llm_loop loop;
    pthread_t thread;
    bool thread_started;

    /* shared with other threads, under mu */
    pthread_mutex_t mu;
    struct call *in_head, *in_tail;
    uint64_t *cancels; /* groups cancelled since the engine thread last looked */
    size_t n_cancels, cap_cancels;
    bool stopping;

    pthread_mutex_t lanes_mu; /* guards the lane list for llm_engine_window */
    struct lane *lanes;

    /* engine thread only */
    struct shard shards[SHARDS_MAX];
    size_t n_shards, next_shard;
    CURLSH *share; /* DNS and TLS sessions, for every shard (one thread: no locks) */
    int epfd, evfd;
    struct fd_slot *fds; /* socket mode: registration per socket number */
    size_t n_fds;
    struct call *all;
    struct call **heap;
    size_t n_heap, cap_heap;
    struct xfer **pool;
    size_t n_pool;
    struct curl_slist **headers; /* per provider index */
    uint64_t rng;
    long maxconnects;
    /* The groups cancelled last: a call submitted in one afterwards (the second call of a
     * chain-of-thought output whose client has gone, say) is cancelled before it starts. */
    uint64_t cancelled[CANCEL_MEMORY];
    size_t n_cancelled; /* ever recorded; the ring holds the last CANCEL_MEMORY */
    int64_t last_cancel_us;
    bool self_woken; /* a callback submitted or cancelled: do not sleep before looking */

    _Atomic uint64_t st_submitted, st_succeeded, st_failed, st_cancelled, st_http, st_retries,
        st_429, st_shrinks, st_in_flight;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void count(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static double rnd(struct llm_engine *eng)
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
    free(c);
}

static void call_set_state(struct call *c, enum call_state s)
{
    c->state = s;
}

/* ---- the delay heap (by wake_us) ---- */

static void heap_swap(struct llm_engine *eng, size_t a, size_t b)
{
    struct call *t = eng->heap[a];
    eng->heap[a] = eng->heap[b];
    eng->heap[b] = t;
    eng->heap[a]->heap_idx = a;
    eng->heap[b]->heap_idx = b;
}

static void heap_up(struct llm_engine *eng, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (eng->heap[p]->wake_us <= eng->heap[i]->wake_us)
            break;
        heap_swap(eng, i, p);
        i = p;
    }
}

static void heap_down(struct llm_engine *eng, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < eng->n_heap && eng->heap[l]->wake_us < eng->heap[m]->wake_us)
            m = l;
        if (r < eng->n_heap && eng->heap[r]->wake_us < eng->heap[m]->wake_us)
            m = r;
        if (m == i)
            return;
        heap_swap(eng, i, m);
        i = m;
    }
}

static int heap_push(struct llm_engine *eng, struct call *c)
{
    if (eng->n_heap == eng->cap_heap) {
        size_t cap = eng->cap_heap ? eng->cap_heap * 2 : 256;
        struct call **h = realloc(eng->heap, cap * sizeof(*h));
        if (!h)
            return HE_NOMEM;
        eng->heap = h;
        eng->cap_heap = cap;
    }
    c->heap_idx = eng->n_heap;
    eng->heap[eng->n_heap++] = c;
    heap_up(eng, c->heap_idx);
    return 0;
}

static void heap_remove(struct llm_engine *eng, struct call *c)
{
    size_t i = c->heap_idx;
    eng->n_heap--;
    if (i != eng->n_heap) {
        eng->heap[i] = eng->heap[eng->n_heap];
        eng->heap[i]->heap_idx = i;
        heap_down(eng, i);
        heap_up(eng, i);
    }
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
    llm_window_init(&l->win, l->lim.concurrency);
    llm_bucket_init(&l->rpm, l->lim.rpm, clock_mono_us());
    llm_bucket_init(&l->tpm, l->lim.tpm, clock_mono_us());
    l->learned = LLM_SO_NONE;
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

static void lane_push_back(struct lane *l, struct call *c)
{
    c->next = NULL;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    call_set_state(c, CS_WAITING);
}

static void lane_push_front(struct lane *l, struct call *c)
{
    c->next = l->head;
    l->head = c;
    if (!l->tail)
        l->tail = c;
    call_set_state(c, CS_WAITING);
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

static void lane_window_changed(struct llm_engine *eng, struct lane *l)
{
    (void)eng;
    atomic_store_explicit(&l->window_now, (int)l->win.size, memory_order_relaxed);
}

/* ---- completion ---- */

/* Replaces every occurrence of the provider's key in s with "[redacted]". */
static void redact(char *s, size_t size, const char *key)
{
    static const char mark[] = "[redacted]";
    size_t klen, mlen = sizeof(mark) - 1;
    char *p;

    if (!key || (klen = strlen(key)) < 4)
        return;
    while ((p = strstr(s, key))) {
        size_t tail = strlen(p + klen);
        if (mlen > klen && (size_t)(p - s) + mlen + tail + 1 > size)
            tail = size - 1 - (size_t)(p - s) - mlen;
        memmove(p + mlen, p + klen, tail);
        memcpy(p, mark, mlen);
        p[mlen + tail] = '\0';
    }
}

static void release(struct llm_engine *eng, struct call *c);

static void finish(struct llm_engine *eng, struct call *c, struct llm_result *res)
{
    release(eng, c);
    res->provider = c->provider;
    res->model = c->model;
    res->usage = c->usage;
    res->http_status = c->http_status;
    res->attempts = c->attempts;
    if (!res->method)
        res->method = c->schema ? c->method : LLM_SO_NONE;
    res->elapsed_us = clock_mono_us() - c->submitted_us;
    if (res->code) {
        redact(res->err.msg, sizeof(res->err.msg), c->prov ? c->prov->api_key : NULL);
        count(res->code == HE_CANCELLED ? &eng->st_cancelled : &eng->st_failed, 1);
    } else {
        count(&eng->st_succeeded, 1);
    }
    /* unlink from the live list before the callback, free after it */
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        eng->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    call_set_state(c, CS_DONE);
    c->cb(c->ud, res);
    call_free(c);
}

static void fail(struct llm_engine *eng, struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(struct llm_engine *eng, struct call *c, int code, const char *fmt, ...)
{
    struct llm_result res;
    va_list ap;

    memset(&res, 0, sizeof(res));
    res.code = code;
    va_start(ap, fmt);
    err_setv(&res.err, code, NULL, fmt, ap);
    va_end(ap);
    finish(eng, c, &res);
}

static void xfer_free(struct xfer *x)
{
    curl_easy_cleanup(x->easy);
    buf_done(&x->body);
    buf_done(&x->resp);
    free(x);
}

static void xfer_put(struct llm_engine *eng, struct xfer *x)
{
    if (eng->n_pool >= EASY_POOL_MAX) {
        xfer_free(x);
        return;
    }
    /* keep ordinary buffers for the next attempt, drop unusually large ones */
    if (x->body.cap > XFER_KEEP)
        buf_done(&x->body);
    if (x->resp.cap > XFER_KEEP)
        buf_done(&x->resp);
    eng->pool[eng->n_pool++] = x;
}

/* Gives c's finished attempt back to the pool. */
static void release(struct llm_engine *eng, struct call *c)
{
    if (c->x) {
        xfer_put(eng, c->x);
        c->x = NULL;
    }
}

/* Takes a running call out of curl and its lane's window. */
static void detach(struct llm_engine *eng, struct call *c)
{
    if (!c->x || c->state != CS_RUNNING)
        return;
    curl_multi_remove_handle(c->x->sh->multi, c->x->easy);
    call_set_state(c, CS_WAITING); /* no longer in curl; the caller decides what is next */
    c->lane->win.in_flight--;
    count(&eng->st_in_flight, (uint64_t)-1);
}

/* Removes c from wherever it waits, then fails it. */
static void cancel_call(struct llm_engine *eng, struct call *c, const char *why)
{
    switch (c->state) {
    case CS_WAITING: lane_unlink(c->lane, c); break;
    case CS_DELAYED: heap_remove(eng, c); break;
    case CS_RUNNING: detach(eng, c); break;
    default: break;
    }
    release(eng, c);
    fail(eng, c, HE_CANCELLED, "provider %s model %s: %s", c->provider, c->model, why);
}

/* ---- starting an attempt ---- */

static size_t write_cb(char *ptr, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    if (buf_add(&c->x->resp, ptr, size * n))
        return 0; /* too large: curl aborts with CURLE_WRITE_ERROR */
    return size * n;
}

static bool hdr_is(const char *line, size_t len, const char *name, const char **ret_v,
                   size_t *ret_vlen)
{
    size_t n = strlen(name);
    if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
        return false;
    *ret_v = line + n + 1;
    *ret_vlen = len - n - 1;
    while (*ret_vlen > 0 && (**ret_v == ' ' || **ret_v == '\t')) {
        (*ret_v)++;
        (*ret_vlen)--;
    }
    while (*ret_vlen > 0 && ((*ret_v)[*ret_vlen - 1] == '\r' || (*ret_v)[*ret_vlen - 1] == '\n' ||
                             (*ret_v)[*ret_vlen - 1] == ' '))
        (*ret_vlen)--;
    return true;
}

static int small_int(const char *v, size_t n)
{
    long x = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        if (x < 100000000)
            x = x * 10 + (v[i] - '0');
    }
    return (int)x;
}

static size_t header_cb(char *line, size_t size, size_t n, void *ud)
{
    struct call *c = ud;
    size_t len = size * n, vlen;
    const char *v;
    int64_t d;

    if (len > 5 && memcmp(line, "HTTP/", 5) == 0) { /* a new response (after 100 Continue) */
        c->retry_after_us = c->reset_req_us = c->reset_tok_us = -1;
        c->remaining_req = c->remaining_tok = -1;
        return len;
    }
    switch (line[0] | 0x20) {
    case 'r':
        if (hdr_is(line, len, "retry-after-ms", &v, &vlen)) {
            if ((d = llm_parse_duration(v, vlen)) >= 0)
                c->retry_after_us = d / 1000000 * 1000 + (d % 1000000) / 1000; /* ms -> us */
        } else if (hdr_is(line, len, "retry-after", &v, &vlen) && c->retry_after_us < 0) {
            c->retry_after_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        }
        break;
    case 'x':
        if (hdr_is(line, len, "x-ratelimit-remaining-requests", &v, &vlen))
            c->remaining_req = small_int(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-remaining-tokens", &v, &vlen))
            c->remaining_tok = small_int(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-reset-requests", &v, &vlen))
            c->reset_req_us = llm_parse_duration(v, vlen);
        else if (hdr_is(line, len, "x-ratelimit-reset-tokens", &v, &vlen))
            c->reset_tok_us = llm_parse_duration(v, vlen);
        break;
    case 'a':
        if (hdr_is(line, len, "anthropic-ratelimit-requests-remaining", &v, &vlen))
            c->remaining_req = small_int(v, vlen);
        else if (hdr_is(line, len, "anthropic-ratelimit-tokens-remaining", &v, &vlen))
            c->remaining_tok = small_int(v, vlen);
        else if (hdr_is(line, len, "anthropic-ratelimit-requests-reset", &v, &vlen))
            c->reset_req_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        else if (hdr_is(line, len, "anthropic-ratelimit-tokens-reset", &v, &vlen))
            c->reset_tok_us = llm_parse_retry_after(v, vlen, clock_wall_us());
        break;
    default: break;
    }
    return len;
}

static int close_cb(void *clientp, curl_socket_t s);

static struct xfer *xfer_get(struct llm_engine *eng)
{
    struct xfer *x;
    CURL *h;
    if (eng->n_pool > 0) {
        x = eng->pool[--eng->n_pool];
        buf_reset(&x->body);
        buf_reset(&x->resp);
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    buf_init(&x->body, REQ_BODY_MAX);
    buf_init(&x->resp, RESP_BODY_MAX);
    x->sh = &eng->shards[eng->next_shard++ % eng->n_shards];
    x->easy = h = curl_easy_init();
    if (!h) {
        free(x);
        return NULL;
    }
    curl_easy_setopt(h, CURLOPT_SHARE, eng->share);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hetu/0.1");
    if (eng->loop == LLM_LOOP_SOCKET) {
        curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
        curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, eng);
    }
    return x;
}

static struct curl_slist *provider_headers(struct llm_engine *eng, const struct llm_provider_cfg *p)
{
    size_t i = (size_t)(p - eng->cfg->providers);
    return eng->headers[i];
}

static double estimate_tokens(const struct call *c)
{
    double out = c->max_tokens > 0 ? (c->max_tokens < 1024 ? c->max_tokens : 1024) : 256;
    return (double)c->body_len / 4 + out;
}

/* Encodes the current attempt of c and hands it to curl. Returns 0 or a failure already
 * reported to the caller (c is gone then). */
static int start(struct llm_engine *eng, struct call *c, int64_t now)
{
    struct lane *l = c->lane;
    struct llm_encode q = {
        .flavour = c->prov->info->flavour,
        .model = c->model,
        .messages = c->msgs,
        .n_messages = c->n_msgs,
        .extra = c->extra,
        .n_extra = c->n_extra,
        .schema_text = c->schema ? schema_text(c->schema) : NULL,
        .schema_name = c->schema_name,
        .method = c->schema ? c->method : LLM_SO_NONE,
        .send_temperature = c->has_temperature && !(c->dropped & LLM_PARAM_TEMPERATURE),
        .temperature = c->temperature,
        .max_tokens = (c->dropped & LLM_PARAM_MAX_TOKENS) ? 0 : c->max_tokens,
        .max_tokens_name = c->prov->info->max_tokens_name,
    };
    struct err e = {0};
    char url[2200];
    CURLMcode mrc;
    CURL *h;

    release(eng, c);
    if (!(c->x = xfer_get(eng))) {
        fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return -1;
    }
    if (llm_encode_request(&q, &c->x->body, &e) < 0) {
        release(eng, c);
        fail(eng, c, e.code, "provider %s model %s: %s", c->provider, c->model, e.msg);
        return -1;
    }
    c->body_len = c->x->body.len;
    h = c->x->easy;
    snprintf(url, sizeof(url), "%s%s", c->prov->base_url,
             q.flavour == LLM_ANTHROPIC_MESSAGES ? "/messages" : "/chat/completions");
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* over TLS, wait for a connection being set up that may turn out to multiplex (HTTP/2)
     * rather than open one more; plain http is HTTP/1.1, where waiting would serialise calls */
    curl_easy_setopt(h, CURLOPT_PIPEWAIT, (long)(strncmp(url, "https:", 6) == 0));
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->x->body.data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->x->body.len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, provider_headers(eng, c->prov));
    curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(h, CURLOPT_PRIVATE, c);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)l->lim.timeout_s * 1000L);
    c->retry_after_us = c->reset_req_us = c->reset_tok_us = -1;
    c->remaining_req = c->remaining_tok = -1;
    c->epoch = l->win.epoch;
    c->tokens_reserved = l->tpm.enabled ? estimate_tokens(c) : 0;
    llm_bucket_take(&l->rpm, 1);
    llm_bucket_take(&l->tpm, c->tokens_reserved);
    (void)now;
    mrc = curl_multi_add_handle(c->x->sh->multi, h);
    if (mrc != CURLM_OK) {
        release(eng, c);
        fail(eng, c, HE_INTERNAL, "provider %s model %s: %s", c->provider, c->model,
             curl_multi_strerror(mrc));
        return -1;
    }
    l->win.in_flight++;
    c->attempts++;
    if (c->attempts > 1)
        count(&eng->st_retries, 1);
    count(&eng->st_http, 1);
    count(&eng->st_in_flight, 1);
    call_set_state(c, CS_RUNNING);
    return 0;
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
            start(eng, c, now);
        }
    }
    return next;
}

/* ---- retry decisions ---- */

static void retry_later(struct llm_engine *eng, struct call *c, int64_t delay_us)
{
    release(eng, c);
    c->wake_us = clock_mono_us() + delay_us;
    if (heap_push(eng, c) < 0) {
        fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return;
    }
    call_set_state(c, CS_DELAYED);
}

/* A transient failure (429, 5xx, timeout, dropped connection, malformed reply): back off and
 * retry, or report `code` with the message when attempts are used up. */
static void transient(struct llm_engine *eng, struct call *c, int code, const char *msg)
{
    const struct llm_limits *lim = &c->lane->lim;
    int64_t d;

    if (c->attempts >= lim->max_attempts) {
        fail(eng, c, code, "provider %s model %s: %s (after %d attempt%s)", c->provider, c->model,
             msg, c->attempts, c->attempts == 1 ? "" : "s");
        return;
    }
    c->failures++;
    d = llm_backoff_us(c->failures, lim->backoff_base_ms, lim->backoff_max_ms, rnd(eng));
    if (c->retry_after_us >= 0) {
        int64_t ra = c->retry_after_us < HOLD_MAX_US ? c->retry_after_us : HOLD_MAX_US;
        d = ra + (int64_t)(rnd(eng) * 0.1 * (double)ra); /* honour it, spread a little */
        if (ra == 0)
            d = 0;
    }
    retry_later(eng, c, d);
}

/* Applies rate-limit headers of a finished attempt to its lane. */
static void honour_headers(struct call *c, int status, int64_t now)
{
    struct lane *l = c->lane;
    int64_t hold = 0;

    if (c->remaining_req == 0 && c->reset_req_us > 0)
        hold = c->reset_req_us;
    if (c->remaining_tok == 0 && c->reset_tok_us > hold)
        hold = c->reset_tok_us;
    if (status == 429 && c->retry_after_us > hold)
        hold = c->retry_after_us;
    if (hold > HOLD_MAX_US)
        hold = HOLD_MAX_US;
    if (hold > 0 && now + hold > l->hold_until)
        l->hold_until = now + hold;
}

static void add_usage(struct call *c, const struct llm_reply *r)
{
    const struct llm_limits *lim = &c->lane->lim;
    struct llm_usage *u = &c->usage;

    if (r->input_tokens >= 0)
        u->input_tokens = (u->input_tokens > 0 ? u->input_tokens : 0) + r->input_tokens;
    if (r->output_tokens >= 0)
        u->output_tokens = (u->output_tokens > 0 ? u->output_tokens : 0) + r->output_tokens;
    if (r->total_tokens >= 0)
        u->total_tokens = (u->total_tokens > 0 ? u->total_tokens : 0) + r->total_tokens;
    if (lim->price_in >= 0 && lim->price_out >= 0 && u->input_tokens >= 0 && u->output_tokens >= 0)
        u->cost =
            ((double)u->input_tokens * lim->price_in + (double)u->output_tokens * lim->price_out) /
            1e6;
    if (c->tokens_reserved > 0 && r->total_tokens >= 0)
        llm_bucket_take(&c->lane->tpm, (double)r->total_tokens - c->tokens_reserved);
    c->tokens_reserved = 0;
}

/* A 400: with drop_unsupported_params, drop what it names or step down the ladder and retry
 * at once. Returns true when the call was re-queued. */
static bool step_down(struct llm_engine *eng, struct call *c)
{
    unsigned named = llm_error_params(c->x->resp.data, c->x->resp.len);
    struct lane *l = c->lane;
    bool changed = false;

    if (!c->drop || !named || c->step_downs >= MAX_STEP_DOWNS)
        return false;
    if ((named & LLM_PARAM_TEMPERATURE) && c->has_temperature &&
        !(c->dropped & LLM_PARAM_TEMPERATURE)) {
        c->dropped |= LLM_PARAM_TEMPERATURE;
        changed = true;
    }
    if ((named & LLM_PARAM_MAX_TOKENS) && c->max_tokens > 0 &&
        !(c->dropped & LLM_PARAM_MAX_TOKENS) && c->prov->info->flavour != LLM_ANTHROPIC_MESSAGES) {
        c->dropped |= LLM_PARAM_MAX_TOKENS;
        changed = true;
    }
    if (c->schema && (((named & LLM_PARAM_RESPONSE_FORMAT) &&
                       (c->method == LLM_SO_JSON_SCHEMA || c->method == LLM_SO_JSON_MODE)) ||
                      ((named & LLM_PARAM_TOOLS) && c->method == LLM_SO_TOOL))) {
        enum llm_so_method next = llm_so_next(c->prov->info->flavour, c->method);
        if (next != LLM_SO_NONE) {
            c->method = next;
            if (next > l->learned)
                l->learned = next;
            changed = true;
        }
    }
    if (!changed)
        return false;
    l->learned_drop |= c->dropped;
    c->step_downs++;
    release(eng, c);
    lane_push_front(l, c);
    return true;
}

static char *feedback_text(const char *why)
{
    char *s = NULL;
    if (asprintf(&s,
                 "Your previous answer did not match the required JSON schema: %s\nAnswer again "
                 "with only the corrected JSON.",
                 why) < 0)
        return NULL;
    return s;
}

/* The reply failed the schema: re-ask with the problem, or report it. */
static void schema_retry(struct llm_engine *eng, struct call *c, const char *answer, size_t len,
                         const char *why)
{
    char *a, *u;

    if (c->schema_tries >= c->lane->lim.schema_retries) {
        fail(eng, c, HE_INVALID,
             "provider %s model %s: the answer does not match the schema after %d attempt%s: %s",
             c->provider, c->model, c->schema_tries + 1, c->schema_tries ? "s" : "", why);
        return;
    }
    c->schema_tries++;
    /* keep only the latest exchange: the original messages, the bad answer, the correction */
    for (size_t i = 0; i < c->n_extra; i++)
        free((char *)c->extra[i].content);
    c->n_extra = 0;
    a = strndup(answer ? answer : "", len > FEEDBACK_MAX ? FEEDBACK_MAX : len);
    u = feedback_text(why);
    if (!a || !u) {
        free(a);
        free(u);
        fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
        return;
    }
    c->extra[0] = (struct llm_message){LLM_ROLE_ASSISTANT, a};
    c->extra[1] = (struct llm_message){LLM_ROLE_USER, u};
    c->n_extra = 2;
    release(eng, c);
    lane_push_front(c->lane, c);
}

static char *join_reasoning(char *a, char *b)
{
    char *s;
    if (!a)
        return b;
    if (!b)
        return a;
    if (asprintf(&s, "%s\n\n%s", a, b) < 0)
        s = NULL;
    free(a);
    free(b);
    return s;
}

/* A 2xx reply. */
static void on_reply(struct llm_engine *eng, struct call *c)
{
    struct llm_reply r;
    struct llm_result res;
    struct err e = {0};
    char *think = NULL, *rest = NULL, *reasoning;
    struct json_object *value = NULL;
    const char *text;
    size_t text_len;

    if (llm_decode_reply(c->prov->info->flavour, c->x->resp.data, c->x->resp.len, &r, &e) < 0) {
        char msg[ERR_MSG_MAX];
        snprintf(msg, sizeof(msg), "HTTP %d: %s", c->http_status, e.msg);
        transient(eng, c, HE_PROVIDER, msg);
        return;
    }
    add_usage(c, &r);
    memset(&res, 0, sizeof(res));
    res.method = c->schema ? c->method : LLM_SO_NONE;
    if (r.content && extract_think(r.content, r.content_len, &think, &rest, &e) < 0) {
        fail(eng, c, e.code, "provider %s model %s: %s", c->provider, c->model, e.msg);
        goto out;
    }
    reasoning = join_reasoning(r.reasoning, think);
    r.reasoning = reasoning;
    think = NULL;
    text = rest ? rest : "";
    text_len = rest ? strlen(rest) : 0;

    if (c->schema) {
        if (r.tool_input) {
            value = json_object_get(r.tool_input);
        } else if (text_len == 0) {
            schema_retry(eng, c, text, text_len,
                         r.finish_reason && (strcmp(r.finish_reason, "length") == 0 ||
                                             strcmp(r.finish_reason, "max_tokens") == 0)
                             ? "the answer was cut off (max tokens) before any JSON"
                             : "the answer contains no JSON");
            goto out;
        } else if (extract_json(text, text_len, &value, &e) < 0) {
            char why[ERR_MSG_MAX];
            snprintf(why, sizeof(why), "%s%s", e.msg,
                     r.finish_reason && (strcmp(r.finish_reason, "length") == 0 ||
                                         strcmp(r.finish_reason, "max_tokens") == 0)
                         ? " (the answer was cut off at max tokens)"
                         : "");
            schema_retry(eng, c, text, text_len, why);
            goto out;
        }
        err_clear(&e);
        if (schema_validate(c->schema, value, &e) < 0) {
            const char *shown = r.tool_input ? json_text(value, &text_len) : text;
            schema_retry(eng, c, shown, text_len, e.msg);
            goto out;
        }
        res.json = value;
        if (r.tool_input) {
            text = json_text(value, &text_len);
        }
    }
    llm_window_on_success(&c->lane->win);
    lane_window_changed(eng, c->lane);
    res.content = text;
    res.content_len = text_len;
    res.reasoning = r.reasoning;
    finish(eng, c, &res);
out:
    json_object_put(value);
    free(think);
    free(rest);
    llm_reply_done(&r);
}

/* One HTTP attempt ended. */
static void on_done(struct llm_engine *eng, struct call *c, CURLcode rc)
{
    struct lane *l = c->lane;
    char pmsg[300], msg[ERR_MSG_MAX];
    long status = 0;
    int64_t now = clock_mono_us();

    curl_easy_getinfo(c->x->easy, CURLINFO_RESPONSE_CODE, &status);
    detach(eng, c);
    if (rc != CURLE_OK) {
        if (c->tokens_reserved > 0)
            llm_bucket_take(&l->tpm, -c->tokens_reserved);
        c->tokens_reserved = 0;
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            snprintf(msg, sizeof(msg), "timed out after %d s", l->lim.timeout_s);
            transient(eng, c, HE_TIMEOUT, msg);
        } else if (rc == CURLE_WRITE_ERROR &&
                   c->x->resp.len + CURL_MAX_WRITE_SIZE > c->x->resp.max) {
            fail(eng, c, HE_PROVIDER, "provider %s model %s: reply larger than %u bytes",
                 c->provider, c->model, RESP_BODY_MAX);
        } else {
            snprintf(msg, sizeof(msg), "connection failed: %s", curl_easy_strerror(rc));
            transient(eng, c, HE_PROVIDER, msg);
        }
        return;
    }
    c->http_status = (int)status;
    honour_headers(c, (int)status, now);
    if (status >= 200 && status < 300) {
        on_reply(eng, c);
        return;
    }
    if (c->tokens_reserved > 0)
        llm_bucket_take(&l->tpm, -c->tokens_reserved);
    c->tokens_reserved = 0;
    llm_decode_error(c->x->resp.data, c->x->resp.len, pmsg, sizeof(pmsg));
    if (!pmsg[0])
        snprintf(pmsg, sizeof(pmsg), "(empty body)");
    snprintf(msg, sizeof(msg), "HTTP %ld: %s", status, pmsg);
    if (status == 429) {
        count(&eng->st_429, 1);
        if (llm_window_on_429(&l->win, c->epoch)) {
            count(&eng->st_shrinks, 1);
            lane_window_changed(eng, l);
        }
        transient(eng, c, HE_PROVIDER, msg);
    } else if (status >= 500 || status == 408) {
        transient(eng, c, HE_PROVIDER, msg);
    } else if (status == 400 && step_down(eng, c)) {
        return;
    } else {
        fail(eng, c, HE_PROVIDER, "provider %s model %s: %s", c->provider, c->model, msg);
    }
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
                on_done(eng, c, m->data.result);
        }
    }
}

/* ---- the loop ---- */

static void wake(struct llm_engine *eng)
{
    /* the engine thread itself (a callback submitting more) looks at the queue before it
     * sleeps again */
    if (eng->thread_started && pthread_equal(pthread_self(), eng->thread)) {
        eng->self_woken = true;
        return;
    }
    if (eng->loop == LLM_LOOP_POLL) {
        curl_multi_wakeup(eng->shards[0].multi);
    } else {
        uint64_t one = 1;
        ssize_t n = write(eng->evfd, &one, sizeof(one));
        (void)n;
    }
}

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
static bool take_incoming(struct llm_engine *eng)
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
        c->all_prev = NULL;
        c->all_next = eng->all;
        if (eng->all)
            eng->all->all_prev = c;
        eng->all = c;
        if (group_cancelled(eng, c->group)) {
            cancel_call(eng, c, "cancelled");
            continue;
        }
        c->lane = lane_get(eng, c->prov, c->model);
        if (!c->lane) {
            fail(eng, c, HE_NOMEM, "provider %s model %s: out of memory", c->provider, c->model);
            continue;
        }
        if (c->drop && c->schema && c->lane->learned > c->method)
            c->method = c->lane->learned;
        if (c->drop)
            c->dropped |= c->lane->learned_drop;
        lane_push_back(c->lane, c);
    }
    for (size_t i = 0; i < n_cancels; i++) {
        struct call *c = eng->all, *next;
        for (; c; c = next) {
            next = c->all_next;
            if (c->group == cancels[i]) {
                /* a callback may free calls further down the list? no: only c itself is
                 * freed here, and next was read before */
                cancel_call(eng, c, "cancelled");
            }
        }
    }
    free(cancels);
    return stopping;
}

static void fire_timers(struct llm_engine *eng, int64_t now)
{
    while (eng->n_heap > 0 && eng->heap[0]->wake_us <= now) {
        struct call *c = eng->heap[0];
        heap_remove(eng, c);
        lane_push_front(c->lane, c);
    }
}

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

static int close_cb(void *clientp, curl_socket_t s)
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

static void loop_socket(struct llm_engine *eng)
{
    struct epoll_event evs[256];
    int running;

    for (;;) {
        int64_t now = clock_mono_us(), next;
        bool stopping = take_incoming(eng);
        if (stopping)
            return;
        fire_timers(eng, now);
        next = schedule(eng, now);
        if (eng->n_heap > 0)
            next = earliest(next, eng->heap[0]->wake_us);
        for (size_t i = 0; i < eng->n_shards; i++)
            next = earliest(next, eng->shards[i].deadline_us);
        int n = epoll_wait(eng->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])),
                           eng->self_woken ? 0 : wait_ms(next, clock_mono_us()));
        eng->self_woken = false;
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

static void loop_poll(struct llm_engine *eng)
{
    int running;
    for (;;) {
        int64_t now = clock_mono_us(), next;
        long curl_ms = -1;
        bool stopping = take_incoming(eng);
        if (stopping)
            return;
        fire_timers(eng, now);
        next = schedule(eng, now);
        if (eng->n_heap > 0)
            next = earliest(next, eng->heap[0]->wake_us);
        curl_multi_perform(eng->shards[0].multi, &running);
        drain_done(eng);
        curl_multi_timeout(eng->shards[0].multi, &curl_ms);
        if (curl_ms >= 0)
            next = earliest(next, clock_mono_us() + curl_ms * 1000);
        /* a submission made since take_incoming has called curl_multi_wakeup, which makes
         * this return at once */
        curl_multi_poll(eng->shards[0].multi, NULL, 0,
                        eng->self_woken ? 0 : wait_ms(next, clock_mono_us()), NULL);
        eng->self_woken = false;
    }
}

static void *engine_main(void *arg)
{
    struct llm_engine *eng = arg;

    if (eng->loop == LLM_LOOP_POLL)
        loop_poll(eng);
    else
        loop_socket(eng);
    /* stopping: everything left is cancelled */
    take_incoming(eng);
    while (eng->all)
        cancel_call(eng, eng->all, "cancelled: the engine is stopping");
    return NULL;
}

/* ---- public API ---- */

static int build_headers(struct llm_engine *eng, struct err *e)
{
    const struct llm_config *cfg = eng->cfg;

    eng->headers = calloc(cfg->n_providers ? cfg->n_providers : 1, sizeof(*eng->headers));
    if (!eng->headers)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        const struct llm_provider_cfg *p = &cfg->providers[i];
        struct curl_slist *h = NULL, *t;
        char *line = NULL;
        bool ok = true;

#define ADD(s)                                      \
    do {                                            \
        if (ok && !(t = curl_slist_append(h, (s)))) \
            ok = false;                             \
        else if (ok)                                \
            h = t;                                  \
    } while (0)
        ADD("Content-Type: application/json");
        ADD("Accept: application/json");
        ADD("Expect:");
        if (p->info->flavour == LLM_ANTHROPIC_MESSAGES) {
            if (asprintf(&line, "anthropic-version: %s", p->anthropic_version) < 0)
                line = NULL, ok = false;
            ADD(line);
            free(line);
            line = NULL;
            if (p->api_key) {
                if (asprintf(&line, "x-api-key: %s", p->api_key) < 0)
                    line = NULL, ok = false;
                ADD(line);
            }
        } else if (p->api_key && p->info->key_policy != LLM_KEY_NONE) {
            if (asprintf(&line, "Authorization: Bearer %s", p->api_key) < 0)
                line = NULL, ok = false;
            ADD(line);
        }
#undef ADD
        if (line) {
            explicit_bzero(line, strlen(line));
            free(line);
        }
        eng->headers[i] = h;
        if (!ok)
            return err_set(e, HE_NOMEM, NULL, NULL);
    }
    return 0;
}

static void engine_destroy(struct llm_engine *eng)
{
    if (eng->headers) {
        for (size_t i = 0; i < eng->cfg->n_providers; i++) {
            /* wipe the key lines before freeing */
            for (struct curl_slist *s = eng->headers[i]; s; s = s->next)
                explicit_bzero(s->data, strlen(s->data));
            curl_slist_free_all(eng->headers[i]);
        }
        free(eng->headers);
    }
    for (size_t i = 0; i < eng->n_pool; i++)
        xfer_free(eng->pool[i]);
    free(eng->pool);
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
    free(eng->heap);
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
    eng->loop = opts && opts->loop ? opts->loop : LLM_LOOP_SOCKET;
    eng->rng = opts && opts->seed ? opts->seed : (uint64_t)clock_wall_us() | 1;
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
    /* curl_multi_poll waits on one multi handle: the poll loop has one shard */
    size_t n = eng->loop == LLM_LOOP_POLL                               ? 1
               : opts && opts->shards > 0 && opts->shards <= SHARDS_MAX ? (size_t)opts->shards
                                                                        : SHARDS_DEFAULT;
    while (eng->n_shards < n) {
        struct shard *sh = &eng->shards[eng->n_shards];
        if (!(sh->multi = curl_multi_init())) {
            engine_destroy(eng);
            return err_set(e, HE_NOMEM, NULL, NULL);
        }
        eng->n_shards++;
        sh->eng = eng;
        sh->deadline_us = -1;
        curl_multi_setopt(sh->multi, CURLMOPT_MAXCONNECTS, eng->maxconnects);
        curl_multi_setopt(sh->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
        if (eng->loop == LLM_LOOP_SOCKET) {
            curl_multi_setopt(sh->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
            curl_multi_setopt(sh->multi, CURLMOPT_SOCKETDATA, sh);
            curl_multi_setopt(sh->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
            curl_multi_setopt(sh->multi, CURLMOPT_TIMERDATA, sh);
        }
    }
    if (eng->loop == LLM_LOOP_SOCKET) {
        struct epoll_event ev = {.events = EPOLLIN};
        eng->epfd = epoll_create1(EPOLL_CLOEXEC);
        eng->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        ev.data.fd = eng->evfd;
        if (eng->epfd < 0 || eng->evfd < 0 ||
            epoll_ctl(eng->epfd, EPOLL_CTL_ADD, eng->evfd, &ev) < 0) {
            r = err_set(e, HE_INTERNAL, NULL, "engine: epoll/eventfd: %s", strerror(errno));
            engine_destroy(eng);
            return r;
        }
    }
    if ((r = build_headers(eng, e)) < 0) {
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
    wake(eng);
    if (eng->thread_started)
        pthread_join(eng->thread, NULL);
    engine_destroy(eng);
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
    const struct llm_provider_cfg *prov;
    struct call *c;
    size_t size, plen, mlen, nlen = 0;
    char *p;
    int r;

    if ((r = llm_config_check(eng->cfg, req->provider, req->model, &prov, e)))
        return r;
    if (!cb)
        return err_set(e, HE_INTERNAL, NULL, "llm_submit: no callback");
    if (req->n_messages == 0 || !req->messages)
        return err_set(e, HE_BAD_REQUEST, "messages", "a model call needs at least one message");
    plen = strlen(req->provider) + 1;
    mlen = strlen(req->model) + 1;
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
    c->provider = memcpy(p, req->provider, plen);
    p += plen;
    c->model = memcpy(p, req->model, mlen);
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
    c->prov = prov;
    c->cb = cb;
    c->ud = ud;
    c->group = req->group;
    c->has_temperature = req->has_temperature;
    c->temperature = req->temperature;
    c->max_tokens = req->max_tokens > 0 ? req->max_tokens : 0;
    c->drop = req->drop_unsupported_params;
    c->usage = (struct llm_usage){-1, -1, -1, -1};
    c->submitted_us = clock_mono_us();
    if (req->schema) {
        struct llm_limits lim;
        c->schema = schema_ref(req->schema);
        llm_config_limits(prov, req->model, &lim);
        c->method = lim.so_method;
        if (c->method == LLM_SO_TOOL && !schema_wants_object(c->schema))
            c->method = llm_so_next(prov->info->flavour, LLM_SO_TOOL);
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
    count(&eng->st_submitted, 1);
    wake(eng);
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
    wake(eng);
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
