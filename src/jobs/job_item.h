/* SPDX-License-Identifier: MIT */
/*
 * A job item's payload turned into the sample it runs. Two encodings exist: a row a file
 * import loaded is a spooled row (jobs/spool.h: spool_item), read back field by field; an item
 * of import_samples_async is the sample's JSON as the request sent it, parsed and checked as
 * the request's samples are. Items of file imports written by earlier versions are JSON too
 * and take the second way.
 */
#ifndef HETU_JOBS_JOB_ITEM_H
#define HETU_JOBS_JOB_ITEM_H

#include <stddef.h>
#include <stdint.h>

#include "gen/gen.h"
#include "util/arena.h"

/* Fills ret (free with gen_sample_free) from item idx's payload; HE_INVALID names the item.
 * scratch holds what reading takes on the way (a few pointers per item), so that one arena
 * serves a whole batch of items. */
int job_item_sample(const struct gen_env *env, const struct task *t, const void *payload,
                    size_t len, int64_t idx, struct arena *scratch, struct gen_sample *ret,
                    struct err *e);

#endif
