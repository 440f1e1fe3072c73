/* SPDX-License-Identifier: MIT */
/* Which item failures stop a job early: those a retry cannot fix, and no others. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jobs/job_failure.h"
#include "util/err.h"

struct failure {
    int code;
    const char *msg;
};

/* What a retry cannot fix. */
static const struct failure permanent[] = {
    {HE_PROVIDER, "provider openai model m: HTTP 401: Incorrect API key provided"},
    {HE_PROVIDER, "provider p model m: HTTP 403: forbidden"},
    {HE_PROVIDER, "provider p model m: HTTP 404: no such model"},
    {HE_PROVIDER, "provider p model m: HTTP 400: bad field"},
    {HE_PROVIDER, "provider p model m: HTTP 422: invalid"},
    {HE_PROVIDER, "provider p: error code model_not_found"},
    {HE_PROVIDER, "The model `x` does not exist"},
    {HE_PROVIDER, "provider anthropic model m: the answer was cut off at the output limit "
                  "(max_tokens 8192); set allow_truncated to keep such answers"},
    {HE_UNAUTHORIZED, "no key"},
    {HE_NOT_FOUND, "unknown provider"},
    {HE_BAD_REQUEST, "a model call needs at least one message"},
};

/* What a retry can fix, or what says nothing of the provider's refusal. */
static const struct failure passing[] = {
    {HE_PROVIDER, "provider p model m: HTTP 429: slow down"},
    {HE_PROVIDER, "provider p model m: HTTP 500: oops"},
    {HE_PROVIDER, "provider p model m: HTTP 503: busy"},
    {HE_PROVIDER, "provider p model m: HTTP 529: overloaded"},
    {HE_PROVIDER, "provider p model m: HTTP 408: timeout"},
    {HE_PROVIDER, "connection failed: Couldn't connect"},
    {HE_TIMEOUT, "HTTP 401: not from the provider"},
    {HE_CANCELLED, "cancelled"},
    {HE_UNAVAILABLE, "the model engine is stopping"},
    {HE_PROVIDER, "provider p model m: HTTP 4011 x"}, /* a status only where the engine puts it */
    {HE_PROVIDER, ""},
    {HE_PROVIDER, NULL},
};

static void check(const struct failure *f, size_t n, bool want)
{
    for (size_t i = 0; i < n; i++)
        if (job_failure_is_permanent(f[i].code, f[i].msg) != want)
            fail_msg("%d %s: %s expected", f[i].code, f[i].msg ? f[i].msg : "(null)",
                     want ? "permanent" : "retryable");
}

static void provider_refusals_are_permanent(void **state)
{
    (void)state;
    check(permanent, sizeof(permanent) / sizeof(permanent[0]), true);
}

static void what_a_retry_can_fix_is_not(void **state)
{
    (void)state;
    check(passing, sizeof(passing) / sizeof(passing[0]), false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_refusals_are_permanent),
        cmocka_unit_test(what_a_retry_can_fix_is_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
