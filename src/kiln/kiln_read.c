/* SPDX-License-Identifier: MIT */
/*
 * One Kiln file into one store record. The checks are those Kiln 0.15's models make when they
 * load a file (kiln_ai/datamodel: basemodel.py, project.py, task.py, task_run.py,
 * task_output.py, dataset_split.py), the defaults theirs: a missing id is a new one, a missing
 * created_at is now, a missing created_by is the server's user, a timestamp without an offset is
 * UTC. Ids must be Kiln's 12-digit ones, which are kept. Values that come across as JSON (a
 * task's requirements, a run's rating, repaired output, intermediate outputs, a split's parts)
 * are re-rendered in the key order Kiln writes them. Every message names the file (k->rel) and
 * the field. Touches the store only through kiln_new_id.
 */
#include "kiln/kiln.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "export/split.h"
#include "llm/schema.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define NAME_MAX_CHARS       120
#define SHORT_NAME_MAX_CHARS 32
#define TEXT_MAX             KILN_FILE_MAX
#define MAX_REQUIREMENTS     1000
#define MAX_TAGS             1000
#define MAX_PARTS            64

static const char *const rating_types[] = {"five_star", "pass_fail", "pass_fail_critical", "custom",
                                           NULL};

/* A damaged file: "<file>: <field> <what>", HE_BAD_REQUEST on field. */
__attribute__((format(printf, 4, 5))) static int bad(const struct kiln_ctx *k, struct err *e,
                                                     const char *field, const char *fmt, ...)
{
    char what[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return err_set(e, HE_BAD_REQUEST, field, "%s: %s %s", k->rel, field, what);
}

/* An accessor's error (util/json.h names the field) as a damaged file. */
static int damaged(const struct kiln_ctx *k, struct err *e)
{
    if (e->code != HE_NOMEM)
        e->code = HE_BAD_REQUEST;
    err_prefix(e, "%s", k->rel);
    return e->code;
}

static int nomem(struct err *e)
{
    return err_set(e, HE_NOMEM, NULL, NULL);
}

/* The member key of o; NULL when absent or null. */
static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static bool is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* The string at where.key copied into k->mem (absent, or null with JF_NULLABLE: unchanged). */
static int get_str(const struct kiln_ctx *k, struct json_object *o, const char *where,
                   const char *key, unsigned flags, size_t min, const char **ret, struct err *e)
{
    const char *s = NULL;

    if (json_get_str(o, where, key, flags, min, TEXT_MAX, &s, e) < 0)
        return damaged(k, e);
    if (s && !(*ret = arena_strdup(k->mem, s)))
        return nomem(e);
    return 0;
}

/* Kiln's NAME_FIELD (max 120) or SHORT_NAME_FIELD (max 32): letters, digits, space, _ and -. */
static int get_name(const struct kiln_ctx *k, struct json_object *o, const char *where, size_t max,
                    const char **ret, struct err *e)
{
    char field[ERR_FIELD_MAX];
    const char *s = NULL;
    int r;

    json_field_name(field, sizeof(field), where, "name");
    if ((r = get_str(k, o, where, "name", JF_REQUIRED, 1, &s, e)) < 0)
        return r;
    if (utf8_length(s, strlen(s)) > max)
        return bad(k, e, field, "must be at most %zu characters", max);
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _-") != strlen(s))
        return bad(k, e, field, "may hold letters, digits, spaces, _ and - only, not '%s'", s);
    *ret = s;
    return 0;
}

int kiln_new_id(struct kiln_ids *ids, char out[ID_LEN], struct err *e)
{
    int r;

    if (!ids->pool) {
        if ((r = store_new_id(ids->store, out, e)) == 0)
            ids->count++;
        return r;
    }
    if (ids->used == ids->npool)
        return err_set(e, HE_CONFLICT, NULL, "the project's files changed while it was imported");
    memcpy(out, ids->pool[ids->used++], ID_LEN);
    return 0;
}

/* The JSON text of v in k->mem. */
static const char *text_in(const struct kiln_ctx *k, struct json_object *v)
{
    return arena_strdup(k->mem, json_text(v, NULL));
}

/* ---- what every record has: v, id, created_at, created_by, model_type ---- */

struct head {
    char id[ID_LEN];
    int64_t created_at;
    const char *created_by;
};

/* model_type NULL: a record inside another (Kiln ignores its computed model_type there). */
static int read_head(const struct kiln_ctx *k, struct json_object *o, const char *where,
                     const char *model_type, struct head *h, struct err *e)
{
    char field[ERR_FIELD_MAX];
    const char *id = NULL, *ts = NULL, *type = NULL;
    int64_t v = 1;
    int r;

    if (json_get_int(o, where, "v", 0, INT64_MIN, INT64_MAX, &v, e) < 0)
        return damaged(k, e);
    json_field_name(field, sizeof(field), where, "v");
    if (v > 1)
        return bad(k, e, field, "is %lld: the file is from a newer Kiln (schema version 1 is read)",
                   (long long)v);
    if ((r = get_str(k, o, where, "id", JF_NULLABLE, 0, &id, e)) < 0 ||
        (r = get_str(k, o, where, "created_at", 0, 0, &ts, e)) < 0)
        return r;
    h->created_by = k->user;
    if ((r = get_str(k, o, where, "created_by", 0, 0, &h->created_by, e)) < 0)
        return r;
    json_field_name(field, sizeof(field), where, "id");
    if (id && !id_valid(id))
        return bad(k, e, field, "must be a Kiln id of 12 digits, not '%s'", id);
    if (id)
        memcpy(h->id, id, ID_LEN);
    else if ((r = kiln_new_id(k->ids, h->id, e)) < 0)
        return r;
    json_field_name(field, sizeof(field), where, "created_at");
    h->created_at = k->now;
    if (ts && clock_parse_iso8601(ts, &h->created_at) < 0)
        return bad(k, e, field, "must be an ISO 8601 date and time, not '%s'", ts);
    if (!model_type)
        return 0;
    if (json_get_str(o, NULL, "model_type", JF_REQUIRED, 1, 64, &type, e) < 0)
        return damaged(k, e);
    if (strcmp(type, model_type) != 0)
        return bad(k, e, "model_type", "must be '%s', not '%s'", model_type, type);
    return 0;
}

/* Adds v, id, path, created_at and created_by to o, as Kiln writes a record inside another. */
static void add_head(struct json_object *o, const struct head *h)
{
    char ts[CLOCK_ISO_LEN];

    clock_iso8601(h->created_at, ts);
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "id", json_object_new_string(h->id));
    json_object_object_add(o, "path", NULL);
    json_object_object_add(o, "created_at", json_object_new_string(ts));
    json_object_object_add(o, "created_by", json_object_new_string(h->created_by));
}

