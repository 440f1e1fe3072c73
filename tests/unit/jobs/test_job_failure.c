/* SPDX-License-Identifier: MIT */
/* Which item failures stop a job early: those a retry cannot fix, and no others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jobs/job_failure.h"
#include "util/err.h"

static void provider_refusals_are_permanent(void **state)
{
    (void)state;
    assert_true(job_failure_is_permanent(
        HE_PROVIDER, "provider openai model m: HTTP 401: Incorrect API key provided"));
    assert_true(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 403: forbidden"));
    assert_true(
        job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 404: no such model"));
    assert_true(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 400: bad field"));
    assert_true(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 422: invalid"));
    assert_true(job_failure_is_permanent(HE_PROVIDER, "provider p: error code model_not_found"));
    assert_true(job_failure_is_permanent(HE_PROVIDER, "The model `x` does not exist"));
    assert_true(job_failure_is_permanent(HE_UNAUTHORIZED, "no key"));
    assert_true(job_failure_is_permanent(HE_NOT_FOUND, "unknown provider"));
    assert_true(
        job_failure_is_permanent(HE_BAD_REQUEST, "a model call needs at least one message"));
}

static void what_a_retry_can_fix_is_not(void **state)
{
    (void)state;
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 429: slow down"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 500: oops"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 503: busy"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 529: overloaded"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 408: timeout"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, "connection failed: Couldn't connect"));
    assert_false(job_failure_is_permanent(HE_TIMEOUT, "HTTP 401: not from the provider"));
    assert_false(job_failure_is_permanent(HE_CANCELLED, "cancelled"));
    assert_false(job_failure_is_permanent(HE_UNAVAILABLE, "the model engine is stopping"));
    /* a status only counts where the engine writes it */
    assert_false(job_failure_is_permanent(HE_PROVIDER, "provider p model m: HTTP 4011 x"));
    assert_false(job_failure_is_permanent(HE_PROVIDER, ""));
    assert_false(job_failure_is_permanent(HE_PROVIDER, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_refusals_are_permanent),
        cmocka_unit_test(what_a_retry_can_fix_is_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
