/* SPDX-License-Identifier: MIT */
/* Kiln's model ids: the table, and how llm_config_check resolves them per provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm/config.h"
#include "llm/kiln_models.h"
#include "llm/provider.h"
#include "util/json.h"

#include "config_fixture.h"

static const char *const env_vars[][2] = {
    {"OPENAI_API_KEY", "sk-o"},    {"GROQ_API_KEY", "gk"},
    {"OPENROUTER_API_KEY", "ork"}, {"FIREWORKS_API_KEY", "fk"},
    {"ANTHROPIC_API_KEY", "ak"},   {"TOGETHERAI_API_KEY", "tk"},
    {"GEMINI_API_KEY", "gm"},      {"HETU_OPENAI_COMPATIBLE_BASE_URL", "http://127.0.0.1:9/v1"},
    {"HETU_VLLM_BASE_URL", NULL},  {"OLLAMA_BASE_URL", NULL},
    {"TOGETHER_API_KEY", NULL},    {"HETU_OPENAI_BASE_URL", NULL},
};

/* Every provider reachable (keys and URLs set), so only the model decides. */
static int keyed_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++) {
        if (env_vars[i][1])
            setenv(env_vars[i][0], env_vars[i][1], 1);
        else
            unsetenv(env_vars[i][0]);
    }
    return 0;
}

static void table_rows_are_sane(void **state)
{
    size_t n;
    const struct kiln_model *all = kiln_models_all(&n);
    (void)state;
    assert_true(n >= 140);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(llm_provider_find(all[i].provider));
        assert_false(llm_provider_find(all[i].provider)->named);
        assert_true(all[i].model_id == NULL || all[i].model_id[0]);
        /* a Kiln id is never also a provider's own id in the table */
        assert_false(all[i].model_id && kiln_model_known(all[i].model_id));
    }
    assert_true(kiln_model_known("gpt_4o_mini"));
    assert_true(kiln_model_known("qwen_2p5_72b"));
    assert_false(kiln_model_known("gpt-4o-mini"));
    assert_false(kiln_model_known("gpt_4o_min"));
    assert_string_equal(kiln_model_find("gpt_4o_mini", "openai")->friendly_name, "GPT 4o Mini");
    assert_null(kiln_model_find("gpt_4o_mini", "groq"));
}

/* provider -> (Kiln id, the provider's id, Kiln's structured-output method) */
static void known_id_per_provider(void **state)
{
    static const struct {
        const char *provider, *kiln, *model;
        enum llm_so_method so;
    } cases[] = {
        {"openai", "gpt_4o_mini", "gpt-4o-mini", LLM_SO_JSON_SCHEMA},
        {"openrouter", "gpt_4o_mini", "openai/gpt-4o-mini", LLM_SO_JSON_SCHEMA},
        {"groq", "llama_3_1_8b", "llama-3.1-8b-instant", LLM_SO_TOOL /* Kiln's default */},
        {"ollama", "llama_3_1_8b", "llama3.1:8b", LLM_SO_JSON_SCHEMA},
        {"together_ai", "llama_3_1_8b", "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", LLM_SO_TOOL},
        {"fireworks_ai", "qwen_2p5_72b", "accounts/fireworks/models/qwen2p5-72b-instruct",
         LLM_SO_TOOL},
        {"openrouter", "qwen_2p5_72b", "qwen/qwen-2.5-72b-instruct", LLM_SO_JSON_MODE},
        {"anthropic", "claude_3_5_haiku", "claude-3-5-haiku-20241022", LLM_SO_TOOL},
        {"gemini_api", "gemini_2_0_flash", "gemini-2.0-flash", LLM_SO_JSON_MODE},
    };
    struct llm_config *cfg = load(NULL);
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct llm_target t = {0};
        struct err e = {0};
        assert_int_equal(llm_config_check(cfg, cases[i].provider, cases[i].kiln, &t, &e), 0);
        assert_string_equal(t.prov->name, cases[i].provider);
        assert_string_equal(t.model, cases[i].model);
        assert_int_equal(t.lim.so_method, cases[i].so);
        assert_null(t.extra_body);
    }
    llm_config_free(cfg);
}

/* Kiln's o-series ids are one model at three reasoning efforts; reasoning models get what
 * Kiln adds to the body for them */
