/* SPDX-License-Identifier: MIT */
/*
 * The providers table. Static, read-only data shared by every thread; adding a provider is
 * adding a row. Base URLs include the API version prefix, so a request goes to
 * base + "/chat/completions" or base + "/messages".
 */
#include "llm/provider.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "util/banned.h"

#define OAI_FULL \
    (LLM_CAP_JSON_SCHEMA | LLM_CAP_JSON_MODE | LLM_CAP_TOOLS | LLM_CAP_TEMPERATURE | LLM_CAP_TOP_P)
#define OAI_JSON (LLM_CAP_JSON_MODE | LLM_CAP_TOOLS | LLM_CAP_TEMPERATURE | LLM_CAP_TOP_P)

static const struct llm_provider_info providers[] = {
    {"openai",
     LLM_OPENAI_CHAT,
     "https://api.openai.com/v1",
     {"OPENAI_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_completion_tokens",
     64,
     false},
    {"together_ai",
     LLM_OPENAI_CHAT,
     "https://api.together.xyz/v1",
     {"TOGETHERAI_API_KEY", "TOGETHER_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_tokens",
     32,
     false},
    {"openrouter",
     LLM_OPENAI_CHAT,
     "https://openrouter.ai/api/v1",
     {"OPENROUTER_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_tokens",
     32,
     false},
    {"groq",
     LLM_OPENAI_CHAT,
     "https://api.groq.com/openai/v1",
     {"GROQ_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_JSON,
     "max_tokens",
     16,
     false},
    {"fireworks_ai",
     LLM_OPENAI_CHAT,
     "https://api.fireworks.ai/inference/v1",
     {"FIREWORKS_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_tokens",
     32,
     false},
    {"deepseek",
     LLM_OPENAI_CHAT,
     "https://api.deepseek.com/v1",
     {"DEEPSEEK_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_JSON,
     "max_tokens",
     32,
     false},
    {"mistral",
     LLM_OPENAI_CHAT,
     "https://api.mistral.ai/v1",
     {"MISTRAL_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_tokens",
     16,
     false},
    {"gemini_api",
     LLM_OPENAI_CHAT,
     "https://generativelanguage.googleapis.com/v1beta/openai",
     {"GEMINI_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_FULL,
     "max_tokens",
     32,
     false},
    {"siliconflow_cn",
     LLM_OPENAI_CHAT,
     "https://api.siliconflow.cn/v1",
     {"SILICONFLOW_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_JSON,
     "max_tokens",
     16,
     false},
    {"dashscope",
     LLM_OPENAI_CHAT,
     "https://dashscope.aliyuncs.com/compatible-mode/v1",
     {"DASHSCOPE_API_KEY"},
     LLM_KEY_REQUIRED,
     OAI_JSON,
     "max_tokens",
     16,
     false},
    {"anthropic",
     LLM_ANTHROPIC_MESSAGES,
     "https://api.anthropic.com/v1",
     {"ANTHROPIC_API_KEY"},
     LLM_KEY_REQUIRED,
     LLM_CAP_TOOLS | LLM_CAP_TEMPERATURE | LLM_CAP_TOP_P,
     "max_tokens",
     32,
     false},
    {"ollama",
     LLM_OPENAI_CHAT,
     "http://localhost:11434/v1",
     {NULL},
     LLM_KEY_NONE,
     OAI_FULL,
     "max_tokens",
     4,
     false},
    {"vllm", LLM_OPENAI_CHAT, NULL, {NULL}, LLM_KEY_OPTIONAL, OAI_FULL, "max_tokens", 64, true},
    {"openai_compatible",
     LLM_OPENAI_CHAT,
     NULL,
     {NULL},
     LLM_KEY_OPTIONAL,
     OAI_FULL,
     "max_tokens",
     32,
     true},
};

const struct llm_provider_info *llm_provider_find(const char *name)
{
    for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
        if (strcmp(providers[i].name, name) == 0)
            return &providers[i];
    return NULL;
}

const struct llm_provider_info *llm_provider_all(size_t *ret_n)
{
    *ret_n = sizeof(providers) / sizeof(providers[0]);
    return providers;
}

enum llm_so_method llm_provider_best_method(enum llm_flavour flavour, unsigned caps)
{
    if (flavour == LLM_ANTHROPIC_MESSAGES)
        return (caps & LLM_CAP_TOOLS) ? LLM_SO_TOOL : LLM_SO_PROMPT;
    if (caps & LLM_CAP_JSON_SCHEMA)
        return LLM_SO_JSON_SCHEMA;
    if (caps & LLM_CAP_JSON_MODE)
        return LLM_SO_JSON_MODE;
    return LLM_SO_PROMPT;
}

enum llm_so_method llm_so_next(enum llm_flavour flavour, enum llm_so_method m)
{
    switch (m) {
    case LLM_SO_JSON_SCHEMA: return LLM_SO_JSON_MODE;
    case LLM_SO_TOOL: return flavour == LLM_ANTHROPIC_MESSAGES ? LLM_SO_PROMPT : LLM_SO_JSON_MODE;
    case LLM_SO_JSON_MODE: return LLM_SO_PROMPT;
    default: return LLM_SO_NONE;
    }
}

static const char *const so_names[] = {
    [LLM_SO_NONE] = "none",           [LLM_SO_JSON_SCHEMA] = "json_schema", [LLM_SO_TOOL] = "tool",
    [LLM_SO_JSON_MODE] = "json_mode", [LLM_SO_PROMPT] = "prompt",
};

const char *llm_so_name(enum llm_so_method m)
{
    return (unsigned)m < sizeof(so_names) / sizeof(so_names[0]) ? so_names[m] : "none";
}

int llm_so_parse(const char *s, enum llm_so_method *ret)
{
    for (unsigned i = 0; i < sizeof(so_names) / sizeof(so_names[0]); i++)
        if (strcmp(so_names[i], s) == 0) {
            *ret = (enum llm_so_method)i;
            return 0;
        }
    return -1;
}

void llm_provider_url_var(const char *name, char *out, size_t size)
{
    size_t n = 0;
    int w = snprintf(out, size, "HETU_");
    if (w < 0 || (size_t)w >= size)
        return;
    n = (size_t)w;
    for (const char *p = name; *p && n + 1 < size; p++) {
        unsigned char c = (unsigned char)*p;
        out[n++] = isalnum(c) ? (char)toupper(c) : '_';
    }
    out[n] = '\0';
    if (n + sizeof("_BASE_URL") <= size)
        memcpy(out + n, "_BASE_URL", sizeof("_BASE_URL"));
}
