/* SPDX-License-Identifier: MIT */
/*
 * What a call costs: the price of a (provider, model) and the cost of a call's usage.
 *
 * A price comes from the config file (the model's entry, else the provider's) when it sets the
 * input and output prices, else from the table below of prices the providers publish, looked up
 * by the provider entry's own name and the exact model id sent. A model in neither has no price:
 * nothing is inferred from a similar name, since one family's snapshots are priced differently
 * (gpt-4o-2024-05-13 costs twice gpt-4o). Read-only data, any thread.
 */
#include <string.h>

#include "llm/config.h"
#include "llm/engine.h"
#include "util/banned.h"

struct builtin_price {
    const char *provider, *model;
    double in, out, cached_in, cache_write; /* USD per million tokens; negative: not charged
                                               apart (priced as input) */
};

/*
 * Published prices, USD per million tokens, read on 2026-12-07 from OpenAI's pricing page
 * (platform.openai.com/docs/pricing: input, cached input, output; OpenAI does not charge for
 * writing its cache) and Anthropic's (docs.anthropic.com/en/docs/about-claude/pricing: base
 * input, output, cache hits, 5-minute cache writes, the lifetime Hetu asks for). A dated id and
 * its alias are the same model at the same price. Together AI, Fireworks, DeepSeek and Groq are
 * left out: their prices could not be confirmed from their own pages; configure them.
 */
static const struct builtin_price builtin[] = {
    /* provider, model id, input, output, cached input, cache write */
    {"openai", "gpt-4o", 2.50, 10.00, 1.25, -1},
    {"openai", "gpt-4o-2024-08-06", 2.50, 10.00, 1.25, -1},
    {"openai", "gpt-4o-2024-11-20", 2.50, 10.00, 1.25, -1},
    {"openai", "gpt-4o-mini", 0.15, 0.60, 0.075, -1},
    {"openai", "gpt-4o-mini-2024-07-18", 0.15, 0.60, 0.075, -1},
    {"openai", "gpt-4.1", 2.00, 8.00, 0.50, -1},
    {"openai", "gpt-4.1-2025-04-14", 2.00, 8.00, 0.50, -1},
    {"openai", "gpt-4.1-mini", 0.40, 1.60, 0.10, -1},
    {"openai", "gpt-4.1-mini-2025-04-14", 0.40, 1.60, 0.10, -1},
    {"openai", "gpt-4.1-nano", 0.10, 0.40, 0.025, -1},
    {"openai", "gpt-4.1-nano-2025-04-14", 0.10, 0.40, 0.025, -1},
    {"openai", "o1", 15.00, 60.00, 7.50, -1},
    {"openai", "o1-2024-12-17", 15.00, 60.00, 7.50, -1},
    {"openai", "o3", 2.00, 8.00, 0.50, -1},
    {"openai", "o3-2025-04-16", 2.00, 8.00, 0.50, -1},
    {"openai", "o3-mini", 1.10, 4.40, 0.55, -1},
    {"openai", "o3-mini-2025-01-31", 1.10, 4.40, 0.55, -1},
    {"openai", "o4-mini", 1.10, 4.40, 0.275, -1},
    {"openai", "o4-mini-2025-04-16", 1.10, 4.40, 0.275, -1},
    {"anthropic", "claude-3-haiku-20240307", 0.25, 1.25, 0.03, 0.30},
    {"anthropic", "claude-3-5-haiku-20241022", 0.80, 4.00, 0.08, 1.00},
    {"anthropic", "claude-3-5-haiku-latest", 0.80, 4.00, 0.08, 1.00},
    {"anthropic", "claude-3-5-sonnet-20240620", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-3-5-sonnet-20241022", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-3-7-sonnet-20250219", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-3-7-sonnet-latest", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-sonnet-4-20250514", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-sonnet-4-0", 3.00, 15.00, 0.30, 3.75},
    {"anthropic", "claude-opus-4-20250514", 15.00, 75.00, 1.50, 18.75},
    {"anthropic", "claude-opus-4-0", 15.00, 75.00, 1.50, 18.75},
    {"anthropic", "claude-opus-4-1-20250805", 15.00, 75.00, 1.50, 18.75},
    {"anthropic", "claude-opus-4-1", 15.00, 75.00, 1.50, 18.75},
};

static const struct builtin_price *builtin_find(const char *provider, const char *model)
{
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (strcmp(builtin[i].provider, provider) == 0 && strcmp(builtin[i].model, model) == 0)
            return &builtin[i];
    return NULL;
}

void llm_price_of(const struct llm_provider_cfg *p, const char *model, struct llm_price *ret)
{
    struct llm_limits lim;
    const struct builtin_price *b;

    *ret = (struct llm_price){-1, -1, -1, -1, NULL};
    if (!p || !model)
        return;
    llm_config_limits(p, model, &lim);
    if (lim.price_in >= 0 && lim.price_out >= 0) {
        *ret = (struct llm_price){lim.price_in, lim.price_out, lim.price_cached_in,
                                  lim.price_cache_write, "config"};
        return;
    }
    /* a named entry (a proxy, a local server) is not the provider the table prices */
    if (p->info->named || !(b = builtin_find(p->name, model)))
        return;
    *ret = (struct llm_price){b->in, b->out, b->cached_in, b->cache_write, "builtin"};
}

void llm_config_price(const struct llm_config *cfg, const char *provider, const char *model,
                      struct llm_price *ret)
{
    struct llm_target t;
    struct err e = ERR_INIT;

    *ret = (struct llm_price){-1, -1, -1, -1, NULL};
    if (!cfg || !provider || !model || llm_config_resolve(cfg, provider, model, &t, &e) < 0)
        return;
    llm_price_of(t.prov, t.model, ret);
}

double llm_price_cost(const struct llm_price *p, const struct llm_usage *u)
{
    double cached_in, cache_write;
    int64_t plain;

    if (p->in < 0 || p->out < 0 || u->input_tokens < 0 || u->output_tokens < 0)
        return -1;
    cached_in = p->cached_in >= 0 ? p->cached_in : p->in;
    cache_write = p->cache_write >= 0 ? p->cache_write : p->in;
    plain = u->input_tokens - u->cached_tokens - u->cache_write_tokens;
    if (plain < 0)
        plain = 0;
    return ((double)plain * p->in + (double)u->cached_tokens * cached_in +
            (double)u->cache_write_tokens * cache_write + (double)u->output_tokens * p->out) /
           1e6;
}
