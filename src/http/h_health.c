/* SPDX-License-Identifier: MIT */
/* GET /healthz: the server answers, and so does its store (503 with the store's error when it
 * does not); a store with a connection pool reports it, its reconnects and its last connection
 * error. */
#include "http/request.h"
#include "http/routes.h"
#include "store/store.h"
#include "util/banned.h"

int h_health(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct store_health h = {0};
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
    if (h.pool_size > 0) { /* a backend with a connection pool */
        struct json_object *pool = json_object_new_object();
        json_object_object_add(pool, "open", json_object_new_int(h.pool_open));
        json_object_object_add(pool, "idle", json_object_new_int(h.pool_idle));
        json_object_object_add(pool, "size", json_object_new_int(h.pool_size));
        json_object_object_add(s, "pool", pool);
        json_object_object_add(s, "reconnects", json_object_new_int64((int64_t)h.reconnects));
        json_object_object_add(s, "last_error",
                               h.last_error[0] ? json_object_new_string(h.last_error) : NULL);
    }
    json_object_object_add(o, "store", s);
    *ret_body = o;
    return 0;
}
