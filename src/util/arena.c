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

/* A new chunk of at least n bytes: twice the head's size, from ARENA_FIRST up to ARENA_CHUNK. */
static struct arena_chunk *chunk_new(struct arena *a, size_t n)
{
    size_t size = a->head ? a->head->size * 2 : ARENA_FIRST;
    struct arena_chunk *c;

    if (size > ARENA_CHUNK)
        size = ARENA_CHUNK;
    if (size < n)
        size = n;
    c = malloc(sizeof(*c) + size);
    if (!c)
        return NULL;
    c->size = size;
    a->total += size;
    return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
    size_t at = ARENA_ROUND(a->used);
    struct arena_chunk *c;

    if (n > SIZE_MAX / 2)
        return NULL;
    if (a->head && at <= a->head->size && n <= a->head->size - at) {
        a->used = at + n;
        return a->head->data + at;
    }
    if (!(c = chunk_new(a, n)))
        return NULL;
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

int arena_reserve(struct arena *a, size_t n)
{
    struct arena_chunk *c;

    if (n > SIZE_MAX / 2)
        return -1;
    if (n == 0 || (a->head && ARENA_ROUND(a->used) + n <= a->head->size))
        return 0;
    if (!(c = chunk_new(a, n)))
        return -1;
    c->next = a->head;
    a->head = c;
    a->used = 0;
    return 0;
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

char *arena_strdup(struct arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_take(struct arena *a, char *heap)
{
    char *p = arena_strdup(a, heap);
    free(heap);
    return p;
}
