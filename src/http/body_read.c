/* SPDX-License-Identifier: MIT */
/*
 * The gateway's bodies, read as pydantic v2 read them in lax mode, so that scripts written for it
 * keep working: keys a model does not declare are ignored, "5" and 5.0 pass as integers,
 * "true" and 1 as booleans. The server calls body_read once a body is parsed and before the
 * handler runs (on the request's HTTP thread); it changes the parsed body in place, so handlers
 * see only described keys of the strict types and keep their own checks. Hetu's own routes are
 * not read here: their handlers reject unknown keys.
 *
 * The conversion rules are pydantic-core's (2.x, as measured with pydantic 2.13 on JSON input):
 * - integer: a whole finite float within int64; true/false as 1/0; a string that, once Unicode
 *   white space is trimmed from both ends, is an optional sign, digits with single underscores
 *   between them, and optionally '.' and one or more zeros. "1e3", "5.", ".0", "5.5", "0x10"
 *   are refused. (pydantic also takes strings past int64; Hetu's integers are int64, so those
 *   stay strings and the handler refuses them.)
 * - boolean: 0 and 1, 0.0 and 1.0, and exactly (no trimming, any case) 0 off f false n no, or
 *   1 on t true y yes.
 * Strings are never made from numbers (pydantic refuses those too).
 *
 * Memory: the ignored-key list is a caller's fixed buffer; recursion follows the field tables,
 * not the input, so its depth is fixed at compile time.
 */
#include "http/body_read.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/request.h"
#include "http/router.h"
#include "util/err.h"
#include "util/banned.h"

/* Keys every object the gateway answered carries; sent back, they are dropped silently. */
static const char *const read_only_keys[] = {"id",         "v",    "created_at", "created_by",
                                             "model_type", "path", NULL};

struct ignored {
    char *out;
    size_t size, len;
    bool full;
};

/* ---- lax values ---- */

/* The length of a Unicode White_Space character (as Rust's str::trim sees it) at s[0..n), or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
    uint32_t c;
    size_t len;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')) ? 1 : 0;
    if ((s[0] & 0xE0) == 0xC0 && n >= 2) {
        c = ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
        len = 2;
    } else if ((s[0] & 0xF0) == 0xE0 && n >= 3) {
        c = ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        len = 3;
    } else {
        return 0;
    }
    if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
        c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
        return len;
    return 0;
}

/* The length of the UTF-8 character ending at s[n-1] when it is white space, or 0. */
static size_t space_before(const unsigned char *s, size_t n)
{
    for (size_t k = 1; k <= 3 && k <= n; k++)
        if ((s[n - k] & 0xC0) != 0x80)
            return space_at(s + n - k, k) == k ? k : 0;
    return 0;
}

/* A string as pydantic reads it for an integer field (see the top of the file). */
static int lax_int_text(const char *text, size_t n, int64_t *ret)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0, k;
    bool neg = false, digit = false;
    uint64_t v = 0, limit;

    while ((k = space_at(s + i, n - i)) > 0)
        i += k;
    while (n > i && (k = space_before(s, n)) > 0)
        n -= k;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < n; i++) {
        if (s[i] == '_' && digit && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')
            continue;
        if (s[i] < '0' || s[i] > '9')
            break;
        if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
            return 0; /* past int64 */
        v = v * 10 + (uint64_t)(s[i] - '0');
        digit = true;
    }
    if (!digit)
        return 0;
    if (i < n && s[i] == '.') { /* "5.0", "5.00": whole */
        if (++i == n)
            return 0;
        while (i < n && s[i] == '0')
            i++;
    }
    if (i != n)
        return 0;
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 1;
}

int body_lax_int(struct json_object *v, int64_t *ret)
{
    double d;

    switch (json_object_get_type(v)) {
    case json_type_int: *ret = json_object_get_int64(v); return 1;
    case json_type_boolean: *ret = json_object_get_boolean(v) ? 1 : 0; return 1;
    case json_type_double:
        d = json_object_get_double(v);
        if (!isfinite(d) || d != trunc(d) || d < -9223372036854775808.0 ||
            d >= 9223372036854775808.0)
            return 0;
        *ret = (int64_t)d;
        return 1;
    case json_type_string:
        return lax_int_text(json_object_get_string(v), (size_t)json_object_get_string_len(v), ret);
    default: return 0;
    }
}

int body_lax_bool(struct json_object *v, bool *ret)
{
    static const char *const falses[] = {"0", "off", "f", "false", "n", "no", NULL};
    static const char *const trues[] = {"1", "on", "t", "true", "y", "yes", NULL};
    const char *s;

    switch (json_object_get_type(v)) {
    case json_type_boolean: *ret = json_object_get_boolean(v); return 1;
    case json_type_int:
    case json_type_double:
        if (json_object_get_double(v) != 0.0 && json_object_get_double(v) != 1.0)
            return 0;
        *ret = json_object_get_double(v) == 1.0;
        return 1;
    case json_type_string:
        s = json_object_get_string(v);
        if (strlen(s) != (size_t)json_object_get_string_len(v))
            return 0;
        for (size_t i = 0; falses[i]; i++) {
            if (strcasecmp(s, falses[i]) == 0) {
                *ret = false;
                return 1;
            }
            if (strcasecmp(s, trues[i]) == 0) {
                *ret = true;
                return 1;
            }
        }
        return 0;
    default: return 0;
    }
}

