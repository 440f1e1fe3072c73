/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: a whole project imported from elsewhere (a Kiln project folder, kiln/), in
 * one transaction on one borrowed connection, with the SQLite backend's answers
 * (sqlite_import.c). Every id is checked before its record is inserted, so that an id already
 * taken is a conflict naming it (field "id") rather than a failed statement; the project, its
 * tasks, runs (read one at a time from the importer while the transaction is open) and dataset
 * splits are inserted with the row writers of the other files. A failure anywhere rolls the
 * whole import back (pg_transact). The ids of the project, its tasks and splits are checked in
 * one statement, a run's as it comes.
 */
#include "store/pg_int.h"
#include "util/banned.h"

/* The first of the project ($1), tasks ($2) and splits ($3) whose id is taken, in that order. */
static const char SQL_TAKEN[] =
    "SELECT kind, id FROM ("
    " SELECT 0 AS rank, 0::bigint AS pos, 'project' AS kind, id FROM projects WHERE id = $1"
    " UNION ALL SELECT 1, w.pos, 'task', t.id"
    "  FROM unnest($2::bigint[]) WITH ORDINALITY AS w(id, pos) JOIN tasks t ON t.id = w.id"
    " UNION ALL SELECT 2, w.pos, 'dataset split', d.id FROM unnest($3::bigint[])"
    "  WITH ORDINALITY AS w(id, pos) JOIN dataset_splits d ON d.id = w.id) taken"
    " ORDER BY rank, pos LIMIT 1";
static const char SQL_HAS_RUN[] = "SELECT 1 FROM samples WHERE id = $1";

/* HE_CONFLICT when a run already has id. */
static int check_run(struct pg_conn *c, const char *id, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, id);
    if ((r = pg_run(c, SQL_HAS_RUN, &p, &res, "checking the imported ids", e)) < 0)
        return r;
    if (PQntuples(res) > 0)
        return err_set(e, HE_CONFLICT, "id", "a task run with the id %s is stored already", id);
    return 0;
}

/* HE_CONFLICT naming the first id of the project, its tasks and splits that is taken. */
static int check_ids(struct pg_conn *c, const struct store_import *imp, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_array tasks, splits;
    const char *t, *d;
    struct pg_params p = {0};
    char id[ID_LEN];
    int r = 0;

    pg_array_init(&tasks);
    pg_array_init(&splits);
    for (size_t i = 0; i < imp->ntasks; i++)
        pg_array_id(&tasks, imp->tasks[i].id);
    for (size_t i = 0; i < imp->nsplits; i++)
        pg_array_id(&splits, imp->splits[i].id);
    t = pg_array_end(&tasks);
    d = pg_array_end(&splits);
    pg_param_id(&p, imp->project->id);
    pg_param_text(&p, t);
    pg_param_text(&p, d);
    if (!t || !d)
        r = err_set(e, HE_NOMEM, NULL, NULL);
    else
        r = pg_run(c, SQL_TAKEN, &p, &res, "checking the imported ids", e);
    pg_array_done(&tasks);
    pg_array_done(&splits);
    if (r < 0 || PQntuples(res) == 0)
        return r;
    pg_col_id(res, 0, 1, id);
    return err_set(e, HE_CONFLICT, "id", "a %s with the id %s is stored already",
                   PQgetvalue(res, 0, 0), id);
}

/* Each run as next_run hands it over: its id checked, then stored. */
static int insert_runs(struct pg_conn *c, const struct store_import *imp, struct err *e)
{
    struct run *run;
    int r;

    while ((r = imp->next_run(imp->ud, &run, e)) == 0 && run)
        if ((r = check_run(c, run->id, e)) < 0 || (r = pg_run_insert_rows(c, &run, 1, e)) < 0)
            return r;
    return r;
}

static int import_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct store_import *imp = arg;
    int r;

    if ((r = check_ids(c, imp, e)) < 0 || (r = pg_project_insert_row(c, imp->project, e)) < 0)
        return r;
    for (size_t i = 0; i < imp->ntasks; i++)
        if ((r = pg_task_insert_row(c, &imp->tasks[i], e)) < 0)
            return r;
    if ((r = insert_runs(c, imp, e)) < 0)
        return r;
    for (size_t i = 0; i < imp->nsplits; i++)
        if ((r = pg_split_insert_rows(c, &imp->splits[i], imp->parts[i], imp->nparts[i], e)) < 0)
            return r;
    return 0;
}

int pg_import(struct store *s, const struct store_import *imp, struct err *e)
{
    return pg_transact(s, import_fn, (void *)imp, "importing the project", e);
}
