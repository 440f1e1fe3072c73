/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for reply reading: the input is a model reply for extract_think and extract_json.
 * When it holds a NUL byte, the text before the first NUL is also read as a schema and the text
 * after it as a value: both are parsed, the schema checked, and the value validated against it
 * whether or not the check passed (validation must stay safe on unchecked schemas).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llm/extract.h"
#include "llm/schema.h"
#include "util/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void schema_pair(const char *text, size_t size)
{
    const char *nul = memchr(text, '\0', size);
    struct json_object *schema = NULL, *value = NULL;
    struct err e;

    if (!nul)
        return;
    err_clear(&e);
    if (json_parse(text, (size_t)(nul - text), &schema, &e) < 0)
        return;
    err_clear(&e);
    if (json_parse(nul + 1, size - (size_t)(nul - text) - 1, &value, &e) == 0) {
        err_clear(&e);
        schema_check(schema, false, "schema", &e);
        err_clear(&e);
        struct schema *compiled = schema_compile(schema, &e);
        if (compiled) {
            err_clear(&e);
            schema_validate(compiled, value, &e);
            schema_unref(compiled);
        }
        json_object_put(value);
    }
    json_object_put(schema);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    char *reasoning = NULL, *rest = NULL;
    struct json_object *obj = NULL;
    struct err e;

    err_clear(&e);
    if (extract_think(text, size, &reasoning, &rest, &e) == 0) {
        err_clear(&e);
        if (extract_json(rest, strlen(rest), &obj, &e) == 0)
            json_object_put(obj);
        free(reasoning);
        free(rest);
    }
    err_clear(&e);
    obj = NULL;
    if (extract_json(text, size, &obj, &e) == 0)
        json_object_put(obj);
    schema_pair(text, size);
    return 0;
}
