/* SPDX-License-Identifier: MIT */
/*
 * The storage interface. A backend (store/sqlite.c now, PostgreSQL later) fills a const struct
 * store_ops once; everything above store/ calls the store_* wrappers below and never sees SQL or
 * a backend type.
 *
 * Records are plain structs with one ownership rule. Strings handed to the store are borrowed
 * (`const char *`): the store copies what it keeps. A record returned by *_get owns its strings
 * in its arena `mem`, independent of any statement or connection, until its *_done. A record
 * passed to a list callback is the store's, valid during the callback only. A caller building a
 * record may put its strings in `mem` too (then *_done frees them) or borrow them (`mem` empty);
 * *_done releases `mem` alone, never a borrowed string.
 *
 * Thread-safety: every function may be called from any thread. Writes are applied by the
 * backend's writer in group commits and have committed when the call returns.
 */
#ifndef HETU_STORE_STORE_H
#define HETU_STORE_STORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/job_status.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/id.h"

struct project {
    char id[ID_LEN];
    int64_t created_at; /* wall-clock microseconds */
    const char *created_by;
    const char *name;
    const char *description;
    struct arena mem; /* owns the strings of a record read from the store */
};

struct task {
    char id[ID_LEN];
    char project_id[ID_LEN];
    int64_t created_at;
    const char *created_by;
    const char *name;
    const char *description;
    const char *instruction;
    const char *requirements;       /* JSON text: a list of requirement objects ("[]" when none) */
    const char *output_json_schema; /* JSON text or NULL */
    const char *input_json_schema;  /* JSON text or NULL */
    const char *thinking_instruction; /* or NULL */
    struct arena mem;
};

/*
 * A sample: a TaskRun with its one output. Text fields holding JSON say so. On insert, the
 * tags are tag_list/ntags (and `tags`, their JSON list, when the caller has it already);
 * records read back carry `tags` only.
 */
struct run {
    char id[ID_LEN];
    char task_id[ID_LEN];
    int64_t created_at;
    const char *created_by;
    const char *input;             /* JSON text when the task has an input schema */
    const char *input_source_type; /* "human", "synthetic" or "file_import" */
    const char *input_source;      /* JSON object: the DataSource properties */
    char output_id[ID_LEN];
    int64_t output_created_at;
    const char *output;
    const char *output_source_type;
    const char *output_source; /* JSON object: the DataSource properties */
    const char *rating;        /* JSON object or NULL */
    double rating_score;       /* 1..5 (pass 5, fail 1), NaN when unrated */
    /* An LLM judge's rating (judge/judge.h), kept apart from the person's: same shape and
     * scale, set by a job step (struct job_judged) or stored as given by an insert (a
     * hetu_jsonl import); NULL / NaN when not judged. */
    const char *judge_rating;
    double judge_score;
    const char *repair_instructions;  /* or NULL */
    const char *repaired_output;      /* JSON object (a TaskOutput) or NULL */
    const char *intermediate_outputs; /* JSON object, "{}" when none */
    const char *tags;                 /* JSON list (read) */
    const char *const *tag_list;      /* (insert) */
    size_t ntags;
    const char *session_id; /* or NULL */
    const char *topic_key;  /* topic path, each segment followed by U+001F; "" for none */
    int64_t input_tokens, output_tokens, total_tokens; /* -1: unknown */
    double cost;                                       /* NaN: unknown */
    int64_t cached_tokens; /* of input_tokens, read from a prompt cache (not stored) */
    int64_t calls;         /* model calls made for the output (not stored); 0: none */
    int64_t job_id;        /* 0: not from a job */
    int64_t job_item;      /* index within the job */
    /* Derived at insert for deduplication and statistics (not read back). */
    int64_t input_hash;                         /* of the normalised input; 0: not computed */
    int64_t input_chars, output_chars;          /* code points; 0: counted from input/output */
    const char *input_model, *input_provider;   /* or NULL */
    const char *output_model, *output_provider; /* or NULL */
    const char *prompt_method;                  /* or NULL */
    struct arena mem;
};

struct run_filter {
    const char *task_id;
    const char *topic_prefix; /* a topic key prefix, or NULL */
    const char *session_id;
    const char *tag;
    double min_rating;       /* NaN: no minimum (a person's rating) */
    double min_judge_rating; /* NaN or 0: no minimum (the judge's rating) */
    bool judged;             /* only samples the judge rated */
    bool rated_by_both;      /* only samples with a person's and the judge's rating */
    const char *source_type; /* input source type, or NULL */
    const char *split_id;    /* a dataset split's id: only its runs still stored, or NULL */
    const char *split_name;  /* the part of split_id ("train", ...): then in the part's order */
    const char *after_id;    /* cursor: only ids after this one (in list order), or NULL */
    size_t limit;            /* 0: all */
    bool best_first;         /* highest rating first, repaired outputs first, then newest */
};

/* A dataset split (Kiln's DatasetSplit): a frozen partition of a task's runs into named parts. */
struct dataset_split {
    char id[ID_LEN];
    char task_id[ID_LEN];
    int64_t created_at;
    const char *created_by;
    const char *name;
    const char *description;
    const char *split_type; /* "train_test", ... */
    const char *filter_id;  /* "all", "high_rating", ..., "tag::NAME" */
    const char *splits;     /* JSON list of {"name", "description", "percentage"}, in order */
    struct arena mem;
};

