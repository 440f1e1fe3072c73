/* SPDX-License-Identifier: MIT */
/*
 * The web interface over HTTP (http/h_web.c): the files of web/assets.h as answers, for the
 * GET and HEAD requests no route matches outside the API's paths.
 */
#ifndef HETU_HTTP_H_WEB_H
#define HETU_HTTP_H_WEB_H

#include <microhttpd.h>
#include <stdbool.h>

#include "http/router.h"

struct http_req;

/* The pseudo-route /metrics counts the web interface's answers under (route "web"). */
extern const struct route http_web_route;

/*
 * Whether req (which no route matched) is the web interface's. If so, *ret_resp is its answer
 * with its headers (NULL when out of memory) and *ret_status its status; the caller queues it.
 */
bool http_web_answer(struct http_req *req, struct MHD_Response **ret_resp, unsigned *ret_status);

#endif
