/* SPDX-License-Identifier: MIT */
/*
 * JSON on json-c: strict parsing with UTF-8 validation and a line/column in every parse error
 * (json-c 0.16 strict mode still accepts single-quoted strings; nothing else non-standard),
 * typed field accessors whose errors name the field, compact UTF-8 output, and raw JSON values
 * (already-serialized text embedded as is, with no re-parse).
 */
#ifndef HETU_UTIL_JSON_H
#define HETU_UTIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "util/err.h"

#define JSON_MAX_DEPTH 64

/* Parses exactly one JSON value from data[0..len). NULL-free: a NUL byte is an error. */
int json_parse(const char *data, size_t len, struct json_object **ret, struct err *e);

/* Compact text with raw UTF-8 and unescaped '/'; owned by obj. */
const char *json_text(struct json_object *obj, size_t *ret_len);

/* A value that serializes as the given JSON text, which must already be valid JSON. */
struct json_object *json_raw_new(const char *text);
/* The same, taking over the malloc'd text (freed with the value, or now on failure). */
struct json_object *json_raw_take(char *text);

/* A string, or JSON null when s is NULL. */
struct json_object *json_str_or_null(const char *s);

const char *json_type_label(struct json_object *obj);

/* Accessor flags. */
#define JF_REQUIRED 0x1 /* absent is an error */
#define JF_NULLABLE 0x2 /* null is accepted and reads as absent */

/*
 * Each accessor looks up `key` in obj (which must be an object), checks type and limits, and on
 * failure sets e with the field named `where` + key (where may be NULL, e.g. "samples[3]").
 * Absent (or null with JF_NULLABLE) leaves *ret unchanged and returns 0.
 * Strings must be valid UTF-8 (guaranteed by the parser) and contain no NUL.
 */
int json_get_str(struct json_object *obj, const char *where, const char *key, unsigned flags,
                 size_t min_len, size_t max_len, const char **ret, struct err *e);
int json_get_int(struct json_object *obj, const char *where, const char *key, unsigned flags,
                 int64_t min, int64_t max, int64_t *ret, struct err *e);
int json_get_bool(struct json_object *obj, const char *where, const char *key, unsigned flags,
                  bool *ret, struct err *e);
int json_get_array(struct json_object *obj, const char *where, const char *key, unsigned flags,
                   size_t max_items, struct json_object **ret, struct err *e);
int json_get_object(struct json_object *obj, const char *where, const char *key, unsigned flags,
                    struct json_object **ret, struct err *e);

/* Rejects keys of obj not in the NULL-terminated list `known`, naming the first unknown one. */
int json_check_keys(struct json_object *obj, const char *where, const char *const *known,
                    struct err *e);
/* The first key of the object obj not in the NULL-terminated list `known`, or NULL. */
const char *json_unknown_key(struct json_object *obj, const char *const *known);

/* Formats the display name of a field: "key", or "where.key". */
void json_field_name(char *out, size_t size, const char *where, const char *key);

/* Number of UTF-8 code points in s[0..len). */
size_t utf8_length(const char *s, size_t len);

#endif
