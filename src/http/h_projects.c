/* SPDX-License-Identifier: MIT */
/* Projects: create, list, get, update, delete (deletes cascade to tasks and samples). */
#include <string.h>

#include "http/access.h"
#include "http/render.h"
#include "http/request.h"
#include "http/routes.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

#define NAME_MAX_CHARS        120
#define DESCRIPTION_MAX_CHARS 10000

static const char *const project_fields[] = {"name", "description", NULL};

int h_project_create(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req);
    const char *name = NULL, *description = "";
    struct project p = {0};
    int r;

    if ((r = json_check_keys(body, NULL, project_fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "name", JF_REQUIRED, 1, NAME_MAX_CHARS, &name, e)) < 0 ||
        (r = json_get_str(body, NULL, "description", JF_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
                          &description, e)) < 0)
        return r;
    if ((r = store_new_id(app->store, p.id, e)) < 0)
        return r;
    p.created_at = clock_wall_us();
    p.created_by = app->user;
    p.name = name;
    p.description = description;
    if ((r = store_project_insert(app->store, &p, e)) < 0)
        return r;
    *ret_body = render_project(&p);
    return 0;
}

struct project_listing {
    struct json_object *list;
    const char *only; /* a project key's project: the others are left out */
};

static int add_project(void *ud, const struct project *p, struct err *e)
{
    struct project_listing *l = ud;

    (void)e;
    if (!l->only || strcmp(l->only, p->id) == 0)
        json_object_array_add(l->list, render_project(p));
    return 0;
}

int h_project_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct json_object *list = json_object_new_array(), *o;
    struct project_listing l = {list, http_req_key_project(req)};
    int r = store_project_list(http_req_app(req)->store, add_project, &l, e);

    if (r < 0) {
        json_object_put(list);
        return r;
    }
    o = json_object_new_object();
    json_object_object_add(o, "projects", list);
    *ret_body = o;
    return 0;
}

int h_project_get(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct project p = {0};
    int r = store_project_get(http_req_app(req)->store, http_req_param(req, "project_id"), &p, e);

    if (r < 0)
        return r;
    *ret_body = render_project(&p);
    project_done(&p);
    return 0;
}

int h_project_update(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req);
    const char *name = NULL, *description = NULL;
    struct project p = {0};
    int r;

    if ((r = json_check_keys(body, NULL, project_fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "name", 0, 1, NAME_MAX_CHARS, &name, e)) < 0 ||
        (r = json_get_str(body, NULL, "description", JF_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
                          &description, e)) < 0)
        return r;
    if ((r = store_project_get(app->store, http_req_param(req, "project_id"), &p, e)) < 0)
        return r;
    if (name)
        p.name = name; /* borrowed: project_done frees only what the store read */
    if (description)
        p.description = description;
    r = store_project_update(app->store, &p, e);
    if (r == 0)
        *ret_body = render_project(&p);
    project_done(&p);
    return r;
}

int h_project_delete(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    const char *id = http_req_param(req, "project_id");
    int r = store_project_delete(http_req_app(req)->store, id, e);

    if (r < 0)
        return r;
    /* The gateway's answer, message text included, which scripts may compare. */
    *ret_body = render_message("项目已成功移除");
    json_object_object_add(*ret_body, "project_id", json_object_new_string(id));
    return 0;
}
