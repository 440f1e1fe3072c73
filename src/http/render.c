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
#include "util/jsonw.h"
#include "util/banned.h"

#define RENDER_MAX (64u * 1024 * 1024)

/* Projects and tasks are written with the JSON writer: they are what the hottest reads
 * answer, and a json-c object built only to be serialized costs several times more. */
/* Opens the object every record shares: version, id, path, creation, name and description. */
static void start(struct jsonw *w, struct buf *b, const char *id, int64_t created_at,
                  const char *created_by, const char *name, const char *description)
{
    char ts[CLOCK_ISO_LEN];

    buf_init(b, RENDER_MAX);
    jsonw_init(w, b);
    jsonw_obj(w);
    clock_iso8601(created_at, ts);
    jsonw_kint(w, "v", 1);
    jsonw_kstr(w, "id", id);
    jsonw_kraw(w, "path", "null");
    jsonw_kstr(w, "created_at", ts);
    jsonw_kstr(w, "created_by", created_by);
    jsonw_kstr(w, "name", name);
    jsonw_kstr(w, "description", description);
}

/* Closes the object with its model_type and hands the text over as a raw json-c value. */
static struct json_object *finish(struct jsonw *w, struct buf *b, const char *model_type)
{
    jsonw_kstr(w, "model_type", model_type);
    jsonw_end_obj(w);
    if (w->err) {
        buf_done(b);
        return NULL;
    }
    return json_raw_take(buf_take(b));
}

struct json_object *render_project(const struct project *p)
{
    struct buf b;
    struct jsonw w;

    start(&w, &b, p->id, p->created_at, p->created_by, p->name, p->description);
    return finish(&w, &b, "project");
}

struct json_object *render_task(const struct task *t)
{
    struct buf b;
    struct jsonw w;

    start(&w, &b, t->id, t->created_at, t->created_by, t->name, t->description);
    jsonw_kstr(&w, "instruction", t->instruction);
    jsonw_kraw(&w, "requirements", t->requirements ? t->requirements : "[]");
    jsonw_kstr(&w, "output_json_schema", t->output_json_schema);
    jsonw_kstr(&w, "input_json_schema", t->input_json_schema);
    jsonw_kstr(&w, "thinking_instruction", t->thinking_instruction);
    return finish(&w, &b, "task");
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
