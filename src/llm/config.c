/* SPDX-License-Identifier: MIT */
/*
 * Provider settings. Loaded once (by the server at start or by `hetu llm ping`) and then only
 * read, from any thread. Every row of the providers table gets an entry whether or not the file
 * mentions it, so a provider works from its environment variables alone; named entries
 * (a "type" of openai_compatible or vllm) are added after them.
 *
 * llm_config_check also resolves where a call goes, the way Kiln reads a (provider, model name)
 * pair: a Kiln model id becomes the provider's model id (kiln_models.h), "NAME::MODEL" on
 * openai_compatible names an entry, "PROVIDER::MODEL" on kiln_custom_registry a built-in
 * provider. The result points into the tables, the config or the caller's string; nothing is
 * allocated.
 */
#include "llm/config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/kiln_models.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/json.h"

#include "util/banned.h"

#define ANTHROPIC_VERSION "2023-06-01"
/* Kiln's provider for its custom models, PROVIDER::MODEL */
#define KILN_CUSTOM "kiln_custom_registry"

/* What a provider and each of its models may set (a model's value wins). */
#define SHARED_KEYS                                                                            \
    "concurrency", "rpm", "tpm", "timeout_s", "max_attempts", "schema_retries",                \
        "max_output_tokens", "rate_limit_wait_s", "structured_output", "price_input_per_mtok", \
        "price_output_per_mtok", "price_cached_input_per_mtok", "price_cache_write_per_mtok"

static const char *const provider_keys[] = {
    "type",           "base_url",          "api_key", "api_key_env", SHARED_KEYS, "backoff_base_ms",
    "backoff_max_ms", "anthropic_version", "models",  NULL,
};

static const char *const model_keys[] = {SHARED_KEYS, NULL};

static char *dup_url(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '/')
        n--;
    return strndup(s, n);
}

static const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int get_double(struct json_object *obj, const char *where, const char *key, double *ret,
                      struct err *e)
{
    struct json_object *v;
    char field[ERR_FIELD_MAX];

    if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    json_field_name(field, sizeof(field), where, key);
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return err_set(e, HE_BAD_REQUEST, field, "%s must be a number", field);
    *ret = json_object_get_double(v);
    if (!isfinite(*ret) || *ret < 0)
        return err_set(e, HE_BAD_REQUEST, field, "%s must be a non-negative number", field);
    return 0;
}

static int get_int(struct json_object *obj, const char *where, const char *key, int64_t min,
                   int64_t max, int *ret, struct err *e)
{
    int64_t v = *ret;
    int r = json_get_int(obj, where, key, JF_NULLABLE, min, max, &v, e);
    if (r)
        return r;
    *ret = (int)v;
    return 0;
}

/* Reads the limit keys shared by provider and model entries into lim. */
static int read_limits(struct json_object *obj, const char *where, struct llm_limits *lim,
                       enum llm_flavour flavour, struct err *e)
{
    const char *so = NULL;
    char field[ERR_FIELD_MAX];
    int r;

    if ((r = get_int(obj, where, "concurrency", 1, 100000, &lim->concurrency, e)) ||
        (r = get_int(obj, where, "rpm", 0, 100000000, &lim->rpm, e)) ||
        (r = get_int(obj, where, "tpm", 0, 2000000000, &lim->tpm, e)) ||
        (r = get_int(obj, where, "timeout_s", 1, 86400, &lim->timeout_s, e)) ||
        (r = get_int(obj, where, "max_attempts", 1, 100, &lim->max_attempts, e)) ||
        (r = get_int(obj, where, "schema_retries", 0, 20, &lim->schema_retries, e)) ||
        (r = get_int(obj, where, "backoff_base_ms", 0, 3600000, &lim->backoff_base_ms, e)) ||
        (r = get_int(obj, where, "backoff_max_ms", 0, 3600000, &lim->backoff_max_ms, e)) ||
        (r = get_int(obj, where, "max_output_tokens", 0, 100000000, &lim->max_output_tokens, e)) ||
        (r = get_int(obj, where, "rate_limit_wait_s", 1, 86400, &lim->rate_limit_wait_s, e)) ||
        (r = get_double(obj, where, "price_input_per_mtok", &lim->price_in, e)) ||
        (r = get_double(obj, where, "price_output_per_mtok", &lim->price_out, e)) ||
        (r = get_double(obj, where, "price_cached_input_per_mtok", &lim->price_cached_in, e)) ||
        (r = get_double(obj, where, "price_cache_write_per_mtok", &lim->price_cache_write, e)) ||
        (r = json_get_str(obj, where, "structured_output", JF_NULLABLE, 1, 32, &so, e)))
        return r;
    if (so) {
        enum llm_so_method m;
        json_field_name(field, sizeof(field), where, "structured_output");
        if (llm_so_parse(so, &m) < 0 || m == LLM_SO_NONE)
            return err_set(e, HE_BAD_REQUEST, field,
                           "%s must be one of json_schema, json_mode, prompt, tool", field);
        if ((m == LLM_SO_TOOL) != (flavour == LLM_ANTHROPIC_MESSAGES) && m != LLM_SO_JSON_MODE &&
            m != LLM_SO_PROMPT)
            return err_set(e, HE_BAD_REQUEST, field, "%s: %s is not available for this provider",
                           field, so);
        if (m == LLM_SO_JSON_MODE && flavour == LLM_ANTHROPIC_MESSAGES)
            return err_set(e, HE_BAD_REQUEST, field,
                           "%s: json_mode is not available for this provider", field);
        lim->so_method = m;
        lim->so_set = true;
    }
    return 0;
}