/* ---- projects and tasks ---- */

int kiln_read_project(const struct kiln_ctx *k, struct json_object *o, struct project *ret,
                      struct err *e)
{
    struct head h;
    const char *name = NULL, *description = NULL;
    int r;

    if ((r = read_head(k, o, NULL, "project", &h, e)) < 0 ||
        (r = get_name(k, o, NULL, NAME_MAX_CHARS, &name, e)) < 0 ||
        (r = get_str(k, o, NULL, "description", JF_NULLABLE, 0, &description, e)) < 0)
        return r;
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->id, h.id, ID_LEN);
    ret->created_at = h.created_at;
    ret->created_by = h.created_by;
    ret->name = name;
    ret->description = description;
    return 0;
}

/* A TaskOutputRatingType at where.key (absent: five_star). */
static int get_rating_type(const struct kiln_ctx *k, struct json_object *o, const char *where,
                           const char *key, const char **ret, struct err *e)
{
    char field[ERR_FIELD_MAX];
    const char *type = "five_star";

    if (json_get_str(o, where, key, 0, 0, 64, &type, e) < 0)
        return damaged(k, e);
    json_field_name(field, sizeof(field), where, key);
    for (size_t i = 0; rating_types[i]; i++)
        if (strcmp(type, rating_types[i]) == 0) {
            *ret = rating_types[i];
            return 0;
        }
    return bad(k, e, field, "must be five_star, pass_fail, pass_fail_critical or custom, not '%s'",
               type);
}

/* One TaskRequirement, with Kiln's defaults, in Kiln's key order. */
static int read_requirement(const struct kiln_ctx *k, struct json_object *q, const char *where,
                            struct json_object *out, struct err *e)
{
    const char *id = NULL, *name = NULL, *description = NULL, *instruction = NULL, *type;
    char new_id[ID_LEN];
    int64_t priority = 2;
    int r;

