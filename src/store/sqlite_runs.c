/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: samples (TaskRuns with their output) and the topic tree.
 *
 * Tags live twice: as a JSON list in the sample row (what the API returns) and as rows of
 * sample_tags (what the tag filter uses), written together in one transaction. Listing builds
 * its SQL from the filter, with every value bound as a parameter.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/sqlite_int.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/jsonw.h"
#include "util/text.h"
#include "util/banned.h"

#define RUN_COLUMNS                                                                             \
    "id, task_id, created_at, created_by, input, input_source_type, input_source, output_id, "  \
    "output_created_at, output, output_source_type, output_source, rating, rating_score, "      \
    "repair_instructions, repaired_output, intermediate_outputs, tags, session_id, topic_key, " \
    "input_tokens, output_tokens, total_tokens, cost, job_id, job_item, judge_rating, judge_score"

static const char SQL_RUN_INSERT[] =
    "INSERT INTO samples (" RUN_COLUMNS ", input_hash, input_chars, output_chars, input_model, "
    "input_provider, output_model, output_provider, prompt_method) VALUES (?1, ?2, ?3, ?4, ?5, "
    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
    "?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36)";
static const char SQL_TAG_INSERT[] =
    "INSERT OR IGNORE INTO sample_tags (task_id, tag, sample_id) VALUES (?1, ?2, ?3)";
static const char SQL_TAG_DELETE[] =
    "DELETE FROM sample_tags WHERE task_id = ?2 AND sample_id = ?1 AND tag IN "
    "(SELECT value FROM json_each((SELECT tags FROM samples WHERE id = ?1)))";
static const char SQL_RUN_GET[] =
    "SELECT " RUN_COLUMNS " FROM samples WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_SET_RATING[] =
    "UPDATE samples SET rating = ?3, rating_score = ?4 WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_SET_TAGS[] =
    "UPDATE samples SET tags = ?3 WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_SET_REPAIR[] =
    "UPDATE samples SET repaired_output = ?3 WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_SET_REPAIR_INSTRUCTIONS[] =
    "UPDATE samples SET repair_instructions = ?3 WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_EXISTS[] = "SELECT 1 FROM samples WHERE id = ?1 AND task_id = ?2";
static const char SQL_RUN_DELETE[] = "DELETE FROM samples WHERE id = ?1 AND task_id = ?2";
/* The task's hashes in id order, read from samples_stats (no index is keyed by the hash: its
 * random keys would cost every import a random b-tree write per sample). */
static const char SQL_RUN_HASHES[] = "SELECT id, input_hash FROM samples INDEXED BY samples_stats"
                                     " WHERE task_id = ?1 AND input_hash IS NOT NULL";
static const char SQL_RUN_INPUT[] = "SELECT input FROM samples WHERE id = ?1";
static const char SQL_TOPIC_INSERT[] =
    "INSERT OR IGNORE INTO topics (task_id, parent_key, name, name_norm, created_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_TOPIC_LIST[] =
    "SELECT parent_key, name FROM topics WHERE task_id = ?1 ORDER BY id";
static const char SQL_TOPIC_COUNTS[] =
    "SELECT topic_key, count(*) FROM samples WHERE task_id = ?1 GROUP BY topic_key";

static char *tags_json(const char *const *tags, size_t n)
{
    return jsonw_string_list(tags, n, 1024 * 1024);
}

static void bind_opt_int(sqlite3_stmt *s, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_int64(s, i, v);
}

static void bind_opt_double(sqlite3_stmt *s, int i, double v)
{
    if (isnan(v))
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_double(s, i, v);
}

int sq_tag_insert_rows(struct sq_conn *c, sqlite3_int64 task_id, sqlite3_int64 run_id,
                       const char *const *tags, size_t n, struct err *e)
{
    sqlite3_stmt *s = sq_stmt(c, SQL_TAG_INSERT, e);

    if (!s)
        return e->code;
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, task_id);
        sqlite3_bind_text(s, 2, tags[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, run_id);
        if (sqlite3_step(s) != SQLITE_DONE) {
            sq_stmt_release(&s);
            return sq_error(e, c->db, "saving tags");
        }
    }
    sq_stmt_release(&s);
    return 0;
}

