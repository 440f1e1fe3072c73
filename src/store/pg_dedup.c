/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: near-duplicate signatures, band keys and clusters (migration 5), with the
 * SQLite backend's semantics (sqlite_dedup.c).
 *
 * A sample has at most one signature (sample_signatures, keyed by the sample, with the params it
 * was made with) and, per band-rows value, its band keys (sample_bands, keyed by task, rows, band
 * and key, so the samples that share a key are one index range). Storing a signature again
 * replaces it and drops its old band keys in the same transaction. Deleting a sample deletes both
 * (a foreign key and a trigger). A job's clusters (duplicate_clusters) go with the job.
 *
 * Writes are multi-row: a slice's signatures in one INSERT ... SELECT over arrays, its band keys
 * and a job's clusters in statements of PG_ARRAY_ROWS rows each. A signature whose sample was
 * deleted meanwhile is left out (the samples are locked FOR KEY SHARE, so none can go between
 * the check and the insert), and so are its band keys, as SQLite's foreign key does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/cleanup.h"
#include "util/banned.h"

static const char SQL_COUNT[] = "SELECT count(*) FROM samples WHERE task_id = $1";
/* $3 params, $4 band rows, $5 the limit (NULL: all) */
static const char SQL_SCAN[] =
    "SELECT s.id, CASE WHEN g.sample_id IS NULL THEN s.input END, g.sig, "
    "g.sample_id IS NOT NULL AND EXISTS (SELECT 1 FROM sample_bands b "
    "WHERE b.sample_id = s.id AND b.rows = $4) "
    "FROM samples s LEFT JOIN sample_signatures g ON g.sample_id = s.id AND g.params = $3 "
    "WHERE s.task_id = $1 AND s.id > $2 ORDER BY s.id LIMIT $5";
static const char SQL_BANDS_DROP[] = "DELETE FROM sample_bands WHERE sample_id = ANY($1::bigint[])";
/* $1 sample ids, $2 their signatures in hex (the last of an id wins); the stored ones return */
static const char SQL_SIGS_PUT[] =
    "WITH v AS (SELECT DISTINCT ON (id) id, sig FROM unnest($1::bigint[], $2::text[])"
    "  WITH ORDINALITY AS v(id, sig, pos) ORDER BY id, pos DESC),"
    " live AS (SELECT s.id FROM samples s WHERE s.id = ANY($1::bigint[]) FOR KEY SHARE)"
    " INSERT INTO sample_signatures (sample_id, task_id, params, sig)"
    " SELECT v.id, $3, $4, decode(v.sig, 'hex') FROM v JOIN live ON live.id = v.id"
    " ON CONFLICT (sample_id) DO UPDATE SET task_id = excluded.task_id,"
    "  params = excluded.params, sig = excluded.sig"
    " RETURNING sample_id";
static const char SQL_BANDS_PUT[] =
    "INSERT INTO sample_bands (task_id, rows, band, key, sample_id)"
    " SELECT $1, $2, u.band, u.key, u.id FROM unnest($3::integer[], $4::bigint[], $5::bigint[])"
    "  AS u(band, key, id) ON CONFLICT DO NOTHING";
static const char SQL_JOB_PROGRESS[] =
    "UPDATE jobs SET total = $2, completed = $3, cursor = cursor + $4 WHERE id = $1";
static const char SQL_BUCKETS[] =
    "SELECT b.band, b.key, b.sample_id, g.sig, s.input FROM sample_bands b "
    "JOIN sample_signatures g ON g.sample_id = b.sample_id AND g.params = $3 "
    "JOIN samples s ON s.id = b.sample_id "
    "WHERE b.task_id = $1 AND b.rows = $2 AND EXISTS (SELECT 1 FROM sample_bands o "
    "WHERE o.task_id = b.task_id AND o.rows = b.rows AND o.band = b.band AND o.key = b.key "
    "AND o.sample_id <> b.sample_id) ORDER BY b.band, b.key, b.sample_id";
