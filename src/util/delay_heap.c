/* SPDX-License-Identifier: MIT */
/*
 * DESIGN. An array heap ordered by delay_heap_node.at, each node knowing its own index, so a
 * node can leave from anywhere. The array doubles as it fills (from 256 entries) and is never
 * shrunk. Not thread-safe: the thread that owns the heap is the only one that calls it.
 * Invariants: v[i]->idx == i for every i < n; v[(i - 1) / 2]->at <= v[i]->at.
 */
#include "util/delay_heap.h"

#include <stdlib.h>

#include "util/err.h"

#include "util/banned.h"

#define DELAY_HEAP_FIRST 256

static void swap(struct delay_heap *h, size_t a, size_t b)
{
    struct delay_heap_node *t = h->v[a];
    h->v[a] = h->v[b];
    h->v[b] = t;
    h->v[a]->idx = a;
    h->v[b]->idx = b;
}

static void up(struct delay_heap *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->v[p]->at <= h->v[i]->at)
            break;
        swap(h, i, p);
        i = p;
    }
}

static void down(struct delay_heap *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && h->v[l]->at < h->v[m]->at)
            m = l;
        if (r < h->n && h->v[r]->at < h->v[m]->at)
            m = r;
        if (m == i)
            return;
        swap(h, i, m);
        i = m;
    }
}

void delay_heap_init(struct delay_heap *h)
{
    h->v = NULL;
    h->n = h->cap = 0;
}

void delay_heap_done(struct delay_heap *h)
{
    free(h->v);
    delay_heap_init(h);
}

int delay_heap_push(struct delay_heap *h, struct delay_heap_node *node, int64_t at)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : DELAY_HEAP_FIRST;
        struct delay_heap_node **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return HE_NOMEM;
        h->v = v;
        h->cap = cap;
    }
    node->at = at;
    node->idx = h->n;
    h->v[h->n++] = node;
    up(h, node->idx);
    return 0;
}

void delay_heap_remove(struct delay_heap *h, struct delay_heap_node *node)
{
    size_t i = node->idx;
    h->n--;
    if (i != h->n) {
        h->v[i] = h->v[h->n];
        h->v[i]->idx = i;
        down(h, i);
        up(h, i);
    }
}

int64_t delay_heap_next(const struct delay_heap *h)
{
    return h->n > 0 ? h->v[0]->at : -1;
}

struct delay_heap_node *delay_heap_pop_due(struct delay_heap *h, int64_t now)
{
    struct delay_heap_node *node;
    if (h->n == 0 || h->v[0]->at > now)
        return NULL;
    node = h->v[0];
    delay_heap_remove(h, node);
    return node;
}
