/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. JSON Schema subset: a structural check of a schema (schema_check.c, run once, when a
 * task is saved) and the validation of a value (schema_validate.c, run on every model reply).
 * Both walk the schema recursively, at most SCHEMA_MAX_DEPTH schemas deep, and report the first
 * problem only, naming where it is: the keyword path inside the schema ("properties.name.type")
 * or the JSONPath-like location inside the value ("$.subtopics[2]").
 *
 * This file compiles schemas and keeps them. Validation runs on a compiled schema (struct
 * schema): the keywords of every schema object are looked up once, when it is compiled, into a
 * tree of plain structs; numbers and enum values stay in a private copy of the schema's JSON
 * that is serialized once, at compile time, and only read afterwards (json-c caches serialized
 * text inside objects), so threads share a compiled schema. Its reference count is atomic; the
 * cache of schemas by text is under its own mutex. On an unchecked schema validation never
 * fails or crashes because of the schema: keywords of the wrong type are skipped.
 *
 * Supported: type (a name or a list of names), properties, required, items, enum,
 * additionalProperties (bool or schema), minItems/maxItems, minLength/maxLength (code points),
 * minimum/maximum (inclusive), and boolean schemas (true, false) below the top level. Other
 * keywords are ignored, as JSON Schema prescribes for unknown ones.
 */
#include "llm/schema.h"

#include <pthread.h>
#include <stdatomic.h>
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

/* ---- compiled schemas ----------------------------------------------------------------------- */

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
        const char *label = schema_type_label(json_object_get_string(type));
        if (!label)
            return NULL;
        *bits = schema_type_bit(json_object_get_string(type));
        return strdup(label);
    }
    if (!json_object_is_type(type, json_type_array))
        return NULL;
    for (size_t i = 0, n = json_object_array_length(type); i < n; i++) {
        struct json_object *t = json_object_array_get_idx(type, i);
        const char *name = json_object_get_string(t), *label;
        if (!json_object_is_type(t, json_type_string) || !(label = schema_type_label(name)))
            continue;
        *bits |= schema_type_bit(name);
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
    n->has_min_items =
        json_object_object_get_ex(js, "minItems", &k) && schema_get_count(k, &n->min_items);
    n->has_max_items =
        json_object_object_get_ex(js, "maxItems", &k) && schema_get_count(k, &n->max_items);
    n->has_min_length =
        json_object_object_get_ex(js, "minLength", &k) && schema_get_count(k, &n->min_length);
    n->has_max_length =
        json_object_object_get_ex(js, "maxLength", &k) && schema_get_count(k, &n->max_length);
    if (json_object_object_get_ex(js, "minimum", &k) && schema_is_number(k))
        n->minimum = k;
    if (json_object_object_get_ex(js, "maximum", &k) && schema_is_number(k))
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
 * however many calls and samples use it. Each slot holds a reference. Every field is under mu
 * (any thread may look up or add). */
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
