/* SPDX-License-Identifier: MIT */
/*
 * A pipeline job made (its params and first item, pipeline.h) and shown: per stage its items
 * and what they produced and spent, beside the estimate; the budget and what was spent.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/pipeline.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

int pipeline_job_create(struct store *store, const struct task *t, const struct pipeline_spec *s,
                        const struct pipeline_estimate *est, char job_id[ID_LEN], struct err *e)
{
    struct json_object *params = json_object_new_object(), *item = json_object_new_object(),
                       *path = json_object_new_array();
    struct job j = {0};
    struct job_new_item first;
    int r;

    json_object_object_add(params, "project_id", json_object_new_string(t->project_id));
    if (log_request())
        json_object_object_add(params, "request_id", json_object_new_string(log_request()));
    json_object_object_add(params, "spec", pipeline_spec_json(s));
    json_object_object_add(params, "budget", pipeline_budget_json(&s->budget));
    if (est)
        json_object_object_add(params, "estimate", pipeline_estimate_json(est));
    for (size_t i = 0; i < s->n_start; i++)
        json_object_array_add(path, json_object_new_string(s->start_path[i]));
    json_object_object_add(item, "path", path);
    json_object_object_add(item, "level", json_object_new_int(0));
    first = (struct job_new_item){"topics", json_text(item, NULL)};
    if ((r = store_new_id(store, j.id, e)) == 0) {
        memcpy(j.task_id, t->id, ID_LEN);
        j.kind = (char *)PIPELINE_JOB_KIND;
        j.status = JOB_QUEUED;
        j.params = (char *)json_text(params, NULL);
        j.total = 1;
        j.created_at = clock_wall_us();
        r = store_job_create_staged(store, &j, &first, 1, e);
    }
    if (r == 0)
        memcpy(job_id, j.id, ID_LEN);
    json_object_put(params);
    json_object_put(item);
    return r;
}

/* ---- the job's JSON ---- */

static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o)
        json_object_object_get_ex(o, key, &v);
    return v;
}

static struct json_object *cost_json(double cost)
{
    return isnan(cost) ? NULL : json_object_new_double(cost);
}

struct render {
    struct json_object *stages, *estimate;
    struct job_spend spent;
    bool unpriced;
};

static int add_stage(void *ud, const struct job_stage_totals *t, struct err *e)
{
    struct render *x = ud;
    struct json_object *o = json_object_new_object(),
                       *est = member(member(x->estimate, "stages"), t->stage);
    (void)e;

    json_object_object_add(o, "items", json_object_new_int64(t->total));
    json_object_object_add(o, "pending", json_object_new_int64(t->pending));
    json_object_object_add(o, "done", json_object_new_int64(t->done));
    json_object_object_add(o, "failed", json_object_new_int64(t->failed));
    json_object_object_add(o, "produced", json_object_new_int64(t->produced));
    json_object_object_add(o, "calls", json_object_new_int64(t->spend.calls));
    json_object_object_add(o, "input_tokens", json_object_new_int64(t->spend.input_tokens));
    json_object_object_add(o, "output_tokens", json_object_new_int64(t->spend.output_tokens));
    json_object_object_add(o, "cached_tokens", json_object_new_int64(t->spend.cached_tokens));
    json_object_object_add(o, "cost_usd", cost_json(t->spend.cost));
    if (est)
        json_object_object_add(o, "estimate", json_object_get(est));
    json_object_object_add(x->stages, t->stage, o);
    x->spent.calls += t->spend.calls;
    x->spent.input_tokens += t->spend.input_tokens;
    x->spent.output_tokens += t->spend.output_tokens;
    if (isnan(t->spend.cost))
        x->unpriced = true;
    else
        x->spent.cost += t->spend.cost;
    return 0;
}

int pipeline_job_render(struct store *store, const struct job *j, struct json_object *o,
                        struct err *e)
{
    struct json_object *params = NULL, *spent, *budget;
    struct render x = {NULL};
    struct err pe = ERR_INIT;
    int r;

    if (!j->kind || (strcmp(j->kind, PIPELINE_JOB_KIND) != 0 && strcmp(j->kind, JUDGE_JOB_KIND)))
        return 0;
    x.stages = json_object_new_object();
    if (j->params)
        json_parse(j->params, strlen(j->params), &params, &pe);
    x.estimate = member(params, "estimate");
    if ((r = store_job_stages(store, j->id, add_stage, &x, e)) < 0) {
        json_object_put(x.stages);
        json_object_put(params);
        return r;
    }
    json_object_object_add(o, "stages", x.stages);
    budget = member(params, "budget");
    json_object_object_add(o, "budget",
                           budget ? json_object_get(budget) : json_object_new_object());
    spent = json_object_new_object();
    json_object_object_add(spent, "cost_usd", x.unpriced ? NULL : cost_json(x.spent.cost));
    json_object_object_add(spent, "calls", json_object_new_int64(x.spent.calls));
    json_object_object_add(spent, "tokens",
                           json_object_new_int64(x.spent.input_tokens + x.spent.output_tokens));
    json_object_object_add(o, "spent", spent);
    if (x.estimate)
        json_object_object_add(o, "estimate", json_object_get(x.estimate));
    json_object_put(params);
    return 0;
}