    if (!json_object_is_type(q, json_type_object))
        return bad(k, e, where, "must be an object");
    if ((r = get_str(k, q, where, "id", JF_NULLABLE, 0, &id, e)) < 0 ||
        (r = get_name(k, q, where, SHORT_NAME_MAX_CHARS, &name, e)) < 0 ||
        (r = get_str(k, q, where, "description", JF_NULLABLE, 0, &description, e)) < 0 ||
        (r = get_str(k, q, where, "instruction", JF_REQUIRED, 1, &instruction, e)) < 0 ||
        (r = get_rating_type(k, q, where, "type", &type, e)) < 0)
        return r;
    if (json_get_int(q, where, "priority", 0, 0, 3, &priority, e) < 0)
        return damaged(k, e);
    if (!id && (r = kiln_new_id(k->ids, new_id, e)) < 0)
        return r;
    json_object_object_add(out, "id", json_object_new_string(id ? id : new_id));
    json_object_object_add(out, "name", json_object_new_string(name));
    json_object_object_add(out, "description", json_str_or_null(description));
    json_object_object_add(out, "instruction", json_object_new_string(instruction));
    json_object_object_add(out, "priority", json_object_new_int((int)priority));
    json_object_object_add(out, "type", json_object_new_string(type));
    return 0;
}

static int read_requirements(const struct kiln_ctx *k, struct json_object *o, const char **ret,
                             struct err *e)
{
    struct json_object *arr = NULL, *out;
    char where[ERR_FIELD_MAX];
    int r = 0;

    if (json_get_array(o, NULL, "requirements", 0, MAX_REQUIREMENTS, &arr, e) < 0)
        return damaged(k, e);
    out = json_object_new_array();
    for (size_t i = 0; r == 0 && arr && i < json_object_array_length(arr); i++) {
        struct json_object *q = json_object_new_object();
        snprintf(where, sizeof(where), "requirements[%zu]", i);
        json_object_array_add(out, q);
        r = read_requirement(k, json_object_array_get_idx(arr, i), where, q, e);
    }
    if (r == 0 && !(*ret = text_in(k, out)))
        r = nomem(e);
    json_object_put(out);
    return r;
}

/* A JsonObjectSchema: JSON text holding a JSON Schema of an object, or null. */
static int read_schema(const struct kiln_ctx *k, struct json_object *o, const char *key,
                       const char **ret, struct err *e)
{
    struct json_object *schema = NULL;
    struct err perr = ERR_INIT;
    const char *text = NULL;
    int r;

    if ((r = get_str(k, o, NULL, key, JF_NULLABLE, 0, &text, e)) < 0 || !text)
        return r;
    if (json_parse(text, strlen(text), &schema, &perr) < 0)
        return bad(k, e, key, "must be JSON text holding a JSON Schema: %s", perr.msg);
    r = schema_check(schema, true, key, e);
    json_object_put(schema);
    if (r < 0)
        return damaged(k, e);
    *ret = text;
    return 0;
}

int kiln_read_task(const struct kiln_ctx *k, struct json_object *o, const char *project_id,
                   struct task *ret, struct err *e)
{
    struct task t = {0};
    struct head h;
    int r;

    if ((r = read_head(k, o, NULL, "task", &h, e)) < 0 ||
        (r = get_name(k, o, NULL, NAME_MAX_CHARS, &t.name, e)) < 0 ||
        (r = get_str(k, o, NULL, "description", JF_NULLABLE, 0, &t.description, e)) < 0 ||
        (r = get_str(k, o, NULL, "instruction", JF_REQUIRED, 1, &t.instruction, e)) < 0 ||
        (r = read_requirements(k, o, &t.requirements, e)) < 0 ||
        (r = read_schema(k, o, "output_json_schema", &t.output_json_schema, e)) < 0 ||
        (r = read_schema(k, o, "input_json_schema", &t.input_json_schema, e)) < 0 ||
        (r = get_str(k, o, NULL, "thinking_instruction", JF_NULLABLE, 0, &t.thinking_instruction,
                     e)) < 0)
        return r;
    memcpy(t.id, h.id, ID_LEN);
    memcpy(t.project_id, project_id, ID_LEN);
    t.created_at = h.created_at;
    t.created_by = h.created_by;
    *ret = t;
    return 0;
}

/* ---- data sources ---- */

enum { SRC_HUMAN = 1, SRC_SYNTHETIC = 2, SRC_FILE = 4 };

static const char *const source_types[] = {"human", "synthetic", "file_import"};

/* DataSource._data_source_properties: each a string, required for and refused for types. */
static const struct {
    const char *name;
    unsigned required, refused;
} source_props[] = {
    {"created_by", SRC_HUMAN, SRC_SYNTHETIC | SRC_FILE},
    {"model_name", SRC_SYNTHETIC, SRC_HUMAN | SRC_FILE},
    {"model_provider", SRC_SYNTHETIC, SRC_HUMAN | SRC_FILE},
    {"adapter_name", SRC_SYNTHETIC, SRC_HUMAN | SRC_FILE},
    {"prompt_builder_name", 0, SRC_HUMAN | SRC_FILE},
    {"prompt_id", 0, SRC_HUMAN | SRC_FILE},
    {"file_name", SRC_FILE, SRC_HUMAN | SRC_SYNTHETIC},
};

