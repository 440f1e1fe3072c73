/* SPDX-License-Identifier: MIT */
/*
 * GET /api/projects/{p}/tasks/{t}/stats: what a task's samples hold, from one read of the store
 * (store_stats). Keys, in this order:
 *   total                 the number of samples
 *   topics                the topic tree, each node counting the samples under it (as GET
 *                         .../topics answers it, without topics no sample has), or null when it
 *                         has more than TREE_MAX_NODES nodes
 *   sessions, sources, input_models, input_providers, output_models, output_providers,
 *   prompt_methods, tags  lists of {"key", "count"}, the largest counts first (then by key), at
 *                         most LIST_MAX; key null counts the samples without one (tags: each
 *                         sample counts once under each of its tags). output_models entries
 *                         also carry input_tokens, output_tokens, total_tokens and cost (sums
 *                         over the samples that know them; cost null when none does)
 *   ratings               {"five_star": {"1".."5": n}, "pass_fail": {"pass", "fail",
 *                         "critical"}, "other": n, "unrated": n}
 *   usage                 the same sums over every sample, and "samples": how many know their
 *                         tokens
 *   input_chars, output_chars  {"p50", "p90", "p99", "max", "mean"} in code points (nearest-rank
 *                         percentiles; mean to two decimals), or null with no samples
 *   exact_duplicates      samples whose normalised input an earlier sample has
 *   exact_duplicate_share that over the samples whose input has a hash (null when none has)
 *   near_duplicate_share  from the task's newest completed near-duplicate job: the samples its
 *                         clusters hold beyond one kept per cluster (what a resolve removes),
 *                         over total; null when no such job has run
 *   keys_left_out         samples (tag rows for tags) not listed in a dimension because it had
 *                         STATS_MAX_KEYS keys already (they count in total)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "http/topic_tree.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/grow.h"
#include "util/banned.h"

#define LIST_MAX 1000

static const char *const dim_names[STATS_DIMS] = {
    [STATS_TOPIC] = "topics",
    [STATS_SESSION] = "sessions",
    [STATS_SOURCE] = "sources",
    [STATS_INPUT_MODEL] = "input_models",
    [STATS_INPUT_PROVIDER] = "input_providers",
    [STATS_OUTPUT_MODEL] = "output_models",
    [STATS_OUTPUT_PROVIDER] = "output_providers",
    [STATS_PROMPT_METHOD] = "prompt_methods",
    [STATS_TAG] = "tags",
};

/* A key of a dimension as the store reported it (key in the context's arena, NULL: none). */
struct key_count {
    const char *key;
    struct stats_count c;
};

struct key_list {
    struct key_count *items;
    size_t n, cap;
};

struct stats_ctx {
    struct topic_tree *tree;
    struct key_list lists[STATS_DIMS];
    struct arena keys;
};

struct near_count {
    char job_id[ID_LEN]; /* the newest completed near-duplicate job, or "" */
    int64_t members, clusters, last_cluster;
};

static int newest_near_job(void *ud, const struct job *j, struct err *e)
{
    struct near_count *n = ud;
    (void)e;
    if (!n->job_id[0] && j->status == JOB_COMPLETED && strcmp(j->kind, "near_duplicates") == 0)
        memcpy(n->job_id, j->id, ID_LEN);
    return 0;
}

static int count_member(void *ud, const struct dedup_listed *m, struct err *e)
{
    struct near_count *n = ud;
    (void)e;
    n->members++;
    if (m->cluster != n->last_cluster)
        n->clusters++;
    n->last_cluster = m->cluster;
    return 0;
}

/* The near-duplicate share of the task's samples, or NULL (JSON null) when no near-duplicate
 * job of the task has completed. */
static struct json_object *near_duplicate_share(struct app *app, const char *task_id, int64_t total,
                                                struct err *e)
{
    struct near_count n = {.last_cluster = -1};
    int64_t before;

    if (store_job_list(app->store, task_id, newest_near_job, &n, e) < 0 || !n.job_id[0] ||
        total == 0)
        return NULL;
    do { /* clusters by number, a page at a time */
        before = n.clusters;
        if (store_dedup_clusters_list(app->store, n.job_id, n.last_cluster, 4096, count_member, &n,
                                      e) < 0)
            return NULL;
    } while (n.clusters > before);
    return json_object_new_double((double)(n.members - n.clusters) / (double)total);
}

static struct json_object *usage_fields(struct json_object *o, const struct stats_count *c)
{
    json_object_object_add(o, "input_tokens", json_object_new_int64(c->input_tokens));
    json_object_object_add(o, "output_tokens", json_object_new_int64(c->output_tokens));
    json_object_object_add(o, "total_tokens", json_object_new_int64(c->total_tokens));
    json_object_object_add(o, "cost", c->with_cost ? json_object_new_double(c->cost) : NULL);
    return o;
}

static int add_row(void *ud, enum stats_dim dim, const char *key, const struct stats_count *c,
                   struct err *e)
{
    struct stats_ctx *x = ud;
    struct key_list *l = &x->lists[dim];
    struct key_count *items;

