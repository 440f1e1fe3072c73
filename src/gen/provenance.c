/* SPDX-License-Identifier: MIT */
/*
 * The provenance of an imported sample: the stored fields a hetu_jsonl export writes besides the
 * texts, topic path and tags (export/trainer_format.c), read back so that export, import into
 * another task and export again give the same samples. The JSONL reader hands them over as one
 * JSON object (ingest_row.provenance); gen_provenance_check checks it with the row (on the
 * upload's reader threads), gen_provenance_apply gives it to the run built of the row, whether
 * the row is saved inside the request (gen/output.c) or loaded by an import job (gen/import.c).
 * The sample keeps its sources, rating (and a judge's rating, apart), repair, usage and session
 * as they were, and its tags exactly (no "imported" or session tag added); it gets its own id,
 * time and creator.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/taskrun.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/text.h"
#include "util/banned.h"

static const char *const keys[] = {
    "rating",     "repair_instructions", "repaired_output", "intermediate_outputs",
    "session_id", "input_source",        "output_source",   "usage",
    "id",         "created_at",          "created_by",      "judge_rating",
    NULL};

static const char *const source_types[] = {"human", "synthetic", "file_import", NULL};

/* The member key of o, NULL when absent or null. */
static struct json_object *member(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    return v;
}

static int bad(struct err *e, size_t line, const char *field, const char *what)
{
    return err_set(e, HE_INVALID, field, "line %zu: %s %s", line, field, what);
}

