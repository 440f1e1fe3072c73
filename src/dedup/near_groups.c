/* SPDX-License-Identifier: MIT */
/*
 * Union-find over the samples of LSH buckets (see near_groups.h).
 *
 * DESIGN
 * - Slots are dense indexes into four growable arrays (id, signature, shingle set,
 *   parent); an
 *   open-addressing table maps a sample id to its slot and doubles at half load.
 * - Union by smaller slot, path halving on find: the root of a group is its first-added slot.
 * - Clusters are listed in the order of their smallest member id, members by id, from one sort
 *   of the slots that belong to a group of two or more.
 */
#include <stdlib.h>
#include <string.h>

#include "dedup/near_groups.h"
#include "util/banned.h"

#define BUCKET_ALL_PAIRS 64

struct near_groups {
    double threshold;
    near_pair_cb pair_cb;
    void *ud;
    int64_t *ids;
    struct minhash_sig *sigs;
    int64_t *parent;
    struct shingles {
        uint32_t *v;
        size_t n;
    } * sets;
    size_t n, cap;
    int64_t *table; /* slot + 1, 0 empty */
    size_t table_cap;
};

struct near_groups *near_groups_new(double threshold, near_pair_cb pair_cb, void *ud)
{
    struct near_groups *g = calloc(1, sizeof(*g));

    if (!g)
        return NULL;
    g->threshold = threshold;
    g->pair_cb = pair_cb;
    g->ud = ud;
    return g;
}

void near_groups_free(struct near_groups *g)
{
    if (!g)
        return;
    free(g->ids);
    free(g->sigs);
    free(g->parent);
    for (size_t i = 0; i < g->n; i++)
        free(g->sets[i].v);
    free(g->sets);
    free(g->table);
    free(g);
}

static size_t id_slot(int64_t id, size_t cap)
{
    uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 17) & (cap - 1);
}

static int table_grow(struct near_groups *g)
{
    size_t cap = g->table_cap ? g->table_cap * 2 : 1024;
    int64_t *t = calloc(cap, sizeof(*t));

    if (!t)
        return -1;
    for (size_t s = 0; s < g->n; s++) {
        size_t i = id_slot(g->ids[s], cap);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = (int64_t)s + 1;
    }
    free(g->table);
    g->table = t;
    g->table_cap = cap;
    return 0;
}

static int arrays_grow(struct near_groups *g)
{
    size_t cap = g->cap ? g->cap * 2 : 256;
    int64_t *ids = realloc(g->ids, cap * sizeof(*ids));
    struct minhash_sig *sigs;
    int64_t *parent;
    struct shingles *sets;

    if (!ids)
        return -1;
    g->ids = ids;
    if (!(sigs = realloc(g->sigs, cap * sizeof(*sigs))))
        return -1;
    g->sigs = sigs;
    if (!(parent = realloc(g->parent, cap * sizeof(*parent))))
        return -1;
    g->parent = parent;
    if (!(sets = realloc(g->sets, cap * sizeof(*sets))))
        return -1;
    g->sets = sets;
    g->cap = cap;
    return 0;
}

int64_t near_groups_slot(const struct near_groups *g, int64_t id)
{
    if (!g->table_cap)
        return -1;
    for (size_t i = id_slot(id, g->table_cap); g->table[i]; i = (i + 1) & (g->table_cap - 1))
        if (g->ids[g->table[i] - 1] == id)
            return g->table[i] - 1;
    return -1;
}

