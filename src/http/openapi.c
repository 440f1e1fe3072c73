/* SPDX-License-Identifier: MIT */
/*
 * OpenAPI 3.1 from the route table.
 *
 * DESIGN
 * - The document is built once, by the HTTP thread of the first GET /openapi.json (pthread_once),
 *   and its text kept for the life of the process; every later request answers a copy of that
 *   text. The route table and http/openapi_types.c are constant, so the text never goes stale.
 * - Paths and path parameters come from the patterns ({name} segments); request bodies from each
 *   route's field table (http/schema.h), strict (additionalProperties false) except on the
 *   gateway's routes, which ignore unknown keys; tags, query parameters and answers from
 *   openapi_types.c. A route without a row there is still documented, with a generic answer.
 * - Error statuses follow from what the router and the route do: 400/413/422 for a body, 404
 *   for a path parameter, 401/403/429 unless the route is public, plus the route's own; each
 *   names the codes of util/err.h's table that answer with it. Any other status is "default".
 * - GET /docs streams a page (docs.html, built into the binary) that fetches /openapi.json and
 *   renders it with no other resource: it works offline.
 */
#include "http/openapi.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/format.h"
#include "http/openapi_types.h"
#include "http/request.h"
#include "http/routes.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/banned.h"

/* docs.html as a C string (generated at build time by scripts/embed-text). */
extern const char openapi_docs_html[];
extern const size_t openapi_docs_html_len;

#define REF_PREFIX "#/components/schemas/"

/* ---- JSON Schema from field tables ---- */

static const char *type_name(enum field_type t)
{
    switch (t) {
    case FT_STRING: return "string";
    case FT_INTEGER: return "integer";
    case FT_NUMBER: return "number";
    case FT_BOOLEAN: return "boolean";
    case FT_OBJECT: return "object";
    case FT_ARRAY: return "array";
    case FT_ANY: break;
    }
    return NULL;
}

static struct json_object *ref_to(const char *name)
{
    struct json_object *o = json_object_new_object();
    char ref[128];

    snprintf(ref, sizeof(ref), REF_PREFIX "%s", name);
    json_object_object_add(o, "$ref", json_object_new_string(ref));
    return o;
}

/* {"type": "string"} or, nullable, {"type": ["string", "null"]} (3.1 has no "nullable"). */
static void add_type(struct json_object *o, enum field_type t, bool nullable)
{
    struct json_object *types;

    if (!nullable) {
        json_object_object_add(o, "type", json_object_new_string(type_name(t)));
        return;
    }
    types = json_object_new_array();
    json_object_array_add(types, json_object_new_string(type_name(t)));
    json_object_array_add(types, json_object_new_string("null"));
    json_object_object_add(o, "type", types);
}

static void add_properties(struct json_object *o, const struct field *fields, bool strict)
{
    struct json_object *props = json_object_new_object(), *required = json_object_new_array();

    for (const struct field *f = fields; f->name; f++) {
        json_object_object_add(props, f->name, openapi_schema(f, strict));
        if (f->flags & FIELD_REQUIRED)
            json_object_array_add(required, json_object_new_string(f->name));
    }
    json_object_object_add(o, "properties", props);
    if (json_object_array_length(required))
        json_object_object_add(o, "required", required);
    else
        json_object_put(required);
    if (strict)
        json_object_object_add(o, "additionalProperties", json_object_new_boolean(0));
}

struct json_object *openapi_schema(const struct field *f, bool strict)
{
    const struct openapi_component *c =
        f->type == FT_OBJECT ? openapi_component_of(f->fields) : NULL;
    bool nullable = f->flags & FIELD_NULLABLE;
    struct json_object *o;

    if (c && !nullable) {
        o = ref_to(c->name);
    } else if (c) { /* a reference or null */
        struct json_object *any = json_object_new_array(), *null = json_object_new_object();
        json_object_object_add(null, "type", json_object_new_string("null"));
        json_object_array_add(any, ref_to(c->name));
        json_object_array_add(any, null);
        o = json_object_new_object();
        json_object_object_add(o, "anyOf", any);
    } else if (f->type == FT_ANY) {
        o = json_object_new_object();
        if (!f->description)
            json_object_object_add(o, "description", json_object_new_string("Any JSON value"));
    } else {
        o = json_object_new_object();
        add_type(o, f->type, nullable);
        if (f->type == FT_OBJECT && f->fields)
            add_properties(o, f->fields, strict);
        if (f->type == FT_ARRAY && f->items)
            json_object_object_add(o, "items", openapi_schema(f->items, strict));
    }
    if (f->description)
        json_object_object_add(o, "description", json_object_new_string(f->description));
    return o;
}

