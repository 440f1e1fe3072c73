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

int pg_todo_job_create_staged(struct store *s, const struct job *j,
                              const struct job_new_item *items, size_t n, struct err *e)
{
    return pg_todo(e, "job_create_staged");
}

int pg_todo_job_step_async(struct store *s, const struct job_step *steps, size_t n,
                           store_done_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "job_step_async");
}

int pg_todo_job_items_scan(struct store *s, const struct job_item_query *q, store_job_item_cb cb,
                           void *ud, struct err *e)
{
    return pg_todo(e, "job_items_scan");
}

int pg_todo_job_stages(struct store *s, const char *job_id, store_job_stage_cb cb, void *ud,
                       struct err *e)
{
    return pg_todo(e, "job_stages");
}

int pg_todo_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                           struct err *e)
{
    return pg_todo(e, "job_load_async");
}
