/* SPDX-License-Identifier: MIT */
/*
 * Saved samples: list with filters and cursor pagination, read, rate or tag, delete.
 *
 * GET .../runs?topic_path=a/b&session_id=S&tag=T&rating=4&source=synthetic&limit=100&cursor=ID
 * answers {"runs": [...], "next_cursor": ID or null}; pass next_cursor back to get the next page.
 * dataset_id=SPLIT keeps the runs of a dataset split still stored, and split_name=PART those of
 * one of its parts, in the part's order.
 * PATCH takes {"rating": {"type": "five_star", "value": 1..5} | {"type": "pass_fail", "value":
 * true|false|1|0} | null, "tags": [...]}; a rating may hold "requirement_ratings": {requirement
 * id: {"type", "value"}}, each checked as the overall one. "repaired_output" (the corrected
 * output; null removes it) and "repair_instructions" set the run's repair.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/split.h"
#include "gen/taskrun.h"
#include "http/parse.h"
#include "http/render.h"
#include "http/request.h"
#include "http/routes.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX     1000
#define PAGE_BYTES   (32u * 1024 * 1024) /* a page ends early rather than grow past this */

struct page {
    struct json_object *list;
    size_t n, bytes;
    bool full; /* the byte budget ended the page */
};

static int add_run(void *ud, const struct run *r, struct err *e)
{
    struct page *p = ud;
    (void)e;
    p->n++;
    if (p->full)
        return 0;
    json_object_array_add(p->list, taskrun_render(r));
    p->bytes += strlen(r->input) + strlen(r->output) + strlen(r->intermediate_outputs) + 1024;
    if (p->bytes >= PAGE_BYTES)
        p->full = true;
    return 0;
}

int parse_query_number(struct http_req *req, const char *name, double min, double max, double *ret,
                       struct err *e)
{
    const char *s = http_req_query(req, name);
    char *end;
    double v;

    if (!s || !*s)
        return 0;
    v = strtod(s, &end);
    if (*end || isnan(v) || v < min || v > max)
        return err_set(e, HE_INVALID, name, "%s must be a number from %g to %g, not '%s'", name,
                       min, max, s);
    *ret = v;
    return 0;
}

int parse_judge_filter(struct http_req *req, struct run_filter *f, struct err *e)
{
    const char *judged = http_req_query(req, "judged");
    int r;

    f->min_judge_rating = NAN;
    if ((r = parse_query_number(req, "judge_rating", 0, 5, &f->min_judge_rating, e)) < 0)
        return r;
    if (judged && *judged && strcmp(judged, "true") != 0 && strcmp(judged, "false") != 0)
        return err_set(e, HE_INVALID, "judged", "judged must be true or false, not '%s'", judged);
    /* a minimum on the judge's rating admits judged samples only (0 included) */
    f->judged = (judged && strcmp(judged, "true") == 0) || !isnan(f->min_judge_rating);
    return 0;
}

char *parse_topic_prefix(const char *path)
{
    struct json_object *body = json_object_new_object(), *list = NULL;
    char **names;
    char *key = NULL;
    struct err e;
    size_t n;

    err_clear(&e);
    json_object_object_add(body, "topic_path", json_object_new_string(path));
    if (gen_parse_topic_path(body, NULL, "topic_path", true, &list, &e) == 0) {
        n = json_object_array_length(list);
        names = calloc(n + 1, sizeof(*names));
        for (size_t i = 0; names && i < n; i++)
            names[i] = (char *)json_object_get_string(json_object_array_get_idx(list, i));
        key = names ? taskrun_topic_key(names, n) : NULL;
        free(names);
    }
    json_object_put(list);
    json_object_put(body);
    return key;
}

