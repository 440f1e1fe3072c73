/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: a whole project imported from elsewhere (a Kiln project folder, kiln/), stored
 * in one write on the writer thread. Every id is checked before its record is inserted, so that
 * an id already taken is a conflict naming it rather than a constraint failure; the project, its
 * tasks, runs (read one at a time from the importer while the write is open) and dataset splits
 * are inserted with the row writers of the other files. Other writes wait meanwhile. The write runs
 * inside its own savepoint (sqlite.c), so a failure anywhere rolls back every row of the import and
 * nothing else in the group commit.
 */
#include "store/sqlite_int.h"
#include "util/banned.h"

static const char SQL_HAS_PROJECT[] = "SELECT 1 FROM projects WHERE id = ?1";
static const char SQL_HAS_TASK[] = "SELECT 1 FROM tasks WHERE id = ?1";
static const char SQL_HAS_RUN[] = "SELECT 1 FROM samples WHERE id = ?1";
static const char SQL_HAS_SPLIT[] = "SELECT 1 FROM dataset_splits WHERE id = ?1";

/* HE_CONFLICT when a record of `kind` (sql looks it up) already has id. */
static int check_free(struct sq_conn *c, const char *sql, const char *kind, const char *id,
                      struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, sql, e);
    int rc;

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(id));
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return err_set(e, HE_CONFLICT, "id", "a %s with the id %s is stored already", kind, id);
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "checking the imported ids");
}

static int check_ids(struct sq_conn *c, const struct store_import *imp, struct err *e)
{
    int r = check_free(c, SQL_HAS_PROJECT, "project", imp->project->id, e);

    for (size_t i = 0; r == 0 && i < imp->ntasks; i++)
        r = check_free(c, SQL_HAS_TASK, "task", imp->tasks[i].id, e);
    for (size_t i = 0; r == 0 && i < imp->nsplits; i++)
        r = check_free(c, SQL_HAS_SPLIT, "dataset split", imp->splits[i].id, e);
    return r;
}

/* Each run as next_run hands it over: its id checked, then stored. */
static int insert_runs(struct sq_conn *c, const struct store_import *imp, struct err *e)
{
    struct run *run;
    int r;

    while ((r = imp->next_run(imp->ud, &run, e)) == 0 && run)
        if ((r = check_free(c, SQL_HAS_RUN, "task run", run->id, e)) < 0 ||
            (r = sq_run_insert_rows(c, &run, 1, e)) < 0)
            return r;
    return r;
}

static int import_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct store_import *imp = arg;
    int r;

    if ((r = check_ids(c, imp, e)) < 0 || (r = sq_project_insert_row(c, imp->project, e)) < 0)
        return r;
    for (size_t i = 0; i < imp->ntasks; i++)
        if ((r = sq_task_insert_row(c, &imp->tasks[i], e)) < 0)
            return r;
    if ((r = insert_runs(c, imp, e)) < 0)
        return r;
    for (size_t i = 0; i < imp->nsplits; i++)
        if ((r = sq_split_insert_row(c, &imp->splits[i], imp->parts[i], imp->nparts[i], e)) < 0)
            return r;
    return 0;
}

int sq_import(struct store *s, const struct store_import *imp, struct err *e)
{
    return sq_write((struct sq_store *)s, import_fn, (void *)imp, e);
}
