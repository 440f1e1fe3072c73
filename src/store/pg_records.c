/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: projects, their tasks, and API keys, with the SQLite backend's semantics
 * and errors (sqlite_projects.c, sqlite_keys.c): a missing record is HE_NOT_FOUND naming its
 * kind, id and request field; a task of a missing project is HE_NOT_FOUND on project_id; a
 * schema change on a task with samples is HE_CONFLICT.
 *
 * A record returned by a get owns its strings (copied into its arena before the result is
 * cleared); rows passed to list callbacks are views into the result, valid during the callback.
 */
#include <string.h>

#include "store/pg_int.h"
#include "util/banned.h"

#define PROJECT_COLUMNS "id, created_at, created_by, name, description"
#define TASK_COLUMNS                                                                         \
    "id, project_id, created_at, created_by, name, description, instruction, requirements, " \
    "output_json_schema, input_json_schema, thinking_instruction"
#define KEY_COLUMNS "id, name, project_id, admin, salt, hash, created_at, revoked_at"

static const char SQL_PROJECT_INSERT[] =
    "INSERT INTO projects (" PROJECT_COLUMNS ") VALUES ($1, $2, $3, $4, $5)";
static const char SQL_PROJECT_UPDATE[] =
    "UPDATE projects SET name = $2, description = $3 WHERE id = $1";
static const char SQL_PROJECT_GET[] = "SELECT " PROJECT_COLUMNS " FROM projects WHERE id = $1";
static const char SQL_PROJECT_LIST[] = "SELECT " PROJECT_COLUMNS " FROM projects ORDER BY id";
static const char SQL_PROJECT_DELETE[] = "DELETE FROM projects WHERE id = $1";
static const char SQL_TASK_INSERT[] =
    "INSERT INTO tasks (" TASK_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
/* With the schemas changing ($10 true): only while the task has no samples. Which of "not
 * found" and "has samples" it was is told by the returned has_samples. */
static const char SQL_TASK_UPDATE[] =
    "WITH t AS (SELECT id, ($10::boolean AND EXISTS (SELECT 1 FROM samples s"
    "   WHERE s.task_id = tasks.id)) AS has_samples FROM tasks WHERE id = $1 AND project_id = $2"
    "   FOR UPDATE),"
    " u AS (UPDATE tasks SET name = $3, description = $4, instruction = $5, requirements = $6,"
    "   output_json_schema = $7, input_json_schema = $8, thinking_instruction = $9"
    "   FROM t WHERE tasks.id = t.id AND NOT t.has_samples RETURNING tasks.id)"
    " SELECT t.has_samples FROM t";
static const char SQL_TASK_GET[] =
    "SELECT " TASK_COLUMNS " FROM tasks WHERE id = $1 AND project_id = $2";
static const char SQL_TASK_LIST[] =
    "SELECT " TASK_COLUMNS " FROM tasks WHERE project_id = $1 ORDER BY id";
static const char SQL_TASK_DELETE[] = "DELETE FROM tasks WHERE id = $1 AND project_id = $2";
static const char SQL_KEY_INSERT[] =
    "INSERT INTO api_keys (" KEY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)";
static const char SQL_KEY_GET[] = "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = $1";
static const char SQL_KEY_LIST[] = "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id";
static const char SQL_KEY_REVOKE[] =
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1";
static const char SQL_KEY_COUNT[] = "SELECT count(*) FROM api_keys";

static struct pg_key project_key(const char *id)
{
    return (struct pg_key){.kind = "project", .id = id, .field = "project_id"};
}

static struct pg_key task_key(const char *project_id, const char *task_id)
{
    return (struct pg_key){.kind = "task",
                           .id = task_id,
                           .parent_kind = "project",
                           .parent_id = project_id,
                           .field = "task_id"};
}

static struct pg_key key_key(const char *id)
{
    return (struct pg_key){.kind = "API key", .id = id};
}

static void key_params(struct pg_params *p, const struct pg_key *k)
{
    pg_param_id(p, k->id);
    if (k->parent_id)
        pg_param_id(p, k->parent_id);
}

