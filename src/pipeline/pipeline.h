/* SPDX-License-Identifier: MIT */
/*
 * The pipeline job: from a task to a finished dataset in one durable job. Stages, each a kind
 * of job item (store.h: job_step), overlapping where their inputs allow:
 *
 *   topics   a node of the tree: its children up to the level's breadth (existing children
 *            count), then an item per child; a node at the last level is a leaf
 *   inputs   a leaf's inputs, per_leaf minus the samples already there
 *   dedup    a batch of new inputs checked against the task's samples and each other
 *            (exact; near with a threshold), before outputs are paid for
 *   outputs  one input's output with the chosen model and prompt method: one sample
 *   judge    one sample rated by the LLM judge (judge/judge.h); below `keep`: tagged rejected
 *
 * Judge jobs (judge/judge.h, kind "judge") are jobs of judge items alone, run by the same
 * driver. Both kinds take a budget (max cost, calls, tokens): before a call would pass it the
 * job pauses, and a resume with a higher budget goes on.
 *
 * This header: the request (spec) as parsed and stored, the job's params, the item payloads
 * every module agrees on, the estimate, and the driver's lifecycle.
 */
#ifndef HETU_PIPELINE_PIPELINE_H
#define HETU_PIPELINE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "gen/gen.h"
#include "judge/judge.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/err.h"

#define PIPELINE_JOB_KIND  "pipeline"
#define PIPELINE_MAX_DEPTH 8
#define PIPELINE_MAX_LEAF  10000    /* inputs per leaf */
#define PIPELINE_MAX_ITEMS 10000000 /* samples one pipeline may ask for (leaves x per_leaf) */

enum pipeline_stage { PS_TOPICS, PS_INPUTS, PS_DEDUP, PS_OUTPUTS, PS_JUDGE, PS_COUNT };

/* "topics", "inputs", "dedup", "outputs", "judge"; the stage a name is, or -1. */
const char *pipeline_stage_name(enum pipeline_stage s);
int pipeline_stage_parse(const char *name);

/* A model as every request names one. */
struct pipeline_model {
    const char *provider, *model_name;
    const char *human_guidance; /* or NULL */
    bool drop_unsupported;      /* drop_unsupported_params */
};

/* Hard caps; negative: none. */
struct pipeline_budget {
    double max_cost_usd;
    int64_t max_calls, max_tokens;
};

/*
 * The request, checked. Strings live in the arena given to pipeline_spec_parse/decode.
 *
 * Request body of POST .../pipelines (every stage object but "outputs" optional; "topics"
 * absent means the start node is the only leaf):
 *   {"topics": {"node_path": [..] | "a>>>>>b", "depth": 2, "breadth": 5 | [5, 3],
 *               "human_guidance": "..." | ["level 1", "level 2"], "provider", "model_name"},
 *    "inputs": {"per_leaf": 4, "provider", "model_name", "human_guidance"},
 *    "outputs": {"provider", "model_name", "prompt_method", "human_guidance"},
 *    "dedup": {"exact": true, "near": false, "threshold": 0.8},
 *    "judge": {"provider", "model_name", "human_guidance", "keep": 3},
 *    "budget": {"max_cost_usd", "max_calls", "max_tokens"},
 *    "session_id": "...", "drop_unsupported_params": false, "dry_run": false}
 * topics' and inputs' provider/model_name default to the outputs' ones.
 */
struct pipeline_spec {
    const char *const *start_path; /* names, outermost first; n_start 0: the root */
    size_t n_start;
    int depth;                                /* levels below the start node (0: it is the leaf) */
    int breadth[PIPELINE_MAX_DEPTH];          /* children per node at each level */
    const char *guidance[PIPELINE_MAX_DEPTH]; /* per level, or NULL */
    struct pipeline_model topics, inputs, outputs;
    int per_leaf;
    int prompt_method; /* enum prompt_method */
    bool dedup_exact, dedup_near;
    double near_threshold;
    bool judge;
    struct judge_model judge_model;
    double keep; /* minimum overall judge rating (1..5) to stay untagged; NaN: none */
    struct pipeline_budget budget;
    const char *session_id; /* or NULL */
    bool dry_run;
};

/* Parses and checks a request body (every message names its field, e.g. "topics.breadth[1]");
 * checks providers and models too. Every string is copied into mem. */
