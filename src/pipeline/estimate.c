/* SPDX-License-Identifier: MIT */
/*
 * The estimate of a pipeline before it runs: calls and tokens per stage, priced.
 *
 * Prompts are built with the builders the job sends (gen/prompt.h, judge_prompt): the task,
 * the guidance, the few-shot examples of the prompt method. What a model will write is not
 * known; its length is expected from the task's stored samples (mean input and output length,
 * store_stats), from the stored tree (mean topic name), else the EST_* defaults (estimate.h).
 * Texts of an expected length hold as much CJK as the stored texts of their kind (the newest
 * samples' inputs and outputs, the tree's names), else as the task's instruction and
 * description. Tokens: the rule in estimate.h.
 *
 * The tree as it will grow: the stored nodes under the start node count (a node asks only for
 * the children it lacks; every stored child is grown further), nodes still to come are counted
 * level by level with placeholder names; a leaf asks for per_leaf less the samples it has
 * (store_topic_counts), at most GEN_MAX_COUNT a call. Follow-up calls (a model that answers
 * short) are not counted. Outputs: one call a sample, two with chain of thought (the thinking
 * as long as an output). The judge: one call a sample. Dedup makes no call.
 *
 * Prices: llm_config_price per stage's provider/model; a stage that calls a model without a
 * known price makes the cost unknown (NaN, "cost_usd": null), never a guess.
 *
 * Runs on the request's thread; reads the store, calls nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/taskrun.h"
#include "llm/config.h"
#include "llm/engine.h"
#include "pipeline/estimate.h"
#include "pipeline/pipeline.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

#define TOPIC_SEP '\x1f' /* ends each name of a topic key */

/* ---- the token rule ---- */

static bool is_cjk(uint32_t c)
{
    return (c >= 0x1100 && c <= 0x11FF) || (c >= 0x2E80 && c <= 0x9FFF) ||
           (c >= 0xA960 && c <= 0xA97F) || (c >= 0xAC00 && c <= 0xD7AF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
           (c >= 0xFF00 && c <= 0xFFEF) || (c >= 0x20000 && c <= 0x3FFFF);
}

/* Characters of a text, as the rule counts them. */
struct tally {
    double cjk, other;
};

static void tally_text(struct tally *t, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        uint32_t c = *p;
        size_t n = c < 0x80             ? 1
                   : (c & 0xE0) == 0xC0 ? 2
                   : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4
                                        : 0;
        if (n == 0 || (size_t)(end - p) < n) {
            t->other++; /* not UTF-8: one character */
            p++;
            continue;
        }
        c = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
        for (size_t i = 1; i < n; i++)
            c = (c << 6) | (p[i] & 0x3F);
        if (is_cjk(c))
            t->cjk++;
        else
            t->other++;
        p += n;
    }
}

/* chars characters of a text not yet written, cjk_share of them CJK. */
static struct tally tally_of(double chars, double cjk_share)
{
    return (struct tally){chars * cjk_share, chars * (1 - cjk_share)};
}

static void tally_add(struct tally *t, const struct tally *more, double times)
{
    t->cjk += more->cjk * times;
    t->other += more->other * times;
}

static double tally_tokens(const struct tally *t)
{
    return t->cjk + ceil(t->other / 4);
}

int64_t pipeline_token_count(const char *s, size_t len)
{
    struct tally t = {0, 0};

    tally_text(&t, s, len);
    return (int64_t)tally_tokens(&t);
}

double pipeline_cjk_share(const char *s)
{
    struct tally t = {0, 0};

    tally_text(&t, s, s ? strlen(s) : 0);
    return t.cjk + t.other > 0 ? t.cjk / (t.cjk + t.other) : 0;
}

/* The CJK share of what was measured, else fallback. */
static double share_of(const struct tally *t, double fallback)
{
    return t->cjk + t->other > 0 ? t->cjk / (t->cjk + t->other) : fallback;
}

/* ---- the stored tree ---- */

struct node {
    const char *parent, *name, *key; /* topic keys; key: parent + name + TOPIC_SEP */
};

struct count {
    const char *key;
    int64_t n;
};

