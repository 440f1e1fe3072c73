/* SPDX-License-Identifier: MIT */
/*
 * A region allocator: many small allocations that are freed together. Memory comes in chunks
 * (ARENA_CHUNK bytes, or one allocation's size when larger); a pointer stays valid until
 * arena_done. For per-batch data that would otherwise be thousands of malloc/free pairs.
 */
#ifndef HETU_UTIL_ARENA_H
#define HETU_UTIL_ARENA_H

#include <stddef.h>

#define ARENA_CHUNK (256u * 1024)

struct arena_chunk;

struct arena {
    struct arena_chunk *head; /* the chunk being carved, then older ones */
    size_t used;              /* bytes handed out from head */
    size_t total;             /* bytes of every chunk, for callers bounding a batch */
};

void arena_init(struct arena *a);
/* Frees every chunk; the arena can be used again. */
void arena_done(struct arena *a);
/* n bytes aligned for any type, or NULL when out of memory. */
void *arena_alloc(struct arena *a, size_t n);
/* A NUL-terminated copy of s[0..len), or NULL when out of memory. */
char *arena_strndup(struct arena *a, const char *s, size_t len);

#endif
