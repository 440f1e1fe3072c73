/* SPDX-License-Identifier: MIT */
/*
 * SQLite backend: statistics of a task's samples (store_stats), read from indexes alone, never
 * from the wide rows, on two threads at once:
 * - the caller's thread makes one pass over samples_stats (task_id, id, then every small column
 *   statistics read) on its read connection and counts sources, models, providers, prompt
 *   methods, ratings, usage and lengths in C, and keeps the input hashes (8 bytes a sample) to
 *   count repeats after a sort (no index by hash is kept: its random keys would cost every
 *   import a random b-tree write per sample);
 * - a second thread, on a connection of its own opened for the call (the caller's connection,
 *   after the pass, for an in-memory store), has SQLite group sessions, topics, tags and input
 *   in the order of their own indexes (samples_by_session, samples_by_topic, sample_tags'
 *   primary key), so no sort runs. It keeps its rows; the
 *   caller reports them after the join, so the callback runs on the caller's thread only.
 * Each connection reads in one transaction; the two snapshots may differ by the writes that
 * commit between their starts (the session without one is then clamped at zero).
 *
 * Memory: one entry per distinct key of each dimension, at most STATS_MAX_KEYS each (the
 * samples of later keys are counted in keys_dropped); for each length distribution a table of
 * LEN_EXACT counts, and the lengths of LEN_EXACT code points and more in a list (8 bytes for
 * each such sample, which itself holds more than 64 KiB of text).
 */
#include <json-c/json.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_int.h"
#include "util/arena.h"
#include "util/text.h"
#include "util/grow.h"
#include "util/banned.h"

#define LEN_EXACT    65536
#define RATING_CACHE 16

static const char SQL_STATS_PASS[] =
    "SELECT input_chars, output_chars, rating_score, rating, input_tokens, output_tokens,"
    " total_tokens, cost, input_source_type, input_model, input_provider, output_model,"
    " output_provider, prompt_method, input_hash FROM samples WHERE task_id = ?1";
#define PASS_HASH 14
/* the key columns of SQL_STATS_PASS, in enum stats_dim order from PASS_FIRST_DIM */
#define PASS_FIRST_KEY 8
#define PASS_FIRST_DIM STATS_SOURCE

/* (samples without a session are the rest of the total) */
static const char SQL_STATS_SESSIONS[] =
    "SELECT session_id, count(*) FROM samples WHERE task_id = ?1 AND session_id IS NOT NULL"
    " GROUP BY session_id";
static const char SQL_STATS_TOPICS[] =
    "SELECT topic_key, count(*) FROM samples WHERE task_id = ?1 GROUP BY topic_key";
static const char SQL_STATS_TAGS[] =
    "SELECT tag, count(*) FROM sample_tags WHERE task_id = ?1 GROUP BY tag";

struct key_entry {
    const char *key; /* NULL: an empty slot */
    size_t len;
    struct stats_count c;
};

/* Keys of one dimension: open addressing, with the key of the last row tried first (rows in
 * id order, saved in batches, share their source, models and method in long runs). */
struct key_map {
    struct key_entry *slots;
    size_t cap, n; /* cap a power of two */
    struct key_entry *last;
    struct stats_count none; /* samples without a key */
};

struct pass {
    struct key_map maps[STATS_DIMS];
    struct arena keys;
    uint32_t *small[2]; /* input, output: counts of lengths below LEN_EXACT */
    int64_t *big[2];
    size_t nbig[2], capbig[2];
    int64_t sum[2];
    int64_t *hashes; /* input hashes, in id order until sorted */
    size_t nhash, caphash;
    struct store_stats *st;
    /* rating texts classified so far (a rating is one of a few texts), and their kinds */
    struct {
        char *text;
        size_t len;
        int kind; /* 0 five_star, 1 pass/fail, 2 other */
    } ratings[RATING_CACHE];
    unsigned next_rating; /* the slot the next new text takes */
};

