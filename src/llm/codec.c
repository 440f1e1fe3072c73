/* SPDX-License-Identifier: MIT */
/*
 * Request and reply codecs for the OpenAI chat-completions and Anthropic Messages flavours.
 * Request bodies are written straight into a buffer (strings escaped once, the schema text
 * spliced in as it is) rather than built as a json-c tree: the engine encodes every attempt of
 * thousands of calls on one thread, so this is on its hot path. Replies are parsed with the
 * strict parser of util/json.
 */
#include "llm/codec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"

#include "util/banned.h"

#define SCHEMA_PROMPT \
    "Answer with a single JSON value and no other text. It must conform to this JSON Schema:\n"

static int escape_body(struct buf *out, const char *s, size_t len)
{
    return jsonw_escape(out, s, len);
}

int llm_json_escape(struct buf *out, const char *s, size_t len)
{
    int r;
    if ((r = buf_add(out, "\"", 1)) || (r = escape_body(out, s, len)))
        return r;
    return buf_add(out, "\"", 1);
}

static int add_str(struct buf *out, const char *s)
{
    return llm_json_escape(out, s, strlen(s));
}

static void safe_name(const char *name, char out[65])
{
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n < 64; p++) {
        unsigned char c = (unsigned char)*p;
        out[n++] = (isalnum(c) || c == '_' || c == '-') ? (char)c : '_';
    }
    if (n == 0) {
        memcpy(out, "output", 7);
        return;
    }
    out[n] = '\0';
}

static bool schema_in_prompt(const struct llm_encode *q)
{
    return q->schema_text && (q->method == LLM_SO_JSON_MODE || q->method == LLM_SO_PROMPT);
}

static const char *role_name(enum llm_role r)
{
    switch (r) {
    case LLM_ROLE_SYSTEM: return "system";
    case LLM_ROLE_ASSISTANT: return "assistant";
    default: return "user";
    }
}

static const struct llm_message *msg_at(const struct llm_encode *q, size_t i)
{
    return i < q->n_messages ? &q->messages[i] : &q->extra[i - q->n_messages];
}

/* Writes the schema instruction, escaped, without quotes. */
static int add_schema_prompt(struct buf *out, const struct llm_encode *q)
{
    int r;
    if ((r = escape_body(out, SCHEMA_PROMPT, sizeof(SCHEMA_PROMPT) - 1)))
        return r;
    return escape_body(out, q->schema_text, strlen(q->schema_text));
}

/* The extra members, then the body's closing brace. */
static int end_body(const struct llm_encode *q, struct buf *out)
{
    int r;
    if (q->extra_body && ((r = buf_adds(out, ",")) || (r = buf_adds(out, q->extra_body))))
        return r;
    return buf_adds(out, "}");
}

static int encode_openai(const struct llm_encode *q, struct buf *out)
{
    size_t n = q->n_messages + q->n_extra;
    bool prompt = schema_in_prompt(q), prompt_done = false;
    char name[65];
    int r;

    if ((r = buf_adds(out, "{\"model\":")) || (r = add_str(out, q->model)) ||
        (r = buf_adds(out, ",\"messages\":[")))
        return r;
    if (prompt && (n == 0 || msg_at(q, 0)->role != LLM_ROLE_SYSTEM)) {
        if ((r = buf_adds(out, "{\"role\":\"system\",\"content\":\"")) ||
            (r = add_schema_prompt(out, q)) || (r = buf_adds(out, "\"}")))
            return r;
        prompt_done = true;
    }
    for (size_t i = 0; i < n; i++) {
        const struct llm_message *m = msg_at(q, i);
        if ((r = buf_addf(out, "%s{\"role\":\"%s\",\"content\":\"", (i || prompt_done) ? "," : "",
                          role_name(m->role))) ||
            (r = escape_body(out, m->content, strlen(m->content))))
            return r;
        if (prompt && !prompt_done && m->role == LLM_ROLE_SYSTEM) {
            if ((r = buf_adds(out, "\\n\\n")) || (r = add_schema_prompt(out, q)))
                return r;
            prompt_done = true;
        }
        if ((r = buf_adds(out, "\"}")))
            return r;
    }
    if ((r = buf_adds(out, "]")))
        return r;
    if (q->schema_text && q->method == LLM_SO_JSON_SCHEMA) {
        safe_name(q->schema_name, name);
        if ((r = buf_addf(out,
                          ",\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
                          "{\"name\":\"%s\",\"strict\":false,\"schema\":",
                          name)) ||
            (r = buf_adds(out, q->schema_text)) || (r = buf_adds(out, "}}")))
            return r;
    } else if (q->schema_text && q->method == LLM_SO_JSON_MODE) {
        if ((r = buf_adds(out, ",\"response_format\":{\"type\":\"json_object\"}")))
            return r;
    } else if (q->schema_text && q->method == LLM_SO_TOOL) {
        safe_name(q->schema_name, name);
        if ((r = buf_addf(out,
                          ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"%s\","
                          "\"description\":\"Return the answer as this function's arguments.\","
                          "\"parameters\":",
                          name)) ||
            (r = buf_adds(out, q->schema_text)) ||
            (r = buf_addf(out,
                          "}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
                          "\"%s\"}}",
                          name)))
            return r;
    }
    if (q->send_temperature && (r = buf_addf(out, ",\"temperature\":%.17g", q->temperature)))
        return r;
    if (q->max_tokens > 0 &&
        (r = buf_addf(out, ",\"%s\":%d", q->max_tokens_name ? q->max_tokens_name : "max_tokens",
                      q->max_tokens)))
        return r;
    return end_body(q, out);
}

