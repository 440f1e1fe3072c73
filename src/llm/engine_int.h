/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the provider engine share: the engine, call, lane, shard and transfer
 * structs and the functions one part calls in another. Nothing here is for use outside
 * src/llm/engine*.c.
 *
 *   engine.c          submission, cancellation, the call state machine, lanes, completion,
 *                     the engine's life cycle
 *   engine_loop.c     the engine thread: epoll over curl's sockets, timers, the scheduler
 *   engine_xfer.c     one HTTP attempt: pooled easy handles, request headers (the API keys),
 *                     rate-limit response headers, key redaction
 *   engine_outcome.c  what an ended attempt means: answer, retry, back off, step down, re-ask
 *
 * Threads: every field is the engine thread's alone except where a struct says otherwise.
 */
#ifndef HETU_LLM_ENGINE_INT_H
#define HETU_LLM_ENGINE_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "llm/engine.h"
#include "llm/ratelimit.h"
#include "metrics/metrics.h"
#include "util/buf.h"
#include "util/delay_heap.h"
#include "util/log.h"

#define REQ_BODY_MAX     (32u << 20) /* request body we build */
#define RESP_BODY_MAX    (16u << 20) /* reply we accept */
#define EASY_POOL_MAX    4096
#define SHARDS_MAX       16 /* curl multi handles */
#define SHARDS_DEFAULT   16
#define HOLD_MAX_US      (600LL * 1000000) /* longest Retry-After we honour */
#define CANCEL_MEMORY    1024 /* cancelled groups remembered, for calls submitted later */
#define CANCEL_MEMORY_US (600LL * 1000000)

/* X(name, trace name): the states of a call (see the DESIGN paragraph of engine.c). */
#define CALL_STATES(X)    \
    X(QUEUED, "queued")   \
    X(WAITING, "waiting") \
    X(RUNNING, "running") \
    X(DELAYED, "delayed") \
    X(DONE, "done")

enum call_state {
#define X(name, text) CS_##name,
    CALL_STATES(X)
#undef X
};

struct lane;
struct fd_slot;

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
    int64_t deadline_us; /* when curl wants a timeout call; -1 none */
};

/*
 * One submitted request. The submitting thread fills it in and hands it over through the
 * engine's queue (under llm_engine.mu); from then on only the engine thread touches it.
 */
struct call {
    struct call *next;                /* incoming queue / lane FIFO */
    struct call *all_prev, *all_next; /* every live call, for cancel and shutdown */
    enum call_state state;            /* changed by call_set_state only */
    uint64_t id;                      /* for traces, from 1 in order of arrival */
    uint64_t group;                   /* cancel group, 0: none */
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
    bool has_temperature, drop, cache_prefix;
    double temperature;
    const char *extra_body; /* static (the Kiln table's), or NULL */
    int max_tokens;
    enum llm_so_method method;
    unsigned dropped;     /* LLM_PARAM_* no longer sent */
    int attempts;         /* HTTP attempts made */
    int rate_limited;     /* of them answered 429: these never use up max_attempts */
    int64_t first_429_us; /* when the first 429 came; 0: none yet */
    int failures;         /* transient failures, for backoff */
    int schema_tries;     /* re-asks after an invalid answer */
    int step_downs;
    /* A cut-off answer is asked again once with a larger output limit; the cut reply is kept
     * in `cut` in case the provider refuses that limit (then it is the answer). */
    bool length_retried;
    int length_from; /* the limit of the cut attempt (0: none sent) */
    struct buf cut;
    int64_t submitted_us;
    struct delay_heap_node delay; /* in DELAYED: its place in the engine's timers */
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
    /* the request the call works for ("": none), set around the lines logged for it */
    char request_id[LOG_REQUEST_MAX + 1];
};

#define call_of_delay(n) ((struct call *)((char *)(n)-offsetof(struct call, delay)))

/*
 * One (provider, model). The engine thread alone reads and writes every field, except: `next`
 * and `prov`/`model` are read by llm_engine_window under llm_engine.lanes_mu (the engine thread
 * links a new lane in under it, and lanes are freed only after the thread has stopped), and
 * `window_now` is atomic.
 */
struct lane {
    struct lane *next;
    const struct llm_provider_cfg *prov;
    char *model;
    struct llm_limits lim;
    struct llm_price price; /* what its tokens cost (config, else the built-in table) */
    struct llm_window win;
    struct llm_bucket rpm, tpm;
    int64_t hold_until;
    struct call *head, *tail;
    enum llm_so_method learned; /* lowest method a 400 pushed this lane to */
    unsigned learned_drop;      /* parameters a 400 rejected */
    int out_cap;                /* an output limit the provider accepted where the doubled one
                                   was refused; 0: none learned */
    _Atomic int window_now;
    int metrics; /* its (provider, model) slot in metrics/metrics.h */
};

struct llm_engine {
    const struct llm_config *cfg;
    pthread_t thread;
    bool thread_started; /* set before llm_engine_new returns, so before any submission */
    bool trace;          /* HETU_LLM_TRACE set: every state change goes to stderr */

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
    struct fd_slot *fds; /* registration per socket number */
    size_t n_fds;
    struct call *all;
    uint64_t next_id;
    struct delay_heap timers; /* DELAYED calls by wake time */
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

    /* statistics: atomic, written by the engine thread (submitted: by submitters) */
    _Atomic uint64_t st_submitted, st_succeeded, st_failed, st_cancelled, st_http, st_retries,
        st_429, st_shrinks, st_in_flight;
};

/* engine.c */
void engine_count(_Atomic uint64_t *c, uint64_t n);
double engine_rnd(struct llm_engine *eng);
void call_set_state(struct llm_engine *eng, struct call *c, enum call_state s);
void lane_push_front(struct llm_engine *eng, struct lane *l, struct call *c);
void lane_window_changed(struct lane *l);
void call_finish(struct llm_engine *eng, struct call *c, struct llm_result *res);
void call_fail(struct llm_engine *eng, struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void call_cancel(struct llm_engine *eng, struct call *c, const char *why);
bool engine_take_incoming(struct llm_engine *eng);
/* The output limit c's attempts send: its max_tokens, Anthropic's default when it has none; 0
 * when none is sent (the provider's own default applies). */
int call_output_limit(const struct call *c);

/* engine_loop.c */
void *engine_main(void *arg);
void engine_wake(struct llm_engine *eng);
int engine_shards_init(struct llm_engine *eng, size_t n, struct err *e);
int engine_close_cb(void *clientp, curl_socket_t s);

/* engine_xfer.c */
int xfer_start(struct llm_engine *eng, struct call *c);
void xfer_release(struct llm_engine *eng, struct call *c);
void xfer_detach(struct llm_engine *eng, struct call *c);
void xfer_pool_free(struct llm_engine *eng);
int xfer_headers_build(struct llm_engine *eng, struct err *e);
void xfer_headers_free(struct llm_engine *eng);
void xfer_redact(char *s, size_t size, const char *key);

/* engine_outcome.c */
void outcome_on_done(struct llm_engine *eng, struct call *c, CURLcode rc);

#endif
