/* SPDX-License-Identifier: MIT */
/* What several handlers share: the samples of a batch body, and the task of the path. */
#ifndef HETU_HTTP_PARSE_H
#define HETU_HTTP_PARSE_H

#include <json-c/json.h>

#include "gen/gen.h"
#include "store/store.h"
#include "util/err.h"

/* body.samples (and session_id, body or query) of a batch, each sample parsed; h_samples.c. */
struct http_req;
int parse_samples(struct http_req *req, const struct task *t, struct gen_sample **ret,
                  size_t *ret_n, const char **ret_session, struct err *e);

/* Loads the task named by the request path with a 404 that names what is missing. */
int load_task(struct http_req *req, struct task *ret, struct err *e);

#endif
