/* SPDX-License-Identifier: MIT */
/*
 * What a handler may ask of its request. A handler answers by returning (see router.h), or, for
 * work that waits on something else, returns HTTP_PENDING and later calls http_req_complete()
 * exactly once from any thread; the connection is suspended in between and no HTTP thread waits.
 */
#ifndef HETU_HTTP_REQUEST_H
#define HETU_HTTP_REQUEST_H

#include <stddef.h>

#include <json-c/json.h>

#include "http/app.h"
#include "util/err.h"

#define HTTP_PENDING 1

struct http_req;

struct app *http_req_app(struct http_req *req);
const char *http_req_param(struct http_req *req, const char *name);
/* A query-string argument (decoded), or NULL when absent. */
const char *http_req_query(struct http_req *req, const char *name);
/* The parsed body of a ROUTE_JSON route (never NULL there). */
struct json_object *http_req_body(struct http_req *req);

/* Answers a pending request: 200 with body (taken over), or the error in e when e->code. */
void http_req_complete(struct http_req *req, struct json_object *body, const struct err *e);

#endif