/* Everything one estimate reads and adds up. */
struct est {
    const struct task *task;
    const struct pipeline_spec *spec;
    struct pipeline_estimate *out;
    struct arena *mem;
    struct node *nodes; /* sorted by parent */
    size_t n_nodes, cap_nodes;
    struct count *counts; /* sorted by key */
    size_t n_counts, cap_counts;
    struct tally name, input, output; /* one expected text of each */
    double name_share;                /* placeholder names' script */
    double tokens[PS_COUNT][2];       /* input, output */
    struct gen_examples examples;
};

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
    void *p;

    if (n < *cap)
        return 0;
    if (!(p = realloc(*v, (*cap ? *cap * 2 : 64) * size)))
        return HE_NOMEM;
    *v = p;
    *cap = *cap ? *cap * 2 : 64;
    return 0;
}

static int add_node(void *ud, const char *parent_key, const char *name, struct err *e)
{
    struct est *x = ud;
    size_t pl = strlen(parent_key), nl = strlen(name);
    char *key;

    if (grow((void **)&x->nodes, &x->cap_nodes, x->n_nodes, sizeof(*x->nodes)) < 0 ||
        !(key = arena_alloc(x->mem, pl + nl + 2)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    memcpy(key, parent_key, pl);
    memcpy(key + pl, name, nl);
    key[pl + nl] = TOPIC_SEP;
    key[pl + nl + 1] = '\0';
    x->nodes[x->n_nodes] =
        (struct node){arena_strndup(x->mem, parent_key, pl), arena_strndup(x->mem, name, nl), key};
    if (!x->nodes[x->n_nodes].parent || !x->nodes[x->n_nodes].name)
        return err_set(e, HE_NOMEM, NULL, NULL);
    x->n_nodes++;
    return 0;
}

static int add_count(void *ud, const char *topic_key, int64_t count, struct err *e)
{
    struct est *x = ud;

    if (grow((void **)&x->counts, &x->cap_counts, x->n_counts, sizeof(*x->counts)) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (!(x->counts[x->n_counts].key = arena_strdup(x->mem, topic_key)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    x->counts[x->n_counts++].n = count;
    return 0;
}

static int by_parent(const void *a, const void *b)
{
    return strcmp(((const struct node *)a)->parent, ((const struct node *)b)->parent);
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const struct count *)a)->key, ((const struct count *)b)->key);
}

/* The stored children of key: *ret_first and how many (they are adjacent). */
static size_t children(const struct est *x, const char *key, size_t *ret_first)
{
    size_t lo = 0, hi = x->n_nodes, n = 0;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->nodes[mid].parent, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *ret_first = lo;
    while (lo + n < x->n_nodes && strcmp(x->nodes[lo + n].parent, key) == 0)
        n++;
    return n;
}

static int64_t samples_at(const struct est *x, const char *key)
{
    struct count k = {key, 0}, *c;

    if (!x->n_counts)
        return 0;
    c = bsearch(&k, x->counts, x->n_counts, sizeof(*x->counts), by_key);
    return c ? c->n : 0;
}

/* ---- stages ---- */

/* One kind of call made n times: its messages' tokens plus expected text not yet written
 * (extra, or none), and the answer's expected text. */
static void add_calls(struct est *x, enum pipeline_stage st, double n, const struct buf *system,
                      const struct buf *user, const struct tally *extra, const struct tally *answer)
{
    struct tally in = {0, 1}, out = *answer; /* 1: the newline between the turns */

    tally_text(&in, system->data ? system->data : "", system->len);
    tally_text(&in, user->data ? user->data : "", user->len);
    if (extra)
        tally_add(&in, extra, 1);
    x->out->stage[st].calls += (int64_t)n;
    x->tokens[st][0] += n * tally_tokens(&in);
    x->tokens[st][1] += n * tally_tokens(&out);
}

/* {"KEY":[...]} around a list of n items ("..", between commas). */
static void add_list_calls(struct est *x, enum pipeline_stage st, double calls,
                           const struct buf *system, const struct buf *user, const char *key,
                           size_t n, const struct tally *item)
{
    struct tally answer = {0, (double)strlen(key) + 7 + 3.0 * (double)n};

    tally_add(&answer, item, (double)n);
    add_calls(x, st, calls, system, user, NULL, &answer);
}

/* n nodes at `level` with this path ask for `count` subtopics each, `exclude` shown. */
static int topics_calls(struct est *x, struct json_object *path, int level, double n, size_t count,
                        char *const *exclude, size_t n_exclude)
{
    struct buf system, user;
    int r;

    if (count == 0 || n == 0)
        return 0;
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    r = prompt_categories(x->task, path, count, x->spec->guidance[level], exclude, n_exclude,
                          &system, &user);
    if (r == 0)
        add_list_calls(x, PS_TOPICS, n, &system, &user, "subtopics", count, &x->name);
    buf_done(&system);
    buf_done(&user);
    return r;
}

/* n leaves with this path, each lacking `need` inputs: GEN_MAX_COUNT a call. */
static int inputs_calls(struct est *x, struct json_object *path, double n, int64_t need)
{
    int64_t full = need / GEN_MAX_COUNT, rest = need % GEN_MAX_COUNT;
    struct buf system, user;
    int r = 0;

    if (need <= 0 || n == 0)
        return 0;
    x->out->samples += (int64_t)n * need;
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    for (int pass = 0; r == 0 && pass < 2; pass++) {
        int64_t chunk = pass == 0 ? GEN_MAX_COUNT : rest, calls = pass == 0 ? full : 1;
        if (chunk == 0 || calls == 0)
            continue;
        buf_reset(&system);
        buf_reset(&user);
        r = prompt_samples(x->task, path, (size_t)chunk, x->spec->inputs.human_guidance, NULL, 0,
                           &system, &user);
        if (r == 0)
            add_list_calls(x, PS_INPUTS, n * (double)calls, &system, &user, "generated_samples",
                           (size_t)chunk, &x->input);
    }
    buf_done(&system);
    buf_done(&user);
    return r;
}

/* count new nodes at `level` under the node of `path`: the subtree each will grow, all new. */
static int new_subtree(struct est *x, struct json_object *path, int level, double count)
{
    const struct pipeline_spec *s = x->spec;
    const char *ch = x->name_share > 0.5 ? "文" : "x"; /* placeholder names: the names' script */
    size_t base = json_object_array_length(path), chl = strlen(ch);
    size_t len = (size_t)ceil(x->name.cjk + x->name.other);
    char *name = NULL;
    int r = 0;

    if (count <= 0)
        return 0;
    if (!(name = calloc(len * chl + 1, 1)))
        return HE_NOMEM;
    for (size_t i = 0; i < len; i++)
        memcpy(name + i * chl, ch, chl);
    for (int k = level; r == 0 && k <= s->depth; k++) {
        json_object_array_add(path, json_object_new_string(name));
        if (k == s->depth) {
            x->out->leaves += (int64_t)count;
            r = inputs_calls(x, path, count, s->per_leaf);
        } else {
            r = topics_calls(x, path, k, count, (size_t)s->breadth[k], NULL, 0);
            count *= s->breadth[k];
        }
    }
    json_object_array_del_idx(path, base, json_object_array_length(path) - base);
    free(name);
    return r;
}

/* A stored node at `level` (its key and path): its missing children, then each child. */
static int stored_node(struct est *x, const char *key, struct json_object *path, int level)
{
    const struct pipeline_spec *s = x->spec;
    size_t first, n, missing;
    char **names;
    int r = 0;

    if (level == s->depth)
        return inputs_calls(x, path, 1, s->per_leaf - samples_at(x, key));
    n = children(x, key, &first);
    missing = n < (size_t)s->breadth[level] ? (size_t)s->breadth[level] - n : 0;
    if (!(names = calloc(n + 1, sizeof(*names))))
        return HE_NOMEM;
    for (size_t i = 0; i < n; i++)
        names[i] = (char *)x->nodes[first + i].name;
    r = topics_calls(x, path, level, 1, missing, names, n);
    free(names);
    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct node *c = &x->nodes[first + i];
        json_object_array_add(path, json_object_new_string(c->name));
        r = stored_node(x, c->key, path, level + 1);
        json_object_array_del_idx(path, json_object_array_length(path) - 1, 1);
    }
    if (r == 0)
        r = new_subtree(x, path, level + 1, (double)missing);
    return r;
}

/* Outputs (one call a sample, two with chain of thought) and the judge (one a sample). */
static int sample_calls(struct est *x, double n)
{
    const struct pipeline_spec *s = x->spec;
    struct tally both = x->input, judged = {0, 0};
    struct buf system, user;
    int r;

    tally_add(&both, &x->output, 1);
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    r = prompt_output_system(x->task, (enum prompt_method)s->prompt_method, x->examples.items,
                             x->examples.n, s->outputs.human_guidance, &system);
    if (r == 0 && prompt_method_cot((enum prompt_method)s->prompt_method)) {
        /* think: the input, then the instruction; answer: input, thinking, the final turn */
        r = buf_addf(&user, "\n\n---\n%s Do not give your final answer yet.",
                     prompt_thinking_instruction(x->task));
        if (r == 0)
            add_calls(x, PS_OUTPUTS, n, &system, &user, &x->input, &x->output);
        buf_reset(&user);
        if (r == 0)
            r = buf_addf(&user, "\n\n%s", prompt_cot_final);
        if (r == 0)
            add_calls(x, PS_OUTPUTS, n, &system, &user, &both, &x->output);
    } else if (r == 0) {
        add_calls(x, PS_OUTPUTS, n, &system, &user, &x->input, &x->output);
    }
    if (r == 0 && s->judge) {
        buf_reset(&system);
        buf_reset(&user);
        r = judge_prompt(x->task, &s->judge_model, "", "", &system, &user);
        judged = tally_of(EST_JUDGE_ANSWER_CHARS, share_of(&x->output, 0));
        if (r == 0)
            add_calls(x, PS_JUDGE, n, &system, &user, &both, &judged);
    }
    buf_done(&system);
    buf_done(&user);
    return r;
}

/* ---- prices ---- */

static void note_unpriced(struct pipeline_estimate *est, const char *provider, const char *model)
{
    char *name;
    size_t len = strlen(provider) + strlen(model) + 2;

    for (size_t i = 0; i < est->n_unpriced; i++)
        if (strncmp(est->unpriced[i], provider, strlen(provider)) == 0 &&
            est->unpriced[i][strlen(provider)] == '/' &&
            strcmp(est->unpriced[i] + strlen(provider) + 1, model) == 0)
            return;
    if (est->n_unpriced >= sizeof(est->unpriced) / sizeof(est->unpriced[0]) ||
        !(name = arena_alloc(&est->mem, len)))
        return;
    snprintf(name, len, "%s/%s", provider, model);
    est->unpriced[est->n_unpriced++] = name;
}

static void price_stage(const struct gen_env *env, struct pipeline_estimate *est,
                        enum pipeline_stage st, const char *provider, const char *model)
{
    struct pipeline_stage_estimate *se = &est->stage[st];
    struct llm_usage u = {
        se->input_tokens, se->output_tokens, se->input_tokens + se->output_tokens, -1, 0, 0};
    struct llm_price p;
    double cost;

    se->priced = true;
    se->cost_usd = 0;
    if (se->calls == 0)
        return;
    llm_config_price(env && env->engine ? llm_engine_config(env->engine) : NULL, provider, model,
                     &p);
    cost = llm_price_cost(&p, &u);
    if (cost < 0) {
        se->priced = false;
        se->cost_usd = NAN;
        note_unpriced(est, provider, model);
        return;
    }
    se->cost_usd = cost;
}

static void price(const struct gen_env *env, const struct pipeline_spec *s,
                  struct pipeline_estimate *est)
{
    struct pipeline_stage_estimate *t = &est->total;

    price_stage(env, est, PS_TOPICS, s->topics.provider, s->topics.model_name);
    price_stage(env, est, PS_INPUTS, s->inputs.provider, s->inputs.model_name);
    price_stage(env, est, PS_DEDUP, NULL, NULL);
    price_stage(env, est, PS_OUTPUTS, s->outputs.provider, s->outputs.model_name);
    price_stage(env, est, PS_JUDGE, s->judge_model.provider, s->judge_model.model_name);
    *t = (struct pipeline_stage_estimate){0, 0, 0, 0, true};
    for (int i = 0; i < PS_COUNT; i++) {
        t->calls += est->stage[i].calls;
        t->input_tokens += est->stage[i].input_tokens;
        t->output_tokens += est->stage[i].output_tokens;
        t->cost_usd += est->stage[i].cost_usd;
        t->priced = t->priced && est->stage[i].priced;
    }
    if (!t->priced)
        t->cost_usd = NAN;
}

/* ---- the estimate ---- */

static int no_row(void *ud, enum stats_dim dim, const char *key, const struct stats_count *c,
                  struct err *e)
{
    (void)ud, (void)dim, (void)key, (void)c, (void)e;
    return 0;
}

/* The stored texts the expected ones are measured on: the newest samples' and the names'. */
struct measure {
    struct tally input, output;
    int64_t n;
};

static int measure_run(void *ud, const struct run *r, struct err *e)
{
    struct measure *m = ud;

    (void)e;
    tally_text(&m->input, r->input ? r->input : "", r->input ? strlen(r->input) : 0);
    tally_text(&m->output, r->output ? r->output : "", r->output ? strlen(r->output) : 0);
    m->n++;
    return 0;
}

/*
 * Expected texts: as long as the stored samples' mean input and output (store_stats) and the
 * stored names' mean, else the EST_* defaults; as much CJK as the newest MEASURED samples and
 * the stored names have, else as the task's instruction and description.
 */
#define MEASURED 50
static int expect_lengths(const struct gen_env *env, struct est *x, struct err *e)
{
    struct run_filter f = {
        .task_id = x->task->id, .min_rating = NAN, .min_judge_rating = NAN, .limit = MEASURED};
    struct measure m = {{0, 0}, {0, 0}, 0};
    struct tally names = {0, 0};
    struct store_stats st;
    struct buf lang;
    double task_share;
    int r;

    memset(&st, 0, sizeof(st));
    if ((r = store_stats(env->store, x->task->id, &st, no_row, NULL, e)) < 0 ||
        (r = store_run_list(env->store, &f, measure_run, &m, e)) < 0)
        return r;
    for (size_t i = 0; i < x->n_nodes; i++)
        tally_text(&names, x->nodes[i].name, strlen(x->nodes[i].name));
    buf_init(&lang, PROMPT_MAX);
    r = buf_addf(&lang, "%s\n%s", x->task->instruction ? x->task->instruction : "",
                 x->task->description ? x->task->description : "");
    task_share = r == 0 ? pipeline_cjk_share(lang.data) : 0;
    buf_done(&lang);
    x->name_share = share_of(&names, task_share);
    x->input = tally_of(st.input_chars.n > 0 ? st.input_chars.mean : EST_INPUT_CHARS,
                        share_of(&m.input, task_share));
    x->output = tally_of(st.output_chars.n > 0 ? st.output_chars.mean : EST_OUTPUT_CHARS,
                         share_of(&m.output, task_share));
    x->name = tally_of(x->n_nodes ? fmax(1, ceil((names.cjk + names.other) / (double)x->n_nodes))
                                  : EST_TOPIC_NAME_CHARS,
                       x->name_share);
    return 0;
}

static int estimate_tree(struct est *x)
{
    const struct pipeline_spec *s = x->spec;
    char **names = calloc(s->n_start + 1, sizeof(*names));
    struct json_object *path = json_object_new_array();
    char *key;
    int r;

    if (!names || !path) {
        free(names);
        json_object_put(path);
        return HE_NOMEM;
    }
    for (size_t i = 0; i < s->n_start; i++) {
        names[i] = (char *)s->start_path[i];
        json_object_array_add(path, json_object_new_string(s->start_path[i]));
    }
    key = taskrun_topic_key(names, s->n_start);
    r = key ? stored_node(x, key, path, 0) : HE_NOMEM;
    free(key);
    free(names);
    json_object_put(path);
    return r;
}

int pipeline_estimate(const struct gen_env *env, const struct task *t,
                      const struct pipeline_spec *s, struct pipeline_estimate *ret, struct err *e)
{
    struct est x = {.task = t, .spec = s, .out = ret, .mem = &ret->mem};
    int r;

    memset(ret, 0, sizeof(*ret));
    arena_init(&ret->mem);
    if ((r = store_topic_list(env->store, t->id, add_node, &x, e)) < 0 ||
        (r = store_topic_counts(env->store, t->id, add_count, &x, e)) < 0 ||
        (r = expect_lengths(env, &x, e)) < 0 ||
        (r = gen_examples_load(env->store, t->id, (enum prompt_method)s->prompt_method, &x.examples,
                               e)) < 0)
        goto out;
    if (x.n_nodes) /* qsort and bsearch want an array, even of none */
        qsort(x.nodes, x.n_nodes, sizeof(*x.nodes), by_parent);
    if (x.n_counts)
        qsort(x.counts, x.n_counts, sizeof(*x.counts), by_key);
    if ((r = estimate_tree(&x)) == 0)
        r = sample_calls(&x, (double)ret->samples);
    if (r < 0) {
        r = err_set(e, r, NULL, "the estimate's prompts are too large");
        goto out;
    }
    for (int i = 0; i < PS_COUNT; i++) {
        ret->stage[i].input_tokens = (int64_t)llround(x.tokens[i][0]);
        ret->stage[i].output_tokens = (int64_t)llround(x.tokens[i][1]);
    }
    price(env, s, ret);
out:
    gen_examples_done(&x.examples);
    free(x.nodes);
    free(x.counts);
    if (r < 0)
        pipeline_estimate_done(ret);
    return r;
}

void pipeline_estimate_done(struct pipeline_estimate *est)
{
    if (!est)
        return;
    arena_done(&est->mem);
    memset(est, 0, sizeof(*est));
}

/* ---- JSON ---- */

static struct json_object *stage_json(const struct pipeline_stage_estimate *se)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "calls", json_object_new_int64(se->calls));
    json_object_object_add(o, "input_tokens", json_object_new_int64(se->input_tokens));
    json_object_object_add(o, "output_tokens", json_object_new_int64(se->output_tokens));
    json_object_object_add(o, "cost_usd", se->priced ? json_object_new_double(se->cost_usd) : NULL);
    return o;
}