static bool is_number(struct json_object *v)
{
    return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* The rating's score (1..5; pass 5, fail 1, critical 0), or -1 when it is not a rating. */
static double rating_score(struct json_object *rating)
{
    struct json_object *type = member(rating, "type"), *v = member(rating, "value");
    const char *t = json_object_is_type(type, json_type_string) ? json_object_get_string(type) : "";
    double x;

    if (!v || !(is_number(v) || json_object_is_type(v, json_type_boolean)))
        return -1;
    x = json_object_is_type(v, json_type_boolean) ? (json_object_get_boolean(v) ? 1 : 0)
                                                  : json_object_get_double(v);
    if (strcmp(t, "five_star") == 0)
        return x >= 1 && x <= 5 && x == floor(x) ? x : -1;
    if (strcmp(t, "pass_fail") == 0 || strcmp(t, "pass_fail_critical") == 0) {
        if (x == -1 && strcmp(t, "pass_fail_critical") == 0)
            return 0;
        return x == 1 ? 5 : x == 0 ? 1 : -1;
    }
    return -1;
}

static const char *source_type(struct json_object *src)
{
    struct json_object *type = member(src, "type");
    const char *t = json_object_is_type(type, json_type_string) ? json_object_get_string(type) : "";

    for (size_t i = 0; source_types[i]; i++)
        if (strcmp(t, source_types[i]) == 0)
            return source_types[i];
    return NULL;
}

static int check_source(struct json_object *o, const char *key, size_t line, struct err *e)
{
    struct json_object *src = member(o, key), *props;

    if (!src)
        return 0;
    if (!json_object_is_type(src, json_type_object) || !source_type(src))
        return bad(e, line, key, "must be an object whose type is human, synthetic or file_import");
    props = member(src, "properties");
    if (props && !json_object_is_type(props, json_type_object))
        return bad(e, line, key, "properties must be an object");
    return 0;
}

static int check_usage(struct json_object *o, size_t line, struct err *e)
{
    static const char *const counts[] = {"input_tokens", "output_tokens", "total_tokens", NULL};
    struct json_object *u = member(o, "usage"), *cost;

    if (!u)
        return 0;
    if (!json_object_is_type(u, json_type_object))
        return bad(e, line, "usage", "must be an object");
    for (size_t i = 0; counts[i]; i++) {
        struct json_object *v = member(u, counts[i]);
        if (v && (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0))
            return bad(e, line, "usage", "token counts must be whole numbers, at least 0");
    }
    cost = member(u, "cost");
    if (cost && (!is_number(cost) || !(json_object_get_double(cost) >= 0)))
        return bad(e, line, "usage", "cost must be a number, at least 0");
    return 0;
}

/* Every field that must be an object (or null), a string (or null). */
static int check_shapes(struct json_object *o, size_t line, struct err *e)
{
    static const char *const objects[] = {"rating", "judge_rating", "repaired_output",
                                          "intermediate_outputs", NULL};
    static const char *const strings[] = {"repair_instructions", "session_id", "id",
                                          "created_at",          "created_by", NULL};

    for (size_t i = 0; objects[i]; i++) {
        struct json_object *v = member(o, objects[i]);
        if (v && !json_object_is_type(v, json_type_object))
            return bad(e, line, objects[i], "must be an object");
    }
    for (size_t i = 0; strings[i]; i++) {
        struct json_object *v = member(o, strings[i]);
        if (v && !json_object_is_type(v, json_type_string))
            return bad(e, line, strings[i], "must be a string");
    }
    return 0;
}

static int check_values(struct json_object *o, size_t line, struct err *e)
{
    /* a person's rating and a judge's, each checked on its own */
    static const char *const ratings[] = {"rating", "judge_rating", NULL};
    struct json_object *v;

    for (size_t i = 0; ratings[i]; i++)
        if ((v = member(o, ratings[i])) && rating_score(v) < 0)
            return bad(e, line, ratings[i],
                       "must be a five_star rating of 1 to 5, or a pass_fail or "
                       "pass_fail_critical one");
    if ((v = member(o, "repaired_output")) &&
        !json_object_is_type(member(v, "output"), json_type_string))
        return bad(e, line, "repaired_output", "must have an output string");
    if ((v = member(o, "repair_instructions")) &&
        utf8_length(json_object_get_string(v), (size_t)json_object_get_string_len(v)) >
            TEXT_MAX_CHARS)
        return bad(e, line, "repair_instructions", "is too long");
    if ((v = member(o, "session_id"))) {
        size_t n = (size_t)json_object_get_string_len(v);
        if (n == 0 || n > SESSION_MAX_CHARS || text_has_control(json_object_get_string(v), n))
            return err_set(e, HE_INVALID, "session_id",
                           "line %zu: session_id must be one line of 1 to %d bytes", line,
                           SESSION_MAX_CHARS);
    }
    return 0;
}

int gen_provenance_check(const char *text, size_t len, size_t line, struct arena *a,
                         const char **ret, struct err *e)
{
    struct json_object *o = NULL;
    struct err pe = ERR_INIT;
    const char *k;
    int r;

    if (json_parse(text, len, &o, &pe) < 0 || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return err_set(e, HE_INVALID, "file", "line %zu: the sample's stored fields do not parse",
                       line);
    }
    if ((k = json_unknown_key(o, keys)))
        r = err_set(e, HE_INVALID, "file", "line %zu: unknown field %s", line, k);
    else if ((r = check_shapes(o, line, e)) == 0 && (r = check_values(o, line, e)) == 0 &&
             (r = check_source(o, "input_source", line, e)) == 0 &&
             (r = check_source(o, "output_source", line, e)) == 0)
        r = check_usage(o, line, e);
    json_object_put(o);
    if (r == 0 && !(*ret = arena_strdup(a, text)))
        r = err_set(e, HE_NOMEM, NULL, NULL);
    return r;
}

/* ---- applying ---- */

/* The JSON text of v, in a. */
static const char *json_in(struct arena *a, struct json_object *v, bool *nomem)
{
    const char *s = arena_strdup(a, json_text(v, NULL));
    if (!s)
        *nomem = true;
    return s;
}

static void apply_source(struct json_object *o, const char *key, const char **type,
                         const char **props, struct arena *a, bool *nomem)
{
    struct json_object *src = member(o, key), *p;

    if (!src)
        return;
    *type = source_type(src);
    p = member(src, "properties");
    *props = p ? json_in(a, p, nomem) : "{}";
}

static int64_t count(struct json_object *usage, const char *key)
{
    struct json_object *v = member(usage, key);
    return v ? json_object_get_int64(v) : -1;
}

static void apply_tags(struct run *r, const char *const *tags, size_t ntags, struct arena *a,
                       bool *nomem)
{
    const char **list = arena_alloc(a, (ntags + 1) * sizeof(*list));

    if (!list) {
        *nomem = true;
        return;
    }
    for (size_t i = 0; i < ntags; i++)
        if (!(list[i] = arena_strdup(a, tags[i])))
            *nomem = true;
    list[ntags] = NULL;
    r->tag_list = list;
    r->ntags = ntags;
    if (!*nomem && !(r->tags = arena_take(a, taskrun_string_list(list, ntags))))
        *nomem = true;
}

int gen_provenance_apply(struct run *r, const char *prov, const char *const *tags, size_t ntags,
                         struct arena *a)
{
    struct json_object *o = NULL, *v, *usage;
    struct err pe = ERR_INIT;
    bool nomem = false;

    if (json_parse(prov, strlen(prov), &o, &pe) < 0)
        return pe.code;
    apply_source(o, "input_source", &r->input_source_type, &r->input_source, a, &nomem);
    apply_source(o, "output_source", &r->output_source_type, &r->output_source, a, &nomem);
    if ((v = member(o, "rating"))) {
        r->rating = json_in(a, v, &nomem);
        r->rating_score = rating_score(v); /* (critical is 0, as a rating set by PATCH) */
    }
    if ((v = member(o, "judge_rating"))) { /* the judge's, kept apart from the person's */
        r->judge_rating = json_in(a, v, &nomem);
        r->judge_score = rating_score(v);
    }
    if ((v = member(o, "repair_instructions")) &&
        !(r->repair_instructions = arena_strdup(a, json_object_get_string(v))))
        nomem = true;
    if ((v = member(o, "repaired_output")))
        r->repaired_output = json_in(a, v, &nomem);
    if ((v = member(o, "intermediate_outputs")))
        r->intermediate_outputs = json_in(a, v, &nomem);
    if ((v = member(o, "session_id")) &&
        !(r->session_id = arena_strdup(a, json_object_get_string(v))))
        nomem = true;
    if ((usage = member(o, "usage"))) {
        r->input_tokens = count(usage, "input_tokens");
        r->output_tokens = count(usage, "output_tokens");
        r->total_tokens = count(usage, "total_tokens");
        r->cost = (v = member(usage, "cost")) ? json_object_get_double(v) : NAN;
    }
    if (member(o, "input_source")) /* a whole stored sample: its tags as they were */
        apply_tags(r, tags, ntags, a, &nomem);
    json_object_put(o);
    return nomem ? HE_NOMEM : 0;
}
