/* SPDX-License-Identifier: MIT */
/*
 * Near duplicates of a task's inputs (dedup/near_job.h).
 *
 * POST .../duplicates {"threshold": 0.8} (optional, a Jaccard similarity in (0, 1]) starts a
 * near_duplicates job and answers its JSON (as GET .../jobs/{id} does); follow it there or on
 * its event stream.
 *
 * GET .../duplicates?job_id=J&limit=N&cursor=C lists the clusters of a completed job, N clusters
 * a page (default 100, at most 1000), after cluster C: {"job_id", "threshold", "clusters":
 * [{"cluster", "samples": [{"id", "input", "similarity"}]}], "next_cursor"}; pass next_cursor
 * back for the next page (null on the last). Clusters are numbered from 1 in the order of their
 * oldest sample, samples by id; similarity is the Jaccard similarity of the sample's shingles
 * to those of the cluster's first sample (1 for itself). Samples deleted since the job ran are left
 * out. A page also ends early, after a whole cluster, once it holds about PAGE_BYTES of inputs.
 *
 * POST .../duplicates/resolve {"job_id", "action": "delete"|"tag"} keeps one sample of each
 * cluster that still has two or more (the best-rated, unrated last; then the oldest; then the
 * smallest id) and deletes the others, or tags them "duplicate". Answers {"job_id", "action",
 * "clusters", "kept", "deleted"|"tagged"} (tagged: samples that did not carry the tag yet).
 *
 * An unknown job, or one of another task or kind, is a 404 on job_id; a job not completed a 409.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedup/near_job.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "jobs/jobs.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/grow.h"
#include "util/banned.h"

#define PAGE_DEFAULT  100
#define PAGE_MAX      1000
#define PAGE_BYTES    (32u * 1024 * 1024)
#define DUPLICATE_TAG "duplicate"

int h_dedup_start(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    static const char *const fields[] = {"threshold", NULL};
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req), *v;
    double threshold = NEAR_DEFAULT_THRESHOLD;
    struct job job = {0}, now = {0};
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0 || (r = json_check_keys(body, NULL, fields, e)) < 0)
        goto out;
    if (json_object_object_get_ex(body, "threshold", &v) && v) {
        threshold =
            json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)
                ? json_object_get_double(v)
                : NAN;
        if (!(threshold > 0 && threshold <= 1)) {
            r = err_set(e, HE_INVALID, "threshold",
                        "threshold must be a number greater than 0 and at most 1");
            goto out;
        }
    }
    if ((r = store_new_id(app->store, job.id, e)) < 0)
        goto out;
    memcpy(job.task_id, t.id, ID_LEN);
    job.kind = NEAR_JOB_KIND;
    job.created_at = clock_wall_us();
    if (!(job.params = near_job_params(t.project_id, threshold))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = store_job_create(app->store, &job, NULL, 0, e)) < 0 ||
        (r = store_job_get(app->store, job.id, &now, e)) < 0 ||
        (r = jobs_render(app->store, &now, ret_body, e)) < 0)
        goto out;
    near_worker_notify(app->near);
out:
    job_done(&now);
    free(job.params);
    task_done(&t);
    return r;
}

/* The completed near-duplicate job job_id of the path's task. */
static int load_dedup_job(struct http_req *req, const char *job_id, struct job *ret, struct err *e)
{
    struct app *app = http_req_app(req);
    struct task t = {0};
    struct err ge;
    int r;

    if (!job_id || !*job_id)
        return err_set(e, HE_INVALID, "job_id", "job_id is required");
    if ((r = load_task(req, &t, e)) < 0)
        return r;
    err_clear(&ge);
    r = store_job_get(app->store, job_id, ret, &ge);
    if (r == 0 && (strcmp(ret->task_id, t.id) != 0 || strcmp(ret->kind, NEAR_JOB_KIND) != 0)) {
        job_done(ret);
        r = HE_NOT_FOUND;
    }
    if (r == HE_NOT_FOUND)
        r = err_set(e, HE_NOT_FOUND, "job_id",
                    "job_id %s: task %s has no near-duplicate job of this id", job_id, t.id);
    else if (r < 0)
        r = err_set(e, r, ge.field, "%s", ge.msg);
    task_done(&t);
    if (r == 0 && ret->status != JOB_COMPLETED) {
        r = err_set(e, HE_CONFLICT, "job_id",
                    "job_id %s names a job that is %s: its clusters are known once it completed",
                    job_id, job_status_name(ret->status));
        job_done(ret);
    }
    return r;
}

/* ---- listing ---- */

struct page {
    struct json_object *clusters, *samples; /* samples: of the last cluster */
    int64_t cluster, last_whole;            /* the cluster being read, the last one complete */
    size_t bytes;
    bool more; /* a cluster past the page, or past the byte budget, exists */
};

