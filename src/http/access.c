/* SPDX-License-Identifier: MIT */
/*
 * The HTTP side of the API key check: reads what auth_check needs from the request (its
 * Authorization header, the client's address, the route's flags, the project it names in its
 * path or query) and turns a refusal into the answer's headers. Runs on the HTTP thread of the
 * request's first call, before its body is read: a refused request's body is dropped unread.
 */
#include "http/access.h"

#include <stdio.h>

#include "auth/auth.h"
#include "http/routes.h"
#include "http/server_int.h"
#include "util/banned.h"

/* The original gateway client's import_samples_from_file sends no Authorization header. */
#define IMPORT_HINT                                                                           \
    " (the original client's import_samples_from_file sends none: upload with Hetu's Python " \
    "client, hetu_client, or the CLI, hetu import FILE)"

int http_access_check(struct http_req *req, struct err *e)
{
    struct auth *auth = req->srv->app ? req->srv->app->auth : NULL;
    const struct route *route = req->route.match.route;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const char *project = route_param(&req->route.match, "project_id");
    /* A project in the query counts only where the handler reads it from there: elsewhere a
     * project key could name its own project in the query of a route outside it. */
    bool query_project = route->handler == h_download_dataset_jsonl;
    struct auth_request q = {
        .authorization =
            MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION),
        .peer = ci ? ci->client_addr : NULL,
        .public_route = route->flags & ROUTE_PUBLIC,
        .admin_only = route->flags & ROUTE_ADMIN,
        .local_only = route->flags & ROUTE_LOCAL,
        .project_id = project || !query_project ? project : http_req_query(req, "project_id"),
        .lists_projects = route->handler == h_project_list,
        .missing_hint = route->handler == h_import_samples_from_file ? IMPORT_HINT : NULL,
    };
    int64_t retry = 0;
    char s[32];
    int r;

    if (!auth)
        return 0;
    r = auth_check(auth, &q, &req->grant, &retry, e);
    if (r == HE_UNAUTHORIZED)
        http_req_set_header(req, "WWW-Authenticate", "Bearer realm=\"hetu\"");
    if (r == HE_TOO_MANY) {
        snprintf(s, sizeof(s), "%lld", (long long)retry);
        http_req_set_header(req, "Retry-After", s);
    }
    return r;
}

const char *http_req_key_project(struct http_req *req)
{
    return req->grant.project_id[0] ? req->grant.project_id : NULL;
}
