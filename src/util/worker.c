/* SPDX-License-Identifier: MIT */
/* Thread start and stop, the same for every module that owns worker threads. */
#include "util/worker.h"

#include "util/clock.h"
#include "util/banned.h"

void worker_raise(pthread_mutex_t *lock, bool *flag, pthread_cond_t *cond, pthread_cond_t *also)
{
    pthread_mutex_lock(lock);
    *flag = true;
    pthread_cond_broadcast(cond);
    if (also)
        pthread_cond_broadcast(also);
    pthread_mutex_unlock(lock);
}

void worker_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ms)
{
    struct timespec ts;

    clock_deadline(ms, &ts);
    pthread_cond_timedwait(cond, lock, &ts);
}

bool worker_start(pthread_t *ret_thread, void *(*fn)(void *), void *arg, const char *name)
{
    pthread_t t;

    if (pthread_create(&t, NULL, fn, arg) != 0)
        return false;
    pthread_setname_np(t, name);
    *ret_thread = t;
    return true;
}
