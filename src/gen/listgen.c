/* SPDX-License-Identifier: MIT */
/*
 * Generating lists: subtopics of a topic-tree node, and task inputs for a topic.
 *
 * The caller was promised exactly `count` distinct new items. Models miscount and repeat
 * themselves, so each reply is filtered (blank, repeated, or already-present items dropped;
 * names compared case- and space-insensitively) and, while items are missing, a follow-up call
 * asks for just the missing ones, naming everything already taken. After GEN_MAX_FOLLOWUPS
 * follow-ups that still fall short, the operation fails with what was missing.
 *
 * An operation lives from gen_categories/gen_samples until its callback: it is driven by engine
 * callbacks (one call in flight at a time), and for categories by the store's writer callback
 * that saves the new names into the topic tree.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/listgen.h"
#include "gen/taskrun.h"
#include "llm/engine.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

enum list_kind { LIST_CATEGORIES, LIST_SAMPLES };

struct strv {
    char **v;
    size_t n, cap;
};

static int strv_push(struct strv *s, const char *str)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return HE_NOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(str)))
        return HE_NOMEM;
    s->n++;
    return 0;
}

static bool strv_has(const struct strv *s, const char *str)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], str) == 0)
            return true;
    return false;
}

static void strv_done(struct strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

struct list_op {
    struct gen_env env;
    enum list_kind kind;
    struct task task; /* the fields the prompts use, copied */
    struct json_object *path, *existing, *items;
    struct schema *schema;
    size_t count;
    char *provider, *model, *guidance, *parent_key;
    bool drop;
    uint64_t group;
    const atomic_bool *cancelled;
    bool cache_prefix;
    gen_list_raw_cb raw;
    struct strv exclude; /* shown to the model: present names, then those taken */
    struct strv keys;    /* comparison keys of everything present or taken */
    int calls;
    struct llm_usage usage;
    char *reasoning;
    const char **new_names; /* categories: what the topic tree is given (read by the writer) */
    char *turn_key;         /* categories: the node this op has (or waits for) the turn of */
    struct list_op *turn_next;
    char output_id[ID_LEN];
    int64_t started_at;
    gen_done_cb cb;
    void *ud;
};

/*
 * Subtopic calls on one node take turns (in this process): each reads the node's children when
 * it begins, so a second concurrent call would not see the names the first one is adding.
 */
struct node_turn {
    char *key; /* task id, then the node's topic key */
    struct list_op *head, *tail;
    struct node_turn *next;
};

static pthread_mutex_t turns_lock = PTHREAD_MUTEX_INITIALIZER;
static struct node_turn *turns;

static void op_free(struct list_op *op)
{
    json_object_put(op->path);
    json_object_put(op->existing);
    schema_unref(op->schema);
    json_object_put(op->items);
    free(op->new_names);
    free(op->turn_key);
    task_done(&op->task);
    free(op->provider);
    free(op->model);
    free(op->guidance);
    free(op->parent_key);
    free(op->reasoning);
    strv_done(&op->exclude);
    strv_done(&op->keys);
    free(op);
}

static int begin(struct list_op *op, struct err *e);
static void fail(struct list_op *op, const struct err *e);
static void answer_error(struct list_op *op, const struct err *e);

/* Takes the node's turn, or queues op behind the op that has it. Returns true when op may
 * begin now. */
static bool turn_take(struct list_op *op)
{
    struct node_turn *t;

    pthread_mutex_lock(&turns_lock);
    for (t = turns; t; t = t->next)
        if (strcmp(t->key, op->turn_key) == 0)
            break;
    if (t) {
        if (t->tail)
            t->tail->turn_next = op;
        else
            t->head = op;
        t->tail = op;
        pthread_mutex_unlock(&turns_lock);
        return false;
    }
    t = calloc(1, sizeof(*t));
    if (t && (t->key = strdup(op->turn_key))) {
        t->next = turns;
        turns = t;
    } else {
        free(t);
    }
    pthread_mutex_unlock(&turns_lock);
    return true;
}