/* Code points of UTF-8 text (the store holds valid UTF-8 only). */
static int64_t utf8_chars(const char *t)
{
    int64_t n = 0;
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

static void bind_derived(sqlite3_stmt *s, const struct run *r)
{
    if (r->input_hash)
        sqlite3_bind_int64(s, 29, r->input_hash);
    else
        sqlite3_bind_null(s, 29);
    sqlite3_bind_int64(s, 30, r->input_chars > 0 ? r->input_chars : utf8_chars(r->input));
    sqlite3_bind_int64(s, 31, r->output_chars > 0 ? r->output_chars : utf8_chars(r->output));
    sq_bind_text(s, 32, r->input_model);
    sq_bind_text(s, 33, r->input_provider);
    sq_bind_text(s, 34, r->output_model);
    sq_bind_text(s, 35, r->output_provider);
    sq_bind_text(s, 36, r->prompt_method);
}

struct run_batch {
    struct run *const *runs;
    size_t n;
};

static int run_insert_one(struct sq_conn *c, sqlite3_stmt *s, const struct run *r, struct err *e)
{
    sqlite3_int64 id = sq_id_value(r->id), task = sq_id_value(r->task_id);
    _cleanup_free_ char *made = r->tags ? NULL : tags_json(r->tag_list, r->ntags);
    const char *tags = r->tags ? r->tags : made;
    int rc;

    if (!tags)
        return err_set(e, HE_NOMEM, NULL, NULL);
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, task);
    sqlite3_bind_int64(s, 3, r->created_at);
    sq_bind_text(s, 4, r->created_by);
    sq_bind_text(s, 5, r->input);
    sq_bind_text(s, 6, r->input_source_type);
    sq_bind_text(s, 7, r->input_source ? r->input_source : "{}");
    sqlite3_bind_int64(s, 8, sq_id_value(r->output_id));
    sqlite3_bind_int64(s, 9, r->output_created_at);
    sq_bind_text(s, 10, r->output);
    sq_bind_text(s, 11, r->output_source_type);
    sq_bind_text(s, 12, r->output_source ? r->output_source : "{}");
    sq_bind_text(s, 13, r->rating);
    bind_opt_double(s, 14, r->rating_score);
    sq_bind_text(s, 15, r->repair_instructions);
    sq_bind_text(s, 16, r->repaired_output);
    sq_bind_text(s, 17, r->intermediate_outputs ? r->intermediate_outputs : "{}");
    sqlite3_bind_text(s, 18, tags, -1, SQLITE_STATIC);
    sq_bind_text(s, 19, r->session_id);
    sq_bind_text(s, 20, r->topic_key ? r->topic_key : "");
    bind_opt_int(s, 21, r->input_tokens);
    bind_opt_int(s, 22, r->output_tokens);
    bind_opt_int(s, 23, r->total_tokens);
    bind_opt_double(s, 24, r->cost);
    if (r->job_id) {
        sqlite3_bind_int64(s, 25, r->job_id);
        sqlite3_bind_int64(s, 26, r->job_item);
    } else {
        sqlite3_bind_null(s, 25);
        sqlite3_bind_null(s, 26);
    }
    sq_bind_text(s, 27, r->judge_rating);
    bind_opt_double(s, 28, r->judge_rating ? r->judge_score : NAN);
    bind_derived(s, r);
    rc = sqlite3_step(s);
    if (rc != SQLITE_DONE) {
        int ext = sqlite3_extended_errcode(c->db);
        if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
            return err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", r->task_id);
        if (ext == SQLITE_CONSTRAINT_UNIQUE && r->job_id)
            return err_set(e, HE_CONFLICT, NULL, "job %lld item %lld already has a sample",
                           (long long)r->job_id, (long long)r->job_item);
        return sq_error(e, c->db, "saving a sample");
    }
    return sq_tag_insert_rows(c, task, id, r->tag_list, r->ntags, e);
}

int sq_run_insert_rows(struct sq_conn *c, struct run *const *runs, size_t n, struct err *e)
{
    sqlite3_stmt *s = sq_stmt(c, SQL_RUN_INSERT, e);
    int r = 0;

    if (!s)
        return e->code;
    for (size_t i = 0; i < n && r == 0; i++)
        r = run_insert_one(c, s, runs[i], e);
    sq_stmt_release(&s);
    return r;
}

static int run_insert_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct run_batch *b = arg;
    return sq_run_insert_rows(c, b->runs, b->n, e);
}

