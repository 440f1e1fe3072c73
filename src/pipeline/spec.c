/* SPDX-License-Identifier: MIT */
/*
 * The pipeline request (pipeline.h: struct pipeline_spec): parsed and checked from a request
 * body, written into the job's params, and read back from them by the driver. The stored form
 * is the request's own shape, so what a job shows is what was asked for.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gen/limits.h"
#include "llm/engine.h"
#include "pipeline/pipeline.h"
#include "util/json.h"
#include "util/banned.h"

static const char *const stage_names[PS_COUNT] = {"topics", "inputs", "dedup", "outputs", "judge"};

const char *pipeline_stage_name(enum pipeline_stage s)
{
    return (unsigned)s < PS_COUNT ? stage_names[s] : "unknown";
}

int pipeline_stage_parse(const char *name)
{
    for (int i = 0; name && i < PS_COUNT; i++)
        if (strcmp(name, stage_names[i]) == 0)
            return i;
    return -1;
}

static const char *const body_keys[] = {
    "topics",  "inputs", "outputs",    "dedup",
    "judge",   "budget", "session_id", "drop_unsupported_params",
    "dry_run", NULL};
static const char *const topics_keys[] = {"node_path", "depth",      "breadth", "human_guidance",
                                          "provider",  "model_name", NULL};
static const char *const inputs_keys[] = {"per_leaf", "provider", "model_name", "human_guidance",
                                          NULL};
static const char *const outputs_keys[] = {"provider", "model_name", "prompt_method",
                                           "human_guidance", NULL};
static const char *const dedup_keys[] = {"exact", "near", "threshold", NULL};
static const char *const judge_keys[] = {"provider", "model_name", "human_guidance", "keep", NULL};
static const char *const budget_keys[] = {"max_cost_usd", "max_calls", "max_tokens", NULL};

/* A number at o[key] within [min, max]; absent or null leaves *ret. */
static int get_number(struct json_object *o, const char *where, const char *key, double min,
                      double max, double *ret, struct err *e)
{
    struct json_object *v;
    char field[ERR_FIELD_MAX];
    double d;

    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    json_field_name(field, sizeof(field), where, key);
    if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
        return err_set(e, HE_INVALID, field, "%s must be a number, not %s", field,
                       json_type_label(v));
    d = json_object_get_double(v);
    if (!isfinite(d) || d < min || d > max)
        return err_set(e, HE_INVALID, field, "%s must be between %g and %g", field, min, max);
    *ret = d;
    return 0;
}

int pipeline_budget_parse(struct json_object *o, const char *where, struct pipeline_budget *ret,
                          struct err *e)
{
    int r;

    *ret = (struct pipeline_budget){-1, -1, -1};
    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, HE_INVALID, where, "%s must be an object, not %s", where,
                       json_type_label(o));
    if ((r = json_check_keys(o, where, budget_keys, e)) < 0 ||
        (r = get_number(o, where, "max_cost_usd", 0, 1e9, &ret->max_cost_usd, e)) < 0 ||
        (r = json_get_int(o, where, "max_calls", JF_NULLABLE, 0, INT64_C(1) << 50, &ret->max_calls,
                          e)) < 0 ||
        (r = json_get_int(o, where, "max_tokens", JF_NULLABLE, 0, INT64_C(1) << 60,
                          &ret->max_tokens, e)) < 0)
        return r;
    return 0;
}

struct json_object *pipeline_budget_json(const struct pipeline_budget *b)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "max_cost_usd",
                           b->max_cost_usd >= 0 ? json_object_new_double(b->max_cost_usd) : NULL);
    json_object_object_add(o, "max_calls",
                           b->max_calls >= 0 ? json_object_new_int64(b->max_calls) : NULL);
    json_object_object_add(o, "max_tokens",
                           b->max_tokens >= 0 ? json_object_new_int64(b->max_tokens) : NULL);
    return o;
}

/* provider, model_name and human_guidance of a stage object; fallback fills what is absent.
 * The topics' human_guidance is per level (get_level_guidance), not the model's. */
