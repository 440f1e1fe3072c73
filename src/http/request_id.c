/* SPDX-License-Identifier: MIT */
/* Request ids (see request_id.h). */
#include "http/request_id.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

/* Work handed to other threads keeps a copy of the id as long as this (util/log.h). */
_Static_assert(REQUEST_ID_MAX <= LOG_REQUEST_MAX, "request ids must fit the log's copies");

static bool sane(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n > REQUEST_ID_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._:/+=-", *p)))
            return false;
    return true;
}

void request_id_pick(struct MHD_Connection *conn, char out[REQUEST_ID_MAX + 1])
{
    static atomic_uint_fast64_t counter;
    const char *given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    uint64_t v;

    if (sane(given)) {
        memcpy(out, given, strlen(given) + 1);
        return;
    }
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v)) /* no entropy yet */
        v = (uint64_t)clock_wall_us() * 0x9e3779b97f4a7c15ULL + atomic_fetch_add(&counter, 1);
    snprintf(out, REQUEST_ID_MAX + 1, "%016llx", (unsigned long long)v);
}