/* One part of a split being stored: its name and its runs' ids, in the split's order. */
struct dataset_split_part {
    const char *name;
    const char (*ids)[ID_LEN];
    size_t n;
};

struct run_update {
    const char *task_id, *run_id;
    bool set_rating;
    const char *rating; /* JSON object or NULL to clear */
    double rating_score;
    bool set_tags;
    const char *const *tag_list;
    size_t ntags;
    bool set_repaired_output;
    const char *repaired_output; /* JSON object (a TaskOutput) or NULL to remove the repair */
    bool set_repair_instructions;
    const char *repair_instructions; /* or NULL */
};

/* A topic-tree node to remove with its whole subtree, in one write (store_topic_delete). */
struct topic_delete {
    const char *task_id;
    const char *topic_key; /* the node's topic key; never "" (the root stays) */
    bool with_samples;     /* delete the samples under it too; else any there is HE_CONFLICT */
    /* written by the store: */
    int64_t deleted_topics, deleted_samples;
    int64_t samples_under; /* the samples under the node (also set with HE_CONFLICT) */
};

/* A durable job. Items live in the store too; counters change in the same commit as items. */
struct job {
    char id[ID_LEN];
    char task_id[ID_LEN];
    char *kind;             /* "import_samples", "import_file", "near_duplicates",
                               "pipeline", "judge" */
    enum job_status status; /* kept as its name (store/job_status.h) */
    char *params;           /* encoded by jobs/ (job_params_encode) */
    int64_t total, completed, failed;
    char *error; /* why the job stopped, or NULL */
    bool cancel_requested;
    int64_t created_at, started_at, finished_at; /* 0: not yet */
    int64_t cursor; /* kind-specific progress mark (rows of a file already loaded) */
};

/* A job item's result: run stored (may be NULL when failed) and the item's new state. */
struct job_item_result {
    const char *job_id;
    int64_t idx;
    struct run *run; /* NULL: failed with error */
    const char *error;
};

/* Rows loaded by a file import's fast path: runs with outputs, and items that still need one
 * (each payload as jobs/ encodes it, item_lens[i] bytes). cursor is the job's new progress
 * mark. */
struct job_load {
    const char *job_id;
    struct run *const *runs;
    size_t n_runs;
    const int64_t *item_idx;
    const void *const *item_payloads;
    const size_t *item_lens;
    size_t n_items;
    int64_t from, cursor; /* the job's cursor before the slice and after it */
};

#include "store/job_steps.h" /* jobs whose items come in stages */

typedef int (*store_job_cb)(void *ud, const struct job *j, struct err *e);
/* A pending item: its payload, the bytes it was stored with. */
typedef int (*store_item_cb)(void *ud, int64_t idx, const void *payload, size_t len, struct err *e);
typedef int (*store_item_error_cb)(void *ud, int64_t idx, const char *error, struct err *e);

struct store_health {
    const char *backend; /* static string */
    int schema_version;
    bool writable;
    uint64_t pending_writes;
    /* A backend with a connection pool (PostgreSQL; pool_size 0: none): connections open and
     * idle, the most it opens, connections made again after the database was lost, and the
     * last connection error ("" when none; never the password). */
    int pool_open, pool_idle, pool_size;
    uint64_t reconnects;
    char last_error[256];
};

/* ---- near duplicates (dedup/near_job.c) ---- */

/* A sample as a near-duplicate job reads it: its stored signature (of the params asked for) or,
 * when it has none, its input; banded: its band keys for the rows asked for are stored. */
struct dedup_sample {
    int64_t id;
    const char *input; /* when sig is NULL */
    const void *sig;   /* or NULL */
    size_t sig_len;
    bool banded;
};

/* Samples of task_id with id > after, in id order, at most limit (0: all). */
struct dedup_scan {
    const char *task_id;
    const char *params; /* MINHASH_PARAMS */
    int rows;           /* band rows */
    int64_t after;
    size_t limit;
};

/* A signature to store (sig NULL: stored already) and its band keys (NULL: stored already). */
struct dedup_signed {
    int64_t sample_id;
    const void *sig;
    size_t sig_len;
    const int64_t *keys; /* `bands` keys */
};

/* What one slice of a job computed, with the job's progress, in one write: total and completed
 * are set, the cursor (signatures computed) grows by `computed`. */
struct dedup_save {
    const char *job_id, *task_id, *params;
    int bands, rows;
    const struct dedup_signed *items;
    size_t n;
    int64_t total, completed, computed;
};

/* A cluster member found by a job (clusters numbered from 1). */
struct dedup_member {
    int64_t cluster, sample_id;
    double similarity;
};

/* A cluster member as listed, with the sample's input, tags (JSON list), rating score (NaN when
 * unrated) and creation time; valid during the callback only. */
struct dedup_listed {
    int64_t cluster;
    char sample_id[ID_LEN];
    double similarity;
    const char *input, *tags;
    double rating_score;
    int64_t created_at;
};