static int map_grow(struct key_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    struct key_entry *slots = calloc(cap, sizeof(*slots));

    if (!slots)
        return HE_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct key_entry *x = &m->slots[i];
        size_t h;
        if (!x->key)
            continue;
        for (h = text_hash(x->key, x->len) & (cap - 1); slots[h].key; h = (h + 1) & (cap - 1))
            ;
        slots[h] = *x;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->last = NULL;
    return 0;
}

/* The entry of key, added when new; NULL when the dimension is full (or out of memory: *nomem). */
static struct stats_count *map_get(struct key_map *m, struct arena *a, const char *key, size_t len,
                                   bool *nomem)
{
    struct key_entry *x;
    size_t h;

    if (!key)
        return &m->none;
    if (m->last && m->last->len == len && memcmp(m->last->key, key, len) == 0)
        return &m->last->c;
    if (m->n * 2 >= m->cap && m->n < STATS_MAX_KEYS && map_grow(m) < 0) {
        *nomem = true;
        return NULL;
    }
    for (h = text_hash(key, len) & (m->cap - 1); (x = &m->slots[h])->key;
         h = (h + 1) & (m->cap - 1))
        if (x->len == len && memcmp(x->key, key, len) == 0)
            return &(m->last = x)->c;
    if (m->n >= STATS_MAX_KEYS)
        return NULL;
    if (!(x->key = arena_strndup(a, key, len))) {
        *nomem = true;
        return NULL;
    }
    x->len = len;
    m->n++;
    return &(m->last = x)->c;
}

/* What a row's model calls used, read once per row: one of the row's counts. */
static void usage_read(struct stats_count *u, sqlite3_stmt *s)
{
    *u = (struct stats_count){.count = 1};
    if (sqlite3_column_type(s, 6) != SQLITE_NULL) {
        u->with_usage = 1;
        u->input_tokens = sqlite3_column_int64(s, 4);
        u->output_tokens = sqlite3_column_int64(s, 5);
        u->total_tokens = sqlite3_column_int64(s, 6);
    }
    if (sqlite3_column_type(s, 7) != SQLITE_NULL) {
        u->with_cost = 1;
        u->cost = sqlite3_column_double(s, 7);
    }
}

static void count_add(struct stats_count *c, const struct stats_count *u)
{
    c->count++;
    c->with_usage += u->with_usage;
    c->input_tokens += u->input_tokens;
    c->output_tokens += u->output_tokens;
    c->total_tokens += u->total_tokens;
    c->with_cost += u->with_cost;
    c->cost += u->cost;
}

static int length_add(struct pass *p, int which, sqlite3_stmt *s)
{
    struct stats_lengths *l = which ? &p->st->output_chars : &p->st->input_chars;
    int64_t v;

    if (sqlite3_column_type(s, which) == SQLITE_NULL)
        return 0;
    v = sqlite3_column_int64(s, which);
    l->n++;
    p->sum[which] += v;
    if (v > l->max)
        l->max = v;
    if (v < LEN_EXACT) {
        p->small[which][v < 0 ? 0 : v]++;
        return 0;
    }
    if (p->nbig[which] == p->capbig[which]) {
        size_t cap = p->capbig[which] ? p->capbig[which] * 2 : 1024;
        int64_t *b = realloc(p->big[which], cap * sizeof(*b));
        if (!b)
            return HE_NOMEM;
        p->big[which] = b;
        p->capbig[which] = cap;
    }
    p->big[which][p->nbig[which]++] = v;
    return 0;
}

/* 0 five-star, 1 pass/fail (either kind), 2 another type; from the rating's "type". */
static int rating_kind(const char *text)
{
    struct json_object *o = json_tokener_parse(text), *t;
    const char *type = NULL;
    int kind = 2;

    if (o && json_object_object_get_ex(o, "type", &t))
        type = json_object_get_string(t);
    if (type && strcmp(type, "five_star") == 0)
        kind = 0;
    else if (type && (strcmp(type, "pass_fail") == 0 || strcmp(type, "pass_fail_critical") == 0))
        kind = 1;
    json_object_put(o);
    return kind;
}

