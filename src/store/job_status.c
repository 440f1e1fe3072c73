/* SPDX-License-Identifier: MIT */
/* The job state table (job_status.h) turned into lookups. */
#include "store/job_status.h"

#include <string.h>

#include "util/banned.h"

static const struct {
    const char *name;
    unsigned next; /* one bit per state it may move to */
} table[] = {
#define X(name, text, next) [JOB_##name] = {text, next},
    JOB_STATUSES(X)
#undef X
};

static bool known(enum job_status s)
{
    return (unsigned)s < JOB_STATUS_COUNT;
}

const char *job_status_name(enum job_status s)
{
    return known(s) ? table[s].name : "unknown";
}

int job_status_parse(const char *text, enum job_status *ret)
{
    for (unsigned i = 0; text && i < JOB_STATUS_COUNT; i++)
        if (strcmp(text, table[i].name) == 0) {
            *ret = (enum job_status)i;
            return 0;
        }
    return -1;
}

bool job_status_can_move(enum job_status from, enum job_status to)
{
    return known(from) && known(to) && (table[from].next & (1u << to)) != 0;
}

bool job_status_is_final(enum job_status s)
{
    return known(s) && (table[s].next & ~JOB_TO(QUEUED)) == 0;
}

bool job_status_is_stopped(enum job_status s)
{
    return s == JOB_PAUSED || job_status_is_final(s);
}
