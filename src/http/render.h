/* SPDX-License-Identifier: MIT */
/* The API's JSON shapes (key order included, see API.md) built from store records. */
#ifndef HETU_HTTP_RENDER_H
#define HETU_HTTP_RENDER_H

#include <json-c/json.h>

#include "store/store.h"

struct json_object *render_project(const struct project *p);
struct json_object *render_task(const struct task *t);
/* {"message": text} */
struct json_object *render_message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