/* Passes the node's turn to the next op waiting for it (begun here), or frees the turn. */
static void turn_pass(const char *key)
{
    for (;;) {
        struct node_turn **pp, *t;
        struct list_op *next = NULL;
        struct err e;

        pthread_mutex_lock(&turns_lock);
        for (pp = &turns; *pp; pp = &(*pp)->next)
            if (strcmp((*pp)->key, key) == 0)
                break;
        t = *pp;
        if (t && t->head) {
            next = t->head;
            t->head = next->turn_next;
            if (!t->head)
                t->tail = NULL;
        } else if (t) {
            *pp = t->next;
            free(t->key);
            free(t);
        }
        pthread_mutex_unlock(&turns_lock);
        if (!next)
            return;
        err_clear(&e);
        if (begin(next, &e) == 0)
            return;
        /* It could not begin: answer it, and offer the turn to the one after it. */
        answer_error(next, &e);
        op_free(next);
    }
}

static void op_end(struct list_op *op)
{
    char *key = op->turn_key ? strdup(op->turn_key) : NULL;
    op_free(op);
    if (key) {
        turn_pass(key);
        free(key);
    }
}

/* Answers a failure to whoever waits: the raw callback or the TaskRun one. */
static void answer_error(struct list_op *op, const struct err *e)
{
    if (op->raw)
        op->raw(op->ud, NULL, NULL, op->calls, e);
    else
        op->cb(op->ud, NULL, e);
}

static void fail(struct list_op *op, const struct err *e)
{
    answer_error(op, e);
    op_end(op);
}

static void fail_msg(struct list_op *op, int code, const char *msg)
{
    struct err e;
    err_clear(&e);
    err_set(&e, code, NULL, "%s", msg);
    fail(op, &e);
}

char *listgen_item_key(struct json_object *item)
{
    if (json_object_is_type(item, json_type_string))
        return text_norm_key(json_object_get_string(item));
    return strdup(json_text(item, NULL));
}

struct json_object *listgen_item(struct json_object *entry, bool name)
{
    const char *s;
    size_t len;

    if (!json_object_is_type(entry, json_type_string))
        return json_object_get(entry);
    s = json_object_get_string(entry);
    len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\n' || s[len - 1] == '\t'))
        len--;
    while (len && (*s == ' ' || *s == '\n' || *s == '\t')) {
        s++;
        len--;
    }
    if (len == 0 ||
        (name && (utf8_length(s, len) > LISTGEN_NAME_MAX_CHARS || gen_topic_name_fault(s, len))))
        return NULL;
    return json_object_new_string_len(s, (int)len);
}

enum listgen_next listgen_next(size_t have, size_t count, int calls)
{
    if (have >= count)
        return LISTGEN_DONE;
    return calls <= GEN_MAX_FOLLOWUPS ? LISTGEN_FOLLOW_UP : LISTGEN_SHORT;
}

static struct json_object *build_schema(enum list_kind kind, const char *input_schema)
{
    struct json_object *item = NULL, *o, *props, *arr, *req;
    struct err e;

    err_clear(&e);
    if (kind == LIST_SAMPLES && input_schema &&
        json_parse(input_schema, strlen(input_schema), &item, &e) < 0)
        item = NULL;
    if (!item) {
        item = json_object_new_object();
        json_object_object_add(item, "type", json_object_new_string("string"));
    }
    arr = json_object_new_object();
    json_object_object_add(arr, "type", json_object_new_string("array"));
    json_object_object_add(arr, "items", item);
    props = json_object_new_object();
    json_object_object_add(props, kind == LIST_CATEGORIES ? "subtopics" : "generated_samples", arr);
    req = json_object_new_array();
    json_object_array_add(
        req, json_object_new_string(kind == LIST_CATEGORIES ? "subtopics" : "generated_samples"));
    o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("object"));
    json_object_object_add(o, "properties", props);
    json_object_object_add(o, "required", req);
    json_object_object_add(o, "additionalProperties", json_object_new_boolean(0));
    return o;
}

static void on_reply(void *ud, const struct llm_result *res);

