/* SPDX-License-Identifier: MIT */
/*
 * POST .../save_sample and .../save_samples_batch. Every sample is validated before any model
 * is called (a bad one fails the request with its index named); then gen/ builds all outputs
 * concurrently and stores the successful runs in one write.
 *
 * Partial failure of a batch keeps the gateway's list shape: the list holds the saved runs, and
 * the headers X-Hetu-Failed (how many failed) and X-Hetu-First-Error say what went wrong;
 * ?detailed=true answers {"runs": [...], "errors": [{"index", "detail"}]} instead. When every
 * sample fails the answer is the first failure's status with the first reasons in detail.
 *
 * ?dedup=skip|fail (dedup_samples) looks for duplicates before any model is called: fail is a
 * 409 naming the first, skip leaves them out (X-Hetu-Skipped says how many; errors keep the
 * positions as sent). A save_sample whose input is stored already answers the stored sample.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/taskrun.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "llm/engine.h"
#include "util/textnorm.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/banned.h"

#define BATCH_MAX      10000
#define SESSION_MAX    SESSION_MAX_CHARS
#define DETAIL_REASONS 3

struct save_ctx {
    struct http_req *req;
    bool single, detailed;
    struct dedup_outcome dd; /* positions as sent, and what dedup=skip dropped */
};

static void save_ctx_free(struct save_ctx *ctx)
{
    free(ctx->dd.orig);
    free(ctx);
}

/* The position as sent of sample i of those generated. */
static size_t sent_index(const struct save_ctx *ctx, size_t i)
{
    return ctx->dd.orig ? ctx->dd.orig[i] : i;
}

static void set_skipped_header(struct http_req *req, const struct dedup_outcome *dd)
{
    char count[32];

    if (!dd->report)
        return;
    snprintf(count, sizeof(count), "%zu", dd->skipped);
    http_req_set_header(req, "X-Hetu-Skipped", count);
}

static void on_cancel(void *ud)
{
    struct http_req *req = ud;
    llm_cancel_group(http_req_app(req)->engine, http_req_serial(req));
}

static void on_batch(void *ud, struct run *const *runs, const struct err *errs, size_t n,
                     const struct err *store_err)
{
    struct save_ctx *ctx = ud;
    struct json_object *list = json_object_new_array(), *errors = json_object_new_array();
    size_t failed = 0, first_failed = n;
    struct err e;

    err_clear(&e);
    set_skipped_header(ctx->req, &ctx->dd);
    for (size_t i = 0; i < n; i++) {
        if (runs[i]) {
            json_object_array_add(list, taskrun_render(runs[i]));
            continue;
        }
        if (failed++ == 0)
            first_failed = i;
        {
            struct json_object *x = json_object_new_object();
            json_object_object_add(x, "index", json_object_new_int64((int64_t)sent_index(ctx, i)));
            json_object_object_add(x, "detail", json_object_new_string(errs[i].msg));
            json_object_array_add(errors, x);
        }
    }
    if (store_err) {
        json_object_put(list);
        json_object_put(errors);
        http_req_complete(ctx->req, NULL, store_err);
    } else if (failed == n) {
        /* All failed: the first failure's status, with the first reasons. */
        if (ctx->single) {
            e = errs[0];
        } else {
            struct buf b;
            buf_init(&b, ERR_MSG_MAX);
            buf_addf(&b, "all %zu samples failed:", n);
            for (size_t i = 0; i < n && i < DETAIL_REASONS; i++)
                buf_addf(&b, " [%zu] %s;", sent_index(ctx, i), errs[i].msg);
            err_set(&e, errs[first_failed].code, NULL, "%s", b.data ? b.data : "");
            buf_done(&b);
        }
        json_object_put(list);
        json_object_put(errors);
        http_req_complete(ctx->req, NULL, &e);
    } else if (ctx->single) {
        struct json_object *run = json_object_get(json_object_array_get_idx(list, 0));
        json_object_put(list);
        json_object_put(errors);
        http_req_complete(ctx->req, run, NULL);
    } else {
        char count[32];
        snprintf(count, sizeof(count), "%zu", failed);
        http_req_set_header(ctx->req, "X-Hetu-Failed", count);
        if (failed) {
            char first[ERR_MSG_MAX + 32];
            snprintf(first, sizeof(first), "[%zu] %s", sent_index(ctx, first_failed),
                     errs[first_failed].msg);
            http_req_set_header(ctx->req, "X-Hetu-First-Error", first);
        }
        if (ctx->detailed) {
            struct json_object *o = json_object_new_object();
            json_object_object_add(o, "runs", list);
            json_object_object_add(o, "errors", errors);
            http_req_complete(ctx->req, o, NULL);
        } else {
            json_object_put(errors);
            http_req_complete(ctx->req, list, NULL);
        }
    }
    save_ctx_free(ctx);
}

