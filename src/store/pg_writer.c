/* SPDX-License-Identifier: MIT */
/*
 * PostgreSQL backend: the writer of asynchronous writes (run_insert_async, topic_add_async,
 * job_items_done_async, job_step_async, job_load_async).
 *
 * For now each write commits on the calling thread, in its own transaction, and calls back
 * before returning.
 */
#include "store/pg_int.h"
#include "util/banned.h"

int pg_write_async(struct store *s, pg_write_fn fn, void *arg, const char *what, store_done_cb cb,
                   void *ud, struct err *e)
{
    struct err done;
    int r;

    if (!cb)
        return pg_transact(s, fn, arg, what, e);
    err_clear(&done);
    r = pg_transact(s, fn, arg, what, &done);
    cb(ud, r, r < 0 ? &done : NULL);
    return 0;
}