    if (dim == STATS_TOPIC)
        return topic_tree_add_count(x->tree, key ? key : "", c->count, e);
    if (!(items = grow_array(l->items, &l->cap, l->n, sizeof(*items), 64)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    l->items = items;
    l->items[l->n] = (struct key_count){key ? arena_strdup(&x->keys, key) : NULL, *c};
    if (key && !l->items[l->n].key)
        return err_set(e, HE_NOMEM, NULL, NULL);
    l->n++;
    return 0;
}

/* The largest count first, then by key, null last. */
static int by_count(const void *a, const void *b)
{
    const struct key_count *x = a, *y = b;

    if (x->c.count != y->c.count)
        return x->c.count > y->c.count ? -1 : 1;
    if (!x->key || !y->key)
        return !x->key - !y->key;
    return strcmp(x->key, y->key);
}

/* The LIST_MAX largest keys as [{"key", "count"}...], with usage for output models. */
static struct json_object *render_list(struct key_list *l, bool usage)
{
    struct json_object *a = json_object_new_array();

    if (l->n)
        qsort(l->items, l->n, sizeof(*l->items), by_count);
    for (size_t i = 0; i < l->n && i < LIST_MAX; i++) {
        struct json_object *o = json_object_new_object();
        json_object_object_add(o, "key",
                               l->items[i].key ? json_object_new_string(l->items[i].key) : NULL);
        json_object_object_add(o, "count", json_object_new_int64(l->items[i].c.count));
        if (usage)
            usage_fields(o, &l->items[i].c);
        json_object_array_add(a, o);
    }
    return a;
}

static struct json_object *ratings(const struct store_stats *st)
{
    struct json_object *o = json_object_new_object(), *five = json_object_new_object();
    struct json_object *pf = json_object_new_object();
    char name[2] = "1";

    for (int i = 0; i < 5; i++) {
        name[0] = (char)('1' + i);
        json_object_object_add(five, name, json_object_new_int64(st->five_star[i]));
    }
    json_object_object_add(pf, "pass", json_object_new_int64(st->pass));
    json_object_object_add(pf, "fail", json_object_new_int64(st->fail));
    json_object_object_add(pf, "critical", json_object_new_int64(st->critical));
    json_object_object_add(o, "five_star", five);
    json_object_object_add(o, "pass_fail", pf);
    json_object_object_add(o, "other", json_object_new_int64(st->other_rating));
    json_object_object_add(o, "unrated", json_object_new_int64(st->unrated));
    return o;
}

static struct json_object *lengths(const struct stats_lengths *l)
{
    struct json_object *o;

    if (l->n == 0)
        return NULL;
    o = json_object_new_object();
    json_object_object_add(o, "p50", json_object_new_int64(l->p50));
    json_object_object_add(o, "p90", json_object_new_int64(l->p90));
    json_object_object_add(o, "p99", json_object_new_int64(l->p99));
    json_object_object_add(o, "max", json_object_new_int64(l->max));
    json_object_object_add(o, "mean", json_object_new_double(round(l->mean * 100) / 100));
    return o;
}

static struct json_object *render(struct stats_ctx *x, const struct store_stats *st,
                                  struct json_object *near)
{
    struct json_object *o = json_object_new_object(), *usage;

    json_object_object_add(o, "total", json_object_new_int64(st->total));
    json_object_object_add(o, "topics",
                           topic_tree_too_big(x->tree) ? NULL : topic_tree_render(x->tree));
    for (int d = STATS_SESSION; d <= STATS_PROMPT_METHOD; d++)
        json_object_object_add(o, dim_names[d], render_list(&x->lists[d], d == STATS_OUTPUT_MODEL));
    json_object_object_add(o, "ratings", ratings(st));
    json_object_object_add(o, "tags", render_list(&x->lists[STATS_TAG], false));
    usage = usage_fields(json_object_new_object(), &st->usage);
    json_object_object_add(usage, "samples", json_object_new_int64(st->usage.with_usage));
    json_object_object_add(o, "usage", usage);
    json_object_object_add(o, "input_chars", lengths(&st->input_chars));
    json_object_object_add(o, "output_chars", lengths(&st->output_chars));
    json_object_object_add(o, "exact_duplicates", json_object_new_int64(st->repeats));
    json_object_object_add(
        o, "exact_duplicate_share",
        st->hashed ? json_object_new_double((double)st->repeats / (double)st->hashed) : NULL);
    json_object_object_add(o, "near_duplicate_share", near);
    json_object_object_add(o, "keys_left_out", json_object_new_int64(st->keys_dropped));
    return o;
}

int h_stats(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct stats_ctx x = {.tree = topic_tree_new()};
    struct store_stats st;
    struct task task = {0};
    int r = 0;

    if (!x.tree)
        r = err_set(e, HE_NOMEM, NULL, NULL);
    if (r == 0 && (r = load_task(req, &task, e)) == 0 &&
        (r = store_stats(app->store, task.id, &st, add_row, &x, e)) == 0) {
        struct json_object *near = near_duplicate_share(app, task.id, st.total, e);
        if (e->code) /* the near-duplicate share could not be read */
            r = e->code;
        else
            *ret_body = render(&x, &st, near);
    }
    for (int d = 0; d < STATS_DIMS; d++)
        free(x.lists[d].items);
    arena_done(&x.keys);
    topic_tree_free(x.tree);
    task_done(&task);
    return r;
}
