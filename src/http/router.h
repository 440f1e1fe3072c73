/* SPDX-License-Identifier: MIT */
/*
 * Path routing over a static table. Patterns are literal segments and {name} parameters, e.g.
 * "/api/projects/{project_id}/tasks/{task_id}". A path matches a pattern when every segment
 * matches; a parameter matches any non-empty segment. Matching is pure (no allocation), so it
 * can be tested and fuzzed alone.
 */
#ifndef HETU_HTTP_ROUTER_H
#define HETU_HTTP_ROUTER_H

#include <stddef.h>

#include "util/err.h"

#define ROUTER_MAX_PARAMS   4
#define ROUTER_MAX_SEGMENTS 16
#define ROUTER_PARAM_MAX    256

struct http_req;
struct json_object;

/* A handler returns 0 with *ret_body set (answered 200), a negative HE code with e set, or
 * HTTP_PENDING after arranging a later http_req_complete(). */
typedef int (*http_handler_fn)(struct http_req *req, struct json_object **ret_body, struct err *e);

/*
 * For ROUTE_MULTIPART routes: called with each piece of each part of a multipart/form-data body
 * as it arrives (never the whole body at once). An error ends the upload: the rest of the body
 * is read and dropped and the request is answered with that error.
 */
typedef int (*http_part_fn)(struct http_req *req, const char *name, const char *filename,
                            const char *data, size_t len, struct err *e);

/* Route flags */
#define ROUTE_JSON      0x1  /* the body is a JSON value, parsed before the handler runs */
#define ROUTE_MULTIPART 0x2  /* the body is multipart/form-data, streamed to route->part */
#define ROUTE_PUBLIC    0x4  /* never needs an API key (health, documentation) */
#define ROUTE_ADMIN     0x8  /* once keys exist, needs an admin key */
#define ROUTE_LOCAL     0x10 /* needs an admin key unless the client is on loopback (metrics) */
#define ROUTE_GATEWAY                                                          \
    0x20 /* the original gateway's route: its body is read as the gateway read \
            it (unknown keys ignored, lax integers and booleans) */
#define ROUTE_JSON_OPTIONAL 0x40 /* with ROUTE_JSON: an empty body is none (http_req_body NULL) */

struct field;

struct route {
    const char *method;
    const char *pattern;
    http_handler_fn handler;
    unsigned flags;
    size_t body_limit; /* 0: the server's default (JSON bodies, or uploads) */
    const char *summary;
    http_part_fn part;
    const struct field *body; /* ROUTE_JSON: the keys of the body object (http/schema.h), ended by
                                 a row with a NULL name; NULL: not described */
};

struct route_match {
    const struct route *route;
    size_t nparams;
    const char *names[ROUTER_MAX_PARAMS]; /* point into the pattern (not NUL-terminated) */
    size_t name_lens[ROUTER_MAX_PARAMS];
    char values[ROUTER_MAX_PARAMS][ROUTER_PARAM_MAX];
    char allow[128]; /* with HE_METHOD: the methods the path accepts, "GET, POST" */
};

/*
 * Finds the route for method and path (the query string must be cut off already). Returns 0
 * with ret filled, HE_NOT_FOUND when no pattern matches the path, or HE_METHOD when some do but
 * not for this method (ret->allow lists those that do). HEAD matches GET routes.
 */
int router_match(const struct route *routes, size_t n, const char *method, const char *path,
                 struct route_match *ret);

/* The value of parameter `name` in a match, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif
