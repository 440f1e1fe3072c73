/* SPDX-License-Identifier: MIT */
/*
 * Wire formats of the two API flavours: the request body for a call (with the structured-output
 * method applied), the reply (content, reasoning, tool input, usage), provider error bodies, and
 * the rate-limit headers. Pure functions, no I/O; any thread.
 */
#ifndef HETU_LLM_CODEC_H
#define HETU_LLM_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "llm/provider.h"
#include "util/buf.h"
#include "util/err.h"

enum llm_role { LLM_ROLE_SYSTEM, LLM_ROLE_USER, LLM_ROLE_ASSISTANT };

struct llm_message {
    enum llm_role role;
    const char *content; /* UTF-8, NUL-terminated */
};

/* Anthropic needs max_tokens; this is what we send when the caller gives none. */
#define LLM_ANTHROPIC_DEFAULT_MAX_TOKENS 4096

struct llm_encode {
    enum llm_flavour flavour;
    const char *model;
    const struct llm_message *messages;
    size_t n_messages;
    const struct llm_message *extra; /* appended after messages (schema feedback), may be NULL */
    size_t n_extra;
    const char *schema_text; /* compact JSON text of the schema, or NULL */
    const char *schema_name; /* [A-Za-z0-9_-]{1,64} (others are replaced), NULL: "output" */
    enum llm_so_method method;
    bool send_temperature;
    double temperature;
    int max_tokens;              /* 0: not sent (Anthropic: the default above) */
    const char *max_tokens_name; /* OpenAI flavour: "max_tokens" or "max_completion_tokens" */
    const char *extra_body;      /* JSON object members added to the body as they are, or NULL */
    bool cache_prefix; /* Anthropic: mark the system text as a prefix to cache (cache_control) */
};

/* Appends the JSON request body to out. */
int llm_encode_request(const struct llm_encode *q, struct buf *out, struct err *e);

/* Appends s[0..len) as a JSON string literal (quotes included); UTF-8 is kept as is. */
int llm_json_escape(struct buf *out, const char *s, size_t len);

struct llm_reply {
    char *content; /* text of the answer (malloc'd), or NULL */
    size_t content_len;
    char *reasoning;                /* reasoning_content / reasoning / thinking blocks, or NULL */
    struct json_object *tool_input; /* arguments of the first tool call (owned), or NULL */
    char *finish_reason;            /* "stop", "length", "end_turn", "tool_use", ... or NULL */
    int64_t input_tokens, output_tokens, total_tokens; /* -1: unknown */
    /* Of input_tokens (always the whole prompt), those read from and written to the provider's
     * prompt cache; 0 when none or not reported. */
    int64_t cached_tokens, cache_write_tokens;
};

/* Decodes a 2xx body. HE_PROVIDER naming what is wrong when it is not a well-formed reply. */
int llm_decode_reply(enum llm_flavour flavour, const char *body, size_t len, struct llm_reply *ret,
                     struct err *e);
void llm_reply_done(struct llm_reply *r);

/*
 * The provider's own message from an error body ({"error": {"message": ...}}, Anthropic's
 * {"type": "error", "error": {...}}, {"message": ...}, {"detail": ...}), else the start of the
 * body as text; one line, at most size-1 bytes.
 */
void llm_decode_error(const char *body, size_t len, char *out, size_t size);

/* Parameters a 400 can name as unsupported. */
#define LLM_PARAM_RESPONSE_FORMAT 0x01u
#define LLM_PARAM_TOOLS           0x02u
#define LLM_PARAM_TEMPERATURE     0x04u
#define LLM_PARAM_MAX_TOKENS      0x08u
/* The parameters an error body names (its "param" field or its message text). */
unsigned llm_error_params(const char *body, size_t len);

/* "20ms", "1.5s", "6m0s", "1h2m", "30" (seconds) -> microseconds; -1 when malformed. */
int64_t llm_parse_duration(const char *s, size_t len);
/*
 * A Retry-After value (delta seconds or an HTTP date) or an Anthropic reset time (RFC 3339)
 * as a delay in microseconds from now_wall_us; -1 when malformed. Never negative otherwise.
 */
int64_t llm_parse_retry_after(const char *s, size_t len, int64_t now_wall_us);

#endif
