/* SPDX-License-Identifier: MIT */
/*
 * Output generation for one sample: the prompt method's system prompt (task, examples,
 * guidance), the input as the user turn, one call, or two for chain-of-thought methods (think,
 * then answer with the thinking in the conversation). A task with an output schema gets a
 * schema-validated JSON answer (the engine validates and retries); others get text.
 *
 * The operation is driven by engine callbacks and ends by handing a complete run record to the
 * caller; it stores nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/taskrun.h"
#include "llm/engine.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define ADAPTER_NAME  "hetu_llm_engine"
#define TAG_TRUNCATED "truncated"

void gen_sample_free(struct gen_sample *s)
{
    if (!s)
        return;
    free(s->input);
    free(s->output);
    for (size_t i = 0; i < s->n_topic; i++)
        free(s->topic[i]);
    free(s->topic);
    free(s->input_model);
    free(s->input_provider);
    free(s->output_model);
    free(s->output_provider);
    free(s->guidance);
    free(s->source_type);
    free(s->file_name);
    for (size_t i = 0; i < s->ntags; i++)
        free(s->tags[i]);
    free(s->tags);
    free(s->provenance);
    memset(s, 0, sizeof(*s));
}

void gen_model_error(const struct err *model, struct err *ret)
{
    /* An answer that stayed invalid after the retries is the model's failure, not the
     * client's: a bad gateway, whatever code the engine gave it. */
    int code = model->code == HE_INVALID ? HE_PROVIDER : model->code;
    err_clear(ret);
    err_set(ret, code ? code : HE_PROVIDER, model->field[0] ? model->field : NULL, "%s",
            model->msg);
}

/* ---- examples ---- */

struct example_scan {
    struct gen_examples *x;
    size_t max;
};

static char *output_of_repair(const char *repaired)
{
    struct json_object *o = NULL, *v;
    struct err e;
    char *out = NULL;

    err_clear(&e);
    if (json_parse(repaired, strlen(repaired), &o, &e) == 0 &&
        json_object_object_get_ex(o, "output", &v) && json_object_is_type(v, json_type_string))
        out = strdup(json_object_get_string(v));
    json_object_put(o);
    return out;
}

