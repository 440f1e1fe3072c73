/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend internals, shared by its files (pg.c, pg_records.c, pg_runs.c, pg_topics.c,
 * pg_splits.c, pg_stats.c, pg_dedup.c, pg_import.c, pg_jobs.c, pg_listen.c, pg_steps.c,
 * pg_load.c).
 *
 * A pool of libpq connections, opened on demand and shared by every calling thread: a call
 * borrows one connection for the length of its statement or transaction and gives it back.
 * Statements are prepared once per connection, on first use, named after their slot. All
 * parameters and results travel as text, BYTEA as hex text.
 */
#ifndef HETU_STORE_PG_INT_H
#define HETU_STORE_PG_INT_H

#include <libpq-fe.h>
#include <pthread.h>

#include "store/store.h"
#include "util/buf.h"

/* Connections per server: struct store's pool_hint (hetu serve sets it from its HTTP and worker
 * threads, each of which blocks on at most one connection at a time), PG_POOL_DEFAULT when it is
 * unset, never more than PG_POOL_MAX nor fewer than 2 (the writer and a caller). */
#define PG_POOL_DEFAULT 4
#define PG_POOL_MAX     64
/* A call that finds the database unreachable connects again after PG_BACKOFF_MIN_MS, doubling
 * up to PG_BACKOFF_MAX_MS between attempts, for at most PG_RETRY_MS; then HE_UNAVAILABLE. The
 * writer retries a batch for PG_WRITER_RETRY_MS (PG_RETRY_MS once the store is closing). */
#define PG_BACKOFF_MIN_MS  50
#define PG_BACKOFF_MAX_MS  2000
#define PG_RETRY_MS        5000
#define PG_WRITER_RETRY_MS 30000
/* The writer commits at most PG_BATCH_MAX writes at once; a caller waits while PG_QUEUE_MAX
 * writes are queued. */
#define PG_BATCH_MAX 256
#define PG_QUEUE_MAX 1024
/* Threads writing file imports' slices beside the writer, each on a connection of its own: the
 * database loads PG_LOADERS slices at once (committed in order, pg_load.c). */
#define PG_LOADERS 2
#define PG_WRITERS (1 + PG_LOADERS)
/* Statements a connection may prepare; past that they run unprepared. */
#define PG_STMT_SLOTS 64
/* Parameters of one statement. */
#define PG_MAX_PARAMS 40
/* The last connection error kept for /healthz. */
#define PG_ERROR_LEN 256

struct pg_conn {
    PGconn *db;
    const char *prepared[PG_STMT_SLOTS]; /* by the address of their SQL text */
    int nprepared;
    bool lost;         /* a statement found the database unreachable: closed when given back */
    const char *owner; /* the store's owner (struct store), named in this server's NOTIFYs */
    bool conflict;     /* the last error was a deadlock or a serialization failure: try again */
};

struct pg_writer; /* pg_writer.c */

struct pg_store {
    struct store base;
    char *conninfo;
    int schema_version; /* set at open, read-only after */
    /* pg_writer.c: the writer [0] and the loaders, started at open, drained and joined at close */
    struct pg_writer *writers[PG_WRITERS];
    unsigned loads;               /* slices handed to the loaders, in turn (atomic) */
    struct pg_listener *listener; /* pg_listen.c: started at open, stopped at close */

    /* shared under lock */
    pthread_mutex_t lock;
    pthread_cond_t idle_cond;
    struct pg_conn *idle[PG_POOL_MAX]; /* connections no thread holds */
    int nidle;
    int nopen;                     /* connections open, idle or held */
    bool down;                     /* the last attempt to reach the database failed */
    uint64_t reconnects;           /* connections made again after the database was lost */
    char last_error[PG_ERROR_LEN]; /* the last connection error, "" when none */
};

/* Parameters of one statement, as text: NULL is SQL NULL. */
struct pg_params {
    const char *v[PG_MAX_PARAMS];
    int n;
    bool overflow;               /* more than PG_MAX_PARAMS were given: pg_run refuses */
    char num[PG_MAX_PARAMS][24]; /* storage of formatted numbers */
};

void pg_param_text(struct pg_params *p, const char *v);
void pg_param_int(struct pg_params *p, int64_t v);
/* An API id as stored: its numeric value; an id the server could not have issued is 0. */
void pg_param_id(struct pg_params *p, const char *id);
/* Binary bytes as BYTEA hex text ("\x..."), kept in hex (2 * n + 3 bytes). */
void pg_param_bytes(struct pg_params *p, const unsigned char *b, size_t n, char *hex);

