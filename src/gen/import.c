/* SPDX-License-Identifier: MIT */
/*
 * Samples of file imports. Every row of a file passes one check (gen_import_check_row), on the
 * upload's reader threads, before anything is stored: the row as the reader delivers it, typed,
 * never turned into JSON to be parsed again. The provenance of an imported row (its sources and
 * tags) is written here for both paths: rows saved inside the request (run_new) and the rows an
 * import job loads by the thousand (gen_import_run), where what the rows share is built once per
 * import and what each row needs lives in the slice's arena, so a row costs no allocation of
 * its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/taskrun.h"
#include "ingest/row.h"
#include "util/arena.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/text.h"
#include "util/textnorm.h"
#include "util/banned.h"

char *gen_import_input_source(const char *file_name, const char *model, const char *provider,
                              const char *topic_path)
{
    return taskrun_props("file_name", file_name, "model_name", model, "model_provider", provider,
                         "topic_path", topic_path, NULL);
}

char *gen_import_output_source(const char *file_name, const char *model, const char *provider)
{
    return taskrun_props("file_name", file_name, "model_name", model, "model_provider", provider,
                         NULL);
}

int gen_import_init(struct gen_import *g, const struct gen_env *env, const struct task *t,
                    const char *session_id, const char *file_name, const char *input_model,
                    const char *input_provider, const char *output_model,
                    const char *output_provider, struct err *e)
{
    struct arena *m = &g->mem;

    memset(g, 0, sizeof(*g));
    g->env = *env;
    g->task = t;
    g->session_id = session_id;
    g->file_name = file_name ? arena_strdup(m, file_name) : NULL;
    g->input_model = input_model ? arena_strdup(m, input_model) : NULL;
    g->input_provider = input_provider ? arena_strdup(m, input_provider) : NULL;
    g->output_model = output_model ? arena_strdup(m, output_model) : NULL;
    g->output_provider = output_provider ? arena_strdup(m, output_provider) : NULL;
    g->output_source =
        arena_take(m, gen_import_output_source(file_name, output_model, output_provider));
    g->input_source_no_topic =
        arena_take(m, gen_import_input_source(file_name, input_model, input_provider, NULL));
    g->tag_list = gen_tag_list(m, session_id, true, NULL, 0, &g->ntags);
    g->tags = g->tag_list ? arena_take(m, taskrun_string_list(g->tag_list, g->ntags)) : NULL;
    if ((file_name && !g->file_name) || (input_model && !g->input_model) ||
        (input_provider && !g->input_provider) || (output_model && !g->output_model) ||
        (output_provider && !g->output_provider) || !g->output_source ||
        !g->input_source_no_topic || !g->tags) {
        gen_import_done(g);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    return 0;
}

void gen_import_done(struct gen_import *g)
{
    arena_done(&g->mem);
    memset(g, 0, sizeof(*g));
}

/* The topic key and the topic string ("a>>>>>b") of a path, in the arena. */
static int topic_texts(struct arena *a, const char *const *names, size_t n, const char **key,
                       char **path)
{
    size_t len = 0;
    char *k, *p;

    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 5;
    if (!(k = arena_alloc(a, len + 1)) || !(p = arena_alloc(a, len + 1)))
        return HE_NOMEM;
    *key = k;
    *path = p;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        memcpy(k, names[i], l);
        k[l] = STORE_TOPIC_SEP[0];
        k += l + 1;
        if (i)
            p = (char *)memcpy(p, ">>>>>", 5) + 5;
        p = (char *)memcpy(p, names[i], l) + l;
    }
    *k = *p = '\0';
    return 0;
}

int gen_import_run(const struct gen_import *g, const struct gen_checked_row *row, struct arena *a,
                   struct run *r, struct err *e)
{
    char *path = NULL;
    uint64_t hash;

