/* SPDX-License-Identifier: MIT */
/*
 * The near-duplicate job: MinHash signatures of every input of a task (stored, so a later job
 * signs only samples that have none), LSH buckets from the stored band keys, candidate pairs
 * verified (near_groups.h), clusters stored with the job.
 *
 * Jobs of this kind are rows of the same jobs table as imports, but have no items: one worker
 * thread of their own (started and stopped by `hetu serve` beside the job runner, which leaves
 * this kind alone; woken by the requests that create, cancel or resume a job) claims them,
 * and after a restart takes up those left queued or running (a job starts over; its signatures
 * stored so far are reused). Progress is the job's counters: total (the task's samples),
 * completed (samples signed or found signed), and the cursor, shown as signatures_computed.
 */
#ifndef HETU_DEDUP_NEAR_JOB_H
#define HETU_DEDUP_NEAR_JOB_H

#include <json-c/json.h>

#include "dedup/minhash.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/err.h"

#define NEAR_JOB_KIND          "near_duplicates"
#define NEAR_DEFAULT_THRESHOLD 0.8

struct near_worker;

int near_worker_start(struct store *store, struct near_worker **ret, struct err *e);
/* Wakes the worker: a job was created, resumed or asked to cancel. Any thread; NULL is a no-op. */
void near_worker_notify(struct near_worker *w);
/* Stops the worker; a job it was running stays running and starts over at the next start. */
void near_worker_stop(struct near_worker *w);

/* The job's params as the store keeps them (free with free), or NULL when out of memory. */
char *near_job_params(const char *project_id, double threshold);
/* The threshold a job was created with; HE_INVALID when its params hold none. */
int near_job_threshold(const struct job *j, double *ret, struct err *e);
/* Adds to a job's JSON what a near-duplicate job shows besides its counts: threshold and
 * signatures_computed. Other kinds: nothing. */
void near_job_render(const struct job *j, struct json_object *o);

/* The signature of a sample's input: normalised (scratch holds the normal form), then signed. */
int near_sign_input(const char *input, size_t len, struct buf *scratch, struct minhash_sig *ret,
                    struct err *e);

#endif
