/* SPDX-License-Identifier: MIT */
/*
 * TaskRun rendering. Stored JSON (sources, rating, intermediate outputs, tags) is embedded raw,
 * so listing thousands of runs costs no re-parse.
 */
#include "gen/taskrun.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/banned.h"

static void add_head(struct json_object *o, const char *id, int64_t created_at,
                     const char *created_by)
{
    char ts[CLOCK_ISO_LEN];

    clock_iso8601(created_at, ts);
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "id", id && *id ? json_object_new_string(id) : NULL);
    json_object_object_add(o, "path", NULL);
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "created_by", json_object_new_string(created_by));
}

static struct json_object *source(const char *type, const char *props)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "properties", json_raw_new(props && *props ? props : "{}"));
    return o;
}

static struct json_object *opt_int(int64_t v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

/* A TaskOutput's keys, in Kiln's order, into out. */
static void output_fill(struct json_object *out, const char *id, int64_t created_at,
                        const char *created_by, const char *output, const char *source_type,
                        const char *source_props, const char *rating)
{
    add_head(out, id, created_at, created_by);
    json_object_object_add(out, "output", json_object_new_string(output));
    json_object_object_add(out, "source", source(source_type, source_props));
    json_object_object_add(out, "rating", rating ? json_raw_new(rating) : NULL);
    json_object_object_add(out, "model_type", json_object_new_string("task_output"));
}

char *taskrun_repair(const char *id, int64_t created_at, const char *created_by, const char *output)
{
    struct json_object *o = json_object_new_object();
    char *props = taskrun_props("created_by", created_by, (const char *)NULL);
    char *text = NULL;

    if (props) {
        output_fill(o, id, created_at, created_by, output, "human", props, NULL);
        text = strdup(json_text(o, NULL));
    }
    free(props);
    json_object_put(o);
    return text;
}

struct json_object *taskrun_render(const struct run *r)
{
    struct json_object *o = json_object_new_object(), *out = json_object_new_object();
    struct json_object *usage = json_object_new_object();

    add_head(o, r->id, r->created_at, r->created_by);
    json_object_object_add(o, "input", json_object_new_string(r->input));
    json_object_object_add(o, "input_source", source(r->input_source_type, r->input_source));

    output_fill(out, r->output_id, r->output_created_at, r->created_by, r->output,
                r->output_source_type, r->output_source, r->rating);
    json_object_object_add(o, "output", out);

    json_object_object_add(o, "repair_instructions", json_str_or_null(r->repair_instructions));
    json_object_object_add(o, "repaired_output",
                           r->repaired_output ? json_raw_new(r->repaired_output) : NULL);
    json_object_object_add(o, "intermediate_outputs",
                           json_raw_new(r->intermediate_outputs ? r->intermediate_outputs : "{}"));
    json_object_object_add(o, "tags", json_raw_new(r->tags ? r->tags : "[]"));
    /* an LLM judge's rating, apart from the person's (output.rating) */
    json_object_object_add(o, "judge_rating",
                           r->judge_rating ? json_raw_new(r->judge_rating) : NULL);

    json_object_object_add(usage, "input_tokens", opt_int(r->input_tokens));
    json_object_object_add(usage, "output_tokens", opt_int(r->output_tokens));
    json_object_object_add(usage, "total_tokens", opt_int(r->total_tokens));
    json_object_object_add(usage, "cost", isnan(r->cost) ? NULL : json_object_new_double(r->cost));
    json_object_object_add(o, "usage", usage);
    json_object_object_add(o, "model_type", json_object_new_string("task_run"));
    return o;
}

char *taskrun_props(const char *key, ...)
{
    struct buf b;
    struct jsonw w;
    va_list ap;

    buf_init(&b, 16u * 1024 * 1024);
    jsonw_init(&w, &b);
    jsonw_obj(&w);
    va_start(ap, key);
    for (const char *k = key; k; k = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        if (v)
            jsonw_kstr(&w, k, v);
    }
    va_end(ap);
    jsonw_end_obj(&w);
    if (w.err) {
        buf_done(&b);
        return NULL;
    }
    return buf_take(&b);
}

char *taskrun_string_list(const char *const *items, size_t n)
{
    return jsonw_string_list(items, n, 16u * 1024 * 1024);
}

char *taskrun_topic_string(const char *key)
{
    struct buf b;
    buf_init(&b, strlen(key) * 5 + 1);
    for (const char *p = key; *p; p++) {
        if (*p == STORE_TOPIC_SEP[0]) {
            if (p[1])
                buf_adds(&b, ">>>>>");
        } else {
            buf_add(&b, p, 1);
        }
    }
    return buf_take(&b);
}

char *taskrun_topic_key(char *const *names, size_t n)
{
    struct buf b;
    size_t len = 1;

    for (size_t i = 0; i < n; i++)
        len += strlen(names[i]) + 1;
    buf_init(&b, len);
    for (size_t i = 0; i < n; i++) {
        buf_adds(&b, names[i]);
        buf_adds(&b, STORE_TOPIC_SEP);
    }
    return buf_take(&b);
}

struct json_object *taskrun_topic_list(const char *key)
{
    struct json_object *a = json_object_new_array();
    const char *start = key;

    for (const char *p = key; *p; p++)
        if (*p == STORE_TOPIC_SEP[0]) {
            json_object_array_add(a, json_object_new_string_len(start, (int)(p - start)));
            start = p + 1;
        }
    return a;
}
