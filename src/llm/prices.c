/* SPDX-License-Identifier: MIT */
/*
 * What a call costs: the price of a (provider, model) and the cost of a call's usage.
 */
#include <string.h>

#include "llm/config.h"
#include "llm/engine.h"
#include "util/banned.h"

void llm_config_price(const struct llm_config *cfg, const char *provider, const char *model,
                      struct llm_price *ret)
{
    struct llm_target t;
    struct err e = ERR_INIT;

    *ret = (struct llm_price){-1, -1, -1, -1, NULL};
    if (!cfg || !provider || !model || llm_config_check(cfg, provider, model, &t, &e) < 0)
        return;
    if (t.lim.price_in >= 0 && t.lim.price_out >= 0) {
        ret->in = t.lim.price_in;
        ret->out = t.lim.price_out;
        ret->source = "config";
    }
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