static int get_model(const struct gen_env *env, struct json_object *o, const char *where,
                     const struct pipeline_model *fallback, bool drop, bool check,
                     struct pipeline_model *ret, struct err *e)
{
    bool guidance = strcmp(where, "topics") != 0;
    char field[ERR_FIELD_MAX];
    int r;

    if (fallback)
        *ret = (struct pipeline_model){fallback->provider, fallback->model_name, NULL, drop};
    else
        *ret = (struct pipeline_model){NULL, NULL, NULL, drop};
    if (o && ((r = gen_get_model_name(o, where, "provider", fallback ? JF_NULLABLE : JF_REQUIRED,
                                      &ret->provider, e)) < 0 ||
              (r = gen_get_model_name(o, where, "model_name", fallback ? JF_NULLABLE : JF_REQUIRED,
                                      &ret->model_name, e)) < 0 ||
              (guidance && (r = json_get_str(o, where, "human_guidance", JF_NULLABLE, 0,
                                             GUIDANCE_MAX_CHARS, &ret->human_guidance, e)) < 0)))
        return r;
    if (ret->human_guidance && !*ret->human_guidance)
        ret->human_guidance = NULL;
    if (!check || !env || !env->engine)
        return 0;
    if ((r = llm_check(env->engine, ret->provider, ret->model_name, e)) < 0) {
        /* name the stage's field */
        json_field_name(field, sizeof(field), where, e->field[0] ? e->field : "provider");
        snprintf(e->field, sizeof(e->field), "%s", field);
        return r;
    }
    return 0;
}

