/* SPDX-License-Identifier: MIT */
/*
 * The ping call: one user message, a small output limit (unless a schema asks for an object,
 * whose size the model decides), unsupported parameters dropped rather than failed on, so that
 * what the ping tells is whether the provider answers at all. Any thread; nothing is kept.
 */
#include "llm/ping.h"

#include "util/banned.h"

int llm_ping_submit(struct llm_engine *eng, const struct llm_ping *p, llm_done_cb cb, void *ud,
                    struct err *e)
{
    struct llm_message msg = {LLM_ROLE_USER, p->prompt ? p->prompt : LLM_PING_PROMPT};
    struct llm_request req = {
        .provider = p->provider,
        .model = p->model,
        .messages = &msg,
        .n_messages = 1,
        .schema = p->schema,
        .schema_name = "answer",
        .max_tokens = p->schema ? 0 : LLM_PING_MAX_TOKENS,
        .drop_unsupported_params = true,
        .group = p->group,
    };

    return llm_submit(eng, &req, cb, ud, e);
}

static struct json_object *count_or_null(int64_t v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

struct json_object *llm_usage_json(const struct llm_usage *u)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "input_tokens", count_or_null(u->input_tokens));
    json_object_object_add(o, "output_tokens", count_or_null(u->output_tokens));
    json_object_object_add(o, "total_tokens", count_or_null(u->total_tokens));
    json_object_object_add(o, "cost", u->cost < 0 ? NULL : json_object_new_double(u->cost));
    return o;
}
