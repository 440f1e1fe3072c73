/* SPDX-License-Identifier: MIT */
/*
 * Rating types and a task's requirements as the judge and the agreement figures read them
 * (rubric.h). The task's requirements were checked when the task was stored; a list that does
 * not read here is an internal error, not the client's.
 */
#include "judge/rubric.h"

#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/banned.h"

static const char *const type_names[] = {"five_star", "pass_fail", "pass_fail_critical"};
static const int five_star[] = {5, 4, 3, 2, 1};
static const int pass_fail[] = {1, 0};
static const int pass_fail_critical[] = {1, 0, -1};

int rating_type_parse(const char *name)
{
    for (int i = 0; name && i < 3; i++)
        if (strcmp(name, type_names[i]) == 0)
            return i;
    return -1;
}

const char *rating_type_name(enum rating_type t)
{
    return type_names[t];
}

size_t rating_type_values(enum rating_type t, const int **ret)
{
    switch (t) {
    case RATING_PASS_FAIL: *ret = pass_fail; return 2;
    case RATING_PASS_FAIL_CRITICAL: *ret = pass_fail_critical; return 3;
    default: *ret = five_star; return 5;
    }
}

bool rating_value_ok(enum rating_type t, double v)
{
    const int *values;
    size_t n = rating_type_values(t, &values);

    for (size_t i = 0; i < n; i++)
        if (v == (double)values[i])
            return true;
    return false;
}

const char *rating_type_scale(enum rating_type t)
{
    switch (t) {
    case RATING_PASS_FAIL: return "1 (pass) or 0 (fail)";
    case RATING_PASS_FAIL_CRITICAL:
        return "1 (pass), 0 (fail) or -1 (critical fail: the output is harmful or gravely wrong)";
    default: return "a whole number of stars from 1 (poor) to 5 (excellent)";
    }
}

bool rating_type_is_pass_fail(enum rating_type t)
{
    return t == RATING_PASS_FAIL || t == RATING_PASS_FAIL_CRITICAL;
}

static const char *member_str(struct json_object *o, const char *key, const char *dflt)
{
    struct json_object *v;

    if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
        return json_object_get_string(v);
    return dflt;
}

int judge_rubric_load(const struct task *t, struct judge_rubric *ret, struct err *e)
{
    const char *text = t->requirements ? t->requirements : "[]";
    struct judge_rubric rb = {0};
    struct err pe = ERR_INIT;
    size_t n;

    if (json_parse(text, strlen(text), &rb.json, &pe) < 0 ||
        !json_object_is_type(rb.json, json_type_array)) {
        json_object_put(rb.json);
        return err_set(e, HE_INTERNAL, NULL, "task %s: its requirements do not read as a list",
                       t->id);
    }
    n = json_object_array_length(rb.json);
    if (n && !(rb.reqs = calloc(n, sizeof(*rb.reqs)))) {
        json_object_put(rb.json);
        return err_set(e, HE_NOMEM, NULL, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *q = json_object_array_get_idx(rb.json, i);
        struct judge_requirement *x = &rb.reqs[rb.n];
        int type = rating_type_parse(member_str(q, "type", "five_star"));

        x->id = member_str(q, "id", NULL);
        x->name = member_str(q, "name", NULL);
        x->instruction = member_str(q, "instruction", "");
        x->description = member_str(q, "description", "");
        if (!x->id || !x->name || type < 0) {
            judge_rubric_done(&rb);
            return err_set(e, HE_INTERNAL, NULL,
                           "task %s: requirement %zu has no id, no name or an unknown type", t->id,
                           i + 1);
        }
        x->type = (enum rating_type)type;
        rb.n++;
    }
    *ret = rb;
    return 0;
}

void judge_rubric_done(struct judge_rubric *r)
{
    free(r->reqs);
    json_object_put(r->json);
    memset(r, 0, sizeof(*r));
}

const struct judge_requirement *judge_rubric_find(const struct judge_rubric *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->reqs[i].id, id) == 0)
            return &r->reqs[i];
    return NULL;
}
