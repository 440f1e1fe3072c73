/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema subset: a structural check of a schema (run once, when a task is saved) and the
 * validation of a value (run on every model reply). Both walk the schema recursively, at most
 * SCHEMA_MAX_DEPTH schemas deep, and report the first problem only, naming where it is: the
 * keyword path inside the schema ("properties.name.type") or the JSONPath-like location inside
 * the value ("$.subtopics[2]").
 *
 * Validation only reads the schema and the value, and never serializes either (json-c caches
 * serialized text inside the object), so one checked schema can be shared by threads that
 * validate at the same time. It expects a schema that passed schema_check; on an unchecked one
 * it never fails or crashes because of the schema, it skips keywords of the wrong type.
 *
 * Supported: type (a name or a list of names), properties, required, items, enum,
 * additionalProperties (bool or schema), minItems/maxItems, minLength/maxLength (code points),
 * minimum/maximum (inclusive), and boolean schemas (true, false) below the top level. Other
 * keywords are ignored, as JSON Schema prescribes for unknown ones.
 */
#include "llm/schema.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util/json.h"
#include "util/banned.h"

#define SCHEMA_MAX_DEPTH 64
#define PATH_CAP         256
#define SNIPPET_MAX      80

/* ---- paths ---------------------------------------------------------------------------------- */

/* A path built by appending segments and cut back to an earlier length; truncates when full. */
struct path {
    char s[PATH_CAP];
    size_t len;
};

static size_t path_addf(struct path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_addf(struct path *p, const char *fmt, ...)
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

static void path_cut(struct path *p, size_t len)
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
static size_t path_add_key(struct path *p, const char *key)
{
    size_t old = p->len;
    char q[PATH_CAP];
    size_t n = 0;

    if (plain_name(key))
        return path_addf(p, "%s%s", p->len ? "." : "", key);
    for (const char *c = key; *c && n + 3 < sizeof(q); c++) {
        if (*c == '"' || *c == '\\')
            q[n++] = '\\';
        q[n++] = (unsigned char)*c < 0x20 ? '?' : *c;
    }
    q[n] = '\0';
    path_addf(p, "[\"%s\"]", q);
    return old;
}

/* ---- small readers -------------------------------------------------------------------------- */

static bool is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* A number as long double, exact for every int64, uint64 and double json-c holds. */
static long double number_value(struct json_object *v)
{
    if (json_object_is_type(v, json_type_double))
        return json_object_get_double(v);
    int64_t i = json_object_get_int64(v);
    if (i == INT64_MAX)
        return (long double)json_object_get_uint64(v);
    return (long double)i;
}

static bool is_integral(struct json_object *v)
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
static bool get_count(struct json_object *v, uint64_t *ret)
{
    long double d;

    if (!is_number(v) || !is_integral(v))
        return false;
    d = number_value(v);
    if (d < 0 || d >= 18446744073709551616.0L)
        return false;
    *ret = (uint64_t)d;
    return true;
}

/* Formats a number without touching json-c's serialization cache. */
static void format_number(struct json_object *v, char *out, size_t size)
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
static void snippet(struct json_object *v, char *out, size_t size)
{
    const char *s;
    size_t n, o = 0;

    switch (json_object_get_type(v)) {
    case json_type_null: snprintf(out, size, "null"); return;
    case json_type_boolean:
        snprintf(out, size, "%s", json_object_get_boolean(v) ? "true" : "false");
        return;
    case json_type_int:
    case json_type_double: format_number(v, out, size); return;
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
static bool values_equal(struct json_object *a, struct json_object *b)
{
    if (is_number(a) && is_number(b)) {
        if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
            return json_object_equal(a, b);
        return number_value(a) == number_value(b);
    }
    if (json_object_get_type(a) != json_object_get_type(b))
        return false;
    if (json_object_is_type(a, json_type_array)) {
        size_t n = json_object_array_length(a);
        if (n != json_object_array_length(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!values_equal(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i)))
                return false;
        return true;
    }
    if (json_object_is_type(a, json_type_object)) {
        if (json_object_object_length(a) != json_object_object_length(b))
            return false;
        json_object_object_foreach(a, ka, va)
        {
            struct json_object *vb;
            if (!json_object_object_get_ex(b, ka, &vb) || !values_equal(va, vb))
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

static const char *type_label(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(name, type_names[i].name) == 0)
            return type_names[i].label;
    return NULL;
}

static bool type_matches(const char *name, struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return strcmp(name, "null") == 0;
    case json_type_boolean: return strcmp(name, "boolean") == 0;
    case json_type_object: return strcmp(name, "object") == 0;
    case json_type_array: return strcmp(name, "array") == 0;
    case json_type_string: return strcmp(name, "string") == 0;
    case json_type_int: return strcmp(name, "integer") == 0 || strcmp(name, "number") == 0;
    case json_type_double:
        return strcmp(name, "number") == 0 || (strcmp(name, "integer") == 0 && is_integral(v));
    }
    return false;
}

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
        if (!type_label(json_object_get_string(v)))
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
        size_t old = path_addf(&c->path, "[%zu]", i);
        int r = 0;
        if (!json_object_is_type(t, json_type_string))
            r = check_fail(c, "must be a string, not %s", json_type_label(t));
        else if (!type_label(json_object_get_string(t)))
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
        path_cut(&c->path, old);
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
        size_t old = path_addf(&c->path, "[%zu]", i);
        if (!json_object_is_type(s, json_type_string))
            return check_fail(c, "must be a string, not %s", json_type_label(s));
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_object_get_string(json_object_array_get_idx(v, j)),
                       json_object_get_string(s)) == 0)
                return check_fail(c, "repeats \"%s\"", json_object_get_string(s));
        path_cut(&c->path, old);
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
            size_t old = path_add_key(&c->path, name);
            int r = check_subschema(c, sub, depth);
            if (r)
                return r;
            path_cut(&c->path, old);
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
        if (!get_count(v, &count))
            return check_fail(c, "must be a non-negative integer, not %s",
                              is_number(v) ? "a negative or fractional number"
                                           : json_type_label(v));
        return 0;
    }
    if (strcmp(kw, "minimum") == 0 || strcmp(kw, "maximum") == 0) {
        if (!is_number(v))
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
    if (number_value(a) > number_value(b)) {
        size_t old = path_add_key(&c->path, lo);
        int r = check_fail(c, "must not exceed %s", hi);
        path_cut(&c->path, old);
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
        size_t old = path_add_key(&c->path, kw);
        r = check_keyword(c, kw, v, depth);
        if (r)
            return r;
        path_cut(&c->path, old);
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
            path_add_key(&c.path, "type");
            return check_fail(&c, "must be \"object\" at the top level");
        }
    }
    return check_schema(&c, schema, 1);
}

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