/* With cache_prefix the system text is one content block marked as the end of the prefix to
 * cache (Anthropic's cache_control); else a plain string. */
#define SYSTEM_CACHED_OPEN  ",\"system\":[{\"type\":\"text\",\"text\":\""
#define SYSTEM_CACHED_CLOSE "\",\"cache_control\":{\"type\":\"ephemeral\"}}]"

static int encode_anthropic(const struct llm_encode *q, struct buf *out)
{
    size_t n = q->n_messages + q->n_extra, n_sys = 0;
    const char *system_open = q->cache_prefix ? SYSTEM_CACHED_OPEN : ",\"system\":\"";
    bool first = true;
    char name[65];
    int r;

    if ((r = buf_adds(out, "{\"model\":")) || (r = add_str(out, q->model)) ||
        (r = buf_addf(out, ",\"max_tokens\":%d",
                      q->max_tokens > 0 ? q->max_tokens : LLM_ANTHROPIC_DEFAULT_MAX_TOKENS)))
        return r;
    for (size_t i = 0; i < n; i++) {
        const struct llm_message *m = msg_at(q, i);
        if (m->role != LLM_ROLE_SYSTEM)
            continue;
        if ((r = buf_adds(out, n_sys ? "\\n\\n" : system_open)) ||
            (r = escape_body(out, m->content, strlen(m->content))))
            return r;
        n_sys++;
    }
    if (schema_in_prompt(q)) {
        if ((r = buf_adds(out, n_sys ? "\\n\\n" : system_open)) || (r = add_schema_prompt(out, q)))
            return r;
        n_sys++;
    }
    if (n_sys && (r = buf_adds(out, q->cache_prefix ? SYSTEM_CACHED_CLOSE : "\"")))
        return r;
    if ((r = buf_adds(out, ",\"messages\":[")))
        return r;
    for (size_t i = 0; i < n; i++) {
        const struct llm_message *m = msg_at(q, i);
        if (m->role == LLM_ROLE_SYSTEM)
            continue;
        if ((r = buf_addf(out, "%s{\"role\":\"%s\",\"content\":", first ? "" : ",",
                          role_name(m->role))) ||
            (r = add_str(out, m->content)) || (r = buf_adds(out, "}")))
            return r;
        first = false;
    }
    if ((r = buf_adds(out, "]")))
        return r;
    if (q->schema_text && q->method == LLM_SO_TOOL) {
        safe_name(q->schema_name, name);
        if ((r = buf_addf(out,
                          ",\"tools\":[{\"name\":\"%s\",\"description\":\"Return the answer as "
                          "this tool's input.\",\"input_schema\":",
                          name)) ||
            (r = buf_adds(out, q->schema_text)) ||
            (r = buf_addf(out, "}],\"tool_choice\":{\"type\":\"tool\",\"name\":\"%s\"}", name)))
            return r;
    }
    if (q->send_temperature && (r = buf_addf(out, ",\"temperature\":%.17g", q->temperature)))
        return r;
    return end_body(q, out);
}

int llm_encode_request(const struct llm_encode *q, struct buf *out, struct err *e)
{
    int r = q->flavour == LLM_ANTHROPIC_MESSAGES ? encode_anthropic(q, out) : encode_openai(q, out);
    if (r == HE_TOO_LARGE)
        return err_set(e, r, "messages", "request body too large (limit %zu bytes)", out->max);
    if (r)
        return err_set(e, r, NULL, NULL);
    return 0;
}

