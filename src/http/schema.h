/* SPDX-License-Identifier: MIT */
/*
 * Request bodies as data: each JSON route of the table names the fields its body may hold, with
 * their types. The server reads a body against it before the handler runs (on the gateway's
 * routes: unknown keys ignored and named in X-Hetu-Ignored-Fields, lax integers and booleans
 * made strict), and /openapi.json documents every body from the same description. Handlers still
 * check values and limits themselves.
 */
#ifndef HETU_HTTP_SCHEMA_H
#define HETU_HTTP_SCHEMA_H

enum field_type {
    FT_ANY, /* any JSON value */
    FT_STRING,
    FT_INTEGER,
    FT_NUMBER,
    FT_BOOLEAN,
    FT_OBJECT, /* .fields lists its keys; NULL: an object with any keys */
    FT_ARRAY,  /* .items describes each item; NULL: items of any type */
};

/* Field flags */
#define FIELD_REQUIRED 0x1 /* absent is an error */
#define FIELD_NULLABLE 0x2 /* null is accepted (reads as absent) */

struct field {
    const char *name; /* NULL ends a list */
    enum field_type type;
    unsigned flags;
    const char *description;
    const struct field *fields; /* FT_OBJECT: its keys, ended by a row with a NULL name */
    const struct field *items;  /* FT_ARRAY: one row describing every item */
};

#endif
