/* SPDX-License-Identifier: MIT */
/*
 * Exact duplicates: inputs whose normal forms (util/textnorm.h) are equal. Samples keep the hash
 * of their input's normal form; a list of new inputs is checked against the task's stored
 * samples and against itself with those hashes, and every hash match is confirmed by comparing
 * the normal forms themselves, so a hash collision never makes a sample a duplicate.
 */
#ifndef HETU_DEDUP_EXACT_H
#define HETU_DEDUP_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

/* What a save or an import does with a duplicate (the `dedup` query parameter). */
enum dedup_mode {
    DEDUP_KEEP, /* store it anyway (the default) */
    DEDUP_SKIP, /* store the others, count it as skipped */
    DEDUP_FAIL, /* 409 naming the first, nothing stored */
};

/* v: "keep", "skip" or "fail"; NULL or "" is keep. HE_INVALID naming "dedup" otherwise. */
int dedup_mode_parse(const char *v, enum dedup_mode *ret, struct err *e);

/* Item i's input as sent (called only for items whose hash matched another's); the text must
 * stay valid until the next call. */
typedef int (*dedup_input_fn)(void *ud, size_t i, const char **ret, size_t *ret_len, struct err *e);

/* The first duplicate of a list: what dedup=fail names. */
struct dedup_first {
    size_t index;             /* SIZE_MAX: the list has none */
    size_t of;                /* the earlier item it repeats, or SIZE_MAX */
    char existing_id[ID_LEN]; /* the stored sample it repeats, or "" */
};

/*
 * Sets dup[i] (n of them) to 1 for every item whose input repeats a stored sample of task_id or
 * an earlier item of the list (the first copy of an input repeated in the list is not one), 0
 * for the others. hashes[i] is item i's input hash (text_norm_hash). *ret_count: how many are
 * duplicates; *ret_first: the one with the lowest index.
 */
int dedup_exact_find(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                     dedup_input_fn input, void *ud, uint8_t *dup, struct dedup_first *ret_first,
                     size_t *ret_count, struct err *e);

/* The hashes of n inputs, into hashes (text_norm_hash of each). */
int dedup_hash_inputs(const char *const *inputs, size_t n, int64_t *hashes, struct err *e);

#endif