/* ---- replies ---- */

void llm_reply_done(struct llm_reply *r)
{
    free(r->content);
    free(r->reasoning);
    free(r->finish_reason);
    json_object_put(r->tool_input);
    memset(r, 0, sizeof(*r));
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
}

static struct json_object *get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o && json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v))
        return v;
    return NULL;
}

static const char *get_str(struct json_object *o, const char *key, size_t *ret_len)
{
    struct json_object *v = get(o, key);
    if (!v || !json_object_is_type(v, json_type_string))
        return NULL;
    if (ret_len)
        *ret_len = (size_t)json_object_get_string_len(v);
    return json_object_get_string(v);
}

static int64_t get_count(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);
    if (!v || !json_object_is_type(v, json_type_int))
        return -1;
    int64_t n = json_object_get_int64(v);
    return n < 0 ? -1 : n;
}

/* Appends text to *dst (with a blank line between parts). */
static int append_text(char **dst, size_t *dst_len, const char *s, size_t n)
{
    size_t old = *dst ? *dst_len : 0, sep = *dst ? 2 : 0;
    char *p = realloc(*dst, old + sep + n + 1);
    if (!p)
        return HE_NOMEM;
    if (sep)
        memcpy(p + old, "\n\n", 2);
    memcpy(p + old + sep, s, n);
    p[old + sep + n] = '\0';
    *dst = p;
    *dst_len = old + sep + n;
    return 0;
}

static int set_str(char **dst, const char *s)
{
    if (!s)
        return 0;
    free(*dst);
    *dst = strdup(s);
    return *dst ? 0 : HE_NOMEM;
}

