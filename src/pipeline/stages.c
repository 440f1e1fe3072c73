/* SPDX-License-Identifier: MIT */
/*
 * What each stage's item does and the step it settles with (pipeline.h: the payloads; store.h:
 * struct job_step). driver.c claims items and writes their steps; here an item is started
 * (stage_start: its model calls, or at once for items without any), and once its calls have
 * ended its step is built (stage_step) on the driver thread, from the result the engine's
 * callbacks left in the item.
 *
 *   topics   level < depth: the node's children up to breadth (a call for the missing ones),
 *            then a topics item per child; a leaf: inputs items for per_leaf minus the samples
 *            at it, at most GEN_MAX_COUNT each
 *   inputs   gen_samples without storing: a dedup item with the inputs
 *   dedup    exact (normal-form hashes: the task's samples and the inputs the job accepted)
 *            and near (MinHash against the task's and the accepted inputs): an outputs item
 *            per input kept
 *   outputs  gen_output: the sample (job_id, job_item set), and a judge item with a judge
 *   judge    judge_run: the verdict, rejected below keep
 *
 * Every string a step points to lives in the item's arena until the step is recorded.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/near_job.h"
#include "gen/prompt.h"
#include "gen/taskrun.h"
#include "pipeline/driver_int.h"
#include "util/json.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define DEDUP_TEXT_MAX ((size_t)16 << 20) /* the normal form of one input, at most */

void pitem_free(struct pitem *it)
{
    if (!it)
        return;
    json_object_put(it->payload);
    json_object_put(it->list);
    if (it->run) {
        run_done(it->run);
        free(it->run);
    }
    free(it->error);
    free(it->rating);
    free(it->reasoning);
    arena_done(&it->mem);
    free(it);
}

/* ---- payloads ---- */

static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static struct json_object *payload_path(const struct pitem *it)
{
    struct json_object *p = member(it->payload, "path");
    return json_object_is_type(p, json_type_array) ? p : NULL;
}

/* The topic key of a path (malloc'd), or NULL when out of memory. */
static char *path_key(struct json_object *path)
{
    size_t n = path ? json_object_array_length(path) : 0;
    char **names = calloc(n + 1, sizeof(*names)), *key;

    if (!names)
        return NULL;
    for (size_t i = 0; i < n; i++)
        names[i] = (char *)json_object_get_string(json_object_array_get_idx(path, i));
    key = taskrun_topic_key(names, n);
    free(names);
    return key;
}

/* A payload's text in the item's arena (freed with the item, after its step is recorded). */
static const char *payload_text(struct pitem *it, struct json_object *o)
{
    const char *t = arena_strdup(&it->mem, json_text(o, NULL));
    json_object_put(o);
    return t;
}

static struct json_object *with_path(struct json_object *path, const char *child)
{
    struct json_object *o = json_object_new_object(), *p = NULL;

    if (!path || json_object_deep_copy(path, &p, NULL) != 0)
        p = json_object_new_array();
    if (child)
        json_object_array_add(p, json_object_new_string(child));
    json_object_object_add(o, "path", p);
    return o;
}

static int fail(struct pitem *it, int code, const char *msg)
{
    it->code = code;
    free(it->error);
    it->error = strdup(msg);
    return code < 0 ? code : HE_INTERNAL;
}

static void spend_of(struct job_spend *s, const struct llm_usage *u, int calls)
{
    s->calls = calls;
    s->input_tokens = u && u->input_tokens > 0 ? u->input_tokens : 0;
    s->output_tokens = u && u->output_tokens > 0 ? u->output_tokens : 0;
    s->cached_tokens = u ? u->cached_tokens : 0;
    s->cost = u && u->cost >= 0 ? u->cost : (calls > 0 ? NAN : 0);
}

/* ---- topics ---- */

static int topics_level(const struct pitem *it)
{
    struct json_object *l = member(it->payload, "level");
    return l ? json_object_get_int(l) : 0;
}

/* The children the node has (the job's memory of the tree). */
static size_t present_kids(struct pitem *it, char **ret_key)
{
    char *key = path_key(payload_path(it));
    struct memo_node *n = key ? memo_node(&it->j->memo, key, false) : NULL;

    *ret_key = key;
    return n ? n->n_kids : 0;
}

