/* SPDX-License-Identifier: MIT */
/*
 * Dataset splits (the gateway's finetune routes): create, list, get.
 *
 * POST .../dataset_splits takes {"dataset_split_type", "filter_id", "name"?, "description"?,
 * "seed"?} and answers the stored DatasetSplit in Kiln's key order: v, id, path, created_at,
 * created_by, name, description, splits, split_contents ({part: [run ids]} in the split's
 * order), filter, model_type. GET of the same path answers a bare list of them, oldest first.
 * `path` is null, as for every record here: Hetu keeps no file per record. A split's run ids
 * are those it was made with, deleted runs included (as Kiln keeps them).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "export/split.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/banned.h"

#define NAME_MAX_CHARS        120
#define DESCRIPTION_MAX_CHARS 10000
#define RENDER_MAX            (512u * 1024 * 1024)

struct render {
    struct app *app;
    struct jsonw w;
};

static int add_run_id(void *ud, const char *run_id, struct err *e)
{
    struct jsonw *w = ud;
    (void)e;
    jsonw_str(w, run_id);
    return w->err;
}

/* split_contents: each part of d->splits in order, with its stored run ids. */
static int write_contents(struct render *x, const struct dataset_split *d, struct err *e)
{
    struct json_object *defs = json_tokener_parse(d->splits);
    size_t n = defs ? json_object_array_length(defs) : 0;
    int r = 0;

    jsonw_key(&x->w, "split_contents");
    jsonw_obj(&x->w);
    for (size_t i = 0; i < n && r == 0; i++) {
        struct json_object *name = NULL;
        json_object_object_get_ex(json_object_array_get_idx(defs, i), "name", &name);
        jsonw_key(&x->w, json_object_get_string(name));
        jsonw_arr(&x->w);
        r = store_split_runs(x->app->store, d->id, json_object_get_string(name), add_run_id, &x->w,
                             e);
        jsonw_end_arr(&x->w);
    }
    jsonw_end_obj(&x->w);
    json_object_put(defs);
    return r;
}

static int write_split(void *ud, const struct dataset_split *d, struct err *e)
{
    struct render *x = ud;
    char ts[CLOCK_ISO_LEN];
    int r;

    clock_iso8601(d->created_at, ts);
    jsonw_obj(&x->w);
    jsonw_kint(&x->w, "v", 1);
    jsonw_kstr(&x->w, "id", d->id);
    jsonw_kraw(&x->w, "path", "null");
    jsonw_kstr(&x->w, "created_at", ts);
    jsonw_kstr(&x->w, "created_by", d->created_by);
    jsonw_kstr(&x->w, "name", d->name);
    jsonw_kstr(&x->w, "description", d->description);
    jsonw_kraw(&x->w, "splits", d->splits);
    if ((r = write_contents(x, d, e)) < 0)
        return r;
    jsonw_kstr(&x->w, "filter", d->filter_id);
    jsonw_kstr(&x->w, "model_type", "dataset_split");
    jsonw_end_obj(&x->w);
    if (x->w.err)
        return err_set(e, x->w.err, NULL, "the dataset split is too large to answer");
    return 0;
}

/* Renders one split (d) or, with d NULL, the task's splits as a list. */
static int render(struct http_req *req, const struct dataset_split *d,
                  struct json_object **ret_body, struct err *e)
{
    struct render x = {.app = http_req_app(req)};
    struct buf b;
    int r;

    buf_init(&b, RENDER_MAX);
    jsonw_init(&x.w, &b);
    if (d) {
        r = write_split(&x, d, e);
    } else {
        jsonw_arr(&x.w);
        r = store_split_list(x.app->store, http_req_param(req, "task_id"), write_split, &x, e);
        jsonw_end_arr(&x.w);
    }
    if (r == 0 && x.w.err)
        r = err_set(e, x.w.err, NULL, "the dataset splits are too large to answer");
    if (r < 0) {
        buf_done(&b);
        return r;
    }
    *ret_body = json_raw_take(buf_take(&b));
    return 0;
}

struct create_req {
    const struct split_type *type;
    struct split_filter filter;
    const char *filter_id, *name, *description;
    uint64_t seed;
};

static int parse_create(struct json_object *body, struct create_req *c, struct err *e)
{
    static const char *const fields[] = {"dataset_split_type", "filter_id", "name",
                                         "description",        "seed",      NULL};
    const char *type = NULL;
    int64_t seed;
    int r;

    if ((r = json_check_keys(body, NULL, fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "dataset_split_type", JF_REQUIRED, 1, 64, &type, e)) < 0 ||
        (r = json_get_str(body, NULL, "filter_id", JF_REQUIRED, 1, 1024, &c->filter_id, e)) < 0 ||
        (r = json_get_str(body, NULL, "name", JF_NULLABLE, 0, NAME_MAX_CHARS, &c->name, e)) < 0 ||
        (r = json_get_str(body, NULL, "description", JF_NULLABLE, 0, DESCRIPTION_MAX_CHARS,
                          &c->description, e)) < 0)
        return r;
    if (!(c->type = split_type_find(type)))
        return err_set(e, HE_INVALID, "dataset_split_type",
                       "dataset_split_type must be one of %s, not '%s'", split_type_names, type);
    if ((r = split_filter_parse(c->filter_id, &c->filter, e)) < 0)
        return r;
    seed = (int64_t)split_random_seed(); /* kept when the body has no seed */
    if ((r = json_get_int(body, NULL, "seed", JF_NULLABLE, INT64_MIN, INT64_MAX, &seed, e)) < 0)
        return r;
    c->seed = (uint64_t)seed;
    return 0;
}

int h_split_create(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct create_req c = {0};
    struct dataset_split d = {0};
    struct split_result res = {0};
    char name[64];
    struct task t = {0};
    int r;

    if ((r = parse_create(http_req_body(req), &c, e)) < 0 || (r = load_task(req, &t, e)) < 0)
        return r;
    if (!c.name || !*c.name) { /* Kiln's default: a memorable two-word name */
        split_default_name(split_random_seed(), name, sizeof(name));
        c.name = name;
    }
    if ((r = store_new_id(app->store, d.id, e)) < 0)
        goto out;
    memcpy(d.task_id, t.id, ID_LEN);
    d.created_at = clock_wall_us();
    d.created_by = app->user;
    d.name = c.name;
    d.description = c.description;
    d.split_type = c.type->name;
    d.filter_id = c.filter_id;
    if (!(d.splits = split_defs_json(c.type))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = split_build(app->store, t.id, c.type, &c.filter, c.seed, &res, e)) < 0 ||
        (r = store_split_insert(app->store, &d, res.parts, res.nparts, e)) < 0)
        goto out;
    split_result_done(&res); /* what was stored is what is answered */
    r = render(req, &d, ret_body, e);
out:
    free((char *)d.splits);
    split_result_done(&res);
    task_done(&t);
    return r;
}

int h_split_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    return render(req, NULL, ret_body, e);
}

int h_split_get(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct dataset_split d = {0};
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0)
        return r;
    task_done(&t);
    if ((r = store_split_get(app->store, http_req_param(req, "task_id"),
                             http_req_param(req, "dataset_id"), &d, e)) < 0)
        return r;
    r = render(req, &d, ret_body, e);
    dataset_split_done(&d);
    return r;
}
