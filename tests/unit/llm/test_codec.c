/* SPDX-License-Identifier: MIT */
/* Request encoding and reply decoding of both API flavours, with replies as providers send them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "llm/codec.h"
#include "util/json.h"

static const char schema[] =
    "{\"type\":\"object\",\"properties\":{\"topics\":{\"type\":"
    "\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"topics\"]}";

static const struct llm_message msgs[] = {
    {LLM_ROLE_SYSTEM, "You are a helpful \"assistant\".\n"},
    {LLM_ROLE_USER, "列出三个主题\ttab \x01"},
};

static struct json_object *encode(const struct llm_encode *q)
{
    struct buf b;
    struct err e = {0};
    struct json_object *o = NULL;
    buf_init(&b, 1 << 20);
    assert_int_equal(llm_encode_request(q, &b, &e), 0);
    if (json_parse(b.data, b.len, &o, &e) < 0)
        fail_msg("not JSON (%s): %s", e.msg, b.data);
    buf_done(&b);
    return o;
}

static struct json_object *at(struct json_object *o, const char *path)
{
    char key[64];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        memcpy(key, path, n);
        key[n] = '\0';
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)strtol(key, NULL, 10));
        else if (!json_object_object_get_ex(o, key, &o))
            return NULL;
        path += n + (dot ? 1 : 0);
    }
    return o;
}

static const char *str_at(struct json_object *o, const char *path)
{
    struct json_object *v = at(o, path);
    return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static void openai_json_schema(void **state)
{
    struct llm_encode q = {.flavour = LLM_OPENAI_CHAT,
                           .model = "gpt-4o-mini",
                           .messages = msgs,
                           .n_messages = 2,
                           .schema_text = schema,
                           .schema_name = "topic list!",
                           .method = LLM_SO_JSON_SCHEMA,
                           .send_temperature = true,
                           .temperature = 0.7,
                           .max_tokens = 500,
                           .max_tokens_name = "max_completion_tokens"};
    struct json_object *o = encode(&q);
    (void)state;
    assert_string_equal(str_at(o, "model"), "gpt-4o-mini");
    assert_string_equal(str_at(o, "messages.0.role"), "system");
    assert_string_equal(str_at(o, "messages.0.content"), msgs[0].content);
    assert_string_equal(str_at(o, "messages.1.content"), msgs[1].content); /* UTF-8 + controls */
    assert_string_equal(str_at(o, "response_format.type"), "json_schema");
    assert_string_equal(str_at(o, "response_format.json_schema.name"), "topic_list_");
    assert_string_equal(str_at(o, "response_format.json_schema.schema.properties.topics.type"),
                        "array");
    assert_true(json_object_get_double(at(o, "temperature")) == 0.7);
    assert_int_equal(json_object_get_int(at(o, "max_completion_tokens")), 500);
    assert_null(at(o, "max_tokens"));
    json_object_put(o);
}

static void openai_json_mode_puts_schema_in_system(void **state)
{
    struct llm_encode q = {.flavour = LLM_OPENAI_CHAT,
                           .model = "deepseek-chat",
                           .messages = msgs,
                           .n_messages = 2,
                           .schema_text = schema,
                           .method = LLM_SO_JSON_MODE};
    struct json_object *o = encode(&q);
    const char *sys;
    (void)state;
    assert_string_equal(str_at(o, "response_format.type"), "json_object");
    sys = str_at(o, "messages.0.content");
    assert_non_null(strstr(sys, "You are a helpful"));
    assert_non_null(strstr(sys, "JSON Schema"));
    assert_non_null(strstr(sys, schema));
    assert_int_equal(json_object_array_length(at(o, "messages")), 2);
    assert_null(at(o, "temperature"));
    json_object_put(o);
}

static void openai_prompt_without_system_adds_one(void **state)
{
    struct llm_encode q = {.flavour = LLM_OPENAI_CHAT,
                           .model = "m",
                           .messages = msgs + 1,
                           .n_messages = 1,
                           .schema_text = schema,
                           .method = LLM_SO_PROMPT};
    struct llm_message extra[2] = {{LLM_ROLE_ASSISTANT, "{\"topics\": 3}"},
                                   {LLM_ROLE_USER, "fix it"}};
    struct json_object *o;
    (void)state;
    q.extra = extra;
    q.n_extra = 2;
    o = encode(&q);
    assert_null(at(o, "response_format"));
    assert_string_equal(str_at(o, "messages.0.role"), "system");
    assert_non_null(strstr(str_at(o, "messages.0.content"), schema));
    assert_string_equal(str_at(o, "messages.2.role"), "assistant");
    assert_string_equal(str_at(o, "messages.3.content"), "fix it");
    json_object_put(o);
}

