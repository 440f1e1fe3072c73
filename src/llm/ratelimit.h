/* SPDX-License-Identifier: MIT */
/*
 * Rate-limit arithmetic for one (provider, model): token buckets for requests and tokens per
 * minute, the adaptive concurrency window (AIMD), and retry backoff. Pure state and math with
 * the time passed in, so tests drive it with a fake clock. Used by the engine thread only.
 */
#ifndef HETU_LLM_RATELIMIT_H
#define HETU_LLM_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * A token bucket refilled continuously at per_minute/60 per second, holding at most one second
 * of refill (at least one unit), so starts are smoothed: in any interval of t seconds at most
 * cap + t * per_minute / 60 units are taken. per_minute == 0 disables it.
 */
struct llm_bucket {
    double level, cap, rate_per_us;
    int64_t last_us;
    bool enabled;
};

void llm_bucket_init(struct llm_bucket *b, double per_minute, int64_t now_us);
/* Refills up to now. */
void llm_bucket_refill(struct llm_bucket *b, int64_t now_us);
/* True when a start needing `need` units may go now (tokens: need > 0 lets the level go below 0).
 */
bool llm_bucket_ready(struct llm_bucket *b, double need, int64_t now_us);
/* Takes n units (negative: gives back, up to the cap). */
void llm_bucket_take(struct llm_bucket *b, double n);
/* Microseconds until the level reaches `need` (0 when it has). */
int64_t llm_bucket_wait(const struct llm_bucket *b, double need, int64_t now_us);

/*
 * The concurrency window: at most floor(size) calls in flight, size in [1, ceiling]. A 429
 * shrinks it by a quarter once per burst: each call remembers the epoch it started in, and only
 * a 429 of a call started in the current epoch shrinks (and starts a new epoch), so the many
 * 429s of calls that were already in flight when the first one came back count once. Every
 * success grows it by one, up to the ceiling.
 */
struct llm_window {
    double size;
    int ceiling;
    int in_flight;
    uint64_t epoch;
    uint64_t shrinks; /* how many times it shrank, for stats and tests */
};

void llm_window_init(struct llm_window *w, int ceiling);
bool llm_window_open(const struct llm_window *w);
/* Returns true when this 429 shrank the window. */
bool llm_window_on_429(struct llm_window *w, uint64_t call_epoch);
void llm_window_on_success(struct llm_window *w);

/*
 * Delay before attempt number `attempt` + 1 after `attempt` failed ones (attempt >= 1):
 * d = min(max_ms, base_ms * 2^(attempt-1)), then "equal jitter": d/2 + u * d/2 with u in [0, 1).
 */
int64_t llm_backoff_us(int attempt, int base_ms, int max_ms, double u);

#endif
