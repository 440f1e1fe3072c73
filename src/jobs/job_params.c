/* SPDX-License-Identifier: MIT */
/*
 * A job's parameters as the store keeps them: a JSON object with one string per string field
 * of struct job_params, absent when NULL, "allow_truncated": true when set, and "skipped" (a
 * number) when not 0. Databases written
 * before the struct existed hold the same keys.
 */
#include <stdlib.h>
#include <string.h>

#include "jobs/jobs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

#define PARAMS(X)  \
    X(project_id)  \
    X(session_id)  \
    X(file_name)   \
    X(source_type) \
    X(spool)       \
    X(request_id)

char *job_params_encode(const struct job_params *p)
{
    struct json_object *o = json_object_new_object();
    char *text;

    if (!o)
        return NULL;
#define X(key)  \
    if (p->key) \
        json_object_object_add(o, #key, json_object_new_string(p->key));
    PARAMS(X)
#undef X
    if (!p->request_id && log_request())
        json_object_object_add(o, "request_id", json_object_new_string(log_request()));
    if (p->allow_truncated)
        json_object_object_add(o, "allow_truncated", json_object_new_boolean(1));
    if (p->skipped)
        json_object_object_add(o, "skipped", json_object_new_int64(p->skipped));
    text = strdup(json_text(o, NULL));
    json_object_put(o);
    return text;
}

/* The string at key, copied into mem; *ret stays NULL when absent or not a string. */
static int str_param(struct json_object *o, const char *key, struct arena *mem, const char **ret)
{
    struct json_object *v;

    *ret = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return 0;
    *ret = arena_strndup(mem, json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return *ret ? 0 : HE_NOMEM;
}

int job_params_decode(const char *text, struct arena *mem, struct job_params *ret, struct err *e)
{
    struct json_object *o = NULL;
    struct job_params p = {0};
    struct err pe;
    int r = 0;

    err_clear(&pe);
    if (json_parse(text, strlen(text), &o, &pe) < 0 || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return err_set(e, HE_INVALID, NULL, "the job's parameters are not a JSON object");
    }
#define X(key)  \
    if (r == 0) \
        r = str_param(o, #key, mem, &p.key);
    PARAMS(X)
#undef X
    p.allow_truncated = json_object_get_boolean(json_object_object_get(o, "allow_truncated"));
    p.skipped = json_object_get_int64(json_object_object_get(o, "skipped"));
    json_object_put(o);
    if (r < 0)
        return err_set(e, r, NULL, NULL);
    if (!p.project_id)
        return err_set(e, HE_INVALID, NULL, "the job's parameters are incomplete");
    *ret = p;
    return 0;
}