/* Borrows a connection (waiting when all are held), and gives it back (a lost one is closed,
 * one left inside a transaction rolled back). An unreachable database is tried again with
 * backoff until deadline_us (clock_mono_us; 0: once), then HE_UNAVAILABLE naming the error;
 * pg_acquire waits PG_RETRY_MS. */
int pg_acquire(struct pg_store *st, struct pg_conn **ret, struct err *e);
int pg_acquire_until(struct pg_store *st, int64_t deadline_us, struct pg_conn **ret, struct err *e);
void pg_release(struct pg_store *st, struct pg_conn *c);
/* Whether c lost its database (a statement failed on it as unreachable). */
bool pg_conn_lost(const struct pg_conn *c);
/* Sleeps *backoff_ms (not past deadline_us) and doubles it up to PG_BACKOFF_MAX_MS; false when
 * the deadline has passed. */
bool pg_backoff(int *backoff_ms, int64_t deadline_us);

/* Runs sql (prepared on this connection) with p; on success *ret is its result, which the
 * caller PQclear()s. what names the work in an error ("saving the project"). */
int pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, PGresult **ret,
           const char *what, struct err *e);
/* The same on a borrowed connection, for a single statement outside a transaction: on a lost
 * connection it runs again (the statement did not complete) for up to PG_RETRY_MS. */
int pg_query(struct pg_store *st, const char *sql, const struct pg_params *p, PGresult **ret,
             const char *what, struct err *e);
/* Runs one or more statements without parameters (BEGIN, COMMIT, migrations). */
int pg_exec(struct pg_conn *c, const char *sql, const char *what, struct err *e);

/* Maps a failed result (or a lost connection) to an error. */
int pg_error(struct err *e, struct pg_conn *c, const PGresult *res, const char *what);

/* Sets e to the error from holds (a call's error kept aside while it retried). */
static inline int pg_err_copy(struct err *e, const struct err *from)
{
    return err_set(e, from->code, from->field[0] ? from->field : NULL, "%s", from->msg);
}

static inline void pg_clearp(PGresult **r)
{
    if (*r)
        PQclear(*r);
}
#define _cleanup_result_ __attribute__((cleanup(pg_clearp)))

/* Column readers: an id, an integer (0 when NULL), a string copied into mem (NULL stays NULL;
 * mem NULL: a view into the result). */
void pg_col_id(const PGresult *r, int row, int col, char out[ID_LEN]);
int64_t pg_col_int(const PGresult *r, int row, int col);
const char *pg_col_text(const PGresult *r, int row, int col, struct arena *mem);
/* Reserves mem for every text column of a row, so pg_col_text into it cannot fail. */
int pg_row_reserve(const PGresult *r, int row, struct arena *mem);

/* A record's key, as in the SQLite backend: its not-found message names kind, id and field. */
struct pg_key {
    const char *kind, *id;
    const char *parent_kind, *parent_id;
    const char *field;
};

int pg_not_found(struct err *e, const struct pg_key *k);
/* After an UPDATE or DELETE of k: not found when it changed no row. */
int pg_changed(const PGresult *r, const struct pg_key *k, struct err *e);

/* pg_records.c: projects, tasks, API keys. */
int pg_project_insert(struct store *s, const struct project *p, struct err *e);
/* The same on c, inside the caller's transaction. */
int pg_project_insert_row(struct pg_conn *c, const struct project *p, struct err *e);
int pg_task_insert_row(struct pg_conn *c, const struct task *t, struct err *e);
int pg_project_update(struct store *s, const struct project *p, struct err *e);
int pg_project_get(struct store *s, const char *id, struct project *ret, struct err *e);
int pg_project_list(struct store *s, store_project_cb cb, void *ud, struct err *e);
int pg_project_delete(struct store *s, const char *id, struct err *e);
int pg_task_insert(struct store *s, const struct task *t, struct err *e);
int pg_task_update(struct store *s, const struct task *t, bool schema_changed, struct err *e);
int pg_task_get(struct store *s, const char *project_id, const char *task_id, struct task *ret,
                struct err *e);
int pg_task_list(struct store *s, const char *project_id, store_task_cb cb, void *ud,
                 struct err *e);
