/* SPDX-License-Identifier: MIT */
/* The job state table: every move it allows and every one it refuses, names both ways, and
 * which states are final. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/job_status.h"

static const enum job_status all[] = {
    JOB_QUEUED, JOB_RUNNING,  JOB_PAUSED, JOB_COMPLETED, JOB_COMPLETED_WITH_ERRORS,
    JOB_FAILED, JOB_CANCELLED};
#define N_ALL (sizeof(all) / sizeof(all[0]))

/* The moves the runner and a resume make, and no other. */
static bool allowed(enum job_status from, enum job_status to)
{
    switch (from) {
    case JOB_QUEUED: return to == JOB_RUNNING || to == JOB_FAILED;
    case JOB_RUNNING:
        return to == JOB_COMPLETED || to == JOB_COMPLETED_WITH_ERRORS || to == JOB_FAILED ||
               to == JOB_CANCELLED || to == JOB_PAUSED;
    case JOB_PAUSED: return to == JOB_QUEUED || to == JOB_CANCELLED; /* resumed or cancelled */
    case JOB_FAILED:
    case JOB_CANCELLED: return to == JOB_QUEUED; /* resumed */
    default: return false;
    }
}

/* A resume: a failed, cancelled or paused job goes back to queued, and only those. */
static void resume_moves(void **state)
{
    (void)state;
    assert_true(job_status_can_move(JOB_PAUSED, JOB_QUEUED));
    assert_true(job_status_can_move(JOB_FAILED, JOB_QUEUED));
    assert_true(job_status_can_move(JOB_CANCELLED, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_QUEUED, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_RUNNING, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_COMPLETED, JOB_QUEUED));
}

static void every_pair_is_as_listed(void **state)
{
    (void)state;
    assert_int_equal(N_ALL, JOB_STATUS_COUNT);
    for (size_t i = 0; i < N_ALL; i++)
        for (size_t k = 0; k < N_ALL; k++) {
            bool want = allowed(all[i], all[k]);
            if (job_status_can_move(all[i], all[k]) != want)
                fail_msg("%s -> %s: %s expected", job_status_name(all[i]), job_status_name(all[k]),
                         want ? "allowed" : "refused");
        }
}

static void refused_moves(void **state)
{
    (void)state;
    assert_false(job_status_can_move(JOB_QUEUED, JOB_COMPLETED));
    assert_false(job_status_can_move(JOB_QUEUED, JOB_CANCELLED));
    assert_false(job_status_can_move(JOB_QUEUED, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_RUNNING, JOB_RUNNING));
    assert_false(job_status_can_move(JOB_RUNNING, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_COMPLETED, JOB_RUNNING));
    assert_false(job_status_can_move(JOB_CANCELLED, JOB_COMPLETED));
    assert_false(job_status_can_move(JOB_FAILED, JOB_FAILED));
    assert_false(job_status_can_move(JOB_FAILED, JOB_RUNNING));
    assert_false(job_status_can_move(JOB_CANCELLED, JOB_RUNNING));
    assert_false(job_status_can_move(JOB_COMPLETED, JOB_QUEUED));
    assert_false(job_status_can_move(JOB_COMPLETED_WITH_ERRORS, JOB_QUEUED));
    assert_false(job_status_can_move((enum job_status)JOB_STATUS_COUNT, JOB_RUNNING));
    assert_false(job_status_can_move(JOB_RUNNING, (enum job_status)JOB_STATUS_COUNT));
    assert_false(job_status_can_move((enum job_status) - 1, JOB_RUNNING));
}

static void names_round_trip(void **state)
{
    static const char *const names[] = {
        "queued", "running", "paused", "completed", "completed_with_errors", "failed", "cancelled"};
    enum job_status got;
    (void)state;

    for (size_t i = 0; i < N_ALL; i++) {
        assert_string_equal(job_status_name(all[i]), names[i]);
        got = JOB_STATUS_COUNT;
        assert_int_equal(job_status_parse(names[i], &got), 0);
        assert_int_equal(got, all[i]);
    }
    got = JOB_RUNNING;
    assert_int_equal(job_status_parse("Running", &got), -1);
    assert_int_equal(job_status_parse("", &got), -1);
    assert_int_equal(job_status_parse(NULL, &got), -1);
    assert_int_equal(got, JOB_RUNNING); /* untouched when refused */
    assert_string_equal(job_status_name((enum job_status)JOB_STATUS_COUNT), "unknown");
}

static void final_states(void **state)
{
    (void)state;
    assert_false(job_status_is_final(JOB_QUEUED));
    assert_false(job_status_is_final(JOB_RUNNING));
    assert_true(job_status_is_final(JOB_COMPLETED));
    assert_true(job_status_is_final(JOB_COMPLETED_WITH_ERRORS));
    assert_true(job_status_is_final(JOB_FAILED));
    assert_true(job_status_is_final(JOB_CANCELLED));
    assert_false(job_status_is_final((enum job_status)JOB_STATUS_COUNT));
    /* paused: not over (it may still be cancelled), but stopped */
    assert_false(job_status_is_final(JOB_PAUSED));
    assert_true(job_status_is_stopped(JOB_PAUSED));
    assert_true(job_status_is_stopped(JOB_CANCELLED));
    assert_false(job_status_is_stopped(JOB_RUNNING));
    assert_false(job_status_is_stopped(JOB_QUEUED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_pair_is_as_listed),
        cmocka_unit_test(refused_moves),
        cmocka_unit_test(resume_moves),
        cmocka_unit_test(names_round_trip),
        cmocka_unit_test(final_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
