/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: near-duplicate signatures, band keys and clusters (migration 3).
 *
 * A sample has at most one signature (sample_signatures, keyed by the sample, with the params it
 * was made with) and, per band-rows value, its band keys (sample_bands, keyed by task, rows, band
 * and key, so the samples that share a key are one index range). Storing a signature again
 * replaces it and drops its old band keys in the same write. Deleting a sample deletes both (a
 * foreign key and a trigger). A job's clusters (duplicate_clusters) go with the job.
 *
 * These statements run once per slice or per listing, not per row of a hot path: they are
 * prepared for each call rather than kept in the connection's statement cache.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/banned.h"

static const char SQL_COUNT[] = "SELECT count(*) FROM samples WHERE task_id = ?1";
/* ?3 params, ?4 band rows */
static const char SQL_SCAN[] =
    "SELECT s.id, CASE WHEN g.sample_id IS NULL THEN s.input END, g.sig, "
    "g.sample_id IS NOT NULL AND EXISTS (SELECT 1 FROM sample_bands b "
    "WHERE b.sample_id = s.id AND b.rows = ?4) "
    "FROM samples s LEFT JOIN sample_signatures g ON g.sample_id = s.id AND g.params = ?3 "
    "WHERE s.task_id = ?1 AND s.id > ?2 ORDER BY s.id LIMIT ?5";
static const char SQL_SIG_PUT[] =
    "INSERT OR REPLACE INTO sample_signatures (sample_id, task_id, params, sig) "
    "VALUES (?1, ?2, ?3, ?4)";
static const char SQL_BANDS_DROP[] = "DELETE FROM sample_bands WHERE sample_id = ?1";
static const char SQL_BAND_PUT[] =
    "INSERT OR IGNORE INTO sample_bands (task_id, rows, band, key, sample_id) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_JOB_PROGRESS[] =
    "UPDATE jobs SET total = ?2, completed = ?3, cursor = cursor + ?4 WHERE id = ?1";
/* In key order straight from the primary key; a row whose key no other sample shares is dropped
 * by one index probe, so nothing is materialised whatever the task's size. */
static const char SQL_BUCKETS[] =
    "SELECT b.band, b.key, b.sample_id, g.sig, s.input FROM sample_bands b "
    "JOIN sample_signatures g ON g.sample_id = b.sample_id AND g.params = ?3 "
    "JOIN samples s ON s.id = b.sample_id "
    "WHERE b.task_id = ?1 AND b.rows = ?2 AND EXISTS (SELECT 1 FROM sample_bands o "
    "WHERE o.task_id = b.task_id AND o.rows = b.rows AND o.band = b.band AND o.key = b.key "
    "AND o.sample_id <> b.sample_id) ORDER BY b.band, b.key, b.sample_id";
static const char SQL_CLUSTERS_DROP[] = "DELETE FROM duplicate_clusters WHERE job_id = ?1";
static const char SQL_CLUSTER_PUT[] =
    "INSERT INTO duplicate_clusters (job_id, cluster, sample_id, similarity) "
    "VALUES (?1, ?2, ?3, ?4)";
static const char SQL_CLUSTERS[] =
    "SELECT c.cluster, c.sample_id, c.similarity, s.input, s.tags, s.rating_score, "
    "s.created_at FROM duplicate_clusters c JOIN samples s ON s.id = c.sample_id "
    "WHERE c.job_id = ?1 AND c.cluster > ?2 AND c.cluster <= ?2 + ?3 "
    "ORDER BY c.cluster, c.sample_id";

static int prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **ret, struct err *e)
{
    if (sqlite3_prepare_v2(c->db, sql, -1, ret, NULL) != SQLITE_OK)
        return sq_error(e, c->db, "preparing a statement");
    return 0;
}

/* Runs every row of the prepared, bound s through cb. */
static int each_row(struct sq_conn *c, sqlite3_stmt *s, sq_row_cb cb, void *ud, const char *what,
                    struct err *e)
{
    int rc, r;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((r = cb(ud, s, e)) < 0)
            return r;
    return rc == SQLITE_DONE ? 0 : sq_error(e, c->db, what);
}

/* ---- scan ---- */

struct scan_ctx {
    store_dedup_sample_cb cb;
    void *ud;
};

static int scan_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct scan_ctx *x = ud;
    struct dedup_sample d = {
        .id = sqlite3_column_int64(s, 0),
        .input = (const char *)sqlite3_column_text(s, 1),
        .sig = sqlite3_column_blob(s, 2),
        .sig_len = (size_t)sqlite3_column_bytes(s, 2),
        .banded = sqlite3_column_int(s, 3) != 0,
    };
    if (!d.sig)
        d.sig_len = 0;
    return x->cb(x->ud, &d, e);
}