static int add_example(void *ud, const struct run *r, struct err *e)
{
    struct example_scan *sc = ud;
    struct prompt_example *x;

    if (sc->x->n == sc->max)
        return 0;
    x = &sc->x->items[sc->x->n];
    memset(x, 0, sizeof(*x));
    x->input = strdup(r->input);
    if (r->repaired_output && (x->output = output_of_repair(r->repaired_output))) {
        x->original_output = strdup(r->output);
        x->repair_instructions = r->repair_instructions ? strdup(r->repair_instructions) : NULL;
    } else {
        x->output = strdup(r->output);
    }
    sc->x->n++;
    if (!x->input || !x->output)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

int gen_examples_load(struct store *store, const char *task_id, enum prompt_method m,
                      struct gen_examples *ret, struct err *e)
{
    struct run_filter f = {.task_id = task_id, .min_rating = 4.0, .best_first = true};
    struct example_scan sc = {ret, prompt_method_examples(m)};
    int r;

    memset(ret, 0, sizeof(*ret));
    if (sc.max == 0)
        return 0;
    ret->items = calloc(sc.max, sizeof(*ret->items));
    if (!ret->items)
        return err_set(e, HE_NOMEM, NULL, NULL);
    f.limit = sc.max;
    if ((r = store_run_list(store, &f, add_example, &sc, e)) < 0)
        gen_examples_done(ret);
    return r;
}

void gen_examples_done(struct gen_examples *x)
{
    for (size_t i = 0; x->items && i < x->n; i++) {
        free(x->items[i].input);
        free(x->items[i].output);
        free(x->items[i].repair_instructions);
        free(x->items[i].original_output);
    }
    free(x->items);
    memset(x, 0, sizeof(*x));
}

/* ---- one output ---- */

int gen_sample_check(const struct gen_env *env, const struct gen_sample *s, const char *where,
                     struct err *e)
{
    char field[ERR_FIELD_MAX];
    int r;

    if (s->output)
        return 0;
    if (!s->output_provider || !s->output_model) {
        json_field_name(field, sizeof(field), where,
                        s->output_provider ? "output_model_name" : "output_provider");
        return err_set(e, HE_INVALID, field, "%s is required when the sample has no output to keep",
                       field);
    }
    if ((r = llm_check(env->engine, s->output_provider, s->output_model, e)) < 0) {
        json_field_name(field, sizeof(field), where,
                        strcmp(e->field, "model_name") == 0 ? "output_model_name"
                                                            : "output_provider");
        snprintf(e->field, sizeof(e->field), "%s", field);
    }
    return r;
}

struct out_op {
    struct gen_env env;
    struct run *run; /* built up, handed to the caller */
    char *system;
    char *input;
    char *thinking;
    char *think_instruction; /* chain-of-thought methods */
    struct schema *schema;
    char *provider, *model;
    bool cot, drop, allow_truncated, cache_prefix;
    int calls; /* submitted so far */
    uint64_t group;
    struct llm_usage usage;
    gen_run_cb cb;
    void *ud;
};

static void out_free(struct out_op *op)
{
    free(op->system);
    free(op->input);
    free(op->thinking);
    free(op->think_instruction);
    schema_unref(op->schema);
    free(op->provider);
    free(op->model);
    if (op->run) {
        run_done(op->run);
        free(op->run);
    }
    free(op);
}

static void out_fail(struct out_op *op, const struct err *e)
{
    op->cb(op->ud, NULL, e);
    out_free(op);
}

static void on_output(void *ud, const struct llm_result *res);
static void on_thinking(void *ud, const struct llm_result *res);

static int out_submit(struct out_op *op, bool thinking_call, struct err *e)
{
    struct llm_message msgs[4];
    struct llm_request req = {0};
    struct buf user;
    size_t n = 0;
    int r;

    buf_init(&user, PROMPT_MAX);
    msgs[n++] = (struct llm_message){LLM_ROLE_SYSTEM, op->system};
    if (thinking_call) {
        if (buf_addf(&user, "%s\n\n---\n%s Do not give your final answer yet.", op->input,
                     op->think_instruction) < 0) {
            buf_done(&user);
            return err_set(e, HE_TOO_LARGE, "input", "the input is too large for a prompt");
        }
        msgs[n++] = (struct llm_message){LLM_ROLE_USER, user.data};
    } else {
        msgs[n++] = (struct llm_message){LLM_ROLE_USER, op->input};
        if (op->thinking) {
            msgs[n++] = (struct llm_message){LLM_ROLE_ASSISTANT, op->thinking};
            msgs[n++] = (struct llm_message){LLM_ROLE_USER, prompt_cot_final};
        }
        req.schema = op->schema;
        req.schema_name = "task_output";
    }
    req.provider = op->provider;
    req.model = op->model;
    req.messages = msgs;
    req.n_messages = n;
    req.drop_unsupported_params = op->drop;
    req.group = op->group;
    req.cache_prefix = op->cache_prefix;
    op->calls++;
    r = llm_submit(op->env.engine, &req, thinking_call ? on_thinking : on_output, op, e);
    buf_done(&user);
    return r;
}

void gen_usage_add(struct llm_usage *sum, const struct llm_usage *u)
{
    if (u->input_tokens >= 0)
        sum->input_tokens = (sum->input_tokens < 0 ? 0 : sum->input_tokens) + u->input_tokens;
    if (u->output_tokens >= 0)
        sum->output_tokens = (sum->output_tokens < 0 ? 0 : sum->output_tokens) + u->output_tokens;
    if (u->total_tokens >= 0)
        sum->total_tokens = (sum->total_tokens < 0 ? 0 : sum->total_tokens) + u->total_tokens;
    if (u->cost >= 0)
        sum->cost = (sum->cost < 0 ? 0 : sum->cost) + u->cost;
    sum->cached_tokens += u->cached_tokens;
    sum->cache_write_tokens += u->cache_write_tokens;
}

/* The start of both replies' handling: usage summed, and a failed call ends the op. */
static bool reply_failed(struct out_op *op, const struct llm_result *res)
{
    struct err e;

    gen_usage_add(&op->usage, &res->usage);
    if (res->code >= 0)
        return false;
    gen_model_error(&res->err, &e);
    out_fail(op, &e);
    return true;
}

static void on_thinking(void *ud, const struct llm_result *res)
{
    struct out_op *op = ud;
    struct err e;

    if (reply_failed(op, res))
        return;
    err_clear(&e);
    op->thinking = strdup(res->content && *res->content ? res->content
                                                        : (res->reasoning ? res->reasoning : ""));
    if (!op->thinking) {
        err_set(&e, HE_NOMEM, NULL, NULL);
        out_fail(op, &e);
        return;
    }
    if (out_submit(op, false, &e) < 0)
        out_fail(op, &e);
}

/* Adds the tag "truncated" to the run (once); the new list lives in the run's arena. */
static int tag_truncated(struct run *run)
{
    const char **list;

    for (size_t i = 0; i < run->ntags; i++)
        if (strcmp(run->tag_list[i], TAG_TRUNCATED) == 0)
            return 0;
    if (!(list = arena_alloc(&run->mem, (run->ntags + 1) * sizeof(*list))))
        return HE_NOMEM;
    memcpy(list, run->tag_list, run->ntags * sizeof(*list));
    list[run->ntags] = TAG_TRUNCATED;
    run->tag_list = list;
    run->ntags++;
    if (!(run->tags = arena_take(&run->mem, taskrun_string_list(run->tag_list, run->ntags))))
        return HE_NOMEM;
    return 0;
}

/*
 * An output cut off at the output limit (after the engine's retry with a larger one) is a
 * failure naming the cut, unless the sample allows truncated outputs: then it is kept and
 * tagged. Only the answer counts: a cut chain-of-thought step is still thinking to go on from.
 */
static bool truncation_refused(struct out_op *op, const struct llm_result *res)
{
    struct err e;

    err_clear(&e);
    if (!res->truncated)
        return false;
    if (op->allow_truncated) {
        if (tag_truncated(op->run) == 0)
            return false;
        err_set(&e, HE_NOMEM, NULL, NULL);
    } else if (res->max_tokens > 0) {
        err_set(&e, HE_PROVIDER, NULL,
                "provider %s model %s: the answer was cut off at the output limit (max_tokens "
                "%d); set allow_truncated to keep such answers",
                op->provider, op->model, res->max_tokens);
    } else {
        err_set(&e, HE_PROVIDER, NULL,
                "provider %s model %s: the answer was cut off at the provider's output limit; "
                "set allow_truncated to keep such answers",
                op->provider, op->model);
    }
    out_fail(op, &e);
    return true;
}

static void on_output(void *ud, const struct llm_result *res)
{
    struct out_op *op = ud;
    struct run *run = op->run;
    struct json_object *inter;
    struct err e;

    if (reply_failed(op, res) || truncation_refused(op, res))
        return;
    err_clear(&e);
    run->output = arena_strdup(&run->mem, res->json ? json_text(res->json, NULL)
                                                    : (res->content ? res->content : ""));
    inter = json_object_new_object();
    if (op->thinking)
        json_object_object_add(inter, "chain_of_thought", json_object_new_string(op->thinking));
    if (res->reasoning)
        json_object_object_add(inter, "reasoning", json_object_new_string(res->reasoning));
    run->intermediate_outputs = arena_strdup(&run->mem, json_text(inter, NULL));
    json_object_put(inter);
    run->output_created_at = clock_wall_us();
    run->input_tokens = op->usage.input_tokens;
    run->output_tokens = op->usage.output_tokens;
    run->total_tokens = op->usage.total_tokens;
    run->cost = op->usage.cost < 0 ? NAN : op->usage.cost;
    run->cached_tokens = op->usage.cached_tokens;
    run->calls = op->calls;
    if (!run->output || !run->intermediate_outputs) {
        err_set(&e, HE_NOMEM, NULL, NULL);
        out_fail(op, &e);
        return;
    }
    op->run = NULL;
    op->cb(op->ud, run, NULL);
    out_free(op);
}

const char **gen_tag_list(struct arena *a, const char *session_id, bool imported,
                          char *const *extra, size_t n_extra, size_t *ret_n)
{
    size_t n = 0, max = 2 + n_extra;
    const char **tags = arena_alloc(a, max * sizeof(*tags));
    char buf[512];

    if (!tags)
        return NULL;
    tags[n++] = imported ? "imported" : "synthetic";
    if (session_id) {
        snprintf(buf, sizeof(buf), imported ? "imported_%s" : "synthetic_session_%s", session_id);
        tags[n++] = arena_strdup(a, buf);
    }
    for (size_t i = 0; i < n_extra; i++) {
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = tags[j] && strcmp(tags[j], extra[i]) == 0;
        if (!seen)
            tags[n++] = arena_strdup(a, extra[i]);
    }
    for (size_t i = 0; i < n; i++)
        if (!tags[i])
            return NULL;
    *ret_n = n;
    return tags;
}

static struct run *run_new(const struct gen_env *env, const struct task *t,
                           const struct gen_sample *s, const char *session_id, struct err *e)
{
    struct run *r = calloc(1, sizeof(*r));
    struct arena *m = r ? &r->mem : NULL;
    char *topic_str = NULL;
    uint64_t hash;
    bool imported = s->source_type && strcmp(s->source_type, "file_import") == 0;

    if (!r)
        return NULL;
    if (store_new_id(env->store, r->id, e) < 0 || store_new_id(env->store, r->output_id, e) < 0)
        goto fail;
    memcpy(r->task_id, t->id, ID_LEN);
    r->created_at = clock_wall_us();
    r->output_created_at = r->created_at;
    r->created_by = arena_strdup(m, env->user);
    r->input = arena_strdup(m, s->input);
    if (s->input && text_norm_hash(s->input, strlen(s->input), &hash, e) == 0)
        r->input_hash = (int64_t)hash;
    else if (s->input)
        goto fail;
    r->topic_key = arena_take(m, taskrun_topic_key(s->topic, s->n_topic));
    topic_str = r->topic_key ? taskrun_topic_string(r->topic_key) : NULL;
    if (imported) {
        r->input_source_type = "file_import";
        r->input_source =
            arena_take(m, gen_import_input_source(s->file_name, s->input_model, s->input_provider,
                                                  topic_str && *topic_str ? topic_str : NULL));
    } else if (s->input_model || s->input_provider) {
        r->input_source_type = "synthetic";
        r->input_source = arena_take(
            m, taskrun_props("model_name", s->input_model, "model_provider", s->input_provider,
                             "adapter_name", "kiln_data_gen", "topic_path",
                             topic_str && *topic_str ? topic_str : NULL, NULL));
    } else {
        r->input_source_type = "human";
        r->input_source =
            arena_take(m, taskrun_props("created_by", env->user, "topic_path",
                                        topic_str && *topic_str ? topic_str : NULL, NULL));
    }
    if (s->output) {
        r->output = arena_strdup(m, s->output);
        r->output_source_type = imported ? "file_import" : "human";
        r->output_source =
            arena_take(m, imported ? gen_import_output_source(s->file_name, s->output_model,
                                                              s->output_provider)
                                   : taskrun_props("created_by", env->user, NULL));
    } else {
        r->output_source_type = "synthetic";
        r->output_source =
            arena_take(m, taskrun_props("model_name", s->output_model, "model_provider",
                                        s->output_provider, "adapter_name", ADAPTER_NAME,
                                        "prompt_id", prompt_method_name(s->method), NULL));
    }
    /* the models and the method this run records (a human's input or output has none) */
    r->input_model = arena_strdup(m, s->input_model);
    r->input_provider = arena_strdup(m, s->input_provider);
    if (!s->output || imported) {
        r->output_model = arena_strdup(m, s->output_model);
        r->output_provider = arena_strdup(m, s->output_provider);
    }
    if (!s->output)
        r->prompt_method = prompt_method_name(s->method);
    r->intermediate_outputs = "{}";
    r->session_id = arena_strdup(m, session_id);
    r->tag_list = gen_tag_list(m, session_id, imported, s->tags, s->ntags, &r->ntags);
    if (r->tag_list)
        r->tags = arena_take(m, taskrun_string_list(r->tag_list, r->ntags));
    r->rating_score = NAN;
    r->cost = NAN;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
    r->job_id = s->job_id;
    r->job_item = s->job_item;
    free(topic_str);
    topic_str = NULL; /* (the failure path frees it too) */
    if (s->provenance &&
        gen_provenance_apply(r, s->provenance, (const char *const *)s->tags, s->ntags, m) < 0) {
        err_set(e, HE_NOMEM, NULL, NULL);
        goto fail;
    }
    if (!r->created_by || !r->input || !r->topic_key || !r->input_source || !r->output_source ||
        !r->tag_list || !r->tags || (session_id && !r->session_id) || (s->output && !r->output) ||
        (s->input_model && !r->input_model) || (s->input_provider && !r->input_provider) ||
        ((!s->output || imported) &&
         ((s->output_model && !r->output_model) || (s->output_provider && !r->output_provider)))) {
        err_set(e, HE_NOMEM, NULL, NULL);
        goto fail;
    }
    return r;
fail:
    free(topic_str);
    run_done(r);
    free(r);
    return NULL;
}

int gen_output(const struct gen_env *env, const struct task *t, const struct gen_sample *s,
               const struct gen_examples *examples, const char *session_id, uint64_t group,
               gen_run_cb cb, void *ud, struct err *e)
{
    struct out_op *op;
    struct buf system;
    struct run *run = run_new(env, t, s, session_id, e);
    int r;

    if (!run)
        return e->code ? e->code : err_set(e, HE_NOMEM, NULL, NULL);
    if (s->output) {
        cb(ud, run, NULL);
        return 0;
    }
    op = calloc(1, sizeof(*op));
    if (!op) {
        run_done(run);
        free(run);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    op->env = *env;
    op->run = run;
    op->cb = cb;
    op->ud = ud;
    op->group = group;
    op->drop = s->drop_unsupported;
    op->cache_prefix = s->cache_prefix;
    op->allow_truncated = s->allow_truncated;
    op->cot = prompt_method_cot(s->method);
    op->usage = (struct llm_usage){-1, -1, -1, -1};
    op->input = strdup(s->input);
    op->provider = strdup(s->output_provider);
    op->model = strdup(s->output_model);
    buf_init(&system, PROMPT_MAX);
    r = prompt_output_system(t, s->method, examples ? examples->items : NULL,
                             examples ? examples->n : 0, s->guidance, &system);
    op->system = buf_take(&system);
    if (r < 0) {
        out_free(op);
        return err_set(e, r, "input", "the prompt is too large");
    }
    if (!op->input || !op->provider || !op->model || !op->system) {
        out_free(op);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    if (t->output_json_schema) {
        struct err pe;
        err_clear(&pe);
        if (!(op->schema = schema_from_text(t->output_json_schema, &pe))) {
            out_free(op);
            return err_set(e, HE_INTERNAL, NULL, "the task's output schema does not parse: %s",
                           pe.msg);
        }
    }
    if (op->cot && !(op->think_instruction = strdup(prompt_thinking_instruction(t)))) {
        out_free(op);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    if ((r = out_submit(op, op->cot, e)) < 0) {
        out_free(op);
        return r;
    }
    return 0;
}
