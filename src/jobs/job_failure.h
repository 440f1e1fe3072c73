/* SPDX-License-Identifier: MIT */
/*
 * Which failures of an item a retry cannot fix. The engine reports a failed call with an error
 * code and, when the provider answered, its HTTP status in the message ("provider P model M:
 * HTTP 401: ..."). A job stops early only on these: the same failure on every item would repeat
 * on the rest. Rate limits, overload, server errors, timeouts and dropped connections pass, and
 * the items they failed run again.
 */
#ifndef HETU_JOBS_JOB_FAILURE_H
#define HETU_JOBS_JOB_FAILURE_H

#include <stdbool.h>

/* Whether an item that failed with code (an HE_* code) and msg would fail again, whatever the
 * wait: the provider refused the key (401, 403), does not know the model (404, or a message
 * naming a model that does not exist) or rejects the request as invalid (400, 422). */
bool job_failure_is_permanent(int code, const char *msg);

#endif
