/* SPDX-License-Identifier: MIT */
/*
 * `hetu llm ping --provider P --model M [--config FILE] [--prompt TEXT] [--schema FILE]`: loads
 * the "providers" section of the config file (or the environment alone), starts an engine,
 * sends one short prompt and waits for it on the calling thread (a mutex and a condition
 * variable; the engine calls back on its own thread). Prints the answer and the usage, so a
 * user can check keys, base URLs and models before running a job.
 */
#include "cli/llm_ping.h"

#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/engine.h"
#include "llm/ping.h"
#include "util/buf.h"
#include "util/json.h"

#include "util/banned.h"

#define FILE_MAX (16u << 20)

struct wait {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done;
    int code;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: hetu llm ping --provider P --model M [--config FILE] [--prompt TEXT]\n"
               "                     [--schema FILE]\n"
               "Sends one short prompt to the provider and prints the answer and the usage.\n"
               "  --provider P    provider name (openai, anthropic, together_ai, ollama, ...)\n"
               "  --model M       model name as the provider knows it\n"
               "  --config FILE   JSON config file; its \"providers\" object sets base URLs,\n"
               "                  keys, limits and prices (the environment wins over it)\n"
               "  --prompt TEXT   the prompt (default: \"" LLM_PING_PROMPT "\")\n"
               "  --schema FILE   a JSON schema: ask for structured output and validate it\n");
}

static int read_json_file(const char *path, struct json_object **ret, struct err *e)
{
    struct buf b;
    char chunk[65536];
    size_t n;
    int r = 0;
    FILE *f = fopen(path, "rb");

    if (!f)
        return err_set(e, HE_IO, NULL, "cannot open %s: %m", path);
    buf_init(&b, FILE_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((r = buf_add(&b, chunk, n)))
            break;
    fclose(f);
    if (r) {
        buf_done(&b);
        return err_set(e, r, NULL, "%s: too large", path);
    }
    r = json_parse(b.data ? b.data : "", b.len, ret, e);
    buf_done(&b);
    if (r)
        err_prefix(e, "%s", path);
    return r;
}

static void print_num(const char *name, int64_t v)
{
    if (v >= 0)
        printf(" %s=%lld", name, (long long)v);
    else
        printf(" %s=?", name);
}

static void done_cb(void *ud, const struct llm_result *res)
{
    struct wait *w = ud;

    if (res->code == 0) {
        if (res->reasoning)
            printf("reasoning: %s\n", res->reasoning);
        printf("%.*s\n", (int)res->content_len, res->content ? res->content : "");
        printf("usage:");
        print_num("input_tokens", res->usage.input_tokens);
        print_num("output_tokens", res->usage.output_tokens);
        print_num("total_tokens", res->usage.total_tokens);
        if (res->usage.cost >= 0)
            printf(" cost=$%.6f", res->usage.cost);
        printf("\n%s %s: HTTP %d, %d attempt%s, %.2f s%s%s\n", res->provider, res->model,
               res->http_status, res->attempts, res->attempts == 1 ? "" : "s",
               (double)res->elapsed_us / 1e6, res->method ? ", structured output: " : "",
               res->method ? llm_so_name(res->method) : "");
    } else {
        fprintf(stderr, "hetu llm ping: %s\n", res->err.msg);
    }
    fflush(stdout);
    pthread_mutex_lock(&w->mu);
    w->code = res->code;
    w->done = true;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

int cli_llm_ping(int argc, char **argv)
{
    static const struct option opts[] = {
        {"provider", required_argument, NULL, 'p'},
        {"model", required_argument, NULL, 'm'},
        {"config", required_argument, NULL, 'c'},
        {"prompt", required_argument, NULL, 't'},
        {"schema", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *provider = NULL, *model = NULL, *config = NULL, *schema_path = NULL;
    const char *prompt = NULL;
    struct json_object *conf = NULL, *section = NULL, *schema = NULL;
    struct schema *compiled = NULL;
    struct llm_config *cfg = NULL;
    struct llm_engine *eng = NULL;
    struct err e = {0};
    struct wait w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};
    int c, status = 1;

    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': provider = optarg; break;
        case 'm': model = optarg; break;
        case 'c': config = optarg; break;
        case 't': prompt = optarg; break;
        case 's': schema_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !provider || !model) {
        usage(stderr);
        return 2;
    }
    if (config) {
        if (read_json_file(config, &conf, &e) < 0)
            goto out;
        if (!json_object_is_type(conf, json_type_object)) {
            err_set(&e, HE_BAD_REQUEST, NULL, "%s: the config file must be a JSON object", config);
            goto out;
        }
        json_object_object_get_ex(conf, "providers", &section);
    }
    if (schema_path && (read_json_file(schema_path, &schema, &e) < 0 ||
                        schema_check(schema, false, "--schema", &e) < 0 ||
                        !(compiled = schema_compile(schema, &e))))
        goto out;
    if (llm_config_load(section, &cfg, &e) < 0 || llm_engine_new(cfg, &eng, &e) < 0)
        goto out;
    {
        struct llm_ping ping = {provider, model, prompt, compiled, 0};
        if (llm_ping_submit(eng, &ping, done_cb, &w, &e) < 0)
            goto out;
    }
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        pthread_cond_wait(&w.cond, &w.mu);
    pthread_mutex_unlock(&w.mu);
    status = w.code == 0 ? 0 : 1;
out:
    if (e.code)
        fprintf(stderr, "hetu llm ping: %s\n", e.msg);
    llm_engine_free(eng);
    llm_config_free(cfg);
    json_object_put(conf);
    json_object_put(schema);
    schema_unref(compiled);
    return status;
}
