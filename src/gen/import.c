/* SPDX-License-Identifier: MIT */
/*
 * Samples of file imports. The provenance of an imported row (its sources and tags) is written
 * here for both paths: rows saved inside the request (run_new) and the rows an import job loads
 * by the thousand (gen_import_run), where what the rows share is built once per import and
 * what each row needs lives in the slice's arena, so a row costs no allocation of its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/taskrun.h"
#include "util/arena.h"
#include "util/clock.h"
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

static char *dup_opt(const char *s)
{
    return s ? strdup(s) : NULL;
}

int gen_import_init(struct gen_import *g, const struct gen_env *env, const struct task *t,
                    const char *session_id, const char *file_name, const char *input_model,
                    const char *input_provider, const char *output_model,
                    const char *output_provider, struct err *e)
{
    memset(g, 0, sizeof(*g));
    g->env = *env;
    g->task = t;
    g->session_id = session_id;
    g->file_name = dup_opt(file_name);
    g->input_model = dup_opt(input_model);
    g->input_provider = dup_opt(input_provider);
    g->output_source = gen_import_output_source(file_name, output_model, output_provider);
    g->input_source_no_topic =
        gen_import_input_source(file_name, input_model, input_provider, NULL);
    g->tag_list = gen_tag_list(&g->mem, session_id, true, NULL, 0, &g->ntags);
    g->tags = g->tag_list ? taskrun_string_list(g->tag_list, g->ntags) : NULL;
    if ((file_name && !g->file_name) || (input_model && !g->input_model) ||
        (input_provider && !g->input_provider) || !g->output_source || !g->input_source_no_topic ||
        !g->tags) {
        gen_import_done(g);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    return 0;
}

void gen_import_done(struct gen_import *g)
{
    free(g->file_name);
    free(g->input_model);
    free(g->input_provider);
    free(g->output_source);
    free(g->input_source_no_topic);
    arena_done(&g->mem);
    free(g->tags);
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

int gen_import_run(const struct gen_import *g, const struct gen_import_row *row, struct arena *a,
                   struct run *r, struct err *e)
{
    char *path = NULL;

    memset(r, 0, sizeof(*r));
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
    return 0;
}
