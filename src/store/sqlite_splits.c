/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: dataset splits (Kiln's DatasetSplit), frozen lists of run ids in named parts.
 *
 * A split and all its runs are written in one transaction. Each run is a row of
 * dataset_split_runs keyed by (split, part, pos), so a part reads back in the order it was
 * stored and a split's rows are appended in key order. The caller keeps a run in one part at
 * most (export/split.c cuts one shuffled list). Rows stay when their sample is deleted: the split
 * keeps the ids it was made with, and listing runs through it (sqlite_runs.c) joins with the
 * samples left.
 */
#include <string.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

#define SPLIT_COLUMNS \
    "id, task_id, created_at, created_by, name, description, split_type, filter_id, splits"

static const char SQL_SPLIT_INSERT[] =
    "INSERT INTO dataset_splits (" SPLIT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
static const char SQL_SPLIT_RUN_INSERT[] =
    "INSERT INTO dataset_split_runs (split_id, part, pos, sample_id) VALUES (?1, ?2, ?3, ?4)";
static const char SQL_SPLIT_GET[] =
    "SELECT " SPLIT_COLUMNS " FROM dataset_splits WHERE id = ?1 AND task_id = ?2";
static const char SQL_SPLIT_LIST[] =
    "SELECT " SPLIT_COLUMNS " FROM dataset_splits WHERE task_id = ?1 ORDER BY id";
static const char SQL_SPLIT_RUNS[] =
    "SELECT sample_id FROM dataset_split_runs WHERE split_id = ?1 AND part = ?2 ORDER BY pos";

struct split_write {
    const struct dataset_split *d;
    const struct dataset_split_part *parts;
    size_t nparts;
};

static int insert_part(struct sq_conn *c, sqlite3_stmt *s, sqlite3_int64 split_id,
                       const struct dataset_split_part *p, struct err *e)
{
    for (size_t i = 0; i < p->n; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, split_id);
        sqlite3_bind_text(s, 2, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (sqlite3_int64)i);
        sqlite3_bind_int64(s, 4, sq_id_value(p->ids[i]));
        if (sqlite3_step(s) != SQLITE_DONE)
            return sq_error(e, c->db, "saving the split's runs");
    }
    return 0;
}

static int split_insert_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct split_write *w = arg;
    const struct dataset_split *d = w->d;
    sqlite3_int64 id = sq_id_value(d->id);
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_SPLIT_INSERT, e);
    _cleanup_stmt_ sqlite3_stmt *m = NULL;
    int r;

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, sq_id_value(d->task_id));
    sqlite3_bind_int64(s, 3, d->created_at);
    sq_bind_text(s, 4, d->created_by);
    sq_bind_text(s, 5, d->name);
    sq_bind_text(s, 6, d->description);
    sq_bind_text(s, 7, d->split_type);
    sq_bind_text(s, 8, d->filter_id);
    sq_bind_text(s, 9, d->splits);
    if (sqlite3_step(s) != SQLITE_DONE) {
        if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY)
            return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", d->task_id);
        return sq_error(e, c->db, "saving the split");
    }
    if (!(m = sq_stmt(c, SQL_SPLIT_RUN_INSERT, e)))
        return e->code;
    for (size_t i = 0; i < w->nparts; i++)
        if ((r = insert_part(c, m, id, &w->parts[i], e)) < 0)
            return r;
    return 0;
}

int sq_split_insert_row(struct sq_conn *c, const struct dataset_split *d,
                        const struct dataset_split_part *parts, size_t nparts, struct err *e)
{
    struct split_write w = {d, parts, nparts};
    return split_insert_fn(c, &w, e);
}

int sq_split_insert(struct store *s, const struct dataset_split *d,
                    const struct dataset_split_part *parts, size_t nparts, struct err *e)
{
    struct split_write w = {d, parts, nparts};
    return sq_write((struct sq_store *)s, split_insert_fn, &w, e);
}

/* Fills a split from a row of SPLIT_COLUMNS: an sq_fill_fn. */
static void split_fill(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct dataset_split *d = rec;

    memset(d, 0, sizeof(*d));
    sq_col_id(s, 0, d->id);
    sq_col_id(s, 1, d->task_id);
    d->created_at = sqlite3_column_int64(s, 2);
    d->created_by = sq_col_text(s, 3, mem);
    d->name = sq_col_text(s, 4, mem);
    d->description = sq_col_text(s, 5, mem);
    d->split_type = sq_col_text(s, 6, mem);
    d->filter_id = sq_col_text(s, 7, mem);
    d->splits = sq_col_text(s, 8, mem);
}

int sq_split_get(struct store *st, const char *task_id, const char *split_id,
                 struct dataset_split *ret, struct err *e)
{
    struct sq_key k = {.kind = "dataset split",
                       .id = split_id,
                       .parent_kind = "task",
                       .parent_id = task_id,
                       .field = "dataset_id"};
    return sq_get((struct sq_store *)st, SQL_SPLIT_GET, &k, split_fill, ret, &ret->mem, e);
}

struct split_each {
    store_split_cb cb;
    void *ud;
};

static int split_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct split_each *x = ud;
    struct dataset_split d;

    split_fill(s, &d, NULL);
    return x->cb(x->ud, &d, e);
}

int sq_split_list(struct store *st, const char *task_id, store_split_cb cb, void *ud, struct err *e)
{
    struct split_each x = {cb, ud};
    return sq_list((struct sq_store *)st, SQL_SPLIT_LIST, task_id, split_row, &x,
                   "listing dataset splits", e);
}

int sq_split_runs(struct store *st, const char *split_id, const char *part, store_split_run_cb cb,
                  void *ud, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    char id[ID_LEN];
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, SQL_SPLIT_RUNS, e)))
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(split_id));
    sqlite3_bind_text(s, 2, part, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sq_col_id(s, 0, id);
        if ((r = cb(ud, id, e)) < 0)
            return r;
    }
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, "reading a split's runs");
}