int sq_run_insert(struct store *s, struct run *const *runs, size_t n, struct err *e)
{
    struct run_batch b = {runs, n};
    if (n == 0)
        return 0;
    return sq_write((struct sq_store *)s, run_insert_fn, &b, e);
}

int sq_run_insert_async(struct store *s, struct run *const *runs, size_t n, store_done_cb cb,
                        void *ud, struct err *e)
{
    struct run_batch *b = malloc(sizeof(*b));

    if (!b)
        return err_set(e, HE_NOMEM, NULL, NULL);
    *b = (struct run_batch){runs, n};
    return sq_write_async((struct sq_store *)s, run_insert_fn, b, true, cb, ud, e);
}

static int64_t col_opt_int(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}

static double col_opt_double(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? NAN : sqlite3_column_double(s, i);
}

static struct sq_key run_key(const char *task_id, const char *run_id)
{
    return (struct sq_key){.kind = "sample",
                           .id = run_id,
                           .parent_kind = "task",
                           .parent_id = task_id,
                           .field = "run_id"};
}

/* Fills r from a row of RUN_COLUMNS: an sq_fill_fn. */
static void run_fill(sqlite3_stmt *s, void *rec, struct arena *mem)
{
    struct run *r = rec;

    memset(r, 0, sizeof(*r));
    sq_col_id(s, 0, r->id);
    sq_col_id(s, 1, r->task_id);
    r->created_at = sqlite3_column_int64(s, 2);
    r->created_by = sq_col_text(s, 3, mem);
    r->input = sq_col_text(s, 4, mem);
    r->input_source_type = sq_col_text(s, 5, mem);
    r->input_source = sq_col_text(s, 6, mem);
    sq_col_id(s, 7, r->output_id);
    r->output_created_at = sqlite3_column_int64(s, 8);
    r->output = sq_col_text(s, 9, mem);
    r->output_source_type = sq_col_text(s, 10, mem);
    r->output_source = sq_col_text(s, 11, mem);
    r->rating = sq_col_text(s, 12, mem);
    r->rating_score = col_opt_double(s, 13);
    r->repair_instructions = sq_col_text(s, 14, mem);
    r->repaired_output = sq_col_text(s, 15, mem);
    r->intermediate_outputs = sq_col_text(s, 16, mem);
    r->tags = sq_col_text(s, 17, mem);
    r->session_id = sq_col_text(s, 18, mem);
    r->topic_key = sq_col_text(s, 19, mem);
    r->input_tokens = col_opt_int(s, 20);
    r->output_tokens = col_opt_int(s, 21);
    r->total_tokens = col_opt_int(s, 22);
    r->cost = col_opt_double(s, 23);
    r->job_id = sqlite3_column_type(s, 24) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 24);
    r->job_item = col_opt_int(s, 25);
    r->judge_rating = sq_col_text(s, 26, mem);
    r->judge_score = col_opt_double(s, 27);
}

int sq_run_get(struct store *st, const char *task_id, const char *run_id, struct run *ret,
               struct err *e)
{
    struct sq_key k = run_key(task_id, run_id);
    return sq_get((struct sq_store *)st, SQL_RUN_GET, &k, run_fill, ret, &ret->mem, e);
}

/* Whether f sets a minimum on the judge's score (NaN or 0, as a zeroed filter has: none). */
static bool judge_minimum(const struct run_filter *f)
{
    return !isnan(f->min_judge_rating) && f->min_judge_rating > 0;
}

/* The listing's SQL for f. Parameters: ?1 task, ?2 ?3 topic range, ?4 session, ?5 tag, ?6
 * rating, ?7 source, ?8 cursor, ?9 limit, ?10 split, ?11 split part, ?12 the judge's rating. A
 * split part lists in the part's order, so its cursor is the cursor run's position there. A
 * person's rating and the judge's are separate columns and separate conditions. */