struct source {
    const char *type;  /* NULL: none */
    const char *props; /* JSON object text */
    struct json_object *obj;
};

/* Properties: strings (not empty) or numbers; the named ones strings, as the type wants them. */
static int check_props(const struct kiln_ctx *k, struct json_object *props, const char *field,
                       unsigned type, const char *type_name, struct err *e)
{
    char name[ERR_FIELD_MAX];

    json_object_object_foreach(props, key, v)
    {
        snprintf(name, sizeof(name), "%s.properties.%s", field, key);
        if (!is_number(v) && !json_object_is_type(v, json_type_string))
            return bad(k, e, name, "must be a string or a number");
        if (json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
            return bad(k, e, name, "must not be empty");
    }
    for (size_t i = 0; i < sizeof(source_props) / sizeof(source_props[0]); i++) {
        struct json_object *p = member(props, source_props[i].name);
        snprintf(name, sizeof(name), "%s.properties.%s", field, source_props[i].name);
        if (p && !json_object_is_type(p, json_type_string))
            return bad(k, e, name, "must be a string");
        if (!p && (source_props[i].required & type))
            return bad(k, e, name, "is required for a %s source", type_name);
        if (p && (source_props[i].refused & type))
            return bad(k, e, name, "is not allowed for a %s source", type_name);
    }
    return 0;
}

/* A DataSource at where.key; absent or null: none (with or_human, a human's: Hetu keeps one). */
static int read_source(const struct kiln_ctx *k, struct json_object *o, const char *where,
                       const char *key, const char *created_by, bool or_human, struct source *ret,
                       struct err *e)
{
    struct json_object *src = member(o, key), *props = NULL;
    char field[ERR_FIELD_MAX];
    const char *type = NULL;
    unsigned bit = 0;
    int r;

    json_field_name(field, sizeof(field), where, key);
    memset(ret, 0, sizeof(*ret));
    if (!src && !or_human)
        return 0;
    if (!src) {
        props = json_object_new_object();
        json_object_object_add(props, "created_by", json_object_new_string(created_by));
        ret->type = "human";
        ret->props = text_in(k, props);
        json_object_put(props);
        return ret->props ? 0 : nomem(e);
    }
    if (!json_object_is_type(src, json_type_object))
        return bad(k, e, field, "must be an object or null");
    if (json_get_str(src, field, "type", JF_REQUIRED, 1, 64, &type, e) < 0 ||
        json_get_object(src, field, "properties", 0, &props, e) < 0)
        return damaged(k, e);
    for (size_t i = 0; i < 3; i++)
        if (strcmp(type, source_types[i]) == 0) {
            ret->type = source_types[i];
            bit = 1u << i;
        }
    if (!ret->type)
        return bad(k, e, field, "type must be human, synthetic or file_import, not '%s'", type);
    if (props && (r = check_props(k, props, field, bit, ret->type, e)) < 0)
        return r;
    ret->obj = props;
    ret->props = props ? text_in(k, props) : "{}";
    return ret->props ? 0 : nomem(e);
}

/* A string property of a source, in k->mem, or NULL. */
static const char *prop(const struct kiln_ctx *k, const struct source *s, const char *name)
{
    struct json_object *v = member(s->obj, name);
    return json_object_is_type(v, json_type_string)
               ? arena_strdup(k->mem, json_object_get_string(v))
               : NULL;
}

/* A source as Kiln writes it inside a record: {"type", "properties"}, or null. */
static struct json_object *source_json(const struct source *s)
{
    struct json_object *o;

    if (!s->type)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string(s->type));
    json_object_object_add(o, "properties", json_raw_new(s->props));
    return o;
}

/* ---- ratings ---- */

/* A rating's value as TaskOutputRating checks it for its type (null: NaN, allowed when
 * nullable). */