int pipeline_spec_parse(const struct gen_env *env, const struct task *t, struct json_object *body,
                        struct arena *mem, struct pipeline_spec *ret, struct err *e);
/* The spec as the job keeps it (a JSON object, the request's shape; dry_run left out). */
struct json_object *pipeline_spec_json(const struct pipeline_spec *s);
/* Reads a budget object ({"max_cost_usd", "max_calls", "max_tokens"}, where names the field);
 * absent members are none. */
int pipeline_budget_parse(struct json_object *o, const char *where, struct pipeline_budget *ret,
                          struct err *e);
struct json_object *pipeline_budget_json(const struct pipeline_budget *b);

/*
 * A pipeline or judge job's params (store: jobs.params), a JSON object:
 *   {"project_id", "request_id", "spec": {..pipeline_spec_json..} (pipeline),
 *    "judge": {"provider", "model_name", "human_guidance", "keep", "drop_unsupported_params"}
 *    (judge jobs), "budget": {..}, "estimate": {..pipeline_estimate_json..} (pipeline)}
 * A resume with a new budget replaces "budget" alone (store_job_set_params).
 */
int pipeline_spec_decode(struct json_object *spec_json, struct arena *mem,
                         struct pipeline_spec *ret, struct err *e);

/*
 * Item payloads (JSON objects; the item's stage is also its store column):
 *   topics   {"path": [names], "level": L}           L levels below the start node
 *   inputs   {"path": [names], "count": N}
 *   dedup    {"path": [names], "inputs": [texts]}     texts: strings, or compact JSON text
 *   outputs  {"path": [names], "input": text}
 *   judge    {"run_id": "123456789012"}
 * A pipeline starts with one topics item for its start node at level 0.
 */

/* ---- the estimate ---- */

struct pipeline_stage_estimate {
    int64_t calls, input_tokens, output_tokens;
    double cost_usd; /* NaN: some call's price is unknown */
    bool priced;
};

struct pipeline_estimate {
    struct pipeline_stage_estimate stage[PS_COUNT];
    struct pipeline_stage_estimate total;
    int64_t leaves, samples; /* expected new leaves and samples */
    const char *unpriced[4]; /* "provider/model" whose price is unknown, for the message */
    size_t n_unpriced;
    struct arena mem;
};

/*
 * Calls and tokens per stage from the prompts the job will send (the task, the guidance, the
 * few-shot examples) and expected output lengths (from the task's stored samples when there
 * are some, else the documented defaults), priced from the providers' prices.
 */
int pipeline_estimate(const struct gen_env *env, const struct task *t,
                      const struct pipeline_spec *s, struct pipeline_estimate *ret, struct err *e);
void pipeline_estimate_done(struct pipeline_estimate *est);
/*
 * {"stages": {"topics": {"calls", "input_tokens", "output_tokens", "cost_usd"}, ...},
 *  "total": {...}, "leaves", "samples", "priced": bool, "unpriced": ["provider/model"],
 *  "note": "..."}   cost_usd null where unpriced
 */
struct json_object *pipeline_estimate_json(const struct pipeline_estimate *est);

/* ---- the driver ---- */

struct pipeline_driver;

/* Starts the thread that runs pipeline and judge jobs (the job runner leaves them alone), with
 * at most `window` items of a job in flight (0: JOBS_DEFAULT_WINDOW). */
int pipeline_driver_start(const struct gen_env *env, size_t window, struct pipeline_driver **ret,
                          struct err *e);
/* Wakes it: a job was created, resumed or asked to cancel. Any thread; NULL is a no-op. */
void pipeline_driver_notify(struct pipeline_driver *d);
/* Stops it; calls in flight are cancelled and their items stay pending for the next start. */
void pipeline_driver_stop(struct pipeline_driver *d);

/* Creates a pipeline job (queued) and its first item in one write; params as above. */
int pipeline_job_create(struct store *store, const struct task *t, const struct pipeline_spec *s,
                        const struct pipeline_estimate *est, char job_id[ID_LEN], struct err *e);

/* Adds to a pipeline or judge job's JSON: "stages" (per stage: items total, pending, done,
 * failed, produced, calls, tokens, cost; and the estimate beside), "budget", "spent", and why it
 * paused. Other kinds: nothing. */
int pipeline_job_render(struct store *store, const struct job *j, struct json_object *o,
                        struct err *e);

#endif
