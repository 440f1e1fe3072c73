/* SPDX-License-Identifier: MIT */
/*
 * JSON Schema checks for the subset task schemas use: type (string or list of types), properties,
 * required, items, enum, additionalProperties (bool or schema), minItems/maxItems,
 * minLength/maxLength (in code points), minimum/maximum, plus description/title/$schema/default
 * which are accepted and ignored.
 */
#ifndef HETU_LLM_SCHEMA_H
#define HETU_LLM_SCHEMA_H

#include <stdbool.h>

#include <json-c/json.h>

#include "util/err.h"

/*
 * Checks that `schema` is a schema this validator understands: an object whose keywords have
 * the right types (recursively). With require_object, its top-level "type" must be "object".
 * Errors are HE_BAD_REQUEST with `field` as the error's field and a message naming the
 * offending keyword path, e.g. "output_json_schema: properties.name.type must be a string".
 */
int schema_check(struct json_object *schema, bool require_object, const char *field, struct err *e);

/*
 * Validates value against schema. On failure: HE_INVALID with a message naming the JSON path of
 * the first problem, e.g. "$.subtopics[2]: expected a string, got an integer" or
 * "$: missing required property \"name\"".
 */
int schema_validate(struct json_object *schema, struct json_object *value, struct err *e);

#endif