/* The kind of a rating text, classified once per distinct text while it stays in the cache. */
static int rating_cached(struct pass *p, const char *text, size_t len)
{
    unsigned i;
    char *copy;

    for (i = 0; i < RATING_CACHE && p->ratings[i].text; i++)
        if (p->ratings[i].len == len && memcmp(p->ratings[i].text, text, len) == 0)
            return p->ratings[i].kind;
    if (!(copy = strdup(text)))
        return -1;
    i = p->next_rating++ % RATING_CACHE;
    free(p->ratings[i].text);
    p->ratings[i].text = copy;
    p->ratings[i].len = len;
    return p->ratings[i].kind = rating_kind(text);
}

static int rating_add(struct pass *p, sqlite3_stmt *s)
{
    struct store_stats *st = p->st;
    const char *text = (const char *)sqlite3_column_text(s, 3);
    double score;
    int kind;

    if (!text || sqlite3_column_type(s, 2) == SQLITE_NULL) {
        st->unrated++;
        return 0;
    }
    score = sqlite3_column_double(s, 2);
    if ((kind = rating_cached(p, text, (size_t)sqlite3_column_bytes(s, 3))) < 0)
        return HE_NOMEM;
    if (kind == 0 && score >= 1 && score <= 5 && score == floor(score))
        st->five_star[(int)score - 1]++;
    else if (kind == 1 && score == 5)
        st->pass++;
    else if (kind == 1 && score == 1)
        st->fail++;
    else if (kind == 1 && score == 0)
        st->critical++;
    else
        st->other_rating++;
    return 0;
}

static int hash_add(struct pass *p, sqlite3_stmt *s)
{
    if (sqlite3_column_type(s, PASS_HASH) == SQLITE_NULL)
        return 0;
    if (p->nhash == p->caphash) {
        size_t cap = p->caphash ? p->caphash * 2 : 4096;
        int64_t *h = realloc(p->hashes, cap * sizeof(*h));
        if (!h)
            return HE_NOMEM;
        p->hashes = h;
        p->caphash = cap;
    }
    p->hashes[p->nhash++] = sqlite3_column_int64(s, PASS_HASH);
    return 0;
}

static int cmp_i64(const void *a, const void *b);

/* Samples with a hash, and of those the ones whose hash an earlier one has (all but the first
 * of each distinct hash). */
static void hashes_finish(struct pass *p)
{
    size_t distinct = 0;

    if (p->nhash)
        qsort(p->hashes, p->nhash, sizeof(int64_t), cmp_i64);
    for (size_t i = 0; i < p->nhash; i++)
        distinct += i == 0 || p->hashes[i] != p->hashes[i - 1];
    p->st->hashed = (int64_t)p->nhash;
    p->st->repeats = (int64_t)(p->nhash - distinct);
}