static void run_list_sql(const struct run_filter *f, bool topic, struct buf *sql)
{
    bool part = f->split_id && f->split_name;

    buf_adds(sql, "SELECT " RUN_COLUMNS " FROM samples");
    if (part)
        buf_adds(sql, " JOIN dataset_split_runs m ON m.sample_id = samples.id AND "
                      "m.split_id = ?10 AND m.part = ?11");
    buf_adds(sql, " WHERE task_id = ?1");
    if (f->split_id && !part)
        buf_adds(sql, " AND id IN (SELECT sample_id FROM dataset_split_runs WHERE split_id = ?10)");
    if (topic) /* keys under the prefix sort between it and the prefix with its last byte raised */
        buf_adds(sql, " AND topic_key >= ?2 AND topic_key < ?3");
    if (f->session_id)
        buf_adds(sql, " AND session_id = ?4");
    if (f->tag)
        buf_adds(sql,
                 " AND id IN (SELECT sample_id FROM sample_tags WHERE task_id = ?1 AND tag = ?5)");
    if (!isnan(f->min_rating))
        buf_adds(sql, " AND rating_score >= ?6");
    if (judge_minimum(f))
        buf_adds(sql, " AND judge_score >= ?12");
    if (f->judged || f->rated_by_both)
        buf_adds(sql, " AND judge_score IS NOT NULL");
    if (f->rated_by_both)
        buf_adds(sql, " AND rating_score IS NOT NULL");
    if (f->source_type)
        buf_adds(sql, " AND input_source_type = ?7");
    if (f->after_id && !f->best_first) /* in a part: a scan of the part finds the cursor */
        buf_adds(sql, part ? " AND m.pos > (SELECT pos FROM dataset_split_runs WHERE "
                             "split_id = ?10 AND part = ?11 AND sample_id = ?8)"
                           : " AND id > ?8");
    if (f->best_first)
        buf_adds(sql, " ORDER BY rating_score DESC, repaired_output IS NOT NULL DESC, id DESC");
    else
        buf_adds(sql, part ? " ORDER BY m.pos" : " ORDER BY id");
    if (f->limit)
        buf_adds(sql, " LIMIT ?9");
}

int sq_run_list(struct store *st, const struct run_filter *f, store_run_cb cb, void *ud,
                struct err *e)
{
    struct sq_conn *c;
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
    _cleanup_free_ char *upper = NULL;
    int rc, r = sq_reader((struct sq_store *)st, &c, e);

    if (r)
        return r;
    if (f->topic_prefix && *f->topic_prefix) {
        if (!(upper = strdup(f->topic_prefix)))
            return err_set(e, HE_NOMEM, NULL, NULL);
        upper[strlen(upper) - 1] = (char)(upper[strlen(upper) - 1] + 1);
    }
    _cleanup_(buf_done) struct buf sql;
    buf_init(&sql, 4096);
    run_list_sql(f, upper != NULL, &sql);
    if (sqlite3_prepare_v2(c->db, sql.data, -1, &s, NULL) != SQLITE_OK)
        return sq_error(e, c->db, "listing samples");
    sqlite3_bind_int64(s, 1, sq_id_value(f->task_id));
    if (upper) {
        sqlite3_bind_text(s, 2, f->topic_prefix, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, upper, -1, SQLITE_STATIC);
    }
    sq_bind_text(s, 4, f->session_id);
    sq_bind_text(s, 5, f->tag);
    if (!isnan(f->min_rating))
        sqlite3_bind_double(s, 6, f->min_rating);
    sq_bind_text(s, 7, f->source_type);
    if (f->after_id)
        sqlite3_bind_int64(s, 8, sq_id_value(f->after_id));
    if (f->limit)
        sqlite3_bind_int64(s, 9, (sqlite3_int64)f->limit);
    if (f->split_id)
        sqlite3_bind_int64(s, 10, sq_id_value(f->split_id));
    sq_bind_text(s, 11, f->split_name);
    if (judge_minimum(f))
        sqlite3_bind_double(s, 12, f->min_judge_rating);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct run row;
        run_fill(s, &row, NULL);
        if ((r = cb(ud, &row, e)) < 0)
            return r;
    }
    return rc == SQLITE_DONE ? r : sq_error(e, c->db, "listing samples");
}

/* One text column of a sample (sql's ?3; NULL stores NULL). */
static int set_text(struct sq_conn *c, const char *sql, sqlite3_int64 id, sqlite3_int64 task,
                    const char *value, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, sql, e);

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, task);
    sq_bind_text(s, 3, value);
    return sq_step_done(c, s, "repairing the sample", e);
}

