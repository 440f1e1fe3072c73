/* SPDX-License-Identifier: MIT */
/*
 * JSON helpers. Parsing reuses one json_tokener per thread (created on first use, freed at
 * thread exit), in strict mode: trailing commas, comments, single quotes and bad UTF-8 are all
 * errors, reported with line and column. UTF-8 is checked by util/utf8 before the tokener runs,
 * to the standard's definition (json-c's own check lets overlong forms, encoded surrogates and
 * code points above U+10FFFF through), so the tokener's check is not asked for.
 */
#include "util/json.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "util/utf8.h"
#include "util/banned.h"

static pthread_key_t tok_key;
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_free(void *p)
{
    json_tokener_free(p);
}

static void tok_key_init(void)
{
    pthread_key_create(&tok_key, tok_free);
}

static struct json_tokener *thread_tokener(void)
{
    struct json_tokener *tok;

    pthread_once(&tok_once, tok_key_init);
    tok = pthread_getspecific(tok_key);
    if (!tok) {
        tok = json_tokener_new_ex(JSON_MAX_DEPTH);
        if (!tok)
            return NULL;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        pthread_setspecific(tok_key, tok);
    }
    return tok;
}

static void line_col(const char *data, size_t off, size_t *ret_line, size_t *ret_col)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        if (data[i] == '\n') {
            line++;
            col = 1;
        } else if (((unsigned char)data[i] & 0xC0) != 0x80) {
            col++;
        }
    }
    *ret_line = line;
    *ret_col = col;
}

int json_parse(const char *data, size_t len, struct json_object **ret, struct err *e)
{
    struct json_tokener *tok = thread_tokener();
    struct json_object *obj;
    enum json_tokener_error jerr;
    size_t end, line, col;

    if (!tok)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if (len > (size_t)INT32_MAX)
        return err_set(e, HE_TOO_LARGE, NULL, "JSON text too large");
    json_tokener_reset(tok);
    if (len == 0)
        return err_set(e, HE_BAD_JSON, NULL, "malformed JSON: empty body");
    if (!utf8_valid(data, len)) {
        end = utf8_check(data, len);
        line_col(data, end, &line, &col);
        return err_set(e, HE_BAD_JSON, NULL, "malformed JSON at line %zu column %zu: %s", line, col,
                       data[end] ? "invalid UTF-8" : "NUL byte");
    }
    obj = json_tokener_parse_ex(tok, data, (int)len);
    jerr = json_tokener_get_error(tok);
    end = json_tokener_get_parse_end(tok);
    if (jerr == json_tokener_continue) {
        /* The text ended inside a value: let the tokener see the end of input. */
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_success) {
            *ret = obj; /* NULL for the JSON value null */
            return 0;
        }
        json_object_put(obj);
        line_col(data, len, &line, &col);
        return err_set(e, HE_BAD_JSON, NULL,
                       "malformed JSON at line %zu column %zu: unexpected end of input", line, col);
    }
    if (jerr != json_tokener_success) {
        line_col(data, end < len ? end : len, &line, &col);
        return err_set(e, HE_BAD_JSON, NULL, "malformed JSON at line %zu column %zu: %s", line, col,
                       json_tokener_error_desc(jerr));
    }
    /* Only whitespace may follow the value. */
    for (size_t i = end; i < len; i++) {
        char c = data[i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            json_object_put(obj);
            line_col(data, i, &line, &col);
            return err_set(e, HE_BAD_JSON, NULL,
                           "malformed JSON at line %zu column %zu: unexpected text after the "
                           "value",
                           line, col);
        }
    }
    *ret = obj;
    return 0;
}

static pthread_once_t format_once = PTHREAD_ONCE_INIT;

static void format_init(void)
{
    /* Shortest form that round-trips what we write (costs, rates), not json-c's %.17g. */
    json_c_set_serialization_double_format("%.15g", JSON_C_OPTION_GLOBAL);
}

const char *json_text(struct json_object *obj, size_t *ret_len)
{
    pthread_once(&format_once, format_init);
    return json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, ret_len);
}

static int raw_serialize(struct json_object *obj, struct printbuf *pb, int level, int flags)
{
    (void)level;
    (void)flags;
    const char *s = json_object_get_userdata(obj);
    return printbuf_memappend(pb, s, (int)strlen(s));
}

static void raw_delete(struct json_object *obj, void *ud)
{
    (void)obj;
    free(ud);
}

struct json_object *json_raw_new(const char *text)
{
    char *copy = strdup(text);
    return copy ? json_raw_take(copy) : NULL;
}

struct json_object *json_raw_take(char *copy)
{
    struct json_object *obj;

    if (!copy)
        return NULL;
    obj = json_object_new_string("");
    if (!obj) {
        free(copy);
        return NULL;
    }
    json_object_set_serializer(obj, raw_serialize, copy, raw_delete);
    return obj;
}

struct json_object *json_str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

