/* SPDX-License-Identifier: MIT */
/*
 * API keys: create (the key is in this answer and nowhere else, ever), list, revoke. Admin keys
 * only once a key exists; while none does the server is open, and the first key, made the same
 * way, must be an admin key (nobody could manage keys otherwise).
 */
#include "auth/auth.h"
#include "auth/keys.h"
#include "http/request.h"
#include "http/routes.h"
#include "store/store.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

static const char *const key_fields[] = {"name", "project", "admin", NULL};

int h_key_create(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req);
    struct auth_key_spec spec = {0};
    char key[AUTH_KEY_SIZE];
    struct api_key k;
    bool open = false;
    int r;

    if ((r = json_check_keys(body, NULL, key_fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "name", JF_REQUIRED, 1, 4 * AUTH_KEY_NAME_MAX, &spec.name,
                          e)) < 0 ||
        (r = json_get_str(body, NULL, "project", JF_NULLABLE, 1, ID_DIGITS, &spec.project_id, e)) <
            0 ||
        (r = json_get_bool(body, NULL, "admin", JF_NULLABLE, &spec.admin, e)) < 0)
        return r;
    if (app->auth && (r = auth_is_open(app->auth, &open, e)) < 0)
        return r;
    if (open && !spec.admin)
        return err_set(e, HE_INVALID, "admin",
                       "the first key must be an admin key (admin: true): no other key could "
                       "manage keys");
    if ((r = auth_key_create(app->store, &spec, &k, key, e)) < 0)
        return r;
    auth_changed(app->auth);
    log_event(LOG_INFO, "API key created", "key_id", k.id, "admin", k.admin ? "true" : "false",
              k.project_id[0] ? "project" : NULL, k.project_id, NULL);
    *ret_body = auth_key_created_json(&k, key);
    return 0;
}

static int add_key(void *ud, const struct api_key *k, struct err *e)
{
    (void)e;
    json_object_array_add(ud, auth_key_json(k));
    return 0;
}

int h_key_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct json_object *list = json_object_new_array(), *o;
    int r = store_api_key_list(http_req_app(req)->store, add_key, list, e);

    if (r < 0) {
        json_object_put(list);
        return r;
    }
    o = json_object_new_object();
    json_object_object_add(o, "keys", list);
    *ret_body = o;
    return 0;
}

int h_key_revoke(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *id = http_req_param(req, "key_id");
    struct api_key k = {0};
    int r;

    if (!id_valid(id))
        return err_set(e, HE_NOT_FOUND, NULL, "API key %s not found", id);
    if ((r = store_api_key_revoke(app->store, id, clock_wall_us(), e)) < 0 ||
        (r = store_api_key_get(app->store, id, &k, e)) < 0)
        return r;
    auth_changed(app->auth);
    log_event(LOG_INFO, "API key revoked", "key_id", id, NULL);
    *ret_body = auth_key_json(&k);
    api_key_done(&k);
    return 0;
}