static int check_session(const char *s, struct err *e)
{
    if (s && (strlen(s) > SESSION_MAX || strpbrk(s, "\r\n")))
        return err_set(e, HE_INVALID, "session_id",
                       "session_id must be at most %d characters on one line", SESSION_MAX);
    return 0;
}

static int sample_input(void *ud, size_t i, const char **ret, size_t *ret_len, struct err *e)
{
    const struct gen_sample *samples = ud;
    (void)e;
    *ret = samples[i].input;
    *ret_len = strlen(samples[i].input);
    return 0;
}

/* dedup=fail's answer: the first duplicate named, by its position as sent. */
static int refuse_duplicate(const struct dedup_first *first, bool single, struct err *e)
{
    char field[ERR_FIELD_MAX], what[ERR_FIELD_MAX];

    if (single)
        snprintf(field, sizeof(field), "input");
    else
        snprintf(field, sizeof(field), "samples[%zu].input", first->index);
    if (first->existing_id[0])
        snprintf(what, sizeof(what), "sample %s of the task", first->existing_id);
    else
        snprintf(what, sizeof(what), "samples[%zu].input", first->of);
    return err_set(e, HE_CONFLICT, field,
                   "%s repeats %s (equal once case, width and white space are folded); nothing "
                   "was stored",
                   field, what);
}

/* dedup=skip: the duplicates dropped from samples, the others moved up in order. */
static int drop_duplicates(struct gen_sample *samples, size_t *n, const uint8_t *dup,
                           struct dedup_outcome *dd)
{
    size_t k = 0;

    if (!(dd->orig = calloc(*n, sizeof(*dd->orig))))
        return HE_NOMEM;
    for (size_t i = 0; i < *n; i++) {
        if (dup[i]) {
            gen_sample_free(&samples[i]);
            continue;
        }
        dd->orig[k] = i;
        samples[k++] = samples[i];
    }
    dd->skipped = *n - k;
    *n = k;
    return 0;
}

int dedup_samples(struct http_req *req, const struct task *t, struct gen_sample *samples, size_t *n,
                  bool single, struct dedup_outcome *ret, struct err *e)
{
    struct dedup_first first;
    enum dedup_mode mode;
    int64_t *hashes = NULL;
    uint8_t *dup = NULL;
    size_t count = 0;
    int r;

    memset(ret, 0, sizeof(*ret));
    if ((r = dedup_mode_parse(http_req_query(req, "dedup"), &mode, e)) < 0 || mode == DEDUP_KEEP)
        return r;
    ret->report = mode == DEDUP_SKIP;
    hashes = calloc(*n, sizeof(*hashes));
    dup = calloc(*n, 1);
    if (!hashes || !dup) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < *n && r == 0; i++) {
        uint64_t h;
        if ((r = text_norm_hash(samples[i].input, strlen(samples[i].input), &h, e)) == 0)
            hashes[i] = (int64_t)h;
    }
    if (r < 0 ||
        (r = dedup_exact_find(http_req_app(req)->store, t->id, hashes, *n, sample_input, samples,
                              dup, &first, &count, e)) < 0 ||
        count == 0)
        goto out;
    if (mode == DEDUP_FAIL) {
        r = refuse_duplicate(&first, single, e);
        goto out;
    }
    memcpy(ret->existing_id, first.existing_id, ID_LEN);
    if ((r = drop_duplicates(samples, n, dup, ret)) < 0)
        r = err_set(e, r, NULL, NULL);
out:
    free(hashes);
    free(dup);
    return r;
}

/* Every sample was a duplicate skipped: the answer without a model call. */
static int all_skipped(struct http_req *req, const struct task *t, bool single, bool detailed,
                       const struct dedup_outcome *dd, struct json_object **ret_body, struct err *e)
{
    struct run existing = {0};
    int r;

    set_skipped_header(req, dd);
    if (single) { /* the stored sample it repeats, as if just saved */
        if ((r = store_run_get(http_req_app(req)->store, t->id, dd->existing_id, &existing, e)) < 0)
            return r;
        *ret_body = taskrun_render(&existing);
        run_done(&existing);
        return 0;
    }
    http_req_set_header(req, "X-Hetu-Failed", "0");
    if (detailed) {
        *ret_body = json_object_new_object();
        json_object_object_add(*ret_body, "runs", json_object_new_array());
        json_object_object_add(*ret_body, "errors", json_object_new_array());
    } else {
        *ret_body = json_object_new_array();
    }
    return 0;
}

