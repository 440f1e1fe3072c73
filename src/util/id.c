/* SPDX-License-Identifier: MIT */
/*
 * Block-reserving id generator (hi/lo). Any thread may call id_gen_next; the mutex is held only
 * for an increment, and for the rare reservation of the next block.
 */
#include "util/id.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

struct id_gen {
    pthread_mutex_t lock;
    uint64_t next, end; /* ids in [next, end) are ours */
    uint64_t block;
    id_reserve_cb reserve;
    void *ud;
};

struct id_gen *id_gen_new(id_reserve_cb reserve, void *ud, uint64_t block)
{
    struct id_gen *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    pthread_mutex_init(&g->lock, NULL);
    g->reserve = reserve;
    g->ud = ud;
    g->block = block ? block : 4096;
    return g;
}

void id_gen_free(struct id_gen *g)
{
    if (!g)
        return;
    pthread_mutex_destroy(&g->lock);
    free(g);
}

int id_gen_next(struct id_gen *g, uint64_t *ret_id, struct err *e)
{
    int r = 0;

    pthread_mutex_lock(&g->lock);
    if (g->next >= g->end) {
        uint64_t first = 0;
        r = g->reserve(g->ud, g->block, &first, e);
        if (r == 0 && (first < ID_MIN || first + g->block - 1 > ID_MAX))
            r = err_set(e, HE_INTERNAL, NULL, "id space exhausted");
        if (r == 0) {
            g->next = first;
            g->end = first + g->block;
        }
    }
    if (r == 0)
        *ret_id = g->next++;
    pthread_mutex_unlock(&g->lock);
    return r;
}

void id_format(uint64_t id, char out[ID_LEN])
{
    for (int i = ID_DIGITS - 1; i >= 0; i--) {
        out[i] = (char)('0' + id % 10);
        id /= 10;
    }
    out[ID_DIGITS] = '\0';
}

bool id_valid(const char *s)
{
    if (!s || s[0] < '1' || s[0] > '9')
        return false;
    for (int i = 1; i < ID_DIGITS; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return s[ID_DIGITS] == '\0';
}
