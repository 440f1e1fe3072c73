/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: the topic tree, with the SQLite backend's semantics and errors
 * (sqlite_runs.c). A node is (parent key, name), unique by its normalised name under a parent;
 * adding one that exists changes nothing. Nodes take their ids from the shared id counter, so
 * listing by id is the order they were added in, whichever server added them. A node's subtree
 * is every node whose parent key starts with the node's key and every sample whose topic key
 * does, compared bytewise (the "C" collation).
 *
 * topic_add_async has no writer thread to queue on yet: it writes on the calling thread, calls
 * cb with the outcome before returning, and returns 0 (the write was taken, as a queued one is).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_int.h"
#include "util/cleanup.h"
#include "util/text.h"
#include "util/banned.h"

static const char SQL_TOPIC_INSERT[] =
    "INSERT INTO topics (id, task_id, parent_key, name, name_norm, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (task_id, parent_key, name_norm) DO NOTHING";
static const char SQL_TOPIC_LIST[] =
    "SELECT parent_key, name FROM topics WHERE task_id = $1 ORDER BY id";
static const char SQL_TOPIC_COUNTS[] =
    "SELECT topic_key, count(*) FROM samples WHERE task_id = $1 GROUP BY topic_key"
    " ORDER BY topic_key COLLATE \"C\"";
/* The subtree of a node: $2 its parent's key, $3 its name, $4 its key. */
static const char SQL_SUBTREE_SAMPLES[] =
    "SELECT count(*) FROM samples WHERE task_id = $1 AND topic_key COLLATE \"C\" >= $2"
    " AND starts_with(topic_key, $2)";
static const char SQL_SUBTREE_SAMPLES_DELETE[] =
    "DELETE FROM samples WHERE task_id = $1 AND topic_key COLLATE \"C\" >= $2"
    " AND starts_with(topic_key, $2)";
static const char SQL_SUBTREE_DELETE[] =
    "DELETE FROM topics WHERE task_id = $1 AND ((parent_key = $2 AND name = $3) OR"
    " (parent_key COLLATE \"C\" >= $4 AND starts_with(parent_key, $4)))";

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct topic_batch {
    const char *task_id, *parent_key;
    const char *const *names;
    size_t n;
    uint64_t first_id;
    int64_t now;
};

static int topic_insert_one(struct pg_conn *c, const struct topic_batch *b, size_t i, struct err *e)
{
    _cleanup_free_ char *norm = text_norm_key(b->names[i]);
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    if (!norm)
        return err_set(e, HE_NOMEM, NULL, NULL);
    pg_param_int(&p, (int64_t)(b->first_id + i));
    pg_param_id(&p, b->task_id);
    pg_param_text(&p, b->parent_key);
    pg_param_text(&p, b->names[i]);
    pg_param_text(&p, norm);
    pg_param_int(&p, b->now);
    if ((r = pg_run(c, SQL_TOPIC_INSERT, &p, &res, "saving topics", e)) == HE_NOT_FOUND) {
        err_clear(e);
        return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", b->task_id);
    }
    return r;
}

static int topic_add_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct topic_batch *b = arg;
    int r = 0;

    for (size_t i = 0; i < b->n && r == 0; i++)
        r = topic_insert_one(c, b, i, e);
    return r;
}

int pg_topic_insert_rows(struct pg_conn *c, const char *task_id, const char *parent_key,
                         const char *const *names, size_t n, uint64_t first_id, int64_t now,
                         struct err *e)
{
    struct topic_batch b = {task_id, parent_key, names, n, first_id, now};
    return topic_add_fn(c, &b, e);
}

int pg_topic_add(struct store *s, const char *task_id, const char *parent_key,
                 const char *const *names, size_t n, struct err *e)
{
    struct topic_batch b = {task_id, parent_key, names, n, 0, now_us()};
    int r;

    if (n == 0)
        return 0;
    if ((r = s->ops->reserve_ids(s, n, &b.first_id, e)) < 0)
        return r;
    return pg_transact(s, topic_add_fn, &b, "saving topics", e);
}

int pg_topic_add_async(struct store *s, const char *task_id, const char *parent_key,
                       const char *const *names, size_t n, store_done_cb cb, void *ud,
                       struct err *e)
{
    struct err done;
    int r;

