/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the SQLite backend's files: sqlite.c (connections, the writer, ids),
 * sqlite_records.c (columns, keys, and the get/list/delete every record has),
 * sqlite_projects.c (projects and tasks), sqlite_runs.c (samples and the topic tree),
 * sqlite_jobs.c (jobs), sqlite_splits.c (dataset splits), sqlite_stats.c (statistics),
 * sqlite_dedup.c (near-duplicate signatures and clusters), sqlite_keys.c (API keys). Nothing
 * outside store/ includes this.
 */
#ifndef HETU_STORE_SQLITE_INT_H
#define HETU_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "store/store.h"
#include "util/arena.h"
#include "util/cleanup.h"

#define SQ_STMT_SLOTS 64

#define SQ_TASK_CACHE 8

/*
 * A connection and its prepared statements, cached by the address of their SQL text. A reader
 * also keeps the tasks it read last, valid while the store's version (bumped by every commit)
 * is the one they were read at: tasks are read by nearly every request and rarely written.
 */
struct sq_conn {
    sqlite3 *db;
    struct {
        const char *sql;
        sqlite3_stmt *stmt;
    } cache[SQ_STMT_SLOTS];
    struct {
        uint64_t version; /* 0: empty */
        struct task rec;
    } tasks[SQ_TASK_CACHE];
    struct sq_conn *next;
};

typedef int (*sq_write_fn)(struct sq_conn *c, void *arg, struct err *e);

struct sq_write {
    sq_write_fn fn;
    void *arg;
    store_done_cb cb; /* asynchronous writes: called by the writer after the commit */
    void *ud;
    bool free_arg; /* asynchronous writes: arg is malloc'd and freed after cb */
    struct err err;
    int result;
    bool done;
    struct sq_write *next;
};

struct sq_store {
    struct store base;
    char *uri;
    int open_flags;
    bool memory;
    int schema_version;

    pthread_key_t reader_key;
    pthread_mutex_t conns_lock;
    struct sq_conn *readers;

    struct sq_conn *writer_conn;
    int wal_frames; /* frames in the WAL after the last commit; the writer thread's */
    pthread_t writer;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer waits for work */
    pthread_cond_t done; /* callers wait for their write */
    struct sq_write *head, *tail;
    bool stopping;
    atomic_uint_fast64_t pending;
    atomic_uint_fast64_t version; /* commits so far, starting at 1 */

    /* Checkpoints run on their own thread and connection, so commits never wait for one. */
    struct sq_conn *ckpt_conn;
    pthread_t ckpt;
    pthread_cond_t ckpt_wake;
    bool ckpt_due;
    bool writer_started, ckpt_started;

    /* A block of ids reserved ahead (committed), so that a bulk load rarely waits for the writer
     * to reserve the next one; refilled in the background when taken. */
    pthread_mutex_t ids_lock;
    pthread_cond_t ids_cond;       /* a refill has landed */
    uint64_t spare_first, spare_n; /* spare_n 0: none */
    bool spare_refilling;
};

/* The statement for `sql` (a static string: its address is the cache key), reset on release. */
sqlite3_stmt *sq_stmt(struct sq_conn *c, const char *sql, struct err *e);
void sq_stmt_release(sqlite3_stmt **s);
#define _cleanup_stmt_ _cleanup_(sq_stmt_release)
/* For statements of their own (not cached) and for SQLite's messages. */
DEFINE_FREEP(sqlite3_stmt, sqlite3_finalize)
DEFINE_FREEP(char, sqlite3_free)

/* The calling thread's read connection. */
int sq_reader(struct sq_store *st, struct sq_conn **ret, struct err *e);
/* Runs fn(arg) inside the writer's next group commit and waits until it has committed. */
int sq_write(struct sq_store *st, sq_write_fn fn, void *arg, struct err *e);
/*
 * The same without waiting: cb(ud, result, err) runs on the writer thread after the commit.
 * With free_arg, arg was malloc'd by the caller and is freed after cb (also when queueing fails).
 */
int sq_write_async(struct sq_store *st, sq_write_fn fn, void *arg, bool free_arg, store_done_cb cb,
                   void *ud, struct err *e);

int sq_error(struct err *e, sqlite3 *db, const char *what);

/* ---- columns and bindings (sqlite_records.c) ---- */

int sq_step_done(struct sq_conn *c, sqlite3_stmt *s, const char *what, struct err *e);
char *sq_col_dup(sqlite3_stmt *s, int i);
/* Column i's text, NULL for SQL NULL: a copy in mem, or with mem NULL a view into the
 * statement (valid until it steps or resets). */
const char *sq_col_text(sqlite3_stmt *s, int i, struct arena *mem);
/* Makes room in mem for copies of the current row's text columns; 0 or HE_NOMEM. */
int sq_row_reserve(sqlite3_stmt *s, struct arena *mem);
void sq_col_id(sqlite3_stmt *s, int i, char out[ID_LEN]);
int sq_bind_text(sqlite3_stmt *s, int i, const char *v);
/* An API id as stored; 0 when it is not one the server could have issued. */
sqlite3_int64 sq_id_value(const char *id);

