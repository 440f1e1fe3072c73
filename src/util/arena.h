/* SPDX-License-Identifier: MIT */
/*
 * A region allocator: many small allocations that are freed together. Memory comes in chunks:
 * the first of ARENA_FIRST bytes, each next one twice the last up to ARENA_CHUNK (or one
 * allocation's size when larger), so that an arena holding one record stays small and one
 * holding a batch soon carves large chunks. A pointer stays valid until arena_done. For
 * per-batch data that would otherwise be thousands of malloc/free pairs, and for the strings
 * of a record read from the store. A zeroed struct arena is an empty arena.
 */
#ifndef HETU_UTIL_ARENA_H
#define HETU_UTIL_ARENA_H

#include <stdalign.h>
#include <stddef.h>

#define ARENA_FIRST 512u
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
/* A copy of s; NULL when s is NULL or out of memory. */
char *arena_strdup(struct arena *a, const char *s);
/* A copy of heap (a malloc'd string), which is freed; NULL when heap is NULL or out of memory. */
char *arena_take(struct arena *a, char *heap);
/* The room an allocation of n bytes takes in a chunk. */
#define ARENA_ROUND(n) (((n) + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1))
/* Makes room in one chunk for allocations whose ARENA_ROUND sizes sum to n; 0, or -1 when out
 * of memory. For filling a record with one malloc. */
int arena_reserve(struct arena *a, size_t n);

#endif