static int run_update_fn(struct sq_conn *c, void *arg, struct err *e)
{
    const struct run_update *u = arg;
    sqlite3_int64 id = sq_id_value(u->run_id), task = sq_id_value(u->task_id);
    struct sq_key k = run_key(u->task_id, u->run_id);
    _cleanup_stmt_ sqlite3_stmt *exists = sq_stmt(c, SQL_RUN_EXISTS, e);
    int r;

    if (!exists)
        return e->code;
    sq_bind_key(exists, &k);
    if ((r = sq_step_row(c, exists, &k, e)) < 0)
        return r;
    if (u->set_rating) {
        _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_RUN_SET_RATING, e);
        if (!s)
            return e->code;
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, task);
        sq_bind_text(s, 3, u->rating);
        bind_opt_double(s, 4, u->rating ? u->rating_score : NAN);
        if ((r = sq_step_done(c, s, "rating the sample", e)) < 0)
            return r;
    }
    if (u->set_repaired_output &&
        (r = set_text(c, SQL_RUN_SET_REPAIR, id, task, u->repaired_output, e)) < 0)
        return r;
    if (u->set_repair_instructions &&
        (r = set_text(c, SQL_RUN_SET_REPAIR_INSTRUCTIONS, id, task, u->repair_instructions, e)) < 0)
        return r;
    if (u->set_tags) {
        _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_RUN_SET_TAGS, e);
        _cleanup_stmt_ sqlite3_stmt *d = sq_stmt(c, SQL_TAG_DELETE, e);
        _cleanup_free_ char *tags = tags_json(u->tag_list, u->ntags);
        if (!s || !d || !tags)
            return e->code ? e->code : err_set(e, HE_NOMEM, NULL, NULL);
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, task);
        sqlite3_bind_text(s, 3, tags, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d, 1, id);
        sqlite3_bind_int64(d, 2, task);
        /* the old tags' rows go first, found through the old list */
        r = sq_step_done(c, d, "tagging the sample", e);
        if (r == 0)
            r = sq_step_done(c, s, "tagging the sample", e);
        if (r < 0)
            return r;
        if ((r = sq_tag_insert_rows(c, task, id, u->tag_list, u->ntags, e)) < 0)
            return r;
    }
    return 0;
}

int sq_run_update(struct store *s, const struct run_update *u, struct err *e)
{
    return sq_write((struct sq_store *)s, run_update_fn, (void *)u, e);
}

int sq_run_delete(struct store *s, const char *task_id, const char *run_id, struct err *e)
{
    struct sq_key k = run_key(task_id, run_id);
    return sq_delete((struct sq_store *)s, SQL_RUN_DELETE, &k, e);
}

/* A hash asked for and its place in the caller's list; a stored sample that has it. */
struct wanted_hash {
    int64_t hash;
    size_t pos;
};
struct hash_match {
    size_t pos;
    sqlite3_int64 id;
};

static int cmp_wanted(const void *a, const void *b)
{
    int64_t x = ((const struct wanted_hash *)a)->hash, y = ((const struct wanted_hash *)b)->hash;
    return (x > y) - (x < y);
}

static int cmp_match(const void *a, const void *b)
{
    const struct hash_match *x = a, *y = b;
    if (x->pos != y->pos)
        return (x->pos > y->pos) - (x->pos < y->pos);
    return (x->id > y->id) - (x->id < y->id);
}

/* The samples of the task whose hash is wanted (one scan of the task's hashes), ordered by
 * the hash's place in the caller's list, then by id. */
static int matches_of(struct sq_conn *c, const char *task_id, const struct wanted_hash *want,
                      size_t n, struct hash_match **ret, size_t *ret_n, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_RUN_HASHES, e);
    struct hash_match *m = NULL;
    size_t nm = 0, cap = 0;
    int rc;

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(task_id));
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct wanted_hash key = {.hash = sqlite3_column_int64(s, 1)};
        const struct wanted_hash *w = bsearch(&key, want, n, sizeof(*want), cmp_wanted);
        if (!w)
            continue;
        if (nm == cap) {
            struct hash_match *g = realloc(m, (cap = cap ? cap * 2 : 64) * sizeof(*m));
            if (!g) {
                free(m);
                return err_set(e, HE_NOMEM, NULL, NULL);
            }
            m = g;
        }
        m[nm++] = (struct hash_match){w->pos, sqlite3_column_int64(s, 0)};
    }
    if (rc != SQLITE_DONE) {
        free(m);
        return sq_error(e, c->db, "finding samples by their input");
    }
    if (nm)
        qsort(m, nm, sizeof(*m), cmp_match);
    *ret = m;
    *ret_n = nm;
    return 0;
}