/* dataset_id and split_name: the split must be the task's, the name one of its parts. */
static int split_filter(struct http_req *req, struct run_filter *f, struct err *e)
{
    const char *split_id = http_req_query(req, "dataset_id");
    const char *part = http_req_query(req, "split_name");
    struct dataset_split d = {0};
    int r;

    if (part && *part && !(split_id && *split_id))
        return err_set(e, HE_BAD_REQUEST, "dataset_id", "split_name needs a dataset_id");
    if (!split_id || !*split_id)
        return 0;
    if ((r = store_split_get(http_req_app(req)->store, f->task_id, split_id, &d, e)) < 0)
        return r;
    if (part && *part && !split_has_part(&d, part))
        r = err_set(e, HE_BAD_REQUEST, "split_name",
                    "split_name '%s' is not a part of dataset split %s", part, split_id);
    dataset_split_done(&d);
    f->split_id = split_id;
    f->split_name = part && *part ? part : NULL;
    return r;
}

int h_run_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct run_filter f = {.min_rating = NAN};
    const char *topic = http_req_query(req, "topic_path");
    const char *cursor = http_req_query(req, "cursor");
    double limit = PAGE_DEFAULT;
    struct page p = {0};
    struct task t = {0};
    char *prefix = NULL;
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = parse_query_number(req, "rating", 0, 5, &f.min_rating, e)) < 0 ||
        (r = parse_judge_filter(req, &f, e)) < 0 ||
        (r = parse_query_number(req, "limit", 1, PAGE_MAX, &limit, e)) < 0)
        return r;
    if (cursor && *cursor && !id_valid(cursor))
        return err_set(e, HE_INVALID, "cursor", "cursor must be a next_cursor value");
    if (topic && *topic && !(prefix = parse_topic_prefix(topic)))
        return err_set(e, HE_INVALID, "topic_path", "topic_path is not a valid topic path");
    f.task_id = http_req_param(req, "task_id");
    if ((r = split_filter(req, &f, e)) < 0) {
        free(prefix);
        return r;
    }
    f.topic_prefix = prefix;
    f.session_id = http_req_query(req, "session_id");
    f.tag = http_req_query(req, "tag");
    f.source_type = http_req_query(req, "source");
    f.after_id = cursor && *cursor ? cursor : NULL;
    f.limit = (size_t)limit + 1; /* one more tells whether there is a next page */
    p.list = json_object_new_array();
    r = store_run_list(app->store, &f, add_run, &p, e);
    free(prefix);
    if (r < 0) {
        json_object_put(p.list);
        return r;
    }
    {
        struct json_object *o = json_object_new_object();
        size_t shown = json_object_array_length(p.list);

        if (shown > (size_t)limit) { /* the extra row only told that there is more */
            json_object_array_del_idx(p.list, (size_t)limit, 1);
            shown = (size_t)limit;
        }
        if (p.n > shown) {
            struct json_object *last = json_object_array_get_idx(p.list, shown - 1);
            json_object_object_add(
                o, "next_cursor",
                json_object_new_string(json_object_get_string(json_object_object_get(last, "id"))));
        } else {
            json_object_object_add(o, "next_cursor", NULL);
        }
        json_object_object_add(o, "runs", p.list);
        *ret_body = o;
    }
    return 0;
}

int h_run_get(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct task t = {0};
    struct run run;
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = store_run_get(app->store, http_req_param(req, "task_id"),
                           http_req_param(req, "run_id"), &run, e)) < 0)
        return r;
    *ret_body = taskrun_render(&run);
    run_done(&run);
    return 0;
}

/* A rating's value checked for its type (field names it, e.g. "rating"): the value as Kiln
 * stores it (stars, 1/0 for pass/fail, -1 for critical) and its score (1..5; pass 5, fail 1,
 * critical 0). */
