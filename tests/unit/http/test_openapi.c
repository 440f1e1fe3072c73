/* SPDX-License-Identifier: MIT */
/*
 * /openapi.json: field tables as JSON Schema (exact text), components as $ref, the document of a
 * small route table, and the real table: every route documented, every documented route real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/openapi.h"
#include "http/openapi_types.h"
#include "http/routes.h"
#include "util/json.h"

/* A body as a route would describe it: every type, a nested object, a list of objects. */
static const struct field tag_row[] = {{"tag", FT_STRING, 0, NULL}};
static const struct field requirement_fields[] = {
    {"name", FT_STRING, FIELD_REQUIRED, NULL},
    {"priority", FT_INTEGER, FIELD_NULLABLE, "0 to 3"},
    {NULL}};
static const struct field requirement_row[] = {
    {"requirement", FT_OBJECT, 0, NULL, requirement_fields}};
static const struct field body_fields[] = {
    {"name", FT_STRING, FIELD_REQUIRED, "The name"},
    {"count", FT_INTEGER, 0, NULL},
    {"threshold", FT_NUMBER, FIELD_NULLABLE, NULL},
    {"detailed", FT_BOOLEAN, 0, NULL},
    {"tags", FT_ARRAY, FIELD_NULLABLE, NULL, NULL, tag_row},
    {"requirements", FT_ARRAY, 0, NULL, NULL, requirement_row},
    {"extra", FT_OBJECT, 0, NULL},
    {"value", FT_ANY, 0, NULL},
    {NULL}};

static void assert_text(struct json_object *o, const char *want)
{
    assert_non_null(o);
    assert_string_equal(json_text(o, NULL), want);
    json_object_put(o);
}

static void field_table_as_json_schema(void **state)
{
    (void)state;
    assert_text(
        openapi_object_schema(body_fields, true),
        "{\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\",\"description\":\"The name\"},"
        "\"count\":{\"type\":\"integer\"},"
        "\"threshold\":{\"type\":[\"number\",\"null\"]},"
        "\"detailed\":{\"type\":\"boolean\"},"
        "\"tags\":{\"type\":[\"array\",\"null\"],\"items\":{\"type\":\"string\"}},"
        "\"requirements\":{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
        "\"name\":{\"type\":\"string\"},"
        "\"priority\":{\"type\":[\"integer\",\"null\"],\"description\":\"0 to 3\"}},"
        "\"required\":[\"name\"],\"additionalProperties\":false}},"
        "\"extra\":{\"type\":\"object\"},"
        "\"value\":{\"description\":\"Any JSON value\"}},"
        "\"required\":[\"name\"],\"additionalProperties\":false}");
}

static void lenient_and_undescribed_bodies(void **state)
{
    (void)state;
    /* the gateway's routes ignore unknown keys: no additionalProperties anywhere */
    assert_text(openapi_object_schema(requirement_fields, false),
                "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                "\"priority\":{\"type\":[\"integer\",\"null\"],\"description\":\"0 to 3\"}},"
                "\"required\":[\"name\"]}");
    /* a JSON route with no field table: an object with any keys, never an empty schema */
    assert_text(openapi_object_schema(NULL, true),
                "{\"type\":\"object\",\"description\":\"A JSON object\"}");
}

static const struct openapi_component *component(const char *name)
{
    for (size_t i = 0; i < openapi_components_count; i++)
        if (strcmp(openapi_components[i].name, name) == 0)
            return &openapi_components[i];
    fail_msg("no component %s", name);
    return NULL;
}

static void components_become_refs(void **state)
{
    const struct field task = {"task", FT_OBJECT, 0, NULL, component("Task")->fields};
    const struct field maybe = {"task", FT_OBJECT, FIELD_NULLABLE, "or none",
                                component("Task")->fields};
    const struct field list = {"tasks", FT_ARRAY, 0, NULL, NULL, &task};
    (void)state;
    assert_text(openapi_schema(&task, false), "{\"$ref\":\"#/components/schemas/Task\"}");
    assert_text(openapi_schema(&maybe, false),
                "{\"anyOf\":[{\"$ref\":\"#/components/schemas/Task\"},{\"type\":\"null\"}],"
                "\"description\":\"or none\"}");
    assert_text(openapi_schema(&list, false),
                "{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Task\"}}");
}

static int stub(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    (void)req;
    (void)ret_body;
    (void)e;
    return 0;
}

static struct json_object *at(struct json_object *o, const char *path)
{
    char key[128];
    const char *p = path;

