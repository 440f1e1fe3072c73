/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: samples (TaskRuns with their output), with the SQLite backend's semantics
 * and errors (sqlite_runs.c). Tags live twice, as a JSON list in the sample row and as rows of
 * sample_tags, written together in one transaction; a sample's deletion drops its tag rows by
 * trigger. Listing builds its SQL from the filter, numbering only the parameters it uses, and
 * runs it unprepared (its text differs per filter). Topic key prefixes compare bytewise (the "C"
 * collation), as SQLite does.
 *
 * run_insert_async has no writer thread to queue on yet: it writes on the calling thread, calls
 * cb with the outcome before returning, and returns 0 (the write was taken, as a queued one is).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/jsonw.h"
#include "util/banned.h"

#define RUN_COLUMNS PG_RUN_COLUMNS

static const char SQL_RUN_INSERT[] =
    "INSERT INTO samples (" PG_RUN_INSERT_COLUMNS ") VALUES ($1, $2, $3, $4, $5, "
    "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, "
    "$25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36)";
static const char SQL_TAG_INSERT[] = "INSERT INTO sample_tags (task_id, tag, sample_id) "
                                     "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
static const char SQL_TAG_DELETE[] =
    "DELETE FROM sample_tags WHERE task_id = $2 AND sample_id = $1 AND tag IN "
    "(SELECT json_array_elements_text(tags::json) FROM samples WHERE id = $1)";
static const char SQL_RUN_GET[] =
    "SELECT " RUN_COLUMNS " FROM samples WHERE id = $1 AND task_id = $2";
static const char SQL_RUN_LOCK[] =
    "SELECT 1 FROM samples WHERE id = $1 AND task_id = $2 FOR UPDATE";
static const char SQL_RUN_SET_RATING[] =
    "UPDATE samples SET rating = $3, rating_score = $4 WHERE id = $1 AND task_id = $2";
static const char SQL_RUN_SET_TAGS[] =
    "UPDATE samples SET tags = $3 WHERE id = $1 AND task_id = $2";
static const char SQL_RUN_SET_REPAIR[] =
    "UPDATE samples SET repaired_output = $3 WHERE id = $1 AND task_id = $2";
static const char SQL_RUN_SET_REPAIR_INSTRUCTIONS[] =
    "UPDATE samples SET repair_instructions = $3 WHERE id = $1 AND task_id = $2";
static const char SQL_RUN_DELETE[] = "DELETE FROM samples WHERE id = $1 AND task_id = $2";
/* Each stored sample whose hash is asked for once, at the hash's first place in the list. */
static const char SQL_RUN_BY_HASH[] =
    "SELECT s.input_hash, s.id, s.input FROM samples s JOIN"
    " (SELECT h, min(pos) AS pos FROM unnest($2::bigint[]) WITH ORDINALITY AS w(h, pos)"
    "  GROUP BY h) w ON s.input_hash = w.h WHERE s.task_id = $1 ORDER BY w.pos, s.id";

static void param_double(struct pg_params *p, struct pg_num_text *t, double v)
{
    if (isnan(v) || t->n == (int)(sizeof(t->v) / sizeof(t->v[0]))) {
        pg_param_text(p, NULL);
        return;
    }
    snprintf(t->v[t->n], sizeof(t->v[0]), "%.17g", v);
    pg_param_text(p, t->v[t->n++]);
}

static void param_opt_int(struct pg_params *p, int64_t v)
{
    if (v < 0)
        pg_param_text(p, NULL);
    else
        pg_param_int(p, v);
}

/* Code points of UTF-8 text (the store holds valid UTF-8 only). */
static int64_t utf8_chars(const char *t)
{
    int64_t n = 0;
    for (const unsigned char *q = (const unsigned char *)t; q && *q; q++)
        n += (*q & 0xC0) != 0x80;
    return n;
}

static struct pg_key run_key(const char *task_id, const char *run_id)
{
    return (struct pg_key){.kind = "sample",
                           .id = run_id,
                           .parent_kind = "task",
                           .parent_id = task_id,
                           .field = "run_id"};
}

int pg_tag_insert_rows(struct pg_conn *c, const char *task_id, const char *run_id,
                       const char *const *tags, size_t n, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        struct pg_params p = {0};
        _cleanup_result_ PGresult *res = NULL;
        int r;

        pg_param_id(&p, task_id);
        pg_param_text(&p, tags[i]);
        pg_param_id(&p, run_id);
        if ((r = pg_run(c, SQL_TAG_INSERT, &p, &res, "saving tags", e)) < 0)
            return r;
    }
    return 0;
}

