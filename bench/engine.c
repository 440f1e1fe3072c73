/* SPDX-License-Identifier: MIT */
/*
 * Benchmark "engine": N calls with a JSON schema through the provider engine against a provider
 * (the fake, answering after a fixed latency), at most W in flight (the caller's window and the
 * lane's concurrency ceiling). Prints wall time, the ideal N / W x latency, their ratio, the CPU
 * time of the engine thread per call and the peak RSS of the process, as "engine: figure = value
 * unit" lines. Every call must succeed with a validated answer, or the run fails.
 *
 * usage: bench-engine --base-url URL [--calls N] [--window W] [--latency-ms L]
 *                     [--warmup N] [--shards S]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "llm/engine.h"
#include "util/clock.h"
#include "util/json.h"

struct bench {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct llm_engine *eng;
    const struct llm_request *req;
    long to_submit, outstanding, ok, bad;
    char first_error[ERR_MSG_MAX];
};

static void done_cb(void *ud, const struct llm_result *res);

/* Submits while fewer than the window are outstanding. Called under b->mu. */
static void refill(struct bench *b, long window)
{
    struct err e = {0};
    while (b->to_submit > 0 && b->outstanding < window) {
        b->to_submit--;
        b->outstanding++;
        if (llm_submit(b->eng, b->req, done_cb, b, &e) < 0) {
            b->outstanding--;
            if (b->bad++ == 0)
                snprintf(b->first_error, sizeof(b->first_error), "submit: %s", e.msg);
            err_clear(&e);
        }
    }
}

static long bench_window;

/* Runs on the engine thread: counts the result and submits the next call there, the way a job
 * runner keeps its window full, so no thread hand-off sits between a completion and the next
 * submission. */
static void done_cb(void *ud, const struct llm_result *res)
{
    struct bench *b = ud;
    pthread_mutex_lock(&b->mu);
    if (res->code == 0 && res->json)
        b->ok++;
    else if (b->bad++ == 0)
        snprintf(b->first_error, sizeof(b->first_error), "%s", res->err.msg);
    b->outstanding--;
    refill(b, bench_window);
    if (b->outstanding == 0)
        pthread_cond_signal(&b->cond);
    pthread_mutex_unlock(&b->mu);
}

static int run(struct llm_engine *eng, struct bench *b, const char *model, long calls, long window,
               struct schema *schema)
{
    static const struct llm_message msgs[] = {
        {LLM_ROLE_SYSTEM, "You write short product reviews for a test data set."},
        {LLM_ROLE_USER, "Write one review of a kettle, with a rating."},
    };
    struct llm_request req = {.provider = "openai",
                              .model = model,
                              .messages = msgs,
                              .n_messages = 2,
                              .schema = schema,
                              .schema_name = "review",
                              .has_temperature = true,
                              .temperature = 0.7};

    pthread_mutex_lock(&b->mu);
    b->eng = eng;
    b->req = &req;
    b->to_submit = calls;
    bench_window = window;
    refill(b, window);
    while (b->outstanding > 0)
        pthread_cond_wait(&b->cond, &b->mu);
    pthread_mutex_unlock(&b->mu);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"base-url", required_argument, NULL, 'u'},
                                         {"calls", required_argument, NULL, 'n'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"latency-ms", required_argument, NULL, 'l'},
                                         {"warmup", required_argument, NULL, 'm'},
                                         {"shards", required_argument, NULL, 's'},
                                         {NULL, 0, NULL, 0}};
    const char *base_url = NULL;
    long calls = 10000, window = 1000, latency = 200, warmup = -1;
    struct llm_engine_opts eopts = {0};
    struct json_object *section, *prov;
    struct schema *schema = NULL;
    struct llm_config *cfg = NULL;
    struct llm_engine *eng = NULL;
    struct llm_stats s0, s1;
    struct bench b = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    struct err e = {0};
    struct rlimit rl;
    struct rusage ru;
    char model[64];
    int64_t t0, t1;
    int c;
    static const char schema_text[] =
        "{\"type\":\"object\",\"properties\":{\"title\":{\"type\":\"string\",\"maxLength\":80},"
        "\"rating\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":5},\"pros\":{\"type\":"
        "\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":5},\"verdict\":{\"enum\":["
        "\"buy\",\"skip\"]}},\"required\":[\"title\",\"rating\",\"pros\",\"verdict\"],"
        "\"additionalProperties\":false}";

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'u': base_url = optarg; break;
        case 'n': calls = strtol(optarg, NULL, 10); break;
        case 'w': window = strtol(optarg, NULL, 10); break;
        case 'l': latency = strtol(optarg, NULL, 10); break;
        case 'm': warmup = strtol(optarg, NULL, 10); break;
        case 's': eopts.shards = (int)strtol(optarg, NULL, 10); break;
        default: return 2;
        }
    }
    if (!base_url || calls < 1 || window < 1) {
        fprintf(stderr, "usage: bench-engine --base-url URL [--calls N] [--window W] "
                        "[--latency-ms L] [--warmup N] [--shards S]\n");
        return 2;
    }
    if (warmup < 0)
        warmup = window;
    /* one socket per call in flight (HTTP/1.1 to the fake) */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    section = json_object_new_object();
    prov = json_object_new_object();
    json_object_object_add(prov, "base_url", json_object_new_string(base_url));
    json_object_object_add(prov, "api_key", json_object_new_string("sk-bench"));
    json_object_object_add(prov, "concurrency", json_object_new_int((int)window));
    json_object_object_add(section, "openai", prov);
    if (!(schema = schema_from_text(schema_text, &e)) || llm_config_load(section, &cfg, &e) < 0 ||
        llm_engine_new_ex(cfg, &eopts, &eng, &e) < 0) {
        fprintf(stderr, "engine: %s\n", e.msg);
        return 1;
    }
    snprintf(model, sizeof(model), "bench-model+latency=%ld", latency);
    /* warm-up: open the connections (a provider's pool is warm in steady state) */
    if (warmup > 0 && run(eng, &b, model, warmup, window, schema) < 0)
        return 1;
    b.ok = b.bad = 0;
    llm_engine_stats(eng, &s0);
    t0 = clock_mono_us();
    if (run(eng, &b, model, calls, window, schema) < 0)
        return 1;
    t1 = clock_mono_us();
    llm_engine_stats(eng, &s1);
    getrusage(RUSAGE_SELF, &ru);

    double wall = (double)(t1 - t0) / 1e6;
    double ideal = (double)calls / (double)window * (double)latency / 1000.0;
    double cpu_us = (double)(s1.cpu_ns - s0.cpu_ns) / 1e3 / (double)calls;
    printf("engine: calls = %ld\n", calls);
    printf("engine: window = %ld\n", window);
    printf("engine: wall_time = %.3f s\n", wall);
    printf("engine: ideal = %.1f s\n", ideal);
    printf("engine: ratio = %.3f\n", wall / ideal);
    printf("engine: cpu_per_call = %.1f us\n", cpu_us);
    printf("engine: peak_rss = %.1f MB\n", (double)ru.ru_maxrss / 1024.0);
    printf("engine: http_requests = %llu\n",
           (unsigned long long)(s1.http_requests - s0.http_requests));
    printf("engine: failed_calls = %ld\n", b.bad);
    llm_engine_free(eng);
    llm_config_free(cfg);
    json_object_put(section);
    schema_unref(schema);
    if (b.bad || b.ok != calls) {
        fprintf(stderr, "engine: %ld of %ld calls failed; first: %s\n", b.bad, calls,
                b.first_error);
        return 1;
    }
    return 0;
}
