/* SPDX-License-Identifier: MIT */
/*
 * The LLM judge over a task's samples (judge/judge.h).
 *
 * POST .../judge {"provider", "model_name", "human_guidance"?, "keep"? (1..5: samples the judge
 * rates below it are tagged "rejected"), "drop_unsupported_params"?, "budget"? ({"max_cost_usd",
 * "max_calls", "max_tokens"}), the runs list's filters ("topic_path" or "node_path", "session_id",
 * "tag", "rating", "source"), "rejudge"? (default false: samples the judge rated already are
 * left out)} creates a job of kind "judge" with one item per selected sample and answers
 * {"status": "judge_started", "job_id", "samples"}; the pipeline driver runs it. Follow it at
 * .../jobs/{job_id}. No sample selected is a 422 naming the filters.
 *
 * GET .../judge/agreement compares the judge's ratings with people's on the samples rated by
 * both: {"samples", "overall": {figures}, "requirements": [{"id", "name", "type", figures}]},
 * figures being "n", "kendall_tau", "spearman", "mae" and, for pass/fail types, "agreement"
 * and "kappa"; a figure that is undefined is null, with the reason under "reasons".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/limits.h"
#include "gen/taskrun.h"
#include "http/app.h"
#include "http/parse.h"
#include "http/request.h"
#include "http/routes.h"
#include "judge/agreement.h"
#include "judge/judge.h"
#include "judge/rubric.h"
#include "pipeline/pipeline.h"
#include "util/clock.h"
#include "util/buf.h"
#include "util/grow.h"
#include "util/json.h"
#include "util/log.h"
#include "util/banned.h"

#define JUDGE_MAX_SAMPLES 1000000 /* samples one judge job may rate */

struct judge_request {
    struct judge_model m;
    double keep; /* NaN: none */
    struct pipeline_budget budget;
    bool rejudge;
    struct run_filter f;
    char *prefix;      /* topic key prefix (owned) */
    const char *topic; /* the topic filter's field, for messages */
};

/* body[key], a number in [min, max] (absent or null: *ret unchanged); what: the message's end. */
static int body_number(struct json_object *body, const char *key, double min, double max,
                       const char *what, double *ret, struct err *e)
{
    struct json_object *v = json_object_object_get(body, key);
    double d;

    if (!v)
        return 0;
    d = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)
            ? json_object_get_double(v)
            : NAN;
    if (!(d >= min && d <= max))
        return err_set(e, HE_INVALID, key, "%s must be a number from %g to %g%s", key, min, max,
                       what);
    *ret = d;
    return 0;
}

/* The runs list's filters, from the body. */
static int parse_filters(struct json_object *body, struct judge_request *jr, struct err *e)
{
    const char *key =
        json_object_object_get_ex(body, "node_path", NULL) ? "node_path" : "topic_path";
    struct json_object *path = NULL;
    int r;

    jr->f.min_rating = jr->f.min_judge_rating = NAN;
    if ((r = json_get_str(body, NULL, "session_id", JF_NULLABLE, 1, 256, &jr->f.session_id, e)) <
            0 ||
        (r = json_get_str(body, NULL, "tag", JF_NULLABLE, 1, TAG_MAX_CHARS, &jr->f.tag, e)) < 0 ||
        (r = json_get_str(body, NULL, "source", JF_NULLABLE, 1, 32, &jr->f.source_type, e)) < 0)
        return r;
    if ((r = body_number(body, "rating", 0, 5, "", &jr->f.min_rating, e)) < 0)
        return r;
    if (!json_object_object_get(body, key))
        return 0;
    if ((r = gen_parse_topic_path(body, NULL, key, true, &path, e)) < 0)
        return r;
    if (json_object_array_length(path) > 0) {
        size_t n = json_object_array_length(path);
        char **names = calloc(n, sizeof(*names));
        for (size_t i = 0; names && i < n; i++)
            names[i] = (char *)json_object_get_string(json_object_array_get_idx(path, i));
        jr->prefix = names ? taskrun_topic_key(names, n) : NULL;
        free(names);
        if (!jr->prefix)
            r = err_set(e, HE_NOMEM, NULL, NULL);
        jr->f.topic_prefix = jr->prefix;
        jr->topic = key;
    }
    json_object_put(path);
    return r;
}

static int parse_request(struct app *app, struct json_object *body, struct judge_request *jr,
                         struct err *e)
{
    static const char *const fields[] = {
        "provider", "model_name", "human_guidance", "keep",       "drop_unsupported_params",
        "budget",   "topic_path", "node_path",      "session_id", "tag",
        "rating",   "source",     "rejudge",        NULL};
    struct gen_env env = {app->store, app->engine, app->user};
    int r;