void pg_run_params(struct pg_params *p, struct pg_num_text *t, const struct run *r,
                   const char *tags)
{
    pg_param_id(p, r->id);
    pg_param_id(p, r->task_id);
    pg_param_int(p, r->created_at);
    pg_param_text(p, r->created_by);
    pg_param_text(p, r->input);
    pg_param_text(p, r->input_source_type);
    pg_param_text(p, r->input_source ? r->input_source : "{}");
    pg_param_id(p, r->output_id);
    pg_param_int(p, r->output_created_at);
    pg_param_text(p, r->output);
    pg_param_text(p, r->output_source_type);
    pg_param_text(p, r->output_source ? r->output_source : "{}");
    pg_param_text(p, r->rating);
    param_double(p, t, r->rating_score);
    pg_param_text(p, r->repair_instructions);
    pg_param_text(p, r->repaired_output);
    pg_param_text(p, r->intermediate_outputs ? r->intermediate_outputs : "{}");
    pg_param_text(p, tags);
    pg_param_text(p, r->session_id);
    pg_param_text(p, r->topic_key ? r->topic_key : "");
    param_opt_int(p, r->input_tokens);
    param_opt_int(p, r->output_tokens);
    param_opt_int(p, r->total_tokens);
    param_double(p, t, r->cost);
    if (r->job_id) {
        pg_param_int(p, r->job_id);
        pg_param_int(p, r->job_item);
    } else {
        pg_param_text(p, NULL);
        pg_param_text(p, NULL);
    }
    pg_param_text(p, r->judge_rating);
    param_double(p, t, r->judge_rating ? r->judge_score : NAN);
    /* derived */
    if (r->input_hash)
        pg_param_int(p, r->input_hash);
    else
        pg_param_text(p, NULL);
    pg_param_int(p, r->input_chars > 0 ? r->input_chars : utf8_chars(r->input));
    pg_param_int(p, r->output_chars > 0 ? r->output_chars : utf8_chars(r->output));
    pg_param_text(p, r->input_model);
    pg_param_text(p, r->input_provider);
    pg_param_text(p, r->output_model);
    pg_param_text(p, r->output_provider);
    pg_param_text(p, r->prompt_method);
}

static int run_insert_one(struct pg_conn *c, const struct run *r, struct err *e)
{
    _cleanup_free_ char *made =
        r->tags ? NULL : jsonw_string_list(r->tag_list, r->ntags, 1024 * 1024);
    const char *tags = r->tags ? r->tags : made;
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    struct pg_num_text t = {0};
    int rc;

    if (!tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    pg_run_params(&p, &t, r, tags);
    if ((rc = pg_run(c, SQL_RUN_INSERT, &p, &res, "saving a sample", e)) < 0) {
        /* the messages of the SQLite backend */
        if (rc == HE_NOT_FOUND) {
            err_clear(e);
            return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", r->task_id);
        }
        if (rc == HE_CONFLICT && r->job_id) {
            err_clear(e);
            return err_set(e, HE_CONFLICT, NULL, "job %lld item %lld already has a sample",
                           (long long)r->job_id, (long long)r->job_item);
        }
        return rc;
    }
    return pg_tag_insert_rows(c, r->task_id, r->id, r->tag_list, r->ntags, e);
}

int pg_run_insert_rows(struct pg_conn *c, struct run *const *runs, size_t n, struct err *e)
{
    int r = 0;

    for (size_t i = 0; i < n && r == 0; i++)
        r = run_insert_one(c, runs[i], e);
    return r;
}

/* fn(c, arg) inside one transaction on a borrowed connection: all or nothing. */
int pg_transact(struct store *s, int (*fn)(struct pg_conn *c, void *arg, struct err *e), void *arg,
                const char *what, struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    struct pg_conn *c;
    int r = pg_acquire(st, &c, e);

    if (r)
        return r;
    if ((r = pg_exec(c, "BEGIN", what, e)) == 0 && (r = fn(c, arg, e)) == 0)
        r = pg_exec(c, "COMMIT", what, e);
    pg_release(st, c); /* rolls back what a failure left open */
    return r;
}

struct run_batch {
    struct run *const *runs;
    size_t n;
};

static int run_insert_fn(struct pg_conn *c, void *arg, struct err *e)
{
    struct run_batch *b = arg;
    return pg_run_insert_rows(c, b->runs, b->n, e);
}

int pg_run_insert(struct store *s, struct run *const *runs, size_t n, struct err *e)
{
    struct run_batch b = {runs, n};

    if (n == 0)
        return 0;
    return pg_transact(s, run_insert_fn, &b, "saving samples", e);
}

int pg_run_insert_async(struct store *s, struct run *const *runs, size_t n, store_done_cb cb,
                        void *ud, struct err *e)
{
    struct err done;
    int r;

    if (!cb)
        return pg_run_insert(s, runs, n, e);
    err_clear(&done);
    r = pg_run_insert(s, runs, n, &done);
    cb(ud, r, r < 0 ? &done : NULL);
    return 0;
}

static double col_opt_double(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NAN : strtod(PQgetvalue(r, row, col), NULL);
}

static int64_t col_opt_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? -1 : pg_col_int(r, row, col);
}

