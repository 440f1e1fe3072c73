/* SPDX-License-Identifier: MIT */
/* Job item payloads to samples (job_item.h). Runs on the runner thread. */
#include "jobs/job_item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/prompt.h"
#include "jobs/spool.h"
#include "util/arena.h"
#include "util/json.h"
#include "util/banned.h"

/* The sample of a spooled row. The row was checked when the file was uploaded; the providers
 * and models are checked again, as they may have changed since. */
static int sample_of_row(const struct gen_env *env, const struct spool_header *h,
                         const struct spool_row *row, const char *where, struct gen_sample *s,
                         struct err *e)
{
    int m = prompt_method_parse(h->prompt_method);
    struct gen_import_source src = {.input_model = h->input_model,
                                    .input_provider = h->input_provider,
                                    .output_model = h->output_model,
                                    .output_provider = h->output_provider,
                                    .method = m < 0 ? PM_SIMPLE : (enum prompt_method)m};

    memset(s, 0, sizeof(*s));
    if (m < 0)
        return err_set(e, HE_INVALID, where, "%s: unknown prompt method '%s'", where,
                       h->prompt_method);
    if (gen_import_sample(&src, &row->row, s) < 0)
        return err_set(e, HE_NOMEM, NULL, NULL);
    return gen_sample_check(env, s, where, e);
}

static int sample_of_spooled(const struct gen_env *env, const void *payload, size_t len,
                             struct arena *scratch, const char *where, struct gen_sample *s,
                             struct err *e)
{
    struct spool_header h;
    struct spool_row row;
    int r;

    if ((r = spool_item_read(payload, len, scratch, &h, &row, e)) == 0)
        r = sample_of_row(env, &h, &row, where, s, e);
    return r;
}

static int sample_of_json(const struct gen_env *env, const struct task *t, const void *payload,
                          size_t len, const char *where, struct gen_sample *s, struct err *e)
{
    struct json_object *o = NULL;
    int r;

    if ((r = json_parse(payload, len, &o, e)) < 0)
        return r;
    r = gen_parse_sample(env, t, o, where, s, e);
    json_object_put(o);
    return r;
}

int job_item_sample(const struct gen_env *env, const struct task *t, const void *payload,
                    size_t len, int64_t idx, struct arena *scratch, struct gen_sample *ret,
                    struct err *e)
{
    char where[32];
    int r;

    memset(ret, 0, sizeof(*ret));
    snprintf(where, sizeof(where), "item %lld", (long long)idx);
    if (spool_is_item(payload, len))
        r = sample_of_spooled(env, payload, len, scratch, where, ret, e);
    else
        r = sample_of_json(env, t, payload, len, where, ret, e);
    if (r < 0)
        gen_sample_free(ret);
    return r;
}
