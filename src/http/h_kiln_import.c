/* SPDX-License-Identifier: MIT */
/*
 * POST /api/import-project (the gateway's route): {"project_path"} names a Kiln project folder on
 * the server's disk, or its project.kiln file, as the gateway took it. The project is imported
 * with its tasks, runs and dataset splits, Kiln's ids kept (kiln/), and answered as GET
 * /api/projects/{id} answers it. The folder must lie under the server's --import-root; without
 * one the route refuses every path.
 */
#include "http/render.h"
#include "http/request.h"
#include "http/routes.h"
#include "kiln/kiln.h"
#include "util/json.h"
#include "util/banned.h"

#define PATH_MAX_CHARS 4096

int h_kiln_import(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *path = NULL;
    struct project p = {0};
    char id[ID_LEN];
    int r;

    if ((r = json_get_str(http_req_body(req), NULL, "project_path", JF_REQUIRED, 1, PATH_MAX_CHARS,
                          &path, e)) < 0 ||
        (r = kiln_import(app->store, app->import_root, path, app->user, id, e)) < 0 ||
        (r = store_project_get(app->store, id, &p, e)) < 0)
        return r;
    *ret_body = render_project(&p);
    project_done(&p);
    return 0;
}