typedef int (*store_dedup_sample_cb)(void *ud, const struct dedup_sample *s, struct err *e);
/* A band-key row shared by more than one sample, with the sample's signature and input. */
typedef int (*store_dedup_bucket_cb)(void *ud, int band, int64_t key, int64_t sample_id,
                                     const void *sig, size_t sig_len, const char *input,
                                     struct err *e);
typedef int (*store_dedup_member_cb)(void *ud, const struct dedup_listed *m, struct err *e);

/* A run of an import, handed over by next_run: 0 with *ret the next run (valid until the next
 * call) or NULL after the last, or an error, which fails the import. */
typedef int (*store_import_run_cb)(void *ud, struct run **ret, struct err *e);

/* A whole project imported from elsewhere (kiln/): the project, its tasks, their runs and dataset
 * splits, every record with its id given. The runs come one at a time from next_run(ud), called
 * on the store's writer thread while the write is open (so it must not call the store), so that
 * an import of many runs never holds them all. parts[i] holds split i's nparts[i] parts. */
struct store_import {
    const struct project *project;
    const struct task *tasks;
    size_t ntasks;
    store_import_run_cb next_run;
    void *ud;
    const struct dataset_split *splits;
    const struct dataset_split_part *const *parts;
    const size_t *nparts;
    size_t nsplits;
};

/* An API key as stored: never the key itself, its salted SHA-256 (auth/keys.c makes both). */
#define API_KEY_SALT_LEN 16
#define API_KEY_HASH_LEN 32
struct api_key {
    char id[ID_LEN];
    char project_id[ID_LEN]; /* "": every project */
    bool admin;
    int64_t created_at;
    int64_t revoked_at; /* 0: in force */
    const char *name;
    unsigned char salt[API_KEY_SALT_LEN];
    unsigned char hash[API_KEY_HASH_LEN];
    struct arena mem;
};

typedef int (*store_api_key_cb)(void *ud, const struct api_key *k, struct err *e);

typedef int (*store_project_cb)(void *ud, const struct project *p, struct err *e);
typedef int (*store_task_cb)(void *ud, const struct task *t, struct err *e);
typedef int (*store_run_cb)(void *ud, const struct run *r, struct err *e);
/* A sample found by its input hash: its id and input, valid during the call. */
typedef int (*store_run_hash_cb)(void *ud, int64_t hash, const char *run_id, const char *input,
                                 struct err *e);
/* A topic-tree node: parent_key is the parent's topic key ("" for the root's children). */
typedef int (*store_topic_cb)(void *ud, const char *parent_key, const char *name, struct err *e);
/* The number of samples whose topic key is exactly `topic_key`. */
typedef int (*store_topic_count_cb)(void *ud, const char *topic_key, int64_t count, struct err *e);
typedef int (*store_split_cb)(void *ud, const struct dataset_split *d, struct err *e);
/* A run id of a split's part, in the part's order. */
typedef int (*store_split_run_cb)(void *ud, const char *run_id, struct err *e);

/* The keyed counts of store_stats: what a key names in each. */
enum stats_dim {
    STATS_TOPIC,           /* a topic key (the samples with exactly that path) */
    STATS_SESSION,         /* a session id */
    STATS_SOURCE,          /* an input source type */
    STATS_INPUT_MODEL,     /* the model that wrote the input */
    STATS_INPUT_PROVIDER,  /* its provider */
    STATS_OUTPUT_MODEL,    /* the model that wrote the output */
    STATS_OUTPUT_PROVIDER, /* its provider */
    STATS_PROMPT_METHOD,   /* the prompt method of a generated output */
    STATS_TAG,             /* a tag */
    STATS_DIMS
};

/* Samples with one key, and what their model calls used: token sums over the with_usage
 * samples that know their tokens, the cost over the with_cost that know it. Tags and topics
 * carry count alone. */
struct stats_count {
    int64_t count;
    int64_t input_tokens, output_tokens, total_tokens;
    double cost;
    int64_t with_usage, with_cost;
};

/* A length distribution in code points: nearest-rank percentiles (the smallest length at least
 * that share of the samples do not exceed); n 0: no sample has a known length. */
struct stats_lengths {
    int64_t n, p50, p90, p99, max;
    double mean;
};

struct store_stats {
    int64_t total;
    int64_t five_star[5];                  /* five-star ratings of 1..5 */
    int64_t pass, fail, critical, unrated; /* pass/fail ratings (critical: pass_fail_critical) */
    int64_t other_rating;                  /* ratings of another type */
    struct stats_count usage;              /* over every sample */
    struct stats_lengths input_chars, output_chars;
    int64_t hashed;       /* samples whose input has a hash */
    int64_t repeats;      /* of those, the ones whose hash an earlier sample has */
    int64_t keys_dropped; /* samples (tag rows) left out of a dimension full of keys */
};

/* Distinct keys a dimension reports at most: the samples of the keys past them count in total
 * and in keys_dropped only. */
#define STATS_MAX_KEYS 100000

/* A key of a dimension and its samples; key NULL: the samples without one. */
typedef int (*store_stats_cb)(void *ud, enum stats_dim dim, const char *key,
                              const struct stats_count *c, struct err *e);

