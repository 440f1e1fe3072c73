/* SPDX-License-Identifier: MIT */
/* Prices: the built-in table, the config file's prices over it, Kiln ids resolved first, unknown
 * models left unknown, and the cost of a usage with cached and cache-written input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "llm/config.h"
#include "llm/engine.h"
#include "util/json.h"

#include "config_fixture.h"

static void assert_price(const struct llm_price *p, double in, double out, double cached_in,
                         double cache_write, const char *source)
{
    if (p->in != in || p->out != out || p->cached_in != cached_in || p->cache_write != cache_write)
        fail_msg("price %g/%g/%g/%g, wanted %g/%g/%g/%g", p->in, p->out, p->cached_in,
                 p->cache_write, in, out, cached_in, cache_write);
    assert_string_equal(p->source, source);
}

static void assert_unknown(const struct llm_config *cfg, const char *provider, const char *model)
{
    struct llm_price p;

    llm_config_price(cfg, provider, model, &p);
    if (p.source || p.in >= 0 || p.out >= 0)
        fail_msg("%s/%s has a price (%g/%g)", provider, model, p.in, p.out);
}

static int no_keys(void **state)
{
    (void)state;
    unsetenv("OPENAI_API_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    return 0;
}

/* Published prices by provider and exact model id; no key is needed to know them. */
static void builtin_table(void **state)
{
    struct llm_config *cfg = load(NULL);
    struct llm_price p;
    (void)state;

    llm_config_price(cfg, "openai", "gpt-4o-mini", &p);
    assert_price(&p, 0.15, 0.60, 0.075, -1, "builtin");
    llm_config_price(cfg, "openai", "gpt-4.1", &p);
    assert_price(&p, 2.00, 8.00, 0.50, -1, "builtin");
    llm_config_price(cfg, "anthropic", "claude-sonnet-4-20250514", &p);
    assert_price(&p, 3.00, 15.00, 0.30, 3.75, "builtin");
    /* Kiln's id resolves to the provider's id first (claude-3-5-haiku-20241022) */
    llm_config_price(cfg, "anthropic", "claude_3_5_haiku", &p);
    assert_price(&p, 0.80, 4.00, 0.08, 1.00, "builtin");
    llm_config_price(cfg, "openai", "gpt_o4_mini_high", &p);
    assert_price(&p, 1.10, 4.40, 0.275, -1, "builtin");
    /* kiln_custom_registry PROVIDER::MODEL is MODEL on the built-in provider */
    llm_config_price(cfg, "kiln_custom_registry", "openai::gpt-4o", &p);
    assert_price(&p, 2.50, 10.00, 1.25, -1, "builtin");
    llm_config_free(cfg);
}

/* Never a guess from a similar name, another provider, or a named entry. */
static void unknown_stays_unknown(void **state)
{
    struct llm_config *cfg = load("{\"proxy\": {\"type\": \"openai_compatible\","
                                  " \"base_url\": \"http://127.0.0.1:9/v1\"}}");
    (void)state;

    assert_unknown(cfg, "openai", "gpt-4o-2024-05-13"); /* an older snapshot, priced apart */
    assert_unknown(cfg, "openai", "gpt-4o-mini-fast");
    assert_unknown(cfg, "openai", "GPT-4o");
    assert_unknown(cfg, "openrouter", "gpt-4o");        /* the same id elsewhere */
    assert_unknown(cfg, "together_ai", "llama_3_1_8b"); /* a Kiln id without a price */
    assert_unknown(cfg, "openai_compatible", "proxy::gpt-4o");
    assert_unknown(cfg, "proxy", "gpt-4o");
    assert_unknown(cfg, "nosuch", "gpt-4o");
    assert_unknown(cfg, "openai", "");
    assert_unknown(cfg, "anthropic", "claude_3_5_haiku_typo");
    assert_unknown(NULL, "openai", "gpt-4o");
    llm_config_free(cfg);
}

/* The config file's price wins over the table (the model's entry, else the provider's); the cache
 * prices it leaves out are the input price. */