static void anthropic_forced_tool(void **state)
{
    struct llm_encode q = {.flavour = LLM_ANTHROPIC_MESSAGES,
                           .model = "claude-3-5-haiku-latest",
                           .messages = msgs,
                           .n_messages = 2,
                           .schema_text = schema,
                           .schema_name = "topics",
                           .method = LLM_SO_TOOL};
    struct json_object *o = encode(&q);
    (void)state;
    assert_string_equal(str_at(o, "system"), msgs[0].content);
    assert_int_equal(json_object_array_length(at(o, "messages")), 1);
    assert_string_equal(str_at(o, "messages.0.role"), "user");
    assert_int_equal(json_object_get_int(at(o, "max_tokens")), LLM_ANTHROPIC_DEFAULT_MAX_TOKENS);
    assert_string_equal(str_at(o, "tools.0.name"), "topics");
    assert_string_equal(str_at(o, "tools.0.input_schema.type"), "object");
    assert_string_equal(str_at(o, "tool_choice.type"), "tool");
    assert_string_equal(str_at(o, "tool_choice.name"), "topics");
    json_object_put(o);
}

static void anthropic_prompt_method(void **state)
{
    struct llm_encode q = {.flavour = LLM_ANTHROPIC_MESSAGES,
                           .model = "claude",
                           .messages = msgs + 1,
                           .n_messages = 1,
                           .schema_text = schema,
                           .method = LLM_SO_PROMPT,
                           .max_tokens = 64};
    struct json_object *o = encode(&q);
    (void)state;
    assert_non_null(strstr(str_at(o, "system"), schema));
    assert_null(at(o, "tools"));
    assert_int_equal(json_object_get_int(at(o, "max_tokens")), 64);
    json_object_put(o);
}

/* With cache_prefix the system text is one block marked as the end of the prefix to cache, the
 * way Anthropic documents prompt caching; everything else is as without. */
static void anthropic_cache_prefix_marks_the_system_block(void **state)
{
    static const struct llm_message two_system[] = {
        {LLM_ROLE_SYSTEM, "Task: write \"haiku\"."},
        {LLM_ROLE_SYSTEM, "Guidance."},
        {LLM_ROLE_USER, "spring"},
    };
    struct llm_encode q = {.flavour = LLM_ANTHROPIC_MESSAGES,
                           .model = "claude",
                           .messages = two_system,
                           .n_messages = 3,
                           .max_tokens = 64,
                           .cache_prefix = true};
    struct json_object *o = encode(&q), *plain, *sys = at(o, "system");
    (void)state;
    assert_true(sys && json_object_is_type(sys, json_type_array));
    assert_int_equal(json_object_array_length(sys), 1);
    assert_string_equal(str_at(o, "system.0.type"), "text");
    assert_string_equal(str_at(o, "system.0.text"), "Task: write \"haiku\".\n\nGuidance.");
    assert_string_equal(json_text(at(o, "system.0.cache_control"), NULL),
                        "{\"type\":\"ephemeral\"}");
    assert_string_equal(str_at(o, "messages.0.content"), "spring");
    assert_null(at(o, "messages.1"));

    /* the schema instruction is part of the prefix */
    q.schema_text = schema;
    q.method = LLM_SO_PROMPT;
    json_object_put(o);
    o = encode(&q);
    assert_non_null(strstr(str_at(o, "system.0.text"), schema));
    assert_non_null(at(o, "system.0.cache_control"));

    q.cache_prefix = false;
    plain = encode(&q);
    assert_string_equal(str_at(plain, "system"), str_at(o, "system.0.text"));
    json_object_put(plain);
    json_object_put(o);
}

