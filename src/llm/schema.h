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
 * A compiled schema: its keywords looked up once, so validating a reply walks plain structs.
 * Immutable and reference-counted (atomically), so threads share one. schema_compile copies
 * `json` and does not check it (run schema_check first where the schema comes from a user; an
 * unchecked schema never makes validation fail or crash because of the schema, keywords of the
 * wrong type are skipped). NULL and HE_NOMEM on failure.
 */
struct schema;

struct schema *schema_compile(struct json_object *json, struct err *e);

/*
 * The schema of a JSON text, compiled once and shared: the last 32 distinct texts are kept, so
 * a task's schema costs one parse and one compile however many calls and samples use it.
 * NULL with HE_BAD_JSON when the text does not parse.
 */
struct schema *schema_from_text(const char *text, struct err *e);

struct schema *schema_ref(struct schema *s);
void schema_unref(struct schema *s);

/* The schema as compact JSON text (what is sent to a provider). */
const char *schema_text(const struct schema *s);

/* Whether the top-level "type" is "object" (what a forced tool call needs). */
bool schema_wants_object(const struct schema *s);

/*
 * Validates value against s. On failure: HE_INVALID with a message naming the JSON path of
 * the first problem, e.g. "$.subtopics[2]: expected a string, got an integer" or
 * "$: missing required property \"name\"".
 */
int schema_validate(const struct schema *s, struct json_object *value, struct err *e);

#endif
