/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. schema_validate: a value against a compiled schema (run on every model reply, on the
 * provider engine's thread, or any other: a compiled schema is immutable). The walk follows the
 * tree of struct node that schema.c built and stops at the first problem, named by its
 * JSONPath-like location in the value ("$.subtopics[2]: expected a string, got an integer").
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

/* ---- schema_validate ------------------------------------------------------------------------ */

struct validator {
    struct path path;
    struct err *e;
};

static int invalid(struct validator *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int invalid(struct validator *v, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(v->e, HE_INVALID, v->path.s, "%s: %s", v->path.s, what);
}

static int validate_node(struct validator *v, const struct node *n, struct json_object *value);

static int validate_enum(struct validator *v, struct json_object *list, struct json_object *value)
{
    char got[SNIPPET_MAX + 8], opts[300];
    size_t n, o = 0;

    n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++)
        if (schema_values_equal(json_object_array_get_idx(list, i), value))
            return 0;
    opts[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char one[SNIPPET_MAX + 8];
        schema_snippet(json_object_array_get_idx(list, i), one, sizeof(one));
        if (o + strlen(one) + 8 >= sizeof(opts)) {
            snprintf(opts + o, sizeof(opts) - o, ", ...");
            break;
        }
        int k = snprintf(opts + o, sizeof(opts) - o, "%s%s", i ? ", " : "", one);
        if (k > 0)
            o += (size_t)k;
    }
    schema_snippet(value, got, sizeof(got));
    return invalid(v, "expected one of %s, got %s", opts, got);
}

static const struct node *find_prop(const struct node *n, const char *key)
{
    size_t lo = 0, hi = n->n_props;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, n->props[mid].name);
        if (c == 0)
            return n->props[mid].node;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static int validate_object(struct validator *v, const struct node *n, struct json_object *value)
{
    const struct node *sub;
    int r;

    for (size_t i = 0; i < n->n_required; i++)
        if (!json_object_object_get_ex(value, n->required[i], NULL))
            return invalid(v, "missing required property \"%s\"", n->required[i]);
    json_object_object_foreach(value, key, member)
    {
        size_t old;
        if (!(sub = find_prop(n, key))) {
            if (n->extra == EXTRA_NONE)
                return invalid(v, "unexpected property \"%s\" (additionalProperties is false)",
                               key);
            if (n->extra == EXTRA_ANY)
                continue;
            sub = n->extra_node;
        }
        old = schema_path_add_key(&v->path, key);
        if ((r = validate_node(v, sub, member)))
            return r;
        schema_path_cut(&v->path, old);
    }
    return 0;
}

/* minItems/maxItems and minLength/maxLength: len counted in `unit`s ("item", "character"). */
static int validate_count(struct validator *v, const char *unit, bool has_min, uint64_t min,
                          bool has_max, uint64_t max, size_t len)
{
    if (has_min && len < min)
        return invalid(v, "expected at least %" PRIu64 " %s%s, got %zu", min, unit,
                       min == 1 ? "" : "s", len);
    if (has_max && len > max)
        return invalid(v, "expected at most %" PRIu64 " %s%s, got %zu", max, unit,
                       max == 1 ? "" : "s", len);
    return 0;
}

static int validate_array(struct validator *v, const struct node *n, struct json_object *value)
{
    size_t len = json_object_array_length(value);
    int r;

    if ((r = validate_count(v, "item", n->has_min_items, n->min_items, n->has_max_items,
                            n->max_items, len)))
        return r;
    if (!n->items)
        return 0;
    for (size_t i = 0; i < len; i++) {
        size_t old = schema_path_addf(&v->path, "[%zu]", i);
        if ((r = validate_node(v, n->items, json_object_array_get_idx(value, i))))
            return r;
        schema_path_cut(&v->path, old);
    }
    return 0;
}

static int validate_string(struct validator *v, const struct node *n, struct json_object *value)
{
    size_t len;

    if (!n->has_min_length && !n->has_max_length)
        return 0;
    len = utf8_length(json_object_get_string(value), (size_t)json_object_get_string_len(value));
    return validate_count(v, "character", n->has_min_length, n->min_length, n->has_max_length,
                          n->max_length, len);
}

static int validate_number(struct validator *v, const struct node *n, struct json_object *value)
{
    char want[40], got[40];
    long double x;

    if (!n->minimum && !n->maximum)
        return 0;
    x = schema_number_value(value);
    if (n->minimum && x < schema_number_value(n->minimum)) {
        schema_format_number(n->minimum, want, sizeof(want));
        schema_format_number(value, got, sizeof(got));
        return invalid(v, "expected at least %s, got %s", want, got);
    }
    if (n->maximum && x > schema_number_value(n->maximum)) {
        schema_format_number(n->maximum, want, sizeof(want));
        schema_format_number(value, got, sizeof(got));
        return invalid(v, "expected at most %s, got %s", want, got);
    }
    return 0;
}

static int validate_node(struct validator *v, const struct node *n, struct json_object *value)
{
    int r;

    switch (n->kind) {
    case NODE_ANY: return 0;
    case NODE_NONE: return invalid(v, "no value is allowed here");
    case NODE_DEEP: return invalid(v, "nests more than %d levels deep", SCHEMA_MAX_DEPTH);
    case NODE_RULES: break;
    }
    if (n->types && !(n->types & schema_value_types(value)))
        return invalid(v, "expected %s, got %s", n->want, json_type_label(value));
    if (n->enum_list && (r = validate_enum(v, n->enum_list, value)))
        return r;
    switch (json_object_get_type(value)) {
    case json_type_object: return validate_object(v, n, value);
    case json_type_array: return validate_array(v, n, value);
    case json_type_string: return validate_string(v, n, value);
    case json_type_int:
    case json_type_double: return validate_number(v, n, value);
    case json_type_null:
    case json_type_boolean: break;
    }
    return 0;
}

int schema_validate(const struct schema *s, struct json_object *value, struct err *e)
{
    struct validator v = {.e = e};

    schema_path_addf(&v.path, "$");
    return validate_node(&v, s->root, value);
}
