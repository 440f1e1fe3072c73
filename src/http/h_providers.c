/* SPDX-License-Identifier: MIT */
/*
 * GET /api/providers: every provider Hetu can call (the providers table's rows and the config
 * file's named entries), whether it could be called now, where its key is read from, its limits,
 * the engine's current windows and the Kiln models it serves, each with its price when Hetu knows
 * it (llm_price_of: the config file's, else the built-in table's). A key is never read here beyond
 * "is there one": no byte of it reaches the answer, and a base URL loses its userinfo and query.
 *
 * POST /api/providers/{provider}/ping: one short call through the engine (llm/ping.h, as
 * `hetu llm ping` makes it); the connection waits suspended and the engine's callback answers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "http/request.h"
#include "http/routes.h"
#include "llm/engine.h"
#include "llm/kiln_models.h"
#include "llm/ping.h"
#include "util/json.h"
#include "util/banned.h"

#define ANSWER_MAX_CHARS 300 /* code points of the answer a ping shows */
#define PROMPT_MAX_CHARS 4000

/* ---- the list ---- */

/* The base URL as shown: NULL when it is the table's default (or there is none); otherwise
 * scheme://host[:port]/path, without userinfo, query or fragment (malloc'd). */
static char *shown_url(const struct llm_provider_cfg *p)
{
    const char *u = p->base_url, *sep, *host, *at = NULL;
    size_t scheme_len, auth_len, path_len;
    char *out;

    if (!u || (p->info->base_url && strcmp(u, p->info->base_url) == 0))
        return NULL;
    sep = strstr(u, "://");
    scheme_len = sep ? (size_t)(sep + 3 - u) : 0;
    host = u + scheme_len;
    auth_len = strcspn(host, "/?#");
    for (const char *c = host; c < host + auth_len; c++)
        if (*c == '@')
            at = c;
    path_len = strcspn(host + auth_len, "?#");
    if (asprintf(&out, "%.*s%.*s%.*s", (int)scheme_len, u,
                 (int)(host + auth_len - (at ? at + 1 : host)), at ? at + 1 : host, (int)path_len,
                 host + auth_len) < 0)
        return NULL;
    return out;
}

static struct json_object *key_vars(const struct llm_provider_cfg *p)
{
    struct json_object *a = json_object_new_array();

    if (p->info->key_policy == LLM_KEY_NONE)
        return a;
    if (p->key_var) {
        json_object_array_add(a, json_object_new_string(p->key_var));
        return a;
    }
    for (int i = 0; i < LLM_KEY_VARS_MAX && p->info->key_vars[i]; i++)
        json_object_array_add(a, json_object_new_string(p->info->key_vars[i]));
    return a;
}

static struct json_object *limit_or_null(int v)
{
    return v > 0 ? json_object_new_int(v) : NULL;
}

struct lanes {
    const char *provider;
    struct json_object *list;
    int narrowest; /* -1: no model called yet */
};

static void add_lane(void *ud, const char *provider, const char *model, int window)
{
    struct lanes *l = ud;
    struct json_object *o;

    if (strcmp(provider, l->provider) != 0)
        return;
    o = json_object_new_object();
    json_object_object_add(o, "model", json_object_new_string(model));
    json_object_object_add(o, "window", json_object_new_int(window));
    json_object_array_add(l->list, o);
    if (l->narrowest < 0 || window < l->narrowest)
        l->narrowest = window;
}

static struct json_object *price_or_null(double v)
{
    return v < 0 ? NULL : json_object_new_double(v);
}

/* What model's tokens cost on p, USD per million; null when unknown. A cache price not set
 * apart is the input price. */
static struct json_object *price_json(const struct llm_provider_cfg *p, const char *model)
{
    struct llm_price price;
    struct json_object *o;

    llm_price_of(p, model, &price);
    if (!price.source)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "input_per_mtok", price_or_null(price.in));
    json_object_object_add(o, "output_per_mtok", price_or_null(price.out));
    json_object_object_add(o, "cached_input_per_mtok",
                           price_or_null(price.cached_in >= 0 ? price.cached_in : price.in));
    json_object_object_add(o, "cache_write_per_mtok",
                           price_or_null(price.cache_write >= 0 ? price.cache_write : price.in));
    json_object_object_add(o, "source", json_object_new_string(price.source));
    return o;
}

static struct json_object *kiln_models_of(const struct llm_provider_cfg *p)
{
    struct json_object *a = json_object_new_array();
    size_t n;
    const struct kiln_model *all = kiln_models_all(&n);

    for (size_t i = 0; i < n; i++) {
        struct json_object *o;
        if (!all[i].model_id || strcmp(all[i].provider, p->name) != 0)
            continue;
        o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(all[i].id));
        json_object_object_add(o, "model_id", json_object_new_string(all[i].model_id));
        json_object_object_add(o, "price", price_json(p, all[i].model_id));
        json_object_array_add(a, o);
    }
    return a;
}

