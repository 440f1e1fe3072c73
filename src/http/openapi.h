/* SPDX-License-Identifier: MIT */
/*
 * GET /openapi.json and GET /docs. The document is OpenAPI 3.1, made from the route table (paths,
 * path parameters, request bodies from each route's field table, the error statuses the router
 * gives) and http/openapi_types.h (tags, query parameters, answers); /docs is a self-contained
 * page that renders it.
 */
#ifndef HETU_HTTP_OPENAPI_H
#define HETU_HTTP_OPENAPI_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "http/router.h"
#include "http/schema.h"

/*
 * The JSON Schema of one field's value (its name aside): type (with "null" in a type array when
 * nullable), description, properties and required of an object, items of an array. A field list
 * that is a component of http/openapi_types.h becomes a $ref. strict: objects described by a
 * field list reject other keys (additionalProperties false).
 */
struct json_object *openapi_schema(const struct field *f, bool strict);
/* The schema of an object whose keys are `fields` (NULL: an object with any keys). */
struct json_object *openapi_object_schema(const struct field *fields, bool strict);

/* The whole document for a route table; NULL when out of memory. */
struct json_object *openapi_document(const struct route *routes, size_t n);

int h_openapi(struct http_req *req, struct json_object **ret_body, struct err *e);
int h_docs(struct http_req *req, struct json_object **ret_body, struct err *e);

#endif
