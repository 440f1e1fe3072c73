/* SPDX-License-Identifier: MIT */
/*
 * Rendering records as the gateway's JSON. json-c keeps insertion order, so the order of the
 * json_object_object_add calls below is the wire order. Stored JSON text (requirements) is
 * embedded as it is, without a re-parse.
 */
#include "http/render.h"

#include <stdarg.h>
#include <stdio.h>

#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

static void add_head(struct json_object *o, const char *id, int64_t created_at,
                     const char *created_by)
{
    char ts[CLOCK_ISO_LEN];

    clock_iso8601(created_at, ts);
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "id", json_str_or_null(id));
    json_object_object_add(o, "path", NULL);
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "created_by", json_object_new_string(created_by));
}

struct json_object *render_project(const struct project *p)
{
    struct json_object *o = json_object_new_object();

    add_head(o, p->id, p->created_at, p->created_by);
    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "description", json_object_new_string(p->description));
    json_object_object_add(o, "model_type", json_object_new_string("project"));
    return o;
}

struct json_object *render_task(const struct task *t)
{
    struct json_object *o = json_object_new_object();

    add_head(o, t->id, t->created_at, t->created_by);
    json_object_object_add(o, "name", json_object_new_string(t->name));
    json_object_object_add(o, "description", json_object_new_string(t->description));
    json_object_object_add(o, "instruction", json_object_new_string(t->instruction));
    json_object_object_add(o, "requirements", json_raw_new(t->requirements));
    json_object_object_add(o, "output_json_schema", json_str_or_null(t->output_json_schema));
    json_object_object_add(o, "input_json_schema", json_str_or_null(t->input_json_schema));
    json_object_object_add(o, "thinking_instruction", json_str_or_null(t->thinking_instruction));
    json_object_object_add(o, "model_type", json_object_new_string("task"));
    return o;
}

struct json_object *render_message(const char *fmt, ...)
{
    struct json_object *o = json_object_new_object();
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object_object_add(o, "message", json_object_new_string(msg));
    return o;
}