/* OpenAI-flavoured providers cache prefixes on their own: the body does not change. */
static void openai_cache_prefix_sends_nothing(void **state)
{
    struct llm_encode q = {.flavour = LLM_OPENAI_CHAT,
                           .model = "gpt-4o-mini",
                           .messages = msgs,
                           .n_messages = 2,
                           .cache_prefix = true};
    struct buf a, b;
    struct err e = {0};
    (void)state;
    buf_init(&a, 1 << 16);
    buf_init(&b, 1 << 16);
    assert_int_equal(llm_encode_request(&q, &a, &e), 0);
    q.cache_prefix = false;
    assert_int_equal(llm_encode_request(&q, &b, &e), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    assert_null(strstr(a.data, "cache_control"));
    buf_done(&a);
    buf_done(&b);
}

/* A reply from api.openai.com (gpt-4o-mini, 2024-11). */
static const char openai_reply[] =
    "{\n  \"id\": \"chatcmpl-AXyz\",\n  \"object\": \"chat.completion\",\n  \"created\": "
    "1732000000,\n  \"model\": \"gpt-4o-mini-2024-07-18\",\n  \"choices\": [\n    {\n      "
    "\"index\": 0,\n      \"message\": {\n        \"role\": \"assistant\",\n        "
    "\"content\": \"{\\\"topics\\\":[\\\"天气\\\",\\\"旅行\\\"]}\",\n        \"refusal\": null\n"
    "      },\n      \"logprobs\": null,\n      \"finish_reason\": \"stop\"\n    }\n  ],\n  "
    "\"usage\": {\n    \"prompt_tokens\": 52,\n    \"completion_tokens\": 11,\n    "
    "\"total_tokens\": 63,\n    \"prompt_tokens_details\": {\"cached_tokens\": 0}\n  },\n  "
    "\"system_fingerprint\": \"fp_0ba0d124f1\"\n}\n";

/* DeepSeek reasoner: reasoning_content next to content. */
static const char deepseek_reply[] =
    "{\"id\":\"e1\",\"object\":\"chat.completion\",\"created\":1737000000,\"model\":"
    "\"deepseek-reasoner\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"42\",\"reasoning_content\":\"Six times seven.\"},\"logprobs\":null,"
    "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":30,"
    "\"total_tokens\":40,\"completion_tokens_details\":{\"reasoning_tokens\":28}}}";

static const char openai_tool_reply[] =
    "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"output\",\"arguments\":\"{\\\"topics\\\":[\\\"a\\\"]}"
    "\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":5,"
    "\"completion_tokens\":7,\"total_tokens\":12}}";

/* api.anthropic.com, a forced tool with a thinking block first. */
static const char anthropic_reply[] =
    "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
    "\"claude-3-7-sonnet-20250219\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"Let me "
    "list.\",\"signature\":\"EqQB\"},{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":"
    "\"topics\",\"input\":{\"topics\":[\"雨\",\"雪\"]}}],\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":400,\"cache_creation_input_tokens\":0,"
    "\"cache_read_input_tokens\":100,\"output_tokens\":60}}";

/* OpenAI with a prompt-cache hit: prompt_tokens counts the cached ones. */
static const char openai_cached_reply[] =
    "{\"id\":\"c2\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":\"stop\"}],\"usage\":{"
    "\"prompt_tokens\":2006,\"completion_tokens\":300,\"total_tokens\":2306,"
    "\"prompt_tokens_details\":{\"cached_tokens\":1920,\"audio_tokens\":0},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":0}}}";

/* DeepSeek reports its cache hits as prompt_cache_hit_tokens (of prompt_tokens). */
static const char deepseek_cached_reply[] =
    "{\"id\":\"e2\",\"object\":\"chat.completion\",\"model\":\"deepseek-chat\",\"choices\":"
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"ok\"},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":1500,\"completion_tokens\":20,\"total_tokens\":"
    "1520,\"prompt_cache_hit_tokens\":1408,\"prompt_cache_miss_tokens\":92}}";

/* Anthropic writing the prefix to its cache: input_tokens is only what follows it. */
static const char anthropic_write_reply[] =
    "{\"id\":\"msg_03\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
    "\"text\",\"text\":\"ok\"}],\"model\":\"claude-3-5-haiku-20241022\",\"stop_reason\":"
    "\"end_turn\",\"usage\":{\"input_tokens\":21,\"cache_creation_input_tokens\":1188,"
    "\"cache_read_input_tokens\":0,\"output_tokens\":393}}";

static const char anthropic_text_reply[] =
    "{\"id\":\"msg_02\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":"
    "\"text\",\"text\":\"Hello there!\"}],\"model\":\"claude-3-5-haiku-20241022\","
    "\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":12,\"output_tokens\":6}}";

