/* SPDX-License-Identifier: MIT */
#include "util/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct arena_chunk {
    struct arena_chunk *next;
    size_t size;
    alignas(max_align_t) unsigned char data[];
};

void arena_init(struct arena *a)
{
    a->head = NULL;
    a->used = a->total = 0;
}

void arena_done(struct arena *a)
{
    for (struct arena_chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    arena_init(a);
}

void *arena_alloc(struct arena *a, size_t n)
{
    const size_t align = alignof(max_align_t);
    size_t at = (a->used + align - 1) & ~(align - 1);
    struct arena_chunk *c;

    if (n > SIZE_MAX / 2)
        return NULL;
    if (a->head && at <= a->head->size && n <= a->head->size - at) {
        a->used = at + n;
        return a->head->data + at;
    }
    c = malloc(sizeof(*c) + (n > ARENA_CHUNK ? n : ARENA_CHUNK));
    if (!c)
        return NULL;
    c->size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
    a->total += c->size;
    if (n > ARENA_CHUNK && a->head) {
        /* a large block goes behind the current chunk, which keeps serving small ones */
        c->next = a->head->next;
        a->head->next = c;
        return c->data;
    }
    c->next = a->head;
    a->head = c;
    a->used = n;
    return c->data;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}
