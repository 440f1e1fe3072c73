/* SPDX-License-Identifier: MIT */
/*
 * A binary min-heap of timers by due time, intrusive: the caller embeds a struct
 * delay_heap_node in its own object, so adding needs no allocation past the heap's array and
 * removing a node from the middle (a cancelled timer) costs O(log n). One thread owns a heap.
 */
#ifndef HETU_UTIL_DELAY_HEAP_H
#define HETU_UTIL_DELAY_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct delay_heap_node {
    int64_t at; /* due time, any clock the owner chooses */
    size_t idx; /* position in the heap while in it */
};

struct delay_heap {
    struct delay_heap_node **v;
    size_t n, cap;
};

void delay_heap_init(struct delay_heap *h);
/* Frees the array; the nodes belong to their owners. */
void delay_heap_done(struct delay_heap *h);

/* Adds node, due at `at`. Returns 0, or HE_NOMEM (the heap is unchanged). */
int delay_heap_push(struct delay_heap *h, struct delay_heap_node *node, int64_t at);
/* Removes node, which must be in h. */
void delay_heap_remove(struct delay_heap *h, struct delay_heap_node *node);
/* The earliest due time, or -1 when empty. */
int64_t delay_heap_next(const struct delay_heap *h);
/* Removes and returns the earliest node due at or before now, or NULL when none is due. */
struct delay_heap_node *delay_heap_pop_due(struct delay_heap *h, int64_t now);

#endif
