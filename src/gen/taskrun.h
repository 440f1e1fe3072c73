/* SPDX-License-Identifier: MIT */
/* The TaskRun JSON of API.md, key order included, from a run record (saved or not). */
#ifndef HETU_GEN_TASKRUN_H
#define HETU_GEN_TASKRUN_H

#include <json-c/json.h>

#include "store/store.h"

/* A run whose id is "" renders with "id": null (not saved). */
struct json_object *taskrun_render(const struct run *r);

/* A repair as Kiln's TaskRun keeps one (repaired_output): a TaskOutput with a human source and
 * no rating, as compact JSON text (malloc'd), or NULL when out of memory. */
char *taskrun_repair(const char *id, int64_t created_at, const char *created_by,
                     const char *output);

/* DataSource properties as compact JSON text (malloc'd): pairs of key, value (NULL values are
 * left out), ended by a NULL key. */
char *taskrun_props(const char *key, ...) __attribute__((sentinel));

/* A JSON list of strings as text (malloc'd). */
char *taskrun_string_list(const char *const *items, size_t n);

/* "a>>>>>b" from a topic key (malloc'd). */
char *taskrun_topic_string(const char *topic_key);
/* The topic key of a list of names (malloc'd); "" for an empty list. */
char *taskrun_topic_key(char *const *names, size_t n);
/* The names of a topic key as a JSON list. */
struct json_object *taskrun_topic_list(const char *topic_key);

#endif
