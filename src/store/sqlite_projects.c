/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: projects and their tasks.
 *
 * Tasks are read by nearly every request and rarely written, so each read connection keeps the
 * tasks it read last (struct sq_conn), each filed under the store version it was read at; a
 * commit bumps the version and so retires every cached task at once.
 */
#include <stdatomic.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

#define TASK_COLUMNS                                                                         \
    "id, project_id, created_at, created_by, name, description, instruction, requirements, " \
    "output_json_schema, input_json_schema, thinking_instruction"

static const char SQL_PROJECT_INSERT[] =
    "INSERT INTO projects (id, created_at, created_by, name, description) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_PROJECT_UPDATE[] =
    "UPDATE projects SET name = ?2, description = ?3 WHERE id = ?1";
static const char SQL_PROJECT_GET[] =
    "SELECT id, created_at, created_by, name, description FROM projects "
    "WHERE id = ?1";
static const char SQL_PROJECT_LIST[] =
    "SELECT id, created_at, created_by, name, description FROM projects "
    "ORDER BY id";
static const char SQL_PROJECT_DELETE[] = "DELETE FROM projects WHERE id = ?1";
static const char SQL_TASK_INSERT[] =
    "INSERT INTO tasks (id, project_id, created_at, created_by, name, description, instruction, "
    "requirements, output_json_schema, input_json_schema, thinking_instruction) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
static const char SQL_TASK_UPDATE[] =
    "UPDATE tasks SET name = ?3, description = ?4, instruction = ?5, requirements = ?6, "
    "output_json_schema = ?7, input_json_schema = ?8, thinking_instruction = ?9 "
    "WHERE id = ?1 AND project_id = ?2";
static const char SQL_TASK_GET[] =
    "SELECT " TASK_COLUMNS " FROM tasks WHERE id = ?1 AND project_id = ?2";
static const char SQL_TASK_LIST[] =
    "SELECT " TASK_COLUMNS " FROM tasks WHERE project_id = ?1 ORDER BY id";
static const char SQL_TASK_DELETE[] = "DELETE FROM tasks WHERE id = ?1 AND project_id = ?2";
static const char SQL_TASK_HAS_SAMPLES[] = "SELECT 1 FROM samples WHERE task_id = ?1 LIMIT 1";

static struct sq_key project_key(const char *id)
{
    return (struct sq_key){.kind = "project", .id = id, .field = "project_id"};
}

static struct sq_key task_key(const char *project_id, const char *task_id)
{
    return (struct sq_key){.kind = "task",
                           .id = task_id,
                           .parent_kind = "project",
                           .parent_id = project_id,
                           .field = "task_id"};
}

/* ---- projects ---- */

static int project_write_fn(struct sq_conn *c, void *arg, struct err *e, bool insert)
{
    const struct project *p = arg;
    struct sq_key k = project_key(p->id);
    _cleanup_stmt_ sqlite3_stmt *s =
        sq_stmt(c, insert ? SQL_PROJECT_INSERT : SQL_PROJECT_UPDATE, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(p->id));
    if (insert) {
        sqlite3_bind_int64(s, 2, p->created_at);
        sq_bind_text(s, 3, p->created_by);
        sq_bind_text(s, 4, p->name);
        sq_bind_text(s, 5, p->description ? p->description : "");
    } else {
        sq_bind_text(s, 2, p->name);
        sq_bind_text(s, 3, p->description ? p->description : "");
    }
    if (sq_step_done(c, s, "saving the project", e))
        return e->code;
    k.field = NULL; /* an update names no field when its project is gone */
    return insert ? 0 : sq_changed(c, &k, e);
}

static int project_insert_fn(struct sq_conn *c, void *arg, struct err *e)
{
    return project_write_fn(c, arg, e, true);
}

int sq_project_insert_row(struct sq_conn *c, const struct project *p, struct err *e)
{
    return project_write_fn(c, (void *)p, e, true);
}

static int project_update_fn(struct sq_conn *c, void *arg, struct err *e)
{
    return project_write_fn(c, arg, e, false);
}

int sq_project_insert(struct store *s, const struct project *p, struct err *e)
{
    return sq_write((struct sq_store *)s, project_insert_fn, (void *)p, e);
}

int sq_project_update(struct store *s, const struct project *p, struct err *e)
{
    return sq_write((struct sq_store *)s, project_update_fn, (void *)p, e);
}

static void project_fill(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct project *p = rec;

    memset(p, 0, sizeof(*p));
    sq_col_id(s, 0, p->id);
    p->created_at = sqlite3_column_int64(s, 1);
    p->created_by = sq_col_text(s, 2, mem);
    p->name = sq_col_text(s, 3, mem);
    p->description = sq_col_text(s, 4, mem);
}

int sq_project_get(struct store *st, const char *id, struct project *ret, struct err *e)
{
    struct sq_key k = project_key(id);
    return sq_get((struct sq_store *)st, SQL_PROJECT_GET, &k, project_fill, ret, &ret->mem, e);
}

struct project_each {
    store_project_cb cb;
    void *ud;
};

static int project_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct project_each *x = ud;
    struct project p;

    project_fill(s, &p, NULL);
    return x->cb(x->ud, &p, e);
}

int sq_project_list(struct store *st, store_project_cb cb, void *ud, struct err *e)
{
    struct project_each x = {cb, ud};
    return sq_list((struct sq_store *)st, SQL_PROJECT_LIST, NULL, project_row, &x,
                   "listing projects", e);
}

int sq_project_delete(struct store *s, const char *id, struct err *e)
{
    struct sq_key k = project_key(id);
    return sq_delete((struct sq_store *)s, SQL_PROJECT_DELETE, &k, e);
}

/* ---- tasks ---- */

