/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: the store ops it does not do yet. Each fails at once with HE_UNAVAILABLE
 * (503) naming the op, never touching its arguments (an asynchronous one does not call its
 * callback), so a server on PostgreSQL answers a clear error where the work is missing. Each
 * function leaves this file when the backend does its op.
 */
#include "store/pg_int.h"
#include "util/banned.h"

/* The stubs take the op's parameters and use none of them. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

static int pg_todo(struct err *e, const char *op)
{
    return err_set(e, HE_UNAVAILABLE, NULL, "the postgresql backend does not do %s yet", op);
}

int pg_todo_split_insert(struct store *s, const struct dataset_split *d,
                         const struct dataset_split_part *parts, size_t nparts, struct err *e)
{
    return pg_todo(e, "split_insert");
}

int pg_todo_split_get(struct store *s, const char *task_id, const char *split_id,
                      struct dataset_split *ret, struct err *e)
{
    return pg_todo(e, "split_get");
}

int pg_todo_split_list(struct store *s, const char *task_id, store_split_cb cb, void *ud,
                       struct err *e)
{
    return pg_todo(e, "split_list");
}

int pg_todo_split_runs(struct store *s, const char *split_id, const char *part,
                       store_split_run_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "split_runs");
}

int pg_todo_stats(struct store *s, const char *task_id, struct store_stats *ret, store_stats_cb cb,
                  void *ud, struct err *e)
{
    return pg_todo(e, "stats");
}

int pg_todo_dedup_scan(struct store *s, const struct dedup_scan *q, store_dedup_sample_cb cb,
                       void *ud, int64_t *ret_total, struct err *e)
{
    return pg_todo(e, "dedup_scan");
}

int pg_todo_dedup_save(struct store *s, const struct dedup_save *w, struct err *e)
{
    return pg_todo(e, "dedup_save");
}

int pg_todo_dedup_buckets(struct store *s, const char *task_id, const char *params, int rows,
                          store_dedup_bucket_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "dedup_buckets");
}

int pg_todo_dedup_clusters_save(struct store *s, const char *job_id, const struct dedup_member *m,
                                size_t n, struct err *e)
{
    return pg_todo(e, "dedup_clusters_save");
}

int pg_todo_dedup_clusters_list(struct store *s, const char *job_id, int64_t after_cluster,
                                size_t limit, store_dedup_member_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "dedup_clusters_list");
}

int pg_todo_import(struct store *s, const struct store_import *imp, struct err *e)
{
    return pg_todo(e, "import");
}