static int read_value(const struct kiln_ctx *k, struct json_object *v, const char *field,
                      const char *type, bool nullable, double *ret, struct err *e)
{
    double x;

    if (!v && nullable) {
        *ret = NAN;
        return 0;
    }
    if (!v || !is_number(v))
        return bad(k, e, field, "must be a number");
    x = json_object_get_double(v);
    if (strcmp(type, "five_star") == 0 && !(x == floor(x) && x >= 1 && x <= 5))
        return bad(k, e, field, "of type five_star must be a whole number of stars from 1 to 5");
    if (strcmp(type, "pass_fail") == 0 && x != 0 && x != 1)
        return bad(k, e, field, "of type pass_fail must be 0 (fail) or 1 (pass)");
    if (strcmp(type, "pass_fail_critical") == 0 && x != 0 && x != 1 && x != -1)
        return bad(k, e, field,
                   "of type pass_fail_critical must be -1 (critical fail), 0 (fail) or 1 (pass)");
    *ret = x;
    return 0;
}

/* The sample's rating score (1..5; pass 5, fail 1, critical 0), NaN when unrated or custom. */
static double score(const char *type, double x)
{
    if (isnan(x) || strcmp(type, "custom") == 0)
        return NAN;
    if (strcmp(type, "five_star") == 0)
        return x;
    return x == 1 ? 5 : x == 0 ? 1 : 0;
}

/* requirement_ratings: {id: {"value", "type"}}; the old form {id: number} is five_star. */
static int read_requirement_ratings(const struct kiln_ctx *k, struct json_object *rating,
                                    const char *where, struct json_object *out, struct err *e)
{
    struct json_object *rr = NULL;
    char field[ERR_FIELD_MAX];
    bool old = true;
    int r;

    if (json_get_object(rating, where, "requirement_ratings", 0, &rr, e) < 0)
        return damaged(k, e);
    if (!rr)
        return 0;
    json_object_object_foreach(rr, key0, v0)
    {
        (void)key0;
        old = old && is_number(v0);
    }
    json_object_object_foreach(rr, key, v)
    {
        struct json_object *one = json_object_new_object();
        const char *type = "five_star";
        double x;

        snprintf(field, sizeof(field), "%s.requirement_ratings.%s", where, key);
        json_object_object_add(out, key, one);
        if (!old && !json_object_is_type(v, json_type_object))
            return bad(k, e, field, "must be an object with a value and a type");
        if (!old && (r = get_rating_type(k, v, field, "type", &type, e)) < 0)
            return r;
        if (!old && !member(v, "type"))
            return bad(k, e, field, "type is required");
        strncat(field, ".value", sizeof(field) - strlen(field) - 1);
        if ((r = read_value(k, old ? v : member(v, "value"), field, type, false, &x, e)) < 0)
            return r;
        json_object_object_add(one, "value", json_object_new_double(x));
        json_object_object_add(one, "type", json_object_new_string(type));
    }
    return 0;
}

/* A TaskOutputRating at where.rating: its JSON as Kiln writes it, and its score. */
static int read_rating(const struct kiln_ctx *k, struct json_object *o, const char *where,
                       const char **ret, double *ret_score, struct err *e)
{
    struct json_object *rating = member(o, "rating"), *out, *rr;
    char field[ERR_FIELD_MAX], vfield[ERR_FIELD_MAX];
    const char *type = "five_star";
    struct head h;
    double x;
    int r;

    *ret = NULL;
    *ret_score = NAN;
    if (!rating)
        return 0;
    json_field_name(field, sizeof(field), where, "rating");
    json_field_name(vfield, sizeof(vfield), field, "value");
    if (!json_object_is_type(rating, json_type_object))
        return bad(k, e, field, "must be an object or null");
    if ((r = read_head(k, rating, field, NULL, &h, e)) < 0 ||
        (r = get_rating_type(k, rating, field, "type", &type, e)) < 0 ||
        (r = read_value(k, member(rating, "value"), vfield, type, true, &x, e)) < 0)
        return r;
    out = json_object_new_object();
    add_head(out, &h);
    json_object_object_add(out, "type", json_object_new_string(type));
    json_object_object_add(out, "value", isnan(x) ? NULL : json_object_new_double(x));
    json_object_object_add(out, "requirement_ratings", rr = json_object_new_object());
    json_object_object_add(out, "model_type", json_object_new_string("task_output_rating"));
    if ((r = read_requirement_ratings(k, rating, field, rr, e)) == 0 && !(*ret = text_in(k, out)))
        r = nomem(e);
    json_object_put(out);
    *ret_score = score(type, x);
    return r;
}

/* ---- outputs and runs ---- */

struct output {
    struct head h;
    const char *text;
    struct source src;
    const char *rating; /* JSON or NULL */
    double score;
};