int pg_task_delete(struct store *s, const char *project_id, const char *task_id, struct err *e);
int pg_api_key_insert(struct store *s, const struct api_key *k, struct err *e);
int pg_api_key_get(struct store *s, const char *id, struct api_key *ret, struct err *e);
int pg_api_key_list(struct store *s, store_api_key_cb cb, void *ud, struct err *e);
int pg_api_key_revoke(struct store *s, const char *id, int64_t now, struct err *e);
int pg_api_key_count(struct store *s, int64_t *ret, struct err *e);

/* pg_runs.c: samples. */
#define PG_RUN_COLUMNS                                                                          \
    "id, task_id, created_at, created_by, input, input_source_type, input_source, output_id, "  \
    "output_created_at, output, output_source_type, output_source, rating, rating_score, "      \
    "repair_instructions, repaired_output, intermediate_outputs, tags, session_id, topic_key, " \
    "input_tokens, output_tokens, total_tokens, cost, job_id, job_item, judge_rating, judge_score"
/* The columns pg_run_params fills, in its order. */
#define PG_RUN_INSERT_COLUMNS                                                               \
    PG_RUN_COLUMNS ", input_hash, input_chars, output_chars, input_model, input_provider, " \
                   "output_model, output_provider, prompt_method"
/* Text of the numbers a statement binds that pg_params cannot format (doubles). */
struct pg_num_text {
    char v[4][40];
    int n;
};
/* A sample's row as parameters of PG_RUN_INSERT_COLUMNS (tags: its JSON list); the texts point
 * into r and t. */
void pg_run_params(struct pg_params *p, struct pg_num_text *t, const struct run *r,
                   const char *tags);
int pg_tag_insert_rows(struct pg_conn *c, const char *task_id, const char *run_id,
                       const char *const *tags, size_t n, struct err *e);
int pg_run_insert_rows(struct pg_conn *c, struct run *const *runs, size_t n, struct err *e);
/* The same through COPY (pg_load.c): fewer round trips for many rows, the same errors. */
int pg_copy_runs(struct pg_conn *c, struct run *const *runs, size_t n, struct err *e);
int pg_run_insert(struct store *s, struct run *const *runs, size_t n, struct err *e);
/* Queued on the writer (pg_write_async); runs and what they point to stay valid until cb. */
int pg_run_insert_async(struct store *s, struct run *const *runs, size_t n, store_done_cb cb,
                        void *ud, struct err *e);
int pg_run_get(struct store *s, const char *task_id, const char *run_id, struct run *ret,
               struct err *e);
int pg_run_list(struct store *s, const struct run_filter *f, store_run_cb cb, void *ud,
                struct err *e);
int pg_run_update(struct store *s, const struct run_update *u, struct err *e);
int pg_run_delete(struct store *s, const char *task_id, const char *run_id, struct err *e);
int pg_run_find_by_hash(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                        store_run_hash_cb cb, void *ud, struct err *e);

/*
 * pg_writer.c: transactions, and the writer of asynchronous writes.
 *
 * fn(c, arg) writes inside a transaction on c. It may run more than once: when the connection
 * is lost before its transaction is known to have committed, the whole transaction runs again
 * on a new connection, so fn must not depend on an earlier run (it sets what it sets afresh).
 */
typedef int (*pg_write_fn)(struct pg_conn *c, void *arg, struct err *e);
/* fn(c, arg) in one transaction on a borrowed connection: all or nothing. Writes queued on the
 * writer before the call commit first (a thread's writes commit in the order it made them). */
int pg_transact(struct store *s, pg_write_fn fn, void *arg, const char *what, struct err *e);
/*
 * Queues fn(c, arg) on the store's writer thread and returns 0; the writer commits every write
 * waiting (up to PG_BATCH_MAX) in one transaction, each under a savepoint of its own, so a write
 * that fails rolls back alone; cb(ud, result, error) runs on the writer thread after the commit,
 * once per write (also when the store closes). A failed COMMIT fails every write of its batch; a
 * lost connection runs the whole batch again. arg and what it points to must stay valid until
 * cb. A caller waits while PG_QUEUE_MAX writes are queued (the writer's own callbacks never
 * wait). Refused (closing): an error and no cb. With cb NULL: pg_transact, the result returned.
 */
int pg_write_async(struct store *s, pg_write_fn fn, void *arg, const char *what, store_done_cb cb,
                   void *ud, struct err *e);
/* group(c, args, n) does what fn(c, args[i]) would do for each i, in one call (like fn, it may
 * run more than once; what it did before failing is rolled back). */
