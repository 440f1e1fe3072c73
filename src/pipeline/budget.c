/* SPDX-License-Identifier: MIT */
/*
 * A pipeline or judge job's budget, driver thread only (driver_int.h). Spent is the sum of
 * what recorded items spent (read from the store when the job is taken up, then added to as
 * steps are recorded); reserved is what the items in flight are expected to spend. An item
 * starts only when spent + reserved + its own expected spend stays within every cap.
 *
 * What an item is expected to spend: before any item of its stage was recorded, the
 * estimate's per-call figures (from the job's params) times its calls; afterwards the largest
 * spend of one item seen in that stage. Both with a margin. Where neither is known (a judge
 * job has no estimate), one item of the stage runs at a time until one has been recorded.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/driver_int.h"
#include "util/banned.h"

#define MARGIN 1.25

static double number(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || !v ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return NAN;
    return json_object_get_double(v);
}

void budget_init(struct pjob *j, struct json_object *estimate)
{
    struct json_object *stages = NULL, *st;

    if (estimate)
        json_object_object_get_ex(estimate, "stages", &stages);
    for (int s = 0; s < PS_COUNT; s++) {
        double calls;
        j->per_call[s] = (struct expect){0, NAN, NAN};
        if (!stages || !json_object_object_get_ex(stages, pipeline_stage_name(s), &st))
            continue;
        calls = number(st, "calls");
        if (!(calls > 0))
            continue;
        j->per_call[s] =
            (struct expect){1, (number(st, "input_tokens") + number(st, "output_tokens")) / calls,
                            number(st, "cost_usd") / calls};
    }
}

static int add_stage(void *ud, const struct job_stage_totals *t, struct err *e)
{
    struct pjob *j = ud;
    int s = pipeline_stage_parse(t->stage);
    int64_t settled = t->done + t->failed;
    (void)e;

    if (s < 0)
        return 0;
    j->spent.calls += (double)t->spend.calls;
    j->spent.tokens += (double)(t->spend.input_tokens + t->spend.output_tokens);
    if (!isnan(t->spend.cost))
        j->spent.cost += t->spend.cost;
    if (settled > 0 && t->spend.calls > 0)
        j->seen[s] = (struct expect){(double)t->spend.calls / (double)settled,
                                     (double)(t->spend.input_tokens + t->spend.output_tokens) /
                                         (double)settled,
                                     isnan(t->spend.cost) ? 0 : t->spend.cost / (double)settled};
    return 0;
}

int budget_load_spent(struct pjob *j, struct err *e)
{
    j->spent = (struct expect){0, 0, 0};
    return store_job_stages(driver_env(j)->store, j->job.id, add_stage, j, e);
}

static struct expect expected(const struct pjob *j, enum pipeline_stage s, double calls)
{
    const struct expect *seen = &j->seen[s], *pc = &j->per_call[s];

    if (seen->calls > 0)
        return (struct expect){fmax(calls, seen->calls), seen->tokens * MARGIN,
                               seen->cost * MARGIN};
    if (pc->calls > 0)
        return (struct expect){calls, pc->tokens * calls * MARGIN, pc->cost * calls * MARGIN};
    return (struct expect){calls, NAN, NAN};
}

/* Whether one more item expected to spend `next` (NaN: unknown) stays within cap; sets the
 * reason when it does not. */
static bool fits(struct pjob *j, const char *name, double cap, double spent, double reserved,
                 double next, enum pipeline_stage s, bool money)
{
    if (cap < 0)
        return true;
    if (isnan(next)) {
        if (j->inflight_stage[s] > 0)
            return false; /* one at a time until an item of the stage is seen */
        next = 0;
        if (spent + reserved < cap)
            return true;
    } else if (spent + reserved + next <= cap) {
        return true;
    }
    if (money)
        snprintf(j->blocked, sizeof(j->blocked),
                 "budget: %s %.2f would be passed (spent %.4f, next call about %.4f)", name, cap,
                 spent, next);
    else
        snprintf(j->blocked, sizeof(j->blocked),
                 "budget: %s %.0f would be passed (spent %.0f, next item about %.0f)", name, cap,
                 spent, next);
    return false;
}

bool budget_reserve(struct pjob *j, enum pipeline_stage s, double calls, struct expect *ret)
{
    struct expect x = expected(j, s, calls);
    const struct pipeline_budget *b = &j->budget;

    *ret = (struct expect){0, 0, 0};
    if (calls <= 0)
        return true;
    if (!fits(j, "max_calls", (double)b->max_calls, j->spent.calls, j->reserved.calls, x.calls, s,
              false) ||
        !fits(j, "max_tokens", (double)b->max_tokens, j->spent.tokens, j->reserved.tokens, x.tokens,
              s, false) ||
        !fits(j, "max_cost_usd", b->max_cost_usd, j->spent.cost, j->reserved.cost, x.cost, s, true))
        return false;
    *ret = (struct expect){x.calls, isnan(x.tokens) ? 0 : x.tokens, isnan(x.cost) ? 0 : x.cost};
    j->reserved.calls += ret->calls;
    j->reserved.tokens += ret->tokens;
    j->reserved.cost += ret->cost;
    return true;
}

void budget_release(struct pjob *j, const struct expect *x)
{
    j->reserved.calls -= x->calls;
    j->reserved.tokens -= x->tokens;
    j->reserved.cost -= x->cost;
}

void budget_spent(struct pjob *j, enum pipeline_stage s, const struct job_spend *sp)
{
    double tokens = (double)(sp->input_tokens + sp->output_tokens);
    double cost = isnan(sp->cost) ? 0 : sp->cost; /* unpriced: cannot be counted */
    struct expect *seen = &j->seen[s];

    j->spent.calls += (double)sp->calls;
    j->spent.tokens += tokens;
    j->spent.cost += cost;
    if (sp->calls <= 0)
        return;
    seen->calls = fmax(seen->calls, (double)sp->calls);
    seen->tokens = fmax(isnan(seen->tokens) ? 0 : seen->tokens, tokens);
    seen->cost = fmax(isnan(seen->cost) ? 0 : seen->cost, cost);
}