static int validate_node(struct validator *v, struct json_object *schema, struct json_object *value,
                         int depth);

static int validate_type(struct validator *v, struct json_object *type, struct json_object *value)
{
    char want[160];
    size_t n, o = 0;

    if (json_object_is_type(type, json_type_string)) {
        const char *name = json_object_get_string(type);
        if (!type_label(name) || type_matches(name, value))
            return 0;
        return invalid(v, "expected %s, got %s", type_label(name), json_type_label(value));
    }
    if (!json_object_is_type(type, json_type_array))
        return 0;
    n = json_object_array_length(type);
    want[0] = '\0';
    for (size_t i = 0, shown = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(type, i);
        const char *name = json_object_get_string(t), *label;
        if (!json_object_is_type(t, json_type_string) || !(label = type_label(name)))
            continue;
        if (type_matches(name, value))
            return 0;
        /* "a, b or c": the separator before the last shown name is fixed up below. */
        int k = snprintf(want + o, sizeof(want) - o, "%s%s", shown ? ", " : "", label);
        if (k > 0 && (size_t)k < sizeof(want) - o)
            o += (size_t)k;
        shown++;
    }
    if (o == 0)
        return 0;
    char *last = strrchr(want, ',');
    if (last) {
        char tail[160];
        snprintf(tail, sizeof(tail), " or%s", last + 1);
        snprintf(last, sizeof(want) - (size_t)(last - want), "%s", tail);
    }
    return invalid(v, "expected %s, got %s", want, json_type_label(value));
}

static int validate_enum(struct validator *v, struct json_object *list, struct json_object *value)
{
    char got[SNIPPET_MAX + 8], opts[300];
    size_t n, o = 0;

    if (!json_object_is_type(list, json_type_array))
        return 0;
    n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++)
        if (values_equal(json_object_array_get_idx(list, i), value))
            return 0;
    opts[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char one[SNIPPET_MAX + 8];
        snippet(json_object_array_get_idx(list, i), one, sizeof(one));
        if (o + strlen(one) + 8 >= sizeof(opts)) {
            snprintf(opts + o, sizeof(opts) - o, ", ...");
            break;
        }
        int k = snprintf(opts + o, sizeof(opts) - o, "%s%s", i ? ", " : "", one);
        if (k > 0)
            o += (size_t)k;
    }
    snippet(value, got, sizeof(got));
    return invalid(v, "expected one of %s, got %s", opts, got);
}

static int validate_object(struct validator *v, struct json_object *schema,
                           struct json_object *value, int depth)
{
    struct json_object *required, *props = NULL, *extra = NULL, *sub;
    int r;