int sq_run_find_by_hash(struct store *st, const char *task_id, const int64_t *hashes, size_t n,
                        store_run_hash_cb cb, void *ud, struct err *e)
{
    struct sq_conn *c;
    _cleanup_free_ struct wanted_hash *want = NULL;
    _cleanup_free_ struct hash_match *m = NULL;
    _cleanup_stmt_ sqlite3_stmt *s = NULL;
    size_t nm = 0;
    int r = sq_reader((struct sq_store *)st, &c, e);

    if (r || n == 0)
        return r;
    if (!(want = malloc(n * sizeof(*want))))
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        want[i] = (struct wanted_hash){hashes[i], i};
    qsort(want, n, sizeof(*want), cmp_wanted);
    if ((r = matches_of(c, task_id, want, n, &m, &nm, e)) < 0)
        return r;
    if (nm && !(s = sq_stmt(c, SQL_RUN_INPUT, e)))
        return e->code;
    for (size_t i = 0; i < nm; i++) {
        char id[ID_LEN];
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, m[i].id);
        if (sqlite3_step(s) != SQLITE_ROW)
            return sq_error(e, c->db, "finding samples by their input");
        id_format((uint64_t)m[i].id, id);
        if ((r = cb(ud, hashes[m[i].pos], id, (const char *)sqlite3_column_text(s, 0), e)) < 0)
            return r;
    }
    return 0;
}

struct topic_batch {
    const char *task_id, *parent_key;
    const char *const *names;
    size_t n;
    int64_t now;
};

int sq_topic_insert_rows(struct sq_conn *c, const char *task_id, const char *parent_key,
                         const char *const *names, size_t n, int64_t now, struct err *e)
{
    sqlite3_stmt *s = sq_stmt(c, SQL_TOPIC_INSERT, e);
    int r = 0;

    if (!s)
        return e->code;
    for (size_t i = 0; i < n && r == 0; i++) {
        char *norm = text_norm_key(names[i]);
        if (!norm) {
            r = err_set(e, HE_NOMEM, NULL, NULL);
            break;
        }
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, sq_id_value(task_id));
        sqlite3_bind_text(s, 2, parent_key, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, names[i], -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, norm, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, now);
        if (sqlite3_step(s) != SQLITE_DONE)
            r = sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_FOREIGNKEY
                    ? err_set(e, HE_NOT_FOUND, "task_id", "task %s not found", task_id)
                    : sq_error(e, c->db, "saving topics");
        free(norm);
    }
    sq_stmt_release(&s);
    return r;
}

static int topic_add_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct topic_batch *b = arg;
    return sq_topic_insert_rows(c, b->task_id, b->parent_key, b->names, b->n, b->now, e);
}

int sq_topic_add(struct store *s, const char *task_id, const char *parent_key,
                 const char *const *names, size_t n, struct err *e)
{
    struct timespec ts;
    struct topic_batch b = {task_id, parent_key, names, n, 0};

    clock_gettime(CLOCK_REALTIME, &ts);
    b.now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (n == 0)
        return 0;
    return sq_write((struct sq_store *)s, topic_add_fn, &b, e);
}

int sq_topic_add_async(struct store *s, const char *task_id, const char *parent_key,
                       const char *const *names, size_t n, store_done_cb cb, void *ud,
                       struct err *e)
{
    struct topic_batch *b = malloc(sizeof(*b));
    struct timespec ts;

    if (!b)
        return err_set(e, HE_NOMEM, NULL, NULL);
    clock_gettime(CLOCK_REALTIME, &ts);
    *b = (struct topic_batch){task_id, parent_key, names, n,
                              (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000};
    return sq_write_async((struct sq_store *)s, topic_add_fn, b, true, cb, ud, e);
}

struct topic_each {
    store_topic_cb list;
    store_topic_count_cb count;
    void *ud;
};

static int topic_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct topic_each *x = ud;
    return x->list(x->ud, (const char *)sqlite3_column_text(s, 0),
                   (const char *)sqlite3_column_text(s, 1), e);
}

int sq_topic_list(struct store *st, const char *task_id, store_topic_cb cb, void *ud, struct err *e)
{
    struct topic_each x = {.list = cb, .ud = ud};
    return sq_list((struct sq_store *)st, SQL_TOPIC_LIST, task_id, topic_row, &x, "reading topics",
                   e);
}