static void provider_done(struct llm_provider_cfg *p)
{
    free(p->name);
    free(p->base_url);
    if (p->api_key) {
        explicit_bzero(p->api_key, strlen(p->api_key));
        free(p->api_key);
    }
    free(p->key_var);
    free(p->anthropic_version);
    for (size_t i = 0; i < p->n_models; i++)
        free(p->models[i].name);
    free(p->models);
}

void llm_config_free(struct llm_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_providers; i++)
        provider_done(&cfg->providers[i]);
    free(cfg->providers);
    free(cfg);
}

static int provider_init(struct llm_provider_cfg *p, const char *name,
                         const struct llm_provider_info *info)
{
    memset(p, 0, sizeof(*p));
    p->info = info;
    p->caps = info->caps;
    p->name = strdup(name);
    p->anthropic_version = strdup(ANTHROPIC_VERSION);
    if (!p->name || !p->anthropic_version)
        return HE_NOMEM;
    p->lim = (struct llm_limits){
        .concurrency = info->concurrency,
        .timeout_s = 120,
        .max_attempts = 5,
        .schema_retries = 2,
        .backoff_base_ms = 500,
        .backoff_max_ms = 30000,
        .rate_limit_wait_s = 600,
        .so_method = llm_provider_best_method(info->flavour, info->caps),
        .price_in = -1,
        .price_out = -1,
        .price_cached_in = -1,
        .price_cache_write = -1,
    };
    return 0;
}

static int read_entry(struct llm_provider_cfg *p, struct json_object *obj, struct err *e)
{
    char where[ERR_FIELD_MAX];
    const char *s;
    struct json_object *models = NULL;
    int r;

    snprintf(where, sizeof(where), "providers.%s", p->name);
    if (!json_object_is_type(obj, json_type_object))
        return err_set(e, HE_BAD_REQUEST, where, "%s must be an object", where);
    if ((r = json_check_keys(obj, where, provider_keys, e)))
        return r;
    s = NULL;
    if ((r = json_get_str(obj, where, "base_url", JF_NULLABLE, 1, 2048, &s, e)))
        return r;
    if (s) {
        if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
            return err_set(e, HE_BAD_REQUEST, where,
                           "%s.base_url must start with http:// or https://", where);
        free(p->base_url);
        if (!(p->base_url = dup_url(s)))
            return HE_NOMEM;
    }
    s = NULL;
    if ((r = json_get_str(obj, where, "api_key", JF_NULLABLE, 1, 4096, &s, e)))
        return r;
    if (s && !(p->api_key = strdup(s)))
        return HE_NOMEM;
    s = NULL;
    if ((r = json_get_str(obj, where, "api_key_env", JF_NULLABLE, 1, 256, &s, e)))
        return r;
    if (s && !(p->key_var = strdup(s)))
        return HE_NOMEM;
    s = NULL;
    if ((r = json_get_str(obj, where, "anthropic_version", JF_NULLABLE, 1, 64, &s, e)))
        return r;
    if (s) {
        free(p->anthropic_version);
        if (!(p->anthropic_version = strdup(s)))
            return HE_NOMEM;
    }
    if ((r = read_limits(obj, where, &p->lim, p->info->flavour, e)))
        return r;
    if ((r = json_get_object(obj, where, "models", JF_NULLABLE, &models, e)))
        return r;
    if (!models)
        return 0;
    p->n_models = 0;
    p->models = calloc((size_t)json_object_object_length(models) + 1, sizeof(*p->models));
    if (!p->models)
        return HE_NOMEM;
    json_object_object_foreach(models, mname, mobj)
    {
        char mwhere[ERR_FIELD_MAX];
        struct llm_model_cfg *m = &p->models[p->n_models];

        snprintf(mwhere, sizeof(mwhere), "%s.models.%s", where, mname);
        if (!json_object_is_type(mobj, json_type_object))
            return err_set(e, HE_BAD_REQUEST, mwhere, "%s must be an object", mwhere);
        if ((r = json_check_keys(mobj, mwhere, model_keys, e)))
            return r;
        if (!(m->name = strdup(mname)))
            return HE_NOMEM;
        p->n_models++;
        m->lim = p->lim; /* provider values (read above) are the defaults */
        if ((r = read_limits(mobj, mwhere, &m->lim, p->info->flavour, e)))
            return r;
    }
    return 0;
}

