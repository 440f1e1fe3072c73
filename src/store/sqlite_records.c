/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: what reading and writing one record takes, shared by projects, tasks and
 * samples. Columns and bindings, a record's key (its id as ?1, its parent's as ?2) and the one
 * "not found" message it gives, and the get, list and delete statements every record has.
 *
 * A record read by sq_get owns its strings: they are copied out of the statement into one
 * arena allocation before the statement is reset. Rows passed to list callbacks are views into
 * the statement, valid until the next row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

char *sq_col_dup(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? strdup((const char *)t) : NULL;
}

const char *sq_col_text(sqlite3_stmt *s, int i, struct arena *mem)
{
    const char *t = (const char *)sqlite3_column_text(s, i);

    if (!t || !mem)
        return t;
    return arena_strndup(mem, t, (size_t)sqlite3_column_bytes(s, i));
}

int sq_row_reserve(sqlite3_stmt *s, struct arena *mem)
{
    size_t need = 0;

    for (int i = 0, n = sqlite3_column_count(s); i < n; i++)
        if (sqlite3_column_type(s, i) == SQLITE_TEXT)
            need += ARENA_ROUND((size_t)sqlite3_column_bytes(s, i) + 1);
    return arena_reserve(mem, need) < 0 ? HE_NOMEM : 0;
}

void sq_col_id(sqlite3_stmt *s, int i, char out[ID_LEN])
{
    id_format((uint64_t)sqlite3_column_int64(s, i), out);
}

sqlite3_int64 sq_id_value(const char *id)
{
    return id_valid(id) ? (sqlite3_int64)strtoll(id, NULL, 10) : 0;
}

int sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

int sq_step_done(struct sq_conn *c, sqlite3_stmt *s, const char *what, struct err *e)
{
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sq_error(e, c->db, what);
    return 0;
}

/* ---- keys ---- */

void sq_bind_key(sqlite3_stmt *s, const struct sq_key *k)
{
    sqlite3_bind_int64(s, 1, sq_id_value(k->id));
    if (k->parent_id)
        sqlite3_bind_int64(s, 2, sq_id_value(k->parent_id));
}

int sq_not_found(struct err *e, const struct sq_key *k)
{
    if (k->parent_id)
        return err_set(e, HE_NOT_FOUND, k->field, "%s %s not found in %s %s", k->kind, k->id,
                       k->parent_kind, k->parent_id);
    return err_set(e, HE_NOT_FOUND, k->field, "%s %s not found", k->kind, k->id);
}

int sq_changed(struct sq_conn *c, const struct sq_key *k, struct err *e)
{
    return sqlite3_changes(c->db) == 0 ? sq_not_found(e, k) : 0;
}

int sq_step_row(struct sq_conn *c, sqlite3_stmt *s, const struct sq_key *k, struct err *e)
{
    int rc = sqlite3_step(s);
    char what[64];

    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return sq_not_found(e, k);
    snprintf(what, sizeof(what), "reading the %s", k->kind);
    return sq_error(e, c->db, what);
}

/* ---- get, list, delete ---- */

int sq_get(struct sq_store *st, const char *sql, const struct sq_key *k, sq_fill_fn fill, void *rec,
           struct arena *ret_mem, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    struct arena mem = {0};
    int r = sq_reader(st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, sql, e)))
        return e->code;
    sq_bind_key(s, k);
    if ((r = sq_step_row(c, s, k, e)) < 0)
        return r;
    if (sq_row_reserve(s, &mem) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    fill(s, rec, &mem); /* reserved: the copies cannot fail */
    *ret_mem = mem;
    return 0;
}

static void bind_parent(sqlite3_stmt *s, const void *parent_id)
{
    if (parent_id)
        sqlite3_bind_int64(s, 1, sq_id_value(parent_id));
}

int sq_list(struct sq_store *st, const char *sql, const char *parent_id, sq_row_cb cb, void *ud,
            const char *what, struct err *e)
{
    return sq_list_bound(st, sql, bind_parent, parent_id, cb, ud, what, e);
}

int sq_list_bound(struct sq_store *st, const char *sql, sq_bind_fn bind, const void *arg,
                  sq_row_cb cb, void *ud, const char *what, struct err *e)
{
    struct sq_conn *c;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    int rc, r = sq_reader(st, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, sql, e)))
        return e->code;
    bind(s, arg);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((r = cb(ud, s, e)) < 0)
            return r;
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, what);
}

struct delete_args {
    const char *sql;
    const struct sq_key *k;
};

static int delete_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct delete_args *a = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, a->sql, e);
    char what[64];

    if (!s)
        return e->code;
    sq_bind_key(s, a->k);
    snprintf(what, sizeof(what), "deleting the %s", a->k->kind);
    if (sq_step_done(c, s, what, e) < 0)
        return e->code;
    return sq_changed(c, a->k, e);
}

int sq_delete(struct sq_store *st, const char *sql, const struct sq_key *k, struct err *e)
{
    struct delete_args a = {sql, k};
    return sq_write(st, delete_fn, &a, e);
}
