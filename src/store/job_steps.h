/* SPDX-License-Identifier: MIT */
/*
 * The records of jobs whose items come in stages, part of the storage interface (store.h
 * includes this header; nothing else should).
 */
#ifndef HETU_STORE_JOB_STEPS_H
#define HETU_STORE_JOB_STEPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

struct run;

/*
 * Jobs whose items come in stages (the pipeline, the judge: pipeline/, judge/). An item has a
 * stage and a payload (JSON text the job's kind reads), and settles once: its step records what
 * the item produced and what its model calls spent, in one write with its new state.
 */

/* What an item's model calls used, as providers reported it. */
struct job_spend {
    int64_t calls;                       /* model calls made (follow-ups included) */
    int64_t input_tokens, output_tokens; /* 0 when unknown */
    int64_t cached_tokens;               /* input tokens read from a prompt cache */
    double cost;                         /* USD; NaN: a price is unknown */
};

/* A new item: its stage ("topics", "inputs", "dedup", "outputs", "judge") and payload. */
struct job_new_item {
    const char *stage;
    const char *payload;
};

/* Subtopics an item adds under parent_key (names there already are skipped, as topic_add). */
struct job_topics {
    const char *parent_key;
    const char *const *names;
    size_t n;
};

/* A judge's rating of one sample: stored in judge_rating / judge_score, the reasoning put in
 * the sample's intermediate_outputs under "judge_reasoning", and with reject the tag
 * "rejected" added (never a person's rating changed, never a sample deleted). */
struct job_judged {
    const char *run_id;
    const char *rating; /* JSON object: Kiln's TaskOutputRating shape */
    double score;       /* 1..5 as rating_score */
    const char *reasoning;
    bool reject;
};

/*
 * One item settled. Applied only when the item is still pending: a step for an item already
 * done or failed changes nothing (returns 0), so a late or repeated result cannot store twice.
 * New items take the job's next indexes (after every item it has) and add to its total.
 * `produced` is what the item yielded, counted per stage (subtopics, inputs generated, inputs
 * kept by deduplication, samples, samples rated).
 */
struct job_step {
    const char *job_id;
    int64_t idx;
    bool failed; /* the item failed with error (its spend still counts) */
    const char *error;
    struct job_spend spend;
    int64_t produced;
    const struct job_topics *topics; /* or NULL */
    size_t n_topics;
    const char *task_id;     /* the task topics and runs belong to */
    struct run *const *runs; /* samples to insert (with job_id and job_item set) */
    size_t n_runs;
    const struct job_new_item *items;
    size_t n_items;
    const struct job_judged *judged;
    size_t n_judged;
};

/* A job's items of one stage, summed (store_job_stages). */
struct job_stage_totals {
    const char *stage;                    /* valid during the callback */
    int64_t total, pending, done, failed; /* items */
    int64_t produced;
    struct job_spend spend; /* cost NaN when some item's cost is unknown */
    int64_t unpriced_calls; /* calls of items whose cost is unknown */
};

/* An item as scanned: its index, state (0 pending, 1 done, 2 failed), stage and payload. */
struct job_item_row {
    int64_t idx;
    int state;
    const char *stage;
    const char *payload;
    size_t len;
};

typedef int (*store_job_item_cb)(void *ud, const struct job_item_row *it, struct err *e);
typedef int (*store_job_stage_cb)(void *ud, const struct job_stage_totals *t, struct err *e);

/* Which items store_job_items_scan reads: a stage (NULL: all) and states (bit 1 << state). */
struct job_item_query {
    const char *job_id;
    const char *stage;
    unsigned states;
    int64_t after; /* idx > after, in idx order */
    size_t limit;  /* 0: all */
};

#define JOB_ITEM_PENDING (1u << 0)
#define JOB_ITEM_DONE    (1u << 1)
#define JOB_ITEM_FAILED  (1u << 2)

#endif