    while (o && *p) {
        size_t n = strcspn(p, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (json_object_is_type(o, json_type_array))
            o = json_object_array_get_idx(o, (size_t)strtol(key, NULL, 10));
        else
            o = json_object_object_get(o, key);
        p += n + (p[n] == '.');
    }
    return o;
}

static void document_of_a_small_table(void **state)
{
    static const struct route routes[] = {
        {"POST", "/things/{thing_id}/parts", stub, ROUTE_JSON, 0, "Add a part", NULL, body_fields},
        {"GET", "/things/{thing_id}/parts", stub, ROUTE_PUBLIC, 0, "List parts"},
        {"POST", "/gateway", stub, ROUTE_JSON | ROUTE_GATEWAY, 0, "Lenient", NULL, body_fields},
    };
    struct json_object *doc = openapi_document(routes, 3);
    struct json_object *post = at(doc, "paths./things/{thing_id}/parts.post");
    struct json_object *get = at(doc, "paths./things/{thing_id}/parts.get");
    (void)state;

    assert_non_null(doc);
    assert_string_equal(json_object_get_string(at(doc, "openapi")), "3.1.0");
    assert_int_equal(json_object_object_length(at(doc, "paths")), 2);
    assert_string_equal(json_object_get_string(at(post, "summary")), "Add a part");
    /* the path parameter, from the pattern */
    assert_string_equal(json_object_get_string(at(post, "parameters.0.name")), "thing_id");
    assert_string_equal(json_object_get_string(at(post, "parameters.0.in")), "path");
    assert_true(json_object_get_boolean(at(post, "parameters.0.required")));
    /* the body from the field table, strict on Hetu's own routes, lenient on the gateway's */
    assert_string_equal(
        json_object_get_string(at(post, "requestBody.content.application/json.schema.required.0")),
        "name");
    assert_false(json_object_get_boolean(
        at(post, "requestBody.content.application/json.schema.additionalProperties")));
    assert_null(at(doc, "paths./gateway.post.requestBody.content.application/json.schema."
                        "additionalProperties"));
    /* which says so, and names the header that lists the keys it ignored */
    assert_non_null(at(doc, "paths./gateway.post.requestBody.description"));
    assert_non_null(at(doc, "paths./gateway.post.responses.200.headers.X-Hetu-Ignored-Fields"));
    assert_null(at(post, "requestBody.description"));
    assert_null(at(post, "responses.200.headers.X-Hetu-Ignored-Fields"));
    assert_string_equal(json_object_get_string(at(post, "responses.200.headers.X-Request-Id.$ref")),
                        "#/components/headers/RequestId");
    /* errors: a body gives 400, 413, 422; a path parameter 404; a key 401 unless public */
    assert_non_null(at(post, "responses.400"));
    assert_non_null(at(post, "responses.404"));
    assert_non_null(at(post, "responses.413"));
    assert_non_null(at(post, "responses.422"));
    assert_non_null(at(post, "responses.401"));
    assert_non_null(at(post, "responses.403"));
    assert_non_null(at(post, "responses.429"));
    assert_string_equal(json_object_get_string(at(post, "responses.401.content.application/json."
                                                        "schema.$ref")),
                        "#/components/schemas/Error");
    assert_null(at(get, "responses.401"));
    assert_null(at(get, "responses.403"));
    assert_null(at(get, "responses.400"));
    assert_null(at(get, "requestBody"));
    assert_int_equal(json_object_array_length(at(get, "security")), 0);
    assert_non_null(at(post, "security.0.bearer"));
    /* a route without a row of its own: a generic answer and the "Other" tag */
    assert_string_equal(json_object_get_string(at(get, "tags.0")), "Other");
    assert_string_equal(json_object_get_string(at(get, "operationId")),
                        "get_things_thing_id_parts");
    assert_string_equal(
        json_object_get_string(at(get, "responses.200.content.application/json.schema.type")),
        "object");
    json_object_put(doc);
}

static void error_codes_come_from_the_table(void **state)
{
    struct json_object *doc = openapi_document(http_routes, http_routes_count);
    struct json_object *codes = at(doc, "components.schemas.Error.properties.code.enum");
    size_t n = 0;
    (void)state;

#define X(name, status, slug, text)                                                         \
    assert_string_equal(json_object_get_string(json_object_array_get_idx(codes, n)), slug); \
    n++;
    HETU_ERRORS(X)
#undef X
    assert_int_equal(json_object_array_length(codes), n);
    json_object_put(doc);
}

/* Every route of the table has its documentation row (tag, query, answer): a route added
 * without one fails here, naming it. */
static void every_route_is_documented(void **state)
{
    struct json_object *doc = openapi_document(http_routes, http_routes_count);
    size_t ops = 0, missing = 0;
    (void)state;

    for (size_t i = 0; i < http_routes_count; i++) {
        const struct route *rt = &http_routes[i];
        char method[16];
        size_t k;

        for (k = 0; rt->method[k] && k + 1 < sizeof(method); k++)
            method[k] = (char)(rt->method[k] - 'A' + 'a');
        method[k] = '\0';
        assert_non_null(
            json_object_object_get(json_object_object_get(at(doc, "paths"), rt->pattern), method));
        if (!openapi_op_find(rt->method, rt->pattern)) {
            print_error("%s %s has no row in src/http/openapi_types.c\n", rt->method, rt->pattern);
            missing++;
        }
    }
    json_object_object_foreach(at(doc, "paths"), path, item)
    {
        (void)path;
        ops += (size_t)json_object_object_length(item);
    }
    assert_int_equal(ops, http_routes_count);
    assert_int_equal(missing, 0);
    /* no route is documented twice (rows for routes of other builds may wait unused) */
    for (size_t i = 0; i < openapi_ops_count; i++) {
        assert_int_equal(openapi_ops[i].pattern[0], '/');
        assert_ptr_equal(openapi_op_find(openapi_ops[i].method, openapi_ops[i].pattern),
                         &openapi_ops[i]);
    }
    json_object_put(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(field_table_as_json_schema),
        cmocka_unit_test(lenient_and_undescribed_bodies),
        cmocka_unit_test(components_become_refs),
        cmocka_unit_test(document_of_a_small_table),
        cmocka_unit_test(error_codes_come_from_the_table),
        cmocka_unit_test(every_route_is_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