static int topics_wanted(struct pitem *it)
{
    const struct pipeline_spec *s = &it->j->spec;
    int level = topics_level(it);
    char *key = NULL;
    size_t have;

    if (level >= s->depth)
        return 0;
    have = present_kids(it, &key);
    free(key);
    return (size_t)s->breadth[level] > have ? s->breadth[level] - (int)have : 0;
}

static void on_list(void *ud, struct json_object *items, const struct llm_usage *usage, int calls,
                    const struct err *e)
{
    struct pitem *it = ud;

    spend_of(&it->spend, usage, calls);
    /* A copy, not a reference: the driver's thread reads it while this (the engine's) thread
     * drops the list's own reference, and json-c's reference counts are not atomic. */
    if (e)
        fail(it, e->code, e->msg);
    else if (json_object_deep_copy(items, &it->list, NULL) != 0)
        fail(it, HE_NOMEM, "out of memory");
    driver_landed(it);
}

static int list_start(struct pitem *it, bool topics, size_t count)
{
    struct pjob *j = it->j;
    const struct pipeline_model *m = topics ? &j->spec.topics : &j->spec.inputs;
    int level = topics ? topics_level(it) : 0;
    struct gen_list_params p = {
        .path = payload_path(it),
        .count = count,
        .provider = m->provider,
        .model = m->model_name,
        .guidance = topics ? j->spec.guidance[level] : m->human_guidance,
        .drop_unsupported = m->drop_unsupported,
        .group = driver_group(j),
        .cache_prefix = true,
        .raw = on_list,
    };
    struct err e = ERR_INIT;
    int r;

    if (!p.path)
        return fail(it, HE_INVALID, "the item has no topic path");
    r = topics ? gen_categories(driver_env(j), &j->task, &p, NULL, it, &e)
               : gen_samples(driver_env(j), &j->task, &p, NULL, it, &e);
    return r < 0 ? fail(it, e.code, e.msg) : 0;
}

/* A leaf: inputs items for what the leaf lacks. */
static int leaf_step(struct pitem *it, const char *key)
{
    struct memo_node *n = memo_node(&it->j->memo, key, false);
    int64_t want = it->j->spec.per_leaf - (n ? n->samples : 0);
    size_t k = want > 0 ? (size_t)((want + GEN_MAX_COUNT - 1) / GEN_MAX_COUNT) : 0;
    struct job_new_item *items = k ? arena_alloc(&it->mem, k * sizeof(*items)) : NULL;

    if (k && !items)
        return fail(it, HE_NOMEM, "out of memory");
    for (size_t i = 0; i < k; i++, want -= GEN_MAX_COUNT) {
        struct json_object *o = with_path(payload_path(it), NULL);
        json_object_object_add(o, "count",
                               json_object_new_int64(want < GEN_MAX_COUNT ? want : GEN_MAX_COUNT));
        items[i] = (struct job_new_item){"inputs", payload_text(it, o)};
    }
    it->step.items = items;
    it->step.n_items = k;
    return 0;
}

/* The node's children (present and new): a topics item each, one level down. */
static int topics_step(struct pitem *it)
{
    char *key = NULL;
    size_t have = present_kids(it, &key), n_new = it->list ? json_object_array_length(it->list) : 0;
    struct memo_node *node = key ? memo_node(&it->j->memo, key, false) : NULL;
    struct job_new_item *items = arena_alloc(&it->mem, (have + n_new + 1) * sizeof(*items));
    const char **names = arena_alloc(&it->mem, (n_new + 1) * sizeof(*names));
    struct job_topics *t = arena_alloc(&it->mem, sizeof(*t));
    int level = topics_level(it);
    int r = 0;

    if (!key || !items || !names || !t) {
        r = fail(it, HE_NOMEM, "out of memory");
        goto out;
    }
    if (level >= it->j->spec.depth) {
        r = leaf_step(it, key);
        goto out;
    }
    for (size_t i = 0; i < have + n_new; i++) {
        const char *name =
            i < have ? node->kids[i]
                     : json_object_get_string(json_object_array_get_idx(it->list, i - have));
        struct json_object *o = with_path(payload_path(it), name);
        json_object_object_add(o, "level", json_object_new_int(level + 1));
        items[i] = (struct job_new_item){"topics", payload_text(it, o)};
        if (i >= have)
            names[i - have] = arena_strdup(&it->mem, name);
    }
    *t = (struct job_topics){arena_strdup(&it->mem, key), names, n_new};
    it->step.topics = n_new ? t : NULL;
    it->step.n_topics = n_new ? 1 : 0;
    it->step.items = items;
    it->step.n_items = have + n_new;
    it->step.produced = (int64_t)n_new;
out:
    free(key);
    return r;
}