/* The TaskOutput at key; with or_human a missing source is a human's. */
static int read_output(const struct kiln_ctx *k, struct json_object *o, const char *key,
                       bool or_human, struct output *ret, struct err *e)
{
    struct json_object *out = member(o, key);
    int r;

    if (!out)
        return bad(k, e, key, "is required");
    if (!json_object_is_type(out, json_type_object))
        return bad(k, e, key, "must be an object");
    if ((r = read_head(k, out, key, NULL, &ret->h, e)) < 0 ||
        (r = get_str(k, out, key, "output", JF_REQUIRED, 0, &ret->text, e)) < 0 ||
        (r = read_source(k, out, key, "source", ret->h.created_by, or_human, &ret->src, e)) < 0)
        return r;
    return read_rating(k, out, key, &ret->rating, &ret->score, e);
}

/* repair_instructions and repaired_output: both or neither; a repaired output has no rating. */
static int read_repair(const struct kiln_ctx *k, struct json_object *o, struct run *r,
                       struct err *e)
{
    struct json_object *rep;
    struct output out;
    int rc;

    if ((rc = get_str(k, o, NULL, "repair_instructions", JF_NULLABLE, 0, &r->repair_instructions,
                      e)) < 0)
        return rc;
    if (!member(o, "repaired_output")) {
        if (r->repair_instructions)
            return bad(k, e, "repaired_output", "is required with repair_instructions");
        return 0;
    }
    if (!r->repair_instructions)
        return bad(k, e, "repair_instructions", "are required with a repaired_output");
    if ((rc = read_output(k, o, "repaired_output", false, &out, e)) < 0)
        return rc;
    if (out.rating)
        return bad(k, e, "repaired_output.rating",
                   "must be null: a repaired output counts as perfectly rated");
    rep = json_object_new_object();
    add_head(rep, &out.h);
    json_object_object_add(rep, "output", json_object_new_string(out.text));
    json_object_object_add(rep, "source", source_json(&out.src));
    json_object_object_add(rep, "rating", NULL);
    json_object_object_add(rep, "model_type", json_object_new_string("task_output"));
    r->repaired_output = text_in(k, rep);
    json_object_put(rep);
    return r->repaired_output ? 0 : nomem(e);
}

/* intermediate_outputs: {name: text} or null ("{}" here). */
static int read_intermediate(const struct kiln_ctx *k, struct json_object *o, struct run *r,
                             struct err *e)
{
    struct json_object *io = NULL;
    char field[ERR_FIELD_MAX];

    if (json_get_object(o, NULL, "intermediate_outputs", JF_NULLABLE, &io, e) < 0)
        return damaged(k, e);
    r->intermediate_outputs = "{}";
    if (!io)
        return 0;
    json_object_object_foreach(io, key, v)
    {
        snprintf(field, sizeof(field), "intermediate_outputs.%s", key);
        if (!json_object_is_type(v, json_type_string))
            return bad(k, e, field, "must be a string");
    }
    r->intermediate_outputs = text_in(k, io);
    return r->intermediate_outputs ? 0 : nomem(e);
}

/* tags: strings, none empty or with a space. */
static int read_tags(const struct kiln_ctx *k, struct json_object *o, struct run *r, struct err *e)
{
    struct json_object *arr = NULL;
    char field[ERR_FIELD_MAX];
    const char **list;
    size_t n;

    if (json_get_array(o, NULL, "tags", 0, MAX_TAGS, &arr, e) < 0)
        return damaged(k, e);
    n = arr ? json_object_array_length(arr) : 0;
    if (!(list = arena_alloc(k->mem, (n + 1) * sizeof(*list))))
        return nomem(e);
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        snprintf(field, sizeof(field), "tags[%zu]", i);
        if (!json_object_is_type(v, json_type_string))
            return bad(k, e, field, "must be a string");
        if (json_object_get_string_len(v) == 0 || strchr(json_object_get_string(v), ' '))
            return bad(k, e, field, "must not be empty or hold a space, not '%s'",
                       json_object_get_string(v));
        if (!(list[i] = arena_strdup(k->mem, json_object_get_string(v))))
            return nomem(e);
    }
    list[n] = NULL;
    r->tag_list = list;
    r->ntags = n;
    r->tags = arr ? text_in(k, arr) : "[]";
    return r->tags ? 0 : nomem(e);
}

/* The topic key of a gateway topic_path property ("a>>>>>b"), "" when none. */
static const char *topic_key(const struct kiln_ctx *k, const struct source *s)
{
    const char *path = prop(k, s, "topic_path");
    size_t n = path ? strlen(path) : 0;
    char *key, *q;

    if (!n || !(key = arena_alloc(k->mem, n + 2)))
        return "";
    q = key;
    for (const char *p = path; *p;) {
        if (strncmp(p, ">>>>>", 5) == 0) {
            *q++ = STORE_TOPIC_SEP[0];
            p += 5;
        } else {
            *q++ = *p++;
        }
    }
    *q++ = STORE_TOPIC_SEP[0];
    *q = '\0';
    return key;
}