/* breadth: a number for every level, or a list with one per level. */
static int get_breadth(struct json_object *o, struct pipeline_spec *s, struct err *e)
{
    struct json_object *v;
    char field[ERR_FIELD_MAX];

    if (!json_object_object_get_ex(o, "breadth", &v) || !v) {
        if (s->depth > 0)
            return err_set(e, HE_INVALID, "topics.breadth",
                           "topics.breadth is required when topics.depth is above 0");
        return 0;
    }
    if (json_object_is_type(v, json_type_int)) {
        int64_t b = json_object_get_int64(v);
        if (b < 1 || b > GEN_MAX_COUNT)
            return err_set(e, HE_INVALID, "topics.breadth",
                           "topics.breadth must be between 1 and %d", GEN_MAX_COUNT);
        for (int i = 0; i < s->depth; i++)
            s->breadth[i] = (int)b;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return err_set(e, HE_INVALID, "topics.breadth",
                       "topics.breadth must be a number or a list of numbers, one per level");
    if ((int)json_object_array_length(v) != s->depth)
        return err_set(e, HE_INVALID, "topics.breadth",
                       "topics.breadth has %zu numbers for %d levels (topics.depth)",
                       json_object_array_length(v), s->depth);
    for (int i = 0; i < s->depth; i++) {
        struct json_object *b = json_object_array_get_idx(v, (size_t)i);
        snprintf(field, sizeof(field), "topics.breadth[%d]", i);
        if (!json_object_is_type(b, json_type_int) || json_object_get_int64(b) < 1 ||
            json_object_get_int64(b) > GEN_MAX_COUNT)
            return err_set(e, HE_INVALID, field, "%s must be a number between 1 and %d", field,
                           GEN_MAX_COUNT);
        s->breadth[i] = (int)json_object_get_int64(b);
    }
    return 0;
}

/* human_guidance of topics: one text for every level, or a list with one per level (null or
 * "" for none). */
static int get_level_guidance(struct json_object *o, struct arena *mem, struct pipeline_spec *s,
                              struct err *e)
{
    struct json_object *v;
    char field[ERR_FIELD_MAX];

    if (!json_object_object_get_ex(o, "human_guidance", &v) || !v)
        return 0;
    if (json_object_is_type(v, json_type_string)) {
        const char *g = NULL;
        int r = json_get_str(o, "topics", "human_guidance", 0, 0, GUIDANCE_MAX_CHARS, &g, e);
        if (r < 0)
            return r;
        for (int i = 0; i < s->depth; i++)
            s->guidance[i] = *g ? arena_strdup(mem, g) : NULL;
        return 0;
    }
    if (!json_object_is_type(v, json_type_array) || (int)json_object_array_length(v) != s->depth)
        return err_set(e, HE_INVALID, "topics.human_guidance",
                       "topics.human_guidance must be a text or a list with one per level (%d)",
                       s->depth);
    for (int i = 0; i < s->depth; i++) {
        struct json_object *g = json_object_array_get_idx(v, (size_t)i);
        snprintf(field, sizeof(field), "topics.human_guidance[%d]", i);
        if (!g)
            continue;
        if (!json_object_is_type(g, json_type_string) ||
            utf8_length(json_object_get_string(g), (size_t)json_object_get_string_len(g)) >
                GUIDANCE_MAX_CHARS)
            return err_set(e, HE_INVALID, field, "%s must be a text of at most %d characters",
                           field, GUIDANCE_MAX_CHARS);
        if (json_object_get_string_len(g) > 0)
            s->guidance[i] = arena_strdup(mem, json_object_get_string(g));
    }
    return 0;
}

static int parse_topics(struct json_object *o, struct arena *mem, struct pipeline_spec *s,
                        struct err *e)
{
    struct json_object *path = NULL;
    int64_t depth = 0;
    int r;

    if ((r = json_check_keys(o, "topics", topics_keys, e)) < 0 ||
        (r = json_get_int(o, "topics", "depth", JF_REQUIRED, 0, PIPELINE_MAX_DEPTH, &depth, e)) < 0)
        return r;
    s->depth = (int)depth;
    if ((r = get_breadth(o, s, e)) < 0 || (r = get_level_guidance(o, mem, s, e)) < 0)
        return r;
    if ((r = gen_parse_topic_path(o, "topics", "node_path", true, &path, e)) < 0)
        return r;
    s->n_start = json_object_array_length(path);
    if (s->n_start) {
        const char **names = arena_alloc(mem, s->n_start * sizeof(*names));
        if (!names) {
            json_object_put(path);
            return err_set(e, HE_NOMEM, NULL, NULL);
        }
        for (size_t i = 0; i < s->n_start; i++)
            names[i] =
                arena_strdup(mem, json_object_get_string(json_object_array_get_idx(path, i)));
        s->start_path = names;
    }
    json_object_put(path);
    return 0;
}

static int parse_dedup(struct json_object *o, struct pipeline_spec *s, struct err *e)
{
    int r;

    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, HE_INVALID, "dedup", "dedup must be an object, not %s",
                       json_type_label(o));
    if ((r = json_check_keys(o, "dedup", dedup_keys, e)) < 0 ||
        (r = json_get_bool(o, "dedup", "exact", JF_NULLABLE, &s->dedup_exact, e)) < 0 ||
        (r = json_get_bool(o, "dedup", "near", JF_NULLABLE, &s->dedup_near, e)) < 0 ||
        (r = get_number(o, "dedup", "threshold", 0.1, 1.0, &s->near_threshold, e)) < 0)
        return r;
    return 0;
}

static int parse_judge(const struct gen_env *env, struct json_object *o, bool drop, bool check,
                       struct pipeline_spec *s, struct err *e)
{
    struct pipeline_model m;
    int r;

    if (!o)
        return 0;
    if (!json_object_is_type(o, json_type_object))
        return err_set(e, HE_INVALID, "judge", "judge must be an object, not %s",
                       json_type_label(o));
    if ((r = json_check_keys(o, "judge", judge_keys, e)) < 0 ||
        (r = get_model(env, o, "judge", NULL, drop, check, &m, e)) < 0 ||
        (r = get_number(o, "judge", "keep", 1, 5, &s->keep, e)) < 0)
        return r;
    s->judge = true;
    s->judge_model = (struct judge_model){m.provider, m.model_name, m.human_guidance, drop};
    return 0;
}

static const char *dup(struct arena *mem, const char *s)
{
    return s ? arena_strdup(mem, s) : NULL;
}

static void model_own(struct arena *mem, struct pipeline_model *m)
{
    m->provider = dup(mem, m->provider);
    m->model_name = dup(mem, m->model_name);
    m->human_guidance = dup(mem, m->human_guidance);
}