    if (!cb)
        return pg_topic_add(s, task_id, parent_key, names, n, e);
    err_clear(&done);
    r = pg_topic_add(s, task_id, parent_key, names, n, &done);
    cb(ud, r, r < 0 ? &done : NULL);
    return 0;
}

/* The rows of sql for task_id. */
static int task_rows(struct store *s, const char *sql, const char *task_id, PGresult **ret,
                     const char *what, struct err *e)
{
    struct pg_params p = {0};

    pg_param_id(&p, task_id);
    return pg_query((struct pg_store *)s, sql, &p, ret, what, e);
}

int pg_topic_list(struct store *s, const char *task_id, store_topic_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = task_rows(s, SQL_TOPIC_LIST, task_id, &res, "reading topics", e);

    for (int i = 0, n = r < 0 ? 0 : PQntuples(res); i < n && r == 0; i++)
        r = cb(ud, pg_col_text(res, i, 0, NULL), pg_col_text(res, i, 1, NULL), e);
    return r < 0 ? r : 0;
}

int pg_topic_counts(struct store *s, const char *task_id, store_topic_count_cb cb, void *ud,
                    struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = task_rows(s, SQL_TOPIC_COUNTS, task_id, &res, "counting samples by topic", e);

    for (int i = 0, n = r < 0 ? 0 : PQntuples(res); i < n && r == 0; i++)
        r = cb(ud, pg_col_text(res, i, 0, NULL), pg_col_int(res, i, 1), e);
    return r < 0 ? r : 0;
}

/* Runs sql for the subtree: a count's value in *ret, else the rows it changed. */
static int subtree_step(struct pg_conn *c, const char *sql, const char *const *bind, int nbind,
                        int64_t *ret, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, bind[0]);
    for (int i = 1; i < nbind; i++)
        pg_param_text(&p, bind[i]);
    if ((r = pg_run(c, sql, &p, &res, "deleting topics", e)) < 0)
        return r;
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        *ret = pg_col_int(res, 0, 0);
    else
        *ret = strtoll(PQcmdTuples(res), NULL, 10);
    return 0;
}

static int topic_delete_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct topic_delete *d = arg;
    size_t n = strlen(d->topic_key), name_at = n - 1;
    _cleanup_free_ char *parent = NULL, *name = NULL;
    int r;

    while (name_at > 0 && d->topic_key[name_at - 1] != STORE_TOPIC_SEP[0])
        name_at--;
    parent = strndup(d->topic_key, name_at);
    name = strndup(d->topic_key + name_at, n - 1 - name_at);
    if (!parent || !name)
        return err_set(e, HE_NOMEM, NULL, NULL);
    {
        const char *const key[2] = {d->task_id, d->topic_key};
        const char *const node[4] = {d->task_id, parent, name, d->topic_key};
        if ((r = subtree_step(c, SQL_SUBTREE_SAMPLES, key, 2, &d->samples_under, e)) < 0)
            return r;
        if (d->samples_under > 0 && !d->with_samples)
            return err_set(e, HE_CONFLICT, "node_path", "%lld samples are under the topic",
                           (long long)d->samples_under);
        if ((d->samples_under > 0 && (r = subtree_step(c, SQL_SUBTREE_SAMPLES_DELETE, key, 2,
                                                       &d->deleted_samples, e)) < 0) ||
            (r = subtree_step(c, SQL_SUBTREE_DELETE, node, 4, &d->deleted_topics, e)) < 0)
            return r;
    }
    if (d->deleted_topics == 0 && d->deleted_samples == 0)
        return err_set(e, HE_NOT_FOUND, "node_path", "no topic at node_path");
    return 0;
}

int pg_topic_delete(struct store *s, struct topic_delete *d, struct err *e)
{
    if (!d->topic_key || !d->topic_key[0] ||
        d->topic_key[strlen(d->topic_key) - 1] != STORE_TOPIC_SEP[0])
        return err_set(e, HE_INTERNAL, NULL, "a topic key to delete must name a node");
    d->deleted_topics = d->deleted_samples = d->samples_under = 0;
    return pg_transact(s, topic_delete_fn, d, "deleting topics", e);
}
