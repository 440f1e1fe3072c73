/* SPDX-License-Identifier: MIT */
/* Request-body pieces several handlers share: string lists, topic paths, samples. */
#ifndef HETU_HTTP_PARSE_H
#define HETU_HTTP_PARSE_H

#include <json-c/json.h>

#include "gen/gen.h"
#include "store/store.h"
#include "util/err.h"

#define TEXT_MAX_CHARS     1000000 /* an input or an output */
#define GUIDANCE_MAX_CHARS 20000
#define MODEL_MAX_CHARS    200
#define TOPIC_MAX_CHARS    200
#define TOPIC_MAX_DEPTH    32

/*
 * A list of non-empty strings at body[key] (absent: an empty list). Returns a new array in
 * *ret. Each string at most max_chars, at most max_items of them.
 */
int parse_string_list(struct json_object *body, const char *where, const char *key,
                      size_t max_items, size_t max_chars, struct json_object **ret,
                      struct err *e);

/*
 * A topic path at body[key]: a list of names, or a string split on ">>>>>" when it holds one,
 * else on "/". A leading "root" element (what gateway scripts send for the root) is dropped
 * when drop_root. Returns a new array in *ret.
 */
int parse_topic_path(struct json_object *body, const char *where, const char *key,
                     bool drop_root, struct json_object **ret, struct err *e);

/*
 * One sample of save_sample / save_samples_batch / import_samples_async into *ret (fields
 * owned by ret; free with gen_sample_free). Checks the input (and output) against the task's
 * schemas, the prompt method, and the providers when an output must be generated.
 */
int parse_sample(const struct gen_env *env, const struct task *t, struct json_object *obj,
                 const char *where, struct gen_sample *ret, struct err *e);

/* body.samples (and session_id, body or query) of a batch, each sample parsed; h_samples.c. */
struct http_req;
int parse_samples(struct http_req *req, const struct task *t, struct gen_sample **ret,
                  size_t *ret_n, const char **ret_session, struct err *e);

/* Loads the task named by the request path with a 404 that names what is missing. */
struct http_req;
int load_task(struct http_req *req, struct task *ret, struct err *e);

#endif
