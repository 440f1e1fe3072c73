/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. schema_check: the structural check of a schema a user gives (run once, when a task is
 * saved, on the request's thread), keyword by keyword and recursively, at most SCHEMA_MAX_DEPTH
 * schemas deep. The first problem wins, named by its keyword path inside the schema
 * ("properties.name.type must be a string"). No state outside the call: any thread.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm/schema_int.h"
#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

/* ---- schema_check --------------------------------------------------------------------------- */

struct checker {
    struct path path;
    const char *field;
    struct err *e;
};

static int check_fail(struct checker *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int check_fail(struct checker *c, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(c->e, HE_BAD_REQUEST, c->field, "%s%s%s %s", c->field ? c->field : "",
                   c->field ? ": " : "", c->path.len ? c->path.s : "the schema", what);
}

static int check_schema(struct checker *c, struct json_object *schema, int depth);

static int check_type(struct checker *c, struct json_object *v)
{
    size_t n;

    if (json_object_is_type(v, json_type_string)) {
        if (!schema_type_label(json_object_get_string(v)))
            return check_fail(c,
                              "must be one of object, array, string, integer, number, "
                              "boolean, null (got \"%s\")",
                              json_object_get_string(v));
        return 0;
    }
    if (!json_object_is_type(v, json_type_array))
        return check_fail(c, "must be a string or an array of strings, not %s", json_type_label(v));
    n = json_object_array_length(v);
    if (n == 0)
        return check_fail(c, "must not be an empty array");
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(v, i);
        size_t old = schema_path_addf(&c->path, "[%zu]", i);
        int r = 0;
        if (!json_object_is_type(t, json_type_string))
            r = check_fail(c, "must be a string, not %s", json_type_label(t));
        else if (!schema_type_label(json_object_get_string(t)))
            r = check_fail(c,
                           "must be one of object, array, string, integer, number, boolean, "
                           "null (got \"%s\")",
                           json_object_get_string(t));
        for (size_t j = 0; r == 0 && j < i; j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(v, j)),
                       json_object_get_string(t)) == 0)
                r = check_fail(c, "repeats \"%s\"", json_object_get_string(t));
        if (r)
            return r;
        schema_path_cut(&c->path, old);
    }
    return 0;
}

static int check_required(struct checker *c, struct json_object *v)
{
    size_t n;

    if (!json_object_is_type(v, json_type_array))
        return check_fail(c, "must be an array of strings, not %s", json_type_label(v));
    n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        struct json_object *s = json_object_array_get_idx(v, i);
        size_t old = schema_path_addf(&c->path, "[%zu]", i);
        if (!json_object_is_type(s, json_type_string))
            return check_fail(c, "must be a string, not %s", json_type_label(s));
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(v, j)),
                       json_object_get_string(s)) == 0)
                return check_fail(c, "repeats \"%s\"", json_object_get_string(s));
        schema_path_cut(&c->path, old);
    }
    return 0;
}

/* A subschema: an object, or true/false. */
static int check_subschema(struct checker *c, struct json_object *v, int depth)
{
    if (json_object_is_type(v, json_type_boolean))
        return 0;
    if (!json_object_is_type(v, json_type_object))
        return check_fail(c, "must be a schema (an object or a boolean), not %s",
                          json_type_label(v));
    return check_schema(c, v, depth + 1);
}

/* Checks one keyword's value; c->path already ends with the keyword. */
static int check_keyword(struct checker *c, const char *kw, struct json_object *v, int depth)
{
    uint64_t count;

    if (strcmp(kw, "type") == 0)
        return check_type(c, v);
    if (strcmp(kw, "required") == 0)
        return check_required(c, v);
    if (strcmp(kw, "items") == 0 || strcmp(kw, "additionalProperties") == 0)
        return check_subschema(c, v, depth);
    if (strcmp(kw, "properties") == 0) {
        if (!json_object_is_type(v, json_type_object))
            return check_fail(c, "must be an object mapping names to schemas, not %s",
                              json_type_label(v));
        json_object_object_foreach(v, name, sub)
        {
            size_t old = schema_path_add_key(&c->path, name);
            int r = check_subschema(c, sub, depth);
            if (r)
                return r;
            schema_path_cut(&c->path, old);
        }
        return 0;
    }
    if (strcmp(kw, "enum") == 0) {
        if (!json_object_is_type(v, json_type_array))
            return check_fail(c, "must be an array, not %s", json_type_label(v));
        if (json_object_array_length(v) == 0)
            return check_fail(c, "must not be empty");
        return 0;
    }
    if (strcmp(kw, "minItems") == 0 || strcmp(kw, "maxItems") == 0 ||
        strcmp(kw, "minLength") == 0 || strcmp(kw, "maxLength") == 0) {
        if (!schema_get_count(v, &count))
            return check_fail(c, "must be a non-negative integer, not %s",
                              schema_is_number(v) ? "a negative or fractional number"
                                                  : json_type_label(v));
        return 0;
    }
    if (strcmp(kw, "minimum") == 0 || strcmp(kw, "maximum") == 0) {
        if (!schema_is_number(v))
            return check_fail(c, "must be a number, not %s", json_type_label(v));
        return 0;
    }
    return 0; /* description, title, $schema, default, format, ... and unknown keywords */
}

/* lo <= hi when both keywords are present (already known to be of the right type). */
static int check_order(struct checker *c, struct json_object *schema, const char *lo,
                       const char *hi)
{
    struct json_object *a, *b;

    if (!json_object_object_get_ex(schema, lo, &a) || !json_object_object_get_ex(schema, hi, &b))
        return 0;
    if (schema_number_value(a) > schema_number_value(b)) {
        size_t old = schema_path_add_key(&c->path, lo);
        int r = check_fail(c, "must not exceed %s", hi);
        schema_path_cut(&c->path, old);
        return r;
    }
    return 0;
}

static int check_schema(struct checker *c, struct json_object *schema, int depth)
{
    int r;

    if (depth > SCHEMA_MAX_DEPTH)
        return check_fail(c, "nests schemas more than %d deep", SCHEMA_MAX_DEPTH);
    json_object_object_foreach(schema, kw, v)
    {
        size_t old = schema_path_add_key(&c->path, kw);
        r = check_keyword(c, kw, v, depth);
        if (r)
            return r;
        schema_path_cut(&c->path, old);
    }
    r = check_order(c, schema, "minItems", "maxItems");
    if (!r)
        r = check_order(c, schema, "minLength", "maxLength");
    if (!r)
        r = check_order(c, schema, "minimum", "maximum");
    return r;
}

int schema_check(struct json_object *schema, bool require_object, const char *field, struct err *e)
{
    struct checker c = {.field = field, .e = e};
    struct json_object *type;

    if (!json_object_is_type(schema, json_type_object))
        return check_fail(&c, "must be an object, not %s", json_type_label(schema));
    if (require_object) {
        if (!json_object_object_get_ex(schema, "type", &type) ||
            !json_object_is_type(type, json_type_string) ||
            strcmp(json_object_get_string(type), "object") != 0) {
            schema_path_add_key(&c.path, "type");
            return check_fail(&c, "must be \"object\" at the top level");
        }
    }
    return check_schema(&c, schema, 1);
}
