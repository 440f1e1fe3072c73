/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: dataset splits (Kiln's DatasetSplit), frozen lists of run ids in named
 * parts, with the SQLite backend's semantics and errors (sqlite_splits.c).
 *
 * A split and all its runs are written in one transaction. A part's runs go in slices of
 * PG_ARRAY_ROWS, each one INSERT ... SELECT over an array of ids (unnest WITH ORDINALITY gives
 * each its position), so a split of 100,000 runs takes ten statements, not 100,000. Rows stay
 * when their sample is deleted: the split keeps the ids it was made with.
 *
 * This file also holds the array parameters (pg_int.h) the multi-row writes of the other files
 * build: text of an array literal, bounded by PG_ARRAY_MAX.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/banned.h"

#define SPLIT_COLUMNS \
    "id, task_id, created_at, created_by, name, description, split_type, filter_id, splits"

static const char SQL_SPLIT_INSERT[] =
    "INSERT INTO dataset_splits (" SPLIT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
/* $3: the position of the slice's first run in its part */
static const char SQL_SPLIT_RUNS_INSERT[] =
    "INSERT INTO dataset_split_runs (split_id, part, pos, sample_id)"
    " SELECT $1, $2, $3::bigint + u.pos - 1, u.id"
    " FROM unnest($4::bigint[]) WITH ORDINALITY AS u(id, pos)";
static const char SQL_SPLIT_GET[] =
    "SELECT " SPLIT_COLUMNS " FROM dataset_splits WHERE id = $1 AND task_id = $2";
static const char SQL_SPLIT_LIST[] =
    "SELECT " SPLIT_COLUMNS " FROM dataset_splits WHERE task_id = $1 ORDER BY id";
static const char SQL_SPLIT_RUNS[] =
    "SELECT sample_id FROM dataset_split_runs WHERE split_id = $1 AND part = $2 ORDER BY pos";

/* ---- array parameters ---- */

void pg_array_init(struct pg_array *a)
{
    buf_init(&a->b, PG_ARRAY_MAX);
    a->failed = buf_adds(&a->b, "{") < 0;
}

void pg_array_done(struct pg_array *a)
{
    buf_done(&a->b);
}

static void element(struct pg_array *a, const char *text)
{
    if (!a->failed && a->b.len > 1)
        a->failed = buf_adds(&a->b, ",") < 0;
    if (!a->failed)
        a->failed = buf_adds(&a->b, text) < 0;
}

void pg_array_int(struct pg_array *a, int64_t v)
{
    char num[24];
    snprintf(num, sizeof(num), "%" PRId64, v);
    element(a, num);
}

void pg_array_id(struct pg_array *a, const char *id)
{
    element(a, id_valid(id) ? id : "0");
}

void pg_array_double(struct pg_array *a, double v)
{
    char num[40];

    if (isnan(v)) {
        element(a, "NULL");
        return;
    }
    snprintf(num, sizeof(num), "%.17g", v);
    element(a, num);
}

void pg_array_hex(struct pg_array *a, const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";

    if (!b) {
        element(a, "NULL");
        return;
    }
    element(a, n ? "" : "\"\"");
    for (size_t i = 0; i < n && !a->failed; i++) {
        char two[2] = {digits[b[i] >> 4], digits[b[i] & 15]};
        a->failed = buf_add(&a->b, two, 2) < 0;
    }
}

const char *pg_array_end(struct pg_array *a)
{
    if (!a->failed)
        a->failed = buf_adds(&a->b, "}") < 0;
    return a->failed ? NULL : a->b.data;
}

/* ---- splits ---- */

/* One part's runs, a slice of PG_ARRAY_ROWS at a time. */
static int insert_part(struct pg_conn *c, const char *split_id, const struct dataset_split_part *p,
                       struct err *e)
{
    for (size_t at = 0; at < p->n; at += PG_ARRAY_ROWS) {
        size_t end = p->n - at > PG_ARRAY_ROWS ? at + PG_ARRAY_ROWS : p->n;
        _cleanup_result_ PGresult *res = NULL;
        struct pg_params q = {0};
        struct pg_array ids;
        const char *list;
        int r;

        pg_array_init(&ids);
        for (size_t i = at; i < end; i++)
            pg_array_id(&ids, p->ids[i]);
        if (!(list = pg_array_end(&ids))) {
            pg_array_done(&ids);
            return err_set(e, HE_NOMEM, NULL, NULL);
        }
        pg_param_id(&q, split_id);
        pg_param_text(&q, p->name);
        pg_param_int(&q, (int64_t)at);
        pg_param_text(&q, list);
        r = pg_run(c, SQL_SPLIT_RUNS_INSERT, &q, &res, "saving the split's runs", e);
        pg_array_done(&ids);
        if (r < 0)
            return r;
    }
    return 0;
}

int pg_split_insert_rows(struct pg_conn *c, const struct dataset_split *d,
                         const struct dataset_split_part *parts, size_t nparts, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, d->id);
    pg_param_id(&p, d->task_id);
    pg_param_int(&p, d->created_at);
    pg_param_text(&p, d->created_by);
    pg_param_text(&p, d->name);
    pg_param_text(&p, d->description);
    pg_param_text(&p, d->split_type);
    pg_param_text(&p, d->filter_id);
    pg_param_text(&p, d->splits);
    if ((r = pg_run(c, SQL_SPLIT_INSERT, &p, &res, "saving the split", e)) < 0) {
        if (r == HE_NOT_FOUND) { /* the foreign key: its task is missing */
            err_clear(e);
            return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", d->task_id);
        }
        return r;
    }
    for (size_t i = 0; i < nparts; i++)
        if ((r = insert_part(c, d->id, &parts[i], e)) < 0)
            return r;
    return 0;
}

