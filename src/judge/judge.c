/* SPDX-License-Identifier: MIT */
/*
 * The LLM judge (judge.h). One call per sample: the system turn holds the task's instruction,
 * its requirements (id, name, what to check, rating type), the rating scales and the user's
 * guidance, so it is the same for every sample of a task and the provider may cache it; the
 * user turn holds the sample's input and output. The answer is JSON with a schema built from
 * the requirements: "reasoning" first, so the model reasons before it rates, then a rating per
 * requirement id restricted to its type's values, then the overall five-star rating. The
 * engine validates the answer and retries a bad one; what reaches on_reply is checked once more
 * and turned into Kiln's TaskOutputRating.
 *
 * judge_run may be called from any thread; its callback runs on the engine's thread. The op
 * owns copies of everything it reads after judge_run returns.
 */
#include "judge/judge.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/prompt.h"
#include "judge/rubric.h"
#include "util/json.h"
#include "util/banned.h"

#define SCHEMA_NAME "judge_rating"

static int add_requirements(const struct judge_rubric *rb, struct buf *out)
{
    int r = 0;

    if (rb->n == 0)
        return buf_adds(out, "\nThe task lists no separate requirements: rate the output "
                             "against its instruction.\n");
    r = buf_adds(out, "\nRate the output against each of the task's requirements:\n");
    for (size_t i = 0; i < rb->n && r == 0; i++) {
        const struct judge_requirement *q = &rb->reqs[i];
        r = buf_addf(out, "\n<requirement id=\"%s\">\nname: %s\n", q->id, q->name);
        if (r == 0 && *q->description)
            r = buf_addf(out, "description: %s\n", q->description);
        if (r == 0)
            r = buf_addf(out, "what to check: %s\nrating type: %s, %s\n</requirement>\n",
                         q->instruction, rating_type_name(q->type), rating_type_scale(q->type));
    }
    return r;
}

static int system_prompt(const struct task *t, const struct judge_rubric *rb,
                         const struct judge_model *m, struct buf *out)
{
    int r = buf_adds(out, "You are an expert evaluator. You rate the output a model gave for a "
                          "task: how well it does what the task asks and meets each of the "
                          "task's requirements.\n\nThe task:\n<task>\n");
    if (r == 0)
        r = buf_addf(out, "%s\n</task>\n", t->instruction ? t->instruction : "");
    if (r == 0)
        r = add_requirements(rb, out);
    if (r == 0)
        r = buf_adds(
            out, "\nRating scales:\n"
                 "- five_star: a whole number from 1 to 5; 5 fully meets it, 4 meets it with minor "
                 "flaws, 3 partly meets it, 2 mostly misses it, 1 misses it entirely.\n"
                 "- pass_fail: 1 when the output passes, 0 when it fails.\n"
                 "- pass_fail_critical: 1 pass, 0 fail, -1 a critical failure (harmful, unsafe or "
                 "gravely wrong).\n"
                 "Then rate the output as a whole, five_star: a whole number from 1 to 5.\n\n"
                 "Answer with a JSON object: first \"reasoning\", your assessment of the output "
                 "against each requirement, written before you decide any rating; then "
                 "\"requirement_ratings\", the rating of each requirement keyed by its id; then "
                 "\"overall_rating\".\n");
    if (r == 0)
        r = prompt_guidance(m->guidance, out);
    return r;
}

static int user_prompt(const char *input, const char *output, struct buf *out)
{
    return buf_addf(out, "Rate this output.\n\n<input>\n%s\n</input>\n\n<output>\n%s\n</output>\n",
                    input ? input : "", output ? output : "");
}

int judge_prompt(const struct task *t, const struct judge_model *m, const char *input,
                 const char *output, struct buf *system, struct buf *user)
{
    struct judge_rubric rb;
    struct err e = ERR_INIT;
    int r;

    if ((r = judge_rubric_load(t, &rb, &e)) < 0)
        return r;
    r = system_prompt(t, &rb, m, system);
    judge_rubric_done(&rb);
    if (r == 0)
        r = user_prompt(input, output, user);
    return r;
}

static struct json_object *value_schema(enum rating_type type, const char *description)
{
    struct json_object *o = json_object_new_object(), *list = json_object_new_array();
    const int *values;
    size_t n = rating_type_values(type, &values);

    for (size_t i = 0; i < n; i++)
        json_object_array_add(list, json_object_new_int(values[i]));
    json_object_object_add(o, "type", json_object_new_string("integer"));
    json_object_object_add(o, "enum", list);
    json_object_object_add(o, "description", json_object_new_string(description));
    return o;
}