static int rating_value(const char *field, const char *type, struct json_object *value,
                        double *ret_value, double *ret_score, struct err *e)
{
    bool critical = strcmp(type, "pass_fail_critical") == 0;
    char vfield[ERR_FIELD_MAX], tfield[ERR_FIELD_MAX];
    double x;

    snprintf(vfield, sizeof(vfield), "%s.value", field);
    snprintf(tfield, sizeof(tfield), "%s.type", field);
    if (!value)
        return err_set(e, HE_INVALID, vfield, "%s is required", vfield);
    if (strcmp(type, "five_star") == 0) {
        x = json_object_is_type(value, json_type_int) ||
                    json_object_is_type(value, json_type_double)
                ? json_object_get_double(value)
                : NAN;
        if (!isfinite(x) || x < 1 || x > 5 || x != (double)(int)x)
            return err_set(e, HE_INVALID, vfield, "%s must be a whole number from 1 to 5", vfield);
        *ret_value = *ret_score = x;
        return 0;
    }
    if (strcmp(type, "pass_fail") != 0 && !critical)
        return err_set(e, HE_INVALID, tfield,
                       "%s must be five_star, pass_fail or pass_fail_critical", tfield);
    if (json_object_is_type(value, json_type_boolean))
        x = json_object_get_boolean(value) ? 1.0 : 0.0;
    else if (json_object_is_type(value, json_type_int) ||
             json_object_is_type(value, json_type_double))
        x = json_object_get_double(value);
    else
        x = NAN;
    if (x != 0.0 && x != 1.0 && !(x == -1.0 && critical))
        return err_set(e, HE_INVALID, vfield, "%s must be true/false (or 1/0%s) for a %s rating",
                       vfield, critical ? ", or -1 for critical" : "", type);
    *ret_value = x;
    *ret_score = x == 1.0 ? 5.0 : x == 0.0 ? 1.0 : 0.0;
    return 0;
}

/* True when id is the id of one of the task's requirements (its JSON list). */
static bool task_has_requirement(const struct task *t, const char *id)
{
    struct json_object *reqs = NULL, *rid;
    struct err ignored = ERR_INIT;
    bool found = false;

    if (!t->requirements ||
        json_parse(t->requirements, strlen(t->requirements), &reqs, &ignored) < 0)
        return false;
    for (size_t i = 0;
         !found && json_object_is_type(reqs, json_type_array) && i < json_object_array_length(reqs);
         i++)
        found = json_object_object_get_ex(json_object_array_get_idx(reqs, i), "id", &rid) &&
                json_object_is_type(rid, json_type_string) &&
                strcmp(json_object_get_string(rid), id) == 0;
    json_object_put(reqs);
    return found;
}

/* rating.requirement_ratings: {requirement id: {"type", "value"}}, as Kiln keeps it. */
static int requirement_ratings(const struct task *t, struct json_object *in,
                               struct json_object *out, struct err *e)
{
    static const char *const fields[] = {"type", "value", NULL};

    if (!json_object_is_type(in, json_type_object))
        return err_set(e, HE_INVALID, "rating.requirement_ratings",
                       "rating.requirement_ratings must be an object keyed by requirement id");
    json_object_object_foreach(in, id, v)
    {
        char field[ERR_FIELD_MAX];
        const char *type = NULL;
        double value, score;
        struct json_object *o;
        int r;

        snprintf(field, sizeof(field), "rating.requirement_ratings.%s", id);
        if (!task_has_requirement(t, id))
            return err_set(e, HE_INVALID, field,
                           "%s: %s is not the id of one of the task's requirements", field, id);
        if (!v || !json_object_is_type(v, json_type_object))
            return err_set(e, HE_INVALID, field, "%s must be an object {type, value}", field);
        if ((r = json_check_keys(v, field, fields, e)) < 0 ||
            (r = json_get_str(v, field, "type", JF_REQUIRED, 1, 32, &type, e)) < 0 ||
            (r = rating_value(field, type, json_object_object_get(v, "value"), &value, &score, e)) <
                0)
            return r;
        o = json_object_new_object();
        json_object_object_add(o, "value", json_object_new_double(value));
        json_object_object_add(o, "type", json_object_new_string(type));
        json_object_object_add(out, id, o);
    }
    return 0;
}

/* The rating object as stored, and its score (1..5; pass 5, fail 1). */
static int parse_rating(const struct task *t, struct json_object *v, char **ret, double *ret_score,
                        struct err *e)
{
    static const char *const fields[] = {"type", "value", "requirement_ratings", "v", NULL};
    struct json_object *o, *reqs = json_object_new_object(), *in;
    const char *type = NULL;
    double value;
    int r;

