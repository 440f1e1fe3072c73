/* SPDX-License-Identifier: MIT */
/* What several handlers share: the samples of a batch body, and the task of the path. */
#ifndef HETU_HTTP_PARSE_H
#define HETU_HTTP_PARSE_H

#include <stdbool.h>

#include <json-c/json.h>

#include "dedup/exact.h"
#include "gen/gen.h"
#include "store/store.h"
#include "util/err.h"

/* body.samples (and session_id, body or query) of a batch, each sample parsed; h_samples.c. */
struct http_req;
int parse_samples(struct http_req *req, const struct task *t, struct gen_sample **ret,
                  size_t *ret_n, const char **ret_session, struct err *e);

/* What the request's dedup mode did to a list of samples. */
struct dedup_outcome {
    bool report;              /* dedup=skip: the answer says how many were skipped */
    size_t skipped;           /* duplicates dropped */
    size_t *orig;             /* orig[k]: the position as sent of kept sample k (NULL: none
                                 dropped); free with free */
    char existing_id[ID_LEN]; /* the stored sample the first skipped one repeats, or "" */
};

/*
 * Applies the request's ?dedup= (dedup/exact.h) to samples[0..*n): keep does nothing; fail
 * answers 409 naming the first duplicate (its field samples[i].input, or input when single);
 * skip frees the duplicates and moves the others up (*n becomes how many are left). h_samples.c.
 */
int dedup_samples(struct http_req *req, const struct task *t, struct gen_sample *samples, size_t *n,
                  bool single, struct dedup_outcome *ret, struct err *e);

/* Loads the task named by the request path with a 404 that names what is missing. */
int load_task(struct http_req *req, struct task *ret, struct err *e);
/* The same for ids given otherwise (a query). */
int load_task_ids(struct http_req *req, const char *project_id, const char *task_id,
                  struct task *ret, struct err *e);

/* A number query argument within [min, max] into *ret (untouched when absent); h_runs.c. */
int parse_query_number(struct http_req *req, const char *name, double min, double max, double *ret,
                       struct err *e);
/* The judge's filters: judge_rating (a minimum, 0 to 5, of the judge's rating, never a
 * person's) and judged=true (only samples a judge rated); h_runs.c. */
int parse_judge_filter(struct http_req *req, struct run_filter *f, struct err *e);
/* The topic key prefix of a "a/b" topic path (malloc'd), or NULL when it is not valid. */
char *parse_topic_prefix(const char *path);

#endif
