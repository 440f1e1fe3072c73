/* SPDX-License-Identifier: MIT */
/* Job item payloads to samples (job_item.h). Runs on the runner thread. */
#include "jobs/job_item.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/prompt.h"
#include "jobs/spool.h"
#include "util/arena.h"
#include "util/cleanup.h"
#include "util/json.h"
#include "util/banned.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A NULL-terminated copy of n strings; NULL when out of memory. */
static char **dup_list(const char *const *items, size_t n)
{
    char **out = calloc(n + 1, sizeof(*out));

    for (size_t i = 0; out && i < n; i++)
        if (!(out[i] = strdup(items[i]))) {
            while (i > 0)
                free(out[--i]);
            free(take_ptr(out));
        }
    return out;
}

/* The sample of a spooled row. The row was checked when the file was uploaded; the providers
 * and models are checked again, as they may have changed since. */
static int sample_of_row(const struct gen_env *env, const struct spool_header *h,
                         const struct spool_row *row, const char *where, struct gen_sample *s,
                         struct err *e)
{
    int m = prompt_method_parse(h->prompt_method);

    memset(s, 0, sizeof(*s));
    if (m < 0)
        return err_set(e, HE_INVALID, where, "%s: unknown prompt method '%s'", where,
                       h->prompt_method);
    s->method = (enum prompt_method)m;
    s->input = strndup(row->input, row->input_len);
    s->topic = dup_list(row->topic, row->n_topic);
    s->n_topic = s->topic ? row->n_topic : 0;
    s->tags = dup_list(row->tags, row->n_tags);
    s->ntags = s->tags ? row->n_tags : 0;
    s->guidance = dup_or_null(row->guidance);
    s->input_model = dup_or_null(h->input_model);
    s->input_provider = dup_or_null(h->input_provider);
    s->output_model = dup_or_null(h->output_model);
    s->output_provider = dup_or_null(h->output_provider);
    if (!s->input || !s->topic || !s->tags || (row->guidance && !s->guidance) ||
        (h->input_model && !s->input_model) || (h->input_provider && !s->input_provider) ||
        (h->output_model && !s->output_model) || (h->output_provider && !s->output_provider))
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