const char *json_type_label(struct json_object *obj)
{
    switch (json_object_get_type(obj)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "unknown";
}

void json_field_name(char *out, size_t size, const char *where, const char *key)
{
    if (where && *where)
        snprintf(out, size, "%s.%s", where, key);
    else
        snprintf(out, size, "%s", key);
}

/* Looks the key up; returns 1 found (value in *ret), 0 absent, or an error. */
static int lookup(struct json_object *obj, const char *where, const char *key, unsigned flags,
                  struct json_object **ret, struct err *e)
{
    char name[ERR_FIELD_MAX];
    struct json_object *v = NULL;

    if (!json_object_is_type(obj, json_type_object)) {
        json_field_name(name, sizeof(name), where, key);
        return err_set(e, HE_INVALID, where && *where ? where : NULL, "%s must be an object",
                       where && *where ? where : "the body");
    }
    if (!json_object_object_get_ex(obj, key, &v) || (v == NULL && (flags & JF_NULLABLE))) {
        if (flags & JF_REQUIRED) {
            json_field_name(name, sizeof(name), where, key);
            return err_set(e, HE_INVALID, name, "%s is required", name);
        }
        return 0;
    }
    *ret = v;
    return 1;
}

static int type_error(const char *where, const char *key, const char *want, struct json_object *v,
                      struct err *e)
{
    char name[ERR_FIELD_MAX];
    json_field_name(name, sizeof(name), where, key);
    return err_set(e, HE_INVALID, name, "%s must be %s, not %s", name, want, json_type_label(v));
}

/* Looks the key up and checks its type; returns 1 found (value in *ret), 0 absent, or an
   error naming the field and what it should have been. */
static int fetch(struct json_object *obj, const char *where, const char *key, unsigned flags,
                 enum json_type type, const char *want, struct json_object **ret, struct err *e)
{
    struct json_object *v = NULL;
    int r = lookup(obj, where, key, flags, &v, e);

    if (r <= 0)
        return r;
    if (!json_object_is_type(v, type))
        return type_error(where, key, want, v, e);
    *ret = v;
    return 1;
}

size_t utf8_length(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int json_get_str(struct json_object *obj, const char *where, const char *key, unsigned flags,
                 size_t min_len, size_t max_len, const char **ret, struct err *e)
{
    char name[ERR_FIELD_MAX];
    struct json_object *v;
    const char *s;
    size_t len, chars;
    int r = fetch(obj, where, key, flags, json_type_string, "a string", &v, e);

    if (r <= 0)
        return r;
    s = json_object_get_string(v);
    len = (size_t)json_object_get_string_len(v);
    json_field_name(name, sizeof(name), where, key);
    if (strlen(s) != len)
        return err_set(e, HE_INVALID, name, "%s must not contain NUL characters", name);
    chars = utf8_length(s, len);
    if (chars < min_len)
        return min_len == 1 ? err_set(e, HE_INVALID, name, "%s must not be empty", name)
                            : err_set(e, HE_INVALID, name, "%s must be at least %zu characters",
                                      name, min_len);
    if (chars > max_len)
        return err_set(e, HE_INVALID, name, "%s must be at most %zu characters (got %zu)", name,
                       max_len, chars);
    *ret = s;
    return 0;
}

int json_get_int(struct json_object *obj, const char *where, const char *key, unsigned flags,
                 int64_t min, int64_t max, int64_t *ret, struct err *e)
{
    char name[ERR_FIELD_MAX];
    struct json_object *v;
    int64_t n;
    int r = fetch(obj, where, key, flags, json_type_int, "an integer", &v, e);

    if (r <= 0)
        return r;
    n = json_object_get_int64(v);
    if (n < min || n > max) {
        json_field_name(name, sizeof(name), where, key);
        return err_set(e, HE_INVALID, name, "%s must be between %lld and %lld (got %lld)", name,
                       (long long)min, (long long)max, (long long)n);
    }
    *ret = n;
    return 0;
}

int json_get_bool(struct json_object *obj, const char *where, const char *key, unsigned flags,
                  bool *ret, struct err *e)
{
    struct json_object *v;
    int r = fetch(obj, where, key, flags, json_type_boolean, "true or false", &v, e);

    if (r <= 0)
        return r;
    *ret = json_object_get_boolean(v);
    return 0;
}

int json_get_array(struct json_object *obj, const char *where, const char *key, unsigned flags,
                   size_t max_items, struct json_object **ret, struct err *e)
{
    char name[ERR_FIELD_MAX];
    struct json_object *v;
    int r = fetch(obj, where, key, flags, json_type_array, "a list", &v, e);

    if (r <= 0)
        return r;
    if (json_object_array_length(v) > max_items) {
        json_field_name(name, sizeof(name), where, key);
        return err_set(e, HE_INVALID, name, "%s must have at most %zu items (got %zu)", name,
                       max_items, json_object_array_length(v));
    }
    *ret = v;
    return 0;
}

int json_get_object(struct json_object *obj, const char *where, const char *key, unsigned flags,
                    struct json_object **ret, struct err *e)
{
    int r = fetch(obj, where, key, flags, json_type_object, "an object", ret, e);
    return r < 0 ? r : 0;
}

int json_check_keys(struct json_object *obj, const char *where, const char *const *known,
                    struct err *e)
{
    char name[ERR_FIELD_MAX];
    const char *k;

    if (!json_object_is_type(obj, json_type_object))
        return err_set(e, HE_INVALID, where && *where ? where : NULL,
                       "%s must be an object, not %s", where && *where ? where : "the body",
                       json_type_label(obj));
    if ((k = json_unknown_key(obj, known))) {
        json_field_name(name, sizeof(name), where, k);
        return err_set(e, HE_INVALID, name, "unknown field %s", name);
    }
    return 0;
}

const char *json_unknown_key(struct json_object *obj, const char *const *known)
{
    json_object_object_foreach(obj, k, v)
    {
        (void)v;
        size_t i;
        for (i = 0; known[i]; i++)
            if (strcmp(k, known[i]) == 0)
                break;
        if (!known[i])
            return k;
    }
    return NULL;
}