/* Fills run from a row of RUN_COLUMNS; mem NULL: views into the result. */
static void run_fill(const PGresult *res, int i, struct run *r, struct arena *mem)
{
    memset(r, 0, sizeof(*r));
    pg_col_id(res, i, 0, r->id);
    pg_col_id(res, i, 1, r->task_id);
    r->created_at = pg_col_int(res, i, 2);
    r->created_by = pg_col_text(res, i, 3, mem);
    r->input = pg_col_text(res, i, 4, mem);
    r->input_source_type = pg_col_text(res, i, 5, mem);
    r->input_source = pg_col_text(res, i, 6, mem);
    pg_col_id(res, i, 7, r->output_id);
    r->output_created_at = pg_col_int(res, i, 8);
    r->output = pg_col_text(res, i, 9, mem);
    r->output_source_type = pg_col_text(res, i, 10, mem);
    r->output_source = pg_col_text(res, i, 11, mem);
    r->rating = pg_col_text(res, i, 12, mem);
    r->rating_score = col_opt_double(res, i, 13);
    r->repair_instructions = pg_col_text(res, i, 14, mem);
    r->repaired_output = pg_col_text(res, i, 15, mem);
    r->intermediate_outputs = pg_col_text(res, i, 16, mem);
    r->tags = pg_col_text(res, i, 17, mem);
    r->session_id = pg_col_text(res, i, 18, mem);
    r->topic_key = pg_col_text(res, i, 19, mem);
    r->input_tokens = col_opt_int(res, i, 20);
    r->output_tokens = col_opt_int(res, i, 21);
    r->total_tokens = col_opt_int(res, i, 22);
    r->cost = col_opt_double(res, i, 23);
    r->job_id = pg_col_int(res, i, 24);
    r->job_item = col_opt_int(res, i, 25);
    r->judge_rating = pg_col_text(res, i, 26, mem);
    r->judge_score = col_opt_double(res, i, 27);
}

int pg_run_get(struct store *s, const char *task_id, const char *run_id, struct run *ret,
               struct err *e)
{
    struct pg_key k = run_key(task_id, run_id);
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    struct arena mem = {0};
    int r;