/* ---- unknown keys ---- */

static bool is_read_only(const char *key)
{
    for (size_t i = 0; read_only_keys[i]; i++)
        if (strcmp(key, read_only_keys[i]) == 0)
            return true;
    return false;
}

/* Appends s, escaping what a header value or the list cannot hold; false when it did not fit. */
static bool put_escaped(struct ignored *ig, size_t end, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        bool plain = c > ' ' && c < 0x7F && c != ',' && c != '%';
        if (ig->len + (plain ? 1 : 3) > end)
            return false;
        if (plain) {
            ig->out[ig->len++] = (char)c;
        } else {
            ig->out[ig->len++] = '%';
            ig->out[ig->len++] = hex[c >> 4];
            ig->out[ig->len++] = hex[c & 0xF];
        }
    }
    return true;
}

/* Appends a literal when it fits before end. */
static bool put_raw(struct ignored *ig, size_t end, const char *s)
{
    size_t n = strlen(s);

    if (ig->len + n > end)
        return false;
    memcpy(ig->out + ig->len, s, n);
    ig->len += n;
    return true;
}

/* Adds "where.key" to the list; one that does not fit ends it with "...". */
static void add_ignored(struct ignored *ig, const char *where, const char *key)
{
    size_t start = ig->len, end;
    bool ok = true;

    if (ig->full || ig->size < 8)
        return;
    end = ig->size - 6; /* room for ", ..." and the NUL */
    if (start > 0)
        ok = put_raw(ig, end, ", ");
    if (ok && *where)
        ok = put_escaped(ig, end, where) && put_raw(ig, end, ".");
    if (ok)
        ok = put_escaped(ig, end, key);
    if (!ok) {
        ig->len = start;
        put_raw(ig, ig->size - 1, start > 0 ? ", ..." : "...");
        ig->full = true;
    }
    ig->out[ig->len] = '\0';
}

/* ---- walking the body ---- */

static const struct field *find_field(const struct field *fields, const char *key)
{
    for (; fields->name; fields++)
        if (strcmp(fields->name, key) == 0)
            return fields;
    return NULL;
}

static void read_object(struct ignored *ig, struct json_object *obj, const struct field *fields,
                        const char *where);

/* One described value: made strict, or read further when it is a described object or list. */
static void read_value(struct ignored *ig, struct json_object *obj, const char *key,
                       struct json_object *v, const struct field *f, const char *where)
{
    char name[ERR_FIELD_MAX], item[ERR_FIELD_MAX];
    int64_t n;
    bool b;

    if (*where)
        snprintf(name, sizeof(name), "%s.%s", where, key);
    else
        snprintf(name, sizeof(name), "%s", key);
    if (f->type == FT_INTEGER && !json_object_is_type(v, json_type_int) && body_lax_int(v, &n))
        json_object_object_add(obj, key, json_object_new_int64(n));
    else if (f->type == FT_BOOLEAN && !json_object_is_type(v, json_type_boolean) &&
             body_lax_bool(v, &b))
        json_object_object_add(obj, key, json_object_new_boolean(b));
    else if (f->type == FT_OBJECT && f->fields && json_object_is_type(v, json_type_object))
        read_object(ig, v, f->fields, name);
    else if (f->type == FT_ARRAY && f->items && f->items->type == FT_OBJECT && f->items->fields &&
             json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            struct json_object *x = json_object_array_get_idx(v, i);
            snprintf(item, sizeof(item), "%s[%zu]", name, i);
            if (json_object_is_type(x, json_type_object))
                read_object(ig, x, f->items->fields, item);
        }
    }
}

static void read_object(struct ignored *ig, struct json_object *obj, const struct field *fields,
                        const char *where)
{
    /* json-c's foreach takes the next entry before the body runs, so the current key may go. */
    json_object_object_foreach(obj, key, v)
    {
        const struct field *f = find_field(fields, key);
        if (f) {
            read_value(ig, obj, key, v, f, where);
            continue;
        }
        if (!is_read_only(key))
            add_ignored(ig, where, key);
        json_object_object_del(obj, key);
    }
}

void body_read_lenient(struct json_object *body, const struct field *fields, char *ignored,
                       size_t size)
{
    struct ignored ig = {ignored, size, 0, false};

    if (size)
        ignored[0] = '\0';
    if (json_object_is_type(body, json_type_object))
        read_object(&ig, body, fields, "");
}

void body_read(struct http_req *req, const struct route *route)
{
    char ignored[BODY_IGNORED_MAX];

    if (!(route->flags & ROUTE_GATEWAY) || !route->body)
        return;
    body_read_lenient(http_req_body(req), route->body, ignored, sizeof(ignored));
    if (ignored[0])
        http_req_set_header(req, "X-Hetu-Ignored-Fields", ignored);
}