/* ---- inputs ---- */

static int inputs_step(struct pitem *it)
{
    struct json_object *o = with_path(payload_path(it), NULL), *texts = json_object_new_array();
    size_t n = it->list ? json_object_array_length(it->list) : 0;
    struct job_new_item *item = arena_alloc(&it->mem, sizeof(*item));

    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(it->list, i);
        json_object_array_add(texts, json_object_is_type(v, json_type_string)
                                         ? json_object_get(v)
                                         : json_object_new_string(json_text(v, NULL)));
    }
    json_object_object_add(o, "inputs", texts);
    if (!item) {
        json_object_put(o);
        return fail(it, HE_NOMEM, "out of memory");
    }
    *item = (struct job_new_item){"dedup", payload_text(it, o)};
    it->step.items = item;
    it->step.n_items = 1;
    it->step.produced = (int64_t)n;
    return 0;
}

/* ---- dedup ---- */

struct found {
    int64_t *hashes;
    bool *dup;
    size_t n;
};

static int on_found(void *ud, int64_t hash, const char *run_id, const char *input, struct err *e)
{
    struct found *f = ud;
    (void)run_id;
    (void)input;
    (void)e;
    for (size_t i = 0; i < f->n; i++)
        if (f->hashes[i] == hash)
            f->dup[i] = true;
    return 0;
}

/* Marks dup[i] for inputs seen before: hashes the job accepted, or the task's samples. */
static int exact_dups(struct pitem *it, struct json_object *inputs, struct found *f)
{
    struct pjob *j = it->j;
    struct err e = ERR_INIT;

    for (size_t i = 0; i < f->n; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(inputs, i));
        uint64_t h = 0;
        if (text_norm_hash(t, strlen(t), &h, &e) < 0)
            return fail(it, e.code, e.msg);
        f->hashes[i] = (int64_t)h;
        f->dup[i] = memo_hash_owner(&j->memo, f->hashes[i]) != -2;
        for (size_t k = 0; k < i && !f->dup[i]; k++)
            f->dup[i] = f->hashes[k] == f->hashes[i];
    }
    if (store_run_find_by_hash(driver_env(j)->store, j->task.id, f->hashes, f->n, on_found, f, &e) <
        0)
        return fail(it, e.code, e.msg);
    return 0;
}

static int near_dups(struct pitem *it, struct json_object *inputs, struct found *f)
{
    struct pjob *j = it->j;
    struct buf scratch;
    struct err e = ERR_INIT;
    int r = 0;

    buf_init(&scratch, DEDUP_TEXT_MAX);
    for (size_t i = 0; i < f->n && r == 0; i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(inputs, i));
        struct minhash_sig sig;
        if (f->dup[i])
            continue;
        if (near_sign_input(t, strlen(t), &scratch, &sig, &e) < 0)
            r = fail(it, e.code, e.msg);
        else if (memo_near(&j->memo, &sig))
            f->dup[i] = true;
        else if (memo_sig_add(&j->memo, &sig, it->idx) < 0)
            r = fail(it, HE_NOMEM, "out of memory");
    }
    buf_done(&scratch);
    return r;
}

static int dedup_step(struct pitem *it)
{
    struct pjob *j = it->j;
    struct json_object *inputs = member(it->payload, "inputs");
    size_t n = json_object_is_type(inputs, json_type_array) ? json_object_array_length(inputs) : 0;
    struct found f = {arena_alloc(&it->mem, (n + 1) * sizeof(int64_t)),
                      arena_alloc(&it->mem, (n + 1) * sizeof(bool)), n};
    struct job_new_item *items = arena_alloc(&it->mem, (n + 1) * sizeof(*items));
    size_t kept = 0;
    int r;

    if (!f.hashes || !f.dup || !items)
        return fail(it, HE_NOMEM, "out of memory");
    memset(f.dup, 0, (n + 1) * sizeof(bool));
    memo_forget(&j->memo, it->idx); /* what an earlier try of this item added */
    if (j->spec.dedup_exact && (r = exact_dups(it, inputs, &f)) < 0)
        return r;
    if (j->spec.dedup_near && (r = near_dups(it, inputs, &f)) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct json_object *o;
        if (f.dup[i])
            continue;
        if (j->spec.dedup_exact && memo_hash_add(&j->memo, f.hashes[i], it->idx) < 0)
            return fail(it, HE_NOMEM, "out of memory");
        o = with_path(payload_path(it), NULL);
        json_object_object_add(o, "input", json_object_get(json_object_array_get_idx(inputs, i)));
        items[kept++] = (struct job_new_item){"outputs", payload_text(it, o)};
    }
    it->step.items = items;
    it->step.n_items = kept;
    it->step.produced = (int64_t)kept;
    return 0;
}