/* Completion of an asynchronous write; runs on the store's writer thread and must not block on
 * the store. e is NULL on success. */
typedef void (*store_done_cb)(void *ud, int result, const struct err *e);

struct store;

struct store_ops {
    const char *name;
    void (*close)(struct store *s);
    int (*health)(struct store *s, struct store_health *ret, struct err *e);
    int (*reserve_ids)(struct store *s, uint64_t n, uint64_t *ret_first, struct err *e);

    int (*project_insert)(struct store *s, const struct project *p, struct err *e);
    int (*project_update)(struct store *s, const struct project *p, struct err *e);
    int (*project_get)(struct store *s, const char *id, struct project *ret, struct err *e);
    int (*project_list)(struct store *s, store_project_cb cb, void *ud, struct err *e);
    int (*project_delete)(struct store *s, const char *id, struct err *e);

    int (*task_insert)(struct store *s, const struct task *t, struct err *e);
    /* With schema_changed, fails with HE_CONFLICT when the task has samples. */
    int (*task_update)(struct store *s, const struct task *t, bool schema_changed, struct err *e);
    int (*task_get)(struct store *s, const char *project_id, const char *task_id, struct task *ret,
                    struct err *e);
    int (*task_list)(struct store *s, const char *project_id, store_task_cb cb, void *ud,
                     struct err *e);
    int (*task_delete)(struct store *s, const char *project_id, const char *task_id, struct err *e);

    /* Inserts all runs in one transaction: all or none. */
    int (*run_insert)(struct store *s, struct run *const *runs, size_t n, struct err *e);
    /* The same without waiting; runs (and what they point to) must stay valid until cb. */
    int (*run_insert_async)(struct store *s, struct run *const *runs, size_t n, store_done_cb cb,
                            void *ud, struct err *e);
    int (*run_get)(struct store *s, const char *task_id, const char *run_id, struct run *ret,
                   struct err *e);
    int (*run_list)(struct store *s, const struct run_filter *f, store_run_cb cb, void *ud,
                    struct err *e);
    int (*run_update)(struct store *s, const struct run_update *u, struct err *e);
    int (*run_delete)(struct store *s, const char *task_id, const char *run_id, struct err *e);
    /* The samples of task_id whose input_hash is one of hashes[0..n), each with its hash, in
     * the order of hashes (then of ids). */
    int (*run_find_by_hash)(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                            store_run_hash_cb cb, void *ud, struct err *e);

    /* Adds children under parent_key; names already there (case- and space-insensitively)
     * are skipped. */
    int (*topic_add)(struct store *s, const char *task_id, const char *parent_key,
                     const char *const *names, size_t n, struct err *e);
    int (*topic_add_async)(struct store *s, const char *task_id, const char *parent_key,
                           const char *const *names, size_t n, store_done_cb cb, void *ud,
                           struct err *e);
    int (*topic_list)(struct store *s, const char *task_id, store_topic_cb cb, void *ud,
                      struct err *e);
    int (*topic_counts)(struct store *s, const char *task_id, store_topic_count_cb cb, void *ud,
                        struct err *e);
    /* Removes the node d->topic_key and every node under it, and with d->with_samples the
     * samples whose topic lies in that subtree, all in one write. Samples there without
     * with_samples: HE_CONFLICT and nothing changes. HE_NOT_FOUND (field "node_path") when
     * neither a node nor a sample is there. */
    int (*topic_delete)(struct store *s, struct topic_delete *d, struct err *e);

    /* Stores the split d and its parts (every run id of each, in order) in one write: all or
     * nothing. A split keeps its run ids when runs are deleted later; the run filter (split_id)
     * joins them with the runs still there. */
    int (*split_insert)(struct store *s, const struct dataset_split *d,
                        const struct dataset_split_part *parts, size_t nparts, struct err *e);
    /* The split of task_id with id split_id (HE_NOT_FOUND naming "dataset_id" when none). */
    int (*split_get)(struct store *s, const char *task_id, const char *split_id,
                     struct dataset_split *ret, struct err *e);
    /* The splits of a task, oldest first. */
    int (*split_list)(struct store *s, const char *task_id, store_split_cb cb, void *ud,
                      struct err *e);
    /* The run ids of one part of a split, in the order they were stored. */
    int (*split_runs)(struct store *s, const char *split_id, const char *part,
                      store_split_run_cb cb, void *ud, struct err *e);

