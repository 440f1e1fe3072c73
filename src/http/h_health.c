/* SPDX-License-Identifier: MIT */
/* GET /healthz: the server answers, and so does its store. */
#include "http/request.h"
#include "http/routes.h"
#include "store/store.h"
#include "util/banned.h"

int h_health(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct store_health h;
    struct json_object *o, *s;
    int r = store_health(http_req_app(req)->store, &h, e);

    if (r < 0) {
        err_prefix(e, "the store is not healthy");
        e->code = HE_UNAVAILABLE;
        return HE_UNAVAILABLE;
    }
    o = json_object_new_object();
    s = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    json_object_object_add(s, "backend", json_object_new_string(h.backend));
    json_object_object_add(s, "schema_version", json_object_new_int(h.schema_version));
    json_object_object_add(s, "writable", json_object_new_boolean(h.writable));
    json_object_object_add(s, "pending_writes", json_object_new_int64((int64_t)h.pending_writes));
    json_object_object_add(o, "store", s);
    *ret_body = o;
    return 0;
}
