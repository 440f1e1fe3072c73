/* SPDX-License-Identifier: MIT */
/*
 * Saved samples: list with filters and cursor pagination, read, rate or tag, delete.
 *
 * GET .../runs?topic_path=a/b&session_id=S&tag=T&rating=4&source=synthetic&limit=100&cursor=ID
 * answers {"runs": [...], "next_cursor": ID or null}; pass next_cursor back to get the next page.
 * dataset_id=SPLIT keeps the runs of a dataset split still stored, and split_name=PART those of
 * one of its parts, in the part's order.
 * PATCH takes {"rating": {"type": "five_star", "value": 1..5} | {"type": "pass_fail", "value":
 * true|false|1|0} | null, "tags": [...]}.
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

/* The rating object as stored, and its score (1..5; pass 5, fail 1). */
static int parse_rating(struct json_object *v, char **ret, double *ret_score, struct err *e)
{
    static const char *const fields[] = {"type", "value", "requirement_ratings", "v", NULL};
    struct json_object *value, *o;
    const char *type = NULL;
    double score;
    int r;

    if ((r = json_check_keys(v, "rating", fields, e)) < 0 ||
        (r = json_get_str(v, "rating", "type", JF_REQUIRED, 1, 32, &type, e)) < 0)
        return r;
    if (!json_object_object_get_ex(v, "value", &value) || !value)
        return err_set(e, HE_INVALID, "rating.value", "rating.value is required");
    if (strcmp(type, "five_star") == 0) {
        if (!json_object_is_type(value, json_type_int) &&
            !json_object_is_type(value, json_type_double))
            return err_set(e, HE_INVALID, "rating.value",
                           "rating.value must be a number from 1 to 5");
        score = json_object_get_double(value);
        if (!isfinite(score) || score < 1 || score > 5 || score != (double)(int)score)
            return err_set(e, HE_INVALID, "rating.value",
                           "rating.value must be a whole number from 1 to 5");
    } else if (strcmp(type, "pass_fail") == 0 || strcmp(type, "pass_fail_critical") == 0) {
        double x;
        if (json_object_is_type(value, json_type_boolean))
            x = json_object_get_boolean(value) ? 1.0 : 0.0;
        else if (json_object_is_type(value, json_type_int) ||
                 json_object_is_type(value, json_type_double))
            x = json_object_get_double(value);
        else
            x = -1;
        if (x != 0.0 && x != 1.0 && !(x == -1.0 && strcmp(type, "pass_fail_critical") == 0))
            return err_set(e, HE_INVALID, "rating.value",
                           "rating.value must be true/false (or 1/0%s) for a %s rating",
                           strcmp(type, "pass_fail_critical") == 0 ? ", or -1 for critical" : "",
                           type);
        score = x == 1.0 ? 5.0 : x == 0.0 ? 1.0 : 0.0;
    } else {
        return err_set(e, HE_INVALID, "rating.type",
                       "rating.type must be five_star, pass_fail or pass_fail_critical");
    }
    o = json_object_new_object();
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "value",
                           json_object_new_double(strcmp(type, "five_star") == 0 ? score
                                                  : score == 5.0                 ? 1.0
                                                  : score == 1.0                 ? 0.0
                                                                                 : -1.0));
    json_object_object_add(o, "type", json_object_new_string(type));
    json_object_object_add(o, "requirement_ratings", json_object_new_object());
    *ret = strdup(json_text(o, NULL));
    json_object_put(o);
    *ret_score = score;
    return *ret ? 0 : err_set(e, HE_NOMEM, NULL, NULL);
}

int h_run_update(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    static const char *const fields[] = {"rating", "tags", NULL};
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req), *v = NULL, *tags = NULL;
    struct run_update u = {.task_id = http_req_param(req, "task_id"),
                           .run_id = http_req_param(req, "run_id")};
    char *rating = NULL;
    const char **tag_list = NULL;
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = json_check_keys(body, NULL, fields, e)) < 0)
        return r;
    if (json_object_object_get_ex(body, "rating", &v)) {
        u.set_rating = true;
        if (v && !json_object_is_type(v, json_type_object))
            return err_set(e, HE_INVALID, "rating", "rating must be an object or null, not %s",
                           json_type_label(v));
        if (v && (r = parse_rating(v, &rating, &u.rating_score, e)) < 0)
            return r;
        u.rating = rating;
    }
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
    free(rating);
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
