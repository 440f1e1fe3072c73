/* SPDX-License-Identifier: MIT */
/*
 * The job runner's state, shared by runner.c (the loop, items, a job's state) and load.c (the
 * fast path of file imports) and by nothing else.
 */
#ifndef HETU_JOBS_RUNNER_INT_H
#define HETU_JOBS_RUNNER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "gen/gen.h"
#include "jobs/jobs.h"
#include "jobs/spool.h"
#include "store/store.h"
#include "util/arena.h"

#define LOAD_BATCH      4000
#define LOAD_BYTES      (4u << 20) /* spool bytes a slice holds, about */
#define LOADS_IN_FLIGHT 3          /* slices being written while the next one is read */

/*
 * A job the runner holds. The engine's and the store writer's callbacks (on_output,
 * on_recorded, on_loaded) reach it through the items and slices they carry; it is freed only
 * when none points to it any more (outstanding() is 0).
 */
struct active {
    /* shared with the callbacks, under jobs.lock */
    int64_t cursor;                   /* spool rows stored (job.cursor is not kept up to date) */
    size_t loads;                     /* slices handed to the store, not yet committed */
    char *load_error;                 /* why a slice could not be stored */
    size_t inflight;                  /* items in the engine or on their way to the store */
    int64_t successes, same_failures; /* the early stop's counts */
    int64_t retryable;                /* items failed in a way a retry can fix */
    char *last_error;                 /* the reason same_failures counts */

    /* runner thread only; job.id, job.total and params do not change once adopted, so the
     * callbacks may read them too */
    struct job job;
    struct task task;
    struct arena params_mem;
    struct job_params params;      /* strings in params_mem */
    FILE *spool_file;              /* open while loading, positioned at row spool_row */
    int64_t spool_row;             /* rows read from the spool and handed to the store */
    struct arena spool_mem;        /* the spool's header */
    struct spool_header spool_hdr; /* what all its rows share */
    struct gen_import imp;         /* set up from the header when the spool is first opened;
                                      the runs of slices in flight point into it */
    bool imp_ready;
    uint64_t group;   /* the engine group of this run; a resumed job gets a new one, since
                         calls of a cancelled group are refused for minutes */
    int64_t next_idx; /* claims continue after this item */
    int64_t swept_us; /* when claims last looked for lapsed leases (a shared store) */
    int rounds;       /* of items run again (again()) */
    bool cancelling, stopping_early, loaded, no_more;
    bool loader;          /* this server loads the rows (it holds the job for that) */
    bool ended_elsewhere; /* another server recorded the job's end: drop it, record nothing */
    struct active *next;
};

/* The runner. */
struct jobs {
    /* set at start, then read only */
    struct gen_env env;
    struct jobs_config cfg;
    char *spool_dir;
    pthread_t thread;

    /* shared by every thread, under lock */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop, kicked;
    size_t inflight;          /* items and slices of all jobs */
    struct load *spent_loads; /* stored slices, freed by the runner (see on_loaded) */

    /* runner thread only */
    struct active *list;
    uint64_t runs; /* jobs adopted so far */
};

/* load.c: closes a job's spool file (a no-op when it is not open). */
void jobs_close_spool(struct active *a);
/* load.c: reads the next slice of a file import's spool and hands it to the store. */
int jobs_load_slice(struct jobs *j, struct active *a, struct err *e);
/* load.c: frees the slices the store has written (runner thread). */
void jobs_free_spent_loads(struct jobs *j);

#endif
