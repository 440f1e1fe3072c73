/* SPDX-License-Identifier: MIT */
/*
 * What /openapi.json says beyond the route table: the records Hetu answers (components, as field
 * tables of http/schema.h) and, per (method, pattern), the route's tag, query parameters and
 * answer. Kept apart from the route rows so that documenting a route never edits the table.
 */
#ifndef HETU_HTTP_OPENAPI_TYPES_H
#define HETU_HTTP_OPENAPI_TYPES_H

#include <stdbool.h>
#include <stddef.h>

#include "http/schema.h"

/* A named schema of components.schemas: an object whose keys are `fields`. */
struct openapi_component {
    const char *name;
    const char *description;
    const struct field *fields;
};

/* A query parameter. */
struct openapi_param {
    const char *name; /* NULL ends a list */
    enum field_type type;
    unsigned flags; /* FIELD_REQUIRED */
    const char *description;
    const char *const *values; /* the values it takes, NULL-ended; or NULL: any */
    bool formats;              /* it takes the name of an export format */
};

struct openapi_op {
    const char *method;
    const char *pattern;
    const char *id;  /* operationId */
    const char *tag; /* one of openapi_tags */
    const char *description;
    const struct openapi_param *query; /* ended by a row with a NULL name; or NULL */
    const struct field *answer;        /* one row: the 200 answer's JSON; NULL: a stream only */
    const struct field *alt_answer;    /* another shape of it (e.g. with ?detailed=true), or NULL */
    const char *const *streams;        /* a streamed answer's content types, NULL-ended; or NULL */
    const char *stream_description;    /* what the stream holds */
    const int *errors;                 /* error statuses beyond those the router gives, 0-ended */
    const char *const *headers;        /* headers of the 200 answer, NULL-ended (see below) */
};

struct openapi_tag {
    const char *name;
    const char *description;
};

extern const struct openapi_component openapi_components[];
extern const size_t openapi_components_count;
extern const struct openapi_tag openapi_tags[];
extern const size_t openapi_tags_count;
extern const struct openapi_op openapi_ops[];
extern const size_t openapi_ops_count;

/* The component whose field list is `fields`, or NULL. */
const struct openapi_component *openapi_component_of(const struct field *fields);
/* The op of a route, or NULL when it has none. */
const struct openapi_op *openapi_op_find(const char *method, const char *pattern);
/* What an answer's header says ("X-Hetu-Skipped": "Duplicates left out"), or NULL. */
const char *openapi_header_text(const char *name);
/* What a path parameter holds ("project_id": "A project's id"); a generic text when unknown. */
const char *openapi_path_param_text(const char *name, size_t len);

#endif