static void free_samples(struct gen_sample *samples, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gen_sample_free(&samples[i]);
    free(samples);
}

static int start(struct http_req *req, const struct task *t, struct gen_sample *samples, size_t n,
                 const char *session_id, bool single, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct gen_env env = {app->store, app->engine, app->user};
    const char *detailed = http_req_query(req, "detailed");
    struct dedup_outcome dd;
    struct save_ctx *ctx;
    int r;

    if ((r = dedup_samples(req, t, samples, &n, single, &dd, e)) < 0 || n == 0) {
        if (r == 0)
            r = all_skipped(req, t, single,
                            detailed &&
                                (strcmp(detailed, "true") == 0 || strcmp(detailed, "1") == 0),
                            &dd, ret_body, e);
        free_samples(samples, n);
        free(dd.orig);
        return r;
    }
    if (!(ctx = calloc(1, sizeof(*ctx)))) {
        free_samples(samples, n);
        free(dd.orig);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    ctx->req = req;
    ctx->single = single;
    ctx->detailed = detailed && (strcmp(detailed, "true") == 0 || strcmp(detailed, "1") == 0);
    ctx->dd = dd;
    http_req_on_cancel(req, on_cancel, req);
    r = gen_save_batch(&env, t, samples, n, session_id, http_req_serial(req), on_batch, ctx, e);
    if (r < 0) {
        save_ctx_free(ctx);
        return r;
    }
    return HTTP_PENDING;
}

int h_save_sample(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct gen_env env = {app->store, app->engine, app->user};
    const char *session_id = http_req_query(req, "session_id");
    struct gen_sample *s = NULL;
    struct task t = {0};
    int r;
    (void)ret_body;

    if (session_id && !*session_id)
        session_id = NULL;
    if ((r = load_task(req, &t, e)) < 0 || (r = check_session(session_id, e)) < 0)
        goto out;
    if (!(s = calloc(1, sizeof(*s)))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = gen_parse_sample(&env, &t, http_req_body(req), NULL, s, e)) < 0) {
        free(s);
        goto out;
    }
    r = start(req, &t, s, 1, session_id, true, ret_body, e);
out:
    task_done(&t);
    return r;
}

/* Parses body.samples into a new array; shared with import_samples_async. */
int parse_samples(struct http_req *req, const struct task *t, struct gen_sample **ret,
                  size_t *ret_n, const char **ret_session, struct err *e)
{
    static const char *const fields[] = {"samples", "session_id", "allow_truncated", NULL};
    struct app *app = http_req_app(req);
    struct gen_env env = {app->store, app->engine, app->user};
    struct json_object *body = http_req_body(req), *list = NULL;
    const char *session_id = http_req_query(req, "session_id");
    struct gen_sample *samples;
    bool allow_truncated = false;
    size_t n;
    int r;

    if ((r = json_check_keys(body, NULL, fields, e)) < 0 ||
        (r = json_get_bool(body, NULL, "allow_truncated", JF_NULLABLE, &allow_truncated, e)) < 0 ||
        (r = json_get_array(body, NULL, "samples", JF_REQUIRED, BATCH_MAX, &list, e)) < 0 ||
        (r = json_get_str(body, NULL, "session_id", JF_NULLABLE, 0, SESSION_MAX, &session_id, e)) <
            0 ||
        (r = check_session(session_id, e)) < 0)
        return r;
    n = json_object_array_length(list);
    if (n == 0)
        return err_set(e, HE_INVALID, "samples", "samples must not be empty");
    samples = calloc(n, sizeof(*samples));
    if (!samples)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t i = 0; i < n; i++) {
        char where[32];
        snprintf(where, sizeof(where), "samples[%zu]", i);
        if ((r = gen_parse_sample(&env, t, json_object_array_get_idx(list, i), where, &samples[i],
                                  e)) < 0) {
            for (size_t j = 0; j < i; j++)
                gen_sample_free(&samples[j]);
            free(samples);
            return r;
        }
        samples[i].allow_truncated |= allow_truncated;
    }
    *ret = samples;
    *ret_n = n;
    *ret_session = session_id && *session_id ? session_id : NULL;
    return 0;
}

int h_save_samples_batch(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct gen_sample *samples = NULL;
    const char *session_id = NULL;
    struct task t = {0};
    size_t n = 0;
    int r;
    (void)ret_body;

    if ((r = load_task(req, &t, e)) == 0 &&
        (r = parse_samples(req, &t, &samples, &n, &session_id, e)) == 0)
        r = start(req, &t, samples, n, session_id, false, ret_body, e);
    task_done(&t);
    return r;
}