static const char SQL_CLUSTERS_DROP[] = "DELETE FROM duplicate_clusters WHERE job_id = $1";
static const char SQL_CLUSTERS_PUT[] =
    "INSERT INTO duplicate_clusters (job_id, cluster, sample_id, similarity)"
    " SELECT $1, u.cluster, u.id, u.similarity"
    " FROM unnest($2::bigint[], $3::bigint[], $4::float8[]) AS u(cluster, id, similarity)";
static const char SQL_CLUSTERS[] =
    "SELECT c.cluster, c.sample_id, c.similarity, s.input, s.tags, s.rating_score, "
    "s.created_at FROM duplicate_clusters c JOIN samples s ON s.id = c.sample_id "
    "WHERE c.job_id = $1 AND c.cluster > $2 AND c.cluster <= $2::bigint + $3::bigint "
    "ORDER BY c.cluster, c.sample_id";

/* Ends the n arrays of a statement's parameters into p; HE_NOMEM when one outgrew its bound. */
static int arrays_end(struct pg_array *a, int n, struct pg_params *p, struct err *e)
{
    for (int i = 0; i < n; i++) {
        const char *t = pg_array_end(&a[i]);
        if (!t)
            return err_set(e, HE_NOMEM, NULL, NULL);
        pg_param_text(p, t);
    }
    return 0;
}

static void arrays_done(struct pg_array *a, int n)
{
    for (int i = 0; i < n; i++)
        pg_array_done(&a[i]);
}

/* A BYTEA column as bytes (PQfreemem them); NULL with *ret_len 0 when NULL. */
static unsigned char *col_bytes(const PGresult *res, int i, int col, size_t *ret_len)
{
    unsigned char *b = NULL;

    *ret_len = 0;
    if (!PQgetisnull(res, i, col))
        b = PQunescapeBytea((const unsigned char *)PQgetvalue(res, i, col), ret_len);
    return b;
}

/* ---- scan ---- */

static int scan_total(struct pg_store *st, const char *task_id, int64_t *ret, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, task_id);
    if ((r = pg_query(st, SQL_COUNT, &p, &res, "counting the task's samples", e)) < 0)
        return r;
    *ret = pg_col_int(res, 0, 0);
    return 0;
}

