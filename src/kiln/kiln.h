/* SPDX-License-Identifier: MIT */
/*
 * Kiln project folders imported into the store. A folder in Kiln 0.15's layout holds
 * project.kiln, tasks/<task>/task.kiln, tasks/<task>/runs/<run>/task_run.kiln and
 * tasks/<task>/dataset_splits/<split>/dataset_split.kiln, each one JSON object as Kiln's pydantic
 * models dump it. kiln_read.c turns one file's JSON into a store record, checking it as Kiln's
 * models check it when they load a file and filling what is missing with their defaults;
 * kiln_import.c walks a folder and stores everything in one write, or nothing.
 */
#ifndef HETU_KILN_KILN_H
#define HETU_KILN_KILN_H

#include <json-c/json.h>
#include <stdint.h>

#include "store/store.h"
#include "util/arena.h"
#include "util/err.h"

#define KILN_FILE_MAX   (16u * 1024 * 1024)     /* bytes of one file */
#define KILN_TOTAL_MAX  (4096ull * 1024 * 1024) /* bytes of every file of a folder */
#define KILN_MAX_TASKS  10000
#define KILN_MAX_RUNS   1000000
#define KILN_MAX_SPLITS 10000

/*
 * Ids for records whose file gives none. Runs are read twice (checked first, stored after,
 * kiln_import.c); the second time on the store's writer thread, which must not wait for the
 * store. So without a pool, ids come from the store and are counted; with one (as many ids taken
 * from the store beforehand as the first reading counted), from the pool.
 */
struct kiln_ids {
    struct store *store;
    size_t count;               /* taken from the store so far */
    const char (*pool)[ID_LEN]; /* or NULL */
    size_t npool, used;
};

/* The next id for a record whose file gives none. */
int kiln_new_id(struct kiln_ids *ids, char out[ID_LEN], struct err *e);

/* What reading one file takes: where the record's strings go and Kiln's defaults. */
struct kiln_ctx {
    struct kiln_ids *ids;
    struct arena *mem; /* the record's strings */
    const char *user;  /* created_by when a file gives none */
    int64_t now;       /* created_at when a file gives none */
    const char *rel;   /* the file, relative to the project folder, for messages */
};

/* Each reads the JSON object o of a file into ret (strings in k->mem). A damaged file is
 * HE_BAD_REQUEST naming k->rel and the field (the field also in e->field). */
int kiln_read_project(const struct kiln_ctx *k, struct json_object *o, struct project *ret,
                      struct err *e);
int kiln_read_task(const struct kiln_ctx *k, struct json_object *o, const char *project_id,
                   struct task *ret, struct err *e);
int kiln_read_run(const struct kiln_ctx *k, struct json_object *o, const char *task_id,
                  struct run *ret, struct err *e);
/* A DatasetSplit; its parts (split_contents) in *ret_parts, in k->mem. */
int kiln_read_split(const struct kiln_ctx *k, struct json_object *o, const char *task_id,
                    struct dataset_split *ret, struct dataset_split_part **ret_parts,
                    size_t *ret_nparts, struct err *e);

/*
 * Imports the Kiln project at path (its folder, or the folder's project.kiln), which must lie
 * inside the directory root (symbolic links resolved: none may lead out of it). Every file is
 * read and checked before anything is stored; then all is stored in one write, the runs read
 * again one at a time inside it. ret_id gets the project's id. user is the created_by of records
 * whose files lack one.
 */
int kiln_import(struct store *s, const char *root, const char *path, const char *user,
                char ret_id[ID_LEN], struct err *e);

#endif