static void decodes_openai(void **state)
{
    struct llm_reply r;
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_decode_reply(LLM_OPENAI_CHAT, openai_reply, strlen(openai_reply), &r, &e),
                     0);
    assert_string_equal(r.content, "{\"topics\":[\"天气\",\"旅行\"]}");
    assert_int_equal(r.content_len, strlen(r.content));
    assert_null(r.reasoning);
    assert_null(r.tool_input);
    assert_string_equal(r.finish_reason, "stop");
    assert_int_equal(r.input_tokens, 52);
    assert_int_equal(r.output_tokens, 11);
    assert_int_equal(r.total_tokens, 63);
    assert_int_equal(r.cached_tokens, 0);
    assert_int_equal(r.cache_write_tokens, 0);
    llm_reply_done(&r);

    assert_int_equal(
        llm_decode_reply(LLM_OPENAI_CHAT, openai_cached_reply, strlen(openai_cached_reply), &r, &e),
        0);
    assert_int_equal(r.input_tokens, 2006); /* already the whole prompt */
    assert_int_equal(r.cached_tokens, 1920);
    assert_int_equal(r.cache_write_tokens, 0);
    assert_int_equal(r.total_tokens, 2306);
    llm_reply_done(&r);

    assert_int_equal(llm_decode_reply(LLM_OPENAI_CHAT, deepseek_cached_reply,
                                      strlen(deepseek_cached_reply), &r, &e),
                     0);
    assert_int_equal(r.input_tokens, 1500);
    assert_int_equal(r.cached_tokens, 1408);
    llm_reply_done(&r);

    assert_int_equal(
        llm_decode_reply(LLM_OPENAI_CHAT, deepseek_reply, strlen(deepseek_reply), &r, &e), 0);
    assert_string_equal(r.content, "42");
    assert_string_equal(r.reasoning, "Six times seven.");
    llm_reply_done(&r);

    assert_int_equal(
        llm_decode_reply(LLM_OPENAI_CHAT, openai_tool_reply, strlen(openai_tool_reply), &r, &e), 0);
    assert_null(r.content);
    assert_non_null(r.tool_input);
    assert_string_equal(json_text(r.tool_input, NULL), "{\"topics\":[\"a\"]}");
    assert_int_equal(r.total_tokens, 12);
    llm_reply_done(&r);
}

static void decodes_anthropic(void **state)
{
    struct llm_reply r;
    struct err e = {0};
    (void)state;
    assert_int_equal(
        llm_decode_reply(LLM_ANTHROPIC_MESSAGES, anthropic_reply, strlen(anthropic_reply), &r, &e),
        0);
    assert_string_equal(r.reasoning, "Let me list.");
    assert_string_equal(json_text(r.tool_input, NULL), "{\"topics\":[\"雨\",\"雪\"]}");
    assert_string_equal(r.finish_reason, "tool_use");
    assert_int_equal(r.input_tokens, 500); /* cache reads count as input */
    assert_int_equal(r.cached_tokens, 100);
    assert_int_equal(r.cache_write_tokens, 0);
    assert_int_equal(r.output_tokens, 60);
    assert_int_equal(r.total_tokens, 560);
    llm_reply_done(&r);
    assert_int_equal(llm_decode_reply(LLM_ANTHROPIC_MESSAGES, anthropic_write_reply,
                                      strlen(anthropic_write_reply), &r, &e),
                     0);
    assert_int_equal(r.input_tokens, 21 + 1188); /* cache writes count as input */
    assert_int_equal(r.cache_write_tokens, 1188);
    assert_int_equal(r.cached_tokens, 0);
    assert_int_equal(r.total_tokens, 21 + 1188 + 393);
    llm_reply_done(&r);
    assert_int_equal(llm_decode_reply(LLM_ANTHROPIC_MESSAGES, anthropic_text_reply,
                                      strlen(anthropic_text_reply), &r, &e),
                     0);
    assert_string_equal(r.content, "Hello there!");
    llm_reply_done(&r);
}

static void bad_replies_are_provider_errors(void **state)
{
    static const char *const bad[] = {
        "<html>502 Bad Gateway</html>",
        "{\"id\":\"x\",\"choices\":[]}",
        "{\"id\":\"x\",\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null}}]}",
        "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":\"trunc",
        "[1,2]",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct llm_reply r;
        struct err e = {0};
        assert_int_equal(llm_decode_reply(LLM_OPENAI_CHAT, bad[i], strlen(bad[i]), &r, &e),
                         HE_PROVIDER);
        assert_true(e.msg[0] != '\0');
        assert_null(r.content);
    }
}

