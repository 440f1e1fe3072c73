/* SPDX-License-Identifier: MIT */
/*
 * Reading a body as the gateway (pydantic v2, lax mode) read it, against its route's field table
 * (http/schema.h): unknown keys are dropped, lax integers and booleans become strict.
 */
#ifndef HETU_HTTP_BODY_READ_H
#define HETU_HTTP_BODY_READ_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "http/schema.h"

/* The longest X-Hetu-Ignored-Fields value; past it the list ends with ", ...". */
#define BODY_IGNORED_MAX 512

struct http_req;
struct route;

/*
 * On a ROUTE_GATEWAY route with a body description: reads the request's parsed body in place
 * (body_read_lenient) and names what it dropped in the X-Hetu-Ignored-Fields header. Other
 * routes are left alone (their handlers reject unknown keys).
 */
void body_read(struct http_req *req, const struct route *route);

/*
 * Reads body (an object; anything else is left as is) against fields, recursing into objects
 * and arrays of objects that are described:
 * - a key not described is removed; its dotted name ("samples[0].foo") goes into ignored
 *   (", "-separated, at most size - 1 bytes, bytes outside printable ASCII and ',' '%' ' '
 *   written %XX) unless it is a read-only key of a fetched object (id, v, created_at,
 *   created_by, model_type, path), which goes silently;
 * - an integer field given as a whole float (5.0), a boolean, or a string pydantic reads as an
 *   integer ("5", " 5 ", "+5", "1_000", "5.00") becomes that integer;
 * - a boolean field given as 0/1, 0.0/1.0, or one of the strings 0 1 f t n y no off on false
 *   true yes (any case) becomes that boolean.
 * Anything else is left for the handler to reject. ignored is always NUL-terminated.
 */
void body_read_lenient(struct json_object *body, const struct field *fields, char *ignored,
                       size_t size);

/* One value as pydantic's lax mode reads it for a field of that type: 1 and *ret set when it
 * converts, 0 when it does not. */
int body_lax_int(struct json_object *v, int64_t *ret);
int body_lax_bool(struct json_object *v, bool *ret);

#endif