static void extra_body_as_kiln_sends_it(void **state)
{
    static const char *const levels[][2] = {
        {"gpt_o3_low", "low"}, {"gpt_o3_medium", "medium"}, {"gpt_o3_high", "high"}};
    struct llm_config *cfg = load(NULL);
    struct llm_target t = {0};
    struct err e = {0};
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(llm_config_check(cfg, "openai", levels[i][0], &t, &e), 0);
        char want[64];
        assert_int_equal(llm_config_check(cfg, "openai", levels[i][0], &t, &e), 0);
        assert_string_equal(t.model, "o3");
        snprintf(want, sizeof(want), "\"reasoning_effort\":\"%s\"", levels[i][1]);
        assert_string_equal(t.extra_body, want);
    }
    /* Kiln sends none on OpenRouter, whose id names the effort */
    assert_int_equal(llm_config_check(cfg, "openrouter", "gpt_o4_mini_high", &t, &e), 0);
    assert_string_equal(t.model, "openai/o4-mini-high");
    assert_null(t.extra_body);
    assert_int_equal(llm_config_check(cfg, "openai", "o3", &t, &e), 0);
    assert_null(t.extra_body);
    assert_int_equal(llm_config_check(cfg, "openrouter", "deepseek_r1_distill_qwen_14b", &t, &e),
                     0);
    assert_string_equal(t.extra_body,
                        "\"reasoning\":{\"exclude\":false},\"provider\":{\"require_parameters\":"
                        "false,\"order\":[\"Fireworks\",\"Together\"],\"ignore\":[\"DeepInfra\"]}");
    assert_int_equal(t.lim.so_method, LLM_SO_PROMPT);
    assert_int_equal(llm_config_check(cfg, "anthropic", "claude_3_7_sonnet_thinking", &t, &e), 0);
    assert_string_equal(t.extra_body, "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":4000}");
    assert_int_equal(t.lim.so_method, LLM_SO_PROMPT);
    llm_config_free(cfg);
}

static void unknown_id_passes_through(void **state)
{
    struct llm_config *cfg = load("{\"my_vllm\": {\"type\": \"vllm\", "
                                  "\"base_url\": \"http://10.0.0.5:8000/v1\"}}");
    struct llm_target t = {0};
    struct err e = {0};
    static const char own[] = "gpt-4o-mini";
    (void)state;
    assert_int_equal(llm_config_check(cfg, "openai", own, &t, &e), 0);
    assert_ptr_equal(t.model, own);
    assert_string_equal(t.prov->name, "openai");
    assert_int_equal(llm_config_check(cfg, "groq", "made-up-model", &t, &e), 0);
    assert_string_equal(t.model, "made-up-model");
    assert_int_equal(t.lim.so_method, LLM_SO_JSON_MODE);
    /* named entries serve what their server has: a Kiln id is not mapped there */
    assert_int_equal(llm_config_check(cfg, "my_vllm", "gpt_4o_mini", &t, &e), 0);
    assert_string_equal(t.model, "gpt_4o_mini");
    assert_string_equal(t.prov->name, "my_vllm");
    assert_int_equal(llm_config_check(cfg, "openai_compatible", "llama-3", &t, &e), 0);
    assert_string_equal(t.model, "llama-3");
    assert_string_equal(t.prov->name, "openai_compatible");
    llm_config_free(cfg);
}

static void kiln_id_on_a_provider_without_it(void **state)
{
    struct llm_config *cfg = load(NULL);
    struct llm_target t = {0};
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_config_check(cfg, "groq", "gpt_4o_mini", &t, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "model_name");
    assert_string_equal(e.msg, "model_name \"gpt_4o_mini\" is a Kiln model id that provider groq "
                               "does not serve (Kiln serves it on openai, openrouter); send "
                               "groq's own model id or one of those providers");
    assert_null(t.prov); /* nothing written on failure */
    err_clear(&e);
    /* Kiln lists Qwen 2.5 72B on Together for fine-tuning only: no model id to call */
    assert_int_equal(llm_config_check(cfg, "together_ai", "qwen_2p5_72b", &t, &e), HE_BAD_REQUEST);
    assert_string_equal(e.field, "model_name");
    assert_non_null(strstr(e.msg, "fine-tuning only"));
    llm_config_free(cfg);
}

static void compatible_name_and_model(void **state)
{
    struct llm_config *cfg =
        load("{\"corp\": {\"type\": \"openai_compatible\", \"base_url\": \"https://llm.corp/v1\"},"
             " \"box\": {\"type\": \"vllm\", \"base_url\": \"http://10.0.0.5:8000/v1\"}}");
    static const char *const bad[] = {"nope::m",    "corp::",  "::m",
                                      "corp::a::b", "groq::m", "openai_compatible::m"};
    struct llm_target t = {0};
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_config_check(cfg, "openai_compatible", "corp::llama-3.1:8b", &t, &e), 0);
    assert_string_equal(t.prov->name, "corp");
    assert_string_equal(t.model, "llama-3.1:8b");
    assert_string_equal(t.prov->base_url, "https://llm.corp/v1");
    assert_int_equal(llm_config_check(cfg, "openai_compatible", "box::qwen", &t, &e), 0);
    assert_string_equal(t.prov->name, "box");
    assert_string_equal(t.model, "qwen");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(llm_config_check(cfg, "openai_compatible", bad[i], &t, &e),
                         HE_BAD_REQUEST);
        assert_string_equal(e.field, "model_name");
        assert_non_null(strstr(e.msg, bad[i]));
    }
    err_clear(&e);
    assert_int_equal(llm_config_check(cfg, "openai_compatible", "nope::m", &t, &e), HE_BAD_REQUEST);
    assert_string_equal(e.msg, "model_name \"nope::m\": no openai_compatible provider named "
                               "\"nope\"; add providers.nope with \"type\": "
                               "\"openai_compatible\" to the config file");
    llm_config_free(cfg);
}

