/* SPDX-License-Identifier: MIT */
/*
 * Provider settings: the "providers" object of the config file merged with the environment.
 *
 * Shape (every key optional):
 *   "providers": {
 *     "openai": {                         a row of the providers table, or a named entry
 *       "type": "openai_compatible",      only for named entries: "openai_compatible" or "vllm"
 *       "base_url": "https://...",        default: the table's; env HETU_<NAME>_BASE_URL wins
 *       "api_key": "...",                 default: the table's variables (OPENAI_API_KEY, ...)
 *       "api_key_env": "MY_KEY_VAR",      read the key from this variable instead
 *       "concurrency": 64,                window ceiling per model (1..100000)
 *       "rpm": 500, "tpm": 200000,        requests / tokens per minute per model (0 = no limit)
 *       "timeout_s": 120,                 per attempt
 *       "max_attempts": 5,                HTTP attempts per call (5xx, timeouts, drops; a 429
 *                                         is not counted)
 *       "rate_limit_wait_s": 600,         how long a call keeps waiting out 429s, from its
 *                                         first 429; then it fails
 *       "max_output_tokens": 0,           the largest output limit the model accepts (0:
 *                                         unknown); caps the retry of a cut-off answer
 *       "schema_retries": 2,              extra tries when the reply fails the schema
 *       "backoff_base_ms": 500, "backoff_max_ms": 30000,
 *       "structured_output": "json_schema" | "json_mode" | "prompt" | "tool",
 *       "anthropic_version": "2023-06-01",
 *       "price_input_per_mtok": 0.15, "price_output_per_mtok": 0.6,   USD per million tokens;
 *       "price_cached_input_per_mtok": 0.075,   input read from the provider's prompt cache
 *       "price_cache_write_per_mtok": 0.1875,   input written to it (Anthropic)
 *                                         Set input and output prices replace the built-in
 *                                         table's for every model they cover; a cache price
 *                                         left out is then the input price.
 *       "models": { "gpt-4o-mini": { concurrency, rpm, tpm, timeout_s, max_attempts,
 *                                    schema_retries, max_output_tokens, rate_limit_wait_s,
 *                                    structured_output, price_input_per_mtok,
 *                                    price_output_per_mtok, price_cached_input_per_mtok,
 *                                    price_cache_write_per_mtok } }
 *     }
 *   }
 * The environment wins over the file (as for every server option): HETU_<NAME>_BASE_URL (name
 * upper-cased, other characters as '_'), the key variables, OLLAMA_BASE_URL for ollama.
 */
#ifndef HETU_LLM_CONFIG_H
#define HETU_LLM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "llm/provider.h"
#include "util/err.h"

/* Settings for one (provider, model): provider values with the model's overrides applied. */
struct llm_limits {
    int concurrency;
    int rpm, tpm; /* 0: no limit */
    int timeout_s;
    int max_attempts;
    int schema_retries;
    int backoff_base_ms, backoff_max_ms;
    int max_output_tokens; /* the largest output limit the model accepts; 0: unknown */
    int rate_limit_wait_s; /* a call answered 429 keeps retrying this long after its first */
    enum llm_so_method so_method;
    bool so_set;                /* so_method comes from the config file, not the table */
    double price_in, price_out; /* per million tokens; negative: unknown */
    double price_cached_in, price_cache_write; /* per million tokens; negative: not set */
};

struct llm_model_cfg {
    char *name;
    struct llm_limits lim;
};

struct llm_provider_cfg {
    char *name;
    const struct llm_provider_info *info;
    char *base_url; /* without trailing '/'; NULL: none configured */
    char *api_key;  /* NULL: none found */
    char *key_var;  /* the variable named in the config (api_key_env), or NULL */
    char *anthropic_version;
    unsigned caps;
    struct llm_limits lim;
    struct llm_model_cfg *models;
    size_t n_models;
};

/* Read by every thread (request handlers, job workers, the engine thread) with no lock: nothing
 * in it, nor in the provider and model entries it holds, changes after llm_config_load. */
struct llm_config {
    struct llm_provider_cfg *providers;
    size_t n_providers;
};

/* providers_section may be NULL (environment and defaults only). */
int llm_config_load(struct json_object *providers_section, struct llm_config **ret, struct err *e);
void llm_config_free(struct llm_config *cfg);

const struct llm_provider_cfg *llm_config_provider(const struct llm_config *cfg, const char *name);
/* 0 when p can be called now: it has a base URL and, where it needs one, a key. Else
 * HE_BAD_REQUEST (field "provider") naming what to set: the variables, never a key. */
int llm_config_reachable(const struct llm_provider_cfg *p, struct err *e);
/* What a model's tokens cost, USD per million; negative: unknown. */
struct llm_price {
    double in, out;
    double cached_in;   /* input read from the prompt cache; negative: priced as input */
    double cache_write; /* input written to the prompt cache; negative: priced as input */
    const char *source; /* "config", "builtin", or NULL when in or out is unknown */
};

/* The price of provider/model: the config file's (the model's entry, else the provider's),
 * else the built-in table of published prices, else unknown (in and out negative). Never a
 * guess from another model. */
void llm_config_price(const struct llm_config *cfg, const char *provider, const char *model,
                      struct llm_price *ret);
/* The price of model (the id sent, resolved as llm_config_check does) on the entry p: the
 * config file's, else the built-in table's (only for p's own name: a named entry has none). */
void llm_price_of(const struct llm_provider_cfg *p, const char *model, struct llm_price *ret);
/* The cost of u at p in USD; negative when p or the tokens are unknown. */
struct llm_usage; /* llm/engine.h */
double llm_price_cost(const struct llm_price *p, const struct llm_usage *u);

/* The limits for model under p (the model's overrides or the provider's). */
void llm_config_limits(const struct llm_provider_cfg *p, const char *model, struct llm_limits *ret);
/* Where a call goes once its provider and model are resolved. */
struct llm_target {
    const struct llm_provider_cfg *prov; /* the entry called */
    const char *model; /* the model id sent: the Kiln table's, or inside the model string given */
    const char *extra_body; /* members Kiln adds to the body for its id (kiln_models.h), or NULL */
    struct llm_limits lim;  /* the limits for prov/model, with Kiln's structured-output method
                               unless the config file sets one */
};

/*
 * Checks that a call to provider/model can be made and resolves it: the provider exists (else
 * HE_BAD_REQUEST listing the known ones, field "provider"), has a base URL and a key where one is
 * needed (else HE_BAD_REQUEST naming the variables to set), and model is non-empty (field
 * "model_name"). The model may be one of Kiln's model ids (kiln_models.h): it is sent as the
 * provider's id for it, and a Kiln id the provider does not serve is HE_BAD_REQUEST on
 * "model_name". With provider "openai_compatible", "NAME::MODEL" calls MODEL on the named entry
 * NAME (as Kiln reads it). Any other model id goes to the provider unchanged. ret may be NULL.
 */
int llm_config_check(const struct llm_config *cfg, const char *provider, const char *model,
                     struct llm_target *ret, struct err *e);
/* llm_config_check without the check that the provider can be called now (a key, a base URL):
 * where a call would go, for what it would cost. */
int llm_config_resolve(const struct llm_config *cfg, const char *provider, const char *model,
                       struct llm_target *ret, struct err *e);

#endif
