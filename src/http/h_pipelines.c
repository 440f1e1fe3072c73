/* SPDX-License-Identifier: MIT */
/*
 * Pipelines of a task (pipeline/pipeline.h).
 *
 * POST .../pipelines with the request of pipeline.h (struct pipeline_spec) checks it (every
 * error names its field: "topics.breadth[1]", "outputs.prompt_method", "budget.max_calls"),
 * estimates it (pipeline_estimate), and then:
 *   - with "dry_run": true, answers {"status": "dry_run", "estimate": {...}} and stores nothing;
 *   - else creates the pipeline job (queued, with its first item), wakes the driver, and answers
 *     {"status": "pipeline_started", "job_id", "estimate"}.
 * Follow the job with GET .../jobs/{id} and its event stream; the jobs list shows it.
 */
#include <string.h>

#include "http/app.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "pipeline/pipeline.h"
#include "util/arena.h"
#include "util/banned.h"

int h_pipeline_start(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct gen_env env = {app->store, app->engine, app->user};
    struct pipeline_estimate est = {0};
    struct pipeline_spec spec;
    struct task t = {0};
    struct arena mem;
    char job_id[ID_LEN];
    bool estimated = false;
    int r;

    arena_init(&mem);
    if ((r = load_task(req, &t, e)) < 0 ||
        (r = pipeline_spec_parse(&env, &t, http_req_body(req), &mem, &spec, e)) < 0 ||
        (r = pipeline_estimate(&env, &t, &spec, &est, e)) < 0)
        goto out;
    estimated = true;
    if (!spec.dry_run && spec.budget.max_cost_usd >= 0 && !est.total.priced) {
        /* a cap on money the job could not count: refused rather than never reached */
        r = err_set(e, HE_INVALID, "budget.max_cost_usd",
                    "budget.max_cost_usd cannot be kept: the price of %s is unknown; set "
                    "price_input_per_mtok and price_output_per_mtok in the providers config, or "
                    "cap max_calls or max_tokens instead",
                    est.n_unpriced ? est.unpriced[0] : "a model");
        goto out;
    }
    if (!spec.dry_run) {
        if ((r = pipeline_job_create(app->store, &t, &spec, &est, job_id, e)) < 0)
            goto out;
        pipeline_driver_notify(app->pipeline);
    }
    *ret_body = json_object_new_object();
    json_object_object_add(*ret_body, "status",
                           json_object_new_string(spec.dry_run ? "dry_run" : "pipeline_started"));
    if (!spec.dry_run)
        json_object_object_add(*ret_body, "job_id", json_object_new_string(job_id));
    json_object_object_add(*ret_body, "estimate", pipeline_estimate_json(&est));
out:
    if (estimated)
        pipeline_estimate_done(&est);
    task_done(&t);
    arena_done(&mem);
    return r;
}