    /* Creates the job, queued, and its items (payloads[i] is item i, JSON text) in one write. */
    int (*job_create)(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                      struct err *e);
    int (*job_get)(struct store *s, const char *job_id, struct job *ret, struct err *e);
    /* Jobs of a task (newest first), or with task_id NULL those not finished (oldest first). */
    int (*job_list)(struct store *s, const char *task_id, store_job_cb cb, void *ud, struct err *e);
    /* Moves the job from status from to status to (and sets error when not NULL) when it is
     * still in from: HE_CONFLICT when it is not; stamps started_at / finished_at as fitting.
     * Called through store_job_set_status, which checks the move first. */
    int (*job_set_status)(struct store *s, const char *job_id, enum job_status from,
                          enum job_status to, const char *error, struct err *e);
    int (*job_request_cancel)(struct store *s, const char *job_id, struct err *e);
    /* Puts the job's failed items back to pending (its failed count back to 0) and clears the
     * reasons pending items were given when it ended; the job moves from status from to status
     * to (a resume: failed, cancelled or paused to queued, its error and cancel request
     * cleared), or
     * stays running when both are running (another round for the items that failed). */
    int (*job_requeue)(struct store *s, const char *job_id, enum job_status from,
                       enum job_status to, struct err *e);
    /* Pending items with idx > after, in order, at most limit, claimed for this server. A store
     * several servers share (PostgreSQL) hands each item to one server at a time, under a lease
     * renewed while this server lives (struct store's lease_ms); an item whose lease ran out (its
     * server died) is handed out again, to any server, and one this server still holds to it
     * again (its result failed to save). after JOB_ITEMS_LAPSED: only items of lapsed leases
     * (none on a store one server owns). A store one server owns (SQLite) hands out all. */
    int (*job_pending)(struct store *s, const char *job_id, int64_t after, size_t limit,
                       store_item_cb cb, void *ud, struct err *e);
    /* Takes or keeps this server's hold on a whole job, for work one server does at a time (a
     * pipeline or judge job, a near-duplicate job, the loading of a file import): 0 when this
     * server holds it (taken, or renewed), HE_CONFLICT when another server holds it under a
     * live lease, HE_NOT_FOUND when the job is gone. release: gives the hold back (0 also when
     * this server did not hold it). A store one server owns: always 0. Holds are renewed with
     * the item leases and dropped when the store closes. */
    int (*job_hold)(struct store *s, const char *job_id, bool release, struct err *e);
    int (*job_errors)(struct store *s, const char *job_id, size_t limit, store_item_error_cb cb,
                      void *ud, struct err *e);
    /* Job items of every job by state: ret[0] pending, ret[1] done, ret[2] failed (/metrics). */
    int (*job_item_counts)(struct store *s, int64_t ret[3], struct err *e);
    /* Records item results (samples and item states and job counters) in one write. */
    int (*job_items_done_async)(struct store *s, const struct job_item_result *results, size_t n,
                                store_done_cb cb, void *ud, struct err *e);
    /* Creates the job, queued, with items in stages (items[i] is item i) in one write. */
    int (*job_create_staged)(struct store *s, const struct job *j, const struct job_new_item *items,
                             size_t n, struct err *e);
    /* Records steps[0..n) (see struct job_step) in one write; steps and what they point to
     * must stay valid until cb. */
    int (*job_step_async)(struct store *s, const struct job_step *steps, size_t n, store_done_cb cb,
                          void *ud, struct err *e);
    /* Items of q->job_id as q selects them. */
    int (*job_items_scan)(struct store *s, const struct job_item_query *q, store_job_item_cb cb,
                          void *ud, struct err *e);
    /* The job's items summed per stage, in the order stages first appear. */
    int (*job_stages)(struct store *s, const char *job_id, store_job_stage_cb cb, void *ud,
                      struct err *e);
    /* Replaces the job's params (a resume with a new budget); HE_NOT_FOUND when gone. */
    int (*job_set_params)(struct store *s, const char *job_id, const char *params, struct err *e);
    /* Stores a slice of a file import; l (and what it points to) must stay valid until cb. */
    int (*job_load_async)(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                          struct err *e);
    /* Statistics of a task's samples: the figures in ret, every key of every dimension
     * through cb (in no order), from one read of the store. */
    int (*stats)(struct store *s, const char *task_id, struct store_stats *ret, store_stats_cb cb,
                 void *ud, struct err *e);

    /* Near duplicates. The samples of q (ret_total, when not NULL: the task's sample count). */
    int (*dedup_scan)(struct store *s, const struct dedup_scan *q, store_dedup_sample_cb cb,
                      void *ud, int64_t *ret_total, struct err *e);
    int (*dedup_save)(struct store *s, const struct dedup_save *w, struct err *e);
    /* Every band-key row of the task (rows asked for) whose key more than one sample shares,
     * in (band, key, sample id) order. */
    int (*dedup_buckets)(struct store *s, const char *task_id, const char *params, int rows,
                         store_dedup_bucket_cb cb, void *ud, struct err *e);
    /* Replaces the job's clusters with m[0..n) in one write. */
    int (*dedup_clusters_save)(struct store *s, const char *job_id, const struct dedup_member *m,
                               size_t n, struct err *e);
    /* Members of the job's clusters after_cluster + 1 .. after_cluster + limit, by cluster and
     * sample id; samples deleted since are left out. */
    int (*dedup_clusters_list)(struct store *s, const char *job_id, int64_t after_cluster,
                               size_t limit, store_dedup_member_cb cb, void *ud, struct err *e);