static int topic_count_row(void *ud, sqlite3_stmt *s, struct err *e)
{
    struct topic_each *x = ud;
    return x->count(x->ud, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1), e);
}

int sq_topic_counts(struct store *st, const char *task_id, store_topic_count_cb cb, void *ud,
                    struct err *e)
{
    struct topic_each x = {.count = cb, .ud = ud};
    return sq_list((struct sq_store *)st, SQL_TOPIC_COUNTS, task_id, topic_count_row, &x,
                   "counting samples by topic", e);
}

/* The subtree of a node: the node itself (?2 its parent's key, ?3 its name) and every node whose
 * parent key starts with the node's key (?4 up to ?5, the key with its last byte raised); the
 * samples whose topic key starts with the node's key. */
static const char SQL_TOPIC_SUBTREE_SAMPLES[] =
    "SELECT count(*) FROM samples WHERE task_id = ?1 AND topic_key >= ?4 AND topic_key < ?5";
static const char SQL_TOPIC_SUBTREE_SAMPLES_DELETE[] =
    "DELETE FROM samples WHERE task_id = ?1 AND topic_key >= ?4 AND topic_key < ?5";
static const char SQL_TOPIC_SUBTREE_DELETE[] =
    "DELETE FROM topics WHERE task_id = ?1 AND ((parent_key = ?2 AND name = ?3) OR "
    "(parent_key >= ?4 AND parent_key < ?5))";

/* Runs sql with the subtree's bindings; a count's value in *ret_count, else the rows changed. */
static int subtree_step(struct sq_conn *c, const char *sql, const char *const bind[5], int64_t *ret,
                        struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, sql, e);
    int rc;

    if (!s)
        return e->code;
    sqlite3_bind_int64(s, 1, sq_id_value(bind[0]));
    for (int i = 1; i < 5; i++)
        sqlite3_bind_text(s, i + 1, bind[i], -1, SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *ret = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        *ret = sqlite3_changes(c->db);
    else
        return sq_error(e, c->db, "deleting topics");
    return 0;
}

static int topic_delete_fn(struct sq_conn *c, void *arg, struct err *e)
{
    struct topic_delete *d = arg;
    size_t n = strlen(d->topic_key), name_at = n - 1;
    _cleanup_free_ char *parent = NULL, *name = NULL, *upper = strdup(d->topic_key);
    int r;

    while (name_at > 0 && d->topic_key[name_at - 1] != STORE_TOPIC_SEP[0])
        name_at--;
    parent = strndup(d->topic_key, name_at);
    name = strndup(d->topic_key + name_at, n - 1 - name_at);
    if (!upper || !parent || !name)
        return err_set(e, HE_NOMEM, NULL, NULL);
    upper[n - 1] = (char)(upper[n - 1] + 1);
    {
        const char *const bind[5] = {d->task_id, parent, name, d->topic_key, upper};
        if ((r = subtree_step(c, SQL_TOPIC_SUBTREE_SAMPLES, bind, &d->samples_under, e)) < 0)
            return r;
        if (d->samples_under > 0 && !d->with_samples)
            return err_set(e, HE_CONFLICT, "node_path", "%lld samples are under the topic",
                           (long long)d->samples_under);
        if ((d->samples_under > 0 && (r = subtree_step(c, SQL_TOPIC_SUBTREE_SAMPLES_DELETE, bind,
                                                       &d->deleted_samples, e)) < 0) ||
            (r = subtree_step(c, SQL_TOPIC_SUBTREE_DELETE, bind, &d->deleted_topics, e)) < 0)
            return r;
    }
    if (d->deleted_topics == 0 && d->deleted_samples == 0)
        return err_set(e, HE_NOT_FOUND, "node_path", "no topic at node_path");
    return 0;
}

int sq_topic_delete(struct store *s, struct topic_delete *d, struct err *e)
{
    if (!d->topic_key || !d->topic_key[0] ||
        d->topic_key[strlen(d->topic_key) - 1] != STORE_TOPIC_SEP[0])
        return err_set(e, HE_INTERNAL, NULL, "a topic key to delete must name a node");
    d->deleted_topics = d->deleted_samples = d->samples_under = 0;
    return sq_write((struct sq_store *)s, topic_delete_fn, d, e);
}