/* What the store derives for statistics: the input's hash, the models and the prompt. */
static int derive(const struct kiln_ctx *k, struct run *r, const struct source *in,
                  const struct output *out, struct err *e)
{
    uint64_t hash;
    int rc;

    if ((rc = text_norm_hash(r->input, strlen(r->input), &hash, e)) < 0)
        return rc;
    r->input_hash = (int64_t)hash;
    if (strcmp(in->type, "synthetic") == 0) {
        r->input_model = prop(k, in, "model_name");
        r->input_provider = prop(k, in, "model_provider");
    }
    if (strcmp(out->src.type, "synthetic") == 0) {
        r->output_model = prop(k, &out->src, "model_name");
        r->output_provider = prop(k, &out->src, "model_provider");
        r->prompt_method = prop(k, &out->src, "prompt_id");
        if (!r->prompt_method)
            r->prompt_method = prop(k, &out->src, "prompt_builder_name");
    }
    return 0;
}

int kiln_read_run(const struct kiln_ctx *k, struct json_object *o, const char *task_id,
                  struct run *ret, struct err *e)
{
    struct run r = {0};
    struct source in;
    struct output out;
    struct head h;
    int rc;

    if ((rc = read_head(k, o, NULL, "task_run", &h, e)) < 0 ||
        (rc = get_str(k, o, NULL, "input", JF_REQUIRED, 0, &r.input, e)) < 0 ||
        (rc = read_source(k, o, NULL, "input_source", h.created_by, true, &in, e)) < 0 ||
        (rc = read_output(k, o, "output", true, &out, e)) < 0 ||
        (rc = read_repair(k, o, &r, e)) < 0 || (rc = read_intermediate(k, o, &r, e)) < 0 ||
        (rc = read_tags(k, o, &r, e)) < 0 || (rc = derive(k, &r, &in, &out, e)) < 0)
        return rc;
    memcpy(r.id, h.id, ID_LEN);
    memcpy(r.task_id, task_id, ID_LEN);
    r.created_at = h.created_at;
    r.created_by = h.created_by;
    r.input_source_type = in.type;
    r.input_source = in.props;
    memcpy(r.output_id, out.h.id, ID_LEN);
    r.output_created_at = out.h.created_at;
    r.output = out.text;
    r.output_source_type = out.src.type;
    r.output_source = out.src.props;
    r.rating = out.rating;
    r.rating_score = out.score;
    r.topic_key = topic_key(k, &in);
    r.input_tokens = r.output_tokens = r.total_tokens = -1;
    r.cost = NAN;
    *ret = r;
    return 0;
}

/* ---- dataset splits ---- */

/* splits: [{"name", "description", "percentage"}] adding up to 1, as Kiln writes them. */
static int read_defs(const struct kiln_ctx *k, struct json_object *o, struct json_object *out,
                     struct err *e)
{
    struct json_object *defs = NULL;
    char where[ERR_FIELD_MAX];
    double sum = 0;
    int r;

    if (json_get_array(o, NULL, "splits", 0, MAX_PARTS, &defs, e) < 0)
        return damaged(k, e);
    for (size_t i = 0; defs && i < json_object_array_length(defs); i++) {
        struct json_object *d = json_object_array_get_idx(defs, i), *pct, *def;
        const char *name = NULL, *description = NULL;

        snprintf(where, sizeof(where), "splits[%zu]", i);
        if (!json_object_is_type(d, json_type_object))
            return bad(k, e, where, "must be an object");
        if ((r = get_name(k, d, where, NAME_MAX_CHARS, &name, e)) < 0 ||
            (r = get_str(k, d, where, "description", JF_NULLABLE, 0, &description, e)) < 0)
            return r;
        pct = member(d, "percentage");
        strncat(where, ".percentage", sizeof(where) - strlen(where) - 1);
        if (!is_number(pct) || !(json_object_get_double(pct) >= 0) ||
            json_object_get_double(pct) > 1)
            return bad(k, e, where, "must be a number from 0 to 1");
        sum += json_object_get_double(pct);
        json_object_array_add(out, def = json_object_new_object());
        json_object_object_add(def, "name", json_object_new_string(name));
        json_object_object_add(def, "description", json_str_or_null(description));
        json_object_object_add(def, "percentage", json_object_get(pct));
    }
    if (fabs(sum - 1.0) > 1e-9 * fmax(1.0, fabs(sum)))
        return bad(k, e, "splits", "percentages must add up to 1.0 (they add up to %g)", sum);
    return 0;
}