static int pass_row(struct pass *p, sqlite3_stmt *s, struct err *e)
{
    struct stats_count u;
    bool nomem = false;
    int r;

    usage_read(&u, s);
    p->st->total++;
    count_add(&p->st->usage, &u);
    for (int d = PASS_FIRST_DIM; d <= STATS_PROMPT_METHOD; d++) {
        int col = PASS_FIRST_KEY + d - PASS_FIRST_DIM;
        struct stats_count *c =
            map_get(&p->maps[d], &p->keys, (const char *)sqlite3_column_text(s, col),
                    (size_t)sqlite3_column_bytes(s, col), &nomem);
        if (c)
            count_add(c, &u);
        else if (nomem)
            return err_set(e, HE_NOMEM, NULL, NULL);
        else
            p->st->keys_dropped++;
    }
    if ((r = length_add(p, 0, s)) < 0 || (r = length_add(p, 1, s)) < 0 ||
        (r = rating_add(p, s)) < 0 || (r = hash_add(p, s)) < 0)
        return err_set(e, r, NULL, NULL);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The rank-th smallest length (1-based) of distribution which. */
static int64_t length_at(const struct pass *p, int which, int64_t rank)
{
    int64_t seen = 0;

    for (int64_t v = 0; v < LEN_EXACT; v++)
        if ((seen += p->small[which][v]) >= rank)
            return v;
    return p->big[which][rank - seen - 1];
}

static void lengths_finish(struct pass *p, int which)
{
    struct stats_lengths *l = which ? &p->st->output_chars : &p->st->input_chars;
    static const double q[3] = {0.5, 0.9, 0.99};
    int64_t *out[3] = {&l->p50, &l->p90, &l->p99};

    if (l->n == 0)
        return;
    if (p->nbig[which])
        qsort(p->big[which], p->nbig[which], sizeof(int64_t), cmp_i64);
    for (int i = 0; i < 3; i++) {
        int64_t rank = (int64_t)ceil(q[i] * (double)l->n);
        *out[i] = length_at(p, which, rank < 1 ? 1 : rank);
    }
    l->mean = (double)p->sum[which] / (double)l->n;
}

static void pass_done(struct pass *p)
{
    for (int d = 0; d < STATS_DIMS; d++)
        free(p->maps[d].slots);
    arena_done(&p->keys);
    free(p->hashes);
    for (int i = 0; i < 2; i++) {
        free(p->small[i]);
        free(p->big[i]);
    }
    for (int i = 0; i < RATING_CACHE; i++)
        free(p->ratings[i].text);
}

static int pass_report(struct pass *p, store_stats_cb cb, void *ud, struct err *e)
{
    int r;

    for (int d = PASS_FIRST_DIM; d <= STATS_PROMPT_METHOD; d++) {
        struct key_map *m = &p->maps[d];
        if (m->none.count && (r = cb(ud, (enum stats_dim)d, NULL, &m->none, e)) < 0)
            return r;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].key &&
                (r = cb(ud, (enum stats_dim)d, m->slots[i].key, &m->slots[i].c, e)) < 0)
                return r;
    }
    return 0;
}

/* The one pass over samples_stats. */
static int stats_pass(struct sq_conn *c, const char *task_id, struct store_stats *st,
                      store_stats_cb cb, void *ud, struct err *e)
{
    _cleanup_stmt_ sqlite3_stmt *s = sq_stmt(c, SQL_STATS_PASS, e);
    struct pass p = {.st = st};
    int rc, r = 0;

    if (!s)
        return e->code;
    if (!(p.small[0] = calloc(LEN_EXACT, sizeof(uint32_t))) ||
        !(p.small[1] = calloc(LEN_EXACT, sizeof(uint32_t)))) {
        pass_done(&p);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    sqlite3_bind_int64(s, 1, sq_id_value(task_id));
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = pass_row(&p, s, e);
    if (r == 0 && rc != SQLITE_DONE)
        r = sq_error(e, c->db, "reading statistics");
    if (r == 0) {
        lengths_finish(&p, 0);
        lengths_finish(&p, 1);
        hashes_finish(&p);
        r = pass_report(&p, cb, ud, e);
    }
    pass_done(&p);
    return r;
}

/* ---- the reads beside the pass: topics, tags, repeats ---- */

struct side_row {
    enum stats_dim dim;
    const char *key;
    int64_t count;
};

/*
 * What a second connection reads on its own thread while the pass runs (on the caller's
 * connection, one after the other, for an in-memory store): the rows are kept, in the arena,
 * and reported on the caller's thread after the join. Each connection reads its own snapshot,
 * so a write committed between them can show in one part and not yet in the other.
 */
struct side {
    struct sq_store *st;
    sqlite3_int64 task;
    sqlite3 *db; /* NULL: open one */
    struct side_row *rows;
    size_t n, cap;
    struct arena keys;
    size_t per_dim[STATS_DIMS]; /* rows kept of each dimension */
    int64_t dropped;
    int64_t with_session; /* samples with a session, kept or not */
    int result;
    struct err err;
};

static int side_add(struct side *x, enum stats_dim dim, sqlite3_stmt *s)
{
    const char *key = (const char *)sqlite3_column_text(s, 0);
    struct side_row *rows;

    if (dim == STATS_SESSION)
        x->with_session += sqlite3_column_int64(s, 1);
    if (x->per_dim[dim] >= STATS_MAX_KEYS) {
        x->dropped += sqlite3_column_int64(s, 1);
        return 0;
    }
    x->per_dim[dim]++;
    if (!(rows = grow_array(x->rows, &x->cap, x->n, sizeof(*rows), 1024)))
        return err_set(&x->err, HE_NOMEM, NULL, NULL);
    x->rows = rows;
    x->rows[x->n] = (struct side_row){dim, NULL, sqlite3_column_int64(s, 1)};
    if (key && !(x->rows[x->n].key = arena_strndup(&x->keys, key, sqlite3_column_bytes(s, 0))))
        return err_set(&x->err, HE_NOMEM, NULL, NULL);
    x->n++;
    return 0;
}

/* Runs sql with the task as ?1: rows (key, count) of dim. */
static int side_read(struct side *x, sqlite3 *db, const char *sql, enum stats_dim dim)
{
    _cleanup_(sqlite3_finalizep) sqlite3_stmt *s = NULL;
    int rc, r = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return sq_error(&x->err, db, "reading statistics");
    sqlite3_bind_int64(s, 1, x->task);
    while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW)
        r = side_add(x, dim, s);
    if (r == 0 && rc != SQLITE_DONE)
        r = sq_error(&x->err, db, "reading statistics");
    return r;
}