struct json_object *openapi_object_schema(const struct field *fields, bool strict)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "type", json_object_new_string("object"));
    if (fields)
        add_properties(o, fields, strict);
    else
        json_object_object_add(o, "description", json_object_new_string("A JSON object"));
    return o;
}

/* ---- operations ---- */

static struct json_object *param(const char *name, size_t len, const char *in, bool required,
                                 enum field_type type, const char *description)
{
    struct json_object *o = json_object_new_object(), *schema = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string_len(name, (int)len));
    json_object_object_add(o, "in", json_object_new_string(in));
    json_object_object_add(o, "required", json_object_new_boolean(required));
    if (description)
        json_object_object_add(o, "description", json_object_new_string(description));
    add_type(schema, type == FT_ANY ? FT_STRING : type, false);
    json_object_object_add(o, "schema", schema);
    return o;
}

static void add_format(void *ud, const struct export_format *f)
{
    json_object_array_add(ud, json_object_new_string(f->name));
}

static struct json_object *query_param(const struct openapi_param *q)
{
    struct json_object *o = param(q->name, strlen(q->name), "query", q->flags & FIELD_REQUIRED,
                                  q->type, q->description);
    struct json_object *values = NULL;

    if (q->values) {
        values = json_object_new_array();
        for (const char *const *v = q->values; *v; v++)
            json_object_array_add(values, json_object_new_string(*v));
    } else if (q->formats) {
        values = json_object_new_array();
        export_format_each(add_format, values);
    }
    if (values)
        json_object_object_add(json_object_object_get(o, "schema"), "enum", values);
    return o;
}

/* Path parameters (from the {name} segments), then the route's query parameters. */
static struct json_object *parameters(const struct route *rt, const struct openapi_op *op)
{
    struct json_object *list = json_object_new_array();

    for (const char *p = strchr(rt->pattern, '{'); p; p = strchr(p + 1, '{')) {
        const char *end = strchr(p, '}');
        if (!end)
            break;
        json_object_array_add(list, param(p + 1, (size_t)(end - p - 1), "path", true, FT_STRING,
                                          openapi_path_param_text(p + 1, (size_t)(end - p - 1))));
    }
    for (const struct openapi_param *q = op ? op->query : NULL; q && q->name; q++)
        json_object_array_add(list, query_param(q));
    return list;
}

static void add_header(struct json_object *headers, const char *name)
{
    struct json_object *h = json_object_new_object(), *schema = json_object_new_object();
    const char *text = openapi_header_text(name);

    if (text)
        json_object_object_add(h, "description", json_object_new_string(text));
    json_object_object_add(schema, "type", json_object_new_string("string"));
    json_object_object_add(h, "schema", schema);
    json_object_object_add(headers, name, h);
}

/* The headers of an answer: X-Request-Id on every one (a reference), then `names`, then
 * X-Hetu-Ignored-Fields when `ignored` (the gateway's JSON routes). */
static struct json_object *headers(const char *const *names, bool ignored)
{
    struct json_object *o = json_object_new_object(), *ref = json_object_new_object();

    json_object_object_add(ref, "$ref", json_object_new_string("#/components/headers/RequestId"));
    json_object_object_add(o, "X-Request-Id", ref);
    for (const char *const *n = names; n && *n; n++)
        add_header(o, *n);
    if (ignored)
        add_header(o, "X-Hetu-Ignored-Fields");
    return o;
}

static struct json_object *media(struct json_object *schema)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "schema", schema);
    return o;
}

static struct json_object *content(const char *type, struct json_object *schema)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, type, media(schema));
    return o;
}

static bool gateway_json(const struct route *rt)
{
    return (rt->flags & ROUTE_JSON) && (rt->flags & ROUTE_GATEWAY);
}

static struct json_object *request_body(const struct route *rt)
{
    struct json_object *o = json_object_new_object(), *schema;

