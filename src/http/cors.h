/* SPDX-License-Identifier: MIT */
/*
 * Cross-origin requests from browsers (CORS). Off unless origins are allowed: then an answer to
 * a request whose Origin is allowed carries Access-Control-Allow-Origin (the origin echoed) and
 * Access-Control-Expose-Headers, and a preflight (OPTIONS with Origin and
 * Access-Control-Request-Method) is answered 204 with the path's methods and the headers a
 * client may send. Requests from other origins get no Access-Control-* header at all. While
 * CORS is on, every answer says Vary: Origin, so that a cache never hands one origin's answer to
 * another.
 */
#ifndef HETU_HTTP_CORS_H
#define HETU_HTTP_CORS_H

#include <microhttpd.h>

#include "util/err.h"

struct cors;

/*
 * The allowed origins from a list separated by commas or spaces, each "*" (any origin) or
 * scheme://host[:port]. NULL or an empty list: *ret is NULL (CORS off). Errors name cors-origin.
 */
int cors_new(const char *origins, struct cors **ret, struct err *e);
void cors_free(struct cors *c);

/* Adds the headers of an answer: Vary while CORS is on, the rest for an allowed origin. */
void cors_add_headers(const struct cors *c, struct MHD_Connection *conn, struct MHD_Response *resp);

/*
 * For a preflight from an allowed origin to a path whose methods are allow ("GET, POST"), a 204
 * answer with the preflight headers (those of cors_add_headers are still to add); else NULL.
 */
struct MHD_Response *cors_preflight(const struct cors *c, struct MHD_Connection *conn,
                                    const char *method, const char *allow);

#endif
