/* SPDX-License-Identifier: MIT */
/*
 * Token buckets, the AIMD concurrency window and backoff. Owned by the engine thread (one set
 * per lane); no locking. Times are monotonic microseconds.
 */
#include "llm/ratelimit.h"

#include <math.h>

#include "util/banned.h"

void llm_bucket_init(struct llm_bucket *b, double per_minute, int64_t now_us)
{
    b->enabled = per_minute > 0;
    b->rate_per_us = per_minute / 60e6;
    b->cap = per_minute / 60 > 1 ? per_minute / 60 : 1;
    b->level = b->cap;
    b->last_us = now_us;
}

void llm_bucket_refill(struct llm_bucket *b, int64_t now_us)
{
    if (!b->enabled || now_us <= b->last_us)
        return;
    b->level += (double)(now_us - b->last_us) * b->rate_per_us;
    if (b->level > b->cap)
        b->level = b->cap;
    b->last_us = now_us;
}

bool llm_bucket_ready(struct llm_bucket *b, double need, int64_t now_us)
{
    if (!b->enabled)
        return true;
    llm_bucket_refill(b, now_us);
    /* a tokens bucket lets one call through on any positive level, or a call larger than the
     * bucket could never start */
    return need <= 1 ? b->level >= need - 1e-9 : b->level > 0;
}

void llm_bucket_take(struct llm_bucket *b, double n)
{
    if (!b->enabled)
        return;
    b->level -= n;
    if (b->level > b->cap)
        b->level = b->cap;
}

int64_t llm_bucket_wait(const struct llm_bucket *b, double need, int64_t now_us)
{
    double target, level;
    if (!b->enabled)
        return 0;
    level = b->level + (double)(now_us - b->last_us) * b->rate_per_us;
    target = need <= 1 ? need : 1e-6;
    if (level >= target - 1e-9)
        return 0;
    return (int64_t)ceil((target - level) / b->rate_per_us);
}

void llm_window_init(struct llm_window *w, int ceiling)
{
    w->ceiling = ceiling > 0 ? ceiling : 1;
    w->size = w->ceiling;
    w->in_flight = 0;
    w->epoch = 0;
    w->shrinks = 0;
}

bool llm_window_open(const struct llm_window *w)
{
    return w->in_flight < (int)w->size;
}

bool llm_window_on_429(struct llm_window *w, uint64_t call_epoch)
{
    if (call_epoch != w->epoch)
        return false;
    w->size *= 0.75;
    if (w->size < 1)
        w->size = 1;
    w->epoch++;
    w->shrinks++;
    return true;
}

void llm_window_on_success(struct llm_window *w)
{
    w->size += 1;
    if (w->size > w->ceiling)
        w->size = w->ceiling;
}

int64_t llm_backoff_us(int attempt, int base_ms, int max_ms, double u)
{
    double d = base_ms;
    if (attempt < 1)
        attempt = 1;
    for (int i = 1; i < attempt && d < max_ms; i++)
        d *= 2;
    if (d > max_ms)
        d = max_ms;
    if (u < 0)
        u = 0;
    if (u >= 1)
        u = 0.999999;
    return (int64_t)((d / 2 + u * d / 2) * 1000);
}
