/* SPDX-License-Identifier: MIT */
/* The classification of an item's failure (job_failure.h). */
#include "jobs/job_failure.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/err.h"
#include "util/banned.h"

/* The HTTP status the engine's message names ("... HTTP 401: ..."), or 0. */
static int http_status_of(const char *msg)
{
    const char *p = msg ? strstr(msg, "HTTP ") : NULL;
    char *end;
    long status;

    if (!p)
        return 0;
    status = strtol(p + 5, &end, 10);
    return end != p + 5 && *end == ':' && status >= 100 && status <= 599 ? (int)status : 0;
}

static bool mentions(const char *msg, const char *const *phrases, size_t count)
{
    size_t n = msg ? strlen(msg) : 0;

    for (size_t i = 0; i < count; i++) {
        size_t k = strlen(phrases[i]);
        for (size_t at = 0; at + k <= n; at++)
            if (strncasecmp(msg + at, phrases[i], k) == 0)
                return true;
    }
    return false;
}

static bool names_missing_model(const char *msg)
{
    static const char *const phrases[] = {"model_not_found", "model not found", "does not exist"};
    return mentions(msg, phrases, sizeof(phrases) / sizeof(phrases[0]));
}

/* An answer still cut off after the engine's retry with a larger output limit (gen/output.c):
   asking again with the same limit would be cut again. */
static bool names_truncation(const char *msg)
{
    static const char *const phrases[] = {"the answer was cut off at"};
    return mentions(msg, phrases, 1);
}

bool job_failure_is_permanent(int code, const char *msg)
{
    switch (code) {
    case HE_UNAUTHORIZED:
    case HE_NOT_FOUND:
    case HE_BAD_REQUEST: return true; /* refused before any call */
    case HE_PROVIDER:
        if (names_truncation(msg))
            return true;
        break;
    default: return false; /* timeouts, cancels, answers that failed the schema, ... */
    }
    switch (http_status_of(msg)) {
    case 400:
    case 401:
    case 403:
    case 404:
    case 422: return true;
    case 0: return names_missing_model(msg);
    default: return false;
    }
}
