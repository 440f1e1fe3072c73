/* SPDX-License-Identifier: MIT */
/*
 * The states of a durable job, as one table: each row names a state, its text (what the store
 * keeps and the API shows) and the states it may move to. The enum, the name lookups and the
 * transition check are generated from it, so a state or a move is a change to one row.
 *
 *   queued -> running -> completed | completed_with_errors | failed | cancelled
 *   queued -> failed                (the job cannot start: its task or parameters are gone)
 *   running -> paused               (a budget would be passed: no call is made until a resume)
 *   paused -> cancelled             (cancelled while paused: nothing runs, so at once)
 *   failed | cancelled | paused -> queued   (resumed: its pending and failed items run again)
 *
 * A state whose only way out is a resume (back to queued) is final: the job is over until it is
 * resumed. A paused job is not over (it may still be cancelled) but does no work either:
 * job_status_is_stopped covers both. A move the table does not list is a programming error:
 * store_job_set_status refuses it and changes nothing.
 */
#ifndef HETU_STORE_JOB_STATUS_H
#define HETU_STORE_JOB_STATUS_H

#include <stdbool.h>

#define JOB_TO(name) (1u << JOB_##name)

/* X(name, text, the states it may move to) */
#define JOB_STATUSES(X)                                                                        \
    X(QUEUED, "queued", JOB_TO(RUNNING) | JOB_TO(FAILED))                                      \
    X(RUNNING, "running",                                                                      \
      JOB_TO(COMPLETED) | JOB_TO(COMPLETED_WITH_ERRORS) | JOB_TO(FAILED) | JOB_TO(CANCELLED) | \
          JOB_TO(PAUSED))                                                                      \
    X(PAUSED, "paused", JOB_TO(QUEUED) | JOB_TO(CANCELLED))                                    \
    X(COMPLETED, "completed", 0)                                                               \
    X(COMPLETED_WITH_ERRORS, "completed_with_errors", 0)                                       \
    X(FAILED, "failed", JOB_TO(QUEUED))                                                        \
    X(CANCELLED, "cancelled", JOB_TO(QUEUED))

enum job_status {
#define X(name, text, next) JOB_##name,
    JOB_STATUSES(X)
#undef X
        JOB_STATUS_COUNT
};

/* The state's text ("queued", ...); "unknown" for a value outside the table. */
const char *job_status_name(enum job_status s);
/* The state a text names: 0 and *ret set, or -1 when no state has that name. */
int job_status_parse(const char *text, enum job_status *ret);
/* Whether the table lets a job in state from move to state to. */
bool job_status_can_move(enum job_status from, enum job_status to);
/* A final state: the job is over; no move leaves it but a resume. */
bool job_status_is_final(enum job_status s);
/* Final or paused: nothing runs until someone resumes (or cancels) the job. Event streams and
 * watchers end here. */
bool job_status_is_stopped(enum job_status s);

#endif
