/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema subset: a structural check of a schema (run once, when a task is saved) and the
 * validation of a value (run on every model reply). Both walk the schema recursively, at most
 * SCHEMA_MAX_DEPTH schemas deep, and report the first problem only, naming where it is: the
 * keyword path inside the schema ("properties.name.type") or the JSONPath-like location inside
 * the value ("$.subtopics[2]").
 *
 * Validation runs on a compiled schema (struct schema): the keywords of every schema object are
 * looked up once, when it is compiled, into a tree of plain structs; numbers and enum values stay
 * in a private copy of the schema's JSON that is serialized once, at compile time, and only read
 * afterwards (json-c caches serialized text inside objects), so threads share a compiled schema.
 * On an unchecked schema validation never fails or crashes because of the schema: keywords of
 * the wrong type are skipped.
 *
 * Supported: type (a name or a list of names), properties, required, items, enum,
 * additionalProperties (bool or schema), minItems/maxItems, minLength/maxLength (code points),
 * minimum/maximum (inclusive), and boolean schemas (true, false) below the top level. Other
 * keywords are ignored, as JSON Schema prescribes for unknown ones.
 */
#include "llm/schema.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/text.h"
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

/* ---- compiled schemas ----------------------------------------------------------------------- */

/* Type names as bits, so a value's type is checked with one AND. */
enum {
    TY_OBJECT = 1 << 0,
    TY_ARRAY = 1 << 1,
    TY_STRING = 1 << 2,
    TY_INTEGER = 1 << 3,
    TY_NUMBER = 1 << 4,
    TY_BOOLEAN = 1 << 5,
    TY_NULL = 1 << 6,
};

static unsigned type_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(name, type_names[i].name) == 0)
            return 1u << i;
    return 0;
}

/* The type bits a value satisfies: an integral double is an integer too, as JSON Schema says. */
static unsigned value_types(struct json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_null: return TY_NULL;
    case json_type_boolean: return TY_BOOLEAN;
    case json_type_object: return TY_OBJECT;
    case json_type_array: return TY_ARRAY;
    case json_type_string: return TY_STRING;
    case json_type_int: return TY_INTEGER | TY_NUMBER;
    case json_type_double: return TY_NUMBER | (is_integral(v) ? TY_INTEGER : 0);
    }
    return 0;
}

enum node_kind {
    NODE_ANY,  /* true, or not a schema at all: anything goes */
    NODE_NONE, /* false: nothing is allowed */
    NODE_DEEP, /* nested deeper than SCHEMA_MAX_DEPTH */
    NODE_RULES,
};

enum extra_kind { EXTRA_ANY, EXTRA_NONE, EXTRA_SCHEMA };

struct node;

struct prop {
    const char *name; /* points into the schema's JSON */
    struct node *node;
};

/* One schema object with its keywords looked up once; numbers and enum values stay in the
 * schema's JSON, which the compiled schema owns and never changes. */
struct node {
    enum node_kind kind;
    unsigned types; /* TY_* accepted; 0: no type keyword in effect */
    char *want;     /* the accepted types as the messages name them */
    struct json_object *enum_list;
    const char **required;
    size_t n_required;
    struct prop *props; /* sorted by name */
    size_t n_props;
    enum extra_kind extra;
    struct node *extra_node, *items;
    bool has_min_items, has_max_items, has_min_length, has_max_length;
    uint64_t min_items, max_items, min_length, max_length;
    struct json_object *minimum, *maximum;
};

struct schema {
    atomic_int refs;
    struct json_object *json; /* private, never serialized again after text is taken */
    char *text;               /* compact JSON, as sent to providers */
    char *source;             /* the text it was compiled from (cached schemas) */
    size_t source_len;
    uint64_t source_hash;
    bool wants_object;
    struct node *root;
};

