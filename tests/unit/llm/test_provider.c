/* SPDX-License-Identifier: MIT */
/* The providers table, the config file's "providers" section and the environment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm/config.h"
#include "llm/provider.h"
#include "util/json.h"

static const char *const key_vars[] = {
    "OPENAI_API_KEY",
    "TOGETHERAI_API_KEY",
    "TOGETHER_API_KEY",
    "OPENROUTER_API_KEY",
    "GROQ_API_KEY",
    "FIREWORKS_API_KEY",
    "DEEPSEEK_API_KEY",
    "MISTRAL_API_KEY",
    "GEMINI_API_KEY",
    "SILICONFLOW_API_KEY",
    "DASHSCOPE_API_KEY",
    "ANTHROPIC_API_KEY",
    "OLLAMA_BASE_URL",
    "HETU_OPENAI_BASE_URL",
    "HETU_TOGETHER_AI_BASE_URL",
    "HETU_ANTHROPIC_BASE_URL",
    "HETU_VLLM_BASE_URL",
    "HETU_MY_VLLM_BASE_URL",
    "MY_KEY",
    NULL,
};

static int clean_env(void **state)
{
    (void)state;
    for (int i = 0; key_vars[i]; i++)
        unsetenv(key_vars[i]);
    return 0;
}

static struct json_object *parse(const char *s)
{
    struct json_object *o = NULL;
    struct err e = {0};
    assert_int_equal(json_parse(s, strlen(s), &o, &e), 0);
    return o;
}

static void table_has_every_provider(void **state)
{
    static const char *const names[] = {
        "openai",  "together_ai",       "openrouter",     "groq",      "fireworks_ai", "deepseek",
        "mistral", "gemini_api",        "siliconflow_cn", "dashscope", "anthropic",    "ollama",
        "vllm",    "openai_compatible",
    };
    const struct llm_provider_info *p;
    size_t n;
    (void)state;
    llm_provider_all(&n);
    assert_int_equal(n, sizeof(names) / sizeof(names[0]));
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        assert_non_null(llm_provider_find(names[i]));
    assert_null(llm_provider_find("azure"));
    p = llm_provider_find("anthropic");
    assert_int_equal(p->flavour, LLM_ANTHROPIC_MESSAGES);
    assert_string_equal(p->key_vars[0], "ANTHROPIC_API_KEY");
    assert_int_equal(llm_provider_best_method(p->flavour, p->caps), LLM_SO_TOOL);
    p = llm_provider_find("together_ai");
    assert_string_equal(p->key_vars[0], "TOGETHERAI_API_KEY");
    assert_string_equal(p->key_vars[1], "TOGETHER_API_KEY");
    p = llm_provider_find("deepseek");
    assert_int_equal(llm_provider_best_method(p->flavour, p->caps), LLM_SO_JSON_MODE);
    p = llm_provider_find("openai");
    assert_int_equal(llm_provider_best_method(p->flavour, p->caps), LLM_SO_JSON_SCHEMA);
    assert_string_equal(p->max_tokens_name, "max_completion_tokens");
    assert_int_equal(llm_provider_find("ollama")->key_policy, LLM_KEY_NONE);
    assert_string_equal(llm_provider_find("gemini_api")->base_url,
                        "https://generativelanguage.googleapis.com/v1beta/openai");
}

static void ladder_steps_down(void **state)
{
    (void)state;
    assert_int_equal(llm_so_next(LLM_OPENAI_CHAT, LLM_SO_JSON_SCHEMA), LLM_SO_JSON_MODE);
    assert_int_equal(llm_so_next(LLM_OPENAI_CHAT, LLM_SO_JSON_MODE), LLM_SO_PROMPT);
    assert_int_equal(llm_so_next(LLM_OPENAI_CHAT, LLM_SO_PROMPT), LLM_SO_NONE);
    assert_int_equal(llm_so_next(LLM_ANTHROPIC_MESSAGES, LLM_SO_TOOL), LLM_SO_PROMPT);
    enum llm_so_method m;
    assert_int_equal(llm_so_parse("json_mode", &m), 0);
    assert_int_equal(m, LLM_SO_JSON_MODE);
    assert_int_equal(llm_so_parse("grammar", &m), -1);
    assert_string_equal(llm_so_name(LLM_SO_TOOL), "tool");
}

static void url_variable_names(void **state)
{
    char v[64];
    (void)state;
    llm_provider_url_var("together_ai", v, sizeof(v));
    assert_string_equal(v, "HETU_TOGETHER_AI_BASE_URL");
    llm_provider_url_var("openai", v, sizeof(v));
    assert_string_equal(v, "HETU_OPENAI_BASE_URL");
    llm_provider_url_var("my-vllm.2", v, sizeof(v));
    assert_string_equal(v, "HETU_MY_VLLM_2_BASE_URL");
}

static void environment_alone(void **state)
{
    struct llm_config *cfg = NULL;
    const struct llm_provider_cfg *p;
    struct err e = {0};
    (void)state;
    setenv("TOGETHER_API_KEY", "tk-second", 1);
    setenv("HETU_OPENAI_BASE_URL", "http://127.0.0.1:9/v1/", 1);
    setenv("OPENAI_API_KEY", "sk-env", 1);
    setenv("OLLAMA_BASE_URL", "http://gpu-box:11434", 1);
    assert_int_equal(llm_config_load(NULL, &cfg, &e), 0);
    p = llm_config_provider(cfg, "openai");
    assert_string_equal(p->base_url, "http://127.0.0.1:9/v1"); /* trailing '/' dropped */
    assert_string_equal(p->api_key, "sk-env");
    assert_int_equal(p->lim.max_attempts, 5);
    assert_int_equal(p->lim.timeout_s, 120);
    assert_int_equal(p->lim.schema_retries, 2);
    assert_int_equal(p->lim.rate_limit_wait_s, 600);
    assert_int_equal(p->lim.max_output_tokens, 0); /* unknown */
    p = llm_config_provider(cfg, "together_ai");
    assert_string_equal(p->api_key, "tk-second");
    assert_string_equal(p->base_url, "https://api.together.xyz/v1");
    p = llm_config_provider(cfg, "ollama");
    assert_string_equal(p->base_url, "http://gpu-box:11434/v1");
    assert_null(p->api_key);
    assert_int_equal(llm_config_check(cfg, "ollama", "llama3.1", NULL, &e), 0);
    llm_config_free(cfg);
}

