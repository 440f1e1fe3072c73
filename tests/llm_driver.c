/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the provider engine: reads a JSON plan on stdin, runs it through a real engine
 * and prints one JSON line per result, then a summary line, on stdout. The integration tests
 * (tests/integration/test_llm_engine.py) drive it against the fake provider.
 *
 * Plan: {"config": {<providers section>}, "window": N,
 *        "requests": [{"provider", "model", "prompt" | "messages": [{"role","content"}],
 *                      "schema", "schema_name", "temperature", "max_tokens",
 *                      "drop_unsupported_params", "cache_prefix", "group", "repeat"}],
 *        "cancel": [{"group": G, "after_ms": T}], "late_requests": [as requests, submitted
 *        after the cancels], "check": [{"provider", "model"}],
 *        "windows": [{"provider", "model"}], "quiet": false,
 *        "free_after_ms": T (free the engine at T, with calls in flight)}
 * `llm-driver ping ARGS...` runs `hetu llm ping ARGS...` instead.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cli/llm_ping.h"
#include "llm/engine.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"

struct state {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    long outstanding;
    bool quiet;
};

struct slot {
    struct state *st;
    long index;
    uint64_t group;
};

static const char *slug(int code)
{
    return code ? err_slug(code) : "ok";
}

static void done_cb(void *ud, const struct llm_result *res)
{
    struct slot *s = ud;
    struct state *st = s->st;

    if (!st->quiet) {
        struct json_object *o = json_object_new_object(), *u = json_object_new_object();
        json_object_object_add(o, "i", json_object_new_int64(s->index));
        json_object_object_add(o, "group", json_object_new_int64((int64_t)s->group));
        json_object_object_add(o, "code", json_object_new_string(slug(res->code)));
        json_object_object_add(o, "status", json_object_new_int(err_http_status(res->code)));
        json_object_object_add(o, "message", json_str_or_null(res->code ? res->err.msg : NULL));
        json_object_object_add(o, "field", json_str_or_null(res->code ? res->err.field : NULL));
        json_object_object_add(o, "provider", json_str_or_null(res->provider));
        json_object_object_add(o, "model", json_str_or_null(res->model));
        json_object_object_add(
            o, "content",
            res->content ? json_object_new_string_len(res->content, (int)res->content_len) : NULL);
        json_object_object_add(o, "reasoning", json_str_or_null(res->reasoning));
        json_object_object_add(o, "json", res->json ? json_object_get(res->json) : NULL);
        json_object_object_add(u, "input_tokens", json_object_new_int64(res->usage.input_tokens));
        json_object_object_add(u, "output_tokens", json_object_new_int64(res->usage.output_tokens));
        json_object_object_add(u, "total_tokens", json_object_new_int64(res->usage.total_tokens));
        json_object_object_add(u, "cost", json_object_new_double(res->usage.cost));
        json_object_object_add(u, "cached_tokens", json_object_new_int64(res->usage.cached_tokens));
        json_object_object_add(u, "cache_write_tokens",
                               json_object_new_int64(res->usage.cache_write_tokens));
        json_object_object_add(o, "usage", u);
        json_object_object_add(o, "http_status", json_object_new_int(res->http_status));
        json_object_object_add(o, "attempts", json_object_new_int(res->attempts));
        json_object_object_add(o, "method", json_object_new_string(llm_so_name(res->method)));
        json_object_object_add(o, "elapsed_ms",
                               json_object_new_double((double)res->elapsed_us / 1000.0));
        pthread_mutex_lock(&st->mu);
        printf("%s\n", json_text(o, NULL));
        pthread_mutex_unlock(&st->mu);
        json_object_put(o);
    }
    pthread_mutex_lock(&st->mu);
    st->outstanding--;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->mu);
    free(s);
}