static void node_free(struct node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_props; i++)
        node_free(n->props[i].node);
    free(n->props);
    free(n->required);
    free(n->want);
    node_free(n->extra_node);
    node_free(n->items);
    free(n);
}

static int prop_cmp(const void *a, const void *b)
{
    return strcmp(((const struct prop *)a)->name, ((const struct prop *)b)->name);
}

/* "a string", or "a string, an integer or null" for a list; NULL (no constraint) when no name
 * is known. Sets *bits to the names' TY_* bits. */
static char *type_want(struct json_object *type, unsigned *bits)
{
    char want[160], tail[160];
    size_t o = 0, shown = 0;

    want[0] = '\0';
    *bits = 0;
    if (json_object_is_type(type, json_type_string)) {
        const char *label = type_label(json_object_get_string(type));
        if (!label)
            return NULL;
        *bits = type_bit(json_object_get_string(type));
        return strdup(label);
    }
    if (!json_object_is_type(type, json_type_array))
        return NULL;
    for (size_t i = 0, n = json_object_array_length(type); i < n; i++) {
        struct json_object *t = json_object_array_get_idx(type, i);
        const char *name = json_object_get_string(t), *label;
        if (!json_object_is_type(t, json_type_string) || !(label = type_label(name)))
            continue;
        *bits |= type_bit(name);
        int k = snprintf(want + o, sizeof(want) - o, "%s%s", shown ? ", " : "", label);
        if (k > 0 && (size_t)k < sizeof(want) - o)
            o += (size_t)k;
        shown++;
    }
    if (o == 0) {
        *bits = 0;
        return NULL;
    }
    char *last = strrchr(want, ','); /* "a, b, c" -> "a, b or c" */
    if (last) {
        snprintf(tail, sizeof(tail), " or%s", last + 1);
        snprintf(last, sizeof(want) - (size_t)(last - want), "%s", tail);
    }
    return strdup(want);
}

static struct node *compile_node(struct json_object *js, int depth);

static int compile_object_rules(struct node *n, struct json_object *js, int depth)
{
    struct json_object *k;

    if (json_object_object_get_ex(js, "required", &k) && json_object_is_type(k, json_type_array)) {
        size_t len = json_object_array_length(k);
        if (len && !(n->required = calloc(len, sizeof(*n->required))))
            return -1;
        for (size_t i = 0; i < len; i++) {
            struct json_object *name = json_object_array_get_idx(k, i);
            if (json_object_is_type(name, json_type_string))
                n->required[n->n_required++] = json_object_get_string(name);
        }
    }
    if (json_object_object_get_ex(js, "properties", &k) &&
        json_object_is_type(k, json_type_object)) {
        size_t len = (size_t)json_object_object_length(k);
        if (len && !(n->props = calloc(len, sizeof(*n->props))))
            return -1;
        json_object_object_foreach(k, name, sub)
        {
            n->props[n->n_props].name = name;
            if (!(n->props[n->n_props++].node = compile_node(sub, depth + 1)))
                return -1;
        }
        qsort(n->props, n->n_props, sizeof(*n->props), prop_cmp);
    }
    if (json_object_object_get_ex(js, "additionalProperties", &k)) {
        if (json_object_is_type(k, json_type_boolean)) {
            n->extra = json_object_get_boolean(k) ? EXTRA_ANY : EXTRA_NONE;
        } else if (json_object_is_type(k, json_type_object)) {
            n->extra = EXTRA_SCHEMA;
            if (!(n->extra_node = compile_node(k, depth + 1)))
                return -1;
        }
    }
    return 0;
}

static struct node *compile_node(struct json_object *js, int depth)
{
    struct node *n = calloc(1, sizeof(*n));
    struct json_object *k;