/* Applies the environment: base URL override, then the key. */
static int apply_env(struct llm_provider_cfg *p)
{
    char var[ERR_FIELD_MAX];
    const char *v;

    llm_provider_url_var(p->name, var, sizeof(var));
    v = env_nonempty(var);
    if (!v && strcmp(p->name, "ollama") == 0 && (v = env_nonempty("OLLAMA_BASE_URL"))) {
        size_t n = strlen(v);
        while (n > 0 && v[n - 1] == '/')
            n--;
        if (n < 3 || memcmp(v + n - 3, "/v1", 3) != 0) {
            free(p->base_url);
            if (asprintf(&p->base_url, "%.*s/v1", (int)n, v) < 0) {
                p->base_url = NULL;
                return HE_NOMEM;
            }
            v = NULL;
        }
    }
    if (v) {
        free(p->base_url);
        if (!(p->base_url = dup_url(v)))
            return HE_NOMEM;
    }
    if (!p->base_url && p->info->base_url && !(p->base_url = strdup(p->info->base_url)))
        return HE_NOMEM;

    if (p->info->key_policy == LLM_KEY_NONE)
        return 0;
    v = NULL;
    if (p->key_var)
        v = env_nonempty(p->key_var);
    for (int i = 0; !v && !p->key_var && i < LLM_KEY_VARS_MAX && p->info->key_vars[i]; i++)
        v = env_nonempty(p->info->key_vars[i]);
    if (v) {
        if (p->api_key) {
            explicit_bzero(p->api_key, strlen(p->api_key));
            free(p->api_key);
        }
        if (!(p->api_key = strdup(v)))
            return HE_NOMEM;
    }
    return 0;
}

int llm_config_load(struct json_object *section, struct llm_config **ret, struct err *e)
{
    struct llm_config *cfg;
    const struct llm_provider_info *all;
    size_t n_all, cap;
    int r = 0;

    all = llm_provider_all(&n_all);
    if (section && !json_object_is_type(section, json_type_object))
        return err_set(e, HE_BAD_REQUEST, "providers", "providers must be an object");
    cap = n_all + (section ? (size_t)json_object_object_length(section) : 0);
    cfg = calloc(1, sizeof(*cfg));
    if (!cfg || !(cfg->providers = calloc(cap, sizeof(*cfg->providers)))) {
        free(cfg);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < n_all; i++) {
        if ((r = provider_init(&cfg->providers[i], all[i].name, &all[i])))
            goto fail;
        cfg->n_providers++;
    }
    if (section) {
        json_object_object_foreach(section, name, obj)
        {
            const struct llm_provider_info *info = llm_provider_find(name);
            struct llm_provider_cfg *p;
            const char *type = NULL;
            char where[ERR_FIELD_MAX];

            snprintf(where, sizeof(where), "providers.%s", name);
            if (json_object_is_type(obj, json_type_object) &&
                (r = json_get_str(obj, where, "type", JF_NULLABLE, 1, 64, &type, e)))
                goto fail;
            if (info) {
                if (type && strcmp(type, name) != 0) {
                    r = err_set(e, HE_BAD_REQUEST, where,
                                "%s: \"%s\" is a built-in provider; its type cannot be changed",
                                where, name);
                    goto fail;
                }
                p = &cfg->providers[info - all];
            } else {
                const struct llm_provider_info *t = type ? llm_provider_find(type) : NULL;
                if (!t || !t->named) {
                    r = err_set(e, HE_BAD_REQUEST, where,
                                "%s: unknown provider; a named entry needs \"type\": "
                                "\"openai_compatible\" or \"vllm\"",
                                where);
                    goto fail;
                }
                p = &cfg->providers[cfg->n_providers];
                if ((r = provider_init(p, name, t)))
                    goto fail;
                cfg->n_providers++;
            }
            if ((r = read_entry(p, obj, e)))
                goto fail;
        }
    }
    for (size_t i = 0; i < cfg->n_providers; i++)
        if ((r = apply_env(&cfg->providers[i])))
            goto fail;
    *ret = cfg;
    return 0;
fail:
    llm_config_free(cfg);
    return err_set(e, r ? r : HE_INTERNAL, NULL, NULL);
}