struct json_object *pipeline_estimate_json(const struct pipeline_estimate *est)
{
    struct json_object *o = json_object_new_object(), *stages = json_object_new_object(),
                       *unpriced = json_object_new_array();
    struct buf note;

    for (int i = 0; i < PS_COUNT; i++)
        json_object_object_add(stages, pipeline_stage_name((enum pipeline_stage)i),
                               stage_json(&est->stage[i]));
    json_object_object_add(o, "stages", stages);
    json_object_object_add(o, "total", stage_json(&est->total));
    json_object_object_add(o, "leaves", json_object_new_int64(est->leaves));
    json_object_object_add(o, "samples", json_object_new_int64(est->samples));
    json_object_object_add(o, "priced", json_object_new_boolean(est->total.priced));
    buf_init(&note, 4096);
    buf_adds(&note, "Tokens are estimated: one per CJK character and one per 4 other "
                    "characters of the prompts Hetu sends and of answers of the expected length.");
    for (size_t i = 0; i < est->n_unpriced; i++) {
        json_object_array_add(unpriced, json_object_new_string(est->unpriced[i]));
        buf_addf(&note, "%s%s", i ? ", " : " The cost is unknown: no price is known for ",
                 est->unpriced[i]);
    }
    if (est->n_unpriced)
        buf_adds(&note, " (set price_input_per_mtok and price_output_per_mtok in the "
                        "providers configuration).");
    json_object_object_add(o, "unpriced", unpriced);
    json_object_object_add(o, "note", json_object_new_string(note.data ? note.data : ""));
    buf_done(&note);
    return o;
}