static int add_member(void *ud, const struct dedup_listed *m, struct err *e)
{
    struct page *p = ud;
    struct json_object *o;
    (void)e;

    if (p->more)
        return 0;
    if (m->cluster != p->cluster) {
        if (p->cluster && p->bytes >= PAGE_BYTES) {
            p->last_whole = p->cluster;
            p->more = true;
            return 0;
        }
        p->last_whole = p->cluster;
        p->cluster = m->cluster;
        o = json_object_new_object();
        p->samples = json_object_new_array();
        json_object_object_add(o, "cluster", json_object_new_int64(m->cluster));
        json_object_object_add(o, "samples", p->samples);
        json_object_array_add(p->clusters, o);
    }
    o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_string(m->sample_id));
    json_object_object_add(o, "input", json_object_new_string(m->input ? m->input : ""));
    json_object_object_add(o, "similarity", json_object_new_double(m->similarity));
    json_object_array_add(p->samples, o);
    p->bytes += (m->input ? strlen(m->input) : 0) + 64;
    return 0;
}

int h_dedup_list(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    const char *cursor = http_req_query(req, "cursor"), *limit_s = http_req_query(req, "limit");
    int64_t after = 0, limit = PAGE_DEFAULT;
    struct page p = {0};
    struct job j;
    double threshold = 0;
    char *end;
    int r;

    if (limit_s && *limit_s) {
        limit = strtoll(limit_s, &end, 10);
        if (*end || limit < 1 || limit > PAGE_MAX)
            return err_set(e, HE_INVALID, "limit", "limit must be a whole number from 1 to %d",
                           PAGE_MAX);
    }
    if (cursor && *cursor) {
        after = strtoll(cursor, &end, 10);
        if (*end || after < 0)
            return err_set(e, HE_INVALID, "cursor", "cursor must be a next_cursor value");
    }
    if ((r = load_dedup_job(req, http_req_query(req, "job_id"), &j, e)) < 0)
        return r;
    near_job_threshold(&j, &threshold, &(struct err){0}); /* a completed job has one */
    p.clusters = json_object_new_array();
    /* one cluster more than the page tells whether there is a next one */
    r = store_dedup_clusters_list(app->store, j.id, after, (size_t)limit + 1, add_member, &p, e);
    if (r < 0) {
        json_object_put(p.clusters);
        job_done(&j);
        return r;
    }
    if (!p.more && p.cluster > after + limit) { /* the extra cluster */
        json_object_array_del_idx(p.clusters, json_object_array_length(p.clusters) - 1, 1);
        p.more = true;
    } else if (!p.more) {
        p.last_whole = p.cluster;
    }
    *ret_body = json_object_new_object();
    json_object_object_add(*ret_body, "job_id", json_object_new_string(j.id));
    json_object_object_add(*ret_body, "threshold", json_object_new_double(threshold));
    json_object_object_add(*ret_body, "clusters", p.clusters);
    if (p.more) {
        char next[32];
        snprintf(next, sizeof(next), "%lld", (long long)p.last_whole);
        json_object_object_add(*ret_body, "next_cursor", json_object_new_string(next));
    } else {
        json_object_object_add(*ret_body, "next_cursor", NULL);
    }
    job_done(&j);
    return 0;
}

/* ---- resolving ---- */

struct member {
    int64_t cluster;
    char id[ID_LEN];
    double score; /* NaN: unrated */
    int64_t created_at;
    bool tagged; /* carries DUPLICATE_TAG already */
    char *tags;  /* its tags, JSON */
};

struct members {
    struct member *m;
    size_t n, cap;
};

static bool has_tag(const char *tags_json, const char *tag)
{
    struct json_object *list = NULL;
    struct err e = ERR_INIT;
    bool found = false;

    if (!tags_json || json_parse(tags_json, strlen(tags_json), &list, &e) < 0)
        return false;
    for (size_t i = 0;
         json_object_is_type(list, json_type_array) && i < json_object_array_length(list) && !found;
         i++)
        found = strcmp(json_object_get_string(json_object_array_get_idx(list, i)), tag) == 0;
    json_object_put(list);
    return found;
}