static void error_bodies(void **state)
{
    char m[128];
    static const char oai[] =
        "{\n    \"error\": {\n        \"message\": \"Rate limit reached for gpt-4o in "
        "organization org-x on tokens per min (TPM): Limit 30000.\",\n        \"type\": "
        "\"tokens\",\n        \"param\": null,\n        \"code\": \"rate_limit_exceeded\"\n    "
        "}\n}\n";
    static const char ant[] = "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                              "\"message\":\"Overloaded\"}}";
    (void)state;
    llm_decode_error(oai, strlen(oai), m, sizeof(m));
    assert_string_equal(m, "Rate limit reached for gpt-4o in organization org-x on tokens per "
                           "min (TPM): Limit 30000.");
    llm_decode_error(ant, strlen(ant), m, sizeof(m));
    assert_string_equal(m, "Overloaded");
    llm_decode_error("{\"detail\":\"Not Found\"}", 22, m, sizeof(m));
    assert_string_equal(m, "Not Found");
    llm_decode_error("  upstream\nconnect error", 24, m, sizeof(m));
    assert_string_equal(m, "upstream connect error");
    llm_decode_error("", 0, m, sizeof(m));
    assert_string_equal(m, "");
    /* cut to the buffer, never in the middle of a UTF-8 sequence */
    llm_decode_error("{\"error\":\"错误错误\"}", strlen("{\"error\":\"错误错误\"}"), m, 8);
    assert_string_equal(m, "错误");
}

static void unsupported_params(void **state)
{
    static const char temp[] =
        "{\"error\":{\"message\":\"Unsupported parameter: 'temperature' is not supported with "
        "this model.\",\"type\":\"invalid_request_error\",\"param\":\"temperature\",\"code\":"
        "\"unsupported_parameter\"}}";
    static const char rf[] =
        "{\"error\":{\"message\":\"Invalid parameter: 'response_format' of type 'json_schema' is "
        "not supported with this model.\",\"type\":\"invalid_request_error\",\"param\":null}}";
    static const char ant[] = "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                              "\"message\":\"tools: Extra inputs are not permitted\"}}";
    static const char other[] = "{\"error\":{\"message\":\"model not found\",\"param\":null}}";
    (void)state;
    assert_int_equal(llm_error_params(temp, strlen(temp)), LLM_PARAM_TEMPERATURE);
    assert_int_equal(llm_error_params(rf, strlen(rf)), LLM_PARAM_RESPONSE_FORMAT);
    assert_int_equal(llm_error_params(ant, strlen(ant)), LLM_PARAM_TOOLS);
    assert_int_equal(llm_error_params(other, strlen(other)), 0);
    assert_int_equal(llm_error_params("not json", 8), 0);
}

static void durations_and_retry_after(void **state)
{
    (void)state;
    assert_int_equal(llm_parse_duration("20ms", 4), 20000);
    assert_int_equal(llm_parse_duration("1s", 2), 1000000);
    assert_int_equal(llm_parse_duration("6m0s", 4), 360000000);
    assert_int_equal(llm_parse_duration("1h2m3.5s", 8), 3723500000LL);
    assert_int_equal(llm_parse_duration("0.5", 3), 500000);
    assert_int_equal(llm_parse_duration("30", 2), 30000000);
    assert_int_equal(llm_parse_duration("", 0), -1);
    assert_int_equal(llm_parse_duration("1m30", 4), -1);
    assert_int_equal(llm_parse_duration("soon", 4), -1);
    assert_int_equal(llm_parse_retry_after(" 2 ", 3, 0), 2000000);
    /* Anthropic reset: RFC 3339, 10 s after "now" */
    assert_int_equal(llm_parse_retry_after("2026-11-24T10:15:40Z", 20, 1795515330000000LL),
                     10000000);
    /* HTTP date in the past: no wait */
    assert_int_equal(llm_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29, 1795515330000000LL),
                     0);
    assert_int_equal(llm_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 29, 1445412470000000LL),
                     10000000);
    assert_int_equal(llm_parse_retry_after("later", 5, 0), -1);
}

static void escapes_strings(void **state)
{
    struct buf b;
    (void)state;
    buf_init(&b, 1024);
    assert_int_equal(llm_json_escape(&b, "a\"b\\c\n\x1f中", strlen("a\"b\\c\n\x1f中")), 0);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u001f中\"");
    buf_done(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_json_schema),
        cmocka_unit_test(openai_json_mode_puts_schema_in_system),
        cmocka_unit_test(openai_prompt_without_system_adds_one),
        cmocka_unit_test(anthropic_forced_tool),
        cmocka_unit_test(anthropic_prompt_method),
        cmocka_unit_test(anthropic_cache_prefix_marks_the_system_block),
        cmocka_unit_test(openai_cache_prefix_sends_nothing),
        cmocka_unit_test(decodes_openai),
        cmocka_unit_test(decodes_anthropic),
        cmocka_unit_test(bad_replies_are_provider_errors),
        cmocka_unit_test(error_bodies),
        cmocka_unit_test(unsupported_params),
        cmocka_unit_test(durations_and_retry_after),
        cmocka_unit_test(escapes_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