static int submit(struct list_op *op, struct err *e)
{
    if (op->cancelled && atomic_load(op->cancelled))
        return err_set(e, HE_CANCELLED, NULL, "the client went away");
    size_t have = json_object_array_length(op->items);
    struct buf system, user;
    struct llm_message msgs[2];
    struct llm_request req = {0};
    int r;

    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    r = op->kind == LIST_CATEGORIES
            ? prompt_categories(&op->task, op->path, op->count - have, op->guidance, op->exclude.v,
                                op->exclude.n, &system, &user)
            : prompt_samples(&op->task, op->path, op->count - have, op->guidance, op->exclude.v,
                             op->exclude.n, &system, &user);
    if (r < 0) {
        r = err_set(e, r, NULL, "the prompt is too large (too many names to exclude)");
        goto out;
    }
    msgs[0] = (struct llm_message){LLM_ROLE_SYSTEM, system.data};
    msgs[1] = (struct llm_message){LLM_ROLE_USER, user.data};
    req.provider = op->provider;
    req.model = op->model;
    req.messages = msgs;
    req.n_messages = 2;
    req.schema = op->schema;
    req.schema_name = op->kind == LIST_CATEGORIES ? "subtopics" : "generated_samples";
    req.drop_unsupported_params = op->drop;
    req.group = op->group;
    req.cache_prefix = op->cache_prefix;
    op->calls++;
    r = llm_submit(op->env.engine, &req, on_reply, op, e);
out:
    buf_done(&system);
    buf_done(&user);
    return r;
}

static void finish(struct list_op *op);

static void on_topics_saved(void *ud, int result, const struct err *e)
{
    struct list_op *op = ud;
    if (result < 0) {
        fail(op, e);
        return;
    }
    finish(op);
}

