/* SPDX-License-Identifier: MIT */
/*
 * What the parts of the JSON Schema subset share: the compiled form (struct schema and its tree
 * of struct node), the path builder both error messages use, and small readers of JSON values.
 * Nothing here is for use outside src/llm/schema*.c.
 *
 *   schema.c           compiling a schema, the reference count, the cache of schemas by text
 *   schema_check.c     schema_check: is a user's schema one this validator understands
 *   schema_validate.c  schema_validate: does a value satisfy a compiled schema
 *   schema_value.c     paths, type names and value readers
 */
#ifndef HETU_LLM_SCHEMA_INT_H
#define HETU_LLM_SCHEMA_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "llm/schema.h"

#define SCHEMA_MAX_DEPTH 64
#define PATH_CAP         256
#define SNIPPET_MAX      80

/* A path built by appending segments and cut back to an earlier length; truncates when full. */
struct path {
    char s[PATH_CAP];
    size_t len;
};

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

/*
 * Shared by every thread that holds a reference: `refs` is atomic and nothing else changes after
 * schema_compile returns (the cache in schema.c reads source, source_len and source_hash under
 * its own mutex, but they were set before the schema was published).
 */
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

/* paths: each append returns the length before it, for schema_path_cut */
size_t schema_path_addf(struct path *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void schema_path_cut(struct path *p, size_t len);
size_t schema_path_add_key(struct path *p, const char *key);

/* values */
bool schema_is_number(struct json_object *v);
long double schema_number_value(struct json_object *v);
bool schema_is_integral(struct json_object *v);
bool schema_get_count(struct json_object *v, uint64_t *ret);
void schema_format_number(struct json_object *v, char *out, size_t size);
void schema_snippet(struct json_object *v, char *out, size_t size);
bool schema_values_equal(struct json_object *a, struct json_object *b);

/* type names: "object" -> "an object", and as TY_* bits */
const char *schema_type_label(const char *name);
unsigned schema_type_bit(const char *name);
unsigned schema_value_types(struct json_object *v);

#endif