    if (json_object_object_get_ex(schema, "required", &required) &&
        json_object_is_type(required, json_type_array)) {
        size_t n = json_object_array_length(required);
        for (size_t i = 0; i < n; i++) {
            struct json_object *name = json_object_array_get_idx(required, i);
            if (json_object_is_type(name, json_type_string) &&
                !json_object_object_get_ex(value, json_object_get_string(name), NULL))
                return invalid(v, "missing required property \"%s\"", json_object_get_string(name));
        }
    }
    json_object_object_get_ex(schema, "properties", &props);
    if (!json_object_is_type(props, json_type_object))
        props = NULL;
    json_object_object_get_ex(schema, "additionalProperties", &extra);
    json_object_object_foreach(value, key, member)
    {
        size_t old;
        if (props && json_object_object_get_ex(props, key, &sub)) {
            /* a listed property */
        } else if (json_object_is_type(extra, json_type_boolean)) {
            if (!json_object_get_boolean(extra))
                return invalid(v, "unexpected property \"%s\" (additionalProperties is false)",
                               key);
            continue;
        } else if (json_object_is_type(extra, json_type_object)) {
            sub = extra;
        } else {
            continue;
        }
        old = path_add_key(&v->path, key);
        r = validate_node(v, sub, member, depth + 1);
        if (r)
            return r;
        path_cut(&v->path, old);
    }
    return 0;
}

static int validate_array(struct validator *v, struct json_object *schema,
                          struct json_object *value, int depth)
{
    size_t n = json_object_array_length(value);
    struct json_object *k, *items;
    uint64_t bound;
    int r;

    if (json_object_object_get_ex(schema, "minItems", &k) && get_count(k, &bound) && n < bound)
        return invalid(v, "expected at least %" PRIu64 " item%s, got %zu", bound,
                       bound == 1 ? "" : "s", n);
    if (json_object_object_get_ex(schema, "maxItems", &k) && get_count(k, &bound) && n > bound)
        return invalid(v, "expected at most %" PRIu64 " item%s, got %zu", bound,
                       bound == 1 ? "" : "s", n);
    if (!json_object_object_get_ex(schema, "items", &items))
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t old = path_addf(&v->path, "[%zu]", i);
        r = validate_node(v, items, json_object_array_get_idx(value, i), depth + 1);
        if (r)
            return r;
        path_cut(&v->path, old);
    }
    return 0;
}

static int validate_string(struct validator *v, struct json_object *schema,
                           struct json_object *value)
{
    size_t n =
        utf8_length(json_object_get_string(value), (size_t)json_object_get_string_len(value));
    struct json_object *k;
    uint64_t bound;

    if (json_object_object_get_ex(schema, "minLength", &k) && get_count(k, &bound) && n < bound)
        return invalid(v, "expected at least %" PRIu64 " character%s, got %zu", bound,
                       bound == 1 ? "" : "s", n);
    if (json_object_object_get_ex(schema, "maxLength", &k) && get_count(k, &bound) && n > bound)
        return invalid(v, "expected at most %" PRIu64 " character%s, got %zu", bound,
                       bound == 1 ? "" : "s", n);
    return 0;
}

static int validate_number(struct validator *v, struct json_object *schema,
                           struct json_object *value)
{
    char want[40], got[40];
    struct json_object *k;
    long double x = number_value(value);

    if (json_object_object_get_ex(schema, "minimum", &k) && is_number(k) && x < number_value(k)) {
        format_number(k, want, sizeof(want));
        format_number(value, got, sizeof(got));
        return invalid(v, "expected at least %s, got %s", want, got);
    }
    if (json_object_object_get_ex(schema, "maximum", &k) && is_number(k) && x > number_value(k)) {
        format_number(k, want, sizeof(want));
        format_number(value, got, sizeof(got));
        return invalid(v, "expected at most %s, got %s", want, got);
    }
    return 0;
}

static int validate_node(struct validator *v, struct json_object *schema, struct json_object *value,
                         int depth)
{
    struct json_object *k;
    int r;

    if (json_object_is_type(schema, json_type_boolean))
        return json_object_get_boolean(schema) ? 0 : invalid(v, "no value is allowed here");
    if (!json_object_is_type(schema, json_type_object))
        return 0;
    if (depth > SCHEMA_MAX_DEPTH)
        return invalid(v, "nests more than %d levels deep", SCHEMA_MAX_DEPTH);
    if (json_object_object_get_ex(schema, "type", &k) && (r = validate_type(v, k, value)))
        return r;
    if (json_object_object_get_ex(schema, "enum", &k) && (r = validate_enum(v, k, value)))
        return r;
    switch (json_object_get_type(value)) {
    case json_type_object: return validate_object(v, schema, value, depth);
    case json_type_array: return validate_array(v, schema, value, depth);
    case json_type_string: return validate_string(v, schema, value);
    case json_type_int:
    case json_type_double: return validate_number(v, schema, value);
    case json_type_null:
    case json_type_boolean: break;
    }
    return 0;
}

int schema_validate(struct json_object *schema, struct json_object *value, struct err *e)
{
    struct validator v = {.e = e};

    path_addf(&v.path, "$");
    return validate_node(&v, schema, value, 1);
}