struct task_write {
    const struct task *t;
    bool schema_changed;
};

static void bind_task_fields(sqlite3_stmt *s, int first, const struct task *t)
{
    sq_bind_text(s, first, t->name);
    sq_bind_text(s, first + 1, t->description ? t->description : "");
    sq_bind_text(s, first + 2, t->instruction);
    sq_bind_text(s, first + 3, t->requirements ? t->requirements : "[]");
    sq_bind_text(s, first + 4, t->output_json_schema);
    sq_bind_text(s, first + 5, t->input_json_schema);
    sq_bind_text(s, first + 6, t->thinking_instruction);
}

static int task_insert_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct task *t = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_TASK_INSERT, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(t->id));
    sqlite3_bind_int64(s, 2, sq_id_value(t->project_id));
    sqlite3_bind_int64(s, 3, t->created_at);
    sq_bind_text(s, 4, t->created_by);
    bind_task_fields(s, 5, t);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            return err_set(e, HE_NOT_FOUND, "project_id", "project %s not found", t->project_id);
        return sq_error(e, c->db, "saving the task");
    }
    return 0;
}

int sq_task_insert_row(struct sq_conn *c, const struct task *t, struct err *e)
{
    return task_insert_fn(c, (void *)t, e);
}

/* With the schemas changing: HE_CONFLICT when the task already has samples. */
static int check_no_samples(struct sq_conn *c, const struct task *t, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *has = sq_stmt(c, SQL_TASK_HAS_SAMPLES, e);
    int rc;

    if (!has)
        return e->code;
    sqlite3_bind_int64(has, 1, sq_id_value(t->id));
    rc = sqlite3_step(has);
    if (rc == SQLITE_ROW)
        return err_set(e, HE_CONFLICT, "input_json_schema",
                       "the schemas of task %s cannot change: it already has samples", t->id);
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "checking the task's samples");
}

static int task_update_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct task_write *w = arg;
    const struct task *t = w->t;
    struct sq_key k = task_key(t->project_id, t->id);
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_TASK_UPDATE, e);
    int r;

    if (!s)
        return e->code;
    if (w->schema_changed && (r = check_no_samples(c, t, e)) < 0)
        return r;
    sq_bind_key(s, &k);
    bind_task_fields(s, 3, t);
    if (sq_step_done(c, s, "saving the task", e))
        return e->code;
    return sq_changed(c, &k, e);
}

int sq_task_insert(struct store *s, const struct task *t, struct err *e)
{
    return sq_write((struct sq_store *)s, task_insert_fn, (void *)t, e);
}

int sq_task_update(struct store *s, const struct task *t, bool schema_changed, struct err *e)
{
    struct task_write w = {.t = t, .schema_changed = schema_changed};
    return sq_write((struct sq_store *)s, task_update_fn, &w, e);
}

static void task_fill(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct task *t = rec;

    memset(t, 0, sizeof(*t));
    sq_col_id(s, 0, t->id);
    sq_col_id(s, 1, t->project_id);
    t->created_at = sqlite3_column_int64(s, 2);
    t->created_by = sq_col_text(s, 3, mem);
    t->name = sq_col_text(s, 4, mem);
    t->description = sq_col_text(s, 5, mem);
    t->instruction = sq_col_text(s, 6, mem);
    t->requirements = sq_col_text(s, 7, mem);
    t->output_json_schema = sq_col_text(s, 8, mem);
    t->input_json_schema = sq_col_text(s, 9, mem);
    t->thinking_instruction = sq_col_text(s, 10, mem);
}

int sq_task_get(struct store *st, const char *project_id, const char *task_id, struct task *ret,
                struct err *e)
{
    struct sq_store *sq = (struct sq_store *)st;
    struct sq_key k = task_key(project_id, task_id);
    uint64_t version = atomic_load(&sq->version);
    sqlite3_int64 key = sq_id_value(task_id);
    size_t slot = (size_t)key % SQ_TASK_CACHE;
    struct sq_conn *c;
    int r = sq_reader(sq, &c, e);

    if (r)
        return r;
    if (key && c->tasks[slot].version == version && strcmp(c->tasks[slot].rec.id, task_id) == 0 &&
        strcmp(c->tasks[slot].rec.project_id, project_id) == 0)
        return task_copy(ret, &c->tasks[slot].rec) < 0 ? err_set(e, HE_NOMEM, NULL, NULL) : 0;
    if ((r = sq_get(sq, SQL_TASK_GET, &k, task_fill, ret, &ret->mem, e)) < 0)
        return r;
    /* Keep a copy for the next read at the same version (the version was read before the
     * query, so the copy is never newer than the version it is filed under). Not from inside
     * another read, whose snapshot may be older than that version. */
    task_done(&c->tasks[slot].rec);
    c->tasks[slot].version = 0;
    if (sqlite3_get_autocommit(c->db) && task_copy(&c->tasks[slot].rec, ret) == 0)
        c->tasks[slot].version = version;
    return 0;
}

struct task_each {
    store_task_cb cb;
    void *ud;
};

static int task_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct task_each *x = ud;
    struct task t;

    task_fill(s, &t, NULL);
    return x->cb(x->ud, &t, e);
}

int sq_task_list(struct store *st, const char *project_id, store_task_cb cb, void *ud,
                 struct err *e)
{
    struct task_each x = {cb, ud};
    return sq_list((struct sq_store *)st, SQL_TASK_LIST, project_id, task_row, &x, "listing tasks",
                   e);
}

int sq_task_delete(struct store *s, const char *project_id, const char *task_id, struct err *e)
{
    struct sq_key k = task_key(project_id, task_id);
    return sq_delete((struct sq_store *)s, SQL_TASK_DELETE, &k, e);
}