    if ((r = json_check_keys(v, "rating", fields, e)) < 0 ||
        (r = json_get_str(v, "rating", "type", JF_REQUIRED, 1, 32, &type, e)) < 0 ||
        (r = rating_value("rating", type, json_object_object_get(v, "value"), &value, ret_score,
                          e)) < 0 ||
        (json_object_object_get_ex(v, "requirement_ratings", &in) && in &&
         (r = requirement_ratings(t, in, reqs, e)) < 0)) {
        json_object_put(reqs);
        return r;
    }
    o = json_object_new_object();
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "value", json_object_new_double(value));
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "requirement_ratings", reqs);
    *ret = strdup(json_text(o, NULL));
    json_object_put(o);
    return *ret ? 0 : err_set(e, HE_NOMEM, NULL, NULL);
}

/* repaired_output (text, or an object with an output schema; null removes the repair) and
 * repair_instructions (text or null). The repair is stored as Kiln's TaskRun keeps one: a
 * TaskOutput with a human source. */
static int parse_repair(struct http_req *req, const struct task *t, struct run_update *u,
                        char **ret_repair, struct err *e)
{
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req);
    char *text = NULL, id[ID_LEN];
    int r = 0;

    if (json_object_object_get_ex(body, "repair_instructions", NULL)) {
        u->set_repair_instructions = true;
        if ((r = json_get_str(body, NULL, "repair_instructions", JF_NULLABLE, 1, GUIDANCE_MAX_CHARS,
                              &u->repair_instructions, e)) < 0)
            return r;
    }
    if (!json_object_object_get_ex(body, "repaired_output", NULL))
        return 0;
    u->set_repaired_output = true;
    if ((r = gen_get_output(body, NULL, "repaired_output", t->output_json_schema, &text, e)) < 0 ||
        !text)
        return r;
    if ((r = store_new_id(app->store, id, e)) == 0 &&
        !(*ret_repair = taskrun_repair(id, clock_wall_us(), app->user, text)))
        r = err_set(e, HE_NOMEM, NULL, NULL);
    u->repaired_output = *ret_repair;
    free(text);
    return r;
}

int h_run_update(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    static const char *const fields[] = {"rating", "tags", "repaired_output", "repair_instructions",
                                         NULL};
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req), *v = NULL, *tags = NULL;
    struct run_update u = {.task_id = http_req_param(req, "task_id"),
                           .run_id = http_req_param(req, "run_id")};
    char *rating = NULL, *repair = NULL;
    const char **tag_list = NULL;
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    if ((r = json_check_keys(body, NULL, fields, e)) < 0)
        goto out;
    if (json_object_object_get_ex(body, "rating", &v)) {
        u.set_rating = true;
        if (v && !json_object_is_type(v, json_type_object)) {
            r = err_set(e, HE_INVALID, "rating", "rating must be an object or null, not %s",
                        json_type_label(v));
            goto out;
        }
        if (v && (r = parse_rating(&t, v, &rating, &u.rating_score, e)) < 0)
            goto out;
        u.rating = rating;
    }
    if ((r = parse_repair(req, &t, &u, &repair, e)) < 0)
        goto out;
    if (json_object_object_get_ex(body, "tags", NULL)) {
        if ((r = gen_parse_string_list(body, NULL, "tags", TAG_MAX_COUNT, TAG_MAX_CHARS, &tags,
                                       e)) < 0)
            goto out;
        u.set_tags = true;
        u.ntags = json_object_array_length(tags);
        u.tag_list = tag_list = calloc(u.ntags + 1, sizeof(*tag_list));
        if (!tag_list) {
            r = err_set(e, HE_NOMEM, NULL, NULL);
            goto out;
        }
        for (size_t i = 0; i < u.ntags; i++)
            tag_list[i] = json_object_get_string(json_object_array_get_idx(tags, i));
    }
    if ((r = store_run_update(app->store, &u, e)) < 0)
        goto out;
    r = h_run_get(req, ret_body, e);
out:
    task_done(&t);
    free(rating);
    free(repair);
    free(tag_list);
    json_object_put(tags);
    return r;
}

int h_run_delete(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *run_id = http_req_param(req, "run_id");
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = store_run_delete(app->store, http_req_param(req, "task_id"), run_id, e)) < 0)
        return r;
    *ret_body = render_message("sample %s deleted", run_id);
    return 0;
}