    memset(r, 0, sizeof(*r));
    if (text_norm_hash(row->input, row->input_len, &hash, e) < 0)
        return e->code;
    r->input_hash = (int64_t)hash;
    if (store_new_id(g->env.store, r->id, e) < 0 || store_new_id(g->env.store, r->output_id, e) < 0)
        return e->code;
    memcpy(r->task_id, g->task->id, ID_LEN);
    r->created_at = r->output_created_at = clock_wall_us();
    /* The run only borrows these. */
    r->created_by = g->env.user;
    r->input = row->input;
    r->output = row->output;
    r->input_source_type = r->output_source_type = "file_import";
    r->output_source = g->output_source;
    r->input_model = g->input_model;
    r->input_provider = g->input_provider;
    r->output_model = g->output_model;
    r->output_provider = g->output_provider;
    r->intermediate_outputs = "{}";
    r->session_id = g->session_id;
    if (row->n_topic == 0) {
        r->topic_key = "";
        r->input_source = g->input_source_no_topic;
    } else if (topic_texts(a, row->topic, row->n_topic, &r->topic_key, &path) < 0 ||
               !(r->input_source =
                     arena_take(a, gen_import_input_source(g->file_name, g->input_model,
                                                           g->input_provider, path)))) {
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    if (row->n_tags == 0) {
        r->tag_list = g->tag_list;
        r->ntags = g->ntags;
        r->tags = g->tags;
    } else {
        size_t n = 0;
        const char **list =
            gen_tag_list(a, g->session_id, true, (char *const *)row->tags, row->n_tags, &n);
        if (!list || !(r->tags = arena_take(a, taskrun_string_list(list, n))))
            return err_set(e, HE_NOMEM, NULL, NULL);
        r->tag_list = list;
        r->ntags = n;
    }
    r->rating_score = NAN;
    r->cost = NAN;
    r->input_tokens = r->output_tokens = r->total_tokens = -1;
    if (row->provenance && gen_provenance_apply(r, row->provenance, row->tags, row->n_tags, a) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

/* ---- the row check ---- */

/* An input or output (what names it): a string within the length limit, or with the task's
 * schema, a JSON object that matches it (then rewritten as compact JSON text in a). */
static int row_text(const char *what, const char *schema, const char *s, size_t len, bool is_json,
                    size_t line, struct arena *a, const char **ret, size_t *ret_len, struct err *e)
{
    struct json_object *o = NULL;
    char *text = NULL;
    struct err ce;
    int r;

    if (is_json && !schema)
        return err_set(e, HE_INVALID, what,
                       "line %zu: %s must be a string: the task has no schema for it", line, what);
    /* (bytes bound characters: only a long text is counted) */
    if (!is_json && len > TEXT_MAX_CHARS && utf8_length(s, len) > TEXT_MAX_CHARS)
        return err_set(e, HE_INVALID, what, "line %zu: %s is longer than %d characters", line, what,
                       TEXT_MAX_CHARS);
    if (!schema) {
        *ret = s;
        *ret_len = len;
        return 0;
    }
    err_clear(&ce);
    if (json_parse(s, len, &o, &ce) < 0 || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return err_set(e, HE_INVALID, what,
                       "line %zu: %s must be a JSON object matching the task's schema", line, what);
    }
    r = gen_check_object(o, what, schema, &text, &ce);
    json_object_put(o);
    if (r < 0)
        return err_set(e, r, ce.field, "line %zu: %s", line, ce.msg);
    if (!(*ret = arena_take(a, text)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    *ret_len = strlen(*ret);
    return 0;
}

/* Topic names or tags (what names them): at most max_items, each one line of max_chars; topic
 * names pass gen_topic_name_fault. */
static int row_names(const char *const *items, size_t n, size_t max_items, size_t max_chars,
                     bool topic, const char *what, size_t line, struct err *e)
{
    if (n > max_items)
        return err_set(e, HE_INVALID, what, "line %zu: %s has more than %zu items", line, what,
                       max_items);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (utf8_length(items[i], len) > max_chars)
            return err_set(e, HE_INVALID, what, "line %zu: %s[%zu] is longer than %zu characters",
                           line, what, i, max_chars);
        const char *fault = topic ? gen_topic_name_fault(items[i], len)
                            : text_has_control(items[i], len)
                                ? "must be one line without control characters"
                                : NULL;
        if (fault)
            return err_set(e, HE_INVALID, what, "line %zu: %s[%zu] %s", line, what, i, fault);
    }
    return 0;
}

int gen_import_check_row(struct gen_row_check *c, const struct ingest_row *row, struct arena *a,
                         struct gen_checked_row *ret, struct err *e)
{
    struct gen_checked_row k = {.guidance = row->human_guidance,
                                .topic = row->topic_path,
                                .n_topic = row->topic_path_count,
                                .tags = row->tags,
                                .n_tags = row->tags_count};
    int r;

    if ((r = row_text("input", c->task->input_json_schema, row->input, row->input_len,
                      row->input_is_json, row->line, a, &k.input, &k.input_len, e)) < 0 ||
        (row->output &&
         (r = row_text("output", c->task->output_json_schema, row->output, row->output_len,
                       row->output_is_json, row->line, a, &k.output, &k.output_len, e)) < 0) ||
        (r = row_names(k.topic, k.n_topic, TOPIC_MAX_DEPTH, TOPIC_MAX_CHARS, true, "topic_path",
                       row->line, e)) < 0 ||
        (r = row_names(k.tags, k.n_tags, TAG_MAX_COUNT, TAG_MAX_CHARS, false, "tags", row->line,
                       e)) < 0)
        return r;
    if (row->provenance) {
        if (!row->output)
            return err_set(e, HE_INVALID, "output",
                           "line %zu: a sample with its stored fields (rating, sources, ...) "
                           "needs its output",
                           row->line);
        if ((r = gen_provenance_check(row->provenance, row->provenance_len, row->line, a,
                                      &k.provenance, e)) < 0)
            return r;
    }
    if (k.guidance && utf8_length(k.guidance, strlen(k.guidance)) > GUIDANCE_MAX_CHARS)
        return err_set(e, HE_INVALID, "human_guidance",
                       "line %zu: human_guidance is longer than %d characters", row->line,
                       GUIDANCE_MAX_CHARS);
    if (!k.output && !c->models_checked) {
        struct gen_sample probe = {.output_model = (char *)c->output_model,
                                   .output_provider = (char *)c->output_provider};
        struct err me;
        err_clear(&me);
        if (gen_sample_check(c->env, &probe, NULL, &me) < 0)
            return err_set(e, me.code, me.field, "line %zu: %s", row->line, me.msg);
        c->models_checked = true;
    }
    if (k.n_topic > 0 && strcmp(k.topic[0], "root") == 0) { /* as gen_parse_topic_path drops it */
        k.topic++;
        k.n_topic--;
    }
    *ret = k;
    return 0;
}

/* ---- the sample of a checked row ---- */

static char **dup_list(const char *const *items, size_t n)
{
    char **l = calloc(n + 1, sizeof(*l));
    for (size_t i = 0; l && i < n; i++)
        if (!(l[i] = strdup(items[i]))) {
            while (i > 0)
                free(l[--i]);
            free(l);
            return NULL;
        }
    return l;
}

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

int gen_import_sample(const struct gen_import_source *src, const struct gen_checked_row *row,
                      struct gen_sample *ret)
{
    struct gen_sample s = {
        .input = strndup(row->input, row->input_len),
        .output = row->output ? strndup(row->output, row->output_len) : NULL,
        .topic = dup_list(row->topic, row->n_topic),
        .n_topic = row->n_topic,
        .input_model = dup_opt(src->input_model),
        .input_provider = dup_opt(src->input_provider),
        .output_model = dup_opt(src->output_model),
        .output_provider = dup_opt(src->output_provider),
        .method = src->method,
        .guidance = dup_opt(row->guidance),
        .source_type = strdup("file_import"),
        .file_name = dup_opt(src->file_name),
        .tags = dup_list(row->tags, row->n_tags),
        .ntags = row->n_tags,
        .provenance = dup_opt(row->provenance),
    };

    if (!s.input || (row->output && !s.output) || !s.topic ||
        (src->input_model && !s.input_model) || (src->input_provider && !s.input_provider) ||
        (src->output_model && !s.output_model) || (src->output_provider && !s.output_provider) ||
        (row->guidance && !s.guidance) || !s.source_type || (src->file_name && !s.file_name) ||
        !s.tags || (row->provenance && !s.provenance)) {
        if (!s.topic)
            s.n_topic = 0;
        if (!s.tags)
            s.ntags = 0;
        gen_sample_free(&s);
        return HE_NOMEM;
    }
    *ret = s;
    return 0;
}