/* {"reasoning": string, "requirement_ratings": {id: value}, "overall_rating": 1..5}, in that
 * order, every member required and no other allowed. */
static struct json_object *answer_schema(const struct judge_rubric *rb)
{
    struct json_object *o = json_object_new_object(), *props = json_object_new_object();
    struct json_object *req = json_object_new_array(), *reason = json_object_new_object();
    char text[512];

    json_object_object_add(reason, "type", json_object_new_string("string"));
    json_object_object_add(
        reason, "description",
        json_object_new_string("Your assessment against each requirement, before any rating"));
    json_object_object_add(props, "reasoning", reason);
    json_object_array_add(req, json_object_new_string("reasoning"));
    if (rb->n) {
        struct json_object *rs = json_object_new_object(), *rp = json_object_new_object();
        struct json_object *rreq = json_object_new_array();
        for (size_t i = 0; i < rb->n; i++) {
            snprintf(text, sizeof(text), "%s (%s)", rb->reqs[i].name,
                     rating_type_name(rb->reqs[i].type));
            json_object_object_add(rp, rb->reqs[i].id, value_schema(rb->reqs[i].type, text));
            json_object_array_add(rreq, json_object_new_string(rb->reqs[i].id));
        }
        json_object_object_add(rs, "type", json_object_new_string("object"));
        json_object_object_add(rs, "properties", rp);
        json_object_object_add(rs, "required", rreq);
        json_object_object_add(rs, "additionalProperties", json_object_new_boolean(0));
        json_object_object_add(props, "requirement_ratings", rs);
        json_object_array_add(req, json_object_new_string("requirement_ratings"));
    }
    json_object_object_add(props, "overall_rating",
                           value_schema(RATING_FIVE_STAR, "The output as a whole (five_star)"));
    json_object_array_add(req, json_object_new_string("overall_rating"));
    json_object_object_add(o, "type", json_object_new_string("object"));
    json_object_object_add(o, "properties", props);
    json_object_object_add(o, "required", req);
    json_object_object_add(o, "additionalProperties", json_object_new_boolean(0));
    return o;
}

int judge_model_check(const struct gen_env *env, const struct judge_model *m, const char *where,
                      struct err *e)
{
    char field[ERR_FIELD_MAX];
    int r;

    if (!m->provider || !*m->provider || !m->model_name || !*m->model_name) {
        json_field_name(field, sizeof(field), where,
                        !m->provider || !*m->provider ? "provider" : "model_name");
        return err_set(e, HE_INVALID, field, "%s is required", field);
    }
    if (!env->engine)
        return err_set(e, HE_UNAVAILABLE, NULL, "no model engine runs on this server");
    if ((r = llm_check(env->engine, m->provider, m->model_name, e)) < 0) {
        json_field_name(field, sizeof(field), where,
                        strcmp(e->field, "model_name") == 0 ? "model_name" : "provider");
        snprintf(e->field, sizeof(e->field), "%s", field);
    }
    return r;
}

/* ---- one sample ---- */

struct judge_op {
    struct judge_rubric rubric;
    char *provider, *model;
    judge_cb cb;
    void *ud;
};

static void op_free(struct judge_op *op)
{
    judge_rubric_done(&op->rubric);
    free(op->provider);
    free(op->model);
    free(op);
}

/* A rating value of the answer: a whole number the type allows, else an error naming it. */
static int answer_value(const struct judge_op *op, struct json_object *v, enum rating_type type,
                        const char *what, double *ret, struct err *e)
{
    double x = json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)
                   ? json_object_get_double(v)
                   : NAN;

    if (!rating_value_ok(type, x))
        return err_set(e, HE_PROVIDER, NULL,
                       "provider %s model %s: the judge rated %s %s, which is not a %s rating (%s)",
                       op->provider, op->model, what, v ? json_object_get_string(v) : "null",
                       rating_type_name(type), rating_type_scale(type));
    *ret = x;
    return 0;
}

/* Kiln's TaskOutputRating of the answer: {"v": 1, "type": "five_star", "value",
 * "requirement_ratings": {id: {"value", "type"}}}. */
static int verdict_rating(const struct judge_op *op, struct json_object *answer,
                          struct json_object **ret, double *ret_score, struct err *e)
{
    struct json_object *given = json_object_object_get(answer, "requirement_ratings");
    struct json_object *o, *reqs = json_object_new_object();
    char what[256];
    double overall;
    int r = 0;

