/* SPDX-License-Identifier: MIT */
/*
 * What a running pipeline keeps in memory (driver_int.h: struct memo), driver thread only:
 * the task's tree (children per node, samples per node), read once when the job is taken up
 * and then kept up by the job's own steps; the hashes of the inputs the job accepted (rebuilt
 * from its outputs items at adoption); and, when near duplicates are asked for, the signatures
 * of the task's inputs and the accepted ones. Nodes are found by their key's hash, inputs by
 * theirs, in tables with open addressing that grow by doubling.
 */
#include <stdlib.h>
#include <string.h>

#include "pipeline/driver_int.h"
#include "util/grow.h"
#include "util/text.h"
#include "util/textnorm.h"
#include "util/banned.h"

/* ---- tables of 64-bit keys (never 0) to values, open addressing ---- */

static size_t slot_of(const int64_t *keys, size_t cap, int64_t k)
{
    size_t i = (size_t)((uint64_t)k * 0x9E3779B97F4A7C15ULL) & (cap - 1);
    while (keys[i] != 0 && keys[i] != k)
        i = (i + 1) & (cap - 1);
    return i;
}

/* The value at k, or `none`. */
static int64_t table_get(const struct memo_table *t, int64_t k, int64_t none)
{
    size_t i;

    if (!t->cap)
        return none;
    i = slot_of(t->keys, t->cap, k);
    return t->keys[i] == k ? t->vals[i] : none;
}

static int table_put(struct memo_table *t, int64_t k, int64_t v)
{
    size_t i;

    if ((t->n + 1) * 2 > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1024;
        int64_t *keys = calloc(cap, sizeof(*keys)), *vals = calloc(cap, sizeof(*vals));
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -1;
        }
        for (size_t j = 0; j < t->cap; j++) {
            if (t->keys[j]) {
                size_t s = slot_of(keys, cap, t->keys[j]);
                keys[s] = t->keys[j];
                vals[s] = t->vals[j];
            }
        }
        free(t->keys);
        free(t->vals);
        *t = (struct memo_table){keys, vals, t->n, cap};
    }
    i = slot_of(t->keys, t->cap, k);
    if (t->keys[i] == 0)
        t->n++;
    t->keys[i] = k;
    t->vals[i] = v;
    return 0;
}

static void table_done(struct memo_table *t)
{
    free(t->keys);
    free(t->vals);
}

/* ---- nodes ---- */

void memo_done(struct memo *m)
{
    for (size_t i = 0; i < m->n_nodes; i++) {
        for (size_t k = 0; k < m->nodes[i]->n_kids; k++)
            free(m->nodes[i]->kids[k]);
        free(m->nodes[i]->kids);
        free(m->nodes[i]->key);
        free(m->nodes[i]);
    }
    free(m->nodes);
    table_done(&m->node_index);
    table_done(&m->hashes);
    free(m->sigs);
    free(m->sig_owners);
    table_done(&m->buckets);
    free(m->lsh_next);
    memset(m, 0, sizeof(*m));
}

struct memo_node *memo_node(struct memo *m, const char *key, bool make)
{
    /* by the key's hash; two keys of one hash (never seen in practice) are told apart by a
     * search of the nodes */
    int64_t h = (int64_t)text_hash64(key, strlen(key));
    int64_t i = table_get(&m->node_index, h, -1);
    struct memo_node *n, **nodes;

    if (i >= 0 && strcmp(m->nodes[i]->key, key) != 0)
        for (i = 0; i < (int64_t)m->n_nodes && strcmp(m->nodes[i]->key, key) != 0; i++)
            ;
    if (i >= 0 && i < (int64_t)m->n_nodes)
        return m->nodes[i];
    if (!make || !(nodes = grow_array(m->nodes, &m->cap_nodes, m->n_nodes, sizeof(*nodes), 64)))
        return NULL;
    m->nodes = nodes;
    if (!(n = calloc(1, sizeof(*n))) || !(n->key = strdup(key))) {
        free(n);
        return NULL;
    }
    if (i < 0 && table_put(&m->node_index, h, (int64_t)m->n_nodes) < 0) {
        free(n->key);
        free(n);
        return NULL;
    }
    m->nodes[m->n_nodes++] = n;
    return n;
}