/* ---- outputs ---- */

static void on_run(void *ud, struct run *run, const struct err *e)
{
    struct pitem *it = ud;

    if (run) {
        it->run = run;
        it->spend = (struct job_spend){run->calls, run->input_tokens > 0 ? run->input_tokens : 0,
                                       run->output_tokens > 0 ? run->output_tokens : 0,
                                       run->cached_tokens, run->cost};
    } else {
        fail(it, e->code, e->msg);
        it->spend = (struct job_spend){.cost = NAN};
    }
    driver_landed(it);
}

static int outputs_start(struct pitem *it)
{
    struct pjob *j = it->j;
    struct json_object *path = payload_path(it), *input = member(it->payload, "input");
    size_t n = path ? json_object_array_length(path) : 0;
    struct gen_sample s = {0};
    struct err e = ERR_INIT;
    int r = 0;

    if (!input || !json_object_is_type(input, json_type_string))
        return fail(it, HE_INVALID, "the item has no input");
    s.input = strdup(json_object_get_string(input));
    s.topic = calloc(n + 1, sizeof(*s.topic));
    for (size_t i = 0; s.topic && i < n; i++)
        if ((s.topic[i] = strdup(json_object_get_string(json_object_array_get_idx(path, i)))))
            s.n_topic++;
    s.input_model = strdup(j->spec.inputs.model_name);
    s.input_provider = strdup(j->spec.inputs.provider);
    s.output_model = strdup(j->spec.outputs.model_name);
    s.output_provider = strdup(j->spec.outputs.provider);
    s.method = (enum prompt_method)j->spec.prompt_method;
    s.guidance = j->spec.outputs.human_guidance ? strdup(j->spec.outputs.human_guidance) : NULL;
    s.drop_unsupported = j->spec.outputs.drop_unsupported;
    s.job_id = (int64_t)strtoll(j->job.id, NULL, 10);
    s.job_item = it->idx;
    s.cache_prefix = true;
    if (!s.input || !s.topic || s.n_topic != n || !s.input_model || !s.input_provider ||
        !s.output_model || !s.output_provider)
        r = fail(it, HE_NOMEM, "out of memory");
    else if (gen_output(driver_env(j), &j->task, &s, j->examples_ready ? &j->examples : NULL,
                        j->spec.session_id, driver_group(j), on_run, it, &e) < 0)
        r = fail(it, e.code, e.msg);
    gen_sample_free(&s);
    return r;
}

static int outputs_step(struct pitem *it)
{
    struct run **runs = arena_alloc(&it->mem, sizeof(*runs));
    struct job_new_item *item = arena_alloc(&it->mem, sizeof(*item));

    if (!runs || !item)
        return fail(it, HE_NOMEM, "out of memory");
    runs[0] = it->run;
    it->step.runs = runs;
    it->step.n_runs = 1;
    it->step.produced = 1;
    if (it->j->spec.judge) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "run_id", json_object_new_string(it->run->id));
        *item = (struct job_new_item){"judge", payload_text(it, o)};
        it->step.items = item;
        it->step.n_items = 1;
    }
    return 0;
}

/* ---- judge ---- */

static void on_verdict(void *ud, const struct judge_verdict *v, const struct err *e)
{
    struct pitem *it = ud;

    if (v) {
        spend_of(&it->spend, &v->usage, v->calls);
        it->rating = strdup(v->rating ? v->rating : "{}");
        it->reasoning = strdup(v->reasoning ? v->reasoning : "");
        it->score = v->score;
        if (!it->rating || !it->reasoning)
            fail(it, HE_NOMEM, "out of memory");
    } else {
        it->spend = (struct job_spend){.cost = NAN};
        fail(it, e->code, e->msg);
    }
    driver_landed(it);
}

