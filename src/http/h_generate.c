/* SPDX-License-Identifier: MIT */
/*
 * POST .../generate_categories and .../generate_samples: validate, then hand the work to gen/
 * and park the connection until it answers. A client that disconnects cancels the model calls.
 */
#include <string.h>

#include "gen/gen.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "llm/engine.h"
#include "util/json.h"
#include "util/banned.h"

#define EXISTING_MAX 1000

static const char *const categories_fields[] = {
    "node_path",       "num_subtopics",           "model_name", "provider", "human_guidance",
    "existing_topics", "drop_unsupported_params", NULL};
static const char *const samples_fields[] = {
    "topic", "num_samples", "model_name", "provider", "human_guidance", "drop_unsupported_params",
    NULL};

static void on_done(void *ud, struct json_object *taskrun, const struct err *e)
{
    http_req_complete(ud, taskrun, e);
}

static void on_cancel(void *ud)
{
    struct http_req *req = ud;
    llm_cancel_group(http_req_app(req)->engine, http_req_serial(req));
}

static int generate(struct http_req *req, bool categories, struct err *e)
{
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req), *path = NULL, *existing = NULL;
    struct gen_env env = {app->store, app->engine, app->user};
    struct gen_list_params p = {0};
    const char *guidance = NULL;
    struct task t = {0};
    int64_t count = categories ? 6 : 8;
    int r;

    if ((r = load_task(req, &t, e)) < 0 ||
        (r = json_check_keys(body, NULL, categories ? categories_fields : samples_fields, e)) < 0 ||
        (r = gen_parse_topic_path(body, NULL, categories ? "node_path" : "topic", true, &path, e)) <
            0 ||
        (r = json_get_int(body, NULL, categories ? "num_subtopics" : "num_samples", JF_NULLABLE, 1,
                          GEN_MAX_COUNT, &count, e)) < 0 ||
        (r = gen_get_model_name(body, NULL, "model_name", JF_REQUIRED, &p.model, e)) < 0 ||
        (r = gen_get_model_name(body, NULL, "provider", JF_REQUIRED, &p.provider, e)) < 0 ||
        (r = json_get_str(body, NULL, "human_guidance", JF_NULLABLE, 0, GUIDANCE_MAX_CHARS,
                          &guidance, e)) < 0 ||
        (r = json_get_bool(body, NULL, "drop_unsupported_params", JF_NULLABLE, &p.drop_unsupported,
                           e)) < 0)
        goto out;
    if (categories && (r = gen_parse_string_list(body, NULL, "existing_topics", EXISTING_MAX,
                                                 TOPIC_MAX_CHARS, &existing, e)) < 0)
        goto out;
    p.path = path;
    p.count = (size_t)count;
    p.guidance = guidance;
    p.existing = existing;
    p.group = http_req_serial(req);
    p.cancelled = http_req_cancelled(req);
    http_req_on_cancel(req, on_cancel, req);
    r = categories ? gen_categories(&env, &t, &p, on_done, req, e)
                   : gen_samples(&env, &t, &p, on_done, req, e);
    if (r == 0)
        r = HTTP_PENDING;
out:
    task_done(&t);
    json_object_put(path);
    json_object_put(existing);
    return r;
}

int h_generate_categories(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    (void)ret_body;
    return generate(req, true, e);
}

int h_generate_samples(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    (void)ret_body;
    return generate(req, false, e);
}