static struct json_object *provider_json(struct llm_engine *eng, const struct llm_provider_cfg *p,
                                         bool configured)
{
    struct json_object *o = json_object_new_object(), *lim = json_object_new_object();
    struct lanes lanes = {p->name, json_object_new_array(), -1};
    char *url = shown_url(p);

    llm_engine_windows(eng, add_lane, &lanes);
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "type", json_object_new_string(p->info->name));
    json_object_object_add(o, "configured", json_object_new_boolean(configured));
    json_object_object_add(o, "key_present", json_object_new_boolean(p->api_key != NULL));
    json_object_object_add(o, "key_env", key_vars(p));
    json_object_object_add(o, "base_url", json_str_or_null(url));
    /* a model not called yet opens with the whole window */
    json_object_object_add(
        o, "window",
        json_object_new_int(lanes.narrowest < 0 ? p->lim.concurrency : lanes.narrowest));
    json_object_object_add(o, "windows", lanes.list);
    json_object_object_add(lim, "concurrency", limit_or_null(p->lim.concurrency));
    json_object_object_add(lim, "rpm", limit_or_null(p->lim.rpm));
    json_object_object_add(lim, "tpm", limit_or_null(p->lim.tpm));
    json_object_object_add(o, "limits", lim);
    json_object_object_add(o, "models", kiln_models_of(p));
    free(url);
    return o;
}

struct shown {
    const struct llm_provider_cfg *p;
    bool configured;
};

static int by_readiness_then_name(const void *a, const void *b)
{
    const struct shown *x = a, *y = b;

    if (x->configured != y->configured)
        return x->configured ? -1 : 1;
    return strcmp(x->p->name, y->p->name);
}

static struct llm_engine *engine_of(struct http_req *req, struct err *e)
{
    struct llm_engine *eng = http_req_app(req)->engine;

    if (!eng)
        err_set(e, HE_UNAVAILABLE, NULL, "this server calls no model providers");
    return eng;
}

int h_provider_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct llm_engine *eng = engine_of(req, e);
    const struct llm_config *cfg;
    struct json_object *list, *o;
    struct shown *shown;

    if (!eng)
        return e->code;
    cfg = llm_engine_config(eng);
    if (!(shown = calloc(cfg->n_providers + 1, sizeof(*shown))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < cfg->n_providers; i++) {
        struct err ignored = ERR_INIT;
        shown[i].p = &cfg->providers[i];
        shown[i].configured = llm_config_reachable(&cfg->providers[i], &ignored) == 0;
    }
    qsort(shown, cfg->n_providers, sizeof(*shown), by_readiness_then_name);
    list = json_object_new_array();
    for (size_t i = 0; i < cfg->n_providers; i++)
        json_object_array_add(list, provider_json(eng, shown[i].p, shown[i].configured));
    free(shown);
    o = json_object_new_object();
    json_object_object_add(o, "providers", list);
    *ret_body = o;
    return 0;
}

/* ---- ping ---- */

static const char *const ping_fields[] = {"model_name", "prompt", NULL};

/* The first ANSWER_MAX_CHARS code points of s[0..len), "..." after a cut. */
static struct json_object *short_answer(const char *s, size_t len)
{
    size_t i = 0, chars = 0;

    while (i < len && chars < ANSWER_MAX_CHARS) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        chars++;
    }
    if (i == len)
        return json_object_new_string_len(s, (int)len);
    {
        struct json_object *o;
        char *cut;
        if (asprintf(&cut, "%.*s...", (int)i, s) < 0)
            return json_object_new_string_len(s, (int)i);
        o = json_object_new_string(cut);
        free(cut);
        return o;
    }
}

static void ping_done(void *ud, const struct llm_result *res)
{
    struct http_req *req = ud;
    struct json_object *o;

    if (res->code) {
        http_req_complete(req, NULL, &res->err);
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(true));
    json_object_object_add(o, "provider", json_object_new_string(http_req_param(req, "provider")));
    json_object_object_add(o, "model_name", json_object_new_string(http_req_ctx(req)));
    json_object_object_add(o, "model_id", json_object_new_string(res->model));
    json_object_object_add(
        o, "answer",
        short_answer(res->content ? res->content : "", res->content ? res->content_len : 0));
    json_object_object_add(o, "usage", llm_usage_json(&res->usage));
    json_object_object_add(o, "latency_ms", json_object_new_int64(res->elapsed_us / 1000));
    http_req_complete(req, o, NULL);
}

static void ping_cancel(void *ud)
{
    struct http_req *req = ud;
    llm_cancel_group(http_req_app(req)->engine, http_req_serial(req));
}

int h_provider_ping(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct llm_engine *eng = engine_of(req, e);
    struct json_object *body = http_req_body(req);
    const char *name = http_req_param(req, "provider");
    struct llm_ping ping = {.provider = name, .group = http_req_serial(req)};
    char *model;
    int r;

    (void)ret_body;
    if (!eng)
        return e->code;
    if (!llm_config_provider(llm_engine_config(eng), name))
        return err_set(e, HE_NOT_FOUND, NULL,
                       "provider \"%s\" not found: GET /api/providers lists the providers", name);
    if ((r = json_check_keys(body, NULL, ping_fields, e)) < 0 ||
        (r = gen_get_model_name(body, NULL, "model_name", JF_REQUIRED, &ping.model, e)) < 0 ||
        (r = json_get_str(body, NULL, "prompt", JF_NULLABLE, 1, PROMPT_MAX_CHARS, &ping.prompt,
                          e)) < 0)
        return r;
    if (!(model = strdup(ping.model)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    http_req_set_ctx(req, model, free);
    http_req_on_cancel(req, ping_cancel, req);
    if ((r = llm_ping_submit(eng, &ping, ping_done, req, e)) < 0)
        return r;
    return HTTP_PENDING;
}
