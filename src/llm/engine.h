/* SPDX-License-Identifier: MIT */
/*
 * The provider engine: one thread that drives every call to every model provider. Callers
 * submit requests from any thread without blocking and are called back, on the engine thread,
 * once per request with the parsed result or a precise error.
 */
#ifndef HETU_LLM_ENGINE_H
#define HETU_LLM_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "llm/codec.h"
#include "llm/config.h"
#include "llm/provider.h"
#include "llm/schema.h"
#include "util/err.h"

struct llm_engine;

struct llm_request {
    const char *provider; /* a providers-table name or a named config entry */
    const char *model;    /* the provider's model id, a Kiln model id, or NAME::MODEL (see
                             llm_config_check); results and errors name the model id called */
    const struct llm_message *messages; /* system, user and assistant turns, in order */
    size_t n_messages;
    struct schema *schema;   /* JSON schema of the answer (the call takes a reference), or NULL */
    const char *schema_name; /* name sent with it; NULL: "output" */
    bool has_temperature;
    double temperature;
    int max_tokens;               /* 0: the provider's default */
    bool drop_unsupported_params; /* step down / drop what a 400 names, then retry */
    uint64_t group;               /* cancel group chosen by the caller; 0: none */
    /* The system turn is a prefix many calls share: where the provider caches prompts on
     * request (Anthropic's cache_control), ask for it. Others cache on their own. */
    bool cache_prefix;
};

struct llm_usage {
    int64_t input_tokens, output_tokens, total_tokens; /* -1: unknown; summed over attempts */
    double cost;                                       /* USD; negative: unknown */
    /* Of the input tokens, those read from the provider's prompt cache (OpenAI cached_tokens,
     * Anthropic cache_read_input_tokens) and those written to it (Anthropic
     * cache_creation_input_tokens); 0 when none or not reported. Priced as such in cost. */
    int64_t cached_tokens, cache_write_tokens;
};

struct llm_result {
    int code;       /* 0, or HE_PROVIDER, HE_TIMEOUT, HE_CANCELLED, HE_INVALID, ... */
    struct err err; /* on failure: "provider P model M: HTTP 429: <provider message>" */
    const char *provider;
    const char *model;
    const char *content; /* the answer text with <think> blocks removed; NULL on failure */
    size_t content_len;
    const char *reasoning;    /* <think> blocks, reasoning_content or thinking blocks, or NULL */
    struct json_object *json; /* the parsed, validated answer when a schema was given; take a
                                 reference (json_object_get) to keep it past the callback */
    struct llm_usage usage;
    int http_status;           /* status of the last HTTP attempt, 0 when none completed */
    int attempts;              /* HTTP requests made */
    enum llm_so_method method; /* the structured-output method of the answer (NONE: no schema) */
    /* The answer was cut off at the output limit (finish_reason "length", stop_reason
     * "max_tokens") even after the one retry with a larger limit, or when no larger limit was
     * possible: content is what came before the cut. The caller decides whether to keep it. */
    bool truncated;
    int max_tokens;     /* the output limit sent with the last attempt; 0: none sent */
    int64_t elapsed_us; /* from submit to completion */
};

/*
 * Runs on the engine thread, exactly once per accepted submission. Must not block; res and
 * everything it points to are valid during the call only. It may call llm_submit and
 * llm_cancel_group, never llm_engine_free.
 */
typedef void (*llm_done_cb)(void *ud, const struct llm_result *res);

struct llm_engine_opts {
    uint64_t seed; /* jitter seed; 0: from the clock */
    int shards;    /* curl multi handles the transfers are spread over; 0: 16 */
};

/* cfg must outlive the engine. */
int llm_engine_new(const struct llm_config *cfg, struct llm_engine **ret, struct err *e);
int llm_engine_new_ex(const struct llm_config *cfg, const struct llm_engine_opts *opts,
                      struct llm_engine **ret, struct err *e);
/* Cancels everything still queued or in flight (each callback runs once, with HE_CANCELLED),
 * then joins the thread. NULL is a no-op. */
void llm_engine_free(struct llm_engine *eng);

/* The provider settings the engine was made with (read-only, from any thread). */
const struct llm_config *llm_engine_config(struct llm_engine *eng);

/* Synchronous validation of provider and model (see llm_config_check). Any thread. */
int llm_check(struct llm_engine *eng, const char *provider, const char *model, struct err *e);

/*
 * Copies the request and queues it; returns at once. Any thread. Fails (and never calls cb)
 * when llm_check fails, when there are no messages, or when the engine is stopping
 * (HE_UNAVAILABLE).
 */
int llm_submit(struct llm_engine *eng, const struct llm_request *req, llm_done_cb cb, void *ud,
               struct err *e);

/* Cancels every call of group: their callbacks get HE_CANCELLED. Calls submitted in the group
 * later are cancelled too, before they start, while the group is among the last 1,024 cancelled
 * and within ten minutes of the last cancel. Group 0 is no group: cancelling it does nothing.
 * Any thread; returns at once. */
void llm_cancel_group(struct llm_engine *eng, uint64_t group);

struct llm_stats {
    uint64_t submitted, succeeded, failed, cancelled;
    uint64_t http_requests;  /* attempts sent */
    uint64_t retries;        /* attempts after the first, all causes */
    uint64_t rate_limited;   /* 429 answers */
    uint64_t window_shrinks; /* AIMD decreases, all lanes */
    uint64_t in_flight;      /* HTTP requests running now */
    int64_t cpu_ns;          /* CPU time used by the engine thread */
};

/* A snapshot; any thread. */
void llm_engine_stats(struct llm_engine *eng, struct llm_stats *ret);
/* The current concurrency window of provider/model; -1 when no call has used that lane yet. */
int llm_engine_window(struct llm_engine *eng, const char *provider, const char *model);
/* Calls cb with every (provider, model) used so far and its window, under the engine's lane
 * lock: cb must be quick and must not call into the engine. Any thread. */
typedef void (*llm_window_cb)(void *ud, const char *provider, const char *model, int window);
void llm_engine_windows(struct llm_engine *eng, llm_window_cb cb, void *ud);

#endif