/* Every string copied into mem, so the spec outlives the JSON it was read from. */
static int spec_own(struct arena *mem, struct pipeline_spec *s, struct err *e)
{
    model_own(mem, &s->topics);
    model_own(mem, &s->inputs);
    model_own(mem, &s->outputs);
    s->judge_model.provider = dup(mem, s->judge_model.provider);
    s->judge_model.model_name = dup(mem, s->judge_model.model_name);
    s->judge_model.guidance = dup(mem, s->judge_model.guidance);
    s->session_id = dup(mem, s->session_id);
    if (!s->outputs.provider || !s->outputs.model_name || !s->inputs.provider ||
        !s->topics.provider)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

/* Both parse and decode: check says whether providers are checked against the engine. */
static int read_spec(const struct gen_env *env, struct json_object *body, struct arena *mem,
                     bool check, struct pipeline_spec *s, struct err *e)
{
    struct json_object *topics = NULL, *inputs = NULL, *outputs = NULL, *dedup = NULL,
                       *judge = NULL, *budget = NULL;
    const char *method = NULL;
    int64_t per_leaf = 1;
    bool drop = false;
    int r;

    memset(s, 0, sizeof(*s));
    s->dedup_exact = true;
    s->near_threshold = 0.8;
    s->keep = NAN;
    s->budget = (struct pipeline_budget){-1, -1, -1};
    if (!json_object_is_type(body, json_type_object))
        return err_set(e, HE_INVALID, NULL, "the body must be a JSON object");
    if ((r = json_check_keys(body, NULL, body_keys, e)) < 0 ||
        (r = json_get_bool(body, NULL, "drop_unsupported_params", JF_NULLABLE, &drop, e)) < 0 ||
        (r = json_get_bool(body, NULL, "dry_run", JF_NULLABLE, &s->dry_run, e)) < 0 ||
        (r = json_get_str(body, NULL, "session_id", JF_NULLABLE, 1, SESSION_MAX_CHARS,
                          &s->session_id, e)) < 0 ||
        (r = json_get_object(body, NULL, "outputs", JF_REQUIRED, &outputs, e)) < 0 ||
        (r = json_get_object(body, NULL, "topics", JF_NULLABLE, &topics, e)) < 0 ||
        (r = json_get_object(body, NULL, "inputs", JF_NULLABLE, &inputs, e)) < 0)
        return r;
    json_object_object_get_ex(body, "dedup", &dedup);
    json_object_object_get_ex(body, "judge", &judge);
    json_object_object_get_ex(body, "budget", &budget);
    if ((r = json_check_keys(outputs, "outputs", outputs_keys, e)) < 0 ||
        (r = get_model(env, outputs, "outputs", NULL, drop, check, &s->outputs, e)) < 0 ||
        (r = json_get_str(outputs, "outputs", "prompt_method", JF_NULLABLE, 1,
                          PROMPT_METHOD_MAX_CHARS, &method, e)) < 0)
        return r;
    s->prompt_method = method ? prompt_method_parse(method) : PM_SIMPLE;
    if (s->prompt_method < 0)
        return err_set(e, HE_BAD_REQUEST, "outputs.prompt_method",
                       "outputs.prompt_method %s is unknown; valid: %s", method,
                       prompt_method_list());
    if (inputs && ((r = json_check_keys(inputs, "inputs", inputs_keys, e)) < 0 ||
                   (r = json_get_int(inputs, "inputs", "per_leaf", JF_NULLABLE, 1,
                                     PIPELINE_MAX_LEAF, &per_leaf, e)) < 0))
        return r;
    s->per_leaf = (int)per_leaf;
    if ((r = get_model(env, inputs, "inputs", &s->outputs, drop, check, &s->inputs, e)) < 0)
        return r;
    if (topics && (r = parse_topics(topics, mem, s, e)) < 0)
        return r;
    if ((r = get_model(env, topics, "topics", &s->inputs, drop, check && s->depth > 0, &s->topics,
                       e)) < 0 ||
        (r = parse_dedup(dedup, s, e)) < 0 ||
        (r = parse_judge(env, judge, drop, check, s, e)) < 0 ||
        (r = pipeline_budget_parse(budget, "budget", &s->budget, e)) < 0)
        return r;
    {
        double leaves = 1, samples;
        for (int i = 0; i < s->depth; i++)
            leaves *= s->breadth[i];
        samples = leaves * s->per_leaf;
        if (samples > PIPELINE_MAX_ITEMS)
            return err_set(e, HE_INVALID, "inputs.per_leaf",
                           "the pipeline asks for %.0f samples (leaves x inputs.per_leaf); at most "
                           "%d may be asked for at once",
                           samples, PIPELINE_MAX_ITEMS);
    }
    return spec_own(mem, s, e);
}

int pipeline_spec_parse(const struct gen_env *env, const struct task *t, struct json_object *body,
                        struct arena *mem, struct pipeline_spec *ret, struct err *e)
{
    (void)t;
    return read_spec(env, body, mem, true, ret, e);
}

int pipeline_spec_decode(struct json_object *spec_json, struct arena *mem,
                         struct pipeline_spec *ret, struct err *e)
{
    return read_spec(NULL, spec_json, mem, false, ret, e);
}

static struct json_object *model_json(const struct pipeline_model *m)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "provider", json_object_new_string(m->provider));
    json_object_object_add(o, "model_name", json_object_new_string(m->model_name));
    if (m->human_guidance)
        json_object_object_add(o, "human_guidance", json_object_new_string(m->human_guidance));
    return o;
}