    json_object_object_add(o, "required", json_object_new_boolean(1));
    if (gateway_json(rt))
        json_object_object_add(
            o, "description",
            json_object_new_string("Read as the gateway read it: unknown keys are ignored and "
                                   "named in X-Hetu-Ignored-Fields; integers may come as \"5\" "
                                   "or 5.0, booleans as \"true\", \"false\", 1 or 0"));
    if (rt->flags & ROUTE_JSON) {
        schema = openapi_object_schema(rt->body, !(rt->flags & ROUTE_GATEWAY));
        json_object_object_add(o, "content", content("application/json", schema));
    } else {
        static const struct field file[] = {
            {"file", FT_STRING, FIELD_REQUIRED, "The file's bytes, sent with its file name"},
            {NULL}};
        schema = openapi_object_schema(file, false);
        json_object_object_add(o, "content", content("multipart/form-data", schema));
    }
    return o;
}

/* The 200 answer: JSON, a stream, or both (a route whose query picks one). */
static struct json_object *success(const struct route *rt, const struct openapi_op *op)
{
    struct json_object *o = json_object_new_object(), *types = json_object_new_object();
    const char *text = op && op->description ? op->description : rt->summary;

    json_object_object_add(o, "description", json_object_new_string(text ? text : "Success"));
    if (op && op->answer && op->alt_answer) {
        struct json_object *one = json_object_new_object(), *list = json_object_new_array();
        json_object_array_add(list, openapi_schema(op->answer, false));
        json_object_array_add(list, openapi_schema(op->alt_answer, false));
        json_object_object_add(one, "oneOf", list);
        json_object_object_add(types, "application/json", media(one));
    } else if (op && op->answer) {
        json_object_object_add(types, "application/json", media(openapi_schema(op->answer, false)));
    } else if (!op) {
        json_object_object_add(types, "application/json",
                               media(openapi_object_schema(NULL, false)));
    }
    for (const char *const *s = op ? op->streams : NULL; s && *s; s++) {
        struct json_object *schema = json_object_new_object();
        json_object_object_add(schema, "type", json_object_new_string("string"));
        if (op->stream_description)
            json_object_object_add(schema, "description",
                                   json_object_new_string(op->stream_description));
        json_object_object_add(types, *s, media(schema));
    }
    json_object_object_add(o, "headers", headers(op ? op->headers : NULL, gateway_json(rt)));
    json_object_object_add(o, "content", types);
    return o;
}

static const struct {
    int status;
    const char *slug, *text;
} error_table[] = {
#define X(name, status, slug, text) {status, slug, text},
    HETU_ERRORS(X)
#undef X
};

/* An error answer: the codes of the error table that have this status ("Error: a or b"). */
static struct json_object *error_answer(int status)
{
    static const char *const retry[] = {"Retry-After", NULL};
    static const char *const auth[] = {"WWW-Authenticate", NULL};
    struct json_object *o = json_object_new_object();
    size_t n = 0, k = 0;
    struct buf b;

    for (size_t i = 0; i < ARRAY_SIZE(error_table); i++)
        n += error_table[i].status == status;
    buf_init(&b, 4096);
    buf_adds(&b, status ? "Error" : "Any other error");
    for (size_t i = 0; i < ARRAY_SIZE(error_table); i++)
        if (error_table[i].status == status)
            buf_addf(&b, "%s%s", k++ == 0 ? ": " : k == n ? " or " : ", ", error_table[i].slug);
    json_object_object_add(o, "description", json_object_new_string(b.data ? b.data : ""));
    buf_done(&b);
    json_object_object_add(o, "headers",
                           headers(status == 503   ? retry
                                   : status == 401 ? auth
                                                   : NULL,
                                   false));
    json_object_object_add(o, "content", content("application/json", ref_to("Error")));
    return o;
}

/* The error statuses of a route, ascending. */
static size_t error_statuses(const struct route *rt, const struct openapi_op *op, int *out,
                             size_t max)
{
    static const int known[] = {400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 502, 503, 504};
    bool has_query = op && op->query && op->query->name;
    bool body = rt->flags & (ROUTE_JSON | ROUTE_MULTIPART);
    size_t n = 0;

    for (size_t i = 0; i < ARRAY_SIZE(known) && n < max; i++) {
        int s = known[i];
        bool on = (s == 400 && (body || has_query)) || (s == 422 && (body || has_query)) ||
                  (s == 413 && body) || (s == 415 && (rt->flags & ROUTE_MULTIPART)) ||
                  (s == 404 && strchr(rt->pattern, '{')) ||
                  ((s == 401 || s == 403 || s == 429) && !(rt->flags & ROUTE_PUBLIC));
        for (const int *x = op && op->errors ? op->errors : NULL; !on && x && *x; x++)
            on = *x == s;
        if (on)
            out[n++] = s;
    }
    return n;
}