const struct llm_provider_cfg *llm_config_provider(const struct llm_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (strcmp(cfg->providers[i].name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

void llm_config_limits(const struct llm_provider_cfg *p, const char *model, struct llm_limits *ret)
{
    for (size_t i = 0; i < p->n_models; i++)
        if (strcmp(p->models[i].name, model) == 0) {
            *ret = p->models[i].lim;
            return;
        }
    *ret = p->lim;
}

/* Splits "NAME::MODEL" at its first "::": writes NAME and returns MODEL, or NULL when either
 * part is empty or NAME does not fit. */
static const char *split_pair(const char *model, char name[ERR_FIELD_MAX])
{
    const char *sep = strstr(model, "::");

    if (!sep || sep == model || !sep[2] || (size_t)(sep - model) >= ERR_FIELD_MAX)
        return NULL;
    memcpy(name, model, (size_t)(sep - model));
    name[sep - model] = '\0';
    return sep + 2;
}

/* "NAME::MODEL" for provider openai_compatible: MODEL on the named entry NAME (one "::", as
 * Kiln splits it). */
static int resolve_compatible(const struct llm_config *cfg, const char *model, struct llm_target *t,
                              struct err *e)
{
    const struct llm_provider_cfg *p;
    const char *rest;
    char name[ERR_FIELD_MAX];

    if (!strstr(model, "::"))
        return 0; /* a model id of the openai_compatible entry itself */
    if (!(rest = split_pair(model, name)) || strstr(rest, "::"))
        return err_set(e, HE_BAD_REQUEST, "model_name",
                       "model_name \"%s\": an openai_compatible model is NAME::MODEL, NAME a "
                       "provider entry of the config file",
                       model);
    p = llm_config_provider(cfg, name);
    if (!p || !p->info->named || p->info == llm_provider_find(name))
        return err_set(e, HE_BAD_REQUEST, "model_name",
                       "model_name \"%s\": no openai_compatible provider named \"%s\"; add "
                       "providers.%s with \"type\": \"openai_compatible\" to the config file",
                       model, name, name);
    t->prov = p;
    t->model = rest;
    return 0;
}

/* Kiln's custom models, "PROVIDER::MODEL" for provider kiln_custom_registry: MODEL, unchanged,
 * on the built-in PROVIDER. */
static int resolve_custom(const struct llm_config *cfg, const char *model, struct llm_target *t,
                          struct err *e)
{
    const struct llm_provider_info *info;
    const char *rest;
    char name[ERR_FIELD_MAX];

    if (!(rest = split_pair(model, name)))
        return err_set(e, HE_BAD_REQUEST, "model_name",
                       "model_name \"%s\": a kiln_custom_registry model is PROVIDER::MODEL", model);
    info = llm_provider_find(name);
    if (!info || info->named)
        return err_set(e, HE_BAD_REQUEST, "model_name",
                       "model_name \"%s\": \"%s\" is not a provider Hetu calls for "
                       "kiln_custom_registry models",
                       model, name);
    t->prov = llm_config_provider(cfg, name);
    t->model = rest;
    return 0;
}

/* A Kiln model id on a built-in provider: the provider's id for it, and Kiln's row in ret_k. */
static int resolve_kiln(const char *model, struct llm_target *t, const struct kiln_model **ret_k,
                        struct err *e)
{
    const struct kiln_model *k = kiln_model_find(model, t->prov->name);
    const struct kiln_model *all;
    struct buf b;
    size_t n;
    int r;

    if (k && k->model_id) {
        t->model = k->model_id;
        t->extra_body = k->extra_body;
        *ret_k = k;
        return 0;
    }
    if (k)
        return err_set(e, HE_BAD_REQUEST, "model_name",
                       "model_name \"%s\": Kiln lists it on %s for fine-tuning only, with no "
                       "model id to call; send %s's own model id",
                       model, t->prov->name, t->prov->name);
    buf_init(&b, ERR_MSG_MAX);
    all = kiln_models_all(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].id, model) == 0 &&
            buf_addf(&b, "%s%s", b.len ? ", " : "", all[i].provider))
            break;
    r = err_set(e, HE_BAD_REQUEST, "model_name",
                "model_name \"%s\" is a Kiln model id that provider %s does not serve (Kiln "
                "serves it on %s); send %s's own model id or one of those providers",
                model, t->prov->name, b.data ? b.data : "", t->prov->name);
    buf_done(&b);
    return r;
}

static int unknown_provider(const struct llm_config *cfg, const char *provider, struct err *e)
{
    const struct kiln_provider *kp = provider ? kiln_provider_find(provider) : NULL;
    struct buf b;
    int r;

    buf_init(&b, ERR_MSG_MAX);
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (buf_addf(&b, "%s%s", i ? ", " : "", cfg->providers[i].name))
            break;
    r = err_set(e, HE_BAD_REQUEST, "provider", "%s provider \"%s\"; known providers: %s",
                kp && !kp->hetu ? "Hetu does not call Kiln's" : "unknown", provider ? provider : "",
                b.data ? b.data : "");
    buf_done(&b);
    return r;
}

int llm_config_reachable(const struct llm_provider_cfg *p, struct err *e)
{
    char var[ERR_FIELD_MAX];

    llm_provider_url_var(p->name, var, sizeof(var));
    if (!p->base_url)
        return err_set(e, HE_BAD_REQUEST, "provider",
                       "provider %s has no base URL: set %s or providers.%s.base_url in the "
                       "config file",
                       p->name, var, p->name);
    if (p->info->key_policy != LLM_KEY_REQUIRED || p->api_key)
        return 0;
    if (p->key_var)
        return err_set(e, HE_BAD_REQUEST, "provider",
                       "provider %s has no API key: set %s (named by providers.%s.api_key_env)",
                       p->name, p->key_var, p->name);
    if (p->info->key_vars[1])
        return err_set(e, HE_BAD_REQUEST, "provider",
                       "provider %s has no API key: set %s or %s, or providers.%s.api_key in "
                       "the config file",
                       p->name, p->info->key_vars[0], p->info->key_vars[1], p->name);
    return err_set(e, HE_BAD_REQUEST, "provider",
                   "provider %s has no API key: set %s, or providers.%s.api_key in the config "
                   "file",
                   p->name, p->info->key_vars[0], p->name);
}

int llm_config_resolve(const struct llm_config *cfg, const char *provider, const char *model,
                       struct llm_target *ret, struct err *e)
{
    struct llm_target t = {0};
    const struct kiln_model *k = NULL;
    bool custom;
    int r;

    custom = provider && strcmp(provider, KILN_CUSTOM) == 0 && !llm_config_provider(cfg, provider);
    if (!custom && (!provider || !*provider || !(t.prov = llm_config_provider(cfg, provider))))
        return unknown_provider(cfg, provider, e);
    if (!model || !*model)
        return err_set(e, HE_BAD_REQUEST, "model_name", "model_name is required");
    t.model = model;
    if (custom)
        r = resolve_custom(cfg, model, &t, e);
    else if (t.prov->info->named && strcmp(provider, "openai_compatible") == 0)
        r = resolve_compatible(cfg, model, &t, e);
    else if (!t.prov->info->named && kiln_model_known(model))
        r = resolve_kiln(model, &t, &k, e);
    else
        r = 0;
    if (r)
        return r;
    llm_config_limits(t.prov, t.model, &t.lim);
    /* Kiln's structured-output method, where the flavour has it and the config sets none */
    if (k && !t.lim.so_set &&
        (t.prov->info->flavour == LLM_OPENAI_CHAT || k->so == LLM_SO_TOOL ||
         k->so == LLM_SO_PROMPT))
        t.lim.so_method = k->so;
    if (ret)
        *ret = t;
    return 0;
}

int llm_config_check(const struct llm_config *cfg, const char *provider, const char *model,
                     struct llm_target *ret, struct err *e)
{
    struct llm_target t;
    int r;

    if ((r = llm_config_resolve(cfg, provider, model, &t, e)) ||
        (r = llm_config_reachable(t.prov, e)))
        return r;
    if (ret)
        *ret = t;
    return 0;
}
