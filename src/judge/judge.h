/* SPDX-License-Identifier: MIT */
/*
 * The LLM judge: a model rates a sample against its task's requirements, with Kiln's rating
 * types (five_star, pass_fail, pass_fail_critical) per requirement and a five-star overall
 * rating, and says why. Its ratings are kept apart from people's (store: judge_rating,
 * judge_score); agreement.h measures how far they agree.
 *
 * Judge jobs (kind JUDGE_JOB_KIND) rate existing samples; the pipeline's judge stage rates new
 * ones. Both are run by pipeline/driver.c, one item per sample (payload: pipeline.h).
 */
#ifndef HETU_JUDGE_JUDGE_H
#define HETU_JUDGE_JUDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "gen/gen.h"
#include "llm/engine.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define JUDGE_JOB_KIND "judge"

/* The model that judges, as a request names it. */
struct judge_model {
    const char *provider, *model_name;
    const char *guidance;  /* human_guidance added to the judge's instructions, or NULL */
    bool drop_unsupported; /* drop_unsupported_params */
};

/* What the judge said about one sample. */
struct judge_verdict {
    const char *rating;    /* Kiln's TaskOutputRating as JSON text: {"type": "five_star",
                              "value": 1..5, "requirement_ratings": {id: {"value", "type"}}} */
    double score;          /* the overall value, 1..5 */
    const char *reasoning; /* the judge's reasons */
    struct llm_usage usage;
    int calls;
};

/* Called once per judge_run, on the engine's thread: v (valid during the call) or e. */
typedef void (*judge_cb)(void *ud, const struct judge_verdict *v, const struct err *e);

/* The messages the judge sends about (input, output): what judge_run sends and what an
 * estimate counts. HE_TOO_LARGE / HE_NOMEM. */
int judge_prompt(const struct task *t, const struct judge_model *m, const char *input,
                 const char *output, struct buf *system, struct buf *user);

/* Checks the judge's provider and model before anything runs (field names under `where`). */
int judge_model_check(const struct gen_env *env, const struct judge_model *m, const char *where,
                      struct err *e);

/* Rates one sample (its input and output text, as stored). cache_prefix asks the provider to
 * cache the system turn, which every sample of a task shares. */
int judge_run(const struct gen_env *env, const struct task *t, const struct judge_model *m,
              const char *input, const char *output, uint64_t group, bool cache_prefix, judge_cb cb,
              void *ud, struct err *e);

#endif