int sq_dedup_scan(struct store *st, const struct dedup_scan *q, store_dedup_sample_cb cb, void *ud,
                  int64_t *ret_total, struct err *e)
{
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
    struct scan_ctx x = {cb, ud};
    struct sq_conn *c;
    int r;

    if ((r = sq_reader((struct sq_store *)st, &c, e)) < 0)
        return r;
    if (ret_total) {
        if ((r = prepare(c, SQL_COUNT, &s, e)) < 0)
            return r;
        sqlite3_bind_int64(s, 1, sq_id_value(q->task_id));
        if (sqlite3_step(s) != SQLITE_ROW)
            return sq_error(e, c->db, "counting the task's samples");
        *ret_total = sqlite3_column_int64(s, 0);
        sqlite3_finalize(take_ptr(s));
    }
    if ((r = prepare(c, SQL_SCAN, &s, e)) < 0)
        return r;
    sqlite3_bind_int64(s, 1, sq_id_value(q->task_id));
    sqlite3_bind_int64(s, 2, q->after);
    sq_bind_text(s, 3, q->params);
    sqlite3_bind_int(s, 4, q->rows);
    sqlite3_bind_int64(s, 5, q->limit ? (sqlite3_int64)q->limit : -1);
    return each_row(c, s, scan_row, &x, "reading the task's signatures", e);
}

/* ---- save ---- */

/* One sample's signature, when given, replacing its band keys; *ret_gone when the sample was
 * deleted meanwhile (nothing is stored for it then). */
static int save_sig(struct sq_conn *c, sqlite3_stmt *const st[2], const struct dedup_save *w,
                    const struct dedup_signed *d, bool *ret_gone, struct err *e)
{
    *ret_gone = false;
    if (!d->sig)
        return 0;
    sqlite3_reset(st[0]);
    sqlite3_bind_int64(st[0], 1, d->sample_id);
    if (sqlite3_step(st[0]) != SQLITE_DONE)
        return sq_error(e, c->db, "replacing band keys");
    sqlite3_reset(st[1]);
    sqlite3_bind_int64(st[1], 1, d->sample_id);
    sqlite3_bind_int64(st[1], 2, sq_id_value(w->task_id));
    sq_bind_text(st[1], 3, w->params);
    sqlite3_bind_blob(st[1], 4, d->sig, (int)d->sig_len, SQLITE_STATIC);
    if (sqlite3_step(st[1]) == SQLITE_DONE)
        return 0;
    if (sqlite3_extended_errcode(c->db) != SQLITE_CONSTRAINT_FOREIGNKEY)
        return sq_error(e, c->db, "storing a signature");
    *ret_gone = true;
    return 0;
}

struct band_row {
    int band;
    int64_t key, sample_id;
};

static int band_row_cmp(const void *a, const void *b)
{
    const struct band_row *x = a, *y = b;
    if (x->band != y->band)
        return x->band < y->band ? -1 : 1;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->sample_id < y->sample_id ? -1 : x->sample_id > y->sample_id;
}

/* The band keys of the slice, inserted in key order: the keys are hashes, and inserting them
 * sorted walks the index once instead of jumping across it for every row. */
static int save_bands(struct sq_conn *c, sqlite3_stmt *put, const struct dedup_save *w,
                      struct band_row *rows, size_t n, struct err *e)
{
    qsort(rows, n, sizeof(*rows), band_row_cmp);
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(put);
        sqlite3_bind_int64(put, 1, sq_id_value(w->task_id));
        sqlite3_bind_int(put, 2, w->rows);
        sqlite3_bind_int(put, 3, rows[i].band);
        sqlite3_bind_int64(put, 4, rows[i].key);
        sqlite3_bind_int64(put, 5, rows[i].sample_id);
        if (sqlite3_step(put) != SQLITE_DONE)
            return sq_error(e, c->db, "storing band keys");
    }
    return 0;
}

static int save_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct dedup_save *w = arg;
    struct band_row *rows = calloc(w->n * (size_t)w->bands + 1, sizeof(*rows));
    sqlite3_stmt *st[4] = {0};
    size_t n_rows = 0;
    int r = 0;

    if (!rows)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if ((r = prepare(c, SQL_BANDS_DROP, &st[0], e)) < 0 ||
        (r = prepare(c, SQL_SIG_PUT, &st[1], e)) < 0 ||
        (r = prepare(c, SQL_BAND_PUT, &st[2], e)) < 0 ||
        (r = prepare(c, SQL_JOB_PROGRESS, &st[3], e)) < 0)
        goto out;
    for (size_t i = 0; i < w->n && r == 0; i++) {
        const struct dedup_signed *d = &w->items[i];
        bool gone;
        if ((r = save_sig(c, st, w, d, &gone, e)) < 0 || gone || !d->keys)
            continue;
        for (int b = 0; b < w->bands; b++)
            rows[n_rows++] = (struct band_row){b, d->keys[b], d->sample_id};
    }
    if (r == 0)
        r = save_bands(c, st[2], w, rows, n_rows, e);
    if (r == 0 && w->job_id) {
        sqlite3_bind_int64(st[3], 1, sq_id_value(w->job_id));
        sqlite3_bind_int64(st[3], 2, w->total);
        sqlite3_bind_int64(st[3], 3, w->completed);
        sqlite3_bind_int64(st[3], 4, w->computed);
        r = sq_step_done(c, st[3], "recording the job's progress", e);
    }