/* ---- records by key (sqlite_records.c) ---- */

/*
 * A record's key: its id, bound as ?1, and for a record inside another its parent's id, bound
 * as ?2. A missing record is "<kind> <id> not found[ in <parent_kind> <parent_id>]", HE_NOT_FOUND
 * on `field`.
 */
struct sq_key {
    const char *kind, *id;               /* "task" and the task's id */
    const char *parent_kind, *parent_id; /* "project" and its id, or NULL */
    const char *field;                   /* the request field a missing record concerns, or NULL */
};

void sq_bind_key(sqlite3_stmt *s, const struct sq_key *k);
int sq_not_found(struct err *e, const struct sq_key *k);
/* After an UPDATE or DELETE of k: not found when it changed no row. */
int sq_changed(struct sq_conn *c, const struct sq_key *k, struct err *e);
/* Steps s to the row of k: 0 on a row, not found when there is none. */
int sq_step_row(struct sq_conn *c, sqlite3_stmt *s, const struct sq_key *k, struct err *e);

/* Fills the record at rec from the current row (first clearing it), its strings copied into
 * mem, or views with mem NULL. */
typedef void (*sq_fill_fn)(sqlite3_stmt *s, void *rec, struct arena *mem);
/* Reads the record of k with sql (a static string; WHERE id = ?1 [AND parent = ?2]) into rec,
 * and its strings into *ret_mem (the record's own arena), written only on success. */
int sq_get(struct sq_store *st, const char *sql, const struct sq_key *k, sq_fill_fn fill, void *rec,
           struct arena *ret_mem, struct err *e);
/* A row of a list; a negative return stops the list and is returned. */
typedef int (*sq_row_cb)(void *ud, sqlite3_stmt *s, struct err *e);
/* Calls cb for each row of sql, with parent_id (when not NULL) bound as ?1; `what` names the
 * read in errors ("listing tasks"). */
int sq_list(struct sq_store *st, const char *sql, const char *parent_id, sq_row_cb cb, void *ud,
            const char *what, struct err *e);
typedef void (*sq_bind_fn)(sqlite3_stmt *s, const void *arg);
/* The same with the parameters bind(s, arg) binds. */
int sq_list_bound(struct sq_store *st, const char *sql, sq_bind_fn bind, const void *arg,
                  sq_row_cb cb, void *ud, const char *what, struct err *e);
/* Deletes the record of k with sql (WHERE id = ?1 [AND parent = ?2]) in the writer. */
int sq_delete(struct sq_store *st, const char *sql, const struct sq_key *k, struct err *e);

/* sqlite_projects.c: the ops it implements. */
int sq_project_insert(struct store *s, const struct project *p, struct err *e);
int sq_project_update(struct store *s, const struct project *p, struct err *e);
int sq_project_get(struct store *s, const char *id, struct project *ret, struct err *e);
int sq_project_list(struct store *s, store_project_cb cb, void *ud, struct err *e);
int sq_project_delete(struct store *s, const char *id, struct err *e);
int sq_task_insert(struct store *s, const struct task *t, struct err *e);
int sq_task_update(struct store *s, const struct task *t, bool schema_changed, struct err *e);
int sq_task_get(struct store *s, const char *project_id, const char *task_id, struct task *ret,
                struct err *e);
int sq_task_list(struct store *s, const char *project_id, store_task_cb cb, void *ud,
                 struct err *e);
int sq_task_delete(struct store *s, const char *project_id, const char *task_id, struct err *e);

/* sqlite_runs.c: the ops it implements. */
int sq_run_insert(struct store *s, struct run *const *runs, size_t n, struct err *e);
int sq_run_insert_async(struct store *s, struct run *const *runs, size_t n, store_done_cb cb,
                        void *ud, struct err *e);
int sq_topic_add_async(struct store *s, const char *task_id, const char *parent_key,
                       const char *const *names, size_t n, store_done_cb cb, void *ud,
                       struct err *e);
int sq_run_get(struct store *s, const char *task_id, const char *run_id, struct run *ret,
               struct err *e);
int sq_run_list(struct store *s, const struct run_filter *f, store_run_cb cb, void *ud,
                struct err *e);
int sq_run_update(struct store *s, const struct run_update *u, struct err *e);
int sq_run_delete(struct store *s, const char *task_id, const char *run_id, struct err *e);
int sq_run_find_by_hash(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                        store_run_hash_cb cb, void *ud, struct err *e);
int sq_topic_add(struct store *s, const char *task_id, const char *parent_key,
                 const char *const *names, size_t n, struct err *e);
int sq_topic_list(struct store *s, const char *task_id, store_topic_cb cb, void *ud, struct err *e);
int sq_topic_delete(struct store *s, struct topic_delete *d, struct err *e);
int sq_topic_counts(struct store *s, const char *task_id, store_topic_count_cb cb, void *ud,
                    struct err *e);

