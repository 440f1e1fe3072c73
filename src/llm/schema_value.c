/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. What schema_check and schema_validate both need: a path that messages name a place
 * with (appended to and cut back, truncated at PATH_CAP, never overflowing), readers of JSON
 * numbers and counts, a short snippet of a value for messages, JSON equality for enum, and the
 * JSON Schema type names with their labels and TY_* bits. Pure functions: any thread.
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

/* ---- paths ---------------------------------------------------------------------------------- */

size_t schema_path_addf(struct path *p, const char *fmt, ...)
{
    size_t old = p->len, room = sizeof(p->s) - p->len;
    va_list ap;
    int n;

    if (room <= 1)
        return old;
    va_start(ap, fmt);
    n = vsnprintf(p->s + p->len, room, fmt, ap);
    va_end(ap);
    if (n < 0)
        p->s[p->len] = '\0';
    else
        p->len += (size_t)n < room ? (size_t)n : room - 1;
    return old;
}

void schema_path_cut(struct path *p, size_t len)
{
    p->len = len;
    p->s[len] = '\0';
}

/* Names that read well after a dot: letters, digits, '_' and any non-ASCII (e.g. Chinese). */
static bool plain_name(const char *k)
{
    if (!*k || (*k >= '0' && *k <= '9'))
        return false;
    for (const unsigned char *c = (const unsigned char *)k; *c; c++)
        if (!(*c >= 0x80 || *c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9')))
            return false;
    return true;
}

/* Appends a member name: ".name", or ["a b"] for other names (dot omitted at an empty path). */
size_t schema_path_add_key(struct path *p, const char *key)
{
    size_t old = p->len;
    char q[PATH_CAP];
    size_t n = 0;

    if (plain_name(key))
        return schema_path_addf(p, "%s%s", p->len ? "." : "", key);
    for (const char *c = key; *c && n + 3 < sizeof(q); c++) {
        if (*c == '"' || *c == '\\')
            q[n++] = '\\';
        q[n++] = (unsigned char)*c < 0x20 ? '?' : *c;
    }
    q[n] = '\0';
    schema_path_addf(p, "[\"%s\"]", q);
    return old;
}

/* ---- small readers -------------------------------------------------------------------------- */

bool schema_is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* A number as long double, exact for every int64, uint64 and double json-c holds. */
long double schema_number_value(struct json_object *v)
{
    if (json_object_is_type(v, json_type_double))
        return json_object_get_double(v);
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX)
        return (long double)json_object_get_uint64(v);
    return (long double)i;
}

bool schema_is_integral(struct json_object *v)
{
    if (json_object_is_type(v, json_type_int))
        return true;
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);
        return isfinite(d) && floor(d) == d;
    }
    return false;
}

/* A non-negative integer keyword value (an integral double such as 2.0 counts). */
bool schema_get_count(struct json_object *v, uint64_t *ret)
{
    long double d;

    if (!schema_is_number(v) || !schema_is_integral(v))
        return false;
    d = schema_number_value(v);
    if (d < 0 || d >= 18446744073709551616.0L)
        return false;
    *ret = (uint64_t)d;
    return true;
}

/* Formats a number without touching json-c's serialization cache. */
void schema_format_number(struct json_object *v, char *out, size_t size)
{
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);
        if (i == INT64_MAX)
            snprintf(out, size, "%" PRIu64, json_object_get_uint64(v));
        else
            snprintf(out, size, "%" PRId64, i);
        return;
    }
    double d = json_object_get_double(v);
    snprintf(out, size, "%.15g", d);
    if (strtod(out, NULL) != d)
        snprintf(out, size, "%.17g", d);
}

/* A short, one-line rendering of a value for messages: scalars in JSON, containers elided. */
void schema_snippet(struct json_object *v, char *out, size_t size)
{
    const char *s;
    size_t n, o = 0;

    switch (json_object_get_type(v)) {
    case json_type_null: snprintf(out, size, "null"); return;
    case json_type_boolean:
        snprintf(out, size, "%s", json_object_get_boolean(v) ? "true" : "false");
        return;
    case json_type_int:
    case json_type_double: schema_format_number(v, out, size); return;
    case json_type_object: snprintf(out, size, "{...}"); return;
    case json_type_array: snprintf(out, size, "[...]"); return;
    case json_type_string: break;
    }
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (size < 8) {
        snprintf(out, size, "\"\"");
        return;
    }
    out[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (o + 6 >= size || o + 6 >= SNIPPET_MAX) {
            /* Cut at a character boundary. */
            while (o > 1 && ((unsigned char)out[o - 1] & 0xC0) == 0x80)
                o--;
            if (o > 1 && (unsigned char)out[o - 1] >= 0xC0)
                o--;
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (c == '"' || c == '\\')
            out[o++] = '\\';
        out[o++] = c < 0x20 ? ' ' : (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* JSON equality where 1 and 1.0 are the same number (JSON Schema's rule for enum). */
bool schema_values_equal(struct json_object *a, struct json_object *b)
{
    if (schema_is_number(a) && schema_is_number(b)) {
        if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
            return json_object_equal(a, b);
        return schema_number_value(a) == schema_number_value(b);
    }
    if (json_object_get_type(a) != json_object_get_type(b))
        return false;
    if (json_object_is_type(a, json_type_array)) {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!schema_values_equal(json_object_array_get_idx(a, i),
                                     json_object_array_get_idx(b, i)))
                return false;
        return true;
    }
    if (json_object_is_type(a, json_type_object)) {
        if (json_object_object_length(a) != json_object_object_length(b))
            return false;
        json_object_object_foreach(a, ka, va)
        {
            struct json_object *vb;
            if (!json_object_object_get_ex(b, ka, &vb) || !schema_values_equal(va, vb))
                return false;
        }
        return true;
    }
    return json_object_equal(a, b);
}

/* ---- type names ----------------------------------------------------------------------------- */

static const struct {
    const char *name, *label;
} type_names[] = {
    {"object", "an object"},   {"array", "an array"},  {"string", "a string"},
    {"integer", "an integer"}, {"number", "a number"}, {"boolean", "a boolean"},
    {"null", "null"},
};

const char *schema_type_label(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(name, type_names[i].name) == 0)
            return type_names[i].label;
    return NULL;
}

unsigned schema_type_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(name, type_names[i].name) == 0)
            return 1u << i;
    return 0;
}

/* The type bits a value satisfies: an integral double is an integer too, as JSON Schema says. */
unsigned schema_value_types(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return TY_NULL;
    case json_type_boolean: return TY_BOOLEAN;
    case json_type_object: return TY_OBJECT;
    case json_type_array: return TY_ARRAY;
    case json_type_string: return TY_STRING;
    case json_type_int: return TY_INTEGER | TY_NUMBER;
    case json_type_double: return TY_NUMBER | (schema_is_integral(v) ? TY_INTEGER : 0);
    }
    return 0;
}