static void config_wins(void **state)
{
    struct llm_config *cfg = load(
        "{\"openai\": {\"price_input_per_mtok\": 1, \"price_output_per_mtok\": 2,"
        "  \"models\": {\"gpt-4o-mini\": {\"price_input_per_mtok\": 0.2,"
        "     \"price_output_per_mtok\": 0.8, \"price_cached_input_per_mtok\": 0.05}}},"
        " \"anthropic\": {\"models\": {\"claude-3-5-haiku-20241022\": {"
        "     \"price_input_per_mtok\": 1, \"price_output_per_mtok\": 5,"
        "     \"price_cached_input_per_mtok\": 0.1, \"price_cache_write_per_mtok\": 1.25}},"
        "  \"price_cached_input_per_mtok\": 9},"
        " \"proxy\": {\"type\": \"openai_compatible\", \"base_url\": \"http://127.0.0.1:9/v1\","
        "  \"models\": {\"m1\": {\"price_input_per_mtok\": 3, \"price_output_per_mtok\": 4}}}}");
    struct llm_price p;
    (void)state;

    llm_config_price(cfg, "openai", "gpt-4o-mini", &p);
    assert_price(&p, 0.2, 0.8, 0.05, -1, "config");
    llm_config_price(cfg, "openai", "gpt-4.1", &p); /* the provider's price covers it */
    assert_price(&p, 1, 2, -1, -1, "config");
    llm_config_price(cfg, "openai", "anything-else", &p);
    assert_price(&p, 1, 2, -1, -1, "config");
    llm_config_price(cfg, "anthropic", "claude_3_5_haiku", &p); /* Kiln id, config by its id */
    assert_price(&p, 1, 5, 0.1, 1.25, "config");
    /* a cache price alone is no price: the table's stays */
    llm_config_price(cfg, "anthropic", "claude-opus-4-1", &p);
    assert_price(&p, 15, 75, 1.5, 18.75, "builtin");
    llm_config_price(cfg, "openai_compatible", "proxy::m1", &p);
    assert_price(&p, 3, 4, -1, -1, "config");
    llm_config_free(cfg);
}

static void cache_price_keys_are_checked(void **state)
{
    static const char *const bad[] = {
        "{\"openai\": {\"price_cached_input_per_mtok\": -0.5}}",
        "{\"openai\": {\"models\": {\"m\": {\"price_cache_write_per_mtok\": \"cheap\"}}}}",
    };
    static const char *const field[] = {
        "providers.openai.price_cached_input_per_mtok",
        "providers.openai.models.m.price_cache_write_per_mtok",
    };
    (void)state;
    for (size_t i = 0; i < 2; i++) {
        struct llm_config *cfg = NULL;
        struct json_object *o = NULL;
        struct err e = {0};
        assert_int_equal(json_parse(bad[i], strlen(bad[i]), &o, &e), 0);
        assert_int_equal(llm_config_load(o, &cfg, &e), HE_BAD_REQUEST);
        assert_null(cfg);
        assert_string_equal(e.field, field[i]);
        json_object_put(o);
    }
}

static void cost_prices_each_part(void **state)
{
    struct llm_price anthropic = {3.00, 15.00, 0.30, 3.75, "builtin"};
    struct llm_price openai = {0.15, 0.60, 0.075, -1, "builtin"};
    struct llm_price unknown = {-1, -1, -1, -1, NULL};
    /* 2000 input: 1200 read from the cache, 500 written to it, 300 plain */
    struct llm_usage u = {.input_tokens = 2000,
                          .output_tokens = 400,
                          .total_tokens = 2400,
                          .cached_tokens = 1200,
                          .cache_write_tokens = 500};
    struct llm_usage none = {.input_tokens = 2000, .output_tokens = 400, .total_tokens = 2400};
    (void)state;

    assert_true(llm_price_cost(&anthropic, &u) ==
                (300 * 3.00 + 1200 * 0.30 + 500 * 3.75 + 400 * 15.00) / 1e6);
    /* a cache price not set apart is the input price */
    assert_true(llm_price_cost(&openai, &u) ==
                (300 * 0.15 + 1200 * 0.075 + 500 * 0.15 + 400 * 0.60) / 1e6);
    assert_true(llm_price_cost(&anthropic, &none) == (2000 * 3.00 + 400 * 15.00) / 1e6);
    assert_true(llm_price_cost(&unknown, &u) < 0);
    none.output_tokens = -1;
    assert_true(llm_price_cost(&anthropic, &none) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(builtin_table, no_keys),
        cmocka_unit_test_setup(unknown_stays_unknown, no_keys),
        cmocka_unit_test_setup(config_wins, no_keys),
        cmocka_unit_test(cache_price_keys_are_checked),
        cmocka_unit_test(cost_prices_each_part),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