/* sqlite_jobs.c */
int sq_job_create(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                  struct err *e);
int sq_job_get(struct store *s, const char *job_id, struct job *ret, struct err *e);
int sq_job_list(struct store *s, const char *task_id, store_job_cb cb, void *ud, struct err *e);
int sq_job_set_status(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                      const char *error, struct err *e);
int sq_job_request_cancel(struct store *s, const char *job_id, struct err *e);
int sq_job_requeue(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                   struct err *e);
int sq_job_pending(struct store *s, const char *job_id, int64_t after, size_t limit,
                   store_item_cb cb, void *ud, struct err *e);
int sq_job_errors(struct store *s, const char *job_id, size_t limit, store_item_error_cb cb,
                  void *ud, struct err *e);
int sq_job_item_counts(struct store *s, int64_t ret[3], struct err *e);
int sq_job_items_done_async(struct store *s, const struct job_item_result *results, size_t n,
                            store_done_cb cb, void *ud, struct err *e);
int sq_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                      struct err *e);
/* The job's row, queued (sqlite_jobs.c), inside another write. */
int sq_job_insert_row(struct sq_conn *c, const struct job *j, struct err *e);
/* sqlite_steps.c: jobs in stages */
int sq_job_create_staged(struct store *s, const struct job *j, const struct job_new_item *items,
                         size_t n, struct err *e);
int sq_job_step_async(struct store *s, const struct job_step *steps, size_t n, store_done_cb cb,
                      void *ud, struct err *e);
int sq_job_items_scan(struct store *s, const struct job_item_query *q, store_job_item_cb cb,
                      void *ud, struct err *e);
int sq_job_stages(struct store *s, const char *job_id, store_job_stage_cb cb, void *ud,
                  struct err *e);
int sq_job_hold(struct store *s, const char *job_id, bool release, struct err *e);
int sq_job_set_params(struct store *s, const char *job_id, const char *params, struct err *e);

/* sqlite_splits.c */
int sq_split_insert(struct store *s, const struct dataset_split *d,
                    const struct dataset_split_part *parts, size_t nparts, struct err *e);
int sq_split_get(struct store *s, const char *task_id, const char *split_id,
                 struct dataset_split *ret, struct err *e);
int sq_split_list(struct store *s, const char *task_id, store_split_cb cb, void *ud, struct err *e);
int sq_split_runs(struct store *s, const char *split_id, const char *part, store_split_run_cb cb,
                  void *ud, struct err *e);
/* sqlite_stats.c */
int sq_stats(struct store *s, const char *task_id, struct store_stats *ret, store_stats_cb cb,
             void *ud, struct err *e);
/* sqlite_dedup.c */
int sq_dedup_scan(struct store *s, const struct dedup_scan *q, store_dedup_sample_cb cb, void *ud,
                  int64_t *ret_total, struct err *e);
int sq_dedup_save(struct store *s, const struct dedup_save *w, struct err *e);
int sq_dedup_buckets(struct store *s, const char *task_id, const char *params, int rows,
                     store_dedup_bucket_cb cb, void *ud, struct err *e);
int sq_dedup_clusters_save(struct store *s, const char *job_id, const struct dedup_member *m,
                           size_t n, struct err *e);
int sq_dedup_clusters_list(struct store *s, const char *job_id, int64_t after_cluster, size_t limit,
                           store_dedup_member_cb cb, void *ud, struct err *e);

/* sqlite_keys.c */
int sq_api_key_insert(struct store *s, const struct api_key *k, struct err *e);
int sq_api_key_get(struct store *s, const char *id, struct api_key *ret, struct err *e);
int sq_api_key_list(struct store *s, store_api_key_cb cb, void *ud, struct err *e);
int sq_api_key_revoke(struct store *s, const char *id, int64_t now, struct err *e);
int sq_api_key_count(struct store *s, int64_t *ret, struct err *e);

/* sqlite_runs.c, for the job writes that store runs and topics */
int sq_run_insert_rows(struct sq_conn *c, struct run *const *runs, size_t n, struct err *e);
/* Names already under parent_key (case- and space-insensitively) are skipped. */
int sq_topic_insert_rows(struct sq_conn *c, const char *task_id, const char *parent_key,
                         const char *const *names, size_t n, int64_t now, struct err *e);
/* The sample_tags rows of a sample's tags (its list is the caller's to write). */
int sq_tag_insert_rows(struct sq_conn *c, sqlite3_int64 task_id, sqlite3_int64 run_id,
                       const char *const *tags, size_t n, struct err *e);

/* Single rows inside a write of another file (sqlite_import.c). */
int sq_project_insert_row(struct sq_conn *c, const struct project *p, struct err *e);
int sq_task_insert_row(struct sq_conn *c, const struct task *t, struct err *e);
int sq_split_insert_row(struct sq_conn *c, const struct dataset_split *d,
                        const struct dataset_split_part *parts, size_t nparts, struct err *e);
/* sqlite_import.c */
int sq_import(struct store *s, const struct store_import *imp, struct err *e);

#endif
