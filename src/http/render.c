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
static void write_head(struct jsonw *w, const char *id, int64_t created_at, const char *created_by)
{
    char ts[CLOCK_ISO_LEN];

    clock_iso8601(created_at, ts);
    jsonw_kint(w, "v", 1);
    jsonw_kstr(w, "id", id);
    jsonw_kraw(w, "path", "null");
    jsonw_kstr(w, "created_at", ts);
    jsonw_kstr(w, "created_by", created_by);
}

static struct json_object *finish(struct jsonw *w, struct buf *b)
{
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

    buf_init(&b, RENDER_MAX);
    jsonw_init(&w, &b);
    jsonw_obj(&w);
    write_head(&w, p->id, p->created_at, p->created_by);
    jsonw_kstr(&w, "name", p->name);
    jsonw_kstr(&w, "description", p->description);
    jsonw_kstr(&w, "model_type", "project");
    jsonw_end_obj(&w);
    return finish(&w, &b);
}

struct json_object *render_task(const struct task *t)
{
    struct buf b;
    struct jsonw w;

    buf_init(&b, RENDER_MAX);
    jsonw_init(&w, &b);
    jsonw_obj(&w);
    write_head(&w, t->id, t->created_at, t->created_by);
    jsonw_kstr(&w, "name", t->name);
    jsonw_kstr(&w, "description", t->description);
    jsonw_kstr(&w, "instruction", t->instruction);
    jsonw_kraw(&w, "requirements", t->requirements ? t->requirements : "[]");
    jsonw_kstr(&w, "output_json_schema", t->output_json_schema);
    jsonw_kstr(&w, "input_json_schema", t->input_json_schema);
    jsonw_kstr(&w, "thinking_instruction", t->thinking_instruction);
    jsonw_kstr(&w, "model_type", "task");
    jsonw_end_obj(&w);
    return finish(&w, &b);
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
