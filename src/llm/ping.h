/* SPDX-License-Identifier: MIT */
/*
 * One short call to check a provider's configuration (keys, base URL, model): what
 * `hetu llm ping` and POST /api/providers/{name}/ping share. The answer goes to the caller's
 * callback on the engine thread, as for any call.
 */
#ifndef HETU_LLM_PING_H
#define HETU_LLM_PING_H

#include <stdint.h>

#include <json-c/json.h>

#include "llm/engine.h"

#define LLM_PING_PROMPT     "Say hello in five words."
#define LLM_PING_MAX_TOKENS 200

struct llm_ping {
    const char *provider, *model;
    const char *prompt;    /* NULL: LLM_PING_PROMPT */
    struct schema *schema; /* structured output asked for and checked, or NULL */
    uint64_t group;        /* cancel group, 0: none */
};

/* Submits the call (llm_submit: provider and model are checked first); cb runs once when it
 * returns 0. */
int llm_ping_submit(struct llm_engine *eng, const struct llm_ping *p, llm_done_cb cb, void *ud,
                    struct err *e);

/* A call's usage as JSON: input_tokens, output_tokens, total_tokens, cost (null when unknown). */
struct json_object *llm_usage_json(const struct llm_usage *u);

#endif
