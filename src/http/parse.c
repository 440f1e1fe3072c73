/* SPDX-License-Identifier: MIT */
/* Shared request parsing; every error names the field (with its index inside lists). */
#include "http/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/request.h"
#include "util/json.h"
#include "util/banned.h"

int load_task(struct http_req *req, struct task *ret, struct err *e)
{
    return load_task_ids(req, http_req_param(req, "project_id"), http_req_param(req, "task_id"),
                         ret, e);
}

int load_task_ids(struct http_req *req, const char *project_id, const char *task_id,
                  struct task *ret, struct err *e)
{
    struct app *app = http_req_app(req);
    struct project p = {0};
    int r = store_task_get(app->store, project_id, task_id, ret, e);

    if (r == HE_NOT_FOUND) {
        struct err pe;
        err_clear(&pe);
        if (store_project_get(app->store, project_id, &p, &pe) == HE_NOT_FOUND) {
            err_clear(e);
            return err_set(e, HE_NOT_FOUND, "project_id", "project %s not found", project_id);
        }
        project_done(&p);
    }
    return r;
}
