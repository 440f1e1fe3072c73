/* SPDX-License-Identifier: MIT */
/* Starting and stopping the long-lived threads a module owns. */
#ifndef HETU_UTIL_WORKER_H
#define HETU_UTIL_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Sets *flag under lock and wakes every thread waiting on cond, and on also unless it is NULL.
   A waiter must test the flag in its wait loop: this is how a module tells its threads to stop. */
void worker_raise(pthread_mutex_t *lock, bool *flag, pthread_cond_t *cond, pthread_cond_t *also);

/* Waits on cond, with lock held, for at most ms milliseconds (or until it is signalled). */
void worker_wait_ms(pthread_cond_t *cond, pthread_mutex_t *lock, int64_t ms);

/* Starts fn(arg) on *ret_thread and names it name; returns false when the thread cannot start. */
bool worker_start(pthread_t *ret_thread, void *(*fn)(void *), void *arg, const char *name);

#endif