static int read_stdin(struct json_object **ret, struct err *e)
{
    struct buf b;
    char chunk[65536];
    size_t n;
    int r = 0;

    buf_init(&b, 256u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if ((r = buf_add(&b, chunk, n)))
            break;
    if (!r)
        r = json_parse(b.data ? b.data : "", b.len, ret, e);
    buf_done(&b);
    return r;
}

static enum llm_role role_of(const char *s)
{
    if (strcmp(s, "system") == 0)
        return LLM_ROLE_SYSTEM;
    if (strcmp(s, "assistant") == 0)
        return LLM_ROLE_ASSISTANT;
    return LLM_ROLE_USER;
}

static void sleep_until(int64_t t_us)
{
    int64_t now = clock_mono_us();
    if (t_us > now) {
        struct timespec ts = {(t_us - now) / 1000000, ((t_us - now) % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

static void print_err(const char *what, const struct err *e)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, what, json_object_new_string(slug(e->code)));
    json_object_object_add(o, "status", json_object_new_int(err_http_status(e->code)));
    json_object_object_add(o, "message", json_object_new_string(e->msg));
    json_object_object_add(o, "field", json_object_new_string(e->field));
    printf("%s\n", json_text(o, NULL));
    json_object_put(o);
}

/* Submits the requests of a plan list, waiting while `window` calls are outstanding; returns
 * how many were accepted. */
static long submit_list(struct llm_engine *eng, struct json_object *reqs, struct state *st,
                        long window, long *index)
{
    struct json_object *v;
    long submitted = 0;
    struct err e = {0};

    for (size_t i = 0; reqs && i < json_object_array_length(reqs); i++) {
        struct json_object *r = json_object_array_get_idx(reqs, i), *msgs = NULL;
        struct llm_message m[16];
        struct llm_request req = {0};
        int64_t repeat = 1;

        if (json_object_object_get_ex(r, "provider", &v))
            req.provider = json_object_get_string(v);
        if (json_object_object_get_ex(r, "model", &v))
            req.model = json_object_get_string(v);
        if (json_object_object_get_ex(r, "prompt", &v)) {
            m[0] = (struct llm_message){LLM_ROLE_USER, json_object_get_string(v)};
            req.n_messages = 1;
        }
        if (json_object_object_get_ex(r, "messages", &msgs)) {
            for (size_t k = 0; k < json_object_array_length(msgs) && k < 16; k++) {
                struct json_object *mo = json_object_array_get_idx(msgs, k), *role, *content;
                json_object_object_get_ex(mo, "role", &role);
                json_object_object_get_ex(mo, "content", &content);
                m[k] = (struct llm_message){role_of(json_object_get_string(role)),
                                            json_object_get_string(content)};
                req.n_messages = k + 1;
            }
        }
        req.messages = m;
        if (json_object_object_get_ex(r, "schema", &v) && !(req.schema = schema_compile(v, &e))) {
            print_err("submit_error", &e);
            continue;
        }
        if (json_object_object_get_ex(r, "schema_name", &v))
            req.schema_name = json_object_get_string(v);
        if (json_object_object_get_ex(r, "temperature", &v)) {
            req.has_temperature = true;
            req.temperature = json_object_get_double(v);
        }
        if (json_object_object_get_ex(r, "max_tokens", &v))
            req.max_tokens = json_object_get_int(v);
        if (json_object_object_get_ex(r, "drop_unsupported_params", &v))
            req.drop_unsupported_params = json_object_get_boolean(v);
        if (json_object_object_get_ex(r, "cache_prefix", &v))
            req.cache_prefix = json_object_get_boolean(v);
        if (json_object_object_get_ex(r, "group", &v))
            req.group = (uint64_t)json_object_get_int64(v);
        if (json_object_object_get_ex(r, "repeat", &v))
            repeat = json_object_get_int64(v);
        for (int64_t k = 0; k < repeat; k++) {
            struct slot *s = calloc(1, sizeof(*s));
            s->st = st;
            s->index = (*index)++;
            s->group = req.group;
            pthread_mutex_lock(&st->mu);
            while (window > 0 && st->outstanding >= window)
                pthread_cond_wait(&st->cond, &st->mu);
            st->outstanding++;
            pthread_mutex_unlock(&st->mu);
            err_clear(&e);
            if (llm_submit(eng, &req, done_cb, s, &e) < 0) {
                pthread_mutex_lock(&st->mu);
                st->outstanding--;
                print_err("submit_error", &e);
                pthread_mutex_unlock(&st->mu);
                free(s);
                continue;
            }
            submitted++;
        }
        schema_unref(req.schema); /* each call holds its own reference */
    }
    return submitted;
}

int main(int argc, char **argv)
{
    struct json_object *plan = NULL, *section = NULL, *reqs = NULL, *v;
    struct llm_config *cfg = NULL;
    struct llm_engine *eng = NULL;
    struct llm_engine_opts opts = {0};
    struct state st = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct err e = {0};
    struct rlimit rl;
    long window = 0, index = 0, submitted = 0;
    int64_t t0;
    double cpu0;
    struct llm_stats stats;

    if (argc > 1 && strcmp(argv[1], "ping") == 0)
        return cli_llm_ping(argc - 1, argv + 1);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (read_stdin(&plan, &e) < 0) {
        fprintf(stderr, "llm-driver: plan: %s\n", e.msg);
        return 2;
    }
    json_object_object_get_ex(plan, "config", &section);
    if (json_object_object_get_ex(plan, "window", &v))
        window = json_object_get_int(v);
    if (json_object_object_get_ex(plan, "quiet", &v))
        st.quiet = json_object_get_boolean(v);
    if (llm_config_load(section, &cfg, &e) < 0) {
        print_err("config_error", &e);
        json_object_put(plan);
        return 0;
    }
    if (llm_engine_new_ex(cfg, &opts, &eng, &e) < 0) {
        fprintf(stderr, "llm-driver: %s\n", e.msg);
        return 2;
    }
    if (json_object_object_get_ex(plan, "check", &v)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *c = json_object_array_get_idx(v, i), *p = NULL, *m = NULL;
            json_object_object_get_ex(c, "provider", &p);
            json_object_object_get_ex(c, "model", &m);
            err_clear(&e);
            if (llm_check(eng, p ? json_object_get_string(p) : NULL,
                          m ? json_object_get_string(m) : NULL, &e) == 0)
                printf("{\"check\":\"ok\"}\n");
            else
                print_err("check", &e);
        }
    }
    t0 = clock_mono_us();
    llm_engine_stats(eng, &stats);
    cpu0 = (double)stats.cpu_ns;
    json_object_object_get_ex(plan, "requests", &reqs);
    submitted = submit_list(eng, reqs, &st, window, &index);
    if (json_object_object_get_ex(plan, "cancel", &v)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *c = json_object_array_get_idx(v, i), *g, *after;
            json_object_object_get_ex(c, "group", &g);
            json_object_object_get_ex(c, "after_ms", &after);
            sleep_until(t0 + (after ? json_object_get_int64(after) : 0) * 1000);
            llm_cancel_group(eng, (uint64_t)json_object_get_int64(g));
        }
    }
    if (json_object_object_get_ex(plan, "late_requests", &v))
        submitted += submit_list(eng, v, &st, window, &index);
    if (json_object_object_get_ex(plan, "free_after_ms", &v)) {
        /* stop the engine with calls in flight: every callback must still run, once */
        sleep_until(t0 + json_object_get_int64(v) * 1000);
        llm_engine_free(eng);
        eng = NULL;
        pthread_mutex_lock(&st.mu);
        printf("{\"freed\":true,\"outstanding\":%ld}\n", st.outstanding);
        pthread_mutex_unlock(&st.mu);
        llm_config_free(cfg);
        json_object_put(plan);
        return 0;
    }
    pthread_mutex_lock(&st.mu);
    while (st.outstanding > 0)
        pthread_cond_wait(&st.cond, &st.mu);
    pthread_mutex_unlock(&st.mu);
    {
        double wall = (double)(clock_mono_us() - t0) / 1e6;
        struct json_object *o = json_object_new_object(), *s = json_object_new_object();
        struct json_object *w = json_object_new_object();
        llm_engine_stats(eng, &stats);
        json_object_object_add(s, "submitted", json_object_new_int64((int64_t)stats.submitted));
        json_object_object_add(s, "succeeded", json_object_new_int64((int64_t)stats.succeeded));
        json_object_object_add(s, "failed", json_object_new_int64((int64_t)stats.failed));
        json_object_object_add(s, "cancelled", json_object_new_int64((int64_t)stats.cancelled));
        json_object_object_add(s, "http_requests",
                               json_object_new_int64((int64_t)stats.http_requests));
        json_object_object_add(s, "retries", json_object_new_int64((int64_t)stats.retries));
        json_object_object_add(s, "rate_limited",
                               json_object_new_int64((int64_t)stats.rate_limited));
        json_object_object_add(s, "window_shrinks",
                               json_object_new_int64((int64_t)stats.window_shrinks));
        json_object_object_add(s, "wall_s", json_object_new_double(wall));
        json_object_object_add(s, "cpu_us_per_call",
                               json_object_new_double(submitted ? ((double)stats.cpu_ns - cpu0) /
                                                                      1e3 / (double)submitted
                                                                : 0));
        if (json_object_object_get_ex(plan, "windows", &v)) {
            for (size_t i = 0; i < json_object_array_length(v); i++) {
                struct json_object *c = json_object_array_get_idx(v, i), *p, *m;
                char key[512];
                json_object_object_get_ex(c, "provider", &p);
                json_object_object_get_ex(c, "model", &m);
                snprintf(key, sizeof(key), "%s/%s", json_object_get_string(p),
                         json_object_get_string(m));
                json_object_object_add(
                    w, key,
                    json_object_new_int(llm_engine_window(eng, json_object_get_string(p),
                                                          json_object_get_string(m))));
            }
        }
        json_object_object_add(s, "windows", w);
        json_object_object_add(o, "summary", s);
        printf("%s\n", json_text(o, NULL));
        json_object_put(o);
    }
    llm_engine_free(eng);
    llm_config_free(cfg);
    json_object_put(plan);
    return 0;
}