struct json_object *pipeline_spec_json(const struct pipeline_spec *s)
{
    /* the budget is kept beside the spec in the params (a resume replaces it) */
    struct json_object *o = json_object_new_object(), *topics = model_json(&s->topics),
                       *path = json_object_new_array(), *breadth = json_object_new_array(),
                       *guid = json_object_new_array(), *inputs = model_json(&s->inputs),
                       *outputs = model_json(&s->outputs), *dedup = json_object_new_object();

    for (size_t i = 0; i < s->n_start; i++)
        json_object_array_add(path, json_object_new_string(s->start_path[i]));
    for (int i = 0; i < s->depth; i++) {
        json_object_array_add(breadth, json_object_new_int(s->breadth[i]));
        json_object_array_add(guid, s->guidance[i] ? json_object_new_string(s->guidance[i]) : NULL);
    }
    json_object_object_add(topics, "node_path", path);
    json_object_object_add(topics, "depth", json_object_new_int(s->depth));
    if (s->depth > 0) {
        json_object_object_add(topics, "breadth", breadth);
        json_object_object_add(topics, "human_guidance", guid);
    } else {
        json_object_put(breadth);
        json_object_put(guid);
    }
    json_object_object_add(o, "topics", topics);
    json_object_object_add(inputs, "per_leaf", json_object_new_int(s->per_leaf));
    json_object_object_add(o, "inputs", inputs);
    json_object_object_add(outputs, "prompt_method",
                           json_object_new_string(prompt_method_name(s->prompt_method)));
    json_object_object_add(o, "outputs", outputs);
    json_object_object_add(dedup, "exact", json_object_new_boolean(s->dedup_exact));
    json_object_object_add(dedup, "near", json_object_new_boolean(s->dedup_near));
    json_object_object_add(dedup, "threshold", json_object_new_double(s->near_threshold));
    json_object_object_add(o, "dedup", dedup);
    if (s->judge) {
        struct json_object *j = json_object_new_object();
        json_object_object_add(j, "provider", json_object_new_string(s->judge_model.provider));
        json_object_object_add(j, "model_name", json_object_new_string(s->judge_model.model_name));
        if (s->judge_model.guidance)
            json_object_object_add(j, "human_guidance",
                                   json_object_new_string(s->judge_model.guidance));
        if (!isnan(s->keep))
            json_object_object_add(j, "keep", json_object_new_double(s->keep));
        json_object_object_add(o, "judge", j);
    }
    if (s->session_id)
        json_object_object_add(o, "session_id", json_object_new_string(s->session_id));
    json_object_object_add(o, "drop_unsupported_params",
                           json_object_new_boolean(s->outputs.drop_unsupported));
    return o;
}
