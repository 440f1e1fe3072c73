/* SPDX-License-Identifier: MIT */
/* Who may make a request: the server's call into auth/ before a route runs (http/access.c). */
#ifndef HETU_HTTP_ACCESS_H
#define HETU_HTTP_ACCESS_H

#include "http/request.h"
#include "util/err.h"

/*
 * Checks the routed request's API key (auth/auth.h). 0 lets it through; otherwise the error to
 * answer with (401 with WWW-Authenticate, 403, or 429 with Retry-After: the headers are set on
 * the request already). A server without app->auth lets every request through.
 */
int http_access_check(struct http_req *req, struct err *e);

/* The project a project key reaches, or NULL when the request was not made with one. */
const char *http_req_key_project(struct http_req *req);

#endif