static int collect(void *ud, const struct dedup_listed *l, struct err *e)
{
    struct members *ms = ud;
    struct member *m;

    if (!(m = grow_array(ms->m, &ms->cap, ms->n, sizeof(*m), 64)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    ms->m = m;
    ms->m[ms->n] = (struct member){.cluster = l->cluster,
                                   .score = l->rating_score,
                                   .created_at = l->created_at,
                                   .tagged = has_tag(l->tags, DUPLICATE_TAG),
                                   .tags = strdup(l->tags ? l->tags : "[]")};
    memcpy(ms->m[ms->n].id, l->sample_id, ID_LEN);
    if (!ms->m[ms->n].tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    ms->n++;
    return 0;
}

/* Whether a is the better one to keep: rated higher (rated over unrated), then older, then the
 * smaller id. */
static bool better(const struct member *a, const struct member *b)
{
    if (isnan(a->score) != isnan(b->score))
        return !isnan(a->score);
    if (!isnan(a->score) && a->score != b->score)
        return a->score > b->score;
    if (a->created_at != b->created_at)
        return a->created_at < b->created_at;
    return strcmp(a->id, b->id) < 0;
}

/* Adds DUPLICATE_TAG to the sample's tags. */
static int tag_one(struct store *store, const char *task_id, const struct member *m, struct err *e)
{
    struct json_object *list = NULL;
    const char **tags;
    size_t n;
    int r;

    if ((r = json_parse(m->tags, strlen(m->tags), &list, e)) < 0)
        return r;
    n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    if (!(tags = calloc(n + 1, sizeof(*tags)))) {
        json_object_put(list);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++)
        tags[i] = json_object_get_string(json_object_array_get_idx(list, i));
    tags[n] = DUPLICATE_TAG;
    r = store_run_update(store,
                         &(struct run_update){.task_id = task_id,
                                              .run_id = m->id,
                                              .set_tags = true,
                                              .tag_list = tags,
                                              .ntags = n + 1},
                         e);
    free(tags);
    json_object_put(list);
    return r;
}

struct outcome {
    int64_t clusters, changed;
};

/* One cluster, ms[0..n): keeps the best, deletes or tags the others. */
static int resolve_cluster(struct store *store, const char *task_id, bool del, struct member *ms,
                           size_t n, struct outcome *out, struct err *e)
{
    size_t keep = 0;
    int r;

    if (n < 2)
        return 0;
    for (size_t i = 1; i < n; i++)
        if (better(&ms[i], &ms[keep]))
            keep = i;
    out->clusters++;
    for (size_t i = 0; i < n; i++) {
        if (i == keep || (!del && ms[i].tagged))
            continue;
        r = del ? store_run_delete(store, task_id, ms[i].id, e)
                : tag_one(store, task_id, &ms[i], e);
        if (r == HE_NOT_FOUND) { /* deleted meanwhile */
            err_clear(e);
            continue;
        }
        if (r < 0)
            return r;
        out->changed++;
    }
    return 0;
}

int h_dedup_resolve(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    static const char *const fields[] = {"job_id", "action", NULL};
    struct app *app = http_req_app(req);
    struct json_object *body = http_req_body(req);
    const char *job_id = NULL, *action = NULL, *task_id = http_req_param(req, "task_id");
    struct members ms = {0};
    struct outcome out = {0};
    struct job j = {0};
    bool del;
    int r;

    if ((r = json_check_keys(body, NULL, fields, e)) < 0 ||
        (r = json_get_str(body, NULL, "job_id", JF_REQUIRED, 1, 64, &job_id, e)) < 0 ||
        (r = json_get_str(body, NULL, "action", JF_REQUIRED, 1, 16, &action, e)) < 0)
        return r;
    if (strcmp(action, "delete") != 0 && strcmp(action, "tag") != 0)
        return err_set(e, HE_INVALID, "action", "action must be delete or tag, not '%s'", action);
    del = strcmp(action, "delete") == 0;
    if ((r = load_dedup_job(req, job_id, &j, e)) < 0)
        return r;
    r = store_dedup_clusters_list(app->store, j.id, 0, 0, collect, &ms, e);
    for (size_t i = 0, k; r == 0 && i < ms.n; i = k) {
        for (k = i; k < ms.n && ms.m[k].cluster == ms.m[i].cluster; k++)
            ;
        r = resolve_cluster(app->store, task_id, del, ms.m + i, k - i, &out, e);
    }
    if (r == 0) {
        *ret_body = json_object_new_object();
        json_object_object_add(*ret_body, "job_id", json_object_new_string(j.id));
        json_object_object_add(*ret_body, "action", json_object_new_string(action));
        json_object_object_add(*ret_body, "clusters", json_object_new_int64(out.clusters));
        json_object_object_add(*ret_body, "kept", json_object_new_int64(out.clusters));
        json_object_object_add(*ret_body, del ? "deleted" : "tagged",
                               json_object_new_int64(out.changed));
    }
    for (size_t i = 0; i < ms.n; i++)
        free(ms.m[i].tags);
    free(ms.m);
    job_done(&j);
    return r;
}