typedef void (*fill_fn)(const PGresult *r, int row, void *rec, struct arena *mem);
typedef int (*row_cb)(void *ud, const PGresult *r, int row, struct err *e);

/* The record of k into rec, its strings owned by *ret_mem. */
static int get(struct store *s, const char *sql, const struct pg_key *k, fill_fn fill, void *rec,
               struct arena *ret_mem, struct err *e)
{
    struct pg_params p = {0};
    _cleanup_result_ PGresult *res = NULL;
    struct arena mem = {0};
    char what[64];
    int r;

    key_params(&p, k);
    snprintf(what, sizeof(what), "reading the %s", k->kind);
    if ((r = pg_query((struct pg_store *)s, sql, &p, &res, what, e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return pg_not_found(e, k);
    if (pg_row_reserve(res, 0, &mem) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    fill(res, 0, rec, &mem); /* reserved: the copies cannot fail */
    *ret_mem = mem;
    return 0;
}

static int list(struct store *s, const char *sql, const char *parent_id, row_cb cb, void *ud,
                const char *what, struct err *e)
{
    struct pg_params p = {0};
    _cleanup_result_ PGresult *res = NULL;
    int r;

    if (parent_id)
        pg_param_id(&p, parent_id);
    if ((r = pg_query((struct pg_store *)s, sql, &p, &res, what, e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++)
        if ((r = cb(ud, res, i, e)) < 0)
            return r;
    return 0;
}

/* An UPDATE or DELETE of k with p: not found when it changed no row. */
static int change(struct store *s, const char *sql, const struct pg_params *p,
                  const struct pg_key *k, const char *what, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_query((struct pg_store *)s, sql, p, &res, what, e);

    return r < 0 ? r : pg_changed(res, k, e);
}

static int remove_key(struct store *s, const char *sql, const struct pg_key *k, struct err *e)
{
    struct pg_params p = {0};
    char what[64];

    key_params(&p, k);
    snprintf(what, sizeof(what), "deleting the %s", k->kind);
    return change(s, sql, &p, k, what, e);
}

static int put(struct store *s, const char *sql, const struct pg_params *p, const char *what,
               struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    return pg_query((struct pg_store *)s, sql, p, &res, what, e);
}

/* ---- projects ---- */

/* fn(c, arg) on a borrowed connection, outside a transaction. */
static int on_conn(struct store *s, const void *rec,
                   int (*fn)(struct pg_conn *c, const void *rec, struct err *e), struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    struct pg_conn *c;
    int r = pg_acquire(st, &c, e);

    if (r)
        return r;
    r = fn(c, rec, e);
    pg_release(st, c);
    return r;
}

int pg_project_insert_row(struct pg_conn *c, const struct project *pr, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};

    pg_param_id(&p, pr->id);
    pg_param_int(&p, pr->created_at);
    pg_param_text(&p, pr->created_by);
    pg_param_text(&p, pr->name);
    pg_param_text(&p, pr->description ? pr->description : "");
    return pg_run(c, SQL_PROJECT_INSERT, &p, &res, "saving the project", e);
}

static int project_insert_fn(struct pg_conn *c, const void *rec, struct err *e)
{
    return pg_project_insert_row(c, rec, e);
}

int pg_project_insert(struct store *s, const struct project *pr, struct err *e)
{
    return on_conn(s, pr, project_insert_fn, e);
}

int pg_project_update(struct store *s, const struct project *pr, struct err *e)
{
    struct pg_params p = {0};
    struct pg_key k = project_key(pr->id);

    k.field = NULL; /* an update names no field when its project is gone */
    pg_param_id(&p, pr->id);
    pg_param_text(&p, pr->name);
    pg_param_text(&p, pr->description ? pr->description : "");
    return change(s, SQL_PROJECT_UPDATE, &p, &k, "saving the project", e);
}

static void project_fill(const PGresult *r, int row, void *rec, struct arena *mem)
{
    struct project *p = rec;

    memset(p, 0, sizeof(*p));
    pg_col_id(r, row, 0, p->id);
    p->created_at = pg_col_int(r, row, 1);
    p->created_by = pg_col_text(r, row, 2, mem);
    p->name = pg_col_text(r, row, 3, mem);
    p->description = pg_col_text(r, row, 4, mem);
}

int pg_project_get(struct store *s, const char *id, struct project *ret, struct err *e)
{
    struct pg_key k = project_key(id);
    return get(s, SQL_PROJECT_GET, &k, project_fill, ret, &ret->mem, e);
}

struct project_each {
    store_project_cb cb;
    void *ud;
};

static int project_row(void *ud, const PGresult *r, int row, struct err *e)
{
    struct project_each *x = ud;
    struct project p;

    project_fill(r, row, &p, NULL);
    return x->cb(x->ud, &p, e);
}

int pg_project_list(struct store *s, store_project_cb cb, void *ud, struct err *e)
{
    struct project_each x = {cb, ud};
    return list(s, SQL_PROJECT_LIST, NULL, project_row, &x, "listing projects", e);
}

int pg_project_delete(struct store *s, const char *id, struct err *e)
{
    struct pg_key k = project_key(id);
    return remove_key(s, SQL_PROJECT_DELETE, &k, e);
}

/* ---- tasks ---- */

static void task_params(struct pg_params *p, const struct task *t)
{
    pg_param_text(p, t->name);
    pg_param_text(p, t->description ? t->description : "");
    pg_param_text(p, t->instruction);
    pg_param_text(p, t->requirements ? t->requirements : "[]");
    pg_param_text(p, t->output_json_schema);
    pg_param_text(p, t->input_json_schema);
    pg_param_text(p, t->thinking_instruction);
}

int pg_task_insert_row(struct pg_conn *c, const struct task *t, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, t->id);
    pg_param_id(&p, t->project_id);
    pg_param_int(&p, t->created_at);
    pg_param_text(&p, t->created_by);
    task_params(&p, t);
    r = pg_run(c, SQL_TASK_INSERT, &p, &res, "saving the task", e);
    if (r == HE_NOT_FOUND) { /* the foreign key: its project is missing */
        err_clear(e);
        return err_set(e, HE_NOT_FOUND, "project_id", "project %s not found", t->project_id);
    }
    return r;
}

static int task_insert_fn(struct pg_conn *c, const void *rec, struct err *e)
{
    return pg_task_insert_row(c, rec, e);
}

int pg_task_insert(struct store *s, const struct task *t, struct err *e)
{
    return on_conn(s, t, task_insert_fn, e);
}

int pg_task_update(struct store *s, const struct task *t, bool schema_changed, struct err *e)
{
    struct pg_params p = {0};
    struct pg_key k = task_key(t->project_id, t->id);
    _cleanup_result_ PGresult *res = NULL;
    int r;

    key_params(&p, &k);
    task_params(&p, t);
    pg_param_text(&p, schema_changed ? "true" : "false");
    if ((r = pg_query((struct pg_store *)s, SQL_TASK_UPDATE, &p, &res, "saving the task", e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return pg_not_found(e, &k);
    if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
        return err_set(e, HE_CONFLICT, "input_json_schema",
                       "the schemas of task %s cannot change: it already has samples", t->id);
    return 0;
}

static void task_fill(const PGresult *r, int row, void *rec, struct arena *mem)
{
    struct task *t = rec;

    memset(t, 0, sizeof(*t));
    pg_col_id(r, row, 0, t->id);
    pg_col_id(r, row, 1, t->project_id);
    t->created_at = pg_col_int(r, row, 2);
    t->created_by = pg_col_text(r, row, 3, mem);
    t->name = pg_col_text(r, row, 4, mem);
    t->description = pg_col_text(r, row, 5, mem);
    t->instruction = pg_col_text(r, row, 6, mem);
    t->requirements = pg_col_text(r, row, 7, mem);
    t->output_json_schema = pg_col_text(r, row, 8, mem);
    t->input_json_schema = pg_col_text(r, row, 9, mem);
    t->thinking_instruction = pg_col_text(r, row, 10, mem);
}

int pg_task_get(struct store *s, const char *project_id, const char *task_id, struct task *ret,
                struct err *e)
{
    struct pg_key k = task_key(project_id, task_id);
    return get(s, SQL_TASK_GET, &k, task_fill, ret, &ret->mem, e);
}

struct task_each {
    store_task_cb cb;
    void *ud;
};

static int task_row(void *ud, const PGresult *r, int row, struct err *e)
{
    struct task_each *x = ud;
    struct task t;

    task_fill(r, row, &t, NULL);
    return x->cb(x->ud, &t, e);
}

int pg_task_list(struct store *s, const char *project_id, store_task_cb cb, void *ud, struct err *e)
{
    struct task_each x = {cb, ud};
    return list(s, SQL_TASK_LIST, project_id, task_row, &x, "listing tasks", e);
}

int pg_task_delete(struct store *s, const char *project_id, const char *task_id, struct err *e)
{
    struct pg_key k = task_key(project_id, task_id);
    return remove_key(s, SQL_TASK_DELETE, &k, e);
}

/* ---- API keys ---- */

int pg_api_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
    struct pg_params p = {0};
    char salt[2 * API_KEY_SALT_LEN + 3], hash[2 * API_KEY_HASH_LEN + 3];

    pg_param_id(&p, k->id);
    pg_param_text(&p, k->name);
    if (k->project_id[0])
        pg_param_id(&p, k->project_id);
    else
        pg_param_text(&p, NULL);
    pg_param_text(&p, k->admin ? "true" : "false");
    pg_param_bytes(&p, k->salt, API_KEY_SALT_LEN, salt);
    pg_param_bytes(&p, k->hash, API_KEY_HASH_LEN, hash);
    pg_param_int(&p, k->created_at);
    return put(s, SQL_KEY_INSERT, &p, "saving the API key", e);
}

/* A BYTEA column (hex text) of exactly n bytes into out (zeros when it is not one). */
static void col_bytes(const PGresult *r, int row, int col, unsigned char *out, size_t n)
{
    size_t len = 0;
    unsigned char *b = PQgetisnull(r, row, col)
                           ? NULL
                           : PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &len);

    if (b && len == n)
        memcpy(out, b, n);
    else
        memset(out, 0, n);
    PQfreemem(b);
}

static void key_fill(const PGresult *r, int row, void *rec, struct arena *mem)
{
    struct api_key *k = rec;

    memset(k, 0, sizeof(*k));
    pg_col_id(r, row, 0, k->id);
    k->name = pg_col_text(r, row, 1, mem);
    if (!PQgetisnull(r, row, 2))
        pg_col_id(r, row, 2, k->project_id);
    k->admin = strcmp(PQgetvalue(r, row, 3), "t") == 0;
    col_bytes(r, row, 4, k->salt, API_KEY_SALT_LEN);
    col_bytes(r, row, 5, k->hash, API_KEY_HASH_LEN);
    k->created_at = pg_col_int(r, row, 6);
    k->revoked_at = pg_col_int(r, row, 7);
}

int pg_api_key_get(struct store *s, const char *id, struct api_key *ret, struct err *e)
{
    struct pg_key k = key_key(id);
    return get(s, SQL_KEY_GET, &k, key_fill, ret, &ret->mem, e);
}

struct key_each {
    store_api_key_cb cb;
    void *ud;
};

static int key_row(void *ud, const PGresult *r, int row, struct err *e)
{
    struct key_each *x = ud;
    struct api_key k;

    key_fill(r, row, &k, NULL);
    return x->cb(x->ud, &k, e);
}

int pg_api_key_list(struct store *s, store_api_key_cb cb, void *ud, struct err *e)
{
    struct key_each x = {cb, ud};
    return list(s, SQL_KEY_LIST, NULL, key_row, &x, "listing API keys", e);
}

int pg_api_key_revoke(struct store *s, const char *id, int64_t now, struct err *e)
{
    struct pg_params p = {0};
    struct pg_key k = key_key(id);

    pg_param_id(&p, id);
    pg_param_int(&p, now);
    return change(s, SQL_KEY_REVOKE, &p, &k, "revoking the API key", e);
}

int pg_api_key_count(struct store *s, int64_t *ret, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_query((struct pg_store *)s, SQL_KEY_COUNT, NULL, &res, "counting API keys", e);

    if (r)
        return r;
    *ret = pg_col_int(res, 0, 0);
    return 0;
}