    pg_param_id(&p, run_id);
    pg_param_id(&p, task_id);
    if ((r = pg_query((struct pg_store *)s, SQL_RUN_GET, &p, &res, "reading the sample", e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return pg_not_found(e, &k);
    if (pg_row_reserve(res, 0, &mem) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    run_fill(res, 0, ret, &mem); /* reserved: the copies cannot fail */
    ret->mem = mem;
    return 0;
}

/* Whether f sets a minimum on the judge's score (NaN or 0, as a zeroed filter has: none). */
static bool judge_minimum(const struct run_filter *f)
{
    return !isnan(f->min_judge_rating) && f->min_judge_rating > 0;
}

/* The listing's SQL for f and its parameters, numbered in the order they are used. */
struct list_query {
    struct buf sql;
    struct pg_params p;
    struct pg_num_text t;
};

/* Appends text with "$?" replaced by the next parameter's number, and that parameter. */
static void cond(struct list_query *q, const char *text)
{
    const char *at = strstr(text, "$?");
    char num[16];

    if (!at) {
        buf_adds(&q->sql, text);
        return;
    }
    buf_add(&q->sql, text, (size_t)(at - text));
    snprintf(num, sizeof(num), "$%d", q->p.n + 1);
    buf_adds(&q->sql, num);
    buf_adds(&q->sql, at + 2);
}

/* A split part lists in the part's order, so its cursor is the cursor run's position there.
 * A person's rating and the judge's are separate columns and separate conditions. */
static void run_list_sql(const struct run_filter *f, struct list_query *q)
{
    bool part = f->split_id && f->split_name;
    char split[8], name[8];

    buf_adds(&q->sql, "SELECT " RUN_COLUMNS " FROM samples");
    if (part) {
        snprintf(split, sizeof(split), "$%d", q->p.n + 1);
        snprintf(name, sizeof(name), "$%d", q->p.n + 2);
        buf_adds(&q->sql,
                 " JOIN dataset_split_runs m ON m.sample_id = samples.id AND m.split_id = ");
        buf_adds(&q->sql, split);
        buf_adds(&q->sql, " AND m.part = ");
        buf_adds(&q->sql, name);
        pg_param_id(&q->p, f->split_id);
        pg_param_text(&q->p, f->split_name);
    }
    cond(q, " WHERE task_id = $?");
    pg_param_id(&q->p, f->task_id);
    if (f->split_id && !part) {
        cond(q, " AND id IN (SELECT sample_id FROM dataset_split_runs WHERE split_id = $?)");
        pg_param_id(&q->p, f->split_id);
    }
    if (f->topic_prefix && *f->topic_prefix) {
        /* the lower bound uses the index; starts_with keeps exactly the prefix's keys */
        cond(q, " AND topic_key COLLATE \"C\" >= $?");
        pg_param_text(&q->p, f->topic_prefix);
        cond(q, " AND starts_with(topic_key, $?)");
        pg_param_text(&q->p, f->topic_prefix);
    }
    if (f->session_id) {
        cond(q, " AND session_id = $?");
        pg_param_text(&q->p, f->session_id);
    }
    if (f->tag) {
        cond(q, " AND id IN (SELECT sample_id FROM sample_tags WHERE task_id = samples.task_id "
                "AND tag = $?)");
        pg_param_text(&q->p, f->tag);
    }
    if (!isnan(f->min_rating)) {
        cond(q, " AND rating_score >= $?");
        param_double(&q->p, &q->t, f->min_rating);
    }
    if (judge_minimum(f)) {
        cond(q, " AND judge_score >= $?");
        param_double(&q->p, &q->t, f->min_judge_rating);
    }
    if (f->judged || f->rated_by_both)
        buf_adds(&q->sql, " AND judge_score IS NOT NULL");
    if (f->rated_by_both)
        buf_adds(&q->sql, " AND rating_score IS NOT NULL");
    if (f->source_type) {
        cond(q, " AND input_source_type = $?");
        pg_param_text(&q->p, f->source_type);
    }
    if (f->after_id && !f->best_first) {
        if (part) {
            cond(q, " AND m.pos > (SELECT pos FROM dataset_split_runs WHERE split_id = $1 AND "
                    "part = $2 AND sample_id = $?)");
        } else {
            cond(q, " AND id > $?");
        }
        pg_param_id(&q->p, f->after_id);
    }
    if (f->best_first) /* SQLite sorts NULL lowest: last when descending */
        buf_adds(&q->sql, " ORDER BY rating_score DESC NULLS LAST, repaired_output IS NOT NULL "
                          "DESC, id DESC");
    else
        buf_adds(&q->sql, part ? " ORDER BY m.pos" : " ORDER BY id");
    if (f->limit) {
        cond(q, " LIMIT $?");
        pg_param_int(&q->p, (int64_t)f->limit);
    }
}

int pg_run_list(struct store *s, const struct run_filter *f, store_run_cb cb, void *ud,
                struct err *e)
{
    struct pg_store *st = (struct pg_store *)s;
    struct list_query q = {0};
    struct pg_conn *c;
    PGresult *res;
    int r;

    buf_init(&q.sql, 8192);
    run_list_sql(f, &q);
    if (q.p.overflow || !q.sql.data) {
        buf_done(&q.sql);
        return err_set(e, HE_INTERNAL, NULL, "listing samples: the query is too long");
    }
    if ((r = pg_acquire(st, &c, e)) < 0) {
        buf_done(&q.sql);
        return r;
    }
    res = PQexecParams(c->db, q.sql.data, q.p.n, NULL, q.p.v, NULL, NULL, 0);
    buf_done(&q.sql);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        r = pg_error(e, c, res, "listing samples");
        PQclear(res);
        pg_release(st, c);
        return r;
    }
    pg_release(st, c);
    for (int i = 0, n = PQntuples(res); i < n && r == 0; i++) {
        struct run row;
        run_fill(res, i, &row, NULL);
        r = cb(ud, &row, e);
    }
    PQclear(res);
    return r < 0 ? r : 0;
}

/* One statement of a sample's update, with the sample's id and task as $1 and $2. */
static int update_step(struct pg_conn *c, const char *sql, struct pg_params *p, const char *what,
                       struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    return pg_run(c, sql, p, &res, what, e);
}

static void update_key(struct pg_params *p, const struct run_update *u)
{
    pg_param_id(p, u->run_id);
    pg_param_id(p, u->task_id);
}

static int run_update_tags(struct pg_conn *c, const struct run_update *u, struct err *e)
{
    _cleanup_free_ char *tags = jsonw_string_list(u->tag_list, u->ntags, 1024 * 1024);
    struct pg_params d = {0}, p = {0};
    int r;

    if (!tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    update_key(&d, u);
    update_key(&p, u);
    pg_param_text(&p, tags);
    /* the old tags' rows go first, found through the old list */
    if ((r = update_step(c, SQL_TAG_DELETE, &d, "tagging the sample", e)) < 0 ||
        (r = update_step(c, SQL_RUN_SET_TAGS, &p, "tagging the sample", e)) < 0)
        return r;
    return pg_tag_insert_rows(c, u->task_id, u->run_id, u->tag_list, u->ntags, e);
}

static int run_update_fn(struct pg_conn *c, void *arg, struct err *e)
{
    const struct run_update *u = arg;
    struct pg_key k = run_key(u->task_id, u->run_id);
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    update_key(&p, u);
    if ((r = pg_run(c, SQL_RUN_LOCK, &p, &res, "reading the sample", e)) < 0)
        return r;
    if (PQntuples(res) == 0)
        return pg_not_found(e, &k);
    if (u->set_rating) {
        struct pg_params q = {0};
        struct pg_num_text t = {0};
        update_key(&q, u);
        pg_param_text(&q, u->rating);
        param_double(&q, &t, u->rating ? u->rating_score : NAN);
        if ((r = update_step(c, SQL_RUN_SET_RATING, &q, "rating the sample", e)) < 0)
            return r;
    }
    if (u->set_repaired_output) {
        struct pg_params q = {0};
        update_key(&q, u);
        pg_param_text(&q, u->repaired_output);
        if ((r = update_step(c, SQL_RUN_SET_REPAIR, &q, "repairing the sample", e)) < 0)
            return r;
    }
    if (u->set_repair_instructions) {
        struct pg_params q = {0};
        update_key(&q, u);
        pg_param_text(&q, u->repair_instructions);
        if ((r = update_step(c, SQL_RUN_SET_REPAIR_INSTRUCTIONS, &q, "repairing the sample", e)) <
            0)
            return r;
    }
    return u->set_tags ? run_update_tags(c, u, e) : 0;
}

int pg_run_update(struct store *s, const struct run_update *u, struct err *e)
{
    return pg_transact(s, run_update_fn, (void *)u, "updating the sample", e);
}

int pg_run_delete(struct store *s, const char *task_id, const char *run_id, struct err *e)
{
    struct pg_key k = run_key(task_id, run_id);
    _cleanup_result_ PGresult *res = NULL;
    struct pg_params p = {0};
    int r;

    pg_param_id(&p, run_id);
    pg_param_id(&p, task_id);
    if ((r = pg_query((struct pg_store *)s, SQL_RUN_DELETE, &p, &res, "deleting the sample", e)) <
        0)
        return r;
    return pg_changed(res, &k, e);
}

int pg_run_find_by_hash(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                        store_run_hash_cb cb, void *ud, struct err *e)
{
    _cleanup_result_ PGresult *res = NULL;
    _cleanup_free_ char *list = NULL;
    struct pg_params p = {0};
    size_t at = 0;
    int r;

    if (n == 0)
        return 0;
    if (!(list = malloc(n * 22 + 3)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    list[at++] = '{';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(list + at, 23, "%s%lld", i ? "," : "", (long long)hashes[i]);
    list[at++] = '}';
    list[at] = '\0';
    pg_param_id(&p, task_id);
    pg_param_text(&p, list);
    if ((r = pg_query((struct pg_store *)s, SQL_RUN_BY_HASH, &p, &res,
                      "finding samples by their input", e)) < 0)
        return r;
    for (int i = 0, rows = PQntuples(res); i < rows; i++) {
        char id[ID_LEN];
        pg_col_id(res, i, 1, id);
        if ((r = cb(ud, pg_col_int(res, i, 0), id, pg_col_text(res, i, 2, NULL), e)) < 0)
            return r;
    }
    return 0;
}