typedef int (*pg_group_fn)(struct pg_conn *c, void *const *args, size_t n, struct err *e);
/* pg_write_async whose consecutive queued writes with the same group run as one group call
 * under one savepoint; when that fails, each runs alone (fn) and fails alone. */
int pg_write_async_group(struct store *s, pg_write_fn fn, pg_group_fn group, void *arg,
                         const char *what, store_done_cb cb, void *ud, struct err *e);
/* pg_write_async on the next loader in turn (one write a batch there: a slice is large). */
int pg_load_async(struct store *s, pg_write_fn fn, void *arg, const char *what, store_done_cb cb,
                  void *ud, struct err *e);
/* The same, arg malloc'd: freed after cb, or at once when the write is refused. */
int pg_write_async_free(struct store *s, pg_write_fn fn, void *arg, const char *what,
                        store_done_cb cb, void *ud, struct err *e);
/* Waits until every write queued before the call has committed and been called back. */
void pg_write_wait(struct pg_store *st);
/* The writes queued or being written. */
uint64_t pg_writer_pending(struct pg_store *st);
int pg_writer_start(struct pg_store *st, struct err *e);
/* Writes what is queued (callbacks included), then stops the thread. */
void pg_writer_stop(struct pg_store *st);

/* pg_topics.c: the topic tree. */
int pg_topic_add(struct store *s, const char *task_id, const char *parent_key,
                 const char *const *names, size_t n, struct err *e);
int pg_topic_add_async(struct store *s, const char *task_id, const char *parent_key,
                       const char *const *names, size_t n, store_done_cb cb, void *ud,
                       struct err *e);
int pg_topic_list(struct store *s, const char *task_id, store_topic_cb cb, void *ud, struct err *e);
int pg_topic_counts(struct store *s, const char *task_id, store_topic_count_cb cb, void *ud,
                    struct err *e);
int pg_topic_delete(struct store *s, struct topic_delete *d, struct err *e);

/* A node row of each name (ids first_id, first_id + 1, ...), names there already skipped. */
int pg_topic_insert_rows(struct pg_conn *c, const char *task_id, const char *parent_key,
                         const char *const *names, size_t n, uint64_t first_id, int64_t now,
                         struct err *e);

/* pg_steps.c: jobs whose items come in stages. */
int pg_job_create_staged(struct store *s, const struct job *j, const struct job_new_item *items,
                         size_t n, struct err *e);
int pg_job_step_async(struct store *s, const struct job_step *steps, size_t n, store_done_cb cb,
                      void *ud, struct err *e);
int pg_job_items_scan(struct store *s, const struct job_item_query *q, store_job_item_cb cb,
                      void *ud, struct err *e);
int pg_job_stages(struct store *s, const char *job_id, store_job_stage_cb cb, void *ud,
                  struct err *e);

/* pg_load.c: rows through COPY. */
/* Items of a job at first, first + 1, ... as one COPY into job_items, pending, item i of stage
 * stages[i] with payloads[i] (JSON text; NULL: "{}"). */
int pg_copy_staged_items(struct pg_conn *c, int64_t job, int64_t first, const char *const *stages,
                         const char *const *payloads, size_t n, struct err *e);
int pg_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                      struct err *e);

/* pg_splits.c: dataset splits, and array parameters. */
/* An array parameter as the text of an array literal ("{1,2,NULL}"), built element by element;
 * PG_ARRAY_MAX bounds its text. pg_array_end closes it: its text, or NULL when it grew past the
 * bound or out of memory. */
#define PG_ARRAY_MAX (64u << 20)
/* Rows a multi-row statement writes at most, from arrays of this many elements. */
#define PG_ARRAY_ROWS 10000
struct pg_array {
    struct buf b;
    bool failed;
};
void pg_array_init(struct pg_array *a);
void pg_array_done(struct pg_array *a);
void pg_array_int(struct pg_array *a, int64_t v);
void pg_array_id(struct pg_array *a, const char *id);
void pg_array_double(struct pg_array *a, double v);
/* Bytes as the hex digits decode(x, 'hex') reads back; b NULL: a NULL element. */
void pg_array_hex(struct pg_array *a, const unsigned char *b, size_t n);
const char *pg_array_end(struct pg_array *a);

int pg_split_insert_rows(struct pg_conn *c, const struct dataset_split *d,
                         const struct dataset_split_part *parts, size_t nparts, struct err *e);
int pg_split_insert(struct store *s, const struct dataset_split *d,
                    const struct dataset_split_part *parts, size_t nparts, struct err *e);
