/* SPDX-License-Identifier: MIT */
/*
 * Durable jobs: imports that run in the background, survive restarts and report progress.
 *
 * A job and its items are rows in the store. The runner (one thread) claims pending items,
 * keeps a window of them in flight in the engine, and records each result with its item's new
 * state in one commit; at start it resumes every job left queued or running. A file import
 * first loads its rows from a spool file (rows with an output become samples at once, the rest
 * become items), recording how far it got in the same commits.
 */
#ifndef HETU_JOBS_JOBS_H
#define HETU_JOBS_JOBS_H

#include <stddef.h>

#include <json-c/json.h>

#include "gen/gen.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/err.h"

#define JOBS_DEFAULT_WINDOW 1000

/* The kinds this runner runs. */
#define JOBS_KIND_SAMPLES "import_samples" /* import_samples_async */
#define JOBS_KIND_FILE    "import_file"    /* a file upload or a server-side path */

struct jobs_config {
    size_t window;         /* items in flight per job */
    const char *spool_dir; /* where file imports keep their rows until loaded */
};

struct jobs;

int jobs_start(const struct gen_env *env, const struct jobs_config *cfg, struct jobs **ret,
               struct err *e);
/* Wakes the runner: a job was created or a cancel was requested. Any thread. */
void jobs_notify(struct jobs *j);
/* Stops the runner; work in flight is cancelled and stays pending for the next start. */
void jobs_stop(struct jobs *j);

const char *jobs_spool_dir(const struct jobs *j);

/* What the runner needs to run a job, besides the job's row: set by the request that creates
 * it and kept by the store as text (a JSON object, the one place that knows its keys is
 * job_params.c). Every field but project_id may be NULL. */
struct job_params {
    const char *project_id;
    const char *session_id;
    const char *file_name;   /* file imports: the uploaded file's name */
    const char *source_type; /* the samples' input source ("file_import"), or NULL */
    const char *spool;       /* file imports: the spool file's path */
    bool allow_truncated;    /* file imports: outputs cut at the limit kept, tagged */
    int64_t skipped;         /* duplicates left out when the job was made (dedup=skip) */
    /* The request that made the job, whose id the job's log lines carry; job_params_encode
     * takes it from the thread's log context when NULL (util/log.h). */
    const char *request_id;
};

/* The params as the store keeps them (free with free), or NULL when out of memory. */
char *job_params_encode(const struct job_params *p);
/* Reads params back, their strings in mem. HE_INVALID when the text is not params or misses
 * project_id. */
int job_params_decode(const char *text, struct arena *mem, struct job_params *ret, struct err *e);

/* The job as the API shows it, with its first errors. */
int jobs_render(struct store *store, const struct job *j, struct json_object **ret, struct err *e);

#endif
