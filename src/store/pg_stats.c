/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: statistics of a task's samples (store_stats), with the SQLite backend's
 * figures (sqlite_stats.c), computed by the database rather than in C:
 * - the figures: the total, what the model calls used, the length distributions (nearest-rank
 *   percentiles are percentile_disc's definition) and the input hashes (distinct ones counted);
 * - every key of every dimension of the samples, and the ratings by kind and score, in one
 *   GROUPING SETS pass (a hash table per set, one scan of the task's rows);
 * - the tags, from sample_tags.
 * The three statements run in one REPEATABLE READ transaction, so they read one snapshot: the
 * figures and the keys always agree.
 *
 * A rating's kind is its JSON "type" (the store holds ratings as the server wrote them, valid
 * JSON). Memory: the keys' rows of one result (at most STATS_MAX_KEYS reported per dimension,
 * the samples of later keys counted in keys_dropped).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/banned.h"

static const char SQL_FIGURES[] =
    "SELECT count(*), count(total_tokens),"
    " sum(input_tokens) FILTER (WHERE total_tokens IS NOT NULL),"
    " sum(output_tokens) FILTER (WHERE total_tokens IS NOT NULL), sum(total_tokens),"
    " count(cost), sum(cost),"
    " count(input_chars), percentile_disc(0.5) WITHIN GROUP (ORDER BY input_chars),"
    " percentile_disc(0.9) WITHIN GROUP (ORDER BY input_chars),"
    " percentile_disc(0.99) WITHIN GROUP (ORDER BY input_chars), max(input_chars),"
    " sum(input_chars),"
    " count(output_chars), percentile_disc(0.5) WITHIN GROUP (ORDER BY output_chars),"
    " percentile_disc(0.9) WITHIN GROUP (ORDER BY output_chars),"
    " percentile_disc(0.99) WITHIN GROUP (ORDER BY output_chars), max(output_chars),"
    " sum(output_chars),"
    " count(input_hash), count(DISTINCT input_hash)"
    " FROM samples WHERE task_id = $1";
enum { FIG_INPUT = 7, FIG_OUTPUT = 13, FIG_HASHED = 19 };

/* The grouping columns, in enum stats_dim order, then the rating's kind and score. */
#define KEY_COLUMNS                                                                         \
    "topic_key, session_id, input_source_type, input_model, input_provider, output_model, " \
    "output_provider, prompt_method"
#define KEY_GROUPS                                                                      \
    "(topic_key), (session_id), (input_source_type), (input_model), (input_provider), " \
    "(output_model), (output_provider), (prompt_method), (kind, rating_score)"
#define KEY_ARGS     10
#define RATING_GROUP ((1 << KEY_ARGS) - 1 - 3)

/* kind: -1 unrated, 0 five-star, 1 pass/fail (either kind), 2 another type */
static const char SQL_KEYS[] =
    "SELECT GROUPING(" KEY_COLUMNS ", kind, rating_score), coalesce(" KEY_COLUMNS "),"
    " kind, rating_score, count(*), count(total_tokens),"
    " sum(input_tokens) FILTER (WHERE total_tokens IS NOT NULL),"
    " sum(output_tokens) FILTER (WHERE total_tokens IS NOT NULL), sum(total_tokens),"
    " count(cost), sum(cost)"
    " FROM (SELECT *, CASE WHEN rating IS NULL OR rating_score IS NULL THEN -1"
    "  ELSE CASE rating::json->>'type' WHEN 'five_star' THEN 0 WHEN 'pass_fail' THEN 1"
    "  WHEN 'pass_fail_critical' THEN 1 ELSE 2 END END AS kind"
    "  FROM samples WHERE task_id = $1) s"
    " GROUP BY GROUPING SETS (" KEY_GROUPS ")";
static const char SQL_TAGS[] =
    "SELECT tag, count(*) FROM sample_tags WHERE task_id = $1 GROUP BY tag";

static double col_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

/* A stats_count from 7 columns from col: count, with_usage, the three token sums, with_cost,
 * cost. */
static struct stats_count count_read(const PGresult *r, int row, int col)
{
    return (struct stats_count){
        .count = pg_col_int(r, row, col),
        .with_usage = pg_col_int(r, row, col + 1),
        .input_tokens = pg_col_int(r, row, col + 2),
        .output_tokens = pg_col_int(r, row, col + 3),
        .total_tokens = pg_col_int(r, row, col + 4),
        .with_cost = pg_col_int(r, row, col + 5),
        .cost = col_double(r, row, col + 6),
    };
}

/* A length distribution from 6 columns from col: n, p50, p90, p99, max, sum. */
static void lengths_read(const PGresult *r, int col, struct stats_lengths *l)
{
    l->n = pg_col_int(r, 0, col);
    l->p50 = pg_col_int(r, 0, col + 1);
    l->p90 = pg_col_int(r, 0, col + 2);
    l->p99 = pg_col_int(r, 0, col + 3);
    l->max = pg_col_int(r, 0, col + 4);
    l->mean = l->n ? (double)pg_col_int(r, 0, col + 5) / (double)l->n : 0;
}