static struct json_object *responses(const struct route *rt, const struct openapi_op *op)
{
    struct json_object *o = json_object_new_object();
    int statuses[16];
    size_t n = error_statuses(rt, op, statuses, ARRAY_SIZE(statuses));
    char key[8];

    json_object_object_add(o, "200", success(rt, op));
    for (size_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "%d", statuses[i]);
        json_object_object_add(o, key, error_answer(statuses[i]));
    }
    json_object_object_add(o, "default", error_answer(0));
    return o;
}

/* "get_api_projects_project_id" for a route without a documented id. */
static struct json_object *operation_id(const struct route *rt, const struct openapi_op *op)
{
    char id[256];
    size_t n = 0;

    if (op && op->id)
        return json_object_new_string(op->id);
    for (const char *s = rt->method; *s && n + 1 < sizeof(id); s++)
        id[n++] = (char)(*s >= 'A' && *s <= 'Z' ? *s - 'A' + 'a' : *s);
    for (const char *s = rt->pattern; *s && n + 1 < sizeof(id); s++) {
        bool word = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_';
        if (word)
            id[n++] = *s;
        else if (n && id[n - 1] != '_' && *s != '}')
            id[n++] = '_';
    }
    id[n] = '\0';
    return json_object_new_string(id);
}

static struct json_object *operation(const struct route *rt)
{
    const struct openapi_op *op = openapi_op_find(rt->method, rt->pattern);
    struct json_object *o = json_object_new_object(), *tags = json_object_new_array();
    struct json_object *params = parameters(rt, op), *security = json_object_new_array();

    json_object_array_add(tags, json_object_new_string(op ? op->tag : "Other"));
    json_object_object_add(o, "tags", tags);
    json_object_object_add(o, "operationId", operation_id(rt, op));
    if (rt->summary)
        json_object_object_add(o, "summary", json_object_new_string(rt->summary));
    if (op && op->description)
        json_object_object_add(o, "description", json_object_new_string(op->description));
    if (json_object_array_length(params))
        json_object_object_add(o, "parameters", params);
    else
        json_object_put(params);
    if (rt->flags & (ROUTE_JSON | ROUTE_MULTIPART))
        json_object_object_add(o, "requestBody", request_body(rt));
    json_object_object_add(o, "responses", responses(rt, op));
    if (!(rt->flags & ROUTE_PUBLIC)) {
        struct json_object *bearer = json_object_new_object();
        json_object_object_add(bearer, "bearer", json_object_new_array());
        json_object_array_add(security, bearer);
    }
    json_object_object_add(o, "security", security); /* [] on public routes: no key */
    return o;
}

/* ---- the document ---- */

static struct json_object *components(void)
{
    struct json_object *o = json_object_new_object(), *schemas = json_object_new_object();
    struct json_object *sec = json_object_new_object(), *bearer = json_object_new_object();

    for (size_t i = 0; i < openapi_components_count; i++) {
        const struct openapi_component *c = &openapi_components[i];
        struct json_object *s = openapi_object_schema(c->fields, false);
        if (c->description)
            json_object_object_add(s, "description", json_object_new_string(c->description));
        json_object_object_add(schemas, c->name, s);
    }
    { /* Error.code: the slugs of the error table */
        struct json_object *code = NULL, *slugs = json_object_new_array();
        json_object_object_get_ex(
            json_object_object_get(json_object_object_get(schemas, "Error"), "properties"), "code",
            &code);
        for (size_t i = 0; i < ARRAY_SIZE(error_table); i++)
            json_object_array_add(slugs, json_object_new_string(error_table[i].slug));
        if (code)
            json_object_object_add(code, "enum", slugs);
        else
            json_object_put(slugs);
    }
    json_object_object_add(o, "schemas", schemas);
    {
        struct json_object *all = json_object_new_object(), *h = json_object_new_object();
        struct json_object *schema = json_object_new_object();
        json_object_object_add(h, "description",
                               json_object_new_string(openapi_header_text("X-Request-Id")));
        json_object_object_add(schema, "type", json_object_new_string("string"));
        json_object_object_add(h, "schema", schema);
        json_object_object_add(all, "RequestId", h);
        json_object_object_add(o, "headers", all);
    }
    json_object_object_add(bearer, "type", json_object_new_string("http"));
    json_object_object_add(bearer, "scheme", json_object_new_string("bearer"));
    json_object_object_add(bearer, "description",
                           json_object_new_string("An API key (hetu keys create). While no key "
                                                  "exists the server is open."));
    json_object_object_add(sec, "bearer", bearer);
    json_object_object_add(o, "securitySchemes", sec);
    return o;
}

