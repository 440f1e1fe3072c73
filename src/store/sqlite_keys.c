/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: API keys. A row holds a key's salt and salted hash, never the key; a revoked
 * key keeps its row (revoked_at set), so ids are never reused and the count of keys ever
 * created only grows.
 */
#include <string.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

#define KEY_COLUMNS "id, name, project_id, admin, salt, hash, created_at, revoked_at"

static const char SQL_KEY_INSERT[] =
    "INSERT INTO api_keys (" KEY_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL)";
static const char SQL_KEY_GET[] = "SELECT " KEY_COLUMNS " FROM api_keys WHERE id = ?1";
static const char SQL_KEY_LIST[] = "SELECT " KEY_COLUMNS " FROM api_keys ORDER BY id";
static const char SQL_KEY_REVOKE[] =
    "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE id = ?1";
static const char SQL_KEY_COUNT[] = "SELECT count(*) FROM api_keys";

static struct sq_key key_key(const char *id)
{
    return (struct sq_key){.kind = "API key", .id = id};
}

static int key_insert_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct api_key *k = arg;
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_KEY_INSERT, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(k->id));
    sq_bind_text(s, 2, k->name);
    if (k->project_id[0])
        sqlite3_bind_int64(s, 3, sq_id_value(k->project_id));
    sqlite3_bind_int(s, 4, k->admin ? 1 : 0);
    sqlite3_bind_blob(s, 5, k->salt, API_KEY_SALT_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 6, k->hash, API_KEY_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, k->created_at);
    return sq_step_done(c, s, "saving the API key", e) < 0 ? e->code : 0;
}

int sq_api_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
    return sq_write((struct sq_store *)s, key_insert_fn, (void *)k, e);
}

/* A blob column of exactly n bytes into out (zeros when it is not one). */
static void col_blob(sqlite3_stmt *s, int i, unsigned char *out, size_t n)
{
    const void *b = sqlite3_column_blob(s, i);

    if (b && (size_t)sqlite3_column_bytes(s, i) == n)
        memcpy(out, b, n);
    else
        memset(out, 0, n);
}

static void key_fill(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct api_key *k = rec;

    memset(k, 0, sizeof(*k));
    sq_col_id(s, 0, k->id);
    k->name = sq_col_text(s, 1, mem);
    if (sqlite3_column_type(s, 2) != SQLITE_NULL)
        sq_col_id(s, 2, k->project_id);
    k->admin = sqlite3_column_int(s, 3) != 0;
    col_blob(s, 4, k->salt, API_KEY_SALT_LEN);
    col_blob(s, 5, k->hash, API_KEY_HASH_LEN);
    k->created_at = sqlite3_column_int64(s, 6);
    k->revoked_at = sqlite3_column_int64(s, 7);
}

int sq_api_key_get(struct store *st, const char *id, struct api_key *ret, struct err *e)
{
    struct sq_key k = key_key(id);
    return sq_get((struct sq_store *)st, SQL_KEY_GET, &k, key_fill, ret, &ret->mem, e);
}

struct key_each {
    store_api_key_cb cb;
    void *ud;
};

static int key_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct key_each *x = ud;
    struct api_key k;

    key_fill(s, &k, NULL);
    return x->cb(x->ud, &k, e);
}

int sq_api_key_list(struct store *st, store_api_key_cb cb, void *ud, struct err *e)
{
    struct key_each x = {cb, ud};
    return sq_list((struct sq_store *)st, SQL_KEY_LIST, NULL, key_row, &x, "listing API keys", e);
}

struct key_revoke {
    const char *id;
    int64_t now;
};

static int key_revoke_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct key_revoke *a = arg;
    struct sq_key k = key_key(a->id);
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_KEY_REVOKE, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(a->id));
    sqlite3_bind_int64(s, 2, a->now);
    if (sq_step_done(c, s, "revoking the API key", e) < 0)
        return e->code;
    return sq_changed(c, &k, e);
}

int sq_api_key_revoke(struct store *s, const char *id, int64_t now, struct err *e)
{
    struct key_revoke a = {id, now};
    return sq_write((struct sq_store *)s, key_revoke_fn, &a, e);
}

int sq_api_key_count(struct store *st, int64_t *ret, struct err *e)
{
    struct sq_store *sq = (struct sq_store *)st;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    struct sq_conn *c;
    int r = sq_reader(sq, &c, e);

    if (r)
        return r;
    if (!(s = sq_stmt(c, SQL_KEY_COUNT, e)))
        return e->code;
    if (sqlite3_step(s) != SQLITE_ROW)
        return sq_error(e, c->db, "counting API keys");
    *ret = sqlite3_column_int64(s, 0);
    return 0;
}