static int decode_openai(struct json_object *root, struct llm_reply *ret, struct err *e)
{
    struct json_object *choices = get(root, "choices"), *choice, *msg, *content, *calls, *usage;
    size_t n, rlen = 0;
    int64_t cached;
    const char *s;

    if (!choices || !json_object_is_type(choices, json_type_array) ||
        json_object_array_length(choices) == 0)
        return err_set(e, HE_PROVIDER, NULL, "reply has no choices");
    choice = json_object_array_get_idx(choices, 0);
    msg = get(choice, "message");
    if (!msg || !json_object_is_type(msg, json_type_object))
        return err_set(e, HE_PROVIDER, NULL, "reply has no message");
    if (set_str(&ret->finish_reason, get_str(choice, "finish_reason", NULL)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    content = get(msg, "content");
    if (content && json_object_is_type(content, json_type_string)) {
        n = (size_t)json_object_get_string_len(content);
        if (append_text(&ret->content, &ret->content_len, json_object_get_string(content), n))
            return err_set(e, HE_NOMEM, NULL, NULL);
    } else if (content && json_object_is_type(content, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(content); i++) {
            struct json_object *part = json_object_array_get_idx(content, i);
            if ((s = get_str(part, "text", &n)) &&
                append_text(&ret->content, &ret->content_len, s, n))
                return err_set(e, HE_NOMEM, NULL, NULL);
        }
    }
    if ((s = get_str(msg, "reasoning_content", &n)) || (s = get_str(msg, "reasoning", &n))) {
        if (n && append_text(&ret->reasoning, &rlen, s, n))
            return err_set(e, HE_NOMEM, NULL, NULL);
    }
    calls = get(msg, "tool_calls");
    if (calls && json_object_is_type(calls, json_type_array) &&
        json_object_array_length(calls) > 0) {
        struct json_object *fn = get(json_object_array_get_idx(calls, 0), "function");
        const char *args = get_str(fn, "arguments", &n);
        struct err pe = {0};
        if (args && json_parse(args, n, &ret->tool_input, &pe) < 0)
            return err_set(e, HE_INVALID, NULL, "tool call arguments are not JSON: %s", pe.msg);
    }
    usage = get(root, "usage");
    ret->input_tokens = get_count(usage, "prompt_tokens");
    ret->output_tokens = get_count(usage, "completion_tokens");
    ret->total_tokens = get_count(usage, "total_tokens");
    if (ret->total_tokens < 0 && ret->input_tokens >= 0 && ret->output_tokens >= 0)
        ret->total_tokens = ret->input_tokens + ret->output_tokens;
    /* prompt_tokens counts the cached ones already */
    cached = get_count(get(usage, "prompt_tokens_details"), "cached_tokens");
    if (cached > 0 && ret->input_tokens >= 0)
        ret->cached_tokens = cached < ret->input_tokens ? cached : ret->input_tokens;
    if (!ret->content && !ret->tool_input && !ret->reasoning)
        return err_set(e, HE_PROVIDER, NULL, "reply has no content");
    return 0;
}

static int decode_anthropic(struct json_object *root, struct llm_reply *ret, struct err *e)
{
    struct json_object *blocks = get(root, "content"), *usage;
    size_t n, rlen = 0;
    const char *s;

    if (!blocks || !json_object_is_type(blocks, json_type_array))
        return err_set(e, HE_PROVIDER, NULL, "reply has no content blocks");
    if (set_str(&ret->finish_reason, get_str(root, "stop_reason", NULL)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < json_object_array_length(blocks); i++) {
        struct json_object *b = json_object_array_get_idx(blocks, i);
        const char *type = get_str(b, "type", NULL);
        if (!type)
            continue;
        if (strcmp(type, "text") == 0 && (s = get_str(b, "text", &n))) {
            if (append_text(&ret->content, &ret->content_len, s, n))
                return err_set(e, HE_NOMEM, NULL, NULL);
        } else if (strcmp(type, "thinking") == 0 && (s = get_str(b, "thinking", &n))) {
            if (append_text(&ret->reasoning, &rlen, s, n))
                return err_set(e, HE_NOMEM, NULL, NULL);
        } else if (strcmp(type, "tool_use") == 0 && !ret->tool_input) {
            struct json_object *input = get(b, "input");
            if (input)
                ret->tool_input = json_object_get(input);
        }
    }
    usage = get(root, "usage");
    ret->input_tokens = get_count(usage, "input_tokens");
    ret->output_tokens = get_count(usage, "output_tokens");
    /* input_tokens leaves out what was written to or read from the cache: add them, so the
     * input is the whole prompt as with the other flavour */
    if (ret->input_tokens >= 0) {
        int64_t written = get_count(usage, "cache_creation_input_tokens");
        int64_t read = get_count(usage, "cache_read_input_tokens");
        ret->cache_write_tokens = written > 0 ? written : 0;
        ret->cached_tokens = read > 0 ? read : 0;
        ret->input_tokens += ret->cache_write_tokens + ret->cached_tokens;
    }
    if (ret->input_tokens >= 0 && ret->output_tokens >= 0)
        ret->total_tokens = ret->input_tokens + ret->output_tokens;
    if (!ret->content && !ret->tool_input && !ret->reasoning)
        return err_set(e, HE_PROVIDER, NULL, "reply has no content");
    return 0;
}

int llm_decode_reply(enum llm_flavour flavour, const char *body, size_t len, struct llm_reply *ret,
                     struct err *e)
{
    struct json_object *root = NULL;
    struct err pe = {0};
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->input_tokens = ret->output_tokens = ret->total_tokens = -1;
    if (json_parse(body, len, &root, &pe) < 0)
        return err_set(e, HE_PROVIDER, NULL, "reply is not valid JSON (%s)", pe.msg);
    if (!json_object_is_type(root, json_type_object)) {
        json_object_put(root);
        return err_set(e, HE_PROVIDER, NULL, "reply is not a JSON object");
    }
    r = flavour == LLM_ANTHROPIC_MESSAGES ? decode_anthropic(root, ret, e)
                                          : decode_openai(root, ret, e);
    json_object_put(root);
    if (r)
        llm_reply_done(ret);
    return r;
}

/* Copies s into out as one line of printable text. */
static void one_line(char *out, size_t size, const char *s, size_t n)
{
    size_t k = 0;
    if (size == 0)
        return;
    for (size_t i = 0; i < n && k + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        out[k++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    /* do not cut a UTF-8 sequence in half */
    if (k + 1 >= size)
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
            k--;
    if (k > 0 && k + 1 >= size && ((unsigned char)out[k - 1] & 0xC0) == 0xC0)
        k--;
    out[k] = '\0';
}

static const char *error_text(struct json_object *root, size_t *ret_len)
{
    struct json_object *err = get(root, "error");
    const char *s;

    if (err && json_object_is_type(err, json_type_string)) {
        *ret_len = (size_t)json_object_get_string_len(err);
        return json_object_get_string(err);
    }
    if ((s = get_str(err, "message", ret_len)) || (s = get_str(root, "message", ret_len)) ||
        (s = get_str(root, "detail", ret_len)))
        return s;
    /* some servers wrap a list: [{"error": {...}}] */
    if (json_object_is_type(root, json_type_array) && json_object_array_length(root) > 0)
        return error_text(json_object_array_get_idx(root, 0), ret_len);
    return NULL;
}

void llm_decode_error(const char *body, size_t len, char *out, size_t size)
{
    struct json_object *root = NULL;
    struct err pe = {0};
    const char *s = NULL;
    size_t n = 0;

    if (size == 0)
        return;
    out[0] = '\0';
    if (len > 0 && json_parse(body, len, &root, &pe) == 0)
        s = error_text(root, &n);
    if (s) {
        one_line(out, size, s, n);
    } else {
        while (len > 0 && isspace((unsigned char)*body)) {
            body++;
            len--;
        }
        one_line(out, size, body, len);
    }
    json_object_put(root);
}

static unsigned params_in(const char *s)
{
    unsigned m = 0;
    if (!s)
        return 0;
    if (strstr(s, "response_format") || strstr(s, "json_schema") || strstr(s, "json_object"))
        m |= LLM_PARAM_RESPONSE_FORMAT;
    if (strstr(s, "tool_choice") || strstr(s, "tools"))
        m |= LLM_PARAM_TOOLS;
    if (strstr(s, "temperature"))
        m |= LLM_PARAM_TEMPERATURE;
    if (strstr(s, "max_tokens") || strstr(s, "max_completion_tokens"))
        m |= LLM_PARAM_MAX_TOKENS;
    return m;
}

unsigned llm_error_params(const char *body, size_t len)
{
    struct json_object *root = NULL;
    struct err pe = {0};
    unsigned m = 0;
    size_t n;

    if (len == 0 || json_parse(body, len, &root, &pe) < 0)
        return 0;
    m = params_in(get_str(get(root, "error"), "param", NULL));
    if (!m)
        m = params_in(error_text(root, &n));
    json_object_put(root);
    return m;
}

/* ---- headers ---- */

int64_t llm_parse_duration(const char *s, size_t len)
{
    size_t i = 0;
    double total = 0;
    bool any = false;

    while (i < len && isspace((unsigned char)s[i]))
        i++;
    while (len > i && isspace((unsigned char)s[len - 1]))
        len--;
    if (i == len)
        return -1;
    while (i < len) {
        double v = 0, scale = 1;
        bool digits = false;
        while (i < len && isdigit((unsigned char)s[i])) {
            v = v * 10 + (s[i++] - '0');
            digits = true;
        }
        if (i < len && s[i] == '.') {
            i++;
            while (i < len && isdigit((unsigned char)s[i])) {
                scale /= 10;
                v += (s[i++] - '0') * scale;
                digits = true;
            }
        }
        if (!digits)
            return -1;
        if (i == len) {
            if (any)
                return -1; /* "1m30" */
            total += v * 1e6;
            break;
        }
        if (len - i >= 2 && s[i] == 'm' && s[i + 1] == 's') {
            total += v * 1e3;
            i += 2;
        } else if (len - i >= 2 && s[i] == 'u' && s[i + 1] == 's') {
            total += v;
            i += 2;
        } else if (s[i] == 'h') {
            total += v * 3600e6;
            i++;
        } else if (s[i] == 'm') {
            total += v * 60e6;
            i++;
        } else if (s[i] == 's') {
            total += v * 1e6;
            i++;
        } else {
            return -1;
        }
        any = true;
        if (total > 1e15)
            return -1;
    }
    return (int64_t)total;
}

int64_t llm_parse_retry_after(const char *s, size_t len, int64_t now_wall_us)
{
    char tmp[64];
    struct tm tm;
    int64_t at, d;

    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (isdigit((unsigned char)tmp[0]) && !strchr(tmp, '-') && !strchr(tmp, ':')) {
        bool plain = true;
        for (size_t i = 0; i < len; i++)
            if (!isdigit((unsigned char)tmp[i]) && tmp[i] != '.')
                plain = false;
        return plain ? llm_parse_duration(tmp, len) : -1;
    }
    if (clock_parse_iso8601(tmp, &at) == 0) {
        d = at - now_wall_us;
        return d > 0 ? d : 0;
    }
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(tmp, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end)
        return -1;
    at = (int64_t)timegm(&tm) * 1000000;
    d = at - now_wall_us;
    return d > 0 ? d : 0;
}