static void complete(struct list_op *op)
{
    struct err e;
    size_t n = json_object_array_length(op->items);

    if (op->raw) {
        op->raw(op->ud, op->items, &op->usage, op->calls, NULL);
        op_end(op);
        return;
    }
    if (op->kind == LIST_SAMPLES) {
        finish(op);
        return;
    }
    /* Store the new names as children of the node, then answer. The names point into
     * op->items and stay valid until the op is freed, after the write's callback. */
    err_clear(&e);
    op->new_names = calloc(n ? n : 1, sizeof(*op->new_names));
    if (!op->new_names) {
        fail_msg(op, HE_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        op->new_names[i] = json_object_get_string(json_object_array_get_idx(op->items, i));
    if (store_topic_add_async(op->env.store, op->task.id, op->parent_key, op->new_names, n,
                              on_topics_saved, op, &e) < 0)
        fail(op, &e);
}

static void on_reply(void *ud, const struct llm_result *res)
{
    struct list_op *op = ud;
    struct json_object *list;
    const char *key = op->kind == LIST_CATEGORIES ? "subtopics" : "generated_samples";
    size_t n;
    struct err e;

    err_clear(&e);
    gen_usage_add(&op->usage, &res->usage);
    if (res->code < 0) {
        gen_model_error(&res->err, &e);
        fail(op, &e);
        return;
    }
    if (res->reasoning && !op->reasoning)
        op->reasoning = strdup(res->reasoning);
    if (!json_object_object_get_ex(res->json, key, &list) ||
        !json_object_is_type(list, json_type_array)) {
        fail_msg(op, HE_PROVIDER,
                 op->kind == LIST_CATEGORIES ? "the model's answer has no subtopics list"
                                             : "the model's answer has no generated_samples list");
        return;
    }
    n = json_object_array_length(list);
    for (size_t i = 0; i < n && json_object_array_length(op->items) < op->count; i++) {
        struct json_object *item =
            listgen_item(json_object_array_get_idx(list, i), op->kind == LIST_CATEGORIES);
        char *k;

        if (!item)
            continue;
        k = listgen_item_key(item);
        if (!k || !*k || strv_has(&op->keys, k)) {
            free(k);
            json_object_put(item);
            continue;
        }
        if (strv_push(&op->keys, k) < 0 ||
            strv_push(&op->exclude, json_object_is_type(item, json_type_string)
                                        ? json_object_get_string(item)
                                        : json_text(item, NULL)) < 0) {
            free(k);
            json_object_put(item);
            fail_msg(op, HE_NOMEM, "out of memory");
            return;
        }
        free(k);
        json_object_array_add(op->items, item);
    }
    switch (listgen_next(json_object_array_length(op->items), op->count, op->calls)) {
    case LISTGEN_DONE: complete(op); return;
    case LISTGEN_FOLLOW_UP:
        if (submit(op, &e) < 0)
            fail(op, &e);
        return;
    case LISTGEN_SHORT: break;
    }
    err_set(&e, HE_PROVIDER, NULL,
            "provider %s model %s gave %zu distinct new %s of the %zu asked for after %d calls",
            op->provider, op->model, json_object_array_length(op->items),
            op->kind == LIST_CATEGORIES ? "subtopics" : "samples", op->count, op->calls);
    fail(op, &e);
}

static void finish(struct list_op *op)
{
    struct json_object *in = json_object_new_object(), *out = json_object_new_object();
    struct run r;
    char *in_props, *out_props;

    if (op->kind == LIST_CATEGORIES) {
        json_object_object_add(in, "node_path", json_object_get(op->path));
        json_object_object_add(in, "num_subtopics", json_object_new_int((int)op->count));
        json_object_object_add(in, "existing_topics",
                               op->existing ? json_object_get(op->existing)
                                            : json_object_new_array());
        json_object_object_add(out, "subtopics", json_object_get(op->items));
    } else {
        json_object_object_add(in, "topic", json_object_get(op->path));
        json_object_object_add(in, "num_samples", json_object_new_int((int)op->count));
        json_object_object_add(out, "generated_samples", json_object_get(op->items));
    }
    json_object_object_add(in, "human_guidance", json_str_or_null(op->guidance));
    in_props = taskrun_props("created_by", op->env.user, NULL);
    out_props =
        taskrun_props("model_name", op->model, "model_provider", op->provider, "adapter_name",
                      "hetu_data_gen", "prompt_id", "simple_prompt_builder", NULL);
    memset(&r, 0, sizeof(r));
    memcpy(r.task_id, op->task.id, ID_LEN);
    memcpy(r.output_id, op->output_id, ID_LEN);
    r.created_at = op->started_at;
    r.output_created_at = clock_wall_us();
    r.created_by = op->env.user;
    r.input = json_text(in, NULL);
    r.input_source_type = "human";
    r.input_source = in_props;
    r.output = json_text(out, NULL);
    r.output_source_type = "synthetic";
    r.output_source = out_props;
    r.rating_score = NAN;
    r.intermediate_outputs = "{}";
    r.tags = "[]";
    r.input_tokens = op->usage.input_tokens;
    r.output_tokens = op->usage.output_tokens;
    r.total_tokens = op->usage.total_tokens;
    r.cost = op->usage.cost < 0 ? NAN : op->usage.cost;
    {
        struct json_object *inter = NULL;
        if (op->reasoning) {
            inter = json_object_new_object();
            json_object_object_add(inter, "reasoning", json_object_new_string(op->reasoning));
            r.intermediate_outputs = json_text(inter, NULL);
        }
        op->cb(op->ud, taskrun_render(&r), NULL);
        json_object_put(inter);
    }
    json_object_put(in);
    json_object_put(out);
    free(in_props);
    free(out_props);
    op_end(op);
}

struct child_scan {
    const char *parent_key;
    struct list_op *op;
};

static int add_child(void *ud, const char *parent_key, const char *name, struct err *e)
{
    struct child_scan *c = ud;
    char *k;

    if (strcmp(parent_key, c->parent_key) != 0)
        return 0;
    k = text_norm_key(name);
    if (!k || strv_push(&c->op->keys, k) < 0 || strv_push(&c->op->exclude, name) < 0) {
        free(k);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    free(k);
    return 0;
}

static int start(const struct gen_env *env, enum list_kind kind, const struct task *t,
                 const struct gen_list_params *p, gen_done_cb cb, void *ud, struct err *e)
{
    struct list_op *op;
    size_t n_path = json_object_array_length(p->path);
    char **names;
    int r, copied;

    if ((r = llm_check(env->engine, p->provider, p->model, e)) < 0)
        return r;
    op = calloc(1, sizeof(*op));
    names = calloc(n_path + 1, sizeof(*names));
    if (!op || !names) {
        free(op);
        free(names);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    op->env = *env;
    op->kind = kind;
    copied = task_copy(&op->task, t);
    /* Copies, not references: the op lives on other threads, and json-c's reference counts
     * are not atomic. */
    if (json_object_deep_copy(p->path, &op->path, NULL) != 0 ||
        (p->existing && json_object_deep_copy(p->existing, &op->existing, NULL) != 0)) {
        op_free(op);
        free(names);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    op->items = json_object_new_array();
    op->count = p->count;
    op->provider = strdup(p->provider);
    op->model = strdup(p->model);
    op->guidance = p->guidance && *p->guidance ? strdup(p->guidance) : NULL;
    op->drop = p->drop_unsupported;
    op->group = p->group;
    op->cancelled = p->cancelled;
    op->cache_prefix = p->cache_prefix;
    op->raw = p->raw;
    op->usage = (struct llm_usage){-1, -1, -1, -1};
    op->started_at = clock_wall_us();
    op->cb = cb;
    op->ud = ud;
    for (size_t i = 0; i < n_path; i++)
        names[i] = (char *)json_object_get_string(json_object_array_get_idx(p->path, i));
    op->parent_key = taskrun_topic_key(names, n_path);
    free(names);
    if (copied < 0 || !op->provider || !op->model || !op->parent_key) {
        op_free(op);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    {
        struct json_object *schema = build_schema(kind, op->task.input_json_schema);
        op->schema = schema_compile(schema, e);
        json_object_put(schema);
    }
    if (!op->schema) {
        r = e->code;
        goto fail;
    }
    if ((r = store_new_id(env->store, op->output_id, e)) < 0)
        goto fail;
    if (kind == LIST_SAMPLES) {
        if ((r = begin(op, e)) < 0)
            goto fail;
        return 0;
    }
    if (!(op->turn_key = malloc(strlen(t->id) + strlen(op->parent_key) + 2))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto fail;
    }
    snprintf(op->turn_key, strlen(t->id) + strlen(op->parent_key) + 2, "%s/%s", t->id,
             op->parent_key);
    if (!turn_take(op))
        return 0; /* begins when the op ahead of it on this node ends */
    if ((r = begin(op, e)) < 0) {
        op_end(op);
        return r;
    }
    return 0;
fail:
    op_free(op);
    return r;
}

/* Reads what the model must not repeat (categories), then makes the first call. */
static int begin(struct list_op *op, struct err *e)
{
    int r;

    if (op->kind == LIST_CATEGORIES) {
        struct child_scan scan = {op->parent_key, op};
        size_t n = op->existing ? json_object_array_length(op->existing) : 0;
        if ((r = store_topic_list(op->env.store, op->task.id, add_child, &scan, e)) < 0)
            return r;
        for (size_t i = 0; i < n; i++) {
            const char *name = json_object_get_string(json_object_array_get_idx(op->existing, i));
            char *k = text_norm_key(name);
            if (!k)
                continue;
            if (!strv_has(&op->keys, k) &&
                (strv_push(&op->keys, k) < 0 || strv_push(&op->exclude, name) < 0)) {
                free(k);
                return err_set(e, HE_NOMEM, NULL, NULL);
            }
            free(k);
        }
    }
    return submit(op, e);
}

int gen_categories(const struct gen_env *env, const struct task *t, const struct gen_list_params *p,
                   gen_done_cb cb, void *ud, struct err *e)
{
    return start(env, LIST_CATEGORIES, t, p, cb, ud, e);
}

int gen_samples(const struct gen_env *env, const struct task *t, const struct gen_list_params *p,
                gen_done_cb cb, void *ud, struct err *e)
{
    return start(env, LIST_SAMPLES, t, p, cb, ud, e);
}