static void unknown_provider_lists_known_ones(void **state)
{
    struct llm_config *cfg = NULL;
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_config_load(NULL, &cfg, &e), 0);
    assert_int_equal(llm_config_check(cfg, "opnai", "gpt-4o", NULL, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "provider");
    assert_non_null(strstr(e.msg, "unknown provider \"opnai\""));
    assert_non_null(strstr(e.msg, "openai, together_ai"));
    assert_non_null(strstr(e.msg, "anthropic"));
    err_clear(&e);
    assert_int_equal(llm_config_check(cfg, "groq", "", NULL, &e), HE_BAD_REQUEST);
    /* no key is checked before the model, so set one */
    err_clear(&e);
    setenv("GROQ_API_KEY", "gk", 1);
    llm_config_free(cfg);
    assert_int_equal(llm_config_load(NULL, &cfg, &e), 0);
    assert_int_equal(llm_config_check(cfg, "groq", "", NULL, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "model_name");
    unsetenv("GROQ_API_KEY");
    llm_config_free(cfg);
}

static void missing_key_names_the_variable(void **state)
{
    struct llm_config *cfg = NULL;
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_config_load(NULL, &cfg, &e), 0);
    assert_int_equal(llm_config_check(cfg, "anthropic", "claude-3-5-haiku-latest", NULL, &e),
                     HE_BAD_REQUEST);
    assert_string_equal(e.field, "provider");
    assert_non_null(strstr(e.msg, "ANTHROPIC_API_KEY"));
    err_clear(&e);
    assert_int_equal(llm_config_check(cfg, "together_ai", "m", NULL, &e), HE_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "TOGETHERAI_API_KEY or TOGETHER_API_KEY"));
    err_clear(&e);
    assert_int_equal(llm_config_check(cfg, "vllm", "m", NULL, &e), HE_BAD_REQUEST);
    assert_non_null(strstr(e.msg, "HETU_VLLM_BASE_URL"));
    llm_config_free(cfg);
}