    jr->keep = NAN;
    if ((r = json_check_keys(body, NULL, fields, e)) < 0 ||
        (r = gen_get_model_name(body, NULL, "provider", JF_REQUIRED, &jr->m.provider, e)) < 0 ||
        (r = gen_get_model_name(body, NULL, "model_name", JF_REQUIRED, &jr->m.model_name, e)) < 0 ||
        (r = json_get_str(body, NULL, "human_guidance", JF_NULLABLE, 0, GUIDANCE_MAX_CHARS,
                          &jr->m.guidance, e)) < 0 ||
        (r = json_get_bool(body, NULL, "drop_unsupported_params", JF_NULLABLE,
                           &jr->m.drop_unsupported, e)) < 0 ||
        (r = json_get_bool(body, NULL, "rejudge", JF_NULLABLE, &jr->rejudge, e)) < 0 ||
        (r = pipeline_budget_parse(json_object_object_get(body, "budget"), "budget", &jr->budget,
                                   e)) < 0 ||
        (r = parse_filters(body, jr, e)) < 0)
        return r;
    if (jr->m.guidance && !*jr->m.guidance)
        jr->m.guidance = NULL;
    if ((r = body_number(body, "keep", 1, 5,
                         ": the overall judge rating below which a sample is tagged rejected",
                         &jr->keep, e)) < 0 ||
        (r = judge_model_check(&env, &jr->m, NULL, e)) < 0)
        return r;
    if (jr->budget.max_cost_usd >= 0) {
        struct llm_price p;
        llm_config_price(llm_engine_config(app->engine), jr->m.provider, jr->m.model_name, &p);
        if (!p.source) /* a cap on money the job could not count */
            return err_set(e, HE_INVALID, "budget.max_cost_usd",
                           "budget.max_cost_usd cannot be kept: the price of %s/%s is unknown; "
                           "set price_input_per_mtok and price_output_per_mtok in the providers "
                           "config, or cap max_calls or max_tokens instead",
                           jr->m.provider, jr->m.model_name);
    }
    return 0;
}

/* ---- the samples selected ---- */

struct selection {
    char (*ids)[ID_LEN];
    size_t n, cap;
    size_t matched; /* judged ones included */
    bool rejudge;
};