    /* Stores an imported project in one write: all or nothing. An id a record of the same kind
     * already has is HE_CONFLICT naming it (field "id"). */
    int (*import)(struct store *s, const struct store_import *imp, struct err *e);
    /* API keys. A revoked key stays (revoked_at set); keys are never deleted. */
    int (*api_key_insert)(struct store *s, const struct api_key *k, struct err *e);
    int (*api_key_get)(struct store *s, const char *id, struct api_key *ret, struct err *e);
    /* Every key, oldest first. */
    int (*api_key_list)(struct store *s, store_api_key_cb cb, void *ud, struct err *e);
    /* Sets revoked_at (kept when the key was revoked before); HE_NOT_FOUND naming "id". */
    int (*api_key_revoke)(struct store *s, const char *id, int64_t now, struct err *e);
    /* The number of keys ever created, revoked ones included. */
    int (*api_key_count)(struct store *s, int64_t *ret, struct err *e);
};

/* Called on one of the store's threads when another server changed a job (made one, asked to
 * cancel one, resumed one, finished one): the workers look at their jobs again at once. */
typedef void (*store_wake_cb)(void *ud);
#define STORE_WATCHERS         4
#define STORE_LEASE_MS_DEFAULT 30000 /* how long claims on a shared store last unrenewed */
#define JOB_ITEMS_LAPSED       (-2)  /* job_pending's after: items of lapsed leases only */

struct store {
    const struct store_ops *ops;
    struct id_gen *ids;
    /* Item leases and job holds last lease_ms (STORE_LEASE_MS_DEFAULT), renewed every third
     * of it; set before the first claim (hetu serve --job-lease). */
    int64_t lease_ms;
    /* Several servers may use this store at once (PostgreSQL); set by the backend at open. */
    bool shared;
    /* This server's name in claims and holds: unique per open store (host, process, random). */
    char owner[64];
    /* Threads that may each wait on the store at once (HTTP threads and workers); a backend
     * with a connection pool sizes it from this. 0: the backend's default. Set before the first
     * call (hetu serve). */
    int pool_hint;
    /* store_watch's callbacks, under watch_lock (a backend's listener thread calls them). */
    pthread_mutex_t watch_lock;
    store_wake_cb watchers[STORE_WATCHERS];
    void *watcher_ud[STORE_WATCHERS];
    int nwatchers;
};

/* Registers cb (at most STORE_WATCHERS; HE_INTERNAL past that). A store one server owns never
 * calls it: the server's own handlers wake its workers. */
int store_watch(struct store *s, store_wake_cb cb, void *ud, struct err *e);

/*
 * Opens the store named by url: "sqlite:PATH", a plain PATH, or ":memory:" (a private in-memory
 * database, for tests), or a PostgreSQL URL, postgresql://USER@HOST:PORT/DB (or postgres://;
 * libpq's environment variables fill what it leaves out). Creates the parent directory of PATH
 * when missing, and applies schema migrations.
 */
int store_open(const char *url, struct store **ret, struct err *e);
void store_close(struct store *s);
/* url as it may be logged: its password ("scheme://user:secret@host" or "?password=secret")
 * becomes "***". */
void store_url_for_log(const char *url, char *buf, size_t size);

/* A new unique id (12 digits). */
int store_new_id(struct store *s, char out[ID_LEN], struct err *e);

/* Release what a record owns (its arena) and zero it; NULL is a no-op. */
void project_done(struct project *p);
void task_done(struct task *t);
void run_done(struct run *r);
/* A copy of src owning all its strings (in dst->mem); 0 or HE_NOMEM, dst untouched on failure. */
int task_copy(struct task *dst, const struct task *src);
void job_done(struct job *j);
void dataset_split_done(struct dataset_split *d);
void api_key_done(struct api_key *k);

/* Topic keys: the path segments, each followed by STORE_TOPIC_SEP. */
#define STORE_TOPIC_SEP "\x1f"