int memo_add_kid(struct memo *m, const char *parent_key, const char *name)
{
    struct memo_node *n = memo_node(m, parent_key, true);
    char *k = text_norm_key(name), **kids;

    if (!n || !k) {
        free(k);
        return -1;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        char *o = text_norm_key(n->kids[i]);
        bool same = o && strcmp(o, k) == 0;
        free(o);
        if (same) {
            free(k);
            return 0;
        }
    }
    free(k);
    if (!(kids = grow_array(n->kids, &n->cap_kids, n->n_kids, sizeof(*kids), 8)))
        return -1;
    n->kids = kids;
    if (!(n->kids[n->n_kids] = strdup(name)))
        return -1;
    n->n_kids++;
    return 0;
}

/* ---- input hashes ---- */

int64_t memo_hash_owner(const struct memo *m, int64_t hash)
{
    int64_t owner = table_get(&m->hashes, hash, -2);
    return owner == MEMO_FORGOTTEN ? -2 : owner;
}

int memo_hash_add(struct memo *m, int64_t hash, int64_t owner)
{
    return hash == 0 ? 0 : table_put(&m->hashes, hash, owner);
}

/* ---- near duplicates ---- */

/* ---- near duplicates ---- */

void memo_near_init(struct memo *m, double threshold)
{
    m->threshold = threshold;
    m->lsh = lsh_params_for(threshold, LSH_FN_WEIGHT);
}

/* A band's bucket key: never 0 (the tables' empty slot). */
static int64_t bucket_key(const struct minhash_sig *sig, int band, int rows)
{
    uint64_t k = (uint64_t)lsh_band_key(sig, band, rows) * 0x9E3779B97F4A7C15ULL + (uint64_t)band;
    return k ? (int64_t)k : 1;
}

bool memo_near(const struct memo *m, const struct minhash_sig *sig)
{
    int bands = m->lsh.bands;

    for (int b = 0; b < bands; b++)
        for (int64_t e = table_get(&m->buckets, bucket_key(sig, b, m->lsh.rows), 0); e > 0;
             e = m->lsh_next[e - 1]) {
            size_t i = (size_t)(e - 1) / (size_t)bands;
            if (minhash_similarity(&m->sigs[i], sig) >= m->threshold)
                return true;
        }
    return false;
}

/* Puts signature i in its bands' buckets. */
static int lsh_add(struct memo *m, size_t i)
{
    int bands = m->lsh.bands;

    for (int b = 0; b < bands; b++) {
        int64_t k = bucket_key(&m->sigs[i], b, m->lsh.rows), e = (int64_t)i * bands + b;
        m->lsh_next[e] = table_get(&m->buckets, k, 0);
        if (table_put(&m->buckets, k, e + 1) < 0)
            return -1;
    }
    return 0;
}

void memo_forget(struct memo *m, int64_t owner)
{
    size_t k = 0;

    for (size_t i = 0; i < m->hashes.cap; i++)
        if (m->hashes.keys[i] && m->hashes.vals[i] == owner)
            m->hashes.vals[i] = MEMO_FORGOTTEN;
    for (size_t i = 0; i < m->n_sigs; i++) {
        if (m->sig_owners[i] == owner)
            continue;
        m->sigs[k] = m->sigs[i];
        m->sig_owners[k++] = m->sig_owners[i];
    }
    if (k == m->n_sigs)
        return;
    /* the signatures moved: their buckets are made again (a rare path: a step lost) */
    m->n_sigs = k;
    table_done(&m->buckets);
    m->buckets = (struct memo_table){0};
    for (size_t i = 0; i < m->n_sigs; i++)
        if (lsh_add(m, i) < 0)
            break; /* out of memory: some candidates are missed, never a wrong match */
}

int memo_sig_add(struct memo *m, const struct minhash_sig *sig, int64_t owner)
{
    if (m->n_sigs == m->cap_sigs) {
        size_t cap = m->cap_sigs ? m->cap_sigs * 2 : 256;
        struct minhash_sig *s = realloc(m->sigs, cap * sizeof(*s));
        int64_t *o;
        if (!s)
            return -1;
        m->sigs = s;
        if (!(o = realloc(m->sig_owners, cap * sizeof(*o))))
            return -1;
        m->sig_owners = o;
        if (!(o = realloc(m->lsh_next,
                          cap * (size_t)(m->lsh.bands ? m->lsh.bands : 1) * sizeof(*o))))
            return -1;
        m->lsh_next = o;
        m->cap_sigs = cap;
    }
    m->sigs[m->n_sigs] = *sig;
    m->sig_owners[m->n_sigs] = owner;
    return lsh_add(m, m->n_sigs++);
}