    if (!n)
        return NULL;
    if (json_object_is_type(js, json_type_boolean)) {
        n->kind = json_object_get_boolean(js) ? NODE_ANY : NODE_NONE;
        return n;
    }
    if (!json_object_is_type(js, json_type_object))
        return n; /* NODE_ANY: keywords of an unchecked schema with the wrong type are skipped */
    if (depth > SCHEMA_MAX_DEPTH) {
        n->kind = NODE_DEEP;
        return n;
    }
    n->kind = NODE_RULES;
    if (json_object_object_get_ex(js, "type", &k) && (n->want = type_want(k, &n->types)) == NULL &&
        n->types) {
        node_free(n);
        return NULL;
    }
    if (json_object_object_get_ex(js, "enum", &k) && json_object_is_type(k, json_type_array))
        n->enum_list = k;
    n->has_min_items = json_object_object_get_ex(js, "minItems", &k) && get_count(k, &n->min_items);
    n->has_max_items = json_object_object_get_ex(js, "maxItems", &k) && get_count(k, &n->max_items);
    n->has_min_length =
        json_object_object_get_ex(js, "minLength", &k) && get_count(k, &n->min_length);
    n->has_max_length =
        json_object_object_get_ex(js, "maxLength", &k) && get_count(k, &n->max_length);
    if (json_object_object_get_ex(js, "minimum", &k) && is_number(k))
        n->minimum = k;
    if (json_object_object_get_ex(js, "maximum", &k) && is_number(k))
        n->maximum = k;
    if (json_object_object_get_ex(js, "items", &k) && !(n->items = compile_node(k, depth + 1))) {
        node_free(n);
        return NULL;
    }
    if (compile_object_rules(n, js, depth) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

struct schema *schema_compile(struct json_object *json, struct err *e)
{
    struct schema *s = calloc(1, sizeof(*s));
    struct json_object *type;
    const char *text;

    if (!s) {
        err_set(e, HE_NOMEM, NULL, NULL);
        return NULL;
    }
    atomic_init(&s->refs, 1);
    if (json && (json_object_deep_copy(json, &s->json, NULL) < 0 || !s->json))
        goto nomem;
    text = json_object_to_json_string_ext(s->json,
                                          JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!text || !(s->text = strdup(text)) || !(s->root = compile_node(s->json, 1)))
        goto nomem;
    s->wants_object = json_object_object_get_ex(s->json, "type", &type) &&
                      json_object_is_type(type, json_type_string) &&
                      strcmp(json_object_get_string(type), "object") == 0;
    return s;
nomem:
    schema_unref(s);
    err_set(e, HE_NOMEM, NULL, NULL);
    return NULL;
}

struct schema *schema_ref(struct schema *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void schema_unref(struct schema *s)
{
    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    node_free(s->root);
    json_object_put(s->json);
    free(s->text);
    free(s->source);
    free(s);
}

const char *schema_text(const struct schema *s)
{
    return s->text;
}

bool schema_wants_object(const struct schema *s)
{
    return s->wants_object;
}

/* ---- schemas from text, compiled once ---------------------------------------------------- */

/* The schemas most recently compiled from text, so a task's schema is parsed and compiled once
 * however many calls and samples use it. Each slot holds a reference. */
#define CACHE_SLOTS 32

static struct {
    pthread_mutex_t mu;
    struct schema *slot[CACHE_SLOTS];
    uint64_t used[CACHE_SLOTS];
    uint64_t tick;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static struct schema *cache_find(const char *text, size_t len, uint64_t hash)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        struct schema *s = cache.slot[i];
        if (s && s->source_hash == hash && s->source_len == len &&
            memcmp(s->source, text, len) == 0) {
            cache.used[i] = ++cache.tick;
            return schema_ref(s);
        }
    }
    return NULL;
}

/* Puts s in the least recently used slot (the cache takes a reference). */
static void cache_put(struct schema *s)
{
    size_t victim = 0;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        if (!cache.slot[i]) {
            victim = i;
            break;
        }
        if (cache.used[i] < cache.used[victim])
            victim = i;
    }
    schema_unref(cache.slot[victim]);
    cache.slot[victim] = schema_ref(s);
    cache.used[victim] = ++cache.tick;
}

struct schema *schema_from_text(const char *text, struct err *e)
{
    size_t len = strlen(text);
    uint64_t hash = text_hash(text, len);
    struct json_object *json = NULL;
    struct schema *s, *found;

