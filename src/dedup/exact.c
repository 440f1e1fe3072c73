/* SPDX-License-Identifier: MIT */
/*
 * Exact duplicate detection over a list of new inputs (exact.h).
 *
 * The list's indexes are sorted by (hash, index): equal hashes sit together, earliest first.
 * Every distinct hash is looked up among the task's stored samples (an indexed read each);
 * a stored sample with the same hash makes an item a duplicate only when the normal forms are
 * equal. Within the list, each group of equal hashes keeps the normal forms of its distinct
 * inputs met so far and marks a later item equal to one of them. Memory: the sorted indexes,
 * plus the normal forms of the items whose hash matched (read through the caller's input
 * function, so a list held in a file is not loaded whole). Runs on the caller's thread.
 */
#include "dedup/exact.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/textnorm.h"
#include "util/banned.h"

#define NORM_MAX (64u << 20)

int dedup_mode_parse(const char *v, enum dedup_mode *ret, struct err *e)
{
    if (!v || !*v || strcmp(v, "keep") == 0)
        *ret = DEDUP_KEEP;
    else if (strcmp(v, "skip") == 0)
        *ret = DEDUP_SKIP;
    else if (strcmp(v, "fail") == 0)
        *ret = DEDUP_FAIL;
    else
        return err_set(e, HE_INVALID, "dedup", "dedup must be keep, skip or fail, not '%.40s'", v);
    return 0;
}

int dedup_hash_inputs(const char *const *inputs, size_t n, int64_t *hashes, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t h;
        int r = text_norm_hash(inputs[i], strlen(inputs[i]), &h, e);
        if (r < 0)
            return r;
        hashes[i] = (int64_t)h;
    }
    return 0;
}

struct finder {
    const int64_t *hashes;
    size_t n;
    size_t *order; /* indexes sorted by (hash, index) */
    dedup_input_fn input;
    void *ud;
    uint8_t *dup;
    struct dedup_first first;
    size_t count;
    struct buf a, b; /* normal forms being compared */
};

static int by_hash(const void *x, const void *y, void *hashes)
{
    size_t i = *(const size_t *)x, j = *(const size_t *)y;
    int64_t hi = ((const int64_t *)hashes)[i], hj = ((const int64_t *)hashes)[j];
    return hi < hj ? -1 : hi > hj ? 1 : (i > j) - (i < j);
}

/* Item i's normal form into out. */
static int item_norm(struct finder *f, size_t i, struct buf *out, struct err *e)
{
    const char *text;
    size_t len;
    int r = f->input(f->ud, i, &text, &len, e);
    return r < 0 ? r : text_normalize(text, len, out, e);
}

static void mark(struct finder *f, size_t i, size_t of, const char *existing_id)
{
    if (f->dup[i])
        return;
    f->dup[i] = 1;
    f->count++;
    if (f->first.index != SIZE_MAX && f->first.index < i)
        return;
    f->first.index = i;
    f->first.of = of;
    memset(f->first.existing_id, 0, ID_LEN);
    if (existing_id)
        memcpy(f->first.existing_id, existing_id, strnlen(existing_id, ID_LEN - 1));
}

/* The first position in order whose hash is h (or n). */
static size_t lower_bound(const struct finder *f, int64_t h)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->hashes[f->order[mid]] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A stored sample with one of the list's hashes: the items with its normal form repeat it. */
static int on_stored(void *ud, int64_t hash, const char *run_id, const char *input, struct err *e)
{
    struct finder *f = ud;
    int r;

    if ((r = text_normalize(input, strlen(input), &f->b, e)) < 0)
        return r;
    for (size_t k = lower_bound(f, hash); k < f->n && f->hashes[f->order[k]] == hash; k++) {
        size_t i = f->order[k];
        if (f->dup[i])
            continue;
        if ((r = item_norm(f, i, &f->a, e)) < 0)
            return r;
        if (f->a.len == f->b.len && memcmp(f->a.data, f->b.data, f->a.len) == 0)
            mark(f, i, SIZE_MAX, run_id);
    }
    return 0;
}

/* The group order[from..to) of equal hashes: later items equal to an earlier one repeat it. */
static int within_group(struct finder *f, size_t from, size_t to, struct err *e)
{
    size_t nreps = 0;
    struct {
        size_t index;
        char *norm;
        size_t len;
    } *reps = calloc(to - from, sizeof(*reps));
    int r = 0;

    if (!reps)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t k = from; k < to && r == 0; k++) {
        size_t i = f->order[k];
        bool seen = false;
        if ((r = item_norm(f, i, &f->a, e)) < 0)
            break;
        for (size_t m = 0; m < nreps && !seen; m++)
            if (reps[m].len == f->a.len && memcmp(reps[m].norm, f->a.data, f->a.len) == 0) {
                mark(f, i, reps[m].index, NULL);
                seen = true;
            }
        if (seen)
            continue;
        reps[nreps].index = i;
        reps[nreps].len = f->a.len;
        if (!(reps[nreps++].norm = buf_take(&f->a)))
            r = err_set(e, HE_NOMEM, NULL, NULL);
    }
    for (size_t m = 0; m < nreps; m++)
        free(reps[m].norm);
    free(reps);
    return r;
}

/* The distinct hashes of the list, in order, into *ret. */
static int distinct_hashes(const struct finder *f, int64_t **ret, size_t *ret_n, struct err *e)
{
    int64_t *u = malloc((f->n ? f->n : 1) * sizeof(*u));
    size_t m = 0;

    if (!u)
        return err_set(e, HE_NOMEM, NULL, NULL);
    for (size_t k = 0; k < f->n; k++)
        if (m == 0 || u[m - 1] != f->hashes[f->order[k]])
            u[m++] = f->hashes[f->order[k]];
    *ret = u;
    *ret_n = m;
    return 0;
}

int dedup_exact_find(struct store *s, const char *task_id, const int64_t *hashes, size_t n,
                     dedup_input_fn input, void *ud, uint8_t *dup, struct dedup_first *ret_first,
                     size_t *ret_count, struct err *e)
{
    struct finder f = {hashes, n, NULL, input, ud, dup, {SIZE_MAX, SIZE_MAX, ""}, 0};
    int64_t *distinct = NULL;
    size_t ndistinct = 0;
    int r;

    memset(dup, 0, n);
    buf_init(&f.a, NORM_MAX);
    buf_init(&f.b, NORM_MAX);
    if (!(f.order = malloc((n ? n : 1) * sizeof(*f.order)))) {
        r = err_set(e, HE_NOMEM, NULL, NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        f.order[i] = i;
    qsort_r(f.order, n, sizeof(*f.order), by_hash, (void *)hashes);
    if ((r = distinct_hashes(&f, &distinct, &ndistinct, e)) < 0 ||
        (r = store_run_find_by_hash(s, task_id, distinct, ndistinct, on_stored, &f, e)) < 0)
        goto out;
    for (size_t k = 0, end; k < n && r == 0; k = end) {
        for (end = k + 1; end < n && hashes[f.order[end]] == hashes[f.order[k]]; end++)
            ;
        if (end - k > 1)
            r = within_group(&f, k, end, e);
    }
    if (r == 0) {
        *ret_first = f.first;
        *ret_count = f.count;
    }
out:
    free(distinct);
    free(f.order);
    buf_done(&f.a);
    buf_done(&f.b);
    return r;
}
