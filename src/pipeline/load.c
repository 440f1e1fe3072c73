/* SPDX-License-Identifier: MIT */
/*
 * Taking up a pipeline or judge job (driver thread): its params (pipeline.h), its task, and for
 * a pipeline what it keeps in memory, read from the store so that a restart goes on as if
 * nothing had happened: the task's tree and samples per node, the inputs the job accepted (its
 * outputs items, whatever their state), the signatures near-duplicate checks compare with,
 * the few-shot examples of its prompt method, and what its recorded items spent.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dedup/near_job.h"
#include "pipeline/driver_int.h"
#include "util/json.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define SIGN_TEXT_MAX ((size_t)16 << 20)

static const char *str_member(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* A judge job's judge: {"provider", "model_name", "human_guidance", "keep",
 * "drop_unsupported_params"}. */
static int read_judge(struct pjob *j, struct json_object *o, struct err *e)
{
    struct json_object *v;

    j->judge.provider = arena_strdup(&j->mem, str_member(o, "provider"));
    j->judge.model_name = arena_strdup(&j->mem, str_member(o, "model_name"));
    j->judge.guidance = arena_strdup(&j->mem, str_member(o, "human_guidance"));
    if (!j->judge.provider || !j->judge.model_name)
        return err_set(e, HE_INVALID, NULL, "the job's params name no judge model");
    j->keep = NAN;
    if (json_object_object_get_ex(o, "keep", &v) && v)
        j->keep = json_object_get_double(v);
    j->judge.drop_unsupported =
        json_object_object_get_ex(o, "drop_unsupported_params", &v) && json_object_get_boolean(v);
    return 0;
}

static int read_params(struct pjob *j, struct json_object *o, const char **ret_project,
                       struct err *e)
{
    struct json_object *v = NULL;
    const char *request_id = str_member(o, "request_id");
    int r;

    if (!(*ret_project = str_member(o, "project_id")))
        return err_set(e, HE_INVALID, NULL, "the job's params name no project");
    snprintf(j->request_id, sizeof(j->request_id), "%s", request_id ? request_id : "");
    if (!json_object_object_get_ex(o, j->pipeline ? "spec" : "judge", &v) || !v)
        return err_set(e, HE_INVALID, NULL, "the job's params hold no %s",
                       j->pipeline ? "pipeline" : "judge model");
    if (j->pipeline) {
        if ((r = pipeline_spec_decode(v, &j->mem, &j->spec, e)) < 0)
            return r;
        j->judge = j->spec.judge_model;
        j->keep = j->spec.keep;
    } else if ((r = read_judge(j, v, e)) < 0) {
        return r;
    }
    v = NULL;
    json_object_object_get_ex(o, "budget", &v);
    if ((r = pipeline_budget_parse(v, "budget", &j->budget, e)) < 0)
        return r;
    v = NULL;
    json_object_object_get_ex(o, "estimate", &v);
    budget_init(j, v);
    return 0;
}

/* ---- memory ---- */

static int add_kid(void *ud, const char *parent_key, const char *name, struct err *e)
{
    struct pjob *j = ud;
    return memo_add_kid(&j->memo, parent_key, name) < 0 ? err_set(e, HE_NOMEM, NULL, NULL) : 0;
}

static int add_count(void *ud, const char *topic_key, int64_t count, struct err *e)
{
    struct pjob *j = ud;
    struct memo_node *n = memo_node(&j->memo, topic_key, true);

    if (!n)
        return err_set(e, HE_NOMEM, NULL, NULL);
    n->samples = count;
    return 0;
}

struct signing {
    struct pjob *j;
    struct buf scratch;
};

static int sign_text(struct signing *g, const char *text, struct err *e)
{
    struct minhash_sig sig;
    int r;

    if ((r = near_sign_input(text, strlen(text), &g->scratch, &sig, e)) < 0)
        return r;
    return memo_sig_add(&g->j->memo, &sig, -1) < 0 ? err_set(e, HE_NOMEM, NULL, NULL) : 0;
}

static int sign_run(void *ud, const struct run *r, struct err *e)
{
    return sign_text(ud, r->input ? r->input : "", e);
}

/* An outputs item of the job: its input was accepted. */
static int add_accepted(void *ud, const struct job_item_row *row, struct err *e)
{
    struct signing *g = ud;
    struct json_object *o = NULL, *in;
    struct err pe = ERR_INIT;
    uint64_t h;
    int r = 0;

    if (json_parse(row->payload, row->len, &o, &pe) < 0)
        return 0;
    if (json_object_object_get_ex(o, "input", &in) && json_object_is_type(in, json_type_string)) {
        const char *t = json_object_get_string(in);
        if (g->j->spec.dedup_exact && text_norm_hash(t, strlen(t), &h, e) == 0 &&
            memo_hash_add(&g->j->memo, (int64_t)h, -1) < 0)
            r = err_set(e, HE_NOMEM, NULL, NULL);
        if (r == 0 && g->j->spec.dedup_near)
            r = sign_text(g, t, e);
    }
    json_object_put(o);
    return r;
}

static int load_memo(struct pjob *j, struct err *e)
{
    struct store *st = driver_env(j)->store;
    struct signing g = {j};
    struct job_item_query q = {j->job.id, "outputs",
                               JOB_ITEM_PENDING | JOB_ITEM_DONE | JOB_ITEM_FAILED, -1, 0};
    struct run_filter f = {.task_id = j->task.id, .min_rating = NAN, .min_judge_rating = NAN};
    int r;

    buf_init(&g.scratch, SIGN_TEXT_MAX);
    if (j->spec.dedup_near)
        memo_near_init(&j->memo, j->spec.near_threshold);
    if ((r = store_topic_list(st, j->task.id, add_kid, j, e)) == 0 &&
        (r = store_topic_counts(st, j->task.id, add_count, j, e)) == 0 &&
        (!j->spec.dedup_near || (r = store_run_list(st, &f, sign_run, &g, e)) == 0))
        r = store_job_items_scan(st, &q, add_accepted, &g, e);
    buf_done(&g.scratch);
    if (r == 0 && prompt_method_examples((enum prompt_method)j->spec.prompt_method) > 0) {
        if ((r = gen_examples_load(st, j->task.id, (enum prompt_method)j->spec.prompt_method,
                                   &j->examples, e)) == 0)
            j->examples_ready = true;
    }
    return r;
}

int adopt_load(struct pjob *j, const char *params, struct err *e)
{
    struct json_object *o = NULL;
    const char *project_id = NULL;
    int r;

    arena_init(&j->mem);
    if ((r = json_parse(params ? params : "", params ? strlen(params) : 0, &o, e)) < 0)
        return r;
    if ((r = read_params(j, o, &project_id, e)) == 0 &&
        (r = store_task_get(driver_env(j)->store, project_id, j->job.task_id, &j->task, e)) == 0 &&
        !j->task.instruction)
        r = err_set(e, HE_NOT_FOUND, NULL, "the job's task is gone");
    json_object_put(o);
    if (r == 0 && j->pipeline)
        r = load_memo(j, e);
    if (r == 0)
        r = budget_load_spent(j, e);
    return r;
}
