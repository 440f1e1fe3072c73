/* SPDX-License-Identifier: MIT */
/*
 * The pipeline driver's insides, shared by driver.c (the thread, jobs, claims, the budget),
 * stages.c (what each stage's item does and the step it settles with) and memo.c (what a job
 * keeps in memory: its tree, leaf counts, accepted inputs).
 *
 * Threads: a struct pjob and its memo belong to the driver thread alone. An item (struct
 * pitem) is made by the driver thread, owned by the engine while its calls run, handed back
 * through the driver's `landed` queue, written with store_job_step_async and handed back once
 * more through the `recorded` queue; only the driver thread touches the job it points to.
 */
#ifndef HETU_PIPELINE_DRIVER_INT_H
#define HETU_PIPELINE_DRIVER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "dedup/minhash.h"
#include "pipeline/pipeline.h"
#include "util/arena.h"
#include "util/log.h"

/* ---- memo.c: what a job keeps in memory ---- */

/* A node of the task's tree (by topic key): its children's names and the samples at it. */
struct memo_node {
    char *key;
    char **kids;
    size_t n_kids, cap_kids;
    int64_t samples;
};

/* 64-bit keys (never 0) to values. */
struct memo_table {
    int64_t *keys, *vals;
    size_t n, cap;
};

struct memo {
    struct memo_node **nodes;
    size_t n_nodes, cap_nodes;
    struct memo_table node_index; /* a key's hash -> its index in nodes */
    /* accepted input hashes -> the dedup item that accepted them (-1: before) */
    struct memo_table hashes;
    /* near duplicates: the signatures inputs are compared with, found through LSH buckets
     * (a band's key -> the last entry in it; entry sig * bands + band chains to the one
     * before it in lsh_next, +1, 0 ending the chain) */
    struct minhash_sig *sigs;
    int64_t *sig_owners;
    size_t n_sigs, cap_sigs;
    double threshold;
    struct lsh_params lsh;
    struct memo_table buckets;
    int64_t *lsh_next;
};

void memo_done(struct memo *m);
/* The node at key (made when absent with make), or NULL (out of memory, or absent). */
struct memo_node *memo_node(struct memo *m, const char *key, bool make);
/* Adds a child name to the node at parent_key unless there (case- and space-insensitive). */
int memo_add_kid(struct memo *m, const char *parent_key, const char *name);
/* The dedup item that accepted hash (-1 for one accepted before), or -2 when none did. */
int64_t memo_hash_owner(const struct memo *m, int64_t hash);
int memo_hash_add(struct memo *m, int64_t hash, int64_t owner);
/* Sets the similarity at which inputs are near duplicates, before any signature is added. */
void memo_near_init(struct memo *m, double threshold);
/* Whether sig is at least the threshold similar to a kept signature: candidates sharing an LSH
 * band with it, each compared. */
bool memo_near(const struct memo *m, const struct minhash_sig *sig);
/* Forgets the hashes and signatures a dedup item added (it runs again: its step was lost). */
#define MEMO_FORGOTTEN (-3)
void memo_forget(struct memo *m, int64_t owner);
int memo_sig_add(struct memo *m, const struct minhash_sig *sig, int64_t owner);

/* ---- driver.c ---- */

/* Spend expected of one item (or summed over items): calls, tokens (in + out), USD. */
struct expect {
    double calls, tokens, cost; /* cost NaN: unknown */
};

struct pipeline_driver;

/* A job being run (driver thread only). */
struct pjob {
    struct pipeline_driver *d;
    struct pjob *next;
    struct job job; /* kind and status; params and error not kept */
    bool pipeline;  /* a pipeline (else a judge job) */
    struct arena mem;
    struct pipeline_spec spec; /* pipeline */
    struct judge_model judge;  /* the pipeline's judge, or the judge job's */
    double keep;               /* NaN: none */
    struct pipeline_budget budget;
    struct expect per_call[PS_COUNT]; /* from the estimate; calls 0: none */
    struct expect seen[PS_COUNT];     /* the largest spend of one item so far; calls 0: none */
    struct task task;
    struct gen_examples examples;
    bool examples_ready;
    char request_id[LOG_REQUEST_MAX + 1];
    uint64_t group;
    int64_t after[PS_COUNT]; /* claimed up to this index, per stage */
    bool no_more;
    struct memo memo;
    struct expect spent, reserved; /* spent: recorded items; reserved: items in flight */
    size_t inflight, inflight_stage[PS_COUNT];
    int64_t successes, same_failures, retryable;
    char *last_error;
    int rounds;
    bool cancelling, stopping_early;
    char blocked[ERR_MSG_MAX]; /* why the next item waits for the budget; "" when none does */
};

/* An item on its way (see the threads rule above). */
struct pitem {
    struct pjob *j;
    struct pitem *next;
    int64_t idx;
    enum pipeline_stage stage;
    struct json_object *payload;
    struct expect reserve;
    /* the result */
    int code;
    char *error;
    struct job_spend spend;
    struct json_object *list; /* topics: new names; inputs: new inputs */
    struct run *run;          /* outputs: the new sample (judge: the sample read) */
    char *rating, *reasoning; /* judge */
    double score;
    /* the step, valid until recorded */
    struct job_step step;
    struct arena mem;
    int written; /* the store's answer */
};

/* Hands an item whose calls ended back to the driver thread (any thread). */
void driver_landed(struct pitem *it);
/* The engine group of a job. */
uint64_t driver_group(const struct pjob *j);
const struct gen_env *driver_env(const struct pjob *j);

/* ---- budget.c ---- */

/* Per-call figures from the estimate in the job's params (NULL: none). */
void budget_init(struct pjob *j, struct json_object *estimate);
/* What the job's recorded items spent (store_job_stages): spent, and per-item figures. */
int budget_load_spent(struct pjob *j, struct err *e);
/* Reserves what an item of stage s making `calls` calls is expected to spend; false when it
 * must wait (j->blocked says why when the budget would be passed). */
bool budget_reserve(struct pjob *j, enum pipeline_stage s, double calls, struct expect *ret);
void budget_release(struct pjob *j, const struct expect *x);
/* A recorded item's spend. */
void budget_spent(struct pjob *j, enum pipeline_stage s, const struct job_spend *sp);

/* ---- load.c ---- */

/* Reads a job's params, its task and (pipelines) what it keeps in memory. */
int adopt_load(struct pjob *j, const char *params, struct err *e);

/* ---- stages.c ---- */

/* What an item will spend before it starts (no call: zero), from its payload. */
void stage_plan(struct pitem *it, double *ret_calls);
/* Starts an item: 0 when its calls run (it lands later), 1 when its step is ready at once,
 * or a negative code with it->error set (the item fails). */
int stage_start(struct pitem *it);
/* Builds the step of a landed item (result or failure) in it->step. */
int stage_step(struct pitem *it);
/* After the step was stored: what the job keeps in memory follows. */
void stage_recorded(struct pitem *it);
void pitem_free(struct pitem *it);

#endif