int pg_split_get(struct store *s, const char *task_id, const char *split_id,
                 struct dataset_split *ret, struct err *e);
int pg_split_list(struct store *s, const char *task_id, store_split_cb cb, void *ud, struct err *e);
int pg_split_runs(struct store *s, const char *split_id, const char *part, store_split_run_cb cb,
                  void *ud, struct err *e);

/* pg_stats.c: statistics of a task's samples. */
int pg_stats(struct store *s, const char *task_id, struct store_stats *ret, store_stats_cb cb,
             void *ud, struct err *e);

/* pg_dedup.c: near-duplicate signatures, band keys and clusters. */
int pg_dedup_scan(struct store *s, const struct dedup_scan *q, store_dedup_sample_cb cb, void *ud,
                  int64_t *ret_total, struct err *e);
int pg_dedup_save(struct store *s, const struct dedup_save *w, struct err *e);
int pg_dedup_buckets(struct store *s, const char *task_id, const char *params, int rows,
                     store_dedup_bucket_cb cb, void *ud, struct err *e);
int pg_dedup_clusters_save(struct store *s, const char *job_id, const struct dedup_member *m,
                           size_t n, struct err *e);
int pg_dedup_clusters_list(struct store *s, const char *job_id, int64_t after_cluster, size_t limit,
                           store_dedup_member_cb cb, void *ud, struct err *e);

/* pg_import.c: a whole imported project. */
int pg_import(struct store *s, const struct store_import *imp, struct err *e);

/* pg_jobs.c: jobs and their items, a queue several servers share. Migration 8 makes
 * job_items.payload BYTEA and adds job_items.claimed_by and hetu_servers (owner, lease_until):
 * a claim (claimed_by, jobs.owner) lasts while its server's row is live; leases are in
 * microseconds on the database's clock. */
#define PG_JOBS_CHANNEL "hetu_jobs"
#define PG_NOW_US       "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
int pg_job_create(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                  struct err *e);
int pg_job_get(struct store *s, const char *job_id, struct job *ret, struct err *e);
int pg_job_list(struct store *s, const char *task_id, store_job_cb cb, void *ud, struct err *e);
int pg_job_set_status(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                      const char *error, struct err *e);
int pg_job_request_cancel(struct store *s, const char *job_id, struct err *e);
int pg_job_requeue(struct store *s, const char *job_id, enum job_status from, enum job_status to,
                   struct err *e);
int pg_job_pending(struct store *s, const char *job_id, int64_t after, size_t limit,
                   store_item_cb cb, void *ud, struct err *e);
int pg_job_hold(struct store *s, const char *job_id, bool release, struct err *e);
int pg_job_errors(struct store *s, const char *job_id, size_t limit, store_item_error_cb cb,
                  void *ud, struct err *e);
int pg_job_item_counts(struct store *s, int64_t ret[3], struct err *e);
int pg_job_items_done_async(struct store *s, const struct job_item_result *results, size_t n,
                            store_done_cb cb, void *ud, struct err *e);
int pg_job_set_params(struct store *s, const char *job_id, const char *params, struct err *e);
/* Helpers for the other job writes, inside their transaction on c. The job's row, queued
 * (HE_NOT_FOUND naming task_id when its task is gone). */
int pg_job_insert_row(struct pg_conn *c, const struct job *j, struct err *e);
/* Items of job_id through COPY: item idx[i] (idx NULL: i) with payloads[i], lens[i] bytes
 * (lens NULL: NUL-terminated text). */
int pg_job_items_copy(struct pg_conn *c, const char *job_id, const int64_t *idx,
                      const void *const *payloads, const size_t *lens, size_t n, struct err *e);
/* NOTIFY hetu_jobs with the job id: every server's listener wakes its workers on commit. Each
 * write another server must hear of at once (a new job, a cancel, a requeue, a status) calls
 * it in its transaction. */
int pg_notify_job(struct pg_conn *c, const char *job_id, struct err *e);

/* pg_listen.c: the listener thread (LISTEN hetu_jobs, this server's lease). */
int pg_listen_start(struct pg_store *st, struct err *e);
/* Called before each claim (job_pending, job_hold): the first one gives this server its live
 * row in hetu_servers (struct store's owner, lease_ms), renewed from then on every third of
 * lease_ms and removed at close. */
int pg_listen_arm(struct pg_store *st, struct err *e);
/* Stops the thread, then gives up this server's claims and holds. */
void pg_listen_stop(struct pg_store *st);

#endif