static void *side_run(void *arg)
{
    struct side *x = arg;
    sqlite3 *db = x->db;

    if (!db && sqlite3_open_v2(x->st->uri, &db,
                               x->st->open_flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_READONLY,
                               NULL) != SQLITE_OK) {
        x->result = err_set(&x->err, HE_STORE, NULL, "cannot open the database %s: %s", x->st->uri,
                            db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    if (!x->db)
        sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        x->result = sq_error(&x->err, db, "reading statistics");
    if (x->result == 0 && (x->result = side_read(x, db, SQL_STATS_SESSIONS, STATS_SESSION)) == 0 &&
        (x->result = side_read(x, db, SQL_STATS_TOPICS, STATS_TOPIC)) == 0)
        x->result = side_read(x, db, SQL_STATS_TAGS, STATS_TAG);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (!x->db)
        sqlite3_close(db);
    return NULL;
}

static int side_report(struct side *x, struct store_stats *st, store_stats_cb cb, void *ud,
                       struct err *e)
{
    struct stats_count none = {.count = st->total - x->with_session};
    int r;

    if (x->result < 0) {
        *e = x->err;
        return x->result;
    }
    for (size_t i = 0; i < x->n; i++) {
        struct stats_count c = {.count = x->rows[i].count};
        if ((r = cb(ud, x->rows[i].dim, x->rows[i].key, &c, e)) < 0)
            return r;
    }
    if (none.count > 0 && (r = cb(ud, STATS_SESSION, NULL, &none, e)) < 0)
        return r;
    st->keys_dropped += x->dropped;
    return 0;
}

int sq_stats(struct store *store, const char *task_id, struct store_stats *ret, store_stats_cb cb,
             void *ud, struct err *e)
{
    struct sq_store *sst = (struct sq_store *)store;
    struct side x = {.st = sst, .task = sq_id_value(task_id)};
    struct store_stats st = {0};
    struct sq_conn *c;
    pthread_t thread;
    bool threaded = false;
    int r = sq_reader(sst, &c, e);

    if (r)
        return r;
    err_clear(&x.err);
    if (sst->memory)
        x.db = c->db;
    else
        threaded = pthread_create(&thread, NULL, side_run, &x) == 0;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        r = sq_error(e, c->db, "reading statistics");
    if (r == 0)
        r = stats_pass(c, task_id, &st, cb, ud, e);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (threaded)
        pthread_join(thread, NULL);
    else
        side_run(&x);
    if (r == 0)
        r = side_report(&x, &st, cb, ud, e);
    free(x.rows);
    arena_done(&x.keys);
    if (r == 0)
        *ret = st;
    return r;
}
