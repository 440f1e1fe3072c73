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

int pg_todo_job_create(struct store *s, const struct job *j, const char *const *payloads, size_t n,
                       struct err *e)
{
    return pg_todo(e, "job_create");
}

int pg_todo_job_get(struct store *s, const char *job_id, struct job *ret, struct err *e)
{
    return pg_todo(e, "job_get");
}

int pg_todo_job_list(struct store *s, const char *task_id, store_job_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "job_list");
}

int pg_todo_job_set_status(struct store *s, const char *job_id, enum job_status from,
                           enum job_status to, const char *error, struct err *e)
{
    return pg_todo(e, "job_set_status");
}

int pg_todo_job_request_cancel(struct store *s, const char *job_id, struct err *e)
{
    return pg_todo(e, "job_request_cancel");
}

int pg_todo_job_requeue(struct store *s, const char *job_id, enum job_status from,
                        enum job_status to, struct err *e)
{
    return pg_todo(e, "job_requeue");
}

int pg_todo_job_pending(struct store *s, const char *job_id, int64_t after, size_t limit,
                        store_item_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "job_pending");
}

int pg_todo_job_hold(struct store *s, const char *job_id, bool release, struct err *e)
{
    return pg_todo(e, "job_hold");
}

int pg_todo_job_errors(struct store *s, const char *job_id, size_t limit, store_item_error_cb cb,
                       void *ud, struct err *e)
{
    return pg_todo(e, "job_errors");
}

int pg_todo_job_item_counts(struct store *s, int64_t ret[3], struct err *e)
{
    return pg_todo(e, "job_item_counts");
}

int pg_todo_job_items_done_async(struct store *s, const struct job_item_result *results, size_t n,
                                 store_done_cb cb, void *ud, struct err *e)
{
    return pg_todo(e, "job_items_done_async");
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

int pg_todo_job_set_params(struct store *s, const char *job_id, const char *params, struct err *e)
{
    return pg_todo(e, "job_set_params");
}

int pg_todo_job_load_async(struct store *s, const struct job_load *l, store_done_cb cb, void *ud,
                           struct err *e)
{
    return pg_todo(e, "job_load_async");
}