static inline int store_run_insert(struct store *s, struct run *const *runs, size_t n,
                                   struct err *e)
{
    return s->ops->run_insert(s, runs, n, e);
}
static inline int store_run_insert_async(struct store *s, struct run *const *runs, size_t n,
                                         store_done_cb cb, void *ud, struct err *e)
{
    return s->ops->run_insert_async(s, runs, n, cb, ud, e);
}
static inline int store_topic_add_async(struct store *s, const char *task_id,
                                        const char *parent_key, const char *const *names, size_t n,
                                        store_done_cb cb, void *ud, struct err *e)
{
    return s->ops->topic_add_async(s, task_id, parent_key, names, n, cb, ud, e);
}
static inline int store_run_get(struct store *s, const char *task_id, const char *run_id,
                                struct run *ret, struct err *e)
{
    return s->ops->run_get(s, task_id, run_id, ret, e);
}
static inline int store_run_list(struct store *s, const struct run_filter *f, store_run_cb cb,
                                 void *ud, struct err *e)
{
    return s->ops->run_list(s, f, cb, ud, e);
}
static inline int store_run_update(struct store *s, const struct run_update *u, struct err *e)
{
    return s->ops->run_update(s, u, e);
}
static inline int store_run_delete(struct store *s, const char *task_id, const char *run_id,
                                   struct err *e)
{
    return s->ops->run_delete(s, task_id, run_id, e);
}
static inline int store_run_find_by_hash(struct store *s, const char *task_id,
                                         const int64_t *hashes, size_t n, store_run_hash_cb cb,
                                         void *ud, struct err *e)
{
    return s->ops->run_find_by_hash(s, task_id, hashes, n, cb, ud, e);
}
static inline int store_topic_add(struct store *s, const char *task_id, const char *parent_key,
                                  const char *const *names, size_t n, struct err *e)
{
    return s->ops->topic_add(s, task_id, parent_key, names, n, e);
}
static inline int store_topic_list(struct store *s, const char *task_id, store_topic_cb cb,
                                   void *ud, struct err *e)
{
    return s->ops->topic_list(s, task_id, cb, ud, e);
}
static inline int store_split_get(struct store *s, const char *task_id, const char *split_id,
                                  struct dataset_split *ret, struct err *e)
{
    return s->ops->split_get(s, task_id, split_id, ret, e);
}
static inline int store_split_insert(struct store *s, const struct dataset_split *d,
                                     const struct dataset_split_part *parts, size_t nparts,
                                     struct err *e)
{
    return s->ops->split_insert(s, d, parts, nparts, e);
}
static inline int store_split_list(struct store *s, const char *task_id, store_split_cb cb,
                                   void *ud, struct err *e)
{
    return s->ops->split_list(s, task_id, cb, ud, e);
}
static inline int store_split_runs(struct store *s, const char *split_id, const char *part,
                                   store_split_run_cb cb, void *ud, struct err *e)
{
    return s->ops->split_runs(s, split_id, part, cb, ud, e);
}
static inline int store_job_create(struct store *s, const struct job *j,
                                   const char *const *payloads, size_t n, struct err *e)
{
    return s->ops->job_create(s, j, payloads, n, e);
}
static inline int store_job_hold(struct store *s, const char *job_id, bool release, struct err *e)
{
    return s->ops->job_hold(s, job_id, release, e);
}
static inline int store_job_get(struct store *s, const char *job_id, struct job *ret, struct err *e)
{
    return s->ops->job_get(s, job_id, ret, e);
}
static inline int store_job_list(struct store *s, const char *task_id, store_job_cb cb, void *ud,
                                 struct err *e)
{
    return s->ops->job_list(s, task_id, cb, ud, e);
}
/* The one way a job changes state: a move the table in store/job_status.h does not list is a
 * programming error, refused with HE_INTERNAL, and the job is left as it is. */
static inline int store_job_set_status(struct store *s, const char *job_id, enum job_status from,
                                       enum job_status to, const char *error, struct err *e)
{
    if (!job_status_can_move(from, to))
        return err_set(e, HE_INTERNAL, NULL, "job %s: the move from %s to %s is not allowed",
                       job_id, job_status_name(from), job_status_name(to));
    return s->ops->job_set_status(s, job_id, from, to, error, e);
}
static inline int store_job_request_cancel(struct store *s, const char *job_id, struct err *e)
{
    return s->ops->job_request_cancel(s, job_id, e);
}
/* A resume (from failed, cancelled or paused to queued, along the table) or, from running to
 * running, another round for the items that failed; see job_requeue. */
static inline int store_job_requeue(struct store *s, const char *job_id, enum job_status from,
                                    enum job_status to, struct err *e)
{
    if (from != to && !job_status_can_move(from, to))
        return err_set(e, HE_CONFLICT, NULL, "job %s is %s: it cannot become %s", job_id,
                       job_status_name(from), job_status_name(to));
    if (from == to && from != JOB_RUNNING)
        return err_set(e, HE_INTERNAL, NULL, "job %s: only a running job's items run again",
                       job_id);
    return s->ops->job_requeue(s, job_id, from, to, e);
}
static inline int store_job_pending(struct store *s, const char *job_id, int64_t after,
                                    size_t limit, store_item_cb cb, void *ud, struct err *e)
{
    return s->ops->job_pending(s, job_id, after, limit, cb, ud, e);
}
static inline int store_job_errors(struct store *s, const char *job_id, size_t limit,
                                   store_item_error_cb cb, void *ud, struct err *e)
{
    return s->ops->job_errors(s, job_id, limit, cb, ud, e);
}
static inline int store_job_item_counts(struct store *s, int64_t ret[3], struct err *e)
{
    if (!s->ops->job_item_counts)
        return err_set(e, HE_INTERNAL, NULL, "the store does not count job items");
    return s->ops->job_item_counts(s, ret, e);
}
static inline int store_job_items_done_async(struct store *s, const struct job_item_result *results,
                                             size_t n, store_done_cb cb, void *ud, struct err *e)
{
    return s->ops->job_items_done_async(s, results, n, cb, ud, e);
}
static inline int store_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb,
                                       void *ud, struct err *e)
{
    return s->ops->job_load_async(s, l, cb, ud, e);
}
static inline int store_topic_counts(struct store *s, const char *task_id, store_topic_count_cb cb,
                                     void *ud, struct err *e)
{
    return s->ops->topic_counts(s, task_id, cb, ud, e);
}
static inline int store_topic_delete(struct store *s, struct topic_delete *d, struct err *e)
{
    return s->ops->topic_delete(s, d, e);
}
static inline int store_stats(struct store *s, const char *task_id, struct store_stats *ret,
                              store_stats_cb cb, void *ud, struct err *e)
{
    return s->ops->stats(s, task_id, ret, cb, ud, e);
}

