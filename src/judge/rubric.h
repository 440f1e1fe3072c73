/* SPDX-License-Identifier: MIT */
/*
 * What a judge rates a sample against: the task's requirements, each with its rating type, as
 * Kiln defines the types (datamodel TaskOutputRating):
 *
 *   five_star           1, 2, 3, 4 or 5 stars
 *   pass_fail           1 pass, 0 fail
 *   pass_fail_critical  1 pass, 0 fail, -1 critical fail
 *
 * The overall rating is always five_star. Pure functions over the task's stored JSON.
 */
#ifndef HETU_JUDGE_RUBRIC_H
#define HETU_JUDGE_RUBRIC_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "store/store.h"
#include "util/err.h"

enum rating_type { RATING_FIVE_STAR, RATING_PASS_FAIL, RATING_PASS_FAIL_CRITICAL };

/* The type a name is, or -1. */
int rating_type_parse(const char *name);
const char *rating_type_name(enum rating_type t);
/* The values a type allows, best first (as the judge's answer schema lists them). */
size_t rating_type_values(enum rating_type t, const int **ret);
/* Whether v is one of them. */
bool rating_value_ok(enum rating_type t, double v);
/* "1 to 5 stars", "1 (pass) or 0 (fail)", ...: the scale in words. */
const char *rating_type_scale(enum rating_type t);
/* Pass/fail types: ratings are categories (agreement and kappa), not a scale alone. */
bool rating_type_is_pass_fail(enum rating_type t);

struct judge_requirement {
    const char *id, *name, *instruction, *description; /* description "" when none */
    enum rating_type type;
};

/* A task's requirements, read from its JSON (strings borrow from `json`). */
struct judge_rubric {
    struct judge_requirement *reqs;
    size_t n;
    struct json_object *json;
};

/* HE_INTERNAL when the stored list does not read as one (it was checked when stored). */
int judge_rubric_load(const struct task *t, struct judge_rubric *ret, struct err *e);
void judge_rubric_done(struct judge_rubric *r);
/* The requirement of this id, or NULL. */
const struct judge_requirement *judge_rubric_find(const struct judge_rubric *r, const char *id);

#endif