int64_t near_groups_add(struct near_groups *g, int64_t id, const struct minhash_sig *sig,
                        const char *text, size_t len)
{
    uint32_t *set = NULL;
    long n_set;
    size_t i;

    if ((g->n + 1) * 2 > g->table_cap && table_grow(g) < 0)
        return -1;
    for (i = id_slot(id, g->table_cap); g->table[i]; i = (i + 1) & (g->table_cap - 1))
        if (g->ids[g->table[i] - 1] == id)
            return g->table[i] - 1;
    if (g->n == g->cap && arrays_grow(g) < 0)
        return -1;
    if ((n_set = minhash_shingle_set(text, len, &set)) < 0)
        return -1;
    g->sets[g->n] = (struct shingles){set, (size_t)n_set};
    g->ids[g->n] = id;
    g->sigs[g->n] = *sig;
    g->parent[g->n] = (int64_t)g->n;
    g->table[i] = (int64_t)g->n + 1;
    return (int64_t)g->n++;
}

static int64_t find(struct near_groups *g, int64_t x)
{
    while (g->parent[x] != x) {
        g->parent[x] = g->parent[g->parent[x]];
        x = g->parent[x];
    }
    return x;
}

static double similarity(struct near_groups *g, int64_t a, int64_t b)
{
    return minhash_jaccard(g->sets[a].v, g->sets[a].n, g->sets[b].v, g->sets[b].n);
}

static void compare(struct near_groups *g, int64_t a, int64_t b)
{
    int64_t ra = find(g, a), rb = find(g, b);
    double sim;

    if (ra == rb && !g->pair_cb)
        return;
    if (minhash_similarity(&g->sigs[a], &g->sigs[b]) < g->threshold - NEAR_PREFILTER)
        return;
    sim = similarity(g, a, b);
    if (sim < g->threshold)
        return;
    if (ra != rb)
        g->parent[ra > rb ? ra : rb] = ra < rb ? ra : rb;
    if (g->pair_cb) {
        int64_t ia = g->ids[a], ib = g->ids[b];
        g->pair_cb(g->ud, ia < ib ? ia : ib, ia < ib ? ib : ia, sim);
    }
}

void near_groups_bucket(struct near_groups *g, const int64_t *slots, size_t n)
{
    if (n <= BUCKET_ALL_PAIRS) {
        for (size_t i = 0; i < n; i++)
            for (size_t k = i + 1; k < n; k++)
                compare(g, slots[i], slots[k]);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        compare(g, slots[0], slots[i]);
        if (i > 1)
            compare(g, slots[i - 1], slots[i]);
    }
}

/* Slots in groups of two or more, sorted by (smallest id of the group, id). */
struct order {
    int64_t first, id, slot, root;
};

static int order_cmp(const void *a, const void *b)
{
    const struct order *x = a, *y = b;
    if (x->first != y->first)
        return x->first < y->first ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

int near_groups_clusters(struct near_groups *g, near_member_cb cb, void *ud)
{
    int64_t *size = calloc(g->n ? g->n : 1, sizeof(*size));
    int64_t *first = malloc((g->n ? g->n : 1) * sizeof(*first));
    struct order *o = malloc((g->n ? g->n : 1) * sizeof(*o));
    int64_t cluster = 0, root = -1, lead = 0;
    size_t m = 0;
    int r = 0;

    if (!size || !first || !o) {
        r = -1;
        goto out;
    }
    for (size_t s = 0; s < g->n; s++)
        first[s] = INT64_MAX;
    for (size_t s = 0; s < g->n; s++) {
        int64_t rt = find(g, (int64_t)s);
        size[rt]++;
        if (g->ids[s] < first[rt])
            first[rt] = g->ids[s];
    }
    for (size_t s = 0; s < g->n; s++) {
        int64_t rt = find(g, (int64_t)s);
        if (size[rt] > 1)
            o[m++] = (struct order){first[rt], g->ids[s], (int64_t)s, rt};
    }
    qsort(o, m, sizeof(*o), order_cmp);
    for (size_t i = 0; i < m && r >= 0; i++) {
        if (o[i].root != root) {
            root = o[i].root;
            lead = o[i].slot;
            cluster++;
        }
        r = cb(ud, cluster, o[i].id, similarity(g, lead, o[i].slot));
    }
out:
    free(size);
    free(first);
    free(o);
    return r;
}
