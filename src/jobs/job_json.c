/* SPDX-License-Identifier: MIT */
/* The Job JSON of the API: counts, rate, timestamps and the first failures. */
#include <stdlib.h>

#include "dedup/near_job.h"
#include "jobs/jobs.h"
#include "pipeline/pipeline.h"
#include "util/clock.h"
#include "util/json.h"
#include "util/banned.h"

#define FIRST_ERRORS 10

static struct json_object *ts_or_null(int64_t us)
{
    char ts[CLOCK_ISO_LEN];
    if (!us)
        return NULL;
    clock_iso8601(us, ts);
    return json_object_new_string(ts);
}

static int add_error(void *ud, int64_t idx, const char *error, struct err *e)
{
    struct json_object *o = json_object_new_object();
    (void)e;
    json_object_object_add(o, "index", json_object_new_int64(idx));
    json_object_object_add(o, "detail", json_object_new_string(error ? error : ""));
    json_object_array_add(ud, o);
    return 0;
}

/* Duplicates the job left out when it was made (dedup=skip), as its params keep them. */
static int64_t skipped_of(const struct job *j)
{
    struct job_params p = {0};
    struct arena mem;
    struct err e;

    err_clear(&e);
    arena_init(&mem);
    if (!j->params || job_params_decode(j->params, &mem, &p, &e) < 0)
        p.skipped = 0;
    arena_done(&mem);
    return p.skipped;
}

int jobs_render(struct store *store, const struct job *j, struct json_object **ret, struct err *e)
{
    struct json_object *o = json_object_new_object(), *errors = json_object_new_array();
    int64_t end = j->finished_at ? j->finished_at : clock_wall_us();
    double secs = j->started_at ? (double)(end - j->started_at) / 1e6 : 0;
    double rate = secs > 0 ? (double)(j->completed + j->failed) / secs : 0;
    int r;

    if ((r = store_job_errors(store, j->id, FIRST_ERRORS, add_error, errors, e)) < 0) {
        json_object_put(o);
        json_object_put(errors);
        return r;
    }
    json_object_object_add(o, "id", json_object_new_string(j->id));
    json_object_object_add(o, "kind", json_object_new_string(j->kind));
    json_object_object_add(o, "status", json_object_new_string(job_status_name(j->status)));
    json_object_object_add(o, "total", json_object_new_int64(j->total));
    json_object_object_add(o, "completed", json_object_new_int64(j->completed));
    json_object_object_add(o, "failed", json_object_new_int64(j->failed));
    json_object_object_add(o, "skipped", json_object_new_int64(skipped_of(j)));
    json_object_object_add(o, "rate", json_object_new_double((double)(int64_t)(rate * 10) / 10));
    json_object_object_add(o, "created_at", ts_or_null(j->created_at));
    json_object_object_add(o, "started_at", ts_or_null(j->started_at));
    json_object_object_add(o, "finished_at", ts_or_null(j->finished_at));
    json_object_object_add(o, "error", json_str_or_null(j->error));
    json_object_object_add(o, "errors", errors);
    near_job_render(j, o);
    if ((r = pipeline_job_render(store, j, o, e)) < 0) {
        json_object_put(o);
        return r;
    }
    *ret = o;
    return 0;
}