static int figures(struct pg_conn *c, struct pg_params *p, struct store_stats *st, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_run(c, SQL_FIGURES, p, &res, "reading statistics", e);

    if (r < 0)
        return r;
    st->total = pg_col_int(res, 0, 0);
    st->usage = count_read(res, 0, 0);
    st->usage.count = st->total;
    lengths_read(res, FIG_INPUT, &st->input_chars);
    lengths_read(res, FIG_OUTPUT, &st->output_chars);
    st->hashed = pg_col_int(res, 0, FIG_HASHED);
    st->repeats = st->hashed - pg_col_int(res, 0, FIG_HASHED + 1);
    return 0;
}

/* Samples of one rating kind and score, counted as sqlite_stats.c's rating_add does. */
static void rating_add(struct store_stats *st, int64_t kind, bool has_score, double score,
                       int64_t n)
{
    if (kind < 0 || !has_score)
        st->unrated += n;
    else if (kind == 0 && score >= 1 && score <= 5 && score == floor(score))
        st->five_star[(int)score - 1] += n;
    else if (kind == 1 && score == 5)
        st->pass += n;
    else if (kind == 1 && score == 1)
        st->fail += n;
    else if (kind == 1 && score == 0)
        st->critical += n;
    else
        st->other_rating += n;
}

/* The dimension a GROUPING() mask names: the one argument it groups by; -1: the ratings. */
static int mask_dim(int64_t mask)
{
    for (int d = 0; d <= STATS_PROMPT_METHOD; d++)
        if (mask == (((1 << KEY_ARGS) - 1) & ~(1 << (KEY_ARGS - 1 - d))))
            return d;
    return -1;
}

/* Reports a key of dim unless the dimension is full (a key, NULL or not, counts once). */
static int key_report(struct store_stats *st, int64_t *kept, enum stats_dim dim, const char *key,
                      struct stats_count *c, store_stats_cb cb, void *ud, struct err *e)
{
    if (dim == STATS_TOPIC || dim == STATS_SESSION || dim == STATS_TAG)
        *c = (struct stats_count){.count = c->count}; /* counts alone, as documented */
    if (key && kept[dim] >= STATS_MAX_KEYS) {
        st->keys_dropped += c->count;
        return 0;
    }
    kept[dim] += key != NULL;
    return cb(ud, dim, key, c, e);
}

static int keys(struct pg_conn *c, struct pg_params *p, struct store_stats *st, int64_t *kept,
                store_stats_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_run(c, SQL_KEYS, p, &res, "reading statistics", e);

    for (int i = 0, n = r < 0 ? 0 : PQntuples(res); i < n && r == 0; i++) {
        int dim = mask_dim(pg_col_int(res, i, 0));
        struct stats_count k = count_read(res, i, 4);
        if (pg_col_int(res, i, 0) == RATING_GROUP)
            rating_add(st, pg_col_int(res, i, 2), !PQgetisnull(res, i, 3), col_double(res, i, 3),
                       k.count);
        else if (dim >= 0)
            r = key_report(st, kept, (enum stats_dim)dim, pg_col_text(res, i, 1, NULL), &k, cb, ud,
                           e);
    }
    return r;
}

static int tags(struct pg_conn *c, struct pg_params *p, struct store_stats *st, int64_t *kept,
                store_stats_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    int r = pg_run(c, SQL_TAGS, p, &res, "reading statistics", e);

    for (int i = 0, n = r < 0 ? 0 : PQntuples(res); i < n && r == 0; i++) {
        struct stats_count k = {.count = pg_col_int(res, i, 1)};
        r = key_report(st, kept, STATS_TAG, pg_col_text(res, i, 0, NULL), &k, cb, ud, e);
    }
    return r;
}

int pg_stats(struct store *s, const char *task_id, struct store_stats *ret, store_stats_cb cb,
             void *ud, struct err *e)
{
    struct pg_store *pst = (struct pg_store *)s;
    int64_t kept[STATS_DIMS] = {0};
    struct store_stats st = {0};
    struct pg_params p = {0};
    struct pg_conn *c;
    int r = pg_acquire(pst, &c, e);

    if (r)
        return r;
    pg_param_id(&p, task_id);
    if ((r = pg_exec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "reading statistics",
                     e)) == 0 &&
        (r = figures(c, &p, &st, e)) == 0 && (r = keys(c, &p, &st, kept, cb, ud, e)) == 0 &&
        (r = tags(c, &p, &st, kept, cb, ud, e)) == 0)
        r = pg_exec(c, "COMMIT", "reading statistics", e);
    pg_release(pst, c); /* rolls back what a failure left open */
    if (r == 0)
        *ret = st;
    return r;
}