static void custom_registry_provider_and_model(void **state)
{
    struct llm_config *cfg = load(NULL);
    static const char *const bad[] = {
        "gpt-4o", "::gpt-4o", "openai::", "vertex::gemini", "openai_compatible::m", "nope::m"};
    struct llm_target t = {0};
    struct err e = {0};
    (void)state;
    assert_int_equal(
        llm_config_check(cfg, "kiln_custom_registry", "openai::gpt-4o-2024-11-20", &t, &e), 0);
    assert_string_equal(t.prov->name, "openai");
    assert_string_equal(t.model, "gpt-4o-2024-11-20");
    /* as in Kiln, the model after PROVIDER:: is the provider's own: a Kiln id is not mapped */
    assert_int_equal(llm_config_check(cfg, "kiln_custom_registry", "groq::gpt_4o_mini", &t, &e), 0);
    assert_string_equal(t.prov->name, "groq");
    assert_string_equal(t.model, "gpt_4o_mini");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&e);
        assert_int_equal(llm_config_check(cfg, "kiln_custom_registry", bad[i], &t, &e),
                         HE_BAD_REQUEST);
        assert_string_equal(e.field, "model_name");
        assert_non_null(strstr(e.msg, bad[i]));
    }
    llm_config_free(cfg);
}

static void kiln_providers_hetu_lacks(void **state)
{
    static const char *const cases[][2] = {
        {"azure_openai", "Hetu does not call Kiln's provider \"azure_openai\"; known providers: "
                         "openai, together_ai"},
        {"kiln_fine_tune", "Hetu does not call Kiln's provider \"kiln_fine_tune\";"},
        {"azur", "unknown provider \"azur\"; known providers: openai, together_ai"},
    };
    struct llm_config *cfg = load(NULL);
    struct err e = {0};
    (void)state;
    assert_null(kiln_provider_find("vertex")->hetu);
    assert_string_equal(kiln_provider_find("fireworks_ai")->hetu, "fireworks_ai");
    assert_null(kiln_provider_find("deepseek"));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err_clear(&e);
        assert_int_equal(llm_config_check(cfg, cases[i][0], "gpt_4o_mini", NULL, &e),
                         HE_BAD_REQUEST);
        assert_string_equal(e.field, "provider");
        assert_memory_equal(e.msg, cases[i][1], strlen(cases[i][1]));
    }
    llm_config_free(cfg);
}

/* The config file's structured_output wins over Kiln's; its model entries key on the provider's
 * model id, so they apply to a Kiln id that maps there. */
static void config_wins_over_kiln_method(void **state)
{
    struct llm_config *cfg =
        load("{\"openai\": {\"models\": {\"gpt-4o-mini\": {\"structured_output\": \"prompt\","
             "                                             \"concurrency\": 3}}},"
             " \"together_ai\": {\"structured_output\": \"json_mode\"}}");
    struct llm_target t = {0};
    struct err e = {0};
    (void)state;
    assert_int_equal(llm_config_check(cfg, "openai", "gpt_4o_mini", &t, &e), 0);
    assert_int_equal(t.lim.so_method, LLM_SO_PROMPT);
    assert_int_equal(t.lim.concurrency, 3);
    assert_int_equal(llm_config_check(cfg, "openai", "gpt_4o", &t, &e), 0);
    assert_int_equal(t.lim.so_method, LLM_SO_JSON_SCHEMA);
    assert_int_equal(llm_config_check(cfg, "together_ai", "llama_3_1_8b", &t, &e), 0);
    assert_int_equal(t.lim.so_method, LLM_SO_JSON_MODE);
    llm_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(table_rows_are_sane),
        cmocka_unit_test_setup(known_id_per_provider, keyed_env),
        cmocka_unit_test_setup(extra_body_as_kiln_sends_it, keyed_env),
        cmocka_unit_test_setup(unknown_id_passes_through, keyed_env),
        cmocka_unit_test_setup(kiln_id_on_a_provider_without_it, keyed_env),
        cmocka_unit_test_setup(compatible_name_and_model, keyed_env),
        cmocka_unit_test_setup(custom_registry_provider_and_model, keyed_env),
        cmocka_unit_test_setup(kiln_providers_hetu_lacks, keyed_env),
        cmocka_unit_test_setup(config_wins_over_kiln_method, keyed_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