int pg_dedup_scan(struct store *s, const struct dedup_scan *q, store_dedup_sample_cb cb, void *ud,
                  int64_t *ret_total, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    if (ret_total && (r = scan_total(st, q->task_id, ret_total, e)) < 0)
        return r;
    pg_param_id(&p, q->task_id);
    pg_param_int(&p, q->after);
    pg_param_text(&p, q->params);
    pg_param_int(&p, q->rows);
    if (q->limit)
        pg_param_int(&p, (int64_t)q->limit);
    else
        pg_param_text(&p, NULL);
    if ((r = pg_query(st, SQL_SCAN, &p, &res, "reading the task's signatures", e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n && r == 0; i++) {
        struct dedup_sample d = {
            .id = pg_col_int(res, i, 0),
            .input = pg_col_text(res, i, 1, NULL),
            .banded = PQgetvalue(res, i, 3)[0] == 't',
        };
        unsigned char *sig = col_bytes(res, i, 2, &d.sig_len);
        if (!sig && !PQgetisnull(res, i, 2))
            return err_set(e, HE_NOMEM, NULL, NULL);
        d.sig = sig;
        r = cb(ud, &d, e);
        PQfreemem(sig);
    }
    return r;
}

/* ---- save ---- */

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

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The slice's signatures, replacing their band keys; *ret_stored (n_stored, sorted, the caller
 * frees) the samples whose signature was stored (those still there). */
static int save_sigs(struct pg_conn *c, const struct dedup_save *w, int64_t **ret_stored,
                     size_t *ret_n, struct err *e)
{
    _cleanup_result_ PGresult *drop = NULL, *put = NULL;
    struct pg_params p = {0}, q = {0};
    struct pg_array a[2];
    int64_t *stored;
    int r, n;

    pg_array_init(&a[0]);
    pg_array_init(&a[1]);
    for (size_t i = 0; i < w->n; i++)
        if (w->items[i].sig) {
            pg_array_int(&a[0], w->items[i].sample_id);
            pg_array_hex(&a[1], w->items[i].sig, w->items[i].sig_len);
        }
    if ((r = arrays_end(a, 2, &p, e)) == 0) {
        q = p;
        pg_param_id(&q, w->task_id);
        pg_param_text(&q, w->params);
        p.n = 1;
        if ((r = pg_run(c, SQL_BANDS_DROP, &p, &drop, "replacing band keys", e)) == 0)
            r = pg_run(c, SQL_SIGS_PUT, &q, &put, "storing signatures", e);
    }
    arrays_done(a, 2);
    if (r < 0)
        return r;
    n = PQntuples(put);
    if (!(stored = malloc(((size_t)n + 1) * sizeof(*stored))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (int i = 0; i < n; i++)
        stored[i] = pg_col_int(put, i, 0);
    qsort(stored, (size_t)n, sizeof(*stored), i64_cmp);
    *ret_stored = stored;
    *ret_n = (size_t)n;
    return 0;
}

/* rows[0..n) in slices of PG_ARRAY_ROWS, in key order: the keys are hashes, and inserting them
 * sorted walks the index once instead of jumping across it for every row. */
static int save_bands(struct pg_conn *c, const struct dedup_save *w, struct band_row *rows,
                      size_t n, struct err *e)
{
    qsort(rows, n, sizeof(*rows), band_row_cmp);
    for (size_t at = 0; at < n; at += PG_ARRAY_ROWS) {
        size_t end = n - at > PG_ARRAY_ROWS ? at + PG_ARRAY_ROWS : n;
        _cleanup_result_ PGresult *res = NULL;
        struct pg_params p = {0};
        struct pg_array a[3];
        int r;

        for (int k = 0; k < 3; k++)
            pg_array_init(&a[k]);
        for (size_t i = at; i < end; i++) {
            pg_array_int(&a[0], rows[i].band);
            pg_array_int(&a[1], rows[i].key);
            pg_array_int(&a[2], rows[i].sample_id);
        }
        pg_param_id(&p, w->task_id);
        pg_param_int(&p, w->rows);
        if ((r = arrays_end(a, 3, &p, e)) == 0)
            r = pg_run(c, SQL_BANDS_PUT, &p, &res, "storing band keys", e);
        arrays_done(a, 3);
        if (r < 0)
            return r;
    }
    return 0;
}

static int save_progress(struct pg_conn *c, const struct dedup_save *w, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};

    pg_param_id(&p, w->job_id);
    pg_param_int(&p, w->total);
    pg_param_int(&p, w->completed);
    pg_param_int(&p, w->computed);
    return pg_run(c, SQL_JOB_PROGRESS, &p, &res, "recording the job's progress", e);
}

static int save_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct dedup_save *w = arg;
    _cleanup_free_ struct band_row *rows = calloc(w->n * (size_t)w->bands + 1, sizeof(*rows));
    _cleanup_free_ int64_t *stored = NULL;
    size_t n_rows = 0, n_stored = 0;
    int r;

    if (!rows)
        return err_set(e, HE_NOMEM, NULL, NULL);
    if ((r = save_sigs(c, w, &stored, &n_stored, e)) < 0)
        return r;
    for (size_t i = 0; i < w->n; i++) {
        const struct dedup_signed *d = &w->items[i];
        if (!d->keys ||
            (d->sig && !bsearch(&d->sample_id, stored, n_stored, sizeof(*stored), i64_cmp)))
            continue; /* no keys, or its sample is gone */
        for (int b = 0; b < w->bands; b++)
            rows[n_rows++] = (struct band_row){b, d->keys[b], d->sample_id};
    }
    if ((r = save_bands(c, w, rows, n_rows, e)) < 0)
        return r;
    return w->job_id ? save_progress(c, w, e) : 0;
}

int pg_dedup_save(struct store *s, const struct dedup_save *w, struct err *e)
{
    return pg_transact(s, save_fn, (void *)w, "storing signatures", e);
}

/* ---- buckets ---- */

int pg_dedup_buckets(struct store *s, const char *task_id, const char *params, int rows,
                     store_dedup_bucket_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, task_id);
    pg_param_int(&p, rows);
    pg_param_text(&p, params);
    if ((r = pg_query((struct pg_store *)s, SQL_BUCKETS, &p, &res, "reading band keys", e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n && r == 0; i++) {
        size_t len;
        unsigned char *sig = col_bytes(res, i, 3, &len);
        if (!sig)
            return err_set(e, HE_NOMEM, NULL, NULL);
        r = cb(ud, (int)pg_col_int(res, i, 0), pg_col_int(res, i, 1), pg_col_int(res, i, 2), sig,
               len, pg_col_text(res, i, 4, NULL), e);
        PQfreemem(sig);
    }
    return r;
}

/* ---- clusters ---- */

struct clusters_args {
    const char *job_id;
    const struct dedup_member *m;
    size_t n;
};

static int clusters_save_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct clusters_args *x = arg;
    _cleanup_result_ PGresult *drop = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, x->job_id);
    if ((r = pg_run(c, SQL_CLUSTERS_DROP, &p, &drop, "replacing the job's clusters", e)) < 0)
        return r;
    for (size_t at = 0; at < x->n; at += PG_ARRAY_ROWS) {
        size_t end = x->n - at > PG_ARRAY_ROWS ? at + PG_ARRAY_ROWS : x->n;
        _cleanup_result_ PGresult *res = NULL;
        struct pg_params q = p;
        struct pg_array a[3];

        for (int k = 0; k < 3; k++)
            pg_array_init(&a[k]);
        for (size_t i = at; i < end; i++) {
            pg_array_int(&a[0], x->m[i].cluster);
            pg_array_int(&a[1], x->m[i].sample_id);
            pg_array_double(&a[2], x->m[i].similarity);
        }
        if ((r = arrays_end(a, 3, &q, e)) == 0)
            r = pg_run(c, SQL_CLUSTERS_PUT, &q, &res, "storing the job's clusters", e);
        arrays_done(a, 3);
        if (r < 0)
            return r;
    }
    return 0;
}