struct split_write {
    const struct dataset_split *d;
    const struct dataset_split_part *parts;
    size_t nparts;
};

static int split_insert_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct split_write *w = arg;
    return pg_split_insert_rows(c, w->d, w->parts, w->nparts, e);
}

int pg_split_insert(struct store *s, const struct dataset_split *d,
                    const struct dataset_split_part *parts, size_t nparts, struct err *e)
{
    struct split_write w = {d, parts, nparts};
    return pg_transact(s, split_insert_fn, &w, "saving the split", e);
}

/* Fills a split from a row of SPLIT_COLUMNS; mem NULL: views into the result. */
static void split_fill(const PGresult *res, int i, struct dataset_split *d, struct arena *mem)
{
    memset(d, 0, sizeof(*d));
    pg_col_id(res, i, 0, d->id);
    pg_col_id(res, i, 1, d->task_id);
    d->created_at = pg_col_int(res, i, 2);
    d->created_by = pg_col_text(res, i, 3, mem);
    d->name = pg_col_text(res, i, 4, mem);
    d->description = pg_col_text(res, i, 5, mem);
    d->split_type = pg_col_text(res, i, 6, mem);
    d->filter_id = pg_col_text(res, i, 7, mem);
    d->splits = pg_col_text(res, i, 8, mem);
}

int pg_split_get(struct store *s, const char *task_id, const char *split_id,
                 struct dataset_split *ret, struct err *e)
{
    struct pg_key k = {.kind = "dataset split",
                       .id = split_id,
                       .parent_kind = "task",
                       .parent_id = task_id,
                       .field = "dataset_id"};
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    struct arena mem = {0};
    int r;

    pg_param_id(&p, split_id);
    pg_param_id(&p, task_id);
    if ((r = pg_query((struct pg_store *)s, SQL_SPLIT_GET, &p, &res, "reading the dataset split",
                      e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return pg_not_found(e, &k);
    if (pg_row_reserve(res, 0, &mem) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    split_fill(res, 0, ret, &mem); /* reserved: the copies cannot fail */
    ret->mem = mem;
    return 0;
}

int pg_split_list(struct store *s, const char *task_id, store_split_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, task_id);
    if ((r = pg_query((struct pg_store *)s, SQL_SPLIT_LIST, &p, &res, "listing dataset splits",
                      e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++) {
        struct dataset_split d;
        split_fill(res, i, &d, NULL);
        if ((r = cb(ud, &d, e)) < 0)
            return r;
    }
    return 0;
}

int pg_split_runs(struct store *s, const char *split_id, const char *part, store_split_run_cb cb,
                  void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, split_id);
    pg_param_text(&p, part);
    if ((r = pg_query((struct pg_store *)s, SQL_SPLIT_RUNS, &p, &res, "reading a split's runs",
                      e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++) {
        char id[ID_LEN];
        pg_col_id(res, i, 0, id);
        if ((r = cb(ud, id, e)) < 0)
            return r;
    }
    return 0;
}