    pthread_mutex_lock(&cache.mu);
    s = cache_find(text, len, hash);
    pthread_mutex_unlock(&cache.mu);
    if (s)
        return s;
    if (json_parse(text, len, &json, e) < 0)
        return NULL;
    s = schema_compile(json, e);
    json_object_put(json);
    if (!s)
        return NULL;
    if (!(s->source = malloc(len + 1))) {
        schema_unref(s);
        err_set(e, HE_NOMEM, NULL, NULL);
        return NULL;
    }
    memcpy(s->source, text, len + 1);
    s->source_len = len;
    s->source_hash = hash;
    pthread_mutex_lock(&cache.mu);
    if ((found = cache_find(text, len, hash))) { /* compiled meanwhile by another thread */
        schema_unref(s);
        s = found;
    } else {
        cache_put(s);
    }
    pthread_mutex_unlock(&cache.mu);
    return s;
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

static int validate_node(struct validator *v, const struct node *n, struct json_object *value);

static int validate_enum(struct validator *v, struct json_object *list, struct json_object *value)
{
    char got[SNIPPET_MAX + 8], opts[300];
    size_t n, o = 0;

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
        old = path_add_key(&v->path, key);
        if ((r = validate_node(v, sub, member)))
            return r;
        path_cut(&v->path, old);
    }
    return 0;
}

static int validate_array(struct validator *v, const struct node *n, struct json_object *value)
{
    size_t len = json_object_array_length(value);
    int r;

    if (n->has_min_items && len < n->min_items)
        return invalid(v, "expected at least %" PRIu64 " item%s, got %zu", n->min_items,
                       n->min_items == 1 ? "" : "s", len);
    if (n->has_max_items && len > n->max_items)
        return invalid(v, "expected at most %" PRIu64 " item%s, got %zu", n->max_items,
                       n->max_items == 1 ? "" : "s", len);
    if (!n->items)
        return 0;
    for (size_t i = 0; i < len; i++) {
        size_t old = path_addf(&v->path, "[%zu]", i);
        if ((r = validate_node(v, n->items, json_object_array_get_idx(value, i))))
            return r;
        path_cut(&v->path, old);
    }
    return 0;
}

static int validate_string(struct validator *v, const struct node *n, struct json_object *value)
{
    size_t len;

    if (!n->has_min_length && !n->has_max_length)
        return 0;
    len = utf8_length(json_object_get_string(value), (size_t)json_object_get_string_len(value));
    if (n->has_min_length && len < n->min_length)
        return invalid(v, "expected at least %" PRIu64 " character%s, got %zu", n->min_length,
                       n->min_length == 1 ? "" : "s", len);
    if (n->has_max_length && len > n->max_length)
        return invalid(v, "expected at most %" PRIu64 " character%s, got %zu", n->max_length,
                       n->max_length == 1 ? "" : "s", len);
    return 0;
}

static int validate_number(struct validator *v, const struct node *n, struct json_object *value)
{
    char want[40], got[40];
    long double x;

    if (!n->minimum && !n->maximum)
        return 0;
    x = number_value(value);
    if (n->minimum && x < number_value(n->minimum)) {
        format_number(n->minimum, want, sizeof(want));
        format_number(value, got, sizeof(got));
        return invalid(v, "expected at least %s, got %s", want, got);
    }
    if (n->maximum && x > number_value(n->maximum)) {
        format_number(n->maximum, want, sizeof(want));
        format_number(value, got, sizeof(got));
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
    if (n->types && !(n->types & value_types(value)))
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

    path_addf(&v.path, "$");
    return validate_node(&v, s->root, value);
}
