/* SPDX-License-Identifier: MIT */
/* Growing an array one item at a time, doubling its capacity. */
#ifndef HETU_UTIL_GROW_H
#define HETU_UTIL_GROW_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Room for item n of an array of items of `size` bytes with *cap slots: items itself when n <
 * *cap, else items moved to twice the slots (`first` when there were none), *cap updated. NULL
 * when memory runs out; items and *cap are then unchanged (the caller still owns items).
 */
static inline void *grow_array(void *items, size_t *cap, size_t n, size_t size, size_t first)
{
    size_t want;
    void *p;

    if (n < *cap)
        return items;
    want = *cap ? *cap * 2 : first;
    if (want < *cap || want > SIZE_MAX / size || !(p = realloc(items, want * size)))
        return NULL;
    *cap = want;
    return p;
}

#endif