    for (size_t i = 0; i < op->rubric.n && r == 0; i++) {
        const struct judge_requirement *q = &op->rubric.reqs[i];
        struct json_object *x;
        double v;

        snprintf(what, sizeof(what), "requirement '%s' (id %s)", q->name, q->id);
        if ((r = answer_value(op, json_object_object_get(given, q->id), q->type, what, &v, e)) < 0)
            break;
        x = json_object_new_object();
        json_object_object_add(x, "value", json_object_new_double(v));
        json_object_object_add(x, "type", json_object_new_string(rating_type_name(q->type)));
        json_object_object_add(reqs, q->id, x);
    }
    if (r == 0)
        r = answer_value(op, json_object_object_get(answer, "overall_rating"), RATING_FIVE_STAR,
                         "the output overall", &overall, e);
    if (r < 0) {
        json_object_put(reqs);
        return r;
    }
    o = json_object_new_object();
    json_object_object_add(o, "v", json_object_new_int(1));
    json_object_object_add(o, "type", json_object_new_string("five_star"));
    json_object_object_add(o, "value", json_object_new_double(overall));
    json_object_object_add(o, "requirement_ratings", reqs);
    *ret = o;
    *ret_score = overall;
    return 0;
}

static void on_reply(void *ud, const struct llm_result *res)
{
    struct judge_op *op = ud;
    struct judge_verdict v = {.usage = res->usage, .calls = 1};
    struct json_object *rating = NULL, *reason;
    struct err e = ERR_INIT;

    if (res->code < 0) {
        gen_model_error(&res->err, &e);
    } else if (!res->json || !json_object_is_type(res->json, json_type_object)) {
        err_set(&e, HE_PROVIDER, NULL,
                "provider %s model %s: the judge's answer is not a JSON "
                "object",
                op->provider, op->model);
    } else if (verdict_rating(op, res->json, &rating, &v.score, &e) == 0) {
        reason = json_object_object_get(res->json, "reasoning");
        v.reasoning = json_object_is_type(reason, json_type_string)
                          ? json_object_get_string(reason)
                          : (res->reasoning ? res->reasoning : "");
        v.rating = json_text(rating, NULL);
    }
    if (e.code)
        op->cb(op->ud, NULL, &e);
    else
        op->cb(op->ud, &v, NULL);
    json_object_put(rating);
    op_free(op);
}

int judge_run(const struct gen_env *env, const struct task *t, const struct judge_model *m,
              const char *input, const char *output, uint64_t group, bool cache_prefix, judge_cb cb,
              void *ud, struct err *e)
{
    struct judge_op *op = calloc(1, sizeof(*op));
    struct json_object *sj = NULL;
    struct llm_message msgs[2];
    struct llm_request req;
    struct buf system, user;
    struct schema *schema = NULL;
    int r;

    if (!op)
        return err_set(e, HE_NOMEM, NULL, NULL);
    buf_init(&system, PROMPT_MAX);
    buf_init(&user, PROMPT_MAX);
    if ((r = judge_rubric_load(t, &op->rubric, e)) < 0)
        goto out;
    op->provider = strdup(m->provider);
    op->model = strdup(m->model_name);
    op->cb = cb;
    op->ud = ud;
    if (!op->provider || !op->model) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    if ((r = system_prompt(t, &op->rubric, m, &system)) < 0 ||
        (r = user_prompt(input, output, &user)) < 0) {
        r = err_set(e, r, "input", "the sample is too large for the judge's prompt");
        goto out;
    }
    sj = answer_schema(&op->rubric);
    if (!(schema = schema_compile(sj, e))) {
        r = e->code ? e->code : err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    msgs[0] = (struct llm_message){LLM_ROLE_SYSTEM, system.data};
    msgs[1] = (struct llm_message){LLM_ROLE_USER, user.data};
    req = (struct llm_request){.provider = m->provider,
                               .model = m->model_name,
                               .messages = msgs,
                               .n_messages = 2,
                               .schema = schema,
                               .schema_name = SCHEMA_NAME,
                               .drop_unsupported_params = m->drop_unsupported,
                               .group = group,
                               .cache_prefix = cache_prefix};
    r = llm_submit(env->engine, &req, on_reply, op, e);
    if (r == 0)
        op = NULL; /* on_reply owns it now */
out:
    schema_unref(schema);
    json_object_put(sj);
    buf_done(&system);
    buf_done(&user);
    if (op)
        op_free(op);
    return r;
}