static struct json_object *info(void)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "title", json_object_new_string("Hetu"));
    json_object_object_add(o, "version", json_object_new_string(HETU_VERSION));
    json_object_object_add(
        o, "description",
        json_object_new_string("Synthetic dataset generation: projects, tasks, topic trees, "
                               "generated and imported samples, jobs, exports. Speaks the "
                               "HetuAI gateway's wire format. Every error answers "
                               "{\"detail\", \"code\", \"field\"}."));
    return o;
}

/* The tags the operations use, in openapi_tags' order. */
static struct json_object *tags(struct json_object *paths)
{
    struct json_object *list = json_object_new_array();

    for (size_t i = 0; i < openapi_tags_count; i++) {
        bool used = false;
        json_object_object_foreach(paths, path, item)
        {
            (void)path;
            json_object_object_foreach(item, method, op)
            {
                (void)method;
                used |= strcmp(json_object_get_string(json_object_array_get_idx(
                                   json_object_object_get(op, "tags"), 0)),
                               openapi_tags[i].name) == 0;
            }
        }
        if (!used)
            continue;
        struct json_object *t = json_object_new_object();
        json_object_object_add(t, "name", json_object_new_string(openapi_tags[i].name));
        if (openapi_tags[i].description)
            json_object_object_add(t, "description",
                                   json_object_new_string(openapi_tags[i].description));
        json_object_array_add(list, t);
    }
    return list;
}

struct json_object *openapi_document(const struct route *routes, size_t n)
{
    struct json_object *doc = json_object_new_object(), *paths = json_object_new_object();

    if (!doc || !paths) {
        json_object_put(doc);
        json_object_put(paths);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *item = json_object_object_get(paths, routes[i].pattern);
        char method[16];
        size_t k;

        if (!item) {
            item = json_object_new_object();
            json_object_object_add(paths, routes[i].pattern, item);
        }
        for (k = 0; routes[i].method[k] && k + 1 < sizeof(method); k++)
            method[k] = (char)(routes[i].method[k] - 'A' + 'a');
        method[k] = '\0';
        json_object_object_add(item, method, operation(&routes[i]));
    }
    json_object_object_add(doc, "openapi", json_object_new_string("3.1.0"));
    json_object_object_add(doc, "info", info());
    json_object_object_add(doc, "tags", tags(paths));
    json_object_object_add(doc, "paths", paths);
    json_object_object_add(doc, "components", components());
    return doc;
}

/* ---- handlers ---- */

static pthread_once_t doc_once = PTHREAD_ONCE_INIT;
static char *doc_text; /* built once, kept until exit */

static void build_document(void)
{
    struct json_object *doc = openapi_document(http_routes, http_routes_count);

    if (doc)
        doc_text = strdup(json_text(doc, NULL));
    json_object_put(doc);
}

int h_openapi(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    (void)req;
    pthread_once(&doc_once, build_document);
    if (!doc_text || !(*ret_body = json_raw_new(doc_text)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    return 0;
}

static long docs_read(void *ud, char *buf, size_t max)
{
    size_t *sent = ud, n = openapi_docs_html_len - *sent;

    if (n == 0)
        return -1;
    if (n > max)
        n = max;
    memcpy(buf, openapi_docs_html + *sent, n);
    *sent += n;
    return (long)n;
}

int h_docs(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    size_t *sent = calloc(1, sizeof(*sent));
    (void)ret_body;

    if (!sent)
        return err_set(e, HE_NOMEM, NULL, NULL);
    http_req_set_stream(req, docs_read, sent, free);
    http_req_set_stream_type(req, "text/html; charset=utf-8", 64 * 1024);
    return HTTP_STREAM;
}