static int select_run(void *ud, const struct run *r, struct err *e)
{
    struct selection *s = ud;
    void *p;

    s->matched++;
    if (r->judge_rating && !s->rejudge)
        return 0;
    if (s->n == JUDGE_MAX_SAMPLES)
        return err_set(e, HE_INVALID, NULL,
                       "the filters select more than %d samples, the most one judge job rates: "
                       "narrow them (topic_path, session_id, tag, rating, source)",
                       JUDGE_MAX_SAMPLES);
    if (!(p = grow_array(s->ids, &s->cap, s->n, sizeof(*s->ids), 1024)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    s->ids = p;
    memcpy(s->ids[s->n++], r->id, ID_LEN);
    return 0;
}

/* The 422 when nothing is selected: which filters were given, and what they matched. */
static int nothing_selected(const struct judge_request *jr, const struct selection *s,
                            struct err *e)
{
    struct buf list;
    int r;

    buf_init(&list, 2048);
    if (jr->topic)
        buf_addf(&list, ", %s", jr->topic);
    if (jr->f.session_id)
        buf_addf(&list, ", session_id=%s", jr->f.session_id);
    if (jr->f.tag)
        buf_addf(&list, ", tag=%s", jr->f.tag);
    if (!isnan(jr->f.min_rating))
        buf_addf(&list, ", rating=%g", jr->f.min_rating);
    if (jr->f.source_type)
        buf_addf(&list, ", source=%s", jr->f.source_type);
    if (s->matched)
        r = err_set(e, HE_INVALID, "rejudge",
                    "the %zu samples the filters (%s) select are judged already; set rejudge to "
                    "rate them again",
                    s->matched, list.len ? list.data + 2 : "none");
    else
        r = err_set(e, HE_INVALID, NULL, "no sample of the task matches the filters (%s)",
                    list.len ? list.data + 2 : "none: the task has no samples");
    buf_done(&list);
    return r;
}

static char *judge_params(const struct task *t, const struct judge_request *jr)
{
    struct json_object *o = json_object_new_object(), *j = json_object_new_object();
    char *text;

    json_object_object_add(o, "project_id", json_object_new_string(t->project_id));
    json_object_object_add(o, "request_id", json_str_or_null(log_request()));
    json_object_object_add(j, "provider", json_object_new_string(jr->m.provider));
    json_object_object_add(j, "model_name", json_object_new_string(jr->m.model_name));
    json_object_object_add(j, "human_guidance", json_str_or_null(jr->m.guidance));
    json_object_object_add(j, "keep", isnan(jr->keep) ? NULL : json_object_new_double(jr->keep));
    json_object_object_add(j, "drop_unsupported_params",
                           json_object_new_boolean(jr->m.drop_unsupported));
    json_object_object_add(o, "judge", j);
    json_object_object_add(o, "budget", pipeline_budget_json(&jr->budget));
    text = strdup(json_text(o, NULL));
    json_object_put(o);
    return text;
}

/* The job and an item per selected sample, in one write. */
static int create_job(struct app *app, const struct task *t, const struct judge_request *jr,
                      const struct selection *s, char job_id[ID_LEN], struct err *e)
{
    enum { PAYLOAD = sizeof("{\"run_id\":\"\"}") + ID_LEN };
    struct job_new_item *items = calloc(s->n, sizeof(*items));
    char(*payloads)[PAYLOAD] = calloc(s->n, PAYLOAD);
    struct job j = {.status = JOB_QUEUED, .total = (int64_t)s->n};
    int r;

    if (!items || !payloads || !(j.params = judge_params(t, jr))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        snprintf(payloads[i], PAYLOAD, "{\"run_id\":\"%s\"}", s->ids[i]);
        items[i] = (struct job_new_item){"judge", payloads[i]};
    }
    if ((r = store_new_id(app->store, j.id, e)) < 0)
        goto out;
    memcpy(j.task_id, t->id, ID_LEN);
    j.kind = JUDGE_JOB_KIND;
    j.created_at = clock_wall_us();
    if ((r = store_job_create_staged(app->store, &j, items, s->n, e)) == 0)
        memcpy(job_id, j.id, ID_LEN);
out:
    free(items);
    free(payloads);
    free(j.params);
    return r;
}

int h_judge_start(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct judge_request jr = {0};
    struct selection s = {0};
    char job_id[ID_LEN];
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0 || (r = parse_request(app, http_req_body(req), &jr, e)) < 0)
        goto out;
    jr.f.task_id = t.id;
    s.rejudge = jr.rejudge;
    if ((r = store_run_list(app->store, &jr.f, select_run, &s, e)) < 0)
        goto out;
    if (s.n == 0) {
        r = nothing_selected(&jr, &s, e);
        goto out;
    }
    if ((r = create_job(app, &t, &jr, &s, job_id, e)) < 0)
        goto out;
    pipeline_driver_notify(app->pipeline);
    *ret_body = json_object_new_object();
    json_object_object_add(*ret_body, "status", json_object_new_string("judge_started"));
    json_object_object_add(*ret_body, "job_id", json_object_new_string(job_id));
    json_object_object_add(*ret_body, "samples", json_object_new_int64((int64_t)s.n));
out:
    free(s.ids);
    free(jr.prefix);
    task_done(&t);
    return r;
}

/* ---- agreement ---- */

struct pairs {
    double *person, *judge;
    size_t n, cap;
};

struct agree_scan {
    const struct judge_rubric *rb;
    struct pairs overall;
    struct pairs *reqs; /* one per requirement */
    size_t samples;
};

static int pairs_add(struct pairs *p, double person, double judge, struct err *e)
{
    size_t cap = p->cap;
    void *a, *b;

    if (!(a = grow_array(p->person, &cap, p->n, sizeof(double), 64)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    p->person = a;
    cap = p->cap;
    if (!(b = grow_array(p->judge, &cap, p->n, sizeof(double), 64)))
        return err_set(e, HE_NOMEM, NULL, NULL);
    p->judge = b;
    p->cap = cap;
    p->person[p->n] = person;
    p->judge[p->n++] = judge;
    return 0;
}

/* rating.requirement_ratings[id].value, or NaN. */
static double requirement_value(struct json_object *rating, const char *id)
{
    struct json_object *reqs, *one, *v;

    if (!json_object_object_get_ex(rating, "requirement_ratings", &reqs) ||
        !json_object_object_get_ex(reqs, id, &one) || !json_object_object_get_ex(one, "value", &v))
        return NAN;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v) ? 1 : 0;
    if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
        return json_object_get_double(v);
    return NAN;
}

static int add_rated(void *ud, const struct run *r, struct err *e)
{
    struct agree_scan *sc = ud;
    struct json_object *person = NULL, *judge = NULL;
    struct err ignored = ERR_INIT;
    int rc = 0;

    if (!r->rating || !r->judge_rating || isnan(r->rating_score) || isnan(r->judge_score))
        return 0;
    sc->samples++;
    if ((rc = pairs_add(&sc->overall, r->rating_score, r->judge_score, e)) < 0)
        return rc;
    if (json_parse(r->rating, strlen(r->rating), &person, &ignored) == 0 &&
        json_parse(r->judge_rating, strlen(r->judge_rating), &judge, &ignored) == 0) {
        for (size_t i = 0; i < sc->rb->n && rc == 0; i++) {
            const struct judge_requirement *q = &sc->rb->reqs[i];
            double a = requirement_value(person, q->id), b = requirement_value(judge, q->id);
            if (rating_value_ok(q->type, a) && rating_value_ok(q->type, b))
                rc = pairs_add(&sc->reqs[i], a, b, e);
        }
    }
    json_object_put(person);
    json_object_put(judge);
    return rc;
}

static void add_figure(struct json_object *o, struct json_object *reasons, const char *key,
                       double v, const char *reason)
{
    json_object_object_add(o, key, isnan(v) ? NULL : json_object_new_double(v));
    if (isnan(v) && reason)
        json_object_object_add(reasons, key, json_object_new_string(reason));
}

static int figures(const struct pairs *p, bool categorical, struct json_object *o, struct err *e)
{
    struct json_object *reasons = json_object_new_object();
    struct agreement a;

    if (agreement_compute(p->person, p->judge, p->n, categorical, &a) < 0) {
        json_object_put(reasons);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    json_object_object_add(o, "n", json_object_new_int64((int64_t)a.n));
    add_figure(o, reasons, "kendall_tau", a.kendall_tau, a.kendall_tau_reason);
    add_figure(o, reasons, "spearman", a.spearman, a.spearman_reason);
    add_figure(o, reasons, "mae", a.mae, a.mae_reason);
    if (categorical) {
        add_figure(o, reasons, "agreement", a.agreement, a.kappa_reason);
        add_figure(o, reasons, "kappa", a.kappa, a.kappa_reason);
    }
    json_object_object_add(o, "reasons", reasons);
    return 0;
}

static int agreement_json(struct agree_scan *sc, struct json_object **ret, struct err *e)
{
    struct json_object *o = json_object_new_object(), *overall = json_object_new_object();
    struct json_object *list = json_object_new_array();
    int r;

    json_object_object_add(o, "samples", json_object_new_int64((int64_t)sc->samples));
    json_object_object_add(o, "overall", overall);
    json_object_object_add(o, "requirements", list);
    if ((r = figures(&sc->overall, false, overall, e)) < 0)
        goto fail;
    for (size_t i = 0; i < sc->rb->n; i++) {
        const struct judge_requirement *q = &sc->rb->reqs[i];
        struct json_object *x = json_object_new_object();
        json_object_array_add(list, x);
        json_object_object_add(x, "id", json_object_new_string(q->id));
        json_object_object_add(x, "name", json_object_new_string(q->name));
        json_object_object_add(x, "type", json_object_new_string(rating_type_name(q->type)));
        if ((r = figures(&sc->reqs[i], rating_type_is_pass_fail(q->type), x, e)) < 0)
            goto fail;
    }
    *ret = o;
    return 0;
fail:
    json_object_put(o);
    return r;
}

int h_judge_agreement(struct http_req *req, struct json_object **ret_body, struct err *e)
{
    struct app *app = http_req_app(req);
    struct run_filter f = {.min_rating = NAN, .min_judge_rating = NAN, .rated_by_both = true};
    struct judge_rubric rb = {0};
    struct agree_scan sc = {0};
    struct task t = {0};
    int r;

    if ((r = load_task(req, &t, e)) < 0 || (r = judge_rubric_load(&t, &rb, e)) < 0)
        goto out;
    sc.rb = &rb;
    if (rb.n && !(sc.reqs = calloc(rb.n, sizeof(*sc.reqs)))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    f.task_id = t.id;
    if ((r = store_run_list(app->store, &f, add_rated, &sc, e)) == 0)
        r = agreement_json(&sc, ret_body, e);
out:
    free(sc.overall.person);
    free(sc.overall.judge);
    for (size_t i = 0; sc.reqs && i < rb.n; i++) {
        free(sc.reqs[i].person);
        free(sc.reqs[i].judge);
    }
    free(sc.reqs);
    judge_rubric_done(&rb);
    task_done(&t);
    return r;
}