/* split_contents: {part: [run ids]}, each id a Kiln id. */
static int read_contents(const struct kiln_ctx *k, struct json_object *o,
                         struct dataset_split_part **ret, size_t *ret_n, struct err *e)
{
    struct json_object *sc = NULL;
    char field[ERR_FIELD_MAX];
    struct dataset_split_part *parts;
    size_t n = 0;

    if (json_get_object(o, NULL, "split_contents", JF_REQUIRED, &sc, e) < 0)
        return damaged(k, e);
    if ((size_t)json_object_object_length(sc) > MAX_PARTS)
        return bad(k, e, "split_contents", "has more than %d parts", MAX_PARTS);
    if (!(parts = arena_alloc(k->mem, (MAX_PARTS + 1) * sizeof(*parts))))
        return nomem(e);
    json_object_object_foreach(sc, key, v)
    {
        size_t len = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 0;
        char(*ids)[ID_LEN] = arena_alloc(k->mem, (len + 1) * ID_LEN);

        snprintf(field, sizeof(field), "split_contents.%s", key);
        if (!json_object_is_type(v, json_type_array))
            return bad(k, e, field, "must be a list of run ids");
        if (!ids || !(parts[n].name = arena_strdup(k->mem, key)))
            return nomem(e);
        for (size_t i = 0; i < len; i++) {
            const char *id = json_object_get_string(json_object_array_get_idx(v, i));
            if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_string) ||
                !id_valid(id)) {
                snprintf(field, sizeof(field), "split_contents.%s[%zu]", key, i);
                return bad(k, e, field, "must be a Kiln run id of 12 digits");
            }
            memcpy(ids[i], id, ID_LEN);
        }
        parts[n].ids = (const char(*)[ID_LEN])ids;
        parts[n++].n = len;
    }
    *ret = parts;
    *ret_n = n;
    return 0;
}

/* The API's split type whose parts defs are, or "custom". */
static const char *split_type_of(struct json_object *defs)
{
    static const char *const names[] = {"train_test",        "train_val", "train_test_val",
                                        "train_test_val_80", "all",       NULL};

    for (size_t i = 0; names[i]; i++) {
        const struct split_type *t = split_type_find(names[i]);
        bool same = t && t->nparts == json_object_array_length(defs);
        for (size_t j = 0; same && j < t->nparts; j++) {
            struct json_object *d = json_object_array_get_idx(defs, j);
            same = strcmp(json_object_get_string(member(d, "name")), t->parts[j].name) == 0 &&
                   fabs(json_object_get_double(member(d, "percentage")) - t->parts[j].percentage) <
                       1e-9;
        }
        if (same)
            return names[i];
    }
    return "custom";
}

int kiln_read_split(const struct kiln_ctx *k, struct json_object *o, const char *task_id,
                    struct dataset_split *ret, struct dataset_split_part **ret_parts,
                    size_t *ret_nparts, struct err *e)
{
    struct dataset_split d = {0};
    struct json_object *defs = json_object_new_array();
    struct split_filter f;
    struct head h;
    int r;

    d.filter_id = "all"; /* a split without a filter was made of every run */
    if ((r = read_head(k, o, NULL, "dataset_split", &h, e)) < 0 ||
        (r = get_name(k, o, NULL, NAME_MAX_CHARS, &d.name, e)) < 0 ||
        (r = get_str(k, o, NULL, "description", JF_NULLABLE, 0, &d.description, e)) < 0 ||
        (r = read_defs(k, o, defs, e)) < 0 ||
        (r = read_contents(k, o, ret_parts, ret_nparts, e)) < 0 ||
        (r = get_str(k, o, NULL, "filter", JF_NULLABLE, 1, &d.filter_id, e)) < 0)
        goto out;
    if (split_filter_parse(d.filter_id, &f, e) < 0) {
        r = damaged(k, e);
        goto out;
    }
    memcpy(d.id, h.id, ID_LEN);
    memcpy(d.task_id, task_id, ID_LEN);
    d.created_at = h.created_at;
    d.created_by = h.created_by;
    d.split_type = split_type_of(defs);
    if (!(d.splits = text_in(k, defs)))
        r = nomem(e);
    *ret = d;
out:
    json_object_put(defs);
    return r;
}