out:
    for (int i = 0; i < 4; i++)
        sqlite3_finalize(st[i]);
    free(rows);
    return r;
}

int sq_dedup_save(struct store *st, const struct dedup_save *w, struct err *e)
{
    return sq_write((struct sq_store *)st, save_fn, (void *)w, e);
}

/* ---- buckets ---- */

struct bucket_ctx {
    store_dedup_bucket_cb cb;
    void *ud;
};

static int bucket_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct bucket_ctx *x = ud;
    return x->cb(x->ud, sqlite3_column_int(s, 0), sqlite3_column_int64(s, 1),
                 sqlite3_column_int64(s, 2), sqlite3_column_blob(s, 3),
                 (size_t)sqlite3_column_bytes(s, 3), (const char *)sqlite3_column_text(s, 4), e);
}

int sq_dedup_buckets(struct store *st, const char *task_id, const char *params, int rows,
                     store_dedup_bucket_cb cb, void *ud, struct err *e)
{
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
    struct bucket_ctx x = {cb, ud};
    struct sq_conn *c;
    int r;

    if ((r = sq_reader((struct sq_store *)st, &c, e)) < 0 ||
        (r = prepare(c, SQL_BUCKETS, &s, e)) < 0)
        return r;
    sqlite3_bind_int64(s, 1, sq_id_value(task_id));
    sqlite3_bind_int(s, 2, rows);
    sq_bind_text(s, 3, params);
    return each_row(c, s, bucket_row, &x, "reading band keys", e);
}

/* ---- clusters ---- */

struct clusters_args {
    const char *job_id;
    const struct dedup_member *m;
    size_t n;
};

static int clusters_save_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct clusters_args *a = arg;
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *drop = NULL;
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *put = NULL;
    sqlite3_int64 job = sq_id_value(a->job_id);
    int r;

    if ((r = prepare(c, SQL_CLUSTERS_DROP, &drop, e)) < 0 ||
        (r = prepare(c, SQL_CLUSTER_PUT, &put, e)) < 0)
        return r;
    sqlite3_bind_int64(drop, 1, job);
    if ((r = sq_step_done(c, drop, "replacing the job's clusters", e)) < 0)
        return r;
    for (size_t i = 0; i < a->n; i++) {
        sqlite3_reset(put);
        sqlite3_bind_int64(put, 1, job);
        sqlite3_bind_int64(put, 2, a->m[i].cluster);
        sqlite3_bind_int64(put, 3, a->m[i].sample_id);
        sqlite3_bind_double(put, 4, a->m[i].similarity);
        if (sqlite3_step(put) != SQLITE_DONE)
            return sq_error(e, c->db, "storing the job's clusters");
    }
    return 0;
}

int sq_dedup_clusters_save(struct store *st, const char *job_id, const struct dedup_member *m,
                           size_t n, struct err *e)
{
    struct clusters_args a = {job_id, m, n};
    return sq_write((struct sq_store *)st, clusters_save_fn, &a, e);
}

struct list_ctx {
    store_dedup_member_cb cb;
    void *ud;
};

static int member_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct list_ctx *x = ud;
    struct dedup_listed m = {
        .cluster = sqlite3_column_int64(s, 0),
        .similarity = sqlite3_column_double(s, 2),
        .input = (const char *)sqlite3_column_text(s, 3),
        .tags = (const char *)sqlite3_column_text(s, 4),
        .rating_score =
            sqlite3_column_type(s, 5) == SQLITE_NULL ? NAN : sqlite3_column_double(s, 5),
        .created_at = sqlite3_column_int64(s, 6),
    };
    sq_col_id(s, 1, m.sample_id);
    return x->cb(x->ud, &m, e);
}

int sq_dedup_clusters_list(struct store *st, const char *job_id, int64_t after_cluster,
                           size_t limit, store_dedup_member_cb cb, void *ud, struct err *e)
{
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
    struct list_ctx x = {cb, ud};
    struct sq_conn *c;
    int r;

    if ((r = sq_reader((struct sq_store *)st, &c, e)) < 0 ||
        (r = prepare(c, SQL_CLUSTERS, &s, e)) < 0)
        return r;
    sqlite3_bind_int64(s, 1, sq_id_value(job_id));
    sqlite3_bind_int64(s, 2, after_cluster);
    sqlite3_bind_int64(s, 3, limit ? (sqlite3_int64)limit : ((sqlite3_int64)1 << 53));
    return each_row(c, s, member_row, &x, "listing the job's clusters", e);
}
