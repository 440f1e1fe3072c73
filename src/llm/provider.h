/* SPDX-License-Identifier: MIT */
/*
 * The providers table: every model provider Hetu can call, as data. Each row names the provider
 * (the names Kiln and LiteLLM use), its API flavour, default base URL, the environment variables
 * that may hold its key, what it supports for structured output, and its default concurrency.
 * Kiln's model ids for these providers are in kiln_models.h.
 */
#ifndef HETU_LLM_PROVIDER_H
#define HETU_LLM_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>

enum llm_flavour {
    LLM_OPENAI_CHAT,        /* POST {base}/chat/completions, Authorization: Bearer */
    LLM_ANTHROPIC_MESSAGES, /* POST {base}/messages, x-api-key, anthropic-version */
};

/* Structured-output methods, best first: the ladder a call steps down. */
enum llm_so_method {
    LLM_SO_NONE = 0,    /* no schema asked for */
    LLM_SO_JSON_SCHEMA, /* response_format {type: json_schema} */
    LLM_SO_TOOL,        /* one forced tool whose input is the schema (Anthropic) */
    LLM_SO_JSON_MODE,   /* response_format {type: json_object} + schema in the prompt */
    LLM_SO_PROMPT,      /* schema in the prompt only */
};

/* Capability bits. */
#define LLM_CAP_JSON_SCHEMA 0x01u
#define LLM_CAP_JSON_MODE   0x02u
#define LLM_CAP_TOOLS       0x04u
#define LLM_CAP_TEMPERATURE 0x08u
#define LLM_CAP_TOP_P       0x10u

/* Kinds of provider entries. */
enum llm_key_policy {
    LLM_KEY_REQUIRED, /* a key must be found (environment or config) */
    LLM_KEY_NONE,     /* never sends a key (ollama) */
    LLM_KEY_OPTIONAL, /* sends one when configured (vllm, openai_compatible) */
};

#define LLM_KEY_VARS_MAX 2

struct llm_provider_info {
    const char *name;
    enum llm_flavour flavour;
    const char *base_url; /* NULL: must come from the config file or HETU_<NAME>_BASE_URL */
    const char *key_vars[LLM_KEY_VARS_MAX]; /* environment variables tried in order, NULL-ended */
    enum llm_key_policy key_policy;
    unsigned caps;
    const char *max_tokens_name; /* "max_tokens" or "max_completion_tokens" */
    int concurrency;             /* default window ceiling per model */
    bool named;                  /* a type for named config entries (vllm, openai_compatible) */
};

/* The row for name, or NULL. */
const struct llm_provider_info *llm_provider_find(const char *name);
/* All rows, for listing. */
const struct llm_provider_info *llm_provider_all(size_t *ret_n);
/* The best structured-output method the capabilities allow. */
enum llm_so_method llm_provider_best_method(enum llm_flavour flavour, unsigned caps);
/* The next method down the ladder from m, or LLM_SO_NONE when m is the last. */
enum llm_so_method llm_so_next(enum llm_flavour flavour, enum llm_so_method m);
/* "json_schema", "json_mode", "prompt", "tool", or "none". */
const char *llm_so_name(enum llm_so_method m);
/* Parses the names above; -1 when unknown. */
int llm_so_parse(const char *s, enum llm_so_method *ret);
/*
 * Writes the environment variable overriding name's base URL: HETU_<NAME>_BASE_URL, the name
 * upper-cased with every character outside [A-Z0-9] written as '_'.
 */
void llm_provider_url_var(const char *name, char *out, size_t size);

#endif