static void config_file_shape(void **state)
{
    struct llm_config *cfg = NULL;
    const struct llm_provider_cfg *p;
    struct llm_limits lim;
    struct err e = {0};
    struct json_object *o =
        parse("{\"openai\": {\"api_key\": \"sk-file\", \"concurrency\": 8, \"rpm\": 600,"
              "  \"timeout_s\": 30, \"max_attempts\": 3, \"price_input_per_mtok\": 0.15,"
              "  \"price_output_per_mtok\": 0.6, \"rate_limit_wait_s\": 60,"
              "  \"models\": {\"gpt-4o\": {\"concurrency\": 2, \"tpm\": 30000,"
              "                            \"price_input_per_mtok\": 2.5,"
              "                            \"max_output_tokens\": 16384}}},"
              " \"my_vllm\": {\"type\": \"vllm\", \"base_url\": \"http://10.0.0.5:8000/v1\","
              "  \"structured_output\": \"json_mode\"},"
              " \"corp\": {\"type\": \"openai_compatible\", \"base_url\": \"https://llm.corp/v1\","
              "  \"api_key_env\": \"MY_KEY\"}}");
    (void)state;
    setenv("MY_KEY", "corp-key", 1);
    setenv("HETU_MY_VLLM_BASE_URL", "http://override:1/v1", 1);
    assert_int_equal(llm_config_load(o, &cfg, &e), 0);
    p = llm_config_provider(cfg, "openai");
    assert_string_equal(p->api_key, "sk-file");
    llm_config_limits(p, "gpt-4o-mini", &lim);
    assert_int_equal(lim.concurrency, 8);
    assert_int_equal(lim.rpm, 600);
    assert_int_equal(lim.max_attempts, 3);
    assert_int_equal(lim.rate_limit_wait_s, 60);
    assert_int_equal(lim.max_output_tokens, 0);
    llm_config_limits(p, "gpt-4o", &lim);
    assert_int_equal(lim.concurrency, 2);
    assert_int_equal(lim.max_output_tokens, 16384);
    assert_int_equal(lim.rate_limit_wait_s, 60); /* inherited */
    assert_int_equal(lim.tpm, 30000);
    assert_int_equal(lim.rpm, 600); /* inherited */
    assert_true(lim.price_in == 2.5 && lim.price_out == 0.6);
    p = llm_config_provider(cfg, "my_vllm");
    assert_non_null(p);
    assert_string_equal(p->base_url, "http://override:1/v1"); /* environment wins */
    assert_int_equal(p->lim.so_method, LLM_SO_JSON_MODE);
    assert_int_equal(llm_config_check(cfg, "my_vllm", "qwen", NULL, &e), 0);
    p = llm_config_provider(cfg, "corp");
    assert_string_equal(p->api_key, "corp-key");
    llm_config_free(cfg);
    json_object_put(o);
}

static void config_errors_name_the_field(void **state)
{
    static const struct {
        const char *json, *field, *msg;
        int code; /* HE_INVALID from the JSON field readers, HE_BAD_REQUEST from the checks of the
                   * configuration itself */
    } cases[] = {
        {"{\"openai\": {\"rpm\": \"fast\"}}", "providers.openai.rpm", "providers.openai.rpm",
         HE_INVALID},
        {"{\"openai\": {\"concurrency\": 0}}", "providers.openai.concurrency", "concurrency",
         HE_INVALID},
        {"{\"openai\": {\"bogus\": 1}}", "providers.openai.bogus", "bogus", HE_INVALID},
        {"{\"mine\": {\"base_url\": \"http://x\"}}", "providers.mine", "named entry",
         HE_BAD_REQUEST},
        {"{\"openai\": {\"base_url\": \"ftp://x\"}}", "providers.openai", "http://",
         HE_BAD_REQUEST},
        {"{\"openai\": {\"structured_output\": \"grammar\"}}", "providers.openai.structured_output",
         "json_schema", HE_BAD_REQUEST},
        {"{\"openai\": {\"models\": {\"m\": {\"price_input_per_mtok\": -1}}}}",
         "providers.openai.models.m.price_input_per_mtok", "non-negative", HE_BAD_REQUEST},
        {"{\"anthropic\": {\"type\": \"vllm\"}}", "providers.anthropic", "built-in",
         HE_BAD_REQUEST},
        {"{\"openai\": {\"rate_limit_wait_s\": 0}}", "providers.openai.rate_limit_wait_s",
         "between 1 and 86400", HE_INVALID},
        {"{\"openai\": {\"models\": {\"m\": {\"max_output_tokens\": -1}}}}",
         "providers.openai.models.m.max_output_tokens", "between 0 and", HE_INVALID},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct llm_config *cfg = NULL;
        struct err e = {0};
        struct json_object *o = parse(cases[i].json);
        int r = llm_config_load(o, &cfg, &e);
        if (r != cases[i].code)
            fail_msg("case %zu: %d, wanted %d", i, r, cases[i].code);
        assert_null(cfg);
        assert_string_equal(e.field, cases[i].field);
        if (!strstr(e.msg, cases[i].msg))
            fail_msg("case %zu: %s", i, e.msg);
        json_object_put(o);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_has_every_provider),
        cmocka_unit_test(ladder_steps_down),
        cmocka_unit_test(url_variable_names),
        cmocka_unit_test_setup(environment_alone, clean_env),
        cmocka_unit_test_setup(unknown_provider_lists_known_ones, clean_env),
        cmocka_unit_test_setup(missing_key_names_the_variable, clean_env),
        cmocka_unit_test_setup(config_file_shape, clean_env),
        cmocka_unit_test_setup(config_errors_name_the_field, clean_env),
    };
    return cmocka_run_group_tests(tests, clean_env, NULL);
}