static inline int store_health(struct store *s, struct store_health *ret, struct err *e)
{
    return s->ops->health(s, ret, e);
}
static inline int store_project_insert(struct store *s, const struct project *p, struct err *e)
{
    return s->ops->project_insert(s, p, e);
}
static inline int store_project_update(struct store *s, const struct project *p, struct err *e)
{
    return s->ops->project_update(s, p, e);
}
static inline int store_api_key_insert(struct store *s, const struct api_key *k, struct err *e)
{
    return s->ops->api_key_insert(s, k, e);
}
static inline int store_api_key_get(struct store *s, const char *id, struct api_key *ret,
                                    struct err *e)
{
    return s->ops->api_key_get(s, id, ret, e);
}
static inline int store_api_key_list(struct store *s, store_api_key_cb cb, void *ud, struct err *e)
{
    return s->ops->api_key_list(s, cb, ud, e);
}
static inline int store_api_key_revoke(struct store *s, const char *id, int64_t now, struct err *e)
{
    return s->ops->api_key_revoke(s, id, now, e);
}
static inline int store_api_key_count(struct store *s, int64_t *ret, struct err *e)
{
    return s->ops->api_key_count(s, ret, e);
}
static inline int store_project_get(struct store *s, const char *id, struct project *ret,
                                    struct err *e)
{
    return s->ops->project_get(s, id, ret, e);
}
static inline int store_project_list(struct store *s, store_project_cb cb, void *ud, struct err *e)
{
    return s->ops->project_list(s, cb, ud, e);
}
static inline int store_project_delete(struct store *s, const char *id, struct err *e)
{
    return s->ops->project_delete(s, id, e);
}
static inline int store_task_insert(struct store *s, const struct task *t, struct err *e)
{
    return s->ops->task_insert(s, t, e);
}
static inline int store_task_update(struct store *s, const struct task *t, bool schema_changed,
                                    struct err *e)
{
    return s->ops->task_update(s, t, schema_changed, e);
}
static inline int store_task_get(struct store *s, const char *project_id, const char *task_id,
                                 struct task *ret, struct err *e)
{
    return s->ops->task_get(s, project_id, task_id, ret, e);
}
static inline int store_task_list(struct store *s, const char *project_id, store_task_cb cb,
                                  void *ud, struct err *e)
{
    return s->ops->task_list(s, project_id, cb, ud, e);
}
static inline int store_task_delete(struct store *s, const char *project_id, const char *task_id,
                                    struct err *e)
{
    return s->ops->task_delete(s, project_id, task_id, e);
}

static inline int store_dedup_scan(struct store *s, const struct dedup_scan *q,
                                   store_dedup_sample_cb cb, void *ud, int64_t *ret_total,
                                   struct err *e)
{
    return s->ops->dedup_scan(s, q, cb, ud, ret_total, e);
}
static inline int store_dedup_save(struct store *s, const struct dedup_save *w, struct err *e)
{
    return s->ops->dedup_save(s, w, e);
}
static inline int store_dedup_buckets(struct store *s, const char *task_id, const char *params,
                                      int rows, store_dedup_bucket_cb cb, void *ud, struct err *e)
{
    return s->ops->dedup_buckets(s, task_id, params, rows, cb, ud, e);
}
static inline int store_dedup_clusters_save(struct store *s, const char *job_id,
                                            const struct dedup_member *m, size_t n, struct err *e)
{
    return s->ops->dedup_clusters_save(s, job_id, m, n, e);
}
static inline int store_dedup_clusters_list(struct store *s, const char *job_id,
                                            int64_t after_cluster, size_t limit,
                                            store_dedup_member_cb cb, void *ud, struct err *e)
{
    return s->ops->dedup_clusters_list(s, job_id, after_cluster, limit, cb, ud, e);
}
static inline int store_import(struct store *s, const struct store_import *imp, struct err *e)
{
    return s->ops->import(s, imp, e);
}

static inline int store_job_create_staged(struct store *s, const struct job *j,
                                          const struct job_new_item *items, size_t n, struct err *e)
{
    return s->ops->job_create_staged(s, j, items, n, e);
}
static inline int store_job_step_async(struct store *s, const struct job_step *steps, size_t n,
                                       store_done_cb cb, void *ud, struct err *e)
{
    return s->ops->job_step_async(s, steps, n, cb, ud, e);
}
static inline int store_job_items_scan(struct store *s, const struct job_item_query *q,
                                       store_job_item_cb cb, void *ud, struct err *e)
{
    return s->ops->job_items_scan(s, q, cb, ud, e);
}
static inline int store_job_stages(struct store *s, const char *job_id, store_job_stage_cb cb,
                                   void *ud, struct err *e)
{
    return s->ops->job_stages(s, job_id, cb, ud, e);
}
static inline int store_job_set_params(struct store *s, const char *job_id, const char *params,
                                       struct err *e)
{
    return s->ops->job_set_params(s, job_id, params, e);
}

#endif