int pg_dedup_clusters_save(struct store *s, const char *job_id, const struct dedup_member *m,
                           size_t n, struct err *e)
{
    struct clusters_args a = {job_id, m, n};
    return pg_transact(s, clusters_save_fn, &a, "storing the job's clusters", e);
}

int pg_dedup_clusters_list(struct store *s, const char *job_id, int64_t after_cluster, size_t limit,
                           store_dedup_member_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, job_id);
    pg_param_int(&p, after_cluster);
    pg_param_int(&p, limit ? (int64_t)limit : (int64_t)1 << 53);
    if ((r = pg_query((struct pg_store *)s, SQL_CLUSTERS, &p, &res, "listing the job's clusters",
                      e)) < 0)
        return r;
    for (int i = 0, n = PQntuples(res); i < n; i++) {
        struct dedup_listed m = {
            .cluster = pg_col_int(res, i, 0),
            .similarity = strtod(PQgetvalue(res, i, 2), NULL),
            .input = pg_col_text(res, i, 3, NULL),
            .tags = pg_col_text(res, i, 4, NULL),
            .rating_score = PQgetisnull(res, i, 5) ? NAN : strtod(PQgetvalue(res, i, 5), NULL),
            .created_at = pg_col_int(res, i, 6),
        };
        pg_col_id(res, i, 1, m.sample_id);
        if ((r = cb(ud, &m, e)) < 0)
            return r;
    }
    return 0;
}