static int judge_start(struct pitem *it)
{
    struct pjob *j = it->j;
    struct json_object *id = member(it->payload, "run_id");
    struct err e = ERR_INIT;

    if (!id || !json_object_is_type(id, json_type_string))
        return fail(it, HE_INVALID, "the item names no sample");
    if (!(it->run = calloc(1, sizeof(*it->run))))
        return fail(it, HE_NOMEM, "out of memory");
    if (store_run_get(driver_env(j)->store, j->task.id, json_object_get_string(id), it->run, &e) <
        0) {
        free(it->run);
        it->run = NULL;
        return fail(it, e.code, e.msg);
    }
    if (judge_run(driver_env(j), &j->task, &j->judge, it->run->input,
                  it->run->output ? it->run->output : "", driver_group(j), true, on_verdict, it,
                  &e) < 0)
        return fail(it, e.code, e.msg);
    return 0;
}

static int judge_step(struct pitem *it)
{
    struct job_judged *v = arena_alloc(&it->mem, sizeof(*v));

    if (!v)
        return fail(it, HE_NOMEM, "out of memory");
    *v = (struct job_judged){it->run->id, it->rating, it->score, it->reasoning,
                             !isnan(it->j->keep) && it->score < it->j->keep};
    it->step.judged = v;
    it->step.n_judged = 1;
    it->step.produced = 1;
    return 0;
}

/* ---- the stage table ---- */

void stage_plan(struct pitem *it, double *ret_calls)
{
    switch (it->stage) {
    case PS_TOPICS: *ret_calls = topics_wanted(it) > 0 ? 1 : 0; break;
    case PS_DEDUP: *ret_calls = 0; break;
    case PS_OUTPUTS:
        *ret_calls = prompt_method_cot((enum prompt_method)it->j->spec.prompt_method) ? 2 : 1;
        break;
    default: *ret_calls = 1; break;
    }
}

int stage_start(struct pitem *it)
{
    struct json_object *count;
    int want;

    switch (it->stage) {
    case PS_TOPICS:
        if ((want = topics_wanted(it)) <= 0)
            return 1;
        return list_start(it, true, (size_t)want);
    case PS_INPUTS:
        count = member(it->payload, "count");
        if (!count || json_object_get_int(count) <= 0 || json_object_get_int(count) > GEN_MAX_COUNT)
            return fail(it, HE_INVALID, "the item has no count of inputs to make");
        return list_start(it, false, (size_t)json_object_get_int(count));
    case PS_DEDUP: return 1;
    case PS_OUTPUTS: return outputs_start(it);
    case PS_JUDGE: return judge_start(it);
    default: return fail(it, HE_INVALID, "the item's stage is unknown");
    }
}

int stage_step(struct pitem *it)
{
    int r = 0;

    it->step.job_id = it->j->job.id;
    it->step.idx = it->idx;
    it->step.task_id = it->j->task.id;
    it->step.spend = it->spend;
    if (!it->error) {
        switch (it->stage) {
        case PS_TOPICS: r = topics_step(it); break;
        case PS_INPUTS: r = inputs_step(it); break;
        case PS_DEDUP: r = dedup_step(it); break;
        case PS_OUTPUTS: r = outputs_step(it); break;
        case PS_JUDGE: r = judge_step(it); break;
        default: r = fail(it, HE_INVALID, "the item's stage is unknown"); break;
        }
    }
    if (it->error) {
        /* nothing it made is kept; its spend is */
        struct job_spend spend = it->step.spend;
        it->step = (struct job_step){.job_id = it->j->job.id,
                                     .idx = it->idx,
                                     .failed = true,
                                     .error = it->error,
                                     .spend = spend,
                                     .task_id = it->j->task.id};
    }
    return r;
}

void stage_recorded(struct pitem *it)
{
    struct pjob *j = it->j;

    if (it->step.failed)
        return;
    for (size_t i = 0; i < it->step.n_topics; i++)
        for (size_t k = 0; k < it->step.topics[i].n; k++)
            memo_add_kid(&j->memo, it->step.topics[i].parent_key, it->step.topics[i].names[k]);
}
